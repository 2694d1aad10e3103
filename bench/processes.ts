// The process monitor's costs, each next to a baseline measured in the same run:
//   1. one scan of the process table with ~1,000 extra processes (sleeping children spawned
//      for the purpose): ps-list (the design's baseline) against reading /proc directly,
//      cold (every process read whole) and as the monitor's steady-state scan (pid, start
//      time and executable only for processes already judged);
//   2. the share of 5 ms processes, run at about 100 per second, that become findings when
//      the kernel's exec events are on against the 2 s scan alone (and 1 ms processes by
//      events, for the record);
// (Exec -> finding in the spool, p50 and p99 against the old flush: bench/exec-latency.ts.)
// Needs Linux and, for the event figures, root in the host's namespaces and the addon built
// (`npm run build:native`); without them those figures say why they are missing.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import psList from 'ps-list';
import { createProcReader } from '../agent/processes/proc-reader.js';
import { createProcessMonitor, type ProcessMonitor, type ProcessMonitorConfig } from '../agent/processes/monitor.js';
import { hostKeyOf } from '../proto/baseline-key.js';
import { createLogger } from '../proto/support/logger.js';
import type { FindingBatch } from '../proto/load.js';

export interface ProcessBenchOptions {
  /** Extra sleeping processes for the scan benchmark. */
  readonly processes: number;
  /** Timed rounds per scan method (the median is reported). */
  readonly rounds: number;
  /** Executions of the 5 ms process per coverage run. */
  readonly execs: number;
  readonly execsPerSecond: number;
}

export interface ProcessBenchResult {
  readonly tableSize: number;
  /** Median wall time and mean CPU time (this process plus waited-for children) per scan. */
  readonly psList: Timing;
  readonly procCold: Timing;
  readonly monitorWarm: Timing;
  readonly events: { readonly available: boolean; readonly reason: string; readonly source: string };
  readonly rateAchieved: number;
  readonly fiveMsByEvents: number | null;
  readonly fiveMsByScan: number;
  readonly oneMsByEvents: number | null;
  readonly flushMs: number;
}

const silent = createLogger('bench', 'silent');
const FLUSH_MS = 250; // the monitor's default

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** CPU ms of this process and of the children it waited for (ps-list's `ps` runs there). */
function cpuMs(): number {
  const u = process.cpuUsage();
  let children = 0;
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    children = (Number(f[13]) + Number(f[14])) * 10; // cutime + cstime, in 10 ms ticks
  } catch {
    // not Linux: children's CPU is not counted
  }
  return (u.user + u.system) / 1000 + children;
}

interface Timing { wall: number; cpu: number }

async function timeIt(fn: () => Promise<unknown> | unknown): Promise<Timing> {
  const t = performance.now();
  const c = cpuMs();
  await fn();
  return { wall: performance.now() - t, cpu: cpuMs() - c };
}

async function rounds(n: number, fn: () => Promise<unknown> | unknown): Promise<Timing> {
  const xs: Timing[] = [];
  for (let i = 0; i < n; i++) xs.push(await timeIt(fn));
  return { wall: median(xs.map((x) => x.wall)), cpu: xs.reduce((a, x) => a + x.cpu, 0) / n };
}

/** Spawns `n` sleeping processes in one process group; resolves once /proc shows them. */
async function spawnSleepers(n: number): Promise<ChildProcess> {
  const reader = createProcReader('/proc');
  const before = reader.listPids().length;
  const c = spawn('/bin/sh', ['-c', `i=0; while [ $i -lt ${n} ]; do sleep 300 & i=$((i+1)); done; wait`], { stdio: 'ignore', detached: true });
  const deadline = Date.now() + 60_000;
  while (reader.listPids().length < before + n && Date.now() < deadline) await sleep(100);
  return c;
}

function killGroup(c: ChildProcess): void {
  try {
    if (c.pid) process.kill(-c.pid, 'SIGKILL');
  } catch {
    // gone
  }
}

function monitorConfig(stateDir: string, over: Partial<ProcessMonitorConfig>): ProcessMonitorConfig {
  return {
    node: 'bench', procRoot: '/proc', hostRoot: '/', stateDir, scanIntervalMs: 0, execEvents: false, learnMs: 3_600_000,
    hostLearnMs: 500, startupMs: 60_000, rateBurst: 1_000_000, rateRefillMs: 1, maxBaselines: 2048, maxItemsPerBaseline: 100_000,
    // Pinned: this machine's role (other benches and tests run etcd here) must not move the key.
    hostRole: 'worker', flushMs: FLUSH_MS, ...over,
  };
}

const HOST = hostKeyOf('worker');

interface Harness {
  readonly monitor: ProcessMonitor;
  /** Occurrences per subject that reached the spool. */
  readonly occurrences: Map<string, number>;
}

async function startMonitor(dir: string, over: Partial<ProcessMonitorConfig>): Promise<Harness> {
  const occurrences = new Map<string, number>();
  const monitor = createProcessMonitor(monitorConfig(dir, over), {
    log: silent,
    spool: {
      addBatch(batch: FindingBatch): number {
        for (const f of batch.findings ?? []) {
          const s = f.subject ?? '';
          occurrences.set(s, (occurrences.get(s) ?? 0) + (f.occurrences ?? 1));
        }
        return 1;
      },
    },
    notify: () => undefined,
  });
  await monitor.start();
  // Learn the host for half a second, then everything new is unexpected.
  while (monitor.snapshot().baselines.find((b) => b.key === HOST)?.lockedAtMs == null) await sleep(50);
  return { monitor, occurrences };
}

/** Runs `bin args` `count` times at `perSecond` from a separate Node process; resolves with the rate achieved. */
function runPaced(bin: string, args: string[], count: number, perSecond: number): Promise<number> {
  const script = `
    const { spawn } = require('node:child_process');
    const [bin, count, every, ...args] = process.argv.slice(1);
    let started = 0, done = 0; const t0 = Date.now();
    const timer = setInterval(() => {
      if (started >= +count) { clearInterval(timer); return; }
      started++;
      spawn(bin, args, { stdio: 'ignore' }).on('exit', () => { if (++done === +count) { process.stdout.write(String(+count / ((Date.now() - t0) / 1000))); } });
    }, +every);`;
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, ['-e', script, bin, String(count), String(1000 / perSecond), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    c.once('error', reject);
    c.once('exit', () => resolve(Number(out)));
  });
}

async function copyBinary(dir: string, source: string, name: string): Promise<string> {
  const path = join(dir, name);
  await copyFile(source, path);
  await chmod(path, 0o755);
  return path;
}

export async function benchProcesses(o: ProcessBenchOptions): Promise<ProcessBenchResult> {
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-bench-processes-'));
  await chmod(dir, 0o755);
  const bins = join(dir, 'bin');
  await mkdir(bins, { mode: 0o755 });
  try {
    // 1. Scan cost.
    const sleepers = await spawnSleepers(o.processes);
    let tableSize = 0;
    let psListT: Timing;
    let procColdT: Timing;
    let monitorWarmT: Timing;
    try {
      tableSize = createProcReader('/proc').listPids().length;
      await psList();
      psListT = await rounds(o.rounds, () => psList());
      const cold = (): void => {
        const r = createProcReader('/proc');
        for (const pid of r.listPids()) r.read(pid);
      };
      cold();
      procColdT = await rounds(o.rounds, cold);
      const h = await startMonitor(join(dir, 'scan-state'), { hostLearnMs: 1 });
      monitorWarmT = await rounds(o.rounds, () => h.monitor.scanNow());
      await h.monitor.stop();
    } finally {
      killGroup(sleepers);
    }
    await sleep(500);

    // 2. Coverage of short-lived processes at ~100 execs/s.
    const nap = await copyBinary(bins, '/bin/sleep', 'nw-bench-nap');
    const blink = await copyBinary(bins, '/bin/true', 'nw-bench-blink');
    const probe = await startMonitor(join(dir, 'probe-state'), { execEvents: true });
    const available = probe.monitor.coverage === 'event';
    const reason = probe.monitor.stats().execEventsReason;
    const source = probe.monitor.stats().source;
    await probe.monitor.stop();

    let fiveMsByEvents: number | null = null;
    let oneMsByEvents: number | null = null;
    let rateAchieved = 0;
    if (available) {
      const h = await startMonitor(join(dir, 'events-state'), { execEvents: true });
      rateAchieved = await runPaced(nap, ['0.005'], o.execs, o.execsPerSecond);
      await runPaced(blink, [], o.execs, o.execsPerSecond);
      await sleep(FLUSH_MS * 3);
      h.monitor.flush();
      fiveMsByEvents = (h.occurrences.get(`${HOST}:${nap}`) ?? 0) / o.execs;
      oneMsByEvents = (h.occurrences.get(`${HOST}:${blink}`) ?? 0) / o.execs;
      await h.monitor.stop();
    }

    const s = await startMonitor(join(dir, 'scan-only-state'), { execEvents: false, scanIntervalMs: 2000 });
    const scanRate = await runPaced(nap, ['0.005'], o.execs, o.execsPerSecond);
    if (!rateAchieved) rateAchieved = scanRate;
    await sleep(2500);
    s.monitor.flush();
    const fiveMsByScan = (s.occurrences.get(`${HOST}:${nap}`) ?? 0) / o.execs;
    await s.monitor.stop();

    return {
      tableSize, psList: psListT, procCold: procColdT, monitorWarm: monitorWarmT, events: { available, reason, source }, rateAchieved,
      fiveMsByEvents, fiveMsByScan, oneMsByEvents, flushMs: FLUSH_MS,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function formatProcessesBench(r: ProcessBenchResult, o: ProcessBenchOptions): string {
  const ms = (n: number): string => `${n.toFixed(1)} ms`;
  const pct = (n: number | null): string => (n === null ? 'n/a' : `${(n * 100).toFixed(1)}%`);
  const t = (x: Timing): string => `${ms(x.wall)} / ${ms(x.cpu)} CPU`;
  const ratio = (a: number, b: number): string => (b > 0 ? (a / b).toFixed(2) : 'n/a');
  const lines = [
    `processes: one scan of ${r.tableSize} processes (${o.processes} sleeping children added), ${o.rounds} rounds: median wall / mean CPU`,
    `  ps-list (spawns procps ps; baseline):            ${t(r.psList)}`,
    `  /proc read directly, every process read whole:   ${t(r.procCold)}   ratio ps-list / this: wall ${ratio(r.psList.wall, r.procCold.wall)}, CPU ${ratio(r.psList.cpu, r.procCold.cpu)}`,
    `  the monitor's steady-state scan (judged once):   ${t(r.monitorWarm)}   ratio ps-list / this: wall ${ratio(r.psList.wall, r.monitorWarm.wall)}, CPU ${ratio(r.psList.cpu, r.monitorWarm.cpu)}`,
    `processes: ${o.execs} runs of a 5 ms process at ${r.rateAchieved.toFixed(0)}/s (target ${o.execsPerSecond}/s), share that became findings`,
  ];
  if (r.events.available) {
    lines.push(`  exec events (${r.events.source}, periodic scan off):${' '.repeat(Math.max(1, 16 - r.events.source.length))}${pct(r.fiveMsByEvents)}`);
  } else {
    lines.push(`  exec events: unavailable here (${r.events.reason})`);
  }
  lines.push(`  the 2 s scan alone (baseline):                   ${pct(r.fiveMsByScan)}`);
  if (r.events.available) {
    lines.push(`  (a copied /bin/true, alive well under 1 ms, by exec events: ${pct(r.oneMsByEvents)}${r.events.source === 'netlink' ? '; the rest raced and are counted as partial' : ''}; eBPF against netlink: "exec capture" below)`);
  }
  lines.push('  (agent RSS after 10 minutes of churn: "agent RSS under churn" below, bench/agent-rss.ts)', '');
  return lines.join('\n');
}
