import type { Migration } from './migration.js';

// Quotas against one client or one node growing the database (issue 12).
//   audit_log.count, last_at   an anonymous refusal (a bad token, a refused dashboard login) is
//                              one row per source, reason and window: how many, first (at) and
//                              last time. Every other record has count 1 and last_at = at.
//   baselines.charged_to       the node whose own key limit the baseline counts against: it
//                              created it, and the pod watch could not vouch for it (a
//                              container:<id> key, or any key without a pod watch). '' for the
//                              rest (an operator's, a host key, a workload the watch showed).
//   nodes.baseline_keys_*      baselines of a node's reports the collector refused, by reason.
export const m007Quotas: Migration = {
  version: 7,
  name: 'quotas',
  sql: `
ALTER TABLE audit_log ADD COLUMN count INTEGER NOT NULL DEFAULT 1;
ALTER TABLE audit_log ADD COLUMN last_at INTEGER NOT NULL DEFAULT 0;
UPDATE audit_log SET last_at = at;

ALTER TABLE baselines ADD COLUMN charged_to TEXT NOT NULL DEFAULT '';
-- Unattributed container keys belong to one node: the one that taught their first item.
UPDATE baselines SET charged_to = coalesce((SELECT n.node FROM baseline_item_nodes n WHERE n.baseline = baselines.seq
  ORDER BY n.first_seen, n.node LIMIT 1), '') WHERE key LIKE 'container:%';
CREATE INDEX baselines_charged_to ON baselines (charged_to) WHERE charged_to <> '';
-- New baselines refused because their node was at its own limit, all nodes together.
INSERT INTO baseline_meta (name, value) VALUES ('keys_over_node_limit', 0);

-- Refused: the pod watch shows no such workload on the node; the node is at its own key
-- limit; the collector is at its limit of baselines.
ALTER TABLE nodes ADD COLUMN baseline_keys_not_on_node INTEGER NOT NULL DEFAULT 0;
ALTER TABLE nodes ADD COLUMN baseline_keys_over_node_limit INTEGER NOT NULL DEFAULT 0;
ALTER TABLE nodes ADD COLUMN baseline_keys_central_full INTEGER NOT NULL DEFAULT 0;
`,
};
