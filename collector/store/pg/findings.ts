// Findings on PostgreSQL: the port of store/findings.ts (the specification: same reads, same
// writes, same answers). Built over an Sql: the store builds the writes again over each unit's
// client, and the reads over the pool. The history log and the unit's rollup accumulator come
// in `deps`, built over the same Sql.
//
// What differs from SQLite: the detail column is jsonb (node-postgres hands it back parsed, so
// it is not parsed again; its keys come back in jsonb's order, the values equal); a new
// finding's seq comes from RETURNING; the list's SQL is planned as on SQLite and translated
// (pg/finding-order.ts); a purge batch is a transaction of its own with its rollups flushed in
// it. PostgreSQL text cannot hold the NUL character, so nothing stored holds one: a list whose
// text filter holds one matches nothing (SQLite would cut its pattern at the NUL). A detail
// holding an escape jsonb refuses is stored as a string of its text (pg/detail.ts).
import { severityRank, type FindingState } from '../../../proto/domain.js';
import type { Finding } from '../../finding.js';
import type { FindingFilter, FindingReads, FindingWrites, StoredFinding } from '../boundary/findings.js';
import { StoreError } from '../boundary/errors.js';
import { budgetedPage, likePattern, positionFromJson, positionOf, positionToJson, type SearchPlan } from '../finding-order.js';
import { toFinding, type FindingRowRaw } from '../finding-row.js';
import { openSealedCursor, pageOf, sealCursor } from '../paging.js';
import { postgresPage } from './finding-order.js';
import { indexable, SEARCH_TEXT } from './search-index.js';
import { detailValue, storedDetail } from './detail.js';
import type { PgHistoryLog } from './history.js';
import { createPgRollups, measureOf, readRollupCounts, type PgRollups } from './rollups.js';
import type { Sql, Transact } from './sql.js';

/** A findings row as node-postgres returns it: the jsonb detail already parsed. */
type Raw = Omit<FindingRowRaw, 'detail'> & { detail: unknown };

/** The columns of a StoredFinding, named as its fields. */
const STORED = `seq, id, node, check_id AS "checkId", subject, category, status, severity, severity_rank AS "severityRank", state,
  first_seen AS "firstSeen", last_seen AS "lastSeen", count, resolved_at AS "resolvedAt", suppressed_reason AS "suppressedReason",
  suppressed_until AS "suppressedUntil", suppressed_by AS "suppressedBy", suppressed_at AS "suppressedAt"`;

// What a unit reads of findings it is about to write, it locks (FOR UPDATE, in seq order), as
// SQLite's one writer at a time implies: a replica's unit that reads the same finding waits
// for this unit's commit and then reads what it wrote, so neither writes over the other's
// change nor moves the rollups from a state that is gone.
const BY_ID = `SELECT ${STORED} FROM findings WHERE id = $1 FOR UPDATE`;
const BY_IDS = `SELECT ${STORED} FROM findings WHERE id = ANY($1::text[]) ORDER BY seq FOR UPDATE`;
const OF_NODE = `SELECT ${STORED} FROM findings WHERE node = $1 AND state IN ('open', 'suppressed') ORDER BY seq FOR UPDATE`;
const BY_SUBJECTS = `SELECT ${STORED} FROM findings WHERE check_id = $1 AND state IN ('open', 'suppressed') AND subject = ANY($2::text[]) ORDER BY seq FOR UPDATE`;
const OF_CHECK = `SELECT ${STORED} FROM findings WHERE check_id = $1 AND state IN ('open', 'suppressed') ORDER BY seq FOR UPDATE`;
const OF_CLUSTER = `SELECT ${STORED} FROM findings WHERE scope = 'cluster' AND state IN ('open', 'suppressed') ORDER BY seq FOR UPDATE`;
const DUE = `SELECT ${STORED} FROM findings
  WHERE state = 'suppressed' AND suppressed_until IS NOT NULL AND suppressed_until <= $1 ORDER BY suppressed_until, seq LIMIT $2 FOR UPDATE`;
const NEXT_EXPIRY = "SELECT min(suppressed_until) AS at FROM findings WHERE state = 'suppressed' AND suppressed_until IS NOT NULL";
const OPEN_COUNT = "SELECT total AS n FROM node_counts WHERE state = 'open' AND node = $1";
const INSERT = `INSERT INTO findings (id, node, check_id, cis, benchmark_refs, title, category, subject, severity, severity_rank, status, state,
    scored, actual, expected, source, source_file, reason, remediation, detail, seen, first_seen, last_seen, count, resolved_at,
    suppressed_reason, suppressed_until, suppressed_by, suppressed_at, updated_at, scope)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26,
    $27, $28, $29, $30, $31)
  RETURNING seq`;
// New findings a unit was told to expect (expectNew) get their seqs taken at once (NEXT_SEQS)
// and are written together (INSERT_MANY): before anything reads or writes findings or runs a
// statement on their history (which refers to them), and before the unit commits. A batch of a
// hundred new findings is then three statements, not a hundred. Seqs taken and not used (a
// finding the node's cap refused) are gaps, which no order minds. Without the hint each is
// written at once (INSERT), as SQLite does, its seq the next.
const NEXT_SEQS = "SELECT nextval(pg_get_serial_sequence('findings', 'seq')) AS seq FROM generate_series(1, $1::int)";
const INSERT_MANY = `INSERT INTO findings (seq, id, node, check_id, cis, benchmark_refs, title, category, subject, severity, severity_rank, status,
    state, scored, actual, expected, source, source_file, reason, remediation, detail, seen, first_seen, last_seen, count, resolved_at,
    suppressed_reason, suppressed_until, suppressed_by, suppressed_at, updated_at, scope)
  SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
    $10::text[], $11::bigint[], $12::text[], $13::text[], $14::smallint[], $15::text[], $16::text[], $17::text[], $18::text[], $19::text[],
    $20::text[], $21::jsonb[], $22::text[], $23::bigint[], $24::bigint[], $25::bigint[], $26::bigint[], $27::text[], $28::bigint[],
    $29::text[], $30::bigint[], $31::bigint[], $32::text[])
  ORDER BY 1`;
// The writes nearly every change is, with only the columns they change (as on SQLite: an
// assigned indexed column costs its indexes an update even when its value stays; on
// PostgreSQL an update that changes no indexed column can also stay a heap-only tuple).
// An occurrence of a known finding (SEEN_AGAIN on SQLite), for several findings in one
// statement: a unit queues its occurrences (their rows are locked already: the unit read them
// FOR UPDATE) and writes them before anything could read them (flushPending below) and before
// it commits.
const SEEN_AGAIN = `UPDATE findings f SET cis = d.cis, benchmark_refs = d.refs, title = d.title, status = d.status, scored = d.scored,
    actual = d.actual, expected = d.expected, source = d.source, source_file = d.source_file, reason = d.reason, remediation = d.remediation,
    detail = d.detail::jsonb, seen = d.seen, last_seen = d.last_seen, count = d.count, updated_at = d.updated_at
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::smallint[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[],
    $11::text[], $12::text[], $13::text[], $14::bigint[], $15::bigint[], $16::bigint[], $17::bigint[])
    AS d (cis, refs, title, status, scored, actual, expected, source, source_file, reason, remediation, detail, seen, last_seen, count, updated_at, seq)
  WHERE f.seq = d.seq`;
const OCCURRENCE = `UPDATE findings SET cis = $1, benchmark_refs = $2, title = $3, category = $4, severity = $5, severity_rank = $6, status = $7,
    scored = $8, actual = $9, expected = $10, source = $11, source_file = $12, reason = $13, remediation = $14, detail = $15, seen = $16,
    state = $17, last_seen = $18, count = $19, resolved_at = $20, updated_at = $21
  WHERE seq = $22`;
const TRANSITION = `UPDATE findings SET state = $1, resolved_at = $2, suppressed_reason = $3, suppressed_until = $4, suppressed_by = $5,
    suppressed_at = $6, updated_at = $7
  WHERE seq = $8`;
// Any other write (none the lifecycle makes today): every column, or every lifecycle column.
const UPDATE = `UPDATE findings SET cis = $1, benchmark_refs = $2, title = $3, category = $4, status = $5, scored = $6, actual = $7,
    expected = $8, source = $9, source_file = $10, reason = $11, remediation = $12, detail = $13, seen = $14,
    severity = $15, severity_rank = $16, state = $17, first_seen = $18, last_seen = $19, count = $20, resolved_at = $21,
    suppressed_reason = $22, suppressed_until = $23, suppressed_by = $24, suppressed_at = $25, updated_at = $26
  WHERE seq = $27`;
const LIFECYCLE = `UPDATE findings SET severity = $1, severity_rank = $2, state = $3, first_seen = $4, last_seen = $5, count = $6,
    resolved_at = $7, suppressed_reason = $8, suppressed_until = $9, suppressed_by = $10, suppressed_at = $11, updated_at = $12
  WHERE seq = $13`;
const GET = 'SELECT * FROM findings WHERE id = $1';
const NODE_RESULT = `INSERT INTO node_results AS r (node, check_id, subject, status, severity, scored, evaluated_at)
  VALUES ($1, $2, $3, $4, $5, $6, $7)
  ON CONFLICT (node, check_id, subject) DO UPDATE SET status = excluded.status, severity = excluded.severity,
    scored = excluded.scored, evaluated_at = excluded.evaluated_at WHERE excluded.evaluated_at >= r.evaluated_at`;
const COMPLIANCE = `UPDATE nodes SET benchmark = $2,
    scored_pass = (SELECT count(*) FROM node_results r WHERE r.node = $1 AND r.scored = 1 AND r.status = 'pass'),
    scored_total = (SELECT count(*) FROM node_results r WHERE r.node = $1 AND r.scored = 1 AND r.status IN ('pass', 'fail')),
    failing_checks = (SELECT count(DISTINCT r.check_id) FROM node_results r WHERE r.node = $1 AND r.status = 'fail')
  WHERE name = $1`;
const REFUSED = 'UPDATE nodes SET findings_refused = findings_refused + $1 WHERE name = $2';
// As on SQLite, the finding with the largest seq stays (SQLite would reuse its rowid; the
// identity never does, but the two backends purge alike). The state is checked again on the
// row deleted: a unit that reopened the finding meanwhile commits first, and the reopened
// finding stays (the subquery's snapshot would still name it).
const PURGE_RESOLVED = `DELETE FROM findings WHERE seq IN (SELECT seq FROM findings
    WHERE state = 'resolved' AND resolved_at < $1 AND seq < (SELECT max(seq) FROM findings) ORDER BY seq LIMIT 5000)
    AND state = 'resolved' AND resolved_at < $1
  RETURNING ${STORED}`;
const PURGE_HISTORY = 'DELETE FROM finding_history WHERE seq IN (SELECT seq FROM finding_history WHERE recorded_at < $1 ORDER BY seq LIMIT 5000)';
const COUNT_BY_STATE = 'SELECT state, sum(total)::bigint AS n FROM node_counts GROUP BY state';
// In SQLite's order: the primary key's (a WITHOUT ROWID table), text by its bytes.
const TOTALS = `SELECT state, category, severity_rank AS "severityRank", sum(n)::bigint AS n FROM finding_totals
  GROUP BY state, category, severity_rank HAVING sum(n) > 0 ORDER BY state COLLATE "C", category COLLATE "C", severity_rank`;
const CURSOR_KEY = "SELECT value FROM store_secrets WHERE name = 'cursor-seal'";

/** The key that seals the list's cursors (migration 001's seed, the same as SQLite's 012): read once when the store opens. */
export async function readCursorKey(sql: Sql): Promise<Buffer> {
  const key = (await sql.one<{ value: Buffer }>(CURSOR_KEY))?.value;
  if (!key) throw new StoreError('NO_CURSOR_KEY', 'the database has no key for the findings list cursors (store_secrets)');
  return key;
}

/** A findings row as the API's Finding. */
export function toFindingPg(r: Raw): Finding {
  return { ...toFinding({ ...r, detail: '{}' }), detail: detailValue(r.detail) };
}

/** Whether a filter's text holds a character no PostgreSQL text can (so nothing stored matches it). */
function unmatchable(f: FindingFilter): boolean {
  return [f.node, f.check, f.category, f.q].some((v) => v !== undefined && v.includes('\u0000'));
}

export interface PgFindingDeps {
  /** The history log over the same Sql. */
  readonly history: PgHistoryLog;
  /** The unit's rollup accumulator (the store flushes it before the unit commits). */
  readonly rollups: PgRollups;
  /** One transaction outside a unit (a purge batch). */
  readonly transact: Transact;
  /** readCursorKey's. */
  readonly cursorKey: Buffer;
  /** The search index (pg/search-index.ts), when it is ready: how the list reads a `q` with it. */
  readonly search?: PgSearch;
}

/** How the list searches with the trigram index. */
export interface PgSearch {
  /** The most rows the index may name for a page to read and sort them all (else the order's ranges are walked). */
  readonly candidates: number;
  /** Rows a walk of the order's ranges reads for one page, at most (searchPlan's budget). */
  readonly rows: number;
}

export const PG_SEARCH: PgSearch = { candidates: 2000, rows: 8000 };

// The search index's rows for a term, at most $2 of them: fewer than that, and a page reads
// and sorts those (rechecking every filter); as many, and the page walks the order's ranges
// under a budget instead (finding-order.ts SearchPlan). The planner picks the index for a term
// its statistics think rare, and a scan that stops early for one they think common.
export const SEARCH_PROBE = `SELECT seq FROM findings WHERE ${SEARCH_TEXT} ILIKE $1 LIMIT $2`;

export function createPgFindingStore(sql: Sql, deps: PgFindingDeps): { reads: FindingReads; writes: FindingWrites; flush(): Promise<void> } {
  const { history, rollups, cursorKey } = deps;

  // The queued new findings (INSERT_MANY's parameters, a row each) and occurrences (SEEN_AGAIN's), by seq, with
  // the ids they are of: a read of one of them, a read of several findings, another write of one, or a statement on
  // the history writes the queues first, the new findings first.
  const inserts = new Map<number, unknown[]>();
  const pending = new Map<number, unknown[]>();
  const pendingIds = new Set<string>();
  /** Seqs taken for the new findings expected. */
  let ahead: number[] = [];
  async function flushInserts(): Promise<void> {
    if (inserts.size === 0) return;
    const rows = [...inserts.values()];
    inserts.clear();
    await sql.run(INSERT_MANY, rows[0]!.map((_, c) => rows.map((r) => r[c])));
  }
  async function flushPending(): Promise<void> {
    await flushInserts();
    if (pending.size > 0) {
      const rows = [...pending.values()];
      pending.clear();
      await sql.run(SEEN_AGAIN, rows[0]!.map((_, c) => rows.map((r) => r[c])));
    }
    pendingIds.clear();
  }
  // The history refers to findings by seq: a statement on it comes after the queued new findings are written (it
  // writes the history's own queue first: their first entries). A new finding's first entry is queued, no statement
  // (history.ts), and is written after them at the unit's flush. Occurrences need not wait: their rows exist.
  const historyAfterFindings: PgHistoryLog = {
    transition: async (finding, event, at, severity, now, o = {}) => {
      if (o.first !== true) await flushInserts();
      return history.transition(finding, event, at, severity, now, o);
    },
    seen: async (...a) => { await flushInserts(); return history.seen(...a); },
    list: async (...a) => { await flushInserts(); return history.list(...a); },
    flush: () => history.flush(),
  };
  const before = async <T>(read: () => Promise<T>): Promise<T> => {
    await flushPending();
    return read();
  };

  const writes: FindingWrites = {
    byId: async (id) => {
      if (pendingIds.has(id)) await flushPending();
      return sql.one<StoredFinding>(BY_ID, [id]);
    },
    byIds: async (ids) => (ids.length === 0 ? [] : before(() => sql.rows<StoredFinding>(BY_IDS, [[...ids]]))),
    activeOfNode: (node) => before(() => sql.rows<StoredFinding>(OF_NODE, [node])),
    activeBySubjects: async (checkId, subjects) => (subjects.length === 0 ? [] : before(() => sql.rows<StoredFinding>(BY_SUBJECTS, [checkId, [...subjects]]))),
    activeOfCheck: (checkId) => before(() => sql.rows<StoredFinding>(OF_CHECK, [checkId])),
    activeOfCluster: () => before(() => sql.rows<StoredFinding>(OF_CLUSTER)),
    dueSuppressions: (now, limit) => before(() => sql.rows<StoredFinding>(DUE, [now, limit])),
    openCount: async (node) => (await sql.one<{ n: number }>(OPEN_COUNT, [node]))?.n ?? 0,
    async expectNew(n) {
      const more = Math.min(Math.max(0, Math.floor(n)), 10_000) - ahead.length;
      if (more > 0) ahead = [...ahead, ...(await sql.rows<{ seq: number | string }>(NEXT_SEQS, [more])).map((r) => Number(r.seq))];
    },

    async save(before, w, now) {
      const f = w.fields;
      const category = f?.category ?? before?.category;
      const status = f?.status ?? before?.status;
      if (category === undefined || status === undefined) throw new Error(`finding ${w.id}: a new finding needs the fields of its occurrence`);
      const rank = severityRank(w.severity);
      let seq: number;
      if (!before) {
        if (!f) throw new Error(`finding ${w.id}: a new finding needs the fields of its occurrence`);
        const values = [w.id, w.node, w.checkId, f.cis, JSON.stringify(f.references), f.title, f.category, w.subject,
          w.severity, rank, f.status, w.state, f.scored ? 1 : 0, f.actual, f.expected, f.source, f.sourceFile, f.reason, f.remediation, storedDetail(f.detail),
          f.seen, w.firstSeen, w.lastSeen, w.count, w.resolvedAt, w.suppressedReason, w.suppressedUntil, w.suppressedBy, w.suppressedAt, now,
          // A cluster finding is one without a node.
          w.node === '' ? 'cluster' : 'node'];
        const taken = ahead.shift();
        if (taken === undefined) {
          seq = (await sql.one<{ seq: number }>(INSERT, values))!.seq;
        } else {
          seq = taken;
          inserts.set(seq, [seq, ...values]);
          pendingIds.add(w.id);
        }
      } else {
        seq = before.seq;
        if (pending.has(seq) || inserts.has(seq)) await flushPending();
        const sameSuppression = before.suppressedReason === w.suppressedReason && before.suppressedUntil === w.suppressedUntil
          && before.suppressedBy === w.suppressedBy && before.suppressedAt === w.suppressedAt;
        if (f && sameSuppression && before.firstSeen === w.firstSeen && before.state === w.state && before.severityRank === rank
          && before.category === f.category && before.resolvedAt === w.resolvedAt) {
          pending.set(seq, [f.cis, JSON.stringify(f.references), f.title, f.status, f.scored ? 1 : 0, f.actual, f.expected, f.source,
            f.sourceFile, f.reason, f.remediation, storedDetail(f.detail), f.seen, w.lastSeen, w.count, now, seq]);
          pendingIds.add(w.id);
        } else if (f && sameSuppression && before.firstSeen === w.firstSeen) {
          await sql.run(OCCURRENCE, [f.cis, JSON.stringify(f.references), f.title, f.category, w.severity, rank, f.status, f.scored ? 1 : 0,
            f.actual, f.expected, f.source, f.sourceFile, f.reason, f.remediation, storedDetail(f.detail), f.seen, w.state, w.lastSeen, w.count,
            w.resolvedAt, now, seq]);
        } else if (!f && before.severity === w.severity && before.firstSeen === w.firstSeen && before.lastSeen === w.lastSeen && before.count === w.count) {
          await sql.run(TRANSITION, [w.state, w.resolvedAt, w.suppressedReason, w.suppressedUntil, w.suppressedBy, w.suppressedAt, now, seq]);
        } else if (f) {
          await sql.run(UPDATE, [f.cis, JSON.stringify(f.references), f.title, f.category, f.status, f.scored ? 1 : 0, f.actual, f.expected,
            f.source, f.sourceFile, f.reason, f.remediation, storedDetail(f.detail), f.seen, w.severity, rank, w.state, w.firstSeen, w.lastSeen, w.count,
            w.resolvedAt, w.suppressedReason, w.suppressedUntil, w.suppressedBy, w.suppressedAt, now, seq]);
        } else {
          await sql.run(LIFECYCLE, [w.severity, rank, w.state, w.firstSeen, w.lastSeen, w.count, w.resolvedAt, w.suppressedReason,
            w.suppressedUntil, w.suppressedBy, w.suppressedAt, now, seq]);
        }
      }
      const after: StoredFinding = {
        seq, id: w.id, node: w.node, checkId: w.checkId, subject: w.subject, category, status, severity: w.severity, severityRank: rank, state: w.state,
        firstSeen: w.firstSeen, lastSeen: w.lastSeen, count: w.count, resolvedAt: w.resolvedAt, suppressedReason: w.suppressedReason,
        suppressedUntil: w.suppressedUntil, suppressedBy: w.suppressedBy, suppressedAt: w.suppressedAt,
      };
      rollups.move(before, after);
      return after;
    },

    async snapshot(id) {
      if (pendingIds.has(id)) await flushPending();
      const r = await sql.one<Raw>(GET, [id]);
      return r ? toFindingPg(r) : undefined;
    },
    history: historyAfterFindings,
    async nodeResult(node, r, evaluatedAt) {
      await sql.run(NODE_RESULT, [node, r.checkId, r.subject, r.status, r.severity, r.scored ? 1 : 0, evaluatedAt]);
    },
    async compliance(node, benchmark) {
      await sql.run(COMPLIANCE, [node, benchmark]);
    },
    async refused(node, n) {
      if (n > 0) await sql.run(REFUSED, [n, node]);
    },
  };

  /** Whether the index names few rows for the term (read and sort them) or many (walk, bounded). */
  async function searchPlan(q: string, search: PgSearch): Promise<SearchPlan> {
    if (!indexable(q)) return { budget: search.rows };
    const named = await sql.rowsPlannedEach<{ seq: number }>(SEARCH_PROBE, [likePattern(q), search.candidates + 1]);
    if (named.length <= search.candidates) return { among: { pin: 'seq = ANY(@named::bigint[])', params: { named: named.map((r) => r.seq) } } };
    return { budget: search.rows };
  }

  const reads: FindingReads = {
    async get(id) {
      const r = await sql.one<Raw>(GET, [id]);
      return r ? toFindingPg(r) : undefined;
    },

    async detail(id) {
      const r = await sql.one<Raw>(GET, [id]);
      return r ? { ...toFindingPg(r), history: await history.list(r.seq) } : undefined;
    },

    async list(filter, limit, how = {}) {
      if (unmatchable(filter)) return { items: [], nextCursor: null };
      // The planner's counts: node '' stands for scope=cluster (as pageQuery reads it).
      const node = filter.scope === 'cluster' ? filter.node ?? '' : filter.node;
      const measure = measureOf(await readRollupCounts(sql, { node, check: filter.check, category: filter.category }));
      let page = postgresPage(filter, limit, how, measure);
      if (page.plan === 'merged' && filter.q !== undefined && deps.search) page = postgresPage(filter, limit, how, measure, await searchPlan(filter.q, deps.search));
      const cursorOf = (last: Raw) => sealCursor(cursorKey, positionToJson(positionOf(page.sort, page.order, { ...last, detail: '' })));
      if (page.text === undefined) return { items: [], nextCursor: null };
      if (page.plan !== 'budgeted') return pageOf(await sql.rows<Raw>(page.text, page.values), limit, toFindingPg, cursorOf);
      const cut = budgetedPage(await sql.rows<Raw & { hit: number; edge: number }>(page.text, page.values), limit);
      return { items: cut.rows.map(toFindingPg), nextCursor: cut.next === undefined ? null : cursorOf(cut.next) };
    },

    openCursor(cursor) {
      return positionFromJson(openSealedCursor(cursorKey, cursor));
    },

    async countByState() {
      const out: Record<FindingState, number> = { open: 0, resolved: 0, suppressed: 0 };
      for (const r of await sql.rows<{ state: FindingState; n: number }>(COUNT_BY_STATE)) out[r.state] = r.n;
      return out;
    },

    totals: () => sql.rows<{ state: FindingState; category: string; severityRank: number; n: number }>(TOTALS),

    async nextSuppressionExpiry() {
      return (await sql.one<{ at: number | null }>(NEXT_EXPIRY))?.at ?? undefined;
    },

    async purgeResolved(olderThan) {
      let total = 0;
      for (;;) {
        const n = await deps.transact(async (tx) => {
          const gone = await tx.rows<StoredFinding>(PURGE_RESOLVED, [olderThan]);
          const moved = createPgRollups();
          for (const g of gone) moved.move(g, undefined);
          await moved.flush(tx);
          return gone.length;
        });
        total += n;
        if (n < 5000) return total;
      }
    },

    async purgeHistory(olderThan) {
      let total = 0;
      for (;;) {
        const n = await sql.run(PURGE_HISTORY, [olderThan]);
        total += n;
        if (n < 5000) return total;
      }
    },
  };

  // What the unit queued: its new findings and occurrences, then its history's first entries.
  const flush = async (): Promise<void> => {
    await flushPending();
    await history.flush();
  };
  return { reads, writes, flush };
}
