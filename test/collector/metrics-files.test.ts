// docs/prometheus-alerts.yaml and docs/grafana-dashboard.json: promtool accepts the rules, the
// dashboard parses, and every metric either names is one the collector exports.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createMetrics } from '../../collector/metrics.js';
import { parsePromText } from '../helpers/prom-text.js';
import { executable, needs } from '../helpers/requirements.js';

const ROOT = new URL('../../../', import.meta.url);
const ALERTS = new URL('docs/prometheus-alerts.yaml', ROOT);
const DASHBOARD = new URL('docs/grafana-dashboard.json', ROOT);
/** Metrics Prometheus makes itself for every target. */
const PROMETHEUS_OWN = new Set(['up', 'scrape_duration_seconds', 'scrape_samples_scraped']);
const PROMQL_WORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'inf', 'nan']);

/** The metric names a PromQL expression reads: identifiers outside strings, label matchers, ranges and grouping clauses, that are not functions. */
export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const out: string[] = [];
  for (const m of stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const rest = stripped.slice(m.index! + m[0].length);
    if (/^\s*\(/.test(rest) || PROMQL_WORDS.has(m[0].toLowerCase())) continue;
    out.push(m[0]);
  }
  return out;
}

/** Every sample name the collector can export (a family's own and its histogram series). */
async function exported(): Promise<Set<string>> {
  const m = createMetrics();
  m.observe('nodeward_api_request_duration_seconds', 0.01, { route: '/x' });
  m.observe('nodeward_webhook_request_duration_seconds', 0.01, { destination: 'd' });
  m.observe('nodeward_webhook_delivery_latency_seconds', 0.01, { destination: 'd' });
  const names = new Set<string>();
  for (const f of parsePromText(await m.render()).values()) {
    names.add(f.name);
    for (const s of f.samples) names.add(s.name);
  }
  return names;
}

const promtool = needs({ what: 'promtool', check: () => executable('/usr/bin/promtool'), packages: ['prometheus'] });

promtool('promtool check rules accepts docs/prometheus-alerts.yaml', (t) => {
  const r = spawnSync('/usr/bin/promtool', ['check', 'rules', ALERTS.pathname], { encoding: 'utf8' });
  t.is(r.status, 0, `${r.stdout}${r.stderr}`);
  t.regex(r.stdout, /SUCCESS: \d+ rules found/);
});

test('every metric the alert rules name is one the collector exports', async (t) => {
  const names = await exported();
  const exprs = [...readFileSync(ALERTS, 'utf8').matchAll(/^\s+expr: (.+)$/gm)].map((m) => m[1]!);
  t.true(exprs.length >= 8, `${exprs.length} rules`);
  for (const e of exprs) {
    const used = metricNames(e);
    t.true(used.length > 0, e);
    t.deepEqual(used.filter((n) => !names.has(n) && !PROMETHEUS_OWN.has(n)), [], e);
  }
});

test('the Grafana dashboard parses and every metric its queries name is one the collector exports', async (t) => {
  const names = await exported();
  const dash = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { title: string; panels: Array<{ title: string; targets?: Array<{ expr: string }> }> };
  t.is(dash.title, 'nodeward');
  const exprs = dash.panels.flatMap((p) => (p.targets ?? []).map((x) => x.expr));
  t.true(exprs.length >= 10);
  for (const e of exprs) {
    const used = metricNames(e);
    t.true(used.length > 0, e);
    t.deepEqual(used.filter((n) => !names.has(n) && !PROMETHEUS_OWN.has(n)), [], e);
  }
});

test('the query reader finds metric names and nothing else', (t) => {
  t.deepEqual(metricNames('histogram_quantile(0.95, sum by (le, route) (rate(nodeward_api_request_duration_seconds_bucket{job="x"}[5m])))'),
    ['nodeward_api_request_duration_seconds_bucket']);
  t.deepEqual(metricNames('sum(a{state="open"}) / ignoring(x) b > 0 and on(node) c'), ['a', 'b', 'c']);
  t.deepEqual(metricNames('nodeward_no_such_metric == 1'), ['nodeward_no_such_metric']);
});
