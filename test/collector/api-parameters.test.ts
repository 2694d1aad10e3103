// Query parameters are untrusted text (issue 12, break 8): limit=Infinity, 1e309, -Infinity
// and top= are a 400 naming the parameter on every route, never a 500; any query string on a
// list route is a 200 or a 400 (a property over arbitrary ones); API JSON is never cached. On
// SQLite and on PostgreSQL (test/helpers/stores.ts): a store must refuse nothing a route lets by.
import test, { type ExecutionContext } from 'ava';
import { buildTestApi, type TestApi } from '../helpers/api-app.js';
import { checkProperty, fc } from '../helpers/property.js';
import { parseParameter } from '../../collector/api/parameters.js';
import { fingerprint } from '../../proto/fingerprint.js';
import { storeTest, type Backend } from '../helpers/stores.js';

const NOW = Date.now();

/** The API over a new store of `backend`, with a little of everything the list routes read, through the real pipeline. */
async function seededApi(t: ExecutionContext, backend: Backend): Promise<TestApi> {
  const api = await buildTestApi({ store: await backend.open(t) });
  t.teardown(() => api.close());
  await api.pipeline.hello({
    node: 'node-a', agentVersion: 't', epoch: 'e', os: '', kernel: '', arch: '', kubeletVersion: '', cpus: 1, memoryBytes: 1, uptimeSeconds: 1,
    certificates: [{ path: '/etc/k.crt', notAfter: new Date(NOW + 86400_000).toISOString() }],
  }, { spoolEntries: 0, spoolBytes: 0, spoolDropped: 0, rejected: 0, execCoverage: 'scan', execSource: 'scan', execSourceReason: '', execRingLost: 0, execUnjudged: 0, execFakeContainer: 0, execHostNamespace: 0, execBatches: 0, hostDocumentsRefused: 0, hostDocumentRefusedPath: '', hostDocumentRefusedReason: '', execIdentityFailed: 0, execIdentityFailedReason: '', processEventsCapped: 0, processEventsLost: 0, execEventsLost: 0, execRecordsPartial: 0, baselineItemsDropped: 0, baselineKeysEvicted: 0, baselineReportDropped: 0, execEvents: 0, lastScanDurationMs: 0, exposureWalkPidLimitHits: 0, exposureWalkTimeLimitHits: 0, exposureWalkFdLimitHits: 0, exposureWalkUnreadable: 0, exposureRowsRefused: 0, exposureListenersDropped: 0, exposureNativeReader: false });
  await api.pipeline.batch({
    node: 'node-a', epoch: 'e', sequence: 1,
    findings: ['/usr/bin/nc', '/usr/bin/socat', '/tmp/x'].map((exe) => ({
      checkId: 'proc-unexpected', subject: `host:${exe}`, title: 'Unexpected process', category: 'process' as const, severity: 'high' as const,
      status: 'fail' as const, observedAt: NOW, occurrences: 1, seen: 'scan', remediation: '', detail: JSON.stringify({ baseline: 'host', exe, pid: 1 }),
    })),
  });
  await api.baselines.report('node-a', [{ key: 'shop/Deployment/web/nginx', state: 'learning', version: 0, items: [{ path: '/usr/sbin/nginx', source: 'learned', firstSeen: NOW }] }]);
  return api;
}

/** Every numeric query parameter of every route. */
const NUMERIC: Array<[string, string]> = [
  ['/api/v1/findings', 'limit'], ['/api/v1/nodes', 'limit'], ['/api/v1/processes/unexpected', 'limit'], ['/api/v1/baselines', 'limit'],
  ['/api/v1/audit', 'limit'], ['/api/v1/webhooks/deliveries', 'limit'], ['/api/v1/summary', 'top'],
];

storeTest('a number that is not a finite decimal is a 400 naming the parameter on every route, never a 500', async (t, backend) => {
  const api = await seededApi(t, backend);
  for (const [route, name] of NUMERIC) {
    for (const v of ['Infinity', '-Infinity', '1e309', '-1e309', '', 'NaN', '1e3', '0x10', ' 5', '5 ', '+5', '2.5', '9'.repeat(400)]) {
      const res = await api.get(`${route}?${name}=${encodeURIComponent(v)}`);
      t.is(res.status, 400, `${route}?${name}=${v}: ${res.body}`);
      t.regex(JSON.parse(res.body).error, new RegExp(`^parameter ${name} `), `${route}?${name}=${v}`);
    }
    // Out of range but a number: the bound is named.
    t.regex(JSON.parse((await api.get(`${route}?${name}=0`)).body).error, new RegExp(`^parameter ${name} must be >= 1`));
    t.regex(JSON.parse((await api.get(`${route}?${name}=100000000000000000000`)).body).error, new RegExp(`^parameter ${name} must be <= `));
    t.is((await api.get(`${route}?${name}=1`)).status, 200, `${route}?${name}=1`);
    t.is((await api.get(`${route}?${name}=007`)).status, 200, `${route}?${name}=007`);
  }
  t.is((await api.get('/api/v1/nodes?stale=true')).status, 200);
  t.is((await api.get('/api/v1/nodes?stale=false')).status, 200);
  t.regex(JSON.parse((await api.get('/api/v1/nodes?stale=1')).body).error, /^parameter stale must be boolean$/);
  t.regex(JSON.parse((await api.get('/api/v1/findings?limit=1&limit=2')).body).error, /^parameter limit /, 'a repeated parameter is refused, not summed');
});

test('the grammar: decimal digits for integers and numbers, true or false for booleans; anything else stays text for validation to refuse', (t) => {
  t.is(parseParameter({ type: 'integer' }, '42'), 42);
  t.is(parseParameter({ type: 'integer' }, '-7'), -7);
  t.is(parseParameter({ type: 'integer' }, '1.5'), '1.5');
  t.is(parseParameter({ type: 'number' }, '1.5'), 1.5);
  t.is(parseParameter({ type: 'number' }, '1e5'), '1e5');
  t.is(parseParameter({ type: 'number' }, '9'.repeat(400)), '9'.repeat(400), 'Number() would read Infinity');
  t.is(parseParameter({ type: 'boolean' }, 'true'), true);
  t.is(parseParameter({ type: 'boolean' }, 'TRUE'), 'TRUE');
  t.is(parseParameter({ type: 'string' }, '42'), '42');
  t.is(parseParameter(undefined, '42'), '42');
});

storeTest('API responses carry Cache-Control: no-store, answers and refusals alike', async (t, backend) => {
  const api = await seededApi(t, backend);
  const id = fingerprint('node-a', 'proc-unexpected', 'host:/usr/bin/nc');
  for (const url of ['/api/v1/findings', `/api/v1/findings/${id}`, '/api/v1/summary', '/api/v1/nodes', '/api/v1/findings?limit=Infinity', '/api/v1/findings/0123456789abcdef0123456789abcdef', '/api/v1/openapi.json']) {
    t.is((await api.get(url)).headers['cache-control'], 'no-store', url);
  }
  const anonymous = await api.app.inject({ method: 'GET', url: '/api/v1/findings' });
  t.is(anonymous.statusCode, 401);
  t.is(anonymous.headers['cache-control'], 'no-store');
});

// ---------------------------------------------------------------------------------------
// Property: whatever the query string, a list route answers 200 or 400.

const LIST_ROUTES = ['/api/v1/findings', '/api/v1/nodes', '/api/v1/processes/unexpected', '/api/v1/baselines', '/api/v1/audit', '/api/v1/webhooks/deliveries', '/api/v1/summary'];
const NAMES = ['limit', 'top', 'cursor', 'since', 'node', 'check', 'category', 'severity', 'minSeverity', 'state', 'q', 'stale', 'sort',
  'namespace', 'workload', 'cluster', 'key', 'actor', 'action', 'target', 'destination', 'status', 'findingId', '__proto__', 'constructor', 'toString'];
const TRICKY = ['Infinity', '-Infinity', '1e309', '-1e309', 'NaN', '0', '-0', '1', '1000', '1001', '5000', '5001', '100', '1e3', '0x10', ' 1', '1 ',
  '+1', '1.0', '1.5', '', '9'.repeat(400), '-9007199254740993', '9007199254740993', 'true', 'false', 'null', '[]', '{}', 'open', 'resolved',
  'suppressed', 'critical', 'certExpiry', 'name', 'dead', 'pending', 'delivered', '2025-01-01T00:00:00Z', '9999-12-31T23:59:60Z',
  '0000-01-01T00:00:00Z', '2025-02-30T00:00:00Z', '2025-01-01T00:00:00+25:00', 'e30', 'eyJhZnRlciI6MX0', 'eyJhZnRlciI6LTF9',
  'eyJhZnRlciI6MWUzMDl9', 'eyJhZnRlciI6Im4iLCJzb3J0IjoiY2VydEV4cGlyeSIsImV4cGlyeSI6IngifQ', 'eyJiZWZvcmUiOjF9', '%', '_', '\\', "'", '"',
  'Deployment/web', 'shop', 'host/worker', '0123456789abcdef0123456789abcdef', '*', 'local', 'f.e30', 'f.eyJpIjowLCJ1IjoiIiwiayI6bnVsbH0',
  'f.eyJpIjo5LCJ1IjoiIiwiayI6bnVsbH0', 'f.eyJpIjowLCJ1IjoiIiwiayI6IngifQ'];
/** Not percent-encoded: what a hand-typed or hostile query string holds. */
const RAW = ['%', '%zz', '%E0%A4%A', '%00', '%FF', '%2', '&', '&&=', '=', '==', '+', 'a[b]=1', 'limit[]=1', 'limit[0]=1', ';', '?', '%26', '%3D'];

/** Percent-encodes the UTF-8 bytes (a lone surrogate becomes U+FFFD, as on any wire). */
const encode = (s: string): string => [...Buffer.from(s, 'utf8')].map((b) => (/[A-Za-z0-9\-._~]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`)).join('');

const text = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...TRICKY) },
  { weight: 2, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.integer().map(String) },
  { weight: 1, arbitrary: fc.double().map(String) },
  { weight: 1, arbitrary: fc.date({ noInvalidDate: true }).map((d) => d.toISOString()) },
  { weight: 1, arbitrary: fc.string({ maxLength: 300 }).map((s) => Buffer.from(s).toString('base64url')) },
);
/** Numbers as text: where Ajv's coercion went wrong, and plain ones. */
const NUMBERS = ['Infinity', '-Infinity', '1e309', '-1e309', 'NaN', '1e3', '0x10', '0b1', ' 1', '', '1.0', '-0', '0', '1', '10', '100', '1000', '1001', '9'.repeat(400)];
const pair = fc.oneof(
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom('limit', 'top'), fc.oneof(fc.constantFrom(...NUMBERS), fc.integer().map(String), fc.double().map(String))).map(([k, v]) => `${k}=${encode(v)}`) },
  { weight: 6, arbitrary: fc.tuple(fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...NAMES) }, { weight: 1, arbitrary: text }), text).map(([k, v]) => `${encode(k)}=${encode(v)}`) },
  { weight: 1, arbitrary: fc.constantFrom(...RAW) },
  { weight: 1, arbitrary: fc.constantFrom(...NAMES).map(encode) },
);
const query = fc.tuple(fc.constantFrom(...LIST_ROUTES), fc.array(pair, { maxLength: 5 }));

storeTest('property: any query string on a list route is answered 200 or 400 (with an error naming what is wrong), never 500', async (t, backend) => {
  const api = await seededApi(t, backend);
  await checkProperty(t, fc.asyncProperty(query, async ([route, pairs]) => {
    const url = `${route}?${pairs.join('&')}`;
    const res = await api.get(url);
    if (res.status === 200) return true;
    if (res.status !== 400) throw new Error(`${url}: ${res.status} ${res.body}`);
    const error = (JSON.parse(res.body) as { error?: unknown }).error;
    if (typeof error !== 'string' || error.length === 0) throw new Error(`${url}: 400 without an error message: ${res.body}`);
    return true;
  }), 1500);
});
