import type { Migration } from './migration.js';

// Every counter an agent reports in its AgentStats (hello and heartbeats), so that what an
// agent lost or saw late is visible per node, and the baseline reports this collector refused.
// The agent's counters are its latest values: spool ones count since its epoch began, the
// process monitor's since the agent started. Rows from before start at 0 and fill at the
// node's next hello or heartbeat.
export const m005AgentCounters: Migration = {
  version: 5,
  name: 'agent-counters',
  sql: `
ALTER TABLE nodes ADD COLUMN spool_bytes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE nodes ADD COLUMN process_events_capped INTEGER NOT NULL DEFAULT 0;
ALTER TABLE nodes ADD COLUMN process_events_lost INTEGER NOT NULL DEFAULT 0;
ALTER TABLE nodes ADD COLUMN exec_events_lost INTEGER NOT NULL DEFAULT 0;
ALTER TABLE nodes ADD COLUMN exec_records_partial INTEGER NOT NULL DEFAULT 0;
ALTER TABLE nodes ADD COLUMN baseline_items_dropped INTEGER NOT NULL DEFAULT 0;
ALTER TABLE nodes ADD COLUMN baseline_keys_evicted INTEGER NOT NULL DEFAULT 0;
ALTER TABLE nodes ADD COLUMN baseline_report_dropped INTEGER NOT NULL DEFAULT 0;
-- Counted by the collector (like findings_refused): BaselineReports it refused as invalid.
ALTER TABLE nodes ADD COLUMN baseline_reports_refused INTEGER NOT NULL DEFAULT 0;
`,
};
