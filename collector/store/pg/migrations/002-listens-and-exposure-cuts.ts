// SQLite's migrations 021 (listen-allows) and 022 (exposure-cuts) on PostgreSQL: how each
// listen joined its baseline (a node learned it, or an operator allowed it), the counters of
// listens turned away or past the bound, and the agents' exposure cuts per node.
import type { PgMigration } from '../migration.js';

export const m002ListensAndExposureCuts: PgMigration = {
  version: 2,
  name: 'listens-and-exposure-cuts',
  sql: `
ALTER TABLE baseline_listens ADD COLUMN source text NOT NULL DEFAULT 'learned' CHECK (source IN ('learned', 'operator'));
INSERT INTO baseline_meta (name, value) VALUES ('listens_dropped', 0), ('listens_refused', 0);
ALTER TABLE nodes ADD COLUMN exposure_walk_pid_limit_hits bigint NOT NULL DEFAULT 0;
ALTER TABLE nodes ADD COLUMN exposure_walk_time_limit_hits bigint NOT NULL DEFAULT 0;
ALTER TABLE nodes ADD COLUMN exposure_walk_fd_limit_hits bigint NOT NULL DEFAULT 0;
ALTER TABLE nodes ADD COLUMN exposure_walk_unreadable bigint NOT NULL DEFAULT 0;
ALTER TABLE nodes ADD COLUMN exposure_rows_refused bigint NOT NULL DEFAULT 0;
ALTER TABLE nodes ADD COLUMN exposure_listeners_dropped bigint NOT NULL DEFAULT 0;
ALTER TABLE nodes ADD COLUMN exposure_native_reader smallint NOT NULL DEFAULT 0 CHECK (exposure_native_reader IN (0, 1));
`,
};
