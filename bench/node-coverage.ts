// What node coverage costs the collector at cluster scale: the node inventory's first page
// (GET /api/v1/nodes reads store.nodes.list) and a sweep, on a store whose nodes all reported
// (the baseline, measured in the same run) against the same store with the node watch's
// cluster_nodes rows for every node plus a tenth more that no agent reported (listed, and
// agent-missing). Also the cost of the watch's writes: one upsert per changed node.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../collector/store/sqlite.js';
import { createPipeline } from '../collector/pipeline/pipeline.js';
import { createSweeper } from '../collector/pipeline/sweeper.js';
import { createMetrics } from '../collector/metrics.js';
import { createLogger } from '../proto/support/logger.js';
import type { ClusterNodeState, Store } from '../collector/store/store.js';

export interface CoverageBenchOptions {
  readonly nodes: number;
  readonly samples: number;
}

export interface CoverageBenchResult {
  readonly nodes: number;
  readonly clusterOnly: number;
  readonly listBaselineMs: number;
  readonly listMs: number;
  readonly listLastPageBaselineMs: number;
  readonly listLastPageMs: number;
  readonly sweepBaselineMs: number;
  readonly sweepMs: number;
  readonly upsertsPerSec: number;
  readonly missingRaised: number;
}

const name = (i: number): string => `node-${String(i).padStart(6, '0')}`;
const log = createLogger('bench', 'silent');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

function timeIt(samples: number, fn: () => void): number {
  fn();
  const ms: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t = process.hrtime.bigint();
    fn();
    ms.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return median(ms);
}

async function hello(store: Store, n: number, now: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    await store.nodes.hello({
      node: name(i), agentVersion: '0.3.0', epoch: 'e', os: 'Debian', kernel: '6.1', arch: 'amd64', kubeletVersion: 'v1.31.2',
      cpus: 4, memoryBytes: 16 << 30, uptimeSeconds: 1000, certificates: [{ path: '/etc/kubernetes/pki/apiserver.crt', notAfter: new Date(now + (i % 365) * 86400_000).toISOString() }],
    }, now);
  }
}

const clusterNode = (i: number): ClusterNodeState => ({
  name: name(i), uid: `uid-${i}`, ready: true, agentExpected: true, reason: '', kubeletVersion: 'v1.31.2', osImage: 'Debian GNU/Linux 12', kernel: '6.1.0', arch: 'amd64',
});

export async function benchCoverage(o: CoverageBenchOptions): Promise<CoverageBenchResult> {
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-bench-coverage-'));
  try {
    const now = Date.now();
    const store = openStore({ path: join(dir, 'nodeward.db') });
    const pipeline = createPipeline({ store, metrics: createMetrics(), log, now: () => clock });
    let clock = now;
    const sweeper = createSweeper({ intervalMs: 3600_000, staleAfterMs: 365 * 86400_000, missingAfterMs: 300_000, retention: { resolvedFindingsMs: 0, historyMs: 0, auditMs: 0, receivedMs: 0 } },
      { store, pipeline, metrics: createMetrics(), log, clock: { now: () => clock, after: () => () => undefined }, coverage: { synced: () => true, whyMissing: () => 'no agent pod on the node' } });
    await hello(store, o.nodes, now);
    await store.optimize();
    const lastCursor = name(o.nodes - 1000);
    // Baseline: every node reported by an agent, no cluster rows.
    const listBaselineMs = timeIt(o.samples, () => store.nodes.list(now, 300_000, {}, 1000));
    const listLastPageBaselineMs = timeIt(o.samples, () => store.nodes.list(now, 300_000, {}, 1000, lastCursor));
    sweeper.start();
    const sweepBaselineMs = timeIt(Math.max(3, o.samples / 10), () => sweeper.sweep());

    // The node watch's rows: every node, and a tenth more no agent reported.
    const clusterOnly = Math.floor(o.nodes / 10);
    const t = process.hrtime.bigint();
    for (let i = 0; i < o.nodes + clusterOnly; i++) await store.clusterNodes.upsert(clusterNode(i), now);
    const upsertsPerSec = (o.nodes + clusterOnly) / (Number(process.hrtime.bigint() - t) / 1e9);
    await store.optimize();
    // Past the grace period: the first sweep raises agent-missing for the nodes no agent reported.
    clock = now + 600_000;
    const first = await sweeper.sweep();
    const sweepMs = timeIt(Math.max(3, o.samples / 10), () => sweeper.sweep());
    const listMs = timeIt(o.samples, () => store.nodes.list(clock, 300_000, {}, 1000));
    const listLastPageMs = timeIt(o.samples, () => store.nodes.list(clock, 300_000, {}, 1000, lastCursor));
    sweeper.stop();
    await store.close();
    return {
      nodes: o.nodes, clusterOnly, listBaselineMs, listMs, listLastPageBaselineMs, listLastPageMs, sweepBaselineMs, sweepMs, upsertsPerSec,
      missingRaised: first.missingRaised.length,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function formatCoverageBench(r: CoverageBenchResult): string {
  const ms = (n: number): string => `${n < 10 ? n.toFixed(2) : n.toFixed(1)} ms`;
  const x = (a: number, b: number): string => `x${(a / b).toFixed(2)}`;
  return [
    `node coverage: ${r.nodes.toLocaleString('en-US')} nodes reported by agents, then cluster rows for all and ${r.clusterOnly.toLocaleString('en-US')} more no agent reported (median of the samples)`,
    `  nodes, first page of 1,000:  ${ms(r.listBaselineMs)} without cluster rows (baseline), ${ms(r.listMs)} with them (${x(r.listMs, r.listBaselineMs)})`,
    `  nodes, a page near the end:  ${ms(r.listLastPageBaselineMs)} without, ${ms(r.listLastPageMs)} with (${x(r.listLastPageMs, r.listLastPageBaselineMs)})`,
    `  sweep:                       ${ms(r.sweepBaselineMs)} without, ${ms(r.sweepMs)} with (${x(r.sweepMs, r.sweepBaselineMs)}); the first one raised ${r.missingRaised} agent-missing`,
    `  node watch writes: ${Math.round(r.upsertsPerSec).toLocaleString('en-US')} node upserts/s (each its own transaction, synchronous=FULL as shipped; a list writes all in one)`,
    '',
  ].join('\n');
}
