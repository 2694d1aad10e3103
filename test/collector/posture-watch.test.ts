// Cluster posture in a running collector: a real collector (real SQLite, real HTTPS API, real
// webhook receivers) watching the RBAC objects of the local Kubernetes API server
// (fake-pod-api.ts). A fresh kubeadm cluster raises nothing; a weak one raises a stored cluster
// finding per check, naming subject, binding and rule; a binding deleted through the watch
// resolves its finding within seconds, a changed rule changes it, a relist (410) that no
// longer holds an object resolves it; a malformed object is counted and skipped. The API, the
// CLI and the webhooks show them as cluster findings.
import test, { type ExecutionContext } from 'ava';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RBAC_CHECKS } from '../../collector/posture/rbac-checks.js';
import { loadCollectorConfig } from '../../collector/config.js';
import { ConfigError } from '../../proto/support/config-loader.js';
import type { Finding } from '../../collector/finding.js';
import { READER_TOKEN, startTestCollector, type TestCollector } from '../helpers/collector.js';
import { api } from '../helpers/agent-session.js';
import { eventually } from '../helpers/https.js';
import { runNodeward } from '../helpers/process.js';
import { serveFixture, serveItems } from '../helpers/posture-api.js';
import { loadPostureFixture } from '../helpers/posture.js';
import { fixtureItems, nodewardItems, readObjects } from '../posture/workload-fixtures.js';
import { workloadJudge } from '../../collector/posture/workload-judge.js';
import { WORKLOAD_CHECKS } from '../../collector/posture/workload-checks.js';
import { judgeAll, postureFindings } from '../../collector/posture/rbac-judge.js';
import { buildModel } from '../../collector/posture/rbac-model.js';
import { startReceiver } from '../helpers/webhook-receiver.js';
import { startFakePodApi, type FakePodApi } from './fake-pod-api.js';

interface Setup {
  readonly kube: FakePodApi;
  readonly tc: TestCollector;
}

async function setup(t: ExecutionContext, fixture: string, opts: { prepare?: (kube: FakePodApi) => void; overrides?: Record<string, unknown> } = {}): Promise<Setup> {
  const kube = await startFakePodApi();
  t.teardown(() => kube.close());
  serveFixture(kube, fixture);
  opts.prepare?.(kube);
  const tc = await startTestCollector({
    overrides: {
      posture: { watch: 'on', debounceMs: 50 },
      pods: { watch: 'off', backoffBaseMs: 20, backoffMaxMs: 200 },
      'enroll.kubernetes': { server: kube.url, caFile: kube.caFile, tokenFile: kube.tokenFile },
      ...opts.overrides,
    },
  });
  t.teardown(() => tc.close());
  await eventually('the first posture unit', () => (tc.collector.posture?.stats().units ? true : undefined));
  return { kube, tc };
}

const cluster = async (tc: TestCollector, state?: 'open' | 'resolved'): Promise<Finding[]> =>
  (await tc.collector.store!.findings.list({ scope: 'cluster', ...(state ? { state } : {}) }, 1000)).items;

const findingOf = async (tc: TestCollector, checkId: string, binding: string): Promise<Finding | undefined> =>
  (await cluster(tc)).find((f) => f.checkId === checkId && (f.detail as { binding?: string }).binding === binding);

const notes = async (tc: TestCollector, id: string): Promise<string[]> => (await tc.collector.store!.findings.detail(id))!.history.map((h) => h.note);

test('a fresh kubeadm cluster with nodeward deployed raises no cluster finding; its known grants and workloads are expected', async (t) => {
  const workloads = [...fixtureItems('kubeadm-fresh-workloads'), ...nodewardItems()];
  const { tc } = await setup(t, 'kubeadm-fresh', { prepare: (kube) => serveItems(kube, workloads) });
  const posture = tc.collector.posture!;
  const stats = posture.stats();
  t.true(stats.synced);
  const served = ['ClusterRole', 'Role', 'ClusterRoleBinding', 'RoleBinding', 'Namespace', 'Pod', 'ServiceAccount', 'NetworkPolicy', 'ResourceQuota', 'LimitRange'];
  t.deepEqual(stats.kinds.filter((k) => k.served).map((k) => [k.kind, k.synced]), served.map((k) => [k, true]));
  // No CNI policy CRD is served here: those kinds are not followed, and count as empty.
  t.deepEqual(stats.kinds.filter((k) => !k.served).map((k) => k.kind).sort(), ['CalicoGlobalNetworkPolicy', 'CalicoNetworkPolicy', 'CiliumClusterwideNetworkPolicy', 'CiliumNetworkPolicy']);
  t.true(stats.kinds.every((k) => k.refused === 0));
  t.true(stats.kinds.find((k) => k.kind === 'ClusterRoleBinding')!.objects > 5);
  // Every pod that runs (a Succeeded one is not held), through the watch as through the reader.
  t.is(stats.kinds.find((k) => k.kind === 'Pod')!.objects, readObjects(workloads).get('Pod')!.size);
  t.true(readObjects(workloads).get('Pod')!.size < workloads.filter((o) => o.kind === 'Pod').length);
  t.deepEqual(await cluster(tc), []);
  t.deepEqual(posture.verdict().findings, []);
  // What is expected is what the two judges expect of the same objects, read apart from the watch.
  const rbacExpected = postureFindings(judgeAll(buildModel(loadPostureFixture('kubeadm-fresh')).model)).expected.length;
  const workloadExpected = workloadJudge.findings(workloadJudge.full(readObjects(workloads))).expected.length;
  t.true(workloadExpected > 0);
  t.is(posture.verdict().expected.length, rbacExpected + workloadExpected);
  t.true(posture.verdict().expected.some((e) => e.finding.subject.includes('nodeward-agent')), 'the agent DaemonSet is expected, with its reason');
  t.is(tc.collector.metrics.get('nodeward_posture_kind_synced', { kind: 'RoleBinding' }), 1);
  t.is(tc.collector.metrics.get('nodeward_posture_units_total', { kind: 'full' }), 1);
});

test('weak workloads raise stored cluster findings for every workload and namespace check, one per workload; a workload whose pods are deleted through the watch resolves', async (t) => {
  const items = fixtureItems('weak-workloads');
  const { kube, tc } = await setup(t, 'kubeadm-fresh', { prepare: (api) => serveItems(api, items) });
  const open = await cluster(tc, 'open');
  // Exactly what the judge finds of the same objects, stored as cluster findings.
  const pure = workloadJudge.findings(workloadJudge.full(readObjects(items))).findings;
  t.deepEqual(open.map((f) => f.subject).sort(), pure.map((f) => f.key).sort());
  t.deepEqual([...new Set(WORKLOAD_CHECKS.map((c) => c.id))].sort(), [...new Set(open.map((f) => f.checkId))].sort(), 'every workload and namespace check raised');
  for (const f of open) t.like(f, { scope: 'cluster', node: '' });
  const web = open.filter((f) => f.sourceFile === 'Deployment/shop/web');
  t.true(web.length > 3);
  t.is(new Set(web.map((f) => f.checkId)).size, web.length, 'three replicas, one finding per check');
  t.false(JSON.stringify(open).includes('not-a-secret-but-never-read'), 'no env value is stored');

  for (const pod of items.filter((o) => o.kind === 'Pod' && (o.metadata as { name: string }).name.startsWith('web-7d9f8c6b5-'))) {
    kube.deleteObject('pods', 'shop', (pod.metadata as { name: string }).name);
  }
  await eventually('the web Deployment resolved', async () => {
    for (const f of web) if ((await tc.collector.store!.findings.get(f.id))?.state !== 'resolved') return undefined;
    return true;
  });
  t.true((await notes(tc, web[0]!.id)).some((n) => n.length > 0), 'the resolution says why');
});

test('a weak cluster raises a stored cluster finding for every check, naming subject, binding and rule; the API, summary and CLI show them as cluster findings', async (t) => {
  const { tc } = await setup(t, 'weak');
  const open = await cluster(tc, 'open');
  for (const check of RBAC_CHECKS) t.true(open.some((f) => f.checkId === check.id), `${check.id} raised`);
  for (const f of open) {
    t.is(f.scope, 'cluster');
    t.is(f.node, '');
    t.is(f.category as string, 'rbac');
    const d = f.detail as { binding: string; role: string; subject: string; rules: { rule: string; grants: string }[] };
    t.true(d.rules.length > 0 && d.rules.every((r) => r.rule.length > 0 && r.grants.length > 0), f.subject);
    t.true(f.actual.includes(d.role), f.actual);
    // A grant names its subject and binding; an aggregation label the role it widens.
    if (f.checkId !== 'rbac-aggregate-widens') t.true(f.actual.includes(d.subject) && f.actual.includes(d.binding), f.actual);
    else t.true(f.actual.includes(d.subject.replace(/ \(.*$/, '')), f.actual);
  }
  const secrets = (await findingOf(tc, 'cis-5.1.2', 'RoleBinding/shop/app-reads-secrets'))!;
  t.is(secrets.sourceFile, 'RoleBinding/shop/app-reads-secrets');
  t.regex(secrets.actual, /ServiceAccount shop\/app through RoleBinding\/shop\/app-reads-secrets \(ClusterRole\/secret-reader, namespace shop\): rule 0: get,list on secrets/);
  // The aggregation finding is about the ClusterRole that widens view.
  t.true(open.some((f) => f.checkId === 'rbac-aggregate-widens' && f.sourceFile === 'ClusterRole/sneaky-secrets'));

  // who-can answers from the running watch's RBAC model.
  const who = await api<{ subjects: { subject: { kind: string; name: string; namespace?: string } }[] }>(tc, '/api/v1/posture/who-can?verb=get&resource=secrets&namespace=shop');
  t.is(who.status, 200);
  t.true(who.body.subjects.some((s) => s.subject.kind === 'ServiceAccount' && s.subject.name === 'app' && s.subject.namespace === 'shop'));
  const status = await api<{ synced: boolean; kinds: { kind: string }[] }>(tc, '/api/v1/posture/status');
  t.true(status.body.synced);
  t.true(status.body.kinds.some((k) => k.kind === 'RoleBinding'));

  const byScope = await api<{ items: Finding[] }>(tc, '/api/v1/findings?scope=cluster&limit=1000');
  t.is(byScope.status, 200);
  t.is(byScope.body.items.length, open.length);
  t.is((await api<{ items: Finding[] }>(tc, '/api/v1/findings?scope=node')).body.items.length, 0);
  t.is((await api<{ items: Finding[] }>(tc, '/api/v1/findings?scope=cluster&node=node-a')).body.items.length, 0);
  t.is((await api(tc, '/api/v1/findings?scope=pod')).status, 400);
  const summary = await api<{ cluster: { total: number }; byNode: unknown[]; findings: { total: number }; topChecks: unknown[] }>(tc, '/api/v1/summary');
  t.is(summary.body.cluster.total, open.length);
  t.is(summary.body.findings.total, open.length);
  t.deepEqual(summary.body.byNode, []);
  t.deepEqual(summary.body.topChecks, []);

  await writeFile(join(tc.dir, 'reader.token'), `${READER_TOKEN}\n`, { mode: 0o600 });
  const conn = ['--url', tc.apiUrl, '--token-file', join(tc.dir, 'reader.token'), '--ca-file', tc.pki.caCert];
  const out = await runNodeward(['query', 'findings', '--scope', 'cluster', '--check', 'cis-5.1.13', ...conn]);
  t.is(out.code, 0, out.stderr);
  t.regex(out.stdout, /\(cluster\)\s+cis-5\.1\.13\s+cis-5\.1\.13\|ClusterRoleBinding\/minter-mints\|User:minter/);
  const minter = open.find((f) => f.subject === 'cis-5.1.13|ClusterRoleBinding/minter-mints|User:minter')!;
  const shown = await runNodeward(['findings', 'show', minter.id, ...conn]);
  t.is(shown.code, 0, shown.stderr);
  t.regex(shown.stdout, /Scope: +cluster \(about API objects; no node\)/);
  t.notRegex(shown.stdout, /^Node:/m);
});

test('a binding deleted through the watch resolves its finding within seconds, saying so', async (t) => {
  const { kube, tc } = await setup(t, 'weak');
  const before = (await findingOf(tc, 'cis-5.1.13', 'ClusterRoleBinding/minter-mints'))!;
  t.is(before.state, 'open');
  const started = Date.now();
  kube.deleteObject('clusterrolebindings', '', 'minter-mints');
  await eventually('the finding resolved', async () => ((await tc.collector.store!.findings.get(before.id))?.state === 'resolved' ? true : undefined), 5000, 20);
  t.true(Date.now() - started < 5000);
  t.true((await notes(tc, before.id)).includes('ClusterRoleBinding/minter-mints was deleted'));
  // Nothing else moved.
  t.is((await cluster(tc, 'resolved')).length, 1);
  t.is(tc.collector.metrics.get('nodeward_posture_units_total', { kind: 'delta' }), 1);
});

test('an update that changes a rule changes the finding; one that removes the rule resolves it', async (t) => {
  const { kube, tc } = await setup(t, 'weak');
  const f = (await findingOf(tc, 'cis-5.1.2', 'RoleBinding/shop/app-reads-secrets'))!;
  t.regex(f.actual, /get,list on secrets$/);
  const role = kube.objectsOf('clusterroles').find((r) => r.metadata.name === 'secret-reader')!;
  kube.applyObject('clusterroles', { ...role, rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list', 'watch'] }] });
  await eventually('the finding changed', async () => ((await tc.collector.store!.findings.get(f.id))?.actual.endsWith('get,list,watch on secrets') ? true : undefined), 5000, 20);
  t.is((await tc.collector.store!.findings.get(f.id))!.state, 'open');
  kube.applyObject('clusterroles', { ...role, rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'] }] });
  await eventually('the finding resolved', async () => ((await tc.collector.store!.findings.get(f.id))?.state === 'resolved' ? true : undefined), 5000, 20);
  t.true((await notes(tc, f.id)).includes('ClusterRole/secret-reader changed: the finding no longer holds'));
});

test('a relist (410) that no longer holds an object resolves its finding', async (t) => {
  const { kube, tc } = await setup(t, 'weak');
  const f = (await findingOf(tc, 'cis-5.1.9', 'ClusterRoleBinding/storage-makes-pvs'))!;
  // Deleted while nobody watched, and the history compacted: only a new list can tell.
  kube.silently(() => kube.deleteObject('clusterrolebindings', '', 'storage-makes-pvs'));
  kube.compact();
  await eventually('the finding resolved', async () => ((await tc.collector.store!.findings.get(f.id))?.state === 'resolved' ? true : undefined), 5000, 20);
  t.true((await notes(tc, f.id)).some((n) => n.startsWith('no longer found when every kind was listed')));
  t.true(tc.collector.metrics.get('nodeward_posture_watch_relists_total') >= 1);
  t.true(tc.collector.metrics.get('nodeward_posture_units_total', { kind: 'full' }) >= 2);
  // Every other finding stays open.
  t.is((await cluster(tc, 'resolved')).length, 1);
});

test('a malformed object is counted and skipped, in a list and in the watch; the others are judged', async (t) => {
  const bad = (name: string) => ({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name, namespace: 'shop' }, roleRef: { kind: 'Nothing' }, subjects: [{ kind: 'User', name: 'x' }] });
  const { kube, tc } = await setup(t, 'weak', { prepare: (k) => k.applyObject('rolebindings', bad('broken-at-list')) });
  const rb = () => tc.collector.posture!.stats().kinds.find((k) => k.kind === 'RoleBinding')!;
  t.is(rb().refused, 1);
  t.true((await cluster(tc, 'open')).some((f) => f.checkId === 'cis-5.1.2'));
  kube.applyObject('rolebindings', bad('broken-in-watch'));
  kube.applyObject('clusterrolebindings', {
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'later-proxy' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'node-proxy' }, subjects: [{ kind: 'User', name: 'later' }],
  });
  await eventually('the later binding judged', async () => (await findingOf(tc, 'cis-5.1.10', 'ClusterRoleBinding/later-proxy') ? true : undefined), 5000, 20);
  t.is(rb().refused, 2);
  t.is(tc.collector.metrics.get('nodeward_posture_refused_total', { kind: 'RoleBinding' }), 2);
});

test('webhooks receive cluster findings with their scope; Alertmanager gets no empty node label', async (t) => {
  const json = await startReceiver();
  const am = await startReceiver();
  t.teardown(() => json.close());
  t.teardown(() => am.close());
  const fast = { backoffInitialMs: 20, backoffMaxMs: 100, groupWindowMs: 0, timeoutMs: 2000 };
  const { tc } = await setup(t, 'weak', {
    overrides: { webhooks: [{ name: 'j', url: json.url, format: 'json', ...fast }, { name: 'am', url: am.url, format: 'alertmanager', ...fast }] },
  });
  const open = await cluster(tc, 'open');
  const seen = await eventually('every opened finding delivered', () => {
    const ids = new Set(json.requests.flatMap((r) => ((r.body.findings ?? [r.body.finding]) as Finding[]).map((f) => f.id)));
    return open.every((f) => ids.has(f.id)) ? ids : undefined;
  });
  t.is(seen.size, open.length);
  for (const r of json.requests) {
    t.is(r.body.event, 'opened');
    for (const f of (r.body.findings ?? [r.body.finding]) as Finding[]) {
      t.is(f.scope, 'cluster');
      t.is(f.node, '');
    }
  }
  const alerts = await eventually('alerts posted', () => {
    const all = am.requests.flatMap((r) => r.body as Array<{ labels: Record<string, string> }>);
    return all.length >= open.length ? all : undefined;
  });
  for (const a of alerts) {
    t.is(a.labels.scope, 'cluster');
    t.false('node' in a.labels);
  }
});

test('config: posture is on inside a cluster, off without an API server (npm start); "on" without one is a configuration error', (t) => {
  const base = { grpc: { insecure: true }, api: { insecure: true } };
  const load = (env: Record<string, string>, posture?: Record<string, unknown>) =>
    loadCollectorConfig({ env, overrides: { ...base, ...(posture ? { posture } : {}) } });
  t.is(load({}).postureWatch, undefined);
  t.like(load({ KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' }).postureWatch, {
    connection: { server: 'https://10.96.0.1:443', timeoutMs: 30_000 }, watchSeconds: 300, backoffBaseMs: 500, backoffMaxMs: 30_000,
    debounceMs: 1000, maxObjects: 200_000, discoveryMs: 300_000,
  });
  t.is(load({ KUBERNETES_SERVICE_HOST: '10.96.0.1' }, { watch: 'off' }).postureWatch, undefined);
  t.is(load({}).posture.maxOpenFindings, 50_000);
  const err = t.throws(() => load({}, { watch: 'on' }), { instanceOf: ConfigError });
  t.regex(err.message, /posture\.watch: on needs the Kubernetes API server/);
  t.throws(() => load({}, { debounceMs: -1 }), { instanceOf: ConfigError });
});

test('without an API server the collector runs with posture off', async (t) => {
  const tc = await startTestCollector();
  t.teardown(() => tc.close());
  t.is(tc.collector.posture, undefined);
  t.is((await api<{ items: Finding[] }>(tc, '/api/v1/findings?scope=cluster')).body.items.length, 0);
});
