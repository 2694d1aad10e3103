// The clusters a collector can answer for: its own, and on PostgreSQL the other clusters whose
// schemas its database role may read (docs/fleets.md). The API, CLI and dashboard filter and
// group by cluster through this; a collector writes only its own cluster's rows, and the
// others' stores are read-only to it (the database refuses their writes).
import type { ClusterIdentity } from './store/boundary/cluster.js';
import type { Fleet, FleetMember } from './store/boundary/fleet.js';
import type { Store } from './store/store.js';

export type { ClusterIdentity } from './store/boundary/cluster.js';
export type { Fleet, FleetMember } from './store/boundary/fleet.js';

/** A fleet of one: a collector on SQLite, or on PostgreSQL with no other cluster readable. */
export function singleFleet(identity: ClusterIdentity, store: Store): Fleet {
  const members: readonly FleetMember[] = [{ identity, own: true, store }];
  return {
    members: async () => members,
    close: async () => undefined,
  };
}
