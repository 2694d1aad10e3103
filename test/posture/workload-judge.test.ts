// The workload and namespace checks over object sets: a fresh kubeadm cluster with nodeward
// deployed from manifests/ (no finding; what would fail is expected, each with its reason and
// every allowlist entry used), a deliberately weak set (every check fails, naming workload,
// container and field; one finding per workload, not per replica), the network-policy
// languages, and the incremental path (an event re-judged alone gives what judging everything
// again gives, on fixed and on random event sequences).
import test from 'ava';
import { createWorkloadJudge, workloadJudge, type WorkloadState } from '../../collector/posture/workload-judge.js';
import { WORKLOAD_CHECKS } from '../../collector/posture/workload-checks.js';
import { EXPECTED_POSTURE } from '../../collector/posture/workload-defaults.js';
import type { ClusterFinding, ObjectChange } from '../../collector/posture/judge.js';
import { fixtureItems, judgeKind, nodewardItems, readObjects, type ObjectSet } from './workload-fixtures.js';
import { checkProperty, fc } from '../helpers/property.js';

const judge = workloadJudge;
const freshItems = () => [...fixtureItems('kubeadm-fresh-workloads'), ...nodewardItems()];
const verdict = (objects: ObjectSet) => judge.findings(judge.full(objects));
const keys = (fs: readonly ClusterFinding[]): string[] => fs.map((f) => f.key);

/** One object read and turned into a watch event. */
function upsert(raw: Record<string, unknown>): ObjectChange {
  const kind = judgeKind(raw);
  const spec = judge.kinds.find((k) => k.kind === kind);
  const r = spec?.read(raw);
  if (!r || r.kind !== 'object') throw new Error(`not readable: ${JSON.stringify(r)}`);
  return { type: 'upsert', kind, key: r.key, value: r.value };
}

test('a fresh kubeadm cluster with nodeward raises no finding; what fails is expected, each with a reason', (t) => {
  const { findings, expected } = verdict(readObjects(freshItems()));
  t.deepEqual(findings.map((f) => f.actual), []);
  for (const e of expected) t.true(e.why.length > 40, e.finding.key);
  t.is(expected.length, 56, 'the count docs/cluster-posture.md gives');
  // Every allowlist entry is used: none is dead weight or misspelt.
  const used = new Set(expected.map((e) => e.why));
  t.deepEqual(EXPECTED_POSTURE.filter((e) => !used.has(e.why)).map((e) => `${e.namespace} ${e.object} ${String(e.checks)}`), []);
  const of = (key: string) => expected.find((e) => e.finding.key === key);
  t.regex(of('cis-5.2.3|DaemonSet/nodeward-agent/nodeward-agent')?.why ?? '', /host's PID namespace/);
  t.regex(of('cis-5.2.2|DaemonSet/kube-system/kube-proxy')?.why ?? '', /iptables/);
  t.like(of('cis-5.2.5|Pod/kube-system/etcd')?.finding, { object: 'Pod/kube-system/etcd', subject: 'Pod kube-system/etcd', cis: '5.2.5', category: 'pod-security' });
  // The collector's namespace enforces `restricted` and its ingress policy selects its pod.
  t.falsy(expected.find((e) => e.finding.key === 'cis-5.2.1|Namespace/nodeward-collector'));
  t.falsy(expected.find((e) => e.finding.key === 'cis-5.3.2|Namespace/nodeward-collector|ingress'));
  t.truthy(of('cis-5.3.2|Namespace/nodeward-collector|egress'));
  // Empty namespaces (default, kube-public, kube-node-lease) hold nothing to judge; the finished pod in default runs nothing.
  t.deepEqual(expected.filter((e) => /Namespace\/(default|kube-public|kube-node-lease)|\/default\/default/.test(e.finding.key)), []);
});

test('nodeward\'s allowlist is exact: anything beyond the manifests is a finding', (t) => {
  const items = freshItems();
  const agentPod = items.find((i) => i.kind === 'Pod' && (i.metadata?.name as string).startsWith('nodeward-agent-')) as { spec: { containers: { securityContext: { capabilities: { add: string[] } } }[]; volumes: unknown[] } };
  agentPod.spec.containers[0]?.securityContext.capabilities.add.push('SYS_ADMIN');
  agentPod.spec.volumes.push({ name: 'runtime', hostPath: { path: '/run/containerd/containerd.sock' } });
  // A pod named like a static pod, made through the API: not a mirror, so not kubeadm's etcd.
  items.push({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'etcd', namespace: 'kube-system', uid: 'x' }, spec: { nodeName: 'w1', hostNetwork: true, containers: [{ name: 'etcd' }] } });
  const { findings } = verdict(readObjects(items));
  t.deepEqual(keys(findings).filter((k) => k.includes('nodeward-agent')), ['cis-5.2.11|DaemonSet/nodeward-agent/nodeward-agent', 'cis-5.2.9|DaemonSet/nodeward-agent/nodeward-agent']);
  const caps = findings.find((f) => f.key === 'cis-5.2.9|DaemonSet/nodeward-agent/nodeward-agent');
  t.regex(caps?.actual ?? '', /container agent: securityContext\.capabilities\.add=SYS_ADMIN/);
  t.true(findings.some((f) => f.key === 'cis-5.2.5|Pod/kube-system/etcd'), 'the impostor etcd is raised');
});

test('the weak set fails every check, naming workload, container and field; a 3-replica Deployment is one finding', (t) => {
  const { findings, expected } = verdict(readObjects(fixtureItems('weak-workloads')));
  t.deepEqual(expected, []);
  const wanted = new Set(WORKLOAD_CHECKS.map((c) => (c.scope === 'namespace' && c.test.op === 'policy-coverage' ? `${c.id}:${c.test.direction}` : `${c.scope}:${c.id}`)));
  const seen = new Set(findings.map((f) => (f.checkId === 'cis-5.3.2' ? `${f.checkId}:${String(f.detail.direction)}` : `${f.object.startsWith('Namespace/') || f.object.startsWith('ServiceAccount/') ? 'namespace' : 'workload'}:${f.checkId}`)));
  t.deepEqual([...wanted].filter((w) => !seen.has(w)), []);
  for (const f of findings) t.truthy(f.title && f.remediation && f.subject && f.object && f.actual && f.reason, f.key);
  const web = findings.filter((f) => f.object === 'Deployment/shop/web');
  t.is(new Set(web.map((f) => f.checkId)).size, web.length, 'one finding per check for the three replicas');
  const priv = web.find((f) => f.checkId === 'cis-5.2.2');
  t.like(priv, { subject: 'Deployment shop/web', severity: 'high', cis: '5.2.2', actual: 'Deployment shop/web (3 pods): container web: securityContext.privileged=true' });
  t.like(priv?.detail, { podCount: 3, pss: 'baseline', violations: [{ container: 'web', field: 'securityContext.privileged', value: 'true' }] });
  t.deepEqual(priv?.detail.pods, ['web-7d9f8c6b5-a1b2c', 'web-7d9f8c6b5-d3e4f', 'web-7d9f8c6b5-g5h6i']);
  t.is(web.find((f) => f.checkId === 'cis-5.4.1')?.actual,
    'Deployment shop/web (3 pods): container web: env DB_PASSWORD=secret db key password; container log: envFrom *=secret api-keys (every key)');
  t.is(web.find((f) => f.checkId === 'cis-5.2.6')?.actual,
    'Deployment shop/web (3 pods): container web: securityContext.allowPrivilegeEscalation=unset; container migrate: securityContext.allowPrivilegeEscalation=true');
  t.false(JSON.stringify(findings).includes('not-a-secret-but-never-read'));
  // Host-network pods are outside network policies: the coverage findings name only the others.
  t.deepEqual(findings.find((f) => f.key === 'cis-5.3.2|Namespace/shop|ingress')?.detail.workloads, ['Deployment/shop/web']);
});

const netpolCluster = (): ObjectSet => readObjects([
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop', labels: { 'pod-security.kubernetes.io/enforce': 'restricted', team: 'shop' } } },
  ...['web', 'db', 'batch'].map((app) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: `${app}-0`, namespace: 'shop', uid: app, labels: { app } }, spec: { nodeName: 'w1', containers: [{ name: app }] } })),
]);
const coverage = (objects: ObjectSet, extra: Record<string, unknown>[]): Record<string, unknown> => {
  let state = judge.full(objects);
  for (const raw of extra) state = judge.apply(state, upsert(raw)).state;
  const f = judge.findings(state).findings;
  return { ingress: f.find((x) => x.key === 'cis-5.3.2|Namespace/shop|ingress')?.detail.workloads ?? [], egress: f.find((x) => x.key === 'cis-5.3.2|Namespace/shop|egress')?.detail.workloads ?? [] };
};

test('network policy coverage: Kubernetes, Calico and Cilium policies, ingress and egress apart', (t) => {
  const all = ['Pod/shop/batch-0', 'Pod/shop/db-0', 'Pod/shop/web-0'];
  t.deepEqual(coverage(netpolCluster(), []), { ingress: all, egress: all });
  t.deepEqual(coverage(netpolCluster(), [{ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'web', namespace: 'shop' }, spec: { podSelector: { matchLabels: { app: 'web' } } } }]),
    { ingress: ['Pod/shop/batch-0', 'Pod/shop/db-0'], egress: all });
  t.deepEqual(coverage(netpolCluster(), [{ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'deny', namespace: 'shop' }, spec: { podSelector: { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['batch'] }] }, egress: [{}] } }]),
    { ingress: ['Pod/shop/batch-0'], egress: ['Pod/shop/batch-0'] });
  t.deepEqual(coverage(netpolCluster(), [{ apiVersion: 'crd.projectcalico.org/v1', kind: 'NetworkPolicy', metadata: { name: 'db', namespace: 'shop' }, spec: { selector: "app in {'db', 'batch'}", types: ['Egress'] } }]),
    { ingress: all, egress: ['Pod/shop/web-0'] });
  // A global policy for namespaces labelled team=shop, except the batch pods.
  t.deepEqual(coverage(netpolCluster(), [{ apiVersion: 'crd.projectcalico.org/v1', kind: 'GlobalNetworkPolicy', metadata: { name: 'g' }, spec: { namespaceSelector: "team == 'shop'", selector: "app != 'batch'", ingress: [{ action: 'Deny' }] } }]),
    { ingress: ['Pod/shop/batch-0'], egress: all });
  t.deepEqual(coverage(netpolCluster(), [{ apiVersion: 'crd.projectcalico.org/v1', kind: 'GlobalNetworkPolicy', metadata: { name: 'g' }, spec: { namespaceSelector: "team == 'other'", selector: 'all()' } }]),
    { ingress: all, egress: all });
  t.deepEqual(coverage(netpolCluster(), [{ apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name: 'c', namespace: 'shop' }, spec: { endpointSelector: { matchLabels: { 'k8s:app': 'db' } }, egressDeny: [{}] } }]),
    { ingress: all, egress: ['Pod/shop/batch-0', 'Pod/shop/web-0'] });
  t.deepEqual(coverage(netpolCluster(), [{ apiVersion: 'cilium.io/v2', kind: 'CiliumClusterwideNetworkPolicy', metadata: { name: 'cc' }, spec: { endpointSelector: { matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'shop' } }, ingress: [{}], egress: [{}] } }]),
    { ingress: [], egress: [] });
  // A policy in another namespace selects nothing here.
  t.deepEqual(coverage(netpolCluster(), [{ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'all', namespace: 'other' }, spec: { podSelector: {} } }]),
    { ingress: all, egress: all });
});

test('watch events: a replica gone changes the finding, the last one resolves it, a label resolves 5.2.1', (t) => {
  let state: WorkloadState = judge.full(readObjects(fixtureItems('weak-workloads')));
  const del = (kind: string, key: string) => {
    const d = judge.apply(state, { type: 'delete', kind, key });
    state = d.state;
    return d;
  };
  let d = del('Pod', 'shop/web-7d9f8c6b5-a1b2c');
  t.deepEqual([d.opened.length, d.resolved.length], [0, 0]);
  t.true(d.changed.length > 0 && d.changed.every((f) => f.object === 'Deployment/shop/web' && f.actual.includes('(2 pods)')));
  del('Pod', 'shop/web-7d9f8c6b5-d3e4f');
  d = del('Pod', 'shop/web-7d9f8c6b5-g5h6i');
  t.true(d.resolved.some((f) => f.key === 'cis-5.2.2|Deployment/shop/web'));
  t.false(judge.findings(state).findings.some((f) => f.object === 'Deployment/shop/web'));
  d = judge.apply(state, upsert({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop', labels: { 'pod-security.kubernetes.io/enforce': 'baseline' } } }));
  t.deepEqual(keys(d.resolved), ['cis-5.2.1|Namespace/shop']);
  t.deepEqual([d.opened, d.changed], [[], []]);
  // An event of a kind the judge does not read, or a value it did not read, changes nothing.
  t.is(judge.apply(state, { type: 'upsert', kind: 'Secret', key: 'shop/x', value: {} }).state, state);
  t.is(judge.apply(state, { type: 'upsert', kind: 'Pod', key: 'shop/x', value: 42 }).state, state);
});

// Random events over a small universe, compared after each step with judging everything again.
const eventArb = (() => {
  const nsName = fc.constantFrom('shop', 'default', 'kube-system');
  const name = fc.constantFrom('a', 'b', 'c');
  const labels = fc.dictionary(fc.constantFrom('app', 'team', 'pod-security.kubernetes.io/enforce'), fc.constantFrom('web', 'shop', 'restricted', 'privileged'), { maxKeys: 2 });
  const pod = fc.record({ ns: nsName, name, labels, owner: fc.constantFrom('none', 'rs', 'ds'), privileged: fc.boolean(), hostNetwork: fc.boolean(), sa: fc.constantFrom('', 'api'), automount: fc.constantFrom(undefined, true, false) })
    .map((p) => ({
      apiVersion: 'v1', kind: 'Pod',
      metadata: {
        name: `${p.owner}-${p.name}`, namespace: p.ns, uid: p.name, labels: { ...p.labels, 'pod-template-hash': 'h1' },
        ...(p.owner === 'none' ? {} : { ownerReferences: [{ kind: p.owner === 'rs' ? 'ReplicaSet' : 'DaemonSet', name: p.owner === 'rs' ? 'web-h1' : 'agent', controller: true }] }),
      },
      spec: { nodeName: 'w1', hostNetwork: p.hostNetwork, serviceAccountName: p.sa, ...(p.automount === undefined ? {} : { automountServiceAccountToken: p.automount }), containers: [{ name: 'c', securityContext: { privileged: p.privileged } }] },
    }));
  const namespace = fc.record({ ns: nsName, labels }).map((n) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: n.ns, labels: n.labels } }));
  const sa = fc.record({ ns: nsName, name: fc.constantFrom('default', 'api'), automount: fc.constantFrom(undefined, true, false) })
    .map((s) => ({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: s.name, namespace: s.ns }, ...(s.automount === undefined ? {} : { automountServiceAccountToken: s.automount }) }));
  const np = fc.record({ ns: nsName, name, app: fc.constantFrom('web', 'x'), egress: fc.boolean() })
    .map((p) => ({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: p.name, namespace: p.ns }, spec: { podSelector: { matchLabels: { app: p.app } }, ...(p.egress ? { egress: [{}] } : {}) } }));
  const gnp = fc.record({ name, sel: fc.constantFrom("app == 'web'", 'all()', "team != 'shop'"), ns: fc.constantFrom('', "team == 'shop'") })
    .map((g) => ({ apiVersion: 'crd.projectcalico.org/v1', kind: 'GlobalNetworkPolicy', metadata: { name: g.name }, spec: { selector: g.sel, namespaceSelector: g.ns, types: ['Ingress', 'Egress'] } }));
  const ccnp = fc.record({ name, app: fc.constantFrom('web', 'x') })
    .map((c) => ({ apiVersion: 'cilium.io/v2', kind: 'CiliumClusterwideNetworkPolicy', metadata: { name: c.name }, spec: { endpointSelector: { matchLabels: { app: c.app } }, egress: [] } }));
  const marker = fc.record({ kind: fc.constantFrom('ResourceQuota', 'LimitRange'), ns: nsName, name })
    .map((m) => ({ apiVersion: 'v1', kind: m.kind, metadata: { name: m.name, namespace: m.ns } }));
  const object = fc.oneof(pod, pod, namespace, sa, np, gnp, ccnp, marker);
  return fc.record({ object, remove: fc.boolean() });
})();

test('incremental judging after random watch events equals judging everything again', async (t) => {
  await checkProperty(t, fc.property(fc.array(eventArb, { minLength: 1, maxLength: 40 }), (events) => {
    const held: ObjectSet = new Map(judge.kinds.map((k) => [k.kind, new Map()]));
    let state = judge.full(held);
    let open = new Map<string, string>();
    for (const { object, remove } of events) {
      const change = upsert(object as Record<string, unknown>);
      const ev: ObjectChange = remove ? { type: 'delete', kind: change.kind, key: change.key } : change;
      if (ev.type === 'delete') held.get(ev.kind)?.delete(ev.key);
      else held.get(ev.kind)?.set(ev.key, ev.value);
      const d = judge.apply(state, ev);
      state = d.state;
      // The delta moves the open set exactly to the state's.
      for (const f of d.resolved) open.delete(f.key);
      for (const f of [...d.opened, ...d.changed]) open.set(f.key, f.actual);
      const inc = judge.findings(state);
      const full = judge.findings(judge.full(held));
      if (JSON.stringify(inc) !== JSON.stringify(full)) return false;
      if (JSON.stringify([...open.entries()].sort()) !== JSON.stringify(inc.findings.map((f) => [f.key, f.actual]).sort())) return false;
      open = new Map(inc.findings.map((f) => [f.key, f.actual]));
    }
    return true;
  }), 300);
});

test('a judge made with other checks and no allowlist raises what the allowlist hid', (t) => {
  const bare = createWorkloadJudge({ expected: [], checks: WORKLOAD_CHECKS.filter((c) => c.id === 'cis-5.2.2') });
  const { findings, expected } = bare.findings(bare.full(readObjects(freshItems())));
  t.deepEqual([keys(findings), expected], [['cis-5.2.2|DaemonSet/kube-system/kube-proxy'], []]);
});

test('the judge declares what it watches: core kinds always, Calico and Cilium only where their CRDs are served, never Secrets', (t) => {
  t.is(judge.id, 'workloads');
  const by = new Map(judge.kinds.map((k) => [k.kind, k] as const));
  t.deepEqual([...by.keys()].filter((k) => by.get(k)?.optional === undefined), ['Namespace', 'Pod', 'ServiceAccount', 'NetworkPolicy', 'ResourceQuota', 'LimitRange']);
  t.deepEqual(by.get('CalicoGlobalNetworkPolicy')?.optional, { group: 'crd.projectcalico.org', version: 'v1' });
  t.is(by.get('CiliumClusterwideNetworkPolicy')?.path, '/apis/cilium.io/v2/ciliumclusterwidenetworkpolicies');
  t.false(judge.kinds.some((k) => /secret/i.test(k.path)));
  // Each reader fits the informer: a refusal is `invalid` with a reason.
  for (const k of judge.kinds) t.like(k.read(null), { kind: 'invalid' }, k.kind);
});
