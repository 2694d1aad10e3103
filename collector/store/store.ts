// The collector's store: what the pipeline, the API and the webhook dispatchers reach, and
// the only way they reach the database. It holds rows and statements; what a change of a
// finding means is decided by the pipeline (pipeline/lifecycle.ts, pipeline/commit.ts).
//
// Every read and write returns a promise, so one interface serves an embedded database and a
// client-server one. Writes that belong together run as one unit of work (`unit`): one
// transaction, on one pooled connection for a server. A unit reads what it needs, then
// writes (the commit stage is written that way); the rollups it moved are written before it
// commits, and the outbox rows it queued are announced after. Units never nest: work inside
// a unit reaches the database only through the unit it was given. Reads outside a unit are
// single statements or read-only snapshots, and never see a unit's writes before its commit.
//
// This file and boundary/ are the boundary: plain types, constants and cursor codecs, and
// nothing of a backend (test/collector/import-graph.test.ts checks that they reach no SQL,
// no better-sqlite3 and no pg, and that nothing outside the store but main.ts reaches past
// them). A backend implements these interfaces: `openStore` (sqlite.ts) is the SQLite one,
// `openPgStore` (pg/store.ts) the PostgreSQL one.
import type { FindingReads, FindingWrites } from './boundary/findings.js';
import type { NodeStore } from './boundary/nodes.js';
import type { SummaryQueries } from './boundary/summary.js';
import type { AuditLog } from './boundary/audit.js';
import type { ClusterStore } from './boundary/cluster.js';
import type { ClusterNodeStore } from './boundary/cluster-nodes.js';
import type { OutboxStore, OutboxUnit } from './boundary/outbox.js';
import type { BaselineStore } from './boundary/baselines.js';
import type { ProcessQueries } from './boundary/processes.js';
import type { SessionStore } from './boundary/sessions.js';

export * from './boundary/audit.js';
export * from './boundary/baselines.js';
export * from './boundary/cluster.js';
export * from './boundary/cluster-nodes.js';
export * from './boundary/errors.js';
export * from './boundary/findings.js';
export * from './boundary/nodes.js';
export * from './boundary/outbox.js';
export * from './boundary/processes.js';
export * from './boundary/sessions.js';
export * from './boundary/summary.js';
export type { Page } from './paging.js';

/** What one unit of work may read and write. */
export interface StoreUnit {
  readonly findings: FindingWrites;
  /** Idempotency of agent messages: (node, epoch, sequence) seen. */
  readonly received: {
    /**
     * Claims the message: true when (node, epoch, sequence) was not seen before, and it is
     * now marked seen by this unit (undone if the unit rolls back). False: a duplicate. The
     * database enforces it: of two units claiming the same message at once, one waits for
     * the other and then sees it claimed.
     */
    claim(node: string, epoch: string, sequence: number, now: number): Promise<boolean>;
  };
  readonly nodes: Pick<NodeStore, 'hello' | 'stats' | 'touch' | 'setExposure'>;
  readonly baselines: Pick<BaselineStore, 'allowedContents'>;
  readonly outbox: OutboxUnit;
}

export interface Store {
  /**
   * Runs `work` as one unit of work: committed when its promise resolves, rolled back
   * (nothing written, nothing announced) when it rejects. Units do not nest; units of one
   * store may wait for each other.
   */
  unit<T>(work: (u: StoreUnit) => Promise<T>): Promise<T>;
  readonly findings: FindingReads;
  readonly nodes: NodeStore;
  /** The cluster's nodes as the node watch sees them, reported by an agent or not. */
  readonly clusterNodes: ClusterNodeStore;
  readonly summary: SummaryQueries;
  readonly audit: AuditLog;
  readonly outbox: OutboxStore;
  readonly baselines: BaselineStore;
  readonly processes: ProcessQueries;
  /** Dashboard sessions (by the hash of their id), kept across restarts. */
  readonly sessions: SessionStore;
  /** Which cluster the database holds; adopting it at start rewrites finding ids to its uid. */
  readonly cluster: ClusterStore;
  /** Drops idempotency records older than the horizon (agents resend within minutes). */
  pruneReceived(olderThan: number): Promise<number>;
  sizeBytes(): Promise<number>;
  /** Lets the database refresh its planner statistics where they are stale (cheap; run now and then). */
  optimize(): Promise<void>;
  /** Writes what is buffered and closes; units still running finish first. */
  close(): Promise<void>;
}
