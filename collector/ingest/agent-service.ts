// The gRPC handler for AgentService.Connect. Thin: authenticate, decode, validate, hand
// over to the pipeline, map the outcome to an Ack or a status.
import * as grpc from '@grpc/grpc-js';
import type { AgentServiceHandlers } from '../../proto/gen/nodeward/v1/AgentService.js';
import type { AgentMessage__Output, AgentStats__Output, CollectorMessage } from '../../proto/load.js';
import { isValidNodeName } from '../../proto/domain.js';
import { LEGACY_HOST_KEY, receivesBaseline } from '../../proto/baseline-key.js';
import type { Logger } from '../../proto/support/logger.js';
import type { Metrics } from '../metrics.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import type { CommitOutcome, IncomingScan } from '../pipeline/types.js';
import type { BaselineSync } from '../pipeline/baselines.js';
import type { PodInfo } from '../kube/types.js';
import type { NodeStats } from '../store/store.js';
import { baselineReportFromWire, batchFromWire, helloFromWire, InvalidMessage, LIMITS, scanFromWire, statsFromWire } from './validate.js';
import { podInventoryMessage } from './pod-inventory.js';
import { X509Certificate } from 'node:crypto';
import { pemCertificates } from '../../proto/support/pem.js';
import { foldRetiredChecks } from './retired-checks.js';

type Call = grpc.ServerDuplexStream<AgentMessage__Output, CollectorMessage>;


/** What the Node object says of the node that it cannot see itself (agent.proto, NodeAddresses). */
export interface NodeSelf {
  readonly externalIps: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
}

/** Labels sent to an agent, at most (agent.proto, NodeAddresses). */
export const NODE_LABELS_SENT = 64;

/** A stream's messages waiting to be handled before the stream is paused (flow control holds the agent back). */
const MAX_IN_FLIGHT = 16;

export interface AgentServiceDeps {
  readonly pipeline: Pipeline;
  readonly metrics: Metrics;
  readonly log: Logger;
  /** Plain-text mode: no certificate, the hello's node name is believed. */
  readonly insecure: boolean;
  /** Central baselines: reports go there, and what an agent missed comes from there. */
  readonly baselines?: BaselineSync;
  /** The collector's clock: agents' times are judged against the time a message arrived. */
  readonly now?: () => number;
}

class StreamError extends Error {
  constructor(readonly status: grpc.status, message: string) {
    super(message);
  }
}

/** The node name a client certificate speaks for: its subject Common Name. */
export function certificateNode(call: Call): string | undefined {
  const cert = call.getAuthContext()?.sslPeerCertificate;
  const cn = cert?.subject?.CN;
  return typeof cn === 'string' && cn.length > 0 ? cn : undefined;
}

export function createAgentService(deps: AgentServiceDeps) {
  const { metrics, log, pipeline } = deps;
  const now = deps.now ?? Date.now;
  const streams = new Map<string, Call>();
  /** The key each connected node's host processes use (its Hello): host baselines go to their role only. */
  const hostKeys = new Map<string, string>();
  /** Every message except another role's host baseline: a worker never adopts what control-plane nodes run. */
  const mayReceive = (node: string, msg: CollectorMessage): boolean =>
    !msg.baselineUpdate || receivesBaseline(hostKeys.get(node) ?? LEGACY_HOST_KEY, msg.baselineUpdate.key ?? '');
  let podsOf: ((node: string) => readonly PodInfo[]) | undefined;
  let addressesOf: ((node: string) => NodeSelf | undefined) | undefined;

  /** The node's ExternalIPs and labels from the node watch, when it knows the node and the node is connected. */
  function pushAddresses(node: string): boolean {
    const call = streams.get(node);
    const self = addressesOf?.(node);
    if (!call || self === undefined) return false;
    try {
      // At most the 64 labels the agent reads (agent.proto, NodeAddresses), in key order.
      const labels = Object.fromEntries(Object.entries(self.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).slice(0, NODE_LABELS_SENT));
      call.write({ nodeAddresses: { externalIps: [...self.externalIps], labels } });
      return true;
    } catch (err) {
      log.error({ node, err: (err as Error).message }, 'cannot send the node addresses');
      return false;
    }
  }

  /** The node's pods, when a provider is set and the node is connected. */
  function pushPods(node: string): boolean {
    const call = streams.get(node);
    if (!call || !podsOf) return false;
    try {
      call.write(podInventoryMessage(podsOf(node)));
      return true;
    } catch (err) {
      log.error({ node, err: (err as Error).message }, 'cannot send the pod inventory');
      return false;
    }
  }

  /** After a hello: every baseline change the agent missed, then its pods. */
  async function catchUp(node: string, call: Call, baselineVersion: number): Promise<void> {
    try {
      for (const m of (await deps.baselines?.hello(node, baselineVersion)) ?? []) if (mayReceive(node, m)) call.write(m);
    } catch (err) {
      log.error({ node, err: (err as Error).message }, 'cannot send the baseline changes the agent missed');
    }
    pushPods(node);
    pushAddresses(node);
  }

  /** An older agent's results of retired checks, onto their surviving findings (retired-checks.ts); counted. */
  const withoutRetired = (scan: IncomingScan): IncomingScan => {
    const out = foldRetiredChecks(scan);
    if (out.mapped > 0) metrics.inc('nodeward_retired_results_total', out.mapped, { outcome: 'mapped' });
    if (out.dropped > 0) metrics.inc('nodeward_retired_results_total', out.dropped, { outcome: 'dropped' });
    return out.scan;
  };
  const reject = (reason: string): void => metrics.inc('nodeward_rejects_total', 1, { reason });
  const gauge = (): void => metrics.set('nodeward_streams_connected', streams.size);

  /** A hello's or heartbeat's counters; invalid ones end the stream (it has no ack to refuse them with). */
  const agentStats = (node: string, wire: AgentStats__Output | null): NodeStats => {
    let out;
    try {
      out = statsFromWire(wire);
    } catch (err) {
      if (!(err instanceof InvalidMessage)) throw err;
      reject('invalid');
      throw new StreamError(grpc.status.INVALID_ARGUMENT, err.message);
    }
    if (out.clamped.length > 0) log.warn({ node, fields: out.clamped, storedAs: LIMITS.counter }, 'agent counters above the bound were stored as the bound');
    return out.stats;
  };

  const handlers: AgentServiceHandlers = {
    Connect(call: Call): void {
      const certNode = certificateNode(call);
      let node: string | undefined;
      let epoch = '';
      let closed = false;

      const fail = (err: StreamError): void => {
        if (closed) return;
        closed = true;
        log.warn({ node: node ?? certNode, code: grpc.status[err.status] }, err.message);
        call.emit('error', { code: err.status, details: err.message, metadata: new grpc.Metadata() });
      };

      if (!deps.insecure && !certNode) {
        reject('no_identity');
        fail(new StreamError(grpc.status.UNAUTHENTICATED, 'a client certificate naming the node is required'));
        return;
      }

      const claim = (claimed: string, what: string): void => {
        if (claimed !== '' && claimed !== node) {
          reject('wrong_node');
          throw new StreamError(grpc.status.PERMISSION_DENIED, `the certificate is for node ${JSON.stringify(node)}; ${what} claims node ${JSON.stringify(claimed)}`);
        }
      };

      const ack = (sequence: number, out: CommitOutcome): void => {
        call.write({ ack: { sequence, duplicate: out.duplicate, code: 0, message: out.refused > 0 ? `${out.refused} new findings refused: node at its open-finding cap` : '' } });
      };

      const handle = async (msg: AgentMessage__Output): Promise<void> => {
        if (msg.body === 'hello' && msg.hello) {
          if (node) throw new StreamError(grpc.status.FAILED_PRECONDITION, 'hello sent twice on one stream');
          const claimed = msg.hello.node;
          if (!isValidNodeName(claimed)) throw new StreamError(grpc.status.INVALID_ARGUMENT, `hello.node ${JSON.stringify(claimed)} is not a valid node name`);
          if (certNode && claimed !== certNode) {
            reject('wrong_node');
            throw new StreamError(grpc.status.PERMISSION_DENIED, `the certificate is for node ${JSON.stringify(certNode)}; hello claims node ${JSON.stringify(claimed)}`);
          }
          let hello;
          try {
            hello = helloFromWire(msg.hello, claimed, now());
          } catch (err) {
            if (!(err instanceof InvalidMessage)) throw err;
            reject('invalid');
            throw new StreamError(grpc.status.INVALID_ARGUMENT, err.message);
          }
          const stats = agentStats(claimed, msg.hello.stats);
          node = claimed;
          epoch = hello.epoch;
          await pipeline.hello(hello, stats);
          const previous = streams.get(node);
          streams.set(node, call);
          hostKeys.set(node, hello.hostBaselineKey);
          gauge();
          if (previous && previous !== call) {
            previous.emit('error', { code: grpc.status.ABORTED, details: 'replaced by a newer stream from the same node', metadata: new grpc.Metadata() });
          }
          log.info({ node, epoch, agentVersion: hello.agentVersion }, 'agent connected');
          await catchUp(node, call, hello.baselineVersion);
          return;
        }
        if (!node) throw new StreamError(grpc.status.FAILED_PRECONDITION, 'the first message on a stream must be a hello');
        if (msg.body === 'heartbeat' && msg.heartbeat) {
          await pipeline.heartbeat(node, agentStats(node, msg.heartbeat.stats));
          return;
        }
        if (msg.body === 'scanReport' && msg.scanReport) {
          claim(msg.scanReport.node, 'the scan report');
          const seq = Number(msg.scanReport.sequence);
          await permanentOrRetry(seq, () => pipeline.scan(withoutRetired(scanFromWire(msg.scanReport!, node!, epoch, now()))));
          return;
        }
        if (msg.body === 'baselineReport' && msg.baselineReport) {
          // State, not an event: no sequence and no ack; a refusal is an ack with sequence 0.
          let report;
          try {
            report = baselineReportFromWire(msg.baselineReport, now());
          } catch (err) {
            if (!(err instanceof InvalidMessage)) throw err;
            reject('invalid');
            await pipeline.baselineReportRefused(node);
            log.warn({ node, reason: err.message }, 'baseline report refused');
            call.write({ ack: { sequence: 0, code: grpc.status.INVALID_ARGUMENT, message: err.message } });
            return;
          }
          try {
            // A node teaches only baselines it is sent: not another role's host baseline
            // (a former control-plane node's stale one, or a worker trying to teach one).
            const hostKey = hostKeys.get(node) ?? LEGACY_HOST_KEY;
            const own = report.baselines.filter((b) => receivesBaseline(hostKey, b.key));
            if (own.length < report.baselines.length) reject('host_baseline_role');
            await deps.baselines?.report(node, own);
          } catch (err) {
            log.error({ node, err: (err as Error).message }, 'cannot merge a baseline report; the agent sends it again when it reconnects');
          }
          return;
        }
        if (msg.body === 'findingBatch' && msg.findingBatch) {
          claim(msg.findingBatch.node, 'the finding batch');
          const seq = Number(msg.findingBatch.sequence);
          await permanentOrRetry(seq, () => pipeline.batch(batchFromWire(msg.findingBatch!, node!, epoch, now())));
          return;
        }
        throw new StreamError(grpc.status.INVALID_ARGUMENT, 'empty or unknown message');
      };

      const permanentOrRetry = async (seq: number, commit: () => Promise<CommitOutcome>): Promise<void> => {
        try {
          ack(seq, await commit());
        } catch (err) {
          if (err instanceof InvalidMessage) {
            reject('invalid');
            log.warn({ node, sequence: seq, reason: err.message }, 'agent message refused');
            call.write({ ack: { sequence: seq, code: grpc.status.INVALID_ARGUMENT, message: err.message } });
          } else {
            reject('store_unavailable');
            log.error({ node, sequence: seq, err: (err as Error).message }, 'commit failed; the agent will retry');
            call.write({ ack: { sequence: seq, code: grpc.status.UNAVAILABLE, message: 'the collector could not commit the message; retry later' } });
          }
        }
      };

      // A stream's messages are handled one at a time, in order (each may wait on the store);
      // while MAX_IN_FLIGHT wait their turn the stream is paused, so a fast agent is held
      // back by gRPC's flow control rather than queued here without bound.
      let waiting = 0;
      let turn: Promise<void> = Promise.resolve();
      const handleInTurn = async (msg: AgentMessage__Output): Promise<void> => {
        if (closed) return;
        try {
          await handle(msg);
        } catch (err) {
          if (err instanceof StreamError) fail(err);
          else {
            log.error({ node, err: (err as Error).message }, 'stream handler failed');
            fail(new StreamError(grpc.status.INTERNAL, 'the collector failed to handle the stream'));
          }
        }
      };
      call.on('data', (msg: AgentMessage__Output) => {
        if (closed) return;
        if (++waiting >= MAX_IN_FLIGHT) call.pause();
        turn = turn.then(() => handleInTurn(msg)).finally(() => {
          if (--waiting === MAX_IN_FLIGHT - 1) call.resume();
        });
      });
      const done = (): void => {
        closed = true;
        if (node && streams.get(node) === call) {
          streams.delete(node);
          hostKeys.delete(node);
          gauge();
          const gone = node;
          pipeline.disconnected(gone).catch((err: unknown) => log.error({ node: gone, err: (err as Error).message }, 'cannot mark the node disconnected'));
          log.info({ node }, 'agent disconnected');
        }
      };
      // The agent has sent all it will: the messages still in turn are answered, then the stream ends.
      call.on('end', () => {
        void turn.then(() => {
          done();
          call.end();
        });
      });
      call.on('cancelled', done);
      call.on('error', done);
      call.on('close', done);
    },
  };

  return {
    handlers,
    connectedNodes(): string[] {
      return [...streams.keys()];
    },
    /** Pushes a message to one connected agent; false when it is not connected (or not one for it). */
    push(node: string, msg: CollectorMessage): boolean {
      const call = streams.get(node);
      if (!call || !mayReceive(node, msg)) return false;
      call.write(msg);
      return true;
    },
    /** Pushes a message to every connected agent it is for; returns how many. */
    broadcast(msg: CollectorMessage): number {
      let n = 0;
      for (const [node, call] of streams) {
        if (!mayReceive(node, msg)) continue;
        call.write(msg);
        n++;
      }
      return n;
    },
    /** Where the pods on a node come from (the pod watch); each agent gets its node's after hello. */
    setPodInventoryProvider(provider: ((node: string) => readonly PodInfo[]) | undefined): void {
      podsOf = provider;
    },
    /** Sends a node its pods now (the pod watch saw them change); false when it is not connected. */
    pushPods,
    /** Where each node's ExternalIPs and labels come from (the node watch); each agent gets its node's after hello. */
    setNodeAddressProvider(provider: ((node: string) => NodeSelf | undefined) | undefined): void {
      addressesOf = provider;
    },
    /** Sends a node its ExternalIPs and labels now (the node watch saw them change); false when not connected or not known. */
    pushAddresses,
    /**
     * Ends the streams whose client certificate no CA of `caBundle` (PEM) issued: after the CA
     * was replaced (not rotated), a certificate of the old one is no longer trusted, though a
     * TLS session made with it would otherwise stay open. Their agents enroll again. Returns
     * the nodes whose streams ended. Nothing in plain-text mode.
     */
    closeUntrusted(caBundle: Buffer): string[] {
      if (deps.insecure) return [];
      const cas = pemCertificates(caBundle).map((p) => new X509Certificate(p));
      const ended: string[] = [];
      for (const [node, call] of streams) {
        const raw = call.getAuthContext()?.sslPeerCertificate?.raw;
        let trusted = false;
        try {
          const cert = raw ? new X509Certificate(raw) : undefined;
          trusted = cert !== undefined && cas.some((ca) => cert.checkIssued(ca) && cert.verify(ca.publicKey));
        } catch {
          trusted = false;
        }
        if (trusted) continue;
        ended.push(node);
        call.emit('error', { code: grpc.status.UNAUTHENTICATED, details: 'the CA that issued this node\'s certificate is no longer trusted: enroll again', metadata: new grpc.Metadata() });
      }
      if (ended.length > 0) {
        metrics.inc('nodeward_streams_untrusted_total', ended.length);
        log.warn({ nodes: ended.slice(0, 50), count: ended.length }, 'agent streams ended: their certificates are from a CA no longer trusted (the CA was replaced); they enroll again');
      }
      return ended;
    },
    closeAll(): void {
      for (const call of streams.values()) call.end();
      streams.clear();
      hostKeys.clear();
      gauge();
    },
  };
}
