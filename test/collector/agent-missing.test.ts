// Never losing sight of a node: a real collector watching the cluster's nodes through the
// local Kubernetes API server (fake-pod-api.ts) and reading the agent DaemonSet, on a clock
// the test moves. A Ready node the DaemonSet should run on, from which no agent reports,
// becomes agent-missing after the grace period and resolves when its agent connects; nodes
// the DaemonSet does not run on (a taint it does not tolerate, Windows, virtual-kubelet,
// Fargate) and a NotReady node raise nothing; a node deleted from the cluster, or no longer
// one the DaemonSet runs on, resolves it. The inventory lists a node no agent ever reported,
// with why (the API and `nodeward query nodes`). And the Kubernetes version check at start.
import test, { type ExecutionContext } from 'ava';
import { AGENT_MISSING_CHECK } from '../../proto/collector-checks.js';
import { loadCollectorConfig } from '../../collector/config.js';
import { ConfigError } from '../../proto/support/config-loader.js';
import { fingerprint } from '../../proto/fingerprint.js';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ADMIN_TOKEN, READER_TOKEN, startTestCollector, type TestCollector } from '../helpers/collector.js';
import { runNodeward } from '../helpers/process.js';
import { testClock, type TestClock } from '../helpers/clock.js';
import { openRawStream } from '../helpers/grpc-client.js';
import { eventually, httpsJson } from '../helpers/https.js';
import { captureLog } from '../enroll/helpers.js';
import { agentDaemonSet, nodeObject, podObject, startFakePodApi, type FakePodApi } from './fake-pod-api.js';

const T0 = Date.parse('2026-03-01T00:00:00Z');
const GRACE_S = 300;

interface Setup {
  readonly api: FakePodApi;
  readonly clock: TestClock;
  readonly tc: TestCollector;
}

async function setup(t: ExecutionContext, prepare: (api: FakePodApi) => void, opts: { pods?: boolean; log?: ReturnType<typeof captureLog> } = {}): Promise<Setup> {
  const api = await startFakePodApi();
  t.teardown(() => api.close());
  api.daemonSet = agentDaemonSet();
  api.version = { major: '1', minor: '31', gitVersion: 'v1.31.2' };
  prepare(api);
  const clock = testClock(T0);
  const tc = await startTestCollector({
    nodes: ['node-a', 'node-b', 'not-ready'], clock, ...(opts.log ? { log: opts.log.log } : {}),
    overrides: {
      nodes: { watch: 'on', missingAfterSeconds: GRACE_S },
      pods: { watch: opts.pods ? 'on' : 'off', debounceMs: 10, backoffBaseMs: 20, backoffMaxMs: 200 },
      'enroll.kubernetes': { server: api.url, caFile: api.caFile, tokenFile: api.tokenFile },
    },
  });
  t.teardown(() => tc.close());
  await eventually('the node watch', () => (tc.collector.nodes?.synced && tc.collector.nodes.stats().daemonSetRead ? true : undefined));
  return { api, clock, tc };
}

const storeOf = (tc: TestCollector) => tc.collector.store!;
/** The id of `node`'s agent-missing finding: made within the cluster's uid (the fake API's kube-system). */
const missingId = (tc: TestCollector, node: string): string => fingerprint(node, AGENT_MISSING_CHECK.id, node, tc.collector.cluster!.uid);

const missing = async (tc: TestCollector, state: 'open' | 'resolved' = 'open'): Promise<string[]> =>
  (await storeOf(tc).findings.list({ check: AGENT_MISSING_CHECK.id, state }, 100)).items.map((f) => f.node).sort();

/** Connects as `node`'s agent and says hello (what resolves agent-missing). */
async function agentOf(t: ExecutionContext, tc: TestCollector, node: string): Promise<void> {
  const agent = tc.pki.agents[node]!;
  const stream = openRawStream(tc.grpcAddress, { ca: tc.pki.caCert, cert: agent.cert, key: agent.key });
  t.teardown(() => stream.close());
  stream.send({ hello: { node, agentVersion: 'test', epoch: `e-${node}`, baselineVersion: 0 } });
  await eventually(`${node}'s hello`, async () => (await storeOf(tc).nodes.get(node, Date.now(), 60_000) ? true : undefined));
}

test('a Ready node without its agent is agent-missing after the grace period, and its agent connecting resolves it; tainted, Windows, virtual-kubelet, Fargate and NotReady nodes raise nothing', async (t) => {
  const { api, clock, tc } = await setup(t, (api) => {
    api.applyNode(nodeObject({ name: 'node-a' }));
    api.applyNode(nodeObject({ name: 'node-b' }));
    api.applyNode(nodeObject({ name: 'control-plane', taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }] }));
    api.applyNode(nodeObject({ name: 'gpu', taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] }));
    api.applyNode(nodeObject({ name: 'win', labels: { 'kubernetes.io/os': 'windows' } }));
    api.applyNode(nodeObject({ name: 'virtual', labels: { 'kubernetes.io/os': 'linux', type: 'virtual-kubelet' }, taints: [{ key: 'virtual-kubelet.io/provider', value: 'azure', effect: 'NoSchedule' }] }));
    api.applyNode(nodeObject({ name: 'fargate-ip-10-0-1-2', labels: { 'kubernetes.io/os': 'linux', 'eks.amazonaws.com/compute-type': 'fargate' } }));
    api.applyNode(nodeObject({ name: 'not-ready', ready: 'False', taints: [{ key: 'node.kubernetes.io/not-ready', effect: 'NoExecute' }] }));
  });
  await agentOf(t, tc, 'node-a');

  // Up to the grace period: nothing (the sweeps run every 30 s of the clock).
  await clock.advance(GRACE_S * 1000 - 1000);
  t.deepEqual(await missing(tc), []);
  await clock.advance(1000);
  t.deepEqual(await missing(tc), ['control-plane', 'node-b'], 'the Ready nodes the DaemonSet runs on that no agent reported (its toleration covers the control plane)');
  const id = missingId(tc, 'node-b');
  const f = (await storeOf(tc).findings.get(id))!;
  t.like(f, { checkId: 'agent-missing', category: 'agent', severity: 'high', subject: 'node-b', seen: 'collector' });
  t.regex(f.reason, /pods\.watch is off/);
  t.like(f.detail, { since: new Date(T0).toISOString(), graceSeconds: GRACE_S });

  // The inventory lists what the cluster has: each node, with whether and why the agent is expected there.
  const list = await httpsJson<{ items: Array<Record<string, any>> }>(`${tc.apiUrl}/api/v1/nodes`, { ca: tc.ca, token: ADMIN_TOKEN });
  t.is(list.status, 200);
  const byName = new Map(list.body.items.map((n) => [n.name as string, n]));
  t.deepEqual([...byName.keys()], ['control-plane', 'fargate-ip-10-0-1-2', 'gpu', 'node-a', 'node-b', 'not-ready', 'virtual', 'win'], 'one list, by name');
  t.like(byName.get('node-a'), { source: 'agent', agentVersion: 'test', cluster: { ready: true, agentExpected: true, reason: '' }, agentMissing: null });
  t.like(byName.get('node-b'), {
    source: 'cluster', agentVersion: '', connected: false, stale: false, lastSeen: '', kubeletVersion: 'v1.31.2', os: 'Debian GNU/Linux 12 (bookworm)',
    cluster: { ready: true, agentExpected: true }, agentMissing: { findingId: id, state: 'open', since: new Date(T0).toISOString() },
  });
  t.regex(byName.get('gpu')!.cluster.reason, /taint dedicated=gpu:NoSchedule is not tolerated/);
  t.like(byName.get('gpu'), { cluster: { agentExpected: false }, agentMissing: null });
  t.regex(byName.get('win')!.cluster.reason, /not a Linux node/);
  t.regex(byName.get('virtual')!.cluster.reason, /virtual-kubelet/);
  t.regex(byName.get('fargate-ip-10-0-1-2')!.cluster.reason, /Fargate/);
  t.like(byName.get('not-ready'), { cluster: { ready: false, agentExpected: true }, agentMissing: null });
  const one = await httpsJson<Record<string, any>>(`${tc.apiUrl}/api/v1/nodes/gpu`, { ca: tc.ca, token: ADMIN_TOKEN });
  t.like(one.body, { name: 'gpu', source: 'cluster' });
  const del = await httpsJson<{ error: string }>(`${tc.apiUrl}/api/v1/nodes/gpu`, { ca: tc.ca, token: ADMIN_TOKEN, method: 'DELETE' });
  t.is(del.status, 404);
  t.regex(del.body.error, /known only from the cluster .*deleted from the cluster/);
  const stale = await httpsJson<{ items: Array<{ name: string }> }>(`${tc.apiUrl}/api/v1/nodes?stale=false`, { ca: tc.ca, token: ADMIN_TOKEN });
  t.deepEqual(stale.body.items.map((n) => n.name), ['node-a'], 'a node no agent reported is neither stale nor fresh');
  // Pages of one, by name and by certificate expiry: every node once, in order.
  for (const sort of ['name', 'certExpiry']) {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { status: number; body: { items: Array<{ name: string }>; nextCursor: string | null } } = await httpsJson(`${tc.apiUrl}/api/v1/nodes?limit=1&sort=${sort}${cursor ? `&cursor=${cursor}` : ''}`, { ca: tc.ca, token: ADMIN_TOKEN });
      seen.push(...page.body.items.map((n) => n.name));
      cursor = page.body.nextCursor;
    } while (cursor);
    t.deepEqual(seen, [...byName.keys()], `sort=${sort}, paged`);
  }

  // The CLI, as an operator runs it: the same nodes, with their status and why.
  await writeFile(join(tc.dir, 'reader.token'), `${READER_TOKEN}\n`, { mode: 0o600 });
  const cli = await runNodeward(['query', 'nodes', '--url', tc.apiUrl, '--token-file', join(tc.dir, 'reader.token'), '--ca-file', tc.pki.caCert]);
  t.is(cli.code, 0, cli.stderr);
  const cliRows = new Map(cli.stdout.trimEnd().split('\n').slice(1).map((l) => [l.split(/\s{2,}/)[0], l]));
  t.regex(cliRows.get('node-b')!, /^node-b\s+agent missing\s.*v1\.31\.2.*no agent has connected from the node \(pods\.watch is off/);
  t.regex(cliRows.get('gpu')!, /^gpu\s+no agent \(not expected\)\s.*the node's taint dedicated=gpu:NoSchedule is not tolerated/);
  t.regex(cliRows.get('not-ready')!, /^not-ready\s+no agent \(not ready\)/);
  t.regex(cliRows.get('node-a')!, /^node-a\s+connected\s/);

  // node-b's agent connects: its hello resolves the finding at once.
  await agentOf(t, tc, 'node-b');
  t.deepEqual(await missing(tc), ['control-plane']);
  t.deepEqual(await missing(tc, 'resolved'), ['node-b']);
  t.is((await storeOf(tc).findings.detail(id))?.history[0]?.note, 'the agent connected');
  t.like((await httpsJson(`${tc.apiUrl}/api/v1/nodes/node-b`, { ca: tc.ca, token: ADMIN_TOKEN })).body, { source: 'agent', agentMissing: null });

  // A NotReady node that becomes Ready is counted from then; deleted from the cluster, it is resolved.
  api.applyNode(nodeObject({ name: 'not-ready' }));
  await eventually('the node Ready', async () => ((await storeOf(tc).clusterNodes.get('not-ready'))?.ready ? true : undefined));
  const readyAt = clock.now();
  await clock.advance(GRACE_S * 1000 - 30_000);
  t.false((await missing(tc)).includes('not-ready'), 'counted from when it became Ready');
  await clock.advance(30_000);
  t.true((await missing(tc)).includes('not-ready'));
  t.like((await storeOf(tc).findings.get(missingId(tc, 'not-ready')))?.detail, { since: new Date(readyAt).toISOString() });
  api.deleteNode('not-ready');
  await eventually('the node gone', async () => (await storeOf(tc).clusterNodes.get('not-ready') ? undefined : true));
  await tc.collector.sweep();
  t.deepEqual(await missing(tc), ['control-plane']);
  t.is((await storeOf(tc).findings.detail(missingId(tc, 'not-ready')))?.history[0]?.note, 'the node was deleted from the cluster');

  // The DaemonSet comes to tolerate the gpu node: expected there from the next read; then no longer.
  api.daemonSet = agentDaemonSet({ tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' }] });
  await tc.collector.nodes!.checkDaemonSet();
  t.is((await storeOf(tc).clusterNodes.get('gpu'))?.agentExpected, true);
  await clock.advance(GRACE_S * 1000);
  t.true((await missing(tc)).includes('gpu'));
  api.daemonSet = agentDaemonSet();
  await tc.collector.nodes!.checkDaemonSet();
  await tc.collector.sweep();
  t.false((await missing(tc)).includes('gpu'));
  t.regex((await storeOf(tc).findings.detail(missingId(tc, 'gpu')))?.history[0]?.note ?? '', /the agent DaemonSet no longer runs on this node: .*taint dedicated=gpu:NoSchedule/);
});

test('with the pod watch, agent-missing says whether an agent pod is on the node', async (t) => {
  const { api, clock, tc } = await setup(t, (api) => {
    api.applyNode(nodeObject({ name: 'node-a' }));
    api.applyNode(nodeObject({ name: 'node-b' }));
    api.apply(podObject({ namespace: 'nodeward-agent', name: 'nodeward-agent-x7k2p', node: 'node-a', owner: { kind: 'DaemonSet', name: 'nodeward-agent' } }));
  }, { pods: true });
  await eventually('the pods', () => (tc.collector.pods?.stats().synced ? true : undefined));
  await clock.advance(GRACE_S * 1000);
  t.deepEqual(await missing(tc), ['node-a', 'node-b']);
  t.regex((await storeOf(tc).findings.get(missingId(tc, 'node-a')))!.reason, /the agent pod nodeward-agent\/nodeward-agent-x7k2p is on the node but has not connected/);
  t.regex((await storeOf(tc).findings.get(missingId(tc, 'node-b')))!.reason, /no agent pod on the node/);
  void api;
});

test('while the agent DaemonSet cannot be read, no node is judged to miss its agent, and the inventory says why', async (t) => {
  const log = captureLog('collector');
  const api = await startFakePodApi();
  t.teardown(() => api.close());
  api.daemonSetStatus = 403;
  api.applyNode(nodeObject({ name: 'node-b' }));
  const clock = testClock(T0);
  const tc = await startTestCollector({
    clock, log: log.log,
    overrides: { nodes: { watch: 'on', missingAfterSeconds: GRACE_S }, pods: { watch: 'off' }, 'enroll.kubernetes': { server: api.url, caFile: api.caFile, tokenFile: api.tokenFile } },
  });
  t.teardown(() => tc.close());
  const store = tc.collector.store!;
  await eventually('the node', () => store.clusterNodes.get('node-b'));
  await eventually('the refusal logged', () => (log.count('node watch: cannot read the agent DaemonSet') === 1 ? true : undefined));
  t.like(await store.clusterNodes.get('node-b'), { ready: true, agentExpected: null });
  t.regex((await store.clusterNodes.get('node-b'))!.reason, /may not get DaemonSet nodeward-agent\/nodeward-agent \(HTTP 403\); grant "get" on daemonsets "nodeward-agent"/);
  await clock.advance(2 * GRACE_S * 1000);
  t.is((await store.findings.list({ check: AGENT_MISSING_CHECK.id }, 10)).items.length, 0);
  t.is(log.count('node watch: cannot read the agent DaemonSet'), 1, 'the same refusal is logged once');

  // Readable again: judged from then, the grace period counted from then.
  api.daemonSetStatus = undefined;
  api.daemonSet = agentDaemonSet();
  await tc.collector.nodes!.checkDaemonSet();
  t.is((await store.clusterNodes.get('node-b'))?.agentExpected, true);
  await clock.advance(GRACE_S * 1000);
  t.is((await store.findings.list({ check: AGENT_MISSING_CHECK.id, state: 'open' }, 10)).items.length, 1);
});

test('the node watch relists after 410 Gone (a node deleted while away resolves its finding) and resumes from a bookmark', async (t) => {
  const { api, clock, tc } = await setup(t, (api) => {
    api.applyNode(nodeObject({ name: 'keep' }));
    api.applyNode(nodeObject({ name: 'gone-while-away' }));
  });
  await clock.advance(GRACE_S * 1000);
  t.deepEqual(await missing(tc), ['gone-while-away', 'keep']);
  await eventually('the watch', () => (api.liveWatchesOf('nodes') === 1 ? true : undefined));
  api.silently(() => {
    api.deleteNode('gone-while-away');
    api.applyNode(nodeObject({ name: 'new-while-away' }));
  });
  api.compact();
  // The relist waits the backoff, on the collector's clock.
  await clock.advanceUntil('the relist', async () => (tc.collector.nodes!.stats().relists === 1 && !(await storeOf(tc).clusterNodes.get('gone-while-away')) ? true : undefined));
  t.truthy(await storeOf(tc).clusterNodes.get('new-while-away'));
  await tc.collector.sweep();
  t.deepEqual(await missing(tc), ['keep']);

  // A bookmark carries the watch past other objects' changes; a cut watch resumes from it.
  await eventually('the new watch', () => (api.liveWatchesOf('nodes') === 1 ? true : undefined));
  const bookmarked = api.bump();
  api.bookmark('nodes');
  await eventually('the bookmark', () => (tc.collector.nodes!.stats().resourceVersion === String(bookmarked) ? true : undefined));
  const before = api.requests.length;
  api.dropWatches();
  api.applyNode(nodeObject({ name: 'after-the-cut' }));
  await clock.advanceUntil('the node after the cut', () => storeOf(tc).clusterNodes.get('after-the-cut'));
  const resumed = api.requests.slice(before).find((r) => r.path === '/api/v1/nodes' && r.query.get('watch') === '1');
  t.is(resumed?.query.get('resourceVersion'), String(bookmarked), 'resumed from the bookmark');
  t.is(resumed?.query.get('allowWatchBookmarks'), 'true');
  t.like(tc.collector.nodes!.stats(), { lists: 2, relists: 1 });
  t.true(tc.collector.nodes!.stats().bookmarks >= 1);
});

test('the Kubernetes version is checked at start: older than 1.30 is a warning naming both versions, never fatal; one that cannot be read is said so', async (t) => {
  const versions: Array<[Record<string, string> | undefined, string, RegExp | undefined]> = [
    [{ major: '1', minor: '29', gitVersion: 'v1.29.3' }, 'too-old', /Kubernetes 1\.29 \(v1\.29\.3\) is older than 1\.30, the oldest nodeward supports/],
    [{ major: '1', minor: '27+', gitVersion: 'v1.27.16-gke.1287000' }, 'too-old', /Kubernetes 1\.27 \(v1\.27\.16-gke\.1287000\)/],
    [{ major: '1', minor: '30', gitVersion: 'v1.30.0' }, 'supported', undefined],
    [{ major: '1', minor: '33+', gitVersion: 'v1.33.1-eks-1234' }, 'supported', undefined],
    [{ major: '1', minor: '31+' }, 'supported', undefined],
    [{ platform: 'linux/amd64' }, 'unknown', /cannot tell the Kubernetes version \(nodeward needs 1\.30 or newer\)/],
    [undefined, 'unknown', /cannot tell the Kubernetes version/],
  ];
  for (const [version, kind, warning] of versions) {
    const log = captureLog('collector');
    const api = await startFakePodApi();
    api.version = version;
    const tc = await startTestCollector({ log: log.log, overrides: { pods: { watch: 'on' }, 'enroll.kubernetes': { server: api.url, caFile: api.caFile, tokenFile: api.tokenFile } } });
    try {
      const check = await tc.collector.kubernetesVersion!;
      t.is<string, string>(check.kind, kind, JSON.stringify(version));
      const warnings = log.lines.filter((l) => l.level === 'warn' && typeof l.msg === 'string' && /Kubernetes/.test(l.msg));
      if (warning) {
        t.is(warnings.length, 1, JSON.stringify(version));
        t.regex(String(warnings[0]?.msg), warning);
        if (kind === 'too-old') t.like(warnings[0], { found: version!.gitVersion, minimum: '1.30' });
      } else {
        t.is(warnings.length, 0, JSON.stringify(version));
      }
      // Never fatal: the collector answers.
      t.is((await httpsJson(`${tc.apiUrl}/api/v1/nodes`, { ca: tc.ca, token: ADMIN_TOKEN })).status, 200);
    } finally {
      await tc.close();
      await api.close();
    }
  }
  // No API server, no question.
  const plain = await startTestCollector();
  t.teardown(() => plain.close());
  t.is(plain.collector.kubernetesVersion, undefined);
});

test('config: the node watch is on inside a cluster, off under npm start; "on" without an API server is a configuration error', (t) => {
  const base = { grpc: { insecure: true }, api: { insecure: true } };
  const load = (env: Record<string, string>, nodes?: Record<string, unknown>, pods?: Record<string, unknown>) =>
    loadCollectorConfig({ env, overrides: { ...base, ...(nodes ? { nodes } : {}), ...(pods ? { pods } : {}) } });
  t.is(load({}).nodeWatch, undefined);
  t.like(load({ KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' }).nodeWatch, {
    connection: { server: 'https://10.96.0.1:443', caFile: '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt', timeoutMs: 30_000 },
    watchSeconds: 300, backoffBaseMs: 500, backoffMaxMs: 30_000, maxNodes: 20_000,
    daemonSet: { namespace: 'nodeward-agent', name: 'nodeward-agent' }, daemonSetCheckMs: 60_000,
  });
  t.like(load({ KUBERNETES_SERVICE_HOST: '10.96.0.1' }, { agentDaemonSet: 'agents', daemonSetCheckSeconds: 5 }, { watch: 'off' }).nodeWatch,
    { daemonSet: { name: 'agents' }, daemonSetCheckMs: 5000 }, 'the node watch does not need the pod watch');
  t.is(load({ KUBERNETES_SERVICE_HOST: '10.96.0.1', NODEWARD_NODES_WATCH: 'off' }).nodeWatch, undefined);
  t.is(load({}).nodes.missingAfterSeconds, 300);
  const err = t.throws(() => load({}, { watch: 'on' }), { instanceOf: ConfigError });
  t.regex(err.message, /nodes\.watch: on needs the Kubernetes API server/);
  const backoff = t.throws(() => load({ KUBERNETES_SERVICE_HOST: '10.96.0.1' }, undefined, { backoffBaseMs: 1000, backoffMaxMs: 10 }), { instanceOf: ConfigError });
  t.deepEqual((backoff as ConfigError).problems, ['pods.backoffMaxMs: must be at least pods.backoffBaseMs'], 'said once, though both watches use it');
});
