import type { Migration } from './migration.js';

// The nodes of the cluster as the collector's node watch sees them (collector/kube/node-watch.ts),
// whether or not an agent ever reported them: the node inventory lists a node known only from
// the API, and the sweeper raises agent-missing for a Ready node the agent DaemonSet should
// run on that no agent has reported (collector/pipeline/sweeper.ts).
//   agent_expected  1: the agent DaemonSet runs a pod there (collector/kube/placement.ts);
//                   0: it does not, and `reason` says why (a taint, Windows, Fargate ...);
//                   NULL: unknown (the DaemonSet could not be read: `reason` says why).
//   eligible_since  when the collector first saw it Ready with the DaemonSet expected there,
//                   for its uid (a node recreated under the same name starts again); NULL
//                   while it is not.
// Rows are replaced by each list and changed by each watch event; a node deleted from the
// cluster loses its row.
export const m015ClusterNodes: Migration = {
  version: 15,
  name: 'cluster-nodes',
  sql: `
CREATE TABLE cluster_nodes (
  name            TEXT PRIMARY KEY,
  uid             TEXT NOT NULL,
  ready           INTEGER NOT NULL CHECK (ready IN (0, 1)),
  agent_expected  INTEGER CHECK (agent_expected IN (0, 1)),
  reason          TEXT NOT NULL DEFAULT '',
  kubelet_version TEXT NOT NULL DEFAULT '',
  os_image        TEXT NOT NULL DEFAULT '',
  kernel          TEXT NOT NULL DEFAULT '',
  arch            TEXT NOT NULL DEFAULT '',
  eligible_since  INTEGER,
  first_seen      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL
) STRICT;
CREATE INDEX cluster_nodes_eligible ON cluster_nodes (eligible_since) WHERE eligible_since IS NOT NULL;
`,
};
