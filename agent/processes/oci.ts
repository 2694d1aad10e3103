// Pod, namespace and container name for a container id, from the runtime's OCI bundle:
// the `config.json` the runtime wrote for runc, whose annotations the kubelet's CRI call
// filled in. Read-only, through host-fs (rooted at the host root); never the CRI socket,
// never the kubelet API. Only the annotations are kept: the rest of the file (the
// container's environment, which may hold secrets) is parsed and dropped at once.
import { OCI_JSON_LIMITS, prescanDocument } from '../facts/document-limits.js';
import { posix } from 'node:path';
import type { HostFs } from '../facts/host-fs.js';
import type { Runtime } from './cgroup.js';

export const MAX_BUNDLE_CONFIG_BYTES = OCI_JSON_LIMITS.maxBytes;

export interface ContainerMeta {
  readonly id: string;
  /** The runtime whose bundle answered. */
  readonly runtime: Exclude<Runtime, 'unknown'>;
  readonly namespace: string;
  readonly pod: string;
  readonly podUid: string;
  /** The container's name in the pod spec; `POD` for the sandbox (pause) container. */
  readonly container: string;
  readonly sandbox: boolean;
  readonly image: string;
  /**
   * The container's root filesystem as a host path (the bundle's `root.path`, made absolute
   * against the bundle's directory); '' when the bundle does not say. The runtime keeps it
   * mounted there while the container lives: the agent reads an executable of a container
   * process that is already gone through it (identity.ts).
   */
  readonly rootfs: string;
  /** The bundle file the answer came from (a host path). */
  readonly source: string;
}

export interface BundleLocation {
  readonly runtime: Exclude<Runtime, 'unknown'>;
  readonly path: (id: string) => string;
}

/** containerd's state directory (its `state` setting) on a stock node. */
export const DEFAULT_CONTAINERD_STATE = '/run/containerd';

/**
 * Where each runtime keeps a running container's bundle (host paths). `containerdState` is
 * containerd's state directory (the agent setting processes.containerdState).
 */
export function bundleLocations(containerdState: string = DEFAULT_CONTAINERD_STATE): readonly BundleLocation[] {
  const task = `${containerdState.replace(/\/+$/, '')}/io.containerd.runtime.v2.task`;
  return [
    { runtime: 'containerd', path: (id) => `${task}/k8s.io/${id}/config.json` },
    { runtime: 'crio', path: (id) => `/run/containers/storage/overlay-containers/${id}/userdata/config.json` },
    // Docker Engine 20+ runs its containers through containerd, in the `moby` namespace.
    { runtime: 'docker', path: (id) => `${task}/moby/${id}/config.json` },
  ];
}

export const BUNDLE_LOCATIONS: readonly BundleLocation[] = bundleLocations();

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** Pod identity from containerd CRI annotations, or null when they are not there. */
function fromContainerd(a: Record<string, unknown>): Omit<ContainerMeta, 'id' | 'runtime' | 'source' | 'rootfs'> | null {
  const pod = str(a['io.kubernetes.cri.sandbox-name']);
  const namespace = str(a['io.kubernetes.cri.sandbox-namespace']);
  if (!pod || !namespace) return null;
  const sandbox = str(a['io.kubernetes.cri.container-type']) === 'sandbox';
  return {
    namespace, pod, podUid: str(a['io.kubernetes.cri.sandbox-uid']), sandbox,
    container: sandbox ? 'POD' : str(a['io.kubernetes.cri.container-name']), image: str(a['io.kubernetes.cri.image-name']),
  };
}

/**
 * Pod identity from CRI-O annotations: its `io.kubernetes.cri-o.Labels` JSON holds the
 * kubelet's labels (pod name, namespace, uid, container name); the plain annotations and
 * the `k8s_<container>_<pod>_<namespace>_<uid>_<attempt>` container name are fallbacks.
 */
function fromCrio(a: Record<string, unknown>): Omit<ContainerMeta, 'id' | 'runtime' | 'source' | 'rootfs'> | null {
  let labels: Record<string, unknown> = {};
  const labelsJson = str(a['io.kubernetes.cri-o.Labels']) || '{}';
  try {
    // Labels over the limits are left out like malformed ones: the other annotations remain.
    const parsed: unknown = prescanDocument(labelsJson, OCI_JSON_LIMITS).ok ? JSON.parse(labelsJson) : null;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) labels = parsed as Record<string, unknown>;
  } catch {
    // malformed labels: fall through to the other annotations
  }
  const pick = (key: string): string => str(labels[key]) || str(a[key]);
  const k8sName = /^k8s_([^_]*)_([^_]+)_([^_]+)_([^_]+)_\d+$/.exec(str(a['io.kubernetes.cri-o.ContainerName']));
  const pod = pick('io.kubernetes.pod.name') || str(a['io.kubernetes.cri-o.KubeName']) || (k8sName?.[2] ?? '');
  const namespace = pick('io.kubernetes.pod.namespace') || str(a['io.kubernetes.cri-o.Namespace']) || (k8sName?.[3] ?? '');
  if (!pod || !namespace) return null;
  const sandbox = str(a['io.kubernetes.cri-o.ContainerType']) === 'sandbox';
  return {
    namespace, pod, podUid: pick('io.kubernetes.pod.uid') || (k8sName?.[4] ?? ''), sandbox,
    container: sandbox ? 'POD' : pick('io.kubernetes.container.name') || (k8sName?.[1] ?? ''),
    image: str(a['io.kubernetes.cri-o.ImageName']),
  };
}

type BundleMeta = Omit<ContainerMeta, 'id' | 'runtime' | 'source' | 'rootfs'>;

/** Longest root.path kept. */
const MAX_ROOT_PATH = 1024;

/** The bundle's root.path, when it is a plain path (relative to the bundle, or absolute). */
function rootPathOf(doc: unknown): string {
  const p = (doc as { root?: { path?: unknown } } | null)?.root?.path;
  if (typeof p !== 'string' || p === '' || p.length > MAX_ROOT_PATH || p.includes('\0')) return '';
  return p;
}

/** The container's root as a host path: root.path made absolute against the bundle's directory. */
export function rootfsOf(bundleConfig: string, rootPath: string): string {
  if (rootPath === '') return '';
  const dir = bundleConfig.slice(0, bundleConfig.lastIndexOf('/'));
  return posix.normalize(rootPath.startsWith('/') ? rootPath : `${dir}/${rootPath}`).replace(/\/+$/, '');
}

/**
 * Parses a bundle config.json (after the bounded pre-scan) and keeps only the pod identity
 * from its annotations; `refused` says why a document over the limits was not parsed.
 */
export function readBundleConfig(text: string): { meta: BundleMeta | null; object: boolean; rootPath: string } | { refused: string } {
  const pre = prescanDocument(text, OCI_JSON_LIMITS);
  if (!pre.ok) return { refused: pre.message };
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return { meta: null, object: false, rootPath: '' };
  }
  const object = doc !== null && typeof doc === 'object' && !Array.isArray(doc);
  const rootPath = object ? rootPathOf(doc) : '';
  const annotations = (doc as { annotations?: unknown } | null)?.annotations;
  if (!annotations || typeof annotations !== 'object' || Array.isArray(annotations)) return { meta: null, object, rootPath };
  const a = annotations as Record<string, unknown>;
  return { meta: fromContainerd(a) ?? fromCrio(a), object, rootPath };
}

/** The pod identity of a bundle config.json; null when it has none, is not JSON or is over the limits. */
export function metaFromBundleConfig(text: string): BundleMeta | null {
  const r = readBundleConfig(text);
  return 'meta' in r ? r.meta : null;
}

export type LookupResult =
  | { readonly ok: true; readonly meta: ContainerMeta }
  /**
   * `bundle`: what the runtimes hold for the id. `none`: no runtime has a bundle for it (what
   * a cgroup that only looks like a container gives); `no-pod`: a bundle without pod
   * annotations (a container the kubelet did not start); `unreadable`: a bundle that could
   * not be read or parsed.
   */
  | { readonly ok: false; readonly bundle: 'none' | 'no-pod' | 'unreadable'; readonly reason: string };

/**
 * Finds the bundle of a container id: the runtime named by the cgroup path first, then the
 * others. A bundle without pod annotations (a container not started by the kubelet) is
 * reported as such.
 */
export async function lookupContainer(
  hostFs: HostFs, id: string, hint: Runtime, locations: readonly BundleLocation[] = BUNDLE_LOCATIONS,
): Promise<LookupResult> {
  if (!/^[0-9a-f]{64}$/.test(id)) return { ok: false, bundle: 'none', reason: 'not a container id' };
  const ordered = [...locations].sort((x, y) => Number(y.runtime === hint) - Number(x.runtime === hint));
  const reasons: string[] = [];
  let noPod = false;
  for (const loc of ordered) {
    const path = loc.path(id);
    const r = await hostFs.readFile(path, { maxBytes: MAX_BUNDLE_CONFIG_BYTES });
    if (!r.ok) {
      if (r.error.code !== 'ENOENT' && r.error.code !== 'ENOTDIR') reasons.push(r.error.message);
      continue;
    }
    const read = readBundleConfig(r.value.toString('utf8'));
    if ('refused' in read) {
      reasons.push(`${path}: ${read.refused}`);
      continue;
    }
    if (read.meta) return { ok: true, meta: { ...read.meta, id, runtime: loc.runtime, source: path, rootfs: rootfsOf(path, read.rootPath) } };
    if (read.object) {
      noPod = true;
      reasons.push(`${path} has no pod annotations`);
    } else {
      reasons.push(`${path} is not a JSON object`);
    }
  }
  if (noPod) return { ok: false, bundle: 'no-pod', reason: reasons.join('; ') };
  if (reasons.length > 0) return { ok: false, bundle: 'unreadable', reason: reasons.join('; ') };
  return { ok: false, bundle: 'none', reason: 'no runtime bundle for this container id' };
}
