// The limits every YAML or JSON document read from the host is held to, checked by one
// bounded, linear pre-scan BEFORE the document reaches a parser. Before, because what goes
// wrong inside the parser cannot be caught afterwards:
//   - the yaml library composes nested collections recursively. About 800 levels of brackets
//     (1.6 KB) exhaust the stack; when the exhaustion lands in V8's regular-expression
//     compiler (yaml's `/(.*?)\r?\n/sy` in resolve-flow-scalar.js is compiled lazily, at the
//     deepest point), the next compile of that regex is a process-wide fatal error (exit 134)
//     that no try/catch stops: the agent crash-looped on a 10 KB kubelet config;
//   - its syntax tree costs ~600 bytes per token: 1 MiB of brackets peaked at 627 MB;
//   - duplicate-key detection is quadratic: 32,768 keys in one mapping took 11 s, 131,072 took
//     six minutes;
//   - aliases expand: a few lines of them make billions of nodes.
// So: bytes first (before anything else), then one pass that counts nesting depth, aliases
// and elements and stops at the first limit passed, holding no more than `maxElements`
// tokens of syntax tree. YAML is scanned with the library's own lexer and its non-recursive
// CST parser (the same tokenisation the composer later sees, so quotes, block scalars and
// plain scalars holding brackets count exactly as they parse); JSON, which JSON.parse reads
// without recursion, with a plain character loop.
import { CST, Lexer, Parser } from 'yaml';

export interface DocumentLimits {
  readonly syntax: 'yaml' | 'json';
  /** UTF-8 bytes. */
  readonly maxBytes: number;
  /** Collections (and the scalar at the bottom) nested inside one another. */
  readonly maxDepth: number;
  /** Alias nodes (`*name`); each may expand to a whole subtree. */
  readonly maxAliases: number;
  /** Scalars, aliases, collections and entry indicators (`-`, `?`, `:`). */
  readonly maxElements: number;
}

/**
 * Configuration documents the components read (kubelet config and drop-ins, static pod
 * manifests, audit policy, encryption, authn/authz and component configs, k3s/rke2 config).
 * The largest real ones (an audit policy, a control-plane manifest) are tens of KB, a dozen
 * levels deep and hold no aliases; the parse of a document at these limits stays under
 * ~10 MB and ~100 ms.
 */
export const HOST_YAML_LIMITS: DocumentLimits = Object.freeze({
  syntax: 'yaml',
  maxBytes: 256 * 1024,
  maxDepth: 64,
  maxAliases: 64,
  maxElements: 10_000,
});

/**
 * A container runtime's OCI bundle config.json. A pod's author decides much of it (the
 * environment), so the size bound is generous; JSON.parse is linear and iterative, so only
 * depth and size are at stake.
 */
export const OCI_JSON_LIMITS: DocumentLimits = Object.freeze({
  syntax: 'json',
  maxBytes: 4 * 1024 * 1024,
  maxDepth: 64,
  maxAliases: 0,
  maxElements: 4 * 1024 * 1024,
});

export type LimitName = 'bytes' | 'depth' | 'aliases' | 'elements';

/** Why a document was refused: a limit passed, or (should the lexer throw) no scan at all. */
export type Refusal = LimitName | 'unscannable';

/** Why a host document was refused: by the pre-scan, or by the parser's alias-expansion guard (config-file.ts). */
export type DocumentRefusalReason = Refusal | 'alias-expansion';

export interface DocumentStats {
  readonly bytes: number;
  readonly depth: number;
  readonly aliases: number;
  readonly elements: number;
}

export type Prescan =
  | { readonly ok: true; readonly stats: DocumentStats }
  /** `message` names the limit, the count that passed it and where; never the document's text. */
  | { readonly ok: false; readonly limit: Refusal; readonly message: string };

const lineOf = (text: string, offset: number): number => {
  let line = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) line++;
  return line;
};

function refuse(limit: LimitName, limits: DocumentLimits, text: string, offset: number): Prescan {
  const at = `line ${lineOf(text, offset)}`;
  const what: Record<Exclude<LimitName, 'bytes'>, string> = {
    depth: `nested more than ${limits.maxDepth} levels deep (at ${at})`,
    aliases: `more than ${limits.maxAliases} aliases (the next at ${at})`,
    elements: `more than ${limits.maxElements} elements (scalars, aliases, collections and entries; the next at ${at})`,
  };
  return { ok: false, limit, message: `${what[limit as Exclude<LimitName, 'bytes'>]}: refused before parsing` };
}

/** Lexer tokens that are one element each (a plain or block scalar is its SCALAR marker). */
const ELEMENT_TOKENS: ReadonlySet<string> = new Set([
  'scalar', 'single-quoted-scalar', 'double-quoted-scalar', 'alias',
  'flow-map-start', 'flow-seq-start', 'seq-item-ind', 'explicit-key-ind', 'map-value-ind',
]);

function scanYaml(text: string, limits: DocumentLimits, bytes: number): Prescan {
  const parser = new Parser();
  let depth = 0;
  let aliases = 0;
  let elements = 0;
  let offset = 0;
  let scalarBody = false;
  for (const token of new Lexer().lex(text)) {
    if (scalarBody) {
      // The source of a plain or block scalar, after its SCALAR marker: text, not a token type.
      scalarBody = false;
    } else {
      const type = CST.tokenType(token);
      if (type !== null && ELEMENT_TOKENS.has(type)) {
        if (++elements > limits.maxElements) return refuse('elements', limits, text, offset);
        if (type === 'alias' && ++aliases > limits.maxAliases) return refuse('aliases', limits, text, offset);
        scalarBody = type === 'scalar';
      }
    }
    // Completed documents are dropped as they come: only the open path is held.
    for (const _ of parser.next(token)) void _;
    // The document itself is the first entry of the parser's stack.
    const d = parser.stack.length - 1;
    if (d > depth) {
      depth = d;
      if (depth > limits.maxDepth) return refuse('depth', limits, text, offset);
    }
    offset += token.length;
  }
  for (const _ of parser.end()) void _;
  return { ok: true, stats: { bytes, depth, aliases, elements } };
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** JSON: strings skipped (escapes included), brackets counted; values counted as they start. */
function scanJson(text: string, limits: DocumentLimits, bytes: number): Prescan {
  let depth = 0;
  let maxDepth = 0;
  let elements = 0;
  let inString = false;
  let inValue = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
      continue;
    }
    switch (c) {
      case 0x5b: // [
      case 0x7b: // {
        inValue = false;
        if (++elements > limits.maxElements) return refuse('elements', limits, text, i);
        if (++depth > maxDepth) {
          maxDepth = depth;
          if (depth > limits.maxDepth) return refuse('depth', limits, text, i);
        }
        break;
      case 0x5d: // ]
      case 0x7d: // }
        inValue = false;
        if (depth > 0) depth--;
        break;
      case 0x2c: // ,
      case 0x3a: // :
      case 0x20:
      case 0x09:
      case 0x0a:
      case 0x0d:
        inValue = false;
        break;
      case QUOTE:
        inString = true;
        if (++elements > limits.maxElements) return refuse('elements', limits, text, i);
        break;
      default:
        // A number, true, false or null (or junk JSON.parse will refuse): one element per run.
        if (!inValue && ++elements > limits.maxElements) return refuse('elements', limits, text, i);
        inValue = true;
    }
  }
  return { ok: true, stats: { bytes, depth: maxDepth, aliases: 0, elements } };
}

/**
 * Checks a document against `limits` without parsing it. Linear in its length, never
 * recursive, never throws; memory is bounded by `maxElements` (YAML) or constant (JSON).
 */
export function prescanDocument(text: string, limits: DocumentLimits): Prescan {
  // UTF-16 units never outnumber UTF-8 bytes: a string longer than the limit is over it.
  const bytes = text.length > limits.maxBytes ? text.length : Buffer.byteLength(text, 'utf8');
  if (bytes > limits.maxBytes) {
    return { ok: false, limit: 'bytes', message: `${text.length > limits.maxBytes ? 'more than ' : ''}${bytes} bytes, over the ${limits.maxBytes}-byte limit: refused before parsing` };
  }
  try {
    return limits.syntax === 'json' ? scanJson(text, limits, bytes) : scanYaml(text, limits, bytes);
  } catch (err) {
    // The lexer and CST parser report problems as error tokens, not exceptions; should one
    // throw all the same, the document is refused rather than handed to the composer.
    return { ok: false, limit: 'unscannable', message: `the pre-scan failed (${err instanceof Error ? err.name : 'error'}): refused before parsing` };
  }
}
