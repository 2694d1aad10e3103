// CIS 4.2.9: the kubelet serves its API with a certificate the cluster can trust, either
// files it is given (tlsCertFile + tlsPrivateKeyFile) or one it requests from the cluster and
// rotates (serverTLSBootstrap / --rotate-server-certificates). Without either, the kubelet
// makes itself a self-signed certificate that nothing can verify.
import type { Result } from '../../proto/domain.js';
import type { HostFacts } from '../facts/index.js';
import { withOrigin } from './kubelet-origin.js';
import { resolveKubeletSetting, type EffectiveSetting } from '../facts/component-settings.js';
import { failingStatus, kubeletAbsent, makeResult } from './result.js';
import type { CheckMeta, CustomCheck, KubeletSetting } from './spec.js';

export const TLS_CERT_FILE: KubeletSetting = { flag: 'tls-cert-file', configPath: ['tlsCertFile'], type: 'string', flagDefault: null, configDefault: null, emptyIsUnset: true };
export const TLS_KEY_FILE: KubeletSetting = { flag: 'tls-private-key-file', configPath: ['tlsPrivateKeyFile'], type: 'string', flagDefault: null, configDefault: null, emptyIsUnset: true };
export const SERVER_TLS_BOOTSTRAP: KubeletSetting = { flag: 'rotate-server-certificates', configPath: ['serverTLSBootstrap'], type: 'bool', flagDefault: 'false', configDefault: 'false' };

const SUBJECT = 'kubelet/--tls-cert-file';
const EXPECTED = 'tlsCertFile and tlsPrivateKeyFile set, or serverTLSBootstrap true';

export function servingCertCheck(meta: CheckMeta): CustomCheck {
  return {
    ...meta,
    kind: 'custom',
    reads: 'The kubelet\'s --tls-cert-file and --tls-private-key-file (config file tlsCertFile, tlsPrivateKeyFile), and --rotate-server-certificates (serverTLSBootstrap).',
    evaluate(facts: HostFacts): readonly Result[] {
      const k = facts.kubelet;
      if (k === null) return [kubeletAbsent(meta, SUBJECT, EXPECTED, facts.kubeletAbsence)];
      const got: EffectiveSetting[] = [];
      for (const s of [TLS_CERT_FILE, TLS_KEY_FILE, SERVER_TLS_BOOTSTRAP]) {
        const r = resolveKubeletSetting(k, s);
        if (!r.ok) return [makeResult(meta, { subject: SUBJECT, status: 'error', expected: EXPECTED, sourceFile: r.sourceFile, reason: withOrigin(k, r.reason) })];
        got.push(r.setting);
      }
      const [cert, key, bootstrap] = got as [EffectiveSetting, EffectiveSetting, EffectiveSetting];
      const judged = (pass: boolean, actual: string, from: EffectiveSetting, why: string): Result =>
        makeResult(meta, {
          subject: SUBJECT,
          status: pass ? 'pass' : failingStatus(meta),
          actual,
          expected: EXPECTED,
          source: from.source,
          sourceFile: from.sourceFile,
          reason: withOrigin(k, why),
        });
      if (cert.value !== null && key.value !== null) {
        return [judged(true, `${cert.value},${key.value}`, cert, `serving certificate ${cert.value} (${cert.where}) and key ${key.value} (${key.where})`)];
      }
      if (bootstrap.value === 'true') {
        return [judged(true, 'serverTLSBootstrap=true', bootstrap, `the kubelet requests its serving certificate from the cluster and rotates it (${bootstrap.where})`)];
      }
      if (cert.value !== null || key.value !== null) {
        const [set, unset] = cert.value !== null ? [cert, 'tlsPrivateKeyFile'] : [key, 'tlsCertFile'];
        return [judged(false, set.value ?? '', set, `only one half of the serving key pair is set (${set.where}); ${unset} is not set`)];
      }
      return [judged(false, '', bootstrap, `neither tlsCertFile/tlsPrivateKeyFile nor serverTLSBootstrap is set (${bootstrap.where}): the kubelet serves with a self-signed certificate nobody can verify`)];
    },
  };
}
