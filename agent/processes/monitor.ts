// The process monitor: the agent's long-lived part that watches processes against the
// learned baselines and turns unexpected ones into `proc-unexpected` findings in the spool.
//
//   exec events (eBPF, else netlink; own thread) --\
//                                                  >-- observe --> attribution --> baseline --> findings sink --> spool
//   periodic scan of the proc root (every N s)  ---/
//
// Exec events see processes that live for milliseconds (eBPF ones describe the process as the
// kernel saw it at the exec, so even one gone before /proc could be read is judged); the scan
// is reconciliation (and the only source where no event source starts: exec_coverage and
// exec_source say which, and why a better one did not). The startup scan always runs, so
// processes that were already running are learned or judged.
//
// The apply functions (applyBaselineUpdate, setProbes, setOwner) are how the collector's
// word arrives: BaselineUpdate messages on the stream, exec probes and pod owners from its
// pod watch. Allowing an executable stops the agent reporting it at once.
//
// Where a process belongs is decided from what held at its exec (eBPF: the kernel's cgroup ids
// and path at the exec; netlink: /proc/<pid>/cgroup read right after it) and kept in the
// process table: a process moved to another cgroup later keeps it, and a scan does not judge it
// again. A cgroup named like a container's is believed only when a runtime's bundle vouches for
// it (attribution.ts); otherwise the process is the host's and the cgroup is a
// `proc-fake-container-cgroup` finding. And a process that exec'd in a real container's cgroup
// while still in the host's mount namespace (eBPF records say which) is not in the container:
// it sees the host's files, not the image's. That is runc's own init before it joins the
// container, and a host process that moved itself into a pod's cgroup; both are the host's.
//
// Processes outside containers are judged against the host baseline of the node's role
// (`host/control-plane` or `host/worker`), decided once at start (host-role.ts). Updates for
// another role's host baseline are ignored: the collector does not send them, and a worker
// must never adopt what control-plane nodes run.
import { readlinkSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../proto/support/logger.js';
import type { FindingBatch } from '../../proto/load.js';
import type { BaselineUpdate, BaselineUpdate__Output } from '../../proto/gen/nodeward/v1/BaselineUpdate.js';
import { createHostFs } from '../facts/host-fs.js';
import { loadUserDb } from '../facts/users.js';
import { baselineToJson, changeFromWire, createBaselineSet, migrateLegacyHost, type BaselineChange, type BaselineJson, type BaselineSet, type BaselineSetJson, type Verdict } from '../baseline/baselines.js';
import { hostKeyOf, isValidKey, receivesBaseline } from '../baseline/key.js';
import { matchesAnyProbe } from '../baseline/probes.js';
import type { Workload } from '../baseline/workload.js';
import { BASELINE_FILE, loadBaselineFile, saveBaselineFile } from '../baseline/store.js';
import { createAttributor, hostAttribution, isNotAContainer, type Attribution } from './attribution.js';
import { detectHostRole, isControlPlaneExecutable, type HostRoleDecision, type HostRoleSetting } from './host-role.js';
import { containerFromCgroup, type CgroupContainer } from './cgroup.js';
import { formatCmdline, formatPath } from './cmdline.js';
import { formatReasons, fsKindOf, startExecSource, type ExecEventSource, type ExecEventStats, type ExecRecord, type ExecSourceChoice, type ExecSourceName, type KernelExecFacts } from './exec-events.js';
import { createFindingSink, PROC_FAKE_CONTAINER_CGROUP, type FindingSinkStats, type ProcessDetail } from './findings.js';
import { bundleLocations } from './oci.js';
import { cleanExe, createProcReader, isKernelThread, type ProcessRecord } from './proc-reader.js';
import { parseCmdline } from '../facts/proc.js';

export interface ProcessMonitorConfig {
  readonly node: string;
  readonly procRoot: string;
  readonly hostRoot: string;
  readonly stateDir: string;
  /** Periodic scan; 0 keeps only the startup scan. */
  readonly scanIntervalMs: number;
  readonly execEvents: boolean;
  readonly learnMs: number;
  readonly hostLearnMs: number;
  readonly startupMs: number;
  readonly rateBurst: number;
  readonly rateRefillMs: number;
  readonly maxBaselines: number;
  readonly maxItemsPerBaseline: number;
  /** The node's role for its host baseline: `auto` detects it at start (host-role.ts). */
  readonly hostRole: HostRoleSetting;
  /**
   * How often findings held back by the rate limit are retried (default 250 ms). A finding
   * that is not held back goes to the spool at once (see sendAtOnce).
   */
  readonly flushMs?: number;
  /**
   * Send a finding to the spool as soon as the exec events at hand are judged (default true):
   * the occurrences judged in one turn of the event loop go in one batch. False leaves every
   * finding to the periodic flush (the behaviour before; bench/exec-latency.ts measures both).
   */
  readonly sendAtOnce?: boolean;
  /** The addon to load (tests); default native/build/Release/nodeward_proc.node. */
  readonly addonPath?: string;
  /** Try the eBPF exec source before netlink (default true). */
  readonly ebpf?: boolean;
  /** Kernel BTF for the eBPF program's relocations; default /sys/kernel/btf/vmlinux. */
  readonly btfPath?: string;
  /** The eBPF ring buffer's size (a power of two); default 4 MiB. */
  readonly ringBytes?: number;
  /** How long the eBPF reader lets records gather after a wake-up; default 20 ms (exec-events.ts DEFAULT_BATCH_MS). */
  readonly batchMs?: number;
  /** The eBPF addon and program to load (tests); default native/build/Release/. */
  readonly bpfAddonPath?: string;
  readonly bpfObjectPath?: string;
  /** containerd's state directory on the host, where its bundles are; default /run/containerd. */
  readonly containerdState?: string;
}

export interface ProcessMonitorDeps {
  readonly log: Logger;
  readonly spool: { addBatch(batch: FindingBatch): number };
  /** Tells the reporter the spool has something new. */
  readonly notify: () => void;
  readonly now?: () => number;
}

export type ExecCoverage = 'event' | 'scan';

export interface ProcessMonitorStats {
  readonly coverage: ExecCoverage;
  /** Why exec events are not used, when they are not. */
  readonly execEventsReason: string;
  /** The exec source in use: `ebpf`, `netlink`, or `scan` (none started, or the one started is silent). */
  readonly source: ExecSourceName;
  /** Why each better source is not in use (`CODE: sentence`); empty when eBPF runs. */
  readonly sourceReasons: ExecSourceChoice['reasons'];
  /** The same on one line (`ebpf: ...; netlink: ...`), as AgentStats carries it. */
  readonly fallbackReason: string;
  readonly scans: number;
  readonly lastScanMs: number;
  readonly lastScanProcesses: number;
  readonly tableSize: number;
  readonly events: number;
  /** Processes that exec'd after exec events were on, yet were first judged by a scan (events missed them). */
  readonly scanOnly: number;
  /** Processes that could not be judged: no readable executable (each process once, however many scans meet it). */
  readonly unjudged: number;
  /** Processes with an executable but no cgroup, whose parent was unknown too: not judged. */
  readonly unplaced: number;
  /** Processes whose cgroup named a container no runtime vouches for: judged as host processes (proc-fake-container-cgroup). */
  readonly fakeContainer: number;
  /** Processes that exec'd in a container's cgroup but in the host's mount namespace: judged as host processes. */
  readonly hostNamespace: number;
  /** The host's mount namespace (inode), or null when it could not be read (the check above is then off). */
  readonly hostMntNs: number | null;
  readonly verdicts: Readonly<Record<Verdict, number>>;
  readonly findings: FindingSinkStats;
  readonly exec: ExecEventStats | null;
  readonly baselines: { readonly keys: number; readonly overflow: number; readonly evictedKeys: number; readonly version: number };
  readonly attribution: { readonly containers: number; readonly owners: number; readonly lookups: number };
}

/** What one process looks like to the judge, whichever source saw it. */
interface Observed {
  readonly pid: number;
  readonly ppid: number;
  readonly uid: number;
  /** -1 when unknown (an exec event for a process already gone). */
  readonly startTicks: number;
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

interface TableEntry {
  readonly startTicks: number;
  readonly exe: string | null;
  readonly ppid: number;
  /** The container decided at the exec (null: host); it never changes with a later cgroup move. */
  containerId: string | null;
  /** The executable this process was judged with; null while it was only read as a parent. */
  judged: string | null;
  probe: boolean;
}

const MAX_PARENTS = 8;
const MAX_TABLE = 200_000;
const MAX_CONTAINERS = 8192;
/** Exec-time cgroups (by the kernel's cgroup ids) whose container is known. */
const MAX_CGROUPS = 4096;
/** A process this young found by a scan while exec events are on is left to its event. */
const EVENT_GRACE_MS = 1000;
const SAVE_EVERY_MS = 2000;
const USERS_EVERY_MS = 5 * 60_000;
const STATS_LOG_EVERY_MS = 5 * 60_000;
/**
 * Reads are synchronous (cheapest in CPU), so a scan yields to the event loop every few
 * milliseconds: a proc read can take milliseconds when the process's memory map is busy,
 * and the gRPC stream must not stall behind 1,000 of them.
 */
const SCAN_SLICE_MS = 4;
const SILENT_REASON = 'SILENT: the process connector accepted the subscription but delivered no event while scans found new processes';

function timeSlicer(budgetMs: number): () => Promise<void> {
  let sliceStart = performance.now();
  return async () => {
    if (performance.now() - sliceStart < budgetMs) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
    sliceStart = performance.now();
  };
}

/**
 * The host's (the initial) mount namespace: init's, or kthreadd's (kernel threads share it),
 * as /proc/<pid>/ns/mnt names it; null when neither link can be read (it needs
 * CAP_SYS_PTRACE, and the host's pid namespace).
 */
export function hostMountNamespace(procRoot: string): number | null {
  for (const pid of [1, 2]) {
    try {
      const m = /^mnt:\[(\d+)\]$/.exec(readlinkSync(join(procRoot, String(pid), 'ns', 'mnt')));
      if (m) return Number(m[1]);
    } catch {
      // not readable: try the next
    }
  }
  return null;
}

/** statfs f_type of procfs. */
const PROC_SUPER_MAGIC = 0x9fa0;

function isProcfs(path: string): boolean {
  try {
    return statfsSync(path).type === PROC_SUPER_MAGIC;
  } catch {
    return false;
  }
}

function fromRecord(r: ProcessRecord): Observed {
  return {
    pid: r.pid, ppid: r.ppid, uid: r.uid, startTicks: r.startTicks, exe: r.exe, exeDeleted: r.exeDeleted, argv: r.argv,
    cmdlineTruncated: r.cmdlineTruncated, cgroup: r.missing.includes('cgroup') ? null : r.cgroup, parentExe: null, missing: r.missing,
    kernel: null,
  };
}

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

/** The prefix of a detached file's name (judgedPath); not a path any host file can be found at. */
export const DETACHED_PREFIX = '/(detached)';

function fromExec(r: ExecRecord): Observed {
  const k = r.kernel ?? null;
  // An eBPF record's path is the file's own, rebuilt in the kernel; netlink's is the exe link's text.
  const link = r.exe === null ? null : k ? { exe: judgedPath(r.exe, k), deleted: k.unlinked || k.nlink === 0 } : cleanExe(r.exe);
  return {
    pid: r.pid, ppid: r.ppid, uid: r.uid, startTicks: r.startTicks, exe: link?.exe ?? null, exeDeleted: link?.deleted ?? false,
    argv: r.cmdline ? parseCmdline(r.cmdline) : [], cmdlineTruncated: r.cmdlineTruncated, cgroup: r.cgroup,
    parentExe: r.parentExe === null ? null : cleanExe(r.parentExe).exe, missing: r.missing, kernel: k,
  };
}

/** The exec-time facts a finding carries when the kernel recorded them (eBPF). */
function kernelDetail(k: KernelExecFacts, exe: string): NonNullable<ProcessDetail['kernel']> {
  return {
    filename: k.filename, ino: k.ino, dev: k.dev, nlink: k.nlink, fsKind: fsKindOf(k.fsMagic, exe, k.detached), cgroupId: k.cgroupId, mntNs: k.mntNs, pidNs: k.pidNs,
    uid: k.uid, gid: k.gid, egid: k.egid, comm: k.comm,
  };
}

export function createProcessMonitor(config: ProcessMonitorConfig, deps: ProcessMonitorDeps) {
  const { log } = deps;
  const now = deps.now ?? Date.now;
  const reader = createProcReader(config.procRoot);
  const hostFs = createHostFs(config.hostRoot);
  const attributor = createAttributor(hostFs, {
    maxContainers: 4096, maxOwners: 16_384, retryMs: 10_000, now, locations: bundleLocations(config.containerdState),
  });
  const baselineFile = join(config.stateDir, BASELINE_FILE);
  const sink = createFindingSink({ burst: config.rateBurst, refillMs: config.rateRefillMs, maxKeys: 4096 }, {
    emit(findings) {
      deps.spool.addBatch({ node: config.node, findings });
      deps.notify();
    },
  });

  let baselines: BaselineSet = createBaselineSet(limits());
  /** The node's host baseline key: set at start when detected (until then, no host update applies). */
  let hostKey = config.hostRole === 'auto' ? '' : hostKeyOf(config.hostRole);
  let host: Attribution = hostAttribution(hostKey);
  const table = new Map<number, TableEntry>();
  /**
   * Processes already counted as not judged (pid -> start ticks): a scan meets a zombie, or any
   * process whose executable cannot be read, again at every pass, and it is one process not
   * judged, not one per scan. Pruned with the table.
   */
  const unjudgedSeen = new Map<number, number>();
  const containerStart = new Map<string, number>();
  let users: ReadonlyMap<number, string> = new Map();
  let exec: ExecEventSource | null = null;
  let execReason = config.execEvents ? 'not started' : 'disabled by configuration (processes.execEvents: false)';
  let sourceReasons: ExecSourceChoice['reasons'] = {};
  let eventsSinceMs = 0;
  /** The subscription was accepted but no event ever came while scans found new processes. */
  let silent = false;
  const timers: NodeJS.Timeout[] = [];
  let scanning: Promise<void> | undefined;
  let saving: Promise<void> | undefined;
  let started = false;
  /** The state file has been read: saving before that would write over it. */
  let fileLoaded = false;
  let stopped = false;
  /** A flushReady is queued for the end of this turn of the event loop. */
  let readyQueued = false;
  const counters = { scans: 0, lastScanMs: 0, lastScanProcesses: 0, events: 0, scanOnly: 0, unjudged: 0, unplaced: 0, fakeContainer: 0, hostNamespace: 0 };
  let hostMntNs: number | null = null;
  /** `<v2 id>:<v1 memory id>` -> the container the exec-time cgroup path names (eBPF records). */
  const cgroups = new Map<string, CgroupContainer | null>();

  /**
   * The container the cgroup at the exec names. An eBPF record's cgroup is the kernel's own at
   * the exec (ids and path); the parse is kept per cgroup id, which the kernel never reuses.
   * Netlink records read /proc/<pid>/cgroup right after the exec; scan records when scanned.
   */
  function claimedContainer(o: Observed): CgroupContainer | null {
    if (o.cgroup === null) return null;
    if (!o.kernel) return containerFromCgroup(o.cgroup);
    const id = `${o.kernel.cgroupId}:${o.kernel.cgroupV1Id}`;
    const hit = cgroups.get(id);
    if (hit !== undefined) return hit;
    const c = containerFromCgroup(o.cgroup);
    if (cgroups.size >= MAX_CGROUPS) cgroups.delete(cgroups.keys().next().value as string);
    cgroups.set(id, c);
    return c;
  }
  const verdicts: Record<Verdict, number> = { known: 0, learned: 0, startup: 0, probe: 0, graveyard: 0, overflow: 0, unexpected: 0 };

  function limits() {
    return { learnMs: config.learnMs, hostLearnMs: config.hostLearnMs, maxKeys: config.maxBaselines, maxItemsPerKey: config.maxItemsPerBaseline };
  }

  function remember(pid: number, entry: TableEntry): void {
    if (!table.has(pid) && table.size >= MAX_TABLE) table.delete(table.keys().next().value as number);
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
      containerId: containerFromCgroup(r.cgroup)?.id ?? null, judged: null, probe: false,
    };
    remember(pid, entry);
    return entry;
  }

  /** Executables of the ancestors, up to the container boundary (or init for host processes). */
  function parentChain(o: Observed, containerId: string | null): { parents: string[]; parentIsProbe: boolean } {
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
  }

  function userName(uid: number, host: boolean): string {
    if (uid < 0) return '';
    return (host ? users.get(uid) : undefined) ?? String(uid);
  }

  async function observe(o: Observed, seen: 'event' | 'scan'): Promise<void> {
    if (o.exe === null) {
      if (o.startTicks >= 0 && unjudgedSeen.get(o.pid) === o.startTicks) return;
      if (o.startTicks >= 0) {
        if (!unjudgedSeen.has(o.pid) && unjudgedSeen.size >= MAX_TABLE) unjudgedSeen.delete(unjudgedSeen.keys().next().value as number);
        unjudgedSeen.set(o.pid, o.startTicks);
      }
      counters.unjudged++;
      return;
    }
    const exe = formatPath(o.exe);
    const known = table.get(o.pid);
    if (known && o.startTicks >= 0 && known.startTicks === o.startTicks && known.judged === exe) return;
    // The cgroup of a process that is already gone is its parent's (it was forked there).
    // Without either, the process cannot be placed: it is not judged rather than judged as host.
    let cg: CgroupContainer | null = claimedContainer(o);
    const parentEntry = o.cgroup === null ? table.get(o.ppid) : undefined;
    if (o.cgroup === null && !parentEntry) {
      counters.unplaced++;
      return;
    }
    const containerId = cg?.id ?? parentEntry?.containerId ?? null;
    const entry: TableEntry = { startTicks: o.startTicks, exe, ppid: o.ppid, containerId, judged: exe, probe: false };
    remember(o.pid, entry);
    // The parents are read before anything is awaited: they may exit at any moment.
    let { parents, parentIsProbe } = parentChain(o, containerId);
    if (cg === null && containerId !== null) {
      cg = { id: containerId, runtime: 'unknown', podUid: '', path: '', kubepods: false };
    }
    let at: Attribution = host;
    let fake: ProcessDetail['fakeContainer'] | undefined;
    if (cg !== null) {
      const a = await attributor.attribute(cg);
      if (isNotAContainer(a)) {
        // Only looks like a container: a host process, its parent chain up to init.
        counters.fakeContainer++;
        fake = { cgroupPath: cg.path, id: cg.id, reason: a.reason };
        entry.containerId = null;
        ({ parents, parentIsProbe } = parentChain(o, null));
      } else if (o.kernel && hostMntNs !== null && o.kernel.mntNs === hostMntNs) {
        // In the container's cgroup, yet in the host's filesystem view: not in the container.
        counters.hostNamespace++;
        entry.containerId = null;
        ({ parents, parentIsProbe } = parentChain(o, null));
      } else {
        at = a;
      }
    }
    const t = now();
    const startedAtMs = o.startTicks >= 0 ? reader.ticksToMs(o.startTicks) : t;
    let startup = false;
    if (at.container) {
      const first = containerStart.get(at.container.id);
      const since = first === undefined || startedAtMs < first ? startedAtMs : first;
      if (first === undefined || since !== first) {
        if (containerStart.size >= MAX_CONTAINERS) containerStart.delete(containerStart.keys().next().value as string);
        containerStart.set(at.container.id, since);
      }
      startup = o.startTicks >= 0 && startedAtMs - since < config.startupMs;
    }
    const probe = parentIsProbe || matchesAnyProbe(o.argv, exe, baselines.probes(at.key));
    entry.probe = probe;
    const verdict = baselines.observe(at.key, { exe, startup, probe }, t);
    verdicts[verdict]++;
    if (verdict === 'learned') log.debug({ baseline: at.key, exe }, 'learned');
    if (verdict !== 'unexpected' && !fake) return;
    const detail: ProcessDetail = {
      baseline: at.key, exe, exeDeleted: o.exeDeleted, pid: o.pid, ppid: o.ppid, parents, uid: o.uid,
      user: userName(o.uid, at.container === null), cmdline: formatCmdline(o.argv, { truncated: o.cmdlineTruncated }),
      container: at.container ? { id: at.container.id, name: at.container.name, runtime: at.container.runtime } : null,
      pod: at.pod, podUid: at.podUid, namespace: at.namespace, workload: at.workload, startedAtMs, seen,
      partial: o.missing.length > 0, missing: [...o.missing],
      ...(o.kernel ? { kernel: kernelDetail(o.kernel, exe) } : {}),
    };
    if (fake) {
      if (sink.record({ ...detail, fakeContainer: fake }, t, PROC_FAKE_CONTAINER_CGROUP) && config.sendAtOnce !== false) sendSoon();
      log.debug({ cgroup: fake.cgroupPath, exe, pid: o.pid, reason: fake.reason }, 'process in a cgroup that only looks like a container');
      if (verdict !== 'unexpected') return;
    }
    if (sink.record(detail, t) && config.sendAtOnce !== false) sendSoon();
    log.debug({ baseline: at.key, exe, pid: o.pid, seen }, 'unexpected process');
  }

  /**
   * Sends the ready findings once the current turn of the event loop is done: every exec event
   * delivered in one batch is judged first, so a burst becomes one spool write, not hundreds.
   */
  function sendSoon(): void {
    if (readyQueued) return;
    readyQueued = true;
    setImmediate(() => {
      readyQueued = false;
      if (!stopped) sink.flushReady(now());
    });
  }

  async function scan(): Promise<void> {
    const started = performance.now();
    const t = now();
    const pids = reader.listPids();
    const live = new Set(pids);
    for (const pid of table.keys()) if (!live.has(pid)) table.delete(pid);
    for (const pid of unjudgedSeen.keys()) if (!live.has(pid)) unjudgedSeen.delete(pid);
    const liveContainers = new Set<string>();
    const fresh: ProcessRecord[] = [];
    const slice = timeSlicer(SCAN_SLICE_MS);
    for (const pid of pids) {
      await slice();
      const st = reader.readStat(pid);
      if (!st || isKernelThread(st)) continue;
      const known = table.get(pid);
      if (known && known.startTicks === st.startTicks && known.judged !== null) {
        const link = reader.readExe(pid);
        if (link === null || formatPath(cleanExe(link).exe) === known.judged) {
          if (known.containerId) liveContainers.add(known.containerId);
          continue;
        }
      }
      const r = reader.read(pid);
      if (!r || r.kernelThread) continue;
      fresh.push(r);
    }
    // Container start times first, so startup is judged against each container's oldest process.
    for (const r of fresh) {
      const id = containerFromCgroup(r.cgroup)?.id;
      if (!id) continue;
      liveContainers.add(id);
      const first = containerStart.get(id);
      if (first === undefined || r.startedAtMs < first) containerStart.set(id, r.startedAtMs);
    }
    for (const id of containerStart.keys()) if (!liveContainers.has(id)) containerStart.delete(id);
    attributor.prune(liveContainers);
    for (const r of fresh) {
      await slice();
      if (exec && r.startedAtMs > t - EVENT_GRACE_MS) continue; // its exec event is on the way
      // A child that forked without exec has no exec event to miss: it runs its parent's executable.
      const forkedOnly = r.exe !== null && table.get(r.ppid)?.exe === formatPath(r.exe);
      if (exec && r.startedAtMs > eventsSinceMs + EVENT_GRACE_MS && !forkedOnly) counters.scanOnly++;
      await observe(fromRecord(r), 'scan');
    }
    if (exec && !silent && exec.stats().received === 0 && counters.scanOnly > 0) {
      // Subscribed, yet nothing arrives while scans keep finding new processes.
      silent = true;
      log.warn({ scanOnly: counters.scanOnly }, 'exec events: the connector accepted the subscription but delivers nothing; coverage is the scan');
    }
    counters.scans++;
    counters.lastScanProcesses = pids.length;
    counters.lastScanMs = performance.now() - started;
  }

  function tickScan(): void {
    if (scanning || stopped) return;
    scanning = scan()
      .catch((err: unknown) => log.error({ err: (err as Error).message }, 'process scan failed'))
      .finally(() => {
        scanning = undefined;
      });
  }

  function save(): Promise<void> {
    if (saving || !baselines.dirty || !fileLoaded) return saving ?? Promise.resolve();
    const snapshot = baselines.snapshot();
    baselines.markClean();
    saving = saveBaselineFile(baselineFile, snapshot)
      .catch((err: unknown) => {
        log.error({ err: (err as Error).message, file: baselineFile }, 'cannot save baselines; will retry');
        baselines.markDirty(); // the next tick retries
      })
      .finally(() => {
        saving = undefined;
      });
    return saving;
  }

  async function loadUsers(): Promise<void> {
    const db = await loadUserDb(hostFs);
    users = db.users;
  }

  function every(ms: number, fn: () => void): void {
    const t = setInterval(fn, ms);
    t.unref();
    timers.push(t);
  }

  function applyChange(change: BaselineChange): boolean {
    if (!isValidKey(change.key)) {
      log.warn({ baseline: change.key }, 'baseline update for an invalid key ignored');
      return false;
    }
    if (!receivesBaseline(hostKey, change.key)) {
      log.warn({ baseline: change.key, host: hostKey }, "baseline update for another role's host baseline ignored");
      return false;
    }
    const r = baselines.apply(change, now());
    for (const exe of r.allowed) sink.allow(change.key, exe);
    if (r.applied) {
      log.info({ baseline: change.key, version: change.version, allowed: change.allowed.length, removed: change.removed.length, lock: change.lock }, 'baseline update applied');
      void save();
    }
    return r.applied;
  }

  async function decideRole(): Promise<HostRoleDecision> {
    if (config.hostRole !== 'auto') return { role: config.hostRole, key: hostKeyOf(config.hostRole), evidence: 'set by the agent setting processes.hostRole' };
    try {
      return await detectHostRole(config.hostRoot, config.procRoot);
    } catch (err) {
      return { role: 'worker', key: hostKeyOf('worker'), evidence: `the control-plane facts could not be collected (${(err as Error).message})` };
    }
  }

  function coverage(): ExecCoverage {
    return exec && !silent ? 'event' : 'scan';
  }

  function source(): ExecSourceName {
    return exec && !silent ? exec.kind : 'scan';
  }

  function stats(): ProcessMonitorStats {
    const reasons = silent && exec ? { ...sourceReasons, [exec.kind]: SILENT_REASON } : sourceReasons;
    const execEventsReason = coverage() === 'event' ? '' : silent ? SILENT_REASON : execReason;
    return {
      coverage: coverage(), execEventsReason,
      // No source tried (turned off, or no procfs): the reason none was is the one to give.
      source: source(), sourceReasons: reasons, fallbackReason: formatReasons(reasons) || execEventsReason, ...counters, hostMntNs, tableSize: table.size,
      verdicts: { ...verdicts }, findings: sink.stats(), exec: exec?.stats() ?? null,
      baselines: { keys: baselines.size, overflow: baselines.counters.overflow, evictedKeys: baselines.counters.evictedKeys, version: baselines.version },
      attribution: attributor.stats(),
    };
  }

  return {
    async start(): Promise<void> {
      if (started) return;
      started = true;
      const role = await decideRole();
      hostKey = role.key;
      host = hostAttribution(hostKey);
      log.info({ role: role.role, baseline: role.key, evidence: role.evidence }, 'host processes keyed by node role');
      const loaded = await loadBaselineFile(baselineFile, now);
      fileLoaded = true;
      if (loaded.state === 'loaded') {
        const keep = role.role === 'worker' ? (exe: string) => !isControlPlaneExecutable(exe) : () => true;
        const migrated = migrateLegacyHost(loaded.data, hostKey, keep);
        baselines = createBaselineSet(limits(), migrated.data);
        log.info({ keys: baselines.size, file: baselineFile }, 'baselines loaded');
        if (migrated.data !== loaded.data) {
          log.info({ to: hostKey, moved: migrated.moved, leftOut: migrated.left }, 'legacy host baseline moved to the node role key');
          baselines.markDirty();
          await save();
        }
      } else if (loaded.state === 'corrupt') {
        log.error({ reason: loaded.reason, setAside: loaded.setAside }, 'baseline file unreadable; set aside, learning starts over');
      }
      await loadUsers();
      hostMntNs = isProcfs(reader.root) ? hostMountNamespace(reader.root) : null;
      if (hostMntNs === null && isProcfs(reader.root)) log.warn({ procRoot: reader.root }, "the host's mount namespace is unreadable (/proc/1/ns/mnt, /proc/2/ns/mnt): a host process in a container's cgroup is judged as the container's");
      if (config.execEvents && !isProcfs(reader.root)) {
        execReason = `NOT_PROCFS: ${reader.root} is not a procfs mount, and exec events describe the live kernel's processes`;
      } else if (config.execEvents) {
        const choice = startExecSource({
          ebpf: config.ebpf ?? true, procRoot: reader.root, maxCmdline: 4096, queue: 8192, btfPath: config.btfPath, ringBytes: config.ringBytes, batchMs: config.batchMs,
          addonPath: config.addonPath, bpfAddonPath: config.bpfAddonPath, bpfObjectPath: config.bpfObjectPath,
        }, (rec) => {
          counters.events++;
          void observe(fromExec(rec), 'event').catch((err: unknown) => log.error({ err: (err as Error).message }, 'exec event failed'));
        });
        sourceReasons = choice.reasons;
        if (choice.source) {
          exec = choice.source;
          eventsSinceMs = now();
        } else {
          execReason = formatReasons(choice.reasons);
        }
      }
      if (exec?.kind === 'ebpf') log.info({ source: 'ebpf' }, 'exec events on: an eBPF program records every exec in the kernel');
      else if (exec) log.warn({ source: 'netlink', reasons: sourceReasons }, 'exec events on: the kernel process connector reports every exec (eBPF unavailable: a process gone before /proc is read is not judged)');
      else log.warn({ source: 'scan', reason: execReason, reasons: sourceReasons, scanEverySeconds: config.scanIntervalMs / 1000 }, 'exec events unavailable; falling back to scanning the process table');
      tickScan();
      await scanning;
      if (config.scanIntervalMs > 0) every(config.scanIntervalMs, tickScan);
      every(config.flushMs ?? 250, () => sink.flush(now()));
      every(1000, () => {
        for (const key of baselines.tick(now())) log.info({ baseline: key }, 'baseline locked: learning window ended');
      });
      every(SAVE_EVERY_MS, () => void save());
      every(USERS_EVERY_MS, () => void loadUsers().catch(() => undefined));
      every(STATS_LOG_EVERY_MS, () => log.info({ stats: stats() }, 'process monitor'));
      // A prune of the process table is part of every scan; without periodic scans, do it here.
      if (config.scanIntervalMs === 0) {
        every(30_000, () => {
          const live = new Set(reader.listPids());
          for (const pid of table.keys()) if (!live.has(pid)) table.delete(pid);
          for (const pid of unjudgedSeen.keys()) if (!live.has(pid)) unjudgedSeen.delete(pid);
        });
      }
    },

    /** Safe before start and twice: stops events and timers, sends what may be sent, saves. */
    async stop(): Promise<void> {
      if (stopped) return;
      stopped = true;
      for (const t of timers.splice(0)) clearInterval(t);
      exec?.stop();
      exec = null;
      await scanning;
      if (!started) return;
      sink.flush(now());
      await saving;
      await save();
    },

    /** One scan now (tests and benchmarks); resolves when it is done. */
    async scanNow(): Promise<void> {
      tickScan();
      await scanning;
    },

    /** Sends collapsed findings now instead of at the next flush tick. */
    flush(): number {
      return sink.flush(now());
    },

    /**
     * A BaselineUpdate message from the collector's stream (see changeFromWire for what its
     * fields mean here). Allowed executables stop being reported at once.
     */
    applyBaselineUpdate(update: BaselineUpdate__Output | BaselineUpdate): boolean {
      return applyChange(changeFromWire(update));
    },

    /** An operator's change in the agent's own terms (it can also unlock). */
    applyBaselineChange(change: BaselineChange): boolean {
      return applyChange(change);
    },

    /** Exec probe commands of a key (from the pod spec, via the collector). */
    setProbes(key: string, commands: readonly (readonly string[])[]): void {
      baselines.setProbes(key, commands);
    },

    /** The keys that have exec probe commands. */
    probeKeys(): string[] {
      return baselines.probeKeys();
    },

    /** Goes up with every change to a baseline: what the reports to the collector follow. */
    get baselineRevision(): number {
      return baselines.revision;
    },

    /** Keys of the baselines changed after `revision`. */
    baselinesChangedSince(revision: number): string[] {
      return baselines.changedSince(revision);
    },

    /** Every baseline key held. */
    baselineKeys(): string[] {
      return baselines.keys();
    },

    /** The named baselines (those still held), as they would be saved. */
    baselinesJson(keys: readonly string[]): BaselineJson[] {
      const out: BaselineJson[] = [];
      for (const k of keys) {
        const b = baselines.get(k);
        if (b) out.push(baselineToJson(b));
      }
      return out;
    },

    /** A pod's real owner (via the collector); null forgets it and the pod-name guess applies. */
    setOwner(namespace: string, pod: string, workload: Workload | null): void {
      attributor.setOwner(namespace, pod, workload);
    },

    get coverage(): ExecCoverage {
      return coverage();
    },

    get baselineVersion(): number {
      return baselines.version;
    },

    /** The key of this node's host baseline (`host/control-plane` or `host/worker`); empty before start when detected. */
    get hostKey(): string {
      return hostKey;
    },

    /** The baselines as they would be saved. */
    snapshot(): BaselineSetJson {
      return baselines.snapshot();
    },

    /** Writes the baselines now (tests; the monitor saves on its own every few seconds). */
    save,

    stats,
  };
}

export type ProcessMonitor = ReturnType<typeof createProcessMonitor>;
