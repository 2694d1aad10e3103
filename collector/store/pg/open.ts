// Opens the PostgreSQL store's database: the pool, one connection checked out to migrate the
// schema under the advisory lock (migrate.ts), then given back. What the PostgreSQL Store will
// be built on once the boundary is asynchronous (docs/postgresql.md); nothing calls it at
// start yet.
//
// A server that cannot be reached, or that refuses the login or the TLS handshake, is a
// StoreError DB_UNREACHABLE naming the server by its redacted URL; the password never
// appears, not even where a driver's message would have quoted it.
//
// The pool's sessions are in the cluster's schema (store.postgres.schema; pool.ts). Before
// migrating, the schema must exist and the role must be able to use it and create in it
// (has_schema_privilege): otherwise a StoreError DB_SCHEMA names the schema and what is
// missing, instead of the migrator's first CREATE failing with the server's bare message
// (or, worse, a missing schema leaving the session with none at all).
import type pg from 'pg';
import { StoreError } from '../boundary/errors.js';
import { migratePostgres, type MigrationOutcome } from './migrate.js';
import { createPool } from './pool.js';
import { ensureSearchIndex, type SearchIndexState } from './search-index.js';
import { DEFAULT_SCHEMA } from './schema.js';
import { redactUrl, type PostgresSettings } from './settings.js';

export interface OpenedPostgres {
  readonly pool: pg.Pool;
  readonly schema: MigrationOutcome;
  /** Whether the findings search has its index (pg/search-index.ts), or why not. */
  readonly search: SearchIndexState;
}

/**
 * Opens and migrates the database, and makes the findings search's index unless `searchIndex`
 * is false (`store copy`: an index kept up row by row while a million findings are copied in
 * would slow the copy; the collector's first start makes it from the copied rows instead).
 */
export async function openPostgres(s: PostgresSettings, onIdleError: (err: Error) => void, opts: { readonly searchIndex?: boolean } = {}): Promise<OpenedPostgres> {
  const pool = createPool(s, onIdleError);
  try {
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (err) {
      throw new StoreError('DB_UNREACHABLE', `cannot connect to PostgreSQL at ${redactUrl(s.url())}: ${scrubPassword((err as Error).message, s.url())}`);
    }
    try {
      await checkSchema(client, s.schema ?? DEFAULT_SCHEMA);
      const schema = await migratePostgres(client);
      const search: SearchIndexState = opts.searchIndex === false ? { ready: false, reason: 'not asked for' } : await ensureSearchIndex(client);
      return { pool, schema, search };
    } finally {
      client.release();
    }
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw err;
  }
}

const SCHEMA_PRIVILEGES = `SELECT has_schema_privilege(oid, 'USAGE') AS usage, has_schema_privilege(oid, 'CREATE') AS create
  FROM pg_namespace WHERE nspname = $1`;

/** Refuses a schema that is missing, or that this role may not use or create in. */
export async function checkSchema(client: pg.ClientBase, schema: string): Promise<void> {
  const row = (await client.query<{ usage: boolean; create: boolean }>(SCHEMA_PRIVILEGES, [schema])).rows[0];
  const role = (await client.query<{ role: string }>('SELECT current_user AS role')).rows[0]?.role ?? '?';
  if (row === undefined) {
    throw new StoreError('DB_SCHEMA', `PostgreSQL schema ${schema} (store.postgres.schema) does not exist; create it for role ${role} (docs/fleets.md)`);
  }
  const missing = [row.usage ? undefined : 'USAGE', row.create ? undefined : 'CREATE'].filter((p) => p !== undefined);
  if (missing.length > 0) {
    throw new StoreError('DB_SCHEMA', `PostgreSQL role ${role} lacks ${missing.join(' and ')} on schema ${schema} (store.postgres.schema): the collector makes and migrates its tables there (docs/fleets.md)`);
  }
}

/** A message with the URL's password (raw or percent-encoded) taken out. */
export function scrubPassword(message: string, url: string): string {
  let password = '';
  try {
    password = new URL(url).password;
  } catch {
    return message;
  }
  if (password === '') return message;
  let decoded = password;
  try {
    decoded = decodeURIComponent(password);
  } catch {
    // Not percent-encoding after all: the raw form is the one to take out.
  }
  let out = message;
  for (const p of new Set([password, decoded])) out = out.split(p).join('<redacted>');
  return out;
}
