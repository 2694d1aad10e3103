// Quotas on central baselines (issue 12, break 6): one node must not fill the cluster's
// baseline table. Against a real collector (mTLS gRPC streams, HTTPS API, SQLite), with the pod
// watch against a local server speaking the Kubernetes list/watch API where a test needs it:
//   - without a pod watch, the baselines a node creates are charged to it, up to its own limit;
//   - with one, a node teaches only the workloads the watch shows (or showed within a grace)
//     on that node;
//   - every refusal is counted on the node (GET /nodes) and in a metric;
//   - admins delete a baseline and a node (its findings resolved: history and webhooks see it).
import test, { type ExecutionContext } from 'ava';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createPodWatch } from '../../collector/kube/pod-watch.js';
import { MIGRATIONS } from '../../collector/store/migrations/index.js';
import { openStore } from '../../collector/store/sqlite.js';
import { createWorkloadPresence } from '../../collector/pipeline/workload-presence.js';
import { createLogger } from '../../proto/support/logger.js';
import { ADMIN_TOKEN, READER_TOKEN, startTestCollector, type TestCollector } from '../helpers/collector.js';
import { eventually } from '../helpers/https.js';
import { NODEWARD_BIN } from '../helpers/process.js';
import { api, centralBaseline, connect, fp, learning, ok, proc, type Session } from '../helpers/agent-session.js';
import { startReceiver } from '../helpers/webhook-receiver.js';
import { podObject, startFakePodApi } from './fake-pod-api.js';

const WEB = 'shop/Deployment/web/nginx';
const DB = 'ops/StatefulSet/db/postgres';

/** A worker node's agent stream, closed at the end of the test. */
async function workerAgent(t: ExecutionContext, tc: TestCollector, node: string): Promise<Session> {
  const a = await connect(tc, node, { hostBaselineKey: 'host/worker' });
  t.teardown(() => a.close());
  return a;
}

const node = (tc: TestCollector, name: string): Promise<any> => ok(tc, `/api/v1/nodes/${name}`);
const containerKey = (n: number): string => `container:${n.toString(16).padStart(64, '0')}`;

test('one node reporting 158 x 64 junk workload keys fills only its own share: other nodes\' baselines and an admin\'s allow still go in', async (t) => {
  const receiver = await startReceiver();
  t.teardown(() => receiver.close());
  const tc = await startTestCollector({
    overrides: { webhooks: [{ name: 'ops', url: receiver.url, format: 'json', backoffInitialMs: 20, backoffMaxMs: 100, groupWindowMs: 0, timeoutMs: 2000 }] },
  });
  t.teardown(() => tc.close());
  const a = await workerAgent(t, tc, 'node-a');
  const b = await workerAgent(t, tc, 'node-b');
  await a.settle([proc('/usr/bin/nc')]);

  // The break as reported: 158 reports of 64 junk keys each, 10,112 keys, more than the table holds.
  const reports = 158;
  for (let r = 0; r < reports; r++) {
    a.report(...Array.from({ length: 64 }, (_, i) => learning(`junk${r}/Pod/p${i}/c`, '/bin/junk')));
  }
  await a.settle([proc('/usr/bin/socat')]);

  // Another node's baseline goes in, and an admin's allow on a new key is not refused (409 before).
  b.report(learning(WEB, '/usr/sbin/nginx'));
  await b.settle();
  t.truthy(await centralBaseline(tc, WEB), "node-b's baseline was merged");
  const allow = await api(tc, '/api/v1/baselines/allow', { method: 'POST', token: ADMIN_TOKEN, body: { key: 'shop/Deployment/new/app', executables: ['/bin/app'], content: 'any' } });
  t.is(allow.status, 200, allow.text);

  const limit = 1000; // limits.maxBaselineKeysPerNode's default
  const a1 = await node(tc, 'node-a');
  t.deepEqual(a1.baselineKeysRefused, { total: reports * 64 - limit, notOnNode: 0, overNodeLimit: reports * 64 - limit, centralFull: 0 });
  t.is((await node(tc, 'node-b')).baselineKeysRefused.total, 0);
  t.is(tc.collector.metrics.get('nodeward_baseline_keys_refused_total', { reason: 'overNodeLimit' }), reports * 64 - limit);
  t.is((await tc.collector.store!.baselines.counters()).keys, limit + 2);
  t.is(await tc.collector.store!.baselines.chargedTo('node-a'), limit);
  t.is((await ok(tc, '/api/v1/baselines?chargedTo=node-a&limit=100')).items.length, 100);

  // Deleting node-a: refused while it is connected, then its findings resolve and its junk goes.
  const busy = await api(tc, '/api/v1/nodes/node-a', { method: 'DELETE', token: ADMIN_TOKEN });
  t.is(busy.status, 409);
  t.regex(busy.body.error, /is connected/);
  t.is((await api(tc, '/api/v1/nodes/node-a', { method: 'DELETE', token: READER_TOKEN })).status, 403);
  a.close();
  await eventually('node-a to disconnect', async () => ((await node(tc, 'node-a')).connected ? undefined : true));
  const del = await api(tc, '/api/v1/nodes/node-a', { method: 'DELETE', token: ADMIN_TOKEN });
  t.is(del.status, 200, del.text);
  t.deepEqual(del.body, { node: 'node-a', findingsResolved: 2, baselinesDeleted: limit });
  t.is((await api(tc, '/api/v1/nodes/node-a')).status, 404);
  t.is((await api(tc, '/api/v1/nodes/node-a', { method: 'DELETE', token: ADMIN_TOKEN })).status, 404);
  t.is((await tc.collector.store!.baselines.counters()).keys, 2, 'what node-b taught and the admin allowed stay');
  const nc = await ok(tc, `/api/v1/findings/${fp('node-a', 'proc-unexpected', '/usr/bin/nc')}`);
  t.is(nc.state, 'resolved');
  t.like(nc.history[0], { event: 'resolved', note: 'node deleted by admin' });
  await eventually('the webhook to hear of it', () => (receiver.accepted().filter((r) => r.body.event === 'resolved').length === 2 ? true : undefined));
  t.deepEqual(receiver.accepted().filter((r) => r.body.event === 'resolved').map((r) => r.body.finding.node), ['node-a', 'node-a']);

  // Deleting a baseline.
  t.is((await api(tc, '/api/v1/baselines/delete', { method: 'POST', token: READER_TOKEN, body: { key: WEB } })).status, 403);
  t.is((await api(tc, '/api/v1/baselines/delete', { method: 'POST', token: ADMIN_TOKEN, body: { key: 'no/such/key' } })).status, 400);
  const gone = await api(tc, '/api/v1/baselines/delete', { method: 'POST', token: ADMIN_TOKEN, body: { key: WEB } });
  t.deepEqual(gone.body, { key: WEB, deleted: true });
  t.is(await centralBaseline(tc, WEB), undefined);
  t.is((await api(tc, '/api/v1/baselines/delete', { method: 'POST', token: ADMIN_TOKEN, body: { key: WEB } })).status, 404);
  const audit = (await ok(tc, '/api/v1/audit', ADMIN_TOKEN)).items.map((r: any) => [r.action, r.actor, r.target, r.status]);
  // A reader's call is refused before its body is read: no key to record.
  t.deepEqual(audit.slice(0, 6), [
    ['baseline.delete', 'admin', WEB, 404], ['baseline.delete', 'admin', WEB, 200], ['baseline.delete', 'admin', 'no/such/key', 400],
    ['baseline.delete', 'reader', '', 403], ['node.delete', 'admin', 'node-a', 404], ['node.delete', 'admin', 'node-a', 200],
  ]);
});

test('with a pod watch, a node teaches only the workloads the watch shows on it; unattributed containers count against its own limit', async (t) => {
  const pods = await startFakePodApi();
  t.teardown(() => pods.close());
  pods.apply(podObject({ namespace: 'shop', name: 'web-7d4b9c8f6d-x2kzq', node: 'node-a', owner: { kind: 'ReplicaSet', name: 'web-7d4b9c8f6d' }, labels: { 'pod-template-hash': '7d4b9c8f6d' }, containers: [{ name: 'nginx' }] }));
  pods.apply(podObject({ namespace: 'ops', name: 'db-0', node: 'node-b', owner: { kind: 'StatefulSet', name: 'db' }, containers: [{ name: 'postgres' }] }));
  const tc = await startTestCollector({
    overrides: {
      pods: { watch: 'on', debounceMs: 10, backoffBaseMs: 20, backoffMaxMs: 200 },
      'enroll.kubernetes': { server: pods.url, caFile: pods.caFile, tokenFile: pods.tokenFile },
      'limits.maxBaselineKeysPerNode': 2,
    },
  });
  t.teardown(() => tc.close());
  await eventually('the first list', () => (tc.collector.pods!.stats().synced ? true : undefined));
  const a = await workerAgent(t, tc, 'node-a');
  const b = await workerAgent(t, tc, 'node-b');
  a.report(
    learning(WEB, '/usr/sbin/nginx'), // its own pod's workload
    learning('shop/Deployment/web/sidecar', '/bin/x'), // its workload, but no such container
    learning(DB, '/bin/evil'), // node-b's workload
    learning('junk/Pod/p1/c', '/bin/junk'), // nobody's
    learning('host/worker', '/usr/bin/kubelet'),
    learning(containerKey(1), '/bin/a'), learning(containerKey(2), '/bin/b'), learning(containerKey(3), '/bin/c'),
  );
  await a.settle();
  b.report(learning(DB, '/usr/lib/postgresql/bin/postgres'));
  await b.settle();

  t.truthy(await centralBaseline(tc, WEB));
  t.is((await centralBaseline(tc, WEB))!.chargedTo, '', 'vouched for by the watch: not charged');
  t.is(await centralBaseline(tc, 'shop/Deployment/web/sidecar'), undefined);
  t.is(await centralBaseline(tc, 'junk/Pod/p1/c'), undefined);
  t.deepEqual((await centralBaseline(tc, DB))!.items.map((i) => [i.path, i.taughtBy]), [['/usr/lib/postgresql/bin/postgres', ['node-b']]],
    'node-a taught nothing to the baseline of a workload it does not run');
  t.truthy(await centralBaseline(tc, 'host/worker'));
  t.is((await centralBaseline(tc, containerKey(1)))!.chargedTo, 'node-a');
  t.truthy(await centralBaseline(tc, containerKey(2)));
  t.is(await centralBaseline(tc, containerKey(3)), undefined, 'past the node\'s own limit of 2');
  t.deepEqual((await node(tc, 'node-a')).baselineKeysRefused, { total: 4, notOnNode: 3, overNodeLimit: 1, centralFull: 0 });
  t.is(tc.collector.metrics.get('nodeward_baseline_keys_refused_total', { reason: 'notOnNode' }), 3);
});

test('what the watch showed on a node stays teachable for the grace period after the pod has gone (an injected clock, no sleeping)', async (t) => {
  const pods = await startFakePodApi();
  t.teardown(() => pods.close());
  const watch = createPodWatch({ connection: pods.connection, maxPods: 100, debounceMs: 5, watchSeconds: 60, backoffBaseMs: 20, backoffMaxMs: 200 },
    { log: createLogger('pod-watch', 'silent') });
  const clock = { now: 1_000_000 };
  const presence = createWorkloadPresence(watch, { graceMs: 3600_000 }, () => clock.now);
  t.teardown(async () => {
    presence.stop();
    await watch.stop();
  });
  t.is(presence.onNode('node-a'), undefined, 'before the first list the watch cannot say');
  const job = 'ops/CronJob/backup/dump';
  pods.apply(podObject({ namespace: 'ops', name: 'backup-28934520-q8d7c', node: 'node-a', owner: { kind: 'Job', name: 'backup-28934520' }, containers: [{ name: 'dump' }] }));
  watch.start();
  await eventually('the first list', () => (watch.stats().synced ? true : undefined));
  t.true(presence.onNode('node-a')!(job));
  t.false(presence.onNode('node-b')!(job), 'not on another node');
  pods.delete('ops', 'backup-28934520-q8d7c');
  await eventually('the pod to go', () => (watch.podsOnNode('node-a').length === 0 ? true : undefined));
  clock.now += 3599_000;
  t.true(presence.onNode('node-a')!(job), 'within the grace: the agent may still lock what it learned');
  clock.now += 2000;
  t.false(presence.onNode('node-a')!(job), 'after it: no longer');
});

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

test('the CLI: nodeward baseline delete and nodeward node delete', async (t) => {
  const tc = await startTestCollector();
  t.teardown(() => tc.close());
  await writeFile(join(tc.dir, 'admin.token'), `${ADMIN_TOKEN}\n`, { mode: 0o600 });
  await writeFile(join(tc.dir, 'reader.token'), `${READER_TOKEN}\n`, { mode: 0o600 });
  const conn = (who: string) => ['--url', tc.apiUrl, '--token-file', join(tc.dir, `${who}.token`), '--ca-file', tc.pki.caCert];
  const a = await workerAgent(t, tc, 'node-a');
  a.report(learning(WEB, '/usr/sbin/nginx'));
  await a.settle([proc('/usr/bin/nc')]);

  const busy = await nodeward(['node', 'delete', 'node-a', ...conn('admin')]);
  t.is(busy.code, 1);
  t.regex(busy.stderr, /409.*node node-a is connected/);
  const denied = await nodeward(['baseline', 'delete', '--key', WEB, ...conn('reader')]);
  t.is(denied.code, 1);
  t.regex(denied.stderr, /403/);
  const del = await nodeward(['baseline', 'delete', '--key', WEB, ...conn('admin')]);
  t.is(del.code, 0, del.stderr);
  t.is(del.stdout, `${WEB}: deleted\n`);
  t.is((await nodeward(['baseline', 'delete', '--key', WEB, ...conn('admin')])).code, 1, 'a second time: 404');

  a.close();
  await eventually('node-a to disconnect', async () => ((await node(tc, 'node-a')).connected ? undefined : true));
  const gone = await nodeward(['node', 'delete', 'node-a', '--output', 'json', ...conn('admin')]);
  t.is(gone.code, 0, gone.stderr);
  t.deepEqual(JSON.parse(gone.stdout), { node: 'node-a', findingsResolved: 1, baselinesDeleted: 0 });
  const missing = await nodeward(['node', 'delete', 'node-a', ...conn('admin')]);
  t.is(missing.code, 1);
  t.regex(missing.stderr, /404/);
});

// SQLite's alone: a SQLite migration over a file made by the migrations before it (PostgreSQL's
// schema starts at the current one: pg-schema-parity).
test('migration 007: old audit records count 1 with lastAt = at; unattributed container baselines are charged to the node that taught them', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-quotas-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'v5.sqlite');
  const v5 = new Database(path);
  for (const m of MIGRATIONS.filter((x) => x.version <= 5)) v5.exec(m.sql);
  v5.pragma('user_version = 5');
  v5.prepare("INSERT INTO audit_log (at, actor, role, action, status) VALUES (1000, 'admin', 'admin', 'finding.suppress', 200)").run();
  for (const [seq, key] of [[1, containerKey(7)], [2, WEB]] as const) {
    v5.prepare("INSERT INTO baselines (seq, key, state, created_at, updated_at) VALUES (?, ?, 'learning', 1, 1)").run(seq, key);
    v5.prepare("INSERT INTO baseline_items (baseline, path, source, first_seen, last_seen, nodes) VALUES (?, '/bin/x', 'learned', 1, 1, 1)").run(seq);
    v5.prepare("INSERT INTO baseline_item_nodes (baseline, path, node, first_seen, last_seen) VALUES (?, '/bin/x', 'node-x', 1, 1)").run(seq);
  }
  v5.close();
  const store = openStore({ path });
  t.teardown(() => store.close());
  t.like((await store.audit.list({}, 10, Number.MAX_SAFE_INTEGER)).items[0], { action: 'finding.suppress', count: 1, at: new Date(1000).toISOString(), lastAt: new Date(1000).toISOString() });
  t.is((await store.baselines.get(containerKey(7)))!.chargedTo, 'node-x');
  t.is((await store.baselines.get(WEB))!.chargedTo, '', 'workload keys start uncharged');
  t.is((await store.baselines.counters()).keysOverNodeLimit, 0);
});
