// The EFFECTIVE value of a kubelet setting and where it came from, as the kubelet computes it:
// a command-line flag wins; else the last --config-dir drop-in that sets it (lexical order,
// later wins); else the --config file; else the built-in default, which is the
// KubeletConfiguration default when --config is used and the command-line default otherwise.
import type { Result } from '../../proto/domain.js';
import { lastFlag } from '../facts/cli-flags.js';
import type { ConfigDoc, HostFacts, JsonObject, JsonValue, KubeletFacts } from '../facts/index.js';
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

/** A flag value in the form the kubelet would accept (Go's ParseBool; plain decimal integers). */
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
    case 'list':
      return Array.isArray(v) && v.every((e) => typeof e === 'string')
        ? { ok: true, value: v.join(',') }
        : { ok: false, problem: `${JSON.stringify(v)} is not a list of strings` };
  }
}

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

type FromDoc = { kind: 'unset' } | { kind: 'set'; value: string } | { kind: 'error'; reason: string };

function fromDoc(doc: ConfigDoc, setting: KubeletSetting, what: string): FromDoc {
  if (doc.error !== null || doc.data === null) {
    return { kind: 'error', reason: `cannot read ${what} ${doc.path}: ${doc.error?.message ?? 'no data'}` };
  }
  const found = lookup(doc.data, setting.configPath);
  const key = setting.configPath.join('.');
  if ('problem' in found) return { kind: 'error', reason: `${what} ${doc.path}: ${found.problem}` };
  if (found.value === undefined) return { kind: 'unset' };
  const typed = typedConfig(setting.type, found.value);
  return typed.ok ? { kind: 'set', value: typed.value } : { kind: 'error', reason: `${key} in ${what} ${doc.path}: ${typed.problem}` };
}

export function resolveKubeletSetting(kubelet: KubeletFacts, setting: KubeletSetting): Resolution {
  const key = setting.configPath.join('.');
  const flag = lastFlag(kubelet.flags, setting.flag);
  if (flag !== undefined) {
    const typed = typedFlag(setting.type, flag.value);
    if (!typed.ok) return { ok: false, reason: `--${setting.flag} on the command line: ${typed.problem}`, sourceFile: '' };
    const where = `--${setting.flag} on the command line`;
    return { ok: true, setting: { value: typed.value, source: 'flag', sourceFile: '', where } };
  }

  const dropins = kubelet.dropins;
  if (dropins !== null) {
    if (dropins.error !== null) {
      return { ok: false, reason: `cannot read the drop-in directory ${dropins.dir}, which may set ${key}: ${dropins.error.message}`, sourceFile: dropins.dir };
    }
    for (const doc of [...dropins.files].reverse()) {
      const r = fromDoc(doc, setting, 'drop-in');
      if (r.kind === 'error') return { ok: false, reason: r.reason, sourceFile: doc.path };
      if (r.kind === 'set') return { ok: true, setting: { value: r.value, source: 'dropin', sourceFile: doc.path, where: `${key} in drop-in ${doc.path}` } };
    }
  }

  if (kubelet.config !== null) {
    const r = fromDoc(kubelet.config, setting, 'config file');
    if (r.kind === 'error') return { ok: false, reason: r.reason, sourceFile: kubelet.config.path };
    if (r.kind === 'set') {
      return { ok: true, setting: { value: r.value, source: 'config', sourceFile: kubelet.config.path, where: `${key} in ${kubelet.config.path}` } };
    }
  }

  const withConfig = kubelet.config !== null;
  const value = withConfig ? setting.configDefault : setting.flagDefault;
  if (value === null) return { ok: true, setting: { value: null, source: 'none', sourceFile: '', where: 'not set anywhere, and unset by default' } };
  const where = withConfig
    ? 'not set; the kubelet default for a --config run'
    : 'not set; the kubelet command-line default (it runs without --config)';
  return { ok: true, setting: { value, source: 'default', sourceFile: '', where } };
}

export const kubeletSettingSubject = (setting: KubeletSetting): string => `kubelet/--${setting.flag}`;

export function evaluateKubeletSetting(spec: KubeletSettingCheck, facts: HostFacts): Result {
  const subject = kubeletSettingSubject(spec.setting);
  const expected = describeTest(spec.test);
  if (facts.kubelet === null) return kubeletAbsent(spec, subject, expected, facts.kubeletAbsence);
  const r = resolveKubeletSetting(facts.kubelet, spec.setting);
  if (!r.ok) return makeResult(spec, { subject, status: 'error', expected, sourceFile: r.sourceFile, reason: r.reason });
  const { value, source, sourceFile, where } = r.setting;
  const t = runTest(spec.test, value);
  const shown = value ?? 'not set';
  const reason = `${shown} (${where}); expected ${expected}${t.note && value !== null ? `: ${t.note}` : ''}`;
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
