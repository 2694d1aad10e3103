// Dashboard sessions in the store, on SQLite and on PostgreSQL (test/helpers/stores.ts): a
// login survives a collector restart (store closed and opened again on the same database); it ends at its expiry by the collector's clock; a session
// of a token since removed or given another role is worth nothing; the database holds the
// SHA-256 of a session id, never the id; the number of sessions is bounded, oldest first.
import test from 'ava';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { buildApi } from '../../collector/api/app.js';
import { hashToken, type ApiToken } from '../../collector/config.js';
import { createMetrics } from '../../collector/metrics.js';
import { createPipeline } from '../../collector/pipeline/pipeline.js';
import { openStore } from '../../collector/store/sqlite.js';
import type { Store } from '../../collector/store/store.js';
import { createLogger } from '../../proto/support/logger.js';
import { ADMIN_TOKEN, READER_TOKEN } from '../helpers/collector.js';
import { storeTest } from '../helpers/stores.js';

const TOKENS: ApiToken[] = [{ name: 'admin', role: 'admin', sha256: hashToken(ADMIN_TOKEN) }, { name: 'reader', role: 'reader', sha256: hashToken(READER_TOKEN) }];
const HOUR = 3600_000;

/** A collector's API over a store `openStore` opens, as main.ts builds it (no listeners). */
async function open(openStore: () => Promise<Store>, now: () => number, tokens: ApiToken[] = TOKENS) {
  const log = createLogger('test', 'silent');
  const metrics = createMetrics();
  const store = await openStore();
  const pipeline = createPipeline({ store, metrics, log, now });
  const app = await buildApi({ store, pipeline, metrics, log, now, tokens, staleAfterMs: 120_000, ready: () => true, sessionTtlMs: 12 * HOUR });
  await app.ready();
  return {
    store, app,
    read: async (cookie: string) => (await app.inject({ method: 'GET', url: '/api/v1/findings', headers: { cookie } })).statusCode,
    session: async (cookie: string) => (await app.inject({ method: 'GET', url: '/ui/session', headers: { cookie } })).json() as { csrfToken: string },
    async login(token: string): Promise<string> {
      const res = await app.inject({ method: 'POST', url: '/ui/login', payload: `token=${token}`, headers: { 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin' } });
      const set = String([res.headers['set-cookie'] ?? []].flat()[0] ?? '');
      if (!set) throw new Error(`login refused: ${res.headers.location}`);
      return set.split(';')[0]!;
    },
    async close() {
      await app.close();
      await store.close();
    },
  };
}

storeTest('a session survives a restart; it ends at its expiry', async (t, backend) => {
  const db = await backend.database(t);
  let at = Date.parse('2026-03-01T00:00:00Z');
  const now = () => at;

  const first = await open(() => db.open(), now);
  const cookie = await first.login(ADMIN_TOKEN);
  const { csrfToken } = await first.session(cookie);
  t.is(await first.read(cookie), 200);
  await first.close();

  // The restarted collector honours the cookie, with the same CSRF token.
  at += 11 * HOUR;
  const second = await open(() => db.open(), now);
  t.teardown(() => second.close());
  t.is(await second.read(cookie), 200, 'the same cookie reads after the restart');
  t.is((await second.session(cookie)).csrfToken, csrfToken);
  const write = await second.app.inject({ method: 'POST', url: '/api/v1/webhooks/deliveries/retry', payload: { ids: [1] }, headers: { cookie, 'sec-fetch-site': 'same-origin', 'x-nodeward-csrf': csrfToken } });
  t.is(write.statusCode, 200, write.body);

  // Past its expiry (the collector's clock) it reads nothing, and the sweep deletes it.
  at += HOUR;
  t.is(await second.read(cookie), 401, 'expired');
  t.is(await second.store.sessions.count(), 1, 'reading wrote nothing');
  t.is(await second.store.sessions.purgeExpired(at), 1);
  t.is(await second.store.sessions.count(), 0);
});

// SQLite's alone: the bytes of the database file and its sessions table, read directly.
test('sqlite: the database holds only the hash of a session id', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-sessions-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'nodeward.db');
  const at = Date.parse('2026-03-01T00:00:00Z');
  const first = await open(async () => openStore({ path }), () => at);
  const cookie = await first.login(ADMIN_TOKEN);
  const id = cookie.split('=')[1]!;
  const { csrfToken } = await first.session(cookie);
  await first.close();

  const bytes = Buffer.concat(await Promise.all([path, `${path}-wal`].filter((f) => existsSync(f)).map((f) => readFile(f))));
  t.false(bytes.includes(id), 'the session id is nowhere in the database file');
  const db = new Database(path, { readonly: true });
  const rows = db.prepare('SELECT * FROM sessions').all() as Array<Record<string, unknown>>;
  db.close();
  t.is(rows.length, 1);
  t.like(rows[0], { id_sha256: createHash('sha256').update(id).digest('hex'), name: 'admin', role: 'admin', csrf_token: csrfToken, created_at: at, expires_at: at + 12 * HOUR });
});

storeTest('a session of a token since removed, or given another role, is worth nothing', async (t, backend) => {
  const db = await backend.database(t);
  const now = () => Date.parse('2026-03-01T00:00:00Z');
  const first = await open(() => db.open(), now);
  const admin = await first.login(ADMIN_TOKEN);
  const reader = await first.login(READER_TOKEN);
  await first.close();

  // The admin token is now a reader's (same name, same secret, another role); the reader's is gone.
  const demoted = await open(() => db.open(), now, [{ name: 'admin', role: 'reader', sha256: hashToken(ADMIN_TOKEN) }]);
  t.teardown(() => demoted.close());
  t.is(await demoted.read(admin), 401, 'the role changed: the old session is gone');
  t.is(await demoted.read(reader), 401, 'the token was removed');
  const fresh = await demoted.login(ADMIN_TOKEN);
  t.is(await demoted.read(fresh), 200, 'a new login gets what the token is now');
  t.is(((await demoted.app.inject({ method: 'GET', url: '/ui/session', headers: { cookie: fresh } })).json() as { role: string }).role, 'reader');
});

storeTest('the store keeps at most max sessions, evicting the oldest, and drops expired ones as it makes room', async (t, backend) => {
  const store = await backend.open(t);
  const row = (n: number, createdAt: number, ttl = HOUR) => ({ idSha256: String(n).padStart(64, '0'), name: 'admin', role: 'admin' as const, csrfToken: `c${n}`, createdAt, expiresAt: createdAt + ttl });
  t.is(await store.sessions.create(row(1, 1000), 3, 1000), 0);
  t.is(await store.sessions.create(row(2, 2000), 3, 2000), 0);
  t.is(await store.sessions.create(row(3, 3000), 3, 3000), 0);
  t.is(await store.sessions.create(row(4, 4000), 3, 4000), 1, 'the oldest made room');
  t.is(await store.sessions.get(row(1, 0).idSha256, 4000), undefined);
  t.truthy(await store.sessions.get(row(2, 0).idSha256, 4000));
  t.is(await store.sessions.count(), 3);
  // Expired rows go first, and are not counted as evictions.
  t.is(await store.sessions.create(row(5, 2000 + HOUR), 3, 2000 + HOUR), 0, 'sessions 2 expired: no live one evicted');
  const live = [];
  for (const n of [2, 3, 4, 5]) live.push((await store.sessions.get(row(n, 0).idSha256, 2000 + HOUR)) !== undefined);
  t.deepEqual(live, [false, true, true, true]);
});
