// SQLite's migration 025 (cluster-identity) on PostgreSQL. Each cluster's collector keeps its
// tables in a schema of its own (docs/fleets.md); this row says which cluster a schema holds,
// and its presence is how a fleet reader finds the clusters it may read.
import type { PgMigration } from '../migration.js';

export const m006ClusterIdentity: PgMigration = {
  version: 6,
  name: 'cluster-identity',
  sql: `
CREATE TABLE cluster_identity (
  singleton  smallint PRIMARY KEY CHECK (singleton = 1),
  uid        text NOT NULL,
  name       text NOT NULL,
  adopted_at bigint NOT NULL
);
`,
};
