// Findings: idempotent commits of agent messages, lifecycle transitions, and queries.
import { fingerprint } from '../../proto/fingerprint.js';
import { severityRank, isFindingStatus, type FindingState, type Severity } from '../../proto/domain.js';
import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';
import type { CommitOutcome, IncomingBatch, IncomingScan, LifecycleEvent } from '../pipeline/types.js';

export interface FindingRow {
  readonly id: string;
  readonly node: string;
  readonly checkId: string;
  readonly cis: string;
  readonly title: string;
  readonly category: string;
  readonly subject: string;
  readonly severity: Severity;
  readonly status: string;
  readonly state: FindingState;
  readonly scored: boolean;
  readonly actual: string;
  readonly expected: string;
  readonly source: string;
  readonly sourceFile: string;
  readonly reason: string;
  readonly remediation: string;
  readonly detail: unknown;
  readonly seen: string;
  readonly firstSeen: string;
  readonly lastSeen: string;
  readonly count: number;
  readonly resolvedAt: string | null;
  readonly suppressedReason: string | null;
  readonly suppressedUntil: string | null;
}

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

interface UpsertFields {
  id: string; node: string; checkId: string; cis: string; title: string; category: string; subject: string;
  severity: string; severityRank: number; status: string; scored: number; actual: string; expected: string;
  source: string; sourceFile: string; reason: string; remediation: string; detail: string; seen: string;
  observedAt: number; occurrences: number; now: number;
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

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

export function createFindingStore(db: Db, opts: { maxOpenFindingsPerNode: number }) {
  const s = {
    received: db.prepare<[string, string, number], { one: number }>('SELECT 1 AS one FROM received WHERE node = ? AND epoch = ? AND sequence = ?'),
    markReceived: db.prepare('INSERT INTO received (node, epoch, sequence, received_at) VALUES (?, ?, ?, ?)'),
    current: db.prepare<[string], { state: FindingState; severity_rank: number }>('SELECT state, severity_rank FROM findings WHERE id = ?'),
    openCount: db.prepare<[string], { n: number }>("SELECT count(*) AS n FROM findings WHERE node = ? AND state = 'open'"),
    insert: db.prepare(`INSERT INTO findings (id, node, check_id, cis, title, category, subject, severity, severity_rank, status, state,
        scored, actual, expected, source, source_file, reason, remediation, detail, seen, first_seen, last_seen, count, updated_at)
      VALUES (@id, @node, @checkId, @cis, @title, @category, @subject, @severity, @severityRank, @status, 'open',
        @scored, @actual, @expected, @source, @sourceFile, @reason, @remediation, @detail, @seen, @observedAt, @observedAt, @occurrences, @now)`),
    update: db.prepare(`UPDATE findings SET cis = @cis, title = @title, category = @category, severity = @severity,
        severity_rank = @severityRank, status = @status, scored = @scored, actual = @actual, expected = @expected,
        source = @source, source_file = @sourceFile, reason = @reason, remediation = @remediation, detail = @detail,
        seen = @seen, last_seen = max(last_seen, @observedAt), count = count + @occurrences, updated_at = @now,
        state = CASE state WHEN 'resolved' THEN 'open' ELSE state END,
        resolved_at = CASE state WHEN 'resolved' THEN NULL ELSE resolved_at END
      WHERE id = @id`),
    resolveOpen: db.prepare(`UPDATE findings SET state = 'resolved', resolved_at = ?, updated_at = ?
      WHERE id = ? AND state = 'open'`),
    resolveSuppressed: db.prepare(`UPDATE findings SET state = 'resolved', resolved_at = ?, updated_at = ?
      WHERE id = ? AND state = 'suppressed'`),
    nodeResult: db.prepare(`INSERT INTO node_results (node, check_id, subject, status, severity, scored, evaluated_at)
      VALUES (?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (node, check_id, subject) DO UPDATE SET status = excluded.status, severity = excluded.severity,
        scored = excluded.scored, evaluated_at = excluded.evaluated_at WHERE excluded.evaluated_at >= node_results.evaluated_at`),
    refused: db.prepare('UPDATE nodes SET findings_refused = findings_refused + ? WHERE name = ?'),
    get: db.prepare<[string], RawFinding>('SELECT * FROM findings WHERE id = ?'),
    suppress: db.prepare(`UPDATE findings SET state = 'suppressed', suppressed_reason = ?, suppressed_until = ?, updated_at = ?
      WHERE id = ? AND state <> 'suppressed'`),
  };

  const listStatements = new Map<string, Statement<Record<string, unknown>, RawFinding>>();

  /** Upserts one failing occurrence; returns the lifecycle event it caused, if any. */
  function upsert(f: UpsertFields, openBudget: { left: number }): LifecycleEvent | 'refused' | null {
    const cur = s.current.get(f.id);
    if (!cur) {
      if (openBudget.left <= 0) return 'refused';
      openBudget.left--;
      s.insert.run(f);
      return 'opened';
    }
    s.update.run(f);
    if (cur.state === 'resolved') return 'reopened';
    if (f.severityRank > cur.severity_rank) return 'escalated';
    return null;
  }

  // Open findings per node, for the cap. The collector is the database's only writer, so
  // the count is kept here instead of counting rows on every batch; an entry is set only
  // after its transaction commits, and dropped when an API call changes states.
  const openCounts = new Map<string, number>();

  function commit(node: string, epoch: string, sequence: number, now: number, apply: (budget: { left: number }, out: Outcome) => void): CommitOutcome {
    let open = 0;
    const out = db.transaction((): Outcome | undefined => {
      if (s.received.get(node, epoch, sequence)) return undefined;
      open = openCounts.get(node) ?? s.openCount.get(node)?.n ?? 0;
      const budget = { left: Math.max(0, opts.maxOpenFindingsPerNode - open) };
      const o: Outcome = { duplicate: false, events: [], updated: 0, refused: 0, openDelta: 0 };
      apply(budget, o);
      if (o.refused > 0) s.refused.run(o.refused, node);
      s.markReceived.run(node, epoch, sequence, now);
      return o;
    }).immediate();
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

  return {
    commitScan(scan: IncomingScan, now: number): CommitOutcome {
      return commit(scan.node, scan.epoch, scan.sequence, now, (budget, out) => {
        for (const r of scan.results) {
          s.nodeResult.run(scan.node, r.id, r.subject, r.status, r.severity, r.scored ? 1 : 0, scan.scannedAt);
          const id = fingerprint(scan.node, r.id, r.subject);
          if (isFindingStatus(r.status)) {
            record(out, id, upsert({
              id, node: scan.node, checkId: r.id, cis: r.cis, title: r.title, category: r.category, subject: r.subject,
              severity: r.severity, severityRank: severityRank(r.severity), status: r.status, scored: r.scored ? 1 : 0,
              actual: r.actual, expected: r.expected, source: r.source, sourceFile: r.sourceFile, reason: r.reason,
              remediation: r.remediation, detail: '{}', seen: 'scan', observedAt: scan.scannedAt,
              occurrences: r.occurrences, now,
            }, budget));
          } else if (r.status === 'pass' && scan.scope.includes(r.id)) {
            // Only a pass inside the report's scope resolves; skip and error never do.
            if (s.resolveOpen.run(now, now, id).changes > 0) {
              out.openDelta--;
              out.events.push({ findingId: id, event: 'resolved' });
            } else if (s.resolveSuppressed.run(now, now, id).changes > 0) {
              out.events.push({ findingId: id, event: 'resolved' });
            }
          }
        }
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

    get(id: string): FindingRow | undefined {
      const row = s.get.get(id);
      return row ? toRow(row) : undefined;
    },

    suppress(id: string, reason: string, until: number | null, now: number): 'suppressed' | 'already' | 'missing' {
      const row = s.get.get(id);
      if (!row) return 'missing';
      if (s.suppress.run(reason, until, now, id).changes === 0) return 'already';
      openCounts.delete(row.node);
      return 'suppressed';
    },

    list(filter: FindingFilter, limit: number, after: number): Page<FindingRow> {
      const where: string[] = ['seq > @after'];
      const params: Record<string, unknown> = { after, limit: limit + 1 };
      if (filter.node !== undefined) { where.push('node = @node'); params.node = filter.node; }
      if (filter.check !== undefined) { where.push('check_id = @check'); params.check = filter.check; }
      if (filter.category !== undefined) { where.push('category = @category'); params.category = filter.category; }
      if (filter.severity !== undefined) { where.push('severity = @severity'); params.severity = filter.severity; }
      if (filter.minSeverity !== undefined) { where.push('severity_rank >= @minRank'); params.minRank = severityRank(filter.minSeverity); }
      if (filter.state !== undefined) { where.push('state = @state'); params.state = filter.state; }
      if (filter.since !== undefined) { where.push('last_seen >= @since'); params.since = filter.since; }
      if (filter.q !== undefined) {
        where.push("(subject LIKE @q ESCAPE '\\' OR title LIKE @q ESCAPE '\\' OR check_id LIKE @q ESCAPE '\\' OR actual LIKE @q ESCAPE '\\')");
        params.q = `%${filter.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      }
      // The WHERE clause is assembled from fixed fragments (at most 2^8 shapes, each
      // prepared once); every value is bound.
      const sql = `SELECT * FROM findings WHERE ${where.join(' AND ')} ORDER BY seq LIMIT @limit`;
      let stmt = listStatements.get(sql);
      if (!stmt) listStatements.set(sql, (stmt = db.prepare<Record<string, unknown>, RawFinding>(sql)));
      const rows = stmt.all(params);
      const more = rows.length > limit;
      const page = more ? rows.slice(0, limit) : rows;
      const last = page.at(-1);
      return { items: page.map(toRow), nextCursor: more && last ? encodeCursor(last.seq) : null };
    },
  };
}

type Outcome = { duplicate: boolean; events: Array<{ findingId: string; event: LifecycleEvent }>; updated: number; refused: number; openDelta: number };

export type FindingStore = ReturnType<typeof createFindingStore>;

interface RawFinding {
  seq: number; id: string; node: string; check_id: string; cis: string; title: string; category: string; subject: string;
  severity: Severity; severity_rank: number; status: string; state: FindingState; scored: number; actual: string;
  expected: string; source: string; source_file: string; reason: string; remediation: string; detail: string;
  seen: string; first_seen: number; last_seen: number; count: number; resolved_at: number | null;
  suppressed_reason: string | null; suppressed_until: number | null; updated_at: number;
}

function parseDetail(s: string): unknown {
  try {
    return JSON.parse(s) as unknown;
  } catch {
    return {};
  }
}

function toRow(r: RawFinding): FindingRow {
  return {
    id: r.id, node: r.node, checkId: r.check_id, cis: r.cis, title: r.title, category: r.category, subject: r.subject,
    severity: r.severity, status: r.status, state: r.state, scored: r.scored === 1, actual: r.actual, expected: r.expected,
    source: r.source, sourceFile: r.source_file, reason: r.reason, remediation: r.remediation, detail: parseDetail(r.detail),
    seen: r.seen, firstSeen: new Date(r.first_seen).toISOString(), lastSeen: new Date(r.last_seen).toISOString(),
    count: r.count, resolvedAt: iso(r.resolved_at), suppressedReason: r.suppressed_reason, suppressedUntil: iso(r.suppressed_until),
  };
}
