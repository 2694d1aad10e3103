// What /metrics reads from the store when scraped: findings by state, severity and category
// (from the rollups, a few rows), and each node's agent figures from its latest hello or
// heartbeat (since with host networking an agent's own port cannot be scraped). The per-node
// families are bounded: the first AGENT_METRICS_MAX_NODES nodes by name are exported, the
// number left out is nodeward_agent_nodes_omitted (an alert rule watches it).
import { CATEGORIES, FINDING_STATES, SEVERITIES } from '../proto/domain.js';
import { AGENT_METRICS_MAX_NODES, type Metrics } from './metrics.js';
import type { HostLearning } from './pipeline/host-learning.js';
import type { Store } from './store/store.js';

export interface StoreMetricsDeps {
  readonly store: Pick<Store, 'findings' | 'nodes'>;
  readonly hostLearning: (node: string) => HostLearning | null;
  readonly log: { warn(obj: object, msg: string): void };
  readonly maxNodes?: number;
}

const PER_NODE = [
  'nodeward_agent_exec_source', 'nodeward_agent_exec_events', 'nodeward_agent_scan_duration_seconds', 'nodeward_agent_exec_events_lost', 'nodeward_agent_drops', 'nodeward_agent_spool_entries',
  'nodeward_agent_spool_bytes', 'nodeward_agent_spool_dropped', 'nodeward_agent_identity_failures', 'nodeward_agent_exposure_cuts',
  'nodeward_agent_last_seen_timestamp_seconds', 'nodeward_agent_host_learning_until_timestamp_seconds', 'nodeward_agent_host_baseline_locked',
] as const;

/** Fills the store's gauges now; what the scrape hook runs. */
export async function refreshStoreMetrics(metrics: Metrics, deps: StoreMetricsDeps): Promise<void> {
  // Read first: the gauges are reset and set with nothing awaited in between, so a scrape never shows them half rebuilt.
  const totals = await deps.store.findings.totals();
  const max = deps.maxNodes ?? AGENT_METRICS_MAX_NODES;
  const { nodes, total } = await deps.store.nodes.agentFigures(max);
  // Findings: every known combination at 0, then what the rollups count.
  metrics.resetGauge('nodeward_findings_by_severity');
  for (const state of FINDING_STATES) {
    for (const severity of SEVERITIES) for (const category of CATEGORIES) metrics.set('nodeward_findings_by_severity', 0, { state, severity, category });
  }
  for (const t of totals) {
    const labels = { state: t.state, severity: SEVERITIES[t.severityRank] ?? 'info', category: t.category };
    metrics.set('nodeward_findings_by_severity', metrics.get('nodeward_findings_by_severity', labels) + t.n, labels);
  }

  for (const name of PER_NODE) metrics.resetGauge(name);
  for (const n of nodes) {
    const node = { node: n.node };
    if (n.execSource) metrics.set('nodeward_agent_exec_source', 1, { node: n.node, source: n.execSource });
    metrics.set('nodeward_agent_exec_events', n.execEvents, node);
    // An agent that predates the field says 0: no series rather than a scan that took no time.
    if (n.lastScanDurationMs > 0) metrics.set('nodeward_agent_scan_duration_seconds', n.lastScanDurationMs / 1000, node);
    metrics.set('nodeward_agent_exec_events_lost', n.execEventsLost, node);
    metrics.set('nodeward_agent_drops', n.drops, node);
    metrics.set('nodeward_agent_spool_entries', n.spoolEntries, node);
    metrics.set('nodeward_agent_spool_bytes', n.spoolBytes, node);
    metrics.set('nodeward_agent_spool_dropped', n.spoolDropped, node);
    metrics.set('nodeward_agent_identity_failures', n.identityFailed, node);
    const cuts = n.exposureCuts;
    for (const [cut, v] of [['pid-limit', cuts.walkPidLimitHits], ['time-limit', cuts.walkTimeLimitHits], ['fd-limit', cuts.walkFdLimitHits],
      ['unreadable', cuts.walkUnreadable], ['rows-refused', cuts.rowsRefused], ['listeners-dropped', cuts.listenersDropped]] as const) {
      metrics.set('nodeward_agent_exposure_cuts', v, { node: n.node, cut });
    }
    metrics.set('nodeward_agent_last_seen_timestamp_seconds', n.lastSeen / 1000, node);
    const learning = deps.hostLearning(n.node);
    if (learning) {
      metrics.set('nodeward_agent_host_baseline_locked', learning.state === 'locked' ? 1 : 0, node);
      if (learning.until) metrics.set('nodeward_agent_host_learning_until_timestamp_seconds', Date.parse(learning.until) / 1000, node);
    }
  }
  metrics.set('nodeward_agent_nodes_omitted', Math.max(0, total - nodes.length));
}

/** Registers the refresh as the store's scrape hook (replacing an earlier one). */
export function registerStoreMetrics(metrics: Metrics, deps: StoreMetricsDeps): void {
  metrics.onScrape('store', async () => {
    try {
      await refreshStoreMetrics(metrics, deps);
    } catch (err) {
      deps.log.warn({ err: (err as Error).message }, 'reading the store for /metrics failed; its gauges keep their last values');
      throw err;
    }
  });
}
