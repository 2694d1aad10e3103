import type { Migration } from './migration.js';

// The webhook outbox: one row per (alert, destination that routes it), written in the same
// transaction as the finding change it reports, drained by one dispatcher per destination.
export const m004Webhooks: Migration = {
  version: 4,
  name: 'webhooks',
  sql: `
-- change: the AlertChange as JSON, the finding as it was inside the transaction that
--   changed it, so a later change cannot rewrite what an earlier alert says.
-- delivery_id: set when the dispatcher plans the message the row goes out in, and kept for
--   every later try (the receiver's idempotency key).
-- age_from: where the maximum age counts from (the row's creation, or an admin's retry).
-- finished_at: when it was delivered or became a dead letter (retention counts from here).
CREATE TABLE webhook_outbox (
  seq             INTEGER PRIMARY KEY,
  destination     TEXT NOT NULL,
  finding_id      TEXT NOT NULL,
  event           TEXT NOT NULL CHECK (event IN ('opened', 'reopened', 'escalated', 'resolved', 'suppressed')),
  change          TEXT NOT NULL,
  status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'dead')),
  delivery_id     TEXT,
  attempts        INTEGER NOT NULL DEFAULT 0,
  last_status     INTEGER,
  last_error      TEXT NOT NULL DEFAULT '',
  created_at      INTEGER NOT NULL,
  age_from        INTEGER NOT NULL,
  next_attempt_at INTEGER NOT NULL,
  finished_at     INTEGER
) STRICT;
-- A dispatcher's queue (destination, 'pending', seq order) and the API's filters, each
-- walked in seq order without sorting (SQLite appends the rowid to every index).
CREATE INDEX webhook_outbox_queue ON webhook_outbox (destination, status);
CREATE INDEX webhook_outbox_destination ON webhook_outbox (destination);
CREATE INDEX webhook_outbox_status ON webhook_outbox (status);
CREATE INDEX webhook_outbox_finding ON webhook_outbox (finding_id);
CREATE INDEX webhook_outbox_finished ON webhook_outbox (status, finished_at) WHERE finished_at IS NOT NULL;
-- Rows already planned into a message (sent before anything new is grouped).
CREATE INDEX webhook_outbox_planned ON webhook_outbox (destination) WHERE status = 'pending' AND delivery_id IS NOT NULL;

-- Per destination: rows pending (kept exact in the same transactions, so the bound costs
-- one row update instead of a count) and rows dropped because the bound was reached.
CREATE TABLE webhook_queues (
  destination TEXT PRIMARY KEY,
  pending     INTEGER NOT NULL DEFAULT 0,
  dropped     INTEGER NOT NULL DEFAULT 0
) STRICT, WITHOUT ROWID;

-- Alertmanager destinations: the findings they were told are firing, with the latest
-- snapshot, re-posted on a schedule until the finding resolves or is suppressed.
CREATE TABLE webhook_firing (
  destination TEXT NOT NULL,
  finding_id  TEXT NOT NULL,
  change      TEXT NOT NULL,
  PRIMARY KEY (destination, finding_id)
) STRICT, WITHOUT ROWID;
`,
};
