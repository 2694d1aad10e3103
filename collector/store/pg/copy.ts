// Copies a collector's SQLite database into a PostgreSQL database: how an operator moves an
// existing install to the PostgreSQL store (`nodeward store copy`, docs/postgresql.md).
//
// The source is opened read-only and read in one read transaction, so the copy is one
// consistent snapshot even if a collector still writes to the file. It must be at the latest
// SQLite schema this code knows: an older file is refused (starting the collector once on it
// migrates it), since the PostgreSQL schema matches the latest SQLite one and nothing here
// translates older shapes. The target is migrated to the latest PostgreSQL schema (the same
// migrator, under the same advisory lock, as the collector), then must be fresh: no table
// holds a row but the seed rows a migration writes (SEEDED_TABLES), which the copy replaces
// with the source's (the baseline counters, the key that seals cursors).
//
// Everything is then one PostgreSQL transaction: the tables in foreign-key order, each in
// bounded batches (one parameterised INSERT of at most BATCH_ROWS rows, fewer for wide tables,
// under PostgreSQL's 65,535 parameters), values cast to the target column's type (JSON text to
// jsonb, 0/1 to smallint, integers passed as exact decimal text), text as the store writes it
// (NUL as U+FFFD; JSON holding escapes jsonb refuses as pg/detail.ts and pg/jsonb.ts keep it,
// so one agent's hostile text does not stop the move); the identity columns keep
// their values and each identity sequence is then moved past the largest (setval); the row
// count of every table is compared with the source's before COMMIT. Any failure rolls it all
// back and names the table and the batch's rows. Messages never quote a row's values (session
// hashes, CSRF tokens and the cursor key are copied, never shown) nor the URL's password.
import Database from 'better-sqlite3';
import type pg from 'pg';
import { MIGRATIONS } from '../migrations/index.js';
import { StoreError } from '../boundary/errors.js';
import { storedDetail } from './detail.js';
import { jsonbText } from './jsonb.js';
import { MIGRATIONS_TABLE } from './migrate.js';
import { openPostgres, scrubPassword } from './open.js';
import type { PostgresSettings } from './settings.js';

/** Rows per INSERT at most; a wide table gets fewer so that a statement binds at most MAX_PARAMETERS. */
export const BATCH_ROWS = 1000;
const MAX_PARAMETERS = 65_535;

/**
 * The tables a fresh migration writes rows into, and how those rows look: the baseline
 * counters (all 0) and the cursor-sealing key. A target holding only these is fresh; the copy
 * deletes them and writes the source's.
 */
export const SEEDED_TABLES: Readonly<Record<string, string>> = {
  baseline_meta: 'SELECT count(*)::integer AS n FROM baseline_meta WHERE value <> 0',
  store_secrets: "SELECT count(*)::integer AS n FROM store_secrets WHERE name <> 'cursor-seal'",
};

export interface CopiedTable {
  readonly table: string;
  readonly rows: number;
  readonly batches: number;
}

export interface CopyOutcome {
  readonly sqliteVersion: number;
  readonly postgresVersion: number;
  /** In the order they were copied (parents before children). */
  readonly tables: readonly CopiedTable[];
  /** Each identity column's table and the value its sequence hands out next. */
  readonly identities: ReadonlyArray<{ readonly table: string; readonly column: string; readonly next: number }>;
}

export interface CopyOptions {
  readonly sqlitePath: string;
  readonly target: PostgresSettings;
  /** Rows per INSERT (default BATCH_ROWS); tests make it small to cross batch boundaries. */
  readonly batchRows?: number;
}

/** Why a copy was refused (COPY_SOURCE_OLD, COPY_TARGET_NOT_EMPTY, ...) or failed (COPY_FAILED). */
export class CopyError extends StoreError {}

interface TargetColumn { readonly name: string; readonly type: string; readonly identity: boolean }

export async function copySqliteToPostgres(opts: CopyOptions): Promise<CopyOutcome> {
  const source = openSource(opts.sqlitePath);
  try {
    const sqliteVersion = source.pragma('user_version', { simple: true }) as number;
    const latest = MIGRATIONS.at(-1)!.version;
    if (sqliteVersion < latest) {
      throw new CopyError('COPY_SOURCE_OLD', `${opts.sqlitePath} has SQLite schema version ${sqliteVersion}; this nodeward copies version ${latest}: start the collector of this version once on the file (it migrates the database), stop it, then copy`);
    }
    if (sqliteVersion > latest) {
      throw new CopyError('DB_TOO_NEW', `${opts.sqlitePath} has SQLite schema version ${sqliteVersion}, newer than this nodeward understands (${latest}): copy with the nodeward that wrote it`);
    }
    const opened = await openPostgres(opts.target, () => undefined, { searchIndex: false });
    try {
      const client = await opened.pool.connect();
      try {
        return await copyInto(source, client, opts, sqliteVersion, opened.schema.to);
      } finally {
        client.release();
      }
    } finally {
      await opened.pool.end().catch(() => undefined);
    }
  } finally {
    source.close();
  }
}

function openSource(path: string): Database.Database {
  let db: Database.Database;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
  } catch (err) {
    throw new CopyError('COPY_SOURCE_UNREADABLE', `cannot open ${path} read-only: ${(err as Error).message}`);
  }
  try {
    // A file that is not a database fails here, on its first read.
    db.pragma('user_version', { simple: true });
  } catch (err) {
    db.close();
    throw new CopyError('COPY_SOURCE_UNREADABLE', `${path} is not a SQLite database: ${(err as Error).message}`);
  }
  return db;
}

async function copyInto(source: Database.Database, client: pg.PoolClient, opts: CopyOptions, sqliteVersion: number, postgresVersion: number): Promise<CopyOutcome> {
  const scrub = (m: string): string => scrubPassword(m, opts.target.url());
  // One snapshot of the source for the whole copy, counts included.
  source.exec('BEGIN');
  await client.query('BEGIN');
  let step = 'reading the schemas';
  try {
    const columns = await targetColumns(client);
    const tables = copyOrder(source, columns);
    step = 'locking the target';
    // A second copy started at once waits here, then finds the first one's rows.
    await client.query(`LOCK TABLE ${[...columns.keys()].map(quote).join(', ')} IN SHARE ROW EXCLUSIVE MODE`);
    step = 'checking the target is empty';
    await refuseUsedTarget(client, [...columns.keys()]);
    for (const table of Object.keys(SEEDED_TABLES)) await client.query(`DELETE FROM ${quote(table)}`);

    const copied: CopiedTable[] = [];
    for (const table of tables) {
      const cols = columns.get(table)!;
      const perBatch = Math.max(1, Math.min(opts.batchRows ?? BATCH_ROWS, Math.floor(MAX_PARAMETERS / cols.length)));
      const insert = (n: number): string => `INSERT INTO ${quote(table)} (${cols.map((c) => quote(c.name)).join(', ')}) OVERRIDING SYSTEM VALUE VALUES ${
        Array.from({ length: n }, (_, r) => `(${cols.map((c, i) => `$${r * cols.length + i + 1}::${c.type}`).join(', ')})`).join(', ')}`;
      const read = source.prepare(`SELECT ${cols.map((c) => quote(c.name)).join(', ')} FROM ${quote(table)}`).raw(true).safeIntegers(true);
      let rows = 0;
      let batches = 0;
      let batch: unknown[][] = [];
      const flush = async (): Promise<void> => {
        if (batch.length === 0) return;
        step = `copying ${table}, rows ${rows + 1}-${rows + batch.length}`;
        await client.query(insert(batch.length), batch.flat());
        rows += batch.length;
        batches++;
        batch = [];
      };
      // The iterator keeps the statement busy; nothing else is read from SQLite until it ends.
      for (const row of read.iterate() as IterableIterator<unknown[]>) {
        batch.push(row.map((v, i) => toParameter(v, table, cols[i]!.name)));
        if (batch.length === perBatch) await flush();
      }
      await flush();
      copied.push({ table, rows, batches });
    }

    step = 'moving the identity sequences';
    const identities: Array<{ table: string; column: string; next: number }> = [];
    for (const [table, cols] of columns) {
      for (const c of cols.filter((x) => x.identity)) {
        const r = await client.query<{ next: number }>(`SELECT CASE WHEN m IS NULL THEN setval(s, 1, false) ELSE setval(s, m, true) + 1 END::bigint AS next
          FROM (SELECT pg_get_serial_sequence($1, $2) AS s, (SELECT max(${quote(c.name)}) FROM ${quote(table)}) AS m) x`, [table, c.name]);
        identities.push({ table, column: c.name, next: r.rows[0]!.next });
      }
    }

    step = 'verifying the row counts';
    for (const c of copied) {
      const want = Number(source.prepare(`SELECT count(*) AS n FROM ${quote(c.table)}`).pluck().get());
      const got = (await client.query<{ n: number }>(`SELECT count(*)::bigint AS n FROM ${quote(c.table)}`)).rows[0]!.n;
      if (want !== got || want !== c.rows) throw new Error(`${c.table} holds ${got} rows after the copy, the source ${want} (copied ${c.rows})`);
    }
    await client.query('COMMIT');
    return { sqliteVersion, postgresVersion, tables: copied, identities };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    if (err instanceof CopyError) throw err;
    // Only the message: a driver's `detail` may quote the row's values (a key, a token).
    throw new CopyError('COPY_FAILED', `${step}: ${scrub((err as Error).message)}; nothing was written (rolled back)`);
  } finally {
    source.exec('COMMIT');
  }
}

/** The target's tables (schema_migrations aside) and their columns, in column order. */
async function targetColumns(client: pg.PoolClient): Promise<Map<string, TargetColumn[]>> {
  const r = await client.query<{ table: string; name: string; type: string; identity: string }>(`SELECT c.table_name AS table, c.column_name AS name,
      format_type(a.atttypid, NULL) AS type, c.is_identity AS identity
    FROM information_schema.columns c
    JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name AND t.table_type = 'BASE TABLE'
    JOIN pg_attribute a ON a.attrelid = format('%I.%I', c.table_schema, c.table_name)::regclass AND a.attname = c.column_name
    WHERE c.table_schema = current_schema() AND c.table_name <> $1
    ORDER BY c.table_name, c.ordinal_position`, [MIGRATIONS_TABLE]);
  const out = new Map<string, TargetColumn[]>();
  for (const row of r.rows) {
    const list = out.get(row.table) ?? [];
    list.push({ name: row.name, type: row.type, identity: row.identity === 'YES' });
    out.set(row.table, list);
  }
  return out;
}

/**
 * The source's tables, parents before children (its foreign keys), after checking that they
 * are the target's tables with the same columns: the parity test keeps the schemas alike, and
 * a file that differs anyway is refused rather than copied in part.
 */
function copyOrder(source: Database.Database, target: ReadonlyMap<string, readonly TargetColumn[]>): string[] {
  const tables = source.prepare<[], string>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").pluck().all();
  const problems: string[] = [];
  for (const t of tables) {
    const cols = source.prepare<[], string>(`SELECT name FROM pragma_table_info(${quoteLiteral(t)})`).pluck().all().sort();
    const want = target.get(t)?.map((c) => c.name).sort();
    if (want === undefined) problems.push(`table ${t} is not in the PostgreSQL schema`);
    else if (want.join(',') !== cols.join(',')) problems.push(`table ${t} has columns (${cols.join(', ')}), PostgreSQL (${want.join(', ')})`);
  }
  for (const t of target.keys()) if (!tables.includes(t)) problems.push(`table ${t} is not in the SQLite file`);
  if (problems.length > 0) throw new CopyError('COPY_SCHEMA_MISMATCH', `the schemas differ: ${problems.join('; ')}`);

  const parents = new Map(tables.map((t) => [t, source.prepare<[], string>(`SELECT DISTINCT "table" FROM pragma_foreign_key_list(${quoteLiteral(t)})`).pluck().all().filter((p) => p !== t)]));
  const order: string[] = [];
  const visit = (t: string, path: readonly string[]): void => {
    if (order.includes(t)) return;
    if (path.includes(t)) throw new CopyError('COPY_SCHEMA_MISMATCH', `foreign keys form a cycle: ${[...path, t].join(' -> ')}`);
    for (const p of parents.get(t) ?? []) visit(p, [...path, t]);
    order.push(t);
  };
  for (const t of tables) visit(t, []);
  return order;
}

/** Refuses a target with rows beyond a fresh migration's seeds, naming the tables. */
async function refuseUsedTarget(client: pg.PoolClient, tables: readonly string[]): Promise<void> {
  const used: string[] = [];
  for (const t of tables) {
    const seeded = SEEDED_TABLES[t];
    const n = (await client.query<{ n: number }>(seeded ?? `SELECT count(*)::integer AS n FROM (SELECT 1 FROM ${quote(t)} LIMIT 1) x`)).rows[0]!.n;
    if (n > 0) used.push(t);
  }
  if (used.length > 0) {
    throw new CopyError('COPY_TARGET_NOT_EMPTY', `the PostgreSQL database already holds data (${used.join(', ')}); copy into a new, empty database: nothing was written`);
  }
}

/** A SQLite value as a bound parameter: exact integers as decimal text, blobs as bytea. */
function toParameter(v: unknown, table: string, column: string): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (typeof v !== 'string') return v;
  // What the store writes for the same text (a NUL is U+FFFD, pg/sql.ts; JSON with escapes jsonb refuses, pg/detail.ts and pg/jsonb.ts).
  if (table === 'findings' && column === 'detail') return storedDetail(v);
  if (table === 'nodes' && column === 'certificates') return jsonbText(v);
  return v.replaceAll('\u0000', '\uFFFD');
}

/** An identifier from the schemas themselves (never from input), quoted for both databases. */
const quote = (name: string): string => `"${name.replace(/"/g, '""')}"`;
const quoteLiteral = (text: string): string => `'${text.replace(/'/g, "''")}'`;
