// The collector's store: one SQLite file, opened and migrated once.
import { openDatabase, type Db, type Durability } from './db.js';
import { createAuditLog } from './audit.js';
import { createBaselineStore } from './baselines.js';
import { createFindingStore } from './findings.js';
import { createNodeStore } from './nodes.js';
import { createOutbox, type OutboxDestination } from './outbox.js';
import { createProcessQueries } from './processes.js';
import { createSummaryQueries } from './summary.js';

export interface StoreOptions {
  readonly path: string;
  readonly maxOpenFindingsPerNode: number;
  /** History entries kept per finding (default 100). */
  readonly historyLimit?: number;
  /** Webhook destinations: every routed transition gets an outbox row in its transaction. */
  readonly webhooks?: readonly OutboxDestination[];
  /** Default `full`: every commit synced before it returns (see db.ts). */
  readonly durability?: Durability;
}

export function openStore(opts: StoreOptions) {
  const db: Db = openDatabase(opts.path, opts.durability);
  const outbox = createOutbox(db, opts.webhooks ?? []);
  const findings = createFindingStore(db, {
    maxOpenFindingsPerNode: opts.maxOpenFindingsPerNode, historyLimit: opts.historyLimit ?? 100, onTransition: outbox.enqueue,
  });
  const nodes = createNodeStore(db);
  const summary = createSummaryQueries(db, nodes);
  const audit = createAuditLog(db);
  const baselines = createBaselineStore(db);
  const pruneReceived = db.prepare('DELETE FROM received WHERE received_at < ?');
  return {
    findings,
    nodes,
    summary,
    audit,
    outbox,
    baselines,
    processes: createProcessQueries(db),
    /** Drops idempotency records older than the horizon (agents resend within minutes). */
    pruneReceived(olderThan: number): number {
      return pruneReceived.run(olderThan).changes;
    },
    sizeBytes(): number {
      const pages = db.pragma('page_count', { simple: true }) as number;
      const size = db.pragma('page_size', { simple: true }) as number;
      return pages * size;
    },
    /** Lets SQLite refresh its planner statistics where they are stale (cheap; run now and then). */
    optimize(): void {
      // 0x10002: also tables that were never analysed (a fresh database that grew large).
      db.pragma('optimize = 0x10002');
    },
    close(): void {
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

export type Store = ReturnType<typeof openStore>;
