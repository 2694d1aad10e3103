// The EFFECTIVE value of a component's setting and where it came from, as the component itself
// computes it: one resolver for the kubelet and the control plane. Each component lists the
// places that can give a setting in the order it applies them (componentSteps, kubeletSteps);
// the first place that decides wins, else the component's built-in default. Pure: used by the
// facts phase (to know which etcd data dir or kubeconfig to stat) and by the checks.
//
// The kubelet: a command-line flag wins; else the last --config-dir drop-in that sets it
// (lexical order, later wins); else the --config file; else the built-in default, which is the
// KubeletConfiguration default when --config is used and the command-line default otherwise.
// A zero the kubelet's defaulting replaces (streamingConnectionIdleTimeout: 0s in a file) is
// reported as that default; the same zero on the command line is kept, as the kubelet keeps it.
//
// The control plane:
// - A component configuration file that holds the setting decides alone: etcd ignores every
//   flag and ETCD_* variable once --config-file is given, and kube-scheduler ignores its
//   deprecated flags (--profiling, --kubeconfig) once --config is given.
// - Otherwise the last occurrence of the flag wins; for etcd an ETCD_* variable comes next.
// - k3s sets many flags internally where nobody can see them: a setting it was not given is
//   `hidden`, never guessed.
// - Otherwise the component's real built-in default applies.
import { VALUE_FROM, type ComponentArg, type ComponentFacts } from './control-plane-types.js';
import type { CliFlag } from './cli-flags.js';
import type { ConfigDoc, KubeletFacts } from './host-facts.js';
import { lastArg } from './components.js';
import { truncatedArgvReason } from './cli-flags.js';
import { listText, lookupPath, parseGoBool, typedJson, typedText, type SettingType } from './setting-values.js';

export { lookupPath, parseGoBool, type SettingType } from './setting-values.js';

// ---- The one resolver ----------------------------------------------------------------------

/** A value decided: as text ('true', '30', 'Node,RBAC'); null when not set anywhere and unset by default. */
export interface Decided<S extends string> {
  readonly kind: 'value';
  readonly value: string | null;
  readonly source: S;
  readonly sourceFile: string;
  /** Where it was read, in words. */
  readonly where: string;
}

/** The value is set where the agent cannot see it (k3s internals): `reason` says what, `why` why. */
export interface Hidden {
  readonly kind: 'hidden';
  readonly reason: string;
  readonly why: string;
}

export interface Refused {
  readonly kind: 'error';
  readonly reason: string;
  readonly sourceFile: string;
}

/** What one place that can give a setting says about it: nothing (`unset`), or a decision. */
export type Step<S extends string> = Decided<S> | Hidden | Refused | { readonly kind: 'unset' };

/** The first place (in the component's order) that decides, else the component's default. */
export function resolveSetting<S extends string>(steps: Iterable<Step<S>>, otherwise: () => Decided<S> | Hidden): Decided<S> | Hidden | Refused {
  for (const step of steps) if (step.kind !== 'unset') return step;
  return otherwise();
}

const UNSET = { kind: 'unset' } as const;

// ---- The control plane ---------------------------------------------------------------------

export type ValueType = Exclude<SettingType, 'duration'>;

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

export type ValueResolution = Decided<ValueSource> | Hidden | Refused;

/** Where an argument was read, in words. */
export function argWhere(c: ComponentFacts, a: ComponentArg): string {
  if (a.source === 'flag') return `--${a.name} on the ${c.origin === 'embedded' ? c.embeddedIn ?? c.component : c.component} command line`;
  if (a.source === 'manifest') return `--${a.name} in the static pod manifest ${a.file}`;
  return `${a.name} in ${a.file}`;
}

/** `A=true,B=false` from every --feature-gates occurrence, merged in order (as the flag does). */
function featureGate(c: ComponentFacts, spec: ValueSpec, gate: string): Step<ValueSource> {
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
  if (found === null) return UNSET;
  return { kind: 'value', value: String(found.value), source: found.arg.source, sourceFile: found.arg.file, where: `${gate} in ${argWhere(c, found.arg)}` };
}

/** The component's own configuration file, when it is in use and holds this setting: it decides alone. */
function componentConfig(c: ComponentFacts, spec: ValueSpec): Step<ValueSource> {
  if (spec.configPath === undefined || c.config === null) return UNSET;
  const label = spec.featureGate ?? spec.flag;
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
  const typed = typedJson(spec.type, found.value, 'array-or-text');
  if (!typed.ok) return { kind: 'error', reason: `${key} in ${doc.path}: ${typed.problem}`, sourceFile: doc.path };
  return { kind: 'value', value: typed.value, source: 'config', sourceFile: doc.path, where: `${key} in ${doc.path}${note}` };
}

/** The flag (for feature gates: the gate inside every --feature-gates); the last occurrence wins. */
function componentFlag(c: ComponentFacts, spec: ValueSpec): Step<ValueSource> {
  if (spec.featureGate !== undefined) return featureGate(c, spec, spec.featureGate);
  const arg = lastArg(c.args, spec.flag);
  if (arg === undefined) return UNSET;
  const typed = typedText(spec.type, arg.value);
  if (!typed.ok) return { kind: 'error', reason: `${argWhere(c, arg)}: ${typed.problem}`, sourceFile: arg.file };
  return { kind: 'value', value: typed.value, source: arg.source, sourceFile: arg.file, where: argWhere(c, arg) };
}

/** etcd's ETCD_* variable, read when the flag is not given. */
function etcdEnv(c: ComponentFacts, spec: ValueSpec): Step<ValueSource> {
  if (spec.env === undefined || c.component !== 'etcd' || c.origin === 'embedded') return UNSET;
  if (c.env === null) {
    return { kind: 'error', reason: `--${spec.flag} is not on the command line and etcd's environment, which may set ${spec.env}, cannot be read: ${c.envError?.message ?? 'not collected'}`, sourceFile: '' };
  }
  const e = c.env.find((x) => x.name === spec.env);
  if (e === undefined) return UNSET;
  if (e.value === VALUE_FROM) return { kind: 'error', reason: `${spec.env} takes its value from a valueFrom reference that the agent does not read`, sourceFile: c.manifest ?? '' };
  const typed = typedText(spec.type, e.value);
  if (!typed.ok) return { kind: 'error', reason: `${spec.env} in etcd's environment: ${typed.problem}`, sourceFile: '' };
  const where = c.pid !== null ? `${spec.env} in the environment of etcd (pid ${c.pid})` : `${spec.env} in the static pod manifest ${c.manifest ?? ''}`;
  return { kind: 'value', value: typed.value, source: 'env', sourceFile: c.pid !== null ? '' : (c.manifest ?? ''), where };
}

/** A control-plane component's places, in its order: a command line read only in part refuses first. */
function* componentSteps(c: ComponentFacts, spec: ValueSpec): Generator<Step<ValueSource>> {
  // A flag past the cut would win (or name another config file).
  if (c.argvTruncated) {
    yield { kind: 'error', reason: truncatedArgvReason(c.origin === 'embedded' ? `the ${c.embeddedIn ?? ''} running ${c.component}` : c.component, c.pid), sourceFile: '' };
  }
  yield componentConfig(c, spec);
  yield componentFlag(c, spec);
  yield etcdEnv(c, spec);
}

function componentDefault(c: ComponentFacts, spec: ValueSpec): Decided<ValueSource> | Hidden {
  const why = spec.featureGate !== undefined
    ? `no --${spec.flag} sets ${spec.featureGate}`
    : spec.env !== undefined && c.component === 'etcd' ? `neither --${spec.flag} nor ${spec.env} is set` : `--${spec.featureGate ?? spec.flag} is not set`;
  if (c.hidden !== null) return { kind: 'hidden', reason: `${why}, as far as the agent can see`, why: c.hidden };
  if (spec.default === null) return { kind: 'value', value: null, source: 'none', sourceFile: '', where: `${why}, and ${c.component} leaves it unset by default` };
  return { kind: 'value', value: spec.default, source: 'default', sourceFile: '', where: `${why}; the ${c.component} default` };
}

export function resolveComponentValue(c: ComponentFacts, spec: ValueSpec): ValueResolution {
  return resolveSetting(componentSteps(c, spec), () => componentDefault(c, spec));
}

/** An etcd setting: its flag, its ETCD_* variable and its place in a --config-file. */
export const etcdSpec = (flag: string, type: ValueSpec['type'], dflt: string | null, configPath: readonly string[]): ValueSpec => ({
  flag, type, default: dflt, env: `ETCD_${flag.toUpperCase().replace(/-/g, '_')}`, configPath,
});

// ---- The kubelet ---------------------------------------------------------------------------

/** One kubelet setting, which can come from a flag, the config file or its drop-ins. */
export interface KubeletSetting {
  /** Flag name without dashes, e.g. `anonymous-auth`. */
  readonly flag: string;
  /**
   * Path in the KubeletConfiguration, e.g. ['authentication', 'anonymous', 'enabled']; empty
   * for a setting that only exists on the command line (`--hostname-override`).
   */
  readonly configPath: readonly string[];
  readonly type: SettingType;
  /** The built-in default without --config (flag defaults); null when unset. */
  readonly flagDefault: string | null;
  /** The built-in default with --config (KubeletConfiguration v1beta1 defaults); null when unset. */
  readonly configDefault: string | null;
  /**
   * The flag is a `Key=bool,...` map (`--feature-gates`) and the setting is this key: every
   * occurrence of the flag is merged, later ones winning per key, and a key the command line
   * does not name falls through to the config file, as the kubelet merges them.
   */
  readonly flagKey?: string;
  /** A zero value in the config file is replaced by the default (the kubelet's defaulting does so). */
  readonly configZeroIsDefault?: boolean;
  /** An empty value means "not set" (a path the kubelet then does not open). */
  readonly emptyIsUnset?: boolean;
}

export type KubeletSource = 'flag' | 'dropin' | 'config' | 'default' | 'none';

export interface EffectiveSetting {
  /** As text ('true', '0', 'Webhook'); null when not set anywhere and without a default. */
  readonly value: string | null;
  readonly source: KubeletSource;
  readonly sourceFile: string;
  /** Where it was read, in words: `--anonymous-auth on the command line`, ... */
  readonly where: string;
}

export type Resolution =
  | { readonly ok: true; readonly setting: EffectiveSetting }
  | { readonly ok: false; readonly reason: string; readonly sourceFile: string };

const isZero = (type: SettingType, value: string): boolean => (type === 'duration' ? value === '0s' : type === 'int' && value === '0');

/** One KubeletConfiguration document (the --config file or a drop-in): `what` names it. */
function kubeletDoc(doc: ConfigDoc, setting: KubeletSetting, what: string, source: 'dropin' | 'config'): Step<KubeletSource> {
  if (doc.error !== null || doc.data === null) {
    return { kind: 'error', reason: `cannot read ${what} ${doc.path}: ${doc.error?.message ?? 'no data'}`, sourceFile: doc.path };
  }
  const found = lookupPath(doc.data, setting.configPath);
  const key = setting.configPath.join('.');
  const named = source === 'dropin' ? `${what} ${doc.path}` : doc.path;
  if ('problem' in found) return { kind: 'error', reason: `${what} ${doc.path}: ${found.problem}`, sourceFile: doc.path };
  if (found.value === undefined) return UNSET;
  // An empty string is Go's zero value: the same as leaving the field out.
  if (found.value === '' && (setting.type === 'string' || setting.emptyIsUnset === true)) return UNSET;
  const typed = typedJson(setting.type, found.value, 'array');
  if (!typed.ok) return { kind: 'error', reason: `${key} in ${what} ${doc.path}: ${typed.problem}`, sourceFile: doc.path };
  if (setting.configZeroIsDefault === true && isZero(setting.type, typed.value)) {
    const zero = typed.value === '0s' || typed.value === '0' ? typed.value : 'zero';
    return { kind: 'value', value: setting.configDefault, source: 'default', sourceFile: doc.path, where: `${key} ${zero} in ${named}, which the kubelet replaces with its default` };
  }
  return { kind: 'value', value: typed.value, source, sourceFile: doc.path, where: `${key} in ${named}` };
}

/** Index in `flags` of the occurrence that decides a plain flag, or -1. */
function lastFlagIndex(flags: readonly CliFlag[], name: string): number {
  for (let i = flags.length - 1; i >= 0; i--) if (flags[i]?.name === name) return i;
  return -1;
}

type FromFlags = { kind: 'unset' } | { kind: 'set'; value: string; index: number } | { kind: 'error'; reason: string };

/**
 * The value the command line gives a setting. Map flags (`--feature-gates=A=true,B=false`)
 * merge every occurrence, later ones winning per key; list flags (`--tls-cipher-suites`) add
 * up across occurrences as pflag string slices do; any other flag: the last occurrence wins.
 */
function fromFlags(kubelet: KubeletFacts, setting: KubeletSetting): FromFlags {
  const flags = kubelet.flags;
  const name = setting.flag;
  if (setting.flagKey !== undefined) {
    let found: { value: string; index: number } | undefined;
    for (const [index, f] of flags.entries()) {
      if (f.name !== name) continue;
      for (const item of f.value.split(',')) {
        const entry = item.trim();
        if (entry === '') continue;
        const eq = entry.indexOf('=');
        if (eq < 0) return { kind: 'error', reason: `--${name} on the command line: ${JSON.stringify(entry)} is not Key=true|false (the kubelet would refuse to start)` };
        if (entry.slice(0, eq).trim() !== setting.flagKey) continue;
        const typed = typedText('bool', entry.slice(eq + 1).trim());
        if (!typed.ok) return { kind: 'error', reason: `--${name} on the command line: ${setting.flagKey}: ${typed.problem}` };
        found = { value: typed.value, index };
      }
    }
    return found === undefined ? { kind: 'unset' } : { kind: 'set', ...found };
  }
  const index = lastFlagIndex(flags, name);
  if (index < 0) return { kind: 'unset' };
  if (setting.type === 'list') {
    const joined = flags.filter((f) => f.name === name).map((f) => listText(f.value)).filter((v) => v !== '').join(',');
    return { kind: 'set', value: joined, index };
  }
  const typed = typedText(setting.type, (flags[index] as CliFlag).value);
  if (!typed.ok) return { kind: 'error', reason: `--${name} on the command line: ${typed.problem}` };
  return { kind: 'set', value: typed.value, index };
}

/** `--x on the command line`, or for a kubelet found from its unit or embedded in another process, the file the flag came from. */
function flagWhere(kubelet: KubeletFacts, setting: KubeletSetting, index: number): { where: string; sourceFile: string } {
  const flag = setting.flagKey !== undefined ? `${setting.flagKey} in --${setting.flag}` : `--${setting.flag}`;
  const file = kubelet.flagSources?.[index] ?? '';
  if (kubelet.origin === 'embedded') {
    const by = `the flags the \`${kubelet.embeddedIn ?? 'distribution'}\` process gives its embedded kubelet`;
    return { where: `${flag} in ${by}${file ? `, from ${file}` : ''}`, sourceFile: file };
  }
  if (kubelet.origin !== 'unit') return { where: `${flag} on the command line`, sourceFile: '' };
  return { where: `${flag} in the command line of the kubelet's systemd unit${file ? `, from ${file}` : ''}`, sourceFile: file };
}

function kubeletFlag(kubelet: KubeletFacts, setting: KubeletSetting): Step<KubeletSource> {
  const flag = fromFlags(kubelet, setting);
  if (flag.kind === 'unset') return UNSET;
  if (flag.kind === 'error') return { kind: 'error', reason: flag.reason, sourceFile: '' };
  const { where, sourceFile } = flagWhere(kubelet, setting, flag.index);
  if (setting.emptyIsUnset === true && flag.value === '') return { kind: 'value', value: null, source: 'flag', sourceFile, where: `${where}, empty: not set` };
  return { kind: 'value', value: flag.value, source: 'flag', sourceFile, where };
}

/** The kubelet's places, in its order: the command line, the drop-ins (last first), the --config file. */
function* kubeletSteps(kubelet: KubeletFacts, setting: KubeletSetting): Generator<Step<KubeletSource>> {
  // A flag past the part of the command line that was read would win over everything below.
  if (kubelet.argvTruncated) yield { kind: 'error', reason: truncatedArgvReason('the kubelet', kubelet.pid), sourceFile: '' };
  yield kubeletFlag(kubelet, setting);
  if (setting.configPath.length === 0) return;
  const dropins = kubelet.dropins;
  if (dropins !== null) {
    const key = setting.configPath.join('.');
    if (dropins.error !== null) {
      yield { kind: 'error', reason: `cannot read the drop-in directory ${dropins.dir}, which may set ${key}: ${dropins.error.message}`, sourceFile: dropins.dir };
    }
    for (const doc of [...dropins.files].reverse()) yield kubeletDoc(doc, setting, 'drop-in', 'dropin');
  }
  if (kubelet.config !== null) yield kubeletDoc(kubelet.config, setting, 'config file', 'config');
}

function kubeletDefault(kubelet: KubeletFacts, setting: KubeletSetting): Decided<KubeletSource> {
  // A command-line-only setting has the same default with or without --config.
  const withConfig = kubelet.config !== null && setting.configPath.length > 0;
  const value = withConfig ? setting.configDefault : setting.flagDefault;
  if (value === null) return { kind: 'value', value: null, source: 'none', sourceFile: '', where: 'not set anywhere, and unset by default' };
  const where = withConfig
    ? 'not set; the kubelet default for a --config run'
    : kubelet.config !== null
      ? 'not set; the kubelet default (a command-line setting)'
      : 'not set; the kubelet command-line default (it runs without --config)';
  return { kind: 'value', value, source: 'default', sourceFile: '', where };
}

export function resolveKubeletSetting(kubelet: KubeletFacts, setting: KubeletSetting): Resolution {
  const r = resolveSetting(kubeletSteps(kubelet, setting), () => kubeletDefault(kubelet, setting));
  if (r.kind === 'value') return { ok: true, setting: { value: r.value, source: r.source, sourceFile: r.sourceFile, where: r.where } };
  // Only a refusal is left: the kubelet's places hide nothing (no step of it is `hidden`).
  return { ok: false, reason: r.reason, sourceFile: r.kind === 'error' ? r.sourceFile : '' };
}
