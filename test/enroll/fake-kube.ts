// A local HTTPS server that speaks the two Kubernetes API calls enrollment makes, the way
// the API server answers them: POST /apis/authentication.k8s.io/v1/tokenreviews and
// GET /api/v1/namespaces/{ns}/pods/{name}. It authenticates its caller (the collector's
// ServiceAccount token) and authorizes it as manifests/collector/rbac.yaml does: create
// tokenreviews, get pods in nodeward-agent, nothing else. Tokens and pods are test data.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCa, issueServerCertificate } from '../../collector/pki/pki.js';

export interface FakePod {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly nodeName: string;
  readonly serviceAccountName: string;
  phase?: string;
  deleting?: boolean;
}

export interface FakeToken {
  /** namespace/name of the ServiceAccount. */
  readonly serviceAccount: string;
  readonly audiences: readonly string[];
  readonly expiresAt: number;
  /** The pod it is bound to (projected tokens are); absent for a legacy Secret token. */
  readonly pod?: { readonly namespace: string; readonly name: string; readonly uid: string; readonly nodeName?: string };
}

export interface FakeKube {
  /** https://127.0.0.1:PORT */
  readonly url: string;
  /** CA of the fake API server (what the collector's kubernetes.caFile points to). */
  readonly caFile: string;
  /** The collector's own ServiceAccount token (kubernetes.tokenFile). */
  readonly tokenFile: string;
  readonly tokens: Map<string, FakeToken>;
  readonly pods: Map<string, FakePod>;
  readonly requests: Array<{ method: string; path: string; body?: unknown; caller: 'collector' | 'other' }>;
  /** Answers every call with this status instead (to simulate an outage), until cleared. */
  failWith: number | undefined;
  /**
   * TokenReviews ignore spec.audiences, as an authenticator that does not know audiences does:
   * tokens are checked against the API server's own audience, and status.audiences is empty.
   */
  audienceUnaware: boolean;
  /** Adds an agent pod on `node` and a projected token bound to it; returns the token. */
  agentPod(node: string, opts?: { name?: string; audience?: string; ttlMs?: number; serviceAccount?: string; withNodeName?: boolean }): { token: string; pod: FakePod };
  close(): Promise<void>;
}

export const AGENT_NAMESPACE = 'nodeward-agent';
export const AGENT_SA = 'nodeward-agent';
export const AUDIENCE = 'nodeward-collector';

export async function startFakeKube(): Promise<FakeKube> {
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-fake-kube-'));
  const ca = await createCa(null, { commonName: 'fake kubernetes CA' });
  const serving = await issueServerCertificate(ca, ['127.0.0.1', 'localhost']);
  const caFile = join(dir, 'ca.crt');
  const tokenFile = join(dir, 'token');
  const collectorToken = `collector-sa-${randomUUID()}`;
  await writeFile(caFile, ca.certPem);
  await writeFile(tokenFile, `${collectorToken}\n`);

  const tokens = new Map<string, FakeToken>();
  const pods = new Map<string, FakePod>();
  const requests: FakeKube['requests'] = [];
  let counter = 0;

  const send = (res: ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const status = (res: ServerResponse, code: number, reason: string, message: string): void =>
    send(res, code, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason, message, code });

  async function body(req: IncomingMessage): Promise<unknown> {
    const chunks: Buffer[] = [];
    for await (const c of req as AsyncIterable<Buffer>) chunks.push(c);
    try {
      return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
    } catch {
      return undefined;
    }
  }

  function review(token: string, audiences: readonly string[]): Record<string, unknown> {
    const t = tokens.get(token);
    if (!t) return { authenticated: false, error: 'invalid bearer token' };
    if (Date.now() >= t.expiresAt) return { authenticated: false, error: 'invalid bearer token, token has expired' };
    const wanted = audiences.length > 0 && !api.audienceUnaware ? audiences : ['https://kubernetes.default.svc'];
    const matched = t.audiences.filter((a) => wanted.includes(a));
    if (matched.length === 0) return { authenticated: false, error: 'invalid bearer token, token audiences are invalid for the target audiences' };
    const extra: Record<string, string[]> = {};
    if (t.pod) {
      // A bound token stops validating when its pod is gone or replaced.
      const pod = pods.get(`${t.pod.namespace}/${t.pod.name}`);
      if (!pod || pod.uid !== t.pod.uid) return { authenticated: false, error: `invalid bearer token, pod "${t.pod.name}" not found or replaced` };
      extra['authentication.kubernetes.io/pod-name'] = [t.pod.name];
      extra['authentication.kubernetes.io/pod-uid'] = [t.pod.uid];
      if (t.pod.nodeName) extra['authentication.kubernetes.io/node-name'] = [t.pod.nodeName];
    }
    const [ns, sa] = t.serviceAccount.split('/');
    return {
      authenticated: true,
      user: {
        username: `system:serviceaccount:${ns}:${sa}`,
        uid: randomUUID(),
        groups: ['system:serviceaccounts', `system:serviceaccounts:${ns}`, 'system:authenticated'],
        extra,
      },
      audiences: api.audienceUnaware ? [] : matched,
    };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '').split('?')[0] ?? '';
    const caller = req.headers.authorization === `Bearer ${collectorToken}` ? 'collector' : 'other';
    const entry: FakeKube['requests'][number] = { method: req.method ?? '', path, caller };
    requests.push(entry);
    if (api.failWith !== undefined) return status(res, api.failWith, 'InternalError', 'simulated outage');
    if (caller !== 'collector') return status(res, 401, 'Unauthorized', 'Unauthorized');
    if (req.method === 'POST' && path === '/apis/authentication.k8s.io/v1/tokenreviews') {
      const b = (await body(req)) as { kind?: string; spec?: { token?: string; audiences?: string[] } } | undefined;
      entry.body = b;
      if (b?.kind !== 'TokenReview' || typeof b.spec?.token !== 'string') return status(res, 400, 'BadRequest', 'not a TokenReview');
      return send(res, 201, { kind: 'TokenReview', apiVersion: 'authentication.k8s.io/v1', metadata: {}, spec: { audiences: b.spec.audiences }, status: review(b.spec.token, b.spec.audiences ?? []) });
    }
    const m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)$/.exec(path);
    if (req.method === 'GET' && m) {
      const [ns, name] = [decodeURIComponent(m[1] as string), decodeURIComponent(m[2] as string)];
      if (ns !== AGENT_NAMESPACE) return status(res, 403, 'Forbidden', `pods "${name}" is forbidden: cannot get resource "pods" in namespace "${ns}"`);
      const pod = pods.get(`${ns}/${name}`);
      if (!pod) return status(res, 404, 'NotFound', `pods "${name}" not found`);
      return send(res, 200, {
        kind: 'Pod', apiVersion: 'v1',
        metadata: { namespace: pod.namespace, name: pod.name, uid: pod.uid, ...(pod.deleting ? { deletionTimestamp: new Date().toISOString() } : {}) },
        spec: { nodeName: pod.nodeName, serviceAccountName: pod.serviceAccountName, containers: [{ name: 'agent', image: 'nodeward-agent:0.2.0' }] },
        status: { phase: pod.phase ?? 'Running' },
      });
    }
    return status(res, 403, 'Forbidden', `${req.method} ${path} is forbidden`);
  }

  const server: Server = createServer({ cert: serving.certPem, key: serving.keyPem }, (req, res) => {
    handle(req, res).catch((err: Error) => status(res, 500, 'InternalError', err.message));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;

  const api: FakeKube = {
    url: `https://127.0.0.1:${port}`,
    caFile, tokenFile, tokens, pods, requests,
    failWith: undefined,
    audienceUnaware: false,
    agentPod(node, opts = {}) {
      counter++;
      const pod: FakePod = {
        namespace: AGENT_NAMESPACE, name: opts.name ?? `nodeward-agent-${counter}`, uid: randomUUID(), nodeName: node,
        serviceAccountName: (opts.serviceAccount ?? `${AGENT_NAMESPACE}/${AGENT_SA}`).split('/')[1] as string,
      };
      pods.set(`${pod.namespace}/${pod.name}`, pod);
      const token = `agent-token-${randomUUID()}`;
      tokens.set(token, {
        serviceAccount: opts.serviceAccount ?? `${AGENT_NAMESPACE}/${AGENT_SA}`,
        audiences: [opts.audience ?? AUDIENCE],
        expiresAt: Date.now() + (opts.ttlMs ?? 3600_000),
        pod: { namespace: pod.namespace, name: pod.name, uid: pod.uid, ...(opts.withNodeName === false ? {} : { nodeName: node }) },
      });
      return { token, pod };
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
  return api;
}
