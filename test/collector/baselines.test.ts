// Central baselines against a real collector: nodes' BaselineReports over mTLS gRPC streams,
// the API and CLI over HTTPS, SQLite underneath. What agents are sent (BaselineUpdate,
// PodInventory) is read off their streams. Host baselines are per node role: each agent names
// its own in its Hello and is sent no other. The bound on an item's contents is checked on the
// store alone, on SQLite and on PostgreSQL (test/helpers/stores.ts).
import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { MIGRATIONS } from '../../collector/store/migrations/index.js';
import { LOCK_IN_FLIGHT_MS } from '../../collector/store/store.js';
import { openStore } from '../../collector/store/sqlite.js';
import { hostKeyOf, LEGACY_HOST_KEY, processSubject } from '../../proto/baseline-key.js';
import type { AgentBaseline, BaselineUpdate__Output, WireFinding } from '../../proto/load.js';
import { ADMIN_TOKEN, READER_TOKEN, type TestCollector } from '../helpers/collector.js';
import { eventually } from '../helpers/https.js';
import { testClock } from '../helpers/clock.js';
import { NODEWARD_BIN } from '../helpers/process.js';
import {
  api, baselines, bl, centralBaseline, connect, fp, ok, withCollector, type ApiBaseline, type ApiItem, type DigestSpec, type Session,
} from '../helpers/agent-session.js';
import { processFinding, PROC_UNEXPECTED } from '../../agent/processes/findings.js';
import { processDetail } from '../helpers/process-finding.js';
import { PROC_MODIFIED_BINARY_CHECK } from '../../proto/process-checks.js';
import { storeTest } from '../helpers/stores.js';

const WEB = 'shop/Deployment/web/nginx';
const JOB = 'ops/CronJob/backup/dump';
const NODES = ['node-a', 'node-b', 'node-c'];
const CP_HOST = hostKeyOf('control-plane');
const WORKER_HOST = hostKeyOf('worker');

let markers = 0;
/** Connected, and everything sent before merged: a report of a new marker key has been (reports are handled in order). */
async function registered(tc: TestCollector, a: Session, node: string): Promise<void> {
  const key = `marker/Pod/${node}/m${++markers}`;
  a.report(bl(key, 'learning', ['/bin/true']));
  await eventually(`${node}'s marker`, async () => (await baselines(tc, `key=${encodeURIComponent(key)}`)).items[0]);
}

/** node-a and node-b, both connected for sure. */
async function connectedPair(t: import('ava').ExecutionContext, tc: TestCollector): Promise<[Session, Session]> {
  const a = await connect(tc, 'node-a');
  const b = await connect(tc, 'node-b');
  t.teardown(() => { a.close(); b.close(); });
  await registered(tc, a, 'node-a');
  await registered(tc, b, 'node-b');
  return [a, b];
}

const item = (b: ApiBaseline | undefined, path: string): ApiItem | undefined => b?.items.find((i) => i.path === path);
const change = (tc: TestCollector, action: string, body: unknown, token: string | null = ADMIN_TOKEN) =>
  api(tc, `/api/v1/baselines/${action}`, { method: 'POST', token, body });
const paths = (u: BaselineUpdate__Output): string[] => u.items.map((i) => i.path).sort();

/** A content (SHA-256) made of one repeated hex digit; D1..D9 for short. */
const sha = (n: number): string => (n % 16).toString(16).repeat(64);
const [D1, D2, D3, D4, D5, D6, D7] = [1, 2, 3, 4, 5, 6, 7].map(sha) as [string, string, string, string, string, string, string];
/** The contents of an item on the wire (ADOPT items, ALLOW allowed_items) or in the API, sorted: [sha256, source]. */
const wireDigests = (items: BaselineUpdate__Output['items'], path: string) =>
  items.find((i) => i.path === path)?.digests.map((d) => [d.sha256, d.source]).sort();
const apiDigests = (b: ApiBaseline | undefined, path: string) => item(b, path)?.digests.map((d) => [d.sha256, d.source]).sort();

/**
 * A process finding of an agent that hashes what ran: proc-unexpected, or proc-modified-binary
 * (`modified`), with the content's SHA-256 in its identity, or, for null, a file it could not hash.
 */
function contentFinding(key: string, exe: string, sha256: string | null, opts: { modified?: boolean; at?: number } = {}): WireFinding {
  const f = processFinding(PROC_UNEXPECTED, processDetail(key, exe), 1, opts.at ?? Date.now());
  const identity = sha256 === null
    ? { sha256: '', size: 0, error: 'unreadable', errorDetail: 'EACCES', baselineSha256: [], vouchedBy: '', notVouched: '' }
    : { sha256, size: 4096, error: '', errorDetail: '', baselineSha256: [], vouchedBy: '', notVouched: 'not-owned' };
  return {
    ...f, process: { ...f.process, identity },
    ...(opts.modified ? { checkId: PROC_MODIFIED_BINARY_CHECK.id, title: 'Modified binary', severity: 'SEVERITY_CRITICAL' as const } : {}),
  };
}

test('reports from two nodes merge per key: each item names the nodes that taught it, and one node alone shows', (t) => withCollector(async (tc) => {
  const a = await connect(tc, 'node-a');
  const b = await connect(tc, 'node-b');
  t.teardown(() => { a.close(); b.close(); });
  a.report(bl(WEB, 'learning', ['/usr/sbin/nginx', '/bin/sh']));
  b.report(bl(WEB, 'learning', ['/usr/sbin/nginx', '/usr/bin/curl']), bl(JOB, 'learning', ['/usr/bin/pg_dump']));
  const web = await eventually('both reports merged', async () => {
    const w = await centralBaseline(tc, WEB);
    return w && w.items.length === 3 && item(w, '/usr/sbin/nginx')!.taughtBy.length === 2 ? w : undefined;
  });
  t.like(web, { namespace: 'shop', workload: { kind: 'Deployment', name: 'web' }, container: 'nginx', state: 'learning', lockedBy: null });
  t.deepEqual(web.items.map((i) => [i.path, i.taughtBy.sort(), i.singleNode]), [
    ['/bin/sh', ['node-a'], true],
    ['/usr/bin/curl', ['node-b'], true],
    ['/usr/sbin/nginx', ['node-a', 'node-b'], false],
  ]);
  t.is(item(web, '/usr/sbin/nginx')!.source, 'learned');

  await eventually('the CronJob baseline', async () => centralBaseline(tc, JOB));
  t.deepEqual((await baselines(tc, 'namespace=ops')).items.map((x) => x.key), [JOB]);
  t.deepEqual((await baselines(tc, 'workload=web')).items.map((x) => x.key), [WEB]);
  t.deepEqual((await baselines(tc, 'state=locked')).items, []);
  const first = await baselines(tc, 'limit=1');
  t.is(first.items.length, 1);
  t.truthy(first.nextCursor);
  const second = await baselines(tc, `limit=1&cursor=${first.nextCursor}`);
  t.not(second.items[0]!.key, first.items[0]!.key);
  const doc = await ok(tc, '/api/v1/openapi.json');
  t.truthy(doc.paths['/api/v1/baselines'] && doc.paths['/api/v1/baselines/allow'] && doc.paths['/api/v1/baselines/unlock']);
}, { nodes: NODES }));

test('an executable an operator removed is never learned again from any node; an allow brings it back', (t) => withCollector(async (tc) => {
  const [a, b] = await connectedPair(t, tc);
  a.report(bl(WEB, 'learning', ['/usr/sbin/nginx', '/bin/sh']));
  await eventually('the report', async () => item(await centralBaseline(tc, WEB), '/bin/sh'));

  const removed = await change(tc, 'remove', { key: WEB, executables: ['/bin/sh'] });
  t.is(removed.status, 200, removed.text);
  t.is(removed.body.pushed, 2);
  t.like(removed.body.baseline, { key: WEB, removed: [{ path: '/bin/sh', removedBy: 'admin' }] });
  for (const x of [a, b]) {
    const u = await x.update();
    t.like(u, { key: WEB, action: 'ACTION_REMOVE', removed: ['/bin/sh'], version: removed.body.version });
  }
  b.report(bl(WEB, 'learning', ['/usr/sbin/nginx', '/bin/sh']));
  const after = await eventually('node-b taught nginx', async () => {
    const w = await centralBaseline(tc, WEB);
    return item(w, '/usr/sbin/nginx')?.taughtBy.includes('node-b') ? w : undefined;
  });
  t.is(item(after, '/bin/sh'), undefined, 'a removed executable is not learned again');
  t.deepEqual(after.removed.map((r) => r.path), ['/bin/sh']);

  const allowed = await change(tc, 'allow', { key: WEB, executables: ['/bin/sh'], content: 'any' });
  t.is(allowed.status, 200, allowed.text);
  t.like(item(allowed.body.baseline, '/bin/sh'), { source: 'operator', addedBy: 'admin', taughtBy: [], singleNode: false, anyContent: true, digests: [] });
  t.deepEqual(allowed.body.baseline.removed, []);
  t.like(await a.update(), { key: WEB, action: 'ACTION_ALLOW', allowed: ['/bin/sh'], version: allowed.body.version });
  t.true(allowed.body.version > removed.body.version);
}, { nodes: NODES }));

test('a node ending its learning window locks the central baseline: every node adopts it, new nodes on hello; unlock and lock by an operator', (t) => withCollector(async (tc) => {
  const [a, b] = await connectedPair(t, tc);
  a.report(bl(WEB, 'learning', ['/usr/sbin/nginx', '/bin/sh']));
  b.report(bl(WEB, 'learning', ['/usr/sbin/nginx', '/usr/bin/curl']));
  await eventually('both reports', async () => ((await centralBaseline(tc, WEB))?.items.length === 3 ? true : undefined));

  a.report(bl(WEB, 'locked', ['/usr/sbin/nginx', '/bin/sh']));
  const adopt = await b.update();
  t.like(adopt, { key: WEB, action: 'ACTION_ADOPT', operatorLocked: false });
  t.deepEqual(paths(adopt), ['/bin/sh', '/usr/bin/curl', '/usr/sbin/nginx'], 'the whole central baseline, what node-b taught included');
  t.like(await a.update(), { key: WEB, action: 'ACTION_ADOPT', version: adopt.version });
  const locked = (await centralBaseline(tc, WEB))!;
  t.like(locked, { state: 'locked', lockedBy: 'node', lockedByName: 'node-a', version: adopt.version });

  // A node that was never here adopts on hello; one that has this version gets nothing.
  const c = await connect(tc, 'node-c');
  t.teardown(() => c.close());
  const onHello = await c.update();
  t.like(onHello, { key: WEB, action: 'ACTION_ADOPT', version: adopt.version });
  t.deepEqual(paths(onHello), paths(adopt));
  const current = await connect(tc, 'node-c', { baselineVersion: adopt.version });
  t.teardown(() => current.close());
  await current.batch([]);

  // Locked: learning after the lock adds nothing; an item learned before it (a report on its way) joins and is re-adopted.
  const lockedAt = Date.parse(locked.lockedAt!);
  b.report(bl(WEB, 'locked', ['/usr/sbin/nginx', { path: '/usr/bin/wget', firstSeenMs: lockedAt + 60_000 }, { path: '/usr/bin/late', firstSeenMs: lockedAt - 1000 }], adopt.version));
  const grown = await b.update();
  t.like(grown, { key: WEB, action: 'ACTION_ADOPT' });
  t.true(grown.version > adopt.version);
  t.deepEqual(paths(grown), ['/bin/sh', '/usr/bin/curl', '/usr/bin/late', '/usr/sbin/nginx']);
  t.like(await a.update(), { action: 'ACTION_ADOPT', version: grown.version }, 'every node adopts it again');
  t.like(item(await centralBaseline(tc, WEB), '/usr/bin/late'), { taughtBy: ['node-b'], singleNode: true });

  // Unlock: the proto's explicit action; a report from before the unlock cannot lock it again.
  const unlocked = await change(tc, 'unlock', { key: WEB });
  t.is(unlocked.status, 200, unlocked.text);
  t.like(unlocked.body.baseline, { state: 'learning', lockedBy: null, lockedAt: null });
  t.like(await a.update(), { key: WEB, action: 'ACTION_UNLOCK', version: unlocked.body.version });
  t.like(await b.update(), { key: WEB, action: 'ACTION_UNLOCK', version: unlocked.body.version });
  a.report(bl(WEB, 'locked', ['/usr/sbin/nginx'], grown.version));
  await registered(tc, a, 'node-a');
  t.is((await centralBaseline(tc, WEB))!.state, 'learning', 'a report made before the unlock does not lock');
  a.report(bl(WEB, 'locked', ['/usr/sbin/nginx'], unlocked.body.version));
  const relock = await b.update();
  t.like(relock, { key: WEB, action: 'ACTION_ADOPT', operatorLocked: false });
  t.like(await centralBaseline(tc, WEB), { state: 'locked', lockedBy: 'node', lockedByName: 'node-a' });

  // An operator's lock: adopted as an operator lock (startup processes are no longer learned).
  const unlock2 = await change(tc, 'unlock', { key: WEB });
  t.is(unlock2.status, 200);
  await b.update();
  const lock = await change(tc, 'lock', { key: WEB });
  t.is(lock.status, 200, lock.text);
  t.like(lock.body.baseline, { state: 'locked', lockedBy: 'operator', lockedByName: 'admin' });
  const opLock = await b.update();
  t.like(opLock, { key: WEB, action: 'ACTION_ADOPT', operatorLocked: true, version: lock.body.version });
  // A node that missed the unlock and the lock catches up with the lock alone.
  const late = await connect(tc, 'node-c', { baselineVersion: adopt.version });
  t.teardown(() => late.close());
  t.like(await late.update(), { key: WEB, action: 'ACTION_ADOPT', operatorLocked: true, version: lock.body.version });
}, { nodes: NODES }));

test('a node cannot backdate into a baseline another node locked: received more than LOCK_IN_FLIGHT_MS after the lock (collector time), an item or content with a first_seen before the lock adds nothing, and is counted', async (t) => {
  const clock = testClock();
  await withCollector(async (tc) => {
    const [a, b] = await connectedPair(t, tc);
    a.report(bl(WEB, 'locked', [{ path: '/usr/sbin/nginx', digests: [{ sha256: D1, source: 'learned' }] }]));
    const adopt = await b.update();
    await a.update();
    const lockedAt = Date.parse((await centralBaseline(tc, WEB))!.lockedAt!);
    t.is(lockedAt, clock.now(), 'the lock is dated by the collector\'s clock');

    // The window ends; node-b then claims to have learned a new executable, and a new content of
    // one the baseline holds, a minute before the lock.
    await clock.advance(LOCK_IN_FLIGHT_MS + 1);
    const backdated = lockedAt - 60_000;
    b.report(bl(WEB, 'locked', [
      { path: '/usr/sbin/nginx', firstSeenMs: backdated, digests: [{ sha256: D1, source: 'learned' }, { sha256: D2, source: 'learned', firstSeenMs: backdated }] },
      { path: '/tmp/.x/implant', firstSeenMs: backdated, digests: [{ sha256: D3, source: 'learned', firstSeenMs: backdated }] },
    ], adopt.version));
    await registered(tc, b, 'node-b');
    const web = (await centralBaseline(tc, WEB))!;
    t.is(item(web, '/tmp/.x/implant'), undefined, 'the backdated item is not admitted');
    t.deepEqual(apiDigests(web, '/usr/sbin/nginx'), [[D1, 'learned']], 'nor the backdated content');
    t.is(web.version, adopt.version);
    t.like(await tc.collector.store!.baselines.counters(), { itemsRefused: 1, digestsRefused: 1 });
    t.regex((await tc.collector.metrics.render()), /nodeward_baseline_items_refused_total 1\b/);
    await a.batch([]); // nothing was pushed: the next message is this ack
  }, { nodes: NODES, clock });
});

test('host baselines per node role: kept apart centrally, each adopted only by its own role; a worker is never sent the control-plane one; the legacy host stays with older agents', (t) => withCollector(async (tc) => {
  const cp = await connect(tc, 'node-a', { hostBaselineKey: CP_HOST });
  const worker = await connect(tc, 'node-b', { hostBaselineKey: WORKER_HOST });
  t.teardown(() => { cp.close(); worker.close(); });
  await registered(tc, cp, 'node-a');
  await registered(tc, worker, 'node-b');
  /** Nothing was sent to `a` before this: its next message is the ack of an empty batch. */
  const nothingFor = (a: Session) => a.batch([]);

  // The control-plane node's window ends: only it adopts.
  cp.report(bl(CP_HOST, 'locked', ['/usr/lib/systemd/systemd', '/usr/local/bin/etcd', '/usr/local/bin/kube-apiserver']));
  const cpAdopt = await cp.update();
  t.like(cpAdopt, { key: CP_HOST, action: 'ACTION_ADOPT' });
  await nothingFor(worker);

  // The worker's window ends: only it adopts, and etcd is not in its baseline.
  worker.report(bl(WORKER_HOST, 'locked', ['/usr/lib/systemd/systemd', '/usr/bin/kubelet']));
  const workerAdopt = await worker.update();
  t.like(workerAdopt, { key: WORKER_HOST, action: 'ACTION_ADOPT' });
  t.deepEqual(paths(workerAdopt), ['/usr/bin/kubelet', '/usr/lib/systemd/systemd']);
  await nothingFor(cp);

  // Central: two baselines, each taught by its own node.
  const central = await centralBaseline(tc, CP_HOST);
  t.like(central, { state: 'locked', lockedByName: 'node-a', namespace: '', workload: null, container: '' });
  t.deepEqual(central!.items.map((i) => [i.path, i.taughtBy]), [
    ['/usr/lib/systemd/systemd', ['node-a']], ['/usr/local/bin/etcd', ['node-a']], ['/usr/local/bin/kube-apiserver', ['node-a']],
  ]);
  t.is(item(await centralBaseline(tc, WORKER_HOST), '/usr/local/bin/etcd'), undefined);
  t.deepEqual((await baselines(tc, 'namespace=host')).items, [], 'host baselines are in no namespace');

  // A worker that tries to teach the control-plane baseline is not heard (and it is counted).
  worker.report(bl(CP_HOST, 'locked', ['/tmp/implant'], cpAdopt.version));
  await registered(tc, worker, 'node-b');
  t.is(item(await centralBaseline(tc, CP_HOST), '/tmp/implant'), undefined);
  t.regex((await tc.collector.metrics.render()), /nodeward_rejects_total\{reason="host_baseline_role"\} 1\b/);
  await nothingFor(worker);

  // An operator's allow goes to the role it is for.
  const allowed = await change(tc, 'allow', { key: CP_HOST, executables: ['/usr/bin/kubeadm'], content: 'any' });
  t.is(allowed.status, 200, allowed.text);
  t.is(allowed.body.pushed, 1, 'pushed to the control-plane node alone');
  t.like(await cp.update(), { key: CP_HOST, action: 'ACTION_ALLOW', allowed: ['/usr/bin/kubeadm'] });
  await nothingFor(worker);

  // A new worker catches up with the workers' baseline only.
  const fresh = await connect(tc, 'node-c', { hostBaselineKey: WORKER_HOST });
  const onHello = await fresh.update();
  t.like(onHello, { key: WORKER_HOST, action: 'ACTION_ADOPT', version: workerAdopt.version });
  await nothingFor(fresh);
  fresh.close();

  // An older agent (no host key) uses the legacy `host`: stored as it comes, its adoption goes
  // to older agents only, and it never reaches a node that keys by role.
  const old = await connect(tc, 'node-c');
  t.teardown(() => old.close());
  await nothingFor(old);
  old.report(bl(LEGACY_HOST_KEY, 'locked', ['/usr/lib/systemd/systemd', '/usr/local/bin/etcd']));
  t.like(await old.update(), { key: LEGACY_HOST_KEY, action: 'ACTION_ADOPT' });
  t.like(await centralBaseline(tc, LEGACY_HOST_KEY), { state: 'locked', lockedByName: 'node-c' });
  await nothingFor(worker);
  await nothingFor(cp);
  const later = await connect(tc, 'node-b', { hostBaselineKey: WORKER_HOST });
  t.teardown(() => later.close());
  t.like(await later.update(), { key: WORKER_HOST, action: 'ACTION_ADOPT' }, 'only its own host baseline, not the legacy one');
  await nothingFor(later);
}, { nodes: NODES }));

test('a Hello naming a host key that is not one ends the stream with INVALID_ARGUMENT', (t) => withCollector(async (tc) => {
  const a = await connect(tc, 'node-a', { hostBaselineKey: 'host/master' });
  t.teardown(() => a.close());
  const ended = await a.stream.ended;
  t.is(ended.code, 3);
  t.regex(ended.details, /hello\.hostBaselineKey "host\/master" is not a host baseline key/);
}, { nodes: NODES }));

test('allowing an executable resolves its proc-unexpected findings on every node; a finding sent before the agent applied it does not reopen them', (t) => withCollector(async (tc) => {
  const a = await connect(tc, 'node-a');
  const b = await connect(tc, 'node-b');
  t.teardown(() => { a.close(); b.close(); });
  const finding = (exe: string, at = Date.now()): WireFinding => ({
    checkId: 'proc-unexpected', subject: processSubject(WEB, exe), title: 'Unexpected process', category: 'process',
    severity: 'SEVERITY_HIGH', status: 'STATUS_FAIL', observedAtMs: at, occurrences: 1, seen: 'scan',
    detailJson: JSON.stringify({ baseline: WEB, exe, pid: 42 }),
  });
  const sent = Date.now();
  await a.batch([finding('/tmp/tool'), finding('/tmp/other')]);
  await b.batch([finding('/tmp/tool')]);
  const ids = ['node-a', 'node-b'].map((n) => fp(n, 'proc-unexpected', processSubject(WEB, '/tmp/tool')));
  for (const id of ids) t.is((await ok(tc, `/api/v1/findings/${id}`)).state, 'open');

  // Findings of an agent before contents carry none: allowed with any content.
  const r = await change(tc, 'allow', { key: WEB, executables: ['/tmp/tool'], content: 'any' });
  t.is(r.status, 200, r.text);
  await a.update();
  await b.update();
  for (const id of ids) {
    const f = await ok(tc, `/api/v1/findings/${id}`);
    t.is(f.state, 'resolved');
    t.like(f.history[0], { event: 'resolved', note: 'allowed by admin' });
  }
  t.is((await ok(tc, `/api/v1/findings/${fp('node-a', 'proc-unexpected', processSubject(WEB, '/tmp/other'))}`)).state, 'open');

  // The agent had this in its spool before the allow reached it.
  await a.batch([finding('/tmp/tool', sent)]);
  t.is((await ok(tc, `/api/v1/findings/${ids[0]}`)).state, 'resolved');
  t.regex((await tc.collector.metrics.render()), /nodeward_findings_ignored_total 1\b/);
  await a.batch([finding('/tmp/third')]);
  t.is((await ok(tc, `/api/v1/findings/${fp('node-a', 'proc-unexpected', processSubject(WEB, '/tmp/third'))}`)).state, 'open');
}, { nodes: NODES }));

test('contents: the digests nodes report show per item with the nodes that taught them, and go out with the adoption; a node\'s operator contents and any_content are not taken', (t) => withCollector(async (tc) => {
  const [a, b] = await connectedPair(t, tc);
  const at = Date.now() - 60_000;
  a.report(bl(WEB, 'learning', [{ path: '/usr/sbin/nginx', digests: [{ sha256: D1, source: 'learned', image: 'nginx:1.27', firstSeenMs: at }] }, '/bin/sh']));
  b.report(bl(WEB, 'learning', [{
    path: '/usr/sbin/nginx', digests: [{ sha256: D1, source: 'learned', image: 'nginx:1.27', firstSeenMs: at }, { sha256: D2, source: 'image', image: 'nginx:1.28', firstSeenMs: at + 1 }],
  }]));
  const web = await eventually('both reports', async () => {
    const w = await centralBaseline(tc, WEB);
    return item(w, '/usr/sbin/nginx')?.digests.find((d) => d.sha256 === D1)?.taughtBy.length === 2 && item(w, '/usr/sbin/nginx')?.digests.length === 2 ? w : undefined;
  });
  t.deepEqual(item(web, '/usr/sbin/nginx')!.digests.map((d) => [d.sha256, d.source, d.image, d.addedBy, d.taughtBy.sort(), d.firstSeen]), [
    [D1, 'learned', 'nginx:1.27', 'node-a', ['node-a', 'node-b'], new Date(at).toISOString()],
    [D2, 'image', 'nginx:1.28', 'node-b', ['node-b'], new Date(at + 1).toISOString()],
  ]);
  t.like(item(web, '/usr/sbin/nginx'), { anyContent: false });
  t.like(item(web, '/bin/sh'), { anyContent: false, digests: [] }, 'an item without contents: agents learn its first on first sight');

  // Only the collector's own allows make operator contents and any_content.
  a.report(bl(WEB, 'learning', [{ path: '/bin/sh', digests: [{ sha256: D3, source: 'operator' }], anyContent: true }]));
  await registered(tc, a, 'node-a');
  t.like(item(await centralBaseline(tc, WEB), '/bin/sh'), { anyContent: false, digests: [] });

  // The lock: every agent adopts the items with their contents.
  a.report(bl(WEB, 'locked', ['/bin/sh']));
  const adopt = await b.update();
  t.like(adopt, { action: 'ACTION_ADOPT' });
  const nginx = adopt.items.find((i) => i.path === '/usr/sbin/nginx')!;
  t.deepEqual(nginx.digests, [
    { sha256: D1, source: 'learned', image: 'nginx:1.27', firstSeenMs: at },
    { sha256: D2, source: 'image', image: 'nginx:1.28', firstSeenMs: at + 1 },
  ]);
  t.false(nginx.anyContent);
  t.like(adopt.items.find((i) => i.path === '/bin/sh'), { digests: [], anyContent: false });
}, { nodes: NODES }));

test('contents and a locked baseline: a node\'s new content joins an item it holds only when the agent judged it (package, image, first-sight) or it was learned before the lock; nothing else, and nothing for a new path', (t) => withCollector(async (tc) => {
  const [a, b] = await connectedPair(t, tc);
  a.report(bl(WEB, 'locked', [{ path: '/usr/sbin/nginx', digests: [{ sha256: D1, source: 'learned' }] }, '/bin/sh']));
  const adopt = await b.update();
  await a.update();
  const lockedAt = Date.parse((await centralBaseline(tc, WEB))!.lockedAt!);
  const after = lockedAt + 60_000;

  b.report(bl(WEB, 'locked', [
    {
      path: '/usr/sbin/nginx', digests: [
        { sha256: D2, source: 'learned', firstSeenMs: after }, // learned after the lock: refused
        { sha256: D3, source: 'package', firstSeenMs: after }, // the package manager's upgrade of an item held: taken
        { sha256: D4, source: 'operator', firstSeenMs: after }, // only the collector's allows make these
        { sha256: D5, source: 'learned', firstSeenMs: lockedAt - 1000 }, // learned before the lock (on its way): taken
      ],
    },
    { path: '/bin/sh', digests: [{ sha256: D6, source: 'first-sight', firstSeenMs: after }] }, // an item from before contents: taken
    { path: '/usr/bin/new', firstSeenMs: after, digests: [{ sha256: D7, source: 'package', firstSeenMs: after }] }, // a path new to the baseline: neither
  ], adopt.version));
  await registered(tc, b, 'node-b');
  const web = (await centralBaseline(tc, WEB))!;
  t.deepEqual(apiDigests(web, '/usr/sbin/nginx'), [[D1, 'learned'], [D3, 'package'], [D5, 'learned']]);
  t.deepEqual(apiDigests(web, '/bin/sh'), [[D6, 'first-sight']]);
  t.is(item(web, '/usr/bin/new'), undefined);
  t.is(web.version, adopt.version, 'contents joining do not change the version');
  t.is((await tc.collector.store!.baselines.counters()).digestsRefused, 1, 'the learned content after the lock is counted');
  t.regex((await tc.collector.metrics.render()), /nodeward_baseline_digests_refused_total 1\b/);
  await a.batch([]); // nothing was pushed: the next message is this ack

  // An operator's lock: the before-lock rule is for node locks only; judged contents still join.
  t.is((await change(tc, 'lock', { key: WEB })).status, 200);
  const opLock = await a.update();
  await b.update();
  b.report(bl(WEB, 'locked', [{
    path: '/usr/sbin/nginx', digests: [{ sha256: sha(8), source: 'learned', firstSeenMs: lockedAt - 5000 }, { sha256: sha(9), source: 'image', image: 'nginx:1.29' }],
  }], opLock.version));
  await registered(tc, b, 'node-b');
  t.deepEqual(apiDigests(await centralBaseline(tc, WEB), '/usr/sbin/nginx'), [[D1, 'learned'], [D3, 'package'], [D5, 'learned'], [sha(9), 'image']]);

  // A node that arrives later adopts the contents as they are now.
  const c = await connect(tc, 'node-c');
  t.teardown(() => c.close());
  const onHello = await c.update();
  t.deepEqual(wireDigests(onHello.items, '/usr/sbin/nginx'), [[D1, 'learned'], [D3, 'package'], [D5, 'learned'], [sha(9), 'image']]);
  t.deepEqual(wireDigests(onHello.items, '/bin/sh'), [[D6, 'first-sight']]);
}, { nodes: NODES }));

test('allow with the contents seen (the default): the SHA-256 of the open proc-unexpected and proc-modified-binary findings join as the operator\'s, agents get them in allowed_items, the findings resolve; a late finding of an allowed content is ignored, of another content opens', (t) => withCollector(async (tc) => {
  const [a, b] = await connectedPair(t, tc);
  a.report(bl(WEB, 'locked', [{ path: '/usr/sbin/nginx', digests: [{ sha256: D1, source: 'learned' }] }]));
  await a.update();
  await b.update();
  const sent = Date.now();
  await a.batch([contentFinding(WEB, '/tmp/tool', D2), contentFinding(WEB, '/usr/sbin/nginx', D3, { modified: true })]);
  await b.batch([contentFinding(WEB, '/tmp/tool', D4)]);
  const tool = ['node-a', 'node-b'].map((n) => fp(n, 'proc-unexpected', processSubject(WEB, '/tmp/tool')));
  const modified = fp('node-a', PROC_MODIFIED_BINARY_CHECK.id, processSubject(WEB, '/usr/sbin/nginx'));
  t.is((await ok(tc, `/api/v1/findings/${modified}`)).detail.identity.sha256, D3);

  const r = await change(tc, 'allow', { key: WEB, executables: ['/tmp/tool', '/usr/sbin/nginx'] });
  t.is(r.status, 200, r.text);
  for (const x of [a, b]) {
    const u = await x.update();
    t.like(u, { key: WEB, action: 'ACTION_ALLOW', allowed: ['/tmp/tool', '/usr/sbin/nginx'], version: r.body.version });
    t.deepEqual(u.allowedItems.map((i) => [i.path, i.source, i.anyContent]), [['/tmp/tool', 'ITEM_SOURCE_OPERATOR', false], ['/usr/sbin/nginx', 'ITEM_SOURCE_OPERATOR', false]]);
    t.deepEqual(wireDigests(u.allowedItems, '/tmp/tool'), [[D2, 'operator'], [D4, 'operator']], 'the contents both nodes saw');
    t.deepEqual(wireDigests(u.allowedItems, '/usr/sbin/nginx'), [[D1, 'learned'], [D3, 'operator']], 'the item\'s whole contents: what it held and what was allowed');
  }
  t.like(item(r.body.baseline, '/tmp/tool'), { source: 'operator', anyContent: false });
  t.deepEqual(item(r.body.baseline, '/tmp/tool')!.digests.map((d) => [d.sha256, d.addedBy, d.taughtBy]), [[D2, 'admin', []], [D4, 'admin', []]].sort());
  for (const id of [...tool, modified]) {
    const f = await ok(tc, `/api/v1/findings/${id}`);
    t.is(f.state, 'resolved', id);
    t.like(f.history[0], { event: 'resolved', note: 'allowed by admin' });
  }

  // Sent before the agent applied the allow: an allowed content is ignored; another content is a finding again.
  await a.batch([contentFinding(WEB, '/usr/sbin/nginx', D3, { modified: true, at: sent })]);
  t.is((await ok(tc, `/api/v1/findings/${modified}`)).state, 'resolved');
  await a.batch([contentFinding(WEB, '/usr/sbin/nginx', D6, { modified: true })]);
  t.is((await ok(tc, `/api/v1/findings/${modified}`)).state, 'open', 'a content nobody allowed');
  await a.batch([contentFinding(WEB, '/tmp/tool', D5)]);
  t.is((await ok(tc, `/api/v1/findings/${tool[0]}`)).state, 'open');
}, { nodes: NODES }));

test('allow with the contents seen when no finding carries one is refused with 409 and changes nothing; with content any the agents are sent any_content', (t) => withCollector(async (tc) => {
  const [a] = await connectedPair(t, tc);
  const legacy: WireFinding = { ...contentFinding(WEB, '/tmp/old', D1), process: { ...contentFinding(WEB, '/tmp/old', D1).process, identity: null } };
  await a.batch([contentFinding(WEB, '/tmp/tool', null), legacy]);
  const before = (await tc.collector.store!.baselines.counters()).version;
  for (const executables of [['/tmp/tool'], ['/tmp/old'], ['/tmp/never-ran'], ['/tmp/tool', '/tmp/old']]) {
    const refused = await change(tc, 'allow', { key: WEB, executables });
    t.is(refused.status, 409, refused.text);
    t.regex(refused.body.error, /^no content was seen for \/tmp\/.+ in shop\/Deployment\/web\/nginx: .*Nothing was changed; to allow (it|them) with any content, send content "any"/);
  }
  t.is(await centralBaseline(tc, WEB), undefined, 'no baseline was made');
  t.is((await tc.collector.store!.baselines.counters()).version, before);
  const toolId = fp('node-a', 'proc-unexpected', processSubject(WEB, '/tmp/tool'));
  t.is((await ok(tc, `/api/v1/findings/${toolId}`)).state, 'open');
  await a.batch([]); // nothing was pushed

  const r = await change(tc, 'allow', { key: WEB, executables: ['/tmp/tool'], content: 'any' });
  t.is(r.status, 200, r.text);
  const u = await a.update();
  t.deepEqual(u.allowedItems.map((i) => [i.path, i.anyContent, i.digests.length]), [['/tmp/tool', true, 0]]);
  t.like(item(r.body.baseline, '/tmp/tool'), { anyContent: true, digests: [] });
  t.is((await ok(tc, `/api/v1/findings/${toolId}`)).state, 'resolved');
  // A node that connects later catches up with the allow, what is allowed of it included.
  const late = await connect(tc, 'node-c');
  t.teardown(() => late.close());
  const caught = await late.update();
  t.like(caught, { key: WEB, action: 'ACTION_ALLOW', allowed: ['/tmp/tool'], version: r.body.version });
  t.deepEqual(caught.allowedItems.map((i) => [i.path, i.anyContent, i.digests.length]), [['/tmp/tool', true, 0]]);
  // Sent before the agent applied it: any content of an executable allowed with any content is ignored.
  await a.batch([contentFinding(WEB, '/tmp/tool', D7, { modified: true, at: Date.now() - 1000 })]);
  t.is((await api(tc, `/api/v1/findings/${fp('node-a', PROC_MODIFIED_BINARY_CHECK.id, processSubject(WEB, '/tmp/tool'))}`)).status, 404);
}, { nodes: NODES }));

test('bad reports are refused with INVALID_ARGUMENT (an ack with sequence 0) and the stream goes on', (t) => withCollector(async (tc) => {
  const a = await connect(tc, 'node-a');
  t.teardown(() => a.close());
  const refused = async (...baselines: AgentBaseline[]): Promise<string> => {
    a.report(...baselines);
    const m = await a.next();
    t.like(m.ack, { sequence: 0, code: 3 });
    return m.ack!.message;
  };
  t.regex(await refused(bl('shop/web', 'learning', ['/bin/sh'])), /baselines\[0\]\.key .* is not a baseline key/);
  t.regex(await refused(bl(WEB, 'learning', ['/bin/sh', 'relative/path'])), /baselines\[0\]\.items\[1\]\.path must be an absolute path/);
  t.regex(await refused(bl(WEB, 'learning', [`/${'x'.repeat(1024)}`])), /items\[0\]\.path is longer than 1024/);
  t.regex(await refused({ ...bl(WEB, 'learning', []), state: 'BASELINE_STATE_UNSPECIFIED' }), /baselines\[0\]\.state must be/);
  t.regex(await refused(...Array.from({ length: 65 }, () => bl(WEB, 'learning', []))), /65 baselines; at most 64/);
  t.regex(await refused(bl(WEB, 'learning', Array.from({ length: 2049 }, (_, i) => `/bin/x${i}`))), /2049 items; at most 2048/);
  // Contents: at most 8 per item, each a SHA-256, a known source, a bounded image, a time in the wire's window.
  const withDigests = (...digests: DigestSpec[]) => bl(WEB, 'learning', ['/bin/sh', { path: '/usr/sbin/nginx', digests }]);
  t.regex(await refused(withDigests(...Array.from({ length: 9 }, (_, i) => ({ sha256: sha(i), source: 'learned' })))), /baselines\[0\]\.items\[1\]\.digests has 9 entries; at most 8/);
  t.regex(await refused(withDigests({ sha256: 'A'.repeat(64), source: 'learned' })), /items\[1\]\.digests\[0\]\.sha256 must be 64 lowercase hex characters$/);
  t.regex(await refused(withDigests({ sha256: D1, source: 'learned' }, { sha256: '', source: 'learned' })), /items\[1\]\.digests\[1\]\.sha256 must be 64 lowercase hex characters$/);
  t.regex(await refused(withDigests({ sha256: D1, source: 'guessed' })), /items\[1\]\.digests\[0\]\.source "guessed" is not one of learned, startup, operator, package, image, first-sight/);
  t.regex(await refused(withDigests({ sha256: D1, source: 'image', image: `r/${'i'.repeat(511)}` })), /items\[1\]\.digests\[0\]\.image is longer than 512 characters/);
  t.regex(await refused(withDigests({ sha256: D1, source: 'learned', firstSeenMs: Date.now() + 2 * 3600_000 })), /items\[1\]\.digests\[0\]\.firstSeenMs \d+ is not a time from .* in unix milliseconds/);
  await a.batch([]);
  t.is((await baselines(tc)).items.length, 0, 'nothing of a refused report is kept');
}, { nodes: NODES }));

test('the API: 400 names the bad parameter, 401 without a token, 403 for a reader; changes are audited with the key', (t) => withCollector(async (tc) => {
  const bad = async (action: string, body: unknown, re: RegExp): Promise<void> => {
    const r = await change(tc, action, body);
    t.is(r.status, 400, `${action} ${JSON.stringify(body)}: ${r.text}`);
    t.regex(r.body.error, re);
  };
  await bad('allow', { key: 'shop/web', executables: ['/bin/sh'] }, /body field key is not a baseline key/);
  await bad('allow', { key: WEB }, /body field executables is required/);
  await bad('remove', { key: WEB, executables: [] }, /body field executables is required/);
  await bad('allow', { key: WEB, executables: ['/bin/sh', 'sh'] }, /body field executables\.1 must be an absolute path/);
  await bad('allow', { key: WEB, executables: ['/bin/\u001b[31m'] }, /executables\.0 must be an absolute path without control characters/);
  await bad('lock', { key: WEB, executables: ['/bin/sh'] }, /body field executables is not used by lock/);
  await bad('unlock', { key: WEB, reason: 'x' }, /body field reason is not known/);
  await bad('unlock', {}, /body field key is required/);
  await bad('lock', { key: WEB, content: 'any' }, /body field content is not used by lock/);
  await bad('allow', { key: WEB, executables: ['/bin/sh'], content: 'some' }, /body field content/);
  for (const q of ['state=frozen', 'limit=0', 'cursor=nonsense', 'color=red']) {
    const r = await api(tc, `/api/v1/baselines?${q}`);
    t.is(r.status, 400, q);
    t.regex(r.body.error, new RegExp(`parameter ${q.split('=')[0]}`), q);
  }
  t.is((await api(tc, '/api/v1/baselines', { token: null })).status, 401);
  t.is((await api(tc, '/api/v1/baselines', { token: READER_TOKEN })).status, 200, 'readers may read');
  t.is((await change(tc, 'allow', { key: WEB, executables: ['/bin/sh'] }, null)).status, 401);
  t.is((await change(tc, 'allow', { key: WEB, executables: ['/bin/sh'] }, READER_TOKEN)).status, 403);
  t.is((await baselines(tc)).items.length, 0, 'refused calls change nothing');
  t.is((await change(tc, 'allow', { key: WEB, executables: ['/bin/sh'], content: 'any' })).status, 200);
  const audit = await ok(tc, '/api/v1/audit?action=baseline.allow', ADMIN_TOKEN);
  t.like(audit.items.find((x: { status: number }) => x.status === 200), { actor: 'admin', target: WEB, detail: { executables: ['/bin/sh'], content: 'any' } });
  t.true(audit.items.some((x: { status: number; actor: string }) => x.status === 403 && x.actor === 'reader'));
}, { nodes: NODES }));

test("the agent's stream gets its node's pods after hello, and again when pushed", (t) => withCollector(async (tc) => {
  const pods = [{
    namespace: 'shop', name: 'web-7d4b9c8f6d-x2kzq', uid: 'u-1', node: 'node-a', owner: { kind: 'Deployment', name: 'web' },
    containers: [{ name: 'nginx', execProbes: [['cat', '/tmp/healthy']] }],
  }];
  tc.collector.setPodInventoryProvider((node) => (node === 'node-a' ? pods : []));
  const a = await connect(tc, 'node-a');
  t.teardown(() => a.close());
  const first = await a.next();
  t.deepEqual(first.podInventory?.pods, [{
    namespace: 'shop', name: 'web-7d4b9c8f6d-x2kzq', uid: 'u-1', ownerKind: 'Deployment', ownerName: 'web',
    containers: [{ name: 'nginx', execProbes: [{ command: ['cat', '/tmp/healthy'] }] }],
  }]);
  await registered(tc, a, 'node-a');
  t.true(tc.collector.pushPods('node-a'));
  t.is((await a.next()).podInventory?.pods.length, 1);
  t.false(tc.collector.pushPods('node-b'), 'not connected');
}, { nodes: NODES }));

const run = promisify(execFile);
async function nodeward(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [NODEWARD_BIN, ...args], { env: { PATH: process.env.PATH ?? '' }, timeout: 30_000, cwd: '/' });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

test('the CLI: nodeward baseline allow|remove|lock|unlock and nodeward query baselines', (t) => withCollector(async (tc) => {
  await writeFile(join(tc.dir, 'admin.token'), `${ADMIN_TOKEN}\n`, { mode: 0o600 });
  await writeFile(join(tc.dir, 'reader.token'), `${READER_TOKEN}\n`, { mode: 0o600 });
  const conn = (who: string) => ['--url', tc.apiUrl, '--token-file', join(tc.dir, `${who}.token`), '--ca-file', tc.pki.caCert];
  const a = await connect(tc, 'node-a');
  t.teardown(() => a.close());
  a.report(bl(WEB, 'learning', [{ path: '/usr/sbin/nginx', digests: [{ sha256: 'a'.repeat(64), source: 'learned' }] }]));
  await eventually('the report', async () => centralBaseline(tc, WEB));

  const allow = await nodeward(['baseline', 'allow', '--key', WEB, '--exe', '/bin/sh', '/usr/bin/tini', '--any-content', ...conn('admin')]);
  t.is(allow.code, 0, allow.stderr);
  t.regex(allow.stdout, /^shop\/Deployment\/web\/nginx: allow done \(version \d+\); now learning with 3 executables and 0 removed; pushed to 1 connected agent$/m);
  const allowUpdate = await a.update();
  t.deepEqual(allowUpdate.allowed, ['/bin/sh', '/usr/bin/tini']);
  t.deepEqual(allowUpdate.allowedItems.map((i) => [i.path, i.anyContent, i.digests.length]), [['/bin/sh', true, 0], ['/usr/bin/tini', true, 0]]);
  const remove = await nodeward(['baseline', 'remove', '--key', WEB, '--exe', '/usr/bin/tini', '--output', 'json', ...conn('admin')]);
  t.is(remove.code, 0, remove.stderr);
  t.like(JSON.parse(remove.stdout), { action: 'remove', key: WEB, baseline: { removed: [{ path: '/usr/bin/tini' }] } });
  t.is((await nodeward(['baseline', 'lock', '--key', WEB, ...conn('admin')])).code, 0);
  t.is((await nodeward(['baseline', 'unlock', '--key', WEB, ...conn('admin')])).code, 0);
  t.is((await centralBaseline(tc, WEB))!.state, 'learning');

  const denied = await nodeward(['baseline', 'allow', '--key', WEB, '--exe', '/bin/x', ...conn('reader')]);
  t.is(denied.code, 1);
  t.regex(denied.stderr, /403/);
  const usage = await nodeward(['baseline', 'allow', '--key', WEB, ...conn('admin')]);
  t.is(usage.code, 2);
  t.regex(usage.stderr, /needs at least one --exe/);
  const badKey = await nodeward(['baseline', 'lock', '--key', 'nonsense/key', ...conn('admin')]);
  t.is(badKey.code, 2, 'a 400 is a usage error');
  t.regex(badKey.stderr, /key is not a baseline key/);

  const table = await nodeward(['query', 'baselines', ...conn('reader')]);
  t.is(table.code, 0, table.stderr);
  t.regex(table.stdout, /^KEY\s+STATE\s+LOCKED BY\s+ITEMS\s+DIGESTS\s+ONE NODE\s+REMOVED\s+VERSION\s+UPDATED$/m);
  t.regex(table.stdout, /^shop\/Deployment\/web\/nginx\s+learning\s+-\s+2\s+1\s+1\s+1\s+\d+\s+\S+Z$/m);
  const rows = await nodeward(['query', 'baselines', '--items', '--key', WEB, ...conn('reader')]);
  t.regex(rows.stdout, /^shop\/Deployment\/web\/nginx\s+\/usr\/sbin\/nginx\s+learned\s+1\s+1\s+yes\s+node-a$/m);
  t.regex(rows.stdout, /^shop\/Deployment\/web\/nginx\s+\/bin\/sh\s+operator\s+any\s+0\s+-\s+admin$/m);
  t.regex(rows.stdout, /^shop\/Deployment\/web\/nginx\s+\/usr\/bin\/tini\s+removed\s+-\s+0\s+-\s+admin$/m);
  const json = JSON.parse((await nodeward(['query', 'baselines', '--state', 'locked', '--output', 'json', ...conn('reader')])).stdout);
  t.deepEqual(json.items, []);
}, { nodes: NODES }));

// SQLite's alone: its migration 011 over a file made by the migrations before it.
test('migration 011: items stored before keep their nodes and get no contents and any_content off; nodes then teach their first contents, even to a locked baseline (first-sight)', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-digests-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'v10.sqlite');
  const old = new Database(path);
  const before = MIGRATIONS.filter((m) => m.version < 11);
  for (const m of before) {
    old.exec(m.sql);
    m.run?.(old);
  }
  old.pragma(`user_version = ${before.at(-1)!.version}`);
  const lockedAt = Date.now() - 3600_000;
  old.prepare("INSERT INTO baselines (seq, key, state, locked_by, locked_detail, locked_at, version, items, created_at, updated_at) VALUES (1, ?, 'locked', 'node', 'node-x', ?, 7, 2, 1, 1)").run(WEB, lockedAt);
  for (const [exe, source, by] of [['/usr/sbin/nginx', 'learned', 'node-x'], ['/bin/sh', 'operator', 'admin']] as const) {
    old.prepare('INSERT INTO baseline_items (baseline, path, source, added_by, first_seen, last_seen, nodes) VALUES (1, ?, ?, ?, 1000, 2000, ?)').run(exe, source, by, source === 'operator' ? 0 : 1);
  }
  old.prepare("INSERT INTO baseline_item_nodes (baseline, path, node, first_seen, last_seen) VALUES (1, '/usr/sbin/nginx', 'node-x', 1000, 2000)").run();
  old.close();

  const store = openStore({ path });
  t.teardown(() => store.close());
  const b = (await store.baselines.get(WEB))!;
  t.like(b, { state: 'locked', version: 7 });
  t.deepEqual(b.items.map((i) => [i.path, i.source, i.taughtBy, i.anyContent, i.digests]), [
    ['/bin/sh', 'operator', [], false, []],
    ['/usr/sbin/nginx', 'learned', ['node-x'], false, []],
  ]);
  t.deepEqual((await store.baselines.sync(WEB))!.items.map((i) => [i.path, i.digests, i.anyContent]), [['/bin/sh', [], false], ['/usr/sbin/nginx', [], false]],
    'sent as items that predate contents: agents learn their first on first sight');
  t.like(await store.baselines.counters(), { digestsDropped: 0, digestsRefused: 0 });

  const now = Date.now();
  const out = await store.baselines.applyReport('node-y', [{
    key: WEB, state: 'locked', version: 7, items: [
      { path: '/usr/sbin/nginx', source: 'learned', firstSeen: 1000, digests: [{ sha256: D1, source: 'first-sight', image: '', firstSeen: now }] },
      { path: '/bin/sh', source: 'operator', firstSeen: 1000, digests: [{ sha256: D2, source: 'learned', image: '', firstSeen: now }] },
    ],
  }], now);
  t.like(out, { digestsAdded: 1, digestsRefused: 1, itemsAdded: 0 });
  const after = (await store.baselines.get(WEB))!;
  t.deepEqual(apiDigests(after, '/usr/sbin/nginx'), [[D1, 'first-sight']]);
  t.deepEqual(item(after, '/usr/sbin/nginx')!.digests[0]!.taughtBy, ['node-y']);
  t.deepEqual(apiDigests(after, '/bin/sh'), [], 'learned after the lock: refused');
});

storeTest('contents per item are bounded at 8: what a report brings beyond is dropped and counted; an operator\'s allow replaces the content seen least recently that no operator allowed, and is refused when operators allowed all 8', async (t, backend) => {
  const store = await backend.open(t);
  const now = Date.now();
  const digests = (from: number, n: number, at: number) => Array.from({ length: n }, (_, i) => ({ sha256: sha(from + i), source: 'learned' as const, image: '', firstSeen: at + i }));
  const report = (ds: ReturnType<typeof digests>, at: number) => store.baselines.applyReport('node-a', [{
    key: WEB, state: 'learning', version: 0, items: [{ path: '/usr/sbin/nginx', source: 'learned', firstSeen: at, digests: ds }],
  }], at);
  t.like(await report(digests(0, 6, now), now), { digestsAdded: 6, digestsDropped: 0 });
  t.like(await report(digests(6, 4, now + 10), now + 10), { digestsAdded: 2, digestsDropped: 2 }, 'the 9th and 10th');
  t.is((await store.baselines.counters()).digestsDropped, 2);
  const held = async () => (await store.baselines.get(WEB))!.items[0]!.digests.map((d) => d.sha256).sort();
  t.deepEqual(await held(), [0, 1, 2, 3, 4, 5, 6, 7].map(sha));
  await report(digests(0, 5, now + 20).concat(digests(6, 2, now + 20)), now + 20); // everything but sha(5) seen again

  await store.baselines.change('allow', WEB, ['/usr/sbin/nginx'], 'admin', now + 30, { anyContent: false, digests: new Map([['/usr/sbin/nginx', [sha(10)]]]) });
  t.deepEqual(await held(), [0, 1, 2, 3, 4, 6, 7, 10].map(sha), 'the content seen least recently made room');
  t.is((await store.baselines.counters()).digestsDropped, 3);
  // Operators' contents are never what makes room.
  const many = [11, 12, 13, 14, 15, 0, 1].map(sha);
  await store.baselines.change('allow', WEB, ['/usr/sbin/nginx'], 'admin', now + 40, { anyContent: false, digests: new Map([['/usr/sbin/nginx', many]]) });
  t.true((await store.baselines.get(WEB))!.items[0]!.digests.every((d) => d.source === 'operator'));
  const version = (await store.baselines.counters()).version;
  const full = await t.throwsAsync(() => store.baselines.change('allow', WEB, ['/usr/sbin/nginx'], 'admin', now + 50, { anyContent: false, digests: new Map([['/usr/sbin/nginx', [sha(9)]]]) }));
  t.like(full, { code: 'BASELINE_LIMIT' });
  t.regex(full!.message, /\/usr\/sbin\/nginx in shop\/Deployment\/web\/nginx holds 8 contents operators allowed, its limit/);
  t.is((await store.baselines.counters()).version, version, 'a refused change changes nothing');
  t.false((await held()).includes(sha(9)));
});
