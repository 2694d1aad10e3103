// One exec as a source delivers it: the record the netlink addon and the eBPF parser
// (bpf-record.ts) produce and the monitor judges. A type of its own, so the parser and the
// sources (exec-events.ts) both import it without importing each other.
import type { StdioFacts } from './stdio.js';

/** Facts the eBPF program read in the kernel at the exec (absent for netlink records). */
export interface KernelExecFacts {
  /** What execve was given (e.g. /proc/self/fd/5, a relative path), as opposed to `exe`. */
  readonly filename: string;
  readonly filenameTruncated: boolean;
  /** The path walk hit its bounds: `exe` lacks its head (the record is partial). */
  readonly pathTruncated: boolean;
  /** The file is outside the process's view of the filesystem (a memfd, a detached mount). */
  readonly detached: boolean;
  /** The file's dentry is unhashed (deleted). */
  readonly unlinked: boolean;
  readonly ino: number;
  /** st_dev as stat() reports it. */
  readonly dev: number;
  readonly nlink: number;
  /** The superblock's magic number (fsKindOf names it). */
  readonly fsMagic: number;
  /**
   * The executed file's identity beyond dev/ino, as fstat() on it reports (the same values as
   * fs.statSync(path, { bigint: true })'s size, mtimeNs, ctimeNs and mode): its size in bytes
   * (exact below 2^53), its modification and status-change times in nanoseconds since the
   * epoch, and st_mode (type and permission bits: 0o4000 setuid, 0o2000 setgid).
   */
  readonly size: number;
  readonly mtimeNs: bigint;
  readonly ctimeNs: bigint;
  readonly mode: number;
  /** File descriptors 0, 1 and 2 of the new process. */
  readonly stdio: StdioFacts;
  /** Default-hierarchy (v2) cgroup id, and the v1 memory controller's (0 without one). */
  readonly cgroupId: number;
  readonly cgroupV1Id: number;
  /** Mount and pid namespace inode numbers (as /proc/<pid>/ns/* links show them). */
  readonly mntNs: number;
  readonly pidNs: number;
  readonly comm: string;
  /** Real and effective uid: they differ when a setuid file runs (nobody running a setuid-root copy: 65534 and 0). */
  readonly uid: number;
  readonly euid: number;
  readonly gid: number;
  readonly egid: number;
  /** The exec'ing thread's id before the exec (differs from pid when a thread exec'd). */
  readonly oldPid: number;
}

/** One exec, as a source delivered it. */
export interface ExecRecord {
  readonly pid: number;
  readonly tid: number;
  readonly ppid: number;
  /** Effective uid, or -1 when status could not be read. */
  readonly uid: number;
  /** stat's starttime (clock ticks after boot), or -1. */
  readonly startTicks: number;
  /** The executable: eBPF's canonical path, or netlink's /proc/<pid>/exe link (which may end in " (deleted)"). */
  readonly exe: string | null;
  readonly parentExe: string | null;
  /** Raw NUL-separated argv (bounded), or null. */
  readonly cmdline: Buffer | null;
  readonly cmdlineTruncated: boolean;
  readonly cgroup: string | null;
  /** Some facts are missing (netlink: the process was already gone; eBPF: a bound was hit). */
  readonly partial: boolean;
  readonly missing: readonly string[];
  /** CLOCK_MONOTONIC ms (process.hrtime's clock): the kernel's event, the exe read, the last read. */
  readonly eventMonoMs: number;
  readonly exeMonoMs: number;
  readonly readMonoMs: number;
  /** Present on eBPF records: what the kernel said at the exec. */
  readonly kernel?: KernelExecFacts;
}
