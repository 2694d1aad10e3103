// The one HTTP client every webhook destination shares: it owns the request timeout, the
// classing of answers (2xx delivered; 408, 429 and 5xx retried; anything else permanent),
// Retry-After, the backoff between tries (collector/backoff.ts), and what of an answer may be kept as an error
// (bounded, with the destination's secrets scrubbed). Sinks never touch the network.
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { rootCertificates } from 'node:tls';

export type SendOutcome =
  | { readonly kind: 'delivered'; readonly status: number }
  | { readonly kind: 'retry'; readonly status: number | null; readonly error: string; readonly retryAfterMs?: number | undefined }
  | { readonly kind: 'permanent'; readonly status: number; readonly error: string };

export interface SenderOptions {
  readonly url: string;
  readonly timeoutMs: number;
  /** PEM of an extra CA, trusted next to the system's roots. Verification is always on. */
  readonly ca?: string | undefined;
  /** Values that must never be kept in an error text (the secret, header values). */
  readonly secrets?: readonly string[];
}

/** How much of a refusing answer's body is read, and how much of it is kept. */
const BODY_READ_BYTES = 4096;
const BODY_KEPT_CHARS = 200;
/** A Retry-After further out than this is treated as this (a receiver cannot park us for days). */
export const MAX_RETRY_AFTER_MS = 3600_000;

export function classify(status: number): SendOutcome['kind'] {
  if (status >= 200 && status < 300) return 'delivered';
  if (status === 408 || status === 429 || status >= 500) return 'retry';
  return 'permanent';
}

/** Retry-After as delay-seconds or an HTTP date (RFC 9110, 10.2.3); undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  let ms: number;
  if (/^\d+$/.test(v)) ms = Number(v) * 1000;
  else {
    const at = Date.parse(v);
    if (Number.isNaN(at)) return undefined;
    ms = at - now;
  }
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, ms));
}

/** Bounded, single-line, with every secret value replaced. */
export function safeText(text: string, secrets: readonly string[], max = BODY_KEPT_CHARS): string {
  let out = text;
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join('<redacted>');
  // eslint-disable-next-line no-control-regex
  out = out.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return out.length > max ? `${out.slice(0, max)}…` : out;
}

export function createSender(opts: SenderOptions) {
  const base = new URL(opts.url);
  const tls = base.protocol === 'https:';
  // Keep-alive: a destination gets a steady trickle of small posts.
  const agent = tls
    ? new HttpsAgent({ keepAlive: true, maxSockets: 2, ...(opts.ca ? { ca: [...rootCertificates, opts.ca] } : {}) })
    : new HttpAgent({ keepAlive: true, maxSockets: 2 });
  const secrets = opts.secrets ?? [];

  function target(path: string): URL {
    const u = new URL(base.href);
    if (path) u.pathname = u.pathname.replace(/\/+$/, '') + path;
    return u;
  }

  return {
    /** One POST. Never throws: every failure is an outcome. */
    post(path: string, body: string, headers: Readonly<Record<string, string>>, signal?: AbortSignal): Promise<SendOutcome> {
      const started = Date.now();
      return new Promise<SendOutcome>((resolve) => {
        let settled = false;
        const finish = (o: SendOutcome): void => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          resolve(o);
        };
        const send = tls ? httpsRequest : httpRequest;
        const payload = Buffer.from(body, 'utf8');
        const req = send(target(path), {
          method: 'POST', agent,
          headers: { ...headers, 'content-length': String(payload.length), 'user-agent': 'nodeward-collector' },
        }, (res: IncomingMessage) => {
          const status = res.statusCode ?? 0;
          const kind = classify(status);
          if (kind === 'delivered') {
            res.resume();
            res.on('end', () => finish({ kind, status }));
            res.on('error', () => finish({ kind, status }));
            return;
          }
          const chunks: Buffer[] = [];
          let read = 0;
          const done = (): void => {
            const excerpt = safeText(Buffer.concat(chunks).toString('utf8'), secrets);
            const error = `HTTP ${status}${res.statusMessage ? ` ${safeText(res.statusMessage, secrets, 60)}` : ''}${excerpt ? `: ${excerpt}` : ''}`;
            if (kind === 'retry') {
              const ra = res.headers['retry-after'];
              finish({ kind, status, error, retryAfterMs: parseRetryAfter(Array.isArray(ra) ? ra[0] : ra, Date.now()) });
            } else finish({ kind: 'permanent', status, error });
          };
          res.on('data', (c: Buffer) => {
            if (read < BODY_READ_BYTES) chunks.push(c.subarray(0, BODY_READ_BYTES - read));
            read += c.length;
            if (read >= BODY_READ_BYTES) {
              res.destroy();
              done();
            }
          });
          res.on('end', done);
          res.on('error', done);
        });
        // One deadline for the whole exchange: connect, send, and the answer's head and body.
        const timer = setTimeout(() => {
          req.destroy();
          finish({ kind: 'retry', status: null, error: `timed out after ${opts.timeoutMs} ms` });
        }, opts.timeoutMs);
        const onAbort = (): void => {
          req.destroy();
          finish({ kind: 'retry', status: null, error: 'stopped before an answer came' });
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        req.on('error', (err: NodeJS.ErrnoException) => {
          const what = err.code ? `${err.code}: ${err.message}` : err.message;
          finish({ kind: 'retry', status: null, error: `${safeText(what, secrets, 300)} (after ${Date.now() - started} ms)` });
        });
        req.end(payload);
      });
    },
    close(): void {
      agent.destroy();
    },
  };
}

export type Sender = ReturnType<typeof createSender>;
