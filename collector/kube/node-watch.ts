// The collector's view of the cluster's nodes, for agent coverage: every node (through the
// list/watch informer, informer.ts), judged against the agent DaemonSet's placement rules
// (placement.ts, the DaemonSet read by name every daemonSetCheckMs: daemon-set.ts), written
// to the store's cluster_nodes rows (store/cluster-nodes.ts) as it changes. The sweeper raises
// agent-missing from those rows (pipeline/sweeper.ts); the node inventory lists them.
//
// Until the DaemonSet has been read, whether a node should run an agent is unknown, and no
// node is judged to miss its agent. Once read, a DaemonSet that cannot be read again keeps its
// last placement rules (an API blip, a permission removed) and the log says so.
// A store write that fails is retried at the next DaemonSet check; nothing here throws into the
// informer.
import type { Logger } from '../../proto/support/logger.js';
import { systemClock, type Clock } from '../clock.js';
import type { Metrics } from '../metrics.js';
import type { ClusterNodeState, ClusterNodeStore } from '../store/store.js';
import type { KubeConnection } from './connection.js';
import { describeDaemonSet, readDaemonSet, type AgentDaemonSet, type DaemonSetRef } from './daemon-set.js';
import { createInformer } from './informer.js';
import { readNode, type NodeInfo } from './node-info.js';
import { placement } from './placement.js';

export interface NodeWatchConfig {
  readonly connection: KubeConnection;
  readonly watchSeconds: number;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  /** Nodes held at most; more are refused (counted). */
  readonly maxNodes: number;
  /** The agent DaemonSet, whose placement rules say which nodes should run an agent. */
  readonly daemonSet: DaemonSetRef;
  /** How often the DaemonSet is read again. */
  readonly daemonSetCheckMs: number;
  readonly pageSize?: number;
  readonly maxEventBytes?: number;
}

export interface NodeWatchDeps {
  readonly store: Pick<ClusterNodeStore, 'replace' | 'upsert' | 'remove'>;
  readonly log: Logger;
  readonly metrics?: Metrics;
  /** The times it writes (when a node became eligible) and its waits (default: the system's). */
  readonly clock?: Clock;
  readonly random?: () => number;
  /** A node's ExternalIPs or labels changed (or the node was first seen): its agent is sent them. */
  readonly onAddresses?: (node: string) => void;
  /** Whether this collector writes the cluster node rows (the leader, with replicas; default: yes). */
  readonly leads?: () => boolean;
}

/** What its agent is sent of a node, as one comparable text: its ExternalIPs and its labels. */
const selfOf = (n: NodeInfo): string => JSON.stringify([n.externalIps, Object.entries(n.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))]);

export function createNodeWatch(config: NodeWatchConfig, deps: NodeWatchDeps) {
  const { store, log, metrics } = deps;
  const clock = deps.clock ?? systemClock;
  const nodes = new Map<string, NodeInfo>();
  /** What the store holds for each node (as JSON): a write only when it changes. */
  const written = new Map<string, string>();
  let daemonSet: AgentDaemonSet | undefined;
  let daemonSetError = '';
  let daemonSetReads = 0;
  let writeFailures = 0;
  let stopped = true;
  let cancelCheck: (() => void) | undefined;
  let checking: Promise<void> | undefined;
  let abort: AbortController | undefined;

  function judge(n: NodeInfo): ClusterNodeState {
    const base = { name: n.name, uid: n.uid, ready: n.ready, kubeletVersion: n.kubeletVersion, osImage: n.osImage, kernel: n.kernel, arch: n.arch };
    if (!daemonSet) {
      const why = daemonSetError ? `the agent ${describeDaemonSet(config.daemonSet)} could not be read: ${daemonSetError}` : `the agent ${describeDaemonSet(config.daemonSet)} has not been read yet`;
      return { ...base, agentExpected: null, reason: why };
    }
    const p = placement(daemonSet.placement, n);
    return { ...base, agentExpected: p.runs, reason: p.runs ? '' : p.reason };
  }

  // Writes to the store go out one at a time, in order, from what is due: the whole set after
  // a list (`due.all`), then one state per node, the latest only (null: the node is gone).
  // So a burst of events for one node is one write, and what waits is bounded by the nodes.
  const due: { all: ClusterNodeState[] | undefined; nodes: Map<string, ClusterNodeState | null> } = { all: undefined, nodes: new Map() };
  let writing: Promise<void> | undefined;
  /** The first list's nodes are in the store. */
  let listWritten = false;

  function flushSoon(): void {
    writing ??= flush().finally(() => {
      writing = undefined;
    });
  }

  async function flush(): Promise<void> {
    for (;;) {
      // A replica that does not lead leaves the rows to the one that does (it rewrites them all when it takes over).
      if (deps.leads?.() === false) {
        due.all = undefined;
        due.nodes.clear();
        return;
      }
      const all = due.all;
      if (all !== undefined) {
        due.all = undefined;
        try {
          await store.replace(all, clock.now());
          written.clear();
          for (const s of all) written.set(s.name, JSON.stringify(s));
          listWritten = true;
        } catch (err) {
          written.clear();
          failedWrite(err);
        }
        continue;
      }
      const next = due.nodes.entries().next();
      if (next.done === true) return;
      const [name, state] = next.value;
      due.nodes.delete(name);
      try {
        if (state === null) await store.remove(name);
        else {
          await store.upsert(state, clock.now());
          written.set(name, JSON.stringify(state));
        }
      } catch (err) {
        written.delete(name);
        failedWrite(err);
      }
    }
  }

  /** Writes the node's state if it changed; a failed write is retried at the next check. */
  function write(n: NodeInfo): void {
    const state = judge(n);
    if (written.get(n.name) === JSON.stringify(state) && !due.nodes.has(n.name)) return;
    due.nodes.set(n.name, state);
    flushSoon();
  }

  function failedWrite(err: unknown): void {
    writeFailures++;
    metrics?.inc('nodeward_node_watch_write_failures_total');
    log.error({ err: (err as Error).message }, 'node watch: cannot write the cluster nodes; retrying at the next check');
  }

  function writeAll(): void {
    due.all = [...nodes.values()].map(judge);
    due.nodes.clear();
    flushSoon();
  }

  const informer = createInformer<NodeInfo>({
    connection: config.connection, watchSeconds: config.watchSeconds, backoffBaseMs: config.backoffBaseMs, backoffMaxMs: config.backoffMaxMs,
    maxObjects: config.maxNodes, pageSize: config.pageSize, maxEventBytes: config.maxEventBytes,
  }, {
    name: 'nodes',
    path: '/api/v1/nodes',
    read(raw) {
      const r = readNode(raw);
      return r.kind === 'node' ? { kind: 'object', key: r.info.name, value: r.info } : r;
    },
  }, {
    replace(fresh) {
      const before = new Map([...nodes].map(([k, v]) => [k, selfOf(v)]));
      nodes.clear();
      for (const [k, v] of fresh) nodes.set(k, v);
      for (const [k, v] of fresh) if (before.get(k) !== selfOf(v)) deps.onAddresses?.(k);
      writeAll();
      gauge();
    },
    upsert(key, info) {
      if (!nodes.has(key) && nodes.size >= config.maxNodes) return false;
      const old = nodes.get(key);
      const before = old === undefined ? undefined : selfOf(old);
      nodes.set(key, info);
      if (before !== selfOf(info)) deps.onAddresses?.(key);
      write(info);
      gauge();
      return true;
    },
    remove(key) {
      if (!nodes.delete(key)) return;
      written.delete(key);
      due.nodes.set(key, null);
      flushSoon();
      gauge();
    },
  }, { log, metrics, metricPrefix: 'nodeward_node_watch', clock, ...(deps.random ? { random: deps.random } : {}) });

  function gauge(): void {
    metrics?.set('nodeward_node_watch_nodes', nodes.size);
  }

  /** Reads the DaemonSet; when its rules changed (or could not be had before), every node is judged again. */
  async function checkDaemonSet(): Promise<void> {
    const ref = describeDaemonSet(config.daemonSet);
    try {
      const ds = await readDaemonSet(config.connection, config.daemonSet, abort?.signal);
      daemonSetReads++;
      const changed = daemonSet?.resourceVersion !== ds.resourceVersion;
      if (daemonSetError) log.info({ daemonSet: ref }, 'node watch: the agent DaemonSet is readable again');
      daemonSetError = '';
      daemonSet = ds;
      if (changed) log.info({ daemonSet: ref, resourceVersion: ds.resourceVersion }, 'node watch: placement rules of the agent DaemonSet read');
    } catch (err) {
      if (stopped) return;
      const message = (err as Error).message;
      metrics?.inc('nodeward_node_watch_daemonset_failures_total');
      if (message !== daemonSetError) {
        log.warn({ daemonSet: ref, err: message, keeping: daemonSet ? 'the last placement rules read' : 'none: no node is judged to miss its agent' },
          'node watch: cannot read the agent DaemonSet');
      }
      daemonSetError = message;
    }
    // Every node judged again: new rules, a DaemonSet that could not be read, or writes that failed.
    for (const n of nodes.values()) write(n);
  }

  function scheduleCheck(ms: number): void {
    if (stopped) return;
    cancelCheck = clock.after(ms, () => {
      if (stopped) return;
      checking = checkDaemonSet().finally(() => {
        checking = undefined;
        scheduleCheck(config.daemonSetCheckMs);
      });
    });
  }

  return {
    /** Starts reading the DaemonSet and watching nodes; safe twice. */
    start(): void {
      if (!stopped) return;
      stopped = false;
      abort = new AbortController();
      checking = checkDaemonSet().finally(() => {
        checking = undefined;
        scheduleCheck(config.daemonSetCheckMs);
      });
      informer.start();
    },
    /** Safe before start and twice. */
    async stop(): Promise<void> {
      if (stopped) return;
      stopped = true;
      cancelCheck?.();
      cancelCheck = undefined;
      abort?.abort();
      await checking;
      await informer.stop();
      await writing;
    },
    /** The first list of nodes has completed and is written: the store's rows are the cluster's. */
    get synced(): boolean {
      return informer.stats().synced && listWritten;
    },
    /** Writes every node's state again (this replica took over the cluster node rows). */
    rewrite(): void {
      if (informer.stats().synced) writeAll();
    },
        /** Reads the DaemonSet now and judges every node again (also what the timer does). */
    checkDaemonSet,
    /** The node as last seen, if held. */
    node(name: string): NodeInfo | undefined {
      return nodes.get(name);
    },
    stats() {
      return {
        ...informer.stats(), nodes: nodes.size, daemonSetRead: daemonSet !== undefined, daemonSetReads, daemonSetError, writeFailures,
      };
    },
  };
}

export type NodeWatch = ReturnType<typeof createNodeWatch>;
