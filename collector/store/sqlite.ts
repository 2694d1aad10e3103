// The SQLite implementation of the Store (store.ts): one file, opened and migrated once.
// Statements run synchronously (better-sqlite3); synchronous.ts puts them behind the
// boundary's promises. A unit of work is one transaction on the one connection, so units
// run one at a time, in the order they were asked for; a read or write outside a unit that
// comes while units are queued or running waits its turn behind them, so it never lands
// inside a unit's transaction nor sees its writes before the commit. With none queued it
// runs at once. main.ts is the only place outside the store that opens one.
import { openDatabase, type Db, type Durability } from './db.js';
import { createAuditLog } from './audit.js';
import { createBaselineStore } from './baselines.js';
import { createClusterStore } from './cluster.js';
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
import type {
  AuditLog, BaselineStore, ClusterNodeStore, ClusterStore, FindingReads, FindingWrites, NodeStore, OutboxStore, OutboxUnit, ProcessQueries, SessionStore, Store, StoreUnit, SummaryQueries,
} from './store.js';
import { promised, settle, type Lane } from './synchronous.js';
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

  /** A synchronous transaction whose rollup deltas are written before it commits (what the findings store's purge runs as one). */
  function transaction<T>(work: () => T): T {
    if (db.inTransaction) throw new StoreError('NESTED_UNIT', 'a unit of work cannot run inside another');
    try {
      return db.transaction((): T => {
        rollups.reset();
        const out = work();
        rollups.flush();
        return out;
      }).immediate();
    } catch (err) {
      rollups.reset();
      throw err;
    }
  }

  // The lane: units, and what comes while any job is in it, run one after another in the
  // order they were asked for. With the lane empty a call outside a unit runs at once.
  let inLane = 0;
  let lane: Promise<unknown> = Promise.resolve();
  function enqueue<R>(job: () => Promise<R>): Promise<R> {
    inLane++;
    const run = lane.then(job).finally(() => {
      inLane--;
    });
    lane = run.then(() => undefined, () => undefined);
    return run;
  }
  const outside: Lane = (call) => (inLane === 0 ? settle(call) : enqueue(() => settle(call)));

  const findings = createFindingStore(db, { history, rollups, unit: transaction });
  const nodes = createNodeStore(db);
  const baselines = createBaselineStore(db);
  const audit = createAuditLog(db);
  const s = {
    received: db.prepare<[string, string, number], { one: number }>('SELECT 1 AS one FROM received WHERE node = ? AND epoch = ? AND sequence = ?'),
    markReceived: db.prepare('INSERT INTO received (node, epoch, sequence, received_at) VALUES (?, ?, ?, ?)'),
    pruneReceived: db.prepare('DELETE FROM received WHERE received_at < ?'),
  };
  const unit: StoreUnit = {
    findings: promised<FindingWrites>(findings.writes, settle),
    received: {
      claim: (node, epoch, sequence, now) => settle(() => {
        if (s.received.get(node, epoch, sequence) !== undefined) return false;
        s.markReceived.run(node, epoch, sequence, now);
        return true;
      }),
    },
    nodes: promised<NodeStore>(nodes, settle),
    baselines: promised<BaselineStore>(baselines, settle),
    outbox: promised<OutboxUnit>(outbox, settle),
  };

  /** One transaction whose rollup deltas are written before it commits; the outbox told after. */
  async function runUnit<T>(work: (u: StoreUnit) => Promise<T>): Promise<T> {
    if (db.inTransaction) throw new StoreError('NESTED_UNIT', 'a unit of work cannot run inside another');
    db.exec('BEGIN IMMEDIATE');
    rollups.reset();
    try {
      const out = await work(unit);
      rollups.flush();
      db.exec('COMMIT');
      outbox.committed();
      return out;
    } catch (err) {
      if (db.inTransaction) db.exec('ROLLBACK');
      rollups.reset();
      outbox.rolledBack();
      throw err;
    }
  }

  return {
    unit: (work) => enqueue(() => runUnit(work)),
    findings: promised<FindingReads>(findings.reads, outside, ['openCursor']),
    nodes: promised<NodeStore>(nodes, outside),
    clusterNodes: promised<ClusterNodeStore>(createClusterNodeStore(db), outside),
    summary: promised<SummaryQueries>(createSummaryQueries(db, nodes), outside),
    audit: promised<AuditLog>(audit, outside, ['refusal']),
    outbox: promised<OutboxStore>(outbox, outside, ['destinations', 'subscribe']),
    baselines: promised<BaselineStore>(baselines, outside),
    processes: promised<ProcessQueries>(createProcessQueries(db), outside),
    sessions: promised<SessionStore>(createSessionStore(db), outside),
    cluster: promised<ClusterStore>(createClusterStore(db, transaction), outside),
    pruneReceived: (olderThan) => outside(() => s.pruneReceived.run(olderThan).changes),
    sizeBytes: () => outside(() => {
      const pages = db.pragma('page_count', { simple: true }) as number;
      const size = db.pragma('page_size', { simple: true }) as number;
      return pages * size;
    }),
    // 0x10002: also tables that were never analysed (a fresh database that grew large).
    optimize: () => outside(() => {
      db.pragma('optimize = 0x10002');
    }),
    async close() {
      await lane;
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
