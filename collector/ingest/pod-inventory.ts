// PodInfo (collector/kube/types.ts, from the pod watch) -> the PodInventory message an agent
// applies (owners and exec probes of the pods on its node).
import type { CollectorMessage } from '../../proto/load.js';
import type { PodInfo } from '../kube/types.js';

/** Pods per inventory at most (the agent applies no more; a node runs far fewer). */
export const MAX_INVENTORY_PODS = 2048;

export function podInventoryMessage(pods: readonly PodInfo[]): CollectorMessage {
  return {
    podInventory: {
      pods: pods.slice(0, MAX_INVENTORY_PODS).map((p) => ({
        namespace: p.namespace, name: p.name, uid: p.uid, ownerKind: p.owner.kind, ownerName: p.owner.name,
        containers: p.containers.map((c) => ({ name: c.name, execProbes: c.execProbes.map((command) => ({ command: [...command] })) })),
      })),
    },
  };
}
