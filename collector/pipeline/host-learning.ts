// Where each node's host baseline stands: learning until when, or locked. The agent says so
// in its BaselineReports (AgentBaseline.learn_until_ms, state, locked_by of its host key);
// nothing else about it is stored, so this is what the node's agent last reported since the
// collector started. Agents send every baseline right after their hello, so it is known
// again within a second of a reconnect. Bounded: the oldest node's entry goes first
// (counted).
import { isHostKey } from '../../proto/baseline-key.js';
import type { Metrics } from '../metrics.js';
import { isoTime } from '../store/time.js';

export const HOST_LEARNING_MAX_NODES = 100_000;

/** How an agent's baseline locked: its learning window ended, or an operator (or the central baseline) locked it. */
export const LOCKED_BY = ['window', 'operator'] as const;
export type LockedBy = (typeof LOCKED_BY)[number];

/** What a node's agent reported of its host baseline. */
export interface ReportedHostWindow {
  readonly key: string;
  readonly state: 'learning' | 'locked';
  /** When the learning window ends (or ended), unix ms on the node's clock; 0 when not said. */
  readonly learnUntil?: number;
  readonly lockedBy?: LockedBy | '';
}

/** The node's status as the API shows it. */
export interface HostLearning {
  /** host/control-plane or host/worker (host from agents that predate the roles). */
  readonly key: string;
  /** `learning` until `until`; `locked` once the window ended or something locked it. */
  readonly state: 'learning' | 'locked';
  /** When the window ends (learning) or ended (locked by its window); null when the agent did not say. */
  readonly until: string | null;
  /** `window`, `operator`, or empty while learning. */
  readonly lockedBy: LockedBy | '';
  /** When the agent reported it. */
  readonly reportedAt: string;
}

interface Entry {
  readonly key: string;
  readonly state: 'learning' | 'locked';
  readonly until: number;
  readonly lockedBy: LockedBy | '';
  readonly at: number;
}

export function createHostLearning(deps: { metrics: Metrics; maxNodes?: number }) {
  const max = deps.maxNodes ?? HOST_LEARNING_MAX_NODES;
  const byNode = new Map<string, Entry>();
  return {
    /** The host baseline among what a node reported, if it is there. */
    report(node: string, baselines: readonly ReportedHostWindow[], now: number): void {
      const host = baselines.find((b) => isHostKey(b.key));
      if (!host) return;
      byNode.delete(node);
      byNode.set(node, { key: host.key, state: host.state, until: host.learnUntil ?? 0, lockedBy: host.lockedBy ?? '', at: now });
      if (byNode.size > max) {
        const oldest = byNode.keys().next().value;
        if (oldest !== undefined) byNode.delete(oldest);
        deps.metrics.inc('nodeward_host_learning_evicted_total');
      }
    },
    /** A new stream: what it reports replaces what an earlier one said. */
    forget(node: string): void {
      byNode.delete(node);
    },
    /**
     * The node's host baseline now: a window whose end has passed reads as locked by it
     * (the agent locks at that moment; its report may not have arrived yet). Null when the
     * node reported none (no process monitoring, or nothing reported since the collector started).
     */
    get(node: string, now: number): HostLearning | null {
      const e = byNode.get(node);
      if (!e) return null;
      const ended = e.until > 0 && now >= e.until;
      const state = e.state === 'locked' || ended ? 'locked' : 'learning';
      return {
        key: e.key, state, until: e.until > 0 ? isoTime(e.until) : null,
        lockedBy: state === 'learning' ? '' : e.lockedBy || 'window',
        reportedAt: isoTime(e.at),
      };
    },
    size(): number {
      return byNode.size;
    },
  };
}

export type HostLearningRegistry = ReturnType<typeof createHostLearning>;
