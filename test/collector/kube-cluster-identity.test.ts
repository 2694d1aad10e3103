// The cluster's identity (collector/kube/cluster-identity.ts): the kube-system namespace's UID
// read through the real HTTPS client from the fake Kubernetes API, the name rule
// (collector/cluster-name.ts) and its config, hostile answers refused and counted, transient
// failures retried on a test clock (no sleeping) up to the deadline, and 403/404 permanent with
// the RBAC rule named, which the manifests grant.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { loadCollectorConfig } from '../../collector/config.js';
import { clusterDisplayName, clusterNameProblem } from '../../collector/cluster-name.js';
import {
  ClusterIdentityError, parseKubeSystemUid, resolveClusterIdentity, KUBE_SYSTEM_PATH, MAX_CLUSTER_UID, type ResolveClusterIdentityOptions,
} from '../../collector/kube/cluster-identity.js';
import { createMetrics, type Metrics } from '../../collector/metrics.js';
import { ConfigError } from '../../proto/support/config-loader.js';
import { createLogger } from '../../proto/support/logger.js';
import { testClock, type TestClock } from '../helpers/clock.js';
import { checkProperty, fc } from '../helpers/property.js';
import { REPO_ROOT } from '../deploy/manifests.js';
import { namespaceObject, startFakePodApi, type FakePodApi } from './fake-pod-api.js';

const log = createLogger('cluster-identity', 'silent');
const UUID = '3f2a9c4e-8d1b-4c7a-9e55-0b6d2f8a1c3e';

const failures = (m: Metrics, reason: string): number => m.get('nodeward_cluster_identity_failures_total', { reason });
const kubeSystemReads = (api: FakePodApi): number => api.requests.filter((r) => r.path === KUBE_SYSTEM_PATH).length;

function options(api: FakePodApi | undefined, over: Partial<ResolveClusterIdentityOptions> = {}): ResolveClusterIdentityOptions & { metrics: Metrics; clock: TestClock } {
  return {
    connection: api?.connection,
    configuredName: '',
    clock: testClock(1_000_000),
    log,
    metrics: createMetrics({ defaultMetrics: false }),
    deadlineMs: 60_000,
    // No jitter: the waits are 250, 500, 1000 ... ms (equal jitter's fixed half).
    random: () => 0,
    ...over,
  } as ResolveClusterIdentityOptions & { metrics: Metrics; clock: TestClock };
}

/** Lets real I/O run (the fake's HTTPS answers) until `done` holds; the test clock does not move. */
async function until(what: string, done: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function rejection(p: Promise<unknown>): Promise<ClusterIdentityError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ClusterIdentityError) return err;
    throw err;
  }
  throw new Error('expected a ClusterIdentityError, got an identity');
}

test('the name rule: the configured name, else the UID\'s first 8 characters, else local', (t) => {
  t.is(clusterDisplayName('prod-eu-1', UUID), 'prod-eu-1');
  t.is(clusterDisplayName('prod-eu-1', ''), 'prod-eu-1');
  t.is(clusterDisplayName('', UUID), '3f2a9c4e');
  t.is(clusterDisplayName('', 'abc'), 'abc');
  t.is(clusterDisplayName('', ''), 'local');
});

test('cluster.name: empty by default, set by file or environment, and a bad one refused clearly', (t) => {
  const base = { grpc: { insecure: true }, api: { insecure: true } };
  t.is(loadCollectorConfig({ env: {}, overrides: base }).cluster.name, '');
  t.is(loadCollectorConfig({ env: {}, overrides: { ...base, cluster: { name: 'prod.eu_1' } } }).cluster.name, 'prod.eu_1');
  t.is(loadCollectorConfig({ env: { NODEWARD_CLUSTER_NAME: 'staging' }, overrides: base }).cluster.name, 'staging');
  const problems = (name: string): readonly string[] => {
    try {
      loadCollectorConfig({ env: {}, overrides: { ...base, cluster: { name } } });
    } catch (err) {
      if (err instanceof ConfigError) return err.problems;
      throw err;
    }
    return [];
  };
  for (const bad of ['*', '-edge', 'edge-', 'two words', 'prod/eu', 'ünï', 'a\u0000b', '.']) {
    const p = problems(bad);
    t.is(p.length, 1, bad);
    t.regex(p[0] ?? '', /^cluster\.name: .* is not a name: use letters, digits, '-', '\.' and '_'/, bad);
  }
  const long = problems('a'.repeat(64));
  t.is(long.length, 1);
  t.true(long[0]?.startsWith('cluster.name: '), long[0]);
  t.deepEqual(problems('a'.repeat(63)), []);
  // The pure check agrees with the bounds the schema holds.
  t.is(clusterNameProblem(''), undefined);
  t.is(clusterNameProblem('a'.repeat(64)), '64 characters; at most 63');
  t.is(clusterNameProblem('k8s-1'), undefined);
});

test('the identity is read from the kube-system namespace over the real HTTPS client, as the ServiceAccount', async (t) => {
  const api = await startFakePodApi();
  t.teardown(() => api.close());
  api.kubeSystem = namespaceObject('kube-system', UUID);
  const o = options(api);
  t.deepEqual(await resolveClusterIdentity(o), { uid: UUID, name: '3f2a9c4e' });
  const reads = api.requests.filter((r) => r.path === KUBE_SYSTEM_PATH);
  t.is(reads.length, 1);
  t.is(reads[0]?.authorization, `Bearer ${api.token}`);
  t.deepEqual(await resolveClusterIdentity(options(api, { configuredName: 'prod-eu-1' })), { uid: UUID, name: 'prod-eu-1' });
  for (const reason of ['transient', 'forbidden', 'not_found', 'invalid', 'other']) t.is(failures(o.metrics, reason), 0, reason);
  // The fake's own default: a Namespace with a random UUID, read as it is.
  const other = await startFakePodApi();
  t.teardown(() => other.close());
  const identity = await resolveClusterIdentity(options(other));
  t.regex(identity.uid, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  t.not(identity.uid, UUID);
});

test('without a Kubernetes API the uid is empty and the name local (or the configured one)', async (t) => {
  t.deepEqual(await resolveClusterIdentity(options(undefined)), { uid: '', name: 'local' });
  t.deepEqual(await resolveClusterIdentity(options(undefined, { configuredName: 'laptop' })), { uid: '', name: 'laptop' });
});

test('hostile answers: the parser never throws, and takes only a bounded hex UID of the kube-system Namespace', async (t) => {
  const uidLike = fc.oneof(
    fc.uuid(),
    fc.string({ maxLength: 80 }),
    fc.stringMatching(/^[0-9a-fA-F-]{0,70}$/),
    fc.constantFrom('', '-', '../../etc', 'a'.repeat(MAX_CLUSTER_UID + 1), 'ABCDEF-0123', '3f2a9c4e\n', '\u0000'),
    fc.anything(),
  );
  const body = fc.oneof(
    fc.jsonValue(),
    fc.anything(),
    fc.record({ kind: fc.constantFrom('Namespace', 'Pod', undefined), metadata: fc.oneof(fc.record({ name: fc.constantFrom('kube-system', 'default'), uid: uidLike }, { requiredKeys: ['name'] }), fc.anything()) }, { requiredKeys: [] }),
  );
  await checkProperty(t, fc.property(body, (json) => {
    const r = parseKubeSystemUid(json);
    if (r.kind === 'uid') {
      return /^[0-9a-fA-F-]{1,64}$/.test(r.uid) && (json as { metadata: { name: string; uid: string } }).metadata.uid === r.uid
        && (json as { metadata: { name: string } }).metadata.name === 'kube-system';
    }
    return r.why.length > 0 && r.why.length < 200;
  }), 2000);
});

test('hostile answers over the wire are refused with a clear reason, counted, and never retried', async (t) => {
  const api = await startFakePodApi();
  t.teardown(() => api.close());
  const cases: Array<[unknown, RegExp]> = [
    [{ kind: 'Namespace', metadata: { name: 'kube-system' } }, /metadata\.uid is missing/],
    [namespaceObject('kube-system', ''), /metadata\.uid is empty/],
    [namespaceObject('kube-system', 'f'.repeat(MAX_CLUSTER_UID + 1)), /metadata\.uid has 65 characters; at most 64/],
    [namespaceObject('kube-system', '3f2a9c4e; DROP TABLE findings'), /metadata\.uid "3f2a9c4e; DROP TABLE findings" holds characters other than hex digits and '-'/],
    [{ ...namespaceObject('kube-system', UUID), metadata: { name: 'kube-system', uid: 42 } }, /metadata\.uid is a number, not a string/],
    [namespaceObject('default', UUID), /not the kube-system namespace/],
    [{ ...namespaceObject('kube-system', UUID), kind: 'Pod' }, /not a Namespace/],
    [[UUID], /not a JSON object/],
    [Buffer.from('<html>gateway</html>'), /not a JSON object/],
  ];
  for (const [body, message] of cases) {
    api.kubeSystem = body;
    const o = options(api);
    const before = kubeSystemReads(api);
    const err = await rejection(resolveClusterIdentity(o));
    t.regex(err.message, /^get namespace kube-system: the cluster's UID cannot be read: /);
    t.regex(err.message, message);
    t.is(err.reason, 'invalid');
    t.is(failures(o.metrics, 'invalid'), 1);
    t.is(kubeSystemReads(api) - before, 1, 'a refused answer is not asked again');
    t.is(o.clock.pending(), 0);
  }
  // Any JSON body through the real client: an identity with a valid UID, or a counted refusal.
  const metrics = createMetrics({ defaultMetrics: false });
  let refused = 0;
  await checkProperty(t, fc.asyncProperty(fc.oneof(fc.jsonValue(), fc.record({ kind: fc.constant('Namespace'), metadata: fc.record({ name: fc.constant('kube-system'), uid: fc.oneof(fc.uuid(), fc.string({ maxLength: 70 })) }) })), async (json) => {
    api.kubeSystem = json;
    try {
      const id = await resolveClusterIdentity(options(api, { metrics }));
      return /^[0-9a-fA-F-]{1,64}$/.test(id.uid);
    } catch (err) {
      refused++;
      return err instanceof ClusterIdentityError && err.reason === 'invalid' && failures(metrics, 'invalid') === refused;
    }
  }), 60);
  t.true(refused > 0);
});

test('transient failures are retried with the backoff on the injected clock, then the UID is read', async (t) => {
  const api = await startFakePodApi();
  t.teardown(() => api.close());
  api.kubeSystem = namespaceObject('kube-system', UUID);
  api.kubeSystemStatus = 503;
  const o = options(api);
  const started = o.clock.now();
  const p = resolveClusterIdentity(o);
  await until('the first failure', () => failures(o.metrics, 'transient') === 1);
  t.is(o.clock.pending(), 1, 'waiting on the clock, not sleeping');
  await o.clock.advance(249);
  t.is(kubeSystemReads(api), 1, 'no second try before the backoff has passed');
  await o.clock.advance(1);
  await until('the second failure', () => failures(o.metrics, 'transient') === 2);
  api.kubeSystemStatus = undefined;
  await o.clock.advance(500);
  t.deepEqual(await p, { uid: UUID, name: '3f2a9c4e' });
  t.is(kubeSystemReads(api), 3);
  t.is(o.clock.now() - started, 750);
  t.is(failures(o.metrics, 'transient'), 2);
});

test('transient failures past the deadline end in a clear error', async (t) => {
  const api = await startFakePodApi();
  t.teardown(() => api.close());
  api.kubeSystemStatus = 500;
  const o = options(api, { deadlineMs: 1_000 });
  let settled = false;
  const p = rejection(resolveClusterIdentity(o)).finally(() => {
    settled = true;
  });
  // Waits of 250 and 500 fit in the second; the third (1000) would not.
  await until('the first failure', () => failures(o.metrics, 'transient') === 1);
  await o.clock.advance(250);
  await until('the second failure', () => failures(o.metrics, 'transient') === 2);
  await o.clock.advance(500);
  await until('the give-up', () => settled);
  const err = await p;
  t.is(failures(o.metrics, 'transient'), 3);
  t.is(o.clock.pending(), 0);
  t.regex(err.message, /^cannot read the cluster's UID from the Kubernetes API within 1000 ms \(3 tries\); the last error: get namespace kube-system: HTTP 500/);
  t.false(err.retryable);
  t.is(kubeSystemReads(api), 3);
});

test('403 and 404 are permanent and name the RBAC rule the manifests grant', async (t) => {
  const api = await startFakePodApi();
  t.teardown(() => api.close());
  api.kubeSystemStatus = 403;
  const o = options(api);
  const forbidden = await rejection(resolveClusterIdentity(o));
  t.is(forbidden.reason, 'forbidden');
  t.false(forbidden.retryable);
  t.regex(forbidden.message, /may not get namespace kube-system \(HTTP 403\)/);
  t.regex(forbidden.message, /grant "get" on namespaces with resourceNames \["kube-system"\] .*ClusterRole nodeward-collector-cluster-identity/);
  t.is(failures(o.metrics, 'forbidden'), 1);
  t.is(kubeSystemReads(api), 1);
  t.is(o.clock.pending(), 0, 'no retry is scheduled');

  api.kubeSystemStatus = undefined;
  api.kubeSystem = undefined;
  const o2 = options(api);
  const missing = await rejection(resolveClusterIdentity(o2));
  t.is(missing.reason, 'not_found');
  t.regex(missing.message, /HTTP 404.*resourceNames \["kube-system"\]/);
  t.is(failures(o2.metrics, 'not_found'), 1);

  // The rule the messages name is the one manifests/collector/rbac.yaml holds, bound to the collector.
  const docs = parseAllDocuments(readFileSync(`${REPO_ROOT}manifests/collector/rbac.yaml`, 'utf8')).map((d) => d.toJS() as Record<string, any>);
  const role = docs.find((d) => d['kind'] === 'ClusterRole' && d['metadata']?.name === 'nodeward-collector-cluster-identity');
  t.deepEqual(role?.['rules'], [{ apiGroups: [''], resources: ['namespaces'], resourceNames: ['kube-system'], verbs: ['get'] }]);
  const binding = docs.find((d) => d['kind'] === 'ClusterRoleBinding' && d['roleRef']?.name === 'nodeward-collector-cluster-identity');
  t.deepEqual(binding?.['subjects'], [{ kind: 'ServiceAccount', name: 'nodeward-collector', namespace: 'nodeward-collector' }]);
});

test('a stop during the backoff ends the wait at once', async (t) => {
  const api = await startFakePodApi();
  t.teardown(() => api.close());
  api.kubeSystemStatus = 502;
  const abort = new AbortController();
  const o = options(api, { signal: abort.signal });
  const p = rejection(resolveClusterIdentity(o));
  await until('the first failure', () => failures(o.metrics, 'transient') === 1);
  abort.abort();
  const err = await p;
  t.regex(err.message, /stopped/);
  t.is(o.clock.pending(), 0);
  t.is(kubeSystemReads(api), 1);
});
