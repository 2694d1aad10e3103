// The collector's store: what the pipeline, the API and the webhook dispatchers reach, and
// the only way they reach the database. It holds rows and statements; what a change of a
// finding means is decided by the pipeline (pipeline/lifecycle.ts, pipeline/commit.ts).
//
// Writes that belong together run as one unit of work (`unit`): today one SQLite
// transaction, run synchronously; the rollups it moved are written before it commits, and
// the outbox rows it queued are announced after. A client-server database implements the
// same interface with one pooled connection per unit: a unit reads what it needs, then
// writes (the commit stage is written that way), and units never nest. Reads outside a unit
// are single statements or read-only snapshots, and never write.
//
// `openStore` is the SQLite implementation: one file, opened and migrated once.
import { openDatabase, StoreError, type Db, type Durability } from './db.js';
import { createAuditLog, type AuditLog } from './audit.js';
import { createClusterNodeStore, type ClusterNodeStore } from './cluster-nodes.js';
import { createBaselineStore, type BaselineStore } from './baselines.js';
import { createFindingStore, type FindingReads, type FindingWrites } from './findings.js';
import { createHistoryLog } from './history.js';
import { createNodeStore, type NodeStore } from './nodes.js';
import { createOutbox, type OutboxQueue, type OutboxStore, type OutboxUnit } from './outbox.js';
import { createProcessQueries, type ProcessQueries } from './processes.js';
import { createRollups } from './rollups.js';
import { createSummaryQueries, type SummaryQueries } from './summary.js';

/** What one unit of work may read and write. */
export interface StoreUnit {
  readonly findings: FindingWrites;
  /** Idempotency of agent messages: (node, epoch, sequence) seen. */
  readonly received: {
    has(node: string, epoch: string, sequence: number): boolean;
    mark(node: string, epoch: string, sequence: number, now: number): void;
  };
  readonly nodes: Pick<NodeStore, 'hello' | 'stats' | 'touch'>;
  readonly baselines: Pick<BaselineStore, 'allowedContents'>;
  readonly outbox: OutboxUnit;
}

export interface Store {
  /**
   * Runs `work` as one unit of work: committed when it returns, rolled back (nothing written,
   * nothing announced) when it throws. Units do not nest.
   */
  unit<T>(work: (u: StoreUnit) => T): T;
  readonly findings: FindingReads;
  readonly nodes: NodeStore;
  /** The cluster's nodes as the node watch sees them, reported by an agent or not. */
  readonly clusterNodes: ClusterNodeStore;
  readonly summary: SummaryQueries;
  readonly audit: AuditLog;
  readonly outbox: OutboxStore;
  readonly baselines: BaselineStore;
  readonly processes: ProcessQueries;
  /** Drops idempotency records older than the horizon (agents resend within minutes). */
  pruneReceived(olderThan: number): number;
  sizeBytes(): number;
  /** Lets the database refresh its planner statistics where they are stale (cheap; run now and then). */
  optimize(): void;
  close(): void;
}

export interface StoreOptions {
  readonly path: string;
  /** History entries kept per finding (default 100). */
  readonly historyLimit?: number;
  /** Webhook destinations: a queue each in the outbox. */
  readonly webhooks?: readonly OutboxQueue[];
  /** Default `full`: every commit synced before it returns (see db.ts). */
  readonly durability?: Durability;
}

export function openStore(opts: StoreOptions): Store {
  const db: Db = openDatabase(opts.path, opts.durability);
  const outbox = createOutbox(db, opts.webhooks ?? []);
  const rollups = createRollups(db);
  const history = createHistoryLog(db, { limit: opts.historyLimit ?? 100 });

  /** One transaction whose rollup deltas are written before it commits. */
  function transaction<T>(work: () => T): T {
    if (db.inTransaction) throw new StoreError('NESTED_UNIT', 'a unit of work cannot run inside another');
    const run = db.transaction((): T => {
      rollups.reset();
      const out = work();
      rollups.flush();
      return out;
    });
    try {
      const out = run.immediate();
      outbox.committed();
      return out;
    } catch (err) {
      rollups.reset();
      outbox.rolledBack();
      throw err;
    }
  }

  const findings = createFindingStore(db, { history, rollups, unit: transaction });
  const nodes = createNodeStore(db);
  const summary = createSummaryQueries(db, nodes);
  const audit = createAuditLog(db);
  const baselines = createBaselineStore(db);
  const s = {
    received: db.prepare<[string, string, number], { one: number }>('SELECT 1 AS one FROM received WHERE node = ? AND epoch = ? AND sequence = ?'),
    markReceived: db.prepare('INSERT INTO received (node, epoch, sequence, received_at) VALUES (?, ?, ?, ?)'),
    pruneReceived: db.prepare('DELETE FROM received WHERE received_at < ?'),
  };
  const unit: StoreUnit = {
    findings: findings.writes,
    received: {
      has: (node, epoch, sequence) => s.received.get(node, epoch, sequence) !== undefined,
      mark: (node, epoch, sequence, now) => {
        s.markReceived.run(node, epoch, sequence, now);
      },
    },
    nodes,
    baselines,
    outbox,
  };

  return {
    unit: (work) => transaction(() => work(unit)),
    findings: findings.reads,
    nodes,
    clusterNodes: createClusterNodeStore(db),
    summary,
    audit,
    outbox,
    baselines,
    processes: createProcessQueries(db),
    pruneReceived(olderThan) {
      return s.pruneReceived.run(olderThan).changes;
    },
    sizeBytes() {
      const pages = db.pragma('page_count', { simple: true }) as number;
      const size = db.pragma('page_size', { simple: true }) as number;
      return pages * size;
    },
    optimize() {
      // 0x10002: also tables that were never analysed (a fresh database that grew large).
      db.pragma('optimize = 0x10002');
    },
    close() {
      if (!db.open) return;
      try {
        audit.flush();
        db.pragma('optimize');
      } finally {
        db.close();
      }
    },
  };
}
