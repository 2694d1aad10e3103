// Brings a PostgreSQL database to the schema this collector knows (migrations/index.ts).
//
// The applied versions live in a table of their own, schema_migrations (PostgreSQL has no
// user_version): one row per migration, with its name and when it ran. Every step is one
// transaction that also records its row, so a migration is applied whole or not at all.
//
// Several collectors may start at once on one database (replicas, a rolling update): the whole
// run holds a session advisory lock, so one migrates while the others wait, then find nothing
// left to do. A session lock, not a transaction one, because the run spans several
// transactions; it therefore needs a direct connection or a session-mode pooler (PgBouncer in
// transaction mode hands each transaction to another server session and breaks it:
// docs/postgresql.md). A database whose schema is newer than the code is refused before
// anything is written, as the SQLite store refuses one (DB_TOO_NEW): an older collector must
// not write rows a newer schema has given another meaning.
//
// The tables, schema_migrations among them, are made in the session's current schema (the
// cluster's, store.postgres.schema: pool.ts sets search_path), and the lock is that schema's
// (schema.ts): collectors of two clusters on one database migrate without waiting on each other.
import type { ClientBase } from 'pg';
import { StoreError } from '../boundary/errors.js';
import { PG_MIGRATIONS, type PgMigration } from './migrations/index.js';
import { CURRENT_SCHEMA, PUBLIC_NAMES, schemaNames } from './schema.js';

/**
 * The advisory lock's key in the schema `public`: one bigint for "nodeward schema migrations"
 * (the ASCII of "nodeward" read as a big-endian 64-bit integer), so no other application's
 * lock collides by chance. Another schema's is schemaNames(schema).migrationLock.
 */
export const MIGRATION_LOCK_KEY = PUBLIC_NAMES.migrationLock;

export const MIGRATIONS_TABLE = 'schema_migrations';

export interface MigrationOutcome {
  /** The version the database had before (0: a new database). */
  readonly from: number;
  /** The version it has now. */
  readonly to: number;
  /** The versions this run applied (none when another collector had done it). */
  readonly applied: readonly number[];
}

/**
 * Migrates the database `client` is connected to. The client is one session (a client of its
 * own or one checked out of a pool) held for the whole run, and is left outside any
 * transaction and without the lock, whatever happens.
 */
export async function migratePostgres(client: ClientBase, migrations: readonly PgMigration[] = PG_MIGRATIONS): Promise<MigrationOutcome> {
  checkList(migrations);
  const latest = migrations.at(-1)?.version ?? 0;
  const schema = (await client.query<{ schema: string | null }>(CURRENT_SCHEMA)).rows[0]?.schema ?? null;
  if (schema === null) throw new StoreError('DB_SCHEMA', 'the PostgreSQL session has no schema on its search_path to migrate (it does not exist, or this role may not use it)');
  const lockKey = schemaNames(schema).migrationLock;
  await client.query('SELECT pg_advisory_lock($1::bigint)', [lockKey]);
  try {
    await client.query(`CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (
      version    integer PRIMARY KEY CHECK (version > 0),
      name       text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const found = await client.query<{ version: number }>(`SELECT coalesce(max(version), 0)::integer AS version FROM ${MIGRATIONS_TABLE}`);
    const from = found.rows[0]?.version ?? 0;
    if (from > latest) {
      throw new StoreError('DB_TOO_NEW', `database schema version ${from} is newer than this collector understands (${latest}); refusing to open it`);
    }
    const applied: number[] = [];
    for (const m of migrations) {
      if (m.version <= from) continue;
      await client.query('BEGIN');
      try {
        if (m.sql.trim() !== '') await client.query(m.sql);
        await m.run?.(client);
        await client.query(`INSERT INTO ${MIGRATIONS_TABLE} (version, name) VALUES ($1, $2)`, [m.version, m.name]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
      applied.push(m.version);
    }
    return { from, to: Math.max(from, latest), applied };
  } finally {
    // A lost connection takes its session lock with it; otherwise it is given back here.
    await client.query('SELECT pg_advisory_unlock($1::bigint)', [lockKey]).catch(() => undefined);
  }
}

/** The list is numbered 1, 2, 3 ... with no gap: a mistake in it is the code's, refused at once. */
function checkList(migrations: readonly PgMigration[]): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`PostgreSQL migration ${m.name} has version ${m.version}; expected ${i + 1}`);
  });
}
