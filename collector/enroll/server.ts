// The enrollment endpoint: POST /v1/enroll over HTTPS (server authentication only: the
// agent has no client certificate yet; that is what it comes for).
//
//   Authorization: Bearer <the agent pod's projected ServiceAccount token>
//   {"csr": "-----BEGIN CERTIFICATE REQUEST-----..."}
//   200 {"certificate": "<PEM>", "notAfter": "<RFC 3339>"}
//   400 a bad request or CSR, 401 a token the API server does not accept, 403 a token
//   whose pod does not run on the node the CSR names, 503 the API server is unreachable
//   or the endpoint is busy (retry later). Bodies are {"error": "..."}.
//
// Every decision is made fresh from the API server (TokenReview, then the pod), nothing is
// cached, and the token is never logged.
//
// A request counts against maxInFlight only once its body is in: the body is read first,
// under a deadline (bodyTimeoutMs; 408 after it), so slow senders cost their socket and at
// most 16 KiB each, bounded by the connection cap and the TLS handshake deadline, and never
// hold the slots complete requests need.
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../proto/support/logger.js';
import { guardConnections, type ConnectionGuard, type ConnectionLimits } from '../connection-guard.js';
import type { Metrics } from '../metrics.js';
import { checkPod, checkToken, type EnrollPolicy } from './authorize.js';
import { CsrError, readAgentCsr } from './csr.js';
import type { Issuer } from './issuer.js';
import { KubeApiError, type KubeApi } from './kube-api.js';

export const ENROLL_PATH = '/v1/enroll';
const MAX_BODY_BYTES = 16 * 1024;

export interface EnrollServerConfig {
  readonly host: string;
  readonly port: number;
  readonly tls: { readonly cert: Buffer; readonly key: Buffer };
  readonly policy: EnrollPolicy;
  /** Requests handled at once (bodies read); more get 503. */
  readonly maxInFlight: number;
  /** How long a request may take to send its body; 408 after that. */
  readonly bodyTimeoutMs: number;
  readonly connections: ConnectionLimits;
}

export interface EnrollServerDeps {
  readonly kube: KubeApi;
  readonly issuer: Issuer;
  readonly log: Logger;
  readonly metrics: Metrics;
  /** The collector's clock: certificates are valid from its now (default: the system's). */
  readonly now?: () => number;
}

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export function createEnrollServer(config: EnrollServerConfig, deps: EnrollServerDeps) {
  const { log } = deps;
  let server: Server | undefined;
  let guard: ConnectionGuard | undefined;
  let port = 0;
  let inFlight = 0;
  let issued = 0;
  let refused = 0;
  let issuer = deps.issuer;

  /** The whole body, within MAX_BODY_BYTES and the body deadline. */
  function readBody(req: IncomingMessage): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const timer = setTimeout(() => {
        deps.metrics.inc('nodeward_enroll_body_timeouts_total');
        finish(new HttpError(408, `request body not received within ${config.bodyTimeoutMs} ms`));
      }, config.bodyTimeoutMs);
      const onData = (chunk: Buffer): void => {
        size += chunk.length;
        if (size > MAX_BODY_BYTES) finish(new HttpError(413, `request body larger than ${MAX_BODY_BYTES} bytes`));
        else chunks.push(chunk);
      };
      const onEnd = (): void => finish();
      const onAborted = (): void => finish(new HttpError(400, 'request aborted'));
      function finish(err?: HttpError): void {
        clearTimeout(timer);
        req.off('data', onData).off('end', onEnd).off('error', onAborted).off('close', onAborted);
        if (err) {
          req.pause();
          reject(err);
        } else resolve(Buffer.concat(chunks));
      }
      req.on('data', onData).once('end', onEnd).once('error', onAborted).once('close', onAborted);
    });
  }

  function parseBody(raw: Buffer): unknown {
    try {
      return JSON.parse(raw.toString('utf8')) as unknown;
    } catch {
      throw new HttpError(400, 'request body is not JSON');
    }
  }

  async function enroll(token: string, raw: Buffer): Promise<{ certificate: string; notAfter: string }> {
    const body = parseBody(raw);
    const csr = await readAgentCsr((body as { csr?: unknown } | null)?.csr);
    const review = await deps.kube.tokenReview(token, [config.policy.audience]);
    const tokenOk = checkToken(review, config.policy);
    if (!tokenOk.ok) throw new HttpError(tokenOk.status, tokenOk.reason);
    const pod = await deps.kube.getPod(config.policy.agentNamespace, tokenOk.podName);
    const decision = checkPod(review, pod, csr.node, config.policy);
    if (!decision.ok) throw new HttpError(decision.status, decision.reason);
    const cert = await issuer.issue(csr, new Date((deps.now ?? Date.now)()));
    issued++;
    log.info({ node: csr.node, pod: decision.pod, serial: cert.serialNumber, notAfter: cert.notAfter.toISOString() }, 'agent certificate issued');
    return { certificate: cert.certPem, notAfter: cert.notAfter.toISOString() };
  }

  function send(res: ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
    res.end(text);
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '').split('?')[0];
    if (path !== ENROLL_PATH) return send(res, 404, { error: 'not found' });
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      return send(res, 405, { error: 'use POST' });
    }
    const peer = req.socket.remoteAddress;
    const auth = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    if (!auth) return refuse(res, peer, 401, 'an Authorization: Bearer <ServiceAccount token> header is required');
    if (!/^application\/json\b/.test(req.headers['content-type'] ?? '')) return refuse(res, peer, 415, 'content-type must be application/json');
    const token = auth[1] as string;
    // The body first, outside the in-flight count: a slow sender holds only its socket.
    readBody(req).then((raw) => {
      if (res.writableEnded || req.socket.destroyed) return;
      if (inFlight >= config.maxInFlight) {
        res.setHeader('retry-after', '5');
        return send(res, 503, { error: 'busy; retry later' });
      }
      inFlight++;
      enroll(token, raw).then(
        (ok) => send(res, 200, ok),
        (err: unknown) => failed(res, peer, err),
      ).finally(() => {
        inFlight--;
      });
    }, (err: unknown) => {
      // The rest of a refused body is not read: the connection closes after the answer.
      res.setHeader('connection', 'close');
      failed(res, peer, err);
    });
  }

  function refuse(res: ServerResponse, peer: string | undefined, status: number, message: string): void {
    if (status === 401 || status === 403 || status === 400) {
      refused++;
      log.warn({ peer, status, reason: message }, 'enrollment refused');
    }
    if (status === 503) res.setHeader('retry-after', '5');
    send(res, status, { error: message });
  }

  function failed(res: ServerResponse, peer: string | undefined, err: unknown): void {
    if (res.headersSent || res.destroyed) return;
    if (err instanceof HttpError) return refuse(res, peer, err.status, err.message);
    if (err instanceof CsrError) return refuse(res, peer, 400, err.message);
    if (err instanceof KubeApiError) {
      log.error({ err: err.message, apiStatus: err.status }, 'Kubernetes API call failed during enrollment');
      return refuse(res, peer, 503, 'cannot verify the token with the Kubernetes API now; retry later');
    }
    log.error({ err: (err as Error).message }, 'enrollment failed');
    refuse(res, peer, 500, 'internal error');
  }

  return {
    get port(): number {
      return port;
    },
    get stats(): { issued: number; refused: number } {
      return { issued, refused };
    },
    async start(): Promise<void> {
      if (server) return;
      const s = createServer({ cert: config.tls.cert, key: config.tls.key, minVersion: 'TLSv1.2' }, handle);
      s.headersTimeout = 10_000;
      s.requestTimeout = 30_000;
      guard = guardConnections(s, config.connections, { listener: 'enroll', metrics: deps.metrics, log });
      await new Promise<void>((resolve, reject) => {
        s.once('error', (err) => reject(new Error(`cannot listen for enrollment on ${config.host}:${config.port}: ${err.message}`)));
        s.listen(config.port, config.host, () => resolve());
      });
      server = s;
      port = (s.address() as AddressInfo).port;
      log.info({ port }, 'enrollment listening');
    },
    /** A renewed serving certificate (new connections) and issuer (next enrollments), without a restart. */
    setCredentials(tls: { readonly cert: Buffer; readonly key: Buffer }, next: Issuer): void {
      issuer = next;
      server?.setSecureContext({ cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2' });
    },
    /** Safe before start and twice. */
    async stop(): Promise<void> {
      const s = server;
      server = undefined;
      if (!s) return;
      await new Promise<void>((resolve) => {
        s.close(() => resolve());
        s.closeAllConnections();
        // Connections still in their TLS handshake are not the HTTP server's yet.
        guard?.destroyAll();
      });
      guard = undefined;
    },
  };
}

export type EnrollServer = ReturnType<typeof createEnrollServer>;
