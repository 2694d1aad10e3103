import type { Migration } from './migration.js';

// More of what an agent reports (AgentStats 17-22): processes judged as host processes though
// their cgroup looked like a container's (a container no runtime vouches for, or the host's
// mount namespace), the eBPF reader's batches, and host documents refused before parsing by
// their limits, with the last one's path (redacted at ingest) and the limit it passed. Every
// node starts at 0 and empty; the values fill at its next hello or heartbeat (an agent that
// predates them keeps sending none: 0).
export const m010AgentJudgement: Migration = {
  version: 10,
  name: 'agent-judgement',
  sql: `
ALTER TABLE nodes ADD COLUMN exec_fake_container INTEGER NOT NULL DEFAULT 0;
ALTER TABLE nodes ADD COLUMN exec_host_namespace INTEGER NOT NULL DEFAULT 0;
ALTER TABLE nodes ADD COLUMN exec_batches INTEGER NOT NULL DEFAULT 0;
ALTER TABLE nodes ADD COLUMN host_documents_refused INTEGER NOT NULL DEFAULT 0;
ALTER TABLE nodes ADD COLUMN host_document_refused_path TEXT NOT NULL DEFAULT '';
ALTER TABLE nodes ADD COLUMN host_document_refused_reason TEXT NOT NULL DEFAULT '';
`,
};
