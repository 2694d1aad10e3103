// The collector's read side without its listeners: a real SQLite store in a temp dir (or the
// store a test gives, of either backend: test/helpers/stores.ts), the real pipeline and central baselines in front of it, and the Fastify app built apart from
// listen(), for tests that send many requests through app.inject (property tests).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApi } from '../../collector/api/app.js';
import { hashToken } from '../../collector/config.js';
import { createMetrics } from '../../collector/metrics.js';
import { createBaselineSync, type BaselineSync } from '../../collector/pipeline/baselines.js';
import { createPipeline, type Pipeline } from '../../collector/pipeline/pipeline.js';
import { openStore } from '../../collector/store/sqlite.js';
import type { Store } from '../../collector/store/store.js';
import { createLogger } from '../../proto/support/logger.js';
import type { PostureView } from '../../collector/posture/view.js';
import type { Fleet } from '../../collector/fleet.js';
import { ADMIN_TOKEN, READER_TOKEN } from './collector.js';

export interface TestApi {
  readonly store: Store;
  /** The SQLite file behind the store; undefined when the test gave the store. */
  readonly databasePath: string | undefined;
  readonly pipeline: Pipeline;
  readonly baselines: BaselineSync;
  readonly app: FastifyInstance;
  readonly metrics: ReturnType<typeof createMetrics>;
  /** GET through app.inject with the admin token (every read route is open to it). */
  get(url: string): Promise<{ status: number; body: string; headers: Record<string, unknown> }>;
  /** Listens on 127.0.0.1, a port the OS chooses; answers the base URL (https://localhost:PORT with `https`). */
  listen(): Promise<string>;
  close(): Promise<void>;
}

/**
 * `posture`: the posture watch's view (absent: posture off); `https`: serve TLS with this
 * certificate and key; `store`: the store to serve (closed with the API), else a new SQLite one;
 * `fleet`: the clusters the reads answer for (its own member's store must be `store`; the others
 * are the test's to close).
 */
export async function buildTestApi(opts: { now?: () => number; posture?: PostureView; https?: { cert: Buffer; key: Buffer }; store?: Store; fleet?: Fleet } = {}): Promise<TestApi> {
  const dir = opts.store ? undefined : await mkdtemp(join(tmpdir(), 'nodeward-api-'));
  const now = opts.now ?? Date.now;
  const log = createLogger('test', 'silent');
  const metrics = createMetrics();
  const databasePath = dir === undefined ? undefined : join(dir, 'nodeward.db');
  const store = opts.store ?? openStore({ path: databasePath! });
  const pipeline = createPipeline({ store, metrics, log, now });
  const baselines = createBaselineSync({ store, pipeline, metrics, log, now, push: () => false, broadcast: () => 0 });
  const app = await buildApi({
    store, pipeline, baselines, metrics, log, now, staleAfterMs: 120_000, ready: () => true,
    tokens: [{ name: 'admin', role: 'admin', sha256: hashToken(ADMIN_TOKEN) }, { name: 'reader', role: 'reader', sha256: hashToken(READER_TOKEN) }],
    // The inject loop is one client: no rate limit in the way.
    rateLimit: { perSecond: 1e9, burst: 1e9 },
    posture: opts.posture, https: opts.https, fleet: opts.fleet,
  });
  await app.ready();
  return {
    store, databasePath, pipeline, baselines, app, metrics,
    async get(url) {
      const res = await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      return { status: res.statusCode, body: res.body, headers: res.headers };
    },
    async listen() {
      await app.listen({ host: '127.0.0.1', port: 0 });
      const addr = app.server.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      return `${opts.https ? 'https' : 'http'}://${opts.https ? 'localhost' : '127.0.0.1'}:${port}`;
    },
    async close() {
      await app.close();
      await store.close();
      if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    },
  };
}
