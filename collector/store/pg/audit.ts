// The audit log on PostgreSQL: the implementation of AuditLog (boundary/audit.ts) over `Sql`.
// The SQLite one (store/audit.ts) is the specification, aggregation of anonymous refusals
// included: one row per source, action, reason and window, written at the first refusal, its
// count and last time held in memory (per collector: each replica aggregates what it refuses,
// in rows of its own) and written by a refusal `flushMs` after the last write, at the end of
// a window, by `flush` (the sweeper's tick) and at close; `list` merges the counts not yet
// written into what it returns and writes nothing.
//
// What the network changes:
//   - `refusal` stays synchronous (the API calls it as a response leaves): it folds the refusal
//     in memory and starts the write it needs without waiting for it;
//   - the collector's audit writes run one after another, in the order they were asked for, so
//     rows get their ids in that order (as in SQLite) and an older count never overwrites a
//     newer one;
//   - a write started by `refusal` that fails is not lost silently: the failures are counted
//     and thrown, once, as a StoreError AUDIT_WRITE_FAILED by the next `refusal` (after it has
//     folded its own refusal in) or `flush`, whichever comes first. That is where SQLite's
//     synchronous write would have thrown, so the API counts and logs it the same way
//     (nodeward_audit_failures_total, "audit record not written"). The error names how many
//     writes failed and the SQLSTATE or system codes, never a driver's message, which may
//     quote a connection string;
//   - a refusal whose row could not be written is forgotten (the next one from its source
//     writes a row again), as SQLite forgets one whose insert threw;
//   - `list` first waits for the writes already started, so a collector reads its own
//     refusals at once, as with SQLite.
import { StoreError } from '../boundary/errors.js';
import {
  encodeAuditCursor, OTHER_SOURCES, REFUSAL_AGGREGATION, type AuditFilter, type AuditLog, type AuditRecord, type AuditRow, type RefusalRecord,
} from '../boundary/audit.js';
import { pageOf, type Page } from '../paging.js';
import { isoTime } from '../time.js';
import type { Sql, Transact } from './sql.js';

interface RawAudit {
  seq: number; at: number; actor: string; role: string; action: string; target: string; detail: string; status: number; remote: string;
  count: number; last_at: number;
}

/** A source's refusals in a window; `seq` once its row is written. */
interface Aggregate { seq: number | undefined; count: number; written: number; last: number }

const INSERT = `INSERT INTO audit_log (at, actor, role, action, target, detail, status, remote, count, last_at)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $1) RETURNING seq`;
/** Each row's count and last time, in one statement: $1 seqs, $2 counts, $3 last times. */
const WRITE_COUNTS = `UPDATE audit_log a SET count = v.count, last_at = v.last
  FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS v(seq, count, last) WHERE a.seq = v.seq`;
const PURGE_BATCH = 5000;
const PURGE = `DELETE FROM audit_log WHERE seq IN (SELECT seq FROM audit_log WHERE at < $1 LIMIT ${PURGE_BATCH})`;

/** What identifies a failure without its message: the SQLSTATE, or Node's system code. */
const codeOf = (err: unknown): string => {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[A-Z0-9_]{1,32}$/.test(code) ? code : 'unknown';
};

/**
 * `transact` is taken for the composition's sake (every sub-store with writes that belong
 * together gets one) but not used: each write here is one statement.
 */
export function createPgAuditLog(sql: Sql, transact: Transact, aggregation: { windowMs: number; maxSourcesPerWindow: number; flushMs: number } = REFUSAL_AGGREGATION): AuditLog {
  void transact;
  // The current window's aggregated refusals, by action, reason and source.
  let window = Number.NaN;
  const open = new Map<string, Aggregate>();
  let sources = 0;
  let flushedAt = Number.NEGATIVE_INFINITY;
  /** Aggregates of ended windows whose last counts are not written yet. */
  const ended = new Set<Aggregate>();

  // The collector's audit writes, one after another.
  let queue: Promise<unknown> = Promise.resolve();
  function inTurn<T>(work: () => Promise<T>): Promise<T> {
    const run = queue.then(work);
    queue = run.catch(() => undefined);
    return run;
  }

  // Writes started without a caller to wait for them, that failed, not yet reported.
  let failed = 0;
  const codes = new Set<string>();
  function inBackground(work: () => Promise<void>): void {
    inTurn(work).catch((err: unknown) => {
      failed++;
      if (codes.size < 8) codes.add(codeOf(err));
    });
  }
  function reportFailures(): void {
    if (failed === 0) return;
    const n = failed;
    const list = [...codes].join(', ');
    failed = 0;
    codes.clear();
    throw new StoreError('AUDIT_WRITE_FAILED', `${n} write${n === 1 ? '' : 's'} of refused calls' audit records failed (${list})`);
  }

  /**
   * Writes the counts gathered in memory since the last write, as they are now (so the rows
   * hold what SQLite's would, whenever the write gets its turn), in one statement. A row still
   * being inserted gets its turn first; one whose insert failed is left out.
   */
  function writeCounts(): () => Promise<void> {
    const taken = [...open.values(), ...ended].filter((a) => a.written !== a.count).map((a) => ({ a, count: a.count, last: a.last }));
    return async () => {
      const rows = taken.filter((d) => d.a.seq !== undefined);
      if (rows.length > 0) {
        await sql.run(WRITE_COUNTS, [rows.map((d) => d.a.seq), rows.map((d) => d.count), rows.map((d) => d.last)]);
        for (const d of rows) d.a.written = Math.max(d.a.written, d.count);
      }
      for (const a of ended) if (a.seq === undefined || a.written === a.count) ended.delete(a);
    };
  }

  const insert = async (r: AuditRecord | (Omit<AuditRecord, 'detail'> & { detail: Record<string, unknown> })): Promise<number> =>
    (await sql.one<{ seq: number }>(INSERT, [r.at, r.actor, r.role, r.action, r.target, JSON.stringify(r.detail), r.status, r.remote]))!.seq;

  return {
    async record(r: AuditRecord): Promise<void> {
      await inTurn(() => insert(r));
    },
    /** One anonymous refusal, folded into its source's row for the window (see above). */
    refusal(r: RefusalRecord): void {
      const w = Math.floor(r.at / aggregation.windowMs);
      if (w !== window) {
        for (const a of open.values()) ended.add(a);
        flushedAt = r.at;
        inBackground(writeCounts());
        open.clear();
        sources = 0;
        window = w;
      }
      let remote = r.remote;
      let key = `${r.action}\n${r.reason}\n${remote}`;
      let a = open.get(key);
      if (!a && sources >= aggregation.maxSourcesPerWindow) {
        remote = OTHER_SOURCES;
        key = `${r.action}\n${r.reason}\n${remote}`;
        a = open.get(key);
      }
      if (!a) {
        // Written once inserted: the insert carries the first refusal.
        const created: Aggregate = { seq: undefined, count: 1, written: 1, last: r.at };
        open.set(key, created);
        const counted = remote !== OTHER_SOURCES;
        if (counted) sources++;
        inBackground(async () => {
          try {
            created.seq = await insert({
              at: r.at, actor: '', role: '', action: r.action, target: '', detail: { outcome: 'refused', reason: r.reason }, status: r.status, remote,
            });
          } catch (err) {
            // Forgotten, as SQLite forgets a refusal whose insert threw; the next one writes a row again.
            if (open.get(key) === created) {
              open.delete(key);
              if (counted) sources--;
            }
            ended.delete(created);
            throw err;
          }
        });
      } else {
        a.count++;
        a.last = Math.max(a.last, r.at);
        if (r.at - flushedAt >= aggregation.flushMs) {
          flushedAt = r.at;
          inBackground(writeCounts());
        }
      }
      reportFailures();
    },
    async flush(now?: number): Promise<void> {
      flushedAt = now ?? flushedAt;
      await inTurn(writeCounts());
      reportFailures();
    },
    /** Newest first; the cursor continues towards older records. */
    async list(filter: AuditFilter, limit: number, before: number): Promise<Page<AuditRow>> {
      // This collector's writes already started land first: it reads its own refusals at once.
      await queue;
      const params: unknown[] = [];
      const bind = (v: unknown): string => {
        params.push(v);
        return `$${params.length}`;
      };
      const where = [`seq < ${bind(before)}`];
      if (filter.actor !== undefined) where.push(`actor = ${bind(filter.actor)}`);
      if (filter.action !== undefined) where.push(`action = ${bind(filter.action)}`);
      if (filter.target !== undefined) where.push(`target = ${bind(filter.target)}`);
      if (filter.since !== undefined) where.push(`at >= ${bind(filter.since)}`);
      const text = `SELECT * FROM audit_log WHERE ${where.join(' AND ')} ORDER BY seq DESC LIMIT ${bind(limit + 1)}`;
      const rows = await sql.rows<RawAudit>(text, params);
      // The counts not written yet, by row: merged into what the read returns, not written.
      const buffered = new Map<number, Aggregate>();
      for (const a of [...open.values(), ...ended]) if (a.seq !== undefined && a.written !== a.count) buffered.set(a.seq, a);
      return pageOf(rows, limit, (r): AuditRow => {
        const a = buffered.get(r.seq);
        const count = a ? a.count : r.count;
        const last = a ? Math.max(a.last, r.last_at) : r.last_at;
        return {
          id: r.seq, at: isoTime(r.at), actor: r.actor, role: r.role, action: r.action, target: r.target,
          detail: JSON.parse(r.detail) as Record<string, unknown>, status: r.status, remote: r.remote,
          count, lastAt: isoTime(Math.max(r.at, last)),
        };
      }, (last) => encodeAuditCursor(last.seq));
    },
    async purge(olderThan: number): Promise<number> {
      let total = 0;
      for (;;) {
        const n = await sql.run(PURGE, [olderThan]);
        total += n;
        if (n < PURGE_BATCH) return total;
      }
    },
  };
}
