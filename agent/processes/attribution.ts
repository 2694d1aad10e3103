// Which baseline a process belongs to: cgroup text -> container id (cgroup.ts) -> pod,
// namespace and container name (the runtime's OCI bundle, oci.ts) -> workload (the owner the
// collector sent, else the pod-name patterns of agent/baseline/workload.ts) -> baseline key.
// Processes outside any container are the host's: their key is the node's role
// (`host/control-plane` or `host/worker`, host-role.ts), which the monitor decides at start.
//
// A cgroup path is only a claim: anyone with write access to cgroupfs can make a directory
// named like a container and move a process into it. A container is believed only when a
// runtime holds a bundle for its id: one naming a pod gives the pod's key; one without pod
// annotations (a plain Docker or containerd container) gives `container:<id>`, except under
// a kubepods path, where the kubelet's containers always carry them. Anything else (no bundle,
// a bundle that cannot be read, a non-pod bundle in a pod's cgroup) is not a container: the
// process stays on the host baseline, and the monitor reports the cgroup
// (`proc-fake-container-cgroup`).
//
// Bundle answers are cached per container id (bounded, least recently used first out); a
// container whose bundle could not be read is retried after `retryMs`, since the runtime
// may still be writing it.
import type { HostFs } from '../facts/host-fs.js';
import { unattributedKey, workloadKey } from '../baseline/key.js';
import { workloadFromPodName, type Workload } from '../baseline/workload.js';
import type { CgroupContainer, Runtime } from './cgroup.js';
import { BUNDLE_LOCATIONS, lookupContainer, type BundleLocation, type ContainerMeta } from './oci.js';

export interface Attribution {
  readonly key: string;
  /** null for host processes. `image` is the image the runtime's bundle names ('' when none). */
  readonly container: { readonly id: string; readonly runtime: Runtime; readonly name: string; readonly image: string; readonly rootfs: string } | null;
  readonly namespace: string;
  readonly pod: string;
  readonly podUid: string;
  readonly workload: { readonly kind: string; readonly name: string; readonly source: 'pod-name' | 'collector' } | null;
  readonly sandbox: boolean;
  /** Why a container could not be tied to a pod (its key is then `container:<id>`). */
  readonly unresolved: string | null;
}

/** A process outside any container, under the node's host key. */
export function hostAttribution(hostKey: string): Attribution {
  return { key: hostKey, container: null, namespace: '', pod: '', podUid: '', workload: null, sandbox: false, unresolved: null };
}

export interface AttributorOptions {
  readonly maxContainers: number;
  /** Where the runtimes' bundles are (oci.ts bundleLocations); default the stock paths. */
  readonly locations?: readonly BundleLocation[];
  readonly maxOwners: number;
  readonly retryMs: number;
  readonly now?: () => number;
}

/** What attribute() says of a cgroup that only looks like a container's. */
export interface NotAContainer {
  readonly fake: true;
  /** Why it is not believed (no bundle; unreadable; a non-pod bundle under kubepods). */
  readonly reason: string;
}

export const isNotAContainer = (a: Attribution | NotAContainer): a is NotAContainer => 'fake' in a;

type Cached =
  | { readonly meta: ContainerMeta; readonly atMs: number }
  | { readonly meta: null; readonly bundle: 'none' | 'no-pod' | 'unreadable'; readonly reason: string; readonly atMs: number };

export function createAttributor(hostFs: HostFs, opts: AttributorOptions) {
  const now = opts.now ?? Date.now;
  const cache = new Map<string, Cached>();
  const inFlight = new Map<string, Promise<Cached>>();
  const owners = new Map<string, Workload>();
  let lookups = 0;

  function remember<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
    map.delete(key);
    while (map.size >= max) map.delete(map.keys().next().value as K);
    map.set(key, value);
  }

  async function resolve(id: string, runtime: Runtime): Promise<Cached> {
    const hit = cache.get(id);
    if (hit && (hit.meta !== null || now() - hit.atMs < opts.retryMs)) {
      remember(cache, id, hit, opts.maxContainers);
      return hit;
    }
    const pending = inFlight.get(id);
    if (pending) return pending;
    const p = (async (): Promise<Cached> => {
      lookups++;
      const r = await lookupContainer(hostFs, id, runtime, opts.locations ?? BUNDLE_LOCATIONS);
      const entry: Cached = r.ok ? { meta: r.meta, atMs: now() } : { meta: null, bundle: r.bundle, reason: r.reason, atMs: now() };
      remember(cache, id, entry, opts.maxContainers);
      return entry;
    })().finally(() => inFlight.delete(id));
    inFlight.set(id, p);
    return p;
  }

  function fromMeta(meta: ContainerMeta, runtime: Runtime): Attribution {
    const owner = owners.get(`${meta.namespace}/${meta.pod}`);
    const workload = owner ? { ...owner, source: 'collector' as const } : { ...workloadFromPodName(meta.pod), source: 'pod-name' as const };
    return {
      key: workloadKey({ namespace: meta.namespace, workload, container: meta.container }),
      container: { id: meta.id, runtime: meta.runtime ?? runtime, name: meta.container, image: meta.image, rootfs: meta.rootfs },
      namespace: meta.namespace, pod: meta.pod, podUid: meta.podUid, workload, sandbox: meta.sandbox, unresolved: null,
    };
  }

  return {
    /**
     * The attribution of a process whose cgroup names container `c` (cgroup.ts), or
     * NotAContainer when no runtime vouches for it (see the top of this file).
     */
    async attribute(c: CgroupContainer): Promise<Attribution | NotAContainer> {
      const entry = await resolve(c.id, c.runtime);
      if (entry.meta) return fromMeta(entry.meta, c.runtime);
      if (entry.bundle !== 'no-pod') return { fake: true, reason: entry.reason };
      if (c.kubepods) return { fake: true, reason: `${entry.reason}, yet the cgroup is a pod's (${c.path})` };
      return {
        key: unattributedKey(c.id), container: { id: c.id, runtime: c.runtime, name: '', image: '', rootfs: '' }, namespace: '', pod: '',
        podUid: c.podUid, workload: null, sandbox: false, unresolved: entry.reason,
      };
    },

    /** The collector's word on a pod's owner (Jobs: their CronJob); null forgets it. */
    setOwner(namespace: string, pod: string, workload: Workload | null): void {
      const k = `${namespace}/${pod}`;
      if (workload) remember(owners, k, { kind: workload.kind, name: workload.name }, opts.maxOwners);
      else owners.delete(k);
    },

    /** Drops cached containers that are not in `live` (called after a full scan). */
    prune(live: ReadonlySet<string>): void {
      for (const id of cache.keys()) if (!live.has(id)) cache.delete(id);
    },

    stats(): { containers: number; owners: number; lookups: number } {
      return { containers: cache.size, owners: owners.size, lookups };
    },
  };
}

export type Attributor = ReturnType<typeof createAttributor>;
