// A local HTTPS server (real TLS, its own CA) that speaks the Kubernetes API's list and watch
// the way the API server does, for pods, nodes and the collections the posture checks read
// (RBAC, namespaces, network policies, quotas, limit ranges, service accounts, and the
// network policy CRDs of Calico and Cilium, whose groups discovery (GET /apis/<group>/<version>)
// serves only when the test installs them): GET /api/v1/pods (or /nodes ...) with
// limit/continue pages and a resourceVersion, and ?watch=1 from a resourceVersion, streaming
// one JSON event per line (ADDED, MODIFIED, DELETED, BOOKMARK, and ERROR with a 410 Status
// once the version is compacted away). One resourceVersion counter for every kind, as etcd
// keeps one. Besides: GET of one named DaemonSet (the agent's, which the node watch reads),
// GET /version, and GET /api/v1/namespaces/kube-system (the cluster's UID, which the collector
// reads at start: a Namespace with a UUID of its own, or any body or status the test sets). It authenticates the caller's bearer token. The test drives it: objects
// change, the history is compacted, connections are dropped, raw lines are sent.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCa, issueServerCertificate } from '../../collector/pki/pki.js';
import type { KubeConnection } from '../../collector/kube/connection.js';

export type PodObject = Record<string, any>;

/** The collections the fake lists and watches: where each is and what its objects are. */
export const RESOURCES = {
  pods: { path: '/api/v1/pods', kind: 'Pod', namespaced: true },
  nodes: { path: '/api/v1/nodes', kind: 'Node', namespaced: false },
  namespaces: { path: '/api/v1/namespaces', kind: 'Namespace', namespaced: false },
  serviceaccounts: { path: '/api/v1/serviceaccounts', kind: 'ServiceAccount', namespaced: true },
  resourcequotas: { path: '/api/v1/resourcequotas', kind: 'ResourceQuota', namespaced: true },
  limitranges: { path: '/api/v1/limitranges', kind: 'LimitRange', namespaced: true },
  networkpolicies: { path: '/apis/networking.k8s.io/v1/networkpolicies', kind: 'NetworkPolicy', namespaced: true },
  clusterroles: { path: '/apis/rbac.authorization.k8s.io/v1/clusterroles', kind: 'ClusterRole', namespaced: false },
  roles: { path: '/apis/rbac.authorization.k8s.io/v1/roles', kind: 'Role', namespaced: true },
  clusterrolebindings: { path: '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', kind: 'ClusterRoleBinding', namespaced: false },
  rolebindings: { path: '/apis/rbac.authorization.k8s.io/v1/rolebindings', kind: 'RoleBinding', namespaced: true },
  'networkpolicies.crd.projectcalico.org': { path: '/apis/crd.projectcalico.org/v1/networkpolicies', kind: 'NetworkPolicy', namespaced: true, group: 'crd.projectcalico.org/v1' },
  'globalnetworkpolicies.crd.projectcalico.org': { path: '/apis/crd.projectcalico.org/v1/globalnetworkpolicies', kind: 'GlobalNetworkPolicy', namespaced: false, group: 'crd.projectcalico.org/v1' },
  'ciliumnetworkpolicies.cilium.io': { path: '/apis/cilium.io/v2/ciliumnetworkpolicies', kind: 'CiliumNetworkPolicy', namespaced: true, group: 'cilium.io/v2' },
  'ciliumclusterwidenetworkpolicies.cilium.io': { path: '/apis/cilium.io/v2/ciliumclusterwidenetworkpolicies', kind: 'CiliumClusterwideNetworkPolicy', namespaced: false, group: 'cilium.io/v2' },
} as const satisfies Record<string, { path: string; kind: string; namespaced: boolean; group?: string }>;

export type WatchedResource = keyof typeof RESOURCES;
const RESOURCE_NAMES = Object.keys(RESOURCES) as WatchedResource[];
const BY_PATH = new Map<string, WatchedResource>(RESOURCE_NAMES.map((r) => [RESOURCES[r].path, r]));
/** An object's key in its collection: namespace/name, or name. */
const keyOf = (resource: WatchedResource, o: PodObject): string =>
  (RESOURCES[resource].namespaced ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name);

export interface FakePodApi {
  readonly url: string;
  readonly caFile: string;
  readonly tokenFile: string;
  readonly token: string;
  readonly connection: KubeConnection;
  /** Every request, in order. */
  readonly requests: Array<{ path: string; query: URLSearchParams; authorization: string | undefined }>;
  /** Watch requests currently streaming (of every collection). */
  readonly liveWatches: number;
  /** Watch requests of one collection currently streaming. */
  liveWatchesOf(resource: WatchedResource): number;
  readonly resourceVersion: number;
  /** Answer every request with this status (an outage, a missing RBAC rule) until cleared. */
  failWith: number | undefined;
  /** A watch from a compacted version gets HTTP 410 instead of a 200 stream with an ERROR event. */
  goneAsStatus: boolean;
  /** Adds or replaces a pod (ADDED or MODIFIED). */
  apply(pod: PodObject): void;
  delete(namespace: string, name: string): void;
  /** Adds or replaces a node (ADDED or MODIFIED). */
  applyNode(node: PodObject): void;
  deleteNode(name: string): void;
  /** Changes inside `fn` are written to watchers in one write (one TLS record, one read). */
  batch(fn: () => void): void;
  /** Changes inside `fn` bypass the event history, as if they happened while nobody watched and were compacted. */
  silently(fn: () => void): void;
  /** Other objects changed: the resourceVersion moves with no event. */
  bump(): number;
  bookmark(resource?: WatchedResource): void;
  /** Everything before now is compacted: live watches get ERROR 410 (unless `notify` is false). */
  compact(opts?: { notify?: boolean }): void;
  /** Sends a line as is (a string, or bytes) to every live watch of the collection. */
  raw(line: string | Buffer, resource?: WatchedResource): void;
  /** Cuts every live watch's connection. */
  dropWatches(): void;
  /** The DaemonSet GET /apis/apps/v1/namespaces/{ns}/daemonsets/{name} answers with; none: 404. */
  daemonSet: PodObject | undefined;
  /** Answers the DaemonSet GET with this status instead (403: RBAC without the rule), until cleared. */
  daemonSetStatus: number | undefined;
  /** What GET /version answers; none: 404. */
  version: Record<string, string> | undefined;
  /** The body GET /api/v1/namespaces/kube-system answers with (any JSON; a Buffer is sent as is); undefined: 404. Starts as namespaceObject('kube-system', a random UUID). */
  kubeSystem: unknown;
  /** Answers GET /api/v1/namespaces/kube-system with this status instead (403: RBAC without the rule; 500), until cleared. */
  kubeSystemStatus: number | undefined;
  /** Adds or replaces an object of any collection (ADDED or MODIFIED); it is stored as given (a malformed one too). */
  applyObject(resource: WatchedResource, object: PodObject): void;
  deleteObject(resource: WatchedResource, namespace: string, name: string): void;
  /** The objects of a collection now. */
  objectsOf(resource: WatchedResource): PodObject[];
  /** The CRD groups discovery serves (`crd.projectcalico.org/v1`, `cilium.io/v2`); the others answer 404. */
  readonly servedGroups: Set<string>;
  close(): Promise<void>;
}


export async function startFakePodApi(): Promise<FakePodApi> {
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-fake-pods-'));
  const ca = await createCa(null, { commonName: 'fake kubernetes CA' });
  const serving = await issueServerCertificate(ca, ['127.0.0.1', 'localhost']);
  const caFile = join(dir, 'ca.crt');
  const tokenFile = join(dir, 'token');
  const token = `collector-sa-${randomUUID()}`;
  await writeFile(caFile, ca.certPem);
  await writeFile(tokenFile, `${token}\n`);

  const store = (): { objects: Map<string, PodObject>; history: Array<{ rv: number; line: string }>; watchers: Set<ServerResponse> } =>
    ({ objects: new Map(), history: [], watchers: new Set() });
  const collections = Object.fromEntries(RESOURCE_NAMES.map((r) => [r, store()])) as Record<WatchedResource, ReturnType<typeof store>>;
  const servedGroups = new Set<string>();
  const snapshots = new Map<string, { resource: WatchedResource; items: PodObject[]; rv: number; offset: number }>();
  const requests: FakePodApi['requests'] = [];
  let rv = 1000;
  let compacted = 0;
  let recording = true;
  let pending: Array<{ resource: WatchedResource; line: string }> | undefined;

  const send = (res: ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const status = (res: ServerResponse, code: number, reason: string, message: string): void =>
    send(res, code, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason, message, code });

  function broadcast(lines: Array<{ resource: WatchedResource; line: string | Buffer }>): void {
    for (const resource of Object.keys(collections) as WatchedResource[]) {
      const mine = lines.filter((l) => l.resource === resource);
      if (mine.length === 0) continue;
      const data = Buffer.concat(mine.flatMap((l) => [Buffer.isBuffer(l.line) ? l.line : Buffer.from(l.line), Buffer.from('\n')]));
      for (const w of collections[resource].watchers) w.write(data);
    }
  }

  function emit(resource: WatchedResource, type: string, object: PodObject): void {
    if (!recording) return;
    const line = JSON.stringify({ type, object });
    collections[resource].history.push({ rv: Number(object.metadata.resourceVersion), line });
    if (pending) pending.push({ resource, line });
    else broadcast([{ resource, line }]);
  }

  function put(resource: WatchedResource, key: string, object: PodObject): void {
    const c = collections[resource];
    const type = c.objects.has(key) ? 'MODIFIED' : 'ADDED';
    const stored = structuredClone(object);
    stored.metadata.resourceVersion = String(++rv);
    c.objects.set(key, stored);
    emit(resource, type, stored);
  }

  function remove(resource: WatchedResource, key: string): void {
    const c = collections[resource];
    const object = c.objects.get(key);
    if (!object) throw new Error(`no ${resource} ${key}`);
    c.objects.delete(key);
    const gone = structuredClone(object);
    gone.metadata.resourceVersion = String(++rv);
    emit(resource, 'DELETED', gone);
  }

  function list(res: ServerResponse, resource: WatchedResource, query: URLSearchParams): void {
    const limit = Number(query.get('limit') ?? '0');
    const cont = query.get('continue');
    let snap: { resource: WatchedResource; items: PodObject[]; rv: number; offset: number };
    if (cont) {
      const s = snapshots.get(cont);
      if (!s || s.resource !== resource) return status(res, 410, 'Expired', 'The provided continue parameter is too old');
      snapshots.delete(cont);
      snap = s;
    } else {
      const items = [...collections[resource].objects.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, p]) => structuredClone(p));
      snap = { resource, items, rv, offset: 0 };
    }
    const end = limit > 0 ? Math.min(snap.items.length, snap.offset + limit) : snap.items.length;
    const metadata: Record<string, unknown> = { resourceVersion: String(snap.rv) };
    if (end < snap.items.length) {
      const next = randomUUID();
      snapshots.set(next, { ...snap, offset: end });
      metadata.continue = next;
    }
    send(res, 200, { kind: `${RESOURCES[resource].kind}List`, apiVersion: 'v1', metadata, items: snap.items.slice(snap.offset, end) });
  }

  function watch(res: ServerResponse, resource: WatchedResource, query: URLSearchParams): void {
    const from = Number(query.get('resourceVersion') ?? '0');
    if (from < compacted) {
      const message = `too old resource version: ${from} (${compacted})`;
      if (api.goneAsStatus) return status(res, 410, 'Expired', message);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(`${JSON.stringify({ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason: 'Expired', code: 410 } })}\n`);
      return;
    }
    const c = collections[resource];
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    const backlog = c.history.filter((h) => h.rv > from).map((h) => `${h.line}\n`).join('');
    res.write(backlog);
    c.watchers.add(res);
    const seconds = Number(query.get('timeoutSeconds') ?? '0');
    const timer = seconds > 0 ? setTimeout(() => res.end(), seconds * 1000) : undefined;
    res.on('close', () => {
      c.watchers.delete(res);
      if (timer) clearTimeout(timer);
    });
  }

  const server: Server = createServer({ cert: serving.certPem, key: serving.keyPem }, (req: IncomingMessage, res) => {
    const url = new URL(req.url ?? '/', 'https://fake');
    requests.push({ path: url.pathname, query: url.searchParams, authorization: req.headers.authorization });
    if (api.failWith !== undefined) return status(res, api.failWith, 'InternalError', 'simulated failure');
    if (req.headers.authorization !== `Bearer ${token}`) return status(res, 401, 'Unauthorized', 'Unauthorized');
    if (req.method !== 'GET') return status(res, 403, 'Forbidden', `${req.method} ${url.pathname} is forbidden`);
    if (url.pathname === '/api/v1/namespaces/kube-system') {
      if (api.kubeSystemStatus !== undefined) {
        const code = api.kubeSystemStatus;
        return status(res, code, code === 403 ? 'Forbidden' : code === 404 ? 'NotFound' : 'InternalError', code === 403
          ? 'namespaces "kube-system" is forbidden: User "system:serviceaccount:nodeward-collector:nodeward-collector" cannot get resource "namespaces" in API group "" in the namespace "kube-system"'
          : `simulated failure ${code}`);
      }
      if (api.kubeSystem === undefined) return status(res, 404, 'NotFound', 'namespaces "kube-system" not found');
      if (Buffer.isBuffer(api.kubeSystem)) {
        res.writeHead(200, { 'content-type': 'application/json' });
        return void res.end(api.kubeSystem);
      }
      return send(res, 200, api.kubeSystem);
    }
    if (url.pathname === '/version') return api.version ? send(res, 200, api.version) : status(res, 404, 'NotFound', 'the server could not find the requested resource');
    const ds = /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/daemonsets\/([^/]+)$/.exec(url.pathname);
    if (ds) {
      if (api.daemonSetStatus !== undefined) return status(res, api.daemonSetStatus, api.daemonSetStatus === 403 ? 'Forbidden' : 'InternalError', `daemonsets.apps "${ds[2]}" is forbidden`);
      const d = api.daemonSet;
      if (!d || d.metadata?.namespace !== decodeURIComponent(ds[1] as string) || d.metadata?.name !== decodeURIComponent(ds[2] as string)) {
        return status(res, 404, 'NotFound', `daemonsets.apps "${ds[2]}" not found`);
      }
      return send(res, 200, d);
    }
    // Discovery of a group's version: its collections, when the test has installed the group.
    const gv = /^\/apis\/([^/]+\/[^/]+)$/.exec(url.pathname)?.[1];
    if (gv !== undefined) {
      const own = RESOURCE_NAMES.filter((r) => RESOURCES[r].path.startsWith(`/apis/${gv}/`));
      if (!servedGroups.has(gv) && own.some((r) => 'group' in RESOURCES[r])) return status(res, 404, 'NotFound', 'the server could not find the requested resource');
      if (own.length === 0) return status(res, 404, 'NotFound', 'the server could not find the requested resource');
      return send(res, 200, {
        kind: 'APIResourceList', apiVersion: 'v1', groupVersion: gv,
        resources: own.map((r) => ({ name: RESOURCES[r].path.split('/').pop(), namespaced: RESOURCES[r].namespaced, kind: RESOURCES[r].kind, verbs: ['get', 'list', 'watch'] })),
      });
    }
    const resource = BY_PATH.get(url.pathname);
    if (!resource) return status(res, 403, 'Forbidden', `${req.method} ${url.pathname} is forbidden`);
    const group = (RESOURCES[resource] as { group?: string }).group;
    if (group !== undefined && !servedGroups.has(group)) return status(res, 404, 'NotFound', 'the server could not find the requested resource');
    if (url.searchParams.get('watch') === '1' || url.searchParams.get('watch') === 'true') return watch(res, resource, url.searchParams);
    return list(res, resource, url.searchParams);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  const url = `https://127.0.0.1:${port}`;

  const api: FakePodApi = {
    url, caFile, tokenFile, token, requests,
    connection: { server: url, caFile, tokenFile, timeoutMs: 10_000 },
    get liveWatches() {
      return RESOURCE_NAMES.reduce((n, r) => n + collections[r].watchers.size, 0);
    },
    servedGroups,
    applyObject(resource, object) {
      put(resource, keyOf(resource, object), object);
    },
    deleteObject(resource, namespace, name) {
      remove(resource, RESOURCES[resource].namespaced ? `${namespace}/${name}` : name);
    },
    objectsOf: (resource) => [...collections[resource].objects.values()].map((o) => structuredClone(o)),
    liveWatchesOf: (resource) => collections[resource].watchers.size,
    get resourceVersion() {
      return rv;
    },
    failWith: undefined,
    goneAsStatus: false,
    daemonSet: undefined,
    daemonSetStatus: undefined,
    version: undefined,
    kubeSystem: namespaceObject('kube-system', randomUUID()),
    kubeSystemStatus: undefined,
    apply(pod) {
      put('pods', `${pod.metadata.namespace}/${pod.metadata.name}`, pod);
    },
    delete(namespace, name) {
      remove('pods', `${namespace}/${name}`);
    },
    applyNode(node) {
      put('nodes', node.metadata.name, node);
    },
    deleteNode(name) {
      remove('nodes', name);
    },
    batch(fn) {
      pending = [];
      try {
        fn();
      } finally {
        const lines = pending;
        pending = undefined;
        broadcast(lines);
      }
    },
    silently(fn) {
      recording = false;
      try {
        fn();
      } finally {
        recording = true;
      }
    },
    bump() {
      return ++rv;
    },
    bookmark(resource = 'pods') {
      broadcast([{ resource, line: JSON.stringify({ type: 'BOOKMARK', object: { kind: RESOURCES[resource].kind, apiVersion: 'v1', metadata: { resourceVersion: String(rv) } } }) }]);
    },
    compact(opts = {}) {
      compacted = rv;
      if (opts.notify === false) return;
      const line = JSON.stringify({ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'too old resource version', reason: 'Expired', code: 410 } });
      for (const c of Object.values(collections)) for (const w of c.watchers) w.end(`${line}\n`);
    },
    raw(line, resource = 'pods') {
      broadcast([{ resource, line }]);
    },
    dropWatches() {
      for (const c of Object.values(collections)) for (const w of c.watchers) w.socket?.destroy();
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
  return api;
}

/** A Namespace as the API server answers a GET of it (its UID is what names a cluster, for kube-system). */
export function namespaceObject(name: string, uid: string): PodObject {
  return {
    kind: 'Namespace',
    apiVersion: 'v1',
    metadata: {
      name,
      uid,
      resourceVersion: '4',
      creationTimestamp: '2026-01-05T09:00:00Z',
      labels: { 'kubernetes.io/metadata.name': name },
      managedFields: [{ manager: 'kube-apiserver', operation: 'Update', apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:metadata': { 'f:labels': {} } } }],
    },
    spec: { finalizers: ['kubernetes'] },
    status: { phase: 'Active' },
  };
}

export interface PodSpecInput {
  readonly namespace: string;
  readonly name: string;
  readonly node?: string;
  readonly uid?: string;
  readonly owner?: { kind: string; name: string; controller?: boolean };
  readonly labels?: Record<string, string>;
  readonly phase?: string;
  readonly containers?: readonly ContainerInput[];
  readonly initContainers?: readonly ContainerInput[];
}

export interface ContainerInput {
  readonly name: string;
  readonly liveness?: readonly string[];
  readonly readiness?: readonly string[];
  readonly startup?: readonly string[];
  /** A probe that is not exec (httpGet): no command to allow. */
  readonly httpReadiness?: boolean;
}

const API_VERSIONS: Record<string, string> = { ReplicaSet: 'apps/v1', StatefulSet: 'apps/v1', DaemonSet: 'apps/v1', Job: 'batch/v1', Node: 'v1' };

/** A pod object shaped like the API server's (with the noise a real one carries: env, status, managedFields). */
export function podObject(p: PodSpecInput): PodObject {
  const container = (c: ContainerInput) => ({
    name: c.name,
    image: `registry.example/${c.name}:1.0`,
    env: [{ name: 'DB_PASSWORD', value: 'not-for-the-collector' }],
    ...(c.liveness ? { livenessProbe: { exec: { command: [...c.liveness] }, periodSeconds: 10 } } : {}),
    ...(c.readiness ? { readinessProbe: { exec: { command: [...c.readiness] } } } : {}),
    ...(c.httpReadiness ? { readinessProbe: { httpGet: { path: '/healthz', port: 8080 } } } : {}),
    ...(c.startup ? { startupProbe: { exec: { command: [...c.startup] } } } : {}),
  });
  return {
    kind: 'Pod',
    apiVersion: 'v1',
    metadata: {
      namespace: p.namespace,
      name: p.name,
      uid: p.uid ?? randomUUID(),
      labels: p.labels ?? {},
      ...(p.owner ? {
        ownerReferences: [{
          apiVersion: API_VERSIONS[p.owner.kind] ?? 'v1', kind: p.owner.kind, name: p.owner.name, uid: randomUUID(),
          controller: p.owner.controller ?? true, blockOwnerDeletion: true,
        }],
      } : {}),
      managedFields: [{ manager: 'kubelet', operation: 'Update', fieldsType: 'FieldsV1', fieldsV1: { 'f:status': {} } }],
    },
    spec: {
      ...(p.node ? { nodeName: p.node } : {}),
      containers: (p.containers ?? [{ name: 'main' }]).map(container),
      ...(p.initContainers ? { initContainers: p.initContainers.map(container) } : {}),
    },
    status: { phase: p.phase ?? (p.node ? 'Running' : 'Pending') },
  };
}

export interface NodeSpecInput {
  readonly name: string;
  readonly uid?: string;
  readonly labels?: Record<string, string>;
  readonly taints?: ReadonlyArray<{ key: string; value?: string; effect: string }>;
  /** The Ready condition: True (default), False or Unknown. */
  readonly ready?: 'True' | 'False' | 'Unknown';
  readonly unschedulable?: boolean;
  readonly kubeletVersion?: string;
  /** status.addresses of type ExternalIP (a cloud's public address); none by default. */
  readonly externalIps?: readonly string[];
}

/** A node object shaped like the API server's (with the noise a real one carries: images, addresses, conditions). */
export function nodeObject(n: NodeSpecInput): PodObject {
  return {
    kind: 'Node',
    apiVersion: 'v1',
    metadata: {
      name: n.name,
      uid: n.uid ?? randomUUID(),
      labels: n.labels ?? { 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', 'kubernetes.io/hostname': n.name },
      annotations: { 'node.alpha.kubernetes.io/ttl': '0', 'volumes.kubernetes.io/controller-managed-attach-detach': 'true' },
    },
    spec: {
      podCIDR: '10.244.1.0/24',
      ...(n.taints ? { taints: n.taints.map((t) => ({ key: t.key, ...(t.value ? { value: t.value } : {}), effect: t.effect })) } : {}),
      ...(n.unschedulable ? { unschedulable: true } : {}),
    },
    status: {
      capacity: { cpu: '4', memory: '16318436Ki', pods: '110' },
      conditions: [
        { type: 'MemoryPressure', status: 'False', reason: 'KubeletHasSufficientMemory' },
        { type: 'Ready', status: n.ready ?? 'True', reason: n.ready === 'False' ? 'KubeletNotReady' : 'KubeletReady', lastHeartbeatTime: new Date().toISOString() },
      ],
      addresses: [{ type: 'InternalIP', address: '10.0.0.7' }, ...(n.externalIps ?? []).map((address) => ({ type: 'ExternalIP', address })), { type: 'Hostname', address: n.name }],
      nodeInfo: {
        kubeletVersion: n.kubeletVersion ?? 'v1.31.2', osImage: 'Debian GNU/Linux 12 (bookworm)', kernelVersion: '6.1.0-26-amd64',
        architecture: 'amd64', containerRuntimeVersion: 'containerd://1.7.22', operatingSystem: 'linux',
      },
      images: [{ names: ['registry.example/app@sha256:0123'], sizeBytes: 1234 }],
    },
  };
}

/** The agent DaemonSet as manifests/agent/daemonset.yaml makes it, with its placement rules changeable. */
export function agentDaemonSet(over: { namespace?: string; name?: string; nodeSelector?: Record<string, string> | null; tolerations?: unknown[]; affinity?: unknown } = {}): PodObject {
  return {
    kind: 'DaemonSet',
    apiVersion: 'apps/v1',
    metadata: { namespace: over.namespace ?? 'nodeward-agent', name: over.name ?? 'nodeward-agent', uid: randomUUID(), resourceVersion: String(Date.now()), generation: 1 },
    spec: {
      selector: { matchLabels: { 'app.kubernetes.io/name': 'nodeward-agent' } },
      template: {
        metadata: { labels: { 'app.kubernetes.io/name': 'nodeward-agent' } },
        spec: {
          hostPID: true,
          hostNetwork: true,
          tolerations: over.tolerations ?? [
            { key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' },
            { key: 'node-role.kubernetes.io/master', operator: 'Exists', effect: 'NoSchedule' },
          ],
          ...(over.nodeSelector === null ? {} : { nodeSelector: over.nodeSelector ?? { 'kubernetes.io/os': 'linux' } }),
          ...(over.affinity ? { affinity: over.affinity } : {}),
          containers: [{ name: 'agent', image: 'nodeward-agent:0.2.0' }],
        },
      },
    },
    status: { desiredNumberScheduled: 3, numberReady: 2 },
  };
}
