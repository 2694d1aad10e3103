// Learned process whitelists, one per baseline key (see key.ts); an item is an executable
// path and the contents (SHA-256 digests) that ran there. `decide` is the pure judgement; `createBaselineSet` holds the state, applies the
// decisions and the collector's updates, and hands out a plain snapshot to persist.
//
// Lifecycle of a baseline:
//   learning  from the first process of its key, for `learnMs` (`hostLearnMs` for the host
//             keys: cron jobs and maintenance run daily). Every executable seen is learned.
//   locked    when the window ends ("window"), or when an operator locks it ("operator").
//             An executable outside it is unexpected, except:
//               - a startup process (first `startupMs` of its container), which is allowed;
//                 under a window lock it is also learned, under an operator lock it is not
//                 (the operator's lock is a promise that nothing joins behind their back);
//               - a probe command of the key, or a process a probe started.
// Entries an operator removed go to the graveyard and are never learned again (neither by
// the window nor as startup); only an operator's allow (or a central baseline that holds
// them, adopted) brings them back.
//   adopted   the collector's locked central baseline for the key: its items join, and the
//             baseline locks (so a new node does not learn what the cluster already locked).
//
// Contents (when the monitor hashes executables; without a content every item is judged by
// its path alone, as before digests):
//   - learned with the path, while learning or as a startup process;
//   - a known path with a content not held is `modified` once locked, except: the first
//     content of an item that predates digests (learned on first sight, marked so), and the
//     first content of a container image the item has no content from yet (a new image
//     version of a workload learns its own). The monitor may still find that the host's
//     package manager vouches for a modified content (learnContent, source `package`);
//   - a content that could not be computed is never learned: while learning nothing is, once
//     locked the process is `unverified`;
//   - an item an operator allowed with any content is not judged by content.
// An item holds at most MAX_DIGESTS contents; the oldest learned one makes room (counted).
import { itemSourceFromWire } from '../../proto/baseline-key.js';
import { isDigestSource, isSha256, ITEM_DIGEST_LIMITS, type DigestSource } from '../../proto/exec-identity.js';
import { isHostKey, LEGACY_HOST_KEY } from './key.js';

export type ItemSource = 'learned' | 'startup' | 'operator';

export { DIGEST_SOURCES, type DigestSource } from '../../proto/exec-identity.js';

/** One content of an item. */
export interface ItemDigest {
  readonly sha256: string;
  readonly addedAtMs: number;
  readonly source: DigestSource;
  /** The container image it ran in; absent on the host. */
  readonly image?: string;
}

export interface BaselineItem {
  readonly addedAtMs: number;
  readonly source: ItemSource;
  /** Absent: the item predates digests (its first content is learned on first sight). */
  readonly digests?: readonly ItemDigest[];
  /** An operator allowed the path with any content. */
  readonly anyContent?: boolean;
  /** The interpreter ran inline code while learning (or an operator allowed it to). */
  readonly inline?: boolean;
}

/** Contents kept per item at most. */
export const MAX_DIGESTS = ITEM_DIGEST_LIMITS.perItem;

export interface Baseline {
  readonly key: string;
  /** When the first process of the key was seen: the learning window starts here. */
  createdAtMs: number;
  learnUntilMs: number;
  lockedAtMs: number | null;
  lockedBy: 'window' | 'operator' | null;
  /** The version of the last BaselineUpdate applied to this key (0: none). */
  version: number;
  lastSeenMs: number;
  readonly items: Map<string, BaselineItem>;
  /** The graveyard: executable -> when an operator removed it. */
  readonly removed: Map<string, number>;
}

export interface Observation {
  readonly exe: string;
  /** The process started within the first startupMs of its container. */
  readonly startup: boolean;
  /** The process is an exec probe of this key, or was started by one. */
  readonly probe: boolean;
  /**
   * What ran: its digest (and the container image it ran in), or why it could not be
   * computed. Absent when contents are not judged.
   */
  readonly content?: { readonly sha256: string; readonly image: string } | { readonly error: string };
}

export type Verdict =
  | 'known'        // in the baseline (path and content)
  | 'learned'      // learning: added now (or a new content of a known path)
  | 'first-sight'  // a known path that predates digests: its first content is learned now
  | 'image'        // a known path's first content from a container image it had none from: learned
  | 'modified'     // locked: a known path with a content the baseline does not hold
  | 'unverified'   // locked: a known path whose content could not be computed
  | 'unhashed'     // learning: the content could not be computed, so nothing is learned
  | 'startup'      // locked, allowed as a startup process (learned under a window lock)
  | 'probe'        // locked, allowed as an exec probe
  | 'graveyard'    // learning, but an operator removed it: not learned, not reported
  | 'overflow'     // learning, but the baseline is full: not learned, counted
  | 'unexpected';  // locked and not allowed: a finding

/** A count per verdict, all 0. */
export function zeroVerdicts(): Record<Verdict, number> {
  return {
    known: 0, learned: 0, 'first-sight': 0, image: 0, startup: 0, probe: 0, graveyard: 0, overflow: 0, modified: 0, unverified: 0, unhashed: 0, unexpected: 0,
  };
}

export interface Decision {
  readonly verdict: Verdict;
  /** Set when the executable joins the baseline. */
  readonly learnAs?: ItemSource;
  /** Set when the content joins the item (a new item's content too). */
  readonly learnContent?: DigestSource;
}

export interface BaselineLimits {
  readonly learnMs: number;
  readonly hostLearnMs: number;
  /** Baselines kept at most; the least recently seen is evicted (and counted). */
  readonly maxKeys: number;
  /** Items per baseline at most; more are not learned (and counted). */
  readonly maxItemsPerKey: number;
  /** Items in all baselines together at most (default MAX_TOTAL_ITEMS): keeps the file small. */
  readonly maxTotalItems?: number;
}

/** About 6 MB of baselines.json. */
export const MAX_TOTAL_ITEMS = 65_536;

export const isLocked = (b: Baseline, now: number): boolean => b.lockedAtMs !== null || now >= b.learnUntilMs;

/** The judgement of a known path's content (pure). */
function decideContent(item: BaselineItem, obs: Observation, locked: boolean): Decision {
  const c = obs.content;
  if (c === undefined || item.anyContent) return { verdict: 'known' };
  if ('error' in c) return { verdict: locked ? 'unverified' : 'unhashed' };
  if (item.digests === undefined) return { verdict: 'first-sight', learnContent: 'first-sight' };
  if (item.digests.some((d) => d.sha256 === c.sha256)) return { verdict: 'known' };
  if (!locked) return { verdict: 'learned', learnContent: 'learned' };
  if (c.image !== '' && !item.digests.some((d) => d.image === c.image)) return { verdict: 'image', learnContent: 'image' };
  return { verdict: 'modified' };
}

/** The judgement of one observation against one baseline (pure). */
export function decide(b: Baseline, obs: Observation, now: number, maxItems: number): Decision {
  const locked = isLocked(b, now);
  const item = b.items.get(obs.exe);
  if (item) {
    const d = decideContent(item, obs, locked);
    // A probe's command is allowed whatever it runs, as it is when its path is not known.
    return obs.probe && locked && (d.verdict === 'modified' || d.verdict === 'unverified') ? { verdict: 'probe' } : d;
  }
  const buried = b.removed.has(obs.exe);
  const unhashed = obs.content !== undefined && 'error' in obs.content;
  if (!locked) {
    if (buried) return { verdict: 'graveyard' };
    if (unhashed) return { verdict: 'unhashed' };
    if (b.items.size >= maxItems) return { verdict: 'overflow' };
    return { verdict: 'learned', learnAs: 'learned', ...(obs.content ? { learnContent: 'learned' } : {}) };
  }
  if (obs.probe) return { verdict: 'probe' };
  if (obs.startup && !buried) {
    const lockedBy = b.lockedBy ?? 'window';
    if (lockedBy !== 'window' || b.items.size >= maxItems || unhashed) return { verdict: 'startup' };
    return { verdict: 'startup', learnAs: 'startup', ...(obs.content ? { learnContent: 'startup' } : {}) };
  }
  return { verdict: 'unexpected' };
}

/** `digests` with one more content; the oldest not given by an operator makes room. */
export function withDigest(digests: readonly ItemDigest[], d: ItemDigest): { digests: ItemDigest[]; evicted: boolean } {
  if (digests.some((x) => x.sha256 === d.sha256)) return { digests: [...digests], evicted: false };
  const out = [...digests, d];
  if (out.length <= MAX_DIGESTS) return { digests: out, evicted: false };
  let victim = out.findIndex((x) => x.source !== 'operator');
  if (victim < 0 || victim === out.length - 1) victim = 0;
  out.splice(victim, 1);
  return { digests: out, evicted: true };
}

/** An operator's change to one baseline, as the collector sends it (see changeFromWire). */
export interface BaselineChange {
  /** Monotonic per key; an update at or below the key's version is ignored. 0: unversioned. */
  readonly version: number;
  readonly key: string;
  /** Executables to allow (as operator entries; they leave the graveyard). */
  readonly allowed: readonly string[];
  /**
   * What is allowed of each path in `allowed`: the contents, or any content. A path without
   * an entry is allowed with any content (the older form of an allow).
   */
  readonly allowedContent?: ReadonlyMap<string, AllowedContent>;
  /** Executables to remove (into the graveyard). */
  readonly removed: readonly string[];
  /**
   * `lock` locks now (an operator lock); `unlock` makes a locked baseline learn again for a
   * fresh window; `keep` leaves the lock state alone.
   */
  readonly lock: 'lock' | 'unlock' | 'keep';
  /**
   * The collector's locked central baseline for this key: its items join (with their source;
   * what this node learned stays), and the baseline locks (`lock` is then ignored).
   */
  readonly adopt?: {
    readonly items: ReadonlyArray<{
      readonly path: string; readonly source: ItemSource; readonly firstSeenMs: number;
      readonly digests?: readonly ItemDigest[]; readonly anyContent?: boolean; readonly inline?: boolean;
    }>;
    /** Locked as by an operator (startup processes are not learned), else as by a window. */
    readonly operatorLocked: boolean;
  };
}

export interface AllowedContent {
  readonly anyContent: boolean;
  readonly sha256: readonly string[];
}


type WireItem = {
  path?: string | null; source?: string | number | null; firstSeenMs?: unknown; anyContent?: boolean | null; inlineCode?: boolean | null;
  digests?: ReadonlyArray<{ sha256?: string | null; source?: string | null; image?: string | null; firstSeenMs?: unknown }> | null;
};

/** An item's contents from the wire: well-formed ones only, at most MAX_DIGESTS. */
function digestsFromWire(item: WireItem): ItemDigest[] | undefined {
  if (!item.digests || item.digests.length === 0) return undefined;
  const out: ItemDigest[] = [];
  for (const d of item.digests) {
    if (out.length >= MAX_DIGESTS) break;
    const source: DigestSource = isDigestSource(d.source) ? d.source : 'learned';
    if (!isSha256(d.sha256) || out.some((x) => x.sha256 === d.sha256)) continue;
    out.push({ sha256: d.sha256 as string, source, addedAtMs: Number(String(d.firstSeenMs ?? 0)) || 0, ...(d.image ? { image: d.image } : {}) });
  }
  return out.length > 0 ? out : undefined;
}

type WireUpdate = {
  version?: unknown; key?: string | null; allowed?: readonly string[] | null; removed?: readonly string[] | null; locked?: boolean | null;
  action?: string | number | null; items?: ReadonlyArray<WireItem> | null;
  operatorLocked?: boolean | null; allowedItems?: ReadonlyArray<WireItem> | null;
};

/**
 * BaselineUpdate (proto/nodeward/v1/agent.proto) -> a change. Without an action (the older
 * form) `locked` is a proto3 bool: false cannot be told from "not set", so false never
 * unlocks (an allow must not unlock a baseline by accident); ACTION_UNLOCK says so explicitly.
 */
export function changeFromWire(u: WireUpdate): BaselineChange {
  const allowedContent = new Map<string, AllowedContent>();
  for (const i of u.allowedItems ?? []) {
    if (!i.path) continue;
    const sha256 = (digestsFromWire(i) ?? []).map((d) => d.sha256);
    allowedContent.set(i.path, { anyContent: i.anyContent === true || sha256.length === 0, sha256 });
  }
  const base = {
    version: Number(String(u.version ?? 0)) || 0, key: u.key ?? '', allowed: [...(u.allowed ?? [])], removed: [...(u.removed ?? [])],
    ...(allowedContent.size > 0 ? { allowedContent } : {}),
  };
  switch (u.action) {
    case 'ACTION_LOCK': case 3: return { ...base, lock: 'lock' };
    case 'ACTION_UNLOCK': case 4: return { ...base, lock: 'unlock' };
    case 'ACTION_ADOPT': case 5: return {
      ...base, lock: 'keep',
      adopt: {
        items: (u.items ?? []).map((i) => {
          const digests = digestsFromWire(i);
          return {
            path: i.path ?? '', source: itemSourceFromWire(i.source) ?? 'learned', firstSeenMs: Number(String(i.firstSeenMs ?? 0)) || 0,
            ...(digests ? { digests } : {}), ...(i.anyContent ? { anyContent: true } : {}), ...(i.inlineCode ? { inline: true } : {}),
          };
        }).filter((i) => i.path !== ''),
        operatorLocked: u.operatorLocked === true,
      },
    };
    case 'ACTION_ALLOW': case 1: case 'ACTION_REMOVE': case 2: return { ...base, lock: 'keep' };
    default: return { ...base, lock: u.locked ? 'lock' : 'keep' };
  }
}

export interface ApplyResult {
  readonly applied: boolean;
  /** Executables that became allowed by this update. */
  readonly allowed: readonly string[];
}

// --- persistence shape -------------------------------------------------------------------

export interface BaselineJson {
  readonly key: string;
  readonly createdAtMs: number;
  readonly learnUntilMs: number;
  readonly lockedAtMs: number | null;
  readonly lockedBy: 'window' | 'operator' | null;
  readonly version: number;
  readonly lastSeenMs: number;
  readonly items: Record<string, BaselineItem>;
  readonly removed: Record<string, number>;
}

export interface BaselineSetJson {
  readonly format: 1;
  /** The highest BaselineUpdate version applied (sent in Hello.baseline_version). */
  readonly version: number;
  readonly baselines: readonly BaselineJson[];
  /** Exec probe commands per key, as the collector last sent them. */
  readonly probes: Readonly<Record<string, string[][]>>;
}

export function baselineToJson(b: Baseline): BaselineJson {
  return {
    key: b.key, createdAtMs: b.createdAtMs, learnUntilMs: b.learnUntilMs, lockedAtMs: b.lockedAtMs, lockedBy: b.lockedBy,
    version: b.version, lastSeenMs: b.lastSeenMs,
    items: Object.fromEntries([...b.items].sort(([x], [y]) => (x < y ? -1 : 1))),
    removed: Object.fromEntries(b.removed),
  };
}

/**
 * A file written before node roles holds the cluster-wide `host` baseline. Its items, lock
 * state and graveyard move to this node's host key, once, on load (the legacy key is gone
 * from the next save), so the node does not learn its host again. When the node already has
 * a baseline under its host key, the legacy items and removals join it and its state stays.
 * The moved baseline's version starts at 0: the collector numbers the new key's changes
 * apart, and a baseline reported below the central version is sent the central one again.
 * Items `keep` refuses stay behind: a worker leaves control-plane binaries out, which the
 * legacy baseline may hold because it adopted what control-plane nodes taught.
 */
export function migrateLegacyHost(data: BaselineSetJson, hostKey: string, keep: (exe: string) => boolean): {
  data: BaselineSetJson; moved: number; left: string[];
} {
  const legacy = data.baselines.find((b) => b.key === LEGACY_HOST_KEY);
  if (!legacy || hostKey === LEGACY_HOST_KEY) return { data, moved: 0, left: [] };
  const left = Object.keys(legacy.items).filter((exe) => !keep(exe)).sort();
  const target = data.baselines.find((b) => b.key === hostKey);
  const pick = <V>(m: Record<string, V>, ok: (exe: string) => boolean): Record<string, V> => Object.fromEntries(Object.entries(m).filter(([exe]) => ok(exe)));
  // What the node has under its own key wins: its items, and what it removed there.
  const items = { ...pick(legacy.items, (exe) => keep(exe) && !(target && exe in target.removed)), ...target?.items };
  const removed = { ...pick(legacy.removed, (exe) => !(exe in items)), ...target?.removed };
  const moved: BaselineJson = target ? { ...target, items, removed } : { ...legacy, key: hostKey, version: 0, items, removed };
  const baselines = [...data.baselines.filter((b) => b.key !== LEGACY_HOST_KEY && b.key !== hostKey), moved].sort((x, y) => (x.key < y.key ? -1 : 1));
  return { data: { ...data, baselines }, moved: Object.keys(items).length - Object.keys(target?.items ?? {}).length, left };
}

function baselineFromJson(j: BaselineJson): Baseline {
  return {
    key: j.key, createdAtMs: j.createdAtMs, learnUntilMs: j.learnUntilMs, lockedAtMs: j.lockedAtMs, lockedBy: j.lockedBy,
    version: j.version, lastSeenMs: j.lastSeenMs,
    items: new Map(Object.entries(j.items)), removed: new Map(Object.entries(j.removed)),
  };
}

// --- the stateful set --------------------------------------------------------------------

export interface BaselineCounters {
  /** Executables not learned because their baseline was full. */
  overflow: number;
  /** Baselines evicted because there were more than maxKeys. */
  evictedKeys: number;
  /** Contents dropped from a full item to make room for a newer one. */
  evictedDigests: number;
}

/** lastSeen is persisted lazily: a change smaller than this does not make the set dirty. */
const LAST_SEEN_RESOLUTION_MS = 10 * 60_000;
/** A pod has at most a liveness, a readiness and a startup probe per container. */
const MAX_PROBES_PER_KEY = 8;

export function createBaselineSet(limits: BaselineLimits, initial?: BaselineSetJson) {
  const baselines = new Map<string, Baseline>();
  let version = initial?.version ?? 0;
  let dirty = false;
  // A journal of which baselines changed (items, lock, creation), for the reports to the
  // collector: each change takes the next revision; lastSeen alone is not a change.
  let revision = 0;
  const revised = new Map<string, number>();
  const touch = (key: string): void => void revised.set(key, ++revision);
  const counters: BaselineCounters = { overflow: 0, evictedKeys: 0, evictedDigests: 0 };
  for (const j of initial?.baselines ?? []) baselines.set(j.key, baselineFromJson(j));
  /** Items in all baselines, kept current on every change. */
  let totalItems = 0;
  for (const b of baselines.values()) totalItems += b.items.size;
  /** Probes live apart from baselines: setting them must not start a key's learning window. */
  const probes = new Map<string, string[][]>(Object.entries(initial?.probes ?? {}));

  function evictIfFull(): void {
    while (baselines.size >= limits.maxKeys) {
      let victim: Baseline | undefined;
      for (const b of baselines.values()) {
        if (isHostKey(b.key)) continue;
        if (!victim || b.lastSeenMs < victim.lastSeenMs) victim = b;
      }
      if (!victim) return;
      baselines.delete(victim.key);
      revised.delete(victim.key);
      totalItems -= victim.items.size;
      counters.evictedKeys++;
      dirty = true;
    }
  }

  function ensure(key: string, now: number): Baseline {
    let b = baselines.get(key);
    if (!b) {
      evictIfFull();
      b = {
        key, createdAtMs: now, learnUntilMs: now + (isHostKey(key) ? limits.hostLearnMs : limits.learnMs), lockedAtMs: null,
        lockedBy: null, version: 0, lastSeenMs: now, items: new Map(), removed: new Map(),
      };
      baselines.set(key, b);
      touch(key);
      dirty = true;
    }
    return b;
  }

  function digestOf(c: { sha256: string; image: string }, source: DigestSource, now: number): ItemDigest {
    return { sha256: c.sha256, addedAtMs: now, source, ...(c.image ? { image: c.image } : {}) };
  }

  /** Adds a content to an existing item; false when the item is gone or already holds it. */
  function addContent(b: Baseline, exe: string, d: ItemDigest): boolean {
    const item = b.items.get(exe);
    if (!item || item.digests?.some((x) => x.sha256 === d.sha256)) return false;
    const r = withDigest(item.digests ?? [], d);
    if (r.evicted) counters.evictedDigests++;
    b.items.set(exe, { ...item, digests: r.digests });
    touch(b.key);
    dirty = true;
    return true;
  }

  /** Keys whose window ended since the last tick, wherever it was noticed (tick or observe). */
  const lockedSinceTick = new Set<string>();

  function settle(b: Baseline, now: number): void {
    if (b.lockedAtMs === null && now >= b.learnUntilMs) {
      b.lockedAtMs = b.learnUntilMs;
      b.lockedBy = 'window';
      touch(b.key);
      dirty = true;
      lockedSinceTick.add(b.key);
    }
  }

  return {
    get version(): number {
      return version;
    },
    get dirty(): boolean {
      return dirty;
    },
    markClean(): void {
      dirty = false;
    },
    /** A save failed: the next one must write again. */
    markDirty(): void {
      dirty = true;
    },
    counters,
    get size(): number {
      return baselines.size;
    },
    /** Items in all baselines together. */
    get items(): number {
      return totalItems;
    },
    get(key: string): Baseline | undefined {
      return baselines.get(key);
    },
    keys(): string[] {
      return [...baselines.keys()].sort();
    },

    /** Judges one process of `key` and applies what the judgement learns. */
    observe(key: string, obs: Observation, now: number): Verdict {
      const b = ensure(key, now);
      settle(b, now);
      if (now - b.lastSeenMs >= LAST_SEEN_RESOLUTION_MS) dirty = true;
      b.lastSeenMs = Math.max(b.lastSeenMs, now);
      const full = totalItems >= (limits.maxTotalItems ?? MAX_TOTAL_ITEMS);
      const d = decide(b, obs, now, full ? Math.min(b.items.size, limits.maxItemsPerKey) : limits.maxItemsPerKey);
      const c = obs.content !== undefined && !('error' in obs.content) ? obs.content : null;
      if (d.learnAs) {
        const digests = c && d.learnContent ? [digestOf(c, d.learnContent, now)] : undefined;
        b.items.set(obs.exe, { addedAtMs: now, source: d.learnAs, ...(digests ? { digests } : {}) });
        totalItems++;
        touch(key);
        dirty = true;
      } else if (d.learnContent && c) {
        addContent(b, obs.exe, digestOf(c, d.learnContent, now));
      }
      if (d.verdict === 'overflow') counters.overflow++;
      return d.verdict;
    },

    /**
     * Adds a content to a known path from outside the judgement (the host's package manager
     * vouched for it). False when the baseline or item is gone or already holds it.
     */
    learnContent(key: string, exe: string, sha256: string, source: DigestSource, now: number): boolean {
      const b = baselines.get(key);
      return b ? addContent(b, exe, { sha256, addedAtMs: now, source }) : false;
    },

    /**
     * Whether the interpreter at `exe` may run inline code: while the baseline learns, yes;
     * once locked, only when it did while learning (recordInline) or an operator allowed it.
     */
    inlineAllowed(key: string, exe: string, now: number): boolean {
      const b = baselines.get(key);
      return !b || !isLocked(b, now) || b.items.get(exe)?.inline === true;
    },

    /** The interpreter at `exe` ran inline code: recorded while its baseline learns. */
    recordInline(key: string, exe: string, now: number): void {
      const b = baselines.get(key);
      const item = b?.items.get(exe);
      if (!b || !item || item.inline || isLocked(b, now)) return;
      b.items.set(exe, { ...item, inline: true });
      touch(key);
      dirty = true;
    },

    /**
     * Ends due learning windows; returns the keys that locked since the last tick (an exec
     * judged after a window ended locks its baseline at once: it is returned here too).
     */
    tick(now: number): string[] {
      for (const b of baselines.values()) settle(b, now);
      const locked = [...lockedSinceTick];
      lockedSinceTick.clear();
      return locked;
    },

    /** Applies an operator's change from the collector. A key not known yet is created. */
    apply(change: BaselineChange, now: number): ApplyResult {
      const existing = baselines.get(change.key);
      if (existing && change.version > 0 && change.version <= existing.version) return { applied: false, allowed: [] };
      const b = existing ?? ensure(change.key, now);
      settle(b, now);
      const allowed: string[] = [];
      for (const exe of change.allowed) {
        b.removed.delete(exe);
        const had = b.items.get(exe);
        const content = change.allowedContent?.get(exe) ?? { anyContent: true, sha256: [] };
        let digests = had?.digests ?? [];
        for (const sha256 of content.sha256) {
          const r = withDigest(digests, { sha256, addedAtMs: now, source: 'operator' });
          if (r.evicted) counters.evictedDigests++;
          digests = r.digests;
        }
        const anyContent = content.anyContent || had?.anyContent === true;
        const next: BaselineItem = { addedAtMs: had?.source === 'operator' ? had.addedAtMs : now, source: 'operator', digests, ...(anyContent ? { anyContent } : {}) };
        if (had?.source !== 'operator' || digests.length !== (had.digests?.length ?? 0) || anyContent !== (had.anyContent === true)) {
          if (!had) totalItems++;
          b.items.set(exe, next);
          allowed.push(exe);
        }
      }
      for (const exe of change.removed) {
        if (b.items.delete(exe)) totalItems--;
        b.removed.set(exe, now);
      }
      if (change.adopt) {
        for (const item of change.adopt.items) {
          const had = b.items.get(item.path);
          if (had) {
            // What the cluster holds of a path this node knows: its contents join.
            let changed = false;
            for (const d of item.digests ?? []) changed = addContent(b, item.path, d) || changed;
            if (item.anyContent && !had.anyContent) {
              b.items.set(item.path, { ...(b.items.get(item.path) ?? had), anyContent: true });
              changed = true;
            }
            if (item.inline && !had.inline) {
              b.items.set(item.path, { ...(b.items.get(item.path) ?? had), inline: true });
              changed = true;
            }
            if (changed) allowed.push(item.path);
            continue;
          }
          if (b.items.size >= limits.maxItemsPerKey) {
            counters.overflow++;
            continue;
          }
          b.removed.delete(item.path);
          b.items.set(item.path, {
            addedAtMs: item.firstSeenMs || now, source: item.source,
            ...(item.digests ? { digests: item.digests.slice(0, MAX_DIGESTS) } : {}), ...(item.anyContent ? { anyContent: true } : {}),
            ...(item.inline ? { inline: true } : {}),
          });
          totalItems++;
          allowed.push(item.path);
        }
        b.lockedAtMs ??= now;
        b.lockedBy = change.adopt.operatorLocked ? 'operator' : 'window';
      } else if (change.lock === 'lock' && b.lockedBy !== 'operator') {
        b.lockedAtMs = now;
        b.lockedBy = 'operator';
      } else if (change.lock === 'unlock' && b.lockedAtMs !== null) {
        b.lockedAtMs = null;
        b.lockedBy = null;
        b.learnUntilMs = now + (isHostKey(b.key) ? limits.hostLearnMs : limits.learnMs);
      }
      if (change.version > 0) {
        b.version = change.version;
        version = Math.max(version, change.version);
      }
      touch(b.key);
      dirty = true;
      return { applied: true, allowed };
    },

    /** Replaces the exec probe commands of a key (an empty list clears them). */
    setProbes(key: string, commands: readonly (readonly string[])[]): void {
      if (commands.length === 0) probes.delete(key);
      else if (probes.has(key) || probes.size < limits.maxKeys) probes.set(key, commands.slice(0, MAX_PROBES_PER_KEY).map((p) => [...p]));
      dirty = true;
    },

    probes(key: string): readonly (readonly string[])[] {
      return probes.get(key) ?? [];
    },

    /** The keys that have probe commands. */
    probeKeys(): string[] {
      return [...probes.keys()];
    },

    /** Goes up by one with every change to a baseline (not with lastSeen alone). */
    get revision(): number {
      return revision;
    },

    /** Something reported with the key's baseline changed (its listen set): it is reported again. */
    revise(key: string): void {
      if (baselines.has(key)) touch(key);
    },

    /** Keys of the baselines (still held) changed after revision `rev`. */
    changedSince(rev: number): string[] {
      const out: string[] = [];
      for (const [key, r] of revised) if (r > rev) out.push(key);
      return out;
    },

    snapshot(): BaselineSetJson {
      return {
        format: 1, version,
        baselines: [...baselines.values()].sort((x, y) => (x.key < y.key ? -1 : 1)).map(baselineToJson),
        probes: Object.fromEntries([...probes].sort(([x], [y]) => (x < y ? -1 : 1))),
      };
    },
  };
}

export type BaselineSet = ReturnType<typeof createBaselineSet>;
