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
