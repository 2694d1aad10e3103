// Exec -> finding in the spool: how long an unexpected process takes from its exec to its
// proc-unexpected finding being committed in the agent's spool (a real one: SQLite,
// synchronous=FULL). The process monitor on the best exec source that starts here (eBPF, else
// netlink), periodic scan off, host baseline locked; a separate process runs `samples` fresh
// sub-millisecond executables (each its own finding), `perSecond`, and notes when it started
// each. Two monitors in the same run: findings sent as soon as they are judged (shipped), and
// the baseline, findings left to the periodic 250 ms flush (the behaviour before). Needs
// Linux, root in the host's namespaces and the addons built; otherwise it says why.
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createProcessMonitor } from '../agent/processes/monitor.js';
import { openSpool } from '../agent/report/spool.js';
import { hostKeyOf } from '../proto/baseline-key.js';
import { createLogger } from '../proto/support/logger.js';
import type { FindingBatch } from '../proto/load.js';
import { exitOnlyElf } from '../test/helpers/elf.js';

export interface ExecLatencyBenchOptions {
  readonly samples: number;
  readonly perSecond: number;
}

interface Figures { readonly p50: number; readonly p99: number; readonly arrived: number }

export interface ExecLatencyBenchResult {
  /** The exec source both runs used, or why none started. */
  readonly source: string;
  readonly unavailable: string | null;
  readonly atOnce: Figures | null;
  readonly onFlush: Figures | null;
  readonly flushMs: number;
}

const silent = createLogger('bench', 'silent');
const HOST = hostKeyOf('worker');
const FLUSH_MS = 250; // the monitor's default
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Milliseconds on the wall clock with sub-millisecond precision, comparable between processes. */
const wallNow = (): number => performance.timeOrigin + performance.now();

const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? Number.NaN;
};

/** Runs each of `bins` once, `perSecond`, from a separate Node.js process; resolves with when each started (wall ms). */
function runEach(bins: readonly string[], perSecond: number): Promise<number[]> {
  const script = `
    const { spawnSync } = require('node:child_process');
    const every = Number(process.argv[1]);
    const bins = process.argv.slice(2);
    const t0 = performance.now();
    const started = [];
    for (let i = 0; i < bins.length; i++) {
      const wait = t0 + i * every - performance.now();
      if (wait > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, wait);
      started.push(performance.timeOrigin + performance.now());
      spawnSync(bins[i], [], { stdio: 'ignore' });
    }
    process.stdout.write(JSON.stringify(started));`;
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, ['-e', script, String(1000 / perSecond), ...bins], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    c.once('error', reject);
    c.once('exit', () => resolve(JSON.parse(out) as number[]));
  });
}

async function measure(dir: string, name: string, sendAtOnce: boolean, o: ExecLatencyBenchOptions): Promise<{ source: string; reason: string; figures: Figures | null }> {
  const spool = openSpool({ dir: join(dir, `${name}-spool`), maxItems: 1_000_000, maxBytes: 1024 * 1024 * 1024 });
  const arrived = new Map<string, number>();
  const monitor = createProcessMonitor({
    node: 'bench', procRoot: '/proc', hostRoot: '/', stateDir: join(dir, `${name}-state`), scanIntervalMs: 0, execEvents: true,
    learnMs: 3_600_000, hostLearnMs: 500, startupMs: 60_000, rateBurst: 10, rateRefillMs: 180_000, maxBaselines: 2048,
    maxItemsPerBaseline: 100_000, hostRole: 'worker', flushMs: FLUSH_MS, sendAtOnce,
  }, {
    log: silent,
    spool: {
      addBatch(batch: FindingBatch): number {
        const seq = spool.addBatch(batch);
        const at = wallNow();
        for (const f of batch.findings ?? []) if (!arrived.has(f.subject ?? '')) arrived.set(f.subject ?? '', at);
        return seq;
      },
    },
    notify: () => undefined,
  });
  try {
    await monitor.start();
    const st = monitor.stats();
    if (st.source === 'scan') return { source: 'scan', reason: st.fallbackReason, figures: null };
    while (monitor.snapshot().baselines.find((b) => b.key === HOST)?.lockedAtMs == null) await sleep(50);
    const bins: string[] = [];
    for (let i = 0; i < o.samples; i++) {
      const bin = join(dir, `nw-lat-${name}-${i}`);
      await writeFile(bin, exitOnlyElf(), { mode: 0o755 });
      bins.push(bin);
    }
    const started = await runEach(bins, o.perSecond);
    await sleep(FLUSH_MS * 4);
    const lat: number[] = [];
    bins.forEach((bin, i) => {
      const t1 = arrived.get(`${HOST}:${bin}`);
      if (t1 !== undefined) lat.push(t1 - started[i]!);
    });
    return { source: st.source, reason: '', figures: { p50: quantile(lat, 0.5), p99: quantile(lat, 0.99), arrived: lat.length } };
  } finally {
    await monitor.stop();
    spool.close();
  }
}

export async function benchExecLatency(o: ExecLatencyBenchOptions): Promise<ExecLatencyBenchResult> {
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-bench-latency-'));
  await chmod(dir, 0o755);
  try {
    // The baseline first, so the shipped path does not run on a colder machine.
    const onFlush = await measure(dir, 'flush', false, o);
    if (!onFlush.figures) return { source: onFlush.source, unavailable: onFlush.reason, atOnce: null, onFlush: null, flushMs: FLUSH_MS };
    const atOnce = await measure(dir, 'once', true, o);
    return { source: atOnce.source, unavailable: null, atOnce: atOnce.figures, onFlush: onFlush.figures, flushMs: FLUSH_MS };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function formatExecLatencyBench(r: ExecLatencyBenchResult, o: ExecLatencyBenchOptions): string {
  const head = `exec -> finding in the spool: ${o.samples} fresh sub-millisecond executables at ${o.perSecond}/s, each its own finding; real spool (SQLite, synced)`;
  if (r.unavailable !== null || !r.atOnce || !r.onFlush) return [head, `  no exec events here (${r.unavailable ?? 'unknown'})`, ''].join('\n');
  const ms = (n: number): string => `${n.toFixed(1)} ms`;
  const row = (f: Figures): string => `p50 ${ms(f.p50)}, p99 ${ms(f.p99)} (${f.arrived} of ${o.samples} arrived)`;
  return [
    `${head}; source ${r.source}`,
    `  sent as soon as judged (shipped):         ${row(r.atOnce)}; target p99 < 100 ms`,
    `  on the ${r.flushMs} ms flush (before, baseline): ${row(r.onFlush)}`,
    `  ratio at once / flush: p50 ${(r.atOnce.p50 / r.onFlush.p50).toFixed(3)}, p99 ${(r.atOnce.p99 / r.onFlush.p99).toFixed(3)}`,
    '',
  ].join('\n');
}
