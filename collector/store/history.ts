// A bounded log per finding. Lifecycle transitions get an entry each; plain occurrences
// are folded into one 'seen' entry per hour, so a finding that fails on every scan for a
// month costs hundreds of rows, not thousands. The newest `limit` entries are kept.
import type { Db } from './db.js';
import type { HistoryEntry, HistoryEvent } from '../finding.js';
import { isoTime } from './time.js';

/** Occurrences observed within this span of the entry's first one fold into it. */
export const SEEN_BUCKET_MS = 3600_000;

interface RawEntry {
  seq: number; event: HistoryEvent; at: number; last_at: number; occurrences: number; severity: string; note: string;
}

/** Entries are keyed by the finding's seq (its row number in findings). */
export function createHistoryLog(db: Db, opts: { limit: number }) {
  const s = {
    last: db.prepare<[number], RawEntry>('SELECT * FROM finding_history WHERE finding_seq = ? ORDER BY seq DESC LIMIT 1'),
    insert: db.prepare(`INSERT INTO finding_history (finding_seq, event, at, last_at, occurrences, severity, note, recorded_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
    fold: db.prepare(`UPDATE finding_history SET occurrences = occurrences + ?, last_at = max(last_at, ?), at = min(at, ?),
      severity = ?, recorded_at = ? WHERE seq = ?`),
    trim: db.prepare(`DELETE FROM finding_history WHERE finding_seq = ? AND seq <=
      (SELECT seq FROM finding_history WHERE finding_seq = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)`),
    list: db.prepare<[number, number], RawEntry>('SELECT * FROM finding_history WHERE finding_seq = ? ORDER BY seq DESC LIMIT ?'),
  };

  function insert(finding: number, event: HistoryEvent, at: number, occurrences: number, severity: string, note: string, now: number, trim = true): void {
    s.insert.run(finding, event, at, at, occurrences, severity, note, now);
    if (trim) s.trim.run(finding, finding, opts.limit);
  }

  return {
    /** A transition: always its own entry. `first`: the finding is new, so there is nothing to trim. */
    transition(finding: number, event: Exclude<HistoryEvent, 'seen'>, at: number, severity: string, now: number, opts2: { occurrences?: number; note?: string; first?: boolean } = {}): void {
      insert(finding, event, at, opts2.occurrences ?? 0, severity, opts2.note ?? '', now, opts2.first !== true);
    },
    /** An occurrence without a transition: folded into the latest 'seen' entry of the same hour. */
    seen(finding: number, observedAt: number, occurrences: number, severity: string, now: number): void {
      const last = s.last.get(finding);
      if (last && last.event === 'seen' && Math.abs(observedAt - last.at) < SEEN_BUCKET_MS) {
        s.fold.run(occurrences, observedAt, observedAt, severity, now, last.seq);
        return;
      }
      insert(finding, 'seen', observedAt, occurrences, severity, '', now);
    },
    /** Newest first. */
    list(finding: number, limit = opts.limit): HistoryEntry[] {
      return s.list.all(finding, limit).map((r) => ({
        event: r.event, at: isoTime(r.at), lastAt: isoTime(r.last_at),
        occurrences: r.occurrences, severity: r.severity, note: r.note,
      }));
    },
  };
}

export type HistoryLog = ReturnType<typeof createHistoryLog>;
