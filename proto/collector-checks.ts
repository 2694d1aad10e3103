// The checks the collector raises itself (no agent sends them), defined next to the ones
// agents send (process-checks.ts) so that an id is spelled once and never taken twice.
import type { CheckIdentity } from './process-checks.js';

/** A node's agent went silent past the stale time; subject: the node's name. */
export const AGENT_STALE_CHECK = { id: 'agent-stale', category: 'agent', severity: 'high' } as const satisfies CheckIdentity;

/**
 * A Ready node the agent DaemonSet should run on, from which no agent has reported for longer
 * than the grace period (nodes.missingAfterSeconds); subject: the node's name.
 */
export const AGENT_MISSING_CHECK = { id: 'agent-missing', category: 'agent', severity: 'high' } as const satisfies CheckIdentity;
