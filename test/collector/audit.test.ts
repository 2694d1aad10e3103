// The audit log (every API call that changes something: who, what, when, outcome) and the
// per-token rate limit.
import test from 'ava';
import { ADMIN_TOKEN, READER_TOKEN } from '../helpers/collector.js';
import { api, connect, fp, ok, proc, withCollector } from '../helpers/agent-session.js';
import { testClock } from '../helpers/clock.js';

test('every call that changes something is audited with who, what, when and outcome; reads are not; only admins read the log', (t) => withCollector(async (tc) => {
  const a = await connect(tc, 'node-a');
  await a.batch([proc('/usr/bin/nc'), proc('/usr/bin/socat')]);
  a.close();
  const nc = fp('node-a', 'proc-unexpected', '/usr/bin/nc');
  const socat = fp('node-a', 'proc-unexpected', '/usr/bin/socat');
  const post = (path: string, body: unknown, token: string | null) => api(tc, path, { method: 'POST', token, body });
  const before = Date.now();
  const until = new Date(Date.now() + 3600_000).toISOString();

  t.is((await post(`/api/v1/findings/${nc}/suppress`, { reason: 'ticket OPS-7', until }, ADMIN_TOKEN)).status, 200);
  t.is((await post(`/api/v1/findings/${socat}/suppress`, { reason: 'sneaky' }, READER_TOKEN)).status, 403);
  t.is((await post(`/api/v1/findings/${'a'.repeat(32)}/suppress`, { reason: 'no such' }, ADMIN_TOKEN)).status, 404);
  t.is((await post(`/api/v1/findings/${socat}/suppress`, { reason: '' }, ADMIN_TOKEN)).status, 400);
  t.is((await post(`/api/v1/findings/${socat}/suppress`, { reason: 'anonymous' }, null)).status, 401);
  t.is((await post(`/api/v1/findings/${nc}/unsuppress`, {}, ADMIN_TOKEN)).status, 200);
  const origin = { origin: new URL(tc.apiUrl).origin };
  t.is((await api(tc, '/ui/login', { method: 'POST', token: null, body: { token: 'not-a-valid-token-at-all' }, headers: origin })).status, 303);
  t.is((await api(tc, '/ui/login', { method: 'POST', token: null, body: { token: ADMIN_TOKEN }, headers: origin })).status, 303);
  await ok(tc, '/api/v1/findings');
  await ok(tc, `/api/v1/findings/${nc}`);

  t.is((await api(tc, '/api/v1/audit', { token: READER_TOKEN })).status, 403, 'readers cannot read the audit log');
  t.is((await api(tc, '/api/v1/audit', { token: null })).status, 401);
  const log = await ok(tc, '/api/v1/audit', ADMIN_TOKEN);
  const rows = log.items.map((r: any) => [r.action, r.actor, r.status]);
  t.deepEqual(rows, [
    ['ui.login', 'admin', 303],
    ['ui.login', '', 303],
    ['finding.unsuppress', 'admin', 200],
    ['finding.suppress', 'admin', 400],
    ['finding.suppress', 'admin', 404],
    ['finding.suppress', 'reader', 403],
    ['finding.suppress', 'admin', 200],
  ], 'newest first; the unauthenticated call and the reads are not in it');
  const suppress = log.items.at(-1);
  t.like(suppress, { role: 'admin', target: nc, detail: { reason: 'ticket OPS-7', until }, remote: '127.0.0.1' });
  t.true(Date.parse(suppress.at) >= before - 1000 && Date.parse(suppress.at) <= Date.now());
  t.deepEqual(log.items.slice(0, 2).map((r: any) => r.detail.outcome), ['logged in', 'refused']);
  t.false(JSON.stringify(log).includes(ADMIN_TOKEN), 'no token is ever recorded');

  // Filters, and a cursor that walks every record once.
  t.deepEqual((await ok(tc, '/api/v1/audit?actor=reader', ADMIN_TOKEN)).items.map((r: any) => r.target), [socat]);
  t.is((await ok(tc, '/api/v1/audit?action=finding.suppress', ADMIN_TOKEN)).items.length, 4);
  t.is((await ok(tc, `/api/v1/audit?target=${nc}`, ADMIN_TOKEN)).items.length, 2);
  t.is((await ok(tc, `/api/v1/audit?since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`, ADMIN_TOKEN)).items.length, 0);
  const walked: number[] = [];
  let cursor: string | null = null;
  do {
    const page: any = await ok(tc, `/api/v1/audit?limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, ADMIN_TOKEN);
    walked.push(...page.items.map((r: any) => r.id));
    cursor = page.nextCursor;
  } while (cursor);
  t.deepEqual(walked, log.items.map((r: any) => r.id));
  for (const [q, param] of [['cursor=abc', 'cursor'], ['since=yesterday', 'since'], ['limit=0', 'limit'], ['actor=' + 'x'.repeat(65), 'actor'], ['who=me', 'who']] as const) {
    const res = await api(tc, `/api/v1/audit?${q}`, { token: ADMIN_TOKEN });
    t.is(res.status, 400, `${q}: ${res.text}`);
    t.true(String(res.body.error).includes(param), `${q}: ${res.body.error}`);
  }
}));

test('each token has its own rate limit: over it, 429 with Retry-After; it refills with time', (t) => {
  const clock = testClock();
  return withCollector(async (tc) => {
    const codes = async (token: string, n: number): Promise<number[]> => {
      const out: number[] = [];
      for (let i = 0; i < n; i++) out.push((await api(tc, '/api/v1/findings', { token })).status);
      return out;
    };
    t.deepEqual(await codes(READER_TOKEN, 3), [200, 200, 200], 'the burst is allowed');
    const limited = await api(tc, '/api/v1/findings', { token: READER_TOKEN });
    t.is(limited.status, 429);
    // Empty bucket: one request comes back after 1 / 0.25 s, less what has refilled since the burst.
    const retryAfter = Number(limited.headers['retry-after']);
    t.true(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 4, `Retry-After ${limited.headers['retry-after']}`);
    t.is(limited.body.error, `token reader is over its rate limit (0.25/s, bursts of 3); retry in ${retryAfter} s`);
    // Other tokens are not affected, and neither are the unauthenticated endpoints.
    t.is((await api(tc, '/api/v1/findings', { token: ADMIN_TOKEN })).status, 200);
    t.is((await api(tc, '/healthz', { token: null })).status, 200);
    // A refused write is not attempted, so it is not audited either.
    await codes(ADMIN_TOKEN, 2);
    const write = await api(tc, `/api/v1/findings/${'b'.repeat(32)}/suppress`, { method: 'POST', token: ADMIN_TOKEN, body: { reason: 'x' } });
    t.is(write.status, 429);

    await clock.advance(retryAfter * 1000 + 100);
    t.is((await api(tc, '/api/v1/findings', { token: READER_TOKEN })).status, 200, 'after Retry-After the token may call again');
    t.is(tc.collector.metrics.get('nodeward_api_rate_limited_total', { token: 'reader' }), 1);
    t.is(tc.collector.metrics.get('nodeward_api_rate_limited_total', { token: 'admin' }), 1);
    await clock.advance(4100);
    t.deepEqual((await ok(tc, '/api/v1/audit', ADMIN_TOKEN)).items, []);
  }, { overrides: { 'api.rateLimit': { requestsPerSecond: 0.25, burst: 3 } }, clock });
});
