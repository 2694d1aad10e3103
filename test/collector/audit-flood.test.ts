// Anonymous floods against the API and the dashboard login (issue 12, break 3 and the lows of
// break 8), on the real app (Fastify inject: many source addresses, an injected clock) and a
// real store (SQLite and PostgreSQL, test/helpers/stores.ts):
//   - refusals of unauthenticated callers cost a bounded number of audit rows, one per source,
//     reason and hour (with a count), however many there are and from however many addresses;
//   - failed credentials are limited (429 with Retry-After), per source and in all, but a
//     correct token is never refused because others failed from the same address;
//   - the counts held in memory are read at once without a write, and written by the
//     sweeper's tick on the collector's clock (and at close).
import test, { type ExecutionContext } from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApi } from '../../collector/api/app.js';
import { hashToken } from '../../collector/config.js';
import { createMetrics } from '../../collector/metrics.js';
import { openStore } from '../../collector/store/sqlite.js';
import type { Store } from '../../collector/store/store.js';
import { createPipeline } from '../../collector/pipeline/pipeline.js';
import { OTHER_SOURCES, REFUSAL_AGGREGATION } from '../../collector/store/store.js';
import { createSweeper } from '../../collector/pipeline/sweeper.js';
import { createLogger } from '../../proto/support/logger.js';
import Database from 'better-sqlite3';
import { testClock } from '../helpers/clock.js';
import { storeTest, type Backend } from '../helpers/stores.js';

const ADMIN = 'admin-token-for-the-flood-tests-0123456789';
const T0 = Date.parse('2030-01-01T00:00:00Z');

async function app(t: ExecutionContext, backend: Backend) {
  const store: Store = await backend.open(t);
  const clock = { now: T0 };
  const metrics = createMetrics();
  const api = await buildApi({
    store, pipeline: createPipeline({ store, metrics, log: createLogger('pipeline', 'silent'), now: () => clock.now }), metrics, log: createLogger('api', 'silent'), tokens: [{ name: 'admin', role: 'admin', sha256: hashToken(ADMIN) }],
    staleAfterMs: 60_000, ready: () => true, now: () => clock.now, rateLimit: { perSecond: 1000, burst: 100_000 },
  });
  t.teardown(async () => {
    await api.close();
    await store.close();
  });
  // Inject answers on http://localhost: the login's own origin.
  const login = (token: string, remoteAddress = '203.0.113.7') => api.inject({
    method: 'POST', url: '/ui/login', remoteAddress, headers: { origin: 'http://localhost', 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ token }).toString(),
  });
  const get = (token: string, remoteAddress = '203.0.113.7') => api.inject({ method: 'GET', url: '/api/v1/nodes', remoteAddress, headers: { authorization: `Bearer ${token}` } });
  /** Every audit row, walking the cursor. */
  const rows = async () => {
    const out = [];
    let before = Number.MAX_SAFE_INTEGER;
    for (;;) {
      const page = await store.audit.list({}, 1000, before);
      out.push(...page.items);
      if (page.items.length < 1000) return out;
      before = page.items.at(-1)!.id;
    }
  };
  return { api, store, clock, metrics, login, get, rows };
}

storeTest('6,900 refused logins in 4 s from one address cost at most one audit row per reason, with the count', async (t, backend) => {
  const a = await app(t, backend);
  const N = 6900;
  for (let i = 0; i < N; i++) {
    a.clock.now = T0 + Math.floor((i * 4000) / N);
    const res = await a.login(`guess-${i}-0123456789abcdef`);
    t.is(res.statusCode, 303);
  }
  const rows = await a.rows();
  t.log(`${N} refused logins: ${rows.length} audit rows`);
  t.true(rows.length <= 3, `${rows.length} audit rows for ${N} refused logins`);
  t.deepEqual(rows.map((r) => r.detail.reason).sort(), ['bad-credentials', 'over-failure-limit']);
  t.is(rows.reduce((n, r) => n + r.count, 0), N, 'the counts add up to every refusal');
  const limited = rows.find((r) => r.detail.reason === 'over-failure-limit')!;
  t.like(limited, { action: 'ui.login', actor: '', remote: '203.0.113.7', status: 303 });
  t.is(Date.parse(limited.lastAt), T0 + Math.floor(((N - 1) * 4000) / N), 'the last refusal\'s time');
  t.true(Date.parse(limited.at) < Date.parse(limited.lastAt));

  // The next hour is a new window: one more row per reason, not one per refusal.
  a.clock.now = T0 + REFUSAL_AGGREGATION.windowMs;
  for (let i = 0; i < 100; i++) await a.login(`guess-again-${i}-0123456789abcdef`);
  t.true((await a.rows()).length <= 5);
  // A login is still one record of its own.
  const ok = await a.login(ADMIN);
  t.is(ok.statusCode, 303);
  t.is(ok.headers.location, '/ui/');
  t.like((await a.rows())[0], { action: 'ui.login', actor: 'admin', count: 1, detail: { outcome: 'logged in' } });
});

storeTest('refusals from thousands of addresses fold into a bounded number of rows per window', async (t, backend) => {
  const a = await app(t, backend);
  const sources = 5000;
  for (let i = 0; i < sources; i++) {
    const res = await a.get(`bad-token-${i}-0123456789abcdef`, `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    // 401 until the failures of all sources together pass the shared limit, then 429.
    t.true(res.statusCode === 401 || res.statusCode === 429, String(res.statusCode));
  }
  for (let i = 0; i < 50; i++) await a.login(`guess-${i}-0123456789abcdef`, `2001:db8::${i.toString(16)}`);
  const rows = await a.rows();
  t.log(`${sources} sources and 50 more: ${rows.length} audit rows`);
  // Per window: maxSourcesPerWindow sources, plus one row per action and reason for the rest.
  t.true(rows.length <= REFUSAL_AGGREGATION.maxSourcesPerWindow + 4, `${rows.length} rows`);
  const others = rows.filter((r) => r.remote === OTHER_SOURCES);
  t.true(others.length >= 1);
  t.is(rows.filter((r) => r.action === 'api.auth').reduce((n, r) => n + r.count, 0), sources, 'every API refusal counted');
  t.is(rows.filter((r) => r.action === 'ui.login').reduce((n, r) => n + r.count, 0), 50, 'every login refusal counted');
});

storeTest('failed bearer tokens are limited per address and in all; a correct token from the same address is never refused', async (t, backend) => {
  const a = await app(t, backend);
  // Behind an ingress every client has the ingress's address.
  const ingress = '10.1.2.3';
  const codes: number[] = [];
  for (let i = 0; i < 12; i++) codes.push((await a.get(`wrong-${i}-0123456789abcdef`, ingress)).statusCode);
  t.deepEqual(codes, [401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 429, 429], 'ten failures, then 429');
  const limited = await a.get('wrong-again-0123456789abcdef', ingress);
  t.is(limited.statusCode, 429);
  t.true(Number(limited.headers['retry-after']) >= 1, `Retry-After ${String(limited.headers['retry-after'])}`);
  t.regex(limited.json().error, /too many failed tokens from this address/);
  // The operator with the right token, behind the same ingress, is served: by the API and the login.
  t.is((await a.get(ADMIN, ingress)).statusCode, 200);
  const login = await a.login(ADMIN, ingress);
  t.is(login.headers.location, '/ui/');
  t.truthy(login.headers['set-cookie']);
  // Time refills the address's bucket (one failure per 5 s); no sleeping: the clock moves.
  a.clock.now += 5000;
  t.is((await a.get('wrong-later-0123456789abcdef', ingress)).statusCode, 401);
  t.is((await a.get('wrong-later-0123456789abcdef', ingress)).statusCode, 429);

  // Failures from many addresses drain the shared bucket too: then every failure waits, still
  // without refusing a correct token.
  for (let i = 0; i < 300; i++) await a.get(`spray-${i}-0123456789abcdef`, `192.0.2.${i % 250}`);
  const spray = await a.get('spray-more-0123456789abcdef', '198.51.100.1');
  t.is(spray.statusCode, 429);
  t.regex(spray.json().error, /from all clients/);
  t.is((await a.get(ADMIN, '198.51.100.1')).statusCode, 200);
  t.true(a.metrics.get('nodeward_auth_failures_total', { surface: 'api', answer: 'limited' })! > 0);
});

// SQLite's alone: what is written when is read from the database file beside the store (its
// rows and PRAGMA data_version, which says whether anything committed).
test('counts not written yet: a read shows them and writes nothing; the sweeper writes them at its next tick on the clock, the store at close', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-flood-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'db.sqlite');
  const clock = testClock(T0);
  const store = openStore({ path });
  const log = createLogger('test', 'silent');
  const metrics = createMetrics();
  const pipeline = createPipeline({ store, metrics, log, now: clock.now });
  const TICK = 30_000;
  const sweeper = createSweeper({ intervalMs: TICK, staleAfterMs: 3600_000, retention: { resolvedFindingsMs: 0, historyMs: 0, auditMs: 0, receivedMs: 0 } },
    { store, pipeline, metrics, log, clock });
  sweeper.start();
  let open = true;
  t.teardown(async () => {
    sweeper.stop();
    if (open) await store.close();
  });
  const raw = new Database(path, { readonly: true, fileMustExist: true });
  t.teardown(() => raw.close());
  const stored = (): unknown => raw.prepare('SELECT count FROM audit_log WHERE remote = ?').pluck().get('203.0.113.9');
  const refuse = (n: number): void => {
    for (let i = 0; i < n; i++) store.audit.refusal({ at: clock.now(), action: 'api.auth', reason: 'bad-credentials', status: 401, remote: '203.0.113.9' });
  };

  refuse(10);
  t.is(stored(), 1, 'the row is written at the first refusal; the rest count in memory');
  const version = raw.pragma('data_version', { simple: true });
  t.like((await store.audit.list({}, 10, Number.MAX_SAFE_INTEGER)).items, [{ count: 10, remote: '203.0.113.9' }], 'a read shows them all');
  t.is(raw.pragma('data_version', { simple: true }), version, 'and commits nothing');

  // The refusals stop: nothing else would write them; the sweeper's tick does.
  await clock.advance(TICK - 1);
  t.is(stored(), 1);
  await clock.advance(1);
  t.is(stored(), 10, 'written at the tick');

  // The writers' own path: a refusal `flushMs` after the last write writes what was gathered.
  refuse(5);
  t.is(stored(), 10, 'the tick wrote just now');
  await clock.advance(REFUSAL_AGGREGATION.flushMs);
  refuse(1);
  t.is(stored(), 16);
  refuse(2);
  t.is(stored(), 16);
  await store.close();
  open = false;
  t.is(stored(), 18, 'and at close');
});
