import type { Migration } from './migration.js';

// Dashboard sessions, kept across restarts (api/sessions.ts). A row holds the SHA-256 of the
// session id, never the id itself: reading the database yields no cookie that works. The
// principal is the token's name and role at login; every use checks them again against the
// tokens configured then. `expires_at` orders the sweep of expired rows, `created_at` the
// eviction of the oldest when the bound is reached.
export const m018Sessions: Migration = {
  version: 18,
  name: 'sessions',
  sql: `
CREATE TABLE sessions (
  id_sha256 TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('reader', 'admin')),
  csrf_token TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX sessions_expires ON sessions (expires_at);
CREATE INDEX sessions_created ON sessions (created_at);
`,
};
