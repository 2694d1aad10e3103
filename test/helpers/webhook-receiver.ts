// A real HTTP webhook receiver on 127.0.0.1 for tests: records every request (headers and
// the exact body bytes) and answers as the test says: a status, or never (a hanging peer).
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  readonly at: number;
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  /** The body exactly as received (what a signature covers). */
  readonly raw: Buffer;
  readonly body: any;
}

/** What to answer the n-th request (0-based): a status with optional headers and body, or 'hang'. */
export type Answer = number | 'hang' | { status: number; headers?: Record<string, string>; body?: string };

export interface Receiver {
  readonly url: string;
  readonly port: number;
  readonly requests: ReceivedRequest[];
  /** Requests answered with a 2xx. */
  accepted(): ReceivedRequest[];
  answer: (request: ReceivedRequest, n: number) => Answer;
  /**
   * While true, every connection is closed as soon as it is made: to a sender the receiver is
   * down, yet it keeps its port, so nothing else can take it before it comes back up.
   */
  down: boolean;
  close(): Promise<void>;
}

/**
 * `tls`: serve HTTPS with this certificate and key (the URL then names `localhost`).
 * `now`: what stamps each request's `at` (the test's clock; default the system's).
 */
export async function startReceiver(answer: (request: ReceivedRequest, n: number) => Answer = () => 200, port = 0,
  tls?: { cert: Buffer; key: Buffer }, now: () => number = Date.now): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  const statuses: number[] = [];
  const hanging: ServerResponse[] = [];
  const r: Receiver = {
    url: '', port: 0, requests, answer, down: false,
    accepted: () => requests.filter((_, i) => (statuses[i] ?? 0) >= 200 && (statuses[i] ?? 0) < 300),
    close: async () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      let body: unknown = raw.toString('utf8');
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        // kept as text
      }
      const rec: ReceivedRequest = { at: now(), method: req.method ?? '', path: req.url ?? '', headers: req.headers, raw, body };
      const n = requests.length;
      requests.push(rec);
      const a = r.answer(rec, n);
      if (a === 'hang') {
        statuses[n] = 0;
        hanging.push(res);
        return;
      }
      const { status, headers, body: text } = typeof a === 'number' ? { status: a, headers: {}, body: '' } : a;
      statuses[n] = status;
      res.writeHead(status, { 'content-type': 'text/plain', ...headers });
      res.end(text ?? '');
    });
  };
  const server: Server = tls ? createHttpsServer({ cert: tls.cert, key: tls.key }, handle) : createServer(handle);
  server.on('connection', (socket) => {
    if (r.down) socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const p = (server.address() as AddressInfo).port;
  return Object.assign(r, { url: tls ? `https://localhost:${p}` : `http://127.0.0.1:${p}`, port: p });
}
