// One node's reported baseline merged into the central one, planned without the database: what
// the central baseline holds goes in (read once), the writes to make come out, with what was
// added, dropped and refused. The rules are the SQLite store's (store/baselines.ts's header),
// applied item by item in the report's order exactly as it applies them statement by statement;
// the PostgreSQL store (pg/baselines.ts) then writes a plan in a few set statements, so a
// report costs the same number of round trips whatever its number of items.
//
// The planner keeps `Holdings` up to date as it plans (an item it adds is held by the next
// mention of its path in the same report), so one report naming a path or a content twice
// plans what SQLite's sequence of statements does.
import { ITEM_DIGEST_LIMITS, type DigestSource } from '../../../proto/exec-identity.js';
import {
  BASELINE_LIMITS, LOCK_IN_FLIGHT_MS, MAX_LISTENS_PER_BASELINE, type CentralState, type ItemSource, type ReportedBaseline, type ReportedDigest,
} from '../boundary/baselines.js';

/** What of the central baseline the rules read. */
export interface MergeTarget {
  readonly state: CentralState;
  readonly locked_by: 'operator' | 'node' | null;
  readonly locked_at: number | null;
  /** Items held (the bound counts them). */
  readonly items: number;
}

/** What the central baseline holds, as far as the merge of one node's report needs it. */
export interface Holdings {
  /** Per item: how many nodes taught it, and whether inline code ran. */
  readonly items: Map<string, { nodes: number; inline: boolean }>;
  /** The items this node taught. */
  readonly taught: Set<string>;
  /** Per content (digestId): how many nodes taught it. */
  readonly digests: Map<string, number>;
  /** The contents this node taught. */
  readonly digestTaught: Set<string>;
  /** Contents per item. */
  readonly perPath: Map<string, number>;
  readonly listens: Set<string>;
}

export const digestId = (path: string, sha256: string): string => `${sha256}:${path}`;

export interface Counts { added: number; dropped: number; refused: number }

/** The writes of one merge, in the order they are made (rows before the rows that refer to them). */
export interface MergePlan {
  readonly newItems: Array<{ path: string; source: ItemSource; firstSeen: number }>;
  /** Item paths this node is now recorded as having taught (new items and held ones). */
  readonly taughtNew: string[];
  /** Held items taught again: the earliest first-seen reported, and how many nodes joined. */
  readonly seenItems: Map<string, { firstSeen: number; add: number }>;
  /** Items this node had taught: seen again now. */
  readonly taughtSeen: Set<string>;
  /** Items whose inline-code flag goes on. */
  readonly inline: Set<string>;
  readonly newDigests: Array<{ path: string; sha256: string; source: DigestSource; image: string; firstSeen: number }>;
  readonly digestTaughtNew: Array<{ path: string; sha256: string }>;
  readonly seenDigests: Map<string, { path: string; sha256: string; firstSeen: number; add: number }>;
  readonly digestTaughtSeen: Map<string, { path: string; sha256: string }>;
  readonly newListens: string[];
  readonly seenListens: Set<string>;
  /** Paths of the items added, in the report's order. */
  readonly added: string[];
  itemsDropped: number;
  itemsRefused: number;
  /** Held items whose inline-code flag went on while the baseline learns. */
  inlineAdded: number;
  readonly digests: Counts;
  readonly listens: Counts;
}

/** Sources of contents a locked baseline takes for an item it holds: the agent judged them (store/baselines.ts's header). */
const JUDGED_BY_AGENT: ReadonlySet<DigestSource> = new Set(['package', 'image', 'first-sight']);

/**
 * Whether something new to the locked `b`, received `now`, was on its way at a node's lock:
 * received within LOCK_IN_FLIGHT_MS of the lock, by the collector's clock; the node's
 * `firstSeen` can only refuse it.
 */
export function onItsWay(b: MergeTarget, firstSeen: number, now: number): boolean {
  return b.state === 'locked' && b.locked_by === 'node' && b.locked_at !== null
    && now - b.locked_at <= LOCK_IN_FLIGHT_MS && firstSeen <= b.locked_at;
}

/** Whether a node's new content joins `b`; `held`: its item was there before the report. */
function digestJoins(b: MergeTarget, held: boolean, d: ReportedDigest, firstSeen: number, now: number): boolean {
  if (d.source === 'operator') return false;
  if (b.state === 'learning') return true;
  if (held && JUDGED_BY_AGENT.has(d.source)) return true;
  return onItsWay(b, firstSeen, now);
}

/** The plan of merging `rb`, reported by `node` at `now`, into `b`; `h` is updated as the plan grows. */
export function planMerge(b: MergeTarget, h: Holdings, rb: ReportedBaseline, removed: ReadonlySet<string>, now: number): MergePlan {
  const p: MergePlan = {
    newItems: [], taughtNew: [], seenItems: new Map(), taughtSeen: new Set(), inline: new Set(), newDigests: [], digestTaughtNew: [],
    seenDigests: new Map(), digestTaughtSeen: new Map(), newListens: [], seenListens: new Set(), added: [],
    itemsDropped: 0, itemsRefused: 0, inlineAdded: 0, digests: { added: 0, dropped: 0, refused: 0 }, listens: { added: 0, dropped: 0, refused: 0 },
  };
  let items = b.items;
  for (const item of rb.items) {
    if (removed.has(item.path)) continue;
    const firstSeen = item.firstSeen || now;
    const held = h.items.get(item.path);
    if (held) {
      // An operator's item a node holds was not taught by it.
      if (item.source !== 'operator') taughtAgain(p, h, item.path, held, firstSeen);
      mergeDigests(p, b, h, item.path, true, item.digests ?? [], now);
      // Inline code joins as items do: while the central baseline learns.
      if (item.inlineCode && b.state === 'learning' && !held.inline) {
        held.inline = true;
        p.inline.add(item.path);
        p.inlineAdded++;
      }
      continue;
    }
    if (item.source === 'operator') continue; // only the collector's own allows make those
    if (b.state === 'locked' && !onItsWay(b, firstSeen, now)) {
      p.itemsRefused++;
      continue;
    }
    if (items >= BASELINE_LIMITS.itemsPerKey) {
      p.itemsDropped++;
      continue;
    }
    const entry = { nodes: 1, inline: false };
    h.items.set(item.path, entry);
    h.taught.add(item.path);
    p.newItems.push({ path: item.path, source: item.source, firstSeen });
    p.taughtNew.push(item.path);
    p.added.push(item.path);
    items++;
    mergeDigests(p, b, h, item.path, false, item.digests ?? [], now);
    if (item.inlineCode) {
      entry.inline = true;
      p.inline.add(item.path);
    }
  }
  for (const listen of rb.listens ?? []) {
    if (h.listens.has(listen)) {
      p.seenListens.add(listen);
      continue;
    }
    if (b.state === 'locked' && !onItsWay(b, now, now)) {
      p.listens.refused++;
      continue;
    }
    if (h.listens.size >= MAX_LISTENS_PER_BASELINE) {
      p.listens.dropped++;
      continue;
    }
    h.listens.add(listen);
    p.newListens.push(listen);
    p.listens.added++;
  }
  return p;
}

/** The node taught a held item again: recorded, within the bound on nodes per item. */
function taughtAgain(p: MergePlan, h: Holdings, path: string, held: { nodes: number }, firstSeen: number): void {
  const known = h.taught.has(path);
  const add = !known && held.nodes < BASELINE_LIMITS.nodesPerItem;
  if (known) p.taughtSeen.add(path);
  if (add) {
    h.taught.add(path);
    held.nodes++;
    p.taughtNew.push(path);
  }
  const seen = p.seenItems.get(path);
  p.seenItems.set(path, { firstSeen: Math.min(seen?.firstSeen ?? firstSeen, firstSeen), add: (seen?.add ?? 0) + (add ? 1 : 0) });
}

/** A node's contents of `path` (an item now), merged; `held`: the item was there before the report. */
function mergeDigests(p: MergePlan, b: MergeTarget, h: Holdings, path: string, held: boolean, digests: readonly ReportedDigest[], now: number): void {
  for (const d of digests) {
    if (d.source === 'operator') continue; // only the collector's own allows make those
    const firstSeen = d.firstSeen || now;
    const id = digestId(path, d.sha256);
    const nodes = h.digests.get(id);
    if (nodes !== undefined) {
      const known = h.digestTaught.has(id);
      const add = !known && nodes < BASELINE_LIMITS.nodesPerItem;
      if (known) p.digestTaughtSeen.set(id, { path, sha256: d.sha256 });
      if (add) {
        h.digestTaught.add(id);
        h.digests.set(id, nodes + 1);
        p.digestTaughtNew.push({ path, sha256: d.sha256 });
      }
      const seen = p.seenDigests.get(id);
      p.seenDigests.set(id, { path, sha256: d.sha256, firstSeen: Math.min(seen?.firstSeen ?? firstSeen, firstSeen), add: (seen?.add ?? 0) + (add ? 1 : 0) });
      continue;
    }
    if (!digestJoins(b, held, d, firstSeen, now)) {
      p.digests.refused++;
      continue;
    }
    const count = h.perPath.get(path) ?? 0;
    if (count >= ITEM_DIGEST_LIMITS.perItem) {
      p.digests.dropped++;
      continue;
    }
    h.digests.set(id, 1);
    h.digestTaught.add(id);
    h.perPath.set(path, count + 1);
    p.newDigests.push({ path, sha256: d.sha256, source: d.source, image: d.image, firstSeen });
    p.digestTaughtNew.push({ path, sha256: d.sha256 });
    p.digests.added++;
  }
}
