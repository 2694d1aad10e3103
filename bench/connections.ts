// Connections against a collector running as its own process (bin/nodeward collector), its
// resident memory read from /proc/<pid>/status. The baseline, measured in the same run, is
// the same collector idle before anything connects.
//
// 1. Half-open TLS: many sockets send the first 11 bytes of a ClientHello and go silent.
//    (a) caps raised so that all are admitted: the handshake deadline alone must close
//        them all and bring RSS back near its start; (b) the default caps: how many are
//        refused at once, and what the admitted ones cost; (c) the same with a whole
//        ClientHello sent (TLS state exists for each: the caps are what bound it).
//    What stays after a wave is not held by anything: in (a) it is JS garbage the next major
//    GC takes (later waves' RSS falls back); in (c) glibc keeps the freed OpenSSL memory for
//    reuse (malloc_trim(0), called from a debugger in a trial, returned it all).
// 2. A fleet: agents, each with its own certificate, connection and stream, send a hello,
//    heartbeats and one finding batch each; every ack is counted and timed (write to ack).
//    Agents here all come from 127.0.0.1 (grpc-js cannot choose a source address), so this
//    collector runs with the per-source cap off, as behind one NAT address.
//
// Loopback only; counts and durations are bounded by the options. Needs Linux (/proc).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Duplex } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { initPki, type PkiPaths } from '../collector/pki/pki.js';
import { CollectorConfigSchema } from '../collector/config.js';
import { nodewardProto, type CollectorMessage__Output, type FindingBatch } from '../proto/load.js';
import { halfOpenTls, rawPeer, type RawPeer } from '../test/helpers/sockets.js';

export interface ConnectionsBenchOptions {
  /** Half-open TLS connections opened at once. */
  readonly halfOpen: number;
  /** Source addresses they come from (127.0.1.x, 127.0.2.x, ...). */
  readonly sources: number;
  /** Deadline for the half-open rounds (the default unless set). */
  readonly handshakeTimeoutMs: number;
  readonly agents: number;
  /** How long the fleet stays connected; each agent's one batch is sent at a random moment in it. */
  readonly holdMs: number;
  readonly heartbeatMs: number;
  readonly findingsPerBatch: number;
  /** Waves of half-open connections with the caps raised (memory from the first is reused, not added to). */
  readonly waves: number;
}

export interface Wave {
  readonly peakRss: number;
  /** A second after the last was closed. */
  readonly afterRss: number;
  /** From the last connection opened to the last one closed by the collector. */
  readonly closedAllMs: number;
}

export interface HalfOpenRound {
  /** Per wave. */
  readonly opened: number;
  /** Over all waves. */
  readonly refusedAtOnce: number;
  readonly timedOut: number;
  readonly idleRss: number;
  readonly waves: readonly Wave[];
}

export interface FleetResult {
  readonly connected: number;
  readonly acked: number;
  readonly heartbeats: number;
  readonly streams: number;
  readonly idleRss: number;
  readonly peakRss: number;
  readonly endRss: number;
  readonly ackMs: { readonly p50: number; readonly p99: number; readonly max: number };
  readonly connectSeconds: number;
}

export interface ConnectionsBenchResult {
  readonly fdLimit: number;
  readonly raised: boolean;
  readonly deadlineOnly: HalfOpenRound;
  readonly defaults: HalfOpenRound;
  readonly wholeHello: HalfOpenRound;
  readonly helloBytes: number;
  readonly fleet: FleetResult;
}

const BIN = fileURLToPath(new URL('../../bin/nodeward', import.meta.url));
const MiB = 1024 * 1024;
const LIMIT_BYTES = 512 * MiB;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const defaultOf = (section: 'grpc', key: string): number =>
  (CollectorConfigSchema.properties[section].properties as Record<string, { default: number }>)[key]!.default;

function memory(pid: number): { rss: number; hwm: number } {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? Number.NaN) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

/** Makes sure this process (and the collector it starts) may open `need` descriptors; raises the limit with prlimit if it can. */
function ensureFdLimit(need: number): { limit: number; raised: boolean } {
  const read = (): { soft: number; hard: number } => {
    const line = /^Max open files\s+(\S+)\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    const n = (s: string | undefined): number => (s === 'unlimited' ? Infinity : Number(s));
    return { soft: n(line?.[1]), hard: n(line?.[2]) };
  };
  const before = read();
  if (before.soft >= need) return { limit: before.soft, raised: false };
  try {
    execFileSync('prlimit', ['--pid', String(process.pid), `--nofile=${need}:${Math.max(need, before.hard)}`], { stdio: 'ignore' });
  } catch {
    // reported below
  }
  const after = read();
  if (after.soft < need) throw new Error(`open-file limit ${after.soft} is below the ${need} this benchmark needs; raise it (ulimit -n ${need})`);
  return { limit: after.soft, raised: true };
}

interface RunningCollector {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly grpcPort: number;
  readonly apiPort: number;
  metric(name: string, labels?: string): Promise<number>;
  stop(): Promise<void>;
}

async function startCollector(dir: string, pki: PkiPaths, name: string, settings: Record<string, unknown>): Promise<RunningCollector> {
  const file = join(dir, `${name}.yaml`);
  await writeFile(file, JSON.stringify({
    dataDir: join(dir, name),
    grpc: { listen: '127.0.0.1:0', caFile: pki.caCert, certFile: pki.collectorCert, keyFile: pki.collectorKey, ...settings },
    api: { listen: '127.0.0.1:0', insecure: true },
    log: { level: 'info' },
  }));
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(NODEWARD_|NODE_OPTIONS$|MALLOC_|GLIBC_TUNABLES$)/.test(k)));
  const child = spawn(process.execPath, [BIN, 'collector', '--config', file], { stdio: ['ignore', 'pipe', 'inherit'], env });
  const ports = await new Promise<{ grpc: number; api: number }>((resolve, reject) => {
    const found: { grpc?: number; api?: number } = {};
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const l = JSON.parse(line) as { msg?: string; port?: number };
        if (l.msg === 'gRPC listening') found.grpc = l.port;
        if (l.msg === 'API listening') found.api = l.port;
        if (found.grpc && found.api) resolve({ grpc: found.grpc, api: found.api });
      } catch {
        // not a log line
      }
    });
    child.once('exit', (code) => reject(new Error(`the collector exited (code ${code}) before listening`)));
  });
  return {
    child, pid: child.pid!, grpcPort: ports.grpc, apiPort: ports.api,
    async metric(metric, labels = '') {
      const text = await (await fetch(`http://127.0.0.1:${ports.api}/metrics`)).text();
      const line = text.split('\n').find((l) => l.startsWith(`${metric}${labels ? `{${labels}}` : ''} `));
      return line ? Number(line.split(' ').pop()) : 0;
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** The 127.0.x.y source address of the i-th half-open connection. */
const sourceOf = (i: number, sources: number): string => {
  const s = i % sources;
  return `127.0.${1 + Math.floor(s / 250)}.${1 + (s % 250)}`;
};

/** A real ClientHello (ALPN h2, SNI localhost), as a client's first write. */
function captureClientHello(): Promise<Buffer> {
  return new Promise((resolve) => {
    let client: ReturnType<typeof tlsConnect> | undefined;
    const capture = new Duplex({
      write(chunk: Buffer, _enc, done) {
        resolve(Buffer.from(chunk));
        done();
        setImmediate(() => client?.destroy());
      },
      read() {},
    });
    client = tlsConnect({ socket: capture, servername: 'localhost', ALPNProtocols: ['h2'] });
    client.on('error', () => undefined);
  });
}

async function wave(c: RunningCollector, o: ConnectionsBenchOptions, send: Buffer | undefined): Promise<Wave> {
  const peers: RawPeer[] = [];
  // In steps, so the listen backlog is not what refuses them.
  for (let i = 0; i < o.halfOpen; i += 250) {
    const step = Array.from({ length: Math.min(250, o.halfOpen - i) }, (_, k) => {
      const localAddress = sourceOf(i + k, o.sources);
      return send ? rawPeer(c.grpcPort, { localAddress, send }) : halfOpenTls(c.grpcPort, { localAddress });
    });
    peers.push(...step);
    await Promise.all(step.map((p) => p.connected.catch(() => undefined)));
  }
  const opened = Date.now();
  let peakRss = memory(c.pid).rss;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, memory(c.pid).rss);
  }, 100);
  const bound = o.handshakeTimeoutMs + 30_000;
  await Promise.race([Promise.all(peers.map((p) => p.closed)), sleep(bound)]);
  const closedAllMs = Date.now() - opened;
  clearInterval(sampler);
  const stillOpen = peers.filter((p) => !p.isClosed()).length;
  peers.forEach((p) => p.close());
  if (stillOpen > 0) throw new Error(`${stillOpen} half-open connections were still open ${bound} ms after the last was opened`);
  await sleep(1000);
  return { peakRss: Math.max(peakRss, memory(c.pid).hwm), afterRss: memory(c.pid).rss, closedAllMs };
}

async function halfOpenRound(c: RunningCollector, o: ConnectionsBenchOptions, waves: number, send?: Buffer): Promise<HalfOpenRound> {
  await sleep(1000);
  const idleRss = memory(c.pid).rss;
  const done: Wave[] = [];
  for (let w = 0; w < waves; w++) done.push(await wave(c, o, send));
  return {
    opened: o.halfOpen,
    refusedAtOnce: await c.metric('nodeward_connections_refused_total', 'listener="grpc",reason="total_cap"')
      + await c.metric('nodeward_connections_refused_total', 'listener="grpc",reason="source_cap"'),
    timedOut: await c.metric('nodeward_tls_handshake_timeouts_total', 'listener="grpc"'),
    idleRss, waves: done,
  };
}

const quantile = (sorted: readonly number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;

function makeBatch(node: number, n: number): FindingBatch {
  return {
    sequence: 1,
    findings: Array.from({ length: n }, (_, j) => ({
      checkId: 'proc-unexpected', subject: `/opt/app-${node % 17}/bin/tool-${j}`, title: 'Unexpected process', category: 'process',
      severity: 'SEVERITY_HIGH' as const, status: 'STATUS_FAIL' as const, observedAtMs: Date.now(), occurrences: 1, seen: 'event',
      detailJson: `{"pid":${1000 + j},"user":"root"}`,
    })),
  };
}

async function fleet(c: RunningCollector, pki: PkiPaths, names: readonly string[], o: ConnectionsBenchOptions): Promise<FleetResult> {
  await sleep(1000);
  const idleRss = memory(c.pid).rss;
  const Service = nodewardProto().AgentService;
  const ca = readFileSync(pki.caCert);
  type Call = grpc.ClientDuplexStream<unknown, CollectorMessage__Output>;
  const agents: Array<{ client: grpc.Client; call: Call; heartbeat?: NodeJS.Timeout }> = [];
  const latencies: number[] = [];
  let acked = 0;
  let heartbeats = 0;
  let peakRss = idleRss;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, memory(c.pid).rss);
  }, 200);
  const t0 = Date.now();
  // Connect in steps of 100: each agent's hello and first heartbeat.
  for (let i = 0; i < names.length; i += 100) {
    await Promise.all(names.slice(i, i + 100).map((node) => new Promise<void>((resolve, reject) => {
      const client = new Service(`127.0.0.1:${c.grpcPort}`, grpc.credentials.createSsl(ca, readFileSync(pki.agents[node]!.key), readFileSync(pki.agents[node]!.cert)), {
        'grpc.use_local_subchannel_pool': 1, 'grpc.ssl_target_name_override': 'localhost',
      });
      const call = client.Connect() as Call;
      agents.push({ client, call });
      call.on('error', (err: grpc.ServiceError) => reject(new Error(`${node}: ${err.details}`)));
      call.write({ hello: { node, agentVersion: 'bench', epoch: `bench-${node}` } });
      call.write({ heartbeat: { sentAtMs: Date.now() } });
      heartbeats++;
      client.waitForReady(Date.now() + 60_000, (err) => (err ? reject(new Error(`${node}: ${err.message}`)) : resolve()));
    })));
  }
  // Every hello taken: the collector counts the streams.
  let streams = 0;
  for (const until = Date.now() + 60_000; Date.now() < until; await sleep(100)) {
    streams = await c.metric('nodeward_streams_connected');
    if (streams >= names.length) break;
  }
  const connectSeconds = (Date.now() - t0) / 1000;
  // Hold: heartbeats on every stream, and one batch each at a random moment.
  await Promise.all(agents.map((a, i) => new Promise<void>((resolve, reject) => {
    a.heartbeat = setInterval(() => {
      a.call.write({ heartbeat: { sentAtMs: Date.now() } });
      heartbeats++;
    }, o.heartbeatMs);
    setTimeout(() => {
      const sent = process.hrtime.bigint();
      a.call.on('data', (m: CollectorMessage__Output) => {
        if (!m.ack) return;
        if (m.ack.code !== 0) return reject(new Error(`ack code ${m.ack.code}: ${m.ack.message}`));
        latencies.push(Number(process.hrtime.bigint() - sent) / 1e6);
        acked++;
        resolve();
      });
      a.call.write({ findingBatch: makeBatch(i, o.findingsPerBatch) });
    }, Math.random() * o.holdMs);
  })));
  const endRss = memory(c.pid).rss;
  clearInterval(sampler);
  for (const a of agents) {
    clearInterval(a.heartbeat);
    a.call.end();
    a.client.close();
  }
  latencies.sort((x, y) => x - y);
  return {
    connected: agents.length, acked, heartbeats, streams, idleRss, peakRss: Math.max(peakRss, memory(c.pid).hwm), endRss,
    ackMs: { p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99), max: latencies[latencies.length - 1] ?? Number.NaN },
    connectSeconds,
  };
}

export async function benchConnections(o: ConnectionsBenchOptions): Promise<ConnectionsBenchResult> {
  const fd = ensureFdLimit(Math.max(o.halfOpen, o.agents) + 1024);
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-bench-conn-'));
  const running: RunningCollector[] = [];
  try {
    const names = Array.from({ length: o.agents }, (_, i) => `agent-${String(i).padStart(4, '0')}`);
    const pki = await initPki(join(dir, 'pki'), { nodes: names, collectorHosts: ['localhost', '127.0.0.1'] });
    const start = async (name: string, settings: Record<string, unknown>): Promise<RunningCollector> => {
      const c = await startCollector(dir, pki, name, { handshakeTimeoutMs: o.handshakeTimeoutMs, ...settings });
      running.push(c);
      return c;
    };
    const a = await start('deadline-only', { maxConnections: o.halfOpen + 1000, maxConnectionsPerSource: 0 });
    const deadlineOnly = await halfOpenRound(a, o, o.waves);
    await a.stop();
    const b = await start('defaults', {});
    const defaults = await halfOpenRound(b, o, 1);
    await b.stop();
    const hello = await captureClientHello();
    const w = await start('whole-hello', {});
    const wholeHello = await halfOpenRound(w, o, 1, hello);
    await w.stop();
    const f = await start('fleet', { maxConnectionsPerSource: 0 });
    const fleetResult = await fleet(f, pki, names, o);
    await f.stop();
    return { fdLimit: fd.limit, raised: fd.raised, deadlineOnly, defaults, wholeHello, helloBytes: hello.length, fleet: fleetResult };
  } finally {
    await Promise.all(running.map((c) => c.stop()));
    await rm(dir, { recursive: true, force: true });
  }
}

export function formatConnectionsBench(r: ConnectionsBenchResult, o: ConnectionsBenchOptions): string {
  const mib = (b: number): string => `${(b / MiB).toFixed(0)} MiB`;
  const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
  const x = (b: number, base: number): string => `${mib(b)} (x${(b / base).toFixed(2)})`;
  const round = (title: string, h: HalfOpenRound): string[] => [
    `  ${title}: ${fmt(h.opened)} opened from ${o.sources} sources${h.waves.length > 1 ? `, in ${h.waves.length} waves` : ''}:`
      + ` ${fmt(h.refusedAtOnce)} refused at once, ${fmt(h.timedOut)} closed at the deadline; collector RSS idle (baseline) ${mib(h.idleRss)}`,
    ...h.waves.map((w, i) => `    ${h.waves.length > 1 ? `wave ${i + 1}: ` : ''}peak ${x(w.peakRss, h.idleRss)}, 1 s after the last closed ${x(w.afterRss, h.idleRss)};`
      + ` all closed ${(w.closedAllMs / 1000).toFixed(1)} s after the last was opened`),
  ];
  const f = r.fleet;
  return [
    `connections (collector as its own process; open-file limit ${r.fdLimit}${r.raised ? ', raised for this run' : ''})`,
    `  half-open TLS (11 bytes of a ClientHello, then silence), handshake deadline ${o.handshakeTimeoutMs / 1000} s:`,
    ...round(`caps raised (${fmt(o.halfOpen + 1000)} total, none per source): the deadline alone`, r.deadlineOnly),
    ...round(`default caps (${fmt(defaultOf('grpc', 'maxConnections'))} total, ${defaultOf('grpc', 'maxConnectionsPerSource')} per source)`, r.defaults),
    `  a whole ClientHello (${r.helloBytes} bytes), then silence: the collector holds TLS state for each until the deadline`,
    ...round('default caps', r.wholeHello),
    `  fleet: ${fmt(f.connected)} agents on their own mTLS streams (${f.streams} counted by the collector, connected in ${f.connectSeconds.toFixed(1)} s),`
      + ` heartbeats every ${o.heartbeatMs / 1000} s (${fmt(f.heartbeats)} sent) and one batch of ${o.findingsPerBatch} findings each over ${o.holdMs / 1000} s`,
    `    acks ${fmt(f.acked)} of ${fmt(f.connected)}; ack latency p50 ${f.ackMs.p50.toFixed(1)} ms, p99 ${f.ackMs.p99.toFixed(1)} ms, max ${f.ackMs.max.toFixed(1)} ms`,
    `    collector RSS idle (baseline) ${mib(f.idleRss)}, peak ${mib(f.peakRss)} (x${(f.peakRss / f.idleRss).toFixed(2)}; ${((f.peakRss / LIMIT_BYTES) * 100).toFixed(0)}% of the 512 MiB limit),`
      + ` ${((f.peakRss - f.idleRss) / f.connected / 1024).toFixed(0)} KiB per agent at peak`,
    '',
  ].join('\n');
}
