import type { Migration } from './migration.js';

// Items new to a locked central baseline that it did not take: learned after its lock, or
// brought later than LOCK_IN_FLIGHT_MS after a node's lock (collector/store/baselines.ts).
// Before, a node's own first_seen decided whether an item predated a node's lock, and the
// refusals were not counted; now the collector's receipt time decides, and each refusal
// counts here (nodeward_baseline_items_refused_total).
export const m014ItemsRefused: Migration = {
  version: 14,
  name: 'items-refused',
  sql: `
INSERT INTO baseline_meta (name, value) VALUES ('items_refused', 0);
`,
};
