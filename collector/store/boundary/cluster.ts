// The cluster part of the Store boundary (store.ts): which cluster a database holds (one
// row, migrations 025 and PostgreSQL 006), and adopting it at start. Finding ids are
// fingerprints within the cluster's uid (proto/fingerprint.ts), so a database first adopted
// by a collector with a uid has every finding id rewritten to it; a database of another
// cluster is refused, never rewritten. Plain types: the SQLite implementation is
// store/cluster.ts, the PostgreSQL one store/pg/cluster.ts.

/** Who a cluster is: the kube-system namespace's UID ('' without a Kubernetes API) and a display name (collector/fleet.ts). */
export interface ClusterIdentity {
  readonly uid: string;
  readonly name: string;
}

/**
 * What `adopt` did: `adopted` the database had no cluster yet (its findings, if any, are
 * rekeyed to ours); `rekeyed` it held findings of a collector with no uid, now ours;
 * `renamed` the same uid under another name (the name is updated); `same` nothing to do.
 */
export type AdoptOutcome = 'adopted' | 'rekeyed' | 'renamed' | 'same';

export interface ClusterStore {
  /** The row, or null before any collector adopted the database. */
  identity(): Promise<ClusterIdentity | null>;
  /**
   * Makes the database ours, in one transaction. No row yet, or a row with uid '' while ours
   * is not: every stored finding id (and every webhook outbox and firing row's) is rewritten
   * from the old uid to ours, then the row is written. Same uid: the name updated if it
   * changed. A different non-empty uid: refused with StoreError CLUSTER_MISMATCH naming both
   * clusters, nothing written. `rekeyed` counts the findings whose id was rewritten.
   */
  adopt(identity: ClusterIdentity, now: number): Promise<{ readonly outcome: AdoptOutcome; readonly rekeyed: number }>;
}
