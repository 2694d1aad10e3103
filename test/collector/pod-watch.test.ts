// The collector's pod watch against a local HTTPS server that speaks the Kubernetes list/watch
// API for pods (fake-pod-api.ts): owners and exec probes as the agents receive them, pods that
// come, change, move and go, 410 Gone, dropped connections, bookmarks, bad lines, bounds and
// outages. No cluster is needed; TLS and the bearer token are real.
import test, { type ExecutionContext } from 'ava';
import { writeFile } from 'node:fs/promises';
import { createPodWatch, type PodWatch, type PodWatchConfig } from '../../collector/kube/pod-watch.js';
import { readPod } from '../../collector/kube/pod-info.js';
import type { PodInfo } from '../../collector/kube/types.js';
import { loadCollectorConfig } from '../../collector/config.js';
import { ConfigError } from '../../proto/support/config-loader.js';
import { createLogger } from '../../proto/support/logger.js';
import { eventually } from '../helpers/https.js';
import { startTestCollector } from '../helpers/collector.js';
import { openRawStream } from '../helpers/grpc-client.js';
import { podObject, startFakePodApi, type FakePodApi, type PodSpecInput } from './fake-pod-api.js';

const silent = createLogger('pod-watch-test', 'silent');

async function setup(t: ExecutionContext, overrides: Partial<PodWatchConfig> = {}): Promise<{ api: FakePodApi; start: () => PodWatch }> {
  const api = await startFakePodApi();
  const watches: PodWatch[] = [];
  t.teardown(async () => {
    for (const w of watches) await w.stop();
    await api.close();
  });
  return {
    api,
    start() {
      const w = createPodWatch({
        connection: api.connection, maxPods: 1000, debounceMs: 20, watchSeconds: 60, backoffBaseMs: 20, backoffMaxMs: 200,
        ...overrides,
      }, { log: silent });
      watches.push(w);
      w.start();
      return w;
    },
  };
}

const synced = (w: PodWatch) => eventually('the first list', () => (w.stats().synced ? true : undefined));
const names = (pods: readonly PodInfo[]): string[] => pods.map((p) => `${p.namespace}/${p.name}`);
/** Waits until the pods on `node` are exactly `expected` (namespace/name, in order). */
const podsAre = (w: PodWatch, node: string, expected: string[]) =>
  eventually(`${node} to hold ${expected.join(', ') || 'nothing'}`, () => (JSON.stringify(names(w.podsOnNode(node))) === JSON.stringify(expected) ? true : undefined));

const pod = (p: PodSpecInput) => podObject(p);

test('the first list gives each node its pods with real owners and exec probes, asked with the bearer token over verified TLS', async (t) => {
  const { api, start } = await setup(t);
  const web = pod({
    namespace: 'shop', name: 'web-7d4b9c8f6d-x2kzq', node: 'node-1', uid: 'uid-web',
    owner: { kind: 'ReplicaSet', name: 'web-7d4b9c8f6d' }, labels: { app: 'web', 'pod-template-hash': '7d4b9c8f6d' },
    containers: [
      { name: 'nginx', liveness: ['/bin/sh', '-c', 'curl -fs localhost/healthz'], readiness: ['cat', '/tmp/ready'], startup: ['/usr/bin/test', '-f', '/run/started'] },
      { name: 'metrics', httpReadiness: true },
    ],
    initContainers: [{ name: 'migrate' }],
  });
  api.apply(web);
  api.apply(pod({ namespace: 'shop', name: 'db-0', node: 'node-1', uid: 'uid-db', owner: { kind: 'StatefulSet', name: 'db' }, containers: [{ name: 'postgres', readiness: ['pg_isready', '-U', 'postgres'] }] }));
  api.apply(pod({ namespace: 'logging', name: 'fluent-bit-7xk2p', node: 'node-1', uid: 'uid-fb', owner: { kind: 'DaemonSet', name: 'fluent-bit' } }));
  api.apply(pod({ namespace: 'ops', name: 'backup-28934520-q8d7c', node: 'node-1', uid: 'uid-backup', owner: { kind: 'Job', name: 'backup-28934520' }, containers: [{ name: 'backup' }] }));
  api.apply(pod({ namespace: 'ops', name: 'migrate-20240101-zz9kp', node: 'node-1', uid: 'uid-migrate', owner: { kind: 'Job', name: 'migrate-20240101' } }));
  api.apply(pod({ namespace: 'ops', name: 'legacy-abcde', node: 'node-1', uid: 'uid-legacy', owner: { kind: 'ReplicaSet', name: 'legacy' } }));
  api.apply(pod({ namespace: 'default', name: 'debug', node: 'node-1', uid: 'uid-debug' }));
  api.apply(pod({ namespace: 'kube-system', name: 'kube-apiserver-node-1', node: 'node-1', uid: 'uid-apiserver', owner: { kind: 'Node', name: 'node-1' }, containers: [{ name: 'kube-apiserver' }] }));
  api.apply(pod({ namespace: 'shop', name: 'web-7d4b9c8f6d-p9qrs', node: 'node-2', uid: 'uid-web2', owner: { kind: 'ReplicaSet', name: 'web-7d4b9c8f6d' }, labels: { 'pod-template-hash': '7d4b9c8f6d' } }));
  api.apply(pod({ namespace: 'shop', name: 'pending-1', uid: 'uid-pending' }));
  api.apply(pod({ namespace: 'ops', name: 'done-28934400-abcde', node: 'node-1', uid: 'uid-done', owner: { kind: 'Job', name: 'done-28934400' }, phase: 'Succeeded' }));

  const w = start();
  await synced(w);
  const byName = new Map(w.podsOnNode('node-1').map((p) => [p.name, p]));
  t.deepEqual([...byName.keys()], [
    'debug', 'kube-apiserver-node-1', 'fluent-bit-7xk2p', 'backup-28934520-q8d7c', 'legacy-abcde', 'migrate-20240101-zz9kp', 'db-0', 'web-7d4b9c8f6d-x2kzq',
  ], 'ordered by namespace/name; the pending and the finished pod are on no node');
  t.deepEqual(byName.get('web-7d4b9c8f6d-x2kzq'), {
    namespace: 'shop', name: 'web-7d4b9c8f6d-x2kzq', uid: 'uid-web', node: 'node-1', owner: { kind: 'Deployment', name: 'web' },
    containers: [
      { name: 'nginx', execProbes: [['/bin/sh', '-c', 'curl -fs localhost/healthz'], ['cat', '/tmp/ready'], ['/usr/bin/test', '-f', '/run/started']] },
      { name: 'metrics', execProbes: [] },
      { name: 'migrate', execProbes: [] },
    ],
  });
  const owners = Object.fromEntries([...byName].map(([n, p]) => [n, `${p.owner.kind}/${p.owner.name}`]));
  t.deepEqual(owners, {
    'debug': 'Pod/debug',
    'kube-apiserver-node-1': 'Pod/kube-apiserver',
    'fluent-bit-7xk2p': 'DaemonSet/fluent-bit',
    'backup-28934520-q8d7c': 'CronJob/backup',
    'legacy-abcde': 'ReplicaSet/legacy',
    'migrate-20240101-zz9kp': 'Job/migrate-20240101',
    'db-0': 'StatefulSet/db',
    'web-7d4b9c8f6d-x2kzq': 'Deployment/web',
  });
  t.deepEqual(byName.get('db-0')?.containers, [{ name: 'postgres', execProbes: [['pg_isready', '-U', 'postgres']] }]);
  t.deepEqual(w.podsOnNode('node-2').map((p) => p.owner), [{ kind: 'Deployment', name: 'web' }]);
  t.deepEqual(w.podsOnNode('node-9'), []);
  t.false(JSON.stringify(w.podsOnNode('node-1')).includes('not-for-the-collector'), 'nothing of the environment is kept');

  // The list, then a watch from the list's version, each with the collector's token.
  await eventually('the watch', () => (api.liveWatches === 1 ? true : undefined));
  const [first, second] = api.requests;
  t.is(first?.path, '/api/v1/pods');
  t.is(first?.query.get('watch'), null);
  t.is(first?.query.get('limit'), '250');
  t.is(second?.path, '/api/v1/pods');
  t.like(Object.fromEntries(second!.query), { watch: '1', resourceVersion: String(api.resourceVersion), allowWatchBookmarks: 'true', timeoutSeconds: '60' });
  t.true(api.requests.every((r) => r.authorization === `Bearer ${api.token}`));
  t.like(w.stats(), { synced: true, pods: 9, nodes: 2, lists: 1, watches: 1, malformed: 0, failures: 0 });
});

test('pods that come, change, move and go: each node is told once per burst, and only of real changes', async (t) => {
  const { api, start } = await setup(t, { debounceMs: 50 });
  api.apply(pod({ namespace: 'shop', name: 'db-0', node: 'node-1', uid: 'db-old', owner: { kind: 'StatefulSet', name: 'db' } }));
  api.apply(pod({ namespace: 'shop', name: 'api-1', node: 'node-1', uid: 'api-uid', owner: { kind: 'StatefulSet', name: 'api' } }));
  const w = start();
  const heard: Array<{ node: string; pods: string[] }> = [];
  w.subscribe((node, pods) => heard.push({ node, pods: names(pods) }));
  const told = (node: string, expected: string[]) => eventually(`${node} to be told ${expected.join(', ')}`, () =>
    (JSON.stringify(heard.filter((h) => h.node === node).at(-1)?.pods) === JSON.stringify(expected) ? true : undefined));
  await told('node-1', ['shop/api-1', 'shop/db-0']);
  await eventually('the watch', () => (api.liveWatches === 1 ? true : undefined));

  // A new pod: its node hears of it.
  const cache = pod({ namespace: 'shop', name: 'cache-0', node: 'node-2', owner: { kind: 'StatefulSet', name: 'cache' }, containers: [{ name: 'redis', liveness: ['redis-cli', 'ping'] }] });
  api.apply(cache);
  await told('node-2', ['shop/cache-0']);
  t.deepEqual(w.podsOnNode('node-2')[0]?.containers, [{ name: 'redis', execProbes: [['redis-cli', 'ping']] }]);

  // A status change only (the kubelet's updates): nothing the agents use, so nobody is told.
  // A change to a probe on node-2 follows; once node-2 hears of it, node-1 would have heard too.
  const before = heard.length;
  const updated = structuredClone(cache);
  api.apply({ ...pod({ namespace: 'shop', name: 'api-1', node: 'node-1', uid: 'api-uid', owner: { kind: 'StatefulSet', name: 'api' } }), status: { phase: 'Running', podIP: '10.0.0.7' } });
  updated.spec.containers[0].livenessProbe.exec.command = ['redis-cli', '-p', '6380', 'ping'];
  api.apply(updated);
  await eventually('the probe change', () => (w.podsOnNode('node-2')[0]?.containers[0]?.execProbes[0]?.length === 4 ? true : undefined));
  await eventually('node-2 told', () => (heard.length > before ? true : undefined));
  t.deepEqual(heard.slice(before).map((h) => h.node), ['node-2'], 'the status-only update told nobody');

  // A pod is deleted; a StatefulSet pod comes back under the same name on another node.
  api.delete('shop', 'db-0');
  api.apply(pod({ namespace: 'shop', name: 'db-0', node: 'node-2', uid: 'db-new', owner: { kind: 'StatefulSet', name: 'db' } }));
  await podsAre(w, 'node-1', ['shop/api-1']);
  await podsAre(w, 'node-2', ['shop/cache-0', 'shop/db-0']);
  t.is(w.podsOnNode('node-2')[1]?.uid, 'db-new');
  await told('node-1', ['shop/api-1']);
  await told('node-2', ['shop/cache-0', 'shop/db-0']);

  // A pod created unscheduled, then bound to a node (MODIFIED with a nodeName), then finished.
  api.apply(pod({ namespace: 'batch', name: 'report', uid: 'r1' }));
  api.apply(pod({ namespace: 'batch', name: 'report', uid: 'r1', node: 'node-3' }));
  await podsAre(w, 'node-3', ['batch/report']);
  api.apply(pod({ namespace: 'batch', name: 'report', uid: 'r1', node: 'node-3', phase: 'Succeeded' }));
  await podsAre(w, 'node-3', []);
  await told('node-3', []);

  // A burst that arrives in one read is one call for its node.
  const node4 = heard.filter((h) => h.node === 'node-4').length;
  api.batch(() => {
    for (let i = 0; i < 5; i++) api.apply(pod({ namespace: 'burst', name: `p-${i}`, node: 'node-4' }));
  });
  await told('node-4', ['burst/p-0', 'burst/p-1', 'burst/p-2', 'burst/p-3', 'burst/p-4']);
  t.is(heard.filter((h) => h.node === 'node-4').length, node4 + 1);
  t.is(w.stats().lists, 1, 'all of it through one watch');
});

test('an expired resourceVersion forces a relist, as an ERROR event or as HTTP 410, and the relist replaces what was held', async (t) => {
  const { api, start } = await setup(t);
  api.apply(pod({ namespace: 'a', name: 'keep', node: 'node-1' }));
  api.apply(pod({ namespace: 'a', name: 'gone-while-away', node: 'node-1' }));
  const w = start();
  await podsAre(w, 'node-1', ['a/gone-while-away', 'a/keep']);
  await eventually('the watch', () => (api.liveWatches === 1 ? true : undefined));

  // Changes the watch never sees as events, then the history is compacted past it.
  api.silently(() => {
    api.delete('a', 'gone-while-away');
    api.apply(pod({ namespace: 'a', name: 'new-while-away', node: 'node-2' }));
  });
  api.compact();
  await podsAre(w, 'node-1', ['a/keep']);
  await podsAre(w, 'node-2', ['a/new-while-away']);
  t.like(w.stats(), { lists: 2, relists: 1 });

  // The same through a 410 status: the connection drops, and the version it resumes from is gone.
  await eventually('the new watch', () => (api.liveWatches === 1 ? true : undefined));
  api.goneAsStatus = true;
  api.silently(() => api.apply(pod({ namespace: 'a', name: 'third', node: 'node-2' })));
  api.compact({ notify: false });
  api.dropWatches();
  await podsAre(w, 'node-2', ['a/new-while-away', 'a/third']);
  t.like(w.stats(), { lists: 3, relists: 2 });
  const lists = api.requests.filter((r) => r.query.get('watch') === null);
  t.is(lists.length, 3);
});

test('a dropped connection resumes the watch from the last version seen (bookmarks included), losing nothing', async (t) => {
  const { api, start } = await setup(t);
  const w = start();
  await synced(w);
  await eventually('the watch', () => (api.liveWatches === 1 ? true : undefined));
  api.apply(pod({ namespace: 'a', name: 'one', node: 'node-1' }));
  await podsAre(w, 'node-1', ['a/one']);
  // Other objects changed; a bookmark carries the watch past them.
  const bookmarked = api.bump();
  api.bookmark();
  await eventually('the bookmark', () => (w.stats().resourceVersion === String(bookmarked) ? true : undefined));

  api.dropWatches();
  api.apply(pod({ namespace: 'a', name: 'two', node: 'node-1' }));
  await podsAre(w, 'node-1', ['a/one', 'a/two']);
  const watches = api.requests.filter((r) => r.query.get('watch') === '1');
  t.true(watches.length >= 2);
  t.is(watches[1]?.query.get('resourceVersion'), String(bookmarked), 'resumed from the bookmark');
  t.like(w.stats(), { lists: 1, relists: 0 });
  t.true(w.stats().failures >= 1, 'the cut counted as a failure');
});

test('malformed and oversized watch lines are counted and skipped; the watch carries on', async (t) => {
  const { api, start } = await setup(t, { maxEventBytes: 16 * 1024 });
  const w = start();
  await synced(w);
  await eventually('the watch', () => (api.liveWatches === 1 ? true : undefined));
  api.raw('this is not json');
  api.raw('{"type":"ADDED"}');
  api.raw(JSON.stringify({ type: 'ADDED', object: { kind: 'Pod', metadata: { resourceVersion: String(api.bump()) } } }));
  api.raw(JSON.stringify({ type: 'SOMETHING', object: { metadata: { resourceVersion: String(api.bump()) } } }));
  api.raw(JSON.stringify({ type: 'ADDED', object: { ...pod({ namespace: 'a', name: 'huge', node: 'node-1' }), padding: 'x'.repeat(40_000) } }));
  api.apply(pod({ namespace: 'a', name: 'fine', node: 'node-1' }));
  await podsAre(w, 'node-1', ['a/fine']);
  t.like(w.stats(), { malformed: 4, oversized: 1, watches: 1, failures: 0, lists: 1 });
});

test('a long list is read page by page with continue tokens', async (t) => {
  const { api, start } = await setup(t, { pageSize: 2 });
  for (let i = 0; i < 5; i++) api.apply(pod({ namespace: 'paged', name: `p-${i}`, node: i % 2 === 0 ? 'node-1' : 'node-2' }));
  const w = start();
  await synced(w);
  t.deepEqual(names(w.podsOnNode('node-1')), ['paged/p-0', 'paged/p-2', 'paged/p-4']);
  t.deepEqual(names(w.podsOnNode('node-2')), ['paged/p-1', 'paged/p-3']);
  const lists = api.requests.filter((r) => r.query.get('watch') === null);
  t.deepEqual(lists.map((r) => r.query.get('limit')), ['2', '2', '2']);
  t.is(lists[0]?.query.get('continue'), null);
  t.truthy(lists[1]?.query.get('continue'));
  t.truthy(lists[2]?.query.get('continue'));
});

test('an outage, a refusal and an untrusted server are retried with backoff; the watch recovers when the API server does', async (t) => {
  const { api, start } = await setup(t);
  api.apply(pod({ namespace: 'a', name: 'one', node: 'node-1' }));
  api.failWith = 503;
  const w = start();
  await eventually('failures', () => (w.stats().failures >= 3 ? true : undefined));
  t.regex(w.stats().lastError, /list pods: HTTP 503: simulated failure/);
  t.false(w.stats().synced);
  api.failWith = 403;
  await eventually('a refusal', () => (/HTTP 403/.test(w.stats().lastError) ? true : undefined));
  api.failWith = undefined;
  await podsAre(w, 'node-1', ['a/one']);

  // A server whose certificate the configured CA did not sign is never trusted.
  const other = await startFakePodApi();
  t.teardown(() => other.close());
  const untrusted = createPodWatch({
    connection: { ...api.connection, caFile: other.caFile }, maxPods: 10, debounceMs: 10, watchSeconds: 60, backoffBaseMs: 20, backoffMaxMs: 100,
  }, { log: silent });
  untrusted.start();
  t.teardown(() => untrusted.stop());
  await eventually('a TLS failure', () => (untrusted.stats().failures >= 1 ? true : undefined));
  t.regex(untrusted.stats().lastError, /certificate|self.signed|verify/i);
  t.false(untrusted.stats().synced);

  // A rotated token is read at the next request.
  await writeFile(api.tokenFile, 'a-token-the-server-does-not-know\n');
  api.dropWatches();
  await eventually('a 401', () => (/HTTP 401/.test(w.stats().lastError) ? true : undefined));
  await writeFile(api.tokenFile, `${api.token}\n`);
  api.apply(pod({ namespace: 'a', name: 'two', node: 'node-1' }));
  await podsAre(w, 'node-1', ['a/one', 'a/two']);
});

test('bounds: pods beyond maxPods are refused and counted; over-long probe commands are left out and counted', async (t) => {
  const { api, start } = await setup(t, { maxPods: 3 });
  for (let i = 0; i < 5; i++) api.apply(pod({ namespace: 'many', name: `p-${i}`, node: 'node-1' }));
  const w = start();
  await synced(w);
  t.is(w.podsOnNode('node-1').length, 3);
  t.like(w.stats(), { pods: 3, refusedPods: 2 });
  // Room frees up when a pod goes.
  await eventually('the watch', () => (api.liveWatches === 1 ? true : undefined));
  api.delete('many', 'p-0');
  api.apply(pod({
    namespace: 'many', name: 'probes', node: 'node-1',
    containers: [{ name: 'c', liveness: Array.from({ length: 65 }, (_, i) => `arg${i}`), readiness: ['ok'], startup: ['sh', '-c', 'x'.repeat(5000)] }],
  }));
  await eventually('the probes pod', () => w.podsOnNode('node-1').find((p) => p.name === 'probes'));
  t.deepEqual(w.podsOnNode('node-1').find((p) => p.name === 'probes')?.containers, [{ name: 'c', execProbes: [['ok']] }]);
  t.is(w.stats().droppedProbes, 2);
});

test('stop ends the watch at once and is safe before start and twice', async (t) => {
  const { api, start } = await setup(t);
  const idle = createPodWatch({ connection: api.connection, maxPods: 1, debounceMs: 1, watchSeconds: 60, backoffBaseMs: 1, backoffMaxMs: 1 }, { log: silent });
  await idle.stop();
  const w = start();
  await synced(w);
  await eventually('the watch', () => (api.liveWatches === 1 ? true : undefined));
  await w.stop();
  await w.stop();
  await eventually('the watch to close', () => (api.liveWatches === 0 ? true : undefined));
  const requests = api.requests.length;
  api.apply(pod({ namespace: 'a', name: 'late', node: 'node-1' }));
  t.deepEqual(w.podsOnNode('node-1'), []);
  t.is(api.requests.length, requests);
});

test('readPod: owners from the controller reference alone, and what counts as unreadable', (t) => {
  const owner = (p: PodSpecInput) => {
    const r = readPod(pod({ node: 'node-1', ...p }));
    return r.kind === 'pod' ? `${r.info.owner.kind}/${r.info.owner.name}` : r.kind;
  };
  t.is(owner({ namespace: 'a', name: 'web-abc-x', owner: { kind: 'ReplicaSet', name: 'web-abc' }, labels: { 'pod-template-hash': 'other' } }), 'ReplicaSet/web-abc');
  t.is(owner({ namespace: 'a', name: 'x', owner: { kind: 'ReplicaSet', name: 'abc' }, labels: { 'pod-template-hash': 'abc' } }), 'ReplicaSet/abc', 'the hash alone is no Deployment name');
  t.is(owner({ namespace: 'a', name: 'x', owner: { kind: 'Job', name: 'nightly-1700000000' } }), 'CronJob/nightly', 'seconds, as the controller before 1.21 named Jobs');
  t.is(owner({ namespace: 'a', name: 'x', owner: { kind: 'Job', name: 'nightly-12345678901' } }), 'Job/nightly-12345678901');
  t.is(owner({ namespace: 'a', name: 'x', owner: { kind: 'Job', name: `${'n'.repeat(53)}-28934520` } }), `Job/${'n'.repeat(53)}-28934520`, 'longer than a CronJob name can be');
  t.is(owner({ namespace: 'a', name: 'x', owner: { kind: 'Job', name: 'report-20241399' } }), 'CronJob/report', 'not a date');
  t.is(owner({ namespace: 'a', name: 'x', owner: { kind: 'Deployment', name: 'web', controller: false } }), 'Pod/x', 'only a controller reference counts');
  t.is(owner({ namespace: 'a', name: 'etcd-cp-9', owner: { kind: 'Node', name: 'node-1' } }), 'Node/node-1', 'a mirror pod whose name does not end in its node');
  t.is(owner({ namespace: 'a', name: 'x', owner: { kind: 'Rollout', name: 'canary' } }), 'Rollout/canary');
  t.deepEqual(readPod({ metadata: { name: 'x', uid: 'u' } }), { kind: 'invalid', reason: 'a pod without metadata.namespace, name or uid' });
  t.deepEqual(readPod(null).kind, 'invalid');
  t.deepEqual(readPod('pod').kind, 'invalid');
  const weird = readPod({ metadata: { namespace: 'a', name: 'w', uid: 'u' }, spec: { nodeName: 'n', containers: [{ name: 'c', livenessProbe: { exec: { command: ['ok', 7] } } }, { image: 'no-name' }, 'junk'] } });
  t.like(weird, { kind: 'pod', dropped: 1 });
  t.deepEqual(weird.kind === 'pod' ? weird.info.containers : [], [{ name: 'c', execProbes: [] }]);
});

test('config: the watch is on inside a cluster, off under npm start, and "on" without an API server is a configuration error', (t) => {
  const base = { grpc: { insecure: true }, api: { insecure: true } };
  const load = (env: Record<string, string>, pods?: Record<string, unknown>) =>
    loadCollectorConfig({ env, overrides: { ...base, ...(pods ? { pods } : {}) } });
  t.is(load({}).podWatch, undefined);
  const inCluster = load({ KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' }).podWatch;
  t.like(inCluster, {
    connection: { server: 'https://10.96.0.1:443', caFile: '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt', tokenFile: '/var/run/secrets/kubernetes.io/serviceaccount/token', timeoutMs: 30_000 },
    maxPods: 150_000, debounceMs: 500, watchSeconds: 300, backoffBaseMs: 500, backoffMaxMs: 30_000,
  });
  t.is(load({ KUBERNETES_SERVICE_HOST: '10.96.0.1' }, { watch: 'off' }).podWatch, undefined);
  t.is(load({ NODEWARD_PODS_WATCH: 'off', KUBERNETES_SERVICE_HOST: 'fd00::1' }).podWatch, undefined);
  t.is(load({ KUBERNETES_SERVICE_HOST: 'fd00::1' }).podWatch?.connection.server, 'https://[fd00::1]:443');
  const err = t.throws(() => load({}, { watch: 'on' }), { instanceOf: ConfigError });
  t.regex(err.message, /pods\.watch: on needs the Kubernetes API server/);
  const both = t.throws(() => load({}, { watch: 'on', backoffBaseMs: 1000, backoffMaxMs: 10 }), { instanceOf: ConfigError });
  t.is((both as ConfigError).problems.length, 2, 'every problem at once');
  t.throws(() => load({}, { watch: 'sometimes' }), { instanceOf: ConfigError, message: /pods\/watch|pods\.watch/ });
});

test('the collector runs the watch when configured and stops it with itself', async (t) => {
  const api = await startFakePodApi();
  t.teardown(() => api.close());
  api.apply(pod({ namespace: 'shop', name: 'web-7d4b9c8f6d-x2kzq', node: 'node-a', owner: { kind: 'ReplicaSet', name: 'web-7d4b9c8f6d' }, labels: { 'pod-template-hash': '7d4b9c8f6d' } }));
  const tc = await startTestCollector({
    overrides: {
      pods: { watch: 'on', debounceMs: 10, backoffBaseMs: 20, backoffMaxMs: 200 },
      'enroll.kubernetes': { server: api.url, caFile: api.caFile, tokenFile: api.tokenFile },
    },
  });
  let closed = false;
  t.teardown(async () => {
    if (!closed) await tc.close();
  });
  const watch = tc.collector.pods;
  t.truthy(watch);
  await eventually('the pods', () => (watch!.podsOnNode('node-a').length === 1 ? true : undefined));
  t.deepEqual(watch!.podsOnNode('node-a')[0]?.owner, { kind: 'Deployment', name: 'web' });
  await eventually('the watch', () => (api.liveWatches === 1 ? true : undefined));
  await tc.close();
  closed = true;
  await eventually('the watch to close', () => (api.liveWatches === 0 ? true : undefined));
  const plain = await startTestCollector();
  t.teardown(() => plain.close());
  t.is(plain.collector.pods, undefined, 'off without a cluster');
});

test("wired end to end: an agent's stream gets its node's pods from the watch after hello, and again when they change", async (t) => {
  const api = await startFakePodApi();
  t.teardown(() => api.close());
  api.apply(pod({ namespace: 'shop', name: 'web-7d4b9c8f6d-x2kzq', node: 'node-a', owner: { kind: 'ReplicaSet', name: 'web-7d4b9c8f6d' }, labels: { 'pod-template-hash': '7d4b9c8f6d' } }));
  api.apply(pod({ namespace: 'ops', name: 'other', node: 'node-b' }));
  const tc = await startTestCollector({
    overrides: {
      pods: { watch: 'on', debounceMs: 10, backoffBaseMs: 20, backoffMaxMs: 200 },
      'enroll.kubernetes': { server: api.url, caFile: api.caFile, tokenFile: api.tokenFile },
    },
  });
  t.teardown(() => tc.close());
  await eventually('the first list', () => (tc.collector.pods!.stats().synced ? true : undefined));
  const stream = openRawStream(tc.grpcAddress, { ca: tc.pki.caCert, cert: tc.pki.agents['node-a']!.cert, key: tc.pki.agents['node-a']!.key });
  t.teardown(() => stream.close());
  stream.send({ hello: { node: 'node-a', agentVersion: 'test', epoch: `pods-${process.pid}`, baselineVersion: 0 } });
  const inventory = async (): Promise<string[]> => {
    for (;;) {
      const [m] = await stream.receive(1);
      if (m?.podInventory) return m.podInventory.pods.map((p) => `${p.namespace}/${p.name} ${p.ownerKind}/${p.ownerName}`);
    }
  };
  t.deepEqual(await inventory(), ['shop/web-7d4b9c8f6d-x2kzq Deployment/web'], 'only its own node, with the real owner');
  api.apply(pod({ namespace: 'ops', name: 'backup-28934520-q8d7c', node: 'node-a', owner: { kind: 'Job', name: 'backup-28934520' } }));
  t.deepEqual((await inventory()).sort(), ['ops/backup-28934520-q8d7c CronJob/backup', 'shop/web-7d4b9c8f6d-x2kzq Deployment/web']);
  api.delete('shop', 'web-7d4b9c8f6d-x2kzq');
  t.deepEqual(await inventory(), ['ops/backup-28934520-q8d7c CronJob/backup']);
});
