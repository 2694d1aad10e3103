// The finding history on PostgreSQL: the port of store/history.ts, with the same rules.
// Lifecycle transitions get an entry each; plain occurrences fold into one 'seen' entry per
// hour; the newest `limit` entries of a finding are kept. Built over an Sql, so the unit's
// writes run in its transaction and the API's reads on any pooled connection.
//
// Two replicas folding into the same entry at once: `seen` reads the latest entry, then
// updates it; the commit stage has already written the finding's row in the same unit, and
// that row lock orders the two units, so the second reads the first's entry after it commits.
import type { HistoryEntry, HistoryEvent } from '../../finding.js';
import type { HistoryWrites } from '../boundary/findings.js';
import { SEEN_BUCKET_MS } from '../history.js';
import { isoTime } from '../time.js';
import type { Sql } from './sql.js';

interface RawEntry {
  seq: number; event: HistoryEvent; at: number; last_at: number; occurrences: number; severity: string; note: string;
}

const LAST = 'SELECT seq, event, at FROM finding_history WHERE finding_seq = $1 ORDER BY seq DESC LIMIT 1';
const INSERT = `INSERT INTO finding_history (finding_seq, event, at, last_at, occurrences, severity, note, recorded_at)
  VALUES ($1, $2, $3, $3, $4, $5, $6, $7)`;
const FOLD = `UPDATE finding_history SET occurrences = occurrences + $1, last_at = greatest(last_at, $2), at = least(at, $2),
  severity = $3, recorded_at = $4 WHERE seq = $5`;
const TRIM = `DELETE FROM finding_history WHERE finding_seq = $1 AND seq <=
  (SELECT seq FROM finding_history WHERE finding_seq = $1 ORDER BY seq DESC LIMIT 1 OFFSET $2)`;
const LIST = 'SELECT seq, event, at, last_at, occurrences, severity, note FROM finding_history WHERE finding_seq = $1 ORDER BY seq DESC LIMIT $2';

export interface PgHistoryLog extends HistoryWrites {
  /** Newest first. */
  list(finding: number, limit?: number): Promise<HistoryEntry[]>;
}

/** Entries are keyed by the finding's seq. */
export function createPgHistoryLog(sql: Sql, opts: { limit: number }): PgHistoryLog {
  async function insert(finding: number, event: HistoryEvent, at: number, occurrences: number, severity: string, note: string, now: number, trim: boolean): Promise<void> {
    await sql.run(INSERT, [finding, event, at, occurrences, severity, note, now]);
    if (trim) await sql.run(TRIM, [finding, opts.limit]);
  }

  return {
    async transition(finding, event, at, severity, now, o = {}) {
      await insert(finding, event, at, o.occurrences ?? 0, severity, o.note ?? '', now, o.first !== true);
    },
    async seen(finding, observedAt, occurrences, severity, now) {
      const last = await sql.one<Pick<RawEntry, 'seq' | 'event' | 'at'>>(LAST, [finding]);
      if (last && last.event === 'seen' && Math.abs(observedAt - last.at) < SEEN_BUCKET_MS) {
        await sql.run(FOLD, [occurrences, observedAt, severity, now, last.seq]);
        return;
      }
      await insert(finding, 'seen', observedAt, occurrences, severity, '', now, true);
    },
    async list(finding, limit = opts.limit) {
      const rows = await sql.rows<RawEntry>(LIST, [finding, limit]);
      return rows.map((r) => ({
        event: r.event, at: isoTime(r.at), lastAt: isoTime(r.last_at), occurrences: r.occurrences, severity: r.severity, note: r.note,
      }));
    },
  };
}
