// Control characters written out as visible escapes, for text that came from a node: the
// agent escapes a command line and a path before they leave it (agent/processes/cmdline.ts),
// and the collector escapes the NUL character in the free text an agent or an operator sends
// (collector/ingest/validate.ts, collector/api/app.ts's audit records).
//
// Why NUL on its own: PostgreSQL's text and jsonb cannot hold U+0000 (jsonb refuses even the
// escape \u0000), while SQLite stores it. A message holding one would fail its unit of work on
// PostgreSQL on every retry, so the collector stores none, on either backend alike: a NUL in a
// name, path or identifier is refused at the door, and one in free text (a title, a reason, a
// command line, a detail's strings) is written as `\x00`, the same escape as below. The other
// control characters are stored as they came (both backends hold them), and a reader that
// prints them (the CLI's tables, the dashboard) escapes or renders them as text itself.

const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\\]/;

/** The one character no PostgreSQL text holds. */
export const NUL = '\u0000';

/** One character as reported: controls, DEL, backslash and line separators escaped. */
function escapeChar(c: string): string {
  if (!CONTROL.test(c)) return c;
  switch (c) {
    case '\\': return '\\\\';
    case '\n': return '\\n';
    case '\r': return '\\r';
    case '\t': return '\\t';
    default: {
      const code = c.charCodeAt(0);
      return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
    }
  }
}

/** Escapes control characters (\n, \t, \xNN, \uNNNN; a backslash as \\). */
export function escapeControls(s: string): string {
  // Most paths and command lines have nothing to escape: one scan, no copy.
  if (!CONTROL.test(s)) return s;
  let out = '';
  for (const ch of s) out += escapeChar(ch);
  return out;
}

const MARK = '...';

/**
 * escapeControls bounded to `max` characters. A cut ends with "..." and never splits an
 * escape or a surrogate pair. `cutAlready` marks input that was cut before it got here.
 */
export function escapeBounded(s: string, max: number, cutAlready = false): string {
  const full = escapeControls(s);
  if (full.length <= max && !cutAlready) return full;
  let out = '';
  for (const ch of s) {
    const e = escapeChar(ch);
    if (out.length + e.length > max - MARK.length) break;
    out += e;
  }
  return out + MARK;
}

const NUL_ESCAPED = escapeChar(NUL);

/**
 * Text with every NUL written as `\x00` (escapeChar's form) and nothing else changed, so the
 * text stays readable and the NUL visible. Not reversible: a `\x00` that was sent as text reads
 * the same; that is the price of keeping every other character as it came.
 */
export function escapeNul(s: string): string {
  return s.includes(NUL) ? s.replaceAll(NUL, NUL_ESCAPED) : s;
}

/** A `\u0000` escape in JSON text: after an even run of backslashes (an odd one escapes its backslash). */
const NUL_IN_JSON = /(?<!\\)((?:\\\\)*)\\u0000/g;

/**
 * JSON text as JSON.stringify writes it (which writes a NUL in a string or property name as
 * `\u0000`) with every NUL in it written as escapeNul writes it, so jsonb would decode none.
 * Linear in the text, and depth does not matter: no value is walked.
 */
export function escapeNulJson(json: string): string {
  return json.includes('\\u0000') ? json.replace(NUL_IN_JSON, (_m, run: string) => `${run}${JSON.stringify(NUL_ESCAPED).slice(1, -1)}`) : json;
}
