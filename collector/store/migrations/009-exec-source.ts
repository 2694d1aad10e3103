import type { Migration } from './migration.js';

// Which exec source an agent runs (AgentStats.exec_source: ebpf, netlink or scan), why a better
// one did not load, and what it could not judge: records the eBPF ring buffer had no room for
// (also inside exec_events_lost) and processes seen but not judged (no executable, or no cgroup
// and no known parent). Rows from before take their source from exec_coverage, which is what
// agents that predate exec_source mean by it ("event" was the netlink connector); the reason
// and counters fill at the node's next hello or heartbeat.
export const m009ExecSource: Migration = {
  version: 9,
  name: 'exec-source',
  sql: `
ALTER TABLE nodes ADD COLUMN exec_source TEXT NOT NULL DEFAULT '';
ALTER TABLE nodes ADD COLUMN exec_source_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE nodes ADD COLUMN exec_ring_lost INTEGER NOT NULL DEFAULT 0;
ALTER TABLE nodes ADD COLUMN exec_unjudged INTEGER NOT NULL DEFAULT 0;
UPDATE nodes SET exec_source = CASE exec_coverage WHEN 'event' THEN 'netlink' WHEN 'scan' THEN 'scan' ELSE '' END;
`,
};
