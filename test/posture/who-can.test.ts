// who-can: golden answers for each form a rule can take, then a randomized comparison with a
// brute-force evaluator written here, apart from the module: for every generated object set,
// request and caller, both must find the same grants and the same allow/deny.
import test from 'ava';
import { buildModel, type RawRbacObject } from '../../collector/posture/rbac-model.js';
import { CAVEATS, canI, grantsFor, serviceAccountIdentity, whoCan, type AccessRequest, type Identity } from '../../collector/posture/who-can.js';
import type { RbacKind } from '../../collector/posture/rbac-objects.js';
import { loadPostureFixture } from '../helpers/posture.js';
import { checkProperty, fc } from '../helpers/property.js';

const RBAC = 'rbac.authorization.k8s.io';
const cr = (name: string, rules: unknown[]): RawRbacObject => ({ kind: 'ClusterRole', object: { metadata: { name }, rules } });
const role = (ns: string, name: string, rules: unknown[]): RawRbacObject => ({ kind: 'Role', object: { metadata: { name, namespace: ns }, rules } });
const crb = (name: string, roleName: string, subjects: unknown[]): RawRbacObject => ({ kind: 'ClusterRoleBinding', object: { metadata: { name }, roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: roleName }, subjects } });
const rb = (ns: string, name: string, kind: string, roleName: string, subjects: unknown[]): RawRbacObject =>
  ({ kind: 'RoleBinding', object: { metadata: { name, namespace: ns }, roleRef: { apiGroup: RBAC, kind, name: roleName }, subjects } });
const user = (name: string) => ({ apiGroup: RBAC, kind: 'User', name });
const group = (name: string) => ({ apiGroup: RBAC, kind: 'Group', name });
const sa = (namespace: string, name: string) => ({ kind: 'ServiceAccount', name, namespace });

const model = buildModel([
  cr('exec', [{ apiGroups: [''], resources: ['pods/exec'], verbs: ['create'] }]),
  cr('one-secret', [{ apiGroups: [''], resources: ['secrets'], resourceNames: ['tls'], verbs: ['get'] }]),
  cr('star', [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }]),
  cr('scale', [{ apiGroups: ['apps'], resources: ['*/scale'], verbs: ['update'] }]),
  cr('metrics', [{ nonResourceURLs: ['/metrics', '/debug/*'], verbs: ['get'] }]),
  role('shop', 'reader', [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }]),
  crb('ops-exec', 'exec', [group('ops')]),
  rb('shop', 'dev-exec', 'ClusterRole', 'exec', [user('dev')]),
  rb('shop', 'tls-reader', 'ClusterRole', 'one-secret', [sa('shop', 'web')]),
  rb('shop', 'all-sas', 'Role', 'reader', [group('system:serviceaccounts:shop')]),
  rb('shop', 'defaulted', 'Role', 'reader', [{ kind: 'ServiceAccount', name: 'ci' }]),
  crb('root', 'star', [user('root')]),
  crb('scaler', 'scale', [sa('kube-system', 'hpa')]),
  crb('prom', 'metrics', [group('system:monitoring')]),
  rb('shop', 'metrics-in-ns', 'ClusterRole', 'metrics', [user('ignored')]),
]).model;

const who = (req: AccessRequest) => whoCan(model, req).subjects.map((s) => `${s.subject.kind}:${'namespace' in s.subject ? `${s.subject.namespace}/` : ''}${s.subject.name} via ${s.grants.map((g) => `${g.binding.name}#${g.ruleIndex}`).join(',')}`);

test('subresources: pods/exec in a namespace, through a ClusterRoleBinding and a RoleBinding to a ClusterRole', (t) => {
  t.deepEqual(who({ verb: 'create', resource: 'pods', subresource: 'exec', namespace: 'shop' }), ['Group:ops via ops-exec#0', 'User:dev via dev-exec#0', 'User:root via root#0']);
  // The RoleBinding grants in its namespace only.
  t.deepEqual(who({ verb: 'create', resource: 'pods', subresource: 'exec', namespace: 'other' }), ['Group:ops via ops-exec#0', 'User:root via root#0']);
  // pods/exec is not pods.
  t.deepEqual(who({ verb: 'create', resource: 'pods', namespace: 'shop' }), ['User:root via root#0']);
});

test('resourceNames: the named object only, never a request without a name', (t) => {
  t.deepEqual(who({ verb: 'get', resource: 'secrets', namespace: 'shop', name: 'tls' }), ['ServiceAccount:shop/web via tls-reader#0', 'User:root via root#0']);
  t.deepEqual(who({ verb: 'get', resource: 'secrets', namespace: 'shop', name: 'db' }), ['User:root via root#0']);
  t.deepEqual(who({ verb: 'get', resource: 'secrets', namespace: 'shop' }), ['User:root via root#0']);
});

test('"*" and */subresource', (t) => {
  t.deepEqual(who({ verb: 'update', apiGroup: 'apps', resource: 'deployments', subresource: 'scale' }), ['ServiceAccount:kube-system/hpa via scaler#0', 'User:root via root#0']);
  t.deepEqual(who({ verb: 'update', apiGroup: 'apps', resource: 'deployments' }), ['User:root via root#0']);
  t.deepEqual(who({ verb: 'escalate', apiGroup: RBAC, resource: 'clusterroles' }), ['User:root via root#0']);
});

test('ServiceAccount subjects and their groups; a RoleBinding subject without a namespace is in the binding\'s', (t) => {
  t.deepEqual(who({ verb: 'list', resource: 'pods', namespace: 'shop' }), ['Group:system:serviceaccounts:shop via all-sas#0', 'ServiceAccount:shop/ci via defaulted#0', 'User:root via root#0']);
  const answer = whoCan(model, { verb: 'list', resource: 'pods', namespace: 'shop' });
  t.is(answer.subjects[0]?.means, 'every ServiceAccount in namespace shop');
  t.is(canI(model, serviceAccountIdentity('shop', 'anything'), { verb: 'list', resource: 'pods', namespace: 'shop' }).length, 1);
  t.is(canI(model, serviceAccountIdentity('other', 'anything'), { verb: 'list', resource: 'pods', namespace: 'shop' }).length, 0);
  // A cluster-wide list is not granted by a RoleBinding.
  t.deepEqual(who({ verb: 'list', resource: 'pods' }), ['User:root via root#0']);
});

test('nonResourceURLs: exact, trailing * as a prefix, and only through ClusterRoleBindings', (t) => {
  t.deepEqual(who({ verb: 'get', nonResourceURL: '/metrics' }), ['Group:system:monitoring via prom#0']);
  t.deepEqual(who({ verb: 'get', nonResourceURL: '/debug/pprof/heap' }), ['Group:system:monitoring via prom#0']);
  t.deepEqual(who({ verb: 'get', nonResourceURL: '/metricsx' }), []);
  t.deepEqual(who({ verb: 'post', nonResourceURL: '/metrics' }), []);
});

test('every answer carries the caveats; a malformed request says why', (t) => {
  const a = whoCan(model, { verb: 'get', resource: 'pods' });
  t.deepEqual(a.caveats.map((c) => c.id), ['system-masters', 'node-authorizer', 'other-authorizers', 'identities']);
  t.is(a.caveats, CAVEATS);
  t.is(whoCan(model, { verb: 'get' }).problem, 'give either resource or nonResourceURL');
  t.is(whoCan(model, { verb: 'get', nonResourceURL: '/x', namespace: 'a' }).problem, 'a nonResourceURL request takes no apiGroup, subresource, namespace or name');
  t.is(whoCan(model, { verb: '', resource: 'pods' }).problem, 'verb is required');
});

test('on the fresh kubeadm set: who can read secrets in kube-system', (t) => {
  const fresh = buildModel(loadPostureFixture('kubeadm-fresh')).model;
  const a = whoCan(fresh, { verb: 'list', resource: 'secrets', namespace: 'kube-system' });
  t.deepEqual(a.subjects.map((s) => `${s.subject.kind}:${s.subject.name}`), [
    'Group:kubeadm:cluster-admins', 'Group:system:masters',
    'ServiceAccount:bootstrap-signer', 'ServiceAccount:generic-garbage-collector', 'ServiceAccount:namespace-controller',
    'ServiceAccount:resourcequota-controller', 'ServiceAccount:token-cleaner', 'User:system:kube-controller-manager',
  ]);
});

// ---- The brute-force evaluator: the RBAC authorizer's rules, restated plainly over raw JSON.
type Raw = { kind: RbacKind; object: any };

function naiveGrants(objects: readonly Raw[], req: AccessRequest): Set<string> {
  const out = new Set<string>();
  const isUrl = !!req.nonResourceURL;
  for (const b of objects) {
    if (b.kind !== 'ClusterRoleBinding' && b.kind !== 'RoleBinding') continue;
    const bns: string = b.object.metadata.namespace ?? '';
    if (b.kind === 'RoleBinding' && (isUrl || (req.namespace ?? '') !== bns)) continue;
    const ref = b.object.roleRef;
    const r = objects.find((o) => o.kind === ref.kind && o.object.metadata.name === ref.name && (ref.kind === 'ClusterRole' || o.object.metadata.namespace === bns));
    if (!r) continue;
    (r.object.rules as any[]).forEach((rule, i) => {
      const verbs: string[] = rule.verbs ?? [];
      if (!verbs.includes('*') && !verbs.includes(req.verb)) return;
      if (isUrl) {
        const urls: string[] = rule.nonResourceURLs ?? [];
        const ok = urls.some((u) => u === '*' || u === req.nonResourceURL || (u.endsWith('*') && req.nonResourceURL!.startsWith(u.slice(0, -1))));
        if (!ok) return;
      } else {
        const groups: string[] = rule.apiGroups ?? [];
        if (!groups.includes('*') && !groups.includes(req.apiGroup ?? '')) return;
        const full = req.subresource ? `${req.resource}/${req.subresource}` : req.resource;
        const res: string[] = rule.resources ?? [];
        if (!res.some((x) => x === '*' || x === full || (!!req.subresource && x === `*/${req.subresource}`))) return;
        const names: string[] = rule.resourceNames ?? [];
        if (names.length > 0 && !names.includes(req.name ?? '')) return;
        if (names.length > 0 && !req.name) return;
      }
      for (const s of b.object.subjects ?? []) {
        const who = s.kind === 'ServiceAccount' ? `ServiceAccount:${s.namespace || bns}/${s.name}` : `${s.kind}:${s.name}`;
        out.add(`${b.kind}/${bns}/${b.object.metadata.name}|${who}|${i}`);
      }
    });
  }
  return out;
}

function naiveAllows(objects: readonly Raw[], id: Identity, req: AccessRequest): boolean {
  for (const g of naiveGrants(objects, req)) {
    const who = g.split('|')[1] as string;
    const [kind, name] = [who.slice(0, who.indexOf(':')), who.slice(who.indexOf(':') + 1)];
    if (kind === 'User' && name === id.user) return true;
    if (kind === 'Group' && id.groups.includes(name)) return true;
    if (kind === 'ServiceAccount') {
      const [ns, n] = name.split('/');
      if (id.user === `system:serviceaccount:${ns}:${n}`) return true;
    }
  }
  return false;
}

const pick = <T>(xs: readonly T[]) => fc.subarray([...xs], { minLength: 1, maxLength: 3 });
const VERBS = ['get', 'list', 'create', 'delete', 'escalate', '*'];
const GROUPS = ['', 'apps', '*'];
const RESOURCES = ['pods', 'pods/exec', 'secrets', 'deployments', 'deployments/scale', '*/scale', 'nodes/proxy', '*'];
const URLS = ['/healthz', '/api', '/api/*', '/metrics', '*'];
const NAMESPACES = ['ns1', 'ns2'];
const SUBJECTS = [
  user('u1'), user('system:anonymous'), user('system:serviceaccount:ns1:sa1'), group('g1'), group('system:authenticated'),
  group('system:unauthenticated'), group('system:serviceaccounts'), group('system:serviceaccounts:ns1'), sa('ns1', 'sa1'), sa('ns2', 'sa1'),
  { kind: 'ServiceAccount', name: 'sa1' },
];
const resourceRule = fc.record({ verbs: pick(VERBS), apiGroups: pick(GROUPS), resources: pick(RESOURCES), resourceNames: fc.subarray(['a', 'b'], { maxLength: 1 }) });
const urlRule = fc.record({ verbs: pick(VERBS), nonResourceURLs: pick(URLS) });
const objectsArb = fc.record({
  clusterRoles: fc.array(fc.array(fc.oneof(resourceRule, urlRule), { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 3 }),
  roles: fc.array(fc.record({ ns: fc.constantFrom(...NAMESPACES), rules: fc.array(resourceRule, { minLength: 1, maxLength: 3 }) }), { maxLength: 2 }),
  bindings: fc.array(fc.record({
    cluster: fc.boolean(), ns: fc.constantFrom(...NAMESPACES), toRole: fc.boolean(), target: fc.nat(3),
    subjects: fc.subarray(SUBJECTS, { minLength: 1, maxLength: 3 }),
  }), { minLength: 1, maxLength: 6 }),
}).map(({ clusterRoles, roles, bindings }) => {
  const out: Raw[] = [];
  clusterRoles.forEach((rules, i) => out.push(cr(`cr${i}`, rules)));
  roles.forEach((r, i) => out.push(role(r.ns, `r${i}`, r.rules)));
  bindings.forEach((b, i) => {
    const subjects = b.cluster ? b.subjects.filter((s) => s.kind !== 'ServiceAccount' || 'namespace' in s) : b.subjects;
    if (b.cluster) out.push(crb(`b${i}`, `cr${b.target}`, subjects));
    else out.push(rb(b.ns, `b${i}`, b.toRole ? 'Role' : 'ClusterRole', b.toRole ? `r${b.target}` : `cr${b.target}`, subjects));
  });
  return out;
});
const requestArb: fc.Arbitrary<AccessRequest> = fc.oneof(
  fc.record({
    verb: fc.constantFrom('get', 'list', 'create', 'delete', 'escalate', 'patch'), apiGroup: fc.constantFrom('', 'apps', 'batch'),
    resource: fc.constantFrom('pods', 'secrets', 'deployments', 'nodes', 'jobs'), subresource: fc.constantFrom('', 'exec', 'scale', 'proxy'),
    namespace: fc.constantFrom('', 'ns1', 'ns2'), name: fc.constantFrom('', 'a', 'b'),
  }),
  fc.record({ verb: fc.constantFrom('get', 'post'), nonResourceURL: fc.constantFrom('/healthz', '/api', '/api/v1', '/apis', '/metrics', '/metrics/x') }),
);
const IDENTITIES: readonly Identity[] = [
  { user: 'u1', groups: ['g1', 'system:authenticated'] },
  { user: 'system:anonymous', groups: ['system:unauthenticated'] },
  serviceAccountIdentity('ns1', 'sa1'),
  serviceAccountIdentity('ns2', 'sa1'),
  serviceAccountIdentity('ns2', 'other'),
  { user: 'nobody', groups: [] },
];

test('property: who-can and can-i agree with a brute-force evaluation on random roles, bindings and requests', async (t) => {
  let granted = 0;
  let allowed = 0;
  await checkProperty(t, fc.property(objectsArb, fc.array(requestArb, { minLength: 1, maxLength: 8 }), (objects, requests) => {
    const { model: m, refusals } = buildModel(objects);
    if (refusals.length > 0) throw new Error(`generated objects refused: ${refusals[0]?.reason}`);
    for (const req of requests) {
      const got = new Set(grantsFor(m, req).map((g) => `${g.binding.kind}/${g.binding.namespace}/${g.binding.name}|${g.subject.kind === 'ServiceAccount' ? `ServiceAccount:${g.subject.namespace}/${g.subject.name}` : `${g.subject.kind}:${g.subject.name}`}|${g.ruleIndex}`));
      const want = naiveGrants(objects, req);
      if ([...got].sort().join('\n') !== [...want].sort().join('\n')) return false;
      if (got.size > 0) granted++;
      for (const id of IDENTITIES) {
        const yes = canI(m, id, req).length > 0;
        if (yes !== naiveAllows(objects, id, req)) return false;
        if (yes) allowed++;
      }
    }
    return true;
  }), 300);
  // The generator reaches both answers often enough for the comparison to mean something.
  t.true(granted > 100 && allowed > 100, `granted ${granted}, allowed ${allowed}`);
});
