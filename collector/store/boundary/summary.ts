// The summary part of the Store boundary (store.ts). Plain types: the SQLite implementation is
// store/summary.ts.
import type { FindingState, Severity } from '../../../proto/domain.js';

export interface NodeCount {
  readonly node: string;
  readonly total: number;
  readonly bySeverity: Record<Severity, number>;
}

export interface CheckSpread {
  readonly checkId: string;
  readonly title: string;
  readonly category: string;
  /** The highest severity among its failing findings. */
  readonly severity: Severity;
  /** How many nodes it fails on. */
  readonly nodes: number;
  readonly findings: number;
}

export interface Summary {
  readonly state: FindingState;
  readonly generatedAt: string;
  readonly nodes: { readonly total: number; readonly connected: number; readonly stale: number };
  readonly compliance: {
    readonly score: number | null; readonly passing: number; readonly scored: number;
    /** The same per benchmark the nodes were judged under (a node judged under EKS counts under cis-eks-1.7), by name. */
    readonly byBenchmark: ReadonlyArray<{ readonly benchmark: string; readonly nodes: number; readonly score: number | null; readonly passing: number; readonly scored: number }>;
  };
  readonly findings: {
    readonly total: number;
    readonly bySeverity: Record<Severity, number>;
    readonly byCategory: Record<string, number>;
  };
  /** Cluster findings (posture: RBAC ...) in this state; also counted in `findings`, never in `byNode`. */
  readonly cluster: { readonly total: number; readonly bySeverity: Record<Severity, number> };
  /** Nodes with the most findings in this state, worst first. */
  readonly byNode: NodeCount[];
  /** Failing checks with findings in this state on the most nodes. */
  readonly topChecks: CheckSpread[];
}

/** Cross-node aggregation (see store/summary.ts). */
export interface SummaryQueries {
  summary(opts: { state: FindingState; top: number; now: number; staleAfterMs: number }): Promise<Summary>;
}
