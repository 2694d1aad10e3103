// A small strict parser of the Prometheus text exposition format (version 0.0.4), for tests:
// every line is a HELP, a TYPE, or a sample of the family its TYPE declared; names and
// label names are valid; label values escape only \\, \" and \n; values are numbers (or
// NaN, +Inf, -Inf); a series appears once; a family's lines are contiguous; histograms have
// their _bucket (le, ascending, cumulative, +Inf last), _sum and _count. Throws on the
// first fault, naming its line.
export interface PromSample { readonly name: string; readonly labels: Readonly<Record<string, string>>; readonly value: number }
export interface PromFamily { readonly name: string; readonly help: string; readonly type: string; readonly samples: PromSample[] }

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

function parseValue(v: string, where: string): number {
  if (v === 'NaN') return NaN;
  if (v === '+Inf') return Infinity;
  if (v === '-Inf') return -Infinity;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(v)) throw new Error(`${where}: bad value ${JSON.stringify(v)}`);
  return Number(v);
}

function parseLabels(s: string, where: string): { labels: Record<string, string>; rest: string } {
  const labels: Record<string, string> = {};
  let i = 0;
  for (;;) {
    if (s[i] === '}') return { labels, rest: s.slice(i + 1) };
    const eq = s.indexOf('=', i);
    if (eq < 0) throw new Error(`${where}: label without '='`);
    const name = s.slice(i, eq);
    if (!LABEL.test(name)) throw new Error(`${where}: bad label name ${JSON.stringify(name)}`);
    if (name in labels) throw new Error(`${where}: label ${name} twice`);
    if (s[eq + 1] !== '"') throw new Error(`${where}: label value not quoted`);
    let j = eq + 2;
    let value = '';
    for (;;) {
      const ch = s[j];
      if (ch === undefined) throw new Error(`${where}: unterminated label value`);
      if (ch === '"') break;
      if (ch === '\n') throw new Error(`${where}: raw newline in a label value`);
      if (ch === '\\') {
        const e = s[j + 1];
        if (e === '\\') value += '\\';
        else if (e === '"') value += '"';
        else if (e === 'n') value += '\n';
        else throw new Error(`${where}: bad escape \\${e ?? ''}`);
        j += 2;
        continue;
      }
      value += ch;
      j++;
    }
    labels[name] = value;
    i = j + 1;
    if (s[i] === ',') i++;
    else if (s[i] !== '}') throw new Error(`${where}: expected ',' or '}' after label ${name}`);
  }
}

const familyOf = (sample: string, types: Map<string, string>): string | undefined => {
  if (types.has(sample)) return sample;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (sample.endsWith(suffix)) {
      const base = sample.slice(0, -suffix.length);
      if (types.get(base) === 'histogram' || types.get(base) === 'summary') return base;
    }
  }
  return undefined;
};

export function parsePromText(text: string): Map<string, PromFamily> {
  if (!text.endsWith('\n')) throw new Error('the exposition does not end with a newline');
  const families = new Map<string, PromFamily>();
  const types = new Map<string, string>();
  const helps = new Map<string, string>();
  const series = new Set<string>();
  const closed = new Set<string>();
  let current: string | undefined;
  const enter = (name: string, where: string): void => {
    if (current === name) return;
    if (closed.has(name)) throw new Error(`${where}: family ${name} is not contiguous`);
    if (current) closed.add(current);
    current = name;
  };
  text.slice(0, -1).split('\n').forEach((line, n) => {
    const where = `line ${n + 1}`;
    if (line === '') return; // the format ignores empty lines (prom-client puts one between families)
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (!m) throw new Error(`${where}: a comment that is neither HELP nor TYPE: ${line}`);
      const [, kind, name, rest] = m as unknown as [string, string, string, string];
      if (!NAME.test(name)) throw new Error(`${where}: bad metric name ${name}`);
      enter(name, where);
      if (kind === 'HELP') {
        if (helps.has(name)) throw new Error(`${where}: second HELP for ${name}`);
        if (/\\[^\\n]/.test(rest.replace(/\\\\/g, ''))) throw new Error(`${where}: bad escape in HELP`);
        helps.set(name, rest);
      } else {
        if (types.has(name)) throw new Error(`${where}: second TYPE for ${name}`);
        if (!TYPES.has(rest)) throw new Error(`${where}: unknown type ${rest}`);
        if (families.get(name)?.samples.length) throw new Error(`${where}: TYPE after samples of ${name}`);
        types.set(name, rest);
      }
      const f = families.get(name) ?? { name, help: '', type: 'untyped', samples: [] };
      families.set(name, { ...f, help: helps.get(name) ?? f.help, type: types.get(name) ?? f.type });
      return;
    }
    const nm = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
    if (!nm) throw new Error(`${where}: bad sample line ${line}`);
    const name = nm[0];
    let rest = line.slice(name.length);
    let labels: Record<string, string> = {};
    if (rest.startsWith('{')) ({ labels, rest } = parseLabels(rest.slice(1), where));
    const vm = /^ (\S+)( -?\d+)?$/.exec(rest);
    if (!vm) throw new Error(`${where}: bad value part ${JSON.stringify(rest)}`);
    const value = parseValue(vm[1]!, where);
    const family = familyOf(name, types);
    if (!family) throw new Error(`${where}: sample ${name} has no TYPE before it`);
    enter(family, where);
    const id = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (series.has(id)) throw new Error(`${where}: series repeated: ${line}`);
    series.add(id);
    families.get(family)!.samples.push({ name, labels, value });
  });
  for (const f of families.values()) if (f.type === 'histogram') checkHistogram(f);
  return families;
}

function checkHistogram(f: PromFamily): void {
  const groups = new Map<string, PromSample[]>();
  for (const s of f.samples) {
    const { le, ...rest } = s.labels;
    const k = JSON.stringify(Object.entries(rest).sort());
    if (s.name === `${f.name}_bucket` && le === undefined) throw new Error(`${f.name}: a bucket without le`);
    groups.set(k, [...(groups.get(k) ?? []), s]);
  }
  for (const [k, samples] of groups) {
    const buckets = samples.filter((s) => s.name === `${f.name}_bucket`);
    const count = samples.find((s) => s.name === `${f.name}_count`);
    if (!samples.some((s) => s.name === `${f.name}_sum`) || !count) throw new Error(`${f.name}${k}: no _sum or _count`);
    const les = buckets.map((b) => parseValue(b.labels.le!, f.name));
    if (les.at(-1) !== Infinity) throw new Error(`${f.name}${k}: the last bucket is not +Inf`);
    for (let i = 1; i < buckets.length; i++) {
      if (les[i]! <= les[i - 1]!) throw new Error(`${f.name}${k}: buckets out of order`);
      if (buckets[i]!.value < buckets[i - 1]!.value) throw new Error(`${f.name}${k}: buckets not cumulative`);
    }
    if (buckets.at(-1)!.value !== count.value) throw new Error(`${f.name}${k}: +Inf bucket differs from _count`);
  }
}
