// What the list routes share: where a page starts (after the position an opaque cursor names)
// and the `since` bound, or the 400 message that names the bad parameter.
import { decodeCursor } from '../store/paging.js';
import { parseTime } from './time.js';

export function pageStart(q: { readonly cursor?: string | undefined; readonly since?: string | undefined }): { after: number; since: number | undefined } | { error: string } {
  const after = q.cursor === undefined ? 0 : decodeCursor(q.cursor);
  if (after === undefined) return { error: 'parameter cursor is not a cursor this API issued' };
  const since = q.since === undefined ? undefined : parseTime(q.since);
  if (Number.isNaN(since)) return { error: 'parameter since is not a time this API can use' };
  return { after, since };
}
