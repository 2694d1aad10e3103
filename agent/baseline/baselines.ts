// Learned process whitelists, one per baseline key (see key.ts); an item is an executable
// path. `decide` is the pure judgement; `createBaselineSet` holds the state, applies the
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
import { itemSourceFromWire } from '../../proto/baseline-key.js';
import { isHostKey, LEGACY_HOST_KEY } from './key.js';

export type ItemSource = 'learned' | 'startup' | 'operator';

export interface BaselineItem {
  readonly addedAtMs: number;
  readonly source: ItemSource;
}

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
}

export type Verdict =
  | 'known'        // in the baseline
  | 'learned'      // learning: added now
  | 'startup'      // locked, allowed as a startup process (learned under a window lock)
  | 'probe'        // locked, allowed as an exec probe
  | 'graveyard'    // learning, but an operator removed it: not learned, not reported
  | 'overflow'     // learning, but the baseline is full: not learned, counted
  | 'unexpected';  // locked and not allowed: a finding

export interface Decision {
  readonly verdict: Verdict;
  /** Set when the executable joins the baseline. */
  readonly learnAs?: ItemSource;
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

/** The judgement of one observation against one baseline (pure). */
export function decide(b: Baseline, obs: Observation, now: number, maxItems: number): Decision {
  if (b.items.has(obs.exe)) return { verdict: 'known' };
  const buried = b.removed.has(obs.exe);
  if (!isLocked(b, now)) {
    if (buried) return { verdict: 'graveyard' };
    if (b.items.size >= maxItems) return { verdict: 'overflow' };
    return { verdict: 'learned', learnAs: 'learned' };
  }
  if (obs.probe) return { verdict: 'probe' };
  if (obs.startup && !buried) {
    const lockedBy = b.lockedBy ?? 'window';
    return lockedBy === 'window' && b.items.size < maxItems ? { verdict: 'startup', learnAs: 'startup' } : { verdict: 'startup' };
  }
  return { verdict: 'unexpected' };
}

/** An operator's change to one baseline, as the collector sends it (see changeFromWire). */
export interface BaselineChange {
  /** Monotonic per key; an update at or below the key's version is ignored. 0: unversioned. */
  readonly version: number;
  readonly key: string;
  /** Executables to allow (as operator entries; they leave the graveyard). */
  readonly allowed: readonly string[];
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
    readonly items: ReadonlyArray<{ readonly path: string; readonly source: ItemSource; readonly firstSeenMs: number }>;
    /** Locked as by an operator (startup processes are not learned), else as by a window. */
    readonly operatorLocked: boolean;
  };
}

type WireUpdate = {
  version?: unknown; key?: string | null; allowed?: readonly string[] | null; removed?: readonly string[] | null; locked?: boolean | null;
  action?: string | number | null; items?: ReadonlyArray<{ path?: string | null; source?: string | number | null; firstSeenMs?: unknown }> | null;
  operatorLocked?: boolean | null;
};

/**
 * BaselineUpdate (proto/nodeward/v1/agent.proto) -> a change. Without an action (the older
 * form) `locked` is a proto3 bool: false cannot be told from "not set", so false never
 * unlocks (an allow must not unlock a baseline by accident); ACTION_UNLOCK says so explicitly.
 */
export function changeFromWire(u: WireUpdate): BaselineChange {
  const base = { version: Number(String(u.version ?? 0)) || 0, key: u.key ?? '', allowed: [...(u.allowed ?? [])], removed: [...(u.removed ?? [])] };
  switch (u.action) {
    case 'ACTION_LOCK': case 3: return { ...base, lock: 'lock' };
    case 'ACTION_UNLOCK': case 4: return { ...base, lock: 'unlock' };
    case 'ACTION_ADOPT': case 5: return {
      ...base, lock: 'keep',
      adopt: {
        items: (u.items ?? []).map((i) => ({ path: i.path ?? '', source: itemSourceFromWire(i.source) ?? 'learned', firstSeenMs: Number(String(i.firstSeenMs ?? 0)) || 0 }))
          .filter((i) => i.path !== ''),
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
  const counters: BaselineCounters = { overflow: 0, evictedKeys: 0 };
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

  /** Records the end of a learning window as a lock, so the snapshot says when it happened. */
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
      if (d.learnAs) {
        b.items.set(obs.exe, { addedAtMs: now, source: d.learnAs });
        totalItems++;
        touch(key);
        dirty = true;
      }
      if (d.verdict === 'overflow') counters.overflow++;
      return d.verdict;
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
        if (had?.source !== 'operator') {
          if (!had) totalItems++;
          b.items.set(exe, { addedAtMs: now, source: 'operator' });
          allowed.push(exe);
        }
      }
      for (const exe of change.removed) {
        if (b.items.delete(exe)) totalItems--;
        b.removed.set(exe, now);
      }
      if (change.adopt) {
        for (const item of change.adopt.items) {
          if (b.items.has(item.path)) continue;
          if (b.items.size >= limits.maxItemsPerKey) {
            counters.overflow++;
            continue;
          }
          b.removed.delete(item.path);
          b.items.set(item.path, { addedAtMs: item.firstSeenMs || now, source: item.source });
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
