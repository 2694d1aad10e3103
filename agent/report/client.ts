// The agent's side of the stream: mTLS, keepalive, reconnect with exponential backoff and
// jitter, and at-least-once delivery of everything in the spool (the collector dedups).
import * as grpc from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import {
  nodewardProto, type AgentMessage, type CollectorMessage__Output, type Hello, type AgentStats, type BaselineUpdate__Output, type PodInventory__Output,
} from '../../proto/load.js';
import type { Logger } from '../../proto/support/logger.js';
import type { Spool } from './spool.js';
import { diagnoseConnection, diagnosis, type CollectorEndpoint, type DiagnoseTarget, type Diagnosis } from './diagnose.js';

export interface ReporterConfig extends CollectorEndpoint {
  readonly heartbeatMs: number;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  /** Messages sent but not yet acknowledged, at most. */
  readonly window: number;
  /** How long one connection attempt may take before backing off. */
  readonly connectTimeoutMs: number;
  /** A problem already logged is logged again at most this often (default 5 minutes). */
  readonly problemLogEveryMs?: number;
}

/** What is wrong with the connection to the collector, since when (health status, logs). */
export interface ConnectionStatus {
  readonly connected: boolean;
  /** The collector's address, as configured. */
  readonly address: string;
  /** When the stream last opened (ms), 0 never. */
  readonly connectedSinceMs: number;
  readonly problem: (Diagnosis & { readonly sinceMs: number; readonly attempts: number }) | null;
}

export interface ReporterDeps {
  readonly spool: Spool;
  readonly log: Logger;
  readonly hello: () => Promise<Omit<Hello, 'epoch' | 'stats'>>;
  readonly stats?: () => Partial<AgentStats>;
  /** The stream is open and the Hello written (the agent sends its baselines). */
  readonly onConnected?: () => void;
  /** The collector's messages other than acks. */
  readonly onBaselineUpdate?: (update: BaselineUpdate__Output) => void;
  readonly onPodInventory?: (inventory: PodInventory__Output) => void;
  /** The Node object's ExternalIPs (NodeAddresses), as the collector's node watch sees them. */
  /** The Node object's ExternalIPs and labels, as the collector sent them (unchecked: the receiver bounds them). */
  readonly onNodeAddresses?: (externalIps: readonly string[], labels: Readonly<Record<string, string>>) => void;
  /** Every diagnosis of a failed connection, logged or not (the enroller enrolls again when the certificate is the problem). */
  readonly onProblem?: (d: Diagnosis) => void;
  /** A stream has stayed up: the problem, if any, is over. */
  readonly onHealthy?: () => void;
  /** Finds why a connection failed (tests); default diagnoseConnection. */
  readonly diagnose?: (target: DiagnoseTarget) => Promise<Diagnosis | null>;
  readonly now?: () => number;
}

/** A stream that stays up this long is a working connection (its problem clears). */
const HEALTHY_AFTER_MS = 5000;

export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  // "Equal jitter": never less than half the ceiling, so a fleet does not reconnect in lockstep.
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

export function createReporter(config: ReporterConfig, deps: ReporterDeps) {
  const { spool, log } = deps;
  let stopped = true;
  let call: grpc.ClientDuplexStream<AgentMessage, CollectorMessage__Output> | undefined;
  let client: grpc.Client | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let heartbeat: NodeJS.Timeout | undefined;
  let attempt = 0;
  let sentUpTo = 0;
  const inFlight = new Set<number>();
  let acked = 0;
  let refusedReports = 0;
  const now = deps.now ?? Date.now;
  const diagnose = deps.diagnose ?? diagnoseConnection;
  let problem: ConnectionStatus['problem'] = null;
  let problemLoggedMs = 0;
  /** The last problem logged: a stream that opens and is refused again is not a new problem. */
  let lastLogged: Diagnosis | null = null;
  let healthyTimer: NodeJS.Timeout | undefined;
  let connectedSinceMs = 0;
  let diagnosing = false;

  /**
   * Records why the collector is out of reach, and says so at warn: when the reason is new, and
   * then at most every problemLogEveryMs while it lasts (an agent retries every few seconds).
   */
  function report(d: Diagnosis): void {
    const t = now();
    const same = problem?.problem === d.problem && problem.detail === d.detail;
    problem = { ...d, sinceMs: same && problem ? problem.sinceMs : t, attempts: same && problem ? problem.attempts + 1 : 1 };
    const logged = lastLogged?.problem === d.problem && lastLogged.detail === d.detail;
    if (!logged || t - problemLoggedMs >= (config.problemLogEveryMs ?? 5 * 60_000)) {
      problemLoggedMs = t;
      lastLogged = d;
      log.warn({ address: config.address, problem: d.problem, detail: d.detail, hint: d.hint, attempts: problem.attempts, sinceMs: problem.sinceMs }, 'cannot reach the collector');
    }
    try {
      deps.onProblem?.(d);
    } catch (err) {
      log.error({ err: (err as Error).message }, 'a connection problem listener failed');
    }
  }

  function failedToConnect(reason: string): void {
    if (diagnosing) return;
    diagnosing = true;
    void diagnose({
      address: config.address, insecure: config.insecure, caFile: config.caFile, certFile: config.certFile, keyFile: config.keyFile,
      serverName: config.serverName, timeoutMs: Math.min(config.connectTimeoutMs, 5000),
    }).then((d) => report(d ?? diagnosis('UNKNOWN', `every layer answers, yet gRPC could not connect: ${reason}`)))
      .catch((err: unknown) => report(diagnosis('UNKNOWN', (err as Error).message)))
      .finally(() => {
        diagnosing = false;
      });
  }

  const agentStats = (): AgentStats => {
    const st = spool.stats();
    return { spoolEntries: st.entries, spoolBytes: st.bytes, spoolDropped: st.droppedItems, rejected: st.rejected, execCoverage: 'scan', ...deps.stats?.() };
  };

  function credentials(): grpc.ChannelCredentials {
    if (config.insecure) return grpc.credentials.createInsecure();
    // Read at every connect, so renewed certificates are picked up without a restart.
    return grpc.credentials.createSsl(readFileSync(config.caFile), readFileSync(config.keyFile), readFileSync(config.certFile));
  }

  function pump(): void {
    const c = call;
    if (!c) return;
    while (inFlight.size < config.window) {
      const [entry] = spool.next(sentUpTo, 1);
      if (!entry) return;
      sentUpTo = entry.sequence;
      spool.markAttempted(entry.sequence);
      inFlight.add(entry.sequence);
      const msg: AgentMessage = entry.kind === 'scan'
        ? { scanReport: { ...entry.payload, sequence: entry.sequence } }
        : { findingBatch: { ...entry.payload, sequence: entry.sequence } };
      c.write(msg);
    }
  }

  function onMessage(msg: CollectorMessage__Output): void {
    attempt = 0;
    try {
      if (msg.body === 'baselineUpdate' && msg.baselineUpdate) return deps.onBaselineUpdate?.(msg.baselineUpdate);
      if (msg.body === 'podInventory' && msg.podInventory) return deps.onPodInventory?.(msg.podInventory);
      if (msg.body === 'nodeAddresses' && msg.nodeAddresses) return deps.onNodeAddresses?.(msg.nodeAddresses.externalIps, msg.nodeAddresses.labels ?? {});
    } catch (err) {
      log.error({ err: (err as Error).message, body: msg.body }, 'cannot apply a message from the collector');
      return;
    }
    if (msg.body !== 'ack' || !msg.ack) return;
    const { sequence, code, message } = msg.ack;
    if (sequence === 0) {
      // Answers a message without a sequence (a BaselineReport): nothing in the spool to settle.
      refusedReports++;
      log.warn({ code, reason: message }, 'collector refused a baseline report');
      return;
    }
    inFlight.delete(sequence);
    if (code === 0) {
      spool.ack(sequence);
      acked++;
    } else if (code === grpc.status.INVALID_ARGUMENT) {
      spool.reject(sequence);
      log.warn({ sequence, reason: message }, 'collector refused a message as invalid; dropped and counted');
    } else {
      // Retryable: keep it and start over on a fresh stream after a pause.
      log.warn({ sequence, code, reason: message }, 'collector asked to retry');
      restart();
      return;
    }
    pump();
  }

  /** Counts helloChanged() calls: a connection whose Hello was prepared before the last is renewed. */
  let helloGeneration = 0;

  function teardown(): void {
    if (healthyTimer) clearTimeout(healthyTimer);
    healthyTimer = undefined;
    if (heartbeat) clearInterval(heartbeat);
    heartbeat = undefined;
    const c = call;
    call = undefined;
    if (c) {
      c.removeAllListeners();
      c.on('error', () => {});
      c.cancel();
    }
    client?.close();
    client = undefined;
    inFlight.clear();
    sentUpTo = 0;
  }

  function restart(): void {
    teardown();
    if (stopped || retryTimer) return;
    const delay = backoffDelay(attempt++, config.backoffBaseMs, config.backoffMaxMs);
    log.debug({ delay, attempt }, 'reconnecting');
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      void connect();
    }, delay);
  }

  /** Opens a new stream now, from the first backoff step (its Hello says what changed). */
  function renew(): void {
    teardown();
    if (retryTimer) clearTimeout(retryTimer);
    retryTimer = undefined;
    attempt = 0;
    void connect();
  }

  async function connect(): Promise<void> {
    if (stopped) return;
    let creds: grpc.ChannelCredentials;
    let hello: Omit<Hello, 'epoch' | 'stats'>;
    const generation = helloGeneration;
    try {
      creds = credentials();
      hello = await deps.hello();
    } catch (err) {
      report(diagnosis('CREDENTIALS', `cannot prepare the connection: ${(err as Error).message}`));
      restart();
      return;
    }
    if (stopped) return;
    const Ctor = nodewardProto().AgentService;
    const c = new Ctor(config.address, creds, {
      'grpc.keepalive_time_ms': 30_000,
      'grpc.keepalive_timeout_ms': 10_000,
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.max_receive_message_length': 4 * 1024 * 1024,
      ...(config.serverName ? { 'grpc.ssl_target_name_override': config.serverName, 'grpc.default_authority': config.serverName } : {}),
    });
    client = c;
    // Open the stream only on a connected channel: entries are marked attempted when they
    // are written, and an attempted entry can no longer be folded, so writing into a
    // channel that is still failing would defeat the spool's folding during an outage.
    const ready = await new Promise<Error | undefined>((resolve) => c.waitForReady(Date.now() + config.connectTimeoutMs, resolve));
    if (stopped || client !== c) return;
    if (ready) {
      log.debug({ reason: ready.message }, 'collector not reachable');
      failedToConnect(ready.message);
      restart();
      return;
    }
    const stream = c.Connect();
    call = stream;
    stream.on('data', onMessage);
    stream.on('error', (err: grpc.ServiceError) => {
      const code = grpc.status[err.code] ?? String(err.code);
      if (err.code === grpc.status.PERMISSION_DENIED || err.code === grpc.status.UNAUTHENTICATED) {
        report(diagnosis(err.code === grpc.status.PERMISSION_DENIED ? 'PERMISSION_DENIED' : 'UNAUTHENTICATED', `${code}: ${err.details}`));
      } else if (err.code === grpc.status.UNAVAILABLE) {
        failedToConnect(err.details);
      } else if (err.code !== grpc.status.CANCELLED) {
        report(diagnosis('STREAM', `${code}: ${err.details}`));
      }
      log.debug({ code, reason: err.details }, 'stream to the collector failed');
      restart();
    });
    stream.on('end', () => {
      log.info('collector ended the stream');
      restart();
    });
    stream.write({ hello: { ...hello, epoch: spool.epoch, stats: agentStats() } });
    heartbeat = setInterval(() => {
      call?.write({ heartbeat: { sentAtMs: Date.now(), stats: agentStats() } });
    }, config.heartbeatMs);
    heartbeat.unref();
    connectedSinceMs = now();
    // Connected is not yet well: the collector may refuse the node once it reads the hello.
    // The problem clears once the stream has stayed up a few seconds.
    if (healthyTimer) clearTimeout(healthyTimer);
    healthyTimer = setTimeout(() => {
      healthyTimer = undefined;
      if (call !== stream) return;
      if (problem) log.info({ address: config.address, after: problem.problem, attempts: problem.attempts }, 'connected to the collector');
      problem = null;
      lastLogged = null;
      attempt = 0;
      deps.onHealthy?.();
    }, HEALTHY_AFTER_MS);
    healthyTimer.unref();
    deps.onConnected?.();
    pump();
    // What the Hello says changed while this one was prepared: say it again.
    if (generation !== helloGeneration) renew();
  }

  return {
    /** Tells the reporter that the spool has something new. */
    notify(): void {
      pump();
    },
    get connected(): boolean {
      return call !== undefined;
    },
    /** The connection as the health endpoint's status shows it. */
    status(): ConnectionStatus {
      return { connected: call !== undefined, address: config.address, connectedSinceMs: call ? connectedSinceMs : 0, problem };
    },
    get acked(): number {
      return acked;
    },
    /** Baseline reports the collector refused (ack with sequence 0). */
    get refusedReports(): number {
      return refusedReports;
    },
    /** Writes a message that is not spooled (a BaselineReport) on the open stream; false when there is none. */
    send(msg: AgentMessage): boolean {
      if (!call) return false;
      call.write(msg);
      return true;
    },
    async start(): Promise<void> {
      if (!stopped) return;
      stopped = false;
      await connect();
    },
    /**
     * What the Hello says changed (the node's certificate inventory): the collector takes one
     * Hello per stream, so an open stream is replaced by a new one that says it (the spool's
     * unacknowledged entries are sent again on it, as after any reconnect). Not connected,
     * the next connection says it anyway.
     */
    helloChanged(): void {
      helloGeneration++;
      if (stopped || call === undefined) return;
      log.info('node inventory changed; opening a new stream to send it');
      renew();
    },
    /**
     * Waiting to reconnect: connect now instead, from the first backoff step (new credentials
     * are on disk). Nothing when connected or connecting.
     */
    reconnectNow(): void {
      if (stopped || !retryTimer) return;
      clearTimeout(retryTimer);
      retryTimer = undefined;
      attempt = 0;
      void connect();
    },
    async stop(): Promise<void> {
      stopped = true;
      if (retryTimer) clearTimeout(retryTimer);
      retryTimer = undefined;
      const c = call;
      if (c) {
        // Half-close so the collector can finish; then cut.
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, 1000);
          c.once('end', () => { clearTimeout(t); resolve(); });
          c.once('error', () => { clearTimeout(t); resolve(); });
          c.end();
        });
      }
      teardown();
    },
  };
}

export type Reporter = ReturnType<typeof createReporter>;
