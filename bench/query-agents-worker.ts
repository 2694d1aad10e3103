// Runs inside a worker thread for bench/query-agents.ts: 200 simulated agents, each on its
// own mTLS connection and stream, send their finding batches with a few in flight and wait
// for every ack. Kept off the collector's thread so client work does not slow the server.
import { parentPort, workerData } from 'node:worker_threads';
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { nodewardProto, type CollectorMessage__Output, type FindingBatch } from '../proto/load.js';

export interface AgentsWorkerInput {
  readonly address: string;
  readonly ca: string;
  readonly agents: ReadonlyArray<{ readonly node: string; readonly cert: string; readonly key: string }>;
  /** Per agent; batch 0 is the warm-up (connects and opens the stream) and is not timed. */
  readonly batches: ReadonlyArray<ReadonlyArray<FindingBatch>>;
  readonly window: number;
}

interface Agent {
  call: grpc.ClientDuplexStream<unknown, CollectorMessage__Output>;
  client: grpc.Client;
  next: number;
  acked: number;
}

async function main(input: AgentsWorkerInput): Promise<void> {
  const ca = readFileSync(input.ca);
  const Service = nodewardProto().AgentService;
  const agents: Agent[] = [];
  // Connect everyone and get one batch acked each: handshakes are not part of the figure.
  await Promise.all(input.agents.map((a, i) => new Promise<void>((resolve, reject) => {
    const client = new Service(input.address, grpc.credentials.createSsl(ca, readFileSync(a.key), readFileSync(a.cert)));
    const call = client.Connect() as Agent['call'];
    const agent: Agent = { call, client, next: 1, acked: 0 };
    agents[i] = agent;
    call.once('data', (m: CollectorMessage__Output) => (m.ack?.code === 0 ? resolve() : reject(new Error(`warm-up ack ${m.ack?.code}: ${m.ack?.message}`))));
    call.on('error', reject);
    call.write({ hello: { node: a.node, agentVersion: 'bench', epoch: `bench-${a.node}` } });
    call.write({ findingBatch: input.batches[i]![0] });
  })));

  const started = process.hrtime.bigint();
  await Promise.all(agents.map((agent, i) => new Promise<void>((resolve, reject) => {
    const batches = input.batches[i]!;
    const timed = batches.length - 1;
    if (timed === 0) return resolve();
    const send = (): void => {
      while (agent.next < batches.length && agent.next - 1 - agent.acked < input.window) agent.call.write({ findingBatch: batches[agent.next++] });
    };
    agent.call.on('data', (m: CollectorMessage__Output) => {
      if (m.ack?.code !== 0) return reject(new Error(`ack ${m.ack?.code}: ${m.ack?.message}`));
      if (++agent.acked === timed) resolve();
      else send();
    });
    send();
  })));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  for (const a of agents) {
    a.call.end();
    a.client.close();
  }
  parentPort?.postMessage({ seconds });
}

main(workerData as AgentsWorkerInput).catch((err: unknown) => parentPort?.postMessage({ error: (err as Error).stack ?? String(err) }));
