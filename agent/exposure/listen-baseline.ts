// What each workload listens on, learned like its executables: while a workload's process
// baseline is learning, the sockets its processes listen on join its listen set; once it is
// locked, a listener outside the set is judged (exposure-new-listener). An item is
// `<protocol>/<address>:<port>` with the address as bound (`0.0.0.0`, `::`, or one address).
// UDP sockets on ephemeral ports (32768 and up: a resolver's or client's unconnected socket)
// are neither learned nor judged. Bounded: keys and items per key, what does not fit counted.
// Kept in `<stateDir>/listens.json`, written atomically when it changed. Only keys whose set
// this node learned are judged: a baseline adopted locked from the collector, or a workload
// that did not listen while it learned, has no set here and raises nothing.
import { readFile } from 'node:fs/promises';
import { writeJsonAtomically } from '../baseline/store.js';
import type { BaselineState, ListenBaselineView, Listener } from '../facts/exposure-types.js';

export type { BaselineState, ListenBaselineView } from '../facts/exposure-types.js';

export const LISTENS_FILE = 'listens.json';
export const EPHEMERAL_UDP_FROM = 32768;


export interface ListenBaselineLimits {
  readonly maxKeys: number;
  readonly maxPerKey: number;
}

export const DEFAULT_LISTEN_LIMITS: ListenBaselineLimits = { maxKeys: 4096, maxPerKey: 256 };

/** What the check needs of one key: its state now and what it learned (keys with listeners in this scan only). */
export const listenItem = (l: Pick<Listener, 'protocol' | 'address' | 'port'>): string => `${l.protocol}/${l.address.includes(':') ? `[${l.address}]` : l.address}:${l.port}`;

/** Whether a listener is learned and judged at all. */
export const judgedListener = (l: Pick<Listener, 'protocol' | 'port' | 'owner'>): boolean =>
  l.owner !== null && !(l.protocol === 'udp' && l.port >= EPHEMERAL_UDP_FROM);

interface FileShape {
  readonly format: 1;
  readonly keys: Record<string, { items: string[]; overflow: number }>;
}

/** At most this many listens per baseline go to the collector (AgentBaseline.listens). */
export const WIRE_LISTENS_PER_BASELINE = 256;

/** `onLearned`: a key's set grew (its baseline is reported to the collector again). */
export function createListenBaselines(path: string, limits: ListenBaselineLimits = DEFAULT_LISTEN_LIMITS, onLearned?: (key: string) => void) {
  const sets = new Map<string, { items: Set<string>; overflow: number }>();
  let dirty = false;
  let keysDropped = 0;

  return {
    /** Loads the file; a missing or unreadable one starts empty (and says why). */
    async load(): Promise<string> {
      let doc: FileShape;
      try {
        doc = JSON.parse(await readFile(path, 'utf8')) as FileShape;
      } catch (err) {
        return (err as NodeJS.ErrnoException).code === 'ENOENT' ? '' : `listen baselines unreadable, starting empty: ${(err as Error).message}`;
      }
      if (doc?.format !== 1 || typeof doc.keys !== 'object' || doc.keys === null) return 'listen baselines in an unknown format, starting empty';
      for (const [key, v] of Object.entries(doc.keys).slice(0, limits.maxKeys)) {
        const items = Array.isArray(v?.items) ? v.items.filter((i): i is string => typeof i === 'string' && i.length <= 128).slice(0, limits.maxPerKey) : [];
        sets.set(key, { items: new Set(items), overflow: Number.isSafeInteger(v?.overflow) ? v.overflow : 0 });
      }
      return '';
    },

    /**
     * Learns the listeners of keys that are learning, and returns each judged key's view.
     * `stateOf` is the process baseline's state of a key (null: no baseline, not judged).
     */
    observe(listeners: readonly Listener[], stateOf: (key: string) => BaselineState | null): Record<string, ListenBaselineView> {
      const views: Record<string, ListenBaselineView> = {};
      for (const l of listeners) {
        if (!judgedListener(l)) continue;
        const key = (l.owner as NonNullable<Listener['owner']>).key;
        const state = stateOf(key);
        if (state === null) continue;
        let set = sets.get(key);
        if (state === 'learning') {
          if (!set) {
            if (sets.size >= limits.maxKeys) {
              keysDropped++;
              continue;
            }
            set = { items: new Set(), overflow: 0 };
            sets.set(key, set);
          }
          const item = listenItem(l);
          if (!set.items.has(item)) {
            if (set.items.size >= limits.maxPerKey) set.overflow++;
            else {
              set.items.add(item);
              onLearned?.(key);
            }
            dirty = true;
          }
        }
        // A key this node never saw learning with a listener has no set here (a baseline adopted
        // locked from the collector, or a workload that did not listen while learning): not judged.
        if (!set) continue;
        views[key] = { state, learned: [...set.items].sort(), overflow: set.overflow };
      }
      return views;
    },

    /** Forgets a key's listens (its baseline was unlocked to learn again, or deleted). */
    forget(key: string): void {
      if (sets.delete(key)) dirty = true;
    },

    /** Writes the file when something changed. */
    async save(): Promise<void> {
      if (!dirty) return;
      const keys: FileShape['keys'] = {};
      for (const [k, v] of sets) keys[k] = { items: [...v.items].sort(), overflow: v.overflow };
      await writeJsonAtomically(path, { format: 1, keys } satisfies FileShape);
      dirty = false;
    },

    /** The listen set of a key (for reports). */
    learned(key: string): string[] {
      return [...(sets.get(key)?.items ?? [])].sort();
    },

    stats(): { keys: number; keysDropped: number } {
      return { keys: sets.size, keysDropped };
    },
  };
}

export type ListenBaselines = ReturnType<typeof createListenBaselines>;
