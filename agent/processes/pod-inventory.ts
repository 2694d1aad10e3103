// The collector's PodInventory (every pod on this node, from its pod watch) applied to the
// process monitor: each pod's real owner replaces the pod-name guess, and the exec probes of
// each container are allowed for its baseline key. An inventory replaces the previous one,
// so owners of pods that are gone are forgotten and probes of keys no pod has any more are
// cleared. The inventory is untrusted input like any message: bounded, and entries that
// cannot make a valid key are skipped and counted.
import type { PodInventory__Output } from '../../proto/load.js';
import { isValidKey, workloadKey } from '../baseline/key.js';
import type { Workload } from '../baseline/workload.js';

export const POD_LIMITS = {
  pods: 2048,
  containersPerPod: 64,
  probesPerContainer: 8,
  argvWords: 64,
  wordChars: 4096,
} as const;

export interface PodInventoryTarget {
  setOwner(namespace: string, pod: string, workload: Workload | null): void;
  setProbes(key: string, commands: readonly (readonly string[])[]): void;
  probeKeys(): string[];
}

export interface PodInventoryOutcome {
  readonly pods: number;
  readonly probeKeys: number;
  /** Pods, containers or probes skipped: over a bound, or not making a valid key. */
  readonly skipped: number;
}

export function createPodInventory(target: PodInventoryTarget) {
  /** `namespace/pod` of the pods whose owner was set. */
  let owners = new Set<string>();
  /** What was last set per key (JSON), so an unchanged inventory does not rewrite the baselines. */
  const probesSet = new Map<string, string>();

  return {
    apply(inv: PodInventory__Output): PodInventoryOutcome {
      let skipped = Math.max(0, inv.pods.length - POD_LIMITS.pods);
      const nextOwners = new Set<string>();
      const probes = new Map<string, string[][]>();
      for (const pod of inv.pods.slice(0, POD_LIMITS.pods)) {
        const workload: Workload = pod.ownerKind && pod.ownerName ? { kind: pod.ownerKind, name: pod.ownerName } : { kind: 'Pod', name: pod.name };
        const containers = pod.containers.slice(0, POD_LIMITS.containersPerPod);
        skipped += pod.containers.length - containers.length;
        if (!isValidKey(workloadKey({ namespace: pod.namespace, workload, container: 'x' }))) {
          skipped++;
          continue;
        }
        target.setOwner(pod.namespace, pod.name, workload);
        nextOwners.add(`${pod.namespace}/${pod.name}`);
        for (const c of containers) {
          const key = workloadKey({ namespace: pod.namespace, workload, container: c.name });
          if (!isValidKey(key)) {
            skipped++;
            continue;
          }
          const list = probes.get(key) ?? [];
          for (const p of c.execProbes.slice(0, POD_LIMITS.probesPerContainer)) {
            const argv = p.command;
            if (argv.length === 0 || argv.length > POD_LIMITS.argvWords || argv.some((w) => w.length > POD_LIMITS.wordChars)) {
              skipped++;
              continue;
            }
            // Replicas share their spec: the same probe once.
            if (!list.some((q) => q.length === argv.length && q.every((w, i) => w === argv[i]))) list.push([...argv]);
          }
          skipped += Math.max(0, c.execProbes.length - POD_LIMITS.probesPerContainer);
          if (list.length > 0) probes.set(key, list);
        }
      }
      for (const gone of owners) {
        if (nextOwners.has(gone)) continue;
        const slash = gone.indexOf('/');
        target.setOwner(gone.slice(0, slash), gone.slice(slash + 1), null);
      }
      owners = nextOwners;
      // Keys that had probes (including those loaded from disk after a restart) and have none now.
      for (const key of target.probeKeys()) {
        if (probes.has(key)) continue;
        target.setProbes(key, []);
        probesSet.delete(key);
      }
      for (const [key, list] of probes) {
        const json = JSON.stringify(list);
        if (probesSet.get(key) === json) continue;
        target.setProbes(key, list);
        probesSet.set(key, json);
      }
      return { pods: owners.size, probeKeys: probes.size, skipped };
    },
  };
}

export type PodInventoryApplier = ReturnType<typeof createPodInventory>;
