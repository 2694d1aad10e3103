// A finding as the collector tracks it: one declaration for the store that keeps it, the API
// that shows it and the webhooks that announce its changes (each sink maps it to its own
// format). Its `id` is always the fingerprint (proto/fingerprint.ts), `checkId` the check.
// The schema is the API's (it validates responses and writes the OpenAPI document); the type
// is derived from it.
import { Type, type Static, type TLiteral, type TUnion } from '@sinclair/typebox';
import { FINDING_STATES, SEVERITIES, type Category, type FindingState, type Severity } from '../proto/domain.js';

const literals = <T extends string>(xs: readonly T[]): TUnion<TLiteral<T>[]> => Type.Union(xs.map((x) => Type.Literal(x)));
const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);

export const FindingSchema = Type.Object({
  id: Type.String(), node: Type.String(), checkId: Type.String(),
  cis: Type.String({ description: "The CIS Kubernetes Benchmark control among `references` (`4.2.1`), or ''" }),
  // Every benchmark control the finding's problem is, `<benchmark>:<control>` (e.g. cis-1.12:1.1.21).
  references: Type.Array(Type.String(), { description: 'Every benchmark control the finding decides, `<benchmark>:<control>` (`cis-1.12:1.1.21`); docs/one-finding-per-problem.md' }), title: Type.String(),
  // Validated at ingest; the document says "string", as it always has.
  category: Type.Unsafe<Category>(Type.String()), subject: Type.String(), severity: literals(SEVERITIES), status: Type.String(),
  state: literals(FINDING_STATES), scored: Type.Boolean(), actual: Type.String(), expected: Type.String(),
  source: Type.String(), sourceFile: Type.String(), reason: Type.String(), remediation: Type.String(),
  detail: Type.Unknown(), seen: Type.String(), firstSeen: Type.String(), lastSeen: Type.String(),
  count: Type.Integer(), resolvedAt: Nullable(Type.String()),
  suppressedReason: Nullable(Type.String()), suppressedUntil: Nullable(Type.String()),
  suppressedBy: Nullable(Type.String()), suppressedAt: Nullable(Type.String()),
});

/** Times are RFC 3339; `detail` is check-specific (a process finding's pid, parent chain, ...), untrusted text. */
export type Finding = Static<typeof FindingSchema>;

/** Entries of a finding's history: its transitions, and its occurrences folded per hour ('seen'). */
export const HISTORY_EVENTS = ['seen', 'opened', 'reopened', 'escalated', 'resolved', 'suppressed', 'unsuppressed'] as const;
export type HistoryEvent = (typeof HISTORY_EVENTS)[number];

export const HistoryEntrySchema = Type.Object({
  event: literals(HISTORY_EVENTS), at: Type.String(), lastAt: Type.String(), occurrences: Type.Integer(),
  severity: Type.String(), note: Type.String(),
});
export type HistoryEntry = Static<typeof HistoryEntrySchema>;

/** A finding with its history (newest first, bounded). */
export interface FindingDetail extends Finding {
  readonly history: HistoryEntry[];
}

/** The changes of a finding that are announced. `suppressed` only to destinations that ask. */
export const ALERT_EVENTS = ['opened', 'reopened', 'escalated', 'resolved', 'suppressed'] as const;
export type AlertEvent = (typeof ALERT_EVENTS)[number];

/**
 * One announced change of one finding, with the finding as it was right after it: a snapshot
 * taken inside the transaction that made the change, so a later change cannot rewrite what an
 * earlier alert says.
 */
export interface FindingChange {
  readonly event: AlertEvent;
  /** RFC 3339 time of the change. */
  readonly at: string;
  readonly finding: Finding;
}

/**
 * A finding's lifecycle as it is stored (times in ms): what pipeline/lifecycle.ts decides from
 * and writes, and what the store keeps in a finding's row.
 */
export interface LifecycleState {
  readonly state: FindingState;
  readonly severity: Severity;
  readonly firstSeen: number;
  readonly lastSeen: number;
  readonly count: number;
  /** When a pass (or an allow ...) resolved it; kept under a suppression, cleared by a failure. */
  readonly resolvedAt: number | null;
  /** The suppression, set exactly while suppressed: why, until when (null: until lifted), by whom, since when. */
  readonly suppressedReason: string | null;
  readonly suppressedUntil: number | null;
  readonly suppressedBy: string | null;
  readonly suppressedAt: number | null;
}
