// The collector's gRPC endpoint: mTLS by default, message-size caps, keepalive, and the
// standard health service.
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { nodewardProto } from '../../proto/load.js';
import type { Logger } from '../../proto/support/logger.js';
import type { AgentServiceHandlers } from '../../proto/gen/nodeward/v1/AgentService.js';

export interface GrpcServerConfig {
  readonly listen: string;
  readonly insecure: boolean;
  readonly tls?: { readonly ca: Buffer; readonly cert: Buffer; readonly key: Buffer } | undefined;
  readonly maxMessageBytes: number;
}

export function createGrpcServer(config: GrpcServerConfig, handlers: AgentServiceHandlers, log: Logger) {
  let server: grpc.Server | undefined;
  let port = 0;
  const health = new HealthImplementation({ '': 'NOT_SERVING', 'nodeward.v1.AgentService': 'NOT_SERVING' });

  return {
    /** The bound port (useful with port 0). */
    get port(): number {
      return port;
    },
    async start(): Promise<void> {
      if (server) return;
      const s = new grpc.Server({
        'grpc.max_receive_message_length': config.maxMessageBytes,
        'grpc.max_send_message_length': config.maxMessageBytes,
        'grpc.keepalive_time_ms': 60_000,
        'grpc.keepalive_timeout_ms': 20_000,
        'grpc.keepalive_permit_without_calls': 1,
        'grpc.http2.min_ping_interval_without_data_ms': 10_000,
      });
      s.addService(nodewardProto().AgentService.service, handlers as unknown as grpc.UntypedServiceImplementation);
      health.addToServer(s);
      let creds: grpc.ServerCredentials;
      if (config.insecure) {
        log.warn('gRPC is listening WITHOUT TLS (insecure mode): node identities are not verified');
        creds = grpc.ServerCredentials.createInsecure();
      } else {
        if (!config.tls) throw new Error('gRPC TLS material is required unless insecure mode is set');
        creds = grpc.ServerCredentials.createSsl(config.tls.ca, [{ cert_chain: config.tls.cert, private_key: config.tls.key }], true);
      }
      port = await new Promise<number>((resolve, reject) => {
        s.bindAsync(config.listen, creds, (err, p) => (err ? reject(new Error(`cannot listen for gRPC on ${config.listen}: ${err.message}`)) : resolve(p)));
      });
      server = s;
      health.setStatus('', 'SERVING');
      health.setStatus('nodeward.v1.AgentService', 'SERVING');
      log.info({ port }, 'gRPC listening');
    },
    /** Stops accepting, gives open streams `graceMs` to finish, then cuts them. */
    async stop(graceMs = 5000): Promise<void> {
      const s = server;
      server = undefined;
      if (!s) return;
      health.setStatus('', 'NOT_SERVING');
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
    },
  };
}
