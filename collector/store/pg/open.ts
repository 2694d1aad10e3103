// Opens the PostgreSQL store's database: the pool, one connection checked out to migrate the
// schema under the advisory lock (migrate.ts), then given back. What the PostgreSQL Store will
// be built on once the boundary is asynchronous (docs/postgresql.md); nothing calls it at
// start yet.
//
// A server that cannot be reached, or that refuses the login or the TLS handshake, is a
// StoreError DB_UNREACHABLE naming the server by its redacted URL; the password never
// appears, not even where a driver's message would have quoted it.
import type pg from 'pg';
import { StoreError } from '../boundary/errors.js';
import { migratePostgres, type MigrationOutcome } from './migrate.js';
import { createPool } from './pool.js';
import { redactUrl, type PostgresSettings } from './settings.js';

export interface OpenedPostgres {
  readonly pool: pg.Pool;
  readonly schema: MigrationOutcome;
}

export async function openPostgres(s: PostgresSettings, onIdleError: (err: Error) => void): Promise<OpenedPostgres> {
  const pool = createPool(s, onIdleError);
  try {
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (err) {
      throw new StoreError('DB_UNREACHABLE', `cannot connect to PostgreSQL at ${redactUrl(s.url())}: ${scrubPassword((err as Error).message, s.url())}`);
    }
    try {
      return { pool, schema: await migratePostgres(client) };
    } finally {
      client.release();
    }
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw err;
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
