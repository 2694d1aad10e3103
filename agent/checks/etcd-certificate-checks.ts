// Certificate judgements that need a component's own flags: whether a serving certificate
// covers the addresses its component advertises (cert-san), whether etcd trusts the cluster's
// CA (etcd-ca-shared), and whether etcd makes itself throw-away certificates (etcd-auto-tls).
// Pure.
import { isIP } from 'node:net';
import type { Result } from '../../proto/domain.js';
import { resolveComponentValue, type ValueSpec } from '../facts/component-settings.js';
import { etcdSpec } from '../facts/certificates.js';
import type { CertificateFileFact, CertificateRole, ComponentFacts, HostFacts } from '../facts/index.js';
import { canonicalIp } from '../facts/x509-info.js';
import { certProblem, custom, namedBy, perItem, sourceFileOf } from './certificate-checks.js';
import { settingResult } from './component-setting-checks.js';
import { ETCD_TRUSTED_CA } from './etcd-ca-check.js';
import { componentOf, isResult } from './control-plane-results.js';
import { failingStatus, makeResult, type Judgement } from './result.js';
import type { CheckMeta, CustomCheck } from './spec.js';


/** etcd's defaults are plain http on localhost: nothing a certificate must cover. */
export const ETCD_ADVERTISE_CLIENT_URLS = etcdSpec('advertise-client-urls', 'list', 'http://localhost:2379', ['advertise-client-urls']);
export const ETCD_ADVERTISE_PEER_URLS = etcdSpec('initial-advertise-peer-urls', 'list', 'http://localhost:2380', ['initial-advertise-peer-urls']);
export const ETCD_AUTO_TLS = etcdSpec('auto-tls', 'bool', 'false', ['client-transport-security', 'auto-tls']);
export const ETCD_PEER_AUTO_TLS = etcdSpec('peer-auto-tls', 'bool', 'false', ['peer-transport-security', 'auto-tls']);
const APISERVER_ADVERTISE_ADDRESS: ValueSpec = { flag: 'advertise-address', type: 'string', default: null };

/** The cluster CA as kubeadm lays it out; compared by content, not by path. */
export const CLUSTER_CA_PATH = '/etc/kubernetes/pki/ca.crt';

// ---------------------------------------------------------------------------------------
// cert-san

interface Advertised {
  readonly role: CertificateRole;
  readonly component: 'etcd' | 'kube-apiserver';
  readonly spec: ValueSpec;
  /** The setting holds URLs (only https:// ones need the certificate); else one address. */
  readonly urls: boolean;
}

const ADVERTISED: readonly Advertised[] = [
  { role: 'etcd-server', component: 'etcd', spec: ETCD_ADVERTISE_CLIENT_URLS, urls: true },
  { role: 'etcd-peer', component: 'etcd', spec: ETCD_ADVERTISE_PEER_URLS, urls: true },
  { role: 'apiserver-serving', component: 'kube-apiserver', spec: APISERVER_ADVERTISE_ADDRESS, urls: false },
];

type Hosts = { readonly hosts: readonly string[]; readonly where: string; readonly note: string } | { readonly problem: string; readonly status: 'error' | 'skip' };

function advertisedHosts(a: Advertised, c: ComponentFacts): Hosts {
  const r = resolveComponentValue(c, a.spec);
  if (r.kind === 'error') return { problem: r.reason, status: 'error' };
  if (r.kind === 'hidden') return { problem: `${r.reason} (${r.why})`, status: 'error' };
  if (r.value === null || r.value === '') return { problem: `--${a.spec.flag} is not set (${r.where}), so which address clients use cannot be told`, status: 'skip' };
  if (!a.urls) return { hosts: [r.value], where: r.where, note: '' };
  const hosts: string[] = [];
  const plain: string[] = [];
  for (const raw of r.value.split(',').map((u) => u.trim()).filter((u) => u !== '')) {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      return { problem: `--${a.spec.flag} holds ${JSON.stringify(raw)}, which is not a URL (${r.where})`, status: 'error' };
    }
    if (url.protocol === 'https:') hosts.push(url.hostname.replace(/^\[|\]$/g, ''));
    else plain.push(raw);
  }
  if (hosts.length === 0) return { problem: `--${a.spec.flag} is ${r.value} (${r.where}): no https:// URL, so no certificate is presented there`, status: 'skip' };
  return { hosts: [...new Set(hosts)], where: r.where, note: plain.length > 0 ? `; ${plain.join(', ')} is plain text and needs no name` : '' };
}

/** As Go's crypto/tls verifies a name: IPs against IP SANs only, names against DNS SANs (one leading `*` label). */
export function sanCovers(host: string, dns: readonly string[], ips: readonly string[]): boolean {
  if (isIP(host) !== 0) return ips.includes(canonicalIp(host));
  const name = host.toLowerCase().replace(/\.$/, '');
  return dns.some((d) => {
    if (d === name) return true;
    if (!d.startsWith('*.')) return false;
    const dot = name.indexOf('.');
    return dot > 0 && name.slice(dot) === d.slice(1);
  });
}

function san(meta: CheckMeta, facts: HostFacts): (c: CertificateFileFact) => Judgement | null {
  return (c) => {
    const wanted = ADVERTISED.filter((a) => c.uses.some((u) => u.role === a.role));
    if (wanted.length === 0) return null;
    const expected = wanted.map((a) => `every host of --${a.spec.flag}`).join(' and ');
    const bad = certProblem(c, expected);
    if (bad !== null) return bad;
    const first = c.certificates[0];
    if (first === undefined) return null;
    const sans = [...first.dnsNames.map((d) => `DNS:${d}`), ...first.ipAddresses.map((i) => `IP:${i}`)].join(', ') || '(no SANs)';
    const base = { subject: c.path, actual: sans, expected, source: 'file' as const, sourceFile: sourceFileOf(c.file) };
    const missing: string[] = [];
    const covered: string[] = [];
    const skipped: string[] = [];
    for (const a of wanted) {
      const comp = facts.controlPlane?.components[a.component] ?? null;
      if (comp === null) {
        skipped.push(`${a.component} is not running here to say what it advertises`);
        continue;
      }
      const h = advertisedHosts(a, comp);
      if ('problem' in h) {
        if (h.status === 'error') return { ...base, status: 'error', reason: `${c.path}: ${h.problem}` };
        skipped.push(h.problem);
        continue;
      }
      for (const host of h.hosts) (sanCovers(host, first.dnsNames, first.ipAddresses) ? covered : missing).push(`${host} (--${a.spec.flag}, ${h.where}${h.note})`);
    }
    if (missing.length > 0) {
      return { ...base, status: failingStatus(meta), reason: `${c.path} (${namedBy(c.uses)}) does not name ${missing.join(', ')} among its SANs (${sans}): clients that connect there refuse the certificate` };
    }
    if (covered.length === 0) return { ...base, status: 'skip', reason: `${c.path}: ${skipped.join('; ')}` };
    return { ...base, status: 'pass', reason: `${c.path} covers ${covered.join(', ')}${skipped.length > 0 ? `; ${skipped.join('; ')}` : ''}` };
  };
}

export const certSanCheck = (meta: CheckMeta): CustomCheck =>
  custom(meta, "etcd's server certificate against every host of --advertise-client-urls, its peer certificate against every host of --initial-advertise-peer-urls, and the API server's serving certificate against its --advertise-address. One result per certificate.", (facts) => perItem(meta, facts, (c) => c.certificates, san(meta, facts), 'no serving certificate of etcd or the API server'));

// ---------------------------------------------------------------------------------------
// etcd-ca-shared

export function etcdCaSharedCheck(meta: CheckMeta): CustomCheck {
  const expected = 'a CA of its own, not the cluster CA or the API server\'s client CA';
  return custom(meta, "The certificates in etcd's --trusted-ca-file, compared by SHA-256 fingerprint with /etc/kubernetes/pki/ca.crt and the API server's --client-ca-file.", (facts): Result[] => {
    const etcd = componentOf(meta, facts, 'etcd', 'etcd/--trusted-ca-file', expected);
    if (isResult(etcd)) return [etcd];
    const certs = facts.certificates?.certificates;
    if (certs === undefined) return [makeResult(meta, { subject: 'etcd/--trusted-ca-file', status: 'error', expected, reason: 'no certificate facts were collected' })];
    const own = certs.find((c) => c.uses.some((u) => u.role === 'etcd-client-ca'));
    const setting = resolveComponentValue(etcd, ETCD_TRUSTED_CA);
    if (own === undefined && setting.kind === 'error') {
      return [makeResult(meta, { subject: 'etcd/--trusted-ca-file', status: 'error', expected, sourceFile: setting.sourceFile, reason: setting.reason })];
    }
    if (own === undefined) return [makeResult(meta, { subject: 'etcd/--trusted-ca-file', status: 'skip', expected, reason: 'etcd names no --trusted-ca-file (cis-2.7 judges that), so there is no etcd CA to compare' })];
    const bad = certProblem(own, expected);
    if (bad !== null) return [makeResult(meta, bad)];
    const cluster = certs.filter((c) => c !== own && (c.path === CLUSTER_CA_PATH || c.uses.some((u) => u.role === 'apiserver-client-ca')));
    const base = { subject: own.path, expected, source: 'file' as const, sourceFile: sourceFileOf(own.file), actual: own.certificates.map((i) => `sha256:${i.fingerprint256}`).join(',') };
    const mine = new Set(own.certificates.map((i) => i.fingerprint256));
    for (const other of cluster) {
      const shared = other.certificates.find((i) => mine.has(i.fingerprint256));
      if (shared !== undefined) {
        const as = other.path === CLUSTER_CA_PATH ? 'the cluster CA' : 'the API server\'s --client-ca-file';
        return [makeResult(meta, {
          ...base, status: failingStatus(meta),
          reason: `etcd's --trusted-ca-file ${own.path} holds the same certificate (${shared.subject}, sha256 ${shared.fingerprint256.slice(0, 16)}...) as ${as} ${other.path}: every client certificate the cluster CA signs can talk to etcd directly`,
        })];
      }
    }
    const unreadable = cluster.find((c) => c.error !== null || c.file.error !== null);
    if (unreadable !== undefined) return [makeResult(meta, { ...base, status: 'error', reason: `${unreadable.path} cannot be compared: ${(unreadable.file.error ?? unreadable.error)?.message ?? ''}` })];
    if (cluster.length === 0) return [makeResult(meta, { ...base, status: 'skip', reason: `no cluster CA on this node (${CLUSTER_CA_PATH}, the API server's --client-ca-file) to compare ${own.path} with` })];
    return [makeResult(meta, { ...base, status: 'pass', reason: `${own.path} shares no certificate with ${cluster.map((c) => c.path).join(', ')} (compared by SHA-256 fingerprint)` })];
  });
}

// ---------------------------------------------------------------------------------------
// etcd-auto-tls

export function etcdAutoTlsCheck(meta: CheckMeta): CustomCheck {
  return custom(meta, "etcd's --auto-tls and --peer-auto-tls (flags, ETCD_* variables or its --config-file). One result per flag.", (facts): Result[] => {
    const out: Result[] = [];
    for (const spec of [ETCD_AUTO_TLS, ETCD_PEER_AUTO_TLS]) {
      const subject = `etcd/--${spec.flag}`;
      const etcd = componentOf(meta, facts, 'etcd', subject, 'false');
      if (isResult(etcd)) return [etcd];
      const r = settingResult(meta, etcd, [spec], { op: 'eq', value: 'false' }, subject);
      const client = spec === ETCD_AUTO_TLS;
      // etcd uses auto TLS only while it has no certificate of its own for that side.
      const named = facts.certificates?.certificates.some((c) => c.uses.some((u) => u.role === (client ? 'etcd-server' : 'etcd-peer'))) === true;
      const shadowed = named ? ` (etcd ignores it while --${client ? '' : 'peer-'}cert-file is set, and falls back to it the moment that is removed)` : '';
      out.push(r.status === 'fail'
        ? { ...r, reason: `${r.reason}: etcd makes itself a self-signed certificate for its ${client ? 'clients' : 'peers'} that nobody can verify, so anyone in the middle can present one too${shadowed}` }
        : r);
    }
    return out;
  });
}
