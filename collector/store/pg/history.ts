// The finding history on PostgreSQL: the port of store/history.ts, with the same rules.
// Lifecycle transitions get an entry each; plain occurrences fold into one 'seen' entry per
// hour; the newest `limit` entries of a finding are kept. Built over an Sql, so the unit's
// writes run in its transaction and the API's reads on any pooled connection.
//
// Two replicas folding into the same entry at once: `seen` reads the latest entry and updates
// it in one statement; the commit stage has already written the finding's row in the same unit, and
// that row lock orders the two units, so the second reads the first's entry after it commits.
import type { HistoryEntry, HistoryEvent } from '../../finding.js';
import type { HistoryWrites } from '../boundary/findings.js';
import { SEEN_BUCKET_MS } from '../history.js';
import { isoTime } from '../time.js';
import type { Sql } from './sql.js';

interface RawEntry {
  seq: number; event: HistoryEvent; at: number; last_at: number; occurrences: number; severity: string; note: string;
}

const INSERT = `INSERT INTO finding_history (finding_seq, event, at, last_at, occurrences, severity, note, recorded_at)
  VALUES ($1, $2, $3, $3, $4, $5, $6, $7)`;
const FOLD = `UPDATE finding_history SET occurrences = occurrences + $1, last_at = greatest(last_at, $2), at = least(at, $2),
  severity = $3, recorded_at = $4 WHERE seq = $5`;
const TRIM = `DELETE FROM finding_history WHERE finding_seq = $1 AND seq <=
  (SELECT seq FROM finding_history WHERE finding_seq = $1 ORDER BY seq DESC LIMIT 1 OFFSET $2)`;
// A 'seen' in one statement (one round trip instead of two or three): the latest entry folds
// the occurrence when it is a 'seen' of the same hour, else a new 'seen' is inserted and the
// finding's oldest entries past the limit go. The DELETE does not see the row the INSERT adds
// (one snapshot), so it keeps `limit - 1` of the others: TRIM's count, the new entry included.
const SEEN = `WITH last AS (SELECT seq, event, at FROM finding_history WHERE finding_seq = $1 ORDER BY seq DESC LIMIT 1),
  fold AS (UPDATE finding_history h SET occurrences = h.occurrences + $3, last_at = greatest(h.last_at, $2::bigint),
      at = least(h.at, $2::bigint), severity = $4, recorded_at = $5
    FROM last WHERE h.seq = last.seq AND last.event = 'seen' AND abs($2::bigint - last.at) < $6::bigint RETURNING h.seq),
  added AS (INSERT INTO finding_history (finding_seq, event, at, last_at, occurrences, severity, note, recorded_at)
    SELECT $1, 'seen', $2, $2, $3, $4, '', $5 WHERE NOT EXISTS (SELECT 1 FROM fold) RETURNING seq)
DELETE FROM finding_history WHERE EXISTS (SELECT 1 FROM added) AND finding_seq = $1 AND seq <=
  (SELECT seq FROM finding_history WHERE finding_seq = $1 ORDER BY seq DESC LIMIT 1 OFFSET $7::int - 1)`;
// A new finding's first entries, queued by the unit and written in one statement, in the
// order they were made (the identity numbers them in the SELECT's order).
const INSERT_MANY = `INSERT INTO finding_history (finding_seq, event, at, last_at, occurrences, severity, note, recorded_at)
  SELECT finding_seq, event, at, at, occurrences, severity, note, recorded_at
  FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::bigint[], $5::text[], $6::text[], $7::bigint[]) WITH ORDINALITY
    AS d (finding_seq, event, at, occurrences, severity, note, recorded_at, n)
  ORDER BY n`;
const LIST = 'SELECT seq, event, at, last_at, occurrences, severity, note FROM finding_history WHERE finding_seq = $1 ORDER BY seq DESC LIMIT $2';

export interface PgHistoryLog extends HistoryWrites {
  /** Newest first. */
  list(finding: number, limit?: number): Promise<HistoryEntry[]>;
  /** Writes the entries queued (a new finding's first), as the unit ends or before any other history statement. */
  flush(): Promise<void>;
}

/**
 * Entries are keyed by the finding's seq. A new finding's first entry (`first`, which trims
 * nothing) is queued rather than written at once: the unit writes its queue in one statement,
 * before any other statement on finding_history and before it commits, so every statement
 * sees the entries written before it, in their order.
 */
export function createPgHistoryLog(sql: Sql, opts: { limit: number }): PgHistoryLog {
  let queued: unknown[][] = [];

  async function flush(): Promise<void> {
    if (queued.length === 0) return;
    const rows = queued;
    queued = [];
    await sql.run(INSERT_MANY, rows[0]!.map((_, c) => rows.map((r) => r[c])));
  }

  async function insert(finding: number, event: HistoryEvent, at: number, occurrences: number, severity: string, note: string, now: number, trim: boolean): Promise<void> {
    if (!trim) {
      queued.push([finding, event, at, occurrences, severity, note, now]);
      return;
    }
    await flush();
    await sql.run(INSERT, [finding, event, at, occurrences, severity, note, now]);
    await sql.run(TRIM, [finding, opts.limit]);
  }

  return {
    async transition(finding, event, at, severity, now, o = {}) {
      await insert(finding, event, at, o.occurrences ?? 0, severity, o.note ?? '', now, o.first !== true);
    },
    async seen(finding, observedAt, occurrences, severity, now) {
      await flush();
      await sql.run(SEEN, [finding, observedAt, occurrences, severity, now, SEEN_BUCKET_MS, opts.limit]);
    },
    async list(finding, limit = opts.limit) {
      await flush();
      const rows = await sql.rows<RawEntry>(LIST, [finding, limit]);
      return rows.map((r) => ({
        event: r.event, at: isoTime(r.at), lastAt: isoTime(r.last_at), occurrences: r.occurrences, severity: r.severity, note: r.note,
      }));
    },
    flush,
  };
}
