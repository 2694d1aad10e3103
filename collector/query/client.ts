// A small client of the query API for `nodeward query`, `nodeward baseline` and `nodeward node`: GET, POST and DELETE
// with a bearer token over HTTPS (trusting a given CA), errors turned into messages an
// operator can act on.
import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';

export interface Connection {
  readonly url: URL;
  readonly token: string;
  readonly ca?: Buffer | undefined;
  readonly timeoutMs?: number;
}

/** Why a query failed; `usage` means the caller asked for something the API refuses (exit 2). */
export class QueryError extends Error {
  constructor(message: string, readonly usage = false, readonly status = 0) {
    super(message);
  }
}

export function getJson<T>(conn: Connection, path: string, params: Record<string, string | number | boolean | undefined> = {}): Promise<{ status: number; body: T }> {
  return requestJson<T>(conn, 'GET', path, params);
}

function requestJson<T>(conn: Connection, method: 'GET' | 'POST' | 'DELETE', path: string, params: Record<string, string | number | boolean | undefined>, body?: unknown): Promise<{ status: number; body: T }> {
  const url = new URL(path, conn.url);
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') url.searchParams.set(k, String(v));
  const request = url.protocol === 'http:' ? httpRequest : httpsRequest;
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method,
      timeout: conn.timeoutMs ?? 30_000,
      headers: {
        authorization: `Bearer ${conn.token}`, accept: 'application/json',
        ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(conn.ca && url.protocol === 'https:' ? { ca: conn.ca } : {}),
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          body = { error: text.slice(0, 200) };
        }
        resolve({ status: res.statusCode ?? 0, body: body as T });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url.origin} within ${(conn.timeoutMs ?? 30_000) / 1000} s`)));
    req.on('error', (err: NodeJS.ErrnoException) => reject(new QueryError(connectionMessage(url, err))));
    req.end(payload);
  });
}

/** GET that must answer 200; anything else becomes a QueryError with the API's own message. */
export async function getOk<T>(conn: Connection, path: string, params: Record<string, string | number | boolean | undefined> = {}): Promise<T> {
  return ok(path, await getJson<T & { error?: string }>(conn, path, params));
}

/** POST of a JSON body that must answer 200, like getOk. */
export async function postOk<T>(conn: Connection, path: string, body: unknown): Promise<T> {
  return ok(path, await requestJson<T & { error?: string }>(conn, 'POST', path, {}, body));
}

/** DELETE that must answer 200, like getOk. */
export async function deleteOk<T>(conn: Connection, path: string): Promise<T> {
  return ok(path, await requestJson<T & { error?: string }>(conn, 'DELETE', path, {}));
}

function ok<T>(path: string, { status, body }: { status: number; body: T & { error?: string } }): T {
  if (status === 200) return body;
  const said = typeof body?.error === 'string' ? body.error : `HTTP ${status}`;
  if (status === 400) throw new QueryError(said, true, status);
  if (status === 401) throw new QueryError(`the collector refused the token (401): ${said}; check --token-file`, false, status);
  if (status === 403) throw new QueryError(`the token's role may not do this (403): ${said}`, false, status);
  if (status === 429) throw new QueryError(`rate limited (429): ${said}`, false, status);
  if (status === 404) throw new QueryError(`not found (404): ${said}`, false, status);
  if (status === 409) throw new QueryError(`refused (409): ${said}`, false, status);
  throw new QueryError(`${path}: ${said} (HTTP ${status})`, false, status);
}

function connectionMessage(url: URL, err: NodeJS.ErrnoException): string {
  const code = err.code ?? '';
  if (code === 'ECONNREFUSED') return `cannot connect to ${url.origin}: connection refused (is the collector running? see --url)`;
  if (code === 'ENOTFOUND') return `cannot resolve ${url.hostname} (see --url)`;
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code)) return `cannot verify the collector's certificate at ${url.origin} (${code}); pass the CA with --ca-file`;
  // A TLS client talking to a plain-HTTP server, and the other way round.
  if (url.protocol === 'https:' && (code === 'EPROTO' || /wrong version number|packet length too long/i.test(err.message))) {
    return `${url.origin} does not answer in TLS (it speaks plain HTTP): a test collector with api.insecure is reached at http://${url.host}, anything else is not the collector's API (see --url)`;
  }
  if (url.protocol === 'http:' && (code === 'ECONNRESET' || code === 'HPE_INVALID_CONSTANT' || /socket hang up/i.test(err.message))) {
    return `${url.origin} closed the connection without an HTTP answer: the collector's API serves HTTPS (unless api.insecure is set); use --url https://${url.host}`;
  }
  return `cannot reach ${url.origin}: ${err.message}`;
}
