import type { Migration } from './migration.js';

export const m001Initial: Migration = {
  version: 1,
  name: 'initial',
  sql: `
CREATE TABLE nodes (
  name            TEXT PRIMARY KEY,
  agent_version   TEXT NOT NULL DEFAULT '',
  epoch           TEXT NOT NULL DEFAULT '',
  os              TEXT NOT NULL DEFAULT '',
  kernel          TEXT NOT NULL DEFAULT '',
  arch            TEXT NOT NULL DEFAULT '',
  kubelet_version TEXT NOT NULL DEFAULT '',
  cpus            INTEGER NOT NULL DEFAULT 0,
  memory_bytes    INTEGER NOT NULL DEFAULT 0,
  uptime_seconds  INTEGER NOT NULL DEFAULT 0,
  certificates    TEXT NOT NULL DEFAULT '[]',
  exec_coverage   TEXT NOT NULL DEFAULT '',
  spool_entries   INTEGER NOT NULL DEFAULT 0,
  spool_dropped   INTEGER NOT NULL DEFAULT 0,
  agent_rejected  INTEGER NOT NULL DEFAULT 0,
  findings_refused INTEGER NOT NULL DEFAULT 0,
  connected       INTEGER NOT NULL DEFAULT 0,
  first_seen      INTEGER NOT NULL,
  last_seen       INTEGER NOT NULL
) STRICT;

CREATE TABLE findings (
  seq               INTEGER PRIMARY KEY,
  id                TEXT NOT NULL UNIQUE,
  node              TEXT NOT NULL,
  check_id          TEXT NOT NULL,
  cis               TEXT NOT NULL DEFAULT '',
  title             TEXT NOT NULL DEFAULT '',
  category          TEXT NOT NULL,
  subject           TEXT NOT NULL,
  severity          TEXT NOT NULL,
  severity_rank     INTEGER NOT NULL,
  status            TEXT NOT NULL CHECK (status IN ('fail', 'warn')),
  state             TEXT NOT NULL CHECK (state IN ('open', 'resolved', 'suppressed')),
  scored            INTEGER NOT NULL DEFAULT 0,
  actual            TEXT NOT NULL DEFAULT '',
  expected          TEXT NOT NULL DEFAULT '',
  source            TEXT NOT NULL DEFAULT '',
  source_file       TEXT NOT NULL DEFAULT '',
  reason            TEXT NOT NULL DEFAULT '',
  remediation       TEXT NOT NULL DEFAULT '',
  detail            TEXT NOT NULL DEFAULT '{}',
  seen              TEXT NOT NULL DEFAULT 'scan',
  first_seen        INTEGER NOT NULL,
  last_seen         INTEGER NOT NULL,
  count             INTEGER NOT NULL,
  resolved_at       INTEGER,
  suppressed_reason TEXT,
  suppressed_until  INTEGER,
  updated_at        INTEGER NOT NULL
) STRICT;
CREATE INDEX findings_node_state ON findings (node, state);
CREATE INDEX findings_check ON findings (check_id, state);
CREATE INDEX findings_state_severity ON findings (state, severity_rank);
CREATE INDEX findings_category ON findings (category, state);
CREATE INDEX findings_last_seen ON findings (last_seen);

-- Every committed agent message, for idempotency on (node, epoch, sequence).
CREATE TABLE received (
  node        TEXT NOT NULL,
  epoch       TEXT NOT NULL,
  sequence    INTEGER NOT NULL,
  received_at INTEGER NOT NULL,
  PRIMARY KEY (node, epoch, sequence)
) STRICT, WITHOUT ROWID;
CREATE INDEX received_at ON received (received_at);

-- The latest verdict per (node, check, subject), passes included: compliance and "which
-- checks fail where" are answered from here.
CREATE TABLE node_results (
  node         TEXT NOT NULL,
  check_id     TEXT NOT NULL,
  subject      TEXT NOT NULL,
  status       TEXT NOT NULL,
  severity     TEXT NOT NULL,
  scored       INTEGER NOT NULL,
  evaluated_at INTEGER NOT NULL,
  PRIMARY KEY (node, check_id, subject)
) STRICT, WITHOUT ROWID;
`,
};
