// The store's one paging helper: a page is "the next `limit` rows in the listing's order";
// a query asks for one row more, and the extra row says whether there is a next page, whose
// cursor names the last row of this one. Cursors are opaque to clients (base64url JSON;
// the findings list's are sealed, below).
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface Page<T> {
  readonly items: T[];
  readonly nextCursor: string | null;
}

/** `rows` as fetched with LIMIT limit + 1, mapped; `cursorOf` names where the next page starts. */
export function pageOf<R, T>(rows: readonly R[], limit: number, map: (r: R) => T, cursorOf: (last: R) => string): Page<T> {
  const more = rows.length > limit;
  const page = more ? rows.slice(0, limit) : rows;
  const last = page.at(-1);
  return { items: page.map(map), nextCursor: more && last !== undefined ? cursorOf(last) : null };
}

/** The cursor of listings in row order (findings, processes, baselines): continue after `seq`. */
export function encodeCursor(seq: number): string {
  return Buffer.from(JSON.stringify({ after: seq })).toString('base64url');
}

/** Returns the position after which to continue, or undefined for a malformed cursor. */
export function decodeCursor(cursor: string): number | undefined {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { after?: unknown };
    return Number.isSafeInteger(v.after) && (v.after as number) >= 0 ? (v.after as number) : undefined;
  } catch {
    return undefined;
  }
}

const SEAL_BYTES = 16;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

function seal(key: Buffer, payload: string): Buffer {
  return createHmac('sha256', key).update(payload).digest().subarray(0, SEAL_BYTES);
}

/**
 * A cursor that names a position by the values of the listing's order (a keyset), sealed with
 * `key` (HMAC-SHA-256, its first 16 bytes): `<base64url JSON>.<base64url seal>`. The values
 * are readable, but a cursor changed in any way, or not issued with this key, does not open.
 */
export function sealCursor(key: Buffer, value: unknown): string {
  const payload = Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${payload}.${seal(key, payload).toString('base64url')}`;
}

/** The value a sealed cursor carries, or undefined when it is not one sealed with `key`, unchanged. */
export function openSealedCursor(key: Buffer, cursor: string): unknown {
  const parts = cursor.split('.');
  if (parts.length !== 2) return undefined;
  const [payload, tag] = parts as [string, string];
  if (!BASE64URL.test(payload) || !BASE64URL.test(tag)) return undefined;
  const given = Buffer.from(tag, 'base64url');
  // The canonical spelling only: base64url has spellings that decode alike (trailing bits).
  if (given.length !== SEAL_BYTES || given.toString('base64url') !== tag || !timingSafeEqual(given, seal(key, payload))) return undefined;
  try {
    return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}
