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
 * A shell or interpreter started with stdin, stdout or stderr on an AF_INET/AF_INET6 socket
 * (agent/processes/context.ts); subject `<baseline>:<exe>`.
 */
export const PROC_REVERSE_SHELL_CHECK = { id: 'proc-reverse-shell', category: 'process', severity: 'critical' } as const satisfies CheckIdentity;

/**
 * An interpreter ran code given on its command line or on stdin from a socket (`python3 -c`,
 * `sh -c`, `perl -e`) in a baseline that never saw that interpreter run inline code while
 * learning; subject `<baseline>:<exe>`.
 */
export const PROC_INLINE_CODE_CHECK = { id: 'proc-inline-code', category: 'process', severity: 'medium' } as const satisfies CheckIdentity;

/**
 * A learned path ran content (SHA-256) the baseline never learned and no package manager or
 * image vouches for; subject `<baseline>:<exe>`.
 */
export const PROC_MODIFIED_BINARY_CHECK = { id: 'proc-modified-binary', category: 'process', severity: 'critical' } as const satisfies CheckIdentity;

/**
 * A learned path ran, once its baseline was locked, with content that could not be hashed (the
 * file was gone and unreachable, too large, unreadable); subject `<baseline>:<exe>`.
 */
export const PROC_UNVERIFIED_BINARY_CHECK = { id: 'proc-unverified-binary', category: 'process', severity: 'medium' } as const satisfies CheckIdentity;

/** The agent's exec source is not eBPF; subject `exec-source`. */
export const EXEC_COVERAGE_CHECK = { id: 'agent-exec-coverage', category: 'agent', severity: 'medium' } as const satisfies CheckIdentity;

/** The checks whose findings carry a ProcessDetail (agent.proto). */
export const PROCESS_DETAIL_CHECK_IDS: readonly string[] = [
  PROC_UNEXPECTED_CHECK.id, PROC_FAKE_CONTAINER_CGROUP_CHECK.id, PROC_REVERSE_SHELL_CHECK.id, PROC_INLINE_CODE_CHECK.id, PROC_MODIFIED_BINARY_CHECK.id, PROC_UNVERIFIED_BINARY_CHECK.id,
];

/** The checks an operator's allow of an executable resolves (baselines/allow): their subject is `<baseline>:<exe>`. */
export const ALLOW_RESOLVES_CHECK_IDS: readonly string[] = [
  PROC_UNEXPECTED_CHECK.id, PROC_MODIFIED_BINARY_CHECK.id, PROC_UNVERIFIED_BINARY_CHECK.id, PROC_INLINE_CODE_CHECK.id,
];
