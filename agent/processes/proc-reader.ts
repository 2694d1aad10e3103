// The process table, read from a proc root (the host's /proc, or a fixture tree in tests):
// the collect phase for processes. One reader serves the periodic scan and the parent-chain
// lookups of exec events, so fixtures and the live host go through one code path.
//
// Paths are only ever `<procRoot>/<pid>/<name>` with a decimal pid and a fixed name, opened
// with O_NOFOLLOW, and the pid directory is lstat'ed when a pid is first met, so no link is
// followed out of the proc root. Reads are synchronous and bounded: for files that are always
// tiny this costs the least CPU (the promise-based host-fs reader costs a thread-pool round
// trip per file); callers that read many processes yield to the event loop between slices
// (see monitor.ts). bench/processes.ts measures a full scan against ps-list.
import { lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { readBounded } from '../facts/bounded-read.js';
import { join, resolve } from 'node:path';
import { parseCmdline } from '../facts/proc.js';

/** Linux's PF_KTHREAD flag in /proc/<pid>/stat field 9. */
const PF_KTHREAD = 0x00200000;
/** USER_HZ: the unit of stat's starttime. 100 on every Linux ABI the agent runs on. */
export const CLOCK_TICKS_PER_SECOND = 100;
export const MAX_STAT_BYTES = 4096;
export const MAX_CGROUP_BYTES = 16 * 1024;
export const DEFAULT_MAX_CMDLINE_BYTES = 4096;

/** What /proc/<pid>/stat says that the table needs. */
export interface ProcStat {
  readonly pid: number;
  readonly comm: string;
  readonly ppid: number;
  readonly flags: number;
  /** Clock ticks after boot. With the pid, it identifies a process across pid reuse. */
  readonly startTicks: number;
}

export interface ProcessRecord {
  readonly pid: number;
  readonly ppid: number;
  /** Effective uid from /proc/<pid>/status, or -1 when unreadable. */
  readonly uid: number;
  readonly startTicks: number;
  /** Start time as unix milliseconds (boot time + starttime). */
  readonly startedAtMs: number;
  /** The exe link's value with any " (deleted)" suffix removed; null when unreadable. */
  readonly exe: string | null;
  /** The executable was deleted (or replaced) after the process started. */
  readonly exeDeleted: boolean;
  /** argv, NOT yet redacted: raw facts stay inside agent/processes (see cmdline.ts). */
  readonly argv: readonly string[];
  readonly cmdlineTruncated: boolean;
  /** /proc/<pid>/cgroup as text; empty when unreadable. */
  readonly cgroup: string;
  readonly kernelThread: boolean;
  readonly comm: string;
  /** What could not be read (the process exited, or access was refused). */
  readonly missing: readonly string[];
}

/** Parses /proc/<pid>/stat; comm may hold spaces and parentheses, so fields count from the last ')'. */
export function parseStat(text: string): ProcStat | null {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  const pid = Number(text.slice(0, open).trim());
  const fields = text.slice(close + 1).trim().split(/\s+/);
  // fields[0] is field 3 (state): field n is fields[n - 3].
  const ppid = Number(fields[1]);
  const flags = Number(fields[6]);
  const startTicks = Number(fields[19]);
  if (!Number.isSafeInteger(pid) || !Number.isSafeInteger(ppid) || !Number.isSafeInteger(startTicks)) return null;
  return { pid, comm: text.slice(open + 1, close), ppid, flags: Number.isSafeInteger(flags) ? flags : 0, startTicks };
}

/** The effective uid (second field of the `Uid:` line), or -1. */
export function parseStatusUid(text: string): number {
  const m = /^Uid:\s+(\d+)\s+(\d+)/m.exec(text);
  return m ? Number(m[2]) : -1;
}

/** `btime` from /proc/stat: boot time in unix seconds. */
export function parseBootTime(text: string): number | null {
  const m = /^btime\s+(\d+)/m.exec(text);
  return m ? Number(m[1]) : null;
}

export function isKernelThread(stat: ProcStat): boolean {
  // kthreadd (pid 2) and its children; the flag catches the rest (and kernels that
  // re-parent kernel threads).
  return (stat.flags & PF_KTHREAD) !== 0 || stat.pid === 2 || stat.ppid === 2;
}

const DELETED = ' (deleted)';

export function cleanExe(link: string): { exe: string; deleted: boolean } {
  return link.endsWith(DELETED) ? { exe: link.slice(0, -DELETED.length), deleted: true } : { exe: link, deleted: false };
}

export interface ProcReader {
  readonly root: string;
  /** Boot time in unix ms (0 when the proc root has no `stat` file: start times stay relative). */
  readonly bootTimeMs: number;
  listPids(): number[];
  readStat(pid: number): ProcStat | null;
  readExe(pid: number): string | null;
  read(pid: number): ProcessRecord | null;
  ticksToMs(ticks: number): number;
}

export function createProcReader(procRoot: string, opts: { maxCmdlineBytes?: number } = {}): ProcReader {
  const root = resolve(procRoot);
  const maxCmdline = opts.maxCmdlineBytes ?? DEFAULT_MAX_CMDLINE_BYTES;
  const shared = Buffer.alloc(Math.max(MAX_CGROUP_BYTES, maxCmdline, MAX_STAT_BYTES) + 1);
  /** pid -> start ticks of the pid directory already checked to be a real directory. */
  const checkedDirs = new Map<number, number>();

  /** Reads at most `max` bytes (agent/facts/bounded-read.ts); `truncated` when there was more. null when unreadable. */
  function readSmall(path: string, max: number): { data: Buffer; truncated: boolean } | null {
    const r = readBounded(path, max, { scratch: shared });
    return 'error' in r ? null : { data: r.data, truncated: r.cut };
  }

  const pidDir = (pid: number): string => join(root, String(pid));

  /** The pid entry must be a directory, not a link out of the root (only possible in a crafted tree). */
  function pidDirOk(pid: number): boolean {
    try {
      return lstatSync(pidDir(pid)).isDirectory();
    } catch {
      return false;
    }
  }

  function readStat(pid: number): ProcStat | null {
    const r = readSmall(join(pidDir(pid), 'stat'), MAX_STAT_BYTES);
    if (!r) return null;
    const stat = parseStat(r.data.toString('utf8'));
    if (!stat || stat.pid !== pid) return null;
    if (checkedDirs.get(pid) !== stat.startTicks) {
      if (!pidDirOk(pid)) return null;
      checkedDirs.set(pid, stat.startTicks);
      if (checkedDirs.size > 262_144) checkedDirs.clear();
    }
    return stat;
  }

  function readExe(pid: number): string | null {
    try {
      return readlinkSync(join(pidDir(pid), 'exe'));
    } catch {
      return null;
    }
  }

  const statFile = readSmall(join(root, 'stat'), 64 * 1024);
  const bootSeconds = statFile ? parseBootTime(statFile.data.toString('utf8')) : null;
  const bootTimeMs = (bootSeconds ?? 0) * 1000;
  const ticksToMs = (ticks: number): number => bootTimeMs + Math.round((ticks * 1000) / CLOCK_TICKS_PER_SECOND);

  return {
    root,
    bootTimeMs,
    ticksToMs,
    listPids(): number[] {
      let names: string[];
      try {
        names = readdirSync(root);
      } catch {
        return [];
      }
      const pids: number[] = [];
      for (const n of names) if (/^[1-9][0-9]{0,9}$/.test(n)) pids.push(Number(n));
      return pids.sort((a, b) => a - b);
    },
    readStat,
    readExe,
    read(pid: number): ProcessRecord | null {
      const stat = readStat(pid);
      if (!stat) return null;
      const dir = pidDir(pid);
      const missing: string[] = [];
      const kernelThread = isKernelThread(stat);
      if (kernelThread) {
        return {
          pid, ppid: stat.ppid, uid: 0, startTicks: stat.startTicks, startedAtMs: ticksToMs(stat.startTicks), exe: null,
          exeDeleted: false, argv: [], cmdlineTruncated: false, cgroup: '', kernelThread, comm: stat.comm, missing,
        };
      }
      const link = readExe(pid);
      if (link === null) missing.push('exe');
      const { exe, deleted } = link === null ? { exe: null, deleted: false } : cleanExe(link);
      const status = readSmall(join(dir, 'status'), 16 * 1024);
      const uid = status ? parseStatusUid(status.data.toString('utf8')) : -1;
      if (uid < 0) missing.push('status');
      const cmd = readSmall(join(dir, 'cmdline'), maxCmdline);
      if (!cmd) missing.push('cmdline');
      const cgroup = readSmall(join(dir, 'cgroup'), MAX_CGROUP_BYTES);
      if (!cgroup) missing.push('cgroup');
      return {
        pid, ppid: stat.ppid, uid, startTicks: stat.startTicks, startedAtMs: ticksToMs(stat.startTicks), exe, exeDeleted: deleted,
        argv: cmd ? parseCmdline(cmd.data) : [], cmdlineTruncated: cmd?.truncated ?? false,
        cgroup: cgroup ? cgroup.data.toString('utf8') : '', kernelThread, comm: stat.comm, missing,
      };
    },
  };
}
