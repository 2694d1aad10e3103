// The agent's liveness and readiness endpoint, for the DaemonSet's probes, and its status.
// Plain HTTP on the node's loopback only.
//   /healthz  the process runs.
//   /readyz   it has scanned the node once (readiness is about the node's checks, not the
//             collector: a pod that turned unready whenever the collector is away would be
//             restarted or drained for a problem that is not the node's, and its spool keeps
//             what it found until the collector is back).
//   /status   JSON: readiness, and the connection to the collector (whether it is up, and
//             when it is not, why: the same words the agent logs at warn). No secrets: the
//             collector's address and problem codes only.
import { createServer, type Server } from 'node:http';

export interface HealthConfig {
  /** host:port; the DaemonSet probes 127.0.0.1:9102 (the pod shares the host network). */
  readonly host: string;
  readonly port: number;
}

export function createHealthServer(config: HealthConfig, deps: { ready: () => boolean; status?: () => Record<string, unknown> }) {
  let server: Server | undefined;
  return {
    get port(): number {
      const a = server?.address();
      return typeof a === 'object' && a ? a.port : 0;
    },
    async start(): Promise<void> {
      if (server) return;
      const s = createServer((req, res) => {
        const path = (req.url ?? '').split('?')[0];
        const send = (code: number, status: string): void => {
          res.writeHead(code, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify({ status }));
        };
        if (req.method !== 'GET') send(405, 'method not allowed');
        else if (path === '/healthz') send(200, 'ok');
        else if (path === '/readyz') (deps.ready() ? send(200, 'ready') : send(503, 'not ready'));
        else if (path === '/status') {
          res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' })
            .end(JSON.stringify({ status: 'ok', ready: deps.ready(), ...deps.status?.() }));
        }
        else send(404, 'not found');
      });
      s.requestTimeout = 5000;
      await new Promise<void>((resolve, reject) => {
        s.once('error', (err) => reject(new Error(`cannot listen for health checks on ${config.host}:${config.port}: ${err.message}`)));
        s.listen(config.port, config.host, () => resolve());
      });
      server = s;
    },
    async stop(): Promise<void> {
      const s = server;
      server = undefined;
      if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
    },
  };
}

export type HealthServer = ReturnType<typeof createHealthServer>;
