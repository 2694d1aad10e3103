// Exec capture, eBPF against the netlink process connector (the baseline), in the same run:
// the process monitor on one source at a time, periodic scan off, host baseline locked; a
// separate process runs a fresh executable that lives well under a millisecond (a static ELF
// that only exits, test/helpers/elf.ts) `runs` times at `execsPerSecond`, then again as a
// burst. Figures per source: the share of runs judged (that became occurrences of the
// finding: a run whose executable could not be read is lost to the judge), and the agent's
// CPU while the paced runs went on (this process, the monitor's own threads included; the
// runner is another process), as a share of one core. Needs Linux, root in the host's
// namespaces and the addons built; a source that cannot start says why.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createProcessMonitor, type ProcessMonitor } from '../agent/processes/monitor.js';
import type { ExecSourceKind } from '../agent/processes/exec-events.js';
import { hostKeyOf } from '../proto/baseline-key.js';
import { createLogger } from '../proto/support/logger.js';
import type { FindingBatch } from '../proto/load.js';
import { exitOnlyElf } from '../test/helpers/elf.js';

export interface ExecCaptureBenchOptions {
  readonly runs: number;
  readonly execsPerSecond: number;
}

export interface SourceFigures {
  readonly source: ExecSourceKind;
  /** Set when the source could not be started (then no figures). */
  readonly unavailable: string | null;
  readonly paced: { readonly judged: number; readonly seconds: number; readonly cpuShare: number } | null;
  readonly burst: { readonly judged: number; readonly seconds: number } | null;
  /** Lost before the judge: ring buffer full (eBPF), queue full, socket overruns (netlink). */
  readonly lost: number;
  /**
   * Files hashed while the paced runs went on (content checks on): versions never seen before,
   * which the bench's own executable is only once; the rest is whatever else ran on the machine.
   */
  readonly hashedWhilePaced: { readonly files: number; readonly bytes: number } | null;
}

export interface ExecCaptureBenchResult {
  readonly netlink: SourceFigures;
  readonly ebpf: SourceFigures;
  /** eBPF with content checks off (processes.identity: false): what hashing what ran costs. */
  readonly ebpfPathsOnly: SourceFigures;
}

const silent = createLogger('bench', 'silent');
const HOST = hostKeyOf('worker');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `bin` `runs` times from a separate Node.js process, each after the previous exited, `perSecond` (0: as fast as it goes). */
function runMany(bin: string, runs: number, perSecond: number): Promise<number> {
  const script = `
    const { spawnSync } = require('node:child_process');
    const [bin, runs, every] = process.argv.slice(1).map((x, i) => (i ? Number(x) : x));
    const t0 = performance.now();
    for (let i = 0; i < runs; i++) {
      const wait = t0 + i * every - performance.now();
      if (wait > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, wait);
      spawnSync(bin, [], { stdio: 'ignore' });
    }
    process.stdout.write(String((performance.now() - t0) / 1000));`;
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, ['-e', script, bin, String(runs), String(perSecond > 0 ? 1000 / perSecond : 0)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    c.once('error', reject);
    c.once('exit', () => resolve(Number(out)));
  });
}

async function startMonitor(dir: string, source: ExecSourceKind, occurrences: Map<string, number>, identity: boolean): Promise<ProcessMonitor> {
  const monitor = createProcessMonitor({
    node: 'bench', procRoot: '/proc', hostRoot: '/', stateDir: dir, scanIntervalMs: 0, execEvents: true, ebpf: source === 'ebpf', identity,
    learnMs: 3_600_000, hostLearnMs: 500, startupMs: 60_000, rateBurst: 1_000_000, rateRefillMs: 1, maxBaselines: 2048,
    maxItemsPerBaseline: 100_000, hostRole: 'worker', flushMs: 250,
  }, {
    log: silent,
    spool: {
      addBatch(batch: FindingBatch): number {
        for (const f of batch.findings ?? []) occurrences.set(f.subject ?? '', (occurrences.get(f.subject ?? '') ?? 0) + (f.occurrences ?? 1));
        return 1;
      },
    },
    notify: () => undefined,
  });
  await monitor.start();
  while (monitor.snapshot().baselines.find((b) => b.key === HOST)?.lockedAtMs == null) await sleep(50);
  // The start-up scan hashes every executable running (once per file version): a one-off cost,
  // left out of the steady-state figures.
  let hashed = -1;
  while (identity && monitor.stats().content.identity!.hashed !== hashed) {
    hashed = monitor.stats().content.identity!.hashed;
    await sleep(500);
  }
  return monitor;
}

async function settle(m: ProcessMonitor, occurrences: Map<string, number>, subject: string, runs: number): Promise<number> {
  let last = -1;
  for (let i = 0; i < 80; i++) {
    m.flush();
    const n = occurrences.get(subject) ?? 0;
    if (n >= runs || n === last) return n;
    last = n;
    await sleep(250);
  }
  return occurrences.get(subject) ?? 0;
}

async function measure(dir: string, source: ExecSourceKind, o: ExecCaptureBenchOptions, identity = true): Promise<SourceFigures> {
  const occurrences = new Map<string, number>();
  const name = identity ? source : `${source}-paths`;
  const m = await startMonitor(join(dir, `${name}-state`), source, occurrences, identity);
  try {
    const st = m.stats();
    if (st.source !== source) {
      return { source, unavailable: st.sourceReasons[source] ?? st.fallbackReason, paced: null, burst: null, lost: 0, hashedWhilePaced: null };
    }
    const paced = join(dir, `nw-${name}-paced`);
    const burst = join(dir, `nw-${name}-burst`);
    await writeFile(paced, exitOnlyElf(), { mode: 0o755 });
    await writeFile(burst, exitOnlyElf(), { mode: 0o755 });
    // A warm-up at the same rate first, so that compiling the judge's code paths is not
    // counted against whichever configuration runs first.
    const warm = join(dir, `nw-${name}-warm`);
    await writeFile(warm, exitOnlyElf(), { mode: 0o755 });
    await runMany(warm, Math.min(o.runs, 300), o.execsPerSecond);
    await settle(m, occurrences, `${HOST}:${warm}`, Math.min(o.runs, 300));
    const id0 = m.stats().content.identity;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const pacedSeconds = await runMany(paced, o.runs, o.execsPerSecond);
    const pacedJudged = await settle(m, occurrences, `${HOST}:${paced}`, o.runs);
    const cpu = process.cpuUsage(cpu0);
    const wallMs = performance.now() - t0;
    const id1 = m.stats().content.identity;
    const hashedWhilePaced = id0 && id1 ? { files: id1.hashed - id0.hashed, bytes: id1.bytesHashed - id0.bytesHashed } : null;
    const burstSeconds = await runMany(burst, o.runs, 0);
    const burstJudged = await settle(m, occurrences, `${HOST}:${burst}`, o.runs);
    const e = m.stats().exec;
    return {
      source, unavailable: null,
      paced: { judged: pacedJudged / o.runs, seconds: pacedSeconds, cpuShare: (cpu.user + cpu.system) / 1000 / wallMs },
      burst: { judged: burstJudged / o.runs, seconds: burstSeconds },
      lost: (e?.dropped ?? 0) + (e?.overruns ?? 0) + (e?.ringLost ?? 0), hashedWhilePaced,
    };
  } finally {
    await m.stop();
  }
}

export async function benchExecCapture(o: ExecCaptureBenchOptions): Promise<ExecCaptureBenchResult> {
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-bench-exec-'));
  try {
    const netlink = await measure(dir, 'netlink', o);
    const ebpf = await measure(dir, 'ebpf', o);
    const ebpfPathsOnly = await measure(dir, 'ebpf', o, false);
    return { netlink, ebpf, ebpfPathsOnly };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function formatExecCaptureBench(r: ExecCaptureBenchResult, o: ExecCaptureBenchOptions): string {
  const pct = (n: number): string => `${(n * 100).toFixed(1)}%`;
  const ratio = (a: number | undefined, b: number | undefined): string => (a !== undefined && b !== undefined && b > 0 ? (a / b).toFixed(2) : 'n/a');
  const row = (label: string, f: SourceFigures): string => (f.unavailable !== null
    ? `  ${label} unavailable here (${f.unavailable})`
    : `  ${label} judged ${pct(f.paced!.judged)} paced (${f.paced!.seconds.toFixed(1)} s), ${pct(f.burst!.judged)} of the burst (${f.burst!.seconds.toFixed(2)} s); `
      + `agent CPU ${pct(f.paced!.cpuShare)} of a core while paced; ${f.lost} lost before the judge`
      + (f.hashedWhilePaced ? `; hashed ${f.hashedWhilePaced.files} new file versions (${(f.hashedWhilePaced.bytes / 2 ** 20).toFixed(1)} MiB) while paced` : ''));
  return [
    `exec capture: ${o.runs} runs of a fresh sub-millisecond executable at ${o.execsPerSecond}/s, then ${o.runs} as fast as they go; share judged and agent CPU`,
    row('netlink (baseline):', r.netlink),
    row('eBPF:              ', r.ebpf),
    row('eBPF, paths only:  ', r.ebpfPathsOnly),
    `  ratio eBPF / netlink: judged paced ${ratio(r.ebpf.paced?.judged, r.netlink.paced?.judged)}, judged burst ${ratio(r.ebpf.burst?.judged, r.netlink.burst?.judged)}, `
      + `CPU ${ratio(r.ebpf.paced?.cpuShare, r.netlink.paced?.cpuShare)}`,
    `  ratio content checks on / off (eBPF, target within 1.5x): CPU ${ratio(r.ebpf.paced?.cpuShare, r.ebpfPathsOnly.paced?.cpuShare)}`,
    '',
  ].join('\n');
}
