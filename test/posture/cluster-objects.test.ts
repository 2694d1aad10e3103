// The readers of the workload posture objects and the Calico selector parser: arbitrary JSON
// never throws and every refusal carries a known code; what the API server defaults (policy
// types) is read as it defaults it; Secret values never reach the reduced pod; and the parser
// agrees with a brute-force evaluation of the expression it was printed from.
import test from 'ava';
import {
  readCalicoPolicy, readCiliumPolicy, readMarker, readNamespace, readNetworkPolicy, readPodFacts, readServiceAccount, CLUSTER_REFUSAL_CODES,
  type ClusterRead,
} from '../../collector/posture/cluster-objects.js';
import { evaluateCalico, parseCalicoSelector, printCalico, type CalicoExpr } from '../../collector/posture/selectors.js';
import { checkProperty, fc } from '../helpers/property.js';

const READERS: Record<string, (raw: unknown) => ClusterRead<unknown>> = {
  Namespace: readNamespace,
  Pod: readPodFacts,
  ServiceAccount: readServiceAccount,
  NetworkPolicy: readNetworkPolicy,
  CalicoNetworkPolicy: (raw) => readCalicoPolicy(false, raw),
  CalicoGlobalNetworkPolicy: (raw) => readCalicoPolicy(true, raw),
  CiliumNetworkPolicy: (raw) => readCiliumPolicy(false, raw),
  CiliumClusterwideNetworkPolicy: (raw) => readCiliumPolicy(true, raw),
  ResourceQuota: (raw) => readMarker('ResourceQuota', raw),
  LimitRange: (raw) => readMarker('LimitRange', raw),
};

const wellFormed = (r: ClusterRead<unknown>): boolean =>
  r.kind === 'object' || r.kind === 'absent' || (r.kind === 'invalid' && (CLUSTER_REFUSAL_CODES as readonly string[]).includes(r.code) && r.reason.length > 0);

const pod = (spec: Record<string, unknown>, meta: Record<string, unknown> = {}) => ({ metadata: { name: 'p', namespace: 'shop', uid: 'u', ...meta }, spec: { nodeName: 'w1', ...spec } });

test('every reader takes arbitrary JSON without throwing; a refusal has a known code', async (t) => {
  await checkProperty(t, fc.property(fc.jsonValue(), (raw) => Object.values(READERS).every((read) => wellFormed(read(raw)))), 500);
});

test('every reader takes object-shaped junk in the fields it reads without throwing', async (t) => {
  const junk = fc.oneof(fc.jsonValue(), fc.constant(undefined), fc.array(fc.jsonValue(), { maxLength: 3 }), fc.dictionary(fc.constantFrom('name', 'key', 'path', 'type', 'add', 'drop', 'matchLabels', 'matchExpressions'), fc.jsonValue()));
  const shaped = fc.record({
    metadata: fc.record({ name: fc.oneof(fc.constant('x'), junk), namespace: fc.oneof(fc.constant('shop'), junk), uid: fc.constant('u'), labels: junk, ownerReferences: junk }, { requiredKeys: [] }),
    spec: fc.record({
      containers: fc.oneof(junk, fc.array(fc.record({ name: fc.constant('c'), securityContext: junk, ports: junk, env: junk, envFrom: junk }, { requiredKeys: [] }), { maxLength: 3 })),
      initContainers: junk, ephemeralContainers: junk, volumes: junk, securityContext: junk, hostNetwork: junk, serviceAccountName: junk,
      podSelector: junk, policyTypes: junk, egress: junk, selector: junk, namespaceSelector: junk, types: junk, endpointSelector: junk, ingress: junk,
    }, { requiredKeys: [] }),
    specs: junk,
    status: junk,
    automountServiceAccountToken: junk,
  }, { requiredKeys: [] });
  await checkProperty(t, fc.property(shaped, (raw) => Object.values(READERS).every((read) => wellFormed(read(raw)))), 1000);
});

test('a pod is reduced to names and flags: Secret references by name, never an env value', (t) => {
  const r = readPodFacts(pod({
    serviceAccountName: 'api',
    containers: [{
      name: 'web',
      env: [{ name: 'TOKEN', value: 'literal-value-xyz' }, { name: 'DB', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } }],
      envFrom: [{ secretRef: { name: 'keys' }, prefix: 'K_' }, { configMapRef: { name: 'cm' } }],
      ports: [{ containerPort: 80, hostPort: 8080 }, { containerPort: 81 }],
      securityContext: { capabilities: { add: ['NET_ADMIN'], drop: ['ALL'] }, runAsUser: 0 },
    }],
    ephemeralContainers: [{ name: 'debug', securityContext: { privileged: true } }],
    volumes: [{ name: 'root', hostPath: { path: '/' } }, { name: 'tmp', emptyDir: {} }],
  }, { ownerReferences: [{ kind: 'ReplicaSet', name: 'web-5d8f', controller: true }], labels: { 'pod-template-hash': '5d8f' } }));
  if (r.kind !== 'object') return t.fail(JSON.stringify(r));
  t.false(JSON.stringify(r.value).includes('literal-value-xyz'));
  t.deepEqual(r.value.owner, { kind: 'Deployment', name: 'web' });
  t.is(r.value.serviceAccount, 'api');
  t.deepEqual(r.value.hostPaths, [{ volume: 'root', path: '/' }]);
  const web = r.value.containers[0];
  t.deepEqual(web?.secretEnv, [{ variable: 'DB', secret: 'db', key: 'password' }, { variable: 'K_*', secret: 'keys', key: '*' }]);
  t.deepEqual(web?.hostPorts, [8080]);
  t.deepEqual([web?.capAdd, web?.capDrop, web?.runAsUser], [['NET_ADMIN'], ['ALL'], 0]);
  t.like(r.value.containers[1], { name: 'debug', type: 'ephemeralContainer', privileged: true });
});

test('a static pod\'s mirror is one workload across nodes; a finished pod is absent', (t) => {
  const r = readPodFacts(pod({ nodeName: 'cp1' }, { name: 'etcd-cp1', ownerReferences: [{ kind: 'Node', name: 'cp1', controller: true }] }));
  t.like(r, { kind: 'object', value: { owner: { kind: 'Pod', name: 'etcd' }, mirror: true } });
  t.deepEqual(readPodFacts({ ...pod({}), status: { phase: 'Succeeded' } }), { kind: 'absent', key: 'shop/p' });
});

test('refusals name the field: bounds and what the API server refuses itself', (t) => {
  const code = (r: ClusterRead<unknown>): string => (r.kind === 'invalid' ? `${r.code}: ${r.reason}` : r.kind);
  t.is(code(readPodFacts(pod({ hostNetwork: 'yes' }))), 'bad-spec: Pod: spec.hostNetwork is not a boolean');
  t.is(code(readPodFacts(pod({ containers: Array.from({ length: 129 }, (_, i) => ({ name: `c${i}` })) }))), 'too-many-containers: Pod: spec.containers has 129 entries, more than 128');
  t.is(code(readPodFacts(pod({ containers: [{ securityContext: {} }] }))), 'bad-container: Pod: spec.containers[0].name must be 1 to 253 characters');
  t.is(code(readNamespace({ metadata: { name: 'n', labels: { a: 1 } } })), 'bad-labels: Namespace: metadata.labels holds an entry that is not a bounded string');
  t.is(code(readNetworkPolicy({ metadata: { name: 'np', namespace: 'n' }, spec: { podSelector: { matchExpressions: [{ key: 'a', operator: 'In', values: [] }] } } })),
    'bad-selector: NetworkPolicy: spec.podSelector: matchExpressions[0]: In needs values');
  t.is(code(readNetworkPolicy({ metadata: { name: 'np', namespace: 'n' }, spec: { podSelector: {}, policyTypes: ['Sideways'] } })), 'bad-policy-types: NetworkPolicy: unknown policy type "Sideways"');
  t.is(code(readCalicoPolicy(false, { metadata: { name: 'p', namespace: 'n' }, spec: { selector: "app contains 'we'" } })),
    'bad-selector: Calico NetworkPolicy: spec.selector: unsupported after label "app" (token 1)');
  t.is(code(readCalicoPolicy(true, { metadata: { name: 'p' }, spec: { selector: 'all()', serviceAccountSelector: "role == 'x'" } })),
    'bad-selector: GlobalNetworkPolicy: spec.serviceAccountSelector is not read');
  t.is(code(readCiliumPolicy(false, { metadata: { name: 'p', namespace: 'n' }, spec: { ingress: [] } })), 'bad-selector: CiliumNetworkPolicy: rule 0 has neither endpointSelector nor nodeSelector');
  t.is(code(readServiceAccount({ metadata: { name: 'sa' } })), 'bad-metadata: ServiceAccount: a ServiceAccount needs metadata.namespace');
});

test('policy types are read as the API server defaults them', (t) => {
  const np = (spec: Record<string, unknown>) => {
    const r = readNetworkPolicy({ metadata: { name: 'np', namespace: 'n' }, spec: { podSelector: {}, ...spec } });
    return r.kind === 'object' ? r.value.rules.map((x) => [x.ingress, x.egress]) : r;
  };
  t.deepEqual(np({}), [[true, false]]);
  t.deepEqual(np({ egress: [{}] }), [[true, true]]);
  t.deepEqual(np({ egress: [] }), [[true, false]]);
  t.deepEqual(np({ policyTypes: ['Egress'] }), [[false, true]]);
  const calico = (spec: Record<string, unknown>) => {
    const r = readCalicoPolicy(false, { metadata: { name: 'p', namespace: 'n' }, spec: { selector: 'all()', ...spec } });
    return r.kind === 'object' ? r.value.rules.map((x) => [x.ingress, x.egress]) : r;
  };
  t.deepEqual(calico({}), [[true, false]]);
  t.deepEqual(calico({ egress: [{ action: 'Allow' }] }), [[false, true]]);
  t.deepEqual(calico({ ingress: [{ action: 'Allow' }], egress: [{ action: 'Allow' }] }), [[true, true]]);
  t.deepEqual(calico({ types: ['Egress'] }), [[false, true]]);
  const cilium = readCiliumPolicy(false, { metadata: { name: 'p', namespace: 'n' }, specs: [{ endpointSelector: { matchLabels: { 'k8s:app': 'a' } }, ingressDeny: [{}] }, { endpointSelector: {}, egress: [] }, { nodeSelector: {}, ingress: [] }] });
  if (cilium.kind !== 'object') return t.fail();
  t.deepEqual(cilium.value.rules.map((x) => [x.select, x.ingress, x.egress]), [
    [{ lang: 'cilium', selector: { matchLabels: { app: 'a' }, matchExpressions: [] } }, true, false],
    [{ lang: 'cilium', selector: { matchLabels: {}, matchExpressions: [] } }, false, true],
  ]);
});

test('Calico selectors: each form of the language, as Calico evaluates it', (t) => {
  const sel = (s: string, labels: Record<string, string>): boolean | string => {
    const e = parseCalicoSelector(s);
    return typeof e === 'string' ? e : evaluateCalico(e, labels);
  };
  const l = { app: 'web', tier: 'front', 'projectcalico.org/namespace': 'shop' };
  t.true(sel("app == 'web'", l));
  t.false(sel('app == "db"', l));
  t.true(sel("app != 'db'", l));
  t.true(sel("missing != 'x'", l), '!= holds when the label is absent');
  t.true(sel('has(tier)', l));
  t.true(sel('!has(missing)', l));
  t.true(sel("app in {'api', 'web'}", l));
  t.false(sel("app not in {'api', 'web'}", l));
  t.true(sel("missing not in {'a'}", l), 'not in holds when the label is absent');
  t.true(sel("app == 'web' && (tier == 'back' || has(tier))", l));
  t.false(sel("!(app == 'web') || tier == 'back'", l));
  t.true(sel('all()', {}));
  t.true(sel('', {}), 'an empty selector selects all');
  t.true(sel("projectcalico.org/namespace == 'shop'", l));
  t.true(sel("a == 'x' || b == 'y' && c == 'z'", { a: 'x' }), '&& binds tighter than ||');
  for (const bad of ["app contains 'w'", "app starts with 'w'", 'global()', "app == 'web' &&", '(has(a)', "app = 'web'", 'has()', "app in {'a' 'b'}", "'web' == app", 'app ==']) {
    t.is(typeof parseCalicoSelector(bad), 'string', bad);
  }
  t.is(typeof parseCalicoSelector(`${'!'.repeat(40)}all()`), 'string', 'nesting is bounded');
  t.is(typeof parseCalicoSelector(`${'('.repeat(5000)}all()${')'.repeat(5000)}`), 'string', 'length is bounded');
});

test('the Calico parser never throws on arbitrary text', async (t) => {
  const alphabet = fc.constantFrom(...'ab =!&|(){},\'"inothsal.-/_'.split(''), ' in ', ' not in ', 'has(', 'all()', '==', '!=', '&&', '||');
  const text = fc.oneof(fc.string(), fc.array(alphabet, { maxLength: 40 }).map((xs) => xs.join('')));
  await checkProperty(t, fc.property(text, (s) => {
    const r = parseCalicoSelector(s);
    return typeof r === 'string' || typeof r === 'object';
  }), 2000);
});

// A brute-force evaluation, written apart from the parser's evaluator, of the expression the text was printed from.
type Ast = { op: 'all' } | { op: 'eq' | 'ne'; key: string; value: string } | { op: 'has'; key: string } | { op: 'in' | 'notin'; key: string; values: string[] }
  | { op: 'not'; expr: Ast } | { op: 'and' | 'or'; left: Ast; right: Ast };
function brute(e: Ast, labels: Record<string, string>): boolean {
  const v = Object.prototype.hasOwnProperty.call(labels, (e as { key?: string }).key ?? '') ? labels[(e as { key: string }).key] : undefined;
  if (e.op === 'all') return true;
  if (e.op === 'eq') return v === e.value;
  if (e.op === 'ne') return v !== e.value;
  if (e.op === 'has') return v !== undefined;
  if (e.op === 'in') return v !== undefined && e.values.some((x) => x === v);
  if (e.op === 'notin') return v === undefined || e.values.every((x) => x !== v);
  if (e.op === 'not') return !brute(e.expr, labels);
  if (e.op === 'and') return brute(e.left, labels) ? brute(e.right, labels) : false;
  if (e.op === 'or') return brute(e.left, labels) ? true : brute(e.right, labels);
  return false;
}

test('the Calico parser agrees with a brute-force evaluation on random selectors and label sets', async (t) => {
  const key = fc.constantFrom('app', 'tier', 'k8s-app', 'projectcalico.org/namespace', 'in', 'not', 'has');
  const value = fc.constantFrom('web', 'db', '', 'a b', 'x-1', 'in');
  const ast: fc.Arbitrary<Ast> = fc.letrec<{ e: Ast }>((tie) => ({
    e: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.constant({ op: 'all' } as Ast),
      fc.record({ op: fc.constantFrom('eq' as const, 'ne' as const), key, value }),
      fc.record({ op: fc.constant('has' as const), key }),
      fc.record({ op: fc.constantFrom('in' as const, 'notin' as const), key, values: fc.array(value, { maxLength: 3 }) }),
      fc.record({ op: fc.constant('not' as const), expr: tie('e') }),
      fc.record({ op: fc.constantFrom('and' as const, 'or' as const), left: tie('e'), right: tie('e') }),
    ),
  })).e;
  const labels = fc.dictionary(key, value, { maxKeys: 4 });
  await checkProperty(t, fc.property(ast, fc.array(labels, { minLength: 1, maxLength: 5 }), (e, sets) => {
    const text = printCalico(e as CalicoExpr);
    const parsed = parseCalicoSelector(text, { maxEntries: 256, maxString: 1024, maxExpression: 1 << 20, maxDepth: 10_000 });
    if (typeof parsed === 'string') return false;
    return sets.every((l) => evaluateCalico(parsed, l) === brute(e, l));
  }), 1000);
});
