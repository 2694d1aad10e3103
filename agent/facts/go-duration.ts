// Go's time.Duration text forms, as the kubelet reads and prints them: ParseDuration
// (`4h`, `1h30m`, `1.5s`, `300ms`, a bare `0`; no unit is an error otherwise) and String
// (`4h0m0s`, `5m0s`, `0s`, `1.5s`, `300ms`). Pure; nanoseconds as BigInt so nothing rounds.

const UNITS: ReadonlyMap<string, bigint> = new Map([
  ['ns', 1n],
  ['us', 1000n],
  ['\u00b5s', 1000n],
  ['\u03bcs', 1000n],
  ['ms', 1_000_000n],
  ['s', 1_000_000_000n],
  ['m', 60_000_000_000n],
  ['h', 3_600_000_000_000n],
]);

const MAX_NS = (1n << 63n) - 1n;

export type ParsedDuration = { readonly ok: true; readonly ns: bigint } | { readonly ok: false; readonly problem: string };

export function parseGoDuration(text: string): ParsedDuration {
  const bad = (why: string): ParsedDuration => ({ ok: false, problem: `${JSON.stringify(text)} is not a Go duration (${why})` });
  let s = text;
  let negative = false;
  if (s.startsWith('-') || s.startsWith('+')) {
    negative = s.startsWith('-');
    s = s.slice(1);
  }
  if (s === '0') return { ok: true, ns: 0n };
  if (s === '') return bad('empty');
  let total = 0n;
  while (s !== '') {
    const m = /^([0-9]*)(?:\.([0-9]*))?([^0-9.]+)/.exec(s);
    if (m === null) return bad('a number without a unit');
    const [whole, intPart = '', fracPart, unitName = ''] = m;
    if (intPart === '' && (fracPart === undefined || fracPart === '')) return bad('a unit without a number');
    const unit = UNITS.get(unitName);
    if (unit === undefined) return bad(`unknown unit ${JSON.stringify(unitName)}`);
    let v = BigInt(intPart === '' ? '0' : intPart) * unit;
    if (fracPart !== undefined && fracPart !== '') v += (BigInt(fracPart) * unit) / 10n ** BigInt(fracPart.length);
    total += v;
    if (total > MAX_NS + (negative ? 1n : 0n)) return bad('out of range');
    s = s.slice(whole.length);
  }
  return { ok: true, ns: negative ? -total : total };
}

/** The fractional digits of v / 10^prec without trailing zeros (`.5`), or '' when there are none. */
function frac(v: bigint, prec: number): string {
  const d = 10n ** BigInt(prec);
  const f = (v % d).toString().padStart(prec, '0').replace(/0+$/, '');
  return f === '' ? '' : `.${f}`;
}

/** Go's Duration.String(). */
export function formatGoDuration(ns: bigint): string {
  const sign = ns < 0n ? '-' : '';
  const u = ns < 0n ? -ns : ns;
  if (u === 0n) return '0s';
  if (u < 1000n) return `${sign}${u}ns`;
  if (u < 1_000_000n) return `${sign}${u / 1000n}${frac(u, 3)}\u00b5s`;
  if (u < 1_000_000_000n) return `${sign}${u / 1_000_000n}${frac(u, 6)}ms`;
  const secs = u / 1_000_000_000n;
  let out = `${secs % 60n}${frac(u, 9)}s`;
  const mins = secs / 60n;
  if (mins > 0n) {
    out = `${mins % 60n}m${out}`;
    const hours = mins / 60n;
    if (hours > 0n) out = `${hours}h${out}`;
  }
  return `${sign}${out}`;
}
