// The PostgreSQL sessions and audit log (collector/store/pg/sessions.ts, audit.ts) against
// their SQLite specification: the same calls on both backends, the answers deep-equal. What
// sessions.test.ts, audit.test.ts and audit-flood.test.ts exercise of these stores: the cap
// with the oldest evicted and expired rows purged first, expiry by the caller's clock; records
// newest first with filters and a cursor; anonymous refusals folded per source, action, reason
// and window, bounded in sources, written at the first refusal and by the writers' flushes,
// read at once from memory without a write. On PostgreSQL alone: two replicas creating
// sessions at the cap at once keep the cap, a session made on one replica is read on the
// other, and an audit write that fails in the background is reported by the next refusal or
// flush, once, by its code and never its message.
import test, { type ExecutionContext } from 'ava';
import { createAuditLog } from '../../collector/store/audit.js';
import type { AuditFilter, AuditLog } from '../../collector/store/boundary/audit.js';
import { OTHER_SOURCES } from '../../collector/store/boundary/audit.js';
import { StoreError } from '../../collector/store/boundary/errors.js';
import type { SessionRow, SessionStore } from '../../collector/store/boundary/sessions.js';
import type { Db } from '../../collector/store/db.js';
import { createPgAuditLog } from '../../collector/store/pg/audit.js';
import { createPgSessionStore } from '../../collector/store/pg/sessions.js';
import { createSessionStore } from '../../collector/store/sessions.js';
import { promised, settle } from '../../collector/store/synchronous.js';
import { outcome, pgDatabase, pgPool, sqliteDatabase, type PgSide } from '../helpers/pg-backends.js';
import { needsPostgres, postgresForFile } from '../helpers/postgres.js';
import { checkProperty, fc } from '../helpers/property.js';

const pgTest = needsPostgres();
const server = postgresForFile();

const T0 = Date.parse('2030-01-01T00:00:00Z');
const HOUR = 3600_000;

const row = (n: number, createdAt: number, ttl = HOUR): SessionRow => ({
  idSha256: String(n).padStart(64, '0'), name: n % 2 === 0 ? 'admin' : 'reader', role: n % 2 === 0 ? 'admin' : 'reader', csrfToken: `c${n}`, createdAt, expiresAt: createdAt + ttl,
});

interface Sides<S> {
  readonly db: Db;
  readonly pg: PgSide;
  readonly lite: S;
  readonly post: S;
  both<T>(what: string, call: (s: S) => Promise<T>): Promise<T>;
}

async function sides<S>(t: ExecutionContext, make: (db: Db, pg: PgSide) => { lite: S; post: S }): Promise<Sides<S>> {
  const db = sqliteDatabase(t);
  const pg = await pgDatabase(t, server);
  const { lite, post } = make(db, pg);
  return {
    db, pg, lite, post,
    async both<T>(what: string, call: (s: S) => Promise<T>): Promise<T> {
      const a = await outcome(() => call(lite));
      const b = await outcome(() => call(post));
      t.deepEqual(b, a, what);
      if ('threw' in a) return undefined as T;
      return a.ok;
    },
  };
}

const sessionSides = (t: ExecutionContext) => sides<SessionStore>(t, (db, pg) => ({
  lite: promised<SessionStore>(createSessionStore(db), settle), post: createPgSessionStore(pg.sql, pg.transact),
}));

pgTest('sessions: the cap evicts the oldest, expired rows go first and are not evictions, expiry by the clock, remove, purge, a duplicate refused', async (t) => {
  const s = await sessionSides(t);
  t.is(await s.both('1', (x) => x.create(row(1, 1000), 3, 1000)), 0);
  t.is(await s.both('2', (x) => x.create(row(2, 2000), 3, 2000)), 0);
  t.is(await s.both('3', (x) => x.create(row(3, 3000), 3, 3000)), 0);
  t.is(await s.both('4: the oldest makes room', (x) => x.create(row(4, 4000), 3, 4000)), 1);
  for (const n of [1, 2, 3, 4]) await s.both(`get ${n}`, (x) => x.get(row(n, 0).idSha256, 4000));
  await s.both('count', (x) => x.count());
  t.is(await s.both('5: session 2 expired, no live one evicted', (x) => x.create(row(5, 2000 + HOUR), 3, 2000 + HOUR)), 0);
  for (const n of [2, 3, 4, 5]) await s.both(`get ${n} later`, (x) => x.get(row(n, 0).idSha256, 2000 + HOUR));
  await s.both('the same created_at: ties by hash', (x) => x.create(row(7, 3000), 2, 3000 + HOUR - 1));
  await s.both('count after', (x) => x.count());
  await s.both('a duplicate is refused, and nothing of its transaction stays', (x) => x.create(row(7, 9000), 1, 9000));
  await s.both('count after the refusal', (x) => x.count());
  await s.both('at its expiry it is gone', (x) => x.get(row(7, 0).idSha256, 3000 + 2 * HOUR));
  await s.both('reading wrote nothing', (x) => x.count());
  await s.both('remove', (x) => x.remove(row(5, 0).idSha256));
  await s.both('remove unknown', (x) => x.remove('f'.repeat(64)));
  t.is(await s.both('purge', (x) => x.purgeExpired(3000 + 2 * HOUR)), 1);
  await s.both('count at the end', (x) => x.count());
  await s.both('max 0 still stores the new one', (x) => x.create(row(8, 10_000), 0, 10_000));
  await s.both('count with max 0', (x) => x.count());
});

pgTest('sessions across replicas: creates at the cap at once keep it, and a session made on one replica is read on the other', async (t) => {
  const first = await pgDatabase(t, server);
  const second = await pgPool(t, first.url, 4, false);
  const replicas = [createPgSessionStore(first.sql, first.transact), createPgSessionStore(second.sql, second.transact)];
  const MAXIMUM = 5;
  for (let round = 0; round < 4; round++) {
    const base = round * 100;
    const evicted = await Promise.all(Array.from({ length: 16 }, (_, i) => replicas[i % 2]!.create(row(base + i + 1, T0 + base + i), MAXIMUM, T0)));
    const count = await replicas[round % 2]!.count();
    t.is(count, MAXIMUM, `round ${round}: at the cap, never past it`);
    const before = round === 0 ? 0 : MAXIMUM;
    t.is(evicted.reduce((a, b) => a + b, 0), before + 16 - MAXIMUM, `round ${round}: every session beyond the cap evicted once`);
  }
  await replicas[0]!.create(row(999, T0 + 1000), MAXIMUM, T0);
  t.like(await replicas[1]!.get(row(999, 0).idSha256, T0), { name: 'reader', csrfToken: 'c999' }, 'the other replica reads it');
  await replicas[1]!.remove(row(999, 0).idSha256);
  t.is(await replicas[0]!.get(row(999, 0).idSha256, T0), undefined, 'and a logout on it ends it everywhere');
});

const AGG = { windowMs: 60_000, maxSourcesPerWindow: 3, flushMs: 5000 };

const auditSides = (t: ExecutionContext) => sides<AuditLog>(t, (db, pg) => ({
  lite: promised<AuditLog>(createAuditLog(db, AGG), settle, ['refusal']), post: createPgAuditLog(pg.sql, pg.transact, AGG),
}));

/** Every row, walking the cursor `limit` at a time. */
async function everything(s: Sides<AuditLog>, what: string, filter: AuditFilter = {}, limit = 1000): Promise<number> {
  let before = Number.MAX_SAFE_INTEGER;
  let n = 0;
  for (let i = 0; i < 1000; i++) {
    const page = await s.both(`${what}: page ${i}`, (x) => x.list(filter, limit, before));
    n += page.items.length;
    if (page.nextCursor === null) return n;
    before = page.items.at(-1)!.id;
  }
  throw new Error('no end');
}

pgTest('audit: records newest first, filtered, walked by cursor; purge by age', async (t) => {
  const s = await auditSides(t);
  const actions = ['finding.suppress', 'finding.unsuppress', 'baseline.allow'];
  for (let i = 0; i < 12; i++) {
    await s.both(`record ${i}`, (x) => x.record({
      at: T0 + i * 1000, actor: i % 3 === 0 ? 'reader' : 'admin', role: i % 3 === 0 ? 'reader' : 'admin', action: actions[i % 3]!,
      target: `t${i % 4}`, detail: { reason: `ticket "${i}" ü`, nested: { n: i } }, status: i % 5 === 0 ? 403 : 200, remote: '127.0.0.1',
    }));
  }
  for (const filter of [{}, { actor: 'reader' }, { action: 'baseline.allow' }, { target: 't1' }, { since: T0 + 5000 }, { actor: 'admin', action: 'finding.suppress', since: T0 + 2000 }, { actor: "x' OR 1=1 --" }]) {
    for (const limit of [1, 5, 100]) await everything(s, `${JSON.stringify(filter)} by ${limit}`, filter, limit);
  }
  t.is(await s.both('purge', (x) => x.purge(T0 + 4000)), 4);
  t.is(await everything(s, 'after the purge'), 8);
});

pgTest('audit: refusals fold per source, action, reason and window, bounded in sources; written at the first, then by flushes; read at once', async (t) => {
  const s = await auditSides(t);
  const stored = async (): Promise<[unknown, unknown]> => {
    await s.post.list({}, 1, Number.MAX_SAFE_INTEGER); // this collector's writes already started land first
    const q = 'SELECT seq, count, last_at FROM audit_log ORDER BY seq';
    return [s.db.prepare(q).all(), await s.pg.sql.rows(q)];
  };
  const refuse = (at: number, remote: string, reason = 'bad-credentials', action = 'api.auth'): Promise<void> =>
    s.both(`refusal ${remote} ${reason} at ${at - T0}`, async (x) => x.refusal({ at, action, reason, status: 401, remote }));

  for (let i = 0; i < 10; i++) await refuse(T0 + i, '203.0.113.9');
  let [lite, post] = await stored();
  t.deepEqual(post, lite);
  t.like(lite, [{ count: 1 }], 'the row is written at the first refusal; the rest count in memory');
  await everything(s, 'a read shows them all');
  [lite, post] = await stored();
  t.deepEqual(post, lite, 'and writes nothing');

  await refuse(T0 + 4000, '203.0.113.10');
  // A record between refusals takes its place in their order (the ids are given in call order).
  await s.both('a record among refusals', (x) => x.record({ at: T0 + 4000, actor: 'admin', role: 'admin', action: 'ui.login', target: '', detail: { outcome: 'logged in' }, status: 303, remote: '203.0.113.11' }));
  await refuse(T0 + 4001, '203.0.113.12');
  await refuse(T0 + 5000, '203.0.113.9');
  [lite, post] = await stored();
  t.deepEqual(post, lite);
  t.like(lite, [{ count: 11 }], 'a refusal flushMs after the last write writes what was gathered');

  // More sources than the bound: the rest fold into one row per action and reason.
  for (const [i, remote] of ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5'].entries()) {
    await refuse(T0 + 6000 + i, remote);
    await refuse(T0 + 6000 + i, remote, 'over-failure-limit');
    await refuse(T0 + 6000 + i, remote, 'bad-credentials', 'ui.login');
  }
  t.true((await s.post.list({}, 100, Number.MAX_SAFE_INTEGER)).items.some((r) => r.remote === OTHER_SOURCES));
  await everything(s, 'bounded sources');
  await s.both('flush (the sweeper\'s tick)', (x) => x.flush(T0 + 7000));
  [lite, post] = await stored();
  t.deepEqual(post, lite, 'flushed');

  // The next window: the last counts of the old one are written, and rows start again.
  await refuse(T0 + 3000, '203.0.113.9');
  await refuse(T0 + AGG.windowMs, '203.0.113.9');
  await refuse(T0 + AGG.windowMs + 1, '203.0.113.9');
  [lite, post] = await stored();
  t.deepEqual(post, lite, 'the window ended');
  await everything(s, 'two windows', {}, 2);
  await s.both('flush at close', (x) => x.flush());
  [lite, post] = await stored();
  t.deepEqual(post, lite);

  // A flood in random order of sources, reasons and times, against both: the same rows.
  await checkProperty(t, fc.asyncProperty(fc.array(fc.tuple(fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 30_000 })), { maxLength: 40 }),
    async (calls) => {
      let at = T0 + 10 * AGG.windowMs;
      for (const [source, reason, step] of calls) {
        at += step;
        await refuse(at, `198.51.100.${source}`, ['bad-credentials', 'over-failure-limit', 'cross-origin'][reason]);
      }
      await everything(s, 'the flood');
      const [a, b] = await stored();
      t.deepEqual(b, a);
      return JSON.stringify(a) === JSON.stringify(b);
    }), 25);
});

pgTest('audit on PostgreSQL: a refusal\'s write that fails is reported once by the next refusal or flush, by its code; the refusal is forgotten, the next one writes again', async (t) => {
  const pg = await pgDatabase(t, server);
  const audit = createPgAuditLog(pg.sql, pg.transact, AGG);
  const refusal = (at: number, remote = '203.0.113.9') => audit.refusal({ at, action: 'api.auth', reason: 'bad-credentials', status: 401, remote });
  await pg.sql.run('ALTER TABLE audit_log RENAME TO audit_log_away');
  t.notThrows(() => refusal(T0), 'the write is started, not awaited');
  await t.throwsAsync(audit.list({}, 10, Number.MAX_SAFE_INTEGER), undefined, 'a read fails of itself');
  const err = t.throws(() => refusal(T0 + 1), { instanceOf: StoreError });
  t.is((err as StoreError).code, 'AUDIT_WRITE_FAILED');
  t.is(err?.message, "1 write of refused calls' audit records failed (42P01)", 'the code, never the driver\'s message');
  t.notThrows(() => refusal(T0 + 2), 'reported once');
  await t.throwsAsync(audit.list({}, 10, Number.MAX_SAFE_INTEGER), undefined, 'the second row\'s write has failed too');

  await pg.sql.run('ALTER TABLE audit_log_away RENAME TO audit_log');
  await t.throwsAsync(audit.flush(T0 + 3), { instanceOf: StoreError, message: /^1 write of/ }, 'the flush reports what failed since');
  await audit.flush(T0 + 4);
  refusal(T0 + 5);
  refusal(T0 + 6);
  const rows = (await audit.list({}, 10, Number.MAX_SAFE_INTEGER)).items;
  t.is(rows.length, 1, 'the source writes a row again');
  t.like(rows[0], { remote: '203.0.113.9', count: 2, at: new Date(T0 + 5).toISOString(), lastAt: new Date(T0 + 6).toISOString() });
  t.is(await audit.purge(T0 + HOUR), 1);
});
