// SQLite's migration 024 (webhook-drains) on PostgreSQL: one row per webhook destination, locked
// (FOR UPDATE SKIP LOCKED) by the replica that drains the destination, for the length of one
// pass (drain-claim.ts). Rows are made on a destination's first claim.
import type { PgMigration } from '../migration.js';

export const m005WebhookDrains: PgMigration = {
  version: 5,
  name: 'webhook-drains',
  sql: `
CREATE TABLE webhook_drains (
  destination text PRIMARY KEY
);
`,
};
