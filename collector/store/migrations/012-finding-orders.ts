import { randomBytes } from 'node:crypto';
import type { Migration } from './migration.js';

// The orders of the findings list (issue 17; collector/store/finding-order.ts). Each order has
// an index that yields it without sorting: its leading columns are (state, severity_rank), so
// one index range per (state, severity) holds the rows already in the order's sequence, and
// the list merges those ranges (SQLite's MERGE of UNION ALL) instead of sorting the table.
//   findings_by_first_seen   sort=severity (then firstSeen) and sort=firstSeen
//   findings_by_last_seen    sort=lastSeen
//   findings_by_node         sort=node (and the node filter of that order)
//   findings_by_check        sort=check (and the check filter of that order)
// SQLite appends the rowid (seq) to each, the last tie-breaker of every order. They start with
// the columns of 001's (state, severity_rank) and 002's (state) indexes, which therefore go.
// The (node, state), (check_id, state) and (category, state) indexes stay: the filters of the
// other orders and the unexpected-process list walk them in seq order.
//
// check_totals counts findings per state, check and severity, as node_counts and
// finding_totals (002) do per node and per category: with them the list knows, before it
// reads, how many findings a node, check or category filter matches in each index range.
// store_secrets holds the key that seals the list's cursors (collector/store/paging.ts): a
// cursor this database did not issue, or one changed on the way, is refused.
export const m012FindingOrders: Migration = {
  version: 12,
  name: 'finding-orders',
  sql: `
CREATE INDEX findings_by_first_seen ON findings (state, severity_rank, first_seen);
CREATE INDEX findings_by_last_seen ON findings (state, severity_rank, last_seen);
CREATE INDEX findings_by_node ON findings (state, severity_rank, node);
CREATE INDEX findings_by_check ON findings (state, severity_rank, check_id);
DROP INDEX findings_state_severity;
DROP INDEX findings_state_seq;

-- A rollup (collector/store/rollups.ts) the list reads to plan a check filter: per state,
-- check and severity, how many findings (of every status; check_spread counts failures).
CREATE TABLE check_totals (
  state TEXT NOT NULL, check_id TEXT NOT NULL, severity_rank INTEGER NOT NULL, n INTEGER NOT NULL,
  PRIMARY KEY (state, check_id, severity_rank)
) STRICT, WITHOUT ROWID;
INSERT INTO check_totals SELECT state, check_id, severity_rank, count(*) FROM findings GROUP BY state, check_id, severity_rank;

CREATE TABLE store_secrets (
  name  TEXT PRIMARY KEY,
  value BLOB NOT NULL CHECK (length(value) >= 32)
) STRICT, WITHOUT ROWID;
`,
  run(db) {
    db.prepare("INSERT INTO store_secrets (name, value) VALUES ('cursor-seal', ?)").run(randomBytes(32));
  },
};
