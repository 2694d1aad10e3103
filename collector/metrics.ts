// The collector's Prometheus metrics: one prom-client Registry holding the process and
// runtime metrics (collectDefaultMetrics, under their standard names), nodeward_build_info,
// and every nodeward_ family, each declared once in FAMILIES below. Every family exists from
// the start: counters and unlabelled gauges read 0 before the first event, and labelled
// families whose label values are known (states, severities, categories, reasons) have each
// series at 0. A name or label not in FAMILIES does not compile (inc/set/observe are typed by
// it). What is read from the store (findings by severity and category, the agents' figures
// per node) is computed when scraped: collect hooks (onScrape) run before the text renders.
import { readFileSync } from 'node:fs';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { CATEGORIES, FINDING_STATES, SEVERITIES } from '../proto/domain.js';

/** Seconds: from a cached read to a summary over a million findings. */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5] as const;

/** Seconds from a finding change's commit to its webhook delivery: grouping windows, retries and outages included. */
export const DELIVERY_LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600] as const;

/** The most nodes whose agent figures /metrics exports (by name order); the rest are counted in nodeward_agent_nodes_omitted. */
export const AGENT_METRICS_MAX_NODES = 10_000;

interface FamilySpec {
  readonly type: 'counter' | 'gauge' | 'histogram';
  readonly help: string;
  readonly labels: readonly string[];
  /** Label values known in advance: every combination is a series from the start (at 0). */
  readonly known?: Readonly<Record<string, readonly string[]>>;
  readonly buckets?: readonly number[];
}

const c = <const L extends readonly string[] = readonly []>(help: string, labels?: L, known?: FamilySpec['known']) =>
  ({ type: 'counter', help, labels: (labels ?? []) as L, ...(known ? { known } : {}) }) as const;
const g = <const L extends readonly string[] = readonly []>(help: string, labels?: L, known?: FamilySpec['known']) =>
  ({ type: 'gauge', help, labels: (labels ?? []) as L, ...(known ? { known } : {}) }) as const;
const h = <const L extends readonly string[]>(help: string, labels: L, buckets: readonly number[]) => ({ type: 'histogram', help, labels, buckets }) as const;

const AUTH = { surface: ['api', 'login'], answer: ['refused', 'limited'] };
const REJECT_REASONS = ['invalid', 'wrong_node', 'no_identity', 'store_unavailable', 'host_baseline_role', 'node_finding_cap'];

/** The counters of a Kubernetes informer (kube/informer.ts), per watch: `nodeward_pod_watch_lists_total`, ... */
export const INFORMER_COUNTERS = ['lists', 'watches', 'relists', 'failures', 'events', 'bookmarks', 'malformed', 'oversized', 'refused'] as const;
export type InformerPrefix = 'nodeward_node_watch' | 'nodeward_pod_watch' | 'nodeward_posture_watch';
function informerFamilies<const P extends InformerPrefix>(prefix: P, what: string) {
  const help = {
    lists: `Lists of ${what} made (the first, and after an expired resourceVersion)`,
    watches: `Watch requests for ${what} made`,
    relists: `Lists of ${what} forced by an expired resourceVersion (410 Gone)`,
    failures: `List or watch requests for ${what} that failed`,
    events: `Watch events for ${what} applied, by type`,
    bookmarks: `Watch bookmarks for ${what} (their resourceVersion kept)`,
    malformed: `Watch lines and list items for ${what} skipped because they could not be read`,
    oversized: `Watch events for ${what} over the size bound, skipped`,
    refused: `Objects (${what}) left out by the bounds`,
  } as const;
  return {
    [`${prefix}_lists_total`]: c(help.lists),
    [`${prefix}_watches_total`]: c(help.watches),
    [`${prefix}_relists_total`]: c(help.relists),
    [`${prefix}_failures_total`]: c(help.failures),
    [`${prefix}_events_total`]: c(help.events, ['type'], { type: ['ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK'] }),
    [`${prefix}_bookmarks_total`]: c(help.bookmarks),
    [`${prefix}_malformed_total`]: c(help.malformed),
    [`${prefix}_oversized_total`]: c(help.oversized),
    [`${prefix}_refused_total`]: c(help.refused),
  } as {
    [K in Exclude<(typeof INFORMER_COUNTERS)[number], 'events'> as `${P}_${K}_total`]: ReturnType<typeof c<readonly []>>
  } & { [K in `${P}_events_total`]: ReturnType<typeof c<readonly ['type']>> };
}

/** Every nodeward_ family the collector exports (the agents' per-node figures included). */
export const FAMILIES = {
  // Agent streams and ingest.
  nodeward_streams_connected: g('Agent streams open now'),
  nodeward_streams_untrusted_total: c('Agent streams ended because the CA of their certificate is no longer trusted'),
  nodeward_batches_ingested_total: c('Agent messages committed', ['kind'], { kind: ['scan', 'batch'] }),
  nodeward_findings_ingested_total: c('Failing results and findings committed'),
  nodeward_dedup_hits_total: c('Agent messages received again and acknowledged without change'),
  nodeward_rejects_total: c('Things refused by the collector', ['reason'], { reason: REJECT_REASONS }),
  nodeward_findings_ignored_total: c('Process findings for executables the central baseline allows'),
  nodeward_retired_results_total: c('Results of retired checks from older agents: mapped onto the surviving finding, or dropped', ['outcome'], { outcome: ['mapped', 'dropped'] }),
  nodeward_finding_events_total: c('Finding lifecycle transitions', ['event']),
  // Findings and nodes in the store.
  nodeward_findings: g('Findings in the store by state', ['state'], { state: FINDING_STATES }),
  nodeward_findings_by_severity: g('Findings in the store by state, severity and category (from the rollups, when scraped)',
    ['state', 'severity', 'category'], { state: FINDING_STATES, severity: SEVERITIES, category: CATEGORIES }),
  nodeward_nodes: g('Nodes in the inventory', ['state'], { state: ['known', 'connected', 'stale'] }),
  nodeward_store_bytes: g('Size of the SQLite database'),
  nodeward_nodes_agent_missing_total: c('Nodes found without their agent past the grace period'),
  nodeward_nodes_went_stale_total: c('Nodes whose agent went silent past the stale time'),
  nodeward_nodes_deleted_total: c('Nodes deleted by operators'),
  nodeward_retention_purged_total: c('Rows deleted by retention', ['what']),
  nodeward_suppressions_expired_total: c('Suppressions that ended because their expiry passed'),
  nodeward_sweep_failures_total: c('Housekeeping runs that failed'),
  nodeward_host_learning_evicted_total: c('Nodes whose host learning window the collector stopped holding (its bound of nodes)'),
  // Baselines.
  nodeward_baseline_updates_pushed_total: c('Baseline updates written to agent streams'),
  nodeward_baseline_reports_total: c('Baseline reports merged'),
  nodeward_baseline_keys_refused_total: c("Baselines in nodes' reports not merged, by reason", ['reason'], { reason: ['notOnNode', 'overNodeLimit', 'centralFull'] }),
  nodeward_baseline_dropped_total: c('Baselines, items and listens dropped by the central bounds', ['what'], { what: ['digests', 'keys', 'items', 'listens'] }),
  nodeward_baseline_digests_refused_total: c("Contents in nodes' reports a locked central baseline did not take (learned after its lock, or of an executable new to it)"),
  nodeward_baseline_listens_refused_total: c("Listens in nodes' reports a locked central baseline did not take (learned after its lock, or received shortly after a node's lock)"),
  nodeward_baseline_items_refused_total: c("Items in nodes' reports a locked central baseline did not take (learned after its lock, or received shortly after a node's lock)"),
  nodeward_baselines_deleted_total: c('Central baselines deleted by operators (or with their node)'),
  // API, dashboard, audit.
  nodeward_api_requests_total: c('API requests', ['code']),
  nodeward_api_request_duration_seconds: h('Time to answer API requests', ['route'], LATENCY_BUCKETS),
  nodeward_api_rate_limited_total: c('API requests refused by the per-token rate limit', ['token']),
  nodeward_auth_failures_total: c('Failed credentials (bad bearer tokens, refused logins), by where and how they were answered', ['surface', 'answer'], AUTH),
  nodeward_ui_logins_total: c('Dashboard logins', ['outcome'], { outcome: ['ok'] }),
  nodeward_ui_write_refusals_total: c("Writes with the dashboard's session cookie refused (CSRF defence): from another site, or without the session's CSRF token or with another", ['reason'], { reason: ['cross-origin', 'no-csrf-token', 'bad-csrf-token'] }),
  nodeward_audit_records_total: c('Audit records written', ['action']),
  nodeward_audit_refusals_total: c('Refusals of unauthenticated callers, audited in aggregate', ['action', 'reason']),
  nodeward_audit_failures_total: c('Audit records that could not be written'),
  // Listeners.
  nodeward_connections_open: g('Connections open now, by listener (TLS handshakes under way included)', ['listener']),
  nodeward_connections_refused_total: c('Connections closed on accept because a connection cap was reached', ['listener', 'reason']),
  nodeward_tls_handshake_timeouts_total: c('Connections closed because their TLS handshake did not complete within the deadline', ['listener']),
  nodeward_enroll_body_timeouts_total: c('Enrollment requests whose body did not arrive within enroll.bodyTimeoutMs'),
  // Webhooks.
  nodeward_webhook_pending: g('Webhook deliveries waiting to be sent, per destination', ['destination']),
  nodeward_webhook_dead_letters: g('Webhook deliveries given up on (kept until retried or purged), per destination', ['destination']),
  nodeward_webhook_dropped_total: c('Webhook deliveries dropped because the destination had its maximum of pending rows', ['destination']),
  nodeward_webhook_deliveries_total: c('Webhook delivery attempts by destination and outcome', ['destination', 'outcome']),
  nodeward_webhook_dead_letters_total: c('Webhook deliveries that became dead letters, by reason', ['destination', 'reason']),
  nodeward_webhook_request_duration_seconds: h('Time for one webhook request, per destination', ['destination'], LATENCY_BUCKETS),
  nodeward_webhook_delivery_latency_seconds: h('From the commit of a finding change to its delivery, per destination', ['destination'], DELIVERY_LATENCY_BUCKETS),
  nodeward_webhook_reposts_total: c('Alertmanager re-posts of firing alerts, by outcome', ['destination', 'outcome']),
  nodeward_webhook_dispatcher_errors_total: c('Unexpected errors in a webhook dispatcher loop', ['destination']),
  nodeward_webhook_drain_claimed_elsewhere_total: c('Drain passes a replica skipped because another replica held the destination (PostgreSQL replicas)', ['destination']),
  // Kubernetes watches and the cluster PKI.
  nodeward_node_watch_nodes: g('Nodes the node watch holds'),
  nodeward_node_watch_write_failures_total: c('Writes of cluster nodes to the store that failed (retried at the next DaemonSet check)'),
  nodeward_node_watch_daemonset_failures_total: c('Reads of the agent DaemonSet that failed'),
  nodeward_pod_watch_pods: g('Pods the pod watch holds'),
  ...informerFamilies('nodeward_node_watch', 'nodes'),
  ...informerFamilies('nodeward_pod_watch', 'pods'),
  nodeward_pod_watch_dropped_probes_total: c('Exec probe commands (and containers) over the bounds, left out'),
  // The posture watch (posture/posture-watch.ts): its informers' counters summed over kinds, then per kind and per check.
  ...informerFamilies('nodeward_posture_watch', 'the objects the posture checks read (all kinds)'),
  nodeward_posture_kind_synced: g('1 when the posture watch has listed the kind (an optional kind the API server does not serve stays 0)', ['kind']),
  nodeward_posture_objects: g('Objects of the kind the posture watch holds', ['kind']),
  nodeward_posture_refused_total: c('Objects of the kind the posture watch left out: unreadable (malformed, over the reader\'s bounds) or over posture.maxObjects', ['kind']),
  nodeward_posture_findings: g('Cluster findings of the check in the latest posture verdict (before the store\'s cap)', ['check']),
  nodeward_posture_judge_duration_seconds: h('How long a posture judge took: judging everything (full) or one watch event (event)', ['judge', 'mode'], LATENCY_BUCKETS),
  nodeward_posture_units_total: c('Units of work the posture watch committed: full (the whole verdict, with the reconcile) or delta (watch events)', ['kind']),
  nodeward_posture_judge_failures_total: c('Posture judgements that threw (a bug in a judge): nothing of them was committed, and everything is judged again', ['judge']),
  nodeward_posture_commit_failures_total: c('Posture units that failed to commit (the next one judges in full)'),
  nodeward_posture_discovery_failures_total: c('Discovery requests for the optional (CRD) kinds that failed'),
  nodeward_posture_findings_refused_total: c('New cluster findings refused because posture.maxOpenFindings were open'),
  nodeward_pki_conflicts_total: c('Updates of the PKI Secret or the CA ConfigMap that lost to a concurrent writer (read again)'),
  nodeward_pki_steps_total: c('Changes the collector made to its PKI Secret, by step', ['step']),
  nodeward_pki_refresh_failures_total: c('Checks of the PKI Secret that failed (the credentials in use stay)'),
  nodeward_cluster_identity_failures_total: c("Reads of the cluster's UID (the kube-system namespace) at start that failed, by reason: transient (unreachable, 429, 5xx, retried), forbidden (403: an RBAC rule missing), not_found (404), invalid (an answer or UID refused), other", ['reason'], { reason: ['transient', 'forbidden', 'not_found', 'invalid', 'other'] }),
  // Replicas sharing one PostgreSQL database (store/pg/leadership.ts, store/pg/notify.ts).
  nodeward_leader: g('1 while this collector is the elected replica that runs the sweepers and the Kubernetes watches (PostgreSQL store); 0 otherwise'),
  nodeward_leader_changes_total: c('Times this collector became the leader or stepped down (PostgreSQL store)', ['to'], { to: ['leader', 'follower'] }),
  nodeward_baseline_notifications_total: c('Baseline change notifications heard from the database (PostgreSQL store): passed on, or malformed and ignored', ['outcome'], { outcome: ['passed', 'malformed'] }),
  nodeward_baseline_listener_reconnects_total: c('Times the baseline listener listened again after it lost its connection or could not connect (PostgreSQL store)'),
  // Fleet reads: other clusters' schemas this collector's role may read (store/pg/fleet.ts, docs/fleets.md).
  nodeward_fleet_members: g('Clusters this collector answers for, its own included (1 on SQLite or with no other cluster readable)'),
  nodeward_fleet_members_left_out_total: c('Clusters found readable but left out of the fleet at a refresh, by reason (PostgreSQL store)', ['reason'], { reason: ['schema_name', 'no_identity', 'duplicate', 'unreadable'] }),
  // The agents' own figures, per node, from their latest hello or heartbeat (when scraped).
  nodeward_agent_exec_source: g('How the node\'s agent sees execs (1 for its source: ebpf, netlink or scan)', ['node', 'source']),
  nodeward_agent_exec_events: g('Exec events the node\'s agent source delivered since the agent started (1 record per exec; 0 on the scan)', ['node']),
  nodeward_agent_scan_duration_seconds: g('How long the node\'s agent took for its last scan (collecting the facts and judging them)', ['node']),
  nodeward_agent_exec_events_lost: g('Exec events the node\'s agent lost since it started (its ring buffer or netlink socket had no room)', ['node']),
  nodeward_agent_drops: g('Everything the node\'s agent reports it lost, summed over causes (spool, refused messages, process and exec events, baselines)', ['node']),
  nodeward_agent_spool_entries: g('Findings waiting in the node\'s agent spool', ['node']),
  nodeward_agent_spool_bytes: g('Bytes in the node\'s agent spool', ['node']),
  nodeward_agent_spool_dropped: g('Findings the node\'s agent spool dropped by its bounds since the agent\'s epoch began', ['node']),
  nodeward_agent_exposure_cuts: g("Where the node's agent's exposure collector was cut short, counted at every collection since the agent started: walks of /proc/<pid>/fd stopped at the process limit (pid-limit) or time budget (time-limit), processes whose descriptors were cut (fd-limit), fd directories not readable (unreadable), socket rows refused (rows-refused), listening sockets left out by the bounds (listeners-dropped)", ['node', 'cut'], { cut: ['pid-limit', 'time-limit', 'fd-limit', 'unreadable', 'rows-refused', 'listeners-dropped'] }),
  nodeward_agent_identity_failures: g('Executables the node\'s agent could not hash (judged by path only) since it started', ['node']),
  nodeward_agent_last_seen_timestamp_seconds: g('When the node\'s agent was last heard from (unix seconds)', ['node']),
  nodeward_agent_host_learning_until_timestamp_seconds: g('When the node\'s host baseline learning window ends or ended (unix seconds, node clock); only where the agent said', ['node']),
  nodeward_agent_host_baseline_locked: g('1 when the node\'s host baseline is locked, 0 while learning; only where the agent reported it', ['node']),
  nodeward_agent_nodes_omitted: g(`Nodes whose agent figures /metrics left out: past the bound of ${AGENT_METRICS_MAX_NODES} nodes (by name order)`),
} as const satisfies Record<string, FamilySpec>;

type Families = typeof FAMILIES;
export type FamilyName = keyof Families;
type OfType<T extends FamilySpec['type']> = { [K in FamilyName]: Families[K]['type'] extends T ? K : never }[FamilyName];
export type CounterName = OfType<'counter'>;
export type GaugeName = OfType<'gauge'>;
export type HistogramName = OfType<'histogram'>;
/** The labels of a family: every one of its label names, none other. */
export type LabelsOf<N extends FamilyName> = Record<Families[N]['labels'][number], string>;

type Labels = Record<string, string>;
const key = (labels?: Labels): string => (labels && Object.keys(labels).length > 0 ? JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : '');

function combinations(names: readonly string[], known: Readonly<Record<string, readonly string[]>>): Labels[] {
  let out: Labels[] = [{}];
  for (const n of names) {
    const values = known[n];
    if (!values) return [];
    out = out.flatMap((l) => values.map((v) => ({ ...l, [n]: v })));
  }
  return out;
}

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export interface MetricsOptions {
  /** The collector's version for nodeward_build_info (default: package.json's). */
  readonly version?: string;
  /** Leave out the process and runtime metrics (tools that render the list of families). */
  readonly defaultMetrics?: boolean;
}

export function createMetrics(opts: MetricsOptions = {}) {
  const registry = new Registry();
  // The standard names (process_cpu_seconds_total, nodejs_heap_size_used_bytes, ...), not
  // nodeward_-prefixed ones: the common Node.js dashboards and alerts read those, and the
  // scrape's job label already says whose they are.
  if (opts.defaultMetrics !== false) {
    collectDefaultMetrics({ register: registry });
    // Gauges named _total, which the format's conventions (and promtool check metrics) refuse;
    // nothing is lost: sum(nodejs_active_handles) and the others by type say the same.
    for (const m of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) registry.removeSingleMetric(m);
  }
  new Gauge({ name: 'nodeward_build_info', help: 'The collector\'s build: 1, labelled by version, Node.js version and platform', labelNames: ['version', 'node_version', 'platform'], registers: [registry] })
    .set({ version: opts.version ?? packageVersion(), node_version: process.version, platform: `${process.platform}/${process.arch}` }, 1);

  const counters = new Map<string, Counter>();
  const gauges = new Map<string, Gauge>();
  const histograms = new Map<string, Histogram>();
  // What get() answers (prom-client's own reads are asynchronous): counter and gauge values by label set.
  const values = new Map<string, Map<string, number>>();
  for (const [name, spec] of Object.entries(FAMILIES) as Array<[string, FamilySpec]>) {
    const base = { name, help: spec.help, labelNames: [...spec.labels], registers: [registry] };
    values.set(name, new Map());
    const initial = spec.labels.length === 0 ? [undefined] : combinations(spec.labels, spec.known ?? {});
    if (spec.type === 'counter') {
      const m = new Counter(base);
      counters.set(name, m);
      for (const l of initial) l ? m.inc(l, 0) : m.inc(0);
    } else if (spec.type === 'gauge') {
      const m = new Gauge(base);
      gauges.set(name, m);
      for (const l of initial) l ? m.set(l, 0) : m.set(0);
    } else {
      histograms.set(name, new Histogram({ ...base, buckets: [...(spec.buckets ?? LATENCY_BUCKETS)] }));
    }
  }
  const scrapeHooks = new Map<string, () => void | Promise<void>>();
  const gaugeOf = (name: GaugeName): Gauge => gauges.get(name)!;

  return {
    /** Adds `by` (default 1) to a counter. */
    inc<N extends CounterName>(name: N, by = 1, labels?: LabelsOf<N>): void {
      const l = labels as Labels | undefined;
      if (l && Object.keys(l).length > 0) counters.get(name)!.inc(l, by);
      else counters.get(name)!.inc(by);
      const v = values.get(name)!;
      const k = key(l);
      v.set(k, (v.get(k) ?? 0) + by);
    },
    set<N extends GaugeName>(name: N, value: number, labels?: LabelsOf<N>): void {
      const l = labels as Labels | undefined;
      if (l) gaugeOf(name).set(l, value);
      else gaugeOf(name).set(value);
      values.get(name)!.set(key(l), value);
    },
    /** A per-node gauge family rebuilt at each scrape: its old series go. */
    resetGauge(name: GaugeName): void {
      gaugeOf(name).reset();
      values.get(name)!.clear();
    },
    observe<N extends HistogramName>(name: N, value: number, labels?: LabelsOf<N>): void {
      const l = labels as Labels | undefined;
      if (l) histograms.get(name)!.observe(l, value);
      else histograms.get(name)!.observe(value);
    },
    /** A counter's or gauge's value now (0 when never set). */
    get(name: CounterName | GaugeName, labels?: Labels): number {
      return values.get(name)?.get(key(labels)) ?? 0;
    },
    /**
     * Work done before each scrape renders (gauges read from the store), under a name: a
     * second hook of that name replaces the first; undefined removes it. A hook that throws
     * leaves its gauges as they were (hooks log their own errors).
     */
    onScrape(name: string, hook: (() => void | Promise<void>) | undefined): void {
      if (hook) scrapeHooks.set(name, hook);
      else scrapeHooks.delete(name);
    },
    /** The Prometheus text exposition (version 0.0.4). */
    async render(): Promise<string> {
      for (const hook of scrapeHooks.values()) {
        try {
          await hook();
        } catch {
          // The families keep their last values.
        }
      }
      // prom-client writes NaN as "Nan" (the event loop's mean and stddev before their first
      // sample); the format spells it NaN.
      return (await registry.metrics()).replace(/ Nan$/gm, ' NaN');
    },
    contentType: registry.contentType,
    registry,
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
