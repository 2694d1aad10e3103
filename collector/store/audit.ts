// The audit log: every API call that changes something (or tried to), who made it, when,
// and how it ended. Append-only from the API; purged by age.
//
// Refusals of callers nobody authenticated (a bad bearer token, a refused dashboard login)
// cost anyone nothing to make, so they are not one row each: one row per source, action,
// reason and window (REFUSAL_AGGREGATION.windowMs) carries how many there were and the first
// and last time. A window holds rows for at most `maxSourcesPerWindow` sources; refusals from
// further sources fold into one row per action and reason whose source is OTHER_SOURCES. So a
// flood, from one address or from many, costs a bounded number of rows per window. The row is
// written at the first refusal; its count and last time follow in memory and are written by
// the writers, never by a read:
//   - a refusal writes the counts gathered since the last write once `flushMs` has passed
//     (and all of them when its window ends);
//   - `flush` writes them: the sweeper calls it every tick (maintenance.intervalSeconds, 30 s by
//     default), and the store at close.
// So the database lags a flood's end by at most one sweep interval. A read does not wait for
// that: `list` merges the counts held in memory into the rows it returns, so the collector's
// own readers see every refusal at once, and the read writes nothing (reads never write).
import type { Synchronous } from './synchronous.js';
import type { Db } from './db.js';
import { pageOf, type Page } from './paging.js';
import { isoTime } from './time.js';
import {
  encodeAuditCursor, OTHER_SOURCES, REFUSAL_AGGREGATION, type AuditFilter, type AuditLog, type AuditRecord, type AuditRow, type RefusalRecord,
} from './boundary/audit.js';

interface RawAudit {
  seq: number; at: number; actor: string; role: string; action: string; target: string; detail: string; status: number; remote: string;
  count: number; last_at: number;
}

interface Aggregate { readonly seq: number; count: number; written: number; last: number }

export function createAuditLog(db: Db, aggregation: { windowMs: number; maxSourcesPerWindow: number; flushMs: number } = REFUSAL_AGGREGATION): Synchronous<AuditLog> {
  const s = {
    insert: db.prepare(`INSERT INTO audit_log (at, actor, role, action, target, detail, status, remote, count, last_at)
      VALUES (@at, @actor, @role, @action, @target, @detail, @status, @remote, @count, @at)`),
    aggregate: db.prepare('UPDATE audit_log SET count = ?, last_at = ? WHERE seq = ?'),
    purge: db.prepare('DELETE FROM audit_log WHERE seq IN (SELECT seq FROM audit_log WHERE at < ? LIMIT 5000)'),
  };
  const listStatements = new Map<string, ReturnType<typeof db.prepare<Record<string, unknown>, RawAudit>>>();

  // The current window's aggregated refusals, by action, reason and source.
  let window = Number.NaN;
  const open = new Map<string, Aggregate>();
  let sources = 0;
  let flushedAt = Number.NEGATIVE_INFINITY;

  /** Writes the counts gathered in memory since the last flush; one transaction. */
  const flush = (at: number): void => {
    flushedAt = at;
    const dirty = [...open.values()].filter((a) => a.written !== a.count);
    if (dirty.length === 0 || !db.open) return;
    db.transaction(() => {
      for (const a of dirty) {
        s.aggregate.run(a.count, a.last, a.seq);
        a.written = a.count;
      }
    })();
  };

  return {
    record(r: AuditRecord): void {
      s.insert.run({ ...r, detail: JSON.stringify(r.detail), count: 1 });
    },
    /** One anonymous refusal, folded into its source's row for the window (see above). */
    refusal(r: RefusalRecord): void {
      const w = Math.floor(r.at / aggregation.windowMs);
      if (w !== window) {
        flush(r.at);
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
        const seq = Number(s.insert.run({
          at: r.at, actor: '', role: '', action: r.action, target: '', detail: JSON.stringify({ outcome: 'refused', reason: r.reason }),
          status: r.status, remote, count: 1,
        }).lastInsertRowid);
        open.set(key, { seq, count: 1, written: 1, last: r.at });
        if (remote !== OTHER_SOURCES) sources++;
        return;
      }
      a.count++;
      a.last = Math.max(a.last, r.at);
      if (r.at - flushedAt >= aggregation.flushMs) flush(r.at);
    },
    /**
     * Writes aggregated counts not yet written: the sweeper's tick (`now`: its time, from which
     * the next `flushMs` is counted), and the store at close.
     */
    flush(now?: number): void {
      flush(now ?? flushedAt);
    },
    /** Newest first; the cursor continues towards older records. */
    list(filter: AuditFilter, limit: number, before: number): Page<AuditRow> {
      const where = ['seq < @before'];
      const params: Record<string, unknown> = { before, limit: limit + 1 };
      if (filter.actor !== undefined) { where.push('actor = @actor'); params.actor = filter.actor; }
      if (filter.action !== undefined) { where.push('action = @action'); params.action = filter.action; }
      if (filter.target !== undefined) { where.push('target = @target'); params.target = filter.target; }
      if (filter.since !== undefined) { where.push('at >= @since'); params.since = filter.since; }
      const sql = `SELECT * FROM audit_log WHERE ${where.join(' AND ')} ORDER BY seq DESC LIMIT @limit`;
      let stmt = listStatements.get(sql);
      if (!stmt) listStatements.set(sql, (stmt = db.prepare<Record<string, unknown>, RawAudit>(sql)));
      // The counts not written yet, by row: merged into what the read returns, not written.
      const buffered = new Map<number, Aggregate>();
      for (const a of open.values()) if (a.written !== a.count) buffered.set(a.seq, a);
      return pageOf(stmt.all(params), limit, (r): AuditRow => {
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
    purge(olderThan: number): number {
      let total = 0;
      for (;;) {
        const n = s.purge.run(olderThan).changes;
        total += n;
        if (n < 5000) return total;
      }
    },
  };
}
