// The EFFECTIVE value of a control-plane component's setting and where it came from, as the
// component itself computes it. Pure: used by the facts phase (to know which etcd data dir or
// kubeconfig to stat) and by the checks (to judge the value).
//
// - A component configuration file that holds the setting decides alone: etcd ignores every
//   flag and ETCD_* variable once --config-file is given, and kube-scheduler ignores its
//   deprecated flags (--profiling, --kubeconfig) once --config is given.
// - Otherwise the last occurrence of the flag wins; for etcd an ETCD_* variable comes next.
// - k3s sets many flags internally where nobody can see them: a setting it was not given is
//   `hidden`, never guessed.
// - Otherwise the component's real built-in default applies.
import { VALUE_FROM, type ComponentArg, type ComponentFacts } from './control-plane-types.js';
import type { JsonObject, JsonValue } from './host-facts.js';
import { lastArg } from './components.js';
import { truncatedArgvReason } from './cli-flags.js';

export type ValueType = 'bool' | 'int' | 'string' | 'list';

export interface ValueSpec {
  /** Flag name without dashes. */
  readonly flag: string;
  readonly type: ValueType;
  /** The component's real built-in default as text; null when it is unset by default. */
  readonly default: string | null;
  /** etcd: the variable read when the flag is not given (`ETCD_CLIENT_CERT_AUTH`). */
  readonly env?: string;
  /** Where the component's own configuration file holds it; when that file is used it decides. */
  readonly configPath?: readonly string[];
  /** For `feature-gates`: the one gate judged (its value is a boolean). */
  readonly featureGate?: string;
}

export type ValueSource = 'flag' | 'manifest' | 'config' | 'env' | 'default' | 'none';

export type ValueResolution =
  | {
      readonly kind: 'value';
      /** As text ('true', '30', 'Node,RBAC'); null when not set anywhere and unset by default. */
      readonly value: string | null;
      readonly source: ValueSource;
      readonly sourceFile: string;
      /** Where it was read, in words. */
      readonly where: string;
    }
  /** The value is set where the agent cannot see it (k3s internals): `reason` says what, `why` why. */
  | { readonly kind: 'hidden'; readonly reason: string; readonly why: string }
  | { readonly kind: 'error'; readonly reason: string; readonly sourceFile: string };

type Typed = { ok: true; value: string } | { ok: false; problem: string };

const TRUE_WORDS = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const FALSE_WORDS = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

/** Go's strconv.ParseBool, which both pflag and Go's flag package use. */
export function parseGoBool(raw: string): boolean | null {
  if (TRUE_WORDS.has(raw)) return true;
  if (FALSE_WORDS.has(raw)) return false;
  return null;
}

function typedText(type: ValueType, raw: string): Typed {
  if (type === 'bool') {
    const b = parseGoBool(raw);
    return b === null ? { ok: false, problem: `${JSON.stringify(raw)} is not a boolean` } : { ok: true, value: String(b) };
  }
  if (type === 'int') {
    // Go would also read 0x.. and leading-zero octal in some places; refuse rather than misjudge.
    return /^-?(0|[1-9][0-9]*)$/.test(raw) ? { ok: true, value: String(Number(raw)) } : { ok: false, problem: `${JSON.stringify(raw)} is not a plain decimal integer` };
  }
  return { ok: true, value: raw };
}

function typedJson(type: ValueType, v: JsonValue): Typed {
  switch (type) {
    case 'bool':
      return typeof v === 'boolean' ? { ok: true, value: String(v) } : { ok: false, problem: `${JSON.stringify(v)} is not a boolean` };
    case 'int':
      return typeof v === 'number' && Number.isInteger(v) ? { ok: true, value: String(v) } : { ok: false, problem: `${JSON.stringify(v)} is not an integer` };
    case 'string':
      return typeof v === 'string' ? { ok: true, value: v } : { ok: false, problem: `${JSON.stringify(v)} is not a string` };
    case 'list':
      if (typeof v === 'string') return { ok: true, value: v };
      return Array.isArray(v) && v.every((e) => typeof e === 'string') ? { ok: true, value: v.join(',') } : { ok: false, problem: `${JSON.stringify(v)} is not a list of strings` };
  }
}

const isMapping = (v: JsonValue | undefined): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The value at `path`; undefined when unset (null counts as unset), or a problem. */
export function lookupPath(data: JsonValue, path: readonly string[]): { value: JsonValue | undefined } | { problem: string } {
  let cur: JsonValue | undefined = data;
  for (const [i, key] of path.entries()) {
    if (cur === null || cur === undefined) return { value: undefined };
    if (!isMapping(cur)) return { problem: `${path.slice(0, i).join('.')} is not a mapping` };
    cur = Object.hasOwn(cur, key) ? cur[key] : undefined;
  }
  return { value: cur === null ? undefined : cur };
}

/** Where an argument was read, in words. */
export function argWhere(c: ComponentFacts, a: ComponentArg): string {
  if (a.source === 'flag') return `--${a.name} on the ${c.origin === 'k3s' ? 'k3s server' : c.component} command line`;
  if (a.source === 'manifest') return `--${a.name} in the static pod manifest ${a.file}`;
  return `${a.name} in ${a.file}`;
}

const sourceOf = (a: ComponentArg): ValueSource => a.source;

/** `A=true,B=false` from every --feature-gates occurrence, merged in order (as the flag does). */
function featureGate(c: ComponentFacts, spec: ValueSpec, gate: string): ValueResolution | null {
  let found: { value: boolean; arg: ComponentArg } | null = null;
  for (const a of c.args) {
    if (a.name !== spec.flag) continue;
    for (const part of a.value.split(',').map((p) => p.trim()).filter((p) => p !== '')) {
      const eq = part.indexOf('=');
      const key = eq < 0 ? part : part.slice(0, eq).trim();
      if (key !== gate) continue;
      const b = parseGoBool(eq < 0 ? '' : part.slice(eq + 1).trim());
      if (b === null) return { kind: 'error', reason: `${argWhere(c, a)}: ${JSON.stringify(part)} is not gate=true|false`, sourceFile: a.file };
      found = { value: b, arg: a };
    }
  }
  if (found === null) return null;
  return { kind: 'value', value: String(found.value), source: sourceOf(found.arg), sourceFile: found.arg.file, where: `${gate} in ${argWhere(c, found.arg)}` };
}

function fromDefault(c: ComponentFacts, spec: ValueSpec, why: string): ValueResolution {
  if (c.hidden !== null) return { kind: 'hidden', reason: `${why}, as far as the agent can see`, why: c.hidden };
  if (spec.default === null) return { kind: 'value', value: null, source: 'none', sourceFile: '', where: `${why}, and ${c.component} leaves it unset by default` };
  return { kind: 'value', value: spec.default, source: 'default', sourceFile: '', where: `${why}; the ${c.component} default` };
}

export function resolveComponentValue(c: ComponentFacts, spec: ValueSpec): ValueResolution {
  const label = spec.featureGate ?? spec.flag;

  // 0. A command line read only in part: a flag past the cut would win (or name another config file).
  if (c.argvTruncated) {
    return { kind: 'error', reason: truncatedArgvReason(c.origin === 'k3s' ? `the k3s server running ${c.component}` : c.component, c.pid), sourceFile: '' };
  }

  // 1. The component's own configuration file, when it is in use and holds this setting.
  if (spec.configPath !== undefined && c.config !== null) {
    const doc = c.config;
    const key = spec.configPath.join('.');
    if (doc.error !== null || doc.data === null) {
      const why = doc.error?.message ?? 'no data';
      return { kind: 'error', reason: doc.path === '' ? why : `cannot read ${doc.path}, which decides ${label}: ${why}`, sourceFile: doc.path };
    }
    const ignored = lastArg(c.args, spec.flag);
    const note = ignored !== undefined ? ` (${argWhere(c, ignored)} is ignored while a config file is used)` : '';
    const found = lookupPath(doc.data, spec.configPath);
    if ('problem' in found) return { kind: 'error', reason: `${doc.path}: ${found.problem}`, sourceFile: doc.path };
    if (found.value === undefined) {
      if (spec.default === null) return { kind: 'value', value: null, source: 'none', sourceFile: doc.path, where: `${key} is not set in ${doc.path}${note}` };
      return { kind: 'value', value: spec.default, source: 'default', sourceFile: doc.path, where: `${key} is not set in ${doc.path}; the ${c.component} default${note}` };
    }
    const typed = typedJson(spec.type, found.value);
    if (!typed.ok) return { kind: 'error', reason: `${key} in ${doc.path}: ${typed.problem}`, sourceFile: doc.path };
    return { kind: 'value', value: typed.value, source: 'config', sourceFile: doc.path, where: `${key} in ${doc.path}${note}` };
  }

  // 2. The flag (for feature gates: the gate inside every --feature-gates).
  if (spec.featureGate !== undefined) {
    const gate = featureGate(c, spec, spec.featureGate);
    if (gate !== null) return gate;
  } else {
    const arg = lastArg(c.args, spec.flag);
    if (arg !== undefined) {
      const typed = typedText(spec.type, arg.value);
      if (!typed.ok) return { kind: 'error', reason: `${argWhere(c, arg)}: ${typed.problem}`, sourceFile: arg.file };
      return { kind: 'value', value: typed.value, source: sourceOf(arg), sourceFile: arg.file, where: argWhere(c, arg) };
    }
  }

  // 3. etcd's environment.
  if (spec.env !== undefined && c.component === 'etcd' && c.origin !== 'k3s') {
    if (c.env === null) {
      return { kind: 'error', reason: `--${spec.flag} is not on the command line and etcd's environment, which may set ${spec.env}, cannot be read: ${c.envError?.message ?? 'not collected'}`, sourceFile: '' };
    }
    const e = c.env.find((x) => x.name === spec.env);
    if (e !== undefined) {
      if (e.value === VALUE_FROM) return { kind: 'error', reason: `${spec.env} takes its value from a valueFrom reference that the agent does not read`, sourceFile: c.manifest ?? '' };
      const typed = typedText(spec.type, e.value);
      if (!typed.ok) return { kind: 'error', reason: `${spec.env} in etcd's environment: ${typed.problem}`, sourceFile: '' };
      const where = c.pid !== null ? `${spec.env} in the environment of etcd (pid ${c.pid})` : `${spec.env} in the static pod manifest ${c.manifest ?? ''}`;
      return { kind: 'value', value: typed.value, source: 'env', sourceFile: c.pid !== null ? '' : (c.manifest ?? ''), where };
    }
  }

  const notSet = spec.featureGate !== undefined
    ? `no --${spec.flag} sets ${spec.featureGate}`
    : spec.env !== undefined && c.component === 'etcd' ? `neither --${spec.flag} nor ${spec.env} is set` : `--${label} is not set`;
  return fromDefault(c, spec, notSet);
}

/** An etcd setting: its flag, its ETCD_* variable and its place in a --config-file. */
export const etcdSpec = (flag: string, type: ValueSpec['type'], dflt: string | null, configPath: readonly string[]): ValueSpec => ({
  flag, type, default: dflt, env: `ETCD_${flag.toUpperCase().replace(/-/g, '_')}`, configPath,
});
