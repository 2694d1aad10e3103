import type { Migration } from './migration.js';

// The cluster-wide rollup rows (a category's totals, a check's totals and spread) get a
// stripe: part of their key, so that a row is one stripe's share of a count and a count is the
// sum of its stripes. On PostgreSQL each connection writes the stripe of its backend (pg/rollups.ts),
// so replicas committing findings of one category at once no longer queue on one row; SQLite
// has one writer and writes stripe 0 alone. The tables are made again (SQLite cannot change a
// primary key), their rows kept as stripe 0; stripe last, as PostgreSQL's 007 adds it.
const stripe = (table: string, columns: string, key: string): string => `
CREATE TABLE ${table}_striped (
  ${columns},
  stripe INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (${key}, stripe)
) STRICT, WITHOUT ROWID;
INSERT INTO ${table}_striped SELECT *, 0 FROM ${table};
DROP TABLE ${table};
ALTER TABLE ${table}_striped RENAME TO ${table};
`;

export const m026RollupStripes: Migration = {
  version: 26,
  name: 'rollup-stripes',
  sql: [
    stripe('finding_totals', 'state TEXT NOT NULL, category TEXT NOT NULL, severity_rank INTEGER NOT NULL, n INTEGER NOT NULL', 'state, category, severity_rank'),
    stripe('check_totals', 'state TEXT NOT NULL, check_id TEXT NOT NULL, severity_rank INTEGER NOT NULL, n INTEGER NOT NULL', 'state, check_id, severity_rank'),
    stripe('check_spread', `state TEXT NOT NULL, check_id TEXT NOT NULL, nodes INTEGER NOT NULL, findings INTEGER NOT NULL,
  s0 INTEGER NOT NULL, s1 INTEGER NOT NULL, s2 INTEGER NOT NULL, s3 INTEGER NOT NULL, s4 INTEGER NOT NULL`, 'state, check_id'),
  ].join(''),
};
