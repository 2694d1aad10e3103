// The PostgreSQL store's migrator (collector/store/pg/migrate.ts) on a real PostgreSQL: a
// second run is a no-op, collectors starting together end with one applied schema and no
// error (the advisory lock makes the others wait), a database newer than the code is refused
// before anything is written, and a migration that fails leaves nothing behind; the lock is
// given back in every case.
import pg from 'pg';
import { StoreError } from '../../collector/store/boundary/errors.js';
import { migratePostgres, MIGRATION_LOCK_KEY, MIGRATIONS_TABLE } from '../../collector/store/pg/migrate.js';
import { openPostgres } from '../../collector/store/pg/open.js';
import type { PostgresSettings } from '../../collector/store/pg/settings.js';
import { PG_MIGRATIONS, type PgMigration } from '../../collector/store/pg/migrations/index.js';
import { eventually } from '../helpers/https.js';
import { connectTo, needsPostgres, PG_USER, postgresForFile } from '../helpers/postgres.js';

const pgTest = needsPostgres();
const server = postgresForFile();

/** `n` clients of one new database. */
async function clients(n: number): Promise<pg.Client[]> {
  const s = await server();
  const url = s.url(await s.createDatabase());
  return Promise.all(Array.from({ length: n }, () => connectTo(url)));
}

const endAll = (cs: readonly pg.Client[]): Promise<unknown> => Promise.all(cs.map((c) => c.end()));

const applied = async (c: pg.Client): Promise<Array<{ version: number; name: string }>> =>
  (await c.query<{ version: number; name: string }>(`SELECT version, name FROM ${MIGRATIONS_TABLE} ORDER BY version`)).rows;

const tables = async (c: pg.Client): Promise<number> =>
  Number((await c.query<{ n: string }>("SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = current_schema()")).rows[0]!.n);

/** True when another session can take the migration lock now (then gives it back). */
async function lockIsFree(c: pg.Client): Promise<boolean> {
  const got = (await c.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS ok', [MIGRATION_LOCK_KEY])).rows[0]!.ok;
  if (got) await c.query('SELECT pg_advisory_unlock($1::bigint)', [MIGRATION_LOCK_KEY]);
  return got;
}

pgTest('a new database is migrated to the latest version; a second run applies nothing and changes nothing', async (t) => {
  const [c, other] = await clients(2);
  try {
    const latest = PG_MIGRATIONS.at(-1)!.version;
    t.deepEqual(await migratePostgres(c!), { from: 0, to: latest, applied: PG_MIGRATIONS.map((m) => m.version) });
    const seal = (await c!.query<{ value: Buffer }>("SELECT value FROM store_secrets WHERE name = 'cursor-seal'")).rows[0]!.value;
    const count = await tables(c!);
    t.deepEqual(await migratePostgres(c!), { from: latest, to: latest, applied: [] });
    t.deepEqual(await applied(c!), PG_MIGRATIONS.map((m) => ({ version: m.version, name: m.name })));
    t.is(await tables(c!), count);
    t.deepEqual((await c!.query<{ value: Buffer }>('SELECT value FROM store_secrets')).rows.map((r) => r.value), [seal], 'the seal is made once');
    t.true(await lockIsFree(other!), 'the lock is given back');
  } finally {
    await endAll([c!, other!]);
  }
});

pgTest('collectors migrating one database at once: one applies the schema, the others wait and find it done, none fails', async (t) => {
  for (let round = 0; round < 3; round++) {
    const cs = await clients(4);
    try {
      const outcomes = await Promise.all(cs.map((c) => migratePostgres(c)));
      t.is(outcomes.filter((o) => o.applied.length > 0).length, 1, `round ${round}: ${JSON.stringify(outcomes)}`);
      t.true(outcomes.every((o) => o.to === PG_MIGRATIONS.at(-1)!.version));
      t.is((await applied(cs[0]!)).length, PG_MIGRATIONS.length);
      t.is(Number((await cs[0]!.query<{ n: string }>('SELECT count(*) AS n FROM store_secrets')).rows[0]!.n), 1);
      t.true(await lockIsFree(cs[0]!));
    } finally {
      await endAll(cs);
    }
  }
});

pgTest('a migrator waits while another session holds the lock, and migrates once it is released', async (t) => {
  const [holder, migrator, watcher] = await clients(3);
  try {
    await holder!.query('SELECT pg_advisory_lock($1::bigint)', [MIGRATION_LOCK_KEY]);
    const pid = (await migrator!.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    let done = false;
    const run = migratePostgres(migrator!).finally(() => { done = true; });
    // The migrator's session is seen waiting for the advisory lock (not a guess about time).
    await eventually('the migrator to wait for the lock', async () => ((await watcher!.query(
      "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND pid = $1", [pid])).rowCount ?? 0) > 0 || undefined, 10_000, 20);
    t.false(done);
    t.is(await tables(watcher!), 0, 'nothing is created while it waits');
    await holder!.query('SELECT pg_advisory_unlock($1::bigint)', [MIGRATION_LOCK_KEY]);
    t.deepEqual((await run).applied, PG_MIGRATIONS.map((m) => m.version));
  } finally {
    await endAll([holder!, migrator!, watcher!]);
  }
});

pgTest('a database whose schema is newer than the code is refused with DB_TOO_NEW, and nothing is written', async (t) => {
  const [c, other] = await clients(2);
  try {
    await migratePostgres(c!);
    const latest = PG_MIGRATIONS.at(-1)!.version;
    await c!.query(`INSERT INTO ${MIGRATIONS_TABLE} (version, name) VALUES ($1, 'from-a-newer-collector')`, [latest + 1]);
    const count = await tables(c!);
    const err = await t.throwsAsync(migratePostgres(c!), { instanceOf: StoreError });
    t.is((err as StoreError).code, 'DB_TOO_NEW');
    t.is(err!.message, `database schema version ${latest + 1} is newer than this collector understands (${latest}); refusing to open it`);
    t.is(await tables(c!), count);
    t.true(await lockIsFree(other!), 'the lock is given back after a refusal');
  } finally {
    await endAll([c!, other!]);
  }
});

pgTest('a migration that fails is rolled back whole: its tables are gone, its version unrecorded, the lock given back', async (t) => {
  const [c, other] = await clients(2);
  const broken: PgMigration = { version: PG_MIGRATIONS.length + 1, name: 'broken', sql: 'CREATE TABLE half_done (x integer); SELECT 1 / 0;' };
  try {
    await t.throwsAsync(migratePostgres(c!, [...PG_MIGRATIONS, broken]), { message: /division by zero/ });
    t.deepEqual((await applied(c!)).map((r) => r.version), PG_MIGRATIONS.map((m) => m.version), 'the earlier migrations stay applied');
    t.is((await c!.query("SELECT 1 FROM information_schema.tables WHERE table_name = 'half_done'")).rowCount, 0);
    t.true(await lockIsFree(other!));
    // The session is usable afterwards: no transaction left open.
    t.is((await c!.query<{ s: string }>('SELECT 1::text AS s')).rows[0]!.s, '1');
  } finally {
    await endAll([c!, other!]);
  }
});

pgTest('a list of migrations with a gap or out of order is refused before the database is touched', async (t) => {
  const [c] = await clients(1);
  try {
    const skip: PgMigration = { version: PG_MIGRATIONS.length + 2, name: 'skipped-one', sql: 'SELECT 1' };
    await t.throwsAsync(migratePostgres(c!, [...PG_MIGRATIONS, skip]), { message: `PostgreSQL migration skipped-one has version ${PG_MIGRATIONS.length + 2}; expected ${PG_MIGRATIONS.length + 1}` });
    t.is(await tables(c!), 0);
  } finally {
    await endAll([c!]);
  }
});

pgTest('openPostgres migrates through the pool and gives the connection back; a server it cannot reach is DB_UNREACHABLE, its URL redacted', async (t) => {
  const s = await server();
  const db = await s.createDatabase();
  const password = 'pw-never-shown-0123';
  const settings = (url: string): PostgresSettings => ({ url: () => url, sslMode: 'disable', ca: undefined, poolSize: 2, connectTimeoutMs: 5_000 });
  // Trust authentication ignores the password; it is in the URL to be kept out of messages.
  const url = `postgres://${PG_USER}:${password}@127.0.0.1:${s.port}/${db}`;
  const first = await openPostgres(settings(url), () => undefined);
  try {
    t.deepEqual(first.schema.applied, PG_MIGRATIONS.map((m) => m.version));
    t.is(first.pool.totalCount, first.pool.idleCount, 'the migrating connection is back in the pool');
    t.is((await first.pool.query<{ n: number }>('SELECT count(*)::bigint AS n FROM findings')).rows[0]!.n, 0);
  } finally {
    await first.pool.end();
  }
  const again = await openPostgres(settings(url), () => undefined);
  t.deepEqual(again.schema.applied, []);
  await again.pool.end();

  for (const [target, why] of [[`127.0.0.1:1/${db}`, /ECONNREFUSED/], [`127.0.0.1:${s.port}/no_such_database`, /database "no_such_database" does not exist/]] as const) {
    const err = await t.throwsAsync(openPostgres(settings(`postgres://${PG_USER}:${password}@${target}`), () => undefined), { instanceOf: StoreError });
    t.is((err as StoreError).code, 'DB_UNREACHABLE');
    t.regex(err!.message, why);
    t.true(err!.message.startsWith(`cannot connect to PostgreSQL at postgres://${PG_USER}:redacted@${target}: `), err!.message);
    t.false(err!.message.includes(password));
  }
});
