// Baseline push latency: from an admin's POST /api/v1/baselines/allow being sent to the
// BaselineUpdate arriving on every connected agent's stream (real collector, mTLS gRPC
// streams, HTTPS API, SQLite). The baseline, measured in the same run, is a read of the same
// baseline through the API: what a request costs without the store write and the push.
import * as grpc from '@grpc/grpc-js';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initPki } from '../collector/pki/pki.js';
import { hashToken, loadCollectorConfig } from '../collector/config.js';
import { createCollector } from '../collector/main.js';
import { nodewardProto, type CollectorMessage__Output } from '../proto/load.js';
import { createLogger } from '../proto/support/logger.js';

export interface PushBenchOptions {
  readonly agents: number;
  readonly changes: number;
}

export interface PushBenchResult {
  /** Milliseconds from sending the POST to the last agent receiving the update. */
  readonly pushP50: number;
  readonly pushP99: number;
  /** Milliseconds for a GET of the same baseline. */
  readonly readP50: number;
  readonly readP99: number;
}

const TOKEN = 'bench-admin-token-0123456789abcdef';
const KEY = 'bench/Deployment/web/app';

const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0;
};

function call(url: string, ca: Buffer, method: string, body?: unknown): Promise<number> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(url, {
      method, ca, headers: { authorization: `Bearer ${TOKEN}`, ...(payload ? { 'content-type': 'application/json' } : {}) },
    }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

export async function benchBaselinePush(o: PushBenchOptions): Promise<PushBenchResult> {
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-bench-push-'));
  const names = Array.from({ length: o.agents }, (_, i) => `push-${i}`);
  const pki = await initPki(join(dir, 'pki'), { nodes: names, collectorHosts: ['localhost'] });
  const file = join(dir, 'collector.yaml');
  await writeFile(file, JSON.stringify({
    dataDir: dir,
    grpc: { listen: '127.0.0.1:0', caFile: pki.caCert, certFile: pki.collectorCert, keyFile: pki.collectorKey, maxConnectionsPerSource: 0 },
    api: { listen: '127.0.0.1:0', tokens: [{ name: 'bench', role: 'admin', sha256: hashToken(TOKEN) }], rateLimit: { requestsPerSecond: 100_000, burst: 100_000 } },
  }));
  const collector = createCollector(loadCollectorConfig({ file, env: {} }), { log: createLogger('bench', 'silent') });
  await collector.start();
  const ca = await readFile(pki.caCert);
  const api = `https://localhost:${collector.apiPort}/api/v1/baselines`;
  const clients: grpc.Client[] = [];
  try {
    // Each agent resolves the waiter of the version it receives.
    const waiting = new Map<number, { left: number; done: () => void }>();
    const Ctor = nodewardProto().AgentService;
    await Promise.all(names.map(async (node) => {
      const agent = pki.agents[node]!;
      const c = new Ctor(`localhost:${collector.grpcPort}`, grpc.credentials.createSsl(ca, await readFile(agent.key), await readFile(agent.cert)));
      clients.push(c);
      const stream = c.Connect();
      stream.on('data', (m: CollectorMessage__Output) => {
        const w = m.baselineUpdate ? waiting.get(m.baselineUpdate.version) : undefined;
        if (w && --w.left === 0) w.done();
      });
      stream.on('error', () => undefined);
      stream.write({ hello: { node, agentVersion: 'bench', epoch: `bench-${node}` } });
      // Connected once a report of its own has been merged.
      stream.write({ baselineReport: { baselines: [{ key: `bench/Pod/${node}/c`, state: 'BASELINE_STATE_LEARNING', items: [] }] } });
    }));
    for (;;) {
      const page = await new Promise<string>((resolve, reject) => {
        const req = request(`${api}?limit=100`, { ca, headers: { authorization: `Bearer ${TOKEN}` } }, (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString()));
          res.on('end', () => resolve(text));
        });
        req.on('error', reject);
        req.end();
      });
      if ((JSON.parse(page) as { items: unknown[] }).items.length >= o.agents) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const push: number[] = [];
    const read: number[] = [];
    for (let i = 0; i < o.changes; i++) {
      const started = performance.now();
      // The version this change will get: one above the last (nothing else changes baselines here).
      const arrived = new Promise<void>((resolve) => waiting.set(i + 1, { left: o.agents, done: resolve }));
      const status = await call(`${api}/allow`, ca, 'POST', { key: KEY, executables: [`/opt/bin/tool-${i}`], content: 'any' });
      if (status !== 200) throw new Error(`allow answered ${status}`);
      await arrived;
      push.push(performance.now() - started);
      const r0 = performance.now();
      await call(`${api}?key=${encodeURIComponent(KEY)}`, ca, 'GET');
      read.push(performance.now() - r0);
    }
    return { pushP50: quantile(push, 0.5), pushP99: quantile(push, 0.99), readP50: quantile(read, 0.5), readP99: quantile(read, 0.99) };
  } finally {
    for (const c of clients) c.close();
    await collector.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

export function formatPushBench(r: PushBenchResult, o: PushBenchOptions): string {
  return [
    `baseline push: ${o.changes} allows through the API, each pushed to ${o.agents} agents on mTLS streams`,
    `  POST sent -> update on every agent: p50 ${r.pushP50.toFixed(1)} ms, p99 ${r.pushP99.toFixed(1)} ms`,
    `  GET of the same baseline (baseline): p50 ${r.readP50.toFixed(1)} ms, p99 ${r.readP99.toFixed(1)} ms`,
    `  ratio p50 push / read: ${(r.pushP50 / Math.max(0.001, r.readP50)).toFixed(2)}`,
    '',
  ].join('\n');
}
