// Certificate judgements that need a component's own flags: whether a serving certificate
// covers the addresses its component advertises (cert-san), and whether etcd makes itself
// throw-away certificates (cis-2.3, cis-2.6).
// Pure.
import { isIP } from 'node:net';
import type { Result } from '../../proto/domain.js';
import { resolveComponentValue, type ValueSpec } from '../facts/component-settings.js';
import { etcdSpec } from '../facts/component-settings.js';
import type { CertificateFileFact, CertificateRole, ComponentFacts, HostFacts } from '../facts/index.js';
import { canonicalIp } from '../facts/x509-info.js';
import { certProblem, custom, namedBy, perItem, sourceFileOf } from './certificate-checks.js';
import { settingResult } from './component-setting-checks.js';
import { componentOf, isResult } from './control-plane-results.js';
import { failingStatus, type Judgement } from './result.js';
import type { CheckMeta, CustomCheck } from './spec.js';


/** etcd's defaults are plain http on localhost: nothing a certificate must cover. */
export const ETCD_ADVERTISE_CLIENT_URLS = etcdSpec('advertise-client-urls', 'list', 'http://localhost:2379', ['advertise-client-urls']);
export const ETCD_ADVERTISE_PEER_URLS = etcdSpec('initial-advertise-peer-urls', 'list', 'http://localhost:2380', ['initial-advertise-peer-urls']);
export const ETCD_AUTO_TLS = etcdSpec('auto-tls', 'bool', 'false', ['client-transport-security', 'auto-tls']);
export const ETCD_PEER_AUTO_TLS = etcdSpec('peer-auto-tls', 'bool', 'false', ['peer-transport-security', 'auto-tls']);
const APISERVER_ADVERTISE_ADDRESS: ValueSpec = { flag: 'advertise-address', type: 'string', default: null };

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
// cis-2.3 and cis-2.6: etcd does not make itself throw-away certificates

/**
 * CIS 2.3 (`client`: --auto-tls) and 2.6 (`peer`: --peer-auto-tls): the setting must be false.
 * A failure says what etcd then does, and whether it is shadowed today by a certificate of its
 * own (etcd uses auto TLS only while it has none for that side, and falls back to it the moment
 * that is removed).
 */
export function etcdAutoTlsCheck(meta: CheckMeta, side: 'client' | 'peer'): CustomCheck {
  const client = side === 'client';
  const spec = client ? ETCD_AUTO_TLS : ETCD_PEER_AUTO_TLS;
  const subject = `etcd/--${spec.flag}`;
  const reads = `etcd's --${spec.flag} (its flag, ETCD_* variable or --config-file), which must be false, and whether etcd names a ${client ? 'server' : 'peer'} certificate of its own (--${client ? '' : 'peer-'}cert-file).`;
  return custom(meta, reads, (facts): Result[] => {
    const etcd = componentOf(meta, facts, 'etcd', subject, 'false');
    if (isResult(etcd)) return [etcd];
    const r = settingResult(meta, etcd, [spec], { op: 'eq', value: 'false' }, subject);
    if (r.status !== failingStatus(meta)) return [r];
    const named = facts.certificates?.certificates.some((c) => c.uses.some((u) => u.role === (client ? 'etcd-server' : 'etcd-peer'))) === true;
    const shadowed = named ? ` (etcd ignores it while --${client ? '' : 'peer-'}cert-file is set, and falls back to it the moment that is removed)` : '';
    return [{ ...r, reason: `${r.reason}: etcd makes itself a self-signed certificate for its ${client ? 'clients' : 'peers'} that nobody can verify, so anyone in the middle can present one too${shadowed}` }];
  });
}
