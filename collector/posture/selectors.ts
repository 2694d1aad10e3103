// Label selectors of the three policy languages the network-policy check reads (pure, never
// throws): the Kubernetes LabelSelector (matchLabels, matchExpressions), which NetworkPolicy
// and Cilium's endpointSelector use, and Calico's selector expressions.
//
// Calico's language, the subset read here: `k == 'v'`, `k != 'v'`, `has(k)`, `!has(k)`,
// `k in {'a', 'b'}`, `k not in {...}`, `all()`, `!`, `&&`, `||` and parentheses; strings in
// single or double quotes. `!=` and `not in` are true when the label is absent, as in Calico.
// Anything else (`contains`, `starts with`, `ends with`, `global()` ...) is refused, never
// guessed: a policy whose selector is refused selects nothing here, so it can only leave a
// finding open, never close one. Input length and nesting are bounded; the parser is a plain
// recursive descent over a token list.

export type Labels = Readonly<Record<string, string>>;

export interface LabelRequirement {
  readonly key: string;
  readonly operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  readonly values: readonly string[];
}

/** A Kubernetes LabelSelector: every label and every requirement must hold; empty selects all. */
export interface LabelSelector {
  readonly matchLabels: Labels;
  readonly matchExpressions: readonly LabelRequirement[];
}

export const SELECT_ALL: LabelSelector = { matchLabels: {}, matchExpressions: [] };

export interface SelectorLimits {
  readonly maxEntries: number;
  readonly maxString: number;
  /** Characters of one Calico selector. */
  readonly maxExpression: number;
  /** Nesting of parentheses and `!` in one Calico selector. */
  readonly maxDepth: number;
}

export const DEFAULT_SELECTOR_LIMITS: SelectorLimits = { maxEntries: 256, maxString: 1024, maxExpression: 4096, maxDepth: 32 };

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | undefined => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : undefined);

/** A LabelSelector as the API writes it; a reason string when it is not one. */
export function readLabelSelector(raw: unknown, limits: SelectorLimits = DEFAULT_SELECTOR_LIMITS): LabelSelector | string {
  if (raw === undefined || raw === null) return SELECT_ALL;
  const o = obj(raw);
  if (!o) return 'not an object';
  const matchLabels: Record<string, string> = {};
  if (o.matchLabels !== undefined && o.matchLabels !== null) {
    const ml = obj(o.matchLabels);
    if (!ml) return 'matchLabels is not an object';
    const entries = Object.entries(ml);
    if (entries.length > limits.maxEntries) return `matchLabels has ${entries.length} entries, more than ${limits.maxEntries}`;
    for (const [k, v] of entries) {
      if (typeof v !== 'string' || k.length === 0 || k.length > limits.maxString || v.length > limits.maxString) return 'matchLabels holds an entry that is not a bounded string';
      matchLabels[k] = v;
    }
  }
  const matchExpressions: LabelRequirement[] = [];
  if (o.matchExpressions !== undefined && o.matchExpressions !== null) {
    if (!Array.isArray(o.matchExpressions)) return 'matchExpressions is not a list';
    if (o.matchExpressions.length > limits.maxEntries) return `matchExpressions has more than ${limits.maxEntries} entries`;
    for (const [i, e] of (o.matchExpressions as unknown[]).entries()) {
      const r = obj(e);
      const key = r?.key;
      const op = r?.operator;
      if (!r || typeof key !== 'string' || key.length === 0 || key.length > limits.maxString) return `matchExpressions[${i}] has no key`;
      if (op !== 'In' && op !== 'NotIn' && op !== 'Exists' && op !== 'DoesNotExist') return `matchExpressions[${i}].operator must be In, NotIn, Exists or DoesNotExist`;
      const values = r.values === undefined || r.values === null ? [] : r.values;
      if (!Array.isArray(values) || values.length > limits.maxEntries) return `matchExpressions[${i}].values is not a bounded list`;
      if (!values.every((v): v is string => typeof v === 'string' && v.length <= limits.maxString)) return `matchExpressions[${i}].values holds a non-string`;
      // What the API server itself refuses to store.
      if ((op === 'In' || op === 'NotIn') && values.length === 0) return `matchExpressions[${i}]: ${op} needs values`;
      if ((op === 'Exists' || op === 'DoesNotExist') && values.length > 0) return `matchExpressions[${i}]: ${op} takes no values`;
      matchExpressions.push({ key, operator: op, values: [...values] });
    }
  }
  return { matchLabels, matchExpressions };
}

export function matchesLabelSelector(sel: LabelSelector, labels: Labels): boolean {
  for (const [k, v] of Object.entries(sel.matchLabels)) if (!hasLabel(labels, k) || labels[k] !== v) return false;
  for (const r of sel.matchExpressions) {
    const has = hasLabel(labels, r.key);
    switch (r.operator) {
      case 'In': if (!has || !r.values.includes(labels[r.key] as string)) return false; break;
      case 'NotIn': if (has && r.values.includes(labels[r.key] as string)) return false; break;
      case 'Exists': if (!has) return false; break;
      case 'DoesNotExist': if (has) return false; break;
    }
  }
  return true;
}

const hasLabel = (labels: Labels, key: string): boolean => Object.prototype.hasOwnProperty.call(labels, key);

/** A parsed Calico selector. */
export type CalicoExpr =
  | { readonly op: 'all' }
  | { readonly op: 'eq' | 'ne'; readonly key: string; readonly value: string }
  | { readonly op: 'has'; readonly key: string }
  | { readonly op: 'in' | 'notin'; readonly key: string; readonly values: readonly string[] }
  | { readonly op: 'not'; readonly expr: CalicoExpr }
  | { readonly op: 'and' | 'or'; readonly left: CalicoExpr; readonly right: CalicoExpr };

export function evaluateCalico(e: CalicoExpr, labels: Labels): boolean {
  switch (e.op) {
    case 'all': return true;
    case 'eq': return hasLabel(labels, e.key) && labels[e.key] === e.value;
    case 'ne': return !hasLabel(labels, e.key) || labels[e.key] !== e.value;
    case 'has': return hasLabel(labels, e.key);
    case 'in': return hasLabel(labels, e.key) && e.values.includes(labels[e.key] as string);
    case 'notin': return !hasLabel(labels, e.key) || !e.values.includes(labels[e.key] as string);
    case 'not': return !evaluateCalico(e.expr, labels);
    case 'and': return evaluateCalico(e.left, labels) && evaluateCalico(e.right, labels);
    case 'or': return evaluateCalico(e.left, labels) || evaluateCalico(e.right, labels);
  }
}

type Token =
  | { readonly t: 'id'; readonly v: string }
  | { readonly t: 'str'; readonly v: string }
  | { readonly t: 'sym'; readonly v: '==' | '!=' | '!' | '&&' | '||' | '(' | ')' | '{' | '}' | ',' };

const KEY_CHAR = /[A-Za-z0-9_.\/-]/;

function tokenize(src: string): Token[] | string {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i] as string;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') { i++; continue; }
    const two = src.slice(i, i + 2);
    if (two === '==' || two === '!=' || two === '&&' || two === '||') { out.push({ t: 'sym', v: two }); i += 2; continue; }
    if (c === '!' || c === '(' || c === ')' || c === '{' || c === '}' || c === ',') { out.push({ t: 'sym', v: c }); i++; continue; }
    if (c === '"' || c === "'") {
      const end = src.indexOf(c, i + 1);
      if (end < 0) return `unterminated string at ${i}`;
      out.push({ t: 'str', v: src.slice(i + 1, end) });
      i = end + 1;
      continue;
    }
    if (KEY_CHAR.test(c)) {
      let j = i;
      while (j < src.length && KEY_CHAR.test(src[j] as string)) j++;
      out.push({ t: 'id', v: src.slice(i, j) });
      i = j;
      continue;
    }
    return `unexpected character ${JSON.stringify(c)} at ${i}`;
  }
  return out;
}

class Unreadable {
  constructor(readonly reason: string) {}
}

/** A Calico selector, parsed; '' and whitespace are `all()`, as Calico reads an empty selector. A reason string when it is not read. */
export function parseCalicoSelector(src: unknown, limits: SelectorLimits = DEFAULT_SELECTOR_LIMITS): CalicoExpr | string {
  if (src === undefined || src === null) return { op: 'all' };
  if (typeof src !== 'string') return 'selector is not a string';
  if (src.length > limits.maxExpression) return `selector longer than ${limits.maxExpression} characters`;
  const tokens = tokenize(src);
  if (typeof tokens === 'string') return tokens;
  if (tokens.length === 0) return { op: 'all' };
  let pos = 0;
  const fail = (why: string): never => { throw new Unreadable(`${why} (token ${pos})`); };
  const peek = (): Token | undefined => tokens[pos];
  const isSym = (v: string): boolean => { const t = peek(); return t?.t === 'sym' && t.v === v; };
  const expect = (v: string): void => { if (!isSym(v)) fail(`expected ${v}`); pos++; };
  const str = (): string => { const t = peek(); if (t?.t !== 'str') fail('expected a quoted string'); pos++; return (t as { v: string }).v; };

  const orExpr = (depth: number): CalicoExpr => {
    let left = andExpr(depth);
    while (isSym('||')) { pos++; left = { op: 'or', left, right: andExpr(depth) }; }
    return left;
  };
  const andExpr = (depth: number): CalicoExpr => {
    let left = unary(depth);
    while (isSym('&&')) { pos++; left = { op: 'and', left, right: unary(depth) }; }
    return left;
  };
  const unary = (depth: number): CalicoExpr => {
    if (depth > limits.maxDepth) fail(`nested deeper than ${limits.maxDepth}`);
    if (isSym('!')) { pos++; return { op: 'not', expr: unary(depth + 1) }; }
    if (isSym('(')) { pos++; const e = orExpr(depth + 1); expect(')'); return e; }
    return term();
  };
  const term = (): CalicoExpr => {
    const t = peek();
    if (t?.t !== 'id') return fail('expected a label, has() or all()');
    pos++;
    const word = (t as { v: string }).v;
    if ((word === 'has' || word === 'all') && isSym('(')) {
      pos++;
      if (word === 'all') { expect(')'); return { op: 'all' }; }
      const k = peek();
      if (k?.t !== 'id') fail('has() needs a label key');
      pos++;
      expect(')');
      return { op: 'has', key: (k as { v: string }).v };
    }
    if (isSym('==') || isSym('!=')) {
      const op = (peek() as { v: string }).v === '==' ? 'eq' : 'ne';
      pos++;
      return { op, key: word, value: str() };
    }
    const next = peek();
    if (next?.t === 'id' && next.v === 'in') { pos++; return { op: 'in', key: word, values: set() }; }
    if (next?.t === 'id' && next.v === 'not' && tokens[pos + 1]?.t === 'id' && (tokens[pos + 1] as { v: string }).v === 'in') {
      pos += 2;
      return { op: 'notin', key: word, values: set() };
    }
    return fail(`unsupported after label ${JSON.stringify(word.slice(0, 64))}`);
  };
  const set = (): string[] => {
    expect('{');
    const values: string[] = [];
    if (isSym('}')) { pos++; return values; }
    for (;;) {
      values.push(str());
      if (values.length > limits.maxEntries) fail(`more than ${limits.maxEntries} values in a set`);
      if (isSym(',')) { pos++; continue; }
      expect('}');
      return values;
    }
  };

  try {
    const e = orExpr(0);
    if (pos !== tokens.length) fail('unexpected text after the expression');
    return e;
  } catch (err) {
    if (err instanceof Unreadable) return err.reason;
    return `unreadable selector (${err instanceof Error ? err.message.slice(0, 120) : 'unknown error'})`;
  }
}

/** The expression written back in Calico's syntax (tests, and findings that quote a policy). */
export function printCalico(e: CalicoExpr): string {
  const q = (s: string): string => (s.includes("'") ? `"${s}"` : `'${s}'`);
  switch (e.op) {
    case 'all': return 'all()';
    case 'eq': return `${e.key} == ${q(e.value)}`;
    case 'ne': return `${e.key} != ${q(e.value)}`;
    case 'has': return `has(${e.key})`;
    case 'in': return `${e.key} in {${e.values.map(q).join(', ')}}`;
    case 'notin': return `${e.key} not in {${e.values.map(q).join(', ')}}`;
    case 'not': return `!(${printCalico(e.expr)})`;
    case 'and': return `(${printCalico(e.left)}) && (${printCalico(e.right)})`;
    case 'or': return `(${printCalico(e.left)}) || (${printCalico(e.right)})`;
  }
}
