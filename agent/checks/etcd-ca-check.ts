// CIS 2.7: etcd trusts its own certificate authority. The benchmark only asks that
// --trusted-ca-file is set; this also compares it with the cluster's CA on the same node, by
// path (the API server's --client-ca-file) and by content (the SHA-256 fingerprints of the
// certificates in etcd's CA file against those of the cluster CA and the API server's client
// CA): etcd trusting the cluster's client CA lets any client certificate the cluster issues
// talk to etcd directly. One result: what was the separate check etcd-ca-shared (the content
// comparison) is part of this one. Pure.
import type { Result } from '../../proto/domain.js';
import type { ValueSpec } from '../facts/component-settings.js';
import { resolveComponentValue } from '../facts/component-settings.js';
import type { CertificateFileFact, HostFacts } from '../facts/index.js';
import { componentPath } from '../facts/component-paths.js';
import { combine, judgeValue } from './component-setting-checks.js';
import { componentOf, foundAs, isResult } from './control-plane-results.js';
import { failingStatus, makeResult } from './result.js';
import { certProblem } from './certificate-checks.js';
import type { CheckMeta, CustomCheck } from './spec.js';

export const ETCD_TRUSTED_CA: ValueSpec = {
  flag: 'trusted-ca-file',
  type: 'string',
  default: null,
  env: 'ETCD_TRUSTED_CA_FILE',
  configPath: ['client-transport-security', 'trusted-ca-file'],
};

/** The cluster CA as kubeadm lays it out; compared by content, not by path. */
export const CLUSTER_CA_PATH = '/etc/kubernetes/pki/ca.crt';

type ContentVerdict = { readonly shared: string } | { readonly note: string };

/**
 * etcd's trusted CA file (as the certificate facts read it) against the cluster CA and the API
 * server's client CA, by certificate fingerprint: the first certificate they share, or a note
 * on what was compared.
 */
function compareContent(facts: HostFacts): ContentVerdict {
  const certs = facts.certificates?.certificates;
  if (certs === undefined) return { note: 'the CA files were not read (no certificate facts), so their contents were not compared' };
  const own = certs.find((c) => c.uses.some((u) => u.role === 'etcd-client-ca'));
  if (own === undefined) return { note: 'the certificate facts hold no etcd CA file, so its contents were not compared' };
  const bad = certProblem(own, '');
  if (bad !== null) return { note: `its contents were not compared: ${bad.reason}` };
  const cluster: CertificateFileFact[] = certs.filter((c) => c !== own && (c.path === CLUSTER_CA_PATH || c.uses.some((u) => u.role === 'apiserver-client-ca')));
  const mine = new Set(own.certificates.map((i) => i.fingerprint256));
  for (const other of cluster) {
    const shared = other.certificates.find((i) => mine.has(i.fingerprint256));
    if (shared !== undefined) {
      const as = other.path === CLUSTER_CA_PATH ? 'the cluster CA' : 'the API server\'s --client-ca-file';
      return { shared: `${own.path} holds the same certificate (${shared.subject}, sha256 ${shared.fingerprint256.slice(0, 16)}...) as ${as} ${other.path}: every client certificate the cluster CA signs can talk to etcd directly` };
    }
  }
  const unreadable = cluster.find((c) => c.error !== null || c.file.error !== null);
  if (unreadable !== undefined) return { note: `${unreadable.path} could not be compared with it: ${(unreadable.file.error ?? unreadable.error)?.message ?? ''}` };
  if (cluster.length === 0) return { note: `no cluster CA on this node (${CLUSTER_CA_PATH}, the API server's --client-ca-file) to compare its contents with` };
  return { note: `${own.path} shares no certificate with ${cluster.map((c) => c.path).join(', ')} (compared by SHA-256 fingerprint)` };
}

export function etcdDedicatedCaCheck(meta: CheckMeta): CustomCheck {
  const subject = 'etcd/--trusted-ca-file';
  const expected = 'set, and not the cluster CA or the API server\'s client CA (by path or by content)';
  return {
    ...meta,
    kind: 'custom',
    reads: "etcd's --trusted-ca-file (or ETCD_TRUSTED_CA_FILE, or its --config-file), compared with the API server's --client-ca-file by path, and the certificates in it with those of /etc/kubernetes/pki/ca.crt and the API server's --client-ca-file by SHA-256 fingerprint.",
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
      const content = compareContent(facts);
      if ('shared' in content) return [makeResult(meta, { subject, ...j, status: failingStatus(meta), expected, reason: `${prefix}${j.reason}, but ${content.shared}` })];
      const compared = api === null
        ? 'no API server on this node to compare its path with'
        : apiCa === null
          ? 'the API server\'s --client-ca-file cannot be seen to compare its path with'
          : `it differs from the API server's --client-ca-file (${apiCa})`;
      return [makeResult(meta, { subject, ...j, expected, reason: `${prefix}${j.reason}; ${compared}; ${content.note}` })];
    },
  };
}
