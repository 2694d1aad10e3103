// PostgreSQL only (no SQLite change: SQLite already compares text by its bytes): the findings
// list's text sort keys, node and check_id, in the "C" collation. The list orders by them and
// compares them with a cursor's values; SQLite does both byte by byte (BINARY), and so must
// PostgreSQL for the two backends to page alike, whatever collation the database was created
// with (initdb's locale, often en_US.UTF-8, orders 'a' < 'B' and ignores punctuation). With
// the column's own collation "C", the indexes that lead with state and severity and then the
// column (findings_by_node, findings_by_check) serve that order; a COLLATE "C" written in the
// query instead would not match them and every page would sort. Equality is unchanged (every
// deterministic collation compares equal bytes as equal), so no other query notices.
import type { PgMigration } from '../migration.js';

export const m004ByteOrderKeys: PgMigration = {
  version: 4,
  name: 'byte-order-keys',
  sql: `
ALTER TABLE findings ALTER COLUMN node TYPE text COLLATE "C", ALTER COLUMN check_id TYPE text COLLATE "C";
`,
};
