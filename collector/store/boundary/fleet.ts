// The clusters a collector can answer for, as stores (collector/fleet.ts says what they are
// for): its own, and on PostgreSQL the other clusters whose schemas its role may read
// (store/pg/fleet.ts). Here, beside the store, so the PostgreSQL fleet and the API share one
// declaration without the store importing anything above it.
import type { Store } from '../store.js';
import type { ClusterIdentity } from './cluster.js';

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
