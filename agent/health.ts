// The agent's liveness and readiness endpoint, for the DaemonSet's probes. Plain HTTP on
// the node's loopback only: it says whether the agent runs and has scanned, nothing else.
import { createServer, type Server } from 'node:http';

export interface HealthConfig {
  /** host:port; the DaemonSet probes 127.0.0.1:9102 (the pod shares the host network). */
  readonly host: string;
  readonly port: number;
}

export function createHealthServer(config: HealthConfig, deps: { ready: () => boolean }) {
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
