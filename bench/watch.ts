// Change-to-result latency of the file watcher: a host file changes (chmod of the kubelet
// config on a fixture tree), and the clock stops when the watch report reaches the spool.
// The baseline, measured by the same clock in the sense that matters, is the periodic scan:
// without the watcher a change waits for the next full scan, half an interval on average.
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CATALOG } from '../agent/checks/index.js';
import { collectFacts } from '../agent/facts/index.js';
import { openSpool } from '../agent/report/spool.js';
import { createScanLane } from '../agent/watch/scan-lane.js';
import { createWatcher } from '../agent/watch/watcher.js';
import { createLogger } from '../proto/support/logger.js';
import { prepareFixture } from '../test/helpers/fixture.js';

export interface WatchBenchOptions {
  readonly changes: number;
  readonly debounceMs: number;
}

export interface WatchBenchResult {
  /** Milliseconds from the chmod returning to the report being spooled, sorted. */
  readonly latenciesMs: readonly number[];
  /** Reports spooled (one per change when the changes are spaced beyond the debounce). */
  readonly reports: number;
}

export async function benchWatch(o: WatchBenchOptions): Promise<WatchBenchResult> {
  const fx = await prepareFixture('insecure-worker');
  const state = await mkdtemp(join(tmpdir(), 'nodeward-bench-watch-'));
  const spool = openSpool({ dir: state, maxItems: 100_000, maxBytes: 1 << 26 });
  let spooled = 0;
  let arrived: (() => void) | undefined;
  const watcher = createWatcher(
    { node: 'bench-node', hostRoot: fx.root, benchmark: 'cis-1.12', debounceMs: o.debounceMs, maxPaths: 1024 },
    {
      specs: CATALOG, collect: (now) => collectFacts({ hostRoot: fx.root, procRoot: fx.procRoot, now: () => now }), lane: createScanLane(), notify: () => undefined, log: createLogger('bench', 'silent'),
      spool: {
        addScan(report, full) {
          const seq = spool.addScan(report, full);
          spooled++;
          arrived?.();
          return seq;
        },
      },
    },
  );
  try {
    await watcher.update(await collectFacts({ hostRoot: fx.root, procRoot: fx.procRoot }));
    await watcher.start();
    const config = join(fx.root, 'var/lib/kubelet/config.yaml');
    const latencies: number[] = [];
    for (let i = 0; i < o.changes; i++) {
      const report = new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no watch report within 10 s for change ${i + 1}`)), 10_000);
        arrived = () => {
          clearTimeout(t);
          resolve();
        };
      });
      const t0 = performance.now();
      await chmod(config, i % 2 === 0 ? 0o600 : 0o644);
      await report;
      latencies.push(performance.now() - t0);
      arrived = undefined;
      // Let the watch set settle before the next change, as separate edits would be.
      await new Promise((r) => setTimeout(r, 20));
    }
    return { latenciesMs: latencies.sort((a, b) => a - b), reports: spooled };
  } finally {
    await watcher.stop();
    spool.close();
    await fx.cleanup();
    await rm(state, { recursive: true, force: true });
  }
}

export function formatWatchBench(r: WatchBenchResult, o: WatchBenchOptions, intervalSeconds: number): string {
  const at = (q: number): number => r.latenciesMs[Math.min(r.latenciesMs.length - 1, Math.ceil(q * r.latenciesMs.length) - 1)] ?? NaN;
  const p50 = at(0.5);
  const halfInterval = (intervalSeconds * 1000) / 2;
  return [
    `watch: change-to-result latency, ${r.latenciesMs.length} chmods of the kubelet config (debounce ${o.debounceMs} ms), ${r.reports} watch reports`,
    `  file change -> watch report in the spool: p50 ${p50.toFixed(0)} ms, p99 ${at(0.99).toFixed(0)} ms, max ${at(1).toFixed(0)} ms (target: under 1 s)`,
    `  periodic scan alone (baseline, scan.intervalSeconds ${intervalSeconds}): ${(halfInterval / 1000).toFixed(0)} s on average, up to ${intervalSeconds} s`,
    `  ratio watch p50 / periodic average: ${(p50 / halfInterval).toExponential(1)}`,
    '',
  ].join('\n');
}
