// The cluster-nodes part of the Store boundary (store.ts): the cluster's nodes as the node
// watch sees them (collector/kube/node-watch.ts), what the inventory shows of a node no agent
// has reported, and where the sweeper finds the nodes whose agent is missing. The watch
// writes; the API and the sweeper read. Plain types: the SQLite implementation is
// store/cluster-nodes.ts.

/** One node as the node watch judged it (collector/kube/node-watch.ts). */
export interface ClusterNodeState {
  readonly name: string;
  readonly uid: string;
  readonly ready: boolean;
  /** The agent DaemonSet runs a pod there; null: unknown (the DaemonSet could not be read). */
  readonly agentExpected: boolean | null;
  /** Why it is not expected, or why that is unknown; empty when expected. */
  readonly reason: string;
  readonly kubeletVersion: string;
  readonly osImage: string;
  readonly kernel: string;
  readonly arch: string;
}

export interface ClusterNodeRow extends ClusterNodeState {
  /** When the collector first saw it Ready with the agent expected (ms); null while it is not. */
  readonly eligibleSince: number | null;
  readonly firstSeen: number;
  /** An agent has reported the node (it has a row in the node inventory). */
  readonly reported: boolean;
}

/** The cluster's nodes: the node watch's lists and events in; the API's and the sweeper's reads out. */
export interface ClusterNodeStore {
  /** After a list: these nodes and no other, in one transaction. */
  replace(nodes: readonly ClusterNodeState[], now: number): Promise<void>;
  upsert(node: ClusterNodeState, now: number): Promise<void>;
  remove(name: string): Promise<void>;
  /** The collector no longer watches nodes: forget them. */
  clear(): Promise<void>;
  get(name: string): Promise<ClusterNodeRow | undefined>;
  all(): Promise<ClusterNodeRow[]>;
  /** Nodes Ready with the agent expected since `cutoff` or before, that no agent has reported. */
  missingAgents(cutoff: number): Promise<ClusterNodeRow[]>;
  count(): Promise<number>;
}
