// Certificate expiries in the node inventory: what the agent's hello reports reaches
// GET /api/v1/nodes, the node whose certificate expires first can be asked for
// (sort=certExpiry, also through `nodeward query nodes`), and a certificate coming closer to
// expiry raises its cert-expiry finding from medium to critical as an `escalated` event.
import test from 'ava';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadAgentConfig } from '../../agent/config.js';
import { createAgent } from '../../agent/main.js';
import { createLogger } from '../../proto/support/logger.js';
import { api, connect, fp, ok, result, withCollector } from '../helpers/agent-session.js';
import { daysFromNow, issueTestCert } from '../helpers/certs.js';
import { READER_TOKEN } from '../helpers/collector.js';
import { eventually } from '../helpers/https.js';
import { ETCD_SANS, PKI, prepareKubeadmTree } from '../helpers/kubeadm-pki.js';
import { NODEWARD_BIN } from '../helpers/process.js';

const run = promisify(execFile);
const DAY = 86_400_000;
const NODES = ['node-a', 'node-b', 'node-c', 'node-d'];

test('GET /api/v1/nodes carries each node\'s certificates and the one that expires first; sort=certExpiry orders by it', (t) => withCollector(async (tc) => {
  const now = Date.now();
  const certs: Record<string, Array<{ path: string; notAfterMs: number }>> = {
    'node-a': [{ path: '/etc/kubernetes/pki/apiserver.crt', notAfterMs: now + 300 * DAY }, { path: '/etc/kubernetes/pki/etcd/server.crt', notAfterMs: now + 100 * DAY }],
    'node-b': [{ path: '/var/lib/kubelet/pki/kubelet-client-current.pem', notAfterMs: now + 5 * DAY }],
    'node-c': [],
    'node-d': [{ path: '/etc/kubernetes/pki/ca.crt', notAfterMs: now + 3000 * DAY }, { path: '/etc/kubernetes/pki/etcd/peer.crt', notAfterMs: now + 40 * DAY }],
  };
  const sessions = await Promise.all(NODES.map((n) => connect(tc, n, { certificates: certs[n] })));
  await Promise.all(sessions.map((s) => s.scan(now, ['cert-expiry'], [])));

  const iso = (ms: number): string => new Date(ms).toISOString();
  const a = await ok(tc, '/api/v1/nodes/node-a');
  t.deepEqual(a.certificates, [
    { path: '/etc/kubernetes/pki/etcd/server.crt', notAfter: iso(now + 100 * DAY) },
    { path: '/etc/kubernetes/pki/apiserver.crt', notAfter: iso(now + 300 * DAY) },
  ], 'soonest first');
  t.deepEqual(a.certificatesExpireFirst, { path: '/etc/kubernetes/pki/etcd/server.crt', notAfter: iso(now + 100 * DAY) });
  t.is((await ok(tc, '/api/v1/nodes/node-c')).certificatesExpireFirst, null);

  const byName = await ok(tc, '/api/v1/nodes');
  t.deepEqual(byName.items.map((n: any) => n.name), NODES);
  const byExpiry = await ok(tc, '/api/v1/nodes?sort=certExpiry');
  t.deepEqual(byExpiry.items.map((n: any) => [n.name, n.certificatesExpireFirst?.path ?? null]), [
    ['node-b', '/var/lib/kubelet/pki/kubelet-client-current.pem'],
    ['node-d', '/etc/kubernetes/pki/etcd/peer.crt'],
    ['node-a', '/etc/kubernetes/pki/etcd/server.crt'],
    ['node-c', null],
  ], 'the node whose certificate expires first comes first; a node without certificates last');

  // Page by page through the cursor: the same order, nothing skipped or repeated.
  const walked: string[] = [];
  let cursor: string | null = null;
  do {
    const page: any = await ok(tc, `/api/v1/nodes?sort=certExpiry&limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    walked.push(...page.items.map((n: any) => n.name));
    cursor = page.nextCursor;
  } while (cursor);
  t.deepEqual(walked, ['node-b', 'node-d', 'node-a', 'node-c']);
  t.deepEqual((await ok(tc, '/api/v1/nodes?sort=certExpiry&stale=false&limit=2')).items.map((n: any) => n.name), ['node-b', 'node-d']);

  // Bad values are 400s that name the parameter; a cursor belongs to the order that issued it.
  const nameCursor = (await ok(tc, '/api/v1/nodes?limit=1')).nextCursor as string;
  const expiryCursor = (await ok(tc, '/api/v1/nodes?sort=certExpiry&limit=1')).nextCursor as string;
  for (const [q, param] of [
    ['sort=expiry', 'sort'], ['sort=', 'sort'],
    [`sort=certExpiry&cursor=${encodeURIComponent(nameCursor)}`, 'cursor'],
    [`cursor=${encodeURIComponent(expiryCursor)}`, 'cursor'],
    [`sort=certExpiry&cursor=${Buffer.from('{"after":"node-a","sort":"certExpiry","expiry":"soon"}').toString('base64url')}`, 'cursor'],
  ] as const) {
    const res = await api(tc, `/api/v1/nodes?${q}`);
    t.is(res.status, 400, `${q}: ${res.text}`);
    t.true(String(res.body.error).includes(param), `${q}: ${res.body.error}`);
  }
  t.true(JSON.stringify(await ok(tc, '/api/v1/openapi.json')).includes('certExpiry'), 'the OpenAPI document describes sort');

  // The CLI shows the earliest expiry per node and sorts by it.
  const tokenFile = join(tc.dir, 'reader.token');
  await writeFile(tokenFile, `${READER_TOKEN}\n`, { mode: 0o600 });
  const { stdout } = await run(process.execPath, [NODEWARD_BIN, 'query', 'nodes', '--sort', 'certExpiry', '--url', tc.apiUrl, '--token-file', tokenFile, '--ca-file', tc.pki.caCert]);
  const rows = stdout.trimEnd().split('\n');
  t.regex(rows[0] ?? '', /KUBELET\s+CERTS EXPIRE\s+OS/);
  const at = (rows[0] ?? '').indexOf('CERTS EXPIRE');
  t.deepEqual(rows.slice(1).map((r) => [r.split(/\s+/)[0], r.slice(at).split(/\s+/)[0]]), [
    ['node-b', iso(now + 5 * DAY).slice(0, 10)], ['node-d', iso(now + 40 * DAY).slice(0, 10)],
    ['node-a', iso(now + 100 * DAY).slice(0, 10)], ['node-c', '-'],
  ]);
  sessions.forEach((s) => s.close());
}, { nodes: NODES }));

test('cert-expiry: the same certificate going from medium to critical is one finding, escalated', (t) => withCollector(async (tc) => {
  const a = await connect(tc, 'node-a');
  const subject = '/etc/kubernetes/pki/etcd/server.crt';
  const id = fp('node-a', 'cert-expiry', subject);
  const T0 = Date.now();
  await a.scan(T0, ['cert-expiry'], [result('cert-expiry', subject, 'warn', { severity: 'medium', category: 'certificate', actual: 'notAfter x (20 days left)' })]);
  t.like(await ok(tc, `/api/v1/findings/${id}`), { state: 'open', severity: 'medium', status: 'warn' });
  await a.scan(T0 + 1000, ['cert-expiry'], [result('cert-expiry', subject, 'fail', { severity: 'critical', category: 'certificate', actual: 'notAfter x (6 days left)' })]);
  const f = await ok(tc, `/api/v1/findings/${id}`);
  t.like(f, { state: 'open', severity: 'critical', status: 'fail', count: 2 });
  t.deepEqual(f.history.map((h: any) => [h.event, h.severity]), [['escalated', 'critical'], ['opened', 'medium']]);
  a.close();
}));

test('a real agent reports its certificates in the hello, and a renewal that shortens the lifetime escalates cert-expiry', async (t) => {
  t.timeout(120_000);
  const { tree, cleanup } = await prepareKubeadmTree();
  t.teardown(cleanup);
  const reissue = async (days: number): Promise<void> => {
    const c = await issueTestCert(tree.pki.etcdCa, { cn: 'cp-1', ...ETCD_SANS, usages: ['serverAuth', 'clientAuth'], notAfter: daysFromNow(days) });
    await tree.write(`${PKI}/etcd/server.crt`, c.certPem);
    await tree.write(`${PKI}/etcd/server.key`, c.keyPem);
  };
  await reissue(20);
  await withCollector(async (tc) => {
    const agentPki = tc.pki.agents['node-a']!;
    const config = loadAgentConfig({
      env: {},
      overrides: {
        node: 'node-a', hostRoot: tree.root, procRoot: tree.procRoot, stateDir: join(tree.root, '..', 'agent-state'),
        'collector.address': tc.grpcAddress, 'collector.caFile': tc.pki.caCert, 'collector.certFile': agentPki.cert,
        'collector.keyFile': agentPki.key, 'collector.heartbeatSeconds': 1, 'health.port': 0, 'scan.intervalSeconds': 0.5,
        'scan.checks': ['cert-expiry'], 'watch.enabled': false, 'processes.enabled': false,
      },
    }, { needCollector: true });
    const agent = createAgent(config, { version: 'test', log: createLogger('agent', 'silent') });
    try {
      await agent.start();
      await judge(tc);
    } finally {
      await agent.stop();
    }
  });

  async function judge(tc: Parameters<Parameters<typeof withCollector>[0]>[0]): Promise<void> {

    const node = await eventually('the node inventory with certificates', async () => {
      const n = (await api(tc, '/api/v1/nodes/node-a')).body;
      return n?.certificates?.length > 0 ? n : undefined;
    });
    t.is(node.certificatesExpireFirst.path, '/etc/kubernetes/pki/etcd/server.crt', 'the 20-day certificate is the first to expire');
    t.true(node.certificates.length >= 10 && node.certificates.some((c: any) => c.path === '/var/lib/kubelet/pki/kubelet-client-current.pem'));
    const id = fp('node-a', 'cert-expiry', '/etc/kubernetes/pki/etcd/server.crt');
    const warned = await eventually('the medium cert-expiry warning', async () => {
      const r = await api(tc, `/api/v1/findings/${id}`);
      return r.status === 200 ? r.body : undefined;
    });
    t.like(warned, { status: 'warn', severity: 'medium', category: 'certificate', state: 'open' });

    await reissue(3);
    const escalated = await eventually('the escalation to critical', async () => {
      const r = await api(tc, `/api/v1/findings/${id}`);
      return r.body?.severity === 'critical' ? r.body : undefined;
    });
    t.like(escalated, { status: 'fail', state: 'open' });
    t.regex(escalated.actual, /\([23] days left\)/);
    t.true(escalated.history.some((h: any) => h.event === 'escalated' && h.severity === 'critical'));
  }
});
