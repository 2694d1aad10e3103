// A local HTTPS server that speaks the Kubernetes API calls the collector makes with its
// ServiceAccount, the way the API server answers them: POST
// /apis/authentication.k8s.io/v1/tokenreviews and GET /api/v1/namespaces/{ns}/pods/{name}
// (enrollment), GET /version, and GET and PUT of named Secrets and ConfigMaps (the cluster PKI), with a
// resourceVersion per write and 409 Conflict for an update from a stale one. It
// authenticates its caller (the collector's ServiceAccount token) and authorizes it as
// manifests/collector/rbac.yaml does: create tokenreviews, get pods in nodeward-agent, get
// and update the PKI objects by name, nothing else. Like the manifests, it starts with those
// objects created empty. Tokens, pods and objects are test data.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCa, issueServerCertificate } from '../../collector/pki/pki.js';
import { namespaceObject } from '../collector/fake-pod-api.js';

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

/** A Secret or ConfigMap as the fake stores it: Secret data base64, as the API keeps it. */
export interface FakeObject {
  resourceVersion: string;
  data: Record<string, string>;
  annotations: Record<string, string>;
  labels: Record<string, string>;
}

export type ObjectResource = 'secrets' | 'configmaps';

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
  /** Secrets and ConfigMaps, keyed `secrets/<namespace>/<name>` or `configmaps/...`. */
  readonly objects: Map<string, FakeObject>;
  /** `<verb> <resource> <namespace>/<name>` refused with 403, as a missing RBAC rule would be. */
  readonly forbidden: Set<string>;
  /** The kube-system namespace's UID (GET /api/v1/namespaces/kube-system): the cluster's identity. */
  readonly kubeSystemUid: string;
  /** Updates answered 409 so far. */
  readonly conflicts: number;
  /** The object's data, decoded (Secret values from base64); undefined when it does not exist. */
  read(resource: ObjectResource, namespace: string, name: string): Record<string, string> | undefined;
  /** Changes an object as another writer (an operator) would: a new resourceVersion. */
  write(resource: ObjectResource, namespace: string, name: string, change: { data?: Record<string, string>; annotations?: Record<string, string> }): void;
  /** Holds the next GETs of the object until `count` of them are waiting, then answers them together. */
  gateReads(resource: ObjectResource, namespace: string, name: string, count: number): void;
  /** Adds an agent pod on `node` and a projected token bound to it; returns the token. */
  agentPod(node: string, opts?: { name?: string; audience?: string; ttlMs?: number; serviceAccount?: string; withNodeName?: boolean }): { token: string; pod: FakePod };
  close(): Promise<void>;
}

export const AGENT_NAMESPACE = 'nodeward-agent';
export const AGENT_SA = 'nodeward-agent';
export const AUDIENCE = 'nodeward-collector';
export const COLLECTOR_NAMESPACE = 'nodeward-collector';
/** What manifests/collector/rbac.yaml lets the collector get and update, created empty by the manifests. */
export const PKI_OBJECTS: ReadonlyArray<readonly [ObjectResource, string, string]> = [
  ['secrets', COLLECTOR_NAMESPACE, 'nodeward-pki'],
  ['secrets', COLLECTOR_NAMESPACE, 'nodeward-api-tokens'],
  ['configmaps', AGENT_NAMESPACE, 'nodeward-ca'],
];

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
  const objects = new Map<string, FakeObject>();
  const forbidden = new Set<string>();
  const kubeSystemUid = randomUUID();
  let revision = 100;
  let conflicts = 0;
  const gates = new Map<string, { count: number; waiting: Array<() => void> }>();
  for (const [resource, ns, name] of PKI_OBJECTS) {
    objects.set(`${resource}/${ns}/${name}`, { resourceVersion: String(++revision), data: {}, annotations: {}, labels: { 'app.kubernetes.io/part-of': 'nodeward' } });
  }
  const allowed = new Set(PKI_OBJECTS.map(([r, ns, n]) => `${r}/${ns}/${n}`));

  function objectJson(resource: ObjectResource, ns: string, name: string, o: FakeObject): Record<string, unknown> {
    return {
      apiVersion: 'v1', kind: resource === 'secrets' ? 'Secret' : 'ConfigMap',
      metadata: { name, namespace: ns, resourceVersion: o.resourceVersion, uid: `uid-${resource}-${name}`, labels: { ...o.labels }, ...(Object.keys(o.annotations).length ? { annotations: { ...o.annotations } } : {}) },
      ...(resource === 'secrets' ? { type: 'Opaque' } : {}),
      // The API server leaves out an empty data map.
      ...(Object.keys(o.data).length ? { data: { ...o.data } } : {}),
    };
  }

  async function objectCall(req: IncomingMessage, res: ServerResponse, entry: FakeKube['requests'][number], resource: ObjectResource, ns: string, name: string): Promise<void> {
    const key = `${resource}/${ns}/${name}`;
    const verb = req.method === 'GET' ? 'get' : req.method === 'PUT' ? 'update' : '';
    if (!verb || !allowed.has(key) || forbidden.has(`${verb} ${resource} ${ns}/${name}`)) {
      return status(res, 403, 'Forbidden', `${resource} "${name}" is forbidden: User "system:serviceaccount:nodeward-collector:nodeward-collector" cannot ${verb || req.method?.toLowerCase()} resource "${resource}" in API group "" in the namespace "${ns}"`);
    }
    if (verb === 'get') {
      const gate = gates.get(key);
      if (gate) {
        await new Promise<void>((resolve) => {
          gate.waiting.push(resolve);
          if (gate.waiting.length >= gate.count) {
            gates.delete(key);
            for (const w of gate.waiting) w();
          }
        });
      }
      const o = objects.get(key);
      if (!o) return status(res, 404, 'NotFound', `${resource} "${name}" not found`);
      return send(res, 200, objectJson(resource, ns, name, o));
    }
    const b = (await body(req)) as { metadata?: { name?: string; namespace?: string; resourceVersion?: string; annotations?: Record<string, string>; labels?: Record<string, string> }; data?: Record<string, string> } | undefined;
    entry.body = b;
    const o = objects.get(key);
    if (!o) return status(res, 404, 'NotFound', `${resource} "${name}" not found`);
    if (!b?.metadata || b.metadata.name !== name || (b.metadata.namespace !== undefined && b.metadata.namespace !== ns)) return status(res, 400, 'BadRequest', 'the name of the object does not match the name on the URL');
    if (b.metadata.resourceVersion !== undefined && b.metadata.resourceVersion !== o.resourceVersion) {
      conflicts++;
      return status(res, 409, 'Conflict', `Operation cannot be fulfilled on ${resource} "${name}": the object has been modified; please apply your changes to the latest version and try again`);
    }
    const data = b.data ?? {};
    for (const [k, v] of Object.entries(data)) {
      if (typeof v !== 'string' || (resource === 'secrets' && Buffer.from(v, 'base64').toString('base64') !== v)) return status(res, 400, 'BadRequest', `data[${k}]: illegal base64 data`);
    }
    o.data = { ...data };
    o.annotations = { ...(b.metadata.annotations ?? {}) };
    o.labels = { ...(b.metadata.labels ?? {}) };
    o.resourceVersion = String(++revision);
    return send(res, 200, objectJson(resource, ns, name, o));
  }

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
    // Open to every authenticated caller (system:public-info-viewer), as the collector's start asks it.
    if (req.method === 'GET' && path === '/version') return send(res, 200, { major: '1', minor: '31', gitVersion: 'v1.31.2', platform: 'linux/amd64' });
    if (req.method === 'POST' && path === '/apis/authentication.k8s.io/v1/tokenreviews') {
      const b = (await body(req)) as { kind?: string; spec?: { token?: string; audiences?: string[] } } | undefined;
      entry.body = b;
      if (b?.kind !== 'TokenReview' || typeof b.spec?.token !== 'string') return status(res, 400, 'BadRequest', 'not a TokenReview');
      return send(res, 201, { kind: 'TokenReview', apiVersion: 'authentication.k8s.io/v1', metadata: {}, spec: { audiences: b.spec.audiences }, status: review(b.spec.token, b.spec.audiences ?? []) });
    }
    // The collector reads the cluster's identity at start (rbac.yaml: get on this one namespace).
    if (req.method === 'GET' && path === '/api/v1/namespaces/kube-system') return send(res, 200, namespaceObject('kube-system', kubeSystemUid));
    const obj = /^\/api\/v1\/namespaces\/([^/]+)\/(secrets|configmaps)\/([^/]+)$/.exec(path);
    if (obj) return objectCall(req, res, entry, obj[2] as ObjectResource, decodeURIComponent(obj[1] as string), decodeURIComponent(obj[3] as string));
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
    caFile, tokenFile, tokens, pods, requests, objects, forbidden, kubeSystemUid,
    get conflicts() {
      return conflicts;
    },
    read(resource, ns, name) {
      const o = objects.get(`${resource}/${ns}/${name}`);
      if (!o) return undefined;
      const out: Record<string, string> = {};
      for (const [k, v] of Object.entries(o.data)) out[k] = resource === 'secrets' ? Buffer.from(v, 'base64').toString('utf8') : v;
      return out;
    },
    write(resource, ns, name, change) {
      const o = objects.get(`${resource}/${ns}/${name}`);
      if (!o) throw new Error(`no ${resource}/${ns}/${name}`);
      if (change.data) {
        o.data = {};
        for (const [k, v] of Object.entries(change.data)) o.data[k] = resource === 'secrets' ? Buffer.from(v).toString('base64') : v;
      }
      if (change.annotations) o.annotations = { ...o.annotations, ...change.annotations };
      o.resourceVersion = String(++revision);
    },
    gateReads(resource, ns, name, count) {
      gates.set(`${resource}/${ns}/${name}`, { count, waiting: [] });
    },
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
