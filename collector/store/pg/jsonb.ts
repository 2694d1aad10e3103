// JSON text for a jsonb column. JSON may escape characters no jsonb value can hold: NUL and a
// lone surrogate half (`\u0000`, `\udfff`), both of which an agent's text may carry; the server
// refuses such a document (22P05) and with it the whole unit that wrote it. A document a query
// must walk as JSON (a node's certificates) has those characters replaced by U+FFFD, as NUL is
// in plain text (pg/sql.ts); a finding's detail, which no query walks, keeps its text instead
// (pg/detail.ts).

/** An escape jsonb refuses, or what looks like one (a surrogate pair, an escaped backslash before `u0000`). */
export const ODD_ESCAPE = /\\u(0000|d[89a-f])/i;

/** NUL, and a surrogate half without its other half. */
const ILL_FORMED = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Every string (keys included) with NUL and lone surrogate halves as U+FFFD. */
function wellFormed(v: unknown): unknown {
  if (typeof v === 'string') return v.replace(ILL_FORMED, '\uFFFD');
  if (Array.isArray(v)) return v.map(wellFormed);
  if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [wellFormed(k), wellFormed(x)]));
  return v;
}

/** The JSON text as jsonb takes it: unchanged unless it holds such an escape. */
export function jsonbText(text: string): string {
  if (!ODD_ESCAPE.test(text)) return text;
  try {
    return JSON.stringify(wellFormed(JSON.parse(text)));
  } catch {
    return text;
  }
}
