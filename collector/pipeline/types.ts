// What the pipeline hands to the store: validated, converted from the wire, attributed to
// the node the client certificate names.
import type { Category, Result, Severity, Status } from '../../proto/domain.js';
import type { NodeExposure } from '../store/boundary/nodes.js';

/** A result as the collector takes it: `checkId` names the check (a Result's `id` on the wire and in reports). */
export interface IncomingResult extends Omit<Result, 'id'> {
  readonly checkId: string;
  readonly occurrences: number;
}

export interface IncomingScan {
  readonly node: string;
  readonly epoch: string;
  readonly sequence: number;
  readonly scannedAt: number;
  readonly benchmark: string;
  readonly scope: readonly string[];
  readonly results: readonly IncomingResult[];
  readonly trigger: string;
  /** What listens on the node, when the agent collected it. */
  readonly exposure?: NodeExposure;
}

export interface IncomingFinding {
  readonly checkId: string;
  readonly subject: string;
  readonly title: string;
  readonly category: Category;
  readonly severity: Severity;
  readonly status: Status;
  readonly observedAt: number;
  readonly occurrences: number;
  readonly seen: string;
  readonly remediation: string;
  readonly detail: string;
}

export interface IncomingBatch {
  readonly node: string;
  readonly epoch: string;
  readonly sequence: number;
  readonly findings: readonly IncomingFinding[];
}

/** What one agent message did. */
export interface CommitOutcome {
  /** Received before (same node, epoch and sequence): acknowledged, nothing changed. */
  readonly duplicate: boolean;
  /** The transitions it made, the agent-stale finding it resolved included. */
  readonly changes: ReadonlyArray<{ readonly findingId: string; readonly node: string; readonly checkId: string; readonly event: string }>;
  /** Failing results and findings committed. */
  readonly updated: number;
  /** New findings refused because the node is at its open-finding cap. */
  readonly refused: number;
  /** Process findings for what the central baseline allows, sent before the agent applied the allow. */
  readonly ignored: number;
}
