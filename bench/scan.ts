// The cost of one full scan (collect facts, evaluate every check, build the wire report) on a
// fixture host tree, next to the cost of starting one trivial child process measured in the
// same run: kube-bench starts a shell for every check it audits, so checks x spawn is what
// the same node costs it before any work is done. The same full scan is then timed on this
// machine's own /proc with `extraProcesses` idle children added (a busy node's process table:
// the facts phase reads every process's command line), so a fixture's few processes do not
// hide what a real node costs.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CATALOG, evaluate } from '../agent/checks/index.js';
import { collectFacts } from '../agent/facts/index.js';
import { scanToWire } from '../agent/report/wire.js';
import { FIXTURES_DIR, prepareFixture } from '../test/helpers/fixture.js';

const run = promisify(execFile);

export interface ScanBenchOptions {
  /** Fixture under test/fixtures/hostroot; falls back to `fallback` when it is not there. */
  readonly fixture: string;
  readonly fallback: string;
  readonly scans: number;
  readonly spawns: number;
  /** Idle children (`sleep`, no shell) started for the real-/proc scan, killed after it. */
  readonly extraProcesses: number;
  /** Full scans timed on the real /proc. */
  readonly realScans: number;
}

export interface Stats {
  readonly meanMs: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

export interface ScanBenchResult {
  readonly fixture: string;
  /** Set when the fixture asked for was missing and the fallback was used. */
  readonly note: string;
  readonly checks: number;
  readonly results: number;
  readonly scan: Stats;
  /** CPU time (all of this process's threads) per scan: less sensitive to a busy machine than wall time. */
  readonly scanCpuMs: number;
  /** collectFacts alone: what a watch re-evaluation pays before its few checks. */
  readonly collect: Stats;
  /** collectFacts on the same tree with this machine's own /proc: a real process table to walk. */
  readonly collectRealProc: (Stats & { readonly processes: number }) | null;
  /** The full scan (as `scan`) with this machine's /proc and `extraProcesses` more processes in it. */
  readonly scanRealProc: (Stats & { readonly processes: number; readonly cpuMs: number }) | null;
  readonly spawn: Stats;
}

export function stats(samples: readonly number[]): Stats {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? NaN;
  return { meanMs: sorted.reduce((a, b) => a + b, 0) / sorted.length, p50Ms: at(0.5), p99Ms: at(0.99) };
}

/** The options `npm run bench` gives this benchmark: `--quick` scans less, `--fixture NAME` picks the host tree (default: the kubeadm control plane). */
export function scanBenchOptions(argv: readonly string[]): ScanBenchOptions {
  const quick = argv.includes('--quick');
  const at = argv.indexOf('--fixture');
  const fixture = (at >= 0 ? argv[at + 1] : undefined) ?? 'kubeadm-cp';
  return { fixture, fallback: 'insecure-worker', scans: quick ? 50 : 200, spawns: quick ? 20 : 100, extraProcesses: 1000, realScans: quick ? 20 : 100 };
}

/** Starts `n` idle children (no shell) and waits until each has started. */
async function idleChildren(n: number): Promise<ChildProcess[]> {
  const children: ChildProcess[] = [];
  for (let i = 0; i < n; i++) {
    const c = spawn('sleep', ['600'], { stdio: 'ignore' });
    children.push(c);
    await new Promise<void>((resolve, reject) => {
      c.once('spawn', resolve);
      c.once('error', reject);
    });
  }
  return children;
}

const available = (name: string): boolean =>
  existsSync(join(FIXTURES_DIR, name)) && existsSync(join(FIXTURES_DIR, `${name}.modes.json`));

export async function benchScan(o: ScanBenchOptions): Promise<ScanBenchResult> {
  const fixture = available(o.fixture) ? o.fixture : o.fallback;
  const note = fixture === o.fixture ? '' : `fixture ${o.fixture} not found in ${FIXTURES_DIR}; measured ${o.fallback} instead`;
  const fx = await prepareFixture(fixture);
  try {
    const opts = { hostRoot: fx.root, procRoot: fx.procRoot };
    const once = async (procRoot = fx.procRoot): Promise<number> => {
      const now = new Date();
      const facts = await collectFacts({ ...opts, procRoot, now: () => now });
      const results = evaluate(facts, CATALOG, now);
      const wire = scanToWire({ node: 'bench-node', scannedAt: now, benchmark: 'cis-1.12', scope: CATALOG.map((s) => s.id), results, trigger: 'periodic' });
      return JSON.stringify(wire).length > 0 ? results.length : 0;
    };
    const time = async (n: number, fn: () => Promise<unknown>): Promise<number[]> => {
      const out: number[] = [];
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        await fn();
        out.push(performance.now() - t0);
      }
      return out;
    };
    // Warm-up: JIT, page cache, the first child process.
    await time(Math.min(20, o.scans), () => once());
    await time(5, () => run('/bin/true'));

    const results = await once();
    const cpu0 = process.cpuUsage();
    const scan = stats(await time(o.scans, () => once()));
    const cpu = process.cpuUsage(cpu0);
    const scanCpuMs = (cpu.user + cpu.system) / 1000 / o.scans;
    const collect = stats(await time(o.scans, () => collectFacts(opts)));
    const spawn = stats(await time(o.spawns, () => run('/bin/true')));
    let collectRealProc: ScanBenchResult['collectRealProc'] = null;
    if (existsSync('/proc/self/cmdline')) {
      const processes = readdirSync('/proc').filter((n) => /^[0-9]+$/.test(n)).length;
      collectRealProc = { ...stats(await time(Math.max(10, o.scans / 5), () => collectFacts({ hostRoot: fx.root, procRoot: '/proc' }))), processes };
    }
    let scanRealProc: ScanBenchResult['scanRealProc'] = null;
    if (existsSync('/proc/self/cmdline') && o.extraProcesses > 0) {
      const children = await idleChildren(o.extraProcesses);
      try {
        const processes = readdirSync('/proc').filter((n) => /^[0-9]+$/.test(n)).length;
        await time(3, () => once('/proc'));
        const cpu0 = process.cpuUsage();
        const samples = await time(o.realScans, () => once('/proc'));
        const cpu = process.cpuUsage(cpu0);
        scanRealProc = { ...stats(samples), processes, cpuMs: (cpu.user + cpu.system) / 1000 / o.realScans };
      } finally {
        for (const c of children) c.kill('SIGKILL');
      }
    }
    return { fixture, note, checks: CATALOG.length, results, scan, scanCpuMs, collect, collectRealProc, scanRealProc, spawn };
  } finally {
    await fx.cleanup();
  }
}

const ms = (n: number): string => (n < 10 ? n.toFixed(2) : n.toFixed(1));

export function formatScanBench(r: ScanBenchResult, scans: number): string {
  const kubeBench = r.checks * r.spawn.meanMs;
  return [
    `scan: full scan of fixture ${r.fixture} (${r.checks} checks, ${r.results} results), ${scans} scans${r.note ? `\n  note: ${r.note}` : ''}`,
    `  collect facts + evaluate + wire report: mean ${ms(r.scan.meanMs)} ms, p50 ${ms(r.scan.p50Ms)} ms, p99 ${ms(r.scan.p99Ms)} ms (target: well under 100 ms)`,
    `  CPU time per scan (user + system):      ${ms(r.scanCpuMs)} ms`,
    `  collect facts alone (separate runs):    mean ${ms(r.collect.meanMs)} ms, p99 ${ms(r.collect.p99Ms)} ms`,
    ...(r.collectRealProc ? [`  collect facts with this machine's /proc (${r.collectRealProc.processes} processes): mean ${ms(r.collectRealProc.meanMs)} ms, p99 ${ms(r.collectRealProc.p99Ms)} ms`] : []),
    ...(r.scanRealProc ? [
      `  full scan with this machine's /proc and idle children added (${r.scanRealProc.processes} processes): mean ${ms(r.scanRealProc.meanMs)} ms, p50 ${ms(r.scanRealProc.p50Ms)} ms, p99 ${ms(r.scanRealProc.p99Ms)} ms (target: p99 under 100 ms); CPU time per scan ${ms(r.scanRealProc.cpuMs)} ms`,
      `  ratio real /proc / fixture (p50): ${(r.scanRealProc.p50Ms / r.scan.p50Ms).toFixed(2)}`,
    ] : []),
    `  one child process, execFile /bin/true (baseline): mean ${ms(r.spawn.meanMs)} ms, p99 ${ms(r.spawn.p99Ms)} ms`,
    `  a shell per check, as kube-bench does: ${r.checks} x ${ms(r.spawn.meanMs)} ms = ${ms(kubeBench)} ms before any check runs`,
    `  ratio scan / (checks x spawn): ${(r.scan.meanMs / kubeBench).toFixed(3)}`,
    '',
  ].join('\n');
}
