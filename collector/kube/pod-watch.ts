// The collector's view of every pod in the cluster, kept per node, for the agents: which
// workload owns each pod and which exec probes its containers run (PodInfo, types.ts).
//
// The pods come from the collector's list/watch informer (informer.ts: list, watch from the
// list's resourceVersion with bookmarks, relist on 410 Gone, backoff, bounded lines); this
// file holds them. Everything kept is bounded (pods held, containers and probe commands per
// pod); a pod it cannot read is counted and skipped, never fatal.
//
// Changes reach subscribers per node and coalesced: a burst of events becomes one call per
// node whose pod list really changed (status updates that leave owners and probes alone are
// not changes), at most `debounceMs` after the first change.
import type { Logger } from '../../proto/support/logger.js';
import type { Clock } from '../clock.js';
import type { Metrics } from '../metrics.js';
import type { KubeConnection } from './connection.js';
import { createInformer, type InformerStats, type InformerTap, type ObjectRead } from './informer.js';
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

/** The informer's counters (informer.ts), and what is held. */
export interface PodWatchStats extends Omit<InformerStats, 'refused'> {
  readonly pods: number;
  readonly nodes: number;
  /** Pods refused because maxPods were held. */
  readonly refusedPods: number;
  /** Probe commands over the bounds, and containers over the bound: left out. */
  readonly droppedProbes: number;
}

interface Held {
  readonly node: string;
  readonly info: PodInfo;
  /** The PodInfo as JSON: equal means nothing the agents use changed. */
  readonly sig: string;
}

/**
 * `taps`: other readers of the same pods (the posture watch's), fed by this watch's one list
 * and watch (informer.ts InformerTap) instead of a second list/watch of every pod.
 */
export function createPodWatch(config: PodWatchConfig, deps: { log: Logger; metrics?: Metrics; random?: () => number; clock?: Clock; taps?: readonly InformerTap[] }) {
  const { log, metrics } = deps;
  const limits = config.limits ?? DEFAULT_POD_INFO_LIMITS;

  const held = new Map<string, Held>();
  const byNode = new Map<string, Map<string, PodInfo>>();
  /** Per node, the pod list subscribers were last given (as JSON). */
  const notified = new Map<string, string>();
  const dirty = new Set<string>();
  const listeners = new Set<NodePodsListener>();
  let droppedProbes = 0;
  let flushTimer: NodeJS.Timeout | undefined;
  let stopped = true;

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

  /** False when it is new and maxPods are held (the informer counts the refusal). */
  function put(key: string, info: PodInfo): boolean {
    const sig = JSON.stringify(info);
    const cur = held.get(key);
    if (cur?.sig === sig) return true;
    if (!cur && held.size >= config.maxPods) return false;
    if (cur && cur.node !== info.node) detach(cur.node, key);
    held.set(key, { node: info.node, info, sig });
    let pods = byNode.get(info.node);
    if (!pods) byNode.set(info.node, (pods = new Map()));
    pods.set(key, info);
    markDirty(info.node);
    return true;
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
    metrics?.set('nodeward_pod_watch_pods', held.size);
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

  /** A pod read for the agents; probe commands over the bounds are counted as they are left out. */
  function read(raw: unknown): ObjectRead<PodInfo> {
    const r = readPod(raw, limits);
    if (r.kind !== 'pod') return r.kind === 'absent' ? r : { kind: 'invalid', reason: r.reason };
    if (r.dropped > 0) {
      droppedProbes += r.dropped;
      metrics?.inc('nodeward_pod_watch_dropped_probes_total', r.dropped);
    }
    return { kind: 'object', key: r.key, value: r.info };
  }

  const informer = createInformer<PodInfo>({
    connection: config.connection, watchSeconds: config.watchSeconds, backoffBaseMs: config.backoffBaseMs, backoffMaxMs: config.backoffMaxMs,
    maxObjects: config.maxPods, pageSize: config.pageSize, maxPageBytes: config.maxPageBytes, maxEventBytes: config.maxEventBytes,
  }, { name: 'pods', path: '/api/v1/pods', read }, { replace: replaceAll, upsert: put, remove }, {
    log, metrics, metricPrefix: 'nodeward_pod_watch', ...(deps.random ? { random: deps.random } : {}), ...(deps.clock ? { clock: deps.clock } : {}),
    ...(deps.taps ? { taps: deps.taps } : {}),
  });

  return {
    /** Starts listing and watching in the background; safe twice. */
    start(): void {
      if (!stopped) return;
      stopped = false;
      informer.start();
    },
    /** Ends the watch; safe before start and twice. Subscribers hear nothing more. */
    async stop(): Promise<void> {
      if (stopped) return;
      stopped = true;
      if (flushTimer) clearTimeout(flushTimer);
      flushTimer = undefined;
      await informer.stop();
    },
    /** The pods on `node` now, ordered by namespace/name. */
    podsOnNode,
    /** Calls `listener(node, pods)` whenever a node's pods change (coalesced); returns an unsubscribe. */
    subscribe(listener: NodePodsListener): () => void {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    stats(): PodWatchStats {
      const { refused, ...informed } = informer.stats();
      return { ...informed, pods: held.size, nodes: byNode.size, refusedPods: refused, droppedProbes };
    },
  };
}

export type PodWatch = ReturnType<typeof createPodWatch>;
