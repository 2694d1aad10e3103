import type { Migration } from './migration.js';

// AgentStats' exposure cuts (docs/exposure.md): where the node's exposure collector was cut
// short, counted by the agent at every collection since it started, replaced by each hello and
// heartbeat like the other counters; and whether its last walk used the native reader.
export const m022ExposureCuts: Migration = {
  version: 22,
  name: 'exposure-cuts',
  sql: `
ALTER TABLE nodes ADD COLUMN exposure_walk_pid_limit_hits INTEGER NOT NULL DEFAULT 0;
ALTER TABLE nodes ADD COLUMN exposure_walk_time_limit_hits INTEGER NOT NULL DEFAULT 0;
ALTER TABLE nodes ADD COLUMN exposure_walk_fd_limit_hits INTEGER NOT NULL DEFAULT 0;
ALTER TABLE nodes ADD COLUMN exposure_walk_unreadable INTEGER NOT NULL DEFAULT 0;
ALTER TABLE nodes ADD COLUMN exposure_rows_refused INTEGER NOT NULL DEFAULT 0;
ALTER TABLE nodes ADD COLUMN exposure_listeners_dropped INTEGER NOT NULL DEFAULT 0;
ALTER TABLE nodes ADD COLUMN exposure_native_reader INTEGER NOT NULL DEFAULT 0 CHECK (exposure_native_reader IN (0, 1));
`,
};
