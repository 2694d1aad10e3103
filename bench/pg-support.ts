// What the PostgreSQL benchmark (bench/pg.ts) and its replica workers (pg-replica-worker.ts)
// share: a pool on a database of the benchmark's server, migrated as the collector migrates
// it, and the agent batches both ingest paths commit.
import type pg from 'pg';
import { ensureSearchIndex } from '../collector/store/pg/search-index.js';
import { migratePostgres } from '../collector/store/pg/migrate.js';
import { createPool } from '../collector/store/pg/pool.js';
import type { IncomingBatch } from '../collector/pipeline/types.js';
import type { NodeHello } from '../collector/store/store.js';

/** A pool of `size` on the database at `url` (no TLS: the server is on loopback), migrated when asked. */
export async function benchPool(url: string, size: number, migrate: boolean): Promise<pg.Pool> {
  const pool = createPool({ url: () => url, sslMode: 'disable', ca: undefined, poolSize: size, connectTimeoutMs: 10_000 }, () => undefined);
  if (migrate) {
    const client = await pool.connect();
    try {
      await migratePostgres(client);
      // As the collector opens it (pg/open.ts): with the search index, whose upkeep the ingest figures include.
      const search = await ensureSearchIndex(client);
      if (!search.ready) throw new Error(`no search index: ${search.reason}`);
    } finally {
      client.release();
    }
  }
  return pool;
}

export interface BatchShape {
  readonly batches: number;
  readonly perBatch: number;
  /** Distinct subjects per node; beyond this, findings repeat and become updates. */
  readonly distinct: number;
}

/**
 * One node's agent batches, as bench/ingest.ts sends them: process findings whose subjects
 * cycle through `distinct` executables, so the first pass opens findings and later ones update
 * them (an occurrence, folded into the hour's history entry).
 */
export function agentBatches(node: string, o: BatchShape, t0: number): IncomingBatch[] {
  return Array.from({ length: o.batches }, (_, i) => ({
    node, epoch: 'bench', sequence: i + 1,
    findings: Array.from({ length: o.perBatch }, (_, j) => ({
      checkId: 'proc-unexpected', subject: `/opt/app/bin/tool-${(i * o.perBatch + j) % o.distinct}`, title: 'Unexpected process',
      category: 'process' as const, severity: 'high' as const, status: 'fail' as const, observedAt: t0 + i, occurrences: 1, seen: 'scan',
      remediation: '', detail: '{"pid":1234,"user":"root"}',
    })),
  }));
}

/** The inventory a node's agent says hello with (the benchmark's nodes are alike). */
export function helloOf(node: string, t0: number): NodeHello {
  return {
    node, agentVersion: '1.0.0', epoch: 'bench', os: 'Debian GNU/Linux 12 (bookworm)', kernel: '6.1.0-27-amd64', arch: 'x64',
    kubeletVersion: 'v1.31.2', cpus: 8, memoryBytes: 32 * 2 ** 30, uptimeSeconds: 86400,
    certificates: [{ path: '/var/lib/kubelet/pki/kubelet.crt', notAfter: new Date(t0 + 200 * 86400_000).toISOString() }],
  };
}

/** Commits each node's batches in turn (an agent's stream), the nodes at once; the seconds it took. */
export async function ingestNodes(commit: (b: IncomingBatch) => Promise<unknown>, perNode: ReadonlyArray<readonly IncomingBatch[]>): Promise<number> {
  const started = process.hrtime.bigint();
  await Promise.all(perNode.map(async (batches) => {
    for (const b of batches) await commit(b);
  }));
  return Number(process.hrtime.bigint() - started) / 1e9;
}
