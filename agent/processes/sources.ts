// Where the judge's processes come from, in order of preference, never silently:
//
//   exec events (eBPF, else netlink; own thread) --\
//                                                  >-- judge
//   periodic scan of the proc root (every N s)  ---/
//
// Exec events see processes that live for milliseconds (eBPF ones describe the process as the
// kernel saw it at the exec, so even one gone before /proc could be read is judged); the scan
// is reconciliation, and the only source where no event source starts. Which source runs, and
// why a better one did not, is part of the stats (exec_source at the collector). The startup
// scan always runs, so processes that were already running are learned or judged.
import { readlinkSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../proto/support/logger.js';
import type { Attributor } from './attribution.js';
import { containerFromCgroup } from './cgroup.js';
import { formatPath } from './cmdline.js';
import { formatReasons, startExecSource, type ExecEventSource, type ExecSourceChoice, type ExecSourceName } from './exec-events.js';
import type { Judge } from './judge.js';
import { fromExec, fromRecord } from './observed.js';
import { isKernelThread, type ProcessRecord, type ProcReader } from './proc-reader.js';
import type { ProcessTable } from './process-table.js';

export type ExecCoverage = 'event' | 'scan';

export interface SourcesConfig {
  readonly execEvents: boolean;
  readonly ebpf?: boolean;
  readonly addonPath?: string;
  readonly btfPath?: string;
  readonly ringBytes?: number;
  readonly batchMs?: number;
  readonly bpfAddonPath?: string;
  readonly bpfObjectPath?: string;
}

export interface SourcesDeps {
  readonly log: Logger;
  readonly now: () => number;
  readonly reader: ProcReader;
  readonly table: ProcessTable;
  readonly judge: Judge;
  readonly attributor: Attributor;
}

/** A process this young found by a scan while exec events are on is left to its event. */
const EVENT_GRACE_MS = 1000;
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

export function isProcfs(path: string): boolean {
  try {
    return statfsSync(path).type === PROC_SUPER_MAGIC;
  } catch {
    return false;
  }
}

export function createProcessSources(config: SourcesConfig, deps: SourcesDeps) {
  const { log, now, reader, table, judge, attributor } = deps;
  let exec: ExecEventSource | null = null;
  let execReason = config.execEvents ? 'not started' : 'disabled by configuration (processes.execEvents: false)';
  let reasons: ExecSourceChoice['reasons'] = {};
  let eventsSinceMs = 0;
  /** The subscription was accepted but no event ever came while scans found new processes. */
  let silent = false;
  const counters = { scans: 0, lastScanMs: 0, lastScanProcesses: 0, events: 0, scanOnly: 0 };

  async function scan(): Promise<void> {
    const started = performance.now();
    const t = now();
    const pids = reader.listPids();
    const live = new Set(pids);
    table.prune(live);
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
        if (link === null || formatPath(link) === known.judged) {
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
      judge.noteContainerStart(id, r.startedAtMs);
    }
    judge.pruneContainers(liveContainers);
    attributor.prune(liveContainers);
    // Each judgement places its process at once and then may wait (a bundle read, a file hashed
    // for the first time): the scan does not wait for one before the next, so a start-up scan of
    // a host full of binaries is as long as the slowest one, not their sum.
    const judging: Promise<void>[] = [];
    for (const r of fresh) {
      await slice();
      if (exec && r.startedAtMs > t - EVENT_GRACE_MS) continue; // its exec event is on the way
      // A child that forked without exec has no exec event to miss: it runs its parent's executable.
      const forkedOnly = r.exe !== null && table.get(r.ppid)?.exe === formatPath(r.exe);
      if (exec && r.startedAtMs > eventsSinceMs + EVENT_GRACE_MS && !forkedOnly) counters.scanOnly++;
      judging.push(judge.observe(fromRecord(r), 'scan').catch((err: unknown) => log.error({ err: (err as Error).message, pid: r.pid }, 'process judgement failed')));
    }
    await Promise.all(judging);
    if (exec && !silent && exec.stats().received === 0 && counters.scanOnly > 0) {
      // Subscribed, yet nothing arrives while scans keep finding new processes.
      silent = true;
      log.warn({ scanOnly: counters.scanOnly }, 'exec events: the connector accepted the subscription but delivers nothing; coverage is the scan');
    }
    counters.scans++;
    counters.lastScanProcesses = pids.length;
    counters.lastScanMs = performance.now() - started;
  }

  function coverage(): ExecCoverage {
    return exec && !silent ? 'event' : 'scan';
  }

  return {
    /** Starts the best exec event source there is (none when turned off or not on procfs). */
    startEvents(scanIntervalMs: number): void {
      if (config.execEvents && !isProcfs(reader.root)) {
        execReason = `NOT_PROCFS: ${reader.root} is not a procfs mount, and exec events describe the live kernel's processes`;
      } else if (config.execEvents) {
        const choice = startExecSource({
          ebpf: config.ebpf ?? true, procRoot: reader.root, maxCmdline: 4096, queue: 8192, btfPath: config.btfPath, ringBytes: config.ringBytes, batchMs: config.batchMs,
          addonPath: config.addonPath, bpfAddonPath: config.bpfAddonPath, bpfObjectPath: config.bpfObjectPath,
        }, (rec) => {
          counters.events++;
          void judge.observe(fromExec(rec), 'event').catch((err: unknown) => log.error({ err: (err as Error).message }, 'exec event failed'));
        });
        reasons = choice.reasons;
        if (choice.source) {
          exec = choice.source;
          eventsSinceMs = now();
        } else {
          execReason = formatReasons(choice.reasons);
        }
      }
      if (exec?.kind === 'ebpf') log.info({ source: 'ebpf' }, 'exec events on: an eBPF program records every exec in the kernel');
      else if (exec) log.warn({ source: 'netlink', reasons }, 'exec events on: the kernel process connector reports every exec (eBPF unavailable: a process gone before /proc is read is not judged)');
      else log.warn({ source: 'scan', reason: execReason, reasons, scanEverySeconds: scanIntervalMs / 1000 }, 'exec events unavailable; falling back to scanning the process table');
    },

    stopEvents(): void {
      exec?.stop();
      exec = null;
    },

    /** One pass over the proc root: judges what no event described, prunes the table. */
    scan,

    /** Prunes the process table against the live pids (what a scan does, without judging). */
    prune(): void {
      table.prune(new Set(reader.listPids()));
    },

    coverage,

    stats() {
      const execEventsReason = coverage() === 'event' ? '' : silent ? SILENT_REASON : execReason;
      const sourceReasons = silent && exec ? { ...reasons, [exec.kind]: SILENT_REASON } : reasons;
      const source: ExecSourceName = exec && !silent ? exec.kind : 'scan';
      return {
        coverage: coverage(), execEventsReason, source, sourceReasons,
        // No source tried (turned off, or no procfs): the reason none was is the one to give.
        fallbackReason: formatReasons(sourceReasons) || execEventsReason,
        ...counters, exec: exec?.stats() ?? null,
      };
    },
  };
}

export type ProcessSources = ReturnType<typeof createProcessSources>;
