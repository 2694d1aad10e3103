import type { Migration } from './migration.js';

// ScanReport.exposure: what listens on each node, the latest scan's (docs/exposure.md). One row
// per node, replaced by each scan that carries it; gone with the node. AgentBaseline.listens:
// what each baseline's processes listened on while it learned, at most 256 per baseline, with
// the node that first reported each; gone with the baseline.
export const m019NodeExposure: Migration = {
  version: 19,
  name: 'node-exposure',
  sql: `
CREATE TABLE node_exposure (
  node TEXT PRIMARY KEY,
  scanned_at INTEGER NOT NULL,
  exposure TEXT NOT NULL
) STRICT;

CREATE TABLE baseline_listens (
  baseline   INTEGER NOT NULL REFERENCES baselines (seq) ON DELETE CASCADE,
  listen     TEXT NOT NULL,
  first_node TEXT NOT NULL,
  first_seen INTEGER NOT NULL,
  last_seen  INTEGER NOT NULL,
  PRIMARY KEY (baseline, listen)
) STRICT, WITHOUT ROWID;
`,
};
