// Reads a YAML or JSON configuration document from the host (YAML 1.2 is a superset of JSON,
// so one parser serves both). This is the one way a host YAML document becomes data: the
// bounded pre-scan (document-limits.ts) first, then the parser, whose own alias-expansion
// guard and every other exception become a refusal of this one file, never a crash.
import { parseDocument } from 'yaml';
import { HOST_YAML_LIMITS, prescanDocument, type DocumentRefusalReason } from './document-limits.js';
import type { HostFs } from './host-fs.js';
import type { ConfigDoc, FactError, JsonObject } from './host-facts.js';
import { createTextMemo } from './text-memo.js';

export type ParsedConfig =
  | { readonly ok: true; readonly data: JsonObject }
  /** ELIMIT: over a limit of the pre-scan or the alias expansion (`limit` says which); EPARSE: not a valid document. */
  | { readonly ok: false; readonly code: 'EPARSE' | 'ELIMIT'; readonly message: string; readonly limit?: DocumentRefusalReason };

const isMapping = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Aliases resolved at most (the yaml library's own measure of expansion) when building data. */
export const MAX_ALIAS_EXPANSION = 100;

/**
 * One document that must be a mapping. With `quiet`, a parse error names its code and line
 * only, never a snippet of the text (for documents that can hold credentials); otherwise it
 * names the problem as the parser words it (its first line).
 */
export function parseHostYaml(text: string, opts: { readonly quiet: boolean }): ParsedConfig {
  const pre = prescanDocument(text, HOST_YAML_LIMITS);
  if (!pre.ok) return { ok: false, code: 'ELIMIT', limit: pre.limit, message: pre.message };
  try {
    // logLevel error: the library would otherwise print warnings (quoting keys) to stderr.
    const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: !opts.quiet, logLevel: 'error' });
    const problem = doc.errors[0];
    if (problem !== undefined) {
      if (!opts.quiet) return { ok: false, code: 'EPARSE', message: `not valid YAML or JSON: ${problem.message.split('\n')[0]}` };
      const line = problem.linePos?.[0]?.line;
      return { ok: false, code: 'EPARSE', message: `not valid YAML or JSON (${problem.code}${line !== undefined ? ` at line ${line}` : ''})` };
    }
    let data: unknown;
    try {
      data = doc.toJS({ maxAliasCount: MAX_ALIAS_EXPANSION });
    } catch (err) {
      if (err instanceof ReferenceError && err.message.startsWith('Excessive alias count')) {
        return { ok: false, code: 'ELIMIT', limit: 'alias-expansion', message: `aliases expand past the limit of ${MAX_ALIAS_EXPANSION}: refused` };
      }
      if (err instanceof ReferenceError && err.message.startsWith('Unresolved alias')) {
        return { ok: false, code: 'EPARSE', message: 'not valid YAML or JSON (an alias names no anchor before it)' };
      }
      throw err;
    }
    return isMapping(data) ? { ok: true, data } : { ok: false, code: 'EPARSE', message: 'the document is not a mapping' };
  } catch (err) {
    return { ok: false, code: 'EPARSE', message: `not valid YAML or JSON (the parser failed: ${err instanceof Error ? err.name : 'error'})` };
  }
}

/** Configuration documents parsed, remembered by kind and text (text-memo.ts): the snapshot holds their data anyway. */
const remembered = createTextMemo<ParsedConfig>(64);

/** Parses one document that must be a mapping; `kind`, when given, must match. */
export function parseConfigText(text: string, kind?: string): ParsedConfig {
  return remembered(`${kind ?? ''}\0${text}`, () => parseConfigTextNow(text, kind));
}

function parseConfigTextNow(text: string, kind?: string): ParsedConfig {
  const parsed = parseHostYaml(text, { quiet: false });
  if (!parsed.ok) return parsed;
  const data = parsed.data;
  if (kind !== undefined && data['kind'] !== undefined && data['kind'] !== kind) {
    return { ok: false, code: 'EPARSE', message: `kind is ${JSON.stringify(data['kind'])}, expected ${kind}` };
  }
  return { ok: true, data };
}

/**
 * A host YAML document, read within the size limit of the pre-scan. A larger file is refused
 * as the pre-scan refuses one (ELIMIT, limit `bytes`), never read past the limit.
 */
export async function readHostYaml(hostFs: HostFs, path: string): Promise<{ ok: true; text: string } | { ok: false; error: FactError }> {
  const raw = await hostFs.readFile(path, { maxBytes: HOST_YAML_LIMITS.maxBytes });
  if (raw.ok) return { ok: true, text: raw.value.toString('utf8') };
  if (raw.error.code !== 'ETOOBIG') return { ok: false, error: raw.error };
  return { ok: false, error: { code: 'ELIMIT', limit: 'bytes', path, message: `${raw.error.message}: refused before parsing` } };
}

export const parseError = (path: string, parsed: { readonly code: 'EPARSE' | 'ELIMIT'; readonly message: string; readonly limit?: DocumentRefusalReason }): FactError =>
  ({ code: parsed.code, path, message: `${path}: ${parsed.message}`, ...(parsed.limit === undefined ? {} : { limit: parsed.limit }) });

export async function readConfigDoc(hostFs: HostFs, path: string, kind?: string): Promise<ConfigDoc> {
  const raw = await readHostYaml(hostFs, path);
  if (!raw.ok) return { path, data: null, error: raw.error };
  const parsed = parseConfigText(raw.text, kind);
  if (!parsed.ok) return { path, data: null, error: parseError(path, parsed) };
  return { path, data: parsed.data, error: null };
}
