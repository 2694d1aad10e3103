// Flag checks on the control-plane components, judged on the EFFECTIVE value: the last
// occurrence of a flag in argv (`--flag value` as well as `--flag=value`), etcd's ETCD_*
// variables and --config-file, kube-scheduler's --config, and the component's real default
// when nothing sets it. Lists are judged element by element, never as substrings.
import type { Result, Source, Status } from '../../proto/domain.js';
import type { ComponentFacts, HostFacts } from '../facts/index.js';
import type { ValueResolution, ValueSpec } from '../facts/component-settings.js';
import { resolveComponentValue } from '../facts/component-settings.js';
import { componentOf, foundAs, isResult } from './control-plane-results.js';
import { describeTest, runTest } from './operators.js';
import type { Test } from './operators.js';
import { failingStatus, makeResult } from './result.js';
import type { CheckMeta, ComponentSettingCheck } from './spec.js';

const label = (s: ValueSpec): string => (s.featureGate !== undefined ? `--${s.flag}=${s.featureGate}` : `--${s.flag}`);

export const componentSettingSubject = (spec: Pick<ComponentSettingCheck, 'component' | 'settings'>): string =>
  `${spec.component}/${spec.settings.map(label).join(',')}`;

export interface SettingJudgement {
  readonly status: Status;
  readonly actual: string;
  readonly source: Source;
  readonly sourceFile: string;
  readonly reason: string;
  /** Why a value cannot be seen (said once, however many settings it hides). */
  readonly why?: string;
}

/** One resolved value against a test: pass, the failing status, `warn` when hidden, or `error`. */
export function judgeValue(spec: CheckMeta, r: ValueResolution, test: Test, expected: string, name: string): SettingJudgement {
  if (r.kind === 'error') return { status: 'error', actual: '', source: 'none', sourceFile: r.sourceFile, reason: r.reason };
  if (r.kind === 'hidden') return { status: 'warn', actual: '', source: 'none', sourceFile: '', reason: r.reason, why: `${r.why}; check it by hand` };
  const t = runTest(test, r.value);
  const note = t.note && r.value !== null ? `: ${t.note}` : '';
  const found = r.value === null ? r.where : `${name} is ${r.value === '' ? 'empty' : r.value} (${r.where})`;
  return {
    status: t.ok ? 'pass' : failingStatus(spec),
    actual: r.value ?? '',
    source: r.source,
    sourceFile: r.sourceFile,
    reason: `${found}; expected ${expected}${note}`,
  };
}

const RANK: Readonly<Record<Status, number>> = { pass: 0, skip: 0, warn: 1, fail: 2, error: 3 };

/** Several judgements of one check as one: the worst status decides. */
export function combine(parts: readonly SettingJudgement[], names: readonly string[]): SettingJudgement {
  const whys = [...new Set(parts.map((p) => p.why).filter((w): w is string => w !== undefined))];
  const tail = whys.length > 0 ? `: ${whys.join('; ')}` : '';
  if (parts.length === 1) {
    const only = parts[0] as SettingJudgement;
    return { ...only, reason: `${only.reason}${tail}` };
  }
  let status: Status = 'pass';
  for (const p of parts) if (RANK[p.status] > RANK[status]) status = p.status;
  const first = parts[0];
  const sameSource = parts.every((p) => p.source === first?.source && p.sourceFile === first?.sourceFile);
  return {
    status,
    actual: parts.map((p, i) => `${names[i] ?? '?'}=${p.actual === '' ? '(not set)' : p.actual}`).join('; '),
    source: sameSource ? (first?.source ?? 'none') : (first?.source ?? 'none'),
    sourceFile: sameSource ? (first?.sourceFile ?? '') : '',
    reason: `${parts.map((p) => p.reason).join('; ')}${tail}`,
  };
}

export function evaluateComponentSetting(spec: ComponentSettingCheck, facts: HostFacts): Result {
  const subject = componentSettingSubject(spec);
  const expected = describeTest(spec.test);
  const c = componentOf(spec, facts, spec.component, subject, expected);
  if (isResult(c)) return c;
  return settingResult(spec, c, spec.settings, spec.test, subject);
}

export function settingResult(spec: CheckMeta, c: ComponentFacts, settings: readonly ValueSpec[], test: Test, subject: string): Result {
  const expected = describeTest(test);
  const names = settings.map((s) => label(s).slice(2));
  const parts = settings.map((s, i) => judgeValue(spec, resolveComponentValue(c, s), test, expected, names[i] ?? s.flag));
  const j = combine(parts, names);
  return makeResult(spec, {
    subject,
    status: j.status,
    actual: j.actual,
    expected,
    source: j.source,
    sourceFile: j.sourceFile,
    reason: `${foundAs(c)}: ${j.reason}`,
  });
}
