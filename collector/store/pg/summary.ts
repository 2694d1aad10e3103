// Cross-node aggregation on PostgreSQL: the port of store/summary.ts. Read from the rollup
// tables (pg/rollups.ts keeps them exact), so the cost does not grow with the findings.
//
// SQLite reads the whole summary in one read transaction; here the rollup reads run as one
// statement each on the pool and the node counts through the NodeStore, so a unit that
// commits between two of them can show in one part and not yet in another (each part is
// exact on its own; the next summary agrees).
import { SEVERITIES, type Severity } from '../../../proto/domain.js';
import type { NodeStore } from '../boundary/nodes.js';
import type { CheckSpread, NodeCount, SummaryQueries } from '../boundary/summary.js';
import { score } from '../nodes.js';
import { isoTime } from '../time.js';
import type { Sql } from './sql.js';

type Counts = { s0: number; s1: number; s2: number; s3: number; s4: number };
const bySeverity = (r: Counts): Record<Severity, number> => ({ info: r.s0, low: r.s1, medium: r.s2, high: r.s3, critical: r.s4 });
const highest = (r: Counts): Severity => (r.s4 > 0 ? 'critical' : r.s3 > 0 ? 'high' : r.s2 > 0 ? 'medium' : r.s1 > 0 ? 'low' : 'info');

// The striped rows (pg/rollups.ts) summed: a count is the sum of its stripes.
const TOTALS = `SELECT category, severity_rank AS rank, sum(n)::bigint AS n FROM finding_totals WHERE state = $1
  GROUP BY category, severity_rank HAVING sum(n) <> 0`;
// Ties in the order of SQLite's: names by their bytes.
const BY_NODE = `SELECT node, total, s0, s1, s2, s3, s4 FROM node_counts WHERE state = $1 AND node <> ''
  ORDER BY s4 DESC, s3 DESC, total DESC, node COLLATE "C" LIMIT $2`;
const TOP_CHECKS = `SELECT check_id, sum(nodes)::bigint AS nodes, sum(findings)::bigint AS findings, sum(s0)::bigint AS s0, sum(s1)::bigint AS s1,
    sum(s2)::bigint AS s2, sum(s3)::bigint AS s3, sum(s4)::bigint AS s4
  FROM check_spread WHERE state = $1 GROUP BY check_id HAVING sum(findings) <> 0
  ORDER BY nodes DESC, findings DESC, check_id COLLATE "C" LIMIT $2`;
// Cluster findings are counted under node ''.
const CLUSTER = "SELECT total, s0, s1, s2, s3, s4 FROM node_counts WHERE state = $1 AND node = ''";
// The oldest failing finding of the check names it (SQLite reads the first of its index, the oldest too).
const CHECK_INFO = "SELECT title, category FROM findings WHERE check_id = $1 AND state = $2 AND status = 'fail' ORDER BY seq LIMIT 1";

export function createPgSummaryQueries(sql: Sql, nodes: NodeStore): SummaryQueries {
  return {
    async summary(opts) {
      const sev: Record<Severity, number> = { info: 0, low: 0, medium: 0, high: 0, critical: 0 };
      const byCategory: Record<string, number> = {};
      let total = 0;
      for (const r of await sql.rows<{ category: string; rank: number; n: number }>(TOTALS, [opts.state])) {
        const name = SEVERITIES[r.rank];
        if (name) sev[name] += r.n;
        byCategory[r.category] = (byCategory[r.category] ?? 0) + r.n;
        total += r.n;
      }
      const categories = Object.fromEntries(Object.entries(byCategory).sort(([a], [b]) => a.localeCompare(b)));
      const byNode = (await sql.rows<Counts & { node: string; total: number }>(BY_NODE, [opts.state, opts.top]))
        .map((r): NodeCount => ({ node: r.node, total: r.total, bySeverity: bySeverity(r) }));
      const topChecks: CheckSpread[] = [];
      for (const r of await sql.rows<Counts & { check_id: string; nodes: number; findings: number }>(TOP_CHECKS, [opts.state, opts.top])) {
        const info = await sql.one<{ title: string; category: string }>(CHECK_INFO, [r.check_id, opts.state]);
        topChecks.push({ checkId: r.check_id, title: info?.title ?? '', category: info?.category ?? '', severity: highest(r), nodes: r.nodes, findings: r.findings });
      }
      const c = await sql.one<Counts & { total: number }>(CLUSTER, [opts.state]);
      const cluster = { total: c?.total ?? 0, bySeverity: bySeverity(c ?? { s0: 0, s1: 0, s2: 0, s3: 0, s4: 0 }) };
      const n = await nodes.counts(opts.now, opts.staleAfterMs);
      const benchmarks = await nodes.byBenchmark();
      return {
        state: opts.state,
        generatedAt: isoTime(opts.now),
        nodes: { total: n.total, connected: n.connected, stale: n.stale },
        compliance: {
          score: score(n.scoredPassing, n.scored), passing: n.scoredPassing, scored: n.scored,
          byBenchmark: benchmarks.map((b) => ({ benchmark: b.benchmark, nodes: b.nodes, score: score(b.scoredPassing, b.scored), passing: b.scoredPassing, scored: b.scored })),
        },
        findings: { total, bySeverity: sev, byCategory: categories },
        cluster,
        byNode,
        topChecks,
      };
    },
  };
}
