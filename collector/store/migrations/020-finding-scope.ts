import type { Migration } from './migration.js';

// Cluster findings (collector/posture/: RBAC and the other posture checks, judged from the
// Kubernetes API) next to the nodes' findings, in the same table, lifecycle and outbox.
//   scope  'node': found on a node (every row before this migration);
//          'cluster': about API objects, with no node. Its `node` is '' (no node's name is
//          empty, so it is never taken for a node), and its id is the fingerprint with an
//          empty node (proto/fingerprint.ts clusterFingerprint), which no node finding's is.
// The check ties the two: a row is a cluster finding exactly when its node is empty. The
// rollups keep the cluster's counts under node '' (node_counts), which the node list, the
// per-node cap and the summary's nodes leave out.
export const m020FindingScope: Migration = {
  version: 20,
  name: 'finding-scope',
  sql: `
ALTER TABLE findings ADD COLUMN scope TEXT NOT NULL DEFAULT 'node'
  CHECK (scope IN ('node', 'cluster') AND (scope = 'cluster') = (node = ''));
CREATE INDEX findings_scope_state ON findings (scope, state);
`,
};
