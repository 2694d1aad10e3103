import type { Migration } from './migration.js';

// AgentStats 25-26: exec events an agent's source delivered, and how long its last scan took.
// Every node starts at 0; an agent that predates the fields keeps sending none.
export const m017AgentActivity: Migration = {
  version: 17,
  name: 'agent-activity',
  sql: `
ALTER TABLE nodes ADD COLUMN exec_events INTEGER NOT NULL DEFAULT 0;
ALTER TABLE nodes ADD COLUMN last_scan_duration_ms INTEGER NOT NULL DEFAULT 0;
`,
};
