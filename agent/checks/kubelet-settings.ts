// The EFFECTIVE value of a kubelet setting and where it came from, as the kubelet computes it:
// a command-line flag wins; else the last --config-dir drop-in that sets it (lexical order,
// later wins); else the --config file; else the built-in default, which is the
// KubeletConfiguration default when --config is used and the command-line default otherwise.
// A zero the kubelet's defaulting replaces (streamingConnectionIdleTimeout: 0s in a file) is
// reported as that default; the same zero on the command line is kept, as the kubelet keeps it.
import type { Result } from '../../proto/domain.js';
import type { CliFlag, ConfigDoc, HostFacts, JsonObject, JsonValue, KubeletFacts } from '../facts/index.js';
import { truncatedArgvReason } from '../facts/cli-flags.js';
import { formatGoDuration, parseGoDuration } from './go-duration.js';
import { withOrigin } from './kubelet-origin.js';
import { describeTest, runTest } from './operators.js';
import { failingStatus, kubeletAbsent, makeResult } from './result.js';
import type { KubeletSetting, KubeletSettingCheck, SettingType } from './spec.js';

export interface EffectiveSetting {
  /** As text ('true', '0', 'Webhook'); null when not set anywhere and without a default. */
  readonly value: string | null;
  readonly source: 'flag' | 'dropin' | 'config' | 'default' | 'none';
  readonly sourceFile: string;
  /** Where it was read, in words: `--anonymous-auth on the command line`, ... */
  readonly where: string;
}

export type Resolution =
  | { readonly ok: true; readonly setting: EffectiveSetting }
  | { readonly ok: false; readonly reason: string; readonly sourceFile: string };

type Typed = { ok: true; value: string } | { ok: false; problem: string };

const TRUE_WORDS = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const FALSE_WORDS = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

function typedDuration(raw: string): Typed {
  const d = parseGoDuration(raw);
  return d.ok ? { ok: true, value: formatGoDuration(d.ns) } : { ok: false, problem: d.problem };
}

/** A flag value in the form the kubelet would accept (Go's ParseBool; plain decimal integers; Go durations). */
function typedFlag(type: SettingType, raw: string): Typed {
  if (type === 'bool') {
    if (TRUE_WORDS.has(raw)) return { ok: true, value: 'true' };
    if (FALSE_WORDS.has(raw)) return { ok: true, value: 'false' };
    return { ok: false, problem: `${JSON.stringify(raw)} is not a boolean` };
  }
  if (type === 'int') {
    // Go also reads 0x.. and leading-zero octal here; we refuse to guess rather than misjudge.
    if (/^-?(0|[1-9][0-9]*)$/.test(raw)) return { ok: true, value: String(Number(raw)) };
    return { ok: false, problem: `${JSON.stringify(raw)} is not a plain decimal integer` };
  }
  if (type === 'duration') return typedDuration(raw);
  if (type === 'list') return { ok: true, value: raw.split(',').map((e) => e.trim()).filter((e) => e !== '').join(',') };
  return { ok: true, value: raw };
}

function typedConfig(type: SettingType, v: JsonValue): Typed {
  switch (type) {
    case 'bool':
      return typeof v === 'boolean' ? { ok: true, value: String(v) } : { ok: false, problem: `${JSON.stringify(v)} is not a boolean` };
    case 'int':
      return typeof v === 'number' && Number.isInteger(v) ? { ok: true, value: String(v) } : { ok: false, problem: `${JSON.stringify(v)} is not an integer` };
    case 'string':
      return typeof v === 'string' ? { ok: true, value: v } : { ok: false, problem: `${JSON.stringify(v)} is not a string` };
    case 'duration':
      return typeof v === 'string' ? typedDuration(v) : { ok: false, problem: `${JSON.stringify(v)} is not a duration string` };
    case 'list':
      return Array.isArray(v) && v.every((e) => typeof e === 'string')
        ? { ok: true, value: v.join(',') }
        : { ok: false, problem: `${JSON.stringify(v)} is not a list of strings` };
  }
}

const isZero = (type: SettingType, value: string): boolean => (type === 'duration' ? value === '0s' : type === 'int' && value === '0');

const isMapping = (v: JsonValue): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The value at `path` in a document: undefined when the document does not set it (a null
 * counts as not set: the kubelet's decoding and drop-in merge both leave the value alone),
 * or a problem when a parent is not a mapping.
 */
function lookup(data: JsonValue, path: readonly string[]): { value: JsonValue | undefined } | { problem: string } {
  let cur: JsonValue = data;
  for (const [i, key] of path.entries()) {
    if (cur === null) return { value: undefined };
    if (!isMapping(cur)) return { problem: `${path.slice(0, i).join('.')} is not a mapping` };
    if (!Object.hasOwn(cur, key)) return { value: undefined };
    cur = cur[key] as JsonValue;
  }
  return { value: cur === null ? undefined : cur };
}

type FromDoc = { kind: 'unset' } | { kind: 'set'; value: string; zero: boolean } | { kind: 'error'; reason: string };

function fromDoc(doc: ConfigDoc, setting: KubeletSetting, what: string): FromDoc {
  if (doc.error !== null || doc.data === null) {
    return { kind: 'error', reason: `cannot read ${what} ${doc.path}: ${doc.error?.message ?? 'no data'}` };
  }
  const found = lookup(doc.data, setting.configPath);
  const key = setting.configPath.join('.');
  if ('problem' in found) return { kind: 'error', reason: `${what} ${doc.path}: ${found.problem}` };
  if (found.value === undefined) return { kind: 'unset' };
  // An empty string is Go's zero value: the same as leaving the field out.
  if (found.value === '' && (setting.type === 'string' || setting.emptyIsUnset === true)) return { kind: 'unset' };
  const typed = typedConfig(setting.type, found.value);
  if (!typed.ok) return { kind: 'error', reason: `${key} in ${what} ${doc.path}: ${typed.problem}` };
  return { kind: 'set', value: typed.value, zero: setting.configZeroIsDefault === true && isZero(setting.type, typed.value) };
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
        const typed = typedFlag('bool', entry.slice(eq + 1).trim());
        if (!typed.ok) return { kind: 'error', reason: `--${name} on the command line: ${setting.flagKey}: ${typed.problem}` };
        found = { value: typed.value, index };
      }
    }
    return found === undefined ? { kind: 'unset' } : { kind: 'set', ...found };
  }
  const index = lastFlagIndex(flags, name);
  if (index < 0) return { kind: 'unset' };
  if (setting.type === 'list') {
    const values = flags.filter((f) => f.name === name).map((f) => typedFlag('list', f.value));
    const joined = values.map((v) => (v.ok ? v.value : '')).filter((v) => v !== '').join(',');
    return { kind: 'set', value: joined, index };
  }
  const typed = typedFlag(setting.type, (flags[index] as CliFlag).value);
  if (!typed.ok) return { kind: 'error', reason: `--${name} on the command line: ${typed.problem}` };
  return { kind: 'set', value: typed.value, index };
}

/** `--x on the command line`, or for a kubelet found from its unit, the file the flag came from. */
function flagWhere(kubelet: KubeletFacts, setting: KubeletSetting, index: number): { where: string; sourceFile: string } {
  const flag = setting.flagKey !== undefined ? `${setting.flagKey} in --${setting.flag}` : `--${setting.flag}`;
  if (kubelet.origin !== 'unit') return { where: `${flag} on the command line`, sourceFile: '' };
  const file = kubelet.flagSources?.[index] ?? '';
  return { where: `${flag} in the command line of the kubelet's systemd unit${file ? `, from ${file}` : ''}`, sourceFile: file };
}

export function resolveKubeletSetting(kubelet: KubeletFacts, setting: KubeletSetting): Resolution {
  // A flag past the part of the command line that was read would win over everything below.
  if (kubelet.argvTruncated) return { ok: false, reason: truncatedArgvReason('the kubelet', kubelet.pid), sourceFile: '' };
  const key = setting.configPath.join('.');
  const flag = fromFlags(kubelet, setting);
  if (flag.kind === 'error') return { ok: false, reason: flag.reason, sourceFile: '' };
  if (flag.kind === 'set') {
    const { where, sourceFile } = flagWhere(kubelet, setting, flag.index);
    if (setting.emptyIsUnset === true && flag.value === '') {
      return { ok: true, setting: { value: null, source: 'flag', sourceFile, where: `${where}, empty: not set` } };
    }
    return { ok: true, setting: { value: flag.value, source: 'flag', sourceFile, where } };
  }

  const inConfig = setting.configPath.length > 0;
  const zeroed = (value: string, file: string): string =>
    `${value === '0s' || value === '0' ? value : 'zero'} in ${file}, which the kubelet replaces with its default`;
  const dropins = kubelet.dropins;
  if (inConfig && dropins !== null) {
    if (dropins.error !== null) {
      return { ok: false, reason: `cannot read the drop-in directory ${dropins.dir}, which may set ${key}: ${dropins.error.message}`, sourceFile: dropins.dir };
    }
    for (const doc of [...dropins.files].reverse()) {
      const r = fromDoc(doc, setting, 'drop-in');
      if (r.kind === 'error') return { ok: false, reason: r.reason, sourceFile: doc.path };
      if (r.kind === 'set' && r.zero) {
        return { ok: true, setting: { value: setting.configDefault, source: 'default', sourceFile: doc.path, where: `${key} ${zeroed(r.value, `drop-in ${doc.path}`)}` } };
      }
      if (r.kind === 'set') return { ok: true, setting: { value: r.value, source: 'dropin', sourceFile: doc.path, where: `${key} in drop-in ${doc.path}` } };
    }
  }

  if (inConfig && kubelet.config !== null) {
    const r = fromDoc(kubelet.config, setting, 'config file');
    if (r.kind === 'error') return { ok: false, reason: r.reason, sourceFile: kubelet.config.path };
    if (r.kind === 'set' && r.zero) {
      return { ok: true, setting: { value: setting.configDefault, source: 'default', sourceFile: kubelet.config.path, where: `${key} ${zeroed(r.value, kubelet.config.path)}` } };
    }
    if (r.kind === 'set') {
      return { ok: true, setting: { value: r.value, source: 'config', sourceFile: kubelet.config.path, where: `${key} in ${kubelet.config.path}` } };
    }
  }

  // A command-line-only setting has the same default with or without --config.
  const withConfig = kubelet.config !== null && inConfig;
  const value = withConfig ? setting.configDefault : setting.flagDefault;
  if (value === null) return { ok: true, setting: { value: null, source: 'none', sourceFile: '', where: 'not set anywhere, and unset by default' } };
  const where = withConfig
    ? 'not set; the kubelet default for a --config run'
    : kubelet.config !== null
      ? 'not set; the kubelet default (a command-line setting)'
      : 'not set; the kubelet command-line default (it runs without --config)';
  return { ok: true, setting: { value, source: 'default', sourceFile: '', where } };
}

/** `kubelet/--anonymous-auth`; a key of a map flag: `kubelet/--feature-gates:RotateKubeletServerCertificate`. */
export const kubeletSettingSubject = (setting: KubeletSetting): string =>
  `kubelet/--${setting.flag}${setting.flagKey !== undefined ? `:${setting.flagKey}` : ''}`;

export function evaluateKubeletSetting(spec: KubeletSettingCheck, facts: HostFacts): Result {
  const subject = kubeletSettingSubject(spec.setting);
  const expected = describeTest(spec.test);
  if (facts.kubelet === null) return kubeletAbsent(spec, subject, expected, facts.kubeletAbsence);
  const r = resolveKubeletSetting(facts.kubelet, spec.setting);
  if (!r.ok) return makeResult(spec, { subject, status: 'error', expected, sourceFile: r.sourceFile, reason: withOrigin(facts.kubelet, r.reason) });
  const { value, source, sourceFile, where } = r.setting;
  const t = runTest(spec.test, value);
  const shown = value ?? 'not set';
  const reason = withOrigin(facts.kubelet, `${shown} (${where}); expected ${expected}${t.note && value !== null ? `: ${t.note}` : ''}`);
  return makeResult(spec, {
    subject,
    status: t.ok ? 'pass' : failingStatus(spec),
    actual: value ?? '',
    expected,
    source,
    sourceFile,
    reason,
  });
}
