// The checks of the runtime sensor, part of the wire contract: the agent sends findings under
// these ids and the collector reads them back by id (its process view, central baselines,
// exec coverage). Each is defined here once, with its category and default severity; the
// agent adds the title and remediation it shows.
import type { Category, Severity } from './domain.js';

export interface CheckIdentity {
  readonly id: string;
  readonly category: Category;
  /** The default severity (a finding may raise it, e.g. exec coverage on the /proc scan). */
  readonly severity: Severity;
}

/** An executable outside its locked baseline ran; subject `<baseline>:<exe>` (baseline-key.ts). */
export const PROC_UNEXPECTED_CHECK = { id: 'proc-unexpected', category: 'process', severity: 'high' } as const satisfies CheckIdentity;

/** A process ran in a cgroup that only looks like a container's; subject `cgroup:<path>`. */
export const PROC_FAKE_CONTAINER_CGROUP_CHECK = { id: 'proc-fake-container-cgroup', category: 'process', severity: 'high' } as const satisfies CheckIdentity;

/**
 * A learned executable ran with content (SHA-256) its baseline does not hold and nobody vouches
 * for (no package manager record, not a new image); subject `<baseline>:<exe>` (baseline-key.ts).
 */
export const PROC_MODIFIED_BINARY_CHECK = { id: 'proc-modified-binary', category: 'process', severity: 'critical' } as const satisfies CheckIdentity;

/** The agent's exec source is not eBPF; subject `exec-source`. */
export const EXEC_COVERAGE_CHECK = { id: 'agent-exec-coverage', category: 'agent', severity: 'medium' } as const satisfies CheckIdentity;

/** The checks whose findings carry a ProcessDetail (agent.proto). */
export const PROCESS_DETAIL_CHECK_IDS: readonly string[] = [PROC_UNEXPECTED_CHECK.id, PROC_FAKE_CONTAINER_CGROUP_CHECK.id, PROC_MODIFIED_BINARY_CHECK.id];

/** The checks an operator's allow of an executable resolves (baselines/allow): their subject is `<baseline>:<exe>`. */
export const ALLOW_RESOLVES_CHECK_IDS: readonly string[] = [PROC_UNEXPECTED_CHECK.id, PROC_MODIFIED_BINARY_CHECK.id];
