// The enrollment component with the collector's lifecycle: built from the validated
// configuration, `start` loads the CA and listens, `stop` is safe before start and twice.
// `setCredentials` takes a renewed serving certificate or a new signing CA without a restart
// (the cluster PKI renews and rotates them: pki/cluster.ts).
import type { Logger } from '../../proto/support/logger.js';
import { pemCertificates } from '../../proto/support/pem.js';
import type { Metrics } from '../metrics.js';
import { parseListen, type EnrollmentConfig } from '../config.js';
import { createIssuer, type Issuer } from './issuer.js';
import { createKubeApi } from './kube-api.js';
import { createEnrollServer, type EnrollServer } from './server.js';

/** The serving certificate, the trusted CAs (the signing CA first) and the signing CA's key. */
export interface EnrollmentCredentials {
  readonly tls: { readonly ca: Buffer; readonly cert: Buffer; readonly key: Buffer };
  readonly caKey: Buffer;
}

function issuerFor(config: EnrollmentConfig, credentials: EnrollmentCredentials): Promise<Issuer> {
  // Agents are signed by the first CA of the bundle; the others are only trusted.
  const [signing] = pemCertificates(credentials.tls.ca);
  if (!signing) throw new Error('enroll: the CA bundle holds no PEM certificate');
  return createIssuer({ caCertPem: signing, caKeyPem: credentials.caKey.toString('utf8'), lifetimeSeconds: config.lifetimeSeconds });
}

export function createEnrollment(config: EnrollmentConfig, initial: EnrollmentCredentials, deps: { log: Logger; metrics: Metrics; now?: () => number }) {
  const { log } = deps;
  let server: EnrollServer | undefined;
  let credentials = initial;
  return {
    get port(): number {
      return server?.port ?? 0;
    },
    async start(): Promise<void> {
      if (server) return;
      const listen = parseListen(config.listen);
      if (!listen) throw new Error(`enroll.listen: ${config.listen} is not host:port`);
      const issuer = await issuerFor(config, credentials);
      const kube = createKubeApi({ ...config.kubernetes, timeoutMs: 10_000 });
      const s = createEnrollServer({
        host: listen.host, port: listen.port, tls: { cert: credentials.tls.cert, key: credentials.tls.key },
        maxInFlight: config.maxInFlight, bodyTimeoutMs: config.bodyTimeoutMs,
        connections: { handshakeTimeoutMs: config.handshakeTimeoutMs, maxConnections: config.maxConnections, maxConnectionsPerSource: 0 },
        policy: { audience: config.audience, agentNamespace: config.agentNamespace, agentServiceAccount: config.agentServiceAccount },
      }, { kube, issuer, log, metrics: deps.metrics, ...(deps.now ? { now: deps.now } : {}) });
      await s.start();
      server = s;
    },
    /** New connections get the new certificate, new enrollments the new signing CA. */
    async setCredentials(next: EnrollmentCredentials): Promise<void> {
      const issuer = await issuerFor(config, next);
      credentials = next;
      server?.setCredentials({ cert: next.tls.cert, key: next.tls.key }, issuer);
    },
    async stop(): Promise<void> {
      const s = server;
      server = undefined;
      await s?.stop();
    },
  };
}
