// What a /metrics scrape costs the collector at cluster scale: render() with the store's scrape
// hook (findings by severity and category, and every node's agent figures) on a store of N
// nodes that all reported, against the registry alone (the baseline: the same families, the
// process and runtime metrics, no store reads), measured in the same run.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../collector/store/sqlite.js';
import { createMetrics } from '../collector/metrics.js';
import { registerStoreMetrics } from '../collector/store-metrics.js';
import type { NodeStats } from '../collector/store/store.js';

export interface ScrapeBenchResult {
  readonly nodes: number;
  readonly baselineMs: number;
  readonly scrapeMs: number;
  readonly bytes: number;
  readonly baselineBytes: number;
}

const name = (i: number): string => `node-${String(i).padStart(6, '0')}`;
const STATS: NodeStats = {
  spoolEntries: 3, spoolBytes: 4096, spoolDropped: 0, rejected: 0, execCoverage: 'event', execSource: 'ebpf', execSourceReason: '',
  processEventsCapped: 0, processEventsLost: 0, execEventsLost: 2, execRingLost: 0, execUnjudged: 0, execRecordsPartial: 0, execFakeContainer: 0,
  execHostNamespace: 0, execBatches: 10, baselineItemsDropped: 0, baselineKeysEvicted: 0, baselineReportDropped: 0, hostDocumentsRefused: 0,
  hostDocumentRefusedPath: '', hostDocumentRefusedReason: '', execIdentityFailed: 1, execIdentityFailedReason: '',
  execEvents: 5_000, lastScanDurationMs: 90, exposureWalkPidLimitHits: 0, exposureWalkTimeLimitHits: 0, exposureWalkFdLimitHits: 0, exposureWalkUnreadable: 0, exposureRowsRefused: 0, exposureListenersDropped: 0, exposureNativeReader: false,
};

async function median(samples: number, fn: () => Promise<unknown>): Promise<number> {
  await fn();
  const ms: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t = process.hrtime.bigint();
    await fn();
    ms.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return ms.sort((a, b) => a - b)[Math.floor(ms.length / 2)] ?? 0;
}

export async function benchMetricsScrape(o: { nodes: number; samples: number }): Promise<ScrapeBenchResult> {
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-bench-metrics-'));
  try {
    const now = Date.now();
    const store = openStore({ path: join(dir, 'nodeward.db') });
    for (let i = 0; i < o.nodes; i++) {
      await store.nodes.hello({
        node: name(i), agentVersion: '0.3.0', epoch: 'e', os: 'Debian', kernel: '6.1', arch: 'amd64', kubeletVersion: 'v1.31.2',
        cpus: 4, memoryBytes: 16 << 30, uptimeSeconds: 1000, certificates: [],
      }, now);
      await store.nodes.stats(name(i), STATS, now);
    }
    const baseline = createMetrics();
    const scraped = createMetrics();
    registerStoreMetrics(scraped, { store, hostLearning: () => null, log: { warn: () => undefined } });
    const baselineBytes = (await baseline.render()).length;
    const bytes = (await scraped.render()).length;
    const baselineMs = await median(o.samples, () => baseline.render());
    const scrapeMs = await median(o.samples, () => scraped.render());
    await store.close();
    return { nodes: o.nodes, baselineMs, scrapeMs, bytes, baselineBytes };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function formatScrapeBench(r: ScrapeBenchResult): string {
  return [
    `metrics scrape: /metrics render with ${r.nodes.toLocaleString('en-US')} nodes' agent figures`,
    `  registry alone (baseline): ${r.baselineMs.toFixed(2)} ms, ${r.baselineBytes.toLocaleString('en-US')} bytes`,
    `  with the store's figures:  ${r.scrapeMs.toFixed(2)} ms, ${r.bytes.toLocaleString('en-US')} bytes`,
    `  ratio: ${(r.scrapeMs / r.baselineMs).toFixed(1)}`,
  ].join('\n');
}
