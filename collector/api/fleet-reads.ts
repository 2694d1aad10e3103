// How the read routes answer for the clusters of the fleet (collector/fleet.ts): which members
// the `cluster` parameter names, what items carry of their cluster, and one page of a list
// across clusters. Across clusters (`cluster=*`) a list is the members' own lists one after the
// other, in fleet order (the own cluster first), each in its usual order; the cursor of such a
// page names its listing (route and order), the member it stops in (its position and uid) and
// that member's own cursor, which the member's route decodes as it always does (a findings
// cursor stays sealed by its own store's key). A cursor that is not one of these, of another
// listing, or naming a member that is no longer there is a 400. Writes never come here: the
// routes that change something act on the own store only, and say which cluster's collector to
// ask when only another cluster holds their target (otherClusterMessage).
import type { FastifyBaseLogger } from 'fastify';
import type { Fleet, FleetMember } from '../fleet.js';
import type { Page } from '../store/paging.js';

/** The `cluster` parameter's value for every member. */
export const EVERY_CLUSTER = '*';

/** Where a cluster's item comes from, as the items carry it. */
export interface ClusterTag {
  readonly cluster: string;
  readonly clusterUid: string;
}

export const tagOf = (m: FleetMember): ClusterTag => ({ cluster: m.identity.name, clusterUid: m.identity.uid });

const labelOf = (m: FleetMember): string => (m.identity.uid === '' ? `cluster ${m.identity.name}` : `cluster ${m.identity.name} (uid ${m.identity.uid})`);

/**
 * Another cluster's store failed a read (its grant revoked, its schema dropped, the database
 * unreachable): a 503 naming that cluster, never the opaque 500 of the collector's own store.
 * The store's own message is logged, not answered: it may name tables and roles.
 */
export class ClusterUnreadable extends Error {
  readonly statusCode = 503;
  constructor(readonly member: FleetMember, readonly reason: string) {
    super(`${labelOf(member)} cannot be read now; ask again later, or ask for another cluster`);
  }
}

/** Logs another cluster's failed read, with its store's own message (which the answer leaves out). */
export function logUnreadable(log: FastifyBaseLogger, e: ClusterUnreadable, more: Record<string, string> = {}): void {
  log.warn({ err: e.reason, cluster: e.member.identity.name, clusterUid: e.member.identity.uid, ...more }, "another cluster's store failed a read");
}

/**
 * `read` of member `m`'s store, or undefined when it is another cluster's store that failed:
 * logged, and left out of an answer across clusters. The own store failing still throws.
 */
export async function readIfReadable<T>(m: FleetMember, read: () => Promise<T>, log: FastifyBaseLogger): Promise<T | undefined> {
  try {
    return await readOf(m, read);
  } catch (err) {
    if (!(err instanceof ClusterUnreadable)) throw err;
    logUnreadable(log, err);
    return undefined;
  }
}

/** `read` of member `m`'s store; a failure of another cluster's store is ClusterUnreadable. */
export async function readOf<T>(m: FleetMember, read: () => Promise<T>): Promise<T> {
  if (m.own) return read();
  try {
    return await read();
  } catch (err) {
    throw err instanceof ClusterUnreadable ? err : new ClusterUnreadable(m, (err as Error).message);
  }
}

/** The collector's own member (a fleet has it, first). */
export async function ownMember(fleet: Fleet): Promise<FleetMember> {
  const own = (await fleet.members()).find((m) => m.own);
  if (own === undefined) throw new Error('the fleet has no member of its own');
  return own;
}

/** A 400's message, naming the parameter. */
export interface Refusal {
  readonly error: string;
}

export const isRefusal = (x: unknown): x is Refusal => typeof x === 'object' && x !== null && 'error' in x;

/** The members a `cluster` parameter names: absent, the own one; `*`, all; else the one of that uid or name. */
export async function membersNamed(fleet: Fleet, param: string | undefined): Promise<{ members: readonly FleetMember[]; every: boolean } | Refusal> {
  const all = await fleet.members();
  if (param === undefined) return { members: all.filter((m) => m.own), every: false };
  if (param === EVERY_CLUSTER) return { members: all, every: true };
  const byUid = all.filter((m) => m.identity.uid !== '' && m.identity.uid === param);
  if (byUid.length === 1) return { members: byUid, every: false };
  const byName = all.filter((m) => m.identity.name === param);
  if (byName.length === 1) return { members: byName, every: false };
  if (byName.length > 1) {
    return { error: `parameter cluster: ${byName.length} clusters are named ${JSON.stringify(param)} (uids ${byName.map((m) => JSON.stringify(m.identity.uid)).join(', ')}); pass the uid of the one you mean` };
  }
  return { error: `parameter cluster names no cluster this collector can read (GET /api/v1/clusters lists them; * is every one)` };
}

/** One member's page of a list (its items tagged with the member's cluster), from that member's own cursor (undefined: its first page), or a 400. */
export type MemberPage<T> = (member: FleetMember, limit: number, cursor: string | undefined) => Promise<Page<T> | Refusal>;

interface FleetCursor {
  /** The listing it continues: the route and its order, e.g. findings:severity:desc. */
  readonly l: string;
  /** The member's position in the fleet, and its uid (both must still hold). */
  readonly i: number;
  readonly u: string;
  /** Its own cursor; null: its first page. */
  readonly k: string | null;
}

function encodeFleetCursor(c: FleetCursor): string {
  return `f.${Buffer.from(JSON.stringify(c)).toString('base64url')}`;
}

/** The cursor's position, or undefined when it is not one `encodeFleetCursor` made. */
export function decodeFleetCursor(cursor: string): FleetCursor | undefined {
  if (!cursor.startsWith('f.')) return undefined;
  const bytes = Buffer.from(cursor.slice(2), 'base64url');
  // The canonical spelling only: base64url has spellings that decode alike (trailing bits, stray characters).
  if (bytes.toString('base64url') !== cursor.slice(2)) return undefined;
  try {
    const v = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
    if (typeof v !== 'object' || v === null || Object.keys(v).length !== 4) return undefined;
    const { l, i, u, k } = v;
    if (typeof l !== 'string' || l.length > 64 || !Number.isSafeInteger(i) || (i as number) < 0 || typeof u !== 'string' || u.length > 253) return undefined;
    if (k !== null && (typeof k !== 'string' || k.length === 0 || k.length > 1024)) return undefined;
    return { l, i: i as number, u, k };
  } catch {
    return undefined;
  }
}

/** A page across clusters, and the clusters whose store failed its read: their items are left out, and the walk goes on past them. */
export interface PageAcross<T> extends Page<T> {
  readonly unreadable?: ClusterTag[];
}

/**
 * One page of `limit` items of the members' lists one after the other. The next cursor names the member to continue in; a page that ends exactly at the end
 * of a member's list continues at the next member's start, so the last page can be empty. Another cluster whose store fails the read is skipped (logged)
 * and named in `unreadable`: one bad cluster does not take the others' answer with it.
 */
export async function pageAcross<T>(members: readonly FleetMember[], listing: string, cursor: string | undefined, limit: number, page: MemberPage<T>,
  log: FastifyBaseLogger): Promise<PageAcross<T> | Refusal> {
  let index = 0;
  let inner: string | undefined;
  if (cursor !== undefined) {
    const c = decodeFleetCursor(cursor);
    if (c === undefined) return { error: 'parameter cursor is not a cursor this API issued for cluster=*' };
    if (c.l !== listing) return { error: `parameter cursor belongs to another listing (${c.l}, not ${listing}); start again without a cursor` };
    if (members[c.i]?.identity.uid !== c.u) return { error: 'parameter cursor names a cluster that is no longer at its place in the fleet; start again without a cursor' };
    index = c.i;
    inner = c.k ?? undefined;
  }
  const items: T[] = [];
  const unreadable: ClusterTag[] = [];
  const answer = (nextCursor: string | null): PageAcross<T> => ({ items, nextCursor, ...(unreadable.length > 0 ? { unreadable } : {}) });
  for (; index < members.length && items.length < limit; index++, inner = undefined) {
    const member = members[index]!;
    const got = await readIfReadable(member, () => page(member, limit - items.length, inner), log);
    if (got === undefined) {
      unreadable.push(tagOf(member));
      continue;
    }
    if (isRefusal(got)) return got;
    items.push(...got.items);
    if (got.nextCursor !== null) return answer(encodeFleetCursor({ l: listing, i: index, u: member.identity.uid, k: got.nextCursor }));
  }
  const next = members[index];
  return answer(next === undefined ? null : encodeFleetCursor({ l: listing, i: index, u: next.identity.uid, k: null }));
}

/**
 * A list route's answer for the `cluster` parameter: one member's page as it always was, or a
 * page across members. `listing` names the route and its order, so that a cursor across
 * clusters continues only the listing it came from.
 */
export async function pageFor<T>(fleet: Fleet, listing: string, param: string | undefined, cursor: string | undefined, limit: number, page: MemberPage<T>,
  log: FastifyBaseLogger): Promise<PageAcross<T> | Refusal> {
  const named = await membersNamed(fleet, param);
  if (isRefusal(named)) return named;
  if (named.every) return pageAcross(named.members, listing, cursor, limit, page, log);
  const member = named.members[0];
  if (member === undefined) return { error: 'parameter cluster: this collector has no cluster of its own to answer for' };
  return readOf(member, () => page(member, limit, cursor));
}

/** The other members that hold what `has` finds, for a write refused because only they hold it. */
export async function othersHolding(fleet: Fleet, has: (m: FleetMember) => Promise<boolean>): Promise<FleetMember | undefined> {
  for (const m of await fleet.members()) {
    if (!m.own && (await readOf(m, () => has(m)))) return m;
  }
  return undefined;
}

/** The 409's message for a write aimed at another cluster's finding or node. */
export function otherClusterMessage(what: string, m: FleetMember): string {
  const who = labelOf(m);
  return `${what} belongs to ${who}, which this collector only reads: ask that cluster's collector`;
}
