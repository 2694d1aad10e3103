// No secret of the node leaves it. A control-plane host tree holds real-looking secrets: an
// EncryptionConfiguration with aescbc, aesgcm and secretbox keys (random bytes, base64), a
// generated CA key (stat'ed, never read), a generated leaf key (read, to match it with its
// certificate), and command lines with `--token=` and `--initial-cluster-token` values plus an
// ETCD_INITIAL_CLUSTER_TOKEN in etcd's environment. Then:
//   (a) `nodeward scan` as JSON, as text and with --dump-facts: stdout and stderr;
//   (b) a real collector and a real agent as separate processes, the agent reporting at debug
//       level until its findings are in the API: both processes' logs, every file of the
//       agent's state dir (the spool, its WAL) and of the collector's data dir (the database,
//       its WAL), and the API's answers.
// None of the secrets, in any of their forms (base64 text, raw bytes, PEM lines, DER), may
// appear in any of it. Each secret is first shown to be in the host tree, so the search is
// one that can fail.
import test, { type ExecutionContext } from 'ava';
import { createPrivateKey, randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { initPki } from '../../collector/pki/pki.js';
import { parseCmdline } from '../../agent/facts/proc.js';
import { filesUnder } from '../helpers/files.js';
import { createTestCa, issueTestCert } from '../helpers/certs.js';
import { prepareFixture, writeCmdline, writeEnviron, type Fixture } from '../helpers/fixture.js';
import { eventually, httpsJson } from '../helpers/https.js';
import { NODEWARD_BIN, startCollectorProcess, startNodeward, type NodewardProcess } from '../helpers/process.js';

const run = promisify(execFile);
const NODE = 'leak-node';
const API_TOKEN = 'leak-test-admin-token-0123456789abcdef';
const APISERVER = 1101;
const ETCD = 1104;
const ENCRYPTION_FILE = 'etc/kubernetes/secrets-encryption/encryption-config.yaml';

/** One secret and the forms it could leak in. */
interface Secret {
  readonly name: string;
  /** Where it lives in the host tree (relative to the root). */
  readonly file: string;
  readonly needles: readonly Buffer[];
}

const text = (s: string): Buffer => Buffer.from(s, 'utf8');

/** A PEM key: every body line long enough to be telling, and its DER. */
function pemNeedles(pem: string): Buffer[] {
  const lines = pem.split('\n').map((l) => l.trim()).filter((l) => l.length >= 16 && !l.startsWith('-----'));
  return [...lines.map(text), createPrivateKey(pem).export({ type: 'pkcs8', format: 'der' })];
}

async function plantSecrets(fx: Fixture): Promise<Secret[]> {
  const keys = { aescbc: randomBytes(32), aesgcm: randomBytes(16), secretbox: randomBytes(32) };
  const b64 = (b: Buffer): string => b.toString('base64');
  await writeFile(join(fx.root, ENCRYPTION_FILE), [
    'apiVersion: apiserver.config.k8s.io/v1',
    'kind: EncryptionConfiguration',
    'resources:',
    '  - resources: [secrets, configmaps]',
    '    providers:',
    `      - aescbc: {keys: [{name: key-2026, secret: ${b64(keys.aescbc)}}]}`,
    // A 128-bit key: encryption-key-strength fails on it, and the failure must not quote it.
    `      - aesgcm: {keys: [{name: old, secret: ${b64(keys.aesgcm)}}]}`,
    `      - secretbox: {keys: [{name: box, secret: ${b64(keys.secretbox)}}]}`,
    '      - identity: {}',
    '',
  ].join('\n'));

  const ca = await createTestCa({ cn: 'kubernetes', key: 'rsa-2048' });
  await writeFile(join(fx.root, 'etc/kubernetes/pki/ca.crt'), ca.certPem);
  await writeFile(join(fx.root, 'etc/kubernetes/pki/ca.key'), ca.keyPem);
  const leaf = await issueTestCert(ca, { cn: 'kube-apiserver-etcd-client', usages: ['clientAuth'] });
  await writeFile(join(fx.root, 'etc/kubernetes/pki/apiserver-etcd-client.crt'), leaf.certPem);
  await writeFile(join(fx.root, 'etc/kubernetes/pki/apiserver-etcd-client.key'), leaf.keyPem);

  const token = `nwleak-token-${randomBytes(12).toString('hex')}`;
  const clusterToken = `nwleak-cluster-${randomBytes(12).toString('hex')}`;
  const envToken = `nwleak-env-${randomBytes(12).toString('hex')}`;
  const apiArgv = parseCmdline(await readFile(join(fx.procRoot, String(APISERVER), 'cmdline')));
  await writeCmdline(fx.procRoot, APISERVER, [...apiArgv, `--token=${token}`]);
  const etcdArgv = parseCmdline(await readFile(join(fx.procRoot, String(ETCD), 'cmdline')));
  await writeCmdline(fx.procRoot, ETCD, [...etcdArgv, '--initial-cluster-token', clusterToken]);
  await writeEnviron(fx.procRoot, ETCD, ['PATH=/usr/bin:/bin', `ETCD_INITIAL_CLUSTER_TOKEN=${envToken}`, 'ETCD_CLIENT_CERT_AUTH=true']);

  return [
    ...(['aescbc', 'aesgcm', 'secretbox'] as const).map((k) => ({ name: `${k} key`, file: ENCRYPTION_FILE, needles: [text(b64(keys[k])), keys[k]] })),
    { name: 'CA key', file: 'etc/kubernetes/pki/ca.key', needles: pemNeedles(ca.keyPem) },
    { name: 'leaf key', file: 'etc/kubernetes/pki/apiserver-etcd-client.key', needles: pemNeedles(leaf.keyPem) },
    { name: '--token', file: `proc/${APISERVER}/cmdline`, needles: [text(token)] },
    { name: '--initial-cluster-token', file: `proc/${ETCD}/cmdline`, needles: [text(clusterToken)] },
    { name: 'ETCD_INITIAL_CLUSTER_TOKEN', file: `proc/${ETCD}/environ`, needles: [text(envToken)] },
  ];
}

/** The search must be able to fail: every form of every secret is in the host tree. */
async function assertPlanted(t: ExecutionContext, fx: Fixture, secrets: readonly Secret[]): Promise<void> {
  for (const s of secrets) {
    const bytes = await readFile(join(fx.root, s.file));
    // The DER and raw key bytes are not in a PEM or base64 file as such; their text forms are.
    const textual = s.needles.filter((n) => n.every((b) => b >= 0x20 && b < 0x7f));
    t.true(textual.length > 0, `${s.name} has a text form`);
    for (const n of textual) t.true(bytes.includes(n), `${s.name} is in ${s.file}`);
  }
}

function assertAbsent(t: ExecutionContext, where: string, haystack: Buffer | string, secrets: readonly Secret[]): void {
  const bytes = typeof haystack === 'string' ? text(haystack) : haystack;
  for (const s of secrets) {
    for (const n of s.needles) t.false(bytes.includes(n), `${s.name} leaked into ${where}`);
  }
}

test('scan: no secret in the JSON report, the text report, JUnit, SARIF, kube-bench JSON, --dump-facts or stderr', async (t) => {
  const fx = await prepareFixture('kubeadm-cp-hardened');
  t.teardown(fx.cleanup);
  const secrets = await plantSecrets(fx);
  await assertPlanted(t, fx, secrets);
  const base = [NODEWARD_BIN, 'scan', '--host-root', fx.root, '--proc-root', fx.procRoot, '--node', NODE];
  for (const extra of [['--format', 'json'], ['--format', 'text'], ['-o', 'junit'], ['-o', 'sarif'], ['-o', 'kube-bench'], ['--dump-facts']]) {
    const { stdout, stderr } = await run(process.execPath, [...base, ...extra], { maxBuffer: 64 << 20 });
    t.true(stdout.length > 1000, `${extra.join(' ')} printed a report`);
    assertAbsent(t, `scan ${extra.join(' ')} stdout`, stdout, secrets);
    assertAbsent(t, `scan ${extra.join(' ')} stderr`, stderr, secrets);
    if (extra[0] === '--dump-facts') {
      // The facts did read what the secrets sit in: the key lengths, the redacted flags.
      const facts = JSON.parse(stdout) as { controlPlane: { apiServer: { encryption: { resources: Array<{ providers: Array<{ keyLengths: number[] }> }> } } } };
      t.deepEqual(facts.controlPlane.apiServer.encryption.resources[0]?.providers.map((p) => p.keyLengths), [[32], [16], [32], []]);
      t.true(stdout.includes('--token=<redacted>'));
    }
    if (extra[1] === 'json') {
      const report = JSON.parse(stdout) as { results: Array<{ id: string; status: string; subject: string }> };
      t.like(report.results.find((r) => r.id === 'encryption-key-strength' && r.status === 'fail'), { subject: `/${ENCRYPTION_FILE}#resources[0].providers[1]` });
    }
  }
});

test('agent and collector: no secret in their logs, the spool, the database or the API', async (t) => {
  t.timeout(180_000);
  const fx = await prepareFixture('kubeadm-cp-hardened');
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-leak-'));
  const running: NodewardProcess[] = [];
  t.teardown(async () => {
    await Promise.all(running.map((p) => p.kill('SIGKILL')));
    await fx.cleanup();
    await rm(dir, { recursive: true, force: true });
  });
  const secrets = await plantSecrets(fx);
  await assertPlanted(t, fx, secrets);

  const pki = await initPki(join(dir, 'pki'), { nodes: [NODE], collectorHosts: ['localhost', '127.0.0.1'] });
  const ca = await readFile(pki.caCert);
  const stateDir = join(dir, 'agent-state');
  const { proc: collector, apiPort, grpcPort, dataDir: collectorDir } = await startCollectorProcess({
    dir, pki, adminToken: API_TOKEN, running, settings: { log: { level: 'debug' } },
  });

  await writeFile(join(dir, 'agent.yaml'), JSON.stringify({
    node: NODE, hostRoot: fx.root, procRoot: fx.procRoot, stateDir,
    collector: { address: `localhost:${grpcPort}`, caFile: pki.caCert, certFile: pki.agents[NODE]!.cert, keyFile: pki.agents[NODE]!.key, heartbeatSeconds: 1 },
    scan: { intervalSeconds: 1 },
    health: { port: 0 },
    // The fixture's /proc is not this machine's: no kernel exec events from the real one.
    processes: { execEvents: false },
    log: { level: 'debug' },
  }));
  const agent = startNodeward(['agent', '--config', join(dir, 'agent.yaml')]);
  running.push(agent);

  const api = (path: string) => httpsJson(`https://localhost:${apiPort}${path}`, { ca, token: API_TOKEN });
  interface Finding { id: string; checkId: string }
  const findings = await eventually('the encryption-key-strength finding in the API', async () => {
    const res = await api(`/api/v1/findings?node=${NODE}&limit=1000`);
    const items = (res.body as { items?: Finding[] }).items ?? [];
    return items.some((f) => f.checkId === 'encryption-key-strength') ? items : undefined;
  }, 60_000, 200).catch((err: Error) => {
    throw new Error(`${err.message}\nagent:\n${agent.output().slice(-3000)}\ncollector:\n${collector.output().slice(-2000)}`);
  });
  // A few more scans, so the spool and the database have seen repeats too.
  const scansNow = agent.count((l) => l.msg === 'scan completed');
  await eventually('two more scans', () => (agent.count((l) => l.msg === 'scan completed') >= scansNow + 2 ? true : undefined), 60_000, 100);

  const answers: string[] = [];
  for (const path of [`/api/v1/findings?node=${NODE}&limit=1000`, '/api/v1/nodes', `/api/v1/nodes/${NODE}`, '/api/v1/summary', '/api/v1/audit']) {
    answers.push((await api(path)).text);
  }
  for (const f of findings) answers.push((await api(`/api/v1/findings/${f.id}`)).text);
  t.true(answers.join('').includes('encryption-key-strength'), 'the API did answer about the encryption config');
  assertAbsent(t, 'the API answers', answers.join('\n'), secrets);

  // The files while both run (the WAL holds the newest writes), then after a clean stop.
  const searchFiles = async (when: string): Promise<number> => {
    const files = [...await filesUnder(stateDir), ...await filesUnder(collectorDir)];
    const all: Buffer[] = [];
    for (const f of files) {
      const bytes = await readFile(f);
      all.push(bytes);
      assertAbsent(t, `${f} (${when})`, bytes, secrets);
    }
    // The bytes searched are the ones that hold the results: a positive control.
    t.true(Buffer.concat(all).includes(text('encryption-key-strength')), `the stored results are in the files searched (${when})`);
    return files.length;
  };
  await searchFiles('running');
  for (const db of [join(stateDir, 'spool.db'), join(collectorDir, 'nodeward.db')]) {
    t.true(existsSync(db), `${db} exists`);
    t.true(existsSync(`${db}-wal`), `${db}-wal exists while it is open`);
  }
  await agent.kill('SIGTERM');
  await collector.kill('SIGTERM');
  t.true(await searchFiles('stopped') >= 2);

  t.true(agent.count((l) => l.msg === 'scan completed') >= 3, 'the agent logged its scans');
  assertAbsent(t, 'the agent\'s log', agent.output(), secrets);
  assertAbsent(t, 'the collector\'s log', collector.output(), secrets);
});
