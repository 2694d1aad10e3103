// Both backends side by side, for the differential tests of the PostgreSQL sub-stores
// (test/collector/pg-*.test.ts): a fresh SQLite database in memory and a fresh, migrated
// PostgreSQL database of the file's test server, each with raw access for the rows other
// sub-stores would write (findings, results, rollups), written alike on both by `exec`.
//
// The SQLite sub-stores are taken as the store builds them (the synchronous implementation
// behind `promised`), over a database opened here, because the tests write those fixture rows
// on the same database.
import type { ExecutionContext } from 'ava';
import type pg from 'pg';
import { openDatabase, type Db } from '../../collector/store/db.js';
import { migratePostgres } from '../../collector/store/pg/migrate.js';
import { createPool } from '../../collector/store/pg/pool.js';
import type { PostgresSettings } from '../../collector/store/pg/settings.js';
import { sqlOf, transactOn, type Sql, type Transact } from '../../collector/store/pg/sql.js';
import { connectTo, type TestPostgres } from './postgres.js';

export interface PgSide {
  readonly pool: pg.Pool;
  readonly sql: Sql;
  readonly transact: Transact;
  readonly url: string;
}

/**
 * A new, migrated PostgreSQL database of the server, with a pool of `poolSize`. `collation`
 * `icu`: the database's default collation is ICU's en-US (case and accents folded, punctuation
 * nearly ignored, as most production databases sort), where the store must still order and
 * match text as SQLite does; otherwise the server's C.
 */
export async function pgDatabase(t: ExecutionContext, server: () => Promise<TestPostgres>, poolSize = 4, collation: 'c' | 'icu' = 'c'): Promise<PgSide> {
  const s = await server();
  const name = collation === 'c' ? await s.createDatabase() : await createIcuDatabase(s);
  const url = s.url(name);
  return { ...(await pgPool(t, url, poolSize)), url };
}

let icuDatabases = 0;
/** A new database whose default collation is ICU's en-US (the test server's own is C). */
export async function createIcuDatabase(s: TestPostgres): Promise<string> {
  const name = `icu${process.pid}_${++icuDatabases}`;
  const c = await connectTo(s.url('postgres'));
  try {
    // A name made here of digits and letters; identifiers cannot be bound.
    await c.query(`CREATE DATABASE ${name} TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C' LOCALE_PROVIDER icu ICU_LOCALE 'en-US'`);
  } finally {
    await c.end();
  }
  return name;
}

/** Another pool (another replica) on the database at `url`, already migrated. */
export async function pgPool(t: ExecutionContext, url: string, poolSize = 4, migrate = true): Promise<Omit<PgSide, 'url'>> {
  const settings: PostgresSettings = { url: () => url, sslMode: 'disable', ca: undefined, poolSize, connectTimeoutMs: 10_000 };
  const pool = createPool(settings, () => undefined);
  t.teardown(() => (pool.ended ? undefined : pool.end()));
  if (migrate) {
    const c = await pool.connect();
    try {
      await migratePostgres(c);
    } finally {
      c.release();
    }
  }
  return { pool, sql: sqlOf(pool), transact: transactOn(pool) };
}

/** A new SQLite database in memory, migrated. */
export function sqliteDatabase(t: ExecutionContext): Db {
  const db = openDatabase(':memory:');
  t.teardown(() => db.close());
  return db;
}

/** A statement written with `?` placeholders, run on SQLite as is and on PostgreSQL as `$n`. */
export async function execBoth(db: Db, sql: Sql, text: string, params: readonly unknown[] = []): Promise<void> {
  db.prepare(text).run(...params);
  let n = 0;
  await sql.run(text.replace(/\?/g, () => `$${++n}`), params);
}

/** What a call gave: its value, or that it threw (with its class name and code when it has one). */
export type Outcome<T> = { ok: T } | { threw: string };

export async function outcome<T>(call: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: await call() };
  } catch (err) {
    const e = err as { constructor?: { name?: string }; code?: unknown };
    return { threw: `${e.constructor?.name ?? 'Error'}${typeof e.code === 'string' && /^[A-Z_]+$/.test(e.code) ? ` ${e.code}` : ''}` };
  }
}
