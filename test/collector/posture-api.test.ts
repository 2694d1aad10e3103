// GET /api/v1/posture/who-can and /api/v1/posture/status through the real API (Fastify, SQLite,
// tokens) with posture views built from the fixture object sets: golden answers for each form a
// grant takes (resourceNames, subresource, *, a RoleBinding to a ClusterRole, a ServiceAccount
// group, a non-resource path), the caveats in every answer, 400s that say what is wrong, 401
// without a token, 503 while posture is off or not synced, and any query string is a 200, 400
// or 503, never a 500 (a property over arbitrary ones).
import test from 'ava';
import { buildTestApi, type TestApi } from '../helpers/api-app.js';
import { READER_TOKEN } from '../helpers/collector.js';
import { fixtureView } from '../helpers/posture.js';
import { checkProperty, fc } from '../helpers/property.js';
import { CAVEATS } from '../../collector/posture/who-can.js';

let fresh: TestApi;
let weak: TestApi;
let off: TestApi;
let syncing: TestApi;

test.before(async () => {
  [fresh, weak, off, syncing] = await Promise.all([
    buildTestApi({ posture: fixtureView(['kubeadm-fresh']) }),
    buildTestApi({ posture: fixtureView(['weak']) }),
    buildTestApi(),
    buildTestApi({ posture: fixtureView(['weak'], { synced: false }) }),
  ]);
});
test.after.always(async () => {
  await Promise.all([fresh, weak, off, syncing].map((a) => a?.close()));
});

interface Grant { binding: { kind: string; namespace: string; name: string }; role: { kind: string; name: string }; ruleIndex: number; namespace: string; forms: string[]; wildcards: string[]; rule: Record<string, string[]> }
interface Answer { request: Record<string, string>; subjects: Array<{ subject: { kind: string; name: string; namespace: string }; means: string; grants: Grant[] }>; caveats: Array<{ id: string; text: string }> }

const whoCan = async (api: TestApi, query: Record<string, string>): Promise<Answer> => {
  const res = await api.get(`/api/v1/posture/who-can?${new URLSearchParams(query)}`);
  if (res.status !== 200) throw new Error(`${res.status} ${res.body}`);
  return JSON.parse(res.body) as Answer;
};

/** One line per grant: subject, binding -> role #rule, forms. */
const lines = (a: Answer): string[] => a.subjects.flatMap((s) => s.grants.map((g) =>
  `${s.subject.kind}:${s.subject.namespace ? `${s.subject.namespace}/` : ''}${s.subject.name} ${g.binding.kind}/${g.binding.namespace ? `${g.binding.namespace}/` : ''}${g.binding.name} -> ${g.role.kind}/${g.role.name}#${g.ruleIndex} [${g.forms.join(',')}]${g.wildcards.length ? ` *${g.wildcards.join(',')}` : ''}`));

test('resourceNames: anonymous may get the one cluster-info ConfigMap in kube-public (fresh kubeadm)', async (t) => {
  const a = await whoCan(fresh, { verb: 'get', resource: 'configmaps', namespace: 'kube-public', name: 'cluster-info' });
  t.deepEqual(lines(a), [
    'Group:kubeadm:cluster-admins ClusterRoleBinding/kubeadm:cluster-admins -> ClusterRole/cluster-admin#0 [wildcard] *verbs,apiGroups,resources',
    'Group:system:masters ClusterRoleBinding/cluster-admin -> ClusterRole/cluster-admin#0 [wildcard] *verbs,apiGroups,resources',
    'ServiceAccount:kube-system/bootstrap-signer RoleBinding/kube-public/system:controller:bootstrap-signer -> Role/system:controller:bootstrap-signer#0 []',
    'ServiceAccount:kube-system/generic-garbage-collector ClusterRoleBinding/system:controller:generic-garbage-collector -> ClusterRole/system:controller:generic-garbage-collector#0 [wildcard] *apiGroups,resources',
    'ServiceAccount:kube-system/namespace-controller ClusterRoleBinding/system:controller:namespace-controller -> ClusterRole/system:controller:namespace-controller#2 [wildcard] *apiGroups,resources',
    'User:system:anonymous RoleBinding/kube-public/kubeadm:bootstrap-signer-clusterinfo -> Role/kubeadm:bootstrap-signer-clusterinfo#0 [resourceNames]',
    'User:system:kube-controller-manager ClusterRoleBinding/system:kube-controller-manager -> ClusterRole/system:kube-controller-manager#5 []',
  ]);
  const anonymous = a.subjects.find((s) => s.subject.name === 'system:anonymous')!;
  t.is(anonymous.means, 'every request without credentials, when anonymous auth is on');
  t.deepEqual(anonymous.grants[0], {
    binding: { kind: 'RoleBinding', namespace: 'kube-public', name: 'kubeadm:bootstrap-signer-clusterinfo' },
    role: { kind: 'Role', namespace: 'kube-public', name: 'kubeadm:bootstrap-signer-clusterinfo' },
    ruleIndex: 0, rule: { verbs: ['get'], apiGroups: [''], resources: ['configmaps'], resourceNames: ['cluster-info'], nonResourceURLs: [] },
    namespace: 'kube-public', forms: ['resourceNames'], wildcards: [],
  });
  // Another ConfigMap, and the list of them: the rule names one object only.
  const other = await whoCan(fresh, { verb: 'get', resource: 'configmaps', namespace: 'kube-public', name: 'kubeadm-config' });
  t.false(other.subjects.some((s) => s.subject.name === 'system:anonymous'));
  const list = await whoCan(fresh, { verb: 'list', resource: 'configmaps', namespace: 'kube-public' });
  t.false(list.subjects.some((s) => s.subject.name === 'system:anonymous'));
  t.deepEqual(a.request, { verb: 'get', apiGroup: '', resource: 'configmaps', subresource: '', namespace: 'kube-public', name: 'cluster-info', nonResourceURL: '' });
});

test('a non-resource path, granted to every ServiceAccount through the group system:serviceaccounts (fresh kubeadm)', async (t) => {
  const a = await whoCan(fresh, { verb: 'get', nonResourceURL: '/openid/v1/jwks' });
  t.deepEqual(lines(a), [
    'Group:kubeadm:cluster-admins ClusterRoleBinding/kubeadm:cluster-admins -> ClusterRole/cluster-admin#1 [wildcard,nonResourceURL] *verbs,nonResourceURLs',
    'Group:system:masters ClusterRoleBinding/cluster-admin -> ClusterRole/cluster-admin#1 [wildcard,nonResourceURL] *verbs,nonResourceURLs',
    'Group:system:serviceaccounts ClusterRoleBinding/system:service-account-issuer-discovery -> ClusterRole/system:service-account-issuer-discovery#0 [serviceAccountGroup,nonResourceURL]',
  ]);
  t.is(a.subjects[2]!.means, 'every ServiceAccount in every namespace');
  t.is(a.subjects[2]!.grants[0]!.namespace, '', 'a ClusterRoleBinding grants everywhere');
});

test('a subresource through */scale (the HPA) and through its own name (nodes/proxy)', async (t) => {
  const scale = await whoCan(fresh, { verb: 'update', apiGroup: 'apps', resource: 'deployments', subresource: 'scale', namespace: 'shop' });
  t.deepEqual(lines(scale).slice(2), [
    'ServiceAccount:kube-system/generic-garbage-collector ClusterRoleBinding/system:controller:generic-garbage-collector -> ClusterRole/system:controller:generic-garbage-collector#0 [wildcard] *apiGroups,resources',
    'ServiceAccount:kube-system/horizontal-pod-autoscaler ClusterRoleBinding/system:controller:horizontal-pod-autoscaler -> ClusterRole/system:controller:horizontal-pod-autoscaler#2 [subresource,wildcard] *apiGroups,resources',
  ]);
  const proxy = await whoCan(weak, { verb: 'get', resource: 'nodes', subresource: 'proxy', name: 'node-a' });
  t.deepEqual(lines(proxy), [
    'Group:ops ClusterRoleBinding/ops-admins -> ClusterRole/cluster-admin#0 [wildcard] *verbs,apiGroups,resources',
    'ServiceAccount:monitoring/prometheus ClusterRoleBinding/prometheus-node-proxy -> ClusterRole/node-proxy#0 [subresource]',
  ]);
  // nodes/proxy is not nodes.
  t.deepEqual(lines(await whoCan(weak, { verb: 'get', resource: 'nodes', name: 'node-a' })).map((l) => l.split(' ')[0]), ['Group:ops']);
});

test('a RoleBinding to a ClusterRole grants in its namespace only; * in apiGroups; the caveats come with every answer (weak set)', async (t) => {
  const shop = await whoCan(weak, { verb: 'get', resource: 'secrets', namespace: 'shop', name: 'db' });
  t.deepEqual(lines(shop), [
    'Group:ops ClusterRoleBinding/ops-admins -> ClusterRole/cluster-admin#0 [wildcard] *verbs,apiGroups,resources',
    'ServiceAccount:shop/app RoleBinding/shop/app-reads-secrets -> ClusterRole/secret-reader#0 [roleBindingToClusterRole]',
  ]);
  t.is(shop.subjects[1]!.grants[0]!.namespace, 'shop');
  t.deepEqual(lines(await whoCan(weak, { verb: 'get', resource: 'secrets', namespace: 'other', name: 'db' })).map((l) => l.split(' ')[0]), ['Group:ops']);
  const deployments = await whoCan(weak, { verb: 'get', apiGroup: 'extensions', resource: 'deployments', namespace: 'x' });
  t.deepEqual(lines(deployments), [
    'Group:ops ClusterRoleBinding/ops-admins -> ClusterRole/cluster-admin#0 [wildcard] *verbs,apiGroups,resources',
    'User:dev ClusterRoleBinding/dev-anything -> ClusterRole/any-group-deployments#0 [wildcard] *apiGroups',
  ]);
  t.deepEqual(shop.caveats, CAVEATS.map((c) => ({ id: c.id, text: c.text })));
  // Nobody: an empty list, and the caveats still.
  const none = await whoCan(weak, { verb: 'post', nonResourceURL: '/nowhere' });
  t.deepEqual(none.subjects.map((s) => s.subject.name), ['ops'], 'only cluster-admin reaches every path');
  const nobody = await whoCan(weak, { verb: 'get', apiGroup: 'no.such.group', resource: 'widgets', namespace: 'x' });
  t.deepEqual(nobody.subjects.map((s) => s.subject.name), ['ops']);
  t.is(nobody.caveats.length, 4);
});

test('bad input is a 400 that says what is wrong, posture on or off', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['resource=pods', /^parameter verb is required$/],
    ['verb=get', /^give either resource or nonResourceURL$/],
    ['verb=get&resource=pods&nonResourceURL=/metrics', /^give either resource or nonResourceURL$/],
    ['verb=get&nonResourceURL=/metrics&namespace=a', /^a nonResourceURL request takes no apiGroup, subresource, namespace or name$/],
    ['verb=get&nonResourceURL=metrics', /^nonResourceURL must start with \/$/],
    ['verb=&resource=pods', /^parameter verb must NOT have fewer than 1 characters$/],
    [`verb=get&resource=pods&namespace=${'n'.repeat(64)}`, /^parameter namespace must NOT have more than 63 characters$/],
    [`verb=get&resource=${'r'.repeat(254)}`, /^parameter resource must NOT have more than 253 characters$/],
    ['verb=get&verb=list&resource=pods', /^parameter verb must be string$/],
    ['verb=get&resource=pods&group=apps', /^parameter group is not known$/],
  ];
  for (const api of [weak, off]) {
    for (const [query, message] of cases) {
      const res = await api.get(`/api/v1/posture/who-can?${query}`);
      t.is(res.status, 400, `${query}: ${res.body}`);
      t.regex(JSON.parse(res.body).error, message, query);
    }
  }
});

test('a token is needed (401 without one); a reader may ask', async (t) => {
  const anonymous = await weak.app.inject({ method: 'GET', url: '/api/v1/posture/who-can?verb=get&resource=pods' });
  t.is(anonymous.statusCode, 401);
  t.is(JSON.parse(anonymous.body).error, 'a valid bearer token is required');
  t.is((await weak.app.inject({ method: 'GET', url: '/api/v1/posture/status' })).statusCode, 401);
  const reader = await weak.app.inject({ method: 'GET', url: '/api/v1/posture/who-can?verb=get&resource=pods', headers: { authorization: `Bearer ${READER_TOKEN}` } });
  t.is(reader.statusCode, 200, reader.body);
});

test('503 while posture is off or not synced, saying which; the status route says where the watch stands', async (t) => {
  const noView = await off.get('/api/v1/posture/who-can?verb=get&resource=pods');
  t.is(noView.status, 503);
  t.regex(JSON.parse(noView.body).error, /^cluster posture is off: this collector does not watch the Kubernetes API/);
  t.is(noView.headers['retry-after'], undefined, 'waiting does not help');
  const notYet = await syncing.get('/api/v1/posture/who-can?verb=get&resource=pods');
  t.is(notYet.status, 503);
  t.regex(JSON.parse(notYet.body).error, /^cluster posture is not synced yet: the first list of ClusterRoleBinding, RoleBinding has not been read in full/);
  t.is(notYet.headers['retry-after'], '5');

  t.deepEqual(JSON.parse((await off.get('/api/v1/posture/status')).body), { enabled: false, synced: false, kinds: [] });
  t.deepEqual(JSON.parse((await syncing.get('/api/v1/posture/status')).body).kinds.map((k: { synced: boolean }) => k.synced), [true, true, false, false]);
  const status = JSON.parse((await weak.get('/api/v1/posture/status')).body);
  t.true(status.enabled);
  t.true(status.synced);
  t.deepEqual(status.kinds, [
    { kind: 'ClusterRole', synced: true, objects: 11, refused: 0 },
    { kind: 'Role', synced: true, objects: 1, refused: 0 },
    { kind: 'ClusterRoleBinding', synced: true, objects: 9, refused: 0 },
    { kind: 'RoleBinding', synced: true, objects: 2, refused: 0 },
  ]);
});

test('the dashboard serves the Who can page, named and in the menu of every page', async (t) => {
  const page = await weak.get('/ui/who-can');
  t.is(page.status, 200);
  t.regex(page.body, /<title>Who can · nodeward<\/title>[\s\S]*<body data-page="who-can">/);
  t.false(page.body.includes('{{'), 'no placeholder left');
  t.regex((await weak.get('/ui/findings')).body, /<a href="\/ui\/who-can" data-nav="who-can">Who can<\/a>/);
});

const KEYS = ['verb', 'resource', 'subresource', 'apiGroup', 'namespace', 'name', 'nonResourceURL', 'limit', 'x', '__proto__', 'constructor'];
const VALUES = fc.oneof(
  fc.constantFrom('get', 'list', '*', '', 'pods', 'secrets', '/metrics', '/', 'kube-system', 'exec', 'apps', '%', '%00', '&', '=', 'Infinity'),
  fc.string({ maxLength: 80 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.nat(2000).map((n) => 'a'.repeat(n)),
);

test('property: any query string is a 200, a 400 or (posture off) a 503, never a 500', async (t) => {
  const statuses = new Set<number>();
  await checkProperty(t, fc.asyncProperty(
    fc.array(fc.tuple(fc.constantFrom(...KEYS), VALUES), { maxLength: 8 }),
    fc.constantFrom('', 'verb=get&resource=pods&', 'verb=list&nonResourceURL=/api&'), fc.boolean(), fc.boolean(),
    async (pairs, base, raw, postureOff) => {
      // Encoded as a browser would, or spliced in raw (invalid escapes, bare & and =), after a valid start or none.
      const qs = base + (raw ? pairs.map(([k, v]) => `${k}=${v}`).join('&') : new URLSearchParams(pairs).toString());
      const api = postureOff ? off : weak;
      const res = await api.get(`/api/v1/posture/who-can?${qs}`);
      statuses.add(res.status);
      const ok = res.status === 200 || res.status === 400 || (postureOff && res.status === 503);
      if (!ok) throw new Error(`${res.status} for ?${qs}: ${res.body}`);
      if (res.status !== 200 && !(JSON.parse(res.body).error?.length > 0)) throw new Error(`no error text for ?${qs}: ${res.body}`);
    },
  ), 300);
  t.true(statuses.has(400) && statuses.has(200), `both answered and refused queries were generated: ${[...statuses].join(', ')}`);
});
