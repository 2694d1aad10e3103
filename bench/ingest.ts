// Findings per second through the real path (gRPC over mTLS on loopback, validation,
// pipeline, one SQLite transaction per batch, ack after commit) next to the same commits
// done directly on SQLite, in the same run. The ratio is what the network path costs.
import * as grpc from '@grpc/grpc-js';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initPki } from '../collector/pki/pki.js';
import { loadCollectorConfig } from '../collector/config.js';
import { createCollector } from '../collector/main.js';
import { openStore } from '../collector/store/sqlite.js';
import { createCommitStage } from '../collector/pipeline/commit.js';
import type { Durability } from '../collector/store/db.js';
import { createLogger } from '../proto/support/logger.js';
import { nodewardProto, type AgentMessage, type CollectorMessage__Output, type FindingBatch } from '../proto/load.js';
import type { IncomingBatch } from '../collector/pipeline/types.js';

export interface IngestBenchOptions {
  readonly batches: number;
  readonly perBatch: number;
  /** Distinct subjects; beyond this, findings repeat and become updates. */
  readonly distinct: number;
  readonly window: number;
}

function makeBatch(i: number, o: IngestBenchOptions): FindingBatch {
  const findings = [];
  for (let j = 0; j < o.perBatch; j++) {
    findings.push({
      checkId: 'proc-unexpected', subject: `/opt/app/bin/tool-${(i * o.perBatch + j) % o.distinct}`, title: 'Unexpected process',
      category: 'process', severity: 'SEVERITY_HIGH' as const, status: 'STATUS_FAIL' as const, observedAtMs: Date.now(), occurrences: 1,
      seen: 'scan', detailJson: '{"pid":1234,"user":"root"}',
    });
  }
  return { sequence: i + 1, findings };
}

export async function benchIngest(o: IngestBenchOptions): Promise<{ grpcPerSec: number; directPerSec: number; unsyncedPerSec: number; ratio: number; total: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-bench-'));
  try {
    const pki = await initPki(join(dir, 'pki'), { nodes: ['bench-node'], collectorHosts: ['localhost'] });
    const file = join(dir, 'collector.yaml');
    await writeFile(file, JSON.stringify({
      dataDir: join(dir, 'grpc'),
      grpc: { listen: '127.0.0.1:0', caFile: pki.caCert, certFile: pki.collectorCert, keyFile: pki.collectorKey },
      api: { listen: '127.0.0.1:0' },
      limits: { maxOpenFindingsPerNode: 10_000_000 },
    }));
    const config = loadCollectorConfig({ file, env: {} });
    const collector = createCollector(config, { log: createLogger('bench', 'silent') });
    await collector.start();
    const batches = Array.from({ length: o.batches }, (_, i) => makeBatch(i, o));
    const total = o.batches * o.perBatch;

    // The real path.
    const client = new (nodewardProto().AgentService)(`localhost:${collector.grpcPort}`, grpc.credentials.createSsl(
      readFileSync(pki.caCert), readFileSync(pki.agents['bench-node']!.key), readFileSync(pki.agents['bench-node']!.cert)));
    const call = client.Connect();
    const started = process.hrtime.bigint();
    await new Promise<void>((resolve, reject) => {
      let next = 0;
      let acked = 0;
      const send = (): void => {
        while (next < batches.length && next - acked < o.window) {
          const msg: AgentMessage = { findingBatch: batches[next++] };
          call.write(msg);
        }
      };
      call.on('data', (m: CollectorMessage__Output) => {
        if (m.ack?.code !== 0) return reject(new Error(`ack code ${m.ack?.code}: ${m.ack?.message}`));
        acked++;
        if (acked === batches.length) resolve();
        else send();
      });
      call.on('error', reject);
      call.write({ hello: { node: 'bench-node', agentVersion: 'bench', epoch: 'bench' } });
      send();
    });
    const grpcSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    call.end();
    client.close();
    await collector.stop();

    const incoming: IncomingBatch[] = batches.map((b) => ({
      node: 'bench-node', epoch: 'bench', sequence: b.sequence as number,
      findings: (b.findings ?? []).map((f) => ({
        checkId: f.checkId!, subject: f.subject!, title: f.title!, category: 'process', severity: 'high', status: 'fail',
        observedAt: Number(f.observedAtMs), occurrences: 1, seen: 'scan', remediation: '', detail: f.detailJson!,
      })),
    }));
    // The same commits, directly: as the collector does them (every commit synced), and as
    // it did before acks were made durable (synced at checkpoints only).
    const direct = async (durability: Durability): Promise<number> => {
      const store = openStore({ path: join(dir, `direct-${durability}`, 'nodeward.db'), durability });
      const commit = createCommitStage(store, { maxOpenFindingsPerNode: 10_000_000 });
      const t0 = process.hrtime.bigint();
      for (const b of incoming) await commit.batch(b, Date.now());
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      await store.close();
      return total / seconds;
    };
    const directPerSec = await direct('full');
    const unsyncedPerSec = await direct('normal');
    const grpcPerSec = total / grpcSeconds;
    return { grpcPerSec, directPerSec, unsyncedPerSec, ratio: grpcPerSec / directPerSec, total };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
