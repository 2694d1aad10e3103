// The outbox part of the Store boundary (store.ts): webhook deliveries as the commit stage
// queues them, the dispatchers drain them and the API lists them. Plain types: the SQLite
// implementation is store/outbox.ts.
import type { AlertEvent, FindingChange } from '../../finding.js';
import type { Page } from '../paging.js';

export const DELIVERY_STATUSES = ['pending', 'delivered', 'dead'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/** What the outbox needs of a configured destination: its queue. */
export interface OutboxQueue {
  readonly name: string;
  /** Shown with its counts. */
  readonly format: string;
  /** Pending rows kept at most; past it the oldest is dropped and counted. */
  readonly maxPending: number;
}

/** A pending row as a dispatcher works with it. */
export interface OutboxRow {
  readonly seq: number;
  readonly findingId: string;
  readonly event: AlertEvent;
  readonly change: FindingChange;
  readonly deliveryId: string | null;
  readonly attempts: number;
  readonly lastStatus: number | null;
  readonly lastError: string;
  readonly createdAt: number;
  /** The maximum age counts from here: the row's creation, or an admin's retry. */
  readonly ageFrom: number;
  readonly nextAttemptAt: number;
}

/** A row as the API shows it. */
export interface Delivery {
  readonly id: number;
  readonly deliveryId: string | null;
  readonly destination: string;
  readonly event: AlertEvent;
  readonly findingId: string;
  readonly status: DeliveryStatus;
  readonly attempts: number;
  readonly lastStatus: number | null;
  readonly lastError: string;
  readonly createdAt: string;
  readonly nextAttemptAt: string | null;
  readonly deliveredAt: string | null;
  readonly deadAt: string | null;
}

export interface DeliveryFilter {
  readonly destination?: string | undefined;
  readonly status?: DeliveryStatus | undefined;
  readonly findingId?: string | undefined;
}

export interface QueueCounts {
  readonly destination: string;
  readonly format: string;
  readonly pending: number;
  readonly dead: number;
  /** Rows dropped because the destination had `maxPending` rows waiting. */
  readonly dropped: number;
}

/**
 * Told, once the unit of work that wrote them has committed, that a destination has new rows
 * due, and how many older pending rows the bound pushed out to make room.
 */
export type OutboxListener = (destination: string, dropped: number) => void;

/** Deliveries page newest first, like the audit log, with the same kind of cursor. */
export { decodeAuditCursor as decodeDeliveryCursor, encodeAuditCursor as encodeDeliveryCursor } from './audit.js';

/** What a unit of work writes to the outbox (announced to the listeners once the unit commits). */
export interface OutboxUnit {
  /** Queues the change for the destination; announced when the unit commits. */
  enqueue(destination: string, change: FindingChange, now: number): Promise<void>;
  /** Alertmanager: the destination is told the finding fires (its latest snapshot is kept for re-posts). */
  fire(destination: string, change: FindingChange): Promise<void>;
  /** Alertmanager: the finding no longer fires at the destination. */
  unfire(destination: string, findingId: string): Promise<void>;
}

/** One message a dispatcher fixes: its rows and its delivery id. */
export interface PlannedMessage {
  readonly seqs: readonly number[];
  readonly deliveryId: string;
}

/** The outbox as the dispatchers and the API use it. */
export interface OutboxStore {
  /** The configured destinations, in configuration order. */
  destinations(): readonly OutboxQueue[];
  /** Calls `listener` whenever rows may have become due (new rows, retries). */
  subscribe(listener: OutboxListener): () => void;
  /** The destination's pending rows, oldest first. */
  pending(destination: string, limit: number): Promise<OutboxRow[]>;
  /** The destination's pending rows already planned into messages, oldest first. */
  planned(destination: string, limit: number): Promise<OutboxRow[]>;
  /**
   * Fixes the messages these rows go out in: the same delivery id on every try from now on. All
   * of a pass's messages at once: on PostgreSQL one statement, not a wait for a pooled
   * connection per message while units of work hold the pool. A row already planned keeps its
   * id, and so does a row named twice (its first message's).
   */
  plan(messages: readonly PlannedMessage[]): Promise<void>;
  delivered(destination: string, seqs: readonly number[], httpStatus: number, now: number): Promise<number>;
  /** A failed try that will be retried at `nextAttemptAt`. */
  retryLater(seqs: readonly number[], failure: { httpStatus: number | null; error: string; nextAttemptAt: number }): Promise<void>;
  /** Gives up on rows: dead letters, kept and visible until retried or purged. */
  dead(destination: string, seqs: readonly number[], failure: { httpStatus: number | null; error: string; attempted: boolean }, now: number): Promise<number>;
  /** Alertmanager: the alerts this destination was told are firing, with their latest snapshot. */
  firing(destination: string): Promise<FindingChange[]>;
  /**
   * Puts dead letters back in their destination's queue, due now, with the maximum age
   * counted afresh: the given ids, or every dead letter of `destination`, or the given ids
   * of that destination. Rows of destinations no longer configured stay dead.
   */
  retry(sel: { ids?: readonly number[] | undefined; destination?: string | undefined }, now: number): Promise<number>;
  /** Pending, dead and dropped per configured destination (or only the one named). */
  counts(only?: string): Promise<QueueCounts[]>;
  /** Newest first; the cursor continues towards older rows. */
  list(filter: DeliveryFilter, limit: number, before: number): Promise<Page<Delivery>>;
  /** Deletes delivered rows finished before `deliveredBefore` and dead letters before `deadBefore`. */
  prune(deliveredBefore: number, deadBefore: number): Promise<number>;
  /**
   * Pending rows of destinations that are no longer configured become dead letters (no
   * dispatcher will ever send them), and their firing sets are forgotten.
   */
  abandonUnconfigured(now: number): Promise<number>;
}
