// The two Kubernetes API calls enrollment makes, and nothing else: a TokenReview (is this
// agent's token valid, and whose is it?) and a get of one pod (which node does it run on?).
// Plain HTTPS to the API server with the collector's own ServiceAccount token, which the
// kubelet rotates: the token and CA files are read at every call (collector/kube/connection.ts).
import { kubeRequest, kubeServerUrl, readJson, statusError, type KubeConnection } from '../kube/connection.js';

export { KubeApiError } from '../kube/connection.js';

export type KubeApiConfig = KubeConnection;

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

export interface KubeApi {
  tokenReview(token: string, audiences: readonly string[]): Promise<TokenReviewStatus>;
  /** The pod, or undefined when it does not exist. */
  getPod(namespace: string, name: string): Promise<PodFacts | undefined>;
}

const MAX_RESPONSE_BYTES = 1024 * 1024;

export function createKubeApi(config: KubeApiConfig): KubeApi {
  kubeServerUrl(config.server);

  async function call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
    const res = await kubeRequest(config, method, path, { body });
    return { status: res.status, json: await readJson(res, MAX_RESPONSE_BYTES, `${method} ${path}`) };
  }

  return {
    async tokenReview(token, audiences) {
      const { status, json } = await call('POST', '/apis/authentication.k8s.io/v1/tokenreviews', {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenReview',
        spec: { token, audiences: [...audiences] },
      });
      if (status !== 200 && status !== 201) throw statusError('TokenReview', status, json);
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
      if (status !== 200) throw statusError(`get pod ${namespace}/${name}`, status, json);
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
