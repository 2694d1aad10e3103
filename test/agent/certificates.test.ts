// Certificate and key inspection on a kubeadm control plane whose PKI is generated when the
// test runs (nothing checked in can rot): one problem at a time, each judged by exactly the
// check that owns it, and proof that no private key material ever leaves the facts phase.
import test from 'ava';
import { execFile, execFileSync } from 'node:child_process';
import { chmod, chown, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { X509Certificate } from 'node:crypto';
import type { Result } from '../../proto/domain.js';
import { CERTIFICATE_CHECKS } from '../../agent/checks/catalog/certificates.js';
import { CATALOG, checkDependencies, evaluate, selectChecks } from '../../agent/checks/index.js';
import { certificateExpiries } from '../../agent/facts/certificates.js';
import { collectFacts, type HostFacts } from '../../agent/facts/index.js';
import { canonicalIp, parseSubjectAltName, signatureAlgorithmOid } from '../../agent/facts/x509-info.js';
import { sanCovers } from '../../agent/checks/etcd-certificate-checks.js';
import { createTestCa, daysFromNow, issueTestCert, type TestCa } from '../helpers/certs.js';
import { CAN_CHOWN, prepareFixture, writeEnviron } from '../helpers/fixture.js';
import { ETCD_PID, ETCD_SANS, PKI, prepareKubeadmTree, type BasePki, type Tree } from '../helpers/kubeadm-pki.js';
import { NODEWARD_BIN } from '../helpers/process.js';

const run = promisify(execFile);

/** The certificate checks, with the CIS checks that took in etcd-auto-tls (2.3, 2.6) and etcd-ca-shared (2.7). */
const CHECKS = [...CERTIFICATE_CHECKS, ...selectChecks(CATALOG, ['2.3', '2.6', '2.7'])];

interface Scanned {
  readonly facts: HostFacts;
  readonly results: readonly Result[];
  readonly tree: Tree;
}

async function scanTree(prepare?: (t: Tree) => Promise<void>, extra: typeof CATALOG = []): Promise<Scanned> {
  const { tree, cleanup } = await prepareKubeadmTree();
  try {
    await prepare?.(tree);
    const now = new Date();
    const facts = await collectFacts({ hostRoot: tree.root, procRoot: tree.procRoot, now: () => now });
    return { facts, results: evaluate(facts, [...CHECKS, ...extra], now), tree };
  } finally {
    await cleanup();
  }
}

const ETCD_SERVER = '/etc/kubernetes/pki/etcd/server.crt';
const ETCD_SERVER_KEY = '/etc/kubernetes/pki/etcd/server.key';

function one(results: readonly Result[], id: string, subject: string): Result {
  const found = results.filter((r) => r.id === id && r.subject === subject);
  if (found.length !== 1) throw new Error(`expected one ${id} result for ${subject}, got ${found.length}: ${JSON.stringify(results.filter((r) => r.id === id).map((r) => [r.subject, r.status]))}`);
  return found[0] as Result;
}

const notPassing = (results: readonly Result[]): Array<[string, string, string]> =>
  results.filter((r) => r.status !== 'pass' && r.status !== 'skip').map((r) => [r.id, r.subject, r.status]);

// ---- The healthy tree -------------------------------------------------------------------

test('a healthy kubeadm PKI: every certificate check passes or does not apply, for every file', async (t) => {
  const { results, facts } = await scanTree();
  t.deepEqual(notPassing(results), [], 'nothing fails, warns or errors');
  const certs = facts.certificates!;
  // Every certificate under the PKI directory and those the components name, with who names them.
  t.deepEqual(certs.certificates.map((c) => c.path), [
    '/etc/kubernetes/pki/apiserver-etcd-client.crt', '/etc/kubernetes/pki/apiserver-kubelet-client.crt', '/etc/kubernetes/pki/apiserver.crt',
    '/etc/kubernetes/pki/ca.crt', '/etc/kubernetes/pki/etcd/ca.crt', '/etc/kubernetes/pki/etcd/healthcheck-client.crt',
    '/etc/kubernetes/pki/etcd/peer.crt', '/etc/kubernetes/pki/etcd/server.crt', '/etc/kubernetes/pki/front-proxy-ca.crt',
    '/etc/kubernetes/pki/front-proxy-client.crt', '/var/lib/kubelet/pki/kubelet-client-current.pem',
  ]);
  const server = certs.certificates.find((c) => c.path === ETCD_SERVER)!;
  t.like(server.uses[0], { role: 'etcd-server', component: 'etcd', setting: '--cert-file', key: ETCD_SERVER_KEY, ca: { path: '/etc/kubernetes/pki/etcd/ca.crt', setting: '--trusted-ca-file' } });
  t.like(server.certificates[0], { isCa: false, keyType: 'ec', curve: 'prime256v1', keyBits: 256, signatureAlgorithm: 'ecdsa-with-SHA256', extendedKeyUsages: ['serverAuth', 'clientAuth'] });
  t.deepEqual(server.certificates[0]?.ipAddresses, ['192.168.1.10', '127.0.0.1', '0:0:0:0:0:0:0:1']);
  t.deepEqual(server.chain.map((c) => c.verified), [true]);
  t.like(certs.certificates.find((c) => c.path.endsWith('/apiserver.crt'))!.certificates[0], { keyType: 'rsa', keyBits: 2048, signatureAlgorithm: 'ecdsa-with-SHA256' });
  // The kubelet's rotated client certificate (in its default --cert-dir) holds its key too.
  const kubelet = certs.certificates.find((c) => c.path === '/var/lib/kubelet/pki/kubelet-client-current.pem')!;
  t.like(kubelet, { holdsPrivateKey: true });
  t.like(kubelet.uses[0], { role: 'kubelet-client', setting: '--cert-dir', key: kubelet.path, ca: { path: '/etc/kubernetes/pki/ca.crt' } });
  t.like(one(results, 'cert-key-match', '/var/lib/kubelet/pki/kubelet-client-current.pem'), { status: 'pass' });
  t.like(one(results, 'cert-chain', '/var/lib/kubelet/pki/kubelet-client-current.pem'), { status: 'pass' });
  // Leaf keys are matched; CA and service-account keys are never opened.
  const kinds = Object.fromEntries(certs.keys.map((k) => [k.path, [k.kind, k.read]]));
  t.deepEqual(kinds['/etc/kubernetes/pki/etcd/server.key'], ['leaf', true]);
  t.deepEqual(kinds['/etc/kubernetes/pki/etcd/healthcheck-client.key'], ['leaf', true], 'paired with the certificate beside it');
  for (const k of ['/etc/kubernetes/pki/ca.key', '/etc/kubernetes/pki/etcd/ca.key', '/etc/kubernetes/pki/front-proxy-ca.key']) t.deepEqual(kinds[k], ['ca', false], k);
  t.deepEqual(kinds['/etc/kubernetes/pki/sa.key'], ['service-account', false]);
  for (const id of ['cert-expiry', 'cert-key-file', 'cert-chain', 'cert-san', 'cert-eku']) {
    t.true(results.some((r) => r.id === id && r.status === 'pass'), `${id} judged something`);
  }
  t.like(one(results, 'cert-san', ETCD_SERVER), { status: 'pass' });
  t.regex(one(results, 'cert-san', ETCD_SERVER).reason, /192\.168\.1\.10 \(--advertise-client-urls/);
  t.like(one(results, 'cert-san', '/etc/kubernetes/pki/apiserver.crt'), { status: 'pass' });
  const ownCa = one(results, 'cis-2.7', 'etcd/--trusted-ca-file');
  t.like(ownCa, { status: 'pass' });
  t.regex(ownCa.reason, /\/etc\/kubernetes\/pki\/etcd\/ca\.crt shares no certificate with \/etc\/kubernetes\/pki\/ca\.crt \(compared by SHA-256 fingerprint\)/);
  t.deepEqual(results.filter((r) => r.id === 'cis-2.3' || r.id === 'cis-2.6').map((r) => [r.id, r.subject, r.status]),
    [['cis-2.3', 'etcd/--auto-tls', 'pass'], ['cis-2.6', 'etcd/--peer-auto-tls', 'pass']]);
  // The inventory list is the earliest expiry per file, soonest first.
  const inventory = certificateExpiries(certs);
  t.is(inventory.length, certs.certificates.length);
  t.true(inventory.every((c, i) => i === 0 || (inventory[i - 1]?.notAfterMs ?? 0) <= c.notAfterMs));
});

// ---- Expiry -----------------------------------------------------------------------------

const reissueEtcdServer = (opts: Partial<Parameters<typeof issueTestCert>[1]>, ca?: (p: BasePki) => TestCa) => async (tree: Tree): Promise<void> => {
  const c = await issueTestCert(ca?.(tree.pki) ?? tree.pki.etcdCa, { cn: 'cp-1', ...ETCD_SANS, usages: ['serverAuth', 'clientAuth'], ...opts });
  await tree.write(`${PKI}/etcd/server.crt`, c.certPem);
  await tree.write(`${PKI}/etcd/server.key`, c.keyPem);
};

test('cert-expiry: 20 days left is a medium warning; 3 days left and expired are critical failures', async (t) => {
  const [soon, sooner, expired] = await Promise.all([
    scanTree(reissueEtcdServer({ notAfter: daysFromNow(20) })),
    scanTree(reissueEtcdServer({ notAfter: daysFromNow(3) })),
    scanTree(reissueEtcdServer({ notBefore: daysFromNow(-60), notAfter: daysFromNow(-2) })),
  ]);
  const warn = one(soon.results, 'cert-expiry', ETCD_SERVER);
  t.like(warn, { status: 'warn', severity: 'medium', category: 'certificate', source: 'file' });
  t.regex(warn.actual, /^notAfter \d{4}-\d\d-\d\dT.*Z \((19|20) days left\)$/);
  const crit = one(sooner.results, 'cert-expiry', ETCD_SERVER);
  t.like(crit, { status: 'fail', severity: 'critical' });
  t.regex(crit.actual, /\([23] days left\)/);
  const gone = one(expired.results, 'cert-expiry', ETCD_SERVER);
  t.like(gone, { status: 'fail', severity: 'critical' });
  t.regex(gone.actual, /expired [12] days ago/);
  t.regex(gone.reason, /--cert-file on the etcd command line/);
  // Only that file moved; everything else in the tree still passes.
  t.deepEqual(notPassing(soon.results), [['cert-expiry', ETCD_SERVER, 'warn']]);
  t.like(one(soon.results, 'cert-expiry', '/etc/kubernetes/pki/etcd/peer.crt'), { status: 'pass', severity: 'medium' });
});

test('cert-not-yet-valid: a certificate that starts in two days fails (high)', async (t) => {
  const { results } = await scanTree(reissueEtcdServer({ notBefore: daysFromNow(2), notAfter: daysFromNow(300) }));
  t.like(one(results, 'cert-not-yet-valid', ETCD_SERVER), { status: 'fail', severity: 'high' });
  t.like(one(results, 'cert-not-yet-valid', '/etc/kubernetes/pki/etcd/peer.crt'), { status: 'pass' });
});

// ---- Pairing: key, chain, names, usage ----------------------------------------------------

test('cert-key-match: a key that is not the certificate\'s fails critical; the CA keys are not judged', async (t) => {
  const { results, facts } = await scanTree(async (tree) => {
    const other = await issueTestCert(tree.pki.etcdCa, { cn: 'other', usages: ['serverAuth'] });
    await tree.write(`${PKI}/etcd/server.key`, other.keyPem);
  });
  const r = one(results, 'cert-key-match', ETCD_SERVER_KEY);
  t.like(r, { status: 'fail', severity: 'critical', actual: `does not match ${ETCD_SERVER}` });
  t.regex(r.reason, /--key-file on the etcd command line\) is not the private key of \/etc\/kubernetes\/pki\/etcd\/server\.crt/);
  t.like(one(results, 'cert-key-match', '/etc/kubernetes/pki/etcd/peer.key'), { status: 'pass' });
  t.like(one(results, 'cert-key-match', '/etc/kubernetes/pki/etcd/ca.key'), { status: 'skip' });
  t.deepEqual(facts.certificates?.keys.find((k) => k.path === ETCD_SERVER_KEY)?.matches.map((m) => m.matches), [false]);
});

test('cert-chain: a server certificate from another CA fails against the --trusted-ca-file it is paired with', async (t) => {
  const foreign = await createTestCa({ cn: 'someone else' });
  const { results } = await scanTree(reissueEtcdServer({}, () => foreign));
  const r = one(results, 'cert-chain', ETCD_SERVER);
  t.like(r, { status: 'fail', severity: 'high', actual: 'issuer CN=someone else' });
  t.regex(r.reason, /not signed by any of the 1 certificate\(s\) in \/etc\/kubernetes\/pki\/etcd\/ca\.crt \(--trusted-ca-file\)/);
  t.like(one(results, 'cert-chain', '/etc/kubernetes/pki/etcd/peer.crt'), { status: 'pass' });
  // A certificate no flag pairs with a CA is not judged: skip, with the reason.
  t.like(one(results, 'cert-chain', '/etc/kubernetes/pki/etcd/healthcheck-client.crt'), { status: 'skip' });
  t.like(one(results, 'cert-chain', '/etc/kubernetes/pki/apiserver.crt'), { status: 'skip' });
});

test('cert-san: a server certificate without the --advertise-client-urls host fails and names the host', async (t) => {
  const { results } = await scanTree(reissueEtcdServer({ dns: ['localhost'], ips: ['127.0.0.1'] }));
  const r = one(results, 'cert-san', ETCD_SERVER);
  t.like(r, { status: 'fail', severity: 'medium', actual: 'DNS:localhost, IP:127.0.0.1' });
  t.regex(r.reason, /does not name 192\.168\.1\.10 \(--advertise-client-urls/);
  t.like(one(results, 'cert-san', '/etc/kubernetes/pki/etcd/peer.crt'), { status: 'pass' });
});

test('cert-eku: an etcd peer certificate without clientAuth fails; a server certificate without serverAuth too', async (t) => {
  const { results } = await scanTree(async (tree) => {
    const peer = await issueTestCert(tree.pki.etcdCa, { cn: 'cp-1', ...ETCD_SANS, usages: ['serverAuth'] });
    await tree.write(`${PKI}/etcd/peer.crt`, peer.certPem);
    await tree.write(`${PKI}/etcd/peer.key`, peer.keyPem);
    const api = await issueTestCert(tree.pki.ca, { cn: 'kube-apiserver', ips: ['192.168.1.10'], usages: ['clientAuth'] });
    await tree.write(`${PKI}/apiserver.crt`, api.certPem);
    await tree.write(`${PKI}/apiserver.key`, api.keyPem);
  });
  const peer = one(results, 'cert-eku', '/etc/kubernetes/pki/etcd/peer.crt');
  t.like(peer, { status: 'fail', actual: 'serverAuth', expected: 'serverAuth and clientAuth' });
  t.regex(peer.reason, /used as etcd-peer .* does not allow clientAuth/);
  t.like(one(results, 'cert-eku', '/etc/kubernetes/pki/apiserver.crt'), { status: 'fail', actual: 'clientAuth', expected: 'serverAuth' });
  t.like(one(results, 'cert-eku', ETCD_SERVER), { status: 'pass' });
});

// ---- Strength --------------------------------------------------------------------------

test('cert-weak-key (RSA 1024) and cert-weak-signature (SHA-1) fail high; SHA-256 and P-256 pass', async (t) => {
  const { results } = await scanTree(async (tree) => {
    const weak = await issueTestCert(tree.pki.ca, { cn: 'kube-apiserver', dns: ['kubernetes'], ips: ['192.168.1.10'], usages: ['serverAuth'], key: 'rsa-1024' });
    await tree.write(`${PKI}/apiserver.crt`, weak.certPem);
    await tree.write(`${PKI}/apiserver.key`, weak.keyPem);
    const sha1 = await issueTestCert(tree.pki.frontProxyCa, { cn: 'front-proxy-client', usages: ['clientAuth'], hash: 'SHA-1' });
    await tree.write(`${PKI}/front-proxy-client.crt`, sha1.certPem);
    await tree.write(`${PKI}/front-proxy-client.key`, sha1.keyPem);
  });
  t.like(one(results, 'cert-weak-key', '/etc/kubernetes/pki/apiserver.crt'), { status: 'fail', severity: 'high', actual: 'RSA 1024 bits' });
  t.like(one(results, 'cert-weak-key', ETCD_SERVER), { status: 'pass', actual: 'EC prime256v1 (256 bits)' });
  t.like(one(results, 'cert-weak-signature', '/etc/kubernetes/pki/front-proxy-client.crt'), { status: 'fail', severity: 'high', actual: 'ecdsa-with-SHA1' });
  t.like(one(results, 'cert-weak-signature', ETCD_SERVER), { status: 'pass', actual: 'ecdsa-with-SHA256' });
  t.like(one(results, 'cert-key-match', '/etc/kubernetes/pki/apiserver.key'), { status: 'pass' }, 'an RSA pair still matches');
});

// ---- Key files ---------------------------------------------------------------------------

test('cert-key-file: a key readable by everyone fails, on leaf and CA keys alike; 0400 passes', async (t) => {
  const { results } = await scanTree(async (tree) => {
    await chmod(join(tree.root, PKI, 'etcd/server.key'), 0o644);
    await chmod(join(tree.root, PKI, 'front-proxy-ca.key'), 0o640);
    await chmod(join(tree.root, PKI, 'etcd/peer.key'), 0o400);
  });
  // The PKI's *.key files are CIS 1.1.21: the result says so, and leaves their owner to cis-1.1.19.
  const r = one(results, 'cert-key-file', ETCD_SERVER_KEY);
  t.like(r, { status: 'fail', severity: 'high', actual: 'mode 644', expected: 'mode 600 or stricter (its owner is judged by cis-1.1.19)', cis: '1.1.21' });
  t.deepEqual(r.references, ['cis-1.12:1.1.21']);
  t.regex(r.reason, /other users can read the key/);
  t.like(one(results, 'cert-key-file', '/etc/kubernetes/pki/front-proxy-ca.key'), { status: 'fail', actual: 'mode 640' });
  t.like(one(results, 'cert-key-file', '/etc/kubernetes/pki/etcd/peer.key'), { status: 'pass', actual: 'mode 400' });
  t.like(one(results, 'cert-key-file', '/etc/kubernetes/pki/sa.key'), { status: 'pass' });
  // A certificate file that holds a key is a key file too; outside the PKI directory its owner is judged here, and it is no CIS control.
  const kubelet = one(results, 'cert-key-file', '/var/lib/kubelet/pki/kubelet-client-current.pem');
  t.like(kubelet, { status: 'pass', actual: 'mode 600, owner root', cis: '' });
  t.deepEqual(kubelet.references, []);
});

test('key owners: one judgement per key. The PKI\'s keys are cis-1.1.19\'s (root:root, high for a key); elsewhere cert-key-file\'s (root or etcd)', async (t) => {
  if (!CAN_CHOWN) return t.pass('owners can only be set as root; CI runs as root');
  const etcdKey = '/etc/etcd/server.key';
  const { results } = await scanTree(async (tree) => {
    await writeFile(join(tree.root, 'etc/passwd'), `${await readFile(join(tree.root, 'etc/passwd'), 'utf8')}etcd:x:998:998::/var/lib/etcd:/usr/sbin/nologin\n`);
    await chown(join(tree.root, PKI, 'etcd/server.key'), 1000, 1000);
    await chown(join(tree.root, PKI, 'etcd/peer.key'), 998, 998);
    // etcd's client key outside the PKI directory, owned by etcd; the kubelet's by a uid without a name.
    await tree.editArgv(ETCD_PID, (argv) => argv.map((a) => (a.startsWith('--peer-key-file=') ? `--peer-key-file=${etcdKey}` : a)));
    await rm(join(tree.root, 'etc/kubernetes/manifests/etcd.yaml'));
    await mkdir(join(tree.root, 'etc/etcd'), { recursive: true });
    await tree.write(etcdKey.slice(1), (await readFile(join(tree.root, PKI, 'etcd/peer.key'), 'utf8')), 0o600);
    await chown(join(tree.root, etcdKey), 998, 998);
    await chown(join(tree.root, 'var/lib/kubelet/pki/kubelet-client-current.pem'), 4242, 0);
  }, selectChecks(CATALOG, ['1.1.19']));
  // In the PKI directory: cert-key-file judges the mode only; cis-1.1.19 the owner, once, at high for a key.
  t.like(one(results, 'cert-key-file', ETCD_SERVER_KEY), { status: 'pass', actual: 'mode 600' });
  const owner = one(results, 'cis-1.1.19', ETCD_SERVER_KEY);
  t.like(owner, { status: 'fail', severity: 'high', actual: 'ubuntu:ubuntu' });
  t.regex(owner.reason, /a private key: whoever owns it can read it/);
  t.like(one(results, 'cis-1.1.19', '/etc/kubernetes/pki/etcd/peer.key'), { status: 'fail', severity: 'high', actual: 'etcd:998' }, 'CIS wants root:root in the PKI directory');
  t.like(one(results, 'cis-1.1.19', '/etc/kubernetes/pki/etcd/server.crt'), { status: 'pass' });
  // Elsewhere: cert-key-file judges mode and owner; etcd may own etcd's keys, a uid without a name fails.
  t.like(one(results, 'cert-key-file', etcdKey), { status: 'pass', actual: 'mode 600, owner etcd' });
  const kubelet = one(results, 'cert-key-file', '/var/lib/kubelet/pki/kubelet-client-current.pem');
  t.like(kubelet, { status: 'fail', actual: 'mode 600, owner 4242' });
  t.regex(kubelet.reason, /without a name in the host's \/etc\/passwd/);
  // No key file has two failing results about its owner.
  const failing = results.filter((r) => r.status === 'fail' && (r.id === 'cert-key-file' || r.id === 'cis-1.1.19'));
  t.is(new Set(failing.map((r) => r.subject)).size, failing.length);
});

test('CA and service-account keys are stat\'ed, never read: a FIFO and garbage still get stat-based results and no read error', async (t) => {
  const { results, facts } = await scanTree(async (tree) => {
    const caKey = join(tree.root, PKI, 'ca.key');
    await rm(caKey);
    // Opening a FIFO for reading would fail (non-regular file) or block: any read attempt shows.
    execFileSync('mkfifo', ['-m', '600', caKey]);
    await tree.write(`${PKI}/etcd/ca.key`, 'garbage, not a key\n', 0o600);
    await tree.write(`${PKI}/front-proxy-ca.key`, '\x00\x01\x02', 0o000);
    await tree.write(`${PKI}/sa.key`, 'not a key either', 0o600);
  });
  const never = ['/etc/kubernetes/pki/ca.key', '/etc/kubernetes/pki/etcd/ca.key', '/etc/kubernetes/pki/front-proxy-ca.key', '/etc/kubernetes/pki/sa.key'];
  for (const path of never) {
    const key = facts.certificates?.keys.find((k) => k.path === path);
    t.like(key, { read: false, matches: [] }, path);
    t.true(key?.kind === 'ca' || key?.kind === 'service-account', path);
    t.like(one(results, 'cert-key-match', path), { status: 'skip' });
    t.regex(one(results, 'cert-key-match', path).reason, /never reads it/);
    t.not(one(results, 'cert-key-file', path).status, 'error', path);
  }
  t.like(facts.certificates?.keys.find((k) => k.path === '/etc/kubernetes/pki/ca.key')?.file.stat, { type: 'other', mode: 0o600 });
  t.like(one(results, 'cert-key-file', '/etc/kubernetes/pki/ca.key'), { status: 'pass', actual: 'mode 600' });
  t.like(one(results, 'cert-key-file', '/etc/kubernetes/pki/front-proxy-ca.key'), { status: 'pass', actual: 'mode 000' });
  t.deepEqual(results.filter((r) => r.status === 'error').map((r) => [r.id, r.subject]), [], 'no check tried to read them');
  t.deepEqual(facts.certificates?.errors, []);
});

// ---- etcd ----------------------------------------------------------------------------------

test('cis-2.7: etcd trusting the very certificate of the cluster CA warns (compared by fingerprint, not path)', async (t) => {
  const { results } = await scanTree(async (tree) => {
    const ca = tree.pki.ca;
    // etcd's own CA file is a copy of the cluster CA, and its certificates come from it.
    await tree.write(`${PKI}/etcd/ca.crt`, ca.certPem);
    for (const [name, usages, sans] of [['server', ['serverAuth', 'clientAuth'], ETCD_SANS], ['peer', ['serverAuth', 'clientAuth'], ETCD_SANS]] as const) {
      const c = await issueTestCert(ca, { cn: 'cp-1', ...sans, usages: [...usages] });
      await tree.write(`${PKI}/etcd/${name}.crt`, c.certPem);
      await tree.write(`${PKI}/etcd/${name}.key`, c.keyPem);
    }
  });
  const r = one(results, 'cis-2.7', 'etcd/--trusted-ca-file');
  t.like(r, { status: 'warn', severity: 'medium', category: 'etcd', scored: false, actual: '/etc/kubernetes/pki/etcd/ca.crt' });
  t.regex(r.reason, /\/etc\/kubernetes\/pki\/etcd\/ca\.crt holds the same certificate \(CN=kubernetes, sha256 [0-9a-f]{16}\.\.\.\) as the cluster CA \/etc\/kubernetes\/pki\/ca\.crt/);
  t.deepEqual(results.filter((x) => /same certificate/.test(x.reason)).map((x) => [x.id, x.subject]), [['cis-2.7', 'etcd/--trusted-ca-file']], 'one finding for the shared CA');
  t.like(one(results, 'cert-chain', ETCD_SERVER), { status: 'pass' }, 'the chain itself is fine');
});

test('cis-2.3 and cis-2.6: --auto-tls on the command line and ETCD_PEER_AUTO_TLS in the environment both fail high, once each', async (t) => {
  const { results } = await scanTree(async (tree) => {
    await tree.editArgv(ETCD_PID, (argv) => [...argv, '--auto-tls']);
    await writeEnviron(tree.procRoot, ETCD_PID, ['ETCD_PEER_AUTO_TLS=true', 'HOME=/root']);
  });
  const client = one(results, 'cis-2.3', 'etcd/--auto-tls');
  t.like(client, { status: 'fail', severity: 'high', category: 'etcd', actual: 'true', source: 'flag' });
  t.deepEqual(client.references, ['cis-1.12:2.3']);
  t.regex(client.reason, /self-signed certificate for its clients that nobody can verify, .*etcd ignores it while --cert-file is set/);
  t.like(one(results, 'cis-2.6', 'etcd/--peer-auto-tls'), { status: 'fail', actual: 'true', source: 'env' });
  t.deepEqual(results.filter((r) => r.status === 'fail').map((r) => r.subject).sort(), ['etcd/--auto-tls', 'etcd/--peer-auto-tls']);
});

test('etcd files named by ETCD_* variables or its --config-file are inspected the same way', async (t) => {
  const fromEnv = await scanTree(async (tree) => {
    await tree.editArgv(ETCD_PID, (argv) => argv.filter((a) => !a.startsWith('--cert-file=') && !a.startsWith('--key-file=')));
    const c = await issueTestCert(tree.pki.etcdCa, { cn: 'cp-1', ...ETCD_SANS, usages: ['serverAuth', 'clientAuth'], notAfter: daysFromNow(5) });
    await tree.write(`${PKI}/etcd/env-server.crt`, c.certPem);
    await tree.write(`${PKI}/etcd/env-server.key`, c.keyPem);
    await writeEnviron(tree.procRoot, ETCD_PID, ['ETCD_CERT_FILE=/etc/kubernetes/pki/etcd/env-server.crt', 'ETCD_KEY_FILE=/etc/kubernetes/pki/etcd/env-server.key']);
  });
  const env = one(fromEnv.results, 'cert-expiry', '/etc/kubernetes/pki/etcd/env-server.crt');
  t.like(env, { status: 'fail', severity: 'critical' });
  t.regex(env.reason, /ETCD_CERT_FILE in the environment of etcd/);
  t.like(one(fromEnv.results, 'cert-key-match', '/etc/kubernetes/pki/etcd/env-server.key'), { status: 'pass' });

  const fromConfig = await scanTree(async (tree) => {
    // Without its static pod, the etcd process's paths are host paths.
    await rm(join(tree.root, 'etc/kubernetes/manifests/etcd.yaml'));
    await tree.editArgv(ETCD_PID, () => ['etcd', '--config-file=/etc/etcd/etcd.yaml', '--cert-file=/ignored.crt']);
    const c = await issueTestCert(tree.pki.etcdCa, { cn: 'etcd-1', dns: ['etcd-1.example'], usages: ['serverAuth'] });
    await tree.write('etc/etcd/server.crt', c.certPem);
    await tree.write('etc/etcd/server.key', c.keyPem);
    await tree.write('etc/etcd/etcd.yaml', [
      'name: etcd-1',
      'advertise-client-urls: https://etcd-2.example:2379,http://127.0.0.1:2379',
      'client-transport-security:',
      '  cert-file: /etc/etcd/server.crt',
      '  key-file: /etc/etcd/server.key',
      '  trusted-ca-file: /etc/kubernetes/pki/etcd/ca.crt',
      '',
    ].join('\n'));
  });
  const san = one(fromConfig.results, 'cert-san', '/etc/etcd/server.crt');
  t.like(san, { status: 'fail', actual: 'DNS:etcd-1.example' });
  t.regex(san.reason, /etcd-2\.example \(--advertise-client-urls, advertise-client-urls in \/etc\/etcd\/etcd\.yaml/);
  t.like(one(fromConfig.results, 'cert-chain', '/etc/etcd/server.crt'), { status: 'pass' });
  t.false(fromConfig.results.some((r) => r.subject === '/ignored.crt'), 'a flag etcd ignores under --config-file names nothing');
});

test('a certificate a flag names through a link into the PKI directory is judged once, under the name the flag uses', async (t) => {
  const { results } = await scanTree(async (tree) => {
    await rm(join(tree.root, 'etc/kubernetes/manifests/etcd.yaml'));
    await tree.editArgv(ETCD_PID, (argv) => argv.map((a) => (a.startsWith('--cert-file=') ? '--cert-file=/etc/etcd/server.crt' : a)));
    await mkdir(join(tree.root, 'etc/etcd'), { recursive: true });
    await symlink(ETCD_SERVER, join(tree.root, 'etc/etcd/server.crt'));
  });
  t.like(one(results, 'cert-expiry', '/etc/etcd/server.crt'), { status: 'pass' });
  t.deepEqual(results.filter((r) => r.id === 'cert-expiry' && r.subject === ETCD_SERVER), [], 'not again under the path the walk found');
});

test('a file a flag names that does not exist is an error with the reason, never a pass', async (t) => {
  const { results } = await scanTree(async (tree) => {
    await tree.editArgv(ETCD_PID, (argv) => argv.map((a) => (a.startsWith('--peer-cert-file=') ? '--peer-cert-file=/etc/kubernetes/pki/etcd/gone.crt' : a)));
    await rm(join(tree.root, PKI, 'apiserver-etcd-client.key'));
  });
  for (const id of ['cert-expiry', 'cert-not-yet-valid', 'cert-weak-key', 'cert-weak-signature', 'cert-chain', 'cert-san', 'cert-eku']) {
    const r = one(results, id, '/etc/kubernetes/pki/etcd/gone.crt');
    t.is(r.status, 'error', id);
    t.regex(r.reason, /--peer-cert-file on the etcd command line.*does not exist on the host/, id);
  }
  t.like(one(results, 'cert-key-match', '/etc/kubernetes/pki/apiserver-etcd-client.key'), { status: 'error' });
  t.regex(one(results, 'cert-key-file', '/etc/kubernetes/pki/apiserver-etcd-client.key').reason, /--etcd-keyfile on the kube-apiserver command line.*does not exist/);
});

test('a worker without etcd or an API server: the etcd checks and cert-san do not apply (skip)', async (t) => {
  const fx = await prepareFixture('insecure-worker');
  t.teardown(fx.cleanup);
  const now = new Date();
  const facts = await collectFacts({ hostRoot: fx.root, procRoot: fx.procRoot, now: () => now });
  const results = evaluate(facts, CHECKS, now);
  for (const id of ['cis-2.3', 'cis-2.6', 'cis-2.7']) {
    const rs = results.filter((r) => r.id === id);
    t.true(rs.length > 0 && rs.every((r) => r.status === 'skip'), id);
    t.regex(rs[0]?.reason ?? '', /does not run etcd/);
  }
  t.deepEqual(results.filter((r) => r.id === 'cert-san').map((r) => [r.subject, r.status]), [['certificates', 'skip']]);
});

// ---- Dependencies and secrecy --------------------------------------------------------------

test('the certificate checks depend on the files they judge, the PKI directories and what named them', async (t) => {
  const { facts } = await scanTree();
  for (const spec of CERTIFICATE_CHECKS) {
    const deps = checkDependencies(spec, facts);
    if (deps === 'all') return t.fail(`${spec.id} declares nothing`);
    for (const p of [ETCD_SERVER, ETCD_SERVER_KEY, '/etc/kubernetes/pki', '/etc/kubernetes/pki/etcd', '/var/lib/kubelet/pki',
      '/var/lib/kubelet/pki/kubelet-client-current.pem', '/etc/kubernetes/manifests/etcd.yaml', '/etc/passwd']) {
      t.true(deps.includes(p), `${spec.id} depends on ${p}`);
    }
  }
});

test('no private key material reaches the JSON report, the text report or --dump-facts', async (t) => {
  const { tree, cleanup } = await prepareKubeadmTree();
  t.teardown(cleanup);
  // A mismatched key and a world-readable one make sure keys are in the findings' subjects.
  await chmod(join(tree.root, PKI, 'etcd/server.key'), 0o644);
  const secrets = Object.values(tree.pki.files).filter((pem) => pem.includes('PRIVATE KEY'))
    .map((pem) => pem.split('\n').filter((l) => l !== '' && !l.startsWith('-----'))[1] ?? '');
  t.true(secrets.length >= 10 && secrets.every((s) => s.length >= 40));
  const base = [NODEWARD_BIN, 'scan', '--host-root', tree.root, '--proc-root', tree.procRoot, '--no-probe'];
  for (const args of [['--format', 'json'], ['--format', 'text'], ['--dump-facts']]) {
    const { stdout, stderr } = await run(process.execPath, [...base, ...args], { maxBuffer: 64 << 20 });
    const out = stdout + stderr;
    t.true(out.includes('/etc/kubernetes/pki/etcd/server.key'), `${args.join(' ')} talks about the keys`);
    t.false(out.includes('PRIVATE KEY'), `${args.join(' ')}: no PEM key header`);
    for (const s of secrets) t.false(out.includes(s), `${args.join(' ')}: no key body`);
  }
});

// ---- Pure pieces -----------------------------------------------------------------------------

test('SAN matching as Go verifies names: IPs only against IP SANs (any spelling), one wildcard label, no CN fallback', (t) => {
  t.true(sanCovers('192.168.1.10', [], ['192.168.1.10']));
  t.false(sanCovers('192.168.1.10', ['192.168.1.10'], []), 'an IP written as a DNS SAN does not count');
  t.true(sanCovers('::1', [], [canonicalIp('0:0:0:0:0:0:0:1')]));
  t.true(sanCovers('fe80::1:2', [], parseSubjectAltName('IP Address:FE80:0:0:0:0:0:1:2').ips));
  t.true(sanCovers('etcd-0.etcd.svc', ['*.etcd.svc'], []));
  t.false(sanCovers('a.etcd-0.etcd.svc', ['*.etcd.svc'], []), 'a wildcard covers one label');
  t.false(sanCovers('etcd.svc', ['*.etcd.svc'], []));
  t.true(sanCovers('ETCD-1.Example.', ['etcd-1.example'], []));
  t.deepEqual(parseSubjectAltName('DNS:a, DNS:"we\\u002cird", IP Address:10.0.0.1, email:x@y'), { dns: ['a', 'we,ird'], ips: ['10.0.0.1'] });
});

test('the signature algorithm comes from the DER; a truncated certificate gives none rather than a wrong one', async (t) => {
  const ca = await createTestCa({ key: 'rsa-2048' });
  const der = new X509Certificate((await issueTestCert(ca, { cn: 'x', usages: [], hash: 'SHA-1' })).certPem).raw;
  t.is(signatureAlgorithmOid(der), '1.2.840.113549.1.1.5');
  t.is(signatureAlgorithmOid(der.subarray(0, 40)), null);
  t.is(signatureAlgorithmOid(Buffer.from('not der')), null);
});
