// Which workloads the pod watch has shown on each node: what a node's baseline reports are
// checked against (pipeline/baselines.ts). A node teaches the baseline of a workload key
// (<namespace>/<Kind>/<name>/<container>) only while the watch shows a pod of that workload,
// with that container, on that node, or showed one within `graceMs`: an agent locks a
// baseline at the end of its learning window, and by then a short-lived pod (a CronJob's)
// may be gone. The watch's owners are the ones the agents key by (it sends them to them).
//
// Bounded: at most `maxKeysPerNode` remembered keys per node (the oldest go first), and keys
// are forgotten once their grace has passed.
import { workloadKeyOf } from '../../proto/baseline-key.js';
import type { PodInfo } from '../kube/types.js';

export interface PodSource {
  podsOnNode(node: string): readonly PodInfo[];
  subscribe(listener: (node: string, pods: readonly PodInfo[]) => void): () => void;
  stats(): { readonly synced: boolean };
}

export interface WorkloadPresenceConfig {
  readonly graceMs: number;
  readonly maxKeysPerNode?: number;
}

/** The workload keys of these pods' containers. */
export function workloadKeysOf(pods: readonly PodInfo[]): Set<string> {
  const keys = new Set<string>();
  for (const p of pods) {
    for (const c of p.containers) keys.add(workloadKeyOf({ namespace: p.namespace, kind: p.owner.kind, name: p.owner.name, container: c.name }));
  }
  return keys;
}

export function createWorkloadPresence(source: PodSource, config: WorkloadPresenceConfig, now: () => number = Date.now) {
  const maxKeys = config.maxKeysPerNode ?? 8192;
  /** Per node, each key's last time on it (insertion order: oldest sighting first). */
  const seen = new Map<string, Map<string, number>>();

  function remember(node: string, keys: Iterable<string>, at: number): void {
    let m = seen.get(node);
    if (!m) seen.set(node, (m = new Map()));
    for (const k of keys) {
      m.delete(k);
      m.set(k, at);
      if (m.size > maxKeys) {
        const oldest = m.keys().next();
        if (!oldest.done) m.delete(oldest.value);
      }
    }
  }

  function prune(node: string, at: number): Map<string, number> | undefined {
    const m = seen.get(node);
    if (!m) return undefined;
    for (const [k, t] of m) {
      if (t >= at - config.graceMs) break;
      m.delete(k);
    }
    if (m.size === 0) {
      seen.delete(node);
      return undefined;
    }
    return m;
  }

  const unsubscribe = source.subscribe((node, pods) => {
    const at = now();
    remember(node, workloadKeysOf(pods), at);
    prune(node, at);
  });

  return {
    /**
     * Whether the watch shows (or showed within the grace) each workload key on `node`;
     * undefined while the watch has not completed its first list and so cannot say.
     */
    onNode(node: string): ((key: string) => boolean) | undefined {
      if (!source.stats().synced) return undefined;
      const at = now();
      const current = workloadKeysOf(source.podsOnNode(node));
      remember(node, current, at);
      const recent = prune(node, at);
      return (key) => current.has(key) || recent?.has(key) === true;
    },
    stop(): void {
      unsubscribe();
    },
  };
}

export type WorkloadPresence = ReturnType<typeof createWorkloadPresence>;
