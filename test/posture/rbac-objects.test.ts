// Reading RBAC objects from untrusted JSON: anything at all is read without a throw, and what
// is refused says why, with a code from the closed set. Then the refusals one by one.
import test from 'ava';
import { buildModel, refusalCounts } from '../../collector/posture/rbac-model.js';
import { readRbacObject, REFUSAL_CODES, RBAC_KINDS, DEFAULT_RBAC_LIMITS } from '../../collector/posture/rbac-objects.js';
import { checkProperty, fc } from '../helpers/property.js';

const RBAC = 'rbac.authorization.k8s.io';
const validRole = { metadata: { name: 'r', namespace: 'ns' }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }, { apiGroups: ['apps'], resources: ['*'], verbs: ['*'], resourceNames: ['x'] }] };
const validBinding = { metadata: { name: 'b', namespace: 'ns' }, roleRef: { apiGroup: RBAC, kind: 'Role', name: 'r' }, subjects: [{ kind: 'User', apiGroup: RBAC, name: 'u' }, { kind: 'ServiceAccount', name: 'sa' }] };

/** A JSON value that sometimes replaces part of a valid object, so the reader meets near misses. */
const mutated = (base: unknown) => fc.tuple(fc.array(fc.constantFrom('metadata', 'name', 'namespace', 'rules', 0, 1, 'verbs', 'apiGroups', 'resources', 'nonResourceURLs', 'roleRef', 'kind', 'subjects', 'labels'), { maxLength: 4 }), fc.jsonValue())
  .map(([path, value]) => {
    const copy = JSON.parse(JSON.stringify(base)) as Record<string | number, unknown>;
    let at: any = copy;
    for (const key of path.slice(0, -1)) {
      if (typeof at !== 'object' || at === null) break;
      at = at[key] ??= {};
    }
    if (typeof at === 'object' && at !== null && path.length > 0) at[path[path.length - 1] as string] = value;
    return path.length === 0 ? value : copy;
  });

test('property: the reader never throws, and every refusal names a known code and a reason', async (t) => {
  let refused = 0;
  await checkProperty(t, fc.property(fc.constantFrom(...RBAC_KINDS), fc.oneof(fc.anything(), mutated(validRole), mutated(validBinding)), (kind, raw) => {
    const r = readRbacObject(kind, raw);
    if (r.kind === 'object') return r.key.length > 0;
    refused++;
    return (REFUSAL_CODES as readonly string[]).includes(r.code) && r.reason.startsWith(`${kind}: `) && r.reason.length > kind.length + 4;
  }), 2000);
  t.true(refused > 500);
});

test('valid objects are read as written; a ServiceAccount subject without a namespace takes the binding\'s', (t) => {
  const role = readRbacObject('Role', validRole);
  t.like(role, { kind: 'object', key: 'ns/r' });
  const binding = readRbacObject('RoleBinding', validBinding);
  if (binding.kind !== 'object') return t.fail(binding.reason);
  t.deepEqual(binding.value.subjects, [{ kind: 'User', name: 'u' }, { kind: 'ServiceAccount', name: 'sa', namespace: 'ns' }]);
  // An aggregated ClusterRole the controller has not filled yet serves no rules.
  t.like(readRbacObject('ClusterRole', { metadata: { name: 'admin' }, aggregationRule: { clusterRoleSelectors: [] }, rules: null }), { kind: 'object', value: { rules: [], aggregated: true } });
});

test('each refusal has its code and says what is wrong', (t) => {
  const refused = (kind: Parameters<typeof readRbacObject>[0], raw: unknown) => {
    const r = readRbacObject(kind, raw);
    return r.kind === 'invalid' ? `${r.code}: ${r.reason}` : 'read';
  };
  t.is(refused('Role', 'x'), 'not-an-object: Role: not a JSON object');
  t.is(refused('Role', { metadata: { name: 'r' }, rules: [] }), 'bad-metadata: Role: a Role needs metadata.namespace (1 to 253 characters)');
  t.is(refused('ClusterRole', { metadata: { name: 'r' }, rules: [{ verbs: ['get'], resources: ['pods'], apiGroups: [''], nonResourceURLs: ['/x'] }] }),
    'bad-rule: ClusterRole: rules[0] names both resources and nonResourceURLs');
  t.is(refused('Role', { metadata: { name: 'r', namespace: 'n' }, rules: [{ verbs: ['get'], nonResourceURLs: ['/x'] }] }), 'bad-rule: Role: rules[0]: a namespaced Role cannot name nonResourceURLs');
  t.is(refused('ClusterRole', { metadata: { name: 'r' }, rules: [{ verbs: [], resources: ['pods'], apiGroups: [''] }] }), 'bad-rule: ClusterRole: rules[0] has no verbs');
  t.is(refused('ClusterRole', { metadata: { name: 'r' }, rules: Array.from({ length: DEFAULT_RBAC_LIMITS.maxRules + 1 }, () => ({ verbs: ['get'], resources: ['pods'], apiGroups: [''] })) }),
    `too-many-rules: ClusterRole: ${DEFAULT_RBAC_LIMITS.maxRules + 1} rules, more than ${DEFAULT_RBAC_LIMITS.maxRules}`);
  t.is(refused('ClusterRole', { metadata: { name: 'r' }, rules: [{ verbs: ['g'.repeat(2000)], resources: ['pods'], apiGroups: [''] }] }), 'bad-rule: ClusterRole: rules[0].verbs holds an entry longer than 1024 characters');
  t.is(refused('ClusterRoleBinding', { metadata: { name: 'b' }, roleRef: { apiGroup: RBAC, kind: 'Role', name: 'r' } }), 'bad-role-ref: ClusterRoleBinding: a ClusterRoleBinding can only refer to a ClusterRole');
  t.is(refused('ClusterRoleBinding', { metadata: { name: 'b' }, roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: 'r' }, subjects: [{ kind: 'ServiceAccount', name: 'sa' }] }),
    'bad-subject: ClusterRoleBinding: subjects[0]: a ServiceAccount subject of a ClusterRoleBinding needs a namespace');
  t.is(refused('ClusterRoleBinding', { metadata: { name: 'b' }, roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: 'r' }, subjects: Array.from({ length: 1025 }, () => ({ kind: 'User', name: 'u' })) }),
    'too-many-subjects: ClusterRoleBinding: 1025 subjects, more than 1024');
  t.is(refused('RoleBinding', { metadata: { name: 'b', namespace: 'n' }, roleRef: { apiGroup: RBAC, kind: 'Role', name: 'r' }, subjects: [{ kind: 'Robot', name: 'x' }] }),
    'bad-subject: RoleBinding: subjects[0].kind must be User, Group or ServiceAccount');
});

test('a model built from good and bad objects keeps the good ones and counts the bad by code', (t) => {
  const { model, refusals } = buildModel([
    { kind: 'Role', object: validRole },
    { kind: 'RoleBinding', object: validBinding },
    { kind: 'Role', object: { metadata: { name: 'bad', namespace: 'ns' }, rules: 'all' } },
    { kind: 'ClusterRole', object: null },
  ]);
  t.is(model.roles.size, 1);
  t.is(model.roleBindings.size, 1);
  t.deepEqual(refusals.map((r) => [r.kind, r.key, r.code]), [['Role', 'ns/bad', 'bad-rules'], ['ClusterRole', '', 'not-an-object']]);
  t.deepEqual(refusalCounts(refusals), { 'bad-rules': 1, 'not-an-object': 1 });
});
