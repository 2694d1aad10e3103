// The section 5.1 checks over two object sets: a fresh kubeadm cluster (no finding; every
// grant that would fail a check is an expected one, with its reason) and a deliberately weak
// set (every check fails, each finding naming subject, binding, role and rule). Then the
// incremental path: a watch event re-judged alone gives what judging everything again gives.
import test from 'ava';
import { buildModel, type RawRbacObject } from '../../collector/posture/rbac-model.js';
import { applyPostureChange, judgeAll, postureFindings, type PostureState } from '../../collector/posture/rbac-judge.js';
import { RBAC_CHECKS } from '../../collector/posture/rbac-checks.js';
import { EXPECTED_GRANTS } from '../../collector/posture/rbac-defaults.js';
import { readRbacObject, type RbacBinding, type RbacRole } from '../../collector/posture/rbac-objects.js';
import { loadPostureFixture } from '../helpers/posture.js';
import { checkProperty, fc } from '../helpers/property.js';

const judged = (objects: RawRbacObject[]) => {
  const { model, refusals } = buildModel(objects);
  return { refusals, state: judgeAll(model), ...postureFindings(judgeAll(model)) };
};

test('a fresh kubeadm cluster raises no finding; its known grants are expected, each with a reason', (t) => {
  const { refusals, findings, expected } = judged(loadPostureFixture('kubeadm-fresh'));
  t.deepEqual(refusals, []);
  t.deepEqual(findings.map((f) => f.actual), []);
  t.true(expected.length > 0);
  for (const e of expected) t.true(e.why.length > 20, e.finding.key);
  // Every allowlist entry is used by the fixture: none is dead weight or misspelt.
  const used = new Set(expected.map((e) => `${e.finding.bindingKey}|${e.finding.subjectKey}|${e.finding.role}`));
  const unused = EXPECTED_GRANTS.filter((g) => !used.has(`${g.binding}|${g.subject}|${g.role}`)).map((g) => g.binding);
  t.deepEqual(unused, []);
  // The known ones, by check: cluster-admin is bound twice (system:masters, kubeadm:cluster-admins).
  t.deepEqual(expected.filter((e) => e.finding.checkId === 'cis-5.1.1').map((e) => e.finding.subject), ['Group system:masters', 'Group kubeadm:cluster-admins']);
  const anon = expected.find((e) => e.finding.subjectKey === 'User:system:anonymous');
  t.is(anon?.finding.binding, 'RoleBinding/kube-public/kubeadm:bootstrap-signer-clusterinfo');
  t.is(anon?.finding.scope, 'namespace kube-public');
});

test('the allowlist is exact: the same role bound to someone else is a finding', (t) => {
  const objects = loadPostureFixture('kubeadm-fresh');
  objects.push({ kind: 'ClusterRoleBinding', object: {
    metadata: { name: 'system:controller:namespace-controller-copy' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:controller:namespace-controller' },
    subjects: [{ kind: 'ServiceAccount', name: 'namespace-controller', namespace: 'kube-system' }],
  } });
  const { findings } = judged(objects);
  t.deepEqual(findings.map((f) => f.checkId).sort(), ['cis-5.1.10', 'cis-5.1.12', 'cis-5.1.2', 'cis-5.1.3']);
  t.true(findings.every((f) => f.binding === 'ClusterRoleBinding/system:controller:namespace-controller-copy'));
});

test('the weak set fails every check, each finding naming subject, binding, role and rule', (t) => {
  const { refusals, findings, expected } = judged(loadPostureFixture('weak'));
  t.deepEqual(refusals, []);
  t.deepEqual(expected, []);
  t.deepEqual([...new Set(findings.map((f) => f.checkId))].sort(), RBAC_CHECKS.map((c) => c.id).sort());
  for (const f of findings) {
    t.truthy(f.subject && f.binding && f.role && f.remediation && f.title, f.key);
    t.true(f.rules.length > 0 && f.rules.every((r) => r.grants !== ''), f.key);
  }
  const one = (check: string, subject: string) => findings.find((f) => f.checkId === check && f.subject === subject);
  t.like(one('cis-5.1.2', 'ServiceAccount shop/app'), {
    binding: 'RoleBinding/shop/app-reads-secrets', role: 'ClusterRole/secret-reader', scope: 'namespace shop', cis: '5.1.2', severity: 'high',
  });
  t.is(one('cis-5.1.2', 'ServiceAccount shop/app')?.rules[0]?.grants, 'get,list on secrets');
  t.is(one('cis-5.1.3', 'User dev')?.rules[0]?.grants, '"*" in apiGroups: get on [*] deployments');
  t.is(one('cis-5.1.4', 'User ci')?.rules[0]?.grants, 'create on apps/deployments');
  t.is(one('cis-5.1.8', 'User eve')?.actual,
    'User eve through ClusterRoleBinding/eve-escalates (ClusterRole/escalator, cluster-wide): rule 0: bind,escalate on rbac.authorization.k8s.io/clusterroles; rule 1: impersonate on users');
  t.is(one('cis-5.1.10', 'ServiceAccount monitoring/prometheus')?.rules[0]?.grants, 'get on nodes/proxy');
  t.deepEqual(one('cis-5.1.11', 'User approver')?.rules.map((r) => r.grants),
    ['update on certificates.k8s.io/certificatesigningrequests/approval', 'approve on certificates.k8s.io/signers (only example.com/any)']);
  t.deepEqual(findings.filter((f) => f.checkId === 'rbac-public-groups').map((f) => f.subject).sort(),
    ['Group system:authenticated', 'Group system:unauthenticated', 'User system:anonymous']);
  t.like(one('rbac-aggregate-widens', 'ClusterRole view (every subject bound to it)'), {
    binding: 'label rbac.authorization.k8s.io/aggregate-to-view=true', role: 'ClusterRole/sneaky-secrets',
  });
  // cluster-admin's wildcard grants reach every check that looks at grants.
  t.is(findings.filter((f) => f.bindingKey === 'ClusterRoleBinding/ops-admins').length, RBAC_CHECKS.filter((c) => c.kind === 'grant' && !c.subjects).length);
});

test('a RoleBinding makes no non-resource rule effective', (t) => {
  const objects: RawRbacObject[] = [
    { kind: 'ClusterRole', object: { metadata: { name: 'cluster-admin' }, rules: [{ nonResourceURLs: ['*'], verbs: ['*'] }] } },
    { kind: 'RoleBinding', object: { metadata: { name: 'x', namespace: 'a' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' }, subjects: [{ kind: 'User', name: 'u' }] } },
  ];
  t.deepEqual(judged(objects).findings, []);
});

test('a binding deleted through a watch event resolves its findings; one added opens them', (t) => {
  const { model } = buildModel(loadPostureFixture('weak'));
  const state = judgeAll(model);
  const gone = applyPostureChange(state, { type: 'delete', kind: 'ClusterRoleBinding', key: 'eve-escalates' });
  t.deepEqual(gone.resolved.map((f) => f.key), ['cis-5.1.8|ClusterRoleBinding/eve-escalates|User:eve']);
  t.deepEqual(gone.opened, []);
  const binding = (model.clusterRoleBindings.get('eve-escalates') as RbacBinding);
  const back = applyPostureChange(gone.state, { type: 'upsert', value: binding });
  t.deepEqual(back.opened.map((f) => f.key), ['cis-5.1.8|ClusterRoleBinding/eve-escalates|User:eve']);
  // A role losing its dangerous rule resolves the finding of every binding to it.
  const tamed = readRbacObject('ClusterRole', { metadata: { name: 'escalator' }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }] });
  if (tamed.kind !== 'object') return t.fail(tamed.reason);
  const r = applyPostureChange(back.state, { type: 'upsert', value: tamed.value });
  t.deepEqual(r.resolved.map((f) => f.key), ['cis-5.1.8|ClusterRoleBinding/eve-escalates|User:eve']);
  // The earlier states are untouched.
  t.is(postureFindings(state).findings.length, postureFindings(back.state).findings.length);
});

// Random events over the weak set: the incremental state after each equals a full re-judge.
const SUBJECT_NAMES = ['eve', 'ci', 'system:anonymous', 'ops'];
const ROLE_NAMES = ['cluster-admin', 'view', 'secret-reader', 'escalator', 'node-proxy', 'sneaky-secrets', 'missing'];
const eventArb = fc.oneof(
  fc.record({ t: fc.constant('crb' as const), name: fc.constantFrom('ops-admins', 'eve-escalates', 'new-a', 'new-b'), role: fc.constantFrom(...ROLE_NAMES), user: fc.constantFrom(...SUBJECT_NAMES), del: fc.boolean() }),
  fc.record({ t: fc.constant('rb' as const), name: fc.constantFrom('ci-deploys', 'new-c'), role: fc.constantFrom('deployer', ...ROLE_NAMES), user: fc.constantFrom(...SUBJECT_NAMES), del: fc.boolean() }),
  fc.record({ t: fc.constant('cr' as const), name: fc.constantFrom(...ROLE_NAMES), verb: fc.constantFrom('get', '*', 'escalate', 'create'), resource: fc.constantFrom('secrets', 'pods', '*', 'clusterroles'), agg: fc.boolean(), del: fc.boolean() }),
);

type Ev = typeof eventArb extends fc.Arbitrary<infer T> ? T : never;

function toChange(e: Ev) {
  if (e.t === 'cr') {
    if (e.del) return { type: 'delete' as const, kind: 'ClusterRole' as const, key: e.name };
    const r = readRbacObject('ClusterRole', { metadata: { name: e.name, labels: e.agg ? { 'rbac.authorization.k8s.io/aggregate-to-edit': 'true' } : {} }, rules: [{ apiGroups: ['*'], resources: [e.resource], verbs: [e.verb] }] });
    return r.kind === 'object' ? { type: 'upsert' as const, value: r.value as RbacRole } : undefined;
  }
  const kind = e.t === 'crb' ? 'ClusterRoleBinding' as const : 'RoleBinding' as const;
  const key = e.t === 'crb' ? e.name : `shop/${e.name}`;
  if (e.del) return { type: 'delete' as const, kind, key };
  const roleKind = e.t === 'rb' && e.role === 'deployer' ? 'Role' : 'ClusterRole';
  const r = readRbacObject(kind, { metadata: e.t === 'crb' ? { name: e.name } : { name: e.name, namespace: 'shop' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: roleKind, name: e.role }, subjects: [{ kind: 'User', name: e.user }] });
  return r.kind === 'object' ? { type: 'upsert' as const, value: r.value as RbacBinding } : undefined;
}

const snapshot = (s: PostureState) => {
  const { findings, expected } = postureFindings(s);
  return { findings: findings.map((f) => f.actual), expected: expected.map((e) => e.finding.key) };
};

test('property: the incremental state after any events equals judging the final model in full', async (t) => {
  const { model } = buildModel(loadPostureFixture('weak'));
  const initial = judgeAll(model);
  await checkProperty(t, fc.property(fc.array(eventArb, { minLength: 1, maxLength: 12 }), (events) => {
    let state = initial;
    const open = new Set(postureFindings(state).findings.map((f) => f.key));
    for (const e of events) {
      const change = toChange(e);
      if (!change) continue;
      const d = applyPostureChange(state, change);
      for (const f of d.resolved) if (!open.delete(f.key)) return false;
      for (const f of d.opened) {
        if (open.has(f.key)) return false;
        open.add(f.key);
      }
      state = d.state;
    }
    const full = judgeAll(state.model);
    const a = snapshot(state);
    const b = snapshot(full);
    // The deltas add up to the final set, and the final set is the full judgement's.
    return JSON.stringify(a) === JSON.stringify(b) && [...open].sort().join() === postureFindings(full).findings.map((f) => f.key).sort().join();
  }), 150);
});
