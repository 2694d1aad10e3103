// The process monitor: the agent's long-lived part that watches processes against the
// learned baselines and turns unexpected ones into findings in the spool. It puts together
//
//   sources.ts          where processes come from: eBPF, netlink, the /proc scan (never silently)
//   judge.ts            one process in, a verdict out: placement, parents, baseline, finding
//   process-table.ts    what is known of each live process, and its ancestors
//   baseline-keeper.ts  the baselines: node role, state file, the collector's updates
//
// and runs their timers. The apply functions (applyBaselineUpdate, setProbes, setOwner) are
// how the collector's word arrives: BaselineUpdate messages on the stream, exec probes and pod
// owners from its pod watch. Allowing an executable stops the agent reporting it at once.
import { readlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../proto/support/logger.js';
import type { FindingBatch } from '../../proto/load.js';
import type { BaselineUpdate, BaselineUpdate__Output } from '../../proto/gen/nodeward/v1/BaselineUpdate.js';
import { createHostFs } from '../facts/host-fs.js';
import { loadUserDb } from '../facts/users.js';
import { changeFromWire, type BaselineChange, type BaselineJson, type BaselineSetJson, type Verdict } from '../baseline/baselines.js';
import type { Workload } from '../baseline/workload.js';
import { createAttributor } from './attribution.js';
import { createBaselineKeeper } from './baseline-keeper.js';
import type { ExecEventStats, ExecSourceChoice, ExecSourceName } from './exec-events.js';
import { createFindingSink, type FindingSinkStats } from './findings.js';
import type { HostRoleFacts, HostRoleSetting } from './host-role.js';
import { createPackageVouch, type PackageVouchStats } from '../facts/package-vouch.js';
import { createIdentityHasher, type IdentityHasher } from './identity.js';
import { createJudge, type Judge } from './judge.js';
import { createStdioReader, type StdioStats } from './stdio.js';
import { bundleLocations } from './oci.js';
import { createProcReader } from './proc-reader.js';
import { createProcessTable } from './process-table.js';
import { createProcessSources, hostMountNamespace, isProcfs, type ExecCoverage } from './sources.js';

export { DETACHED_PREFIX, judgedPath } from './observed.js';
export { hostMountNamespace, type ExecCoverage } from './sources.js';

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
  /** The eBPF ring buffer's size (a power of two); default 1 MiB (exec-events.ts DEFAULT_RING_BYTES). */
  readonly ringBytes?: number;
  /** How long the eBPF reader lets records gather after a wake-up; default 20 ms (exec-events.ts DEFAULT_BATCH_MS). */
  readonly batchMs?: number;
  /** The eBPF addon and program to load (tests); default native/build/Release/. */
  readonly bpfAddonPath?: string;
  readonly bpfObjectPath?: string;
  /** containerd's state directory on the host, where its bundles are; default /run/containerd. */
  readonly containerdState?: string;
  /** Judge what ran by its content (SHA-256) as well as its path; default true. */
  readonly identity?: boolean;
  /** Executables larger than this are not hashed (counted, never learned); default 512 MiB. */
  readonly maxHashBytes?: number;
}

export interface ProcessMonitorDeps {
  readonly log: Logger;
  readonly spool: { addBatch(batch: FindingBatch): number };
  /** Tells the reporter the spool has something new. */
  readonly notify: () => void;
  readonly now?: () => number;
  /** The snapshot the host role is decided from (baseline-keeper.ts); the agent gives its first scan's. */
  readonly roleFacts?: () => Promise<HostRoleFacts>;
}

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
  readonly baselines: { readonly keys: number; readonly overflow: number; readonly evictedKeys: number; readonly evictedDigests: number; readonly version: number };
  readonly attribution: { readonly containers: number; readonly owners: number; readonly lookups: number };
  /** What the content checks did: re-execs of the same content, code run from memory or a deleted file, upgrades vouched for. */
  readonly content: Judge['content'] & {
    readonly identity: ReturnType<IdentityHasher['stats']> | null; readonly packages: PackageVouchStats | null; readonly stdio: StdioStats;
  };
}

const SAVE_EVERY_MS = 2000;
const DEFAULT_MAX_HASH_BYTES = 512 * 1024 * 1024;
const USERS_EVERY_MS = 5 * 60_000;
const STATS_LOG_EVERY_MS = 5 * 60_000;

export function createProcessMonitor(config: ProcessMonitorConfig, deps: ProcessMonitorDeps) {
  const { log } = deps;
  const now = deps.now ?? Date.now;
  const reader = createProcReader(config.procRoot);
  const hostFs = createHostFs(config.hostRoot);
  const attributor = createAttributor(hostFs, {
    maxContainers: 4096, maxOwners: 16_384, retryMs: 10_000, now, locations: bundleLocations(config.containerdState),
  });
  const sink = createFindingSink({ burst: config.rateBurst, refillMs: config.rateRefillMs, maxKeys: 4096 }, {
    emit(findings) {
      deps.spool.addBatch({ node: config.node, findings });
      deps.notify();
    },
  });
  const keeper = createBaselineKeeper(config, { log, now, onAllowed: (key, exe) => sink.allow(key, exe), ...(deps.roleFacts ? { roleFacts: deps.roleFacts } : {}) });
  const table = createProcessTable(reader);
  let users: ReadonlyMap<number, string> = new Map();
  let hostMntNs: number | null = null;
  // Contents are read through /proc/<pid>/exe: only the live kernel's procfs has those links.
  // A cached file version costs about 650 bytes of heap (key, digests, identity): 4,096 of
  // them, 2.6 MiB, hold every executable a node runs again and again; one evicted is hashed
  // again when it next runs.
  const identity = config.identity === false || !isProcfs(reader.root) ? null : createIdentityHasher({
    procRoot: reader.root, hostFs, maxBytes: config.maxHashBytes ?? DEFAULT_MAX_HASH_BYTES, maxEntries: 4096, maxQueue: 1024,
    startTicksOf: (pid) => reader.readStat(pid)?.startTicks ?? null,
  });
  const packages = identity ? createPackageVouch(hostFs, { now }) : null;
  const stdioReader = createStdioReader(reader.root);
  const judge = createJudge({
    log, now, startupMs: config.startupMs, ticksToMs: (ticks) => reader.ticksToMs(ticks), table, attributor, baselines: keeper, sink,
    users: () => users, hostMntNs: () => hostMntNs, ready: () => {
      if (config.sendAtOnce !== false) sendSoon();
    },
    identity, vouch: packages ? (path, digests) => packages.vouch(path, digests) : null, stdio: stdioReader,
    cwdOf: (pid) => {
      try {
        return readlinkSync(join(reader.root, String(pid), 'cwd'));
      } catch {
        return null;
      }
    },
  });
  const sources = createProcessSources(config, { log, now, reader, table, judge, attributor });
  const timers: NodeJS.Timeout[] = [];
  let scanning: Promise<void> | undefined;
  let started = false;
  let stopped = false;
  /** A flushReady is queued for the end of this turn of the event loop. */
  let readyQueued = false;

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

  function tickScan(): void {
    if (scanning || stopped) return;
    scanning = sources.scan()
      .catch((err: unknown) => log.error({ err: (err as Error).message }, 'process scan failed'))
      .finally(() => {
        scanning = undefined;
      });
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

  function stats(): ProcessMonitorStats {
    return {
      ...sources.stats(), ...judge.counters, content: { ...judge.content, identity: identity?.stats() ?? null, packages: packages?.stats() ?? null, stdio: stdioReader.stats() }, hostMntNs, tableSize: table.size,
      verdicts: judge.verdicts(), findings: sink.stats(), baselines: keeper.stats(), attribution: attributor.stats(),
    };
  }

  return {
    async start(): Promise<void> {
      if (started) return;
      started = true;
      await keeper.load();
      await loadUsers();
      hostMntNs = isProcfs(reader.root) ? hostMountNamespace(reader.root) : null;
      if (hostMntNs === null && isProcfs(reader.root)) log.warn({ procRoot: reader.root }, "the host's mount namespace is unreadable (/proc/1/ns/mnt, /proc/2/ns/mnt): a host process in a container's cgroup is judged as the container's");
      sources.startEvents(config.scanIntervalMs);
      tickScan();
      await scanning;
      if (config.scanIntervalMs > 0) every(config.scanIntervalMs, tickScan);
      every(config.flushMs ?? 250, () => sink.flush(now()));
      every(1000, () => keeper.tick());
      every(SAVE_EVERY_MS, () => void keeper.save());
      every(USERS_EVERY_MS, () => void loadUsers().catch(() => undefined));
      every(STATS_LOG_EVERY_MS, () => log.info({ stats: stats() }, 'process monitor'));
      // A prune of the process table is part of every scan; without periodic scans, do it here.
      if (config.scanIntervalMs === 0) every(30_000, () => sources.prune());
    },

    /** Safe before start and twice: stops events and timers, sends what may be sent, saves. */
    async stop(): Promise<void> {
      if (stopped) return;
      stopped = true;
      for (const t of timers.splice(0)) clearInterval(t);
      sources.stopEvents();
      await scanning;
      if (!started) return;
      sink.flush(now());
      await keeper.settled();
      await keeper.save();
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
      return keeper.apply(changeFromWire(update));
    },

    /** An operator's change in the agent's own terms (it can also unlock). */
    applyBaselineChange(change: BaselineChange): boolean {
      return keeper.apply(change);
    },

    /** Exec probe commands of a key (from the pod spec, via the collector). */
    setProbes(key: string, commands: readonly (readonly string[])[]): void {
      keeper.set.setProbes(key, commands);
    },

    /** The keys that have exec probe commands. */
    probeKeys(): string[] {
      return keeper.set.probeKeys();
    },

    /** Goes up with every change to a baseline: what the reports to the collector follow. */
    get baselineRevision(): number {
      return keeper.set.revision;
    },

    /** Keys of the baselines changed after `revision`. */
    baselinesChangedSince(revision: number): string[] {
      return keeper.set.changedSince(revision);
    },

    /** The key's listen set changed: its baseline is reported to the collector again. */
    reviseBaseline(key: string): void {
      keeper.set.revise(key);
    },

    /** Every baseline key held. */
    baselineKeys(): string[] {
      return keeper.set.keys();
    },

    /** The named baselines (those still held), as they would be saved. */
    baselinesJson(keys: readonly string[]): BaselineJson[] {
      return keeper.json(keys);
    },

    /** A pod's real owner (via the collector); null forgets it and the pod-name guess applies. */
    setOwner(namespace: string, pod: string, workload: Workload | null): void {
      attributor.setOwner(namespace, pod, workload);
    },

    get coverage(): ExecCoverage {
      return sources.coverage();
    },

    get baselineVersion(): number {
      return keeper.set.version;
    },

    /** The key of this node's host baseline (`host/control-plane` or `host/worker`); empty before start when detected. */
    get hostKey(): string {
      return keeper.hostKey;
    },

    /** The baselines as they would be saved. */
    snapshot(): BaselineSetJson {
      return keeper.snapshot();
    },

    /** Writes the baselines now (tests; the monitor saves on its own every few seconds). */
    save: (): Promise<void> => keeper.save(),

    /** The proc reader and the attribution, lent to the exposure collector (agent/exposure/wiring.ts). */
    get exposureParts() {
      return {
        reader, attributor, hostKey: () => keeper.hostKey,
        baselineState: (key: string): 'learning' | 'locked' | null => {
          const b = keeper.set.get(key);
          return b === undefined ? null : b.lockedAtMs === null ? 'learning' : 'locked';
        },
      };
    },

    stats,
  };
}

export type ProcessMonitor = ReturnType<typeof createProcessMonitor>;
