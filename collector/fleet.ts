// The clusters a collector can answer for: its own, and on PostgreSQL the other clusters whose
// schemas its database role may read (docs/fleets.md). The API, CLI and dashboard filter and
// group by cluster through this; a collector writes only its own cluster's rows, and the
// others' stores are read-only to it (the database refuses their writes).
import type { ClusterIdentity } from './store/boundary/cluster.js';
import type { Store } from './store/store.js';

export type { ClusterIdentity } from './store/boundary/cluster.js';

export interface FleetMember {
  readonly identity: ClusterIdentity;
  /** This collector's own cluster: the only one it writes. */
  readonly own: boolean;
  /** Its store. For another cluster, read it only: every write is refused by the database. */
  readonly store: Store;
}

export interface Fleet {
  /** Every cluster this collector may read: its own first, then the others by name, then uid. */
  members(): Promise<readonly FleetMember[]>;
  /** Closes what the fleet opened for other clusters (never the own store). */
  close(): Promise<void>;
}

/** A fleet of one: a collector on SQLite, or on PostgreSQL with no other cluster readable. */
export function singleFleet(identity: ClusterIdentity, store: Store): Fleet {
  const members: readonly FleetMember[] = [{ identity, own: true, store }];
  return {
    members: async () => members,
    close: async () => undefined,
  };
}
