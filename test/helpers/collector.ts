// An in-process collector on loopback ports chosen by the OS, with a fresh PKI, SQLite
// file and tokens in a temp dir.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initPki, type PkiPaths } from '../../collector/pki/pki.js';
import { loadCollectorConfig, hashToken } from '../../collector/config.js';
import { createCollector, type Collector } from '../../collector/main.js';
import { createLogger, type Logger } from '../../proto/support/logger.js';
import type { Clock } from '../../collector/clock.js';
import type { PostureJudge } from '../../collector/posture/judge.js';

export const ADMIN_TOKEN = 'admin-token-for-tests-0123456789';
export const READER_TOKEN = 'reader-token-for-tests-012345678';

export interface TestCollector {
  readonly dir: string;
  readonly pki: PkiPaths;
  readonly collector: Collector;
  readonly ca: Buffer;
  readonly apiUrl: string;
  readonly grpcAddress: string;
  readonly databasePath: string;
  close(): Promise<void>;
}

/** `clock`: the collector's time (test/helpers/clock.ts); the system's when absent. `log`: where it logs (default: nowhere). */
export async function startTestCollector(opts: { nodes?: string[]; overrides?: Record<string, unknown>; clock?: Clock; log?: Logger; judges?: readonly PostureJudge<unknown>[] } = {}): Promise<TestCollector> {
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-collector-'));
  const pki = await initPki(join(dir, 'pki'), { nodes: opts.nodes ?? ['node-a', 'node-b'], collectorHosts: ['localhost', '127.0.0.1'] });
  const file = join(dir, 'collector.yaml');
  await writeFile(file, JSON.stringify({
    dataDir: dir,
    // Every test agent connects from 127.0.0.1: no per-source cap (connections.test.ts tests it).
    grpc: { listen: '127.0.0.1:0', caFile: pki.caCert, certFile: pki.collectorCert, keyFile: pki.collectorKey, maxConnectionsPerSource: 0 },
    api: {
      listen: '127.0.0.1:0',
      tokens: [
        { name: 'admin', role: 'admin', sha256: hashToken(ADMIN_TOKEN) },
        { name: 'reader', role: 'reader', sha256: hashToken(READER_TOKEN) },
      ],
    },
  }));
  const config = loadCollectorConfig({ file, env: {}, overrides: opts.overrides });
  const collector = createCollector(config, {
    log: opts.log ?? createLogger('collector', 'silent'), ...(opts.clock ? { clock: opts.clock } : {}), ...(opts.judges ? { judges: opts.judges } : {}),
  });
  await collector.start();
  return {
    dir, pki, collector,
    ca: readFileSync(pki.caCert),
    apiUrl: `https://localhost:${collector.apiPort}`,
    grpcAddress: `localhost:${collector.grpcPort}`,
    databasePath: config.databasePath,
    async close() {
      await collector.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
