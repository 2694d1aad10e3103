// The PostgreSQL implementation of the Store (store.ts): every sub-store a factory over an
// Sql, built once over the pool for the reads and writes outside units, and again over each
// unit's client for what the unit is given (factories are closures over statement texts, so
// building them per unit costs nothing). Several collectors (replicas) may run on one
// database: units run at once on their own pooled connections, and what two of them may
// write at once is written so the database keeps it correct (received.claim below, the
// rollups in rollups.ts). main.ts opens it on a pool whose schema openPostgres migrated.
//
// The tables are those of the schema the pool's sessions are in (pool.ts sets search_path;
// docs/fleets.md): the store reads current_schema() at open and takes that schema's lock keys
// and notification channel (schema.ts). Opening writes nothing (it reads the schema and the
// cursor key), so a fleet reader may open a store over another cluster's schema it can only read.
import type pg from 'pg';
import { StoreError } from '../boundary/errors.js';
import type { OutboxQueue } from '../boundary/outbox.js';
import type { Store, StoreUnit } from '../store.js';
import { createPgAuditLog } from './audit.js';
import { createPgBaselineStore } from './baselines.js';
import { createPgClusterStore } from './cluster.js';
import { createPgClusterNodeStore } from './cluster-nodes.js';
import { createPgFindingStore, PG_SEARCH, readCursorKey, type PgSearch } from './findings.js';
import { searchIndexReady } from './search-index.js';
import { createPgHistoryLog } from './history.js';
import { createPgNodeStore } from './nodes.js';
import { createPgOutbox } from './outbox.js';
import { createPgProcessQueries } from './processes.js';
import { createPgRollups } from './rollups.js';
import { createPgSessionStore } from './sessions.js';
import { CURRENT_SCHEMA, schemaNames } from './schema.js';
import { sqlOf, transactOn, type Sql } from './sql.js';
import { createPgSummaryQueries } from './summary.js';
import { runPgUnit, type UnitParts } from './unit.js';

export interface PgStoreOptions {
  /** The pool (pool.ts), its database migrated (migrate.ts). The store ends it on close. */
  readonly pool: pg.Pool;
  /** History entries kept per finding (default 100). */
  readonly historyLimit?: number;
  /** Webhook destinations: a queue each in the outbox. */
  readonly webhooks?: readonly OutboxQueue[];
  /** The schema the pool's sessions are in; when given, a pool in another one is refused (a wiring mistake). */
  readonly schema?: string;
  /** How the findings list searches when the search index is there (default PG_SEARCH; tests make pages cheaper to cut). */
  readonly search?: PgSearch;
}

// The database enforces idempotency: of two units claiming one message at once, the second's
// INSERT waits on the first's uncommitted row, then inserts nothing once it commits (or
// inserts, if it rolled back).
const CLAIM = 'INSERT INTO received (node, epoch, sequence, received_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING';
const PRUNE_RECEIVED = 'DELETE FROM received WHERE received_at < $1';
const SIZE = 'SELECT pg_database_size(current_database()) AS n';

/**
 * Opens the store: reads the key that seals the findings list's cursors (so a cursor opens
 * synchronously, as the boundary's `openCursor` is), then builds the sub-stores.
 */
export async function openPgStore(opts: PgStoreOptions): Promise<Store> {
  const { pool } = opts;
  const outside = sqlOf(pool);
  const transact = transactOn(pool);
  const current = (await outside.one<{ schema: string | null }>(CURRENT_SCHEMA))?.schema ?? null;
  if (current === null) {
    throw new StoreError('DB_SCHEMA', `PostgreSQL schema ${opts.schema ?? 'of the search_path'}: it does not exist, or this role may not use it`);
  }
  if (opts.schema !== undefined && current !== opts.schema) {
    throw new StoreError('DB_SCHEMA', `the PostgreSQL sessions are in schema ${current}, not ${opts.schema}`);
  }
  const names = schemaNames(current);
  const cursorKey = await readCursorKey(outside);
  const historyLimit = opts.historyLimit ?? 100;
  const search = (await searchIndexReady(outside)) ? opts.search ?? PG_SEARCH : undefined;
  const findingsOver = (sql: Sql, rollups = createPgRollups()) =>
    createPgFindingStore(sql, { history: createPgHistoryLog(sql, { limit: historyLimit }), rollups, transact, cursorKey, ...(search ? { search } : {}) });

  const nodes = createPgNodeStore(outside);
  const audit = createPgAuditLog(outside, transact);
  const baselines = createPgBaselineStore(outside, transact, names);
  const outbox = createPgOutbox(outside, transact, opts.webhooks ?? []);

  /** What a unit is given, over its client. */
  function unitParts(sql: Sql): UnitParts<StoreUnit> {
    const rollups = createPgRollups();
    const unitOutbox = outbox.forUnit(sql);
    const unitNodes = createPgNodeStore(sql);
    const unitBaselines = createPgBaselineStore(sql, transact, names);
    const findings = findingsOver(sql, rollups);
    const unit: StoreUnit = {
      findings: findings.writes,
      received: {
        claim: async (node, epoch, sequence, now) => (await sql.run(CLAIM, [node, epoch, sequence, now])) === 1,
      },
      nodes: {
        hello: (h, now) => unitNodes.hello(h, now),
        stats: (node, st, now) => unitNodes.stats(node, st, now),
        touch: (node, now) => unitNodes.touch(node, now),
        setExposure: (node, scannedAt, exposure) => unitNodes.setExposure(node, scannedAt, exposure),
      },
      baselines: { allowedContents: (key, path) => unitBaselines.allowedContents(key, path) },
      outbox: unitOutbox,
    };
    return {
      unit,
      beforeCommit: async () => {
        await findings.flush();
        await rollups.flush(sql);
        // Last: the outbox takes the webhook queues' locks, held then only across the commit (pg/outbox.ts).
        await unitOutbox.flush();
      },
      committed: () => unitOutbox.committed(),
      rolledBack: () => {
        rollups.reset();
        unitOutbox.rolledBack();
      },
    };
  }

  // Units still running when the store closes finish first.
  const running = new Set<Promise<unknown>>();
  let closing: Promise<void> | undefined;

  return {
    unit(work) {
      const run = runPgUnit(pool, unitParts, work);
      const settled = run.then(() => undefined, () => undefined);
      running.add(settled);
      void settled.then(() => running.delete(settled));
      return run;
    },
    findings: findingsOver(outside).reads,
    nodes,
    clusterNodes: createPgClusterNodeStore(outside, transact, names),
    summary: createPgSummaryQueries(outside, nodes),
    audit,
    outbox: outbox.store,
    baselines,
    processes: createPgProcessQueries(outside),
    sessions: createPgSessionStore(outside, transact),
    cluster: createPgClusterStore(outside, transact),
    pruneReceived: (olderThan) => outside.run(PRUNE_RECEIVED, [olderThan]),
    sizeBytes: async () => (await outside.one<{ n: number }>(SIZE))!.n,
    // Nothing to do: PostgreSQL's autovacuum analyses each table once enough of it changed,
    // which is what SQLite's `PRAGMA optimize` is asked for here; an ANALYZE from every
    // replica now and then would only repeat its work.
    optimize: async () => undefined,
    // Safe twice: the second waits for the first.
    close() {
      closing ??= (async () => {
        await Promise.all(running);
        try {
          await audit.flush();
        } finally {
          await pool.end();
        }
      })();
      return closing;
    },
  };
}
