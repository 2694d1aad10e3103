// What the differential tests of the PostgreSQL sub-stores share: a migrated pool on a fresh
// database of the file's test server (a "replica" each, when a test opens two on one
// database), and the outcome of a call, value or error, in a form two backends can be
// compared by (t.deepEqual): a StoreError by its code and message, anything else by its
// message, so a PostgreSQL error where SQLite succeeded shows as a difference.
import type { ExecutionContext } from 'ava';
import type pg from 'pg';
import { StoreError } from '../../collector/store/boundary/errors.js';
import { openPostgres } from '../../collector/store/pg/open.js';
import type { PostgresSettings } from '../../collector/store/pg/settings.js';
import type { TestPostgres } from './postgres.js';

/** A pool on `database` of the server (migrated), ended when the test ends; slow to give up connecting, as a loaded CI machine can be. */
export async function pgPool(t: ExecutionContext, server: TestPostgres, database: string, poolSize = 4): Promise<pg.Pool> {
  const url = server.url(database);
  const settings: PostgresSettings = { url: () => url, sslMode: 'disable', ca: undefined, poolSize, connectTimeoutMs: 60_000 };
  const { pool } = await openPostgres(settings, () => undefined);
  t.teardown(() => (pool.ended ? undefined : pool.end()));
  return pool;
}

/**
 * A new database whose default collation is ICU's en-US, as a production database's often is:
 * text the stores order must then say COLLATE "C" to keep SQLite's byte order, or the
 * property tests see the difference.
 */
export { createIcuDatabase } from './pg-backends.js';

export type Outcome<T> = { ok: T } | { error: { code: string | undefined; message: string } };

/** The call's value, or its error. */
export async function outcome<T>(call: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: await call() };
  } catch (err) {
    return { error: { code: err instanceof StoreError ? err.code : undefined, message: (err as Error).message } };
  }
}

/** Runs `call` on both backends, asserts the same outcome, and returns it. */
export async function same<S, T>(t: ExecutionContext, sqlite: S, postgres: S, call: (s: S) => Promise<T>, what = ''): Promise<Outcome<T>> {
  const a = await outcome(() => call(sqlite));
  const b = await outcome(() => call(postgres));
  t.deepEqual(b, a, what);
  return a;
}

/** Whether two outcomes agree, for property tests that must not stop at the first assertion. */
export async function agree<S, T>(sqlite: S, postgres: S, call: (s: S) => Promise<T>): Promise<[Outcome<T>, Outcome<T>]> {
  return [await outcome(() => call(sqlite)), await outcome(() => call(postgres))];
}
