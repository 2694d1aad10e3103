// The process table: what the monitor knows of each live process (by pid and start time, so a
// reused pid is a new process), and the ancestors' executables a finding shows. Bounded; pruned
// against the live pids at every scan.
import { formatPath } from './cmdline.js';
import { containerFromCgroup } from './cgroup.js';
import type { Observed } from './observed.js';
import type { ProcReader } from './proc-reader.js';

export interface TableEntry {
  readonly startTicks: number;
  readonly exe: string | null;
  readonly ppid: number;
  /** The container decided at the exec (null: host); it never changes with a later cgroup move. */
  containerId: string | null;
  /** The executable this process was judged with; null while it was only read as a parent. */
  judged: string | null;
  /** The content it ran (SHA-256; null when unknown), once hashed: a later exec of the same process compares with it. */
  sha256: Promise<string | null> | null;
  probe: boolean;
}

const MAX_PARENTS = 8;
export const MAX_TABLE = 200_000;

export function createProcessTable(reader: Pick<ProcReader, 'read'>, maxEntries = MAX_TABLE) {
  const table = new Map<number, TableEntry>();
  /**
   * Processes already counted as not judged (pid -> start ticks): a scan meets a zombie, or any
   * process whose executable cannot be read, again at every pass, and it is one process not
   * judged, not one per scan.
   */
  const unjudgedSeen = new Map<number, number>();

  function remember(pid: number, entry: TableEntry): void {
    if (!table.has(pid) && table.size >= maxEntries) table.delete(table.keys().next().value as number);
    table.set(pid, entry);
  }

  /** A table entry for `pid`, read now when it is not known (or is a reused pid). */
  function lookup(pid: number, notAfterTicks: number): TableEntry | null {
    const known = table.get(pid);
    if (known && (notAfterTicks < 0 || known.startTicks <= notAfterTicks)) return known;
    const r = reader.read(pid);
    if (!r || r.kernelThread || (notAfterTicks >= 0 && r.startTicks > notAfterTicks)) return null;
    const entry: TableEntry = {
      startTicks: r.startTicks, exe: r.exe === null ? null : formatPath(r.exe), ppid: r.ppid,
      containerId: containerFromCgroup(r.cgroup)?.id ?? null, judged: null, probe: false, sha256: null,
    };
    remember(pid, entry);
    return entry;
  }

  return {
    get: (pid: number) => table.get(pid),
    remember,
    get size(): number {
      return table.size;
    },

    /**
     * True the first time a process (pid and start) could not be judged; false when it was
     * already counted. A process whose start is unknown counts every time.
     */
    firstUnjudged(o: Observed): boolean {
      if (o.startTicks < 0) return true;
      if (unjudgedSeen.get(o.pid) === o.startTicks) return false;
      if (!unjudgedSeen.has(o.pid) && unjudgedSeen.size >= maxEntries) unjudgedSeen.delete(unjudgedSeen.keys().next().value as number);
      unjudgedSeen.set(o.pid, o.startTicks);
      return true;
    },

    /** Executables of the ancestors, up to the container boundary (or init for host processes). */
    parentChain(o: Observed, containerId: string | null): { parents: string[]; parentIsProbe: boolean } {
      const parents: string[] = [];
      let parentIsProbe = false;
      let pid = o.ppid;
      let childStart = o.startTicks;
      while (pid > 0 && parents.length < MAX_PARENTS) {
        const p = lookup(pid, childStart);
        if (!p) {
          if (parents.length === 0 && o.parentExe) parents.push(formatPath(o.parentExe));
          break;
        }
        if (p.containerId !== containerId) break;
        if (parents.length === 0 && p.probe) parentIsProbe = true;
        parents.push(p.exe ?? (parents.length === 0 && o.parentExe ? formatPath(o.parentExe) : '?'));
        if (pid === 1) break;
        pid = p.ppid;
        childStart = p.startTicks;
      }
      return { parents, parentIsProbe };
    },

    /** Forgets every process not in `live`. */
    prune(live: ReadonlySet<number>): void {
      for (const pid of table.keys()) if (!live.has(pid)) table.delete(pid);
      for (const pid of unjudgedSeen.keys()) if (!live.has(pid)) unjudgedSeen.delete(pid);
    },
  };
}

export type ProcessTable = ReturnType<typeof createProcessTable>;
