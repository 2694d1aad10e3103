// The enrollment component with the collector's lifecycle: built from the validated
// configuration, `start` loads the CA and listens, `stop` is safe before start and twice.
import type { Logger } from '../../proto/support/logger.js';
import type { Metrics } from '../metrics.js';
import { parseListen, type CollectorConfig, type EnrollmentConfig } from '../config.js';
import { createIssuer } from './issuer.js';
import { createKubeApi } from './kube-api.js';
import { createEnrollServer, type EnrollServer } from './server.js';

export function createEnrollment(config: EnrollmentConfig, serving: NonNullable<CollectorConfig['tls']>, deps: { log: Logger; metrics: Metrics; now?: () => number }) {
  const { log } = deps;
  let server: EnrollServer | undefined;
  return {
    get port(): number {
      return server?.port ?? 0;
    },
    async start(): Promise<void> {
      if (server) return;
      const listen = parseListen(config.listen);
      if (!listen) throw new Error(`enroll.listen: ${config.listen} is not host:port`);
      const issuer = await createIssuer({ caCertPem: config.caCert.toString('utf8'), caKeyPem: config.caKey.toString('utf8'), lifetimeSeconds: config.lifetimeSeconds });
      const kube = createKubeApi({ ...config.kubernetes, timeoutMs: 10_000 });
      const s = createEnrollServer({
        host: listen.host, port: listen.port, tls: { cert: serving.cert, key: serving.key },
        maxInFlight: config.maxInFlight, bodyTimeoutMs: config.bodyTimeoutMs,
        connections: { handshakeTimeoutMs: config.handshakeTimeoutMs, maxConnections: config.maxConnections, maxConnectionsPerSource: 0 },
        policy: { audience: config.audience, agentNamespace: config.agentNamespace, agentServiceAccount: config.agentServiceAccount },
      }, { kube, issuer, log, metrics: deps.metrics, ...(deps.now ? { now: deps.now } : {}) });
      await s.start();
      server = s;
    },
    async stop(): Promise<void> {
      const s = server;
      server = undefined;
      await s?.stop();
    },
  };
}
