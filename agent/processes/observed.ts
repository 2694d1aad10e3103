// What one process looks like to the judge, whichever source saw it: a /proc scan record, or
// an exec event (netlink: read from /proc right after the exec; eBPF: what the kernel said at
// the exec). Pure conversions; nothing here reads the host.
import { fsKindOf, type ExecRecord, type KernelExecFacts } from './exec-events.js';
import { cleanExe, type ProcessRecord } from './proc-reader.js';
import type { FileIdentity } from '../facts/host-fs.js';
import { parseCmdline } from '../facts/proc.js';

export interface Observed {
  readonly pid: number;
  readonly ppid: number;
  readonly uid: number;
  /** -1 when unknown (an exec event for a process already gone). */
  readonly startTicks: number;
  /**
   * The executable's path. From an exe link (netlink, scan) it is the link's text as it is: a
   * deleted file's link ends in " (deleted)", and so can a live file's name, so the suffix is
   * never cut; `exeDeleted` then says only that it may be deleted (the judge asks the file).
   */
  readonly exe: string | null;
  readonly exeDeleted: boolean;
  readonly argv: readonly string[];
  readonly cmdlineTruncated: boolean;
  readonly cgroup: string | null;
  readonly parentExe: string | null;
  readonly missing: readonly string[];
  /** What the kernel said at the exec (eBPF records only). */
  readonly kernel: KernelExecFacts | null;
}

export function fromRecord(r: ProcessRecord): Observed {
  return {
    pid: r.pid, ppid: r.ppid, uid: r.uid, startTicks: r.startTicks, exe: r.exe === null ? null : linkText(r.exe, r.exeDeleted), exeDeleted: r.exeDeleted, argv: r.argv,
    cmdlineTruncated: r.cmdlineTruncated, cgroup: r.missing.includes('cgroup') ? null : r.cgroup, parentExe: null, missing: r.missing,
    kernel: null,
  };
}

/** The prefix of a detached file's name (judgedPath); not a path any host file can be found at. */
export const DETACHED_PREFIX = '/(detached)';

/**
 * The name an eBPF record's file is judged by. A file on a detached mount (runc's cloned
 * binary; anything made with open_tree and a private mount) has no path on the host: the
 * kernel's walk ends at that mount's root, often "/" itself. Such a path must never match a
 * learned host path, so it is named apart, with the last word of what execve was given to
 * tell the cases apart (a memfd keeps the kernel's own "/memfd:NAME").
 */
export function judgedPath(path: string, k: KernelExecFacts): string {
  if (!k.detached || fsKindOf(k.fsMagic, path, true) === 'memfd') return path;
  const given = k.filename.slice(k.filename.lastIndexOf('/') + 1) || 'unnamed';
  return `${DETACHED_PREFIX}${path === '/' ? '' : path}/${given}`;
}

/** The exe link's text again, from a record that split the " (deleted)" suffix off. */
function linkText(exe: string, deleted: boolean): string {
  return deleted ? `${exe}${DELETED_SUFFIX}` : exe;
}

const DELETED_SUFFIX = ' (deleted)';

/** The identity of the executed file as the kernel recorded it at the exec. */
export function execIdentity(k: KernelExecFacts): FileIdentity {
  return { dev: k.dev, ino: k.ino, size: k.size, mtimeNs: k.mtimeNs.toString(), ctimeNs: k.ctimeNs.toString(), mode: k.mode, nlink: k.nlink };
}

export function fromExec(r: ExecRecord): Observed {
  const k = r.kernel ?? null;
  // An eBPF record's path is the file's own, rebuilt in the kernel; netlink's is the exe link's text.
  const link = r.exe === null ? null : k ? { exe: judgedPath(r.exe, k), deleted: k.unlinked || k.nlink === 0 } : { exe: r.exe, deleted: r.exe.endsWith(DELETED_SUFFIX) };
  return {
    pid: r.pid, ppid: r.ppid, uid: r.uid, startTicks: r.startTicks, exe: link?.exe ?? null, exeDeleted: link?.deleted ?? false,
    argv: r.cmdline ? parseCmdline(r.cmdline) : [], cmdlineTruncated: r.cmdlineTruncated, cgroup: r.cgroup,
    parentExe: r.parentExe === null ? null : cleanExe(r.parentExe).exe, missing: r.missing, kernel: k,
  };
}
