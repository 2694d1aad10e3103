// A kubelet setting check: the setting's effective value and where it came from (resolved by
// the one settings resolver, agent/facts/component-settings.ts), judged by the check's test. A
// setting that acts on the kubelet's client certificate is not judged for a kubelet that has
// none (its kubeconfig authenticates with a token or a plugin): the check skips and says how.
import type { Result } from '../../proto/domain.js';
import type { HostFacts, KubeconfigAuthKind, KubeletFacts } from '../facts/index.js';
import { resolveKubeletSetting } from '../facts/component-settings.js';
import { withOrigin } from './kubelet-origin.js';
import { describeTest, runTest } from './operators.js';
import { failingStatus, kubeletAbsent, makeResult } from './result.js';
import type { KubeletSetting, KubeletSettingCheck } from './spec.js';

/** `kubelet/--anonymous-auth`; a key of a map flag: `kubelet/--feature-gates:RotateKubeletServerCertificate`. */
export const kubeletSettingSubject = (setting: KubeletSetting): string =>
  `kubelet/--${setting.flag}${setting.flagKey !== undefined ? `:${setting.flagKey}` : ''}`;

/** Each kind of kubeconfig credential in words. */
const AUTH_WORDS: { readonly [K in KubeconfigAuthKind]: string } = {
  'client-certificate': 'a client certificate',
  token: 'a bearer token (token)',
  'token-file': 'a bearer token file (tokenFile)',
  exec: 'an exec credential plugin (exec)',
  'auth-provider': 'an auth-provider plugin (auth-provider)',
  basic: 'a user name and password',
};

/**
 * Why a check that acts on the kubelet's client certificate does not apply: its kubeconfig
 * authenticates with credentials and none of them a certificate. Null when it has one, holds
 * no credential at all, or could not be read: the setting is then judged as usual.
 */
function noClientCertificate(kubelet: KubeletFacts): { readonly reason: string; readonly path: string } | null {
  const auth = kubelet.kubeconfigAuth;
  if (auth === undefined || auth.kinds === null || auth.kinds.length === 0 || auth.kinds.includes('client-certificate')) return null;
  const how = auth.kinds.map((k) => AUTH_WORDS[k]).join(' and ');
  return {
    path: auth.path,
    reason: `the kubelet's kubeconfig ${auth.path} (named by --kubeconfig) authenticates with ${how}, not a client certificate: there is no client certificate to rotate`,
  };
}

export function evaluateKubeletSetting(spec: KubeletSettingCheck, facts: HostFacts): Result {
  const subject = kubeletSettingSubject(spec.setting);
  const expected = describeTest(spec.test);
  if (facts.kubelet === null) return kubeletAbsent(spec, subject, expected, facts.kubeletAbsence);
  // A command line cut short may name another --kubeconfig past the cut: the resolver then says so.
  const noCert = spec.actsOn === 'client-certificate' && !facts.kubelet.argvTruncated ? noClientCertificate(facts.kubelet) : null;
  if (noCert !== null) {
    return makeResult(spec, { subject, status: 'skip', expected, source: 'file', sourceFile: noCert.path, reason: withOrigin(facts.kubelet, noCert.reason) });
  }
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
