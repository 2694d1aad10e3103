// The query API over real HTTPS against an in-process collector. Every finding is seeded
// through the real gRPC ingest path (mTLS agent streams), never written to SQLite directly.
import test from 'ava';
import { request } from 'node:https';
import { fingerprint } from '../../proto/fingerprint.js';
import type { AgentMessage, CollectorMessage__Output, WireFinding, WireResult } from '../../proto/load.js';
import { openRawStream, type RawStream } from '../helpers/grpc-client.js';
import { eventually, httpsJson, type HttpResponse } from '../helpers/https.js';
import { startTestCollector, ADMIN_TOKEN, READER_TOKEN, type TestCollector } from '../helpers/collector.js';

// ---------------------------------------------------------------------------------------
// Helpers: an agent session that speaks the wire protocol, and API calls.

interface Session {
  /** Sends a finding batch with the next sequence number and waits for its ack. */
  batch(findings: WireFinding[]): Promise<void>;
  /** Sends a scan report with the next sequence number and waits for its ack. */
  scan(scannedAtMs: number, scope: string[], results: WireResult[]): Promise<void>;
  close(): void;
}

let epochs = 0;

async function connect(tc: TestCollector, node: string, host: { os?: string; agentVersion?: string } = {}): Promise<Session> {
  const agent = tc.pki.agents[node];
  if (!agent) throw new Error(`the test PKI has no certificate for ${node}`);
  const stream: RawStream = openRawStream(tc.grpcAddress, { ca: tc.pki.caCert, cert: agent.cert, key: agent.key });
  stream.send({
    hello: {
      node, agentVersion: host.agentVersion ?? 'test', epoch: `epoch-${process.pid}-${++epochs}`,
      host: { os: host.os ?? 'Test OS', kernel: '6.1.0', arch: 'x64', cpus: 2, memoryBytes: 1 << 30 },
    },
  });
  let sequence = 0;
  const send = async (msg: (seq: number) => AgentMessage): Promise<void> => {
    const seq = ++sequence;
    stream.send(msg(seq));
    const [reply] = await stream.receive(1);
    const ack = (reply as CollectorMessage__Output | undefined)?.ack;
    if (!ack || ack.sequence !== seq || ack.code !== 0) throw new Error(`no clean ack for sequence ${seq}: ${JSON.stringify(reply)}`);
  };
  return {
    batch: (findings) => send((seq) => ({ findingBatch: { sequence: seq, findings } })),
    scan: (scannedAtMs, scope, results) => send((seq) => ({
      scanReport: { sequence: seq, scannedAtMs, benchmark: 'cis-1.12', scope, results, trigger: 'periodic' },
    })),
    close: () => stream.close(),
  };
}

const SEVERITY = { info: 'SEVERITY_INFO', low: 'SEVERITY_LOW', medium: 'SEVERITY_MEDIUM', high: 'SEVERITY_HIGH', critical: 'SEVERITY_CRITICAL' } as const;
const STATUS = { pass: 'STATUS_PASS', fail: 'STATUS_FAIL', warn: 'STATUS_WARN', skip: 'STATUS_SKIP', error: 'STATUS_ERROR' } as const;

function proc(subject: string, opts: { severity?: keyof typeof SEVERITY; at?: number; occurrences?: number; title?: string } = {}): WireFinding {
  return {
    checkId: 'proc-unexpected', subject, title: opts.title ?? 'Unexpected process', category: 'process',
    severity: SEVERITY[opts.severity ?? 'high'], status: 'STATUS_FAIL', observedAtMs: opts.at ?? Date.now(),
    occurrences: opts.occurrences ?? 1, seen: 'event', detailJson: '{}',
  };
}

function result(checkId: string, subject: string, status: keyof typeof STATUS, opts: {
  severity?: keyof typeof SEVERITY; category?: string; scored?: boolean; occurrences?: number; actual?: string; title?: string;
} = {}): WireResult {
  return {
    checkId, cis: checkId.replace(/^cis-/, ''), title: opts.title ?? `Check ${checkId}`, category: opts.category ?? 'kubelet',
    subject, status: STATUS[status], severity: SEVERITY[opts.severity ?? 'high'], scored: opts.scored ?? true,
    actual: opts.actual ?? 'x', expected: 'y', source: 'flag', occurrences: opts.occurrences ?? 1,
  };
}

function api<T = any>(tc: TestCollector, path: string, opts: { token?: string | null; method?: string; body?: unknown } = {}): Promise<HttpResponse<T>> {
  const token = opts.token === null ? undefined : (opts.token ?? READER_TOKEN);
  return httpsJson<T>(`${tc.apiUrl}${path}`, { ca: tc.ca, ...(token ? { token } : {}), ...(opts.method ? { method: opts.method } : {}), ...(opts.body !== undefined ? { body: opts.body } : {}) });
}

async function list(tc: TestCollector, query: string): Promise<any[]> {
  const res = await api<{ items: any[]; nextCursor: string | null }>(tc, `/api/v1/findings?${query}`);
  if (res.status !== 200) throw new Error(`GET /api/v1/findings?${query}: ${res.status} ${res.text}`);
  return res.body.items;
}

const ids = (items: Array<{ id: string }>): string[] => items.map((f) => f.id).sort();
const fp = (node: string, check: string, subject: string): string => fingerprint(node, check, subject);

// A collector per test (they run concurrently): each test states exactly what it seeded.
async function withCollector(run: (tc: TestCollector) => Promise<void>): Promise<void> {
  const tc = await startTestCollector({ nodes: ['node-a', 'node-b'] });
  try {
    await run(tc);
  } finally {
    await tc.close();
  }
}

// ---------------------------------------------------------------------------------------
// Authentication and authorization

test('missing or wrong tokens get 401; health, readiness, metrics and the OpenAPI document need none', (t) => withCollector(async (tc) => {
  for (const path of ['/api/v1/findings', '/api/v1/nodes', '/api/v1/summary', '/api/v1/audit', `/api/v1/findings/${'0'.repeat(32)}`]) {
    const none = await api(tc, path, { token: null });
    t.is(none.status, 401, `${path} without a token`);
    t.is(none.headers['www-authenticate'], 'Bearer');
    const wrong = await api(tc, path, { token: 'not-the-token-0123456789' });
    t.is(wrong.status, 401, `${path} with a wrong token`);
  }
  // A token prefix, or the right token in the wrong scheme, is not a token.
  t.is((await api(tc, '/api/v1/findings', { token: READER_TOKEN.slice(0, -1) })).status, 401);
  const basic = await new Promise<number>((resolve, reject) => {
    const req = request(`${tc.apiUrl}/api/v1/findings`, { ca: tc.ca, headers: { authorization: `Basic ${ADMIN_TOKEN}` } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
  t.is(basic, 401);

  t.is((await api(tc, '/healthz', { token: null })).status, 200);
  t.is((await api(tc, '/readyz', { token: null })).status, 200);
  const metrics = await api<string>(tc, '/metrics', { token: null });
  t.is(metrics.status, 200);
  t.regex(String(metrics.headers['content-type']), /^text\/plain/);
  // The document describes the API and holds no data: served to anyone, token or not.
  const doc = await api<{ openapi: string; paths: Record<string, unknown> }>(tc, '/api/v1/openapi.json', { token: null });
  t.is(doc.status, 200);
  t.regex(doc.body.openapi, /^3\./);
  t.truthy(doc.body.paths['/api/v1/findings']);
  t.is((await api(tc, '/api/v1/openapi.json', { token: 'not-the-token-0123456789' })).status, 200, 'a wrong token does not matter either');

  t.is((await api(tc, '/api/v1/findings', { token: READER_TOKEN })).status, 200);
  t.is((await api(tc, '/api/v1/findings', { token: ADMIN_TOKEN })).status, 200);
}));

test('suppressing needs the admin role; admin suppression sets state and reason; unknown ids are 404', (t) => withCollector(async (tc) => {
  const a = await connect(tc, 'node-a');
  await a.batch([proc('/usr/bin/nc')]);
  a.close();
  const id = fp('node-a', 'proc-unexpected', '/usr/bin/nc');

  const denied = await api(tc, `/api/v1/findings/${id}/suppress`, { method: 'POST', token: READER_TOKEN, body: { reason: 'known tool' } });
  t.is(denied.status, 403);
  t.regex(denied.body.error, /admin/);
  t.is((await api(tc, `/api/v1/findings/${id}`)).body.state, 'open', 'a refused suppression changes nothing');

  const until = new Date(Date.now() + 24 * 3600_000).toISOString();
  const ok = await api(tc, `/api/v1/findings/${id}/suppress`, { method: 'POST', token: ADMIN_TOKEN, body: { reason: 'debugging session, ticket OPS-1', until } });
  t.is(ok.status, 200, ok.text);
  t.is(ok.body.id, id);
  t.is(ok.body.state, 'suppressed');
  t.is(ok.body.suppressedReason, 'debugging session, ticket OPS-1');
  t.is(ok.body.suppressedUntil, until);

  const got = await api(tc, `/api/v1/findings/${id}`);
  t.is(got.status, 200);
  t.is(got.body.state, 'suppressed');
  t.is(got.body.suppressedReason, 'debugging session, ticket OPS-1');
  t.deepEqual(ids(await list(tc, 'state=suppressed')), [id]);

  const unknown = 'f'.repeat(32);
  const missing = await api(tc, `/api/v1/findings/${unknown}`);
  t.is(missing.status, 404);
  t.is(typeof missing.body.error, 'string');
  t.is((await api(tc, `/api/v1/findings/${unknown}/suppress`, { method: 'POST', token: ADMIN_TOKEN, body: { reason: 'x' } })).status, 404);
}));

// ---------------------------------------------------------------------------------------
// Bad input: 400 naming the parameter, never 500

test('bad parameters are 400 with a message naming the parameter', (t) => withCollector(async (tc) => {
  const a = await connect(tc, 'node-a');
  await a.batch([proc('/usr/bin/nc')]);
  a.close();
  const id = fp('node-a', 'proc-unexpected', '/usr/bin/nc');

  const cases: Array<[string, string]> = [
    ['/api/v1/findings?limit=abc', 'limit'],
    ['/api/v1/findings?limit=0', 'limit'],
    ['/api/v1/findings?limit=5000', 'limit'],
    ['/api/v1/findings?limit=1.5', 'limit'],
    ['/api/v1/findings?severity=bogus', 'severity'],
    ['/api/v1/findings?minSeverity=HIGH', 'minSeverity'],
    ['/api/v1/findings?state=bogus', 'state'],
    ['/api/v1/findings?since=yesterday', 'since'],
    ['/api/v1/findings?since=2024-13-45T00:00:00Z', 'since'],
    ['/api/v1/findings?colour=red', 'colour'],
    ['/api/v1/findings?cursor=not-a-cursor!', 'cursor'],
    [`/api/v1/findings?cursor=${Buffer.from('{"after":-1}').toString('base64url')}`, 'cursor'],
    [`/api/v1/findings?cursor=${Buffer.from('null').toString('base64url')}`, 'cursor'],
    [`/api/v1/findings?cursor=${'A'.repeat(300)}`, 'cursor'],
    [`/api/v1/findings?q=${'x'.repeat(300)}`, 'q'],
    ['/api/v1/findings/not-an-id', 'id'],
    [`/api/v1/findings/${id.toUpperCase()}`, 'id'],
    [`/api/v1/findings/${id}x`, 'id'],
  ];
  for (const [path, param] of cases) {
    const res = await api(tc, path);
    t.is(res.status, 400, `${path}: ${res.text}`);
    t.is(typeof res.body?.error, 'string', `${path} answers with {error}`);
    t.true(String(res.body?.error).includes(param), `${path}: the message ${JSON.stringify(res.body?.error)} names ${param}`);
  }

  // Enumerations say what they accept; an unknown parameter is named.
  t.is((await api(tc, '/api/v1/findings?severity=bogus')).body.error, 'parameter severity must be one of: info, low, medium, high, critical');
  t.is((await api(tc, '/api/v1/findings?state=bogus')).body.error, 'parameter state must be one of: open, resolved, suppressed');
  t.is((await api(tc, '/api/v1/findings?colour=red')).body.error, 'parameter colour is not known');

  const post = (path: string, body: unknown) => api(tc, path, { method: 'POST', token: ADMIN_TOKEN, body });
  const bodies: Array<[string, unknown, string]> = [
    [`/api/v1/findings/${id}/suppress`, {}, 'reason'],
    [`/api/v1/findings/${id}/suppress`, { reason: '' }, 'reason'],
    [`/api/v1/findings/${id}/suppress`, { reason: 'x', until: 'tomorrow' }, 'until'],
    [`/api/v1/findings/${id}/suppress`, { reason: 'x', until: '2001-01-01T00:00:00Z' }, 'until'],
    [`/api/v1/findings/${id}/suppress`, { reason: 'x', forever: true }, 'forever'],
    ['/api/v1/findings/nope/suppress', { reason: 'x' }, 'id'],
  ];
  for (const [path, body, param] of bodies) {
    const res = await post(path, body);
    t.is(res.status, 400, `${path} ${JSON.stringify(body)}: ${res.text}`);
    t.true(String(res.body?.error).includes(param), `${JSON.stringify(body)}: the message ${JSON.stringify(res.body?.error)} names ${param}`);
  }
  t.is((await api(tc, `/api/v1/findings/${id}`)).body.state, 'open', 'no refused suppression took effect');
}));

test('SQL in a filter value is just a value that matches nothing', (t) => withCollector(async (tc) => {
  const a = await connect(tc, 'node-a');
  await a.batch([proc('/usr/bin/nc'), proc('/usr/bin/socat')]);
  a.close();
  t.is((await list(tc, '')).length, 2);
  for (const param of ['node', 'check', 'category', 'q']) {
    for (const value of ["' OR 1=1 --", "node-a' OR '1'='1", '"; DROP TABLE findings; --']) {
      const res = await api<{ items: unknown[] }>(tc, `/api/v1/findings?${param}=${encodeURIComponent(value)}`);
      t.is(res.status, 200, `${param}=${value}: ${res.text}`);
      t.deepEqual(res.body.items, [], `${param}=${value}`);
    }
  }
  // LIKE wildcards in q are literal characters, not patterns.
  t.deepEqual(await list(tc, 'q=%25'), []);
  t.deepEqual(await list(tc, 'q=_'), []);
  t.is((await list(tc, '')).length, 2, 'the table is still there');
}));

// ---------------------------------------------------------------------------------------
// Filters

test('each filter selects exactly the expected findings', (t) => withCollector(async (tc) => {
  const old = Date.parse('2024-01-01T00:00:00Z');
  const recent = Date.now() - 60_000;
  const a = await connect(tc, 'node-a');
  const b = await connect(tc, 'node-b');
  await a.batch([
    proc('/usr/bin/nc', { severity: 'high', at: old }),
    proc('/tmp/.x/kworker', { severity: 'critical', at: recent, title: 'Unexpected process (miner-like name)' }),
  ]);
  await a.scan(recent, ['cis-4.2.1', 'cis-1.1.1', 'cis-4.2.6'], [
    result('cis-4.2.1', '--anonymous-auth', 'fail', { severity: 'critical', category: 'kubelet', actual: 'true' }),
    result('cis-1.1.1', '/etc/kubernetes/manifests/kube-apiserver.yaml', 'warn', { severity: 'medium', category: 'host', actual: '0644' }),
    result('cis-4.2.6', '--protect-kernel-defaults', 'fail', { severity: 'low', category: 'kubelet', actual: 'false' }),
  ]);
  await b.batch([proc('/usr/bin/nc', { severity: 'medium', at: recent })]);
  await b.scan(old, ['cis-4.2.1'], [result('cis-4.2.1', '--anonymous-auth', 'fail', { severity: 'info', category: 'kubelet', actual: 'true' })]);

  const A = {
    nc: fp('node-a', 'proc-unexpected', '/usr/bin/nc'),
    kworker: fp('node-a', 'proc-unexpected', '/tmp/.x/kworker'),
    anon: fp('node-a', 'cis-4.2.1', '--anonymous-auth'),
    manifest: fp('node-a', 'cis-1.1.1', '/etc/kubernetes/manifests/kube-apiserver.yaml'),
    pkd: fp('node-a', 'cis-4.2.6', '--protect-kernel-defaults'),
  };
  const B = { nc: fp('node-b', 'proc-unexpected', '/usr/bin/nc'), anon: fp('node-b', 'cis-4.2.1', '--anonymous-auth') };

  // One resolved (a pass inside the scope) and one suppressed, for the state filter.
  await a.scan(recent + 1000, ['cis-4.2.6'], [result('cis-4.2.6', '--protect-kernel-defaults', 'pass', { severity: 'low' })]);
  const sup = await api(tc, `/api/v1/findings/${A.manifest}/suppress`, { method: 'POST', token: ADMIN_TOKEN, body: { reason: 'accepted risk' } });
  t.is(sup.status, 200, sup.text);
  a.close();
  b.close();

  const sorted = (...xs: string[]): string[] => [...xs].sort();
  const all = sorted(...Object.values(A), ...Object.values(B));
  t.deepEqual(ids(await list(tc, '')), all, 'no filter: everything');
  t.deepEqual(ids(await list(tc, 'node=node-a')), sorted(...Object.values(A)));
  t.deepEqual(ids(await list(tc, 'node=node-b')), sorted(...Object.values(B)));
  t.deepEqual(ids(await list(tc, 'node=node-c')), []);
  t.deepEqual(ids(await list(tc, 'check=proc-unexpected')), sorted(A.nc, A.kworker, B.nc));
  t.deepEqual(ids(await list(tc, 'check=cis-4.2.1')), sorted(A.anon, B.anon));
  t.deepEqual(ids(await list(tc, 'check=cis-4.2')), [], 'check is an exact match');
  t.deepEqual(ids(await list(tc, 'category=host')), [A.manifest]);
  t.deepEqual(ids(await list(tc, 'category=kubelet')), sorted(A.anon, A.pkd, B.anon));
  t.deepEqual(ids(await list(tc, 'severity=critical')), sorted(A.kworker, A.anon));
  t.deepEqual(ids(await list(tc, 'severity=medium')), sorted(A.manifest, B.nc));
  t.deepEqual(ids(await list(tc, 'severity=info')), [B.anon]);
  t.deepEqual(ids(await list(tc, 'minSeverity=high')), sorted(A.nc, A.kworker, A.anon));
  t.deepEqual(ids(await list(tc, 'minSeverity=medium')), sorted(A.nc, A.kworker, A.anon, A.manifest, B.nc));
  t.deepEqual(ids(await list(tc, 'minSeverity=info')), all);
  t.deepEqual(ids(await list(tc, 'state=open')), sorted(A.nc, A.kworker, A.anon, B.nc, B.anon));
  t.deepEqual(ids(await list(tc, 'state=resolved')), [A.pkd]);
  t.deepEqual(ids(await list(tc, 'state=suppressed')), [A.manifest]);
  const since = new Date(recent - 3600_000).toISOString();
  t.deepEqual(ids(await list(tc, `since=${encodeURIComponent(since)}`)), sorted(A.kworker, A.anon, A.manifest, A.pkd, B.nc));
  t.deepEqual(ids(await list(tc, `since=${encodeURIComponent('2999-01-01T00:00:00+02:00')}`)), []);
  t.deepEqual(ids(await list(tc, 'since=2016-12-31T23:59:60Z')), all, 'an RFC 3339 leap second is a valid time');
  t.deepEqual(ids(await list(tc, 'q=kworker')), [A.kworker], 'q matches the subject');
  t.deepEqual(ids(await list(tc, 'q=MINER-LIKE')), [A.kworker], 'q matches the title, ignoring case');
  t.deepEqual(ids(await list(tc, 'q=cis-1.1')), [A.manifest], 'q matches the check id');
  t.deepEqual(ids(await list(tc, 'q=0644')), [A.manifest], 'q matches the actual value');
  t.deepEqual(ids(await list(tc, 'q=anonymous')), sorted(A.anon, B.anon));
  // Filters combine with AND.
  t.deepEqual(ids(await list(tc, 'node=node-a&check=proc-unexpected&minSeverity=critical')), [A.kworker]);
  t.deepEqual(ids(await list(tc, 'node=node-b&state=open&category=process')), [B.nc]);
  t.deepEqual(ids(await list(tc, 'severity=critical&state=resolved')), []);

  const one = (await list(tc, 'node=node-a&check=cis-4.2.1'))[0];
  t.like(one, {
    id: A.anon, node: 'node-a', checkId: 'cis-4.2.1', cis: '4.2.1', category: 'kubelet', subject: '--anonymous-auth',
    severity: 'critical', status: 'fail', state: 'open', scored: true, actual: 'true', source: 'flag', seen: 'scan', count: 1,
    resolvedAt: null, suppressedReason: null,
  });
}));

// ---------------------------------------------------------------------------------------
// Scan reports and the finding lifecycle

test('scan reports: only an in-scope pass resolves; skip, error and out-of-scope passes do not; a later fail reopens', (t) => withCollector(async (tc) => {
  const T0 = Date.parse('2025-03-01T10:00:00Z');
  const a = await connect(tc, 'node-a');
  const anon = fp('node-a', 'cis-4.2.1', '--anonymous-auth');
  const pkd = fp('node-a', 'cis-4.2.6', '--protect-kernel-defaults');
  const get = async (id: string): Promise<any> => {
    const res = await api(tc, `/api/v1/findings/${id}`);
    t.is(res.status, 200, res.text);
    return res.body;
  };

  await a.scan(T0, ['cis-4.2.1', 'cis-4.2.6'], [
    result('cis-4.2.1', '--anonymous-auth', 'fail', { occurrences: 2 }),
    result('cis-4.2.6', '--protect-kernel-defaults', 'fail'),
  ]);
  const opened = await get(anon);
  t.like(opened, { state: 'open', status: 'fail', count: 2, firstSeen: new Date(T0).toISOString(), resolvedAt: null });
  t.is((await get(pkd)).state, 'open');

  // skip and error inside the scope never resolve.
  await a.scan(T0 + 1000, ['cis-4.2.1'], [result('cis-4.2.1', '--anonymous-auth', 'skip')]);
  t.is((await get(anon)).state, 'open', 'skip does not resolve');
  await a.scan(T0 + 2000, ['cis-4.2.1'], [result('cis-4.2.1', '--anonymous-auth', 'error')]);
  t.is((await get(anon)).state, 'open', 'error does not resolve');

  // A pass for a check outside the report's scope does not resolve.
  await a.scan(T0 + 3000, ['cis-4.2.1'], [result('cis-4.2.6', '--protect-kernel-defaults', 'pass')]);
  t.is((await get(pkd)).state, 'open', 'a pass outside the scope does not resolve');
  // A pass for another subject of the same check does not resolve this one.
  await a.scan(T0 + 4000, ['cis-4.2.1'], [result('cis-4.2.1', '--anonymous-auth=false (other file)', 'pass')]);
  t.is((await get(anon)).state, 'open', 'a pass for another subject does not resolve');

  // A pass inside the scope resolves.
  await a.scan(T0 + 5000, ['cis-4.2.1', 'cis-4.2.6'], [result('cis-4.2.1', '--anonymous-auth', 'pass')]);
  const resolved = await get(anon);
  t.is(resolved.state, 'resolved');
  t.is(typeof resolved.resolvedAt, 'string');
  t.is(resolved.count, 2, 'a pass adds no occurrence');
  t.is((await get(pkd)).state, 'open', 'a check in scope without a result for this subject stays open');
  t.deepEqual(ids(await list(tc, 'state=resolved')), [anon]);

  // A fail after the resolve reopens, keeping firstSeen and summing counts.
  await a.scan(T0 + 6000, ['cis-4.2.1'], [result('cis-4.2.1', '--anonymous-auth', 'fail', { occurrences: 3, severity: 'critical' })]);
  const reopened = await get(anon);
  t.like(reopened, {
    state: 'open', count: 5, resolvedAt: null, severity: 'critical',
    firstSeen: new Date(T0).toISOString(), lastSeen: new Date(T0 + 6000).toISOString(),
  });
  t.deepEqual(ids(await list(tc, 'state=resolved')), []);
  a.close();
}));

// ---------------------------------------------------------------------------------------
// Pagination

// The order by first seen is by values that never change: a walk in it visits every finding
// exactly once whatever happens to the findings meanwhile (test/collector/findings-sort.test.ts
// has the other orders).
test('cursor pagination in the order first seen visits every finding exactly once, also while findings are added and updated', (t) => withCollector(async (tc) => {
  const a = await connect(tc, 'node-a');
  const b = await connect(tc, 'node-b');
  const N = 9;
  const subjects = Array.from({ length: N }, (_, i) => `/opt/tool-${i}`);
  // Interleave nodes so the list has two sources.
  for (const [i, s] of subjects.entries()) await (i % 2 === 0 ? a : b).batch([proc(s)]);
  const expected = new Set(subjects.map((s, i) => fp(i % 2 === 0 ? 'node-a' : 'node-b', 'proc-unexpected', s)));

  // A plain walk first.
  const walk = async (between?: (page: number, seen: string[]) => Promise<void>): Promise<string[]> => {
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 100; page++) {
      const q: string = `sort=firstSeen&order=asc&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const res = await api<{ items: Array<{ id: string }>; nextCursor: string | null }>(tc, `/api/v1/findings?${q}`);
      t.is(res.status, 200, res.text);
      t.true(res.body.items.length <= 2);
      seen.push(...res.body.items.map((f) => f.id));
      cursor = res.body.nextCursor;
      if (cursor === null) return seen;
      t.true(res.body.items.length === 2, 'a page before the last one is full');
      await between?.(page, seen);
    }
    throw new Error('pagination did not end');
  };
  const plain = await walk();
  t.is(plain.length, N);
  t.deepEqual(new Set(plain), expected);

  // Walk again, and between pages: update a finding already seen and one not yet seen
  // (more occurrences, a higher severity), suppress a late one, and insert new ones.
  const added: string[] = [];
  const during = await walk(async (page) => {
    await a.batch([proc(subjects[0]!, { occurrences: 5, severity: 'critical' })]);
    await b.batch([proc(subjects[N - 2]!, { occurrences: 2 })]);
    if (page === 1) {
      const sup = await api(tc, `/api/v1/findings/${fp('node-a', 'proc-unexpected', subjects[N - 1]!)}/suppress`, { method: 'POST', token: ADMIN_TOKEN, body: { reason: 'x' } });
      t.is(sup.status, 200, sup.text);
    }
    if (page < 3) {
      const s = `/opt/new-${page}`;
      await a.batch([proc(s)]);
      added.push(fp('node-a', 'proc-unexpected', s));
    }
  });
  t.is(new Set(during).size, during.length, `no finding is repeated: ${during.join(' ')}`);
  for (const id of expected) t.true(during.includes(id), `finding ${id} present before the walk is not skipped`);
  for (const id of added) t.true(during.includes(id), `finding ${id} added during the walk is visited`);
  t.is(during.length, N + added.length);

  // A filtered walk paginates within the filter.
  const filtered: string[] = [];
  let cursor: string | null = null;
  do {
    const q: string = `node=node-b&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const res = await api<{ items: Array<{ id: string; node: string }>; nextCursor: string | null }>(tc, `/api/v1/findings?${q}`);
    t.is(res.status, 200, res.text);
    for (const f of res.body.items) t.is(f.node, 'node-b');
    filtered.push(...res.body.items.map((f) => f.id));
    cursor = res.body.nextCursor;
  } while (cursor !== null);
  t.deepEqual(filtered.sort(), subjects.flatMap((s, i) => (i % 2 === 1 ? [fp('node-b', 'proc-unexpected', s)] : [])).sort());

  // A page that holds exactly everything says there is no more.
  const exact = await api(tc, `/api/v1/findings?limit=${N + added.length}`);
  t.is(exact.body.items.length, N + added.length);
  t.is(exact.body.nextCursor, null);
  a.close();
  b.close();
}));

// ---------------------------------------------------------------------------------------
// Nodes, OpenAPI, metrics

test('GET /api/v1/nodes reports the node, its connection, open findings and compliance score', (t) => withCollector(async (tc) => {
  const a = await connect(tc, 'node-a', { os: 'Debian GNU/Linux 12 (bookworm)', agentVersion: '1.2.3' });
  const now = Date.now();
  await a.scan(now, ['cis-4.2.1', 'cis-4.2.2', 'cis-4.2.3', 'cis-4.2.4', 'cis-1.1.1', 'cis-1.1.2', 'cis-3.2.1'], [
    result('cis-4.2.1', '--anonymous-auth', 'pass'),
    result('cis-4.2.2', '--authorization-mode', 'pass'),
    result('cis-4.2.3', '--client-ca-file', 'pass'),
    result('cis-4.2.4', '--read-only-port', 'fail'),
    result('cis-1.1.1', '/etc/kubernetes/manifests/kube-apiserver.yaml', 'skip'), // scored but not judged
    result('cis-1.1.2', '/etc/kubernetes/manifests/kube-apiserver.yaml', 'error'), // scored but not judged
    result('cis-3.2.1', 'audit policy', 'warn', { scored: false }), // manual: not in the score
  ]);
  await a.batch([proc('/usr/bin/nc')]);

  const res = await api<{ items: any[]; nextCursor: string | null }>(tc, '/api/v1/nodes');
  t.is(res.status, 200, res.text);
  t.is(res.body.nextCursor, null);
  const node = res.body.items.find((n) => n.name === 'node-a');
  t.truthy(node, JSON.stringify(res.body.items));
  t.like(node, {
    name: 'node-a', connected: true, stale: false, os: 'Debian GNU/Linux 12 (bookworm)', agentVersion: '1.2.3',
    kernel: '6.1.0', arch: 'x64', cpus: 2, openFindings: 3, failingChecks: 1, complianceScore: 0.75,
  });
  t.false(res.body.items.some((n) => n.name === 'node-b'), 'a node that never connected is not listed');

  a.close();
  const after = await eventually('node-a to show as disconnected', async () => {
    const r = await api<{ items: any[] }>(tc, '/api/v1/nodes');
    const n = r.body.items.find((x) => x.name === 'node-a');
    return n && n.connected === false ? n : undefined;
  }, 10_000);
  t.is(after.openFindings, 3, 'disconnecting changes no finding');
}));

test('a node with no scored pass/fail result has a null compliance score', (t) => withCollector(async (tc) => {
  const a = await connect(tc, 'node-a');
  await a.batch([proc('/usr/bin/nc')]);
  const res = await api<{ items: any[] }>(tc, '/api/v1/nodes');
  t.like(res.body.items.find((n) => n.name === 'node-a'), { openFindings: 1, complianceScore: null });
  a.close();
}));

test('the OpenAPI document is OpenAPI 3 and describes /api/v1/findings with its query parameters', (t) => withCollector(async (tc) => {
  const res = await api(tc, '/api/v1/openapi.json');
  t.is(res.status, 200, res.text);
  t.regex(String(res.body.openapi), /^3\./);
  const get = res.body.paths?.['/api/v1/findings']?.get;
  t.truthy(get, `paths: ${Object.keys(res.body.paths ?? {}).join(', ')}`);
  const params = new Map<string, any>((get.parameters ?? []).filter((p: any) => p.in === 'query').map((p: any) => [p.name, p]));
  for (const name of ['node', 'check', 'category', 'severity', 'minSeverity', 'state', 'since', 'q', 'sort', 'order', 'limit', 'cursor']) {
    t.true(params.has(name), `query parameter ${name} is documented`);
  }
  t.deepEqual([...(params.get('severity')?.schema?.anyOf ?? params.get('severity')?.schema?.enum ?? [])].map((x: any) => x.enum?.[0] ?? x).sort(),
    ['critical', 'high', 'info', 'low', 'medium']);
  t.is(params.get('limit')?.schema?.maximum, 1000);
  const values = (name: string): string[] => [...(params.get(name)?.schema?.anyOf ?? params.get(name)?.schema?.enum ?? [])].map((x: any) => x.enum?.[0] ?? x.const ?? x);
  t.deepEqual(values('sort'), ['severity', 'lastSeen', 'firstSeen', 'node', 'check']);
  t.deepEqual(values('order'), ['asc', 'desc']);
  t.regex(String(params.get('sort')?.schema?.description ?? params.get('sort')?.description), /default severity/);
  t.truthy(res.body.paths?.['/api/v1/findings/{id}/suppress']?.post, 'the suppress call is documented');
  t.truthy(res.body.paths?.['/api/v1/nodes']?.get, 'the nodes call is documented');
  t.is(res.body.paths?.['/healthz'], undefined, 'hidden routes stay hidden');
}));

test('/metrics exposes nodeward_batches_ingested_total', (t) => withCollector(async (tc) => {
  const a = await connect(tc, 'node-a');
  await a.batch([proc('/usr/bin/nc')]);
  await a.batch([proc('/usr/bin/nc')]);
  await a.scan(Date.now(), ['cis-4.2.1'], [result('cis-4.2.1', '--anonymous-auth', 'fail')]);
  a.close();
  const res = await api<string>(tc, '/metrics', { token: null });
  t.is(res.status, 200);
  t.regex(res.text, /^# TYPE nodeward_batches_ingested_total counter$/m);
  t.regex(res.text, /^nodeward_batches_ingested_total\{kind="batch"\} 2$/m);
  t.regex(res.text, /^nodeward_batches_ingested_total\{kind="scan"\} 1$/m);
}));
