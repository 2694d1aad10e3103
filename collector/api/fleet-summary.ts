// The summary across clusters (GET /summary?cluster=*) and the counts of GET /clusters, summed
// from each cluster's own summary: pure functions over the store's Summary. Nodes of different
// clusters are different nodes, so a check failing on n nodes of one cluster and m of another
// fails on n + m; byNode and topChecks are ranked across clusters in the store's own orders.
import { SEVERITIES, type Severity } from '../../proto/domain.js';
import { PROC_UNEXPECTED_CHECK } from '../../proto/process-checks.js';
import type { CheckSpread, NodeCount, Summary } from '../store/boundary/summary.js';
import type { ClusterTag } from './fleet-reads.js';

/** A cluster's summary with its byNode entries tagged with the cluster. */
export interface TaggedSummary extends Omit<Summary, 'byNode'> {
  readonly byNode: Array<NodeCount & ClusterTag>;
}

const zero = (): Record<Severity, number> => ({ info: 0, low: 0, medium: 0, high: 0, critical: 0 });
const ratio = (passing: number, scored: number): number | null => (scored === 0 ? null : passing / scored);

function addSeverities(into: Record<Severity, number>, from: Readonly<Record<Severity, number>>): void {
  for (const s of SEVERITIES) into[s] += from[s];
}

/** The store's byNode order (store/summary.ts): critical, then high, then total, most first; then name; then fleet order. */
function byNodeOrder(a: NodeCount, b: NodeCount): number {
  return b.bySeverity.critical - a.bySeverity.critical || b.bySeverity.high - a.bySeverity.high || b.total - a.total
    || (a.node < b.node ? -1 : a.node > b.node ? 1 : 0);
}

/** The store's topChecks order: on most nodes, then most findings, then by check id. */
function checkOrder(a: CheckSpread, b: CheckSpread): number {
  return b.nodes - a.nodes || b.findings - a.findings || (a.checkId < b.checkId ? -1 : a.checkId > b.checkId ? 1 : 0);
}

/**
 * The sum of `parts` (in fleet order), with the `top` rows of byNode and topChecks. Each part's
 * topChecks must hold every failing check (asked with a top past their number), or a check below
 * each cluster's top would be missing from the sum.
 */
export function sumSummaries(parts: readonly TaggedSummary[], top: number, state: Summary['state'], generatedAt: string): TaggedSummary {
  const nodes = { total: 0, connected: 0, stale: 0 };
  let passing = 0;
  let scored = 0;
  const benchmarks = new Map<string, { nodes: number; passing: number; scored: number }>();
  const findings = { total: 0, bySeverity: zero(), byCategory: {} as Record<string, number> };
  const cluster = { total: 0, bySeverity: zero() };
  const byNode: Array<NodeCount & ClusterTag> = [];
  const checks = new Map<string, CheckSpread>();
  for (const p of parts) {
    nodes.total += p.nodes.total;
    nodes.connected += p.nodes.connected;
    nodes.stale += p.nodes.stale;
    passing += p.compliance.passing;
    scored += p.compliance.scored;
    for (const b of p.compliance.byBenchmark) {
      const had = benchmarks.get(b.benchmark) ?? { nodes: 0, passing: 0, scored: 0 };
      benchmarks.set(b.benchmark, { nodes: had.nodes + b.nodes, passing: had.passing + b.passing, scored: had.scored + b.scored });
    }
    findings.total += p.findings.total;
    addSeverities(findings.bySeverity, p.findings.bySeverity);
    for (const [category, n] of Object.entries(p.findings.byCategory)) findings.byCategory[category] = (findings.byCategory[category] ?? 0) + n;
    cluster.total += p.cluster.total;
    addSeverities(cluster.bySeverity, p.cluster.bySeverity);
    byNode.push(...p.byNode);
    for (const c of p.topChecks) {
      const had = checks.get(c.checkId);
      checks.set(c.checkId, had === undefined ? c : {
        ...had, title: had.title || c.title, category: had.category || c.category,
        severity: SEVERITIES.indexOf(c.severity) > SEVERITIES.indexOf(had.severity) ? c.severity : had.severity,
        nodes: had.nodes + c.nodes, findings: had.findings + c.findings,
      });
    }
  }
  // A stable sort keeps fleet order among nodes that tie.
  byNode.sort(byNodeOrder);
  return {
    state, generatedAt, nodes,
    compliance: {
      score: ratio(passing, scored), passing, scored,
      byBenchmark: [...benchmarks].sort(([a], [b]) => a.localeCompare(b)).map(([benchmark, b]) => ({ benchmark, nodes: b.nodes, score: ratio(b.passing, b.scored), passing: b.passing, scored: b.scored })),
    },
    findings: { ...findings, byCategory: Object.fromEntries(Object.entries(findings.byCategory).sort(([a], [b]) => a.localeCompare(b))) },
    cluster,
    byNode: byNode.slice(0, top),
    topChecks: [...checks.values()].sort(checkOrder).slice(0, top),
  };
}

/** A summary cut to its `top` rows (a cluster's own, asked with every check). */
export function cutSummary(s: TaggedSummary, top: number): TaggedSummary {
  return { ...s, byNode: s.byNode.slice(0, top), topChecks: s.topChecks.slice(0, top) };
}

/** What GET /clusters counts of a cluster, from its summary of open findings asked with every check. */
export interface ClusterCounts {
  readonly nodes: { readonly total: number; readonly connected: number };
  readonly openFindings: { readonly total: number; readonly bySeverity: Record<Severity, number> };
  readonly unexpectedProcesses: number;
}

export function countsOf(open: Summary): ClusterCounts {
  return {
    nodes: { total: open.nodes.total, connected: open.nodes.connected },
    openFindings: { total: open.findings.total, bySeverity: { ...open.findings.bySeverity } },
    // Each open proc-unexpected finding is one row of GET /processes/unexpected; they all fail.
    unexpectedProcesses: open.topChecks.find((c) => c.checkId === PROC_UNEXPECTED_CHECK.id)?.findings ?? 0,
  };
}

export function sumCounts(parts: readonly ClusterCounts[]): ClusterCounts {
  const bySeverity = zero();
  for (const p of parts) addSeverities(bySeverity, p.openFindings.bySeverity);
  const sum = (f: (p: ClusterCounts) => number): number => parts.reduce((n, p) => n + f(p), 0);
  return {
    nodes: { total: sum((p) => p.nodes.total), connected: sum((p) => p.nodes.connected) },
    openFindings: { total: sum((p) => p.openFindings.total), bySeverity },
    unexpectedProcesses: sum((p) => p.unexpectedProcesses),
  };
}
