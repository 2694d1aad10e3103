// /metrics: what an operator graphs and alerts on.
import test from 'ava';
import { openRawStream } from '../helpers/grpc-client.js';
import { spawnSync } from 'node:child_process';
import { api, bl, connect, ok, proc, withCollector } from '../helpers/agent-session.js';
import { FAMILIES, INFORMER_COUNTERS } from '../../collector/metrics.js';
import { registerStoreMetrics } from '../../collector/store-metrics.js';
import { CATEGORIES, FINDING_STATES, SEVERITIES } from '../../proto/domain.js';
import { parsePromText, type PromFamily } from '../helpers/prom-text.js';
import { executable, needs } from '../helpers/requirements.js';

test('/metrics exposes streams, ingest, dedup hits, rejects by reason, API latency, findings by state and store size', (t) => withCollector(async (tc) => {
  const a = await connect(tc, 'node-a');
  await a.batch([proc('/usr/bin/nc'), proc('/usr/bin/socat')]);
  // A message sent again (same epoch and sequence) is a dedup hit; an invalid one a reject.
  const raw = openRawStream(tc.grpcAddress, { ca: tc.pki.caCert, cert: tc.pki.agents['node-b']!.cert, key: tc.pki.agents['node-b']!.key });
  raw.send({ hello: { node: 'node-b', agentVersion: 't', epoch: 'metrics-epoch' } });
  raw.send({ findingBatch: { sequence: 1, findings: [proc('/bin/x')] } });
  raw.send({ findingBatch: { sequence: 1, findings: [proc('/bin/x')] } });
  raw.send({ findingBatch: { sequence: 2, findings: [{ ...proc('/bin/y'), checkId: 'NOT AN ID' }] } });
  const acks = await raw.receive(3);
  t.deepEqual(acks.map((m) => [m.ack?.duplicate, m.ack?.code]), [[false, 0], [true, 0], [false, 3]]);
  await ok(tc, '/api/v1/findings?limit=5');
  await ok(tc, '/api/v1/summary');
  await tc.collector.sweep();

  const m = (await api<string>(tc, '/metrics', { token: null })).text;
  const value = (series: string): number => {
    const line = m.split('\n').find((l) => l.startsWith(`${series} `));
    if (!line) throw new Error(`no series ${series} in:\n${m}`);
    return Number(line.slice(series.length + 1));
  };
  t.is(value('nodeward_streams_connected'), 2);
  t.is(value('nodeward_batches_ingested_total{kind="batch"}'), 2);
  t.is(value('nodeward_findings_ingested_total'), 3);
  t.is(value('nodeward_dedup_hits_total'), 1);
  t.is(value('nodeward_rejects_total{reason="invalid"}'), 1);
  t.is(value('nodeward_finding_events_total{event="opened"}'), 3);
  t.regex(m, /^# TYPE nodeward_api_request_duration_seconds histogram$/m);
  t.is(value('nodeward_api_request_duration_seconds_count{route="/api/v1/findings"}'), 1);
  t.is(value('nodeward_api_request_duration_seconds_bucket{le="+Inf",route="/api/v1/summary"}'), 1);
  t.true(value('nodeward_api_request_duration_seconds_sum{route="/api/v1/summary"}') > 0);
  t.is(value('nodeward_findings{state="open"}'), 3);
  t.is(value('nodeward_nodes{state="connected"}'), 2);
  t.true(value('nodeward_store_bytes') > 4096);
  a.close();
  raw.close();
}));

// ---- The prom-client registry (issue 18): every family from the start, strict text, promtool, the agents' figures.

/** The families the hand-written exposition had before issue 18: each keeps its name (and labels: checked where used above and in their tests). */
const PRE_CHANGE_FAMILIES = [
  'nodeward_api_rate_limited_total', 'nodeward_api_request_duration_seconds', 'nodeward_api_requests_total', 'nodeward_audit_failures_total',
  'nodeward_audit_records_total', 'nodeward_audit_refusals_total', 'nodeward_auth_failures_total', 'nodeward_baseline_digests_refused_total',
  'nodeward_baseline_dropped_total', 'nodeward_baseline_items_refused_total', 'nodeward_baseline_keys_refused_total', 'nodeward_baseline_reports_total',
  'nodeward_baseline_updates_pushed_total', 'nodeward_baselines_deleted_total', 'nodeward_batches_ingested_total', 'nodeward_connections_open',
  'nodeward_connections_refused_total', 'nodeward_dedup_hits_total', 'nodeward_enroll_body_timeouts_total', 'nodeward_finding_events_total',
  'nodeward_findings', 'nodeward_findings_ignored_total', 'nodeward_findings_ingested_total', 'nodeward_host_learning_evicted_total',
  'nodeward_node_watch_daemonset_failures_total', 'nodeward_node_watch_nodes', 'nodeward_node_watch_write_failures_total', 'nodeward_nodes',
  'nodeward_nodes_agent_missing_total', 'nodeward_nodes_deleted_total', 'nodeward_nodes_went_stale_total', 'nodeward_pki_conflicts_total',
  'nodeward_pki_refresh_failures_total', 'nodeward_pki_steps_total', 'nodeward_pod_watch_dropped_probes_total', 'nodeward_pod_watch_pods',
  'nodeward_rejects_total', 'nodeward_retention_purged_total', 'nodeward_retired_results_total', 'nodeward_store_bytes', 'nodeward_streams_connected',
  'nodeward_streams_untrusted_total', 'nodeward_suppressions_expired_total', 'nodeward_sweep_failures_total', 'nodeward_tls_handshake_timeouts_total',
  'nodeward_ui_logins_total', 'nodeward_webhook_dead_letters', 'nodeward_webhook_dead_letters_total', 'nodeward_webhook_deliveries_total',
  'nodeward_webhook_delivery_latency_seconds', 'nodeward_webhook_dispatcher_errors_total', 'nodeward_webhook_dropped_total', 'nodeward_webhook_pending',
  'nodeward_webhook_reposts_total', 'nodeward_webhook_request_duration_seconds',
  ...INFORMER_COUNTERS.flatMap((k) => [`nodeward_node_watch_${k}_total`, `nodeward_pod_watch_${k}_total`]),
];

const promtool = needs({ what: 'promtool', check: () => executable('/usr/bin/promtool'), packages: ['prometheus'] });

const scrape = async (tc: Parameters<Parameters<typeof withCollector>[0]>[0]): Promise<{ text: string; families: Map<string, PromFamily> }> => {
  const r = await api<string>(tc, '/metrics', { token: null });
  return { text: r.text, families: parsePromText(r.text) };
};
const sample = (families: Map<string, PromFamily>, family: string, labels: Record<string, string> = {}): number | undefined =>
  families.get(family)?.samples.find((s) => s.name === family && JSON.stringify(Object.entries(s.labels).sort()) === JSON.stringify(Object.entries(labels).sort()))?.value;

test('before any traffic /metrics parses strictly and has every family: the registry\'s, the pre-change names, process and runtime, build info', (t) => withCollector(async (tc) => {
  const { families } = await scrape(tc);
  const missing = [...Object.keys(FAMILIES), ...PRE_CHANGE_FAMILIES].filter((f) => !families.has(f));
  t.deepEqual(missing, []);
  for (const f of Object.keys(FAMILIES)) t.is(families.get(f)!.type, FAMILIES[f as keyof typeof FAMILIES].type, f);
  for (const f of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_p99_seconds']) t.true(families.has(f), f);
  const build = families.get('nodeward_build_info')!.samples;
  t.is(build.length, 1);
  t.is(build[0]!.value, 1);
  t.regex(build[0]!.labels.version ?? '', /^\d+\.\d+\.\d+/);
  t.is(build[0]!.labels.node_version, process.version);
  // Counters at 0 before their first increment; known label values present at 0.
  t.is(sample(families, 'nodeward_dedup_hits_total'), 0);
  t.is(sample(families, 'nodeward_findings_ignored_total'), 0);
  for (const state of FINDING_STATES) t.is(sample(families, 'nodeward_findings', { state }), 0, state);
  t.is(sample(families, 'nodeward_rejects_total', { reason: 'invalid' }), 0);
  t.is(sample(families, 'nodeward_retired_results_total', { outcome: 'dropped' }), 0);
  t.is(families.get('nodeward_findings_by_severity')!.samples.length, FINDING_STATES.length * SEVERITIES.length * CATEGORIES.length);
  t.is(sample(families, 'nodeward_agent_nodes_omitted'), 0);
}));

promtool('promtool check metrics finds no problem in a live collector\'s /metrics (after traffic too)', (t) => withCollector(async (tc) => {
  const check = (text: string): { status: number | null; out: string } => {
    const r = spawnSync('/usr/bin/promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    return { status: r.status, out: `${r.stdout}${r.stderr}`.trim() };
  };
  t.deepEqual(check((await scrape(tc)).text), { status: 0, out: '' });
  const a = await connect(tc, 'node-a');
  a.heartbeat({ execCoverage: 'event', execSource: 'ebpf', execEventsLost: 3 });
  await a.batch([proc('/usr/bin/nc', { severity: 'critical' })]);
  await ok(tc, '/api/v1/findings?limit=5');
  t.deepEqual(check((await scrape(tc)).text), { status: 0, out: '' });
  // It does find problems: a counter without _total is one.
  t.not(check('# HELP x_bad A counter\n# TYPE x_bad counter\nx_bad 1\n').out, '');
  a.close();
}));

test('the agents\' own figures per node and findings by severity and category, from a real agent session; bounded by node count', (t) => withCollector(async (tc) => {
  const a = await connect(tc, 'node-a', { hostBaselineKey: 'host/worker' });
  const b = await connect(tc, 'node-b');
  a.heartbeat({ spoolEntries: 7, spoolBytes: 700, spoolDropped: 2, execCoverage: 'event', execSource: 'ebpf', execEventsLost: 11, processEventsLost: 5, execIdentityFailed: 3, execEvents: 420, lastScanDurationMs: 85 });
  a.report(bl('host/worker', 'learning', ['/usr/bin/true']));
  await a.batch([proc('/usr/bin/nc', { severity: 'critical' }), proc('/usr/bin/socat', { severity: 'high' })]);
  b.heartbeat({ execCoverage: 'scan', execSource: 'netlink' });
  await b.batch([proc('/usr/bin/nc', { severity: 'critical' })]);

  const { families } = await scrape(tc);
  const node = { node: 'node-a' };
  t.is(sample(families, 'nodeward_agent_exec_source', { node: 'node-a', source: 'ebpf' }), 1);
  t.is(sample(families, 'nodeward_agent_exec_source', { node: 'node-b', source: 'netlink' }), 1);
  t.is(sample(families, 'nodeward_agent_exec_events_lost', node), 11);
  t.is(sample(families, 'nodeward_agent_exec_events', node), 420);
  t.is(sample(families, 'nodeward_agent_scan_duration_seconds', node), 0.085);
  t.is(sample(families, 'nodeward_agent_scan_duration_seconds', { node: 'node-b' }), undefined, 'node-b said no scan duration (an older agent): no series');
  t.is(sample(families, 'nodeward_agent_spool_entries', node), 7);
  t.is(sample(families, 'nodeward_agent_spool_bytes', node), 700);
  t.is(sample(families, 'nodeward_agent_spool_dropped', node), 2);
  t.is(sample(families, 'nodeward_agent_drops', node), 2 + 11 + 5);
  t.is(sample(families, 'nodeward_agent_identity_failures', node), 3);
  t.true(sample(families, 'nodeward_agent_last_seen_timestamp_seconds', node)! > Date.now() / 1000 - 600);
  t.is(sample(families, 'nodeward_agent_host_baseline_locked', node), 0);
  t.true(sample(families, 'nodeward_agent_host_learning_until_timestamp_seconds', node)! > Date.now() / 1000);
  t.is(sample(families, 'nodeward_agent_host_baseline_locked', { node: 'node-b' }), undefined, 'node-b reported no host baseline');
  t.is(sample(families, 'nodeward_findings_by_severity', { state: 'open', severity: 'critical', category: 'process' }), 2);
  t.is(sample(families, 'nodeward_findings_by_severity', { state: 'open', severity: 'high', category: 'process' }), 1);
  t.is(sample(families, 'nodeward_findings_by_severity', { state: 'open', severity: 'low', category: 'process' }), 0);

  // Past the bound: the first nodes by name are exported, the rest counted.
  // (The collector's scrape hook replaced by one with a bound of 1 node.)
  registerStoreMetrics(tc.collector.metrics, { store: tc.collector.store!, hostLearning: () => null, log: { warn: () => undefined }, maxNodes: 1 });
  const bounded = parsePromText(await tc.collector.metrics.render());
  t.deepEqual(bounded.get('nodeward_agent_spool_entries')!.samples.map((s) => s.labels.node), ['node-a']);
  t.is(sample(bounded, 'nodeward_agent_nodes_omitted'), 1);
  a.close();
  b.close();
}));

test('the strict parser refuses what the format forbids', (t) => {
  const ok1 = '# HELP a_total A\n# TYPE a_total counter\na_total{x="q\\"\\\\\\n"} 1\n';
  t.is(parsePromText(ok1).get('a_total')!.samples[0]!.labels.x, 'q"\\\n');
  for (const bad of [
    '# TYPE a counter\na 1',
    'a 1\n',
    '# TYPE a counter\na{x="1"} 1\na{x="1"} 2\n',
    '# TYPE a counter\na{x="\\t"} 1\n',
    '# TYPE a counter\na one\n',
    '# TYPE a gauge\n# TYPE b gauge\nb 1\na 1\n',
    '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n',
  ]) t.throws(() => parsePromText(bad), undefined, JSON.stringify(bad));
});
