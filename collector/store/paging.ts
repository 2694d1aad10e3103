// The store's one paging helper: a page is "the next `limit` rows in the listing's order";
// a query asks for one row more, and the extra row says whether there is a next page, whose
// cursor names the last row of this one. Cursors are opaque to clients (base64url JSON).

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
