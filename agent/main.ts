// Wires the agent: facts -> checks -> spool -> reporter (gRPC). The only place that
// composes agent components.
import v8 from 'node:v8';
import { createLogger, type Logger } from '../proto/support/logger.js';
import type { Clock } from '../proto/support/clock.js';
import { isFindingStatus } from '../proto/domain.js';
import type { AgentConfig } from './config.js';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { collectFacts, type HostFacts } from './facts/index.js';
import { boundedNodeLabels } from './facts/distribution.js';
import { exposureCollector } from './exposure/wiring.js';
import { countedBy, createExposureCutCounter, exposureCutsToWire } from './exposure/cuts.js';
import { createListenBaselines, LISTENS_FILE, WIRE_LISTENS_PER_BASELINE } from './exposure/listen-baseline.js';
import { createHostFs } from './facts/host-fs.js';
import { probesFor } from './checks/wire-evidence.js';
import { CATALOG, selectChecks } from './checks/index.js';
import { evaluate } from './checks/evaluate.js';
import { EXEC_COVERAGE, execCoverageResult } from './checks/exec-coverage.js';
import { openSpool, type Spool } from './report/spool.js';
import { preparePrivateDir } from '../proto/support/private-files.js';
import { createReporter, type Reporter } from './report/client.js';
import { documentRefusalsToWire, scanToWire } from './report/wire.js';
import { benchmarkFor, detectedBenchmark, judgeUnder } from './checks/benchmarks/index.js';
import { createEnroller, type Enroller } from './enroll/enroller.js';
import { createScanLane } from './watch/scan-lane.js';
import { createHealthServer } from './health.js';
import { createWatcher, type Watcher } from './watch/watcher.js';
import { createHello, inventoryOf, sameInventory } from './report/hello.js';
import { createDocumentRefusalCounter } from './facts/document-refusals.js';
import { createProcessMonitor, type ProcessMonitor } from './processes/monitor.js';
import { createPodInventory, type PodInventoryApplier } from './processes/pod-inventory.js';
import { createBaselineReporter, type BaselineReporter } from './report/baseline-report.js';
import type { AgentStats } from '../proto/load.js';
import { processStatsToWire } from './processes/wire-stats.js';

const MEMORY_LOG_MS = 60_000;

/** `clock`: when the enrolled certificate's renewals and retries are due (default: the system's). */
export function createAgent(config: AgentConfig, deps: { version: string; log?: Logger; clock?: Clock }) {
  const log = deps.log ?? createLogger('agent', config.log.level);
  const specs = config.scan.checks.length > 0 ? selectChecks(CATALOG, config.scan.checks) : CATALOG;
  const scope = specs.map((s) => s.id);
  let spool: Spool | undefined;
  let reporter: Reporter | undefined;
  let enroller: Enroller | undefined;
  let timer: NodeJS.Timeout | undefined;
  let memoryTimer: NodeJS.Timeout | undefined;
  let scanning: Promise<void> | undefined;
  let skipped = 0;
  // Periodic scans and watch re-evaluations take turns, so reports are spooled in fact order.
  const lane = createScanLane();
  let watcher: Watcher | undefined;
  const probe = config.kubeletProbe;
  // Network I/O: only when enabled and a check in scope judges what it sees.
  const probes = probesFor(specs);
  const kubeletProbe = probe.enabled && probes.kubelet
    ? { host: probe.host, apiPort: probe.apiPort, readOnlyPort: probe.readOnlyPort, timeoutMs: probe.timeoutMs }
    : null;
  const etcdProbe = config.etcdProbe.enabled && probes.etcd
    ? { timeoutMs: config.etcdProbe.timeoutMs, maxUrls: config.etcdProbe.maxUrls }
    : null;
  // Host documents refused by their limits, at every collection (AgentStats host_documents_refused).
  const refusals = createDocumentRefusalCounter();
  let processes: ProcessMonitor | undefined;
  // The Node object's ExternalIPs, as the collector last sent them (NodeAddresses on the stream).
  let nodeExternal: readonly string[] = [];
  /** The Node object's labels from the collector (none until it sends them): distribution detection reads them. */
  let nodeLabels: Readonly<Record<string, string>> | null = null;
  // What each workload listened on while its baseline learned (exposure-new-listener).
  const listens = config.processes.enabled
    ? createListenBaselines(join(config.stateDir, LISTENS_FILE), undefined, (key) => processes?.reviseBaseline(key))
    : undefined;
  // Where the exposure collector was cut short, at every collection (AgentStats exposure_*).
  const exposureCuts = createExposureCutCounter();
  const exposure = config.exposure.enabled
    ? countedBy(exposureCuts, exposureCollector({ ...config.exposure, procRoot: config.procRoot, hostRoot: config.hostRoot, containerdState: config.processes.containerdState },
      () => processes?.exposureParts, () => [...config.exposure.externalAddresses, ...nodeExternal], listens))
    : null;
  // The last snapshot is the agent's memory: the Hello's inventory and the host role are read
  // from it, never collected on their own.
  let last: HostFacts | null = null;
  // One way to read the host, shared by the periodic scan and the watcher: a watch result is
  // judged on facts collected exactly as a full scan's are. Every collection is remembered; one
  // that changes the node's inventory (a certificate renewed) has it sent to the collector now.
  const collect = async (now: Date): Promise<HostFacts> => {
    const facts = await collectFacts({ hostRoot: config.hostRoot, procRoot: config.procRoot, now: () => now, kubeletProbe, etcdProbe, refusals, exposure, distribution: config.distribution, nodeLabels });
    const before = last;
    last = facts;
    if (before !== null && !sameInventory(inventoryOf(before), inventoryOf(facts))) reporter?.helloChanged();
    return facts;
  };
  let baselineReports: BaselineReporter | undefined;
  let pods: PodInventoryApplier | undefined;
  let scansDone = 0;
  // How long the last scan took (facts and judgement), for AgentStats last_scan_duration_ms.
  let lastScanMs = 0;
  // Ready once a scan has completed and the spool is open: the probe says the agent works,
  // not that the collector is reachable (an outage must not restart every agent).
  const health = config.health.enabled
    ? createHealthServer({ host: config.health.host, port: config.health.port }, {
      ready: () => scansDone > 0 && spool !== undefined,
      status: () => ({ node: config.node, scans: scansDone, collector: reporter?.status() ?? null }),
    })
    : undefined;

  /** `collected`: facts already collected for this scan (the startup scan's, at start), and how long that took. */
  async function scan(trigger: 'startup' | 'periodic', collected?: { readonly facts: HostFacts; readonly now: Date; readonly ms: number }): Promise<void> {
    const now = collected?.now ?? new Date();
    const started = performance.now() - (collected?.ms ?? 0);
    const facts = collected?.facts ?? await collect(now);
    const judging = judgeUnder(benchmarkFor(config.benchmark, detectedBenchmark(facts)), specs);
    const results = evaluate(facts, judging.specs, now).map(judging.relabel);
    lastScanMs = performance.now() - started;
    const s = spool;
    if (!s) return;
    // The agent's own exec source, while the process monitor runs: a degraded one is a finding.
    const monitor = processes?.stats();
    if (monitor) results.push(execCoverageResult({ source: monitor.source, reason: monitor.fallbackReason }));
    const reportScope = monitor ? [...scope, EXEC_COVERAGE.id] : scope;
    const sequence = s.addScan(scanToWire({ node: config.node, scannedAt: now, benchmark: judging.benchmark.name, scope: reportScope, results, trigger, exposure: facts.exposure }), true);
    const failing = results.filter((r) => isFindingStatus(r.status));
    scansDone++;
    log.info({ trigger, sequence, results: results.length, failing: failing.length, ms: Math.ceil(lastScanMs) }, 'scan completed');
    log.debug({ sequence, failing: failing.map((r) => `${r.id} ${r.subject}`) }, 'failing results');
    reporter?.notify();
    void watcher?.update(facts);
  }

  /** The process monitor's counters, the facts phase's refusals and the exposure collector's cuts, as AgentStats carries them to the collector. */
  function agentStats(): Partial<AgentStats> {
    return {
      ...processStatsToWire(processes?.stats(), baselineReports?.stats().dropped ?? 0), ...documentRefusalsToWire(refusals.stats()),
      lastScanDurationMs: Math.ceil(lastScanMs), ...exposureCutsToWire(exposureCuts.stats()),
    };
  }

  function tick(trigger: 'startup' | 'periodic', collected?: Parameters<typeof scan>[1]): void {
    if (scanning) {
      skipped++;
      log.warn({ skipped }, 'previous scan still running; this one skipped');
      return;
    }
    scanning = lane.run(() => scan(trigger, collected))
      .catch((err: unknown) => log.error({ err: (err as Error).message }, 'scan failed'))
      .finally(() => {
        scanning = undefined;
      });
  }

  return {
    /** Enrollment while running (when enroll.url is set): the certificate in use and its renewals. */
    get enroller(): Enroller | undefined {
      return enroller;
    },
    /** The process monitor while running: its apply functions take the collector's baseline updates. */
    get processes(): ProcessMonitor | undefined {
      return processes;
    },
    /** The health endpoint's port while running (0 when disabled). */
    get healthPort(): number {
      return health?.port ?? 0;
    },
    async start(): Promise<void> {
      if (spool) return;
      // The spool and the baselines are the agent's alone: 0700, tightened if an older
      // version (or a hand-made directory) left it open to group or others.
      const dir = preparePrivateDir(config.stateDir);
      if (dir.tightenedFrom !== undefined) {
        log.warn({ dir: config.stateDir, mode: dir.tightenedFrom.toString(8).padStart(4, '0'), now: '0700' }, 'state directory was open to other users; tightened');
      }
      spool = openSpool({ dir: config.stateDir, maxItems: config.spool.maxItems, maxBytes: config.spool.maxBytes });
      const hostFs = createHostFs(config.hostRoot);
      reporter = createReporter({
        address: config.collector.address, insecure: config.collector.insecure, caFile: config.collector.caFile,
        certFile: config.collector.certFile, keyFile: config.collector.keyFile, serverName: config.collector.serverName,
        heartbeatMs: config.collector.heartbeatSeconds * 1000, backoffBaseMs: config.collector.backoffBaseMs,
        backoffMaxMs: config.collector.backoffMaxMs, window: 16, connectTimeoutMs: 5000,
      }, {
        spool, log: log.child({ component: 'reporter' }),
        hello: createHello({
          node: config.node, agentVersion: deps.version, hostFs, snapshot: () => last,
          baselines: () => (processes ? { baselineVersion: processes.baselineVersion, hostKey: processes.hostKey } : undefined),
        }),
        stats: agentStats,
        // The collector's word on baselines and pods goes to the process monitor.
        onConnected: () => baselineReports?.connected(),
        // An applied update's listens join the key's listen set (an update the baselines did not
        // apply, one at or below the version applied, brings nothing new).
        onBaselineUpdate: (u) => {
          if (processes?.applyBaselineUpdate(u) && u.listens.length > 0) {
            listens?.adopt(u.key, u.listens.slice(0, WIRE_LISTENS_PER_BASELINE));
            void listens?.save().catch((err: unknown) => log.error({ err: (err as Error).message, file: LISTENS_FILE }, 'cannot save listen baselines'));
          }
        },
        // Bounded and validated here: the addresses join the node's own in the next scan.
        onNodeAddresses: (ips, labels) => {
          nodeExternal = ips.filter((a) => typeof a === 'string' && a.length <= 64 && isIP(a) !== 0).slice(0, 16);
          nodeLabels = boundedNodeLabels(labels);
          log.info({ externalIps: nodeExternal, labels: Object.keys(nodeLabels).length }, "the Node object's ExternalIPs and labels");
        },
        onPodInventory: (inv) => {
          const r = pods?.apply(inv);
          if (r) log.info({ ...r }, 'pod inventory applied');
        },
        // A certificate the collector refuses (its CA replaced), or one the bundle no longer
        // vouches for, is enrolled again now, not at its renewal (and connected with at once:
        // the enroller's onEnrolled below).
        onProblem: (d) => {
          void enroller?.recover(d.problem).catch((err: unknown) => log.error({ err: (err as Error).message }, 'enrolling again failed'));
        },
        onHealthy: () => enroller?.connectionHeld(),
      });
      log.info({ node: config.node, epoch: spool.epoch, checks: scope.length, hostRoot: config.hostRoot }, 'agent starting');
      if (config.enroll.url && !config.collector.insecure) {
        // Before the reporter: its first connect then finds this node's certificate.
        enroller = createEnroller({
          url: config.enroll.url, tokenFile: config.enroll.tokenFile, caFile: config.collector.caFile,
          serverName: config.collector.serverName, certFile: config.collector.certFile, keyFile: config.collector.keyFile,
          node: config.node, renewAfterFraction: config.enroll.renewAfterFraction,
          retryBaseMs: config.collector.backoffBaseMs, retryMaxMs: config.collector.backoffMaxMs, timeoutMs: 10_000,
        }, { log: log.child({ component: 'enroll' }), clock: deps.clock, onEnrolled: () => reporter?.reconnectNow() });
        await enroller.start();
      }
      // The startup scan's facts, before the process monitor and the first connection: the host
      // role and the Hello's inventory are read from them. A collection that fails here is
      // logged, and the startup scan tries again.
      const firstAt = new Date();
      const firstStarted = performance.now();
      const first = await collect(firstAt).catch((err: unknown) => {
        log.error({ err: (err as Error).message }, 'collecting the startup facts failed');
        return null;
      });
      const firstMs = performance.now() - firstStarted;
      // Before connecting: the loaded baselines' version goes into the Hello.
      if (config.processes.enabled) {
        const p = config.processes;
        processes = createProcessMonitor({
          node: config.node, procRoot: config.procRoot, hostRoot: config.hostRoot, stateDir: config.stateDir,
          scanIntervalMs: p.scanIntervalSeconds * 1000, execEvents: p.execEvents, ebpf: p.ebpf, btfPath: p.btfPath,
          ringBytes: p.ebpfRingBytes, learnMs: p.learnSeconds * 1000,
          hostLearnMs: p.hostLearnSeconds * 1000, startupMs: p.startupSeconds * 1000, rateBurst: p.rateBurst,
          rateRefillMs: p.rateRefillSeconds * 1000, maxBaselines: p.maxBaselines, maxItemsPerBaseline: p.maxItemsPerBaseline,
          hostRole: p.hostRole, containerdState: p.containerdState, identity: p.identity, maxHashBytes: p.maxHashBytes,
        }, {
          spool, notify: () => reporter?.notify(), log: log.child({ component: 'processes' }),
          ...(first ? { roleFacts: () => Promise.resolve(first) } : {}),
        });
        await processes.start();
        const why = await listens?.load();
        if (why) log.warn({ file: LISTENS_FILE }, why);
        pods = createPodInventory(processes);
        const r = reporter;
        baselineReports = createBaselineReporter({ intervalMs: 1000 }, { source: processes, send: (msg) => r.send(msg), log: log.child({ component: 'baselines' }), listensOf: (key) => listens?.learned(key) ?? [] });
        baselineReports.start();
      }
      await reporter.start();
      if (config.watch.enabled) {
        watcher = createWatcher({
          node: config.node, hostRoot: config.hostRoot, benchmark: config.benchmark,
          debounceMs: config.watch.debounceMs, maxPaths: config.watch.maxPaths,
        }, { specs, lane, spool, collect, notify: () => reporter?.notify(), log: log.child({ component: 'watcher' }) });
        await watcher.start();
      }
      await health?.start();
      if (health) log.info({ port: health.port }, 'health endpoint listening');
      tick('startup', first ? { facts: first, now: firstAt, ms: firstMs } : undefined);
      // At debug, where the agent's memory goes, at start and once a minute (bench/agent-rss.ts
      // --agent-debug reads these lines): resident, V8's heap, and what Buffers hold outside it.
      if (log.isLevelEnabled('debug')) {
        const logMemory = (): void => {
          const spaces = Object.fromEntries(v8.getHeapSpaceStatistics().map((s) => [s.space_name, { size: s.space_size, used: s.space_used_size }]));
          const h = v8.getHeapStatistics();
          log.debug({ ...process.memoryUsage(), malloced: h.malloced_memory, peakMalloced: h.peak_malloced_memory, spaces }, 'memory');
        };
        logMemory();
        memoryTimer = setInterval(logMemory, MEMORY_LOG_MS);
        memoryTimer.unref();
      }
      if (config.scan.intervalSeconds > 0) {
        timer = setInterval(() => tick('periodic'), config.scan.intervalSeconds * 1000);
      }
    },
    /** Safe before start and twice: stop scanning, let the stream drain briefly, close the spool. */
    async stop(): Promise<void> {
      if (timer) clearInterval(timer);
      timer = undefined;
      if (memoryTimer) clearInterval(memoryTimer);
      memoryTimer = undefined;
      await watcher?.stop();
      watcher = undefined;
      await scanning;
      baselineReports?.stop();
      baselineReports = undefined;
      pods = undefined;
      await processes?.stop();
      processes = undefined;
      await reporter?.stop();
      reporter = undefined;
      await enroller?.stop();
      enroller = undefined;
      spool?.close();
      spool = undefined;
      await health?.stop();
    },
  };
}
