// The findings search's index on PostgreSQL: a trigram index (the pg_trgm extension) over the
// four columns `q` searches, so that a rare term is found without reading every finding.
//
// It is not a numbered migration, because it depends on what the server offers and allows:
// pg_trgm ships with PostgreSQL's contrib modules (in Debian's server package) and is a
// trusted extension, which a role may add to a database it holds CREATE on. The collector
// adds it when it may and the index when the extension is there and usable (USAGE on the
// schema it lives in: an operator of a fleet adds it once, e.g. in `public`, and grants that:
// docs/postgresql.md). Otherwise the store searches as it did, checking `q` on every row its
// walk reads, and `ensureSearchIndex` says why, for the start to log. It runs at every start,
// under the schema's migration lock, so an extension added later gets its index at the next.
//
// One index over one expression: the columns joined by a newline, in the "C" collation (as the
// store's ILIKE is). A term found in one column is found in the joined text, so the index's
// matches are a superset, and the page checks the columns themselves again (finding-order.ts).
// pg_trgm lower-cases with the database's default collation; where that folds an ASCII letter
// otherwise than ILIKE under "C" does (a Turkish locale's dotted I), the index could miss a
// match, so it is not built there.
import type { ClientBase } from 'pg';
import { CURRENT_SCHEMA, quoteIdent, schemaNames } from './schema.js';
import type { Sql } from './sql.js';

export const SEARCH_INDEX = 'findings_search';

/** The text the index holds and the store's probe matches (pg/findings.ts). */
export const SEARCH_TEXT = `((subject || E'\\n' || title || E'\\n' || check_id || E'\\n' || actual) COLLATE "C")`;

export type SearchIndexState =
  | { readonly ready: true; readonly created: boolean }
  | { readonly ready: false; readonly reason: string };

const EXTENSION = `SELECT n.nspname AS schema, has_schema_privilege(n.oid, 'USAGE') AS usable
  FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'`;
const INDEX = `SELECT i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
  WHERE c.relname = $1 AND c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())`;
const MANY_FINDINGS = 'SELECT count(*) >= 10000 AS many FROM (SELECT 1 FROM findings LIMIT 10000) AS f';
const ASCII_FOLDS = `SELECT lower('ABCDEFGHIJKLMNOPQRSTUVWXYZ' COLLATE "default") = 'abcdefghijklmnopqrstuvwxyz' AS ok`;

/**
 * Makes the search index when it can (see above). The client is one session, left outside any
 * transaction and without the lock. Never throws for what the server lacks or refuses: that
 * is a reason; a lost connection still throws.
 */
export async function ensureSearchIndex(client: ClientBase): Promise<SearchIndexState> {
  const schema = (await client.query<{ schema: string | null }>(CURRENT_SCHEMA)).rows[0]?.schema ?? null;
  if (schema === null) return { ready: false, reason: 'the session has no schema' };
  const lock = schemaNames(schema).migrationLock;
  await client.query('SELECT pg_advisory_lock($1::bigint)', [lock]);
  try {
    const existing = (await client.query<{ valid: boolean }>(INDEX, [SEARCH_INDEX])).rows[0];
    if (existing?.valid === true) return { ready: true, created: false };
    if (!(await client.query<{ ok: boolean }>(ASCII_FOLDS)).rows[0]?.ok) {
      return { ready: false, reason: "the database's default collation lower-cases ASCII letters otherwise than the search does" };
    }
    let ext = (await client.query<{ schema: string; usable: boolean }>(EXTENSION)).rows[0];
    if (ext === undefined) {
      let failed: Error | undefined;
      // Another cluster's collector may add it at the same moment (an extension is the database's, not a schema's).
      await client.query('CREATE EXTENSION IF NOT EXISTS pg_trgm').catch((err: Error) => { failed = err; });
      ext = (await client.query<{ schema: string; usable: boolean }>(EXTENSION)).rows[0];
      if (ext === undefined) return { ready: false, reason: `the pg_trgm extension is not in the database, and adding it failed: ${failed?.message ?? 'no reason given'}` };
    }
    if (ext === undefined || !ext.usable) {
      return { ready: false, reason: `the pg_trgm extension is in schema ${ext?.schema ?? '?'}, which this role may not use (grant USAGE on it)` };
    }
    await client.query('BEGIN');
    try {
      // An invalid index (one made CONCURRENTLY by hand whose build failed; a plain CREATE INDEX is all or nothing) is made again.
      if (existing !== undefined) await client.query(`DROP INDEX ${quoteIdent(SEARCH_INDEX)}`);
      await client.query("SET LOCAL maintenance_work_mem = '256MB'");
      await client.query(`CREATE INDEX ${quoteIdent(SEARCH_INDEX)} ON findings USING gin (${SEARCH_TEXT} ${quoteIdent(ext.schema)}.gin_trgm_ops)`);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      return { ready: false, reason: `making the index failed: ${(err as Error).message}` };
    }
    // The planner's statistics of the indexed text, which it judges a term's rarity by (pg/findings.ts SEARCH_PROBE):
    // without them, it would take the index for a term most findings hold, and read all of it. Not on a table with
    // few findings: statistics of a nearly empty table mislead the planner about the writes' own lookups until
    // autovacuum analyzes it again (the bench's ingest ran at half speed), and a wrong choice costs little there.
    if ((await client.query<{ many: boolean }>(MANY_FINDINGS)).rows[0]?.many) await client.query('ANALYZE findings');
    return { ready: true, created: true };
  } finally {
    await client.query('SELECT pg_advisory_unlock($1::bigint)', [lock]);
  }
}

/**
 * Whether the index can find a term: pg_trgm looks a pattern up by the trigrams of its runs of
 * letters and digits, and a term without a run of three has none, so the index would be read
 * whole. Such a term (`1`, `a-b`, `%`) is searched by a walk with a budget instead.
 */
export function indexable(q: string): boolean {
  return /[A-Za-z0-9]{3}/.test(q);
}

/** Whether the store may search through the index: it is there and valid, in the session's schema. */
export async function searchIndexReady(sql: Sql): Promise<boolean> {
  return (await sql.one<{ valid: boolean }>(INDEX, [SEARCH_INDEX]))?.valid === true;
}
