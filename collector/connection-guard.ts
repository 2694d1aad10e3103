// Caps and a TLS handshake deadline for a listening server: the collector's gRPC port, its
// HTTPS API and its enrollment endpoint. Without them a peer with no credentials holds
// memory for nothing: a socket that sent 11 bytes of a ClientHello cost about 53 KB (an
// OpenSSL session with its buffers), Node's `handshakeTimeout` only reports it (the socket
// stays open) and is an idle timeout besides (each byte dribbled in starts it again), and
// glibc keeps the freed memory.
//
// The guard takes over the server's 'connection' listeners (for a TLS server, the one that
// starts the handshake) and calls them only for a connection it admits:
// - Total cap: `server.maxConnections`; Node closes a connection over it before anything is
//   allocated for it and emits 'drop', counted here.
// - Per-source cap (the gRPC port only): connections from one address; one more is closed
//   at once and counted. Not for the API: behind an ingress every client has one address.
// - ClientHello first (TLS servers): no TLS state exists until the first TLS record (the
//   ClientHello) has arrived whole; until then a connection costs its socket and the bytes
//   it sent (at most one record). Those bytes are put back and TLS reads them as sent.
// - Handshake deadline (TLS servers): a timer from accept that closes the connection unless
//   its handshake completed ('secureConnection') first. Absolute: a slow sender gets no more
//   time than a silent one.
import type { Server, Socket } from 'node:net';
import { Server as TlsServer, type TLSSocket } from 'node:tls';
import type { Logger } from '../proto/support/logger.js';
import type { Metrics } from './metrics.js';

export interface ConnectionLimits {
  /** Milliseconds from accept to a completed TLS handshake (TLS servers). */
  readonly handshakeTimeoutMs: number;
  /** Connections open at once on the server; more are closed at once. */
  readonly maxConnections: number;
  /** Connections open at once from one source address; 0 means no per-source cap. */
  readonly maxConnectionsPerSource: number;
}

export interface ConnectionGuardDeps {
  /** Names the server in metrics and logs: grpc, api, enroll. */
  readonly listener: string;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly now?: () => number;
}

/** A refusal is logged at most this often per server and cap (the counters count each one). */
const LOG_EVERY_MS = 10_000;
/** TLS record header: content type (22 = handshake), version (2 bytes), length (2 bytes). */
const RECORD_HEADER = 5;
const HANDSHAKE = 22;
/** The largest record a peer may send (2^14 plus the 2048 bytes of expansion TLS allows). */
const MAX_RECORD = 16_384 + 2_048;

/** IPv4 peers of a dual-stack socket arrive as ::ffff:a.b.c.d; one source, one spelling. */
export function sourceAddress(address: string | undefined): string | undefined {
  if (!address) return undefined;
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

/** How many leading bytes form the first whole TLS handshake record, 0 while it is incomplete, -1 when it is not one (TLS will refuse it). */
export function firstRecordLength(bytes: Buffer): number {
  if (bytes.length < 1) return 0;
  if (bytes[0] !== HANDSHAKE) return -1;
  if (bytes.length < RECORD_HEADER) return 0;
  const length = bytes.readUInt16BE(3);
  if (length > MAX_RECORD) return -1;
  return bytes.length >= RECORD_HEADER + length ? RECORD_HEADER + length : 0;
}

/** A connection's four-tuple: the same for the TCP socket and the TLS socket over it. */
const tuple = (s: Socket): string => `${s.remoteAddress}|${s.remotePort}|${s.localAddress}|${s.localPort}`;

/**
 * Guards `server`: call it once the server's own 'connection' listeners are in place
 * (a TLS server's is there from its creation) and before it listens.
 */
export function guardConnections(server: Server, limits: ConnectionLimits, deps: ConnectionGuardDeps) {
  const { metrics, log, listener } = deps;
  const now = deps.now ?? Date.now;
  const tls = server instanceof TlsServer;
  const admitted = server.listeners('connection') as Array<(socket: Socket) => void>;
  server.removeAllListeners('connection');
  const bySource = new Map<string, number>();
  /** Sockets whose handshake is under way, by four-tuple, with their deadline. */
  const handshaking = new Map<string, { socket: Socket; timer: NodeJS.Timeout }>();
  const open = new Set<Socket>();
  const lastLogged = new Map<string, { at: number; since: number }>();

  const gauge = (): void => metrics.set('nodeward_connections_open', open.size, { listener });
  const refuse = (reason: 'total_cap' | 'source_cap', source: string | undefined): void => {
    metrics.inc('nodeward_connections_refused_total', 1, { listener, reason });
    const entry = lastLogged.get(reason) ?? { at: -Infinity, since: 0 };
    entry.since++;
    if (now() - entry.at >= LOG_EVERY_MS) {
      log.warn({ listener, reason, refused: entry.since, source, maxConnections: limits.maxConnections, maxConnectionsPerSource: limits.maxConnectionsPerSource }, 'connections refused: cap reached');
      entry.at = now();
      entry.since = 0;
    }
    lastLogged.set(reason, entry);
  };
  const handOver = (socket: Socket): void => {
    for (const l of admitted) l.call(server, socket);
  };

  /** Reads until the first TLS record is whole, then puts it back and starts TLS. */
  const afterClientHello = (socket: Socket): void => {
    let buffered: Buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      if (firstRecordLength(buffered) === 0) return;
      socket.off('data', onData);
      socket.pause();
      socket.unshift(buffered);
      handOver(socket);
    };
    socket.on('data', onData);
  };

  server.maxConnections = limits.maxConnections;
  server.on('drop', (data?: { remoteAddress?: string }) => refuse('total_cap', sourceAddress(data?.remoteAddress)));

  server.on('connection', (socket: Socket) => {
    const source = sourceAddress(socket.remoteAddress);
    if (!source) {
      socket.destroy();
      return;
    }
    const fromSource = bySource.get(source) ?? 0;
    if (limits.maxConnectionsPerSource > 0 && fromSource >= limits.maxConnectionsPerSource) {
      refuse('source_cap', source);
      socket.destroy();
      return;
    }
    bySource.set(source, fromSource + 1);
    open.add(socket);
    gauge();
    const key = tuple(socket);
    socket.once('close', () => {
      open.delete(socket);
      const n = (bySource.get(source) ?? 1) - 1;
      if (n > 0) bySource.set(source, n);
      else bySource.delete(source);
      const pending = handshaking.get(key);
      if (pending?.socket === socket) {
        clearTimeout(pending.timer);
        handshaking.delete(key);
      }
      gauge();
    });
    if (!tls) return handOver(socket);
    socket.on('error', () => undefined); // a reset before TLS owns the socket; 'close' follows
    const timer = setTimeout(() => {
      handshaking.delete(key);
      metrics.inc('nodeward_tls_handshake_timeouts_total', 1, { listener });
      log.debug({ listener, source }, 'TLS handshake deadline passed: connection closed');
      socket.destroy();
    }, limits.handshakeTimeoutMs);
    timer.unref();
    handshaking.set(key, { socket, timer });
    afterClientHello(socket);
  });

  if (tls) {
    // Node reports a failed handshake (its own handshake timeout included) and leaves the
    // socket open; nothing more can come of it.
    server.on('tlsClientError', (err: Error & { code?: string }, secure: TLSSocket) => {
      log.debug({ listener, code: err.code, err: err.message }, 'TLS handshake failed');
      secure.destroy();
    });
    server.on('secureConnection', (secure: TLSSocket) => {
      const key = tuple(secure);
      const pending = handshaking.get(key);
      if (!pending) return;
      clearTimeout(pending.timer);
      handshaking.delete(key);
    });
  }

  return {
    /** Connections open now (handshakes under way included). */
    get open(): number {
      return open.size;
    },
    /** Ends every connection still open (once the server stopped accepting). */
    destroyAll(): void {
      for (const s of open) s.destroy();
    },
  };
}

export type ConnectionGuard = ReturnType<typeof guardConnections>;
