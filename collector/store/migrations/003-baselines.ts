import type { Migration } from './migration.js';

// Central process baselines: one per baseline key, merged from every node's reports, with
// the operator's changes. See collector/store/baselines.ts for what the columns mean.
export const m003Baselines: Migration = {
  version: 3,
  name: 'baselines',
  sql: `
-- One row per baseline key. version: the global counter's value at the key's last change
-- that agents must apply (an operator's change, or a lock); unlock_version: at its last
-- unlock (a node's report that predates it cannot lock it again).
CREATE TABLE baselines (
  seq            INTEGER PRIMARY KEY,
  key            TEXT NOT NULL UNIQUE,
  namespace      TEXT NOT NULL DEFAULT '',
  workload_kind  TEXT NOT NULL DEFAULT '',
  workload       TEXT NOT NULL DEFAULT '',
  container      TEXT NOT NULL DEFAULT '',
  state          TEXT NOT NULL CHECK (state IN ('learning', 'locked')),
  locked_by      TEXT CHECK (locked_by IN ('operator', 'node')),
  locked_detail  TEXT NOT NULL DEFAULT '',
  locked_at      INTEGER,
  version        INTEGER NOT NULL DEFAULT 0,
  unlock_version INTEGER NOT NULL DEFAULT 0,
  items          INTEGER NOT NULL DEFAULT 0,
  items_dropped  INTEGER NOT NULL DEFAULT 0,
  created_at     INTEGER NOT NULL,
  updated_at     INTEGER NOT NULL
) STRICT;
CREATE INDEX baselines_namespace ON baselines (namespace, workload);
CREATE INDEX baselines_workload ON baselines (workload);
CREATE INDEX baselines_state ON baselines (state);
CREATE INDEX baselines_version ON baselines (version);

-- The executables of a baseline. source: how it first joined (learned, startup, operator).
CREATE TABLE baseline_items (
  baseline   INTEGER NOT NULL REFERENCES baselines (seq) ON DELETE CASCADE,
  path       TEXT NOT NULL,
  source     TEXT NOT NULL CHECK (source IN ('learned', 'startup', 'operator')),
  added_by   TEXT NOT NULL DEFAULT '',
  first_seen INTEGER NOT NULL,
  last_seen  INTEGER NOT NULL,
  nodes      INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (baseline, path)
) STRICT, WITHOUT ROWID;

-- Which nodes taught an item (bounded per item; nodes counts them up to the bound).
CREATE TABLE baseline_item_nodes (
  baseline   INTEGER NOT NULL,
  path       TEXT NOT NULL,
  node       TEXT NOT NULL,
  first_seen INTEGER NOT NULL,
  last_seen  INTEGER NOT NULL,
  PRIMARY KEY (baseline, path, node),
  FOREIGN KEY (baseline, path) REFERENCES baseline_items (baseline, path) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

-- Executables an operator removed: never learned again, until an operator allows them.
CREATE TABLE baseline_removed (
  baseline   INTEGER NOT NULL REFERENCES baselines (seq) ON DELETE CASCADE,
  path       TEXT NOT NULL,
  removed_by TEXT NOT NULL DEFAULT '',
  removed_at INTEGER NOT NULL,
  PRIMARY KEY (baseline, path)
) STRICT, WITHOUT ROWID;

-- Counters that belong to no row: the global version, and what the bounds dropped.
CREATE TABLE baseline_meta (
  name  TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
INSERT INTO baseline_meta (name, value) VALUES ('version', 0), ('keys_dropped', 0), ('items_dropped', 0);
`,
};
