// SQLite's migration 026 (rollup-stripes) on PostgreSQL: the cluster-wide rollup rows get a
// stripe in their key (pg/rollups.ts writes the stripe of the connection's backend), so that
// replicas committing findings of one category at once write different rows. Existing rows
// become stripe 0.
import type { PgMigration } from '../migration.js';

const stripe = (table: string, key: string): string => `
ALTER TABLE ${table} ADD COLUMN stripe bigint NOT NULL DEFAULT 0;
ALTER TABLE ${table} DROP CONSTRAINT ${table}_pkey, ADD PRIMARY KEY (${key}, stripe);
`;

export const m007RollupStripes: PgMigration = {
  version: 7,
  name: 'rollup-stripes',
  sql: [
    stripe('finding_totals', 'state, category, severity_rank'),
    stripe('check_totals', 'state, check_id, severity_rank'),
    stripe('check_spread', 'state, check_id'),
  ].join(''),
};
