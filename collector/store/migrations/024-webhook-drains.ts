import type { Migration } from './migration.js';

// One row per webhook destination, which a replica locks for the length of a drain pass so
// that only one collector drains a destination at a time (store/pg/drain-claim.ts). Only the
// PostgreSQL store uses it: on SQLite there is one collector. It is here too so the two
// schemas stay one (test/collector/pg-schema-parity.test.ts). A table of its own, not
// webhook_queues: a lock on a queue's row would hold up every unit of work that counts a new
// delivery into it for the whole pass.
export const m024WebhookDrains: Migration = {
  version: 24,
  name: 'webhook-drains',
  sql: `
CREATE TABLE webhook_drains (
  destination TEXT PRIMARY KEY
) STRICT, WITHOUT ROWID;
`,
};
