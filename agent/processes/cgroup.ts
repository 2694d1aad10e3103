// Which container a process runs in, from its /proc/<pid>/cgroup text alone (pure).
//
// Forms recognised, under cgroup v1 (`N:controllers:/path`, one line per hierarchy) and v2
// (`0::/path`):
//   systemd driver   .../kubepods-burstable-pod<uid_with_underscores>.slice/cri-containerd-<id>.scope
//                    .../crio-<id>.scope            .../docker-<id>.scope     (libpod-<id>.scope too)
//   cgroupfs driver  /kubepods/burstable/pod<uid>/<id>        /kubepods/pod<uid>/crio-<id>
//                    /docker/<id>
// where <id> is the runtime's 64-hex container id. A path may start with `/..` segments when
// the reader runs in its own cgroup namespace; only the components matter. The outermost id
// wins (a container nested in a container is the outer one's business, and it is the outer
// one whose bundle the host runtime holds). CRI-O's `crio-conmon-<id>.scope` is its monitor
// process, a host program: it is not the container.

export type Runtime = 'containerd' | 'crio' | 'docker' | 'podman' | 'unknown';

export interface CgroupContainer {
  readonly id: string;
  /** The runtime the path form names, or `unknown` (a bare id under the cgroupfs driver). */
  readonly runtime: Runtime;
  /** The pod uid from a `pod<uid>` component, dashes restored; empty when absent. */
  readonly podUid: string;
  /** The cgroup path it was found in. */
  readonly path: string;
  /** The path is under a `kubepods` hierarchy or a `pod<uid>` component: it claims to be a pod's. */
  readonly kubepods: boolean;
}

const PREFIXES: ReadonlyArray<readonly [string, Runtime]> = [
  ['cri-containerd-', 'containerd'],
  ['crio-', 'crio'],
  ['docker-', 'docker'],
  ['libpod-', 'podman'],
];

const HEX64 = /^[0-9a-f]{64}$/;
const POD_COMPONENT = /^(?:kubepods(?:-[a-z]+)?-)?pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})(?:\.slice)?$/;

/** One path component -> a container id and the runtime its form names, or null. */
export function containerIdFromComponent(component: string): { id: string; runtime: Runtime } | null {
  let name = component.endsWith('.scope') ? component.slice(0, -'.scope'.length) : component;
  if (name.startsWith('crio-conmon-')) return null;
  let runtime: Runtime = 'unknown';
  for (const [prefix, rt] of PREFIXES) {
    if (name.startsWith(prefix)) {
      name = name.slice(prefix.length);
      runtime = rt;
      break;
    }
  }
  if (!HEX64.test(name)) return null;
  // A bare id under /docker/ is Docker's cgroupfs form; elsewhere the runtime is unknown.
  return { id: name, runtime };
}

/** The pod uid from a `pod<uid>` or `kubepods-<qos>-pod<uid_with_underscores>.slice` component. */
export function podUidFromComponent(component: string): string {
  const m = POD_COMPONENT.exec(component);
  return m ? (m[1] as string).replace(/_/g, '-') : '';
}

export function containerFromPath(path: string): CgroupContainer | null {
  const parts = path.split('/').filter((p) => p !== '' && p !== '.' && p !== '..');
  let podUid = '';
  let kubepods = false;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] as string;
    if (part.startsWith('kubepods')) kubepods = true;
    const uid = podUidFromComponent(part);
    if (uid) {
      podUid = uid;
      continue;
    }
    const found = containerIdFromComponent(part);
    if (found) {
      const runtime = found.runtime === 'unknown' && parts[i - 1] === 'docker' ? 'docker' : found.runtime;
      return { id: found.id, runtime, podUid, path, kubepods: kubepods || podUid !== '' };
    }
  }
  return null;
}

/** The cgroup paths of a /proc/<pid>/cgroup text, the v2 (`0::`) line first. */
export function cgroupPaths(text: string): string[] {
  const v2: string[] = [];
  const v1: string[] = [];
  for (const line of text.split('\n')) {
    const first = line.indexOf(':');
    const second = first < 0 ? -1 : line.indexOf(':', first + 1);
    if (second < 0) continue;
    const path = line.slice(second + 1);
    if (line.startsWith('0::')) v2.push(path);
    else v1.push(path);
  }
  return [...v2, ...v1];
}

/** The container a process runs in, or null for a host process. */
export function containerFromCgroup(text: string): CgroupContainer | null {
  for (const path of cgroupPaths(text)) {
    const c = containerFromPath(path);
    if (c) return c;
  }
  return null;
}
