import type { Migration } from './migration.js';

// The benchmark each node is judged under (ScanReport.benchmark of its latest scan: cis-1.12,
// cis-eks-1.7 ...), so the summary can give compliance per benchmark and the node list can be
// filtered by it. Every agent before this one judged under cis-1.12: a node with results gets
// it; a node without any has not been judged ('').
export const m023NodeBenchmark: Migration = {
  version: 23,
  name: 'node-benchmark',
  sql: `
ALTER TABLE nodes ADD COLUMN benchmark TEXT NOT NULL DEFAULT '';
UPDATE nodes SET benchmark = 'cis-1.12' WHERE EXISTS (SELECT 1 FROM node_results r WHERE r.node = nodes.name);
CREATE INDEX nodes_by_benchmark ON nodes (benchmark, name);
`,
};
