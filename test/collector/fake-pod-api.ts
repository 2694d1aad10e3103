// A local HTTPS server (real TLS, its own CA) that speaks the Kubernetes API's list and watch
// of pods the way the API server does: GET /api/v1/pods with limit/continue pages and a
// resourceVersion, and ?watch=1 from a resourceVersion, streaming one JSON event per line
// (ADDED, MODIFIED, DELETED, BOOKMARK, and ERROR with a 410 Status once the version is
// compacted away). It authenticates the caller's bearer token. The test drives it: pods
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

export interface FakePodApi {
  readonly url: string;
  readonly caFile: string;
  readonly tokenFile: string;
  readonly token: string;
  readonly connection: KubeConnection;
  /** Every request, in order. */
  readonly requests: Array<{ path: string; query: URLSearchParams; authorization: string | undefined }>;
  /** Watch requests currently streaming. */
  readonly liveWatches: number;
  readonly resourceVersion: number;
  /** Answer every request with this status (an outage, a missing RBAC rule) until cleared. */
  failWith: number | undefined;
  /** A watch from a compacted version gets HTTP 410 instead of a 200 stream with an ERROR event. */
  goneAsStatus: boolean;
  /** Adds or replaces a pod (ADDED or MODIFIED). */
  apply(pod: PodObject): void;
  delete(namespace: string, name: string): void;
  /** Changes inside `fn` are written to watchers in one write (one TLS record, one read). */
  batch(fn: () => void): void;
  /** Changes inside `fn` bypass the event history, as if they happened while nobody watched and were compacted. */
  silently(fn: () => void): void;
  /** Other objects changed: the resourceVersion moves with no pod event. */
  bump(): number;
  bookmark(): void;
  /** Everything before now is compacted: live watches get ERROR 410 (unless `notify` is false). */
  compact(opts?: { notify?: boolean }): void;
  /** Sends a line as is to every live watch. */
  raw(line: string): void;
  /** Cuts every live watch's connection. */
  dropWatches(): void;
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

  const pods = new Map<string, PodObject>();
  const history: Array<{ rv: number; line: string }> = [];
  const watchers = new Set<ServerResponse>();
  const snapshots = new Map<string, { items: PodObject[]; rv: number; offset: number }>();
  const requests: FakePodApi['requests'] = [];
  let rv = 1000;
  let compacted = 0;
  let recording = true;
  let pending: string[] | undefined;

  const send = (res: ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const status = (res: ServerResponse, code: number, reason: string, message: string): void =>
    send(res, code, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason, message, code });

  function broadcast(lines: string[]): void {
    if (lines.length === 0) return;
    const text = lines.map((l) => `${l}\n`).join('');
    for (const w of watchers) w.write(text);
  }

  function emit(type: string, pod: PodObject): void {
    if (!recording) return;
    const line = JSON.stringify({ type, object: pod });
    history.push({ rv: Number(pod.metadata.resourceVersion), line });
    if (pending) pending.push(line);
    else broadcast([line]);
  }

  function list(req: IncomingMessage, res: ServerResponse, query: URLSearchParams): void {
    const limit = Number(query.get('limit') ?? '0');
    const cont = query.get('continue');
    let snap: { items: PodObject[]; rv: number; offset: number };
    if (cont) {
      const s = snapshots.get(cont);
      if (!s) return status(res, 410, 'Expired', 'The provided continue parameter is too old');
      snapshots.delete(cont);
      snap = s;
    } else {
      const items = [...pods.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, p]) => structuredClone(p));
      snap = { items, rv, offset: 0 };
    }
    const end = limit > 0 ? Math.min(snap.items.length, snap.offset + limit) : snap.items.length;
    const metadata: Record<string, unknown> = { resourceVersion: String(snap.rv) };
    if (end < snap.items.length) {
      const next = randomUUID();
      snapshots.set(next, { ...snap, offset: end });
      metadata.continue = next;
    }
    send(res, 200, { kind: 'PodList', apiVersion: 'v1', metadata, items: snap.items.slice(snap.offset, end) });
    void req;
  }

  function watch(req: IncomingMessage, res: ServerResponse, query: URLSearchParams): void {
    const from = Number(query.get('resourceVersion') ?? '0');
    if (from < compacted) {
      const message = `too old resource version: ${from} (${compacted})`;
      if (api.goneAsStatus) return status(res, 410, 'Expired', message);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(`${JSON.stringify({ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason: 'Expired', code: 410 } })}\n`);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    const backlog = history.filter((h) => h.rv > from).map((h) => `${h.line}\n`).join('');
    res.write(backlog);
    watchers.add(res);
    const seconds = Number(query.get('timeoutSeconds') ?? '0');
    const timer = seconds > 0 ? setTimeout(() => res.end(), seconds * 1000) : undefined;
    res.on('close', () => {
      watchers.delete(res);
      if (timer) clearTimeout(timer);
    });
    void req;
  }

  const server: Server = createServer({ cert: serving.certPem, key: serving.keyPem }, (req, res) => {
    const url = new URL(req.url ?? '/', 'https://fake');
    requests.push({ path: url.pathname, query: url.searchParams, authorization: req.headers.authorization });
    if (api.failWith !== undefined) return status(res, api.failWith, 'InternalError', 'simulated failure');
    if (req.headers.authorization !== `Bearer ${token}`) return status(res, 401, 'Unauthorized', 'Unauthorized');
    if (req.method !== 'GET' || url.pathname !== '/api/v1/pods') return status(res, 403, 'Forbidden', `${req.method} ${url.pathname} is forbidden`);
    if (url.searchParams.get('watch') === '1' || url.searchParams.get('watch') === 'true') return watch(req, res, url.searchParams);
    return list(req, res, url.searchParams);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  const url = `https://127.0.0.1:${port}`;

  const api: FakePodApi = {
    url, caFile, tokenFile, token, requests,
    connection: { server: url, caFile, tokenFile, timeoutMs: 10_000 },
    get liveWatches() {
      return watchers.size;
    },
    get resourceVersion() {
      return rv;
    },
    failWith: undefined,
    goneAsStatus: false,
    apply(pod) {
      const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
      const type = pods.has(key) ? 'MODIFIED' : 'ADDED';
      const stored = structuredClone(pod);
      stored.metadata.resourceVersion = String(++rv);
      pods.set(key, stored);
      emit(type, stored);
    },
    delete(namespace, name) {
      const key = `${namespace}/${name}`;
      const pod = pods.get(key);
      if (!pod) throw new Error(`no pod ${key}`);
      pods.delete(key);
      const gone = structuredClone(pod);
      gone.metadata.resourceVersion = String(++rv);
      emit('DELETED', gone);
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
    bookmark() {
      broadcast([JSON.stringify({ type: 'BOOKMARK', object: { kind: 'Pod', apiVersion: 'v1', metadata: { resourceVersion: String(rv) } } })]);
    },
    compact(opts = {}) {
      compacted = rv;
      if (opts.notify === false) return;
      const line = JSON.stringify({ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'too old resource version', reason: 'Expired', code: 410 } });
      for (const w of watchers) w.end(`${line}\n`);
    },
    raw(line) {
      broadcast([line]);
    },
    dropWatches() {
      for (const w of watchers) w.socket?.destroy();
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
  return api;
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
