// The collector's periodic housekeeping, one component with the common start/stop
// contract: nodes whose agents went silent get an agent-stale finding, Ready nodes the agent
// DaemonSet should run on that no agent has reported past the grace period get an
// agent-missing finding (and lose it once deleted from the cluster or no longer expected to
// run the agent), suppressions that ran out end, the audit log's buffered refusal counts are
// written (store/audit.ts), expired dashboard sessions are deleted, retention purges old
// rows, and the store gauges are refreshed.
// Findings change only through the pipeline's commit stage, here as everywhere. Besides its ticks it
// wakes up when the next suppression expires, so a suppression ends at its expiry and no
// read ever has to end it (reads never write).
import type { Logger } from '../../proto/support/logger.js';
import { systemClock, type Clock } from '../clock.js';
import type { Metrics } from '../metrics.js';
import type { Store } from '../store/store.js';
import { isoTime } from '../store/time.js';
import type { Pipeline } from './pipeline.js';

export interface SweeperConfig {
  readonly intervalMs: number;
  /** Silence after which a node is stale. */
  readonly staleAfterMs: number;
  /** How long a Ready node that should run the agent may go without one before it is agent-missing (default: staleAfterMs). */
  readonly missingAfterMs?: number;
  /** Ages after which rows are purged; 0 keeps them forever. */
  readonly retention: {
    readonly resolvedFindingsMs: number;
    readonly historyMs: number;
    readonly auditMs: number;
    /** Idempotency records of agent messages (agents resend within minutes). */
    readonly receivedMs: number;
    /** Delivered webhook outbox rows, and webhook dead letters. */
    readonly webhookDeliveredMs?: number;
    readonly webhookDeadMs?: number;
  };
}

export interface SweeperDeps {
  readonly store: Store;
  /** Where agent-stale findings are raised and suppressions end (its clock should be this one's). */
  readonly pipeline: Pick<Pipeline, 'silent' | 'expire' | 'onSuppression' | 'agentMissing' | 'settleAgentMissing'>;
  /**
   * The node watch (kube/node-watch.ts), which fills the store's cluster nodes: agent-missing is
   * judged only once its first list is in. Absent when the collector does not watch nodes.
   */
  readonly coverage?: {
    synced(): boolean;
    /** What the collector can tell of why a node's agent is missing (the pod watch: no agent pod, or one that has not connected). */
    whyMissing(node: string): string;
  } | undefined;
  readonly metrics: Metrics;
  readonly log: Logger;
  /** Its time and its ticks (default: the system's). */
  readonly clock?: Clock;
}

export interface SweepOutcome {
  readonly staleRaised: string[];
  readonly missingRaised: string[];
  /** agent-missing findings resolved: node deleted, no longer expected to run the agent, or not watched. */
  readonly missingSettled: string[];
  readonly suppressionsEnded: number;
  /** Expired dashboard sessions deleted. */
  readonly sessionsExpired: number;
  readonly purged: { readonly resolvedFindings: number; readonly history: number; readonly audit: number; readonly received: number };
}

const OPTIMIZE_EVERY_MS = 3600_000;

export function createSweeper(config: SweeperConfig, deps: SweeperDeps) {
  const clock = deps.clock ?? systemClock;
  const now = (): number => clock.now();
  const { store, metrics, log, pipeline } = deps;
  let running = false;
  let cancel: (() => void) | undefined;
  let unsubscribe: (() => void) | undefined;
  /** The wake-up for the next suppression expiry, and when it is due. */
  let expiry: { readonly at: number; readonly cancel: () => void } | undefined;
  let startedAt = 0;
  let optimizedAt = 0;
  const missingAfterMs = config.missingAfterMs ?? config.staleAfterMs;
  /** Without a node watch, agent-missing findings left from a run with one are resolved once. */
  let unwatchedSettled = false;

  /** Raises agent-missing for nodes past the grace period; resolves those no longer missing. */
  async function coverage(at: number): Promise<{ raised: string[]; settled: string[] }> {
    const raised: string[] = [];
    const cov = deps.coverage;
    if (!cov) {
      if (unwatchedSettled) return { raised, settled: [] };
      unwatchedSettled = true;
      const settled = (await pipeline.settleAgentMissing(() => 'the collector does not watch nodes (nodes.watch off)')).map((c) => c.node);
      return { raised, settled };
    }
    // Before the first list the rows are a previous run's (or none): nothing is judged from them.
    if (!cov.synced()) return { raised, settled: [] };
    /** Nodes whose agent-missing finding is open or suppressed and stays so: not raised again. */
    const stillMissing = new Set<string>();
    // Read before the unit: a unit reaches the database only through itself.
    const cluster = new Map((await store.clusterNodes.all()).map((c) => [c.name, c]));
    const settled = (await pipeline.settleAgentMissing((node) => {
      const c = cluster.get(node);
      if (!c) return 'the node was deleted from the cluster';
      if (c.agentExpected === false) return `the agent DaemonSet no longer runs on this node: ${c.reason}`;
      if (c.reported) return 'an agent has reported from the node';
      stillMissing.add(node);
      return undefined;
    })).map((c) => c.node);
    // Measured from when this collector started too: its agents reconnect after a restart.
    for (const c of await store.clusterNodes.missingAgents(at - missingAfterMs)) {
      if (stillMissing.has(c.name)) continue;
      const since = Math.max(c.eligibleSince ?? at, startedAt);
      if (at - since < missingAfterMs) continue;
      const opened = (await pipeline.agentMissing(c.name, { since, graceMs: missingAfterMs, reason: cov.whyMissing(c.name) }))
        .some((x) => x.event === 'opened' || x.event === 'reopened');
      if (!opened) continue;
      raised.push(c.name);
      metrics.inc('nodeward_nodes_agent_missing_total');
      log.warn({ node: c.name, since: isoTime(since) }, 'no agent reports from a node that should run one; agent-missing finding raised');
    }
    return { raised, settled };
  }

  async function sweep(): Promise<SweepOutcome> {
    const at = now();
    // Silence is measured from when this collector started listening, so a collector
    // outage does not make every node stale the moment it comes back.
    const staleRaised: string[] = [];
    if (at - startedAt > config.staleAfterMs) {
      for (const n of await store.nodes.silentSince(at - config.staleAfterMs)) {
        const raised = (await pipeline.silent(n.name, n.lastSeen, config.staleAfterMs)).some((c) => c.event === 'opened' || c.event === 'reopened');
        if (!raised) continue;
        staleRaised.push(n.name);
        metrics.inc('nodeward_nodes_went_stale_total');
        log.warn({ node: n.name, lastSeen: isoTime(n.lastSeen) }, 'agent has gone silent; agent-stale finding raised');
      }
    }
    const missing = await coverage(at);
    const ended = await endSuppressions();
    await store.audit.flush(at);
    const sessionsExpired = await store.sessions.purgeExpired(at);
    const r = config.retention;
    const purged = {
      resolvedFindings: r.resolvedFindingsMs > 0 ? await store.findings.purgeResolved(at - r.resolvedFindingsMs) : 0,
      history: r.historyMs > 0 ? await store.findings.purgeHistory(at - r.historyMs) : 0,
      audit: r.auditMs > 0 ? await store.audit.purge(at - r.auditMs) : 0,
      received: r.receivedMs > 0 ? await store.pruneReceived(at - r.receivedMs) : 0,
    };
    // Finished webhook outbox rows; 0 keeps them (a cutoff at the epoch deletes nothing).
    const webhookRows = await store.outbox.prune(r.webhookDeliveredMs ? at - r.webhookDeliveredMs : 0, r.webhookDeadMs ? at - r.webhookDeadMs : 0);
    if (webhookRows > 0) metrics.inc('nodeward_retention_purged_total', webhookRows, { what: 'webhookDeliveries' });
    for (const [what, n] of Object.entries(purged)) {
      if (n > 0) metrics.inc('nodeward_retention_purged_total', n, { what });
    }
    if (purged.resolvedFindings + purged.history + purged.audit > 0) log.info({ purged }, 'retention purged old rows');
    if (at - optimizedAt > OPTIMIZE_EVERY_MS) {
      optimizedAt = at;
      await store.optimize();
    }
    await refreshGauges(at);
    await armExpiry();
    return { staleRaised, missingRaised: missing.raised, missingSettled: missing.settled, suppressionsEnded: ended, sessionsExpired, purged };
  }

  /** Ends the suppressions that have run out; how many. */
  async function endSuppressions(): Promise<number> {
    const ended = await pipeline.expire();
    if (ended.length > 0) {
      metrics.inc('nodeward_suppressions_expired_total', ended.length);
      log.info({ findings: ended.map((e) => e.findingId) }, 'suppressions expired');
    }
    return ended.length;
  }

  /**
   * Wakes up at the next expiry (`until`, or the earliest in the store), unless one sooner is
   * set. Right after a wake-up, one still due is left to the next tick (no busy loop when the
   * database refuses the write).
   */
  async function armExpiry(until?: number, afterWakeup = false): Promise<void> {
    if (!running) return;
    const next = until ?? await store.findings.nextSuppressionExpiry();
    if (!running || next === undefined || (expiry !== undefined && expiry.at <= next) || (afterWakeup && next <= now())) return;
    expiry?.cancel();
    const cancelIt = clock.after(next - now(), () => {
      if (expiry?.cancel !== cancelIt) return;
      expiry = undefined;
      void (async () => {
        try {
          await endSuppressions();
          await refreshGauges(now());
        } catch (err) {
          metrics.inc('nodeward_sweep_failures_total');
          log.error({ err: (err as Error).message }, 'ending expired suppressions failed; retrying on the next tick');
        }
        await armExpiry(undefined, true);
      })().catch(armFailed);
    });
    expiry = { at: next, cancel: cancelIt };
  }

  /** A wake-up for the next expiry could not be set (the store failed): the next tick sets it. */
  function armFailed(err: unknown): void {
    metrics.inc('nodeward_sweep_failures_total');
    log.error({ err: (err as Error).message }, 'cannot read the next suppression expiry; retrying on the next tick');
  }

  async function refreshGauges(at: number): Promise<void> {
    for (const [state, n] of Object.entries(await store.findings.countByState())) {
      metrics.set('nodeward_findings', n, { state });
    }
    const n = await store.nodes.counts(at, config.staleAfterMs);
    metrics.set('nodeward_nodes', n.total, { state: 'known' });
    metrics.set('nodeward_nodes', n.connected, { state: 'connected' });
    metrics.set('nodeward_nodes', n.stale, { state: 'stale' });
    metrics.set('nodeward_store_bytes', await store.sizeBytes());
  }

  const safeSweep = async (): Promise<void> => {
    try {
      await sweep();
    } catch (err) {
      // A failed sweep (a busy database, a full disk) is retried on the next tick.
      metrics.inc('nodeward_sweep_failures_total');
      log.error({ err: (err as Error).message }, 'sweep failed; retrying on the next tick');
    }
  };

  /** The next tick, `intervalMs` after this one. */
  function tick(): void {
    cancel = clock.after(config.intervalMs, () => {
      if (!running) return;
      void safeSweep().then(() => {
        if (running) tick();
      });
    });
  }

  return {
    start(): void {
      if (running) return;
      running = true;
      startedAt = now();
      optimizedAt = startedAt;
      refreshGauges(startedAt).catch(armFailed);
      tick();
      unsubscribe = pipeline.onSuppression((until) => {
        armExpiry(until).catch(armFailed);
      });
      armExpiry().catch(armFailed);
    },
    /** Safe before start and safe twice. */
    stop(): void {
      running = false;
      cancel?.();
      cancel = undefined;
      unsubscribe?.();
      unsubscribe = undefined;
      expiry?.cancel();
      expiry = undefined;
    },
    /** Runs one sweep now (also what the timer does). */
    sweep,
  };
}

export type Sweeper = ReturnType<typeof createSweeper>;
