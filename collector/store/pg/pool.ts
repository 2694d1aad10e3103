// The PostgreSQL store's connection pool (node-postgres): the settings (settings.ts) made into
// pg.Pool options, with bigint columns read as numbers. Each unit of work will check one
// client out of it for its whole transaction (the store boundary's "one pooled connection per
// unit"); the migrator takes one for its session lock.
//
// Every connection, pooled or of its own, sends `SET search_path TO "<schema>"` (the settings'
// schema, default public) before anything else uses it, so every statement finds this
// cluster's tables and only them (schema.ts says why a SET and not the `options` startup
// parameter: PgBouncer in session mode keeps a SET with the session, and refuses or drops
// `options`).
import pg from 'pg';
import { DEFAULT_SCHEMA, searchPathStatement } from './schema.js';
import { parseInt8, tlsOptions, type PostgresSettings } from './settings.js';

/** PostgreSQL's type oid of int8 (bigint): every time and counter column. */
const INT8_OID = 20;

/** The options of the pool, from the settings. */
export function poolConfig(s: PostgresSettings): pg.PoolConfig {
  return {
    connectionString: s.url(),
    ssl: tlsOptions(s.sslMode, s.ca),
    max: s.poolSize,
    connectionTimeoutMillis: s.connectTimeoutMs,
    application_name: 'nodeward-collector',
    types: {
      getTypeParser: ((oid: number, format?: string) => (oid === INT8_OID && format !== 'binary'
        ? parseInt8
        : pg.types.getTypeParser(oid, format as 'text'))) as typeof pg.types.getTypeParser,
    },
  };
}

/**
 * The pool. `onIdleError` hears of an idle connection the server or the network ended (a
 * restart, a failover, an administrator's pg_terminate_backend): the pool drops it and opens
 * another when needed. node-postgres emits these on the pool, and an 'error' event without a
 * listener would end the process, so the listener is required.
 */
export function createPool(s: PostgresSettings, onIdleError: (err: Error) => void): pg.Pool {
  const setPath = searchPathStatement(s.schema ?? DEFAULT_SCHEMA);
  // Awaited by the pool before the new client is handed out; a failure ends that client and
  // fails the checkout.
  const pool = new pg.Pool({ ...poolConfig(s), onConnect: async (c: pg.ClientBase) => {
    await c.query(setPath);
  } });
  pool.on('error', onIdleError);
  return pool;
}

/**
 * A client of its own, connected, outside the pool: for what holds one session for long (the
 * leader's advisory lock, the baseline listener). The caller ends it.
 */
export async function connectClient(s: PostgresSettings): Promise<pg.Client> {
  const { max: _max, ...config } = poolConfig(s);
  const setPath = searchPathStatement(s.schema ?? DEFAULT_SCHEMA);
  const client = new pg.Client(config);
  await client.connect();
  try {
    await client.query(setPath);
  } catch (err) {
    await client.end().catch(() => undefined);
    throw err;
  }
  return client;
}

/** The pool and a client of its own, as main.ts holds them (it imports no driver itself). */
export type PgPool = pg.Pool;
export type PgClient = pg.Client;
