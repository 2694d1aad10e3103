// The processes part of the Store boundary (store.ts). Plain types: the SQLite implementation
// is store/processes.ts.
import type { FindingState, Severity } from '../../../proto/domain.js';
import type { Page } from '../paging.js';

export interface UnexpectedProcess {
  /** The finding's id (GET /api/v1/findings/{id}). */
  readonly id: string;
  readonly node: string;
  readonly state: FindingState;
  readonly severity: Severity;
  /** `host/control-plane`, `host/worker` (`host` from older agents), `<namespace>/<Kind>/<name>/<container>` or `container:<id>`. */
  readonly baseline: string;
  readonly executable: string;
  /** The executable had been deleted from disk while it ran. */
  readonly exeDeleted: boolean;
  readonly namespace: string;
  /** `<Kind>/<name>`; empty on the host and for a container no pod claims. */
  readonly workload: string;
  readonly container: string;
  readonly containerId: string;
  readonly pod: string;
  readonly pid: number | null;
  readonly user: string;
  readonly cmdline: string;
  /** Executables of the parent, grandparent, ... up to the container boundary. */
  readonly parents: string[];
  /** How the last occurrence was seen: `event` (exec event) or `scan`. */
  readonly seen: string;
  /** Some of the process's files were gone before they could be read. */
  readonly partial: boolean;
  readonly firstSeen: string;
  readonly lastSeen: string;
  /** Occurrences, all told. */
  readonly count: number;
}

export interface ProcessFilter {
  readonly state: FindingState;
  readonly node?: string | undefined;
  readonly namespace?: string | undefined;
  /** `<Kind>/<name>`, or a name of any kind. */
  readonly workload?: string | undefined;
  /** Last seen at or after (ms). */
  readonly since?: number | undefined;
}

/** Unexpected processes: the proc-unexpected findings read as processes (see store/processes.ts). */
export interface ProcessQueries {
  /**
   * The contents that ran at each of `paths` under `key`, as the findings an operator's allow
   * resolves (proc-unexpected, proc-modified-binary; open or suppressed, on any node) recorded
   * them: the SHA-256 of the detail's identity. Paths with none are left out.
   */
  contentsSeen(key: string, paths: readonly string[]): Promise<Map<string, string[]>>;
  /** A page of rows in finding order (oldest first), after the cursor position `after`. */
  unexpected(filter: ProcessFilter, limit: number, after: number): Promise<Page<UnexpectedProcess>>;
}
