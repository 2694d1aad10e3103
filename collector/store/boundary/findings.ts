// The findings part of the Store boundary (store.ts): what the commit stage reads and writes
// of findings inside a unit of work, and what the API reads. Plain types: the SQLite
// implementation is store/findings.ts.
import type { FindingState, Severity, Status } from '../../../proto/domain.js';
import type { Finding, FindingDetail, HistoryEvent, LifecycleState } from '../../finding.js';
import type { Page } from '../paging.js';

/** A stored finding as the commit stage reads it: its identity, what it is counted under, its lifecycle. */
export interface StoredFinding extends LifecycleState {
  readonly seq: number;
  readonly id: string;
  readonly node: string;
  readonly checkId: string;
  readonly subject: string;
  readonly category: string;
  readonly status: string;
  readonly severityRank: number;
}

/** What the latest occurrence said about a finding (its result or finding, as validated at ingest). */
export interface FindingFields {
  readonly cis: string;
  /** Every benchmark control it decides (`cis-1.12:1.1.21`), stored as JSON. */
  readonly references: readonly string[];
  readonly title: string;
  readonly category: string;
  readonly severity: Severity;
  readonly status: string;
  readonly scored: boolean;
  readonly actual: string;
  readonly expected: string;
  readonly source: string;
  readonly sourceFile: string;
  readonly reason: string;
  readonly remediation: string;
  /** JSON, redacted at ingest. */
  readonly detail: string;
  readonly seen: string;
}

/** One write of a finding: its lifecycle after a step, and (with an occurrence) what the occurrence said. */
export interface FindingWrite extends LifecycleState {
  readonly id: string;
  readonly node: string;
  readonly checkId: string;
  readonly subject: string;
  /** Absent: only the lifecycle changed (a resolution, a suppression, an expiry). A new finding needs them. */
  readonly fields?: FindingFields | undefined;
}

export interface FindingFilter {
  /** node: findings of nodes; cluster: cluster findings (node ''). */
  readonly scope?: 'node' | 'cluster' | undefined;
  readonly node?: string | undefined;
  readonly check?: string | undefined;
  readonly category?: string | undefined;
  readonly severity?: Severity | undefined;
  readonly minSeverity?: Severity | undefined;
  readonly state?: FindingState | undefined;
  readonly since?: number | undefined;
  readonly q?: string | undefined;
}

/** The orders of the findings list (GET /api/v1/findings?sort=&order=); store/finding-order.ts reads a page of each. */
export const FINDING_SORTS = ['severity', 'lastSeen', 'firstSeen', 'node', 'check'] as const;
export type FindingSort = (typeof FINDING_SORTS)[number];
export const SORT_ORDERS = ['asc', 'desc'] as const;
export type SortOrder = (typeof SORT_ORDERS)[number];

export const DEFAULT_SORT: FindingSort = 'severity';

/** Each order's default direction, and the order in that direction in words (for the API's documentation). */
export const FINDING_ORDERS: Readonly<Record<FindingSort, { readonly defaultOrder: SortOrder; readonly describe: string }>> = {
  severity: { defaultOrder: 'desc', describe: 'most severe first, then the newest first' },
  lastSeen: { defaultOrder: 'desc', describe: 'seen most recently first' },
  firstSeen: { defaultOrder: 'desc', describe: 'first seen most recently first' },
  node: { defaultOrder: 'asc', describe: 'by node name, the most severe first within a node' },
  check: { defaultOrder: 'asc', describe: 'by check id, the most severe first within a check' },
};

/** Where a page starts: after the finding with these values of the order's key, in this order. */
export interface FindingPosition {
  readonly sort: FindingSort;
  readonly order: SortOrder;
  readonly key: readonly (number | string)[];
}

/** Which order a page of the list is in, and where it starts. */
export interface ListOrder {
  /** Default: severity. */
  readonly sort?: FindingSort | undefined;
  /** Default: the sort's own (FINDING_ORDERS). */
  readonly order?: SortOrder | undefined;
  /** After this position (a cursor's); its sort and order win over the two above. */
  readonly after?: FindingPosition | undefined;
}

/** The API's reads, and retention. */
export interface FindingReads {
  get(id: string): Promise<Finding | undefined>;
  detail(id: string): Promise<FindingDetail | undefined>;
  /** A page of findings in one of the orders (FINDING_SORTS); its nextCursor is sealed. */
  list(filter: FindingFilter, limit: number, how?: ListOrder): Promise<Page<Finding>>;
  /** The position a cursor of `list` names; undefined when it is not one this store issued, unchanged. */
  openCursor(cursor: string): FindingPosition | undefined;
  countByState(): Promise<Record<FindingState, number>>;
  /** Findings by state, category and severity rank (the rollups: a few rows, never the findings table); empty groups left out. */
  totals(): Promise<Array<{ state: FindingState; category: string; severityRank: number; n: number }>>;
  /** The earliest expiry of a suppression in force (ms), if any. */
  nextSuppressionExpiry(): Promise<number | undefined>;
  /** Deletes findings resolved before `olderThan` (their history goes with them). */
  purgeResolved(olderThan: number): Promise<number>;
  /** Deletes history entries last written before `olderThan`. */
  purgeHistory(olderThan: number): Promise<number>;
}

/** What a unit of work reads and writes of findings (store.ts StoreUnit). */
export interface FindingWrites {
  byId(id: string): Promise<StoredFinding | undefined>;
  /** The stored ones of these findings (in one read; a client-server database locks them in seq order). */
  byIds(ids: readonly string[]): Promise<StoredFinding[]>;
  /** Open and suppressed findings of a node. */
  activeOfNode(node: string): Promise<StoredFinding[]>;
  /** Open and suppressed findings of `checkId` with one of these subjects, on every node. */
  activeBySubjects(checkId: string, subjects: readonly string[]): Promise<StoredFinding[]>;
  /** Open and suppressed findings of `checkId` on every node (one the collector raises itself: a few per node at most). */
  activeOfCheck(checkId: string): Promise<StoredFinding[]>;
  /** Open and suppressed cluster findings (scope 'cluster'). */
  activeOfCluster(): Promise<StoredFinding[]>;
  /** Suppressions whose expiry is at or before `now`, the earliest first, at most `limit`. */
  dueSuppressions(now: number, limit: number): Promise<StoredFinding[]>;
  /** Open findings of the node (its rollup, exact at the start of a unit). */
  openCount(node: string): Promise<number>;
  /**
   * Says that about `n` new findings follow in this unit (a hint: more or fewer may come).
   * A client-server database takes their seqs at once and writes them together.
   */
  expectNew(n: number): Promise<void>;
  /** Writes the finding; `before` is its stored state (undefined: a new finding). Returns what is stored now. */
  save(before: StoredFinding | undefined, write: FindingWrite, now: number): Promise<StoredFinding>;
  /** The finding as it is now in this unit (an alert's snapshot). */
  snapshot(id: string): Promise<Finding | undefined>;
  readonly history: HistoryWrites;
  /** The latest result of a check on a subject of the node (an older evaluation never replaces a newer one). */
  nodeResult(node: string, r: { readonly checkId: string; readonly subject: string; readonly status: Status; readonly severity: Severity; readonly scored: boolean }, evaluatedAt: number): Promise<void>;
  /** Recounts the node's compliance from its latest results, judged under `benchmark` (its latest scan's). */
  compliance(node: string, benchmark: string): Promise<void>;
  /** New findings of the node refused by its cap. */
  refused(node: string, n: number): Promise<void>;
}

/** What a unit of work writes to a finding's history (keyed by the finding's seq). */
export interface HistoryWrites {
  /** A transition: always its own entry. `first`: the finding is new, so there is nothing to trim. */
  transition(finding: number, event: Exclude<HistoryEvent, 'seen'>, at: number, severity: string, now: number,
    opts?: { occurrences?: number; note?: string; first?: boolean }): Promise<void>;
  /** An occurrence without a transition: folded into the latest 'seen' entry of the same hour. */
  seen(finding: number, observedAt: number, occurrences: number, severity: string, now: number): Promise<void>;
}
