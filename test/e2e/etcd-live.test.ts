// A real etcd (Debian's etcd-server) on 127.0.0.1, one per configuration, with a PKI made at
// test time, judged by `nodeward scan --proc-root /proc --host-root <tree>`: the agent finds
// the running etcd through the real /proc by argv[0], reads the files its flags name through
// the host root, probes its client URL without a certificate and in plain text (what the probe
// sees is part of cis-2.1 and cis-2.2), and reports exactly the expected statuses for every
// etcd-related check. etcdctl with the test's client
// certificate shows that the hardened etcd does serve a client that has one, so its refusal
// is about the certificate.
//
// The paths: etcd runs on the real filesystem, the agent reads inside <tree>. etcd is given
// `<tree>/etc/kubernetes/pki/etcd/server.crt` (a real path), and <tree> holds one link,
// `<tree><tree> -> /`, which the agent's rooted reader resolves to <tree>'s own root: so the
// path on etcd's command line is, for the agent, `/etc/kubernetes/pki/etcd/server.crt` in the
// tree, the same file etcd opened (test/helpers/etcd.ts). The tree's /etc/kubernetes/pki is
// also where the kubeadm layout puts the cluster CA that cis-2.7 compares with.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { ExecutionContext } from 'ava';
import type { Result, Severity, Status } from '../../proto/domain.js';
import { createTestCa, daysFromNow, issueTestCert, type TestCa } from '../helpers/certs.js';
import { createEtcdHost, ETCDCTL_BIN, needsEtcd, startEtcd, type EtcdHost, type EtcdPorts, type RunningEtcd } from '../helpers/etcd.js';
import { NODEWARD_BIN } from '../helpers/process.js';

const run = promisify(execFile);
const etcdTest = needsEtcd();

const CIS = ['cis-2.1', 'cis-2.2', 'cis-2.3', 'cis-2.4', 'cis-2.5', 'cis-2.6', 'cis-2.7'] as const;
const IDS = [...CIS, 'cert-expiry', 'cert-key-match'] as const;
type Id = (typeof IDS)[number];

// Host paths, as kubeadm lays them out.
const PKI = '/etc/kubernetes/pki';
const F = {
  clusterCa: `${PKI}/ca.crt`, clusterCaKey: `${PKI}/ca.key`,
  etcdCa: `${PKI}/etcd/ca.crt`, etcdCaKey: `${PKI}/etcd/ca.key`,
  server: `${PKI}/etcd/server.crt`, serverKey: `${PKI}/etcd/server.key`,
  peer: `${PKI}/etcd/peer.crt`, peerKey: `${PKI}/etcd/peer.key`,
  client: `${PKI}/etcd/healthcheck-client.crt`, clientKey: `${PKI}/etcd/healthcheck-client.key`,
} as const;

interface PkiOptions {
  readonly serverNotAfter?: Date;
  readonly peerNotAfter?: Date;
  /** The cluster CA is the etcd CA itself. */
  readonly sharedCa?: boolean;
}

async function writePki(host: EtcdHost, o: PkiOptions): Promise<TestCa> {
  const etcdCa = await createTestCa({ cn: 'etcd-ca' });
  const clusterCa = o.sharedCa ? etcdCa : await createTestCa({ cn: 'kubernetes' });
  const sans = { dns: ['localhost'], ips: ['127.0.0.1'] };
  const server = await issueTestCert(etcdCa, { cn: 'etcd-server', ...sans, usages: ['serverAuth', 'clientAuth'], ...(o.serverNotAfter ? { notAfter: o.serverNotAfter } : {}) });
  const peer = await issueTestCert(etcdCa, { cn: 'etcd-peer', ...sans, usages: ['serverAuth', 'clientAuth'], ...(o.peerNotAfter ? { notAfter: o.peerNotAfter } : {}) });
  const client = await issueTestCert(etcdCa, { cn: 'kube-etcd-healthcheck-client', usages: ['clientAuth'] });
  for (const [crt, key, pair] of [[F.etcdCa, F.etcdCaKey, etcdCa], [F.clusterCa, F.clusterCaKey, clusterCa], [F.server, F.serverKey, server], [F.peer, F.peerKey, peer], [F.client, F.clientKey, client]] as const) {
    await host.write(crt, pair.certPem, 0o644);
    await host.write(key, pair.keyPem, 0o600);
  }
  return etcdCa;
}

const clientUrls = (p: EtcdPorts): string[] => ['--listen-client-urls', `https://127.0.0.1:${p.client}`, '--advertise-client-urls', `https://127.0.0.1:${p.client}`];
const serving = (h: EtcdHost): string[] => ['--cert-file', h.real(F.server), '--key-file', h.real(F.serverKey)];
const peerTls = (h: EtcdHost): string[] => [
  '--peer-cert-file', h.real(F.peer), '--peer-key-file', h.real(F.peerKey),
  '--peer-client-cert-auth=true', '--peer-trusted-ca-file', h.real(F.etcdCa),
];
const hardened = (h: EtcdHost, p: EtcdPorts): string[] => [
  ...clientUrls(p), ...serving(h), '--client-cert-auth=true', '--trusted-ca-file', h.real(F.etcdCa), ...peerTls(h),
];

/** A status for every result of a check, or a default with exceptions for subjects that match. */
type Expectation = Status | { readonly all: Status; readonly except: readonly (readonly [RegExp, Status, Severity?])[] };

interface Configuration {
  readonly name: string;
  readonly pki?: PkiOptions;
  readonly args: (h: EtcdHost, p: EtcdPorts) => string[];
  /** After etcd started, before the scan. */
  readonly afterStart?: (h: EtcdHost) => Promise<void>;
  readonly expect: { readonly [I in Id]: Expectation };
}

const HARDENED: Configuration['expect'] = {
  'cis-2.1': 'pass', 'cis-2.2': 'pass', 'cis-2.3': 'pass', 'cis-2.4': 'pass', 'cis-2.5': 'pass', 'cis-2.6': 'pass', 'cis-2.7': 'pass',
  'cert-expiry': 'pass',
  // CA keys are stat'ed, never read: there is nothing to match them with.
  'cert-key-match': { all: 'pass', except: [[/\/ca\.key$/, 'skip']] },
};

/** A failure at this severity (what the probe confirmed raises it). */
const failing = (severity: Severity): Expectation => ({ all: 'fail', except: [[/./, 'fail', severity]] });

const CONFIGURATIONS: readonly Configuration[] = [
  { name: 'fully hardened', args: hardened, expect: HARDENED },
  {
    name: '--auto-tls: self-signed client certificates, no client certificate auth',
    args: (h, p) => [...clientUrls(p), '--auto-tls', ...peerTls(h)],
    expect: {
      ...HARDENED,
      // cis-2.7 is a manual check: a missing trusted CA is a warning. Nothing asks clients for a
      // certificate: cis-2.2 fails critical.
      'cis-2.1': failing('high'), 'cis-2.2': failing('critical'), 'cis-2.3': failing('high'), 'cis-2.7': 'warn',
    },
  },
  {
    name: 'no --client-cert-auth and no --trusted-ca-file: a client without a certificate is served',
    args: (h, p) => [...clientUrls(p), ...serving(h), ...peerTls(h)],
    expect: { ...HARDENED, 'cis-2.2': failing('critical'), 'cis-2.7': 'warn' },
  },
  {
    // etcd turns client certificate verification on whenever a trusted CA is given: the wire says so.
    name: 'no --client-cert-auth but a --trusted-ca-file: etcd still refuses a client without a certificate',
    args: (h, p) => [...clientUrls(p), ...serving(h), '--trusted-ca-file', h.real(F.etcdCa), ...peerTls(h)],
    expect: { ...HARDENED, 'cis-2.2': failing('high') },
  },
  {
    name: 'a server certificate that expires in 3 days (and a peer certificate in 20)',
    pki: { serverNotAfter: daysFromNow(3), peerNotAfter: daysFromNow(20) },
    args: hardened,
    expect: { ...HARDENED, 'cert-expiry': { all: 'pass', except: [[/\/etcd\/server\.crt$/, 'fail', 'critical'], [/\/etcd\/peer\.crt$/, 'warn', 'medium']] } },
  },
  {
    // etcd refuses to start with a serving or peer key that does not fit (it checks both pairs
    // when it opens its listeners), and it re-reads its files at every handshake. So etcd starts
    // with good files and the peer key is replaced on disk afterwards, as a botched rotation
    // would: clients are still served (no peer connects to a single member), the files are wrong.
    name: 'a peer key that does not match its certificate (replaced on disk after etcd started)',
    args: hardened,
    afterStart: async (h) => {
      const stranger = await issueTestCert(await createTestCa({ cn: 'elsewhere' }), { cn: 'etcd-peer', usages: ['serverAuth'] });
      await h.write(F.peerKey, stranger.keyPem, 0o600);
    },
    expect: { ...HARDENED, 'cert-key-match': { all: 'pass', except: [[/\/ca\.key$/, 'skip'], [/\/etcd\/peer\.(crt|key)$/, 'fail']] } },
  },
  {
    name: 'an etcd CA that is the cluster CA',
    pki: { sharedCa: true },
    args: hardened,
    expect: { ...HARDENED, 'cis-2.7': 'warn' },
  },
];

interface Report {
  readonly results: readonly Result[];
  readonly scope: readonly string[];
}

async function scan(host: EtcdHost): Promise<Report> {
  const { stdout } = await run(process.execPath, [
    NODEWARD_BIN, 'scan', '--host-root', host.root, '--proc-root', '/proc', '--node', 'etcd-test', '--format', 'json', '--checks', IDS.join(','),
  ], { maxBuffer: 32 << 20 });
  return JSON.parse(stdout) as Report;
}

function expectationFor(e: Expectation, subject: string): { status: Status; severity?: Severity; pattern?: RegExp } {
  if (typeof e === 'string') return { status: e };
  const hit = e.except.find(([re]) => re.test(subject));
  return hit === undefined ? { status: e.all } : { status: hit[1], ...(hit[2] !== undefined ? { severity: hit[2] } : {}), pattern: hit[0] };
}

function assertStatuses(t: ExecutionContext, report: Report, expect: Configuration['expect']): void {
  t.deepEqual([...report.scope].sort(), [...IDS].sort());
  for (const id of IDS) {
    const results = report.results.filter((r) => r.id === id);
    t.true(results.length > 0, `${id} has results`);
    const used = new Set<RegExp>();
    for (const r of results) {
      const want = expectationFor(expect[id], r.subject);
      if (want.pattern) used.add(want.pattern);
      t.is(r.status, want.status, `${id} ${r.subject}: ${r.reason}`);
      if (want.severity !== undefined) t.is(r.severity, want.severity, `${id} ${r.subject} severity`);
    }
    const e = expect[id];
    if (typeof e !== 'string') for (const [re] of e.except) t.true(used.has(re), `${id}: some result's subject matches ${re}`);
  }
}

for (const config of CONFIGURATIONS) {
  etcdTest(`real etcd: ${config.name}`, async (t) => {
    t.timeout(120_000);
    const host = await createEtcdHost();
    t.teardown(host.cleanup);
    await writePki(host, config.pki ?? {});
    let etcd: RunningEtcd | undefined;
    t.teardown(async () => etcd?.stop());
    etcd = await startEtcd(host, (p) => config.args(host, p), 'https');
    await config.afterStart?.(host);

    const report = await scan(host);
    // The etcd judged is this one, found through /proc, and its client URL is the one probed.
    const url = `https://127.0.0.1:${etcd.ports.client}`;
    t.regex(report.results.find((r) => r.id === 'cis-2.1')?.reason ?? '', new RegExp(`etcd \\(pid ${etcd.pid}\\)`));
    t.true(report.results.find((r) => r.id === 'cis-2.1')?.reason.includes(`(advertised as ${url})`), 'cis-2.1 says what the probe saw at the URL');
    assertStatuses(t, report, config.expect);
    t.false(JSON.stringify(report).includes('PRIVATE KEY'), 'no key material in the report');
  });
}

etcdTest('real etcd: the hardened etcd serves a client that presents a certificate (etcdctl), and refuses the probe that does not', async (t) => {
  t.timeout(120_000);
  const host = await createEtcdHost();
  t.teardown(host.cleanup);
  await writePki(host, {});
  let etcd: RunningEtcd | undefined;
  t.teardown(async () => etcd?.stop());
  etcd = await startEtcd(host, (p) => hardened(host, p), 'https');
  const url = `https://127.0.0.1:${etcd.ports.client}`;
  const ctl = ['--endpoints', url, '--cacert', host.real(F.etcdCa), '--cert', host.real(F.client), '--key', host.real(F.clientKey)];
  await run(ETCDCTL_BIN, [...ctl, 'put', 'nodeward/probe', 'seen'], { env: { ETCDCTL_API: '3' } });
  const got = await run(ETCDCTL_BIN, [...ctl, 'get', 'nodeward/probe', '--print-value-only'], { env: { ETCDCTL_API: '3' } });
  t.is(got.stdout.trim(), 'seen');

  const report = await scan(host);
  const live = report.results.find((r) => r.id === 'cis-2.2');
  t.like(live, { status: 'pass', actual: 'true', subject: 'etcd/--client-cert-auth' });
  t.regex(live?.reason ?? '', new RegExp(`on the wire: etcd \\(pid \\d+\\) at ${url.replace(/\./g, '\\.')} refused a TLS client that presented no certificate: the server ended the TLS session with the alert "bad certificate"`));
  // etcd logs each refusal: the probe reached the real etcd and presented nothing.
  t.regex(etcd.log(), /rejected connection .*client didn't provide a certificate/);
});
