// The posture watch alone (posture/posture-watch.ts) against the local Kubernetes API server
// (test/collector/fake-pod-api.ts), with a judge that raises one finding per object: nothing
// is committed while a kind has not listed; the CNI policy CRDs are followed only while
// discovery serves their group; pods come through the pod watch's one list and watch; and
// watch events gather on the injected clock into one unit.
import test, { type ExecutionContext } from 'ava';
import { createLogger } from '../../proto/support/logger.js';
import { createMetrics } from '../../collector/metrics.js';
import { createPodWatch } from '../../collector/kube/pod-watch.js';
import { createPostureWatch, type PostureUnit, type PostureWatchConfig } from '../../collector/posture/posture-watch.js';
import { createRbacJudge } from '../../collector/posture/rbac-posture.js';
import type { PostureJudge, PostureKind } from '../../collector/posture/judge.js';
import { eventually } from '../helpers/https.js';
import { testClock } from '../helpers/clock.js';
import { namedKind, objectJudge, serveFixture } from '../helpers/posture-api.js';
import { podObject, startFakePodApi, type FakePodApi } from '../collector/fake-pod-api.js';

const log = createLogger('posture-test', 'silent');

const CALICO = { group: 'crd.projectcalico.org', version: 'v1' };
const NAMESPACES = namedKind('Namespace', '/api/v1/namespaces');
const CALICO_POLICIES = namedKind('CalicoNetworkPolicy', '/apis/crd.projectcalico.org/v1/networkpolicies', CALICO);
const CALICO_GLOBAL = namedKind('GlobalNetworkPolicy', '/apis/crd.projectcalico.org/v1/globalnetworkpolicies', CALICO);
const PODS = namedKind('Pod', '/api/v1/pods');

async function fakeApi(t: ExecutionContext): Promise<FakePodApi> {
  const api = await startFakePodApi();
  t.teardown(() => api.close());
  return api;
}

function config(api: FakePodApi, over: Partial<PostureWatchConfig> = {}): PostureWatchConfig {
  return { connection: api.connection, debounceMs: 20, maxObjects: 1000, discoveryMs: 100, watchSeconds: 30, backoffBaseMs: 20, backoffMaxMs: 200, ...over };
}

function watchOf(t: ExecutionContext, api: FakePodApi, judges: readonly PostureJudge<unknown>[], over: Partial<PostureWatchConfig> = {}, extra: { clock?: ReturnType<typeof testClock>; shared?: string[] } = {}) {
  const units: PostureUnit[] = [];
  const metrics = createMetrics();
  const w = createPostureWatch(config(api, over), judges, {
    log, metrics, commit: (u) => void units.push(u), ...(extra.clock ? { clock: extra.clock } : {}), ...(extra.shared ? { shared: extra.shared } : {}),
  });
  t.teardown(() => w.stop());
  return { w, units, metrics };
}

const keysOf = (u: PostureUnit | undefined): string[] =>
  (u?.kind === 'full' ? u.findings : u?.kind === 'delta' ? u.upserts : []).map((f) => f.key).sort();

test('nothing is committed while a kind has not listed: a partial view resolves nothing', async (t) => {
  const api = await fakeApi(t);
  api.applyObject('namespaces', { metadata: { name: 'shop' } });
  // The fake forbids this collection: its informer never lists.
  const forbidden = namedKind('Thing', '/apis/example.com/v1/things');
  const { w, units } = watchOf(t, api, [objectJudge('j', [NAMESPACES, forbidden])]);
  w.start();
  await eventually('the namespaces listed', () => (w.stats().kinds.find((k) => k.kind === 'Namespace')?.synced ? true : undefined));
  await eventually('the forbidden kind retried', () => (api.requests.filter((r) => r.path === forbidden.path).length >= 3 ? true : undefined));
  api.applyObject('namespaces', { metadata: { name: 'later' } });
  await eventually('the event held', () => (w.stats().kinds.find((k) => k.kind === 'Namespace')?.objects === 2 ? true : undefined));
  await w.flush();
  t.deepEqual(units, []);
  t.false(w.stats().synced);
});

test('a CRD kind is watched only while discovery serves its group: not served, it is empty and synced; installed, it is listed; removed, its findings go', async (t) => {
  const api = await fakeApi(t);
  api.applyObject('namespaces', { metadata: { name: 'shop' } });
  api.applyObject('networkpolicies.crd.projectcalico.org', { metadata: { name: 'deny', namespace: 'shop' } });
  const { w, units, metrics } = watchOf(t, api, [objectJudge('j', [NAMESPACES, CALICO_POLICIES, CALICO_GLOBAL])]);
  w.start();
  await eventually('the first unit', () => units[0]);
  t.deepEqual(keysOf(units[0]), ['test-namespace|shop']);
  t.deepEqual(w.stats().kinds.map((k) => [k.kind, k.served]), [['Namespace', true], ['CalicoNetworkPolicy', false], ['GlobalNetworkPolicy', false]]);
  // One discovery request per group, never a list of a collection not served.
  t.false(api.requests.some((r) => r.path === CALICO_POLICIES.path));
  t.true(api.requests.some((r) => r.path === '/apis/crd.projectcalico.org/v1'));

  api.servedGroups.add('crd.projectcalico.org/v1');
  const installed = await eventually('a full unit with the policy', () => units.find((u) => u.kind === 'full' && keysOf(u).includes('test-caliconetworkpolicy|shop/deny')));
  t.deepEqual(keysOf(installed), ['test-caliconetworkpolicy|shop/deny', 'test-namespace|shop']);
  t.is(metrics.get('nodeward_posture_kind_synced', { kind: 'GlobalNetworkPolicy' }), 1);
  api.applyObject('globalnetworkpolicies.crd.projectcalico.org', { metadata: { name: 'global-deny' } });
  await eventually('the watch event', () => units.find((u) => u.kind === 'delta' && keysOf(u).includes('test-globalnetworkpolicy|global-deny')));

  api.servedGroups.delete('crd.projectcalico.org/v1');
  const removed = await eventually('a full unit without the CRDs', () => {
    const last = units.at(-1);
    return last?.kind === 'full' && keysOf(last).length === 1 ? last : undefined;
  });
  t.deepEqual(keysOf(removed), ['test-namespace|shop']);
  t.deepEqual(w.stats().kinds.map((k) => [k.kind, k.served]), [['Namespace', true], ['CalicoNetworkPolicy', false], ['GlobalNetworkPolicy', false]]);
});

test('pods reach posture through the pod watch\'s informer: one list and one watch of pods for both', async (t) => {
  const api = await fakeApi(t);
  api.apply(podObject({ namespace: 'shop', name: 'web-1', node: 'node-a' }));
  api.apply(podObject({ namespace: 'shop', name: 'web-2', node: 'node-b' }));
  const { w, units } = watchOf(t, api, [objectJudge('pods', [PODS])], {}, { shared: [PODS.path] });
  const tap = w.tap(PODS.path);
  t.truthy(tap);
  const pods = createPodWatch({ connection: api.connection, maxPods: 100, debounceMs: 10, watchSeconds: 30, backoffBaseMs: 20, backoffMaxMs: 200 }, { log, taps: [tap!] });
  t.teardown(() => pods.stop());
  w.start();
  pods.start();
  await eventually('the first unit', () => units[0]);
  t.deepEqual(keysOf(units[0]), ['test-pod|shop/web-1', 'test-pod|shop/web-2']);
  api.delete('shop', 'web-2');
  const d = await eventually('the delete', () => units.find((u) => u.kind === 'delta'));
  t.deepEqual(d.kind === 'delta' ? d.resolved.map((r) => [r.finding.key, r.note]) : [], [['test-pod|shop/web-2', 'Pod/shop/web-2 was deleted']]);
  t.is(pods.podsOnNode('node-a').length, 1);
  const podRequests = api.requests.filter((r) => r.path === PODS.path);
  t.is(podRequests.filter((r) => r.query.get('watch') === null).length, 1);
  t.is(podRequests.filter((r) => r.query.get('watch') === '1').length, 1);
});

test('watch events gather on the injected clock for debounceMs, then go as one unit; a finding opened and resolved within it is nothing', async (t) => {
  const api = await fakeApi(t);
  serveFixture(api, 'kubeadm-fresh');
  const clock = testClock(Date.parse('2026-06-01T00:00:00Z'));
  const { w, units } = watchOf(t, api, [createRbacJudge() as PostureJudge<unknown>], { debounceMs: 1000 }, { clock });
  w.start();
  await clock.advanceUntil('the first unit', () => units[0], { stepMs: 1000 });
  t.deepEqual(units.map((u) => u.kind), ['full']);
  t.deepEqual(keysOf(units[0]), []);
  const binding = (name: string, user: string) => ({
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' }, subjects: [{ kind: 'User', name: user }],
  });
  api.applyObject('clusterrolebindings', binding('alice-admin', 'alice'));
  api.applyObject('clusterrolebindings', binding('bob-admin', 'bob'));
  api.applyObject('clusterrolebindings', binding('brief', 'carol'));
  api.deleteObject('clusterrolebindings', '', 'brief');
  await eventually('the three events applied', async () => {
    await clock.advance(0);
    const bindings = new Set(w.verdict().findings.map((f) => f.object));
    return bindings.size === 2 && bindings.has('ClusterRoleBinding/bob-admin') ? true : undefined;
  });
  // The live RBAC model is there for who-can to read.
  const live = w.state('rbac') as { model: { clusterRoleBindings: ReadonlyMap<string, unknown> } };
  t.true(live.model.clusterRoleBindings.has('alice-admin'));
  t.false(live.model.clusterRoleBindings.has('brief'));
  // Still within the debounce: nothing committed since the full unit.
  t.is(units.length, 1);
  await clock.advance(1000);
  t.is(units.length, 2);
  const u = units[1]!;
  t.is(u.kind, 'delta');
  if (u.kind !== 'delta') return;
  // Every check cluster-admin fails, for alice and bob: one unit.
  t.deepEqual([...new Set(u.upserts.map((f) => f.object))].sort(), ['ClusterRoleBinding/alice-admin', 'ClusterRoleBinding/bob-admin']);
  t.true(u.upserts.some((f) => f.key === 'cis-5.1.1|ClusterRoleBinding/alice-admin|User:alice'));
  t.is(u.upserts.length, w.verdict().findings.length);
  // carol's binding came and went inside the window: only resolved (a no-op for the store, which never saw it).
  t.true(u.resolved.length > 0);
  t.true(u.resolved.every((r) => r.finding.object === 'ClusterRoleBinding/brief' && r.note === 'ClusterRoleBinding/brief was deleted'));
});

test('a kind declared by two judges is listed once and feeds both', async (t) => {
  const api = await fakeApi(t);
  api.applyObject('namespaces', { metadata: { name: 'shop' } });
  const { w, units } = watchOf(t, api, [objectJudge('a', [NAMESPACES]), objectJudge('b', [NAMESPACES as PostureKind])]);
  w.start();
  await eventually('the first unit', () => units[0]);
  t.deepEqual(keysOf(units[0]), ['test-namespace|shop', 'test-namespace|shop']);
  t.is(api.requests.filter((r) => r.path === NAMESPACES.path && r.query.get('watch') === null).length, 1);
});

test('a judge that throws commits nothing of its verdict (no finding is resolved by it) and is judged again in full', async (t) => {
  const api = await fakeApi(t);
  api.applyObject('namespaces', { metadata: { name: 'shop' } });
  const inner = objectJudge('flaky', [NAMESPACES]);
  let fullFailures = 1;
  let applyFailures = 1;
  const flaky: PostureJudge<unknown> = {
    ...inner,
    full(objects) {
      if (fullFailures-- > 0) throw new Error('a bug in full');
      return inner.full(objects);
    },
    apply(state, change) {
      if (applyFailures-- > 0) throw new Error('a bug in apply');
      return inner.apply(state as never, change);
    },
    findings: (state) => inner.findings(state as never),
  };
  const { w, units, metrics } = watchOf(t, api, [flaky]);
  w.start();
  const first = await eventually('the first unit, after the failure', () => units[0]);
  t.is(first.kind, 'full');
  t.deepEqual(keysOf(first), ['test-namespace|shop']);
  t.is(metrics.get('nodeward_posture_judge_failures_total', { judge: 'flaky' }), 1);
  // apply throws on the next event: the watch falls back to judging everything.
  api.applyObject('namespaces', { metadata: { name: 'later' } });
  const second = await eventually('the next unit', () => units[1]);
  t.is(second.kind, 'full');
  t.deepEqual(keysOf(second), ['test-namespace|later', 'test-namespace|shop']);
  t.is(metrics.get('nodeward_posture_judge_failures_total', { judge: 'flaky' }), 2);
});

test('recommit judges everything again and commits the whole verdict (a replica that takes over the commits)', async (t) => {
  const api = await fakeApi(t);
  serveFixture(api, 'kubeadm-fresh');
  const clock = testClock(Date.parse('2026-06-01T00:00:00Z'));
  const { w, units } = watchOf(t, api, [createRbacJudge() as PostureJudge<unknown>], { debounceMs: 1000 }, { clock });
  w.start();
  await clock.advanceUntil('the first unit', () => units[0], { stepMs: 1000 });
  api.applyObject('clusterrolebindings', {
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'dave-admin' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' }, subjects: [{ kind: 'User', name: 'dave' }],
  });
  await clock.advanceUntil('the delta', () => units[1], { stepMs: 1000 });
  t.is(units[1]!.kind, 'delta');
  w.recommit();
  await clock.advanceUntil('the recommitted verdict', () => units[2], { stepMs: 1000 });
  const full = units[2]!;
  t.is(full.kind, 'full', 'the whole verdict, not what changed since the last unit');
  t.deepEqual(keysOf(full), w.verdict().findings.map((f) => f.key).sort());
  t.true(keysOf(full).some((k) => k.includes('ClusterRoleBinding/dave-admin')));
});
