import type { Migration } from './migration.js';

// What operators need on top of the initial schema: who suppressed a finding and when, a
// bounded history per finding, per-node compliance kept up to date at commit time, the
// audit log, and indexes shaped like the API's filters and the summary's groupings.
export const m002Operations: Migration = {
  version: 2,
  name: 'operations',
  sql: `
ALTER TABLE findings ADD COLUMN suppressed_by TEXT;
ALTER TABLE findings ADD COLUMN suppressed_at INTEGER;

-- A bounded log per finding: lifecycle transitions as they happen, and occurrences folded
-- into one 'seen' entry per hour. Trimmed to the newest entries on insert; purged by age.
-- Keyed by the finding's seq, not its id: a new finding's entries append to the index
-- instead of landing on a random page, and the index stays small.
CREATE TABLE finding_history (
  seq         INTEGER PRIMARY KEY,
  finding_seq INTEGER NOT NULL REFERENCES findings (seq) ON DELETE CASCADE,
  event       TEXT NOT NULL CHECK (event IN ('seen', 'opened', 'reopened', 'escalated', 'resolved', 'suppressed', 'unsuppressed')),
  at          INTEGER NOT NULL,
  last_at     INTEGER NOT NULL,
  occurrences INTEGER NOT NULL DEFAULT 0,
  severity    TEXT NOT NULL,
  note        TEXT NOT NULL DEFAULT '',
  recorded_at INTEGER NOT NULL
) STRICT;
CREATE INDEX finding_history_finding ON finding_history (finding_seq, seq);
CREATE INDEX finding_history_recorded ON finding_history (recorded_at);

-- Compliance per node, recomputed from node_results whenever a scan report commits.
ALTER TABLE nodes ADD COLUMN scored_pass INTEGER NOT NULL DEFAULT 0;
ALTER TABLE nodes ADD COLUMN scored_total INTEGER NOT NULL DEFAULT 0;
ALTER TABLE nodes ADD COLUMN failing_checks INTEGER NOT NULL DEFAULT 0;
UPDATE nodes SET
  scored_pass = (SELECT count(*) FROM node_results r WHERE r.node = nodes.name AND r.scored = 1 AND r.status = 'pass'),
  scored_total = (SELECT count(*) FROM node_results r WHERE r.node = nodes.name AND r.scored = 1 AND r.status IN ('pass', 'fail')),
  failing_checks = (SELECT count(DISTINCT r.check_id) FROM node_results r WHERE r.node = nodes.name AND r.status = 'fail');
CREATE INDEX nodes_last_seen ON nodes (last_seen);

-- Every API call that changes something: who, what, when, and how it ended.
CREATE TABLE audit_log (
  seq     INTEGER PRIMARY KEY,
  at      INTEGER NOT NULL,
  actor   TEXT NOT NULL,
  role    TEXT NOT NULL,
  action  TEXT NOT NULL,
  target  TEXT NOT NULL DEFAULT '',
  detail  TEXT NOT NULL DEFAULT '{}',
  status  INTEGER NOT NULL,
  remote  TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_actor ON audit_log (actor, seq);
CREATE INDEX audit_log_action ON audit_log (action, seq);

-- Filters. SQLite appends the rowid (seq) to every index, so an equality prefix followed by
-- "seq > cursor ORDER BY seq" walks an index in page order without sorting. 001 covers
-- node, check, category and state+severity; state alone is added here. The since filter is
-- checked on rows walked in order (an index on last_seen would need its matches sorted, and
-- it was rewritten on every occurrence), so 001's index on it goes.
CREATE INDEX findings_state_seq ON findings (state);
DROP INDEX findings_last_seen;
-- Suppressions due to expire; resolved findings by age (retention). Partial: small.
CREATE INDEX findings_suppressed_until ON findings (suppressed_until) WHERE state = 'suppressed';
CREATE INDEX findings_resolved_at ON findings (resolved_at) WHERE state = 'resolved';

-- Rollups behind the summary and the node list, so neither ever scans the findings table.
-- The store keeps them exact: every change to findings adds its deltas, which are written in
-- the same transaction (summed per rollup row, so a batch of a hundred findings on one node
-- costs a few row updates, not a hundred).
--   node_counts:    per state and node, findings by severity (s0 = info ... s4 = critical)
--   finding_totals: per state, category and severity, across the cluster
--   check_nodes:    per state, failing check and node, how many findings
--   check_spread:   per state and failing check, on how many nodes, and its findings by severity
CREATE TABLE node_counts (
  state TEXT NOT NULL, node TEXT NOT NULL, total INTEGER NOT NULL,
  s0 INTEGER NOT NULL, s1 INTEGER NOT NULL, s2 INTEGER NOT NULL, s3 INTEGER NOT NULL, s4 INTEGER NOT NULL,
  PRIMARY KEY (state, node)
) STRICT, WITHOUT ROWID;
CREATE TABLE finding_totals (
  state TEXT NOT NULL, category TEXT NOT NULL, severity_rank INTEGER NOT NULL, n INTEGER NOT NULL,
  PRIMARY KEY (state, category, severity_rank)
) STRICT, WITHOUT ROWID;
CREATE TABLE check_nodes (
  state TEXT NOT NULL, check_id TEXT NOT NULL, node TEXT NOT NULL, n INTEGER NOT NULL,
  PRIMARY KEY (state, check_id, node)
) STRICT, WITHOUT ROWID;
CREATE TABLE check_spread (
  state TEXT NOT NULL, check_id TEXT NOT NULL, nodes INTEGER NOT NULL, findings INTEGER NOT NULL,
  s0 INTEGER NOT NULL, s1 INTEGER NOT NULL, s2 INTEGER NOT NULL, s3 INTEGER NOT NULL, s4 INTEGER NOT NULL,
  PRIMARY KEY (state, check_id)
) STRICT, WITHOUT ROWID;

INSERT INTO node_counts SELECT state, node, count(*), sum(severity_rank = 0), sum(severity_rank = 1), sum(severity_rank = 2),
  sum(severity_rank = 3), sum(severity_rank = 4) FROM findings GROUP BY state, node;
INSERT INTO finding_totals SELECT state, category, severity_rank, count(*) FROM findings GROUP BY state, category, severity_rank;
INSERT INTO check_nodes SELECT state, check_id, node, count(*) FROM findings WHERE status = 'fail' GROUP BY state, check_id, node;
INSERT INTO check_spread SELECT state, check_id, count(DISTINCT node), count(*), sum(severity_rank = 0), sum(severity_rank = 1),
  sum(severity_rank = 2), sum(severity_rank = 3), sum(severity_rank = 4) FROM findings WHERE status = 'fail' GROUP BY state, check_id;
`,
};
