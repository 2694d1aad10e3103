// Which process holds each listening socket: a walk of `<procRoot>/<pid>/fd`, whose links
// read `socket:[<inode>]`. It reads only the fd directories; what it learns of a process beyond
// them comes from the process monitor's reader, for the owners alone. Bounded three ways, each
// counted when hit: processes walked, descriptors read per process, and time. The walk stops
// as soon as every wanted inode has an owner; pids go in ascending order, so a socket shared
// by a parent and its forked workers is the parent's.
//
// Links are read, never followed. Pid directories come from a typed listing of the proc root
// (a link there is not one) and each fd directory is lstat'ed first, so a crafted tree cannot
// lead the walk out of the proc root. Reading another process's fd
// directory is a ptrace-mode read check: the agent's CAP_SYS_PTRACE (docs/privileges.md).
import { lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { OwnerWalkStats } from '../facts/exposure-types.js';

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

function isRealDir(path: string): boolean {
  try {
    return lstatSync(path).isDirectory();
  } catch {
    return false;
  }
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

/** `pids` must be real directories of the proc root (listPidDirs). */
export function findSocketOwners(
  procRoot: string, pids: readonly number[], wanted: ReadonlySet<number>,
  limits: OwnerWalkLimits = DEFAULT_OWNER_LIMITS, clock: () => number = () => performance.now(),
): OwnerWalk {
  const started = clock();
  const owners = new Map<number, number>();
  let pidsWalked = 0;
  let unreadable = 0;
  let fdLimitHits = 0;
  let pidLimitHit = false;
  let timeLimitHit = false;
  for (const pid of pids) {
    if (owners.size >= wanted.size) break;
    if (pidsWalked >= limits.maxPids) {
      pidLimitHit = true;
      break;
    }
    if (clock() - started > limits.budgetMs) {
      timeLimitHit = true;
      break;
    }
    pidsWalked++;
    const fdDir = join(procRoot, String(pid), 'fd');
    if (!isRealDir(fdDir)) {
      unreadable++;
      continue;
    }
    let fds: string[];
    try {
      fds = readdirSync(fdDir);
    } catch {
      unreadable++;
      continue;
    }
    if (fds.length > limits.maxFdsPerPid) {
      fdLimitHits++;
      fds = fds.slice(0, limits.maxFdsPerPid);
    }
    for (const fd of fds) {
      let link: string;
      try {
        link = readlinkSync(join(fdDir, fd));
      } catch {
        continue;
      }
      const inode = socketInode(link);
      if (inode !== null && wanted.has(inode) && !owners.has(inode)) owners.set(inode, pid);
    }
  }
  return { owners, pidsWalked, unreadable, pidLimitHit, fdLimitHits, timeLimitHit, elapsedMs: clock() - started };
}
