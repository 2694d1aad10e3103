// A row of the findings table and the Finding it is (collector/finding.ts): one mapping for
// every read, the API's and the outbox's snapshots alike.
import { SEVERITIES, type Category, type FindingState, type Severity } from '../../proto/domain.js';
import type { Finding } from '../finding.js';
import { isoTime, isoTimeOrNull } from './time.js';

export interface FindingRowRaw {
  seq: number; id: string; node: string; check_id: string; cis: string; benchmark_refs: string; title: string; category: string; subject: string;
  severity: Severity; severity_rank: number; status: string; state: FindingState; scored: number; actual: string;
  expected: string; source: string; source_file: string; reason: string; remediation: string; detail: string;
  seen: string; first_seen: number; last_seen: number; count: number; resolved_at: number | null;
  suppressed_reason: string | null; suppressed_until: number | null; suppressed_by: string | null;
  suppressed_at: number | null; updated_at: number;
  /** Migration 020: 'cluster' for a posture finding (node ''), else 'node'. */
  scope: string;
}

/** The stored detail JSON; `{}` for what does not parse (the detail is informational). */
export function parseDetail(s: string): unknown {
  try {
    return JSON.parse(s) as unknown;
  } catch {
    return {};
  }
}

/** The stored references (JSON, validated at ingest); none for what does not parse. */
export function parseReferences(s: string): string[] {
  try {
    const v = JSON.parse(s) as unknown;
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

/**
 * What came from a node was redacted before it was stored (at ingest, or by migration 008 for
 * rows stored before ingest did).
 */
export function toFinding(r: FindingRowRaw): Finding {
  return {
    id: r.id, scope: r.scope === 'cluster' ? 'cluster' : 'node', node: r.node, checkId: r.check_id, cis: r.cis, references: parseReferences(r.benchmark_refs), title: r.title, category: r.category as Category, subject: r.subject,
    severity: SEVERITIES.includes(r.severity) ? r.severity : 'info', status: r.status, state: r.state, scored: r.scored === 1,
    actual: r.actual, expected: r.expected, source: r.source, sourceFile: r.source_file, reason: r.reason, remediation: r.remediation,
    detail: parseDetail(r.detail), seen: r.seen, firstSeen: isoTime(r.first_seen), lastSeen: isoTime(r.last_seen), count: r.count,
    resolvedAt: isoTimeOrNull(r.resolved_at), suppressedReason: r.suppressed_reason, suppressedUntil: isoTimeOrNull(r.suppressed_until),
    suppressedBy: r.suppressed_by, suppressedAt: isoTimeOrNull(r.suppressed_at),
  };
}
