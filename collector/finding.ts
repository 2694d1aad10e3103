// A finding as the collector tracks it: one declaration for the store that keeps it, the API
// that shows it and the webhooks that announce its changes (each sink maps it to its own
// format). Its `id` is always the fingerprint (proto/fingerprint.ts), `checkId` the check.
// The schema is the API's (it validates responses and writes the OpenAPI document); the type
// is derived from it.
import { Type, type Static } from '@sinclair/typebox';
import { FINDING_STATES, SEVERITIES, type Category, type FindingState, type Severity } from '../proto/domain.js';
import { literals, nullable } from './schema.js';

/** Where a finding is: on a node, or in the cluster's API objects (migration 019). */
export const FINDING_SCOPES = ['node', 'cluster'] as const;
export type FindingScope = (typeof FINDING_SCOPES)[number];

export const FindingSchema = Type.Object({
  id: Type.String({ description: 'Its fingerprint: the first 32 hex characters of SHA-256(clusterUid NUL node "\\n" checkId "\\n" subject), without "clusterUid NUL" when the collector has no cluster uid; a cluster finding\'s node is empty there' }),
  scope: literals(FINDING_SCOPES, 'node: found on a node by its agent (or about its agent); cluster: about Kubernetes API objects (RBAC, posture), judged by the collector, with no node'),
  node: Type.String({ description: "The node it was found on; '' for a cluster finding" }),
  checkId: Type.String({ description: 'The check that found it (e.g. cis-4.2.1, proc-unexpected)' }),
  cis: Type.String({ description: "The CIS Kubernetes Benchmark control among `references` (`4.2.1`), or ''" }),
  // Every benchmark control the finding's problem is, `<benchmark>:<control>` (e.g. cis-1.12:1.1.21).
  references: Type.Array(Type.String(), { description: 'Every benchmark control the finding decides, `<benchmark>:<control>` (`cis-1.12:1.1.21`); docs/one-finding-per-problem.md' }),
  title: Type.String({ description: "The check's title" }),
  // Validated at ingest; the document says "string", as it always has.
  category: Type.Unsafe<Category>(Type.String({ description: "The check's category (e.g. kubelet, control-plane, process)" })),
  subject: Type.String({ description: 'What on the node it is about: a file, a flag, a process (untrusted text from the node); for a cluster finding, its key among the posture findings (`<check>|<binding>|<subject>`)' }),
  severity: literals(SEVERITIES, 'How bad it is; it can change as the check judges again (escalated)'),
  status: Type.String({ description: "The check's latest result for it: fail or warn" }),
  state: literals(FINDING_STATES, 'open, resolved (a pass or an operator resolved it) or suppressed'),
  scored: Type.Boolean({ description: 'The check counts in the compliance score' }),
  actual: Type.String({ description: 'What the node has (untrusted text from the node)' }),
  expected: Type.String({ description: 'What the check expects' }),
  source: Type.String({ description: 'Where the agent read it (a process flag, a config file, /proc ...)' }),
  sourceFile: Type.String({ description: 'The file it was read from, when there is one; empty otherwise' }),
  reason: Type.String({ description: 'Why the check judged so, in words' }),
  remediation: Type.String({ description: 'How to fix it' }),
  detail: Type.Unknown({ description: "Check-specific details (a process finding's pid, parents, ...); untrusted text from the node" }),
  seen: Type.String({ description: 'How it was last seen: scan, or event for a process seen at exec' }),
  firstSeen: Type.String({ description: 'When it was first seen (RFC 3339)' }),
  lastSeen: Type.String({ description: 'When it was last seen (RFC 3339)' }),
  count: Type.Integer({ description: 'Times it was seen, all told' }),
  resolvedAt: nullable(Type.String(), 'When it resolved; null unless resolved'),
  suppressedReason: nullable(Type.String(), "The suppression's reason; null unless suppressed"),
  suppressedUntil: nullable(Type.String(), 'When the suppression ends by itself; null when it does not, or the finding is not suppressed'),
  suppressedBy: nullable(Type.String(), 'Who suppressed it (a token name); null unless suppressed'),
  suppressedAt: nullable(Type.String(), 'When it was suppressed; null unless suppressed'),
});

/** Times are RFC 3339; `detail` is check-specific (a process finding's pid, parent chain, ...), untrusted text. */
export type Finding = Static<typeof FindingSchema>;

/** Entries of a finding's history: its transitions, and its occurrences folded per hour ('seen'). */
export const HISTORY_EVENTS = ['seen', 'opened', 'reopened', 'escalated', 'resolved', 'suppressed', 'unsuppressed'] as const;
export type HistoryEvent = (typeof HISTORY_EVENTS)[number];

export const HistoryEntrySchema = Type.Object({
  event: literals(HISTORY_EVENTS, 'A transition, or seen: the occurrences of one hour folded into one entry'),
  at: Type.String({ description: 'When it happened (the first occurrence of a seen entry)' }),
  lastAt: Type.String({ description: 'The last occurrence of a seen entry; at for a transition' }),
  occurrences: Type.Integer({ description: 'Occurrences a seen entry stands for; 1 for a transition' }),
  severity: Type.String({ description: 'The severity at that time' }),
  note: Type.String({ description: 'Who or what made the change (e.g. allowed by <token name>, suppressed with its reason); may be empty' }),
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
