// The collector's view of every pod in the cluster, kept per node, for the agents: which
// workload owns each pod and which exec probes its containers run (PodInfo, types.ts).
//
// It lists pods (GET /api/v1/pods, in pages), then watches from the list's resourceVersion
// (?watch=1, one JSON event per line, with bookmarks) and renews the watch from the last
// resourceVersion it saw whenever one ends. When that version has expired (410 Gone, as a
// status or as an ERROR event) it lists again and replaces what it held. Failures wait an
// exponential backoff with jitter, reset once a watch delivers events. Everything read is
// bounded (page and line size, pods held, containers and probe commands per pod); an event it
// cannot read is counted and skipped, never fatal.
//
// Changes reach subscribers per node and coalesced: a burst of events becomes one call per
// node whose pod list really changed (status updates that leave owners and probes alone are
// not changes), at most `debounceMs` after the first change.
import type { Logger } from '../../proto/support/logger.js';
import type { Metrics } from '../metrics.js';
import { KubeApiError, kubeRequest, readJson, statusError, type KubeConnection, type KubeRequestOptions, type KubeResponse } from './connection.js';
import { createLineSplitter } from './lines.js';
import { DEFAULT_POD_INFO_LIMITS, readPod, type PodInfoLimits } from './pod-info.js';
import type { PodInfo } from './types.js';

export interface PodWatchConfig {
  readonly connection: KubeConnection;
  /** Pods held at most; pods beyond are refused (counted) until others go. */
  readonly maxPods: number;
  /** How long changes gather before subscribers hear of them. */
  readonly debounceMs: number;
  /** The API server ends each watch after this long (timeoutSeconds); the next resumes it. */
  readonly watchSeconds: number;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  /** Pods per list page. */
  readonly pageSize?: number;
  /** Largest list page accepted. */
  readonly maxPageBytes?: number;
  /** Largest watch event (one line) accepted. */
  readonly maxEventBytes?: number;
  readonly limits?: PodInfoLimits;
}

export type NodePodsListener = (node: string, pods: readonly PodInfo[]) => void;

export interface PodWatchStats {
  /** A list has completed: what is held reflects the cluster (as of the last event). */
  readonly synced: boolean;
  readonly pods: number;
  readonly nodes: number;
  readonly resourceVersion: string;
  readonly lists: number;
  readonly watches: number;
  /** Lists forced by an expired resourceVersion (410 Gone). */
  readonly relists: number;
  readonly failures: number;
  readonly events: number;
  /** Events or list items that were not JSON, not an event, or not a pod: skipped. */
  readonly malformed: number;
  /** Watch lines over maxEventBytes: skipped. */
  readonly oversized: number;
  /** Pods refused because maxPods were held. */
  readonly refusedPods: number;
  /** Probe commands over the bounds, and containers over the bound: left out. */
  readonly droppedProbes: number;
  readonly lastError: string;
}

const DEFAULT_PAGE_SIZE = 250;
const DEFAULT_MAX_PAGE_BYTES = 64 * 1024 * 1024;
const DEFAULT_MAX_EVENT_BYTES = 4 * 1024 * 1024;
const MAX_ERROR_BODY_BYTES = 1024 * 1024;
const POD_EVENTS = new Set(['ADDED', 'MODIFIED', 'DELETED']);

interface Held {
  readonly node: string;
  readonly info: PodInfo;
  /** The PodInfo as JSON: equal means nothing the agents use changed. */
  readonly sig: string;
}

interface WatchEnd {
  readonly gone: boolean;
  /** It delivered events, or ran its course (a quiet cluster sends none): no reason to back off. */
  readonly healthy: boolean;
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | undefined => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : undefined);

export function createPodWatch(config: PodWatchConfig, deps: { log: Logger; metrics?: Metrics; random?: () => number }) {
  const { log, metrics } = deps;
  const random = deps.random ?? Math.random;
  const limits = config.limits ?? DEFAULT_POD_INFO_LIMITS;
  const pageSize = config.pageSize ?? DEFAULT_PAGE_SIZE;
  const maxPageBytes = config.maxPageBytes ?? DEFAULT_MAX_PAGE_BYTES;
  const maxEventBytes = config.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES;

  const held = new Map<string, Held>();
  const byNode = new Map<string, Map<string, PodInfo>>();
  /** Per node, the pod list subscribers were last given (as JSON). */
  const notified = new Map<string, string>();
  const dirty = new Set<string>();
  const listeners = new Set<NodePodsListener>();
  const counts = {
    lists: 0, watches: 0, relists: 0, failures: 0, events: 0, malformed: 0, oversized: 0, refusedPods: 0, droppedProbes: 0,
  };
  let synced = false;
  let resourceVersion = '';
  let lastError = '';
  let flushTimer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = true;
  /** Aborts whatever request is in flight when the watch stops. */
  let abort: AbortController | undefined;
  let sleeping: { timer: NodeJS.Timeout; wake: () => void } | undefined;

  const count = (what: keyof typeof counts, help: string, by = 1, labels?: Record<string, string>): void => {
    counts[what] += by;
    metrics?.inc(`nodeward_pod_watch_${what.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}_total`, help, by, labels);
  };

  // --- what is held ----------------------------------------------------------------------

  function markDirty(node: string): void {
    dirty.add(node);
    if (!flushTimer && !stopped) flushTimer = setTimeout(flush, config.debounceMs);
  }

  function detach(node: string, key: string): void {
    const pods = byNode.get(node);
    if (!pods?.delete(key)) return;
    if (pods.size === 0) byNode.delete(node);
    markDirty(node);
  }

  function put(key: string, info: PodInfo): void {
    const sig = JSON.stringify(info);
    const cur = held.get(key);
    if (cur?.sig === sig) return;
    if (!cur && held.size >= config.maxPods) {
      if (counts.refusedPods === 0) log.warn({ maxPods: config.maxPods }, 'pod watch: more pods than pods.maxPods; the others are left out');
      count('refusedPods', 'Pods the pod watch left out because it held pods.maxPods');
      return;
    }
    if (cur && cur.node !== info.node) detach(cur.node, key);
    held.set(key, { node: info.node, info, sig });
    let pods = byNode.get(info.node);
    if (!pods) byNode.set(info.node, (pods = new Map()));
    pods.set(key, info);
    markDirty(info.node);
  }

  function remove(key: string): void {
    const cur = held.get(key);
    if (!cur) return;
    held.delete(key);
    detach(cur.node, key);
  }

  /** After a list: what the list holds, and nothing else. */
  function replaceAll(fresh: ReadonlyMap<string, PodInfo>): void {
    for (const key of [...held.keys()]) if (!fresh.has(key)) remove(key);
    for (const [key, info] of fresh) put(key, info);
  }

  function podsOnNode(node: string): PodInfo[] {
    const pods = byNode.get(node);
    if (!pods) return [];
    return [...pods.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, info]) => info);
  }

  function flush(): void {
    flushTimer = undefined;
    const nodes = [...dirty].sort();
    dirty.clear();
    metrics?.set('nodeward_pod_watch_pods', 'Pods the pod watch holds', held.size);
    for (const node of nodes) {
      const pods = podsOnNode(node);
      const sig = JSON.stringify(pods);
      if ((notified.get(node) ?? '[]') === sig) continue;
      if (pods.length === 0) notified.delete(node);
      else notified.set(node, sig);
      for (const listener of listeners) {
        try {
          listener(node, pods);
        } catch (err) {
          log.error({ err: (err as Error).message, node }, 'pod watch: a subscriber failed');
        }
      }
    }
  }

  // --- the API server ----------------------------------------------------------------------

  function open(path: string, opts: KubeRequestOptions = {}): Promise<KubeResponse> {
    return kubeRequest(config.connection, 'GET', path, { ...opts, ...(abort ? { signal: abort.signal } : {}) });
  }

  /** Lists every pod, page by page, and holds exactly those; the watch resumes from the list's version. */
  async function list(): Promise<void> {
    count('lists', 'Pod lists made (the first, and after an expired resourceVersion)');
    const fresh = new Map<string, PodInfo>();
    let cont = '';
    let rv = '';
    do {
      const q = new URLSearchParams({ limit: String(pageSize) });
      if (cont) q.set('continue', cont);
      const res = await open(`/api/v1/pods?${q}`);
      const json = await readJson(res, maxPageBytes, 'list pods');
      // 410 here is an expired continue token: the next attempt lists from the start.
      if (res.status !== 200) throw statusError('list pods', res.status, json);
      const page = obj(json);
      const meta = obj(page?.metadata);
      const items = page?.items;
      if (!Array.isArray(items) || typeof meta?.resourceVersion !== 'string') throw new KubeApiError('list pods: the answer is not a PodList', true);
      for (const item of items) {
        const r = readPod(item, limits);
        if (r.kind === 'invalid') count('malformed', 'Pod watch events and list items skipped because they could not be read');
        if (r.kind !== 'pod') continue;
        if (r.dropped > 0) count('droppedProbes', 'Exec probe commands (and containers) over the bounds, left out', r.dropped);
        if (fresh.size < config.maxPods || fresh.has(r.key)) fresh.set(r.key, r.info);
        else count('refusedPods', 'Pods the pod watch left out because it held pods.maxPods');
      }
      rv = meta.resourceVersion;
      cont = typeof meta.continue === 'string' ? meta.continue : '';
    } while (cont && !stopped);
    if (stopped) return;
    replaceAll(fresh);
    synced = true;
    resourceVersion = rv;
  }

  /** Applies one watch line; says what it means for the watch. */
  function apply(line: string): { rv?: string; gone?: boolean; error?: string } {
    const skip = (): Record<string, never> => {
      count('malformed', 'Pod watch events and list items skipped because they could not be read');
      return {};
    };
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      return skip();
    }
    const type = obj(parsed)?.type;
    const object = obj(obj(parsed)?.object);
    if (typeof type !== 'string' || !object) return skip();
    if (type === 'ERROR') {
      if (object.code === 410) return { gone: true };
      const message = typeof object.message === 'string' ? object.message.slice(0, 300) : '';
      return { error: `ERROR event ${String(object.code)}${message ? `: ${message}` : ''}` };
    }
    const rv = obj(object.metadata)?.resourceVersion;
    if (typeof rv !== 'string' || rv === '' || rv.length > 64) return skip();
    if (type === 'BOOKMARK') {
      count('events', 'Pod watch events applied', 1, { type });
      return { rv };
    }
    if (!POD_EVENTS.has(type)) return { ...skip(), rv };
    const r = readPod(object, limits);
    // The version still advances past an event that could not be read: asking again from
    // before it would only bring it back.
    if (r.kind === 'invalid') return { ...skip(), rv };
    count('events', 'Pod watch events applied', 1, { type });
    if (type === 'DELETED' || r.kind === 'absent') remove(r.key);
    else {
      if (r.dropped > 0) count('droppedProbes', 'Exec probe commands (and containers) over the bounds, left out', r.dropped);
      put(r.key, r.info);
    }
    return { rv };
  }

  /**
   * One watch from `resourceVersion`, until the server ends it, the version expires or it
   * fails. The version advances with every event, so whatever ends the watch, the next one
   * resumes after the last event applied.
   */
  async function watch(): Promise<WatchEnd> {
    const rv = resourceVersion;
    count('watches', 'Pod watch requests made');
    const q = new URLSearchParams({ watch: '1', resourceVersion: rv, allowWatchBookmarks: 'true', timeoutSeconds: String(config.watchSeconds) });
    const startedAt = Date.now();
    // The server is silent while nothing changes, up to timeoutSeconds; the socket may be too.
    const res = await open(`/api/v1/pods?${q}`, { idleTimeoutMs: config.watchSeconds * 1000 + config.connection.timeoutMs });
    if (res.status !== 200) {
      const json = await readJson(res, MAX_ERROR_BODY_BYTES, 'watch pods');
      if (res.status === 410) return { gone: true, healthy: false };
      throw statusError('watch pods', res.status, json);
    }
    return new Promise<WatchEnd>((resolve, reject) => {
      let progressed = false;
      let done = false;
      const end = (gone: boolean): void => {
        done = true;
        resolve({ gone, healthy: progressed || (!gone && Date.now() - startedAt >= config.watchSeconds * 500) });
      };
      const lines = createLineSplitter(maxEventBytes, (line) => {
        if (done) return;
        const r = apply(line);
        if (r.rv !== undefined) {
          resourceVersion = r.rv;
          progressed = true;
        }
        if (r.gone) {
          end(true);
          res.close(new Error('resourceVersion expired'));
        } else if (r.error) {
          done = true;
          reject(new KubeApiError(`watch pods: ${r.error}`, true));
          res.close(new Error(r.error));
        }
      }, () => count('oversized', 'Pod watch events over the size bound, skipped'));
      res.body.on('data', (chunk: Buffer) => lines.push(chunk));
      res.body.on('end', () => end(false));
      const cut = (err?: Error): void => {
        if (stopped) end(false);
        else reject(new KubeApiError(`watch pods: ${(res.failure() ?? err ?? new Error('connection closed')).message}`, true));
      };
      res.body.on('error', cut);
      res.body.on('close', () => {
        if (!res.body.complete) cut();
      });
    });
  }

  function backoff(failures: number): number {
    const ceiling = Math.min(config.backoffMaxMs, config.backoffBaseMs * 2 ** Math.min(failures - 1, 30));
    return Math.round(ceiling / 2 + random() * (ceiling / 2));
  }

  function sleep(ms: number): Promise<void> {
    return new Promise((wake) => {
      sleeping = { timer: setTimeout(wake, ms), wake };
    });
  }

  async function run(): Promise<void> {
    let mustList = true;
    let failures = 0;
    while (!stopped) {
      let healthy = false;
      try {
        if (mustList) {
          await list();
          mustList = false;
        }
        if (stopped) break;
        const w = await watch();
        healthy = w.healthy;
        if (w.gone) {
          count('relists', 'Pod lists forced by an expired resourceVersion (410 Gone)');
          log.info({ resourceVersion }, 'pod watch: the resourceVersion expired; listing again');
          mustList = true;
        }
      } catch (err) {
        if (stopped) break;
        failures++;
        lastError = (err as Error).message;
        count('failures', 'Pod list or watch requests that failed');
        const wait = backoff(failures);
        log.warn({ err: lastError, attempt: failures, retryInMs: wait }, 'pod watch: request failed');
        await sleep(wait);
        continue;
      }
      // A watch that ended early having delivered nothing (an immediate close, a 410 at once)
      // waits too, so a server that keeps doing that is not asked again in a tight loop.
      if (healthy) failures = 0;
      else if (!stopped) await sleep(backoff(++failures));
    }
  }

  return {
    /** Starts listing and watching in the background; safe twice. */
    start(): void {
      if (!stopped) return;
      stopped = false;
      abort = new AbortController();
      running = run().catch((err: Error) => log.error({ err: err.message }, 'pod watch stopped unexpectedly'));
    },
    /** Ends the watch; safe before start and twice. Subscribers hear nothing more. */
    async stop(): Promise<void> {
      if (stopped) return;
      stopped = true;
      abort?.abort();
      if (sleeping) {
        clearTimeout(sleeping.timer);
        sleeping.wake();
      }
      if (flushTimer) clearTimeout(flushTimer);
      flushTimer = undefined;
      await running;
      running = undefined;
    },
    /** The pods on `node` now, ordered by namespace/name. */
    podsOnNode,
    /** Calls `listener(node, pods)` whenever a node's pods change (coalesced); returns an unsubscribe. */
    subscribe(listener: NodePodsListener): () => void {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    stats(): PodWatchStats {
      return { synced, pods: held.size, nodes: byNode.size, resourceVersion, ...counts, lastError };
    },
  };
}

export type PodWatch = ReturnType<typeof createPodWatch>;
