// The webhook outbox on PostgreSQL: the SQLite outbox (store/outbox.ts) ported, with the same
// rows, counters and results. Two faces, as there: `store`, the OutboxStore outside units
// (dispatchers, the API), over the pool; and `forUnit(sql)`, the unit's part (enqueue, fire,
// unfire), built again over each unit's client (cheap: closures only), which the unit flushes
// last before COMMIT and tells how it ended (`committed()` / `rolledBack()`).
//
// Replicas. Each destination's queue row (webhook_queues: pending, dropped) is the lock of
// that destination's queue: whoever changes which rows of it are pending, or its counters,
// holds the row, so maxPending and the dropped counter hold with any number of writers:
//   - a unit's enqueue, fire and unfire are kept in memory and written by `flush`, which the
//     unit calls last, just before COMMIT. It locks the rows of every configured destination,
//     in name order (byte order), then writes. All at once and in one order, because a unit
//     writes to destinations in whatever order its changes come, and two units taking them one
//     by one could each wait for the other; last, because a unit that took them early and then
//     waited for a finding's row another unit holds (which then wanted the queues) would
//     deadlock. Alert-writing units so commit one at a time, holding the queues only across
//     their flush and commit; their rows of one destination get their seq in commit order.
//   - outside units, a write that settles, revives or abandons rows locks the queue rows it
//     will change (in name order) before the outbox rows, the order a unit takes them in.
// Listeners (`subscribe`) live in this collector process: a unit's commit here tells them; a
// row another replica queued is seen by this replica's dispatchers when they next read the
// queue (waking them across replicas is LISTEN/NOTIFY's work, not this file's). The claim
// protocol (pending, planned, plan) is the SQLite one, unchanged.
import type { FindingChange } from '../../finding.js';
import {
  encodeDeliveryCursor, type Delivery, type DeliveryFilter, type OutboxListener, type OutboxQueue, type OutboxRow, type OutboxStore,
  type OutboxUnit, type PlannedMessage, type QueueCounts,
} from '../boundary/outbox.js';
import { StoreError } from '../boundary/errors.js';
import { changeJson, MAX_ERROR_LENGTH, toDelivery, toOutboxRow, type RawRow } from '../outbox.js';
import { pageOf, type Page } from '../paging.js';
import type { Sql, Transact } from './sql.js';


const Q = {
  queueRows: 'INSERT INTO webhook_queues (destination) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING',
  /** The queue rows of these destinations, locked in byte order of their names. */
  lockQueues: 'SELECT destination FROM webhook_queues WHERE destination = ANY($1::text[]) ORDER BY destination COLLATE "C" FOR UPDATE',
  insert: `INSERT INTO webhook_outbox (destination, finding_id, event, change, created_at, age_from, next_attempt_at)
    VALUES ($1, $2, $3, $4, $5, $5, $5)`,
  bump: 'UPDATE webhook_queues SET pending = pending + $1, dropped = dropped + $2 WHERE destination = $3 RETURNING pending',
  oldest: "SELECT seq FROM webhook_outbox WHERE destination = $1 AND status = 'pending' ORDER BY seq LIMIT 1",
  drop: 'DELETE FROM webhook_outbox WHERE seq = $1',
  fire: `INSERT INTO webhook_firing (destination, finding_id, change) VALUES ($1, $2, $3)
    ON CONFLICT (destination, finding_id) DO UPDATE SET change = excluded.change`,
  unfire: 'DELETE FROM webhook_firing WHERE destination = $1 AND finding_id = $2',
  firing: 'SELECT change FROM webhook_firing WHERE destination = $1 ORDER BY finding_id COLLATE "C"',
  pending: "SELECT * FROM webhook_outbox WHERE destination = $1 AND status = 'pending' ORDER BY seq LIMIT $2",
  planned: "SELECT * FROM webhook_outbox WHERE destination = $1 AND status = 'pending' AND delivery_id IS NOT NULL ORDER BY seq LIMIT $2",
  /** Each row with its message's id (a row at most once). */
  plan: `UPDATE webhook_outbox o SET delivery_id = d.id FROM unnest($1::bigint[], $2::text[]) AS d (seq, id)
    WHERE o.seq = d.seq AND o.status = 'pending' AND o.delivery_id IS NULL`,
  delivered: `UPDATE webhook_outbox SET status = 'delivered', attempts = attempts + 1, last_status = $1, last_error = '', finished_at = $2
    WHERE seq = ANY($3::bigint[]) AND status = 'pending'`,
  later: `UPDATE webhook_outbox SET attempts = attempts + 1, last_status = $1, last_error = $2, next_attempt_at = $3
    WHERE seq = ANY($4::bigint[]) AND status = 'pending'`,
  dead: `UPDATE webhook_outbox SET status = 'dead', attempts = attempts + $1, last_status = coalesce($2, last_status), last_error = $3,
    finished_at = $4 WHERE seq = ANY($5::bigint[]) AND status = 'pending' RETURNING destination`,
  deadRows: "SELECT seq, destination FROM webhook_outbox WHERE seq = ANY($1::bigint[]) AND status = 'dead'",
  deadOf: "SELECT seq, destination FROM webhook_outbox WHERE destination = $1 AND status = 'dead' ORDER BY seq",
  revive: `UPDATE webhook_outbox SET status = 'pending', age_from = $1, next_attempt_at = $1, finished_at = NULL
    WHERE seq = ANY($2::bigint[]) AND status = 'dead' RETURNING seq`,
  counts: `SELECT (SELECT pending FROM webhook_queues WHERE destination = $1) AS pending,
    (SELECT dropped FROM webhook_queues WHERE destination = $1) AS dropped,
    (SELECT count(*) FROM webhook_outbox WHERE destination = $1 AND status = 'dead') AS dead`,
  prune: `DELETE FROM webhook_outbox WHERE seq IN (SELECT seq FROM webhook_outbox
    WHERE status = $1 AND finished_at IS NOT NULL AND finished_at < $2 LIMIT 5000)`,
  orphans: "SELECT seq, destination FROM webhook_outbox WHERE status = 'pending' AND destination <> ALL($1::text[])",
  orphanFiring: 'DELETE FROM webhook_firing WHERE destination <> ALL($1::text[])',
} as const;

/** A list's statement for the filters it has (eight shapes, each prepared once); every value a parameter. */
function listStatement(filter: DeliveryFilter): { text: string; values: unknown[] } {
  const where: string[] = [];
  const values: unknown[] = [];
  const add = (column: string, value: unknown): void => {
    values.push(value);
    where.push(` AND ${column} = $${values.length + 1}`);
  };
  if (filter.destination !== undefined) add('destination', filter.destination);
  if (filter.status !== undefined) add('status', filter.status);
  if (filter.findingId !== undefined) add('finding_id', filter.findingId);
  return { text: `SELECT * FROM webhook_outbox WHERE seq < $1${where.join('')} ORDER BY seq DESC LIMIT $${values.length + 2}`, values };
}

/** Names in the order their queue rows are locked (what `lockQueues` sorts by). */
const byteOrder = (names: Iterable<string>): string[] => [...new Set(names)].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));

/** What a unit asked of the outbox, kept until the unit writes it (flush). */
type Write =
  | { readonly kind: 'enqueue'; readonly d: OutboxQueue; readonly change: FindingChange; readonly now: number }
  | { readonly kind: 'fire'; readonly destination: string; readonly change: FindingChange }
  | { readonly kind: 'unfire'; readonly destination: string; readonly findingId: string };

/** The outbox's part in one unit of work, with what the unit tells it when it ends. */
export interface PgOutboxUnit extends OutboxUnit {
  /**
   * Writes what the unit queued, fired and unfired, in the order it asked: the queue locks
   * first, then the rows. The unit calls it once, after its other writes (the rollups' too)
   * and just before COMMIT, so the queue locks are held only across the commit.
   */
  flush(): Promise<void>;
  /** The unit committed: the listeners are told of the rows it queued. Throws when it asked for writes and never flushed them. */
  committed(): void;
  /** The unit rolled back: its rows are gone, nobody is told. */
  rolledBack(): void;
}

export interface PgOutbox {
  /** The outbox outside units (dispatchers, the API), over the pool. */
  readonly store: OutboxStore;
  /** The unit's part, over the unit's `Sql` (its one client, in its transaction); one per unit. */
  forUnit(sql: Sql): PgOutboxUnit;
}

/**
 * The outbox over `sql` (the pool); `transact` runs what SQLite runs as one transaction. The
 * configured destinations' queue rows are made by the first units that write to the outbox
 * (in their transaction, until one of them commits), where SQLite makes them at open.
 */
export function createPgOutbox(sql: Sql, transact: Transact, destinations: readonly OutboxQueue[]): PgOutbox {
  const byName = new Map(destinations.map((d) => [d.name, d]));
  const names = destinations.map((d) => d.name);
  const listeners = new Set<OutboxListener>();
  /** The queue rows are there: a unit that made them committed. */
  let queuesMade = false;

  const notify = (destination: string, dropped: number): void => {
    for (const l of listeners) l(destination, dropped);
  };

  /** Rows of one destination settled: the queue row locked first, then the rows, then the count. */
  function settle(destination: string, update: (q: Sql) => Promise<number>): Promise<number> {
    return transact(async (q) => {
      await q.rows(Q.lockQueues, [[destination]]);
      const n = await update(q);
      if (n > 0) await q.run(Q.bump, [-n, 0, destination]);
      return n;
    });
  }

  function forUnit(q: Sql): PgOutboxUnit {
    /** What the unit asked for, in order, written by `flush`. */
    const writes: Write[] = [];
    let flushed = false;
    let madeQueues = false;
    /** Rows written by this unit, announced once it commits: dropped per destination. */
    const queued = new Map<string, number>();
    const json = changeJson();
    const record = (w: Write): Promise<void> => {
      if (flushed) return Promise.reject(new StoreError('OUTBOX_FLUSHED', 'the outbox of this unit was written already: nothing more can join it'));
      writes.push(w);
      return Promise.resolve();
    };

    /** Queues one row; returns how many older rows it pushed out (0 or 1). */
    async function insert(d: OutboxQueue, change: FindingChange, now: number): Promise<number> {
      let dropped = 0;
      const after = (await q.one<{ pending: number }>(Q.bump, [1, 0, d.name]))?.pending ?? 0;
      if (after > d.maxPending) {
        const oldest = await q.one<{ seq: number }>(Q.oldest, [d.name]);
        if (oldest) {
          await q.run(Q.drop, [oldest.seq]);
          await q.run(Q.bump, [-1, 1, d.name]);
          dropped = 1;
        }
      }
      await q.run(Q.insert, [d.name, change.finding.id, change.event, json.of(change), now]);
      return dropped;
    }

    return {
      enqueue(destination: string, change: FindingChange, now: number): Promise<void> {
        const d = byName.get(destination);
        return d ? record({ kind: 'enqueue', d, change, now }) : Promise.resolve();
      },
      fire(destination: string, change: FindingChange): Promise<void> {
        return record({ kind: 'fire', destination, change });
      },
      unfire(destination: string, findingId: string): Promise<void> {
        return record({ kind: 'unfire', destination, findingId });
      },
      async flush(): Promise<void> {
        if (flushed) return;
        flushed = true;
        if (writes.length === 0) return;
        if (!queuesMade) {
          // In byte order too: two replicas' first units making the rows wait for each other in one order.
          await q.run(Q.queueRows, [byteOrder(names)]);
          madeQueues = true;
        }
        await q.rows(Q.lockQueues, [byteOrder(names)]);
        for (const w of writes) {
          if (w.kind === 'enqueue') {
            const dropped = await insert(w.d, w.change, w.now);
            queued.set(w.d.name, (queued.get(w.d.name) ?? 0) + dropped);
          } else if (w.kind === 'fire') {
            await q.run(Q.fire, [w.destination, w.change.finding.id, json.of(w.change)]);
          } else {
            await q.run(Q.unfire, [w.destination, w.findingId]);
          }
        }
      },
      committed(): void {
        if (writes.length > 0 && !flushed) {
          throw new StoreError('OUTBOX_NOT_FLUSHED', 'a unit committed without writing its outbox rows (flush before COMMIT): its alerts are lost');
        }
        if (madeQueues) queuesMade = true;
        const done = [...queued];
        queued.clear();
        json.forget();
        for (const [name, dropped] of done) notify(name, dropped);
      },
      rolledBack(): void {
        queued.clear();
        json.forget();
      },
    };
  }

  const store: OutboxStore = {
    destinations(): readonly OutboxQueue[] {
      return destinations;
    },

    subscribe(listener: OutboxListener): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    async pending(destination: string, limit: number): Promise<OutboxRow[]> {
      return (await sql.rows<RawRow>(Q.pending, [destination, limit])).map(toOutboxRow);
    },

    async planned(destination: string, limit: number): Promise<OutboxRow[]> {
      return (await sql.rows<RawRow>(Q.planned, [destination, limit])).map(toOutboxRow);
    },

    async plan(messages: readonly PlannedMessage[]): Promise<void> {
      // A row named twice keeps its first message's id, as SQLite's row-by-row plan does.
      const ids = new Map<number, string>();
      for (const m of messages) for (const seq of m.seqs) if (!ids.has(seq)) ids.set(seq, m.deliveryId);
      if (ids.size > 0) await sql.run(Q.plan, [[...ids.keys()], [...ids.values()]]);
    },

    delivered(destination: string, seqs: readonly number[], httpStatus: number, now: number): Promise<number> {
      return settle(destination, (q) => q.run(Q.delivered, [httpStatus, now, [...seqs]]));
    },

    async retryLater(seqs: readonly number[], failure: { httpStatus: number | null; error: string; nextAttemptAt: number }): Promise<void> {
      await sql.run(Q.later, [failure.httpStatus, failure.error.slice(0, MAX_ERROR_LENGTH), failure.nextAttemptAt, [...seqs]]);
    },

    dead(destination: string, seqs: readonly number[], failure: { httpStatus: number | null; error: string; attempted: boolean }, now: number): Promise<number> {
      const error = failure.error.slice(0, MAX_ERROR_LENGTH);
      return settle(destination, (q) => q.run(Q.dead, [failure.attempted ? 1 : 0, failure.httpStatus, error, now, [...seqs]]));
    },

    async firing(destination: string): Promise<FindingChange[]> {
      return (await sql.rows<{ change: string }>(Q.firing, [destination])).map((r) => JSON.parse(r.change) as FindingChange);
    },

    async retry(sel: { ids?: readonly number[] | undefined; destination?: string | undefined }, now: number): Promise<number> {
      const revived = await transact(async (q) => {
        // An id past what a bigint holds names no row (SQLite finds none); PostgreSQL would refuse the statement.
        const rows = sel.ids !== undefined
          ? await q.rows<{ seq: number; destination: string }>(Q.deadRows, [sel.ids.filter(Number.isSafeInteger)])
          : sel.destination !== undefined ? await q.rows<{ seq: number; destination: string }>(Q.deadOf, [sel.destination]) : [];
        const destinationOf = new Map(rows.map((r) => [r.seq, r.destination]));
        // In the order asked for (it is the order the listeners hear of the destinations in).
        const order = sel.ids ?? rows.map((r) => r.seq);
        const wanted = order.filter((seq) => {
          const d = destinationOf.get(seq);
          return d !== undefined && byName.has(d) && (sel.destination === undefined || d === sel.destination);
        });
        const out = new Map<string, number>();
        if (wanted.length === 0) return out;
        await q.rows(Q.lockQueues, [byteOrder(wanted.map((seq) => destinationOf.get(seq)!))]);
        const done = new Set((await q.rows<{ seq: number }>(Q.revive, [now, [...new Set(wanted)]])).map((r) => r.seq));
        for (const seq of wanted) {
          if (!done.delete(seq)) continue;
          const d = destinationOf.get(seq)!;
          out.set(d, (out.get(d) ?? 0) + 1);
        }
        for (const name of byteOrder(out.keys())) await q.run(Q.bump, [out.get(name)!, 0, name]);
        return out;
      });
      for (const name of revived.keys()) notify(name, 0);
      return [...revived.values()].reduce((a, b) => a + b, 0);
    },

    async counts(only?: string): Promise<QueueCounts[]> {
      const out: QueueCounts[] = [];
      for (const d of destinations) {
        if (only !== undefined && d.name !== only) continue;
        const c = (await sql.one<{ pending: number | null; dropped: number | null; dead: number }>(Q.counts, [d.name]))!;
        out.push({ destination: d.name, format: d.format, pending: c.pending ?? 0, dead: c.dead, dropped: c.dropped ?? 0 });
      }
      return out;
    },

    async list(filter: DeliveryFilter, limit: number, before: number): Promise<Page<Delivery>> {
      const s = listStatement(filter);
      const rows = await sql.rows<RawRow>(s.text, [before, ...s.values, limit + 1]);
      return pageOf(rows, limit, toDelivery, (last) => encodeDeliveryCursor(last.seq));
    },

    async prune(deliveredBefore: number, deadBefore: number): Promise<number> {
      let total = 0;
      for (const [status, before] of [['delivered', deliveredBefore], ['dead', deadBefore]] as const) {
        for (;;) {
          const n = await sql.run(Q.prune, [status, before]);
          total += n;
          if (n < 5000) break;
        }
      }
      return total;
    },

    abandonUnconfigured(now: number): Promise<number> {
      return transact(async (q) => {
        const orphans = await q.rows<{ seq: number; destination: string }>(Q.orphans, [names]);
        let n = 0;
        if (orphans.length > 0) {
          const queues = byteOrder(orphans.map((o) => o.destination));
          await q.rows(Q.lockQueues, [queues]);
          const dead = await q.rows<{ destination: string }>(Q.dead, [0, null, 'the destination is no longer configured', now, orphans.map((o) => o.seq)]);
          const per = new Map<string, number>();
          for (const r of dead) per.set(r.destination, (per.get(r.destination) ?? 0) + 1);
          for (const name of queues) {
            const k = per.get(name) ?? 0;
            if (k > 0) await q.run(Q.bump, [-k, 0, name]);
          }
          n = dead.length;
        }
        await q.run(Q.orphanFiring, [names]);
        return n;
      });
    },
  };
  return { store, forUnit };
}
