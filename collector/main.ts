// Wires the collector: store <- pipeline <- ingest (gRPC), and the API reading the store.
// The only place that composes components.
import type { FastifyInstance } from 'fastify';
import { createLogger, type Logger } from '../proto/support/logger.js';
import { parseListen, type CollectorConfig } from './config.js';
import { createAgentService } from './ingest/agent-service.js';
import { createGrpcServer } from './ingest/grpc-server.js';
import { createMetrics } from './metrics.js';
import { createPipeline } from './pipeline/pipeline.js';
import { openStore, type Store } from './store/store.js';
import { buildApi } from './api/app.js';

const RECEIVED_HORIZON_MS = 7 * 24 * 3600 * 1000;

export function createCollector(config: CollectorConfig, deps: { log?: Logger } = {}) {
  const log = deps.log ?? createLogger('collector', config.log.level);
  const metrics = createMetrics();
  let store: Store | undefined;
  let grpcServer: ReturnType<typeof createGrpcServer> | undefined;
  let service: ReturnType<typeof createAgentService> | undefined;
  let api: FastifyInstance | undefined;
  let maintenance: NodeJS.Timeout | undefined;
  let apiPort = 0;
  let started = false;

  return {
    get grpcPort(): number {
      return grpcServer?.port ?? 0;
    },
    get apiPort(): number {
      return apiPort;
    },
    get store(): Store | undefined {
      return store;
    },
    async start(): Promise<void> {
      if (started) return;
      started = true;
      store = openStore({ path: config.databasePath, maxOpenFindingsPerNode: config.limits.maxOpenFindingsPerNode });
      store.nodes.resetConnections();
      const pipeline = createPipeline({ store, metrics, log: log.child({ component: 'pipeline' }) });
      service = createAgentService({ pipeline, store, metrics, log: log.child({ component: 'ingest' }), insecure: config.grpc.insecure });
      // Downstream first: the API can answer before agents arrive.
      const s = store;
      api = await buildApi({
        store: s, metrics, log: log.child({ component: 'api' }), tokens: config.apiTokens,
        staleAfterMs: config.nodes.staleAfterSeconds * 1000, https: config.apiTls,
        ready: () => grpcServer?.port !== undefined && grpcServer.port > 0,
      });
      const listen = parseListen(config.api.listen)!;
      try {
        await api.listen({ host: listen.host, port: listen.port });
      } catch (err) {
        throw new Error(`cannot listen for the API on ${config.api.listen}: ${(err as Error).message}`);
      }
      const addr = api.server.address();
      apiPort = typeof addr === 'object' && addr ? addr.port : listen.port;
      log.info({ port: apiPort, tls: Boolean(config.apiTls) }, 'API listening');
      grpcServer = createGrpcServer({
        listen: config.grpc.listen, insecure: config.grpc.insecure, tls: config.tls, maxMessageBytes: config.grpc.maxMessageBytes,
      }, service.handlers, log.child({ component: 'grpc' }));
      await grpcServer.start();
      maintenance = setInterval(() => {
        const pruned = s.pruneReceived(Date.now() - RECEIVED_HORIZON_MS);
        if (pruned > 0) log.debug({ pruned }, 'pruned idempotency records');
      }, 3600_000);
      maintenance.unref();
    },
    /** Safe before start and safe twice. Upstream first: stop taking agent messages, then the API, then the store. */
    async stop(): Promise<void> {
      if (maintenance) clearInterval(maintenance);
      maintenance = undefined;
      service?.closeAll();
      await grpcServer?.stop();
      grpcServer = undefined;
      await api?.close();
      api = undefined;
      store?.close();
      store = undefined;
      started = false;
    },
  };
}

export type Collector = ReturnType<typeof createCollector>;
