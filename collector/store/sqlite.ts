// The SQLite implementation of the Store (store.ts): one file, opened and migrated once;
// a unit of work is one transaction, run synchronously. main.ts is the only place outside the
// store that opens one.
import { openDatabase, type Db, type Durability } from './db.js';
import { createAuditLog } from './audit.js';
import { createBaselineStore } from './baselines.js';
import { createClusterNodeStore } from './cluster-nodes.js';
import { StoreError } from './boundary/errors.js';
import type { OutboxQueue } from './boundary/outbox.js';
import { createFindingStore } from './findings.js';
import { createHistoryLog } from './history.js';
import { createNodeStore } from './nodes.js';
import { createOutbox } from './outbox.js';
import { createProcessQueries } from './processes.js';
import { createRollups } from './rollups.js';
import { createSessionStore } from './sessions.js';
import type { Store, StoreUnit } from './store.js';
import { createSummaryQueries } from './summary.js';

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
    sessions: createSessionStore(db),
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
