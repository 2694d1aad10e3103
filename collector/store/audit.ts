// The audit log: every API call that changes something (or tried to), who made it, when,
// and how it ended. Append-only from the API; purged by age.
import type { Db } from './db.js';
import type { Page } from './findings.js';
import { isoTime } from './time.js';

export interface AuditRecord {
  readonly at: number;
  readonly actor: string;
  readonly role: string;
  /** A stable name for what was asked, e.g. "finding.suppress". */
  readonly action: string;
  /** What it was asked of, e.g. a finding id. */
  readonly target: string;
  /** What the caller sent that matters for the record (never a token). */
  readonly detail: Record<string, unknown>;
  /** The HTTP status the call ended with. */
  readonly status: number;
  readonly remote: string;
}

export interface AuditRow extends Omit<AuditRecord, 'at'> {
  readonly id: number;
  readonly at: string;
}

export interface AuditFilter {
  readonly actor?: string | undefined;
  readonly action?: string | undefined;
  readonly target?: string | undefined;
  readonly since?: number | undefined;
}

interface RawAudit {
  seq: number; at: number; actor: string; role: string; action: string; target: string; detail: string; status: number; remote: string;
}

export function encodeAuditCursor(seq: number): string {
  return Buffer.from(JSON.stringify({ before: seq })).toString('base64url');
}

export function decodeAuditCursor(cursor: string): number | undefined {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { before?: unknown };
    return Number.isSafeInteger(v.before) && (v.before as number) > 0 ? (v.before as number) : undefined;
  } catch {
    return undefined;
  }
}

export function createAuditLog(db: Db) {
  const s = {
    insert: db.prepare(`INSERT INTO audit_log (at, actor, role, action, target, detail, status, remote)
      VALUES (@at, @actor, @role, @action, @target, @detail, @status, @remote)`),
    purge: db.prepare('DELETE FROM audit_log WHERE seq IN (SELECT seq FROM audit_log WHERE at < ? LIMIT 5000)'),
  };
  const listStatements = new Map<string, ReturnType<typeof db.prepare<Record<string, unknown>, RawAudit>>>();

  return {
    record(r: AuditRecord): void {
      s.insert.run({ ...r, detail: JSON.stringify(r.detail) });
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
      const rows = stmt.all(params);
      const more = rows.length > limit;
      const page = more ? rows.slice(0, limit) : rows;
      const last = page.at(-1);
      return {
        items: page.map((r) => ({
          id: r.seq, at: isoTime(r.at), actor: r.actor, role: r.role, action: r.action, target: r.target,
          detail: JSON.parse(r.detail) as Record<string, unknown>, status: r.status, remote: r.remote,
        })),
        nextCursor: more && last ? encodeAuditCursor(last.seq) : null,
      };
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

export type AuditLog = ReturnType<typeof createAuditLog>;
