import type { Migration } from './migration.js';

// AgentStats 23-24: executables an agent could not hash (judged by their path only) and the
// last one's reason. Every node starts at 0 and empty; an agent that predates the fields keeps
// sending none.
export const m016IdentityFailures: Migration = {
  version: 16,
  name: 'identity-failures',
  sql: `
ALTER TABLE nodes ADD COLUMN exec_identity_failed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE nodes ADD COLUMN exec_identity_failed_reason TEXT NOT NULL DEFAULT '';
`,
};
