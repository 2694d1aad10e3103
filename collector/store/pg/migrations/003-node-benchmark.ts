// SQLite's migration 023 (node-benchmark) on PostgreSQL: the benchmark each node's latest scan
// was judged under, for compliance per benchmark and the node list's benchmark filter. A
// database migrated from an earlier schema gets cis-1.12 for the nodes that reported results.
import type { PgMigration } from '../migration.js';

export const m003NodeBenchmark: PgMigration = {
  version: 3,
  name: 'node-benchmark',
  sql: `
ALTER TABLE nodes ADD COLUMN benchmark text NOT NULL DEFAULT '';
UPDATE nodes SET benchmark = 'cis-1.12' WHERE EXISTS (SELECT 1 FROM node_results r WHERE r.node = nodes.name);
CREATE INDEX nodes_by_benchmark ON nodes (benchmark, name);
`,
};
