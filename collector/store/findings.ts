// Findings: the rows of the findings table with what is kept alongside them (the history
// log, the rollups, the latest result per check and subject), the reads the API makes, and
// the writes a unit of work makes. What a change means (open, resolve, reopen, escalate,
// suppress, expire) is not decided here: pipeline/lifecycle.ts decides it, and the commit
// stage (pipeline/commit.ts) writes what it decided through `FindingWrites`.
import type { Synchronous } from './synchronous.js';
import { severityRank, type FindingState } from '../../proto/domain.js';
import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';
import { StoreError } from './boundary/errors.js';
import { toFinding, type FindingRowRaw } from './finding-row.js';
import type { HistoryLog } from './history.js';
import { pageQuery, positionFromJson, positionOf, positionToJson } from './finding-order.js';
import { openSealedCursor, pageOf, sealCursor } from './paging.js';
import { createRollupCounts, type Rollups } from './rollups.js';
import type { FindingFields, FindingReads, FindingWrites, StoredFinding } from './boundary/findings.js';

type Raw = FindingRowRaw;

/** The columns of a StoredFinding, named as its fields (the rows come back as StoredFindings). */
const STORED = `seq, id, node, check_id AS checkId, subject, category, status, severity, severity_rank AS severityRank, state,
  first_seen AS firstSeen, last_seen AS lastSeen, count, resolved_at AS resolvedAt, suppressed_reason AS suppressedReason,
  suppressed_until AS suppressedUntil, suppressed_by AS suppressedBy, suppressed_at AS suppressedAt`;

export function createFindingStore(db: Db, deps: { history: HistoryLog; rollups: Rollups; unit: <T>(work: () => T) => T }): { reads: Synchronous<FindingReads>; writes: Synchronous<FindingWrites> } {
  const { history, rollups } = deps;
  const s = {
    byId: db.prepare<[string], StoredFinding>(`SELECT ${STORED} FROM findings WHERE id = ?`),
    byIds: db.prepare<[string], StoredFinding>(`SELECT ${STORED} FROM findings WHERE id IN (SELECT value FROM json_each(?))`),
    ofNode: db.prepare<[string], StoredFinding>(`SELECT ${STORED} FROM findings WHERE node = ? AND state IN ('open', 'suppressed')`),
    // Walks the (check_id, state) index; the subjects are checked per row.
    bySubjects: db.prepare<[string, string], StoredFinding>(`SELECT ${STORED} FROM findings
      WHERE check_id = ? AND state IN ('open', 'suppressed') AND subject IN (SELECT value FROM json_each(?))`),
    ofCheck: db.prepare<[string], StoredFinding>(`SELECT ${STORED} FROM findings WHERE check_id = ? AND state IN ('open', 'suppressed')`),
    ofCluster: db.prepare<[], StoredFinding>(`SELECT ${STORED} FROM findings WHERE scope = 'cluster' AND state IN ('open', 'suppressed')`),
    due: db.prepare<[number, number], StoredFinding>(`SELECT ${STORED} FROM findings
      WHERE state = 'suppressed' AND suppressed_until IS NOT NULL AND suppressed_until <= ? ORDER BY suppressed_until LIMIT ?`),
    nextExpiry: db.prepare<[], { at: number | null }>(`SELECT min(suppressed_until) AS at FROM findings
      WHERE state = 'suppressed' AND suppressed_until IS NOT NULL`),
    // From the per-node rollup (migration 002): no count of rows.
    openCount: db.prepare<[string], { n: number }>("SELECT total AS n FROM node_counts WHERE state = 'open' AND node = ?"),
    // Positional parameters: binding them is cheaper than by name, and these run once per finding.
    insert: db.prepare<[string, string, string, string, string, string, string, string, string, number, string, string, number, string, string, string,
      string, string, string, string, string, number, number, number, number | null, string | null, number | null, string | null, number | null, number, string]>(
      `INSERT INTO findings (id, node, check_id, cis, benchmark_refs, title, category, subject, severity, severity_rank, status, state,
        scored, actual, expected, source, source_file, reason, remediation, detail, seen, first_seen, last_seen, count, resolved_at,
        suppressed_reason, suppressed_until, suppressed_by, suppressed_at, updated_at, scope)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    // The writes nearly every change is, with only the columns they change (an assigned
    // column costs each index holding it a delete and an insert even when its value stays):
    // an occurrence that leaves the indexed columns as they were (a finding seen again: only
    // the order by last seen moves), any other occurrence, and a transition without one (a
    // resolution, a suppression and its end).
    seenAgain: db.prepare<[string, string, string, string, number, string, string, string, string, string, string, string, string, number, number, number, number]>(
      `UPDATE findings SET cis = ?, benchmark_refs = ?, title = ?, status = ?, scored = ?, actual = ?, expected = ?, source = ?, source_file = ?,
        reason = ?, remediation = ?, detail = ?, seen = ?, last_seen = ?, count = ?, updated_at = ?
      WHERE seq = ?`),
    occurrence: db.prepare<[string, string, string, string, string, number, string, number, string, string, string, string, string, string, string, string,
      string, number, number, number | null, number, number]>(`UPDATE findings SET cis = ?, benchmark_refs = ?, title = ?, category = ?, severity = ?,
        severity_rank = ?, status = ?, scored = ?, actual = ?, expected = ?, source = ?, source_file = ?, reason = ?, remediation = ?,
        detail = ?, seen = ?, state = ?, last_seen = ?, count = ?, resolved_at = ?, updated_at = ?
      WHERE seq = ?`),
    transition: db.prepare<[string, number | null, string | null, number | null, string | null, number | null, number, number]>(`UPDATE findings
      SET state = ?, resolved_at = ?, suppressed_reason = ?, suppressed_until = ?, suppressed_by = ?, suppressed_at = ?, updated_at = ?
      WHERE seq = ?`),
    // Any other write (none the lifecycle makes today): every column.
    update: db.prepare(`UPDATE findings SET cis = @cis, benchmark_refs = @references, title = @title, category = @category, severity = @severity,
        severity_rank = @severityRank, status = @status, scored = @scored, actual = @actual, expected = @expected,
        source = @source, source_file = @sourceFile, reason = @reason, remediation = @remediation, detail = @detail, seen = @seen,
        state = @state, first_seen = @firstSeen, last_seen = @lastSeen, count = @count, resolved_at = @resolvedAt,
        suppressed_reason = @suppressedReason, suppressed_until = @suppressedUntil, suppressed_by = @suppressedBy,
        suppressed_at = @suppressedAt, updated_at = @now
      WHERE seq = @seq`),
    lifecycle: db.prepare(`UPDATE findings SET severity = @severity, severity_rank = @severityRank, state = @state,
        first_seen = @firstSeen, last_seen = @lastSeen, count = @count, resolved_at = @resolvedAt,
        suppressed_reason = @suppressedReason, suppressed_until = @suppressedUntil, suppressed_by = @suppressedBy,
        suppressed_at = @suppressedAt, updated_at = @now
      WHERE seq = @seq`),
    get: db.prepare<[string], Raw>('SELECT * FROM findings WHERE id = ?'),
    nodeResult: db.prepare(`INSERT INTO node_results (node, check_id, subject, status, severity, scored, evaluated_at)
      VALUES (?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (node, check_id, subject) DO UPDATE SET status = excluded.status, severity = excluded.severity,
        scored = excluded.scored, evaluated_at = excluded.evaluated_at WHERE excluded.evaluated_at >= node_results.evaluated_at`),
    compliance: db.prepare(`UPDATE nodes SET benchmark = @benchmark,
        scored_pass = (SELECT count(*) FROM node_results r WHERE r.node = @node AND r.scored = 1 AND r.status = 'pass'),
        scored_total = (SELECT count(*) FROM node_results r WHERE r.node = @node AND r.scored = 1 AND r.status IN ('pass', 'fail')),
        failing_checks = (SELECT count(DISTINCT r.check_id) FROM node_results r WHERE r.node = @node AND r.status = 'fail')
      WHERE name = @node`),
    refused: db.prepare('UPDATE nodes SET findings_refused = findings_refused + ? WHERE name = ?'),
    purgeResolved: db.prepare<[number], StoredFinding>(`DELETE FROM findings WHERE seq IN (SELECT seq FROM findings
      WHERE state = 'resolved' AND resolved_at < ? AND seq < (SELECT max(seq) FROM findings) LIMIT 5000)
      RETURNING ${STORED}`),
    purgeHistory: db.prepare('DELETE FROM finding_history WHERE seq IN (SELECT seq FROM finding_history WHERE recorded_at < ? LIMIT 5000)'),
    // From the per-node rollup (migration 002): no scan of the findings table.
    countByState: db.prepare<[], { state: FindingState; n: number }>('SELECT state, sum(total) AS n FROM node_counts GROUP BY state'),
    totals: db.prepare<[], { state: FindingState; category: string; severityRank: number; n: number }>(
      'SELECT state, category, severity_rank AS severityRank, n FROM finding_totals WHERE n > 0'),
  };
  // The key that seals the list's cursors (migration 012).
  const cursorKey = db.prepare<[], Buffer>("SELECT value FROM store_secrets WHERE name = 'cursor-seal'").pluck().get();
  if (!cursorKey) throw new StoreError('NO_CURSOR_KEY', 'the database has no key for the findings list cursors (store_secrets, migration 012)');

  // The list's statements, one per shape of query (its filters, order and where the cursor
  // falls): prepared once each, the least recently used dropped past 256.
  const listStatements = new Map<string, Statement<Record<string, unknown>, unknown>>();
  const statement = <R>(sql: string): Statement<Record<string, unknown>, R> => {
    let stmt = listStatements.get(sql);
    if (stmt) listStatements.delete(sql);
    else stmt = db.prepare<Record<string, unknown>, unknown>(sql);
    listStatements.set(sql, stmt);
    if (listStatements.size > 256) listStatements.delete(listStatements.keys().next().value as string);
    return stmt as Statement<Record<string, unknown>, R>;
  };

  // What the list's planner asks of the data (finding-order.ts pageQuery), from the rollups.
  const measure = createRollupCounts(db);

  const writes: Synchronous<FindingWrites> = {
    byId: (id) => s.byId.get(id),
    byIds: (ids) => (ids.length === 0 ? [] : s.byIds.all(JSON.stringify(ids))),
    // One writer, one process: each INSERT is no round trip to save.
    expectNew: () => undefined,
    activeOfNode: (node) => s.ofNode.all(node),
    activeBySubjects: (checkId, subjects) => (subjects.length === 0 ? [] : s.bySubjects.all(checkId, JSON.stringify(subjects))),
    activeOfCheck: (checkId) => s.ofCheck.all(checkId),
    activeOfCluster: () => s.ofCluster.all(),
    dueSuppressions: (now, limit) => s.due.all(now, limit),
    openCount: (node) => s.openCount.get(node)?.n ?? 0,

    save(before, w, now) {
      const f = w.fields;
      const category = f?.category ?? before?.category;
      const status = f?.status ?? before?.status;
      if (category === undefined || status === undefined) throw new Error(`finding ${w.id}: a new finding needs the fields of its occurrence`);
      const rank = severityRank(w.severity);
      const lifecycle = () => ({
        state: w.state, severity: w.severity, severityRank: rank, firstSeen: w.firstSeen, lastSeen: w.lastSeen, count: w.count,
        resolvedAt: w.resolvedAt, suppressedReason: w.suppressedReason, suppressedUntil: w.suppressedUntil, suppressedBy: w.suppressedBy,
        suppressedAt: w.suppressedAt, now,
      });
      let seq: number;
      if (!before) {
        if (!f) throw new Error(`finding ${w.id}: a new finding needs the fields of its occurrence`);
        seq = Number(s.insert.run(w.id, w.node, w.checkId, f.cis, JSON.stringify(f.references), f.title, f.category, w.subject, w.severity, rank, f.status, w.state,
          f.scored ? 1 : 0, f.actual, f.expected, f.source, f.sourceFile, f.reason, f.remediation, f.detail, f.seen, w.firstSeen, w.lastSeen,
          w.count, w.resolvedAt, w.suppressedReason, w.suppressedUntil, w.suppressedBy, w.suppressedAt, now,
          // A cluster finding is one without a node (migration 020).
          w.node === '' ? 'cluster' : 'node').lastInsertRowid);
      } else {
        seq = before.seq;
        const sameSuppression = before.suppressedReason === w.suppressedReason && before.suppressedUntil === w.suppressedUntil
          && before.suppressedBy === w.suppressedBy && before.suppressedAt === w.suppressedAt;
        if (f && sameSuppression && before.firstSeen === w.firstSeen && before.state === w.state && before.severityRank === rank
          && before.category === f.category && before.resolvedAt === w.resolvedAt) {
          s.seenAgain.run(f.cis, JSON.stringify(f.references), f.title, f.status, f.scored ? 1 : 0, f.actual, f.expected, f.source, f.sourceFile,
            f.reason, f.remediation, f.detail, f.seen, w.lastSeen, w.count, now, seq);
        } else if (f && sameSuppression && before.firstSeen === w.firstSeen) {
          s.occurrence.run(f.cis, JSON.stringify(f.references), f.title, f.category, w.severity, rank, f.status, f.scored ? 1 : 0, f.actual, f.expected, f.source,
            f.sourceFile, f.reason, f.remediation, f.detail, f.seen, w.state, w.lastSeen, w.count, w.resolvedAt, now, seq);
        } else if (!f && before.severity === w.severity && before.firstSeen === w.firstSeen && before.lastSeen === w.lastSeen && before.count === w.count) {
          s.transition.run(w.state, w.resolvedAt, w.suppressedReason, w.suppressedUntil, w.suppressedBy, w.suppressedAt, now, seq);
        } else if (f) {
          s.update.run({ ...lifecycle(), ...row(f), seq });
        } else {
          s.lifecycle.run({ ...lifecycle(), seq });
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

    snapshot(id) {
      const r = s.get.get(id);
      return r ? toFinding(r) : undefined;
    },
    history,
    nodeResult(node, r, evaluatedAt) {
      s.nodeResult.run(node, r.checkId, r.subject, r.status, r.severity, r.scored ? 1 : 0, evaluatedAt);
    },
    compliance(node, benchmark) {
      s.compliance.run({ node, benchmark });
    },
    refused(node, n) {
      if (n > 0) s.refused.run(n, node);
    },
  };

  const reads: Synchronous<FindingReads> = {
    get(id) {
      const r = s.get.get(id);
      return r ? toFinding(r) : undefined;
    },

    detail(id) {
      const r = s.get.get(id);
      return r ? { ...toFinding(r), history: history.list(r.seq) } : undefined;
    },

    list(filter, limit, how = {}) {
      const page = pageQuery(filter, limit, how, measure);
      const cursorOf = (last: Raw) => sealCursor(cursorKey, positionToJson(positionOf(page.sort, page.order, last)));
      return pageOf(page.sql === undefined ? [] : statement<Raw>(page.sql).all(page.params), limit, toFinding, cursorOf);
    },

    openCursor(cursor) {
      return positionFromJson(openSealedCursor(cursorKey, cursor));
    },

    countByState() {
      const out: Record<FindingState, number> = { open: 0, resolved: 0, suppressed: 0 };
      for (const r of s.countByState.all()) out[r.state] = r.n;
      return out;
    },

    totals() {
      return s.totals.all();
    },

    nextSuppressionExpiry() {
      return s.nextExpiry.get()?.at ?? undefined;
    },

    purgeResolved(olderThan) {
      let total = 0;
      for (;;) {
        const n = deps.unit(() => {
          const gone = s.purgeResolved.all(olderThan);
          for (const g of gone) rollups.move(g, undefined);
          return gone.length;
        });
        total += n;
        if (n < 5000) return total;
      }
    },

    purgeHistory(olderThan) {
      let total = 0;
      for (;;) {
        const n = s.purgeHistory.run(olderThan).changes;
        total += n;
        if (n < 5000) return total;
      }
    },
  };

  return { reads, writes };
}

function row(f: FindingFields) {
  return {
    cis: f.cis, references: JSON.stringify(f.references), title: f.title, category: f.category, status: f.status, scored: f.scored ? 1 : 0, actual: f.actual, expected: f.expected,
    source: f.source, sourceFile: f.sourceFile, reason: f.reason, remediation: f.remediation, detail: f.detail, seen: f.seen,
  };
}
