// Cluster posture (RBAC, CIS 5.1) at scale: a generated cluster of 5,000 bindings over 500
// namespaces (on top of a fresh kubeadm cluster's objects) read and judged in full, then watch
// events re-judged incrementally (one binding changed; one widely bound ClusterRole changed),
// against the baseline of judging the whole cluster again for each event, measured in the
// same run. A who-can query over the same cluster is timed too. Nothing here asserts a time.
import { applyPostureChange, judgeAll, postureFindings, type PostureState } from '../collector/posture/rbac-judge.js';
import { buildModel, type RawRbacObject } from '../collector/posture/rbac-model.js';
import { readRbacObject, type RbacBinding, type RbacRole } from '../collector/posture/rbac-objects.js';
import { whoCan } from '../collector/posture/who-can.js';
import { loadPostureFixture } from '../test/helpers/posture.js';
import { workloadJudge, type WorkloadState } from '../collector/posture/workload-judge.js';
import { fixtureItems, nodewardItems, readObjects } from '../test/posture/workload-fixtures.js';

export interface PostureBenchOptions {
  readonly namespaces: number;
  readonly bindingsPerNamespace: number;
  readonly events: number;
  readonly fullRounds: number;
}

export interface PostureBenchResult {
  readonly bindings: number;
  readonly objects: number;
  readonly findings: number;
  readonly expected: number;
  readonly readMs: number;
  readonly fullMs: readonly number[];
  /** One binding changed, re-judged incrementally: milliseconds per event, sorted. */
  readonly bindingEventMs: readonly number[];
  /** The ClusterRole `edit` changed (bound in every namespace): milliseconds per event, sorted. */
  readonly roleEventMs: readonly number[];
  readonly roleEventBindings: number;
  readonly whoCanMs: readonly number[];
}

const RBAC = 'rbac.authorization.k8s.io';

/** The generated cluster: per namespace, two Roles and `perNs` RoleBindings to them and to admin/edit/view. */
export function generateCluster(namespaces: number, perNs: number): RawRbacObject[] {
  const objects = loadPostureFixture('kubeadm-fresh');
  objects.push({ kind: 'ClusterRole', object: { metadata: { name: 'team-secrets' }, rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list'] }] } });
  for (let n = 0; n < namespaces; n++) {
    const ns = `team-${n}`;
    objects.push({ kind: 'Role', object: { metadata: { name: 'reader', namespace: ns }, rules: [{ apiGroups: ['', 'apps'], resources: ['pods', 'deployments', 'services'], verbs: ['get', 'list', 'watch'] }] } });
    objects.push({ kind: 'Role', object: { metadata: { name: 'deployer', namespace: ns }, rules: [{ apiGroups: ['apps'], resources: ['deployments'], verbs: ['create', 'update', 'patch'] }] } });
    for (let b = 0; b < perNs; b++) {
      const target = (['Role:reader', 'Role:deployer', 'ClusterRole:view', 'ClusterRole:edit', 'ClusterRole:team-secrets'] as const)[b % 5] as string;
      const [kind, name] = target.split(':') as [string, string];
      const subjects = [
        { apiGroup: RBAC, kind: 'User', name: `user-${n}-${b}` },
        { apiGroup: RBAC, kind: 'Group', name: `group-${n % 50}` },
        { kind: 'ServiceAccount', name: `sa-${b}`, namespace: ns },
      ];
      objects.push({ kind: 'RoleBinding', object: { metadata: { name: `rb-${b}`, namespace: ns }, roleRef: { apiGroup: RBAC, kind, name }, subjects } });
    }
  }
  return objects;
}

const ms = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e6;

export function benchPosture(o: PostureBenchOptions): PostureBenchResult {
  const raw = generateCluster(o.namespaces, o.bindingsPerNamespace);
  let t0 = process.hrtime.bigint();
  const { model, refusals } = buildModel(raw);
  const readMs = ms(t0);
  if (refusals.length > 0) throw new Error(`generated objects refused: ${refusals[0]?.reason}`);
  judgeAll(model); // warm-up
  const fullMs: number[] = [];
  let state: PostureState = judgeAll(model);
  for (let i = 0; i < o.fullRounds; i++) {
    t0 = process.hrtime.bigint();
    state = judgeAll(model);
    fullMs.push(ms(t0));
  }
  const { findings, expected } = postureFindings(state);

  // One binding at a time: alternately pointed at the secrets role and back at view, with a new subject.
  const bindingEventMs: number[] = [];
  for (let i = 0; i < o.events; i++) {
    const ns = `team-${(i * 37) % o.namespaces}`;
    const r = readRbacObject('RoleBinding', {
      metadata: { name: 'rb-2', namespace: ns }, roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: i % 2 === 0 ? 'team-secrets' : 'view' },
      subjects: [{ apiGroup: RBAC, kind: 'User', name: `moved-${i}` }],
    });
    if (r.kind !== 'object') throw new Error(r.reason);
    t0 = process.hrtime.bigint();
    state = applyPostureChange(state, { type: 'upsert', value: r.value as RbacBinding }).state;
    bindingEventMs.push(ms(t0));
  }
  // The edit ClusterRole gains and loses a rule: every binding to it is judged again.
  const edit = state.model.clusterRoles.get('edit') as RbacRole;
  const roleEventMs: number[] = [];
  const roleRounds = Math.max(3, Math.round(o.events / 20));
  for (let i = 0; i < roleRounds; i++) {
    const rules = i % 2 === 0 ? [...edit.rules, { verbs: ['get'], apiGroups: [''], resources: ['nodes/proxy'], resourceNames: [], nonResourceURLs: [] }] : edit.rules;
    t0 = process.hrtime.bigint();
    state = applyPostureChange(state, { type: 'upsert', value: { ...edit, rules } }).state;
    roleEventMs.push(ms(t0));
  }
  const whoCanMs: number[] = [];
  for (let i = 0; i < 20; i++) {
    t0 = process.hrtime.bigint();
    whoCan(state.model, { verb: 'get', resource: 'secrets', namespace: `team-${i}`, name: 'db' });
    whoCanMs.push(ms(t0));
  }
  const sort = (xs: number[]): number[] => xs.sort((a, b) => a - b);
  return {
    bindings: model.clusterRoleBindings.size + model.roleBindings.size, objects: raw.length, findings: findings.length, expected: expected.length,
    readMs, fullMs: sort(fullMs), bindingEventMs: sort(bindingEventMs), roleEventMs: sort(roleEventMs),
    roleEventBindings: state.bindingsByRole.get('ClusterRole/edit')?.size ?? 0, whoCanMs: sort(whoCanMs),
  };
}

export function formatPostureBench(r: PostureBenchResult, o: PostureBenchOptions): string {
  const at = (xs: readonly number[], q: number): number => xs[Math.min(xs.length - 1, Math.ceil(q * xs.length) - 1)] ?? NaN;
  const f = (n: number): string => (n < 10 ? n.toFixed(3) : n.toFixed(1));
  const full = at(r.fullMs, 0.5);
  return [
    `posture (RBAC, CIS 5.1): ${r.bindings.toLocaleString('en-US')} bindings over ${o.namespaces} namespaces (${r.objects.toLocaleString('en-US')} objects), ${r.findings.toLocaleString('en-US')} findings, ${r.expected} expected grants`,
    `  read and build the model: ${f(r.readMs)} ms`,
    `  judge in full (baseline, ${r.fullMs.length} rounds): p50 ${f(full)} ms, max ${f(at(r.fullMs, 1))} ms`,
    `  one binding changed, re-judged incrementally (${r.bindingEventMs.length} events): p50 ${f(at(r.bindingEventMs, 0.5))} ms, p99 ${f(at(r.bindingEventMs, 0.99))} ms, max ${f(at(r.bindingEventMs, 1))} ms (target: under 10 ms)`,
    `    ratio incremental p50 / full p50: ${(at(r.bindingEventMs, 0.5) / full).toExponential(1)}`,
    `  ClusterRole edit changed (${r.roleEventBindings.toLocaleString('en-US')} bindings refer to it, ${r.roleEventMs.length} events): p50 ${f(at(r.roleEventMs, 0.5))} ms, max ${f(at(r.roleEventMs, 1))} ms; ratio to full ${(at(r.roleEventMs, 0.5) / full).toFixed(2)}`,
    `  who-can (get one secret in a namespace), scanning every binding: p50 ${f(at(r.whoCanMs, 0.5))} ms`,
    '',
  ].join('\n');
}

// Workload posture (CIS 5.1.5-5.6, namespaces) at scale: 500 namespaces holding 20,000 pods
// (per namespace: two Deployments of 15 replicas, a StatefulSet of 5, five bare pods), their
// ServiceAccounts, a NetworkPolicy each, quotas in half of them, two Calico global policies,
// on top of a fresh kubeadm cluster with nodeward. Judged in full, then one pod event at a
// time (a replica turned privileged and back), and a cluster-wide policy event (which judges
// every namespace again), each against the full judgement measured in the same run.
export interface WorkloadBenchOptions {
  readonly namespaces: number;
  readonly events: number;
  readonly fullRounds: number;
}

export interface WorkloadBenchResult {
  readonly pods: number;
  readonly objects: number;
  readonly findings: number;
  readonly expected: number;
  readonly readMs: number;
  readonly fullMs: readonly number[];
  readonly podEventMs: readonly number[];
  /** The same events' CPU time (this process, GC threads included): what the judge costs, apart from waiting for a core on a shared machine. */
  readonly podEventCpuMs: readonly number[];
  readonly globalEventMs: readonly number[];
}

type RawObject = Record<string, unknown>;

export function generateWorkloads(namespaces: number): RawObject[] {
  const items: RawObject[] = [...fixtureItems('kubeadm-fresh-workloads'), ...nodewardItems()] as RawObject[];
  const pod = (ns: string, name: string, labels: Record<string, string>, owner: [string, string] | undefined, privileged: boolean): RawObject => ({
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name, namespace: ns, uid: `${ns}-${name}`, labels, ...(owner ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: owner[0], name: owner[1], uid: owner[1], controller: true }] } : {}) },
    spec: {
      nodeName: `node-${name.length % 20}`, serviceAccountName: labels.app === 'web' ? 'web' : '',
      securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [
        { name: 'app', image: 'app:1', ports: [{ containerPort: 8080 }], env: [{ name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } }],
          securityContext: { privileged, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } } },
        { name: 'proxy', image: 'proxy:1', securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } } },
      ],
      volumes: [{ name: 'tmp', emptyDir: {} }],
    },
    status: { phase: 'Running' },
  });
  items.push(
    { apiVersion: 'crd.projectcalico.org/v1', kind: 'GlobalNetworkPolicy', metadata: { name: 'default-deny-egress' }, spec: { namespaceSelector: "tier == 'prod'", selector: 'all()', types: ['Egress'] } },
    { apiVersion: 'crd.projectcalico.org/v1', kind: 'GlobalNetworkPolicy', metadata: { name: 'db-ingress' }, spec: { selector: "app in {'db'} && !has(debug)", ingress: [{ action: 'Allow' }] } },
  );
  for (let n = 0; n < namespaces; n++) {
    const ns = `team-${n}`;
    items.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { tier: n % 2 === 0 ? 'prod' : 'dev', ...(n % 3 === 0 ? {} : { 'pod-security.kubernetes.io/enforce': 'restricted' }) } } });
    items.push({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: ns }, ...(n % 4 === 0 ? {} : { automountServiceAccountToken: false }) });
    items.push({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'web', namespace: ns }, automountServiceAccountToken: false });
    items.push({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'web', namespace: ns }, spec: { podSelector: { matchLabels: { app: 'web' } }, ingress: [{}] } });
    if (n % 2 === 0) items.push({ apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'quota', namespace: ns } }, { apiVersion: 'v1', kind: 'LimitRange', metadata: { name: 'limits', namespace: ns } });
    for (const app of ['web', 'api']) {
      for (let r = 0; r < 15; r++) items.push(pod(ns, `${app}-6c9d7f8b4-${r.toString(36).padStart(5, 'x')}`, { app, 'pod-template-hash': '6c9d7f8b4' }, ['ReplicaSet', `${app}-6c9d7f8b4`], false));
    }
    for (let r = 0; r < 5; r++) items.push(pod(ns, `db-${r}`, { app: 'db' }, ['StatefulSet', 'db'], false));
    for (let r = 0; r < 5; r++) items.push(pod(ns, `debug-${r}`, { app: 'debug', debug: 'true' }, undefined, r === 0));
  }
  return items;
}

export function benchWorkloads(o: WorkloadBenchOptions): WorkloadBenchResult {
  const raw = generateWorkloads(o.namespaces);
  let t0 = process.hrtime.bigint();
  const objects = readObjects(raw as never);
  const readMs = ms(t0);
  const judge = workloadJudge;
  let state: WorkloadState = judge.full(objects); // warm-up
  const fullMs: number[] = [];
  for (let i = 0; i < o.fullRounds; i++) {
    t0 = process.hrtime.bigint();
    state = judge.full(objects);
    fullMs.push(ms(t0));
  }
  const { findings, expected } = judge.findings(state);
  const podRead = judge.kinds.find((k) => k.kind === 'Pod') as (typeof judge.kinds)[number];
  const podEventMs: number[] = [];
  const podEventCpuMs: number[] = [];
  for (let i = 0; i < o.events; i++) {
    const ns = `team-${(i * 37) % o.namespaces}`;
    const original = raw.find((x) => x.kind === 'Pod' && (x.metadata as { namespace: string }).namespace === ns) as RawObject;
    const spec = original.spec as { containers: { securityContext: Record<string, unknown> }[] };
    const changed = { ...original, spec: { ...spec, containers: [{ ...spec.containers[0], securityContext: { ...spec.containers[0]?.securityContext, privileged: i % 2 === 0 } }, spec.containers[1]] } };
    const r = podRead.read(changed);
    if (r.kind !== 'object') throw new Error('generated pod refused');
    const cpu0 = process.cpuUsage();
    t0 = process.hrtime.bigint();
    state = judge.apply(state, { type: 'upsert', kind: 'Pod', key: r.key, value: r.value }).state;
    podEventMs.push(ms(t0));
    const cpu = process.cpuUsage(cpu0);
    podEventCpuMs.push((cpu.user + cpu.system) / 1000);
  }
  const gnpRead = judge.kinds.find((k) => k.kind === 'CalicoGlobalNetworkPolicy') as (typeof judge.kinds)[number];
  const globalEventMs: number[] = [];
  for (let i = 0; i < Math.max(3, Math.round(o.events / 50)); i++) {
    const r = gnpRead.read({ metadata: { name: 'db-ingress' }, spec: { selector: i % 2 === 0 ? "app in {'db', 'api'}" : "app in {'db'}", ingress: [{ action: 'Allow' }] } });
    if (r.kind !== 'object') throw new Error('generated policy refused');
    t0 = process.hrtime.bigint();
    state = judge.apply(state, { type: 'upsert', kind: 'CalicoGlobalNetworkPolicy', key: r.key, value: r.value }).state;
    globalEventMs.push(ms(t0));
  }
  const sort = (xs: number[]): number[] => xs.sort((a, b) => a - b);
  return {
    pods: objects.get('Pod')?.size ?? 0, objects: raw.length, findings: findings.length, expected: expected.length,
    readMs, fullMs: sort(fullMs), podEventMs: sort(podEventMs), podEventCpuMs: sort(podEventCpuMs), globalEventMs: sort(globalEventMs),
  };
}

export function formatWorkloadBench(r: WorkloadBenchResult, o: WorkloadBenchOptions): string {
  const at = (xs: readonly number[], q: number): number => xs[Math.min(xs.length - 1, Math.ceil(q * xs.length) - 1)] ?? NaN;
  const f = (n: number): string => (n < 10 ? n.toFixed(3) : n.toFixed(1));
  const full = at(r.fullMs, 0.5);
  return [
    `posture (workloads, CIS 5.1.5-5.6): ${r.pods.toLocaleString('en-US')} pods over ${o.namespaces} namespaces (${r.objects.toLocaleString('en-US')} objects), ${r.findings.toLocaleString('en-US')} findings, ${r.expected} expected`,
    `  read every object: ${f(r.readMs)} ms`,
    `  judge in full (baseline, ${r.fullMs.length} rounds): p50 ${f(full)} ms, max ${f(at(r.fullMs, 1))} ms`,
    `  one pod changed, re-judged incrementally (${r.podEventMs.length} events): p50 ${f(at(r.podEventMs, 0.5))} ms, p99 ${f(at(r.podEventMs, 0.99))} ms, max ${f(at(r.podEventMs, 1))} ms (target: p99 under 10 ms)`,
    `    CPU time of the same events: p50 ${f(at(r.podEventCpuMs, 0.5))} ms, p99 ${f(at(r.podEventCpuMs, 0.99))} ms (wall time above includes waiting for a core and GC pauses)`,
    `    ratio incremental p50 / full p50: ${(at(r.podEventMs, 0.5) / full).toExponential(1)}`,
    `  a Calico GlobalNetworkPolicy changed (every namespace judged again, ${r.globalEventMs.length} events): p50 ${f(at(r.globalEventMs, 0.5))} ms; ratio to full ${(at(r.globalEventMs, 0.5) / full).toFixed(2)}`,
    '',
  ].join('\n');
}
