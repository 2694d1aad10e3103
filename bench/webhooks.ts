// Webhook latency: from the commit of a finding change (the outbox row is written inside
// that transaction) to the alert's arrival at a receiver on loopback, p50 and p99, one alert
// at a time through the real path (an agent's batch over mTLS gRPC, the outbox, the json
// sink with its HMAC signature, the dispatcher's POST). The baseline, measured in the same
// run against the same receiver, is a bare keep-alive HTTP POST of a body of the same size:
// what a sender that neither stores nor orders anything would take.
import * as grpc from '@grpc/grpc-js';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { Agent, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initPki } from '../collector/pki/pki.js';
import { loadCollectorConfig } from '../collector/config.js';
import { createCollector } from '../collector/main.js';
import { createLogger } from '../proto/support/logger.js';
import { nodewardProto, type CollectorMessage__Output } from '../proto/load.js';

export interface WebhooksBenchOptions {
  /** Alerts timed, one at a time (after as many warm-up alerts as `warmup`). */
  readonly alerts: number;
  readonly warmup: number;
}

interface Quantiles { readonly p50: number; readonly p99: number }

export interface WebhooksBenchResult {
  /** Milliseconds from commit to arrival at the receiver. */
  readonly delivery: Quantiles;
  /** Milliseconds for a bare POST to the same receiver. */
  readonly rawPost: Quantiles;
  readonly bodyBytes: number;
}

const now = (): number => Number(process.hrtime.bigint()) / 1e6;

function quantiles(xs: number[]): Quantiles {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? Number.NaN;
  return { p50: at(0.5), p99: at(0.99) };
}

export async function benchWebhooks(o: WebhooksBenchOptions): Promise<WebhooksBenchResult> {
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-bench-webhooks-'));
  const arrivals: Array<(at: number, bytes: number) => void> = [];
  const receiver = createServer((req, res) => {
    let bytes = 0;
    req.on('data', (c: Buffer) => { bytes += c.length; });
    req.on('end', () => {
      const at = now();
      res.writeHead(204).end();
      arrivals.shift()?.(at, bytes);
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  const arrival = (): Promise<{ at: number; bytes: number }> => new Promise((resolve) => arrivals.push((at, bytes) => resolve({ at, bytes })));
  try {
    const pki = await initPki(join(dir, 'pki'), { nodes: ['bench-node'], collectorHosts: ['localhost'] });
    const file = join(dir, 'collector.yaml');
    await writeFile(file, JSON.stringify({
      dataDir: join(dir, 'collector'),
      grpc: { listen: '127.0.0.1:0', caFile: pki.caCert, certFile: pki.collectorCert, keyFile: pki.collectorKey },
      api: { listen: '127.0.0.1:0' },
      webhooks: [{ name: 'bench', url, format: 'json', secretEnv: 'BENCH_WEBHOOK_SECRET', groupWindowMs: 0 }],
    }));
    const config = loadCollectorConfig({ file, env: { BENCH_WEBHOOK_SECRET: 'bench-secret-0123456789abcdef' } });
    const collector = createCollector(config, { log: createLogger('bench', 'silent') });
    await collector.start();
    // Called inside the transaction that writes the outbox row: the commit's moment.
    const commits: number[] = [];
    collector.store!.outbox.subscribe(() => commits.push(now()));

    const client = new (nodewardProto().AgentService)(`localhost:${collector.grpcPort}`, grpc.credentials.createSsl(
      readFileSync(pki.caCert), readFileSync(pki.agents['bench-node']!.key), readFileSync(pki.agents['bench-node']!.cert)));
    const call = client.Connect();
    const acks: Array<() => void> = [];
    call.on('data', (m: CollectorMessage__Output) => {
      if (m.ack?.code !== 0) throw new Error(`ack code ${m.ack?.code}: ${m.ack?.message}`);
      acks.shift()?.();
    });
    call.write({ hello: { node: 'bench-node', agentVersion: 'bench', epoch: 'bench' } });

    const delivery: number[] = [];
    let bodyBytes = 0;
    for (let i = 0; i < o.warmup + o.alerts; i++) {
      const acked = new Promise<void>((resolve) => acks.push(resolve));
      const arrived = arrival();
      call.write({
        findingBatch: {
          sequence: i + 1,
          findings: [{
            checkId: 'proc-unexpected', subject: `/opt/bench/bin/tool-${i}`, title: 'Unexpected process', category: 'process',
            severity: 'SEVERITY_HIGH', status: 'STATUS_FAIL', observedAtMs: Date.now(), occurrences: 1, seen: 'event',
            detailJson: '{"pid":1234,"user":"root","cmdline":"/opt/bench/bin/tool --serve"}',
          }],
        },
      });
      const [got] = await Promise.all([arrived, acked]);
      const committed = commits.shift();
      if (committed === undefined) throw new Error('no outbox row was written');
      if (i >= o.warmup) delivery.push(got.at - committed);
      bodyBytes = got.bytes;
    }
    call.end();
    client.close();
    await collector.stop();

    // The baseline: the same receiver, a body of the same size, a keep-alive connection.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const body = Buffer.alloc(bodyBytes, 'x');
    const post = (): Promise<void> => new Promise((resolve, reject) => {
      const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': body.length } }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', reject);
      req.end(body);
    });
    const raw: number[] = [];
    for (let i = 0; i < o.warmup + o.alerts; i++) {
      const arrived = arrival();
      const t0 = now();
      await post();
      const { at } = await arrived;
      if (i >= o.warmup) raw.push(at - t0);
    }
    agent.destroy();
    return { delivery: quantiles(delivery), rawPost: quantiles(raw), bodyBytes };
  } finally {
    receiver.close();
    await rm(dir, { recursive: true, force: true });
  }
}

export function formatWebhooksBench(r: WebhooksBenchResult, o: WebhooksBenchOptions): string {
  const ms = (n: number): string => `${n.toFixed(2)} ms`;
  return [
    `webhooks: ${o.alerts} alerts, one at a time, to a receiver on loopback (json, signed, ${r.bodyBytes} bytes, no grouping window)`,
    `  commit -> outbox -> dispatcher -> POST arrives:   p50 ${ms(r.delivery.p50)}, p99 ${ms(r.delivery.p99)}`,
    `  bare keep-alive POST of the same size (baseline): p50 ${ms(r.rawPost.p50)}, p99 ${ms(r.rawPost.p99)}`,
    `  ratio delivery / bare POST: p50 ${(r.delivery.p50 / r.rawPost.p50).toFixed(1)}, p99 ${(r.delivery.p99 / r.rawPost.p99).toFixed(1)}`,
    '',
  ].join('\n');
}
