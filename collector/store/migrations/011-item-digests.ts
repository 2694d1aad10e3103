import type { Migration } from './migration.js';

// A baseline item is a path plus the contents (SHA-256) that ran there (issue 14); see
// collector/store/baselines.ts for the rules that merge them.
//   baseline_items.any_content   an operator allowed the path with any content: its contents are
//                                not judged.
//   baseline_items.inline_code   the interpreter ran inline code while the baseline learned.
//   baseline_item_digests        the contents of an item (at most 8 each): how each joined
//                                (learned, startup, operator, package, image, first-sight), the
//                                image it ran in, who added it, when, how many nodes taught it.
//   baseline_digest_nodes        which nodes taught a content (bounded like baseline_item_nodes).
// Items stored before keep no contents and any_content 0: on the wire that is an item that
// predates digests, whose first content each agent learns on first sight (source first-sight)
// and reports back.
export const m011ItemDigests: Migration = {
  version: 11,
  name: 'item-digests',
  sql: `
ALTER TABLE baseline_items ADD COLUMN any_content INTEGER NOT NULL DEFAULT 0 CHECK (any_content IN (0, 1));
-- An interpreter that ran inline code (-c, -e, ...) while the baseline learned: its inline code
-- is not a proc-inline-code finding on any node (sent with the item on adoption).
ALTER TABLE baseline_items ADD COLUMN inline_code INTEGER NOT NULL DEFAULT 0 CHECK (inline_code IN (0, 1));

CREATE TABLE baseline_item_digests (
  baseline   INTEGER NOT NULL,
  path       TEXT NOT NULL,
  sha256     TEXT NOT NULL CHECK (length(sha256) = 64),
  source     TEXT NOT NULL CHECK (source IN ('learned', 'startup', 'operator', 'package', 'image', 'first-sight')),
  image      TEXT NOT NULL DEFAULT '',
  added_by   TEXT NOT NULL DEFAULT '',
  first_seen INTEGER NOT NULL,
  last_seen  INTEGER NOT NULL,
  nodes      INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (baseline, path, sha256),
  FOREIGN KEY (baseline, path) REFERENCES baseline_items (baseline, path) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

CREATE TABLE baseline_digest_nodes (
  baseline   INTEGER NOT NULL,
  path       TEXT NOT NULL,
  sha256     TEXT NOT NULL,
  node       TEXT NOT NULL,
  first_seen INTEGER NOT NULL,
  last_seen  INTEGER NOT NULL,
  PRIMARY KEY (baseline, path, sha256, node),
  FOREIGN KEY (baseline, path, sha256) REFERENCES baseline_item_digests (baseline, path, sha256) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

-- Contents nodes reported beyond the bound per item, or that the trust rules turned away.
INSERT INTO baseline_meta (name, value) VALUES ('digests_dropped', 0), ('digests_refused', 0);
`,
};
