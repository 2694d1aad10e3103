/**
 * Milliseconds for an RFC 3339 date-time that passed the schema's format check, or NaN.
 * Date.parse refuses the leap second (":60") that RFC 3339 allows; it is read as the
 * instant after ":59" instead of turning into NaN (which SQLite would bind as NULL).
 */
export function parseTime(s: string): number {
  const ms = Date.parse(s);
  if (!Number.isNaN(ms)) return ms;
  const leap = /^(.*T\d\d:\d\d:)60(\.\d+)?(.*)$/i.exec(s);
  return leap ? Date.parse(`${leap[1]}59${leap[2] ?? ''}${leap[3]}`) + 1000 : Number.NaN;
}
