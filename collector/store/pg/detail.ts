// A finding's detail in the jsonb column. The detail is JSON text from the node (validated as
// an object at ingest), and JSON may escape characters no jsonb value can hold: NUL and a lone
// surrogate half (`\u0000`, `\udfff`); the server refuses such a document (22P05), which would
// fail the whole unit of the report that carried it. A detail holding such an escape (or what
// looks like one: a pair of surrogate halves, an escaped backslash before `u0000`) is stored
// instead as a jsonb string of its own text; every read turns it back into the value SQLite
// gives for the same text. No ingested detail is a string, so the two kinds never mix.
import { parseDetail } from '../finding-row.js';
import { ODD_ESCAPE } from './jsonb.js';

/** The detail as the column takes it: its text, or that text as a JSON string. */
export function storedDetail(text: string): string {
  return ODD_ESCAPE.test(text) ? JSON.stringify(text) : text;
}

/** The detail's value from the column as node-postgres parsed it. */
export function detailValue(v: unknown): unknown {
  return typeof v === 'string' ? parseDetail(v) : v;
}

/** SQL for the detail's JSON text, as SQLite stores it (for readers that parse it themselves). */
export const DETAIL_TEXT = "CASE WHEN jsonb_typeof(detail) = 'string' THEN detail #>> '{}' ELSE detail::text END";
