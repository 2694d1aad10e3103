// The collector's gRPC endpoint: mTLS by default, message-size caps, keepalive, the
// standard health service, and connection caps with a TLS handshake deadline.
//
// grpc-js has no option for a handshake deadline or a connection cap, and the TLS server
// it builds keeps Node's defaults. So the collector owns the port:
//
//   tls.Server (listening): requestCert + rejectUnauthorized against our CA, ALPN h2,
//     guarded by collector/connection-guard.ts (caps total and per source, no TLS state
//     before a whole ClientHello, an absolute handshake deadline)
//   -> on 'secureConnection', the TLS socket goes to grpc-js through
//      Server.createConnectionInjector(insecure credentials), which runs HTTP/2 over it.
//
// Why this mechanism: node identity still comes from the client certificate, because
// grpc-js's getAuthContext() reads `session.socket`, which is the tls.TLSSocket handed over
// (it requires an instance of tls.TLSSocket that is `authorized`); a tls.Server runs the
// handshake because the server is what verifies the peer's chain and sets `authorized`.
// The alternative, injecting TCP sockets into an injector made with the TLS credentials,
// leaves the handshake to a tls.Server inside grpc-js whose timeout cannot be set. The
// injector's credentials are "insecure" only in that grpc-js adds no TLS of its own on top.
// In plain-text mode (testing only) a net.Server hands TCP sockets over, under the same caps.
import * as grpc from '@grpc/grpc-js';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer, type TLSSocket } from 'node:tls';
import { HealthImplementation } from 'grpc-health-check';
import { nodewardProto } from '../../proto/load.js';
import type { Logger } from '../../proto/support/logger.js';
import type { AgentServiceHandlers } from '../../proto/gen/nodeward/v1/AgentService.js';
import { guardConnections, type ConnectionGuard, type ConnectionLimits } from '../connection-guard.js';
import type { Metrics } from '../metrics.js';
import { parseListen } from '../config.js';

export interface GrpcServerConfig {
  readonly listen: string;
  readonly insecure: boolean;
  readonly tls?: { readonly ca: Buffer; readonly cert: Buffer; readonly key: Buffer } | undefined;
  readonly maxMessageBytes: number;
  readonly connections: ConnectionLimits;
  /** How often the server pings an agent's connection (default 60 s). */
  readonly keepaliveTimeMs?: number;
}

export function createGrpcServer(config: GrpcServerConfig, handlers: AgentServiceHandlers, deps: { log: Logger; metrics: Metrics }) {
  const { log } = deps;
  let server: grpc.Server | undefined;
  let listener: NetServer | undefined;
  let tlsListener: TlsServer | undefined;
  let tls = config.tls;
  let guard: ConnectionGuard | undefined;
  let port = 0;
  const health = new HealthImplementation({ '': 'NOT_SERVING', 'nodeward.v1.AgentService': 'NOT_SERVING' });

  return {
    /** The bound port (useful with port 0). */
    get port(): number {
      return port;
    },
    async start(): Promise<void> {
      if (server) return;
      const listen = parseListen(config.listen);
      if (!listen) throw new Error(`cannot listen for gRPC on ${config.listen}: not host:port`);
      const s = new grpc.Server({
        'grpc.max_receive_message_length': config.maxMessageBytes,
        'grpc.max_send_message_length': config.maxMessageBytes,
        'grpc.keepalive_time_ms': config.keepaliveTimeMs ?? 60_000,
        'grpc.keepalive_timeout_ms': 20_000,
        'grpc.keepalive_permit_without_calls': 1,
        'grpc.http2.min_ping_interval_without_data_ms': 10_000,
      });
      s.addService(nodewardProto().AgentService.service, handlers as unknown as grpc.UntypedServiceImplementation);
      health.addToServer(s);
      // TLS, when on, is ours (above): grpc-js speaks HTTP/2 over the socket it is given.
      const injector = s.createConnectionInjector(grpc.ServerCredentials.createInsecure());
      let l: NetServer;
      if (config.insecure) {
        log.warn('gRPC is listening WITHOUT TLS (insecure mode): node identities are not verified');
        l = createNetServer((socket: Socket) => injector.injectConnection(socket));
      } else {
        if (!tls) throw new Error('gRPC TLS material is required unless insecure mode is set');
        const t = createTlsServer({
          ca: tls.ca, cert: tls.cert, key: tls.key,
          requestCert: true, rejectUnauthorized: true, ALPNProtocols: ['h2'], minVersion: 'TLSv1.2',
        });
        t.on('secureConnection', (socket: TLSSocket) => injector.injectConnection(socket));
        l = t;
        tlsListener = t;
      }
      guard = guardConnections(l, config.connections, { listener: 'grpc', metrics: deps.metrics, log });
      port = await new Promise<number>((resolve, reject) => {
        l.once('error', (err) => reject(new Error(`cannot listen for gRPC on ${config.listen}: ${err.message}`)));
        l.listen(listen.port, listen.host, () => {
          const addr = l.address();
          resolve(typeof addr === 'object' && addr ? addr.port : listen.port);
        });
      });
      l.on('error', (err) => log.error({ err: err.message }, 'gRPC listener error'));
      server = s;
      listener = l;
      health.setStatus('', 'SERVING');
      health.setStatus('nodeward.v1.AgentService', 'SERVING');
      log.info({ port, connections: config.connections }, 'gRPC listening');
    },
    /**
     * New TLS material (a renewed certificate, the CAs of a rotation) for the connections that
     * follow; open streams keep the session they have.
     */
    setTls(next: { readonly ca: Buffer; readonly cert: Buffer; readonly key: Buffer }): void {
      tls = next;
      tlsListener?.setSecureContext({ ca: next.ca, cert: next.cert, key: next.key, minVersion: 'TLSv1.2' });
    },
    /** Stops accepting, gives open streams `graceMs` to finish, then cuts them. */
    async stop(graceMs = 5000): Promise<void> {
      const s = server;
      const l = listener;
      const g = guard;
      server = undefined;
      listener = undefined;
      tlsListener = undefined;
      guard = undefined;
      if (!s) return;
      health.setStatus('', 'NOT_SERVING');
      l?.close();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          s.forceShutdown();
          resolve();
        }, graceMs);
        s.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      // Handshakes under way, and anything grpc-js did not own yet.
      g?.destroyAll();
    },
  };
}
