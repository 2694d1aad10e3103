// The nodes part of the Store boundary (store.ts): the node inventory as agents feed it and
// the API reads it (with what the node watch says of each node: cluster-nodes.ts), and the
// cursor of its listing. Plain types: the SQLite implementation is store/nodes.ts.
import type { ExposureCuts } from '../../../proto/exposure-cuts.js';
import type { Page } from '../paging.js';

export interface NodeHello {
  readonly node: string;
  readonly agentVersion: string;
  readonly epoch: string;
  readonly os: string;
  readonly kernel: string;
  readonly arch: string;
  readonly kubeletVersion: string;
  readonly cpus: number;
  readonly memoryBytes: number;
  readonly uptimeSeconds: number;
  readonly certificates: ReadonlyArray<{ path: string; notAfter: string }>;
}

/** An agent's AgentStats as validated: its latest values (spool ones since its epoch began, the rest since it started). */
export interface NodeStats {
  readonly spoolEntries: number;
  readonly spoolBytes: number;
  readonly spoolDropped: number;
  readonly rejected: number;
  readonly execCoverage: string;
  /** `ebpf`, `netlink` or `scan`; for agents that predate it, derived from execCoverage (ingest). */
  readonly execSource: string;
  /** Why each better source did not load (redacted); empty when eBPF runs. */
  readonly execSourceReason: string;
  readonly processEventsCapped: number;
  readonly processEventsLost: number;
  readonly execEventsLost: number;
  /** Of execEventsLost: records the eBPF ring buffer had no room for. */
  readonly execRingLost: number;
  /** Processes seen but not judged: no executable, or no cgroup and no known parent. */
  readonly execUnjudged: number;
  readonly execRecordsPartial: number;
  /** Processes judged as host processes: their cgroup named a container no runtime vouches for. */
  readonly execFakeContainer: number;
  /** Processes judged as host processes: in a container's cgroup, in the host's mount namespace. */
  readonly execHostNamespace: number;
  /** eBPF: batches of exec records read from the ring buffer. */
  readonly execBatches: number;
  readonly baselineItemsDropped: number;
  readonly baselineKeysEvicted: number;
  readonly baselineReportDropped: number;
  /** Host documents refused before parsing, at every fact collection; the last one's path (redacted) and limit. */
  readonly hostDocumentsRefused: number;
  readonly hostDocumentRefusedPath: string;
  readonly hostDocumentRefusedReason: string;
  /** Executables the agent could not hash (judged by path only), and the last one's reason. */
  readonly execIdentityFailed: number;
  readonly execIdentityFailedReason: string;
  /** Exec events the agent's source delivered, since it started. */
  readonly execEvents: number;
  /** How long its last scan took (ms); 0 before its first. */
  readonly lastScanDurationMs: number;
  /** Where its exposure collector was cut short, since it started (ExposureCuts). */
  readonly exposureWalkPidLimitHits: number;
  readonly exposureWalkTimeLimitHits: number;
  readonly exposureWalkFdLimitHits: number;
  readonly exposureWalkUnreadable: number;
  readonly exposureRowsRefused: number;
  readonly exposureListenersDropped: number;
  readonly exposureNativeReader: boolean;
}

export type { ExposureCuts };

/** What an agent reports it lost, by cause, and their sum. */
export interface AgentDrops {
  readonly total: number;
  /** Findings dropped by the spool's bounds. */
  readonly spool: number;
  /** Messages the collector refused as invalid, which the agent then dropped. */
  readonly rejected: number;
  readonly processEventsLost: number;
  readonly execEventsLost: number;
  /** Processes the agent saw but could not judge (no executable, or nowhere to place them). */
  readonly execUnjudged: number;
  readonly baselineItemsDropped: number;
  readonly baselineKeysEvicted: number;
  readonly baselineReportDropped: number;
}

export interface NodeRow {
  readonly name: string;
  readonly agentVersion: string;
  readonly kubeletVersion: string;
  readonly os: string;
  readonly kernel: string;
  readonly arch: string;
  readonly cpus: number;
  readonly memoryBytes: number;
  readonly certificates: ReadonlyArray<{ path: string; notAfter: string }>;
  /** The certificate that expires first (the answer to "which node's certificates expire first"); null when none was reported. */
  readonly certificatesExpireFirst: { readonly path: string; readonly notAfter: string } | null;
  readonly connected: boolean;
  readonly stale: boolean;
  readonly firstSeen: string;
  readonly lastSeen: string;
  readonly execCoverage: string;
  /** How the agent sees execs: `ebpf`, `netlink`, `scan`, or empty before the node reported it. */
  readonly execSource: string;
  /** Why each better exec source did not load (`ebpf: CODE: ...; netlink: ...`); empty when eBPF runs. */
  readonly execSourceReason: string;
  /** Exec records the kernel could not put in the eBPF ring buffer (counted in agentDrops.execEventsLost too). */
  readonly execRingLost: number;
  /** Processes judged as host processes though their cgroup named a container no runtime vouches for. */
  readonly execFakeContainer: number;
  /** Processes judged as host processes though in a container's cgroup: they ran in the host's mount namespace. */
  readonly execHostNamespace: number;
  /** eBPF: batches of exec records the agent read from the ring buffer. */
  readonly execBatches: number;
  /** Host documents refused before parsing by their limits, and the last one. */
  readonly hostDocumentsRefused: { readonly count: number; readonly lastPath: string; readonly lastReason: string };
  /** Executables the agent could not hash, so judged by path only, and the last one's reason. */
  readonly execIdentityFailed: { readonly count: number; readonly lastReason: string };
  /** Exec events the agent's source delivered, since it started. */
  readonly execEvents: number;
  /** How long the agent's last scan took (ms); 0 before its first, or from an agent that predates it. */
  readonly lastScanDurationMs: number;
  readonly exposureCuts: ExposureCuts;
  readonly spool: { readonly entries: number; readonly bytes: number; readonly dropped: number; readonly rejected: number };
  readonly agentDrops: AgentDrops;
  /** Seen late or in part, not lost: occurrences that waited for the rate limit, exec records read after the process had gone. */
  readonly agentDegraded: { readonly processEventsCapped: number; readonly execRecordsPartial: number };
  readonly findingsRefused: number;
  /** BaselineReports from this node that the collector refused as invalid. */
  readonly baselineReportsRefused: number;
  /** Baselines in this node's reports the collector did not merge, by reason. */
  readonly baselineKeysRefused: BaselineKeysRefused;
  readonly openFindings: number;
  readonly failingChecks: number;
  /** Scored checks judged pass or fail on the node's latest results, and how many passed. */
  readonly scoredChecks: { readonly passing: number; readonly scored: number };
  /** Passing scored checks / scored checks judged, or null when none were judged. */
  readonly complianceScore: number | null;
  /** The benchmark its latest scan was judged under (`cis-1.12`, `cis-eks-1.7`); empty before its first scan. */
  readonly benchmark: string;
  /** The node's latest results (one per check and subject) by status; the agent's judgement of itself (agent-exec-coverage) left out. */
  readonly results: NodeResultCounts;
  /** `agent`: an agent has reported the node; `cluster`: known only from the Kubernetes API (no agent ever reported it). */
  readonly source: 'agent' | 'cluster';
  /** What the Kubernetes API says of the node (the node watch); null when the collector does not watch nodes or the cluster has no such node. */
  readonly cluster: ClusterView | null;
  /** The node's agent-missing finding while it is open or suppressed; null otherwise. */
  readonly agentMissing: AgentMissingView | null;
}

/** A node's latest results by status: all `skip` means no check applied (no kubelet, no control plane found). */
export interface NodeResultCounts {
  readonly pass: number;
  readonly fail: number;
  readonly warn: number;
  readonly skip: number;
  readonly error: number;
}

export interface ClusterView {
  readonly ready: boolean;
  /** The agent DaemonSet runs a pod there; null: unknown (the DaemonSet could not be read). */
  readonly agentExpected: boolean | null;
  /** Why the agent is not expected there (a taint it does not tolerate, Windows, Fargate ...), or why that is unknown. */
  readonly reason: string;
  /** When the collector first saw the node in the cluster. */
  readonly firstSeen: string;
}

export interface AgentMissingView {
  readonly findingId: string;
  readonly state: 'open' | 'suppressed';
  /** Since when the node has been Ready with the agent expected and no agent reporting. */
  readonly since: string;
  /** Why the agent is missing, as far as the collector can tell. */
  readonly reason: string;
}

/** Baselines of a node's reports the collector refused, by reason (pipeline/baselines.ts). */
export interface BaselineKeysRefused {
  readonly total: number;
  /** The pod watch shows no pod of the workload on the node. */
  readonly notOnNode: number;
  /** New, and the node was at its own limit. */
  readonly overNodeLimit: number;
  /** New, and the collector held its limit of baselines. */
  readonly centralFull: number;
}

export interface NodeFilter {
  /** true: only nodes silent past the stale time; false: only nodes heard from since. */
  readonly stale?: boolean | undefined;
  /** Only nodes whose latest scan was judged under this benchmark (`cis-eks-1.7`). */
  readonly benchmark?: string | undefined;
}

/** `name`, or `certExpiry`: the node whose earliest certificate expiry comes first, nodes without certificates last. */
export const NODE_SORTS = ['name', 'certExpiry'] as const;
export type NodeSort = (typeof NODE_SORTS)[number];

/** Where the previous page ended, in the page's own order. */
export interface NodeCursor {
  readonly sort: NodeSort;
  readonly after: string;
  /** certExpiry: the earliest expiry of the last node (RFC 3339), null when it had none. */
  readonly expiry?: string | null;
}

export function encodeNodeCursor(name: string, expiry?: string | null): string {
  return Buffer.from(JSON.stringify(expiry === undefined ? { after: name } : { after: name, sort: 'certExpiry', expiry })).toString('base64url');
}

export function decodeNodeCursor(cursor: string): string | undefined {
  const c = decodeNodeCursorOf(cursor);
  return c?.sort === 'name' ? c.after : undefined;
}

/** A cursor of either order; undefined when it is not one this API issued. */
export function decodeNodeCursorOf(cursor: string): NodeCursor | undefined {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { after?: unknown; sort?: unknown; expiry?: unknown };
    if (typeof v.after !== 'string' || v.after.length === 0 || v.after.length > 253) return undefined;
    if (v.sort === undefined) return { sort: 'name', after: v.after };
    if (v.sort !== 'certExpiry') return undefined;
    if (v.expiry !== null && (typeof v.expiry !== 'string' || Number.isNaN(Date.parse(v.expiry)))) return undefined;
    return { sort: 'certExpiry', after: v.after, expiry: v.expiry };
  } catch {
    return undefined;
  }
}

/** The node inventory: hellos, heartbeats and counters in; the API's reads out. */
/** One listening socket as the node's agent last reported it (ScanReport.exposure; docs/exposure.md). */
export interface ExposureListener {
  readonly protocol: 'tcp' | 'udp';
  readonly address: string;
  readonly port: number;
  readonly addressClass: ExposureClass;
  readonly wildcard: boolean;
  /** 0 when the agent found no process holding it. */
  readonly pid: number;
  readonly exe: string;
  readonly baseline: string;
  readonly namespace: string;
  readonly pod: string;
  readonly container: string;
  readonly workload: string;
  readonly uid: number;
}

export const EXPOSURE_CLASSES = ['loopback', 'link-local', 'private', 'public'] as const;
export type ExposureClass = (typeof EXPOSURE_CLASSES)[number];

/** What listens on a node, from its latest scan that carried it. */
export interface NodeExposure {
  readonly listeners: readonly ExposureListener[];
  readonly nodeAddresses: ReadonlyArray<{ readonly address: string; readonly addressClass: ExposureClass; readonly source: 'interface' | 'node' }>;
  readonly listenersDropped: number;
  readonly unowned: number;
  readonly walkCut: string;
  readonly rowsRefused: number;
}

export interface NodeStore {
  hello(h: NodeHello, now: number): Promise<void>;
  /** The node's listeners from a scan (the latest scan's replace the previous). */
  setExposure(node: string, scannedAt: number, exposure: NodeExposure): Promise<void>;
  /** The node's latest listeners, when a scan carried them. */
  exposure(node: string): Promise<(NodeExposure & { readonly scannedAt: string }) | null>;
  /** The addresses (with their class) a baseline's processes listen on with this protocol and port, on every node's latest scan. */
  baselineListeners(key: string, protocol: 'tcp' | 'udp', port: number): Promise<Array<{ address: string; addressClass: ExposureClass }>>;
  stats(node: string, st: NodeStats, now: number): Promise<void>;
  /** The collector refused one of the node's BaselineReports. */
  baselineReportRefused(node: string): Promise<void>;
  /** Baselines of one of the node's reports were not merged. */
  baselineKeysRefused(node: string, refused: Omit<BaselineKeysRefused, 'total'>): Promise<void>;
  /**
   * Forgets the node: its inventory row, its latest results and its idempotency records (so
   * an agent that comes back starts clean). Its findings are resolved first, by the caller.
   * False when there was no such node.
   */
  delete(node: string): Promise<boolean>;
  touch(node: string, now: number): Promise<void>;
  setConnected(node: string, connected: boolean): Promise<void>;
  /** At start-up nobody is connected yet, whatever the last run left behind. */
  resetConnections(): Promise<void>;
  /** A node an agent reported, or, with `cluster`, also one known only from the cluster. */
  get(name: string, now: number, staleAfterMs: number, opts?: { cluster?: boolean }): Promise<NodeRow | undefined>;
  /**
   * Ordered by name (the cursor is the last name of the previous page), or with
   * `sort: 'certExpiry'` by earliest certificate expiry, then name, nodes without one last.
   * Without a stale filter, the nodes known only from the cluster are listed among them
   * (`source: 'cluster'`; no certificate, so last by expiry).
   */
  list(now: number, staleAfterMs: number, filter?: NodeFilter, limit?: number, after?: string | NodeCursor): Promise<Page<NodeRow>>;
  /** Nodes last heard from before `cutoff`. */
  silentSince(cutoff: number): Promise<Array<{ name: string; lastSeen: number }>>;
  counts(now: number, staleAfterMs: number): Promise<{ total: number; connected: number; stale: number; scoredPassing: number; scored: number }>;
  /** Compliance per benchmark: the nodes judged under each and their scored checks, by benchmark name. */
  byBenchmark(): Promise<Array<{ benchmark: string; nodes: number; scoredPassing: number; scored: number }>>;
  /** The agents' own figures, for /metrics: the first `limit` nodes an agent reported, by name, and how many there are in all. */
  agentFigures(limit: number): Promise<{ nodes: AgentFigures[]; total: number }>;
}

/** What /metrics exports of one node's agent (its latest hello or heartbeat). */
export interface AgentFigures {
  readonly node: string;
  /** `ebpf`, `netlink`, `scan`, or empty before the agent said. */
  readonly execSource: string;
  readonly execEventsLost: number;
  /** Every loss the agent reports, summed (AgentDrops.total). */
  readonly drops: number;
  readonly spoolEntries: number;
  readonly spoolBytes: number;
  readonly spoolDropped: number;
  readonly identityFailed: number;
  readonly execEvents: number;
  readonly lastScanDurationMs: number;
  readonly exposureCuts: Omit<ExposureCuts, 'nativeReader'>;
  /** Unix ms. */
  readonly lastSeen: number;
}
