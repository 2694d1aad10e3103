// HTTPS to the Kubernetes API server as the collector's ServiceAccount, shared by enrollment
// (collector/enroll/kube-api.ts), the pod watch and the cluster PKI (kube/objects.ts). The token and CA files are read at every
// request: the kubelet rotates the token, and a request never uses a stale one.
import { readFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { request } from 'node:https';

export interface KubeConnection {
  /** https://host:port of the API server (a path prefix, as some proxies use, is kept). */
  readonly server: string;
  readonly caFile: string;
  readonly tokenFile: string;
  /** How long the socket may stay silent (connecting, waiting for headers, between body bytes). */
  readonly timeoutMs: number;
}

/** A failed call. `retryable` when the API server was unreachable or answered 429/5xx. */
export class KubeApiError extends Error {
  readonly code = 'KUBE_API';
  constructor(message: string, readonly retryable: boolean, readonly status?: number) {
    super(message);
  }
}

export interface KubeResponse {
  readonly status: number;
  readonly body: IncomingMessage;
  /** Why the call was cut short (a timeout, a bound, close()), when it was. */
  failure(): Error | undefined;
  /** Ends the call now; the body then ends with an error. */
  close(reason?: Error): void;
}

export interface KubeRequestOptions {
  readonly body?: unknown;
  /** Socket silence allowed for this call instead of the connection's timeoutMs (a long watch). */
  readonly idleTimeoutMs?: number;
  /** Aborts the call wherever it is (a component that stops). */
  readonly signal?: AbortSignal;
}

/** The base URL, checked once: only https is spoken to the API server. */
export function kubeServerUrl(server: string): URL {
  const base = new URL(server);
  if (base.protocol !== 'https:') throw new Error(`the Kubernetes API server must be https, got ${server}`);
  return base;
}

/** Sends one request and resolves once the response headers are in. */
export async function kubeRequest(conn: KubeConnection, method: 'GET' | 'POST' | 'PUT', path: string, opts: KubeRequestOptions = {}): Promise<KubeResponse> {
  const base = kubeServerUrl(conn.server);
  let ca: Buffer;
  let token: string;
  try {
    [ca, token] = await Promise.all([readFile(conn.caFile), readFile(conn.tokenFile, 'utf8').then((t) => t.trim())]);
  } catch (err) {
    throw new KubeApiError(`cannot read the API credentials: ${(err as Error).message}`, true);
  }
  const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
  const url = new URL(`${base.pathname.replace(/\/$/, '')}${path}`, base);
  const idle = opts.idleTimeoutMs ?? conn.timeoutMs;
  return new Promise((resolve, reject) => {
    let reason: Error | undefined;
    const req = request(url, {
      method,
      ca,
      timeout: idle,
      ...(opts.signal ? { signal: opts.signal } : {}),
      headers: {
        authorization: `Bearer ${token}`,
        accept: 'application/json',
        ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}),
      },
    }, (res) => resolve({
      status: res.statusCode ?? 0,
      body: res,
      failure: () => reason,
      close(r) {
        reason ??= r ?? new Error('closed');
        // A body that has ended has nothing left to cut; its socket may already be back in
        // the agent's keep-alive pool, where an error would be emitted with nobody listening
        // (an uncaught exception: a 410 ERROR event followed at once by the end of the watch).
        if (res.complete) return;
        req.destroy(reason);
      },
    }));
    req.on('timeout', () => {
      reason ??= new Error(`no answer for ${idle} ms`);
      req.destroy(reason);
    });
    // Before the response this rejects; after it, the body reports the error to its reader.
    req.on('error', (err) => reject(new KubeApiError(`${method} ${path}: ${(reason ?? err).message}`, true)));
    if (payload) req.write(payload);
    req.end();
  });
}

/** The whole body, at most `maxBytes` (more ends the call with a retryable error). */
export function readBody(res: KubeResponse, maxBytes: number, what: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const fail = (err?: Error): void => reject(new KubeApiError(`${what}: ${(res.failure() ?? err ?? new Error('connection closed')).message}`, true));
    res.body.on('data', (c: Buffer) => {
      size += c.length;
      if (size > maxBytes) res.close(new Error(`response larger than ${maxBytes} bytes`));
      else chunks.push(c);
    });
    res.body.on('end', () => resolve(Buffer.concat(chunks)));
    res.body.on('error', fail);
    // A connection cut before the end may close the body without an error event.
    res.body.on('close', () => {
      if (!res.body.complete) fail();
    });
  });
}

/** The body as JSON, or undefined when it is not JSON (an error page from a proxy). */
export async function readJson(res: KubeResponse, maxBytes: number, what: string): Promise<unknown> {
  const body = await readBody(res, maxBytes, what);
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

/** An error for an unexpected status, with the API server's own message (bounded). */
export function statusError(what: string, status: number, json: unknown): KubeApiError {
  const message = (json as { message?: unknown } | undefined)?.message;
  const detail = typeof message === 'string' ? `: ${message.slice(0, 300)}` : '';
  return new KubeApiError(`${what}: HTTP ${status}${detail}`, status === 429 || status >= 500, status);
}
