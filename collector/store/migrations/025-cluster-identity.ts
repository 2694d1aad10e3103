import type { Migration } from './migration.js';

// The cluster this database belongs to: one row, written when a collector first adopts the
// database (store/cluster.ts). `uid` is the kube-system namespace's UID ('' for a collector
// with no Kubernetes API, `npm start`), `name` the display name from config. Finding ids
// are fingerprints that include the uid (proto/fingerprint.ts), so adopting a uid rewrites
// them; a collector of another cluster is refused the database. WITHOUT ROWID: the singleton
// is a value the row is checked to have, not a key SQLite assigns (as PostgreSQL's 006 has it).
export const m025ClusterIdentity: Migration = {
  version: 25,
  name: 'cluster-identity',
  sql: `
CREATE TABLE cluster_identity (
  singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
  uid TEXT NOT NULL,
  name TEXT NOT NULL,
  adopted_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
`,
};
