// The node's exposure as facts (agent/exposure/collect.ts collects them): every listening
// socket of the host's network namespace, the process that holds it and its workload, each
// bound address classified, and the node's own addresses. Part of the facts model
// (model.ts): plain data, importing no collector.
import type { SocketTableName } from './sockets.js';

/** How exposed an address is (agent/exposure/address-class.ts classifies). */
export type AddressClass = 'loopback' | 'link-local' | 'private' | 'public';

/** A workload's listen baseline as the checks read it (agent/exposure/listen-baseline.ts keeps it). */
export type BaselineState = 'learning' | 'locked';

export interface ListenBaselineView {
  readonly state: BaselineState;
  readonly learned: readonly string[];
  /** Items that were not learned because the key's set was full. */
  readonly overflow: number;
}

/** The process that holds a socket, and where it runs. */
export interface ListenerOwner {
  readonly pid: number;
  /** The executable (host path, or the path inside the container); empty when unreadable. */
  readonly exe: string;
  readonly comm: string;
  /** The baseline key of its workload (`host/worker`, `<ns>/<Kind>/<name>/<container>`, `container:<id>`). */
  readonly key: string;
  readonly namespace: string;
  readonly pod: string;
  readonly container: string;
  /** The workload as `Kind/name`; empty for host processes. */
  readonly workload: string;
}

export interface Listener {
  readonly protocol: 'tcp' | 'udp';
  readonly family: 'inet' | 'inet6';
  readonly address: string;
  readonly port: number;
  /** The bound address's class; for a wildcard, the most exposed class of the node's addresses. */
  readonly class: AddressClass;
  /** Bound to every address of the namespace (`0.0.0.0`, `::`). */
  readonly wildcard: boolean;
  readonly inode: number;
  readonly uid: number;
  /** null when no process was found holding it (see ExposureFacts.walk for why that may be). */
  readonly owner: ListenerOwner | null;
}

export interface NodeAddress {
  readonly address: string;
  readonly class: AddressClass;
  /** `interface`: configured on the namespace; `node`: the Node object's ExternalIP (from the collector). */
  readonly source: 'interface' | 'node';
}

export interface TableRead {
  readonly table: SocketTableName;
  readonly rows: number;
  readonly refused: number;
  readonly firstRefusal: string;
  /** Listening rows past the parser's bound, plus a table cut at maxTableBytes (then `cut`). */
  readonly dropped: number;
  readonly cut: boolean;
  /** Why the table could not be read; empty when it was. */
  readonly error: string;
}

/** How the walk of the fd directories went (agent/exposure/socket-owners.ts): its bounds, each counted when hit. */
export interface OwnerWalkStats {
  readonly pidsWalked: number;
  /** fd directories that could not be read (the process exited, or access was refused). */
  readonly unreadable: number;
  /** The walk ended at maxPids, with pids left. */
  readonly pidLimitHit: boolean;
  /** Processes whose descriptors were cut at maxFdsPerPid. */
  readonly fdLimitHits: number;
  /** The walk ended at budgetMs, with pids left. */
  readonly timeLimitHit: boolean;
  readonly elapsedMs: number;
}

/** The walk as the exposure facts keep it: its statistics and which reader read the descriptors. */
export interface ExposureWalk extends OwnerWalkStats {
  /** The native addon's reader (one open directory per process); false: a path lookup per descriptor. */
  readonly nativeReader: boolean;
}

export interface ExposureFacts {
  readonly namespacePid: number;
  readonly listeners: readonly Listener[];
  readonly nodeAddresses: readonly NodeAddress[];
  readonly tables: readonly TableRead[];
  readonly walk: ExposureWalk;
  /** Listeners no process was found for. */
  readonly unowned: number;
  /** Listeners past maxListeners, left out. */
  readonly dropped: number;
  /**
   * The listen baselines of the keys that have listeners now (listen-baseline.ts), when the
   * process monitor runs: what exposure-new-listener judges.
   */
  readonly listenBaselines?: Readonly<Record<string, ListenBaselineView>>;
}
