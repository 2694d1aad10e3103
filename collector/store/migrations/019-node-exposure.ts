import type { Migration } from './index.js';

// ScanReport.exposure: what listens on each node, the latest scan's (docs/exposure.md). One row
// per node, replaced by each scan that carries it; gone with the node.
export const m019NodeExposure: Migration = {
  version: 19,
  name: 'node-exposure',
  sql: `
CREATE TABLE node_exposure (
  node TEXT PRIMARY KEY,
  scanned_at INTEGER NOT NULL,
  exposure TEXT NOT NULL
) STRICT;
`,
};
