// The webhook outbox (migration 004): rows, one per alert and destination, each with its
// change (the finding's snapshot). The commit stage (pipeline/commit.ts) decides which
// destinations a change goes to and writes the rows inside the unit of work that made the
// change: the alert is durable exactly when the change is. Dispatchers (collector/webhooks)
// drain the rows in order through the Store; the API lists them and retries dead letters.
//
// Each destination's pending rows are bounded: past `maxPending` the oldest pending row is
// dropped (and counted), so after a long outage the newest state of each finding is what
// is still there to send.
import type { Synchronous } from './synchronous.js';
import type { AlertEvent, FindingChange } from '../finding.js';
import type { Db } from './db.js';
import { pageOf, type Page } from './paging.js';
import {
  encodeDeliveryCursor, type Delivery, type DeliveryFilter, type DeliveryStatus, type OutboxListener, type OutboxQueue, type OutboxRow, type OutboxStore,
  type OutboxUnit, type PlannedMessage, type QueueCounts,
} from './boundary/outbox.js';
import { isoTime, isoTimeOrNull } from './time.js';

/**
 * The JSON of the change being queued, made once per change: one change usually goes to
 * several destinations (and to a firing set) in a row. `forget` lets the last change go when
 * its unit ends. Both backends' outboxes use it.
 */
export function changeJson(): { of(change: FindingChange): string; forget(): void } {
  let lastChange: FindingChange | undefined;
  let lastJson = '';
  return {
    of(change) {
      if (change !== lastChange) {
        lastChange = change;
        lastJson = JSON.stringify(change);
      }
      return lastJson;
    },
    forget() {
      lastChange = undefined;
      lastJson = '';
    },
  };
}

/** Longest last error kept per row. */
export const MAX_ERROR_LENGTH = 500;

const iso = isoTimeOrNull;


/** An outbox row as both backends' queries return it (pg/outbox.ts reads it too). */
export interface RawRow {
  seq: number; destination: string; finding_id: string; event: AlertEvent; change: string; status: DeliveryStatus;
  delivery_id: string | null; attempts: number; last_status: number | null; last_error: string; created_at: number;
  age_from: number; next_attempt_at: number; finished_at: number | null;
}

export function toOutboxRow(r: RawRow): OutboxRow {
  return {
    seq: r.seq, findingId: r.finding_id, event: r.event, change: JSON.parse(r.change) as FindingChange, deliveryId: r.delivery_id,
    attempts: r.attempts, lastStatus: r.last_status, lastError: r.last_error, createdAt: r.created_at, ageFrom: r.age_from, nextAttemptAt: r.next_attempt_at,
  };
}

export function toDelivery(r: RawRow): Delivery {
  return {
    id: r.seq, deliveryId: r.delivery_id, destination: r.destination, event: r.event, findingId: r.finding_id, status: r.status,
    attempts: r.attempts, lastStatus: r.last_status, lastError: r.last_error, createdAt: isoTime(r.created_at),
    nextAttemptAt: r.status === 'pending' ? iso(r.next_attempt_at) : null,
    deliveredAt: r.status === 'delivered' ? iso(r.finished_at) : null,
    deadAt: r.status === 'dead' ? iso(r.finished_at) : null,
  };
}

/** The SQLite outbox: the boundary's two faces, and what the unit of work tells it (store/sqlite.ts). */
export interface SqliteOutbox extends Synchronous<OutboxStore>, Synchronous<OutboxUnit> {
  /** The unit that queued rows committed: tell the listeners. */
  committed(): void;
  /** The unit rolled back: its rows are gone, nobody is told. */
  rolledBack(): void;
}

export function createOutbox(db: Db, destinations: readonly OutboxQueue[]): SqliteOutbox {
  const s = {
    insert: db.prepare(`INSERT INTO webhook_outbox (destination, finding_id, event, change, created_at, age_from, next_attempt_at)
      VALUES (?, ?, ?, ?, ?, ?, ?)`),
    queueRow: db.prepare('INSERT OR IGNORE INTO webhook_queues (destination) VALUES (?)'),
    bump: db.prepare<[number, number, string], { pending: number }>(`UPDATE webhook_queues SET pending = pending + ?,
      dropped = dropped + ? WHERE destination = ? RETURNING pending`),
    oldest: db.prepare<[string], { seq: number }>(`SELECT seq FROM webhook_outbox WHERE destination = ? AND status = 'pending'
      ORDER BY seq LIMIT 1`),
    drop: db.prepare('DELETE FROM webhook_outbox WHERE seq = ?'),
    fire: db.prepare(`INSERT INTO webhook_firing (destination, finding_id, change) VALUES (?, ?, ?)
      ON CONFLICT DO UPDATE SET change = excluded.change`),
    unfire: db.prepare('DELETE FROM webhook_firing WHERE destination = ? AND finding_id = ?'),
    firing: db.prepare<[string], { change: string }>('SELECT change FROM webhook_firing WHERE destination = ? ORDER BY finding_id'),
    pending: db.prepare<[string, number], RawRow>(`SELECT * FROM webhook_outbox WHERE destination = ? AND status = 'pending'
      ORDER BY seq LIMIT ?`),
    planned: db.prepare<[string, number], RawRow>(`SELECT * FROM webhook_outbox WHERE destination = ? AND status = 'pending'
      AND delivery_id IS NOT NULL ORDER BY seq LIMIT ?`),
    plan: db.prepare(`UPDATE webhook_outbox SET delivery_id = ? WHERE seq = ? AND status = 'pending' AND delivery_id IS NULL`),
    delivered: db.prepare(`UPDATE webhook_outbox SET status = 'delivered', attempts = attempts + 1, last_status = ?, last_error = '',
      finished_at = ? WHERE seq = ? AND status = 'pending'`),
    later: db.prepare(`UPDATE webhook_outbox SET attempts = attempts + 1, last_status = ?, last_error = ?, next_attempt_at = ?
      WHERE seq = ? AND status = 'pending'`),
    dead: db.prepare(`UPDATE webhook_outbox SET status = 'dead', attempts = attempts + ?, last_status = coalesce(?, last_status),
      last_error = ?, finished_at = ? WHERE seq = ? AND status = 'pending'`),
    deadRow: db.prepare<[number], { destination: string }>("SELECT destination FROM webhook_outbox WHERE seq = ? AND status = 'dead'"),
    revive: db.prepare(`UPDATE webhook_outbox SET status = 'pending', age_from = ?, next_attempt_at = ?, finished_at = NULL
      WHERE seq = ? AND status = 'dead'`),
    deadOf: db.prepare<[string], { seq: number }>("SELECT seq FROM webhook_outbox WHERE destination = ? AND status = 'dead' ORDER BY seq"),
    counts: db.prepare<[string], { pending: number; dropped: number }>('SELECT pending, dropped FROM webhook_queues WHERE destination = ?'),
    deadCount: db.prepare<[string], { n: number }>("SELECT count(*) AS n FROM webhook_outbox WHERE destination = ? AND status = 'dead'"),
    prune: db.prepare(`DELETE FROM webhook_outbox WHERE seq IN (SELECT seq FROM webhook_outbox
      WHERE status = ? AND finished_at IS NOT NULL AND finished_at < ? LIMIT 5000)`),
    orphans: db.prepare<[string], { seq: number; destination: string }>(`SELECT seq, destination FROM webhook_outbox
      WHERE status = 'pending' AND destination NOT IN (SELECT value FROM json_each(?))`),
    orphanFiring: db.prepare('DELETE FROM webhook_firing WHERE destination NOT IN (SELECT value FROM json_each(?))'),
  };
  const byName = new Map(destinations.map((d) => [d.name, d]));
  const listeners = new Set<OutboxListener>();
  /** Rows written by the unit under way, announced once it commits. */
  let queued = new Map<string, number>();
  const json = changeJson();
  const listStatements = new Map<string, ReturnType<typeof db.prepare<Record<string, unknown>, RawRow>>>();

  for (const d of destinations) s.queueRow.run(d.name);

  const notify = (destination: string, dropped: number): void => {
    for (const l of listeners) l(destination, dropped);
  };

  /** Queues one row; returns how many older rows it pushed out (0 or 1). */
  function insert(d: OutboxQueue, change: FindingChange, json: string, now: number): number {
    let dropped = 0;
    const after = s.bump.get(1, 0, d.name)?.pending ?? 0;
    if (after > d.maxPending) {
      const oldest = s.oldest.get(d.name);
      if (oldest) {
        s.drop.run(oldest.seq);
        s.bump.run(-1, 1, d.name);
        dropped = 1;
      }
    }
    s.insert.run(d.name, change.finding.id, change.event, json, now, now, now);
    return dropped;
  }

  function settle(seqs: readonly number[], update: (seq: number) => number, destination: string): number {
    return db.transaction(() => {
      let n = 0;
      for (const seq of seqs) n += update(seq);
      if (n > 0) s.bump.run(-n, 0, destination);
      return n;
    })();
  }

  return {
    /** The configured destinations, in configuration order. */
    destinations(): readonly OutboxQueue[] {
      return destinations;
    },

    /** Queues the change for the destination (inside a unit of work); announced when the unit commits. */
    enqueue(destination: string, change: FindingChange, now: number): void {
      const d = byName.get(destination);
      if (!d) return;
      const dropped = insert(d, change, json.of(change), now);
      queued.set(destination, (queued.get(destination) ?? 0) + dropped);
    },

    /** Alertmanager: the destination is told the finding fires (its latest snapshot is kept for re-posts). */
    fire(destination: string, change: FindingChange): void {
      s.fire.run(destination, change.finding.id, json.of(change));
    },

    /** Alertmanager: the finding no longer fires at the destination. */
    unfire(destination: string, findingId: string): void {
      s.unfire.run(destination, findingId);
    },

    /** The unit that queued rows committed: tell the listeners. */
    committed(): void {
      const done = queued;
      queued = new Map();
      json.forget();
      for (const [name, dropped] of done) notify(name, dropped);
    },

    /** The unit rolled back: its rows are gone, nobody is told. */
    rolledBack(): void {
      queued = new Map();
      json.forget();
    },

    /** Calls `listener` whenever rows may have become due (new rows, retries). */
    subscribe(listener: OutboxListener): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    /** The destination's pending rows, oldest first. */
    pending(destination: string, limit: number): OutboxRow[] {
      return s.pending.all(destination, limit).map(toOutboxRow);
    },

    /** The destination's pending rows already planned into messages, oldest first. */
    planned(destination: string, limit: number): OutboxRow[] {
      return s.planned.all(destination, limit).map(toOutboxRow);
    },

    /** Fixes the messages these rows go out in: the same delivery id on every try from now on. */
    plan(messages: readonly PlannedMessage[]): void {
      db.transaction(() => {
        for (const m of messages) for (const seq of m.seqs) s.plan.run(m.deliveryId, seq);
      })();
    },

    delivered(destination: string, seqs: readonly number[], httpStatus: number, now: number): number {
      return settle(seqs, (seq) => s.delivered.run(httpStatus, now, seq).changes, destination);
    },

    /** A failed try that will be retried at `nextAttemptAt`. */
    retryLater(seqs: readonly number[], failure: { httpStatus: number | null; error: string; nextAttemptAt: number }): void {
      const error = failure.error.slice(0, MAX_ERROR_LENGTH);
      db.transaction(() => {
        for (const seq of seqs) s.later.run(failure.httpStatus, error, failure.nextAttemptAt, seq);
      })();
    },

    /** Gives up on rows: dead letters, kept and visible until retried or purged. */
    dead(destination: string, seqs: readonly number[], failure: { httpStatus: number | null; error: string; attempted: boolean }, now: number): number {
      const error = failure.error.slice(0, MAX_ERROR_LENGTH);
      return settle(seqs, (seq) => s.dead.run(failure.attempted ? 1 : 0, failure.httpStatus, error, now, seq).changes, destination);
    },

    /** Alertmanager: the alerts this destination was told are firing, with their latest snapshot. */
    firing(destination: string): FindingChange[] {
      return s.firing.all(destination).map((r) => JSON.parse(r.change) as FindingChange);
    },

    /**
     * Puts dead letters back in their destination's queue, due now, with the maximum age
     * counted afresh: the given ids, or every dead letter of `destination`, or the given ids
     * of that destination. Rows of destinations no longer configured stay dead.
     */
    retry(sel: { ids?: readonly number[] | undefined; destination?: string | undefined }, now: number): number {
      const revived = new Map<string, number>();
      db.transaction(() => {
        const seqs = sel.ids ?? (sel.destination !== undefined ? s.deadOf.all(sel.destination).map((r) => r.seq) : []);
        for (const seq of seqs) {
          const r = s.deadRow.get(seq);
          if (!r || !byName.has(r.destination) || (sel.destination !== undefined && r.destination !== sel.destination)) continue;
          s.revive.run(now, now, seq);
          revived.set(r.destination, (revived.get(r.destination) ?? 0) + 1);
        }
        for (const [name, n] of revived) s.bump.run(n, 0, name);
      })();
      for (const name of revived.keys()) notify(name, 0);
      return [...revived.values()].reduce((a, b) => a + b, 0);
    },

    /** Pending, dead and dropped per configured destination (or only the one named). */
    counts(only?: string): QueueCounts[] {
      return destinations.filter((d) => only === undefined || d.name === only).map((d) => {
        const c = s.counts.get(d.name);
        return { destination: d.name, format: d.format, pending: c?.pending ?? 0, dead: s.deadCount.get(d.name)?.n ?? 0, dropped: c?.dropped ?? 0 };
      });
    },

    /** Newest first; the cursor continues towards older rows. */
    list(filter: DeliveryFilter, limit: number, before: number): Page<Delivery> {
      const where = ['seq < @before'];
      const params: Record<string, unknown> = { before, limit: limit + 1 };
      if (filter.destination !== undefined) { where.push('destination = @destination'); params.destination = filter.destination; }
      if (filter.status !== undefined) { where.push('status = @status'); params.status = filter.status; }
      if (filter.findingId !== undefined) { where.push('finding_id = @findingId'); params.findingId = filter.findingId; }
      // Assembled from fixed fragments (eight shapes, each prepared once); values are bound.
      const sql = `SELECT * FROM webhook_outbox WHERE ${where.join(' AND ')} ORDER BY seq DESC LIMIT @limit`;
      let stmt = listStatements.get(sql);
      if (!stmt) listStatements.set(sql, (stmt = db.prepare<Record<string, unknown>, RawRow>(sql)));
      return pageOf(stmt.all(params), limit, toDelivery, (last) => encodeDeliveryCursor(last.seq));
    },

    /** Deletes delivered rows finished before `deliveredBefore` and dead letters before `deadBefore`. */
    prune(deliveredBefore: number, deadBefore: number): number {
      let total = 0;
      for (const [status, before] of [['delivered', deliveredBefore], ['dead', deadBefore]] as const) {
        for (;;) {
          const n = s.prune.run(status, before).changes;
          total += n;
          if (n < 5000) break;
        }
      }
      return total;
    },

    /**
     * Pending rows of destinations that are no longer configured become dead letters (no
     * dispatcher will ever send them), and their firing sets are forgotten.
     */
    abandonUnconfigured(now: number): number {
      const names = JSON.stringify(destinations.map((d) => d.name));
      let n = 0;
      db.transaction(() => {
        for (const o of s.orphans.all(names)) {
          n += s.dead.run(0, null, 'the destination is no longer configured', now, o.seq).changes;
          s.bump.run(-1, 0, o.destination);
        }
        s.orphanFiring.run(names);
      })();
      return n;
    },
  };
}
