// CSV for `-o csv` (RFC 4180): a header row, CRLF line ends, a field quoted when it holds a
// comma, a double quote, CR or LF (its double quotes doubled). Two guards, because the values
// come from nodes and the file ends up in a spreadsheet or a terminal:
//   - a text cell that starts with = + - @ (or tab, CR), which a spreadsheet would run as a
//     formula, is written with a leading ' (OWASP's CSV injection guard); numbers are left as they are;
//   - control characters other than tab, CR and LF, and bidi overrides, are written as \xNN.
import type { Column } from './table.js';

const FORMULA = /^[=+\-@\t\r]/;
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/** One field, guarded and quoted as needed. */
export function csvField(v: string | number | boolean | null | undefined): string {
  if (v === null || v === undefined) return '';
  let s = typeof v === 'string' ? v.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`) : String(v);
  if (typeof v === 'string' && FORMULA.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The rows as CSV with the columns' titles as the header (column widths do not apply). */
export function renderCsv<T>(rows: readonly T[], columns: ReadonlyArray<Column<T>>): string {
  const line = (fields: ReadonlyArray<string | number | boolean | null | undefined>): string => `${fields.map(csvField).join(',')}\r\n`;
  return line(columns.map((c) => c.title)) + rows.map((r) => line(columns.map((c) => c.value(r)))).join('');
}
