// Stored times as the API, the dashboard, the query CLI and the webhooks write them: one
// formatter that cannot throw. Times are stored as integer milliseconds; most come from the
// collector's own clock, some from agents (validated at ingest, collector/ingest/validate.ts),
// and a database can still hold a value no Date can (written before that validation, or by
// hand). One such row must not turn every read that formats it into a 500, so a value out of
// range is written as the nearest bound instead of throwing RangeError.

/** 1970-01-01T00:00:00.000Z. The wire refuses earlier times; none is stored. */
export const TIME_MIN_MS = 0;

/**
 * 9999-12-31T23:59:59.999Z: the last instant RFC 3339 (and X.509) can write with a four-digit
 * year. Beyond it Date writes "+010000-...", which RFC 3339 parsers refuse and which sorts
 * before "2025-..." as text; a JavaScript Date itself ends at 8.64e15 ms (year 275760).
 */
export const TIME_MAX_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** RFC 3339 in UTC with milliseconds. Out of range: the nearest bound; not a number at all: the minimum. */
export function isoTime(ms: number): string {
  const n = typeof ms === 'number' && !Number.isNaN(ms) ? Math.min(Math.max(ms, TIME_MIN_MS), TIME_MAX_MS) : TIME_MIN_MS;
  return new Date(Math.trunc(n)).toISOString();
}

/** isoTime, with null (an unset time column) kept as null. */
export function isoTimeOrNull(ms: number | null): string | null {
  return ms === null ? null : isoTime(ms);
}
