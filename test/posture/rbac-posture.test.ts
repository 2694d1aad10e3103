// The RBAC judge as the posture watch sees it (posture/rbac-posture.ts): its kinds and
// readers, its cluster findings (key, object, detail), and its watch events, which move the
// verdict exactly as judging everything again does; it never throws on what it is handed.
import test from 'ava';
import { createRbacJudge } from '../../collector/posture/rbac-posture.js';
import type { ObjectChange } from '../../collector/posture/judge.js';
import type { PostureState } from '../../collector/posture/rbac-judge.js';
import { RBAC_CHECKS } from '../../collector/posture/rbac-checks.js';
import { loadPostureFixture } from '../helpers/posture.js';
import { checkProperty, fc } from '../helpers/property.js';

const judge = createRbacJudge();

/** What the informers would hold of these objects, by kind then key. */
function held(name: string): Map<string, Map<string, unknown>> {
  const out = new Map(judge.kinds.map((k) => [k.kind, new Map<string, unknown>()] as const));
  for (const o of loadPostureFixture(name)) {
    const kind = judge.kinds.find((k) => k.kind === o.kind)!;
    const r = kind.read(o.object);
    if (r.kind === 'object') out.get(o.kind)!.set(r.key, r.value);
  }
  return out;
}

test('the kinds are the four RBAC collections, read with the bounded readers', (t) => {
  t.deepEqual(judge.kinds.map((k) => k.path), [
    '/apis/rbac.authorization.k8s.io/v1/clusterroles', '/apis/rbac.authorization.k8s.io/v1/roles',
    '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', '/apis/rbac.authorization.k8s.io/v1/rolebindings',
  ]);
  const r = judge.kinds[3]!.read({ metadata: { name: 'x', namespace: 'y' }, roleRef: { kind: 'Nothing' } });
  t.is(r.kind, 'invalid');
  t.regex(r.kind === 'invalid' ? r.reason : '', /^bad-role-ref: /);
});

test('weak: a cluster finding per check, the binding as its object (the ClusterRole for an aggregation label), the rules in its detail', (t) => {
  const { findings, expected } = judge.findings(judge.full(held('weak')));
  t.deepEqual(expected, []);
  for (const c of RBAC_CHECKS) t.true(findings.some((f) => f.checkId === c.id), c.id);
  const minter = findings.find((f) => f.key === 'cis-5.1.13|ClusterRoleBinding/minter-mints|User:minter')!;
  t.is(minter.object, 'ClusterRoleBinding/minter-mints');
  t.is(minter.subject, 'User minter');
  t.deepEqual(minter.detail, {
    binding: 'ClusterRoleBinding/minter-mints', role: 'ClusterRole/token-minter', scope: 'cluster-wide', subject: 'User minter',
    rules: [{ index: 0, rule: 'create on [""] serviceaccounts/token', grants: 'create on serviceaccounts/token' }],
  });
  t.is(findings.find((f) => f.checkId === 'rbac-aggregate-widens')!.object, 'ClusterRole/sneaky-secrets');
  t.is(judge.findings(judge.full(held('kubeadm-fresh'))).findings.length, 0);
  t.is(judge.findings(judge.full(held('kubeadm-fresh'))).expected.length, 61);
});

test('deleting each binding through apply resolves exactly its findings and leaves what judging again gives', (t) => {
  const objects = held('weak');
  const start = judge.full(objects);
  for (const [kind, m] of objects) {
    if (!kind.endsWith('Binding')) continue;
    for (const key of m.keys()) {
      const d = judge.apply(start, { type: 'delete', kind, key });
      const object = `${kind}/${key}`;
      t.true(d.resolved.every((f) => f.object === object), object);
      t.deepEqual(d.opened, []);
      const again = new Map(objects);
      again.set(kind, new Map([...m].filter(([k]) => k !== key)));
      t.deepEqual(judge.findings(d.state).findings.map((f) => f.key), judge.findings(judge.full(again)).findings.map((f) => f.key));
    }
  }
});

test('apply never throws, whatever the change names, and ignores kinds and values that are not its own', async (t) => {
  const start = judge.full(held('weak'));
  const change = fc.oneof(
    fc.record({ type: fc.constant('delete' as const), kind: fc.constantFrom('ClusterRole', 'Role', 'ClusterRoleBinding', 'RoleBinding', 'Pod', ''), key: fc.string() }),
    fc.record({ type: fc.constant('upsert' as const), kind: fc.constantFrom('ClusterRole', 'RoleBinding', 'Namespace'), key: fc.string(), value: fc.anything() }),
  );
  await checkProperty(t, fc.property(change, (c) => {
    const d = judge.apply(start as PostureState, c as ObjectChange);
    return Array.isArray(d.opened) && Array.isArray(d.resolved);
  }), 300);
});
