// The two Kubernetes API calls enrollment makes, and nothing else: a TokenReview (is this
// agent's token valid, and whose is it?) and a get of one pod (which node does it run on?).
// Plain HTTPS to the API server with the collector's own ServiceAccount token, which the
// kubelet rotates: the token and CA files are read at every call.
import { readFile } from 'node:fs/promises';
import { request } from 'node:https';

export interface KubeApiConfig {
  /** https://host:port of the API server. */
  readonly server: string;
  readonly caFile: string;
  readonly tokenFile: string;
  readonly timeoutMs: number;
}

export interface TokenReviewStatus {
  readonly authenticated: boolean;
  readonly username: string;
  readonly uid: string;
  readonly groups: readonly string[];
  readonly extra: Readonly<Record<string, readonly string[]>>;
  readonly audiences: readonly string[];
  readonly error: string;
}

export interface PodFacts {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly nodeName: string;
  readonly serviceAccountName: string;
  readonly phase: string;
  readonly deleting: boolean;
}

/** A failed call. `retryable` when the API server was unreachable or answered 429/5xx. */
export class KubeApiError extends Error {
  readonly code = 'KUBE_API';
  constructor(message: string, readonly retryable: boolean, readonly status?: number) {
    super(message);
  }
}

export interface KubeApi {
  tokenReview(token: string, audiences: readonly string[]): Promise<TokenReviewStatus>;
  /** The pod, or undefined when it does not exist. */
  getPod(namespace: string, name: string): Promise<PodFacts | undefined>;
}

const MAX_RESPONSE_BYTES = 1024 * 1024;

export function createKubeApi(config: KubeApiConfig): KubeApi {
  const base = new URL(config.server);
  if (base.protocol !== 'https:') throw new Error(`the Kubernetes API server must be https, got ${config.server}`);

  async function call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
    let ca: Buffer;
    let token: string;
    try {
      [ca, token] = await Promise.all([readFile(config.caFile), readFile(config.tokenFile, 'utf8').then((t) => t.trim())]);
    } catch (err) {
      throw new KubeApiError(`cannot read the API credentials: ${(err as Error).message}`, true);
    }
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(new URL(path, base), {
        method,
        ca,
        timeout: config.timeoutMs,
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'application/json',
          ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}),
        },
      }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_RESPONSE_BYTES) req.destroy(new Error('response too large'));
          else chunks.push(c);
        });
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          let json: unknown;
          try {
            json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            json = undefined;
          }
          resolve({ status, json });
        });
        res.on('error', (err) => reject(new KubeApiError(`${method} ${path}: ${err.message}`, true)));
      });
      req.on('timeout', () => req.destroy(new Error(`timed out after ${config.timeoutMs} ms`)));
      req.on('error', (err) => reject(new KubeApiError(`${method} ${path}: ${err.message}`, true)));
      if (payload) req.write(payload);
      req.end();
    });
  }

  function failure(what: string, status: number, json: unknown): KubeApiError {
    const message = (json as { message?: unknown } | undefined)?.message;
    const detail = typeof message === 'string' ? `: ${message.slice(0, 300)}` : '';
    return new KubeApiError(`${what}: HTTP ${status}${detail}`, status === 429 || status >= 500, status);
  }

  return {
    async tokenReview(token, audiences) {
      const { status, json } = await call('POST', '/apis/authentication.k8s.io/v1/tokenreviews', {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenReview',
        spec: { token, audiences: [...audiences] },
      });
      if (status !== 200 && status !== 201) throw failure('TokenReview', status, json);
      const s = ((json as { status?: Record<string, unknown> } | undefined)?.status ?? {}) as Record<string, unknown>;
      const user = (s.user ?? {}) as Record<string, unknown>;
      const extra: Record<string, string[]> = {};
      for (const [k, v] of Object.entries((user.extra ?? {}) as Record<string, unknown>)) {
        if (Array.isArray(v)) extra[k] = v.filter((x): x is string => typeof x === 'string');
      }
      return {
        authenticated: s.authenticated === true,
        username: typeof user.username === 'string' ? user.username : '',
        uid: typeof user.uid === 'string' ? user.uid : '',
        groups: Array.isArray(user.groups) ? user.groups.filter((g): g is string => typeof g === 'string') : [],
        extra,
        audiences: Array.isArray(s.audiences) ? s.audiences.filter((a): a is string => typeof a === 'string') : [],
        error: typeof s.error === 'string' ? s.error : '',
      };
    },
    async getPod(namespace, name) {
      const { status, json } = await call('GET', `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}`);
      if (status === 404) return undefined;
      if (status !== 200) throw failure(`get pod ${namespace}/${name}`, status, json);
      const pod = (json ?? {}) as { metadata?: Record<string, unknown>; spec?: Record<string, unknown>; status?: Record<string, unknown> };
      const str = (v: unknown): string => (typeof v === 'string' ? v : '');
      return {
        namespace: str(pod.metadata?.namespace),
        name: str(pod.metadata?.name),
        uid: str(pod.metadata?.uid),
        nodeName: str(pod.spec?.nodeName),
        serviceAccountName: str(pod.spec?.serviceAccountName),
        phase: str(pod.status?.phase),
        deleting: pod.metadata?.deletionTimestamp !== undefined && pod.metadata.deletionTimestamp !== null,
      };
    },
  };
}
