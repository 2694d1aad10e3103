// From host paths to what to watch on disk. Every file is watched through its PARENT
// directory: a directory watch sees a file's content and mode changes, its creation,
// deletion and replacement by rename (which a watch on the file itself loses), and a link
// being retargeted. A path that does not exist yet is watched through its nearest existing
// ancestor, so its creation is noticed one directory at a time. A directory that is itself
// a dependency (the kubelet drop-in directory) is also watched for any entry appearing in it.
//
// Directories are found through the rooted host reader: a disk path is always hostRoot plus
// components resolved inside the root, so a link never takes a watch outside the host root.
import { join, posix } from 'node:path';
import type { HostFs } from '../facts/host-fs.js';

export interface WatchPlan {
  /** Disk directories to watch, at most `maxDirs`, in a stable order. */
  readonly dirs: readonly string[];
  /** Disk path of an entry (a child of a watched directory) -> the host paths it stands for. */
  readonly entries: ReadonlyMap<string, ReadonlySet<string>>;
  /** Watched disk directory -> host paths that change when any entry in it does. */
  readonly anyEntry: ReadonlyMap<string, ReadonlySet<string>>;
  /** Host paths asked for. */
  readonly paths: number;
  /** Host paths left unwatched because their directory was over the bound. */
  readonly overflow: number;
}

/** The disk path of a host directory, or null when it is missing or not a directory. */
async function diskDir(hostFs: HostFs, hostPath: string): Promise<string | null> {
  const st = await hostFs.stat(hostPath);
  // FileStat.path is the host path after links; on disk it is always root + that path.
  return st.ok && st.value.type === 'dir' ? join(hostFs.root, st.value.path) : null;
}

/** Where to see `hostPath` appear or change: a watched directory and the entry name in it. */
async function locate(hostFs: HostFs, hostPath: string): Promise<{ dir: string; entry: string } | null> {
  let child = posix.basename(hostPath);
  let parent = posix.dirname(hostPath);
  for (;;) {
    const dir = await diskDir(hostFs, parent);
    if (dir !== null) return { dir, entry: join(dir, child) };
    if (parent === '/') return null;
    child = posix.basename(parent);
    parent = posix.dirname(parent);
  }
}

function addTo(map: Map<string, Set<string>>, key: string, value: string): void {
  const set = map.get(key);
  if (set === undefined) map.set(key, new Set([value]));
  else set.add(value);
}

export async function planWatch(hostFs: HostFs, hostPaths: Iterable<string>, maxDirs: number): Promise<WatchPlan> {
  const wanted = [...new Set(hostPaths)].filter((p) => p.startsWith('/') && p !== '/').sort();
  // Per host path, the (dir, entry) pairs that cover it, and whether it is a directory.
  const spots: Array<{ path: string; at: Array<{ dir: string; entry: string }>; inside: string | null }> = [];
  for (const path of wanted) {
    const at: Array<{ dir: string; entry: string }> = [];
    const names = new Set([path]);
    const target = await hostFs.stat(path);
    if (target.ok) names.add(target.value.path);
    for (const name of names) {
      const spot = await locate(hostFs, name);
      if (spot !== null) at.push(spot);
    }
    const inside = target.ok && target.value.type === 'dir' ? join(hostFs.root, target.value.path) : null;
    spots.push({ path, at, inside });
  }

  const dirs = new Set<string>();
  const entries = new Map<string, Set<string>>();
  const anyEntry = new Map<string, Set<string>>();
  let overflow = 0;
  for (const { path, at, inside } of spots) {
    const needed = new Set([...at.map((a) => a.dir), ...(inside === null ? [] : [inside])]);
    const fresh = [...needed].filter((d) => !dirs.has(d));
    if (dirs.size + fresh.length > maxDirs) {
      overflow++;
      continue;
    }
    for (const d of fresh) dirs.add(d);
    for (const a of at) addTo(entries, a.entry, path);
    if (inside !== null) addTo(anyEntry, inside, path);
  }
  return { dirs: [...dirs], entries, anyEntry, paths: wanted.length, overflow };
}

/**
 * The host paths an event in watched directory `dir` on entry `name` touches. An event on the
 * directory itself (its mode changed, it was removed) comes with its own name, or none.
 */
export function pathsTouched(plan: WatchPlan, dir: string, name: string): Set<string> {
  const out = new Set<string>();
  const keys = name === '' ? [dir] : name === posix.basename(dir) ? [join(dir, name), dir] : [join(dir, name)];
  for (const k of keys) for (const p of plan.entries.get(k) ?? []) out.add(p);
  for (const p of plan.anyEntry.get(dir) ?? []) out.add(p);
  return out;
}
