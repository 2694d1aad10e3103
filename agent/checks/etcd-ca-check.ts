// CIS 2.7: etcd trusts its own certificate authority. The benchmark only asks that
// --trusted-ca-file is set; this also compares it with the API server's --client-ca-file on
// the same node: etcd trusting the cluster's client CA lets any client certificate the
// cluster issues talk to etcd directly. Pure.
import type { Result } from '../../proto/domain.js';
import type { ValueSpec } from '../facts/component-settings.js';
import { resolveComponentValue } from '../facts/component-settings.js';
import type { HostFacts } from '../facts/index.js';
import { componentPath } from '../facts/component-paths.js';
import { combine, judgeValue } from './component-setting-checks.js';
import { componentOf, foundAs, isResult } from './control-plane-results.js';
import { failingStatus, makeResult } from './result.js';
import type { CheckMeta, CustomCheck } from './spec.js';

export const ETCD_TRUSTED_CA: ValueSpec = {
  flag: 'trusted-ca-file',
  type: 'string',
  default: null,
  env: 'ETCD_TRUSTED_CA_FILE',
  configPath: ['client-transport-security', 'trusted-ca-file'],
};

export function etcdDedicatedCaCheck(meta: CheckMeta): CustomCheck {
  const subject = 'etcd/--trusted-ca-file';
  const expected = 'set, and not the API server\'s client CA';
  return {
    ...meta,
    kind: 'custom',
    reads: "etcd's --trusted-ca-file (or ETCD_TRUSTED_CA_FILE, or its --config-file), compared with the API server's --client-ca-file.",
    evaluate(facts: HostFacts): Result[] {
      const c = componentOf(meta, facts, 'etcd', subject, expected);
      if (isResult(c)) return [c];
      const j = combine([judgeValue(meta, resolveComponentValue(c, ETCD_TRUSTED_CA), { op: 'present' }, 'set', 'trusted-ca-file')], ['trusted-ca-file']);
      const prefix = `${foundAs(c)}: `;
      if (j.status !== 'pass') return [makeResult(meta, { subject, ...j, expected, reason: prefix + j.reason })];
      // Host paths when both are known; else the paths as the two components name them.
      const api = facts.controlPlane?.components['kube-apiserver'] ?? null;
      const etcdPath = componentPath(c, 'trusted-ca-file');
      const apiPath = api === null ? undefined : componentPath(api, 'client-ca-file');
      const bothOnHost = etcdPath?.hostPath != null && apiPath?.hostPath != null;
      const etcdCa = (bothOnHost ? etcdPath?.hostPath : etcdPath?.value) ?? null;
      const apiCa = (bothOnHost ? apiPath?.hostPath : apiPath?.value) ?? null;
      if (etcdCa !== null && apiCa !== null && etcdCa === apiCa) {
        return [makeResult(meta, {
          subject, ...j, status: failingStatus(meta), expected,
          reason: `${prefix}${j.reason}, but that is also the API server's --client-ca-file (${apiCa}): give etcd a CA of its own`,
        })];
      }
      const compared = api === null
        ? 'no API server on this node to compare it with'
        : apiCa === null
          ? 'the API server\'s --client-ca-file cannot be seen to compare it with'
          : `it differs from the API server's --client-ca-file (${apiCa}); only the paths are compared, not the certificates`;
      return [makeResult(meta, { subject, ...j, expected, reason: `${prefix}${j.reason}; ${compared}` })];
    },
  };
}
