// The Hello the agent opens each stream with: who it is, its baselines, and the node's
// inventory. The inventory's kubelet version and certificate expiries come from the last
// scan's snapshot, never from a collection of their own: a Hello reads no kubelet file and no
// certificate (test/agent/hello.test.ts counts the reads). Only the OS name is read from the
// host's etc/os-release at each Hello, with the kernel's own figures (host-info.ts).
import type { Hello } from '../../proto/load.js';
import { certificateExpiries } from '../facts/certificates.js';
import type { HostFs } from '../facts/host-fs.js';
import { collectHostInfo } from '../facts/host-info.js';
import type { HostFacts } from '../facts/index.js';

export interface Inventory {
  /** The kubelet's version, read from its binary by the scan; '' when there is none. */
  readonly kubeletVersion: string;
  readonly certificates: ReadonlyArray<{ readonly path: string; readonly notAfterMs: number }>;
}

/** What a snapshot tells the inventory; null (no scan yet) tells nothing. Pure. */
export function inventoryOf(facts: Pick<HostFacts, 'kubeletBinary' | 'certificates'> | null): Inventory {
  return { kubeletVersion: facts?.kubeletBinary?.version ?? '', certificates: certificateExpiries(facts?.certificates) };
}

/** The two inventories say the same: the collector need not be told again. Pure. */
export function sameInventory(a: Inventory, b: Inventory): boolean {
  return a.kubeletVersion === b.kubeletVersion && a.certificates.length === b.certificates.length &&
    a.certificates.every((c, i) => c.path === b.certificates[i]?.path && c.notAfterMs === b.certificates[i]?.notAfterMs);
}

export interface HelloSource {
  readonly node: string;
  readonly agentVersion: string;
  /** The host's reader (etc/os-release). */
  readonly hostFs: HostFs;
  /** The last scan's snapshot; null before the first. */
  readonly snapshot: () => HostFacts | null;
  /** The process monitor's baselines, when it runs. */
  readonly baselines: () => { readonly baselineVersion: number; readonly hostKey: string } | undefined;
}

/** The reporter's `hello`: the Hello without the spool's epoch and the stats, which the reporter adds. */
export function createHello(src: HelloSource): () => Promise<Omit<Hello, 'epoch' | 'stats'>> {
  return async () => {
    const inventory = inventoryOf(src.snapshot());
    const baselines = src.baselines();
    return {
      node: src.node, agentVersion: src.agentVersion,
      host: { ...(await collectHostInfo(src.hostFs)), kubeletVersion: inventory.kubeletVersion, certificates: [...inventory.certificates] },
      baselineVersion: baselines?.baselineVersion ?? 0, hostBaselineKey: baselines?.hostKey ?? '',
    };
  };
}
