// Ingest from a fleet: 200 simulated agents, each with its own certificate, connection and
// stream, send finding batches through the real path (mTLS gRPC, validation, pipeline, one
// SQLite transaction per batch, ack after commit). The baseline, measured in the same run,
// is the same batches committed directly with the store's upserts. The ratio is what the
// network path costs when many agents share one collector.
import { Worker } from 'node:worker_threads';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initPki } from '../collector/pki/pki.js';
import { loadCollectorConfig } from '../collector/config.js';
import { createCollector } from '../collector/main.js';
import { openStore } from '../collector/store/sqlite.js';
import { createCommitStage } from '../collector/pipeline/commit.js';
import { createLogger } from '../proto/support/logger.js';
import type { FindingBatch } from '../proto/load.js';
import type { IncomingBatch } from '../collector/pipeline/types.js';
import type { AgentsWorkerInput } from './query-agents-worker.js';

export interface AgentsBenchOptions {
  readonly agents: number;
  /** Timed batches per agent (one more is sent first to warm the connection up). */
  readonly batches: number;
  readonly perBatch: number;
  readonly window: number;
}

export interface AgentsBenchResult {
  readonly findings: number;
  readonly grpcPerSec: number;
  readonly directPerSec: number;
  readonly ratio: number;
}

const nodeName = (i: number): string => `agent-${String(i).padStart(3, '0')}`;

function makeBatch(agent: number, b: number, perBatch: number, at: number): FindingBatch {
  return {
    sequence: b + 1,
    findings: Array.from({ length: perBatch }, (_, j) => ({
      // Half new subjects, half repeats of the previous batch's: opens and updates both.
      checkId: 'proc-unexpected', subject: `/opt/app-${agent % 17}/bin/tool-${b * perBatch + j - (j % 2 ? perBatch : 0)}`,
      title: 'Unexpected process', category: 'process', severity: 'SEVERITY_HIGH' as const, status: 'STATUS_FAIL' as const,
      observedAtMs: at + b, occurrences: 1, seen: 'event', detailJson: `{"pid":${1000 + j},"user":"root"}`,
    })),
  };
}

export async function benchAgents(o: AgentsBenchOptions): Promise<AgentsBenchResult> {
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-bench-agents-'));
  try {
    const names = Array.from({ length: o.agents }, (_, i) => nodeName(i));
    const pki = await initPki(join(dir, 'pki'), { nodes: names, collectorHosts: ['localhost'] });
    const at = Date.now();
    const batches = names.map((_, i) => Array.from({ length: o.batches + 1 }, (__, b) => makeBatch(i, b, o.perBatch, at)));
    const file = join(dir, 'collector.yaml');
    await writeFile(file, JSON.stringify({
      dataDir: join(dir, 'grpc'),
      grpc: { listen: '127.0.0.1:0', caFile: pki.caCert, certFile: pki.collectorCert, keyFile: pki.collectorKey, maxConnectionsPerSource: 0 },
      api: { listen: '127.0.0.1:0' },
      limits: { maxOpenFindingsPerNode: 10_000_000 },
    }));
    const collector = createCollector(loadCollectorConfig({ file, env: {} }), { log: createLogger('bench', 'silent') });
    await collector.start();
    const input: AgentsWorkerInput = {
      address: `localhost:${collector.grpcPort}`, ca: pki.caCert, window: o.window, batches,
      agents: names.map((node) => ({ node, cert: pki.agents[node]!.cert, key: pki.agents[node]!.key })),
    };
    const outcome = await new Promise<{ seconds?: number; error?: string }>((resolve, reject) => {
      const worker = new Worker(new URL('./query-agents-worker.js', import.meta.url), { workerData: input });
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`the agents worker exited (code ${code}) without reporting`)));
    });
    await collector.stop();
    if (outcome.error || outcome.seconds === undefined) throw new Error(`agents worker: ${outcome.error}`);
    const timed = o.agents * o.batches * o.perBatch;

    // The same batches, committed directly, after the same warm-up batch per node.
    const store = openStore({ path: join(dir, 'direct', 'nodeward.db') });
    const commit = createCommitStage(store, { maxOpenFindingsPerNode: 10_000_000 });
    const incoming = (node: string, b: FindingBatch): IncomingBatch => ({
      node, epoch: `bench-${node}`, sequence: b.sequence as number,
      findings: (b.findings ?? []).map((f) => ({
        checkId: f.checkId!, subject: f.subject!, title: f.title!, category: 'process', severity: 'high', status: 'fail',
        observedAt: Number(f.observedAtMs), occurrences: 1, seen: 'event', remediation: '', detail: f.detailJson!,
      })),
    });
    names.forEach((node, i) => commit.batch(incoming(node, batches[i]![0]!), Date.now()));
    const direct = names.flatMap((node, i) => batches[i]!.slice(1).map((b) => incoming(node, b)));
    // Interleaved by agent, as the fleet's batches arrive.
    direct.sort((x, y) => x.sequence - y.sequence);
    const t0 = process.hrtime.bigint();
    for (const b of direct) await commit.batch(b, Date.now());
    const directSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
    await store.close();
    const grpcPerSec = timed / outcome.seconds;
    const directPerSec = timed / directSeconds;
    return { findings: timed, grpcPerSec, directPerSec, ratio: grpcPerSec / directPerSec };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function formatAgentsBench(r: AgentsBenchResult, o: AgentsBenchOptions): string {
  const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
  return [
    `ingest from a fleet: ${o.agents} agents, each on its own mTLS stream, ${o.batches} batches of ${o.perBatch} (${o.window} in flight per agent): ${fmt(r.findings)} findings`,
    `  200 agents -> gRPC -> validate -> SQLite, ack after commit: ${fmt(r.grpcPerSec)} findings/s`,
    `  same batches as direct store upserts (baseline):          ${fmt(r.directPerSec)} findings/s`,
    `  ratio fleet over gRPC / direct: ${r.ratio.toFixed(2)}`,
    '',
  ].join('\n');
}
