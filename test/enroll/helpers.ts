// A collector with enrollment on, against a fake Kubernetes API, with its log lines kept.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { initPki, type PkiPaths } from '../../collector/pki/pki.js';
import { loadCollectorConfig } from '../../collector/config.js';
import { createCollector, type Collector } from '../../collector/main.js';
import { createLogger, type Logger } from '../../proto/support/logger.js';
import { AGENT_NAMESPACE, AGENT_SA, AUDIENCE, startFakeKube, type FakeKube } from './fake-kube.js';

export interface LogCapture {
  readonly log: Logger;
  readonly lines: Array<Record<string, unknown>>;
  count(msg: string, where?: Record<string, unknown>): number;
}

export function captureLog(name: string): LogCapture {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return {
    log: createLogger(name, 'debug', sink),
    lines,
    count: (msg, where = {}) => lines.filter((l) => l.msg === msg && Object.entries(where).every(([k, v]) => l[k] === v)).length,
  };
}

export interface EnrollingCollector {
  readonly dir: string;
  readonly pki: PkiPaths;
  readonly kube: FakeKube;
  readonly collector: Collector;
  readonly logs: LogCapture;
  readonly enrollUrl: string;
  readonly grpcAddress: string;
  readonly ca: Buffer;
  close(): Promise<void>;
}

export async function startEnrollingCollector(opts: { lifetimeSeconds?: number; overrides?: Record<string, unknown> } = {}): Promise<EnrollingCollector> {
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-enroll-'));
  const kube = await startFakeKube();
  const pki = await initPki(join(dir, 'pki'), { nodes: [], collectorHosts: ['localhost', '127.0.0.1'] });
  const file = join(dir, 'collector.yaml');
  await writeFile(file, JSON.stringify({
    dataDir: dir,
    grpc: { listen: '127.0.0.1:0', caFile: pki.caCert, certFile: pki.collectorCert, keyFile: pki.collectorKey },
    api: { listen: '127.0.0.1:0' },
    nodes: { staleAfterSeconds: 60 },
    enroll: {
      listen: '127.0.0.1:0', caKeyFile: pki.caKey, certificateLifetimeSeconds: opts.lifetimeSeconds ?? 3600,
      audience: AUDIENCE, agentNamespace: AGENT_NAMESPACE, agentServiceAccount: AGENT_SA,
      kubernetes: { server: kube.url, caFile: kube.caFile, tokenFile: kube.tokenFile },
    },
  }));
  const config = loadCollectorConfig({ file, env: {}, overrides: opts.overrides });
  const logs = captureLog('collector');
  const collector = createCollector(config, { log: logs.log });
  await collector.start();
  return {
    dir, pki, kube, collector, logs,
    enrollUrl: `https://localhost:${collector.enrollPort}/v1/enroll`,
    grpcAddress: `localhost:${collector.grpcPort}`,
    ca: readFileSync(pki.caCert),
    async close() {
      await collector.stop();
      await kube.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
