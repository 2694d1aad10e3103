// The agent's resident memory under process churn, next to an idle Node.js process measured
// in the same run. The agent runs as production runs it: its own OS process started through
// bin/nodeward, exec events and the process monitor on, streaming over mTLS to a real
// collector (in this process). Once its first full scan is done and the host baseline has
// locked, a separate process runs short-lived processes at a steady rate: fresh copies of a
// system binary (each a new executable, so a finding), a few repeated copies (findings that
// collapse and hit the rate limit) and the binary the baseline learned (no finding). The
// agent's /proc/<pid>/status is sampled throughout; the slope over the second half says
// whether memory is flat or growing. Needs Linux (/proc); exec events need root.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initPki } from '../collector/pki/pki.js';
import { loadCollectorConfig } from '../collector/config.js';
import { createCollector, type Collector } from '../collector/main.js';
import { createLogger } from '../proto/support/logger.js';

export interface AgentRssBenchOptions {
  /** How long the churn runs (the agent's memory is sampled throughout). */
  readonly durationMs: number;
  readonly sampleMs: number;
  readonly execsPerSecond: number;
  /** Every n-th exec runs a fresh copy of the binary (a new executable: a finding). */
  readonly freshEvery: number;
  /** Distinct copies that run again and again (findings that collapse and are rate limited). */
  readonly repeated: number;
  /** The agent's runtime settings (agent/runtime-env.ts), or none: this process's own are not passed on. */
  readonly env: Readonly<Record<string, string>>;
  /** Node.js options for the agent's command line (V8 flags NODE_OPTIONS does not take), for comparisons. */
  readonly nodeArgs: readonly string[];
  /** The agent's full (CIS) scan period. */
  readonly scanIntervalSeconds: number;
  /** `debug` makes the agent log its V8 heap once a minute (and every judged process, which costs a little). */
  readonly logLevel: 'info' | 'debug';
  /** The eBPF ring buffer's size for a comparison (`--agent-ring-bytes=`), or the agent's default. */
  readonly ringBytes?: number;
  /** Keep the agent's directory (`--agent-keep-dir`): its log holds the debug memory lines. */
  readonly keepDir?: boolean;
}

/** Bytes, from /proc/<pid>/status. */
export interface MemorySample {
  readonly atMs: number;
  readonly rss: number;
  readonly anon: number;
  readonly file: number;
  readonly hwm: number;
}

/** The agent's process.memoryUsage(), bytes, from its debug log (once a minute). */
export interface HeapSample {
  readonly atMs: number;
  readonly rss: number;
  readonly heapTotal: number;
  readonly heapUsed: number;
  readonly external: number;
  readonly arrayBuffers: number;
}

/** Resident KiB of the agent's mappings by kind, from /proc/<pid>/smaps. */
export interface MappingSplit {
  /** The Node.js executable's own pages (file-backed, shared with every Node.js process). */
  readonly node: number;
  /** Anonymous: V8's heap pages, malloc's arenas, thread stacks. */
  readonly anon: number;
  /** BPF maps mapped into the process: the exec ring buffer, whose data pages are mapped twice (so counted twice). */
  readonly bpf: number;
  /** Every other file: shared libraries, native addons, SQLite's shared memory. */
  readonly otherFiles: number;
}

export interface AgentRssBenchResult {
  readonly samples: readonly MemorySample[];
  readonly heap: readonly HeapSample[];
  /** At the start of the churn and at its end. */
  readonly mappings: { readonly start: MappingSplit; readonly end: MappingSplit };
  readonly idle: readonly MemorySample[];
  readonly churn: { readonly started: number; readonly fresh: number; readonly repeated: number; readonly known: number; readonly seconds: number };
  readonly execEvents: boolean;
  /** At the collector, from this node: open proc-unexpected findings and their occurrences. */
  readonly findings: { readonly fresh: number; readonly repeated: number; readonly repeatedOccurrences: number; readonly other: number };
  readonly fullScans: number;
  /** The agent's CPU time during the churn, in seconds. */
  readonly cpuSeconds: number;
}

const NODE = 'bench-rss';
const BIN = fileURLToPath(new URL('../../bin/nodeward', import.meta.url));
/** Host learning window: long enough for the first full scan and the learned binary's run. */
const HOST_LEARN_SECONDS = 30;
const MiB = 1024 * 1024;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
};

function readStatus(pid: number, startMs: number): MemorySample {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? Number.NaN) * 1024;
  return { atMs: Date.now() - startMs, rss: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile'), hwm: kb('VmHWM') };
}

function mappingsOf(pid: number): MappingSplit {
  const split = { node: 0, anon: 0, bpf: 0, otherFiles: 0 };
  let kind: keyof MappingSplit = 'anon';
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      const name = head[1] ?? '';
      kind = name === '' || name.startsWith('[') ? 'anon' : name === process.execPath ? 'node' : name.startsWith('anon_inode:bpf') ? 'bpf' : 'otherFiles';
    } else if (line.startsWith('Rss:')) {
      split[kind] += Number(line.split(/\s+/)[1]);
    }
  }
  return split;
}

/** The "memory" lines of the agent's debug log, timed from `t0`. */
function heapSamplesOf(logText: string, t0: number): HeapSample[] {
  const out: HeapSample[] = [];
  for (const line of logText.split('\n')) {
    if (!line.includes('"msg":"memory"')) continue;
    const m = JSON.parse(line) as { time: string } & Omit<HeapSample, 'atMs'>;
    if (Date.parse(m.time) < t0) continue;
    out.push({ atMs: Date.parse(m.time) - t0, rss: m.rss, heapTotal: m.heapTotal, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers });
  }
  return out;
}

/** User plus system CPU seconds of a process (clock ticks: 100 per second on Linux). */
function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

/** Least-squares slope of RSS in MiB per minute. */
function slopeMiBPerMinute(samples: readonly MemorySample[]): number {
  const n = samples.length;
  if (n < 2) return Number.NaN;
  const xs = samples.map((s) => s.atMs / 60_000);
  const ys = samples.map((s) => s.rss / MiB);
  const mx = xs.reduce((a, x) => a + x, 0) / n;
  const my = ys.reduce((a, y) => a + y, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den > 0 ? num / den : Number.NaN;
}

// The churn, in its own Node.js process so the spawning does not share an event loop with
// the collector. Keeps the average rate by catching up after a late timer; deletes fresh
// copies a while after they ran, so the disk use stays small.
const CHURN = `
  const { spawn } = require('node:child_process');
  const { copyFileSync, chmodSync, rmSync } = require('node:fs');
  const [dir, src, durationMs, perSecond, freshEvery, repeated] = process.argv.slice(1).map((a, i) => (i < 2 ? a : Number(a)));
  const copy = (name) => { const p = dir + '/' + name; copyFileSync(src, p); chmodSync(p, 0o755); return p; };
  const repeats = Array.from({ length: repeated }, (_, k) => copy('repeat-' + k));
  const counts = { started: 0, fresh: 0, repeated: 0, known: 0, seconds: 0 };
  const ran = [];
  let running = 0;
  const t0 = Date.now();
  const run = (bin, done) => {
    running++;
    const c = spawn(bin, ['0.005'], { stdio: 'ignore' });
    c.on('error', () => undefined);
    c.on('close', () => { running--; if (done) done(); });
  };
  const timer = setInterval(() => {
    const elapsed = Date.now() - t0;
    if (elapsed >= durationMs) {
      clearInterval(timer);
      counts.seconds = elapsed / 1000;
      const end = setInterval(() => {
        if (running > 0) return;
        clearInterval(end);
        for (const p of ran) rmSync(p, { force: true });
        process.stdout.write(JSON.stringify(counts));
      }, 50);
      return;
    }
    const due = Math.min(Math.floor((elapsed * perSecond) / 1000), counts.started + 20);
    while (counts.started < due) {
      const i = counts.started++;
      if (i % freshEvery === 0) {
        counts.fresh++;
        const p = copy('fresh-' + i);
        run(p, () => { ran.push(p); if (ran.length > 200) rmSync(ran.shift(), { force: true }); });
      } else if (i % 2 === 1) {
        counts.repeated++;
        run(repeats[(i >> 1) % repeats.length]);
      } else {
        counts.known++;
        run(src);
      }
    }
  }, 5);`;

function runChurn(dir: string, src: string, o: AgentRssBenchOptions): Promise<AgentRssBenchResult['churn']> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, ['-e', CHURN, dir, src, String(o.durationMs), String(o.execsPerSecond), String(o.freshEvery), String(o.repeated)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    c.once('error', reject);
    c.once('exit', (code) => {
      try {
        resolve(JSON.parse(out) as AgentRssBenchResult['churn']);
      } catch {
        reject(new Error(`the churn process exited (${code}) without its counts`));
      }
    });
  });
}

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs: number, agent: ChildProcess, log: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    const exited = agent.exitCode ?? agent.signalCode;
    if (exited !== null || Date.now() > deadline) {
      const tail = (await readFile(log, 'utf8').catch(() => '')).split('\n').slice(-10).join('\n');
      throw new Error(`agent-rss bench: ${exited !== null ? `the agent exited (${exited})` : 'timed out'} waiting for ${what}; its log ends:\n${tail}`);
    }
    await sleep(200);
  }
}

function stopChild(c: ChildProcess, graceMs: number): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => c.kill('SIGKILL'), graceMs);
    c.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    c.kill('SIGTERM');
  });
}

export async function benchAgentRss(o: AgentRssBenchOptions): Promise<AgentRssBenchResult> {
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-bench-rss-'));
  await chmod(dir, 0o755);
  const bins = join(dir, 'bin');
  const children: ChildProcess[] = [];
  let collector: Collector | undefined;
  let logFd: number | undefined;
  try {
    await mkdir(bins, { mode: 0o755 });
    const pki = await initPki(join(dir, 'pki'), { nodes: [NODE], collectorHosts: ['localhost'] });
    const collectorFile = join(dir, 'collector.yaml');
    await writeFile(collectorFile, JSON.stringify({
      dataDir: join(dir, 'collector'),
      grpc: { listen: '127.0.0.1:0', caFile: pki.caCert, certFile: pki.collectorCert, keyFile: pki.collectorKey },
      api: { listen: '127.0.0.1:0' },
    }));
    collector = createCollector(loadCollectorConfig({ file: collectorFile, env: {} }), { log: createLogger('bench', 'silent') });
    await collector.start();
    const agentFile = join(dir, 'agent.yaml');
    await writeFile(agentFile, JSON.stringify({
      node: NODE, hostRoot: '/', procRoot: '/proc', stateDir: join(dir, 'agent-state'),
      collector: { address: `localhost:${collector.grpcPort}`, caFile: pki.caCert, certFile: pki.agents[NODE]!.cert, keyFile: pki.agents[NODE]!.key },
      scan: { intervalSeconds: o.scanIntervalSeconds },
      processes: { hostLearnSeconds: HOST_LEARN_SECONDS, ...(o.ringBytes === undefined ? {} : { ebpfRingBytes: o.ringBytes }) },
      health: { port: 0 },
      log: { level: o.logLevel },
    }));
    const log = join(dir, 'agent.log');
    logFd = openSync(log, 'a');
    // No NODEWARD_* overrides, NODE_OPTIONS or malloc tunables from this shell: only o.env.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(NODEWARD_|NODE_OPTIONS$|MALLOC_|GLIBC_TUNABLES$)/.test(k)));
    const idle = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore', env });
    const agent = spawn(process.execPath, [...o.nodeArgs, BIN, 'agent', '--config', agentFile], {
      stdio: ['ignore', logFd, logFd], env: { ...env, ...o.env },
    });
    children.push(idle, agent);
    const logText = (): Promise<string> => readFile(log, 'utf8');
    await until('its first full scan', async () => /"trigger":"startup"[^\n]*"msg":"scan completed"/.test(await logText()), 180_000, agent, log);
    // Learned while the host baseline learns: the binary the churn runs as "known". It lives
    // 3 s so that the 2 s process scan sees it where exec events are unavailable.
    const src = '/bin/sleep';
    await new Promise((r) => spawn(src, ['3'], { stdio: 'ignore' }).once('exit', r));
    // The agent logs the lock of its host baseline (`host`, or `host/<role>`).
    await until('the host baseline to lock', async () => /"baseline":"host[^"]*","msg":"baseline locked/.test(await logText()), (HOST_LEARN_SECONDS + 60) * 1000, agent, log);
    const execEvents = (await logText()).includes('"msg":"exec events on');

    const t0 = Date.now();
    const cpu0 = cpuSecondsOf(agent.pid!);
    const samples: MemorySample[] = [readStatus(agent.pid!, t0)];
    const mappingsAtStart = mappingsOf(agent.pid!);
    const idleSamples: MemorySample[] = [readStatus(idle.pid!, t0)];
    const sampler = setInterval(() => {
      try {
        samples.push(readStatus(agent.pid!, t0));
        idleSamples.push(readStatus(idle.pid!, t0));
      } catch {
        // the agent exited: reported after the churn
      }
    }, o.sampleMs);
    let churn: AgentRssBenchResult['churn'];
    try {
      churn = await runChurn(bins, src, o);
    } finally {
      clearInterval(sampler);
    }
    if ((agent.exitCode ?? agent.signalCode) !== null) throw new Error(`agent-rss bench: the agent exited (${agent.exitCode ?? agent.signalCode}) during the churn`);
    samples.push(readStatus(agent.pid!, t0));
    idleSamples.push(readStatus(idle.pid!, t0));
    const mappings = { start: mappingsAtStart, end: mappingsOf(agent.pid!) };
    const cpuSeconds = cpuSecondsOf(agent.pid!) - cpu0;

    // What the churn became at the collector, once the last findings had time to arrive.
    await sleep(3000);
    const rows = (await collector.store?.processes.unexpected({ state: 'open', node: NODE }, 1_000_000, 0))?.items ?? [];
    const ours = (prefix: string) => rows.filter((r) => r.executable.startsWith(join(bins, prefix)));
    const fullScans = ((await logText()).match(/"msg":"scan completed"/g) ?? []).length;
    return {
      samples, heap: heapSamplesOf(await logText(), t0), mappings, idle: idleSamples, churn, execEvents, fullScans, cpuSeconds,
      findings: {
        fresh: ours('fresh-').length, repeated: ours('repeat-').length,
        repeatedOccurrences: ours('repeat-').reduce((a, r) => a + r.count, 0),
        other: rows.length - ours('fresh-').length - ours('repeat-').length,
      },
    };
  } finally {
    await Promise.all(children.map((c) => stopChild(c, 30_000)));
    if (logFd !== undefined) closeSync(logFd);
    await collector?.stop();
    if (o.keepDir) process.stderr.write(`the agent's directory (its log, state and configuration) is kept: ${dir}\n`);
    else await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The options `npm run bench` passes: one minute of churn by default, ten with `--soak`
 * (`--agent-bare-env`: without the image's runtime environment, for comparison;
 * `--agent-debug`: the agent logs at debug, which adds its V8 heap figures;
 * `--agent-node-args='--jitless ...'`: Node.js options on the agent's command line).
 */
/**
 * The agent as its image starts it (its environment and Node.js options: agent/runtime-env.ts)
 * unless `--agent-bare-env`; `--agent-node-args=` adds options after them (a later one wins).
 */
export function agentRssOptions(argv: readonly string[], runtime: { env: Readonly<Record<string, string>>; nodeArgs: readonly string[] }): AgentRssBenchOptions {
  const m = argv.find((a) => a.startsWith('--agent-minutes='));
  const minutes = argv.includes('--soak') ? 10 : m === undefined ? 1 : Number(m.slice('--agent-minutes='.length));
  if (!(minutes > 0 && minutes <= 60)) throw new Error(`${m}: minutes of churn, 1 to 60, are expected`);
  const bare = argv.includes('--agent-bare-env');
  return {
    durationMs: minutes * 60_000, sampleMs: 10_000, execsPerSecond: 100, freshEvery: 20, repeated: 16, scanIntervalSeconds: 60,
    env: bare ? {} : runtime.env, logLevel: argv.includes('--agent-debug') ? 'debug' : 'info',
    nodeArgs: [...(bare ? [] : runtime.nodeArgs), ...argv.filter((a) => a.startsWith('--agent-node-args=')).flatMap((a) => a.slice('--agent-node-args='.length).split(' ').filter(Boolean))],
    ...ring(argv.find((a) => a.startsWith('--agent-ring-bytes='))),
    keepDir: argv.includes('--agent-keep-dir'),
  };
}

function ring(arg: string | undefined): { ringBytes?: number } {
  if (arg === undefined) return {};
  const n = Number(arg.slice('--agent-ring-bytes='.length));
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${arg}: a size in bytes (a power of two) is expected`);
  return { ringBytes: n };
}

/** The last sample taken at or before `atMs` (the sampler's ticks drift by a few ms). */
function sampleAt(samples: readonly MemorySample[], atMs: number): MemorySample | undefined {
  return samples.filter((s) => s.atMs <= atMs + 1000).at(-1);
}

export function formatAgentRssBench(r: AgentRssBenchResult, o: AgentRssBenchOptions): string {
  const mib = (b: number): string => (b / MiB).toFixed(1);
  const first = r.samples[0]!;
  const last = r.samples.at(-1)!;
  const secondHalf = r.samples.filter((s) => s.atMs >= o.durationMs / 2);
  const slope = slopeMiBPerMinute(secondHalf);
  const idle = median(r.idle.map((s) => s.rss));
  const rss = median(r.samples.map((s) => s.rss));
  const line = (name: string, pick: (s: MemorySample) => number): string => {
    const xs = r.samples.map(pick);
    return `  ${name.padEnd(8)} start ${mib(pick(first))}, median ${mib(median(xs))}, max ${mib(Math.max(...xs))}, end ${mib(pick(last))} MiB`;
  };
  const c = r.churn;
  const n = (x: number): string => x.toLocaleString('en-US');
  return [
    `agent RSS under churn: ${(c.seconds / 60).toFixed(1)} min at ${(c.started / c.seconds).toFixed(0)} execs/s (target ${o.execsPerSecond}/s; ${n(c.started)} execs: ${n(c.fresh)} fresh executables, ${n(c.repeated)} runs of ${o.repeated} repeated ones, ${n(c.known)} of a learned one)`,
    `  agent: log level ${o.logLevel}, exec events ${r.execEvents ? 'on' : 'unavailable (scan only)'}, full scan every ${o.scanIntervalSeconds} s (${r.fullScans} done), environment ${Object.keys(o.env).length > 0 ? Object.entries(o.env).map(([k, v]) => `${k}=${v}`).join(' ') : '(nothing set)'}${o.nodeArgs.length > 0 ? `, node ${o.nodeArgs.join(' ')}` : ''}${o.ringBytes === undefined ? '' : `, eBPF ring ${o.ringBytes} bytes`}; sampled every ${o.sampleMs / 1000} s from the start of the churn (after the first full scan and the host baseline's lock)`,
    `  VmRSS at the start of the churn ${mib(first.rss)}, ${[1, 5, 10].filter((m) => m * 60_000 <= o.durationMs).map((m) => `${m} min ${mib(sampleAt(r.samples, m * 60_000)?.rss ?? Number.NaN)}`).join(', ')} MiB (idle Node.js ${mib(idle)} MiB)`,
    `  VmRSS each minute: ${Array.from({ length: Math.floor(o.durationMs / 60_000) + 1 }, (_, m) => mib(sampleAt(r.samples, m * 60_000)?.rss ?? Number.NaN)).join(' ')} MiB`,
    line('VmRSS', (s) => s.rss),
    line('RssAnon', (s) => s.anon),
    line('RssFile', (s) => s.file),
    ...(['start', 'end'] as const).map((at) => {
      const m = r.mappings[at];
      return `  mappings at the ${at.padEnd(5)}: Node.js executable ${mib(m.node * 1024)}, anonymous ${mib(m.anon * 1024)}, BPF maps ${mib(m.bpf * 1024)} (the ring's data mapped twice), other files ${mib(m.otherFiles * 1024)} MiB`;
    }),
    ...(r.heap.length === 0 ? [] : [`  V8 (debug log, once a minute): ${[r.heap[0]!, r.heap.at(-1)!].map((h) => `at ${(h.atMs / 60_000).toFixed(1)} min heap used ${mib(h.heapUsed)} of ${mib(h.heapTotal)}, external ${mib(h.external)} (array buffers ${mib(h.arrayBuffers)}) MiB`).join('; ')}`]),
    `  peak (VmHWM) ${mib(last.hwm)} MiB; slope over the second half ${slope >= 0 ? '+' : ''}${slope.toFixed(2)} MiB/min`,
    `  agent CPU during the churn: ${r.cpuSeconds.toFixed(1)} s, ${((100 * r.cpuSeconds) / c.seconds).toFixed(1)}% of one core`,
    `  idle Node.js process (setInterval only; baseline): ${mib(idle)} MiB; ratio agent / idle: ${(rss / idle).toFixed(2)} (median), ${(last.rss / idle).toFixed(2)} (end)`,
    `  at the collector: ${n(r.findings.fresh)} findings for the ${n(c.fresh)} fresh executables; ${n(r.findings.repeated)} for the repeated ones, counting ${n(r.findings.repeatedOccurrences)} of their ${n(c.repeated)} runs (the rest wait for the rate limit); ${n(r.findings.other)} others on this host`,
    '  (target: under 80 MiB after 10 minutes (`--soak`), and flat)',
    '',
  ].join('\n');
}
