// A kubelet setting check: the setting's effective value and where it came from (resolved by
// the one settings resolver, agent/facts/component-settings.ts), judged by the check's test.
import type { Result } from '../../proto/domain.js';
import type { HostFacts } from '../facts/index.js';
import { resolveKubeletSetting } from '../facts/component-settings.js';
import { withOrigin } from './kubelet-origin.js';
import { describeTest, runTest } from './operators.js';
import { failingStatus, kubeletAbsent, makeResult } from './result.js';
import type { KubeletSetting, KubeletSettingCheck } from './spec.js';

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
