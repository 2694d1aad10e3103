// Findings: idempotent commits of agent messages, lifecycle transitions (open, resolved,
// suppressed, with expiry), the collector's own agent-stale findings, and queries.
import { fingerprint } from '../../proto/fingerprint.js';
import { AGENT_STALE_CHECK } from '../../proto/collector-checks.js';
import { SEVERITIES, severityRank, isFindingStatus, type FindingState, type Severity } from '../../proto/domain.js';
import type { Finding, FindingDetail } from '../finding.js';
import { toFinding, type FindingRowRaw as RawFinding } from './finding-row.js';
import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';
import { createHistoryLog, type TransitionListener } from './history.js';
import { createRollups, type RollupKey } from './rollups.js';
import type { CommitOutcome, IncomingBatch, IncomingScan, LifecycleEvent } from '../pipeline/types.js';
import { isoTime } from './time.js';


export interface FindingFilter {
  readonly node?: string | undefined;
  readonly check?: string | undefined;
  readonly category?: string | undefined;
  readonly severity?: Severity | undefined;
  readonly minSeverity?: Severity | undefined;
  readonly state?: FindingState | undefined;
  readonly since?: number | undefined;
  readonly q?: string | undefined;
}

export interface Page<T> {
  readonly items: T[];
  readonly nextCursor: string | null;
}

/** A change the collector made on its own (an expiry, a stale agent): for metrics and logs. */
export interface Transition {
  readonly findingId: string;
  readonly node: string;
  readonly event: LifecycleEvent | 'unsuppressed';
}

interface UpsertFields {
  id: string; node: string; checkId: string; cis: string; title: string; category: string; subject: string;
  severity: string; severityRank: number; status: string; scored: number; actual: string; expected: string;
  source: string; sourceFile: string; reason: string; remediation: string; detail: string; seen: string;
  observedAt: number; occurrences: number; now: number;
}

export function encodeCursor(seq: number): string {
  return Buffer.from(JSON.stringify({ after: seq })).toString('base64url');
}

/** Returns the position after which to continue, or undefined for a malformed cursor. */
export function decodeCursor(cursor: string): number | undefined {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { after?: unknown };
    return Number.isSafeInteger(v.after) && (v.after as number) >= 0 ? (v.after as number) : undefined;
  } catch {
    return undefined;
  }
}

export interface FindingStoreOptions {
  readonly maxOpenFindingsPerNode: number;
  /** History entries kept per finding. */
  readonly historyLimit: number;
  /** Told of every transition inside its transaction (the webhook outbox). */
  readonly onTransition?: TransitionListener | undefined;
}

export function createFindingStore(db: Db, opts: FindingStoreOptions) {
  const history = createHistoryLog(db, { limit: opts.historyLimit, onTransition: opts.onTransition });
  const rollups = createRollups(db);
  const s = {
    received: db.prepare<[string, string, number], { one: number }>('SELECT 1 AS one FROM received WHERE node = ? AND epoch = ? AND sequence = ?'),
    markReceived: db.prepare('INSERT INTO received (node, epoch, sequence, received_at) VALUES (?, ?, ?, ?)'),
    current: db.prepare<[string], Current>('SELECT seq, state, severity_rank, node, check_id, category, status FROM findings WHERE id = ?'),
    openCount: db.prepare<[string], { n: number }>("SELECT count(*) AS n FROM findings WHERE node = ? AND state = 'open'"),
    insert: db.prepare(`INSERT INTO findings (id, node, check_id, cis, title, category, subject, severity, severity_rank, status, state,
        scored, actual, expected, source, source_file, reason, remediation, detail, seen, first_seen, last_seen, count, updated_at)
      VALUES (@id, @node, @checkId, @cis, @title, @category, @subject, @severity, @severityRank, @status, 'open',
        @scored, @actual, @expected, @source, @sourceFile, @reason, @remediation, @detail, @seen, @observedAt, @observedAt, @occurrences, @now)`),
    // A failing occurrence: a resolved finding reopens (and is no longer resolved); a
    // suppressed one stays suppressed until its suppression ends.
    update: db.prepare(`UPDATE findings SET cis = @cis, title = @title, category = @category, severity = @severity,
        severity_rank = @severityRank, status = @status, scored = @scored, actual = @actual, expected = @expected,
        source = @source, source_file = @sourceFile, reason = @reason, remediation = @remediation, detail = @detail,
        seen = @seen, last_seen = max(last_seen, @observedAt), count = count + @occurrences, updated_at = @now,
        state = CASE state WHEN 'resolved' THEN 'open' ELSE state END, resolved_at = NULL
      WHERE id = @id`),
    resolve: db.prepare<[number, number, string], { severity: string }>(`UPDATE findings
      SET state = 'resolved', resolved_at = ?, updated_at = ?, suppressed_reason = NULL, suppressed_until = NULL,
        suppressed_by = NULL, suppressed_at = NULL
      WHERE id = ? AND state IN ('open', 'suppressed') RETURNING severity`),
    nodeResult: db.prepare(`INSERT INTO node_results (node, check_id, subject, status, severity, scored, evaluated_at)
      VALUES (?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (node, check_id, subject) DO UPDATE SET status = excluded.status, severity = excluded.severity,
        scored = excluded.scored, evaluated_at = excluded.evaluated_at WHERE excluded.evaluated_at >= node_results.evaluated_at`),
    compliance: db.prepare(`UPDATE nodes SET
        scored_pass = (SELECT count(*) FROM node_results r WHERE r.node = @node AND r.scored = 1 AND r.status = 'pass'),
        scored_total = (SELECT count(*) FROM node_results r WHERE r.node = @node AND r.scored = 1 AND r.status IN ('pass', 'fail')),
        failing_checks = (SELECT count(DISTINCT r.check_id) FROM node_results r WHERE r.node = @node AND r.status = 'fail')
      WHERE name = @node`),
    refused: db.prepare('UPDATE nodes SET findings_refused = findings_refused + ? WHERE name = ?'),
    get: db.prepare<[string], RawFinding>('SELECT * FROM findings WHERE id = ?'),
    suppress: db.prepare(`UPDATE findings SET state = 'suppressed', suppressed_reason = @reason, suppressed_until = @until,
        suppressed_by = @by, suppressed_at = @now, updated_at = @now WHERE id = @id`),
    // Ending a suppression returns the finding to what its results say: open, unless a pass
    // resolved it before it was suppressed and nothing failed since.
    unsuppress: db.prepare<[{ now: number; id: string }], { state: FindingState; node: string; severity: string }>(`UPDATE findings
      SET state = CASE WHEN resolved_at IS NULL THEN 'open' ELSE 'resolved' END, suppressed_reason = NULL,
        suppressed_until = NULL, suppressed_by = NULL, suppressed_at = NULL, updated_at = @now
      WHERE id = @id AND state = 'suppressed' RETURNING state, node, severity`),
    due: db.prepare<[number], { id: string }>(`SELECT id FROM findings
      WHERE state = 'suppressed' AND suppressed_until IS NOT NULL AND suppressed_until <= ? ORDER BY suppressed_until LIMIT 1000`),
    purgeResolved: db.prepare<[number], Current>(`DELETE FROM findings WHERE seq IN (SELECT seq FROM findings
      WHERE state = 'resolved' AND resolved_at < ? AND seq < (SELECT max(seq) FROM findings) LIMIT 5000)
      RETURNING seq, state, severity_rank, node, check_id, category, status`),
    purgeHistory: db.prepare('DELETE FROM finding_history WHERE seq IN (SELECT seq FROM finding_history WHERE recorded_at < ? LIMIT 5000)'),
    // From the per-node rollup (migration 002): no scan of the findings table.
    countByState: db.prepare<[], { state: FindingState; n: number }>('SELECT state, sum(total) AS n FROM node_counts GROUP BY state'),
    // Walks the (check_id, state) index; the subjects are checked per row.
    ofNode: db.prepare<[string], { id: string }>("SELECT id FROM findings WHERE node = ? AND state IN ('open', 'suppressed')"),
    bySubjects: db.prepare<[string, string], { id: string; node: string }>(`SELECT id, node FROM findings
      WHERE check_id = ? AND state IN ('open', 'suppressed') AND subject IN (SELECT value FROM json_each(?))`),
  };

  const listStatements = new Map<string, Statement<Record<string, unknown>, RawFinding>>();

  /**
   * One transaction whose rollup deltas are written before it commits. Called inside
   * another, it joins it: the outer one writes the deltas of both.
   */
  function tx<T>(fn: () => T, immediate = true): T {
    if (db.inTransaction) return fn();
    const run = db.transaction((): T => {
      rollups.reset();
      const out = fn();
      rollups.flush();
      return out;
    });
    return immediate ? run.immediate() : run();
  }

  // Open findings per node, for the cap. The collector is the database's only writer, so
  // the count is kept here instead of counting rows on every batch; an entry is set only
  // after its transaction commits, and dropped whenever something else changes states.
  const openCounts = new Map<string, number>();

  /** Upserts one failing occurrence; returns the lifecycle event it caused, if any. */
  function upsert(f: UpsertFields, openBudget: { left: number }): LifecycleEvent | 'refused' | null {
    const cur = s.current.get(f.id);
    const after = (state: string): RollupKey => ({ state, node: f.node, checkId: f.checkId, category: f.category, severityRank: f.severityRank, status: f.status });
    if (!cur) {
      if (openBudget.left <= 0) return 'refused';
      openBudget.left--;
      const seq = Number(s.insert.run(f).lastInsertRowid);
      rollups.move(undefined, after('open'));
      history.transition(seq, 'opened', f.observedAt, f.severity, f.now, { occurrences: f.occurrences, first: true });
      return 'opened';
    }
    s.update.run(f);
    rollups.move(key(cur), after(cur.state === 'resolved' ? 'open' : cur.state));
    let ev: LifecycleEvent | null = null;
    if (cur.state === 'resolved') ev = 'reopened';
    else if (f.severityRank > cur.severity_rank) ev = 'escalated';
    if (ev) history.transition(cur.seq, ev, f.observedAt, f.severity, f.now, { occurrences: f.occurrences });
    else history.seen(cur.seq, f.observedAt, f.occurrences, f.severity, f.now);
    return ev;
  }

  /** Resolves an open or suppressed finding; returns the state it left, if it changed. */
  function resolve(id: string, at: number, now: number, note: string): FindingState | undefined {
    const cur = s.current.get(id);
    if (!cur || (cur.state !== 'open' && cur.state !== 'suppressed')) return undefined;
    const r = s.resolve.get(at, now, id);
    if (!r) return undefined;
    rollups.move(key(cur), { ...key(cur), state: 'resolved' });
    history.transition(cur.seq, 'resolved', at, r.severity, now, { note });
    return cur.state;
  }

  /** Ends a suppression; returns the state the finding returned to. */
  function lift(id: string, now: number, note: string): FindingState | undefined {
    const cur = s.current.get(id);
    if (!cur || cur.state !== 'suppressed') return undefined;
    const r = s.unsuppress.get({ now, id });
    if (!r) return undefined;
    rollups.move(key(cur), { ...key(cur), state: r.state });
    history.transition(cur.seq, 'unsuppressed', now, r.severity, now, { note });
    openCounts.delete(cur.node);
    return r.state;
  }

  /** Ends the suppressions due by `now`; inside the caller's transaction. */
  function expire(now: number): Transition[] {
    const out: Transition[] = [];
    for (;;) {
      const due = s.due.all(now);
      for (const { id } of due) {
        const node = s.current.get(id)?.node ?? '';
        const state = lift(id, now, 'the suppression expired');
        if (state) out.push({ findingId: id, node, event: state === 'open' ? 'reopened' : 'unsuppressed' });
      }
      if (due.length < 1000) return out;
    }
  }

  function commit(node: string, epoch: string, sequence: number, now: number, apply: (budget: { left: number }, out: Outcome) => void): CommitOutcome {
    let open = 0;
    const out = tx((): Outcome | undefined => {
      if (s.received.get(node, epoch, sequence)) return undefined;
      // A suppression that has run out ends before anything new is applied to it.
      expire(now);
      open = openCounts.get(node) ?? s.openCount.get(node)?.n ?? 0;
      const budget = { left: Math.max(0, opts.maxOpenFindingsPerNode - open) };
      const o: Outcome = { duplicate: false, events: [], updated: 0, refused: 0, openDelta: 0 };
      apply(budget, o);
      if (o.refused > 0) s.refused.run(o.refused, node);
      s.markReceived.run(node, epoch, sequence, now);
      return o;
    });
    if (!out) return { duplicate: true, events: [], updated: 0, refused: 0 };
    openCounts.set(node, open + out.openDelta);
    return { duplicate: false, events: out.events, updated: out.updated, refused: out.refused };
  }

  function record(out: Outcome, id: string, ev: LifecycleEvent | 'refused' | null): void {
    if (ev === 'refused') out.refused++;
    else {
      out.updated++;
      if (ev) out.events.push({ findingId: id, event: ev });
      if (ev === 'opened' || ev === 'reopened') out.openDelta++;
    }
  }

  const staleId = (node: string): string => fingerprint(node, AGENT_STALE_CHECK.id, node);

  return {
    commitScan(scan: IncomingScan, now: number): CommitOutcome {
      return commit(scan.node, scan.epoch, scan.sequence, now, (budget, out) => {
        for (const r of scan.results) {
          s.nodeResult.run(scan.node, r.checkId, r.subject, r.status, r.severity, r.scored ? 1 : 0, scan.scannedAt);
          const id = fingerprint(scan.node, r.checkId, r.subject);
          if (isFindingStatus(r.status)) {
            record(out, id, upsert({
              id, node: scan.node, checkId: r.checkId, cis: r.cis, title: r.title, category: r.category, subject: r.subject,
              severity: r.severity, severityRank: severityRank(r.severity), status: r.status, scored: r.scored ? 1 : 0,
              actual: r.actual, expected: r.expected, source: r.source, sourceFile: r.sourceFile, reason: r.reason,
              remediation: r.remediation, detail: '{}', seen: 'scan', observedAt: scan.scannedAt,
              occurrences: r.occurrences, now,
            }, budget));
          } else if (r.status === 'pass' && scan.scope.includes(r.checkId)) {
            // Only a pass inside the report's scope resolves; skip and error never do.
            const left = resolve(id, scan.scannedAt, now, 'passed a scan');
            if (left) {
              if (left === 'open') out.openDelta--;
              out.events.push({ findingId: id, event: 'resolved' });
            }
          }
        }
        s.compliance.run({ node: scan.node });
      });
    },

    commitBatch(batch: IncomingBatch, now: number): CommitOutcome {
      return commit(batch.node, batch.epoch, batch.sequence, now, (budget, out) => {
        for (const f of batch.findings) {
          const id = fingerprint(batch.node, f.checkId, f.subject);
          record(out, id, upsert({
            id, node: batch.node, checkId: f.checkId, cis: '', title: f.title, category: f.category, subject: f.subject,
            severity: f.severity, severityRank: severityRank(f.severity), status: f.status, scored: 0, actual: '',
            expected: '', source: 'process', sourceFile: '', reason: '', remediation: f.remediation, detail: f.detail,
            seen: f.seen, observedAt: f.observedAt, occurrences: f.occurrences, now,
          }, budget));
        }
      });
    },

    /**
     * Raises (or reopens) the node's agent-stale finding. Nothing happens while one is
     * already open or suppressed. Not subject to the per-node cap: it is the collector's own.
     */
    raiseStale(node: string, lastSeen: number, staleAfterMs: number, now: number): Transition | undefined {
      const id = staleId(node);
      return tx((): Transition | undefined => {
        const cur = s.current.get(id);
        if (cur && cur.state !== 'resolved') return undefined;
        const silent = Math.round((now - lastSeen) / 1000);
        const ev = upsert({
          id, node, checkId: AGENT_STALE_CHECK.id, cis: '', title: 'The nodeward agent has gone silent', category: AGENT_STALE_CHECK.category,
          subject: node, severity: AGENT_STALE_CHECK.severity, severityRank: severityRank(AGENT_STALE_CHECK.severity), status: 'fail', scored: 0,
          actual: `no message for ${silent} s (last seen ${isoTime(lastSeen)})`,
          expected: `a message at least every ${Math.round(staleAfterMs / 1000)} s`, source: 'none', sourceFile: '',
          reason: 'the agent stopped heartbeating: it was stopped, crashed, lost its network or was removed',
          remediation: 'Check the nodeward agent pod on this node and its logs (kubectl -n <namespace> get pods -o wide '
            + '--field-selector spec.nodeName=<node>). An agent that vanishes without a rollout can mean the node was tampered with.',
          detail: JSON.stringify({ lastSeen: isoTime(lastSeen), silentSeconds: silent }),
          seen: 'collector', observedAt: now, occurrences: 1, now,
        }, { left: 1 });
        openCounts.delete(node);
        return ev === 'opened' || ev === 'reopened' ? { findingId: id, node, event: ev } : undefined;
      });
    },

    /** Resolves the node's agent-stale finding, if one is open or suppressed: the agent is back. */
    resolveStale(node: string, now: number): Transition | undefined {
      const id = staleId(node);
      return tx((): Transition | undefined => {
        if (!resolve(id, now, now, 'the agent is back')) return undefined;
        openCounts.delete(node);
        return { findingId: id, node, event: 'resolved' };
      }, false);
    },

    /**
     * Resolves the open and suppressed findings of `checkId` with one of these subjects, on
     * every node (an executable that is allowed now). The same resolve as a pass's, so the
     * history, and whatever listens to it, sees 'resolved'.
     */
    resolveSubjects(checkId: string, subjects: readonly string[], now: number, note: string): Transition[] {
      if (subjects.length === 0) return [];
      return tx((): Transition[] => {
        const out: Transition[] = [];
        for (const f of s.bySubjects.all(checkId, JSON.stringify(subjects))) {
          if (!resolve(f.id, now, now, note)) continue;
          openCounts.delete(f.node);
          out.push({ findingId: f.id, node: f.node, event: 'resolved' });
        }
        return out;
      });
    },

    /**
     * Resolves every open and suppressed finding of the node (an operator deleted it), with
     * the same resolve as a pass's: the history and the webhooks see 'resolved'.
     */
    resolveNode(node: string, now: number, note: string): Transition[] {
      return tx((): Transition[] => {
        const out: Transition[] = [];
        for (const f of s.ofNode.all(node)) {
          if (resolve(f.id, now, now, note)) out.push({ findingId: f.id, node, event: 'resolved' });
        }
        openCounts.delete(node);
        return out;
      });
    },

    get(id: string): Finding | undefined {
      const row = s.get.get(id);
      return row ? toFinding(row) : undefined;
    },

    detail(id: string): FindingDetail | undefined {
      const row = s.get.get(id);
      return row ? { ...toFinding(row), history: history.list(row.seq) } : undefined;
    },

    /** Suppresses, or updates the reason, expiry and author of an existing suppression. */
    suppress(id: string, sup: { reason: string; until: number | null; by: string }, now: number): 'suppressed' | 'updated' | 'missing' {
      return tx((): 'suppressed' | 'updated' | 'missing' => {
        const cur = s.current.get(id);
        if (!cur) return 'missing';
        s.suppress.run({ id, reason: sup.reason, until: sup.until, by: sup.by, now });
        rollups.move(key(cur), { ...key(cur), state: 'suppressed' });
        const note = `${sup.by}: ${sup.reason}${sup.until === null ? '' : ` (until ${isoTime(sup.until)})`}`;
        history.transition(cur.seq, 'suppressed', now, severityName(cur.severity_rank), now, { note });
        openCounts.delete(cur.node);
        return cur.state === 'suppressed' ? 'updated' : 'suppressed';
      });
    },

    /** Ends a suppression now. */
    unsuppress(id: string, by: string, now: number): 'unsuppressed' | 'not-suppressed' | 'missing' {
      return tx((): 'unsuppressed' | 'not-suppressed' | 'missing' => {
        if (!s.current.get(id)) return 'missing';
        return lift(id, now, `${by}: lifted`) ? 'unsuppressed' : 'not-suppressed';
      });
    },

    /** Ends every suppression whose expiry has passed. Cheap when none is due. */
    expireDue(now: number): Transition[] {
      if (s.due.all(now).length === 0) return [];
      return tx(() => expire(now));
    },

    list(filter: FindingFilter, limit: number, after: number): Page<Finding> {
      // A page is "the next `limit` rows by seq". An index can produce that without sorting
      // only when the filter pins its leading columns: (node, state), (check, state),
      // (category, state), (state, severity) or (state). Any other filter is written as
      // `+column` so it cannot pick an index whose order would need every match sorted
      // first (all process findings, say); it is checked on rows walked in seq order instead.
      // A node's findings are few (capped), so node drives the choice whenever given.
      const ordered = filter.state !== undefined;
      const term = (col: string, indexable: boolean): string => (indexable ? col : `+${col}`);
      const where: string[] = ['seq > @after'];
      const params: Record<string, unknown> = { after, limit: limit + 1 };
      if (filter.node !== undefined) { where.push('node = @node'); params.node = filter.node; }
      if (filter.check !== undefined) { where.push(`${term('check_id', ordered)} = @check`); params.check = filter.check; }
      if (filter.category !== undefined) { where.push(`${term('category', ordered)} = @category`); params.category = filter.category; }
      if (filter.severity !== undefined) { where.push(`${term('severity_rank', ordered)} = @rank`); params.rank = severityRank(filter.severity); }
      if (filter.minSeverity !== undefined) { where.push('+severity_rank >= @minRank'); params.minRank = severityRank(filter.minSeverity); }
      if (filter.state !== undefined) { where.push('state = @state'); params.state = filter.state; }
      if (filter.since !== undefined) { where.push('+last_seen >= @since'); params.since = filter.since; }
      if (filter.q !== undefined) {
        where.push("(subject LIKE @q ESCAPE '\\' OR title LIKE @q ESCAPE '\\' OR check_id LIKE @q ESCAPE '\\' OR actual LIKE @q ESCAPE '\\')");
        params.q = `%${filter.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      }
      // The WHERE clause is assembled from fixed fragments (a few hundred shapes at most, each
      // prepared once); every value is bound.
      const sql = `SELECT * FROM findings WHERE ${where.join(' AND ')} ORDER BY seq LIMIT @limit`;
      let stmt = listStatements.get(sql);
      if (!stmt) listStatements.set(sql, (stmt = db.prepare<Record<string, unknown>, RawFinding>(sql)));
      const rows = stmt.all(params);
      const more = rows.length > limit;
      const page = more ? rows.slice(0, limit) : rows;
      const last = page.at(-1);
      return { items: page.map(toFinding), nextCursor: more && last ? encodeCursor(last.seq) : null };
    },

    countByState(): Record<FindingState, number> {
      const out: Record<FindingState, number> = { open: 0, resolved: 0, suppressed: 0 };
      for (const r of s.countByState.all()) out[r.state] = r.n;
      return out;
    },

    /** Deletes findings resolved before `olderThan` (their history goes with them). */
    purgeResolved(olderThan: number): number {
      let total = 0;
      for (;;) {
        const n = tx(() => {
          const gone = s.purgeResolved.all(olderThan);
          for (const g of gone) rollups.move(key(g), undefined);
          return gone.length;
        });
        total += n;
        if (n < 5000) break;
      }
      if (total > 0) openCounts.clear();
      return total;
    },

    /** Deletes history entries last written before `olderThan`. */
    purgeHistory(olderThan: number): number {
      let total = 0;
      for (;;) {
        const n = s.purgeHistory.run(olderThan).changes;
        total += n;
        if (n < 5000) return total;
      }
    },
  };
}

interface Current {
  seq: number; state: FindingState; severity_rank: number; node: string; check_id: string; category: string; status: string;
}

const key = (c: Current): RollupKey => ({
  state: c.state, node: c.node, checkId: c.check_id, category: c.category, severityRank: c.severity_rank, status: c.status,
});

type Outcome = { duplicate: boolean; events: Array<{ findingId: string; event: LifecycleEvent }>; updated: number; refused: number; openDelta: number };

export type FindingStore = ReturnType<typeof createFindingStore>;

const severityName = (rank: number): Severity => SEVERITIES[rank] ?? 'info';
