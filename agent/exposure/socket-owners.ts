// Which process holds each listening socket: a walk of `<procRoot>/<pid>/fd`, whose links
// read `socket:[<inode>]`. It reads only the fd directories; what it learns of a process beyond
// them comes from the process monitor's reader, for the owners alone. Bounded three ways, each
// counted when hit: processes walked, descriptors read per process, and time. The walk stops
// as soon as every wanted inode has an owner; pids go in ascending order, so a socket shared
// by a parent and its forked workers is the parent's.
//
// Directories are read in batches, by one of two readers with the same answer. The native one
// (the nodeward_proc addon's fdSockets, native/src/fd_sockets.cc) reads a batch on libuv's
// thread pool, opening each fd directory once and reading each link against it; the walk
// keeps WALK_IN_FLIGHT batches going, so the reads use every core while the event loop stays
// free. The JavaScript one, used when the addon is not built, reads each link by its full
// path, on the main thread (2-3 times slower: bench/exposure.ts).
//
// Links are read, never followed. Pid directories come from a typed listing of the proc root
// (a link there is not one), and each fd directory is opened refusing a link in its place
// (the native reader's O_NOFOLLOW on the pid directory and on `fd`; the JavaScript reader's
// lstat), so a crafted tree cannot lead the walk out of the proc root. Reading another
// process's fd directory is a ptrace-mode read check: the agent's CAP_SYS_PTRACE
// (docs/privileges.md).
import { lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { readBoundedText } from '../facts/bounded-read.js';
import type { OwnerWalkStats } from '../facts/exposure-types.js';
import { MAX_CGROUP_BYTES } from '../processes/proc-reader.js';
import { ADDON_PATH, loadAddon } from '../processes/native-addon.js';

export interface OwnerWalkLimits {
  /** Processes whose fd directory is read, at most. */
  readonly maxPids: number;
  /** Descriptors read per process, at most (a server with 100,000 connections is cut here). */
  readonly maxFdsPerPid: number;
  /** The whole walk's time, at most. */
  readonly budgetMs: number;
}

export const DEFAULT_OWNER_LIMITS: OwnerWalkLimits = { maxPids: 65_536, maxFdsPerPid: 65_536, budgetMs: 2_000 };

export interface OwnerWalk extends OwnerWalkStats {
  /** inode -> the owning pid (the lowest pid holding it). */
  readonly owners: ReadonlyMap<number, number>;
}

const SOCKET_LINK = /^socket:\[([0-9]{1,20})\]$/;

/** `socket:[123]` -> 123; anything else null. */
export function socketInode(link: string): number | null {
  const m = SOCKET_LINK.exec(link);
  if (!m) return null;
  const n = Number(m[1]);
  return Number.isSafeInteger(n) ? n : null;
}

/** What a socket's holder shows, read in the same walk: its exe link and its cgroup (null when unreadable). */
export interface SocketHolder {
  readonly exe: string | null;
  /** Cut after its last full line when longer than MAX_CGROUP_BYTES. */
  readonly cgroup: string | null;
}

/** One process's descriptors: the socket inodes among them, how many were read, whether there were more, and, when it holds a socket, what it shows. */
export type FdSockets =
  | { readonly inodes: readonly number[]; readonly fds: number; readonly cut: boolean; readonly holder: SocketHolder | null }
  | { readonly error: string };

/** Reads `<procRoot>/<pid>/fd` for each pid of a batch, at most `maxFds` descriptors each: one answer per pid, in order. */
export type FdSocketReader = (procRoot: string, pids: readonly number[], maxFds: number) => Promise<readonly FdSockets[]>;

function readHolderJs(pidDir: string): SocketHolder {
  let exe: string | null = null;
  try {
    exe = readlinkSync(join(pidDir, 'exe'));
  } catch {
    // unreadable: the process exited, or access was refused
  }
  const cgroup = readBoundedText(join(pidDir, 'cgroup'), MAX_CGROUP_BYTES, SCRATCH);
  return { exe, cgroup: 'error' in cgroup ? null : cgroup.text };
}

const SCRATCH = Buffer.allocUnsafe(MAX_CGROUP_BYTES + 1);

function readOneJs(procRoot: string, pid: number, maxFds: number): FdSockets {
  const pidDir = join(procRoot, String(pid));
  const fdDir = join(pidDir, 'fd');
  let fds: string[];
  try {
    if (!lstatSync(pidDir).isDirectory() || !lstatSync(fdDir).isDirectory()) return { error: 'ELOOP' };
    fds = readdirSync(fdDir);
  } catch (err) {
    return { error: String((err as NodeJS.ErrnoException).code ?? 'EIO') };
  }
  const cut = fds.length > maxFds;
  if (cut) fds = fds.slice(0, maxFds);
  const inodes: number[] = [];
  for (const fd of fds) {
    let link: string;
    try {
      link = readlinkSync(join(fdDir, fd));
    } catch {
      continue;
    }
    const inode = socketInode(link);
    if (inode !== null) inodes.push(inode);
  }
  return { inodes, fds: fds.length, cut, holder: inodes.length > 0 ? readHolderJs(pidDir) : null };
}

/** The JavaScript reader: a path lookup per descriptor, on the main thread. */
export const readFdSocketsJs: FdSocketReader = async (procRoot, pids, maxFds) => pids.map((pid) => readOneJs(procRoot, pid, maxFds));

/** The addon's answer for one pid (native/src/fd_sockets.cc). */
type NativeAnswer =
  | { readonly inodes: number[]; readonly fds: number; readonly cut: boolean; readonly exe?: string | null; readonly cgroup?: string | null; readonly cgroupCut?: boolean }
  | { readonly error: string };

interface FdAddon {
  fdSockets(procRoot: string, pids: readonly number[], maxFds: number, maxCgroup: number): Promise<NativeAnswer[]>;
}

function fromNative(a: NativeAnswer): FdSockets {
  if ('error' in a) return a;
  if (a.exe === undefined) return { inodes: a.inodes, fds: a.fds, cut: a.cut, holder: null };
  // As readBoundedText cuts a longer file: after its last full line.
  const cgroup = a.cgroup == null ? null : a.cgroupCut ? a.cgroup.slice(0, a.cgroup.lastIndexOf('\n') + 1) : a.cgroup;
  return { inodes: a.inodes, fds: a.fds, cut: a.cut, holder: { exe: a.exe, cgroup } };
}

/** The reader to use: the addon's when it loads (`addonPath` for tests), else the JavaScript one. */
export function fdSocketReader(addonPath: string = ADDON_PATH): { readonly read: FdSocketReader; readonly native: boolean } {
  const loaded = loadAddon<FdAddon>(addonPath, 'fd walk', 'fdSockets');
  if ('error' in loaded) return { read: readFdSocketsJs, native: false };
  const { addon } = loaded;
  return { read: async (procRoot, pids, maxFds) => (await addon.fdSockets(procRoot, pids, maxFds, MAX_CGROUP_BYTES)).map(fromNative), native: true };
}

/** The pid directories of a proc root, ascending: real directories only (a link is not followed). */
export function listPidDirs(procRoot: string): number[] {
  let entries;
  try {
    entries = readdirSync(procRoot, { withFileTypes: true });
  } catch {
    return [];
  }
  const pids: number[] = [];
  for (const e of entries) if (e.isDirectory() && /^[1-9][0-9]{0,9}$/.test(e.name)) pids.push(Number(e.name));
  return pids.sort((a, b) => a - b);
}

/** Pids a batch. */
export const WALK_BATCH = 64;

/**
 * Batches read at a time: libuv's default pool size. On a 2-core machine a collection at 1,000
 * processes took 68 ms with one batch at a time, 54 ms with two and 36-42 ms with four: the
 * reads wait on the kernel as much as they compute (bench/exposure.ts). A batch holds a pool
 * thread for a few milliseconds, so the agent's other file reads wait at most that long.
 */
export const WALK_IN_FLIGHT = 4;

export interface OwnerWalkOptions {
  readonly limits?: OwnerWalkLimits;
  readonly clock?: () => number;
  readonly read?: FdSocketReader;
  /** Told of each pid, with what it shows, when it first owns a wanted socket (its owner can be placed while the walk goes on). */
  readonly onOwner?: (pid: number, holder: SocketHolder | null) => void;
}

/**
 * Finds the owners of the `wanted` inodes among `pids`, which must be real directories of the
 * proc root (listPidDirs). The walk's first batches are sent before `wanted` is asked
 * for, so the caller can parse the socket tables while they are read.
 */
export async function findSocketOwners(
  procRoot: string, pids: readonly number[], wanted: () => ReadonlySet<number>, opts: OwnerWalkOptions = {},
): Promise<OwnerWalk> {
  const limits = opts.limits ?? DEFAULT_OWNER_LIMITS;
  const clock = opts.clock ?? (() => performance.now());
  const read = opts.read ?? readFdSocketsJs;
  const started = clock();
  const owners = new Map<number, number>();
  let pidsWalked = 0;
  let unreadable = 0;
  let fdLimitHits = 0;
  let pidLimitHit = false;
  let timeLimitHit = false;
  // Batches go out in pid order and are taken in that order, so the lowest pid still wins.
  const inFlight: { pids: readonly number[]; answers: Promise<readonly FdSockets[]> }[] = [];
  let next = 0;
  const launch = (): void => {
    if (next >= pids.length) return;
    if (next >= limits.maxPids) {
      pidLimitHit = true;
      return;
    }
    if (clock() - started > limits.budgetMs) {
      timeLimitHit = true;
      return;
    }
    const batch = pids.slice(next, Math.min(next + WALK_BATCH, limits.maxPids));
    next += batch.length;
    // A batch the reader could not run is unreadable, pid by pid; a rejection never escapes (a batch left in flight included).
    const answers = read(procRoot, batch, limits.maxFdsPerPid).catch((): FdSockets[] => batch.map(() => ({ error: 'EIO' })));
    inFlight.push({ pids: batch, answers });
  };
  for (let i = 0; i < WALK_IN_FLIGHT; i++) launch();
  let want: ReadonlySet<number> | undefined;
  while (inFlight.length > 0) {
    const { pids: batch, answers } = inFlight.shift() as (typeof inFlight)[number];
    const got = await answers;
    want ??= wanted();
    // Nothing (more) to find: what is still being read is not waited for.
    if (owners.size >= want.size) break;
    launch();
    for (let i = 0; i < batch.length; i++) {
      const r = got[i];
      const pid = batch[i] as number;
      pidsWalked++;
      if (r === undefined || 'error' in r) {
        unreadable++;
        continue;
      }
      if (r.cut) fdLimitHits++;
      let owns = false;
      for (const inode of r.inodes) {
        if (!want.has(inode) || owners.has(inode)) continue;
        owners.set(inode, pid);
        owns = true;
      }
      if (owns) opts.onOwner?.(pid, r.holder);
    }
    if (owners.size >= want.size) break;
  }
  return { owners, pidsWalked, unreadable, pidLimitHit, fdLimitHits, timeLimitHit, elapsedMs: clock() - started };
}
