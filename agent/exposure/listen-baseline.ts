// What each workload listens on, learned like its executables: while a workload's process
// baseline is learning, the sockets its processes listen on join its listen set; once it is
// locked, a listener outside the set is judged (exposure-new-listener). An item is
// `<protocol>/<address>:<port>` with the address as bound (`0.0.0.0`, `::`, or one address).
// UDP sockets on ephemeral ports (32768 and up: a resolver's or client's unconnected socket)
// are neither learned nor judged. Bounded: keys and items per key, what does not fit counted.
// Kept in `<stateDir>/listens.json`, written atomically when it changed.
// The collector's listen set joins (`adopt`): a central baseline adopted locked brings what
// the workload listened on while it learned on other nodes, and an operator's allow brings
// one listen, literal or of an address class (proto/listen-item.ts). Only keys with a set
// are judged: a workload that listened nowhere while it learned (on this node or, as the
// collector says, on any) has none and raises nothing.
import { readFile } from 'node:fs/promises';
import { writeJsonAtomically } from '../baseline/store.js';
import type { BaselineState, ListenBaselineView, Listener } from '../facts/exposure-types.js';
import { formatListen, listenCovers, parseListen, type ParsedListen } from '../../proto/listen-item.js';

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

/** The entry of the key's set (its item, or an address class's entry) that covers a listener; undefined when none does. */
export function coveringListen(learned: readonly string[], l: Pick<Listener, 'protocol' | 'address' | 'port' | 'class'>): string | undefined {
  return learned.find((text) => {
    const p = parseListen(text);
    return typeof p !== 'string' && listenCovers(p, l);
  });
}

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
  let adoptRefused = 0;
  let saving: Promise<void> = Promise.resolve();

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

    /**
     * The collector's listens of a key join its set (a baseline adopted, an operator's allow);
     * what is not a listen is refused and what does not fit dropped, both counted. No set is
     * made for an empty list. Returns how many joined.
     */
    adopt(key: string, listens: readonly string[]): number {
      const parsed = listens.map(parseListen).filter((p): p is ParsedListen => {
        if (typeof p !== 'string') return true;
        adoptRefused++;
        return false;
      });
      if (parsed.length === 0) return 0;
      let set = sets.get(key);
      if (!set) {
        if (sets.size >= limits.maxKeys) {
          keysDropped++;
          return 0;
        }
        set = { items: new Set(), overflow: 0 };
        sets.set(key, set);
        dirty = true;
      }
      let joined = 0;
      for (const p of parsed) {
        const text = formatListen(p);
        if (set.items.has(text)) continue;
        if (set.items.size >= limits.maxPerKey) {
          set.overflow++;
          continue;
        }
        set.items.add(text);
        joined++;
        dirty = true;
      }
      return joined;
    },

    /** Forgets a key's listens (its baseline was unlocked to learn again, or deleted). */
    forget(key: string): void {
      if (sets.delete(key)) dirty = true;
    },

    /**
     * Writes the file when something changed. Saves run one after another (a scan's and a
     * collector update's share the temporary file); a failed one leaves the sets dirty.
     */
    save(): Promise<void> {
      const run = saving.then(async () => {
        if (!dirty) return;
        const keys: FileShape['keys'] = {};
        for (const [k, v] of sets) keys[k] = { items: [...v.items].sort(), overflow: v.overflow };
        dirty = false;
        try {
          await writeJsonAtomically(path, { format: 1, keys } satisfies FileShape);
        } catch (err) {
          dirty = true;
          throw err;
        }
      });
      saving = run.catch(() => undefined);
      return run;
    },

    /** The listen set of a key (for reports). */
    learned(key: string): string[] {
      return [...(sets.get(key)?.items ?? [])].sort();
    },

    stats(): { keys: number; keysDropped: number; adoptRefused: number } {
      return { keys: sets.size, keysDropped, adoptRefused };
    },
  };
}

export type ListenBaselines = ReturnType<typeof createListenBaselines>;
