// Cross-node aggregation: counts by severity, category and node, the checks failing on the
// most nodes, and compliance per node and cluster-wide. Read from the rollup tables that
// migration 002's triggers keep exact, so the cost does not grow with the number of findings.
import type { Synchronous } from './synchronous.js';
import { SEVERITIES, type FindingState, type Severity } from '../../proto/domain.js';
import type { Db } from './db.js';
import { score } from './nodes.js';
import type { NodeStore } from './boundary/nodes.js';
import type { CheckSpread, NodeCount, Summary, SummaryQueries } from './boundary/summary.js';
import { isoTime } from './time.js';

type Counts = { s0: number; s1: number; s2: number; s3: number; s4: number };
const bySeverity = (r: Counts): Record<Severity, number> => ({ info: r.s0, low: r.s1, medium: r.s2, high: r.s3, critical: r.s4 });
const highest = (r: Counts): Severity => (r.s4 > 0 ? 'critical' : r.s3 > 0 ? 'high' : r.s2 > 0 ? 'medium' : r.s1 > 0 ? 'low' : 'info');

export function createSummaryQueries(db: Db, nodes: Synchronous<NodeStore>): Synchronous<SummaryQueries> {
  const s = {
    totals: db.prepare<[string], { category: string; rank: number; n: number }>(
      'SELECT category, severity_rank AS rank, n FROM finding_totals WHERE state = ?'),
    byNode: db.prepare<[string, number], Counts & { node: string; total: number }>(
      "SELECT node, total, s0, s1, s2, s3, s4 FROM node_counts WHERE state = ? AND node <> '' ORDER BY s4 DESC, s3 DESC, total DESC, node LIMIT ?"),
    topChecks: db.prepare<[string, number], Counts & { check_id: string; nodes: number; findings: number }>(
      'SELECT check_id, nodes, findings, s0, s1, s2, s3, s4 FROM check_spread WHERE state = ? ORDER BY nodes DESC, findings DESC, check_id LIMIT ?'),
    // Cluster findings are counted under node '' (migration 020).
    cluster: db.prepare<[string], Counts & { total: number }>("SELECT total, s0, s1, s2, s3, s4 FROM node_counts WHERE state = ? AND node = ''"),
    checkInfo: db.prepare<[string, string], { title: string; category: string }>(
      "SELECT title, category FROM findings WHERE check_id = ? AND state = ? AND status = 'fail' LIMIT 1"),
  };

  return {
    summary(opts: { state: FindingState; top: number; now: number; staleAfterMs: number }): Summary {
      return db.transaction((): Summary => {
        const sev: Record<Severity, number> = { info: 0, low: 0, medium: 0, high: 0, critical: 0 };
        const byCategory: Record<string, number> = {};
        let total = 0;
        for (const r of s.totals.all(opts.state)) {
          const name = SEVERITIES[r.rank];
          if (name) sev[name] += r.n;
          byCategory[r.category] = (byCategory[r.category] ?? 0) + r.n;
          total += r.n;
        }
        const categories = Object.fromEntries(Object.entries(byCategory).sort(([a], [b]) => a.localeCompare(b)));
        const byNode = s.byNode.all(opts.state, opts.top).map((r): NodeCount => ({ node: r.node, total: r.total, bySeverity: bySeverity(r) }));
        const topChecks = s.topChecks.all(opts.state, opts.top).map((r): CheckSpread => {
          const info = s.checkInfo.get(r.check_id, opts.state);
          return { checkId: r.check_id, title: info?.title ?? '', category: info?.category ?? '', severity: highest(r), nodes: r.nodes, findings: r.findings };
        });
        const c = s.cluster.get(opts.state);
        const cluster = { total: c?.total ?? 0, bySeverity: bySeverity(c ?? { s0: 0, s1: 0, s2: 0, s3: 0, s4: 0 }) };
        const n = nodes.counts(opts.now, opts.staleAfterMs);
        return {
          state: opts.state,
          generatedAt: isoTime(opts.now),
          nodes: { total: n.total, connected: n.connected, stale: n.stale },
          compliance: {
            score: score(n.scoredPassing, n.scored), passing: n.scoredPassing, scored: n.scored,
            byBenchmark: nodes.byBenchmark().map((b) => ({ benchmark: b.benchmark, nodes: b.nodes, score: score(b.scoredPassing, b.scored), passing: b.scoredPassing, scored: b.scored })),
          },
          findings: { total, bySeverity: sev, byCategory: categories },
          cluster,
          byNode,
          topChecks,
        };
      })();
    },
  };
}
