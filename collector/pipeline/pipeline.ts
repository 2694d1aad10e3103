// ingest -> pipeline -> store / sinks. The pipeline owns what a committed message means:
// every change to findings goes through its commit stage (commit.ts), one unit of work per
// agent message, operator command (suppress, lift, allow, delete a node) or sweep, which
// applies the lifecycle (lifecycle.ts) and fills the webhook outbox from the transitions.
// Here: the clock, the counts and the logs around it.
import { AGENT_MISSING_CHECK, AGENT_STALE_CHECK } from '../../proto/collector-checks.js';
import type { Logger } from '../../proto/support/logger.js';
import type { Metrics } from '../metrics.js';
import type { NodeHello, NodeStats, Store } from '../store/store.js';
import type { Destination } from '../webhooks/types.js';
import { createCommitStage, type AgentMissing, type Change, type SuppressOutcome, type UnsuppressOutcome } from './commit.js';
import type { CommitOutcome, IncomingBatch, IncomingScan } from './types.js';
import type { PostureUnit } from '../posture/posture-watch.js';

export interface PipelineDeps {
  readonly store: Store;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly now?: () => number;
  /** Open findings a node may have; past it new ones are refused (default 10,000). */
  readonly maxOpenFindingsPerNode?: number;
  /** Open cluster findings (posture) there may be; past it new ones are refused (default 10,000). */
  readonly maxOpenClusterFindings?: number;
  /** Webhook destinations: the transitions they route are queued in the same unit of work. */
  readonly destinations?: readonly Destination[];
  /** The uid of the cluster the store adopted: finding ids are made within it (commit.ts). Default ''. */
  readonly clusterUid?: string;
}

export function countTransitions(metrics: Metrics, changes: ReadonlyArray<{ readonly event: string }>): void {
  for (const e of changes) metrics.inc('nodeward_finding_events_total', 1, { event: e.event });
}

export function createPipeline(deps: PipelineDeps) {
  const now = deps.now ?? Date.now;
  const { metrics, log, store } = deps;
  const commit = createCommitStage(store, {
    maxOpenFindingsPerNode: deps.maxOpenFindingsPerNode ?? 10_000, maxOpenClusterFindings: deps.maxOpenClusterFindings ?? 10_000, destinations: deps.destinations ?? [],
    clusterUid: deps.clusterUid ?? '',
  });
  const suppressionListeners = new Set<(until: number) => void>();

  /** Counts the transitions; says so when a node's agent came back. */
  function changed(changes: readonly Change[]): readonly Change[] {
    countTransitions(metrics, changes);
    for (const c of changes) {
      if (c.checkId === AGENT_STALE_CHECK.id && c.event === 'resolved') log.info({ node: c.node }, 'agent is back; its agent-stale finding is resolved');
      if (c.checkId === AGENT_MISSING_CHECK.id && c.event === 'resolved') log.info({ node: c.node }, 'agent-missing finding resolved');
    }
    return changes;
  }

  function account(kind: 'scan' | 'batch', node: string, items: number, out: CommitOutcome): CommitOutcome {
    changed(out.changes);
    if (out.duplicate) {
      metrics.inc('nodeward_dedup_hits_total');
      return out;
    }
    metrics.inc('nodeward_batches_ingested_total', 1, { kind });
    metrics.inc('nodeward_findings_ingested_total', out.updated);
    if (out.refused > 0) {
      metrics.inc('nodeward_rejects_total', out.refused, { reason: 'node_finding_cap' });
      log.warn({ node, refused: out.refused }, 'node is at its open-finding cap; new findings refused');
    }
    // Sent before the agent applied an allow: committed, it would reopen a resolved finding.
    if (out.ignored > 0) metrics.inc('nodeward_findings_ignored_total', out.ignored);
    log.debug({ node, kind, items, updated: out.updated, events: out.changes.length }, 'committed');
    return out;
  }

  return {
    async hello(hello: NodeHello, stats: NodeStats): Promise<void> {
      changed(await commit.hello(hello, stats, now()));
    },
    async heartbeat(node: string, stats: NodeStats): Promise<void> {
      changed(await commit.heartbeat(node, stats, now()));
    },
    disconnected(node: string): Promise<void> {
      return store.nodes.setConnected(node, false);
    },
    /** The node's BaselineReport was refused as invalid: counted on the node, as refused findings are. */
    baselineReportRefused(node: string): Promise<void> {
      return store.nodes.baselineReportRefused(node);
    },
    async scan(scan: IncomingScan): Promise<CommitOutcome> {
      return account('scan', scan.node, scan.results.length, await commit.scan(scan, now()));
    },
    async batch(batch: IncomingBatch): Promise<CommitOutcome> {
      return account('batch', batch.node, batch.findings.length, await commit.batch(batch, now()));
    },

    /** An operator's suppression (or a change to it). */
    async suppress(id: string, sup: { readonly reason: string; readonly until: number | null; readonly by: string }): Promise<SuppressOutcome> {
      const out = await commit.suppress(id, sup, now());
      changed(out.changes);
      if (out.outcome !== 'missing' && sup.until !== null) for (const l of suppressionListeners) l(sup.until);
      return out.outcome;
    },
    /** An operator ends a suppression now. */
    async unsuppress(id: string, by: string): Promise<UnsuppressOutcome> {
      const out = await commit.unsuppress(id, by, now());
      changed(out.changes);
      return out.outcome;
    },
    /** Findings of these checks and subjects resolve on every node (allowed executables). */
    async resolveSubjects(checkIds: readonly string[], subjects: readonly string[], note: string): Promise<readonly Change[]> {
      return changed(await commit.resolveSubjects(checkIds, subjects, note, now()));
    },
    /** A unit of the posture watch: cluster findings raised and resolved (commit.ts posture). */
    async posture(unit: PostureUnit): Promise<readonly Change[]> {
      const out = await commit.posture(unit, now());
      if (out.refused > 0) {
        metrics.inc('nodeward_posture_findings_refused_total', out.refused);
        log.warn({ refused: out.refused }, 'posture: the cluster is at its open-finding cap (posture.maxOpenFindings); new cluster findings refused');
      }
      return changed(out.changes);
    },
    /** Every open and suppressed finding of the node resolves (it was deleted). */
    async resolveNode(node: string, note: string): Promise<readonly Change[]> {
      return changed(await commit.resolveNode(node, note, now()));
    },
    /** The sweeper found the node's agent silent since `lastSeen`. */
    async silent(node: string, lastSeen: number, staleAfterMs: number): Promise<readonly Change[]> {
      return changed(await commit.silent(node, lastSeen, staleAfterMs, now()));
    },
    /** The sweeper found no agent reporting from a node that should run one. */
    async agentMissing(node: string, m: AgentMissing): Promise<readonly Change[]> {
      return changed(await commit.agentMissing(node, m, now()));
    },
    /** The sweeper resolves agent-missing findings whose node `settled` gives a reason for. */
    async settleAgentMissing(settled: (node: string) => string | undefined): Promise<readonly Change[]> {
      return changed(await commit.settleAgentMissing(settled, now()));
    },
    /** The sweeper ends the suppressions that have run out. */
    async expire(): Promise<readonly Change[]> {
      return changed(await commit.expire(now()));
    },
    /** Told the expiry of every suppression an operator makes (the sweeper wakes up for it). */
    onSuppression(listener: (until: number) => void): () => void {
      suppressionListeners.add(listener);
      return () => suppressionListeners.delete(listener);
    },
  };
}

export type Pipeline = ReturnType<typeof createPipeline>;
