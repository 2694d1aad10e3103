// The audit part of the Store boundary (store.ts): records of API calls, aggregated refusals
// of callers nobody authenticated, and the cursor of the log's listing. Plain types: the
// SQLite implementation is store/audit.ts.
import type { Page } from '../paging.js';

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
  /** Calls the record stands for: 1, except for aggregated anonymous refusals. */
  readonly count: number;
  /** The last of them (`at` is the first). */
  readonly lastAt: string;
}

/** A refusal of a caller nobody authenticated. */
export interface RefusalRecord {
  readonly at: number;
  /** As for AuditRecord, e.g. "ui.login", "api.auth". */
  readonly action: string;
  /** A stable word for why, e.g. "bad-credentials", "over-failure-limit", "cross-origin". */
  readonly reason: string;
  readonly status: number;
  readonly remote: string;
}

export const REFUSAL_AGGREGATION = { windowMs: 3600_000, maxSourcesPerWindow: 100, flushMs: 5000 } as const;
/** The source of the row that folds refusals from sources beyond a window's bound. */
export const OTHER_SOURCES = '(other sources)';

export interface AuditFilter {
  readonly actor?: string | undefined;
  readonly action?: string | undefined;
  readonly target?: string | undefined;
  readonly since?: number | undefined;
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

/** The audit log (see store/audit.ts for how refusals are aggregated and when they are written). */
export interface AuditLog {
  record(r: AuditRecord): Promise<void>;
  /** One anonymous refusal, folded into its source's row for the window. */
  refusal(r: RefusalRecord): void;
  /**
   * Writes aggregated counts not yet written: the sweeper's tick (`now`: its time, from which
   * the next `flushMs` is counted), and the store at close.
   */
  flush(now?: number): Promise<void>;
  /** Newest first; the cursor continues towards older records. Writes nothing: counts not yet written are merged in. */
  list(filter: AuditFilter, limit: number, before: number): Promise<Page<AuditRow>>;
  /** Deletes records older than `olderThan`; how many. */
  purge(olderThan: number): Promise<number>;
}
