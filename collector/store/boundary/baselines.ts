// The baselines part of the Store boundary (store.ts): what nodes report, what operators
// change, what agents are sent, and the bounds. Plain types and constants: the SQLite
// implementation is store/baselines.ts, whose header holds the merge and trust rules.
import { ITEM_SOURCE_WIRE, type ItemSourceName } from '../../../proto/baseline-key.js';
import type { DigestSource } from '../../../proto/exec-identity.js';
import type { Page } from '../paging.js';

export const BASELINE_LIMITS = { keys: 10_000, operatorKeys: 1000, itemsPerKey: 2048, nodesPerItem: 32 } as const;

/**
 * How long after a node's lock (collector time) a node's report may still bring items and
 * contents it learned before the lock (store/baselines.ts, "On its way"): agents send what they learn within a
 * second; the rest is room for a reconnect and a busy collector.
 */
export const LOCK_IN_FLIGHT_MS = 30_000;

export const BASELINE_STATES = ['learning', 'locked'] as const;
export type CentralState = (typeof BASELINE_STATES)[number];
export const ITEM_SOURCES = Object.keys(ITEM_SOURCE_WIRE) as ItemSource[];
export type ItemSource = ItemSourceName;
export const BASELINE_ACTIONS = ['allow', 'remove', 'lock', 'unlock'] as const;
export type BaselineAction = (typeof BASELINE_ACTIONS)[number];
/** What an operator's allow allows of each executable: the contents its findings saw (the default), or any content. */
export const ALLOW_CONTENTS = ['seen', 'any'] as const;
export type AllowContent = (typeof ALLOW_CONTENTS)[number];

/** One content of an item, as a node reports it or an agent is sent it. */
export interface ReportedDigest {
  readonly sha256: string;
  readonly source: DigestSource;
  /** The container image it ran in; '' on the host. */
  readonly image: string;
  /** When it joined (ms); 0 in a report: unknown, read as the time of receipt. */
  readonly firstSeen: number;
}

/** One baseline from a node's report (validated by ingest). */
export interface ReportedBaseline {
  readonly key: string;
  readonly state: CentralState;
  readonly version: number;
  readonly items: ReadonlyArray<{
    readonly path: string; readonly source: ItemSource; readonly firstSeen: number; readonly digests?: readonly ReportedDigest[];
    /** The interpreter ran inline code while the node's baseline learned. */
    readonly inlineCode?: boolean;
  }>;
  /** What the baseline's processes listened on while it learned (`tcp/0.0.0.0:8080`). */
  readonly listens?: readonly string[];
}

/** One listen of a central baseline (docs/exposure.md). */
export interface BaselineListen {
  readonly listen: string;
  /** `learned`: a node reported it; `operator`: an operator allowed it. */
  readonly source: 'learned' | 'operator';
  /** The node that first reported it, or the operator who allowed it. */
  readonly firstNode: string;
  readonly firstSeen: string;
  readonly lastSeen: string;
}

/** At most this many listens per central baseline; more are refused (counted). */
export const MAX_LISTENS_PER_BASELINE = 256;

/** What an operator's allow allows of each executable: any content, or these contents (per path). */
export interface ContentToAllow {
  readonly anyContent: boolean;
  readonly digests: ReadonlyMap<string, readonly string[]>;
}

/** What of an executable the central baseline allows cluster-wide. */
export interface AllowedContents {
  readonly anyContent: boolean;
  readonly digests: readonly string[];
}

export interface ReportOutcome {
  /** Keys every node should adopt now: they locked, or items joined them while locked. */
  readonly adoptAll: string[];
  /** Executables allowed cluster-wide by this report (their open findings resolve). */
  readonly allowed: Array<{ readonly key: string; readonly paths: string[] }>;
  /** Keys the node holds at a version below the central one: it is sent them again. */
  readonly behind: string[];
  readonly itemsAdded: number;
  readonly itemsDropped: number;
  /** Items new to a locked baseline that it did not take (not on their way at a node's lock; store/baselines.ts). */
  readonly itemsRefused: number;
  readonly digestsAdded: number;
  /** Contents beyond ITEM_DIGEST_LIMITS.perItem. */
  readonly digestsDropped: number;
  /** Contents the trust rules turned away (a locked baseline; store/baselines.ts). */
  readonly digestsRefused: number;
  /** New baselines refused because the collector holds BASELINE_LIMITS.keys. */
  readonly keysDropped: number;
  /** New baselines refused because the node was at its own limit (ReportQuota). */
  readonly keysOverNodeLimit: number;
  readonly listensAdded: number;
  /** Listens past MAX_LISTENS_PER_BASELINE. */
  readonly listensDropped: number;
  /** Listens new to a locked baseline that it did not take (not on their way at a node's lock). */
  readonly listensRefused: number;
}

/** What one node's report may create. */
export interface ReportQuota {
  /** Baselines charged to one node at most. */
  readonly maxKeysPerNode: number;
  /** The pod watch shows this key's workload on the node (or it is a host key): not charged. */
  readonly vouched: (key: string) => boolean;
}

/** What deleting a node took with it. */
export interface NodeBaselineCleanup {
  /** Baselines charged to the node that nothing else holds on to (no other node taught them, no operator touched them). */
  readonly deleted: number;
}

/** What an agent needs to catch up with one central baseline. */
export interface SyncEntry {
  readonly key: string;
  readonly version: number;
  readonly state: CentralState;
  readonly lockedBy: 'operator' | 'node' | null;
  readonly unlockVersion: number;
  readonly items: readonly SyncItem[];
  readonly removed: readonly string[];
  /** The whole listen set (what an adopting agent takes) ... */
  readonly listens: readonly string[];
  /** ... and the operators' listens in it (what catching up with a learning baseline brings). */
  readonly operatorListens: readonly string[];
}

export interface SyncItem {
  readonly path: string;
  readonly source: ItemSource;
  readonly firstSeen: number;
  readonly digests: readonly ReportedDigest[];
  readonly anyContent: boolean;
  readonly inlineCode: boolean;
}

export interface CentralDigest {
  readonly sha256: string;
  readonly source: DigestSource;
  readonly image: string;
  /** The node that taught it first, or the operator who allowed it. */
  readonly addedBy: string;
  readonly firstSeen: string;
  readonly lastSeen: string;
  /** Nodes that taught it (the first BASELINE_LIMITS.nodesPerItem). */
  readonly taughtBy: string[];
}

export interface CentralItem {
  readonly path: string;
  readonly source: ItemSource;
  /** The node that taught it first, or the operator who allowed it. */
  readonly addedBy: string;
  readonly firstSeen: string;
  readonly lastSeen: string;
  /** Nodes that taught it (the first BASELINE_LIMITS.nodesPerItem). */
  readonly taughtBy: string[];
  /** Exactly one node ever taught it. */
  readonly singleNode: boolean;
  /** An operator allowed it with any content: its contents are not judged. */
  readonly anyContent: boolean;
  /** The interpreter ran inline code while the baseline learned. */
  readonly inlineCode: boolean;
  /** The contents that ran at this path and belong to the baseline (none: it predates contents). */
  readonly digests: CentralDigest[];
}

export interface CentralBaseline {
  readonly key: string;
  readonly namespace: string;
  readonly workload: { readonly kind: string; readonly name: string } | null;
  readonly container: string;
  readonly state: CentralState;
  readonly lockedBy: 'operator' | 'node' | null;
  /** The operator (token name) or the node that locked it. */
  readonly lockedByName: string;
  readonly lockedAt: string | null;
  readonly version: number;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly items: CentralItem[];
  readonly removed: Array<{ readonly path: string; readonly removedBy: string; readonly removedAt: string }>;
  /** Items a report brought beyond BASELINE_LIMITS.itemsPerKey. */
  readonly itemsDropped: number;
  /** The node whose own limit it counts against ('' for none). */
  readonly chargedTo: string;
}

export interface BaselineFilter {
  readonly key?: string | undefined;
  readonly namespace?: string | undefined;
  readonly workload?: string | undefined;
  readonly state?: CentralState | undefined;
  readonly chargedTo?: string | undefined;
}

export interface ChangeOutcome {
  readonly version: number;
  /** The executables the change concerned (allowed or removed). */
  readonly paths: string[];
}

/** What the store's baselines count (besides each baseline's own dropped items). */
export interface BaselineCounters {
  /** The global version counter. */
  readonly version: number;
  readonly keys: number;
  readonly keysDropped: number;
  readonly keysOverNodeLimit: number;
  readonly itemsDropped: number;
  readonly itemsRefused: number;
  readonly digestsDropped: number;
  readonly digestsRefused: number;
  readonly listensDropped: number;
  readonly listensRefused: number;
}

/**
 * Central process baselines: nodes' reports merged, operators' changes, what agents need to
 * catch up. The merge and trust rules a backend keeps are in store/baselines.ts's header.
 */
export interface BaselineStore {
  /**
   * Merges one node's report; one transaction. A baseline the report would create is
   * refused (counted) when the collector holds BASELINE_LIMITS.keys, or when the quota does
   * not vouch for it and the node is at its own limit.
   */
  applyReport(node: string, baselines: readonly ReportedBaseline[], now: number, quota?: ReportQuota): Promise<ReportOutcome>;
  /** The baseline's listen set, by listen: what its processes listened on while learning, and the operators' allows. */
  listens(key: string): Promise<BaselineListen[]>;
  /**
   * An operator allows a listen (literal or an address class's) for `key`; one transaction.
   * Creates the baseline when there is none. Throws StoreError BASELINE_LIMIT when there is
   * no room for the baseline or the listen.
   */
  allowListen(key: string, listen: string, by: string, now: number): Promise<ChangeOutcome>;
  /**
   * An operator's change; one transaction. Creates the baseline when there is none.
   * Throws StoreError BASELINE_LIMIT when there is no room for it or its new items.
   * An allow allows `content` of each executable (default: any content).
   */
  change(action: BaselineAction, key: string, paths: readonly string[], by: string, now: number, content?: ContentToAllow): Promise<ChangeOutcome>;
  /** Deletes the baseline (items, removals and who taught what with it); false when there was none. */
  delete(key: string): Promise<boolean>;
  /** A node is deleted: the baselines charged to it that nothing else holds on to go too. */
  deleteChargedTo(node: string): Promise<NodeBaselineCleanup>;
  /** Baselines charged to the node (its own limit counts them). */
  chargedTo(node: string): Promise<number>;
  get(key: string): Promise<CentralBaseline | undefined>;
  /** Undefined when the cursor is not one this store issued. */
  list(filter: BaselineFilter, limit: number, cursor: string | undefined): Promise<Page<CentralBaseline> | undefined>;
  /** What an agent needs to catch up with `key`. */
  sync(key: string): Promise<SyncEntry | undefined>;
  /** Baselines changed after `version` (oldest change first), except unattributed container keys. */
  changedSince(version: number, limit: number): Promise<SyncEntry[]>;
  /** The executable is allowed for the key cluster-wide: by an operator, or in a locked baseline. */
  isAllowed(key: string, path: string): Promise<boolean>;
  /**
   * What of the executable is allowed for the key cluster-wide (by an operator, or in a locked
   * baseline): any content, or these contents (none: the item predates contents). Undefined
   * when the executable is not allowed.
   */
  allowedContents(key: string, path: string): Promise<AllowedContents | undefined>;
  /** An agent has applied versions up to `version`: new changes must be numbered above it. */
  raiseVersion(version: number): Promise<void>;
  counters(): Promise<BaselineCounters>;
}
