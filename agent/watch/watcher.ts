// Drift in real time: the host files the checks read are watched, and a change re-evaluates
// just the checks that depend on it, without waiting for the periodic scan. The report goes
// to the spool like any other, with trigger `watch`, `full = false` and a scope of exactly the
// checks re-evaluated (so only their passes resolve findings).
//
//   scan or watch report -> update(facts) -> dependency index (pure) -> watch plan (disk dirs)
//   chokidar raw event -> host paths touched -> debounce -> affected specs
//   -> collect facts again -> evaluate those specs -> spool (trigger 'watch') -> update(facts)
//
// chokidar watches directories only (depth 0, every entry ignored), and the RAW events are
// used: chokidar's own `change` event drops a change that leaves the mtime alone when the
// file was read after its last write (its access-time test), which is exactly a chmod of a
// file the agent has just read. Raw events carry every inotify event, chmod included.
import { stat } from 'node:fs/promises';
import { watch as chokidarWatch, type FSWatcher } from 'chokidar';
import { isFindingStatus } from '../../proto/domain.js';
import type { Logger } from '../../proto/support/logger.js';
import type { ScanReport } from '../../proto/load.js';
import { dependencyIndex } from '../checks/dependencies.js';
import { evaluate } from '../checks/evaluate.js';
import { benchmarkFor, detectedBenchmark, judgeUnder } from '../checks/benchmarks/index.js';
import type { CheckSpec } from '../checks/spec.js';
import type { HostFacts } from '../facts/index.js';
import { createHostFs } from '../facts/host-fs.js';
import { scanToWire } from '../report/wire.js';
import type { ScanLane } from './scan-lane.js';
import { pathsTouched, planWatch, type WatchPlan } from './watch-plan.js';

export interface WatcherConfig {
  readonly node: string;
  /** Where the host's files are: only directories under it are watched. */
  readonly hostRoot: string;
  /** The agent's benchmark setting (`auto` or a name; agent/checks/benchmarks/index.ts benchmarkFor). */
  readonly benchmark: string;
  /** Quiet time after the last event before re-evaluating (a burst is one re-evaluation). */
  readonly debounceMs: number;
  /** Directories watched at most; paths beyond are left to the periodic scan. */
  readonly maxPaths: number;
}

export interface WatcherDeps {
  /** The checks this agent runs, in catalogue order. */
  readonly specs: readonly CheckSpec[];
  readonly log: Logger;
  /** Shared with the periodic scan, so reports reach the spool in the order facts were read. */
  readonly lane: ScanLane;
  readonly spool: { addScan(report: ScanReport, full: boolean): number };
  /** Tells the reporter there is something to send. */
  notify(): void;
  /** Reads the host exactly as the periodic scan does (same options), so results compare. */
  collect(now: Date): Promise<HostFacts>;
  readonly now?: () => Date;
}

export interface WatcherStats {
  /** Directories being watched. */
  readonly dirs: number;
  /** Host paths the checks depend on. */
  readonly paths: number;
  /** Host paths left unwatched by the bound. */
  readonly overflow: number;
  /** Raw events that touched a dependency. */
  readonly events: number;
  /** Watch reports spooled. */
  readonly reports: number;
  readonly errors: number;
}

export interface Watcher {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** New facts from any scan: recompute what is watched (paths change when flags change). */
  update(facts: HostFacts): Promise<void>;
  stats(): WatcherStats;
}

/** A directory whose watch is not in place by then is used anyway (and logged by chokidar's error, if any). */
const READY_TIMEOUT_MS = 5000;
const EMPTY_PLAN: WatchPlan = { dirs: [], entries: new Map(), anyEntry: new Map(), paths: 0, overflow: 0 };

export function createWatcher(config: WatcherConfig, deps: WatcherDeps): Watcher {
  const { log, specs } = deps;
  const clock = deps.now ?? (() => new Date());
  const hostFs = createHostFs(config.hostRoot);
  // Long bursts still get evaluated: at most this long after their first event.
  const maxWaitMs = Math.max(config.debounceMs * 10, 1000);

  let started = false;
  let stopped = false;
  let plan = EMPTY_PLAN;
  let index: ReadonlyMap<string, readonly string[]> = new Map();
  /** Watched directory -> its watch, and its inode when the watch was set (to notice a replaced directory). */
  const watched = new Map<string, { readonly fsw: FSWatcher; readonly ino: number }>();
  let latest: HostFacts | undefined;
  let queued: HostFacts | undefined;
  let updating: Promise<void> | undefined;
  let rescans: Promise<void> = Promise.resolve();
  let pending = new Set<string>();
  let firstEventAt = 0;
  let timer: NodeJS.Timeout | undefined;
  let lastOverflow = 0;
  const counts = { events: 0, reports: 0, errors: 0 };

  /** One chokidar watcher per directory: its `ready` says the watch is in place. */
  async function watchDir(dir: string, ino: number): Promise<void> {
    const fsw = chokidarWatch(dir, {
      persistent: true,
      ignoreInitial: true,
      followSymlinks: false,
      atomic: false,
      depth: 0,
      // The directory itself only: no watch per entry, never a walk into a subdirectory.
      ignored: (p: string) => p !== dir,
    });
    watched.set(dir, { fsw, ino });
    // Node may give no file name (some platforms, some events): then it is about the directory.
    fsw.on('raw', (_event, name: string | null) => onRaw(dir, name ?? ''));
    fsw.on('error', (err: unknown) => {
      counts.errors++;
      log.warn({ dir, err: (err as Error).message }, 'file watch error');
    });
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, READY_TIMEOUT_MS);
      fsw.once('ready', () => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  async function unwatchDir(dir: string): Promise<void> {
    const w = watched.get(dir);
    watched.delete(dir);
    await w?.fsw.close();
  }

  /** Watches what `next` asks for and nothing else; true when the watched set changed. */
  async function applyPlan(next: WatchPlan): Promise<boolean> {
    const keep = new Set(next.dirs);
    const gone = [...watched.keys()].filter((d) => !keep.has(d));
    const inodes = new Map<string, number>();
    for (const d of next.dirs) {
      const ino = await stat(d).then((s) => s.ino, () => -1);
      inodes.set(d, ino);
      // Watched before, but deleted and created again since: the old watch is dead.
      if (watched.has(d) && watched.get(d)?.ino !== ino) gone.push(d);
    }
    for (const d of gone) await unwatchDir(d);
    plan = next;
    const added = next.dirs.filter((d) => !watched.has(d));
    await Promise.all(added.map((d) => watchDir(d, inodes.get(d) ?? -1)));
    return gone.length > 0 || added.length > 0;
  }

  async function refresh(facts: HostFacts): Promise<void> {
    latest = facts;
    if (!started || stopped) return;
    const nextIndex = dependencyIndex(specs, facts);
    const next = await planWatch(hostFs, nextIndex.keys(), config.maxPaths);
    if (stopped) return;
    index = nextIndex;
    const changed = await applyPlan(next);
    if (next.overflow > 0 && next.overflow !== lastOverflow) {
      log.warn({ overflow: next.overflow, paths: next.paths, maxPaths: config.maxPaths }, 'watch bound reached: some paths wait for the periodic scan');
    }
    if (changed || next.overflow !== lastOverflow) {
      log.info({ dirs: next.dirs.length, paths: next.paths, overflow: next.overflow }, 'watching');
    }
    lastOverflow = next.overflow;
  }

  /** Newest facts first: updates that queue up while one runs collapse into the latest. */
  function update(facts: HostFacts): Promise<void> {
    queued = facts;
    updating ??= (async () => {
      while (queued !== undefined) {
        const next = queued;
        queued = undefined;
        await refresh(next).catch((err: unknown) => {
          counts.errors++;
          log.error({ err: (err as Error).message }, 'could not update the watched paths');
        });
      }
    })().finally(() => {
      updating = undefined;
    });
    return updating;
  }

  function onRaw(dir: string, name: string): void {
    if (stopped) return;
    const touched = pathsTouched(plan, dir, name);
    if (touched.size === 0) return;
    counts.events++;
    for (const p of touched) pending.add(p);
    const now = Date.now();
    if (timer === undefined) firstEventAt = now;
    clearTimeout(timer);
    const wait = Math.max(0, Math.min(config.debounceMs, firstEventAt + maxWaitMs - now));
    timer = setTimeout(fire, wait);
  }

  function fire(): void {
    timer = undefined;
    const changed = pending;
    pending = new Set();
    rescans = rescans.then(() => rescan(changed)).catch((err: unknown) => {
      counts.errors++;
      log.error({ err: (err as Error).message }, 'watch re-evaluation failed');
    });
  }

  async function rescan(changed: ReadonlySet<string>): Promise<void> {
    await deps.lane.run(async () => {
      if (stopped) return;
      // The index of the newest facts: a periodic scan may have run while this one queued.
      const ids = new Set<string>();
      for (const p of changed) for (const id of index.get(p) ?? []) ids.add(id);
      const affected = specs.filter((s) => ids.has(s.id));
      if (affected.length === 0) return;
      const now = clock();
      const t0 = performance.now();
      const facts = await deps.collect(now);
      const collectMs = Math.round((performance.now() - t0) * 10) / 10;
      // Judged under the benchmark the periodic scan uses for these facts, so results compare.
      const judging = judgeUnder(benchmarkFor(config.benchmark, detectedBenchmark(facts)), affected);
      const results = evaluate(facts, judging.specs, now).map(judging.relabel);
      const scope = affected.map((s) => s.id);
      const sequence = deps.spool.addScan(scanToWire({ node: config.node, scannedAt: now, benchmark: judging.benchmark.name, scope, results, trigger: 'watch' }), false);
      counts.reports++;
      const failing = results.filter((r) => isFindingStatus(r.status));
      log.info({ trigger: 'watch', sequence, changed: [...changed], scope, results: results.length, failing: failing.length, collectMs }, 'watch scan completed');
      log.debug({ sequence, failing: failing.map((r) => `${r.id} ${r.subject}`) }, 'failing results');
      deps.notify();
      await update(facts);
    });
  }

  return {
    async start(): Promise<void> {
      if (started || stopped) return;
      started = true;
      if (latest) await update(latest);
    },

    /** Safe before start and twice: no new re-evaluation starts; the one running finishes. */
    async stop(): Promise<void> {
      stopped = true;
      clearTimeout(timer);
      timer = undefined;
      pending = new Set();
      await rescans;
      await updating;
      plan = EMPTY_PLAN;
      await Promise.all([...watched.keys()].map(unwatchDir));
    },

    update,

    stats(): WatcherStats {
      return { dirs: watched.size, paths: plan.paths, overflow: plan.overflow, ...counts };
    },
  };
}
