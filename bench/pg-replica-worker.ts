// One collector replica for bench/pg.ts, in a worker thread of its own (as a replica is a
// process of its own, its JavaScript does not share the benchmark's thread): a PostgreSQL
// store on its own pool, the real commit stage over it, and its nodes' agent batches. It
// says hello for its nodes, reports ready, waits for the word to go (so replicas start
// together), commits every node's batches (the nodes at once, each node's in turn) and
// reports the seconds that took.
import { parentPort, workerData } from 'node:worker_threads';
import { createCommitStage } from '../collector/pipeline/commit.js';
import { openPgStore } from '../collector/store/pg/store.js';
import { agentBatches, benchPool, helloOf, ingestNodes, type BatchShape } from './pg-support.js';

export interface ReplicaInput {
  readonly url: string;
  readonly poolSize: number;
  readonly nodes: readonly string[];
  readonly shape: BatchShape;
  readonly t0: number;
}

export type ReplicaMessage = { ready: true } | { seconds: number; findings: number } | { error: string };

async function main(input: ReplicaInput, port: NonNullable<typeof parentPort>): Promise<void> {
  const store = await openPgStore({ pool: await benchPool(input.url, input.poolSize, false) });
  try {
    const commit = createCommitStage(store, { maxOpenFindingsPerNode: 10_000_000 });
    for (const node of input.nodes) await store.nodes.hello(helloOf(node, input.t0), input.t0);
    const perNode = input.nodes.map((node) => agentBatches(node, input.shape, input.t0));
    const go = new Promise<void>((resolve) => port.once('message', () => resolve()));
    port.postMessage({ ready: true } satisfies ReplicaMessage);
    await go;
    const seconds = await ingestNodes((b) => commit.batch(b, input.t0), perNode);
    port.postMessage({ seconds, findings: input.nodes.length * input.shape.batches * input.shape.perBatch } satisfies ReplicaMessage);
  } finally {
    await store.close();
  }
}

if (parentPort) {
  const port = parentPort;
  main(workerData as ReplicaInput, port).catch((err: unknown) => port.postMessage({ error: String((err as Error)?.stack ?? err) } satisfies ReplicaMessage));
}
