// Wires the collector: store <- pipeline <- ingest (gRPC), the API reading the store (and
// sending operators' changes through the pipeline), webhook dispatchers draining the outbox,
// and the sweeper keeping it tidy. The only place that composes components.
import type { FastifyInstance } from 'fastify';
import type { Server as HttpsServer } from 'node:https';
import { createLogger, type Logger } from '../proto/support/logger.js';
import { systemClock, type Clock } from './clock.js';
import { parseListen, type CollectorConfig } from './config.js';
import { createAgentService } from './ingest/agent-service.js';
import { createGrpcServer } from './ingest/grpc-server.js';
import { guardConnections } from './connection-guard.js';
import { createMetrics } from './metrics.js';
import { registerStoreMetrics } from './store-metrics.js';
import { createPipeline, type Pipeline } from './pipeline/pipeline.js';
import { createBaselineSync } from './pipeline/baselines.js';
import type { PodInfo } from './kube/types.js';
import { createSweeper, type Sweeper } from './pipeline/sweeper.js';
import { openStore } from './store/sqlite.js';
import { claimDestination } from './store/pg/drain-claim.js';
import { createLeadership, type Leadership } from './store/pg/leadership.js';
import { createBaselineListener, type BaselineListener } from './store/pg/notify.js';
import { openPostgres, scrubPassword } from './store/pg/open.js';
import { connectClient, type PgClient, type PgPool } from './store/pg/pool.js';
import { openPgStore } from './store/pg/store.js';
import type { Store } from './store/store.js';
import { buildApi } from './api/app.js';
import { createEnrollment } from './enroll/enrollment.js';
import { createDispatcher, type Dispatcher } from './webhooks/dispatcher.js';
import { createPodWatch, type PodWatch } from './kube/pod-watch.js';
import { createNodeWatch, type NodeWatch } from './kube/node-watch.js';
import { checkKubernetesVersion, type VersionCheck } from './kube/version.js';
import type { KubeConnection } from './kube/connection.js';
import { DEFAULT_IDENTITY_DEADLINE_MS, resolveClusterIdentity } from './kube/cluster-identity.js';
import { singleFleet, type ClusterIdentity, type Fleet } from './fleet.js';
import { FLEET_REFRESH_MS, openPgFleet } from './store/pg/fleet.js';
import { createWorkloadPresence } from './pipeline/workload-presence.js';
import { createPostureWatch, type PostureWatch } from './posture/posture-watch.js';
import { postureJudges } from './posture/registry.js';
import { watchView } from './posture/view.js';
import type { PostureJudge } from './posture/judge.js';
import { preparePrivateDir } from '../proto/support/private-files.js';
import { createClusterPki, withClusterMaterial, type ClusterPki } from './pki/cluster.js';
import { dirname, resolve } from 'node:path';

const DAY_MS = 24 * 3600 * 1000;
/** How long the API's close waits for requests in flight before it cuts every connection. */
const API_CLOSE_GRACE_MS = 2000;
/** Idempotency records of agent messages are kept this long (agents resend within minutes). */
const RECEIVED_HORIZON_MS = 7 * DAY_MS;
/** What a collector logs when it takes up the leader's work (each time it does). */
export const LEADING_MESSAGE = 'this collector leads: it runs the sweeper and writes the posture findings and the cluster node rows';
/** Replicas (PostgreSQL): how often a follower tries to lead, and the leader checks its session. */
const REPLICA_RETRY_MS = 2000;
const REPLICA_CHECK_MS = 2000;
/** Replicas: a dispatcher looks for rows another replica queued at least this often. */
const REPLICA_DRAIN_IDLE_MS = 1000;

/** The collection the pod watch follows, which the posture watch then reads through the pod watch's informer. */
const PODS_PATH = '/api/v1/pods';

/**
 * `clock`: the collector's time and its waits (default: the system's). Expiry, staleness,
 * retention, rate limits, sessions, webhook backoff and grouping all follow it.
 * `judges`: the posture judges (default: posture/registry.ts).
 */
export function createCollector(config: CollectorConfig, deps: { log?: Logger; clock?: Clock; judges?: readonly PostureJudge<unknown>[] } = {}) {
  const log = deps.log ?? createLogger('collector', config.log.level);
  const clock = deps.clock ?? systemClock;
  const now = (): number => clock.now();
  const metrics = createMetrics();
  // pki.mode kubernetes: the CA, certificate and admin token come from the cluster at start.
  const clusterPki: ClusterPki | undefined = config.clusterPki
    ? createClusterPki(config.clusterPki, { log: log.child({ component: 'pki' }), metrics, now })
    : undefined;
  const staleAfterMs = config.nodes.staleAfterSeconds * 1000;
  let store: Store | undefined;
  let pipeline: Pipeline | undefined;
  let grpcServer: ReturnType<typeof createGrpcServer> | undefined;
  let service: ReturnType<typeof createAgentService> | undefined;
  let podProvider: ((node: string) => readonly PodInfo[]) | undefined;
  let api: FastifyInstance | undefined;
  let sweeper: Sweeper | undefined;
  let apiPort = 0;
  let started = false;
  let enrollment: ReturnType<typeof createEnrollment> | undefined;
  let dispatchers: Dispatcher[] = [];
  let nodeWatch: NodeWatch | undefined;
  let versionCheck: Promise<VersionCheck> | undefined;
  let versionAbort: AbortController | undefined;
  /** Ends the wait for the cluster's identity when the collector is stopped during its start. */
  let identityAbort: AbortController | undefined;
  let identity: ClusterIdentity | undefined;
  /** The clusters this collector answers for: its own, and on PostgreSQL those its role may read. */
  let fleet: Fleet | undefined;
  // PostgreSQL replicas: the store's pool, the election of the one replica that runs the
  // sweeper and the posture watch, and the listener that hears other replicas' baseline changes.
  let pgPool: PgPool | undefined;
  let leadership: Leadership | undefined;
  let baselineListener: BaselineListener | undefined;
  /** This collector runs the leader's work: always on SQLite (one collector), when elected on PostgreSQL. */
  let leading = false;
  // The posture watch: cluster findings from the API's objects (RBAC ...), committed through
  // the pipeline once it is started; pods come through the pod watch's informer when it runs.
  const posture: PostureWatch | undefined = config.postureWatch
    ? createPostureWatch(config.postureWatch, deps.judges ?? postureJudges(), {
      log: log.child({ component: 'posture' }), metrics, clock, shared: config.podWatch ? [PODS_PATH] : [],
      // Every replica watches and judges (its posture API answers from that); only the leader
      // commits, and a replica that becomes leader commits the whole verdict again.
      commit: async (unit) => {
        if (!pipeline) throw new Error('the collector is not started');
        if (!leading) return;
        await pipeline.posture(unit);
      },
    })
    : undefined;
  const podTap = posture?.tap(PODS_PATH);
  // Created here, not in start, so a subscriber can be added before the first list.
  const podWatch: PodWatch | undefined = config.podWatch
    ? createPodWatch(config.podWatch, { log: log.child({ component: 'pod-watch' }), metrics, ...(podTap ? { taps: [podTap] } : {}) })
    : undefined;
  // The watch is where each agent's pod inventory comes from: sent after its hello, and
  // again whenever its node's pods change (coalesced by the watch).
  // What nodes may teach: the workloads the watch shows on them (pipeline/workload-presence.ts).
  const presence = podWatch ? createWorkloadPresence(podWatch, { graceMs: config.pods.baselineGraceSeconds * 1000 }, now) : undefined;
  if (podWatch) {
    const w = podWatch;
    podProvider = (node) => w.podsOnNode(node);
    w.subscribe((node) => {
      service?.pushPods(node);
    });
  }

  const configured = config;
  // Renewed or rotated credentials reach every listener without a restart.
  clusterPki?.onChange(async (m) => {
    grpcServer?.setTls(m.tls);
    // A CA no longer in the bundle (replaced, not rotated) no longer vouches for open streams either.
    service?.closeUntrusted(m.tls.ca);
    if (!configured.apiTls && !configured.api.insecure) (api?.server as HttpsServer | undefined)?.setSecureContext({ cert: m.tls.cert, key: m.tls.key });
    await enrollment?.setCredentials({ tls: m.tls, caKey: m.caKey });
  });

  /** Why a node's agent is missing, as far as the pod watch can tell. */
  function whyMissing(node: string, namespace: string, daemonSet: string): string {
    if (!podWatch) return 'no agent has connected from the node (pods.watch is off: whether an agent pod is there is not known)';
    if (!podWatch.stats().synced) return 'no agent has connected from the node (the pod watch has not listed the pods yet)';
    const pod = podWatch.podsOnNode(node).find((p) => p.namespace === namespace && p.owner.kind === 'DaemonSet' && p.owner.name === daemonSet);
    if (pod) return `the agent pod ${namespace}/${pod.name} is on the node but has not connected: its log says why (kubectl -n ${namespace} logs ${pod.name})`;
    return `no agent pod on the node: the DaemonSet has not created one, or it is gone (kubectl -n ${namespace} describe daemonset ${daemonSet})`;
  }

  /**
   * Takes up (or gives up) the leader's work: the sweeper, and the writing of the posture
   * watch's findings and of the cluster node rows. The new leader writes both whole again, from
   * what its watches hold.
   */
  async function lead(leader: boolean): Promise<void> {
    if (leader === leading) return;
    leading = leader;
    if (leader) {
      sweeper?.start();
      posture?.recommit();
      nodeWatch?.rewrite();
      log.info({}, LEADING_MESSAGE);
    } else {
      sweeper?.stop();
      log.warn({}, 'this collector no longer leads: the sweeper stopped here, and the posture watch\'s findings and the cluster node rows are left to the leader');
    }
  }

  /** The configured store, opened (and migrated). */
  async function openConfiguredStore(): Promise<Store> {
    const opts = { historyLimit: config.findings.historyLimit, webhooks: config.webhookDestinations };
    if (config.store.driver === 'sqlite' || config.postgres === undefined) return openStore({ path: config.databasePath, ...opts });
    const pgLog = log.child({ component: 'postgres' });
    const opened = await openPostgres(config.postgres, (err) => pgLog.warn({ err: scrubPassword(err.message, config.postgres!.url()) }, 'an idle PostgreSQL connection ended; another is opened when needed'));
    pgPool = opened.pool;
    if (opened.schema.applied.length > 0) pgLog.info({ from: opened.schema.from, to: opened.schema.to }, 'PostgreSQL schema migrated');
    if (!opened.search.ready) pgLog.warn({ reason: opened.search.reason }, 'no search index: a findings search (q) reads every finding in its order until it fills a page (docs/postgresql.md)');
    else if (opened.search.created) pgLog.info('the findings search index was made');
    return openPgStore({ pool: opened.pool, ...opts });
  }

  return {
    get grpcPort(): number {
      return grpcServer?.port ?? 0;
    },
    get apiPort(): number {
      return apiPort;
    },
    /** The enrollment endpoint's port; 0 when enrollment is off. */
    get enrollPort(): number {
      return enrollment?.port ?? 0;
    },
    get store(): Store | undefined {
      return store;
    },
    /** The cluster this collector is in, once started. */
    get cluster(): ClusterIdentity | undefined {
      return identity;
    },
    /** Where every change to findings goes (the commit stage), once started. */
    get pipeline(): Pipeline | undefined {
      return pipeline;
    },
    /** The cluster's nodes and which should run an agent, when `nodes.watch` is on (once started). */
    get nodes(): NodeWatch | undefined {
      return nodeWatch;
    },
    /** The Kubernetes version check made at start, when the collector talks to an API server. */
    get kubernetesVersion(): Promise<VersionCheck> | undefined {
      return versionCheck;
    },
    /** The pods on each node (owners and exec probes), when `pods.watch` is on. */
    get pods(): PodWatch | undefined {
      return podWatch;
    },
    get metrics() {
      return metrics;
    },
    /** The posture watch (cluster findings from the API's objects), when `posture.watch` is on. */
    get posture(): PostureWatch | undefined {
      return posture;
    },
    /** The cluster PKI, when `pki.mode` is kubernetes. */
    get clusterPki(): ClusterPki | undefined {
      return clusterPki;
    },
    /** Where agents' pod inventories come from (the pod watch): each agent gets its node's after its hello. */
    setPodInventoryProvider(provider: ((node: string) => readonly PodInfo[]) | undefined): void {
      podProvider = provider;
      service?.setPodInventoryProvider(provider);
    },
    /** Sends a connected node its pods now (they changed); false when it is not connected. */
    pushPods(node: string): boolean {
      return service?.pushPods(node) ?? false;
    },
    async start(): Promise<void> {
      if (started) return;
      started = true;
      if (clusterPki) {
        // First, so a refusal stops the start before anything is opened or listens.
        const boot = await clusterPki.start().catch((err: unknown) => {
          started = false;
          throw err;
        });
        config = withClusterMaterial(configured, boot.material, boot.adminToken);
      }
      // The data directory is the collector's alone: 0700, tightened if an older version (or
      // a hand-made directory) left it open to group or others. A database configured
      // elsewhere is 0600 itself (store/db.ts); its directory is not ours to change.
      if (config.store.driver === 'sqlite' && dirname(config.databasePath) === resolve(config.dataDir)) {
        const dir = preparePrivateDir(config.dataDir);
        if (dir.tightenedFrom !== undefined) {
          log.warn({ dir: config.dataDir, mode: dir.tightenedFrom.toString(8).padStart(4, '0'), now: '0700' }, 'data directory was open to other users; tightened');
        }
      }
      // Who this cluster is: finding ids are made within its uid, and a database that holds
      // another cluster is refused before anything is written (docs/fleets.md).
      identityAbort = new AbortController();
      const own = await resolveClusterIdentity({
        connection: kubeConnection(config), configuredName: config.cluster.name, clock, log: log.child({ component: 'cluster' }), metrics,
        deadlineMs: DEFAULT_IDENTITY_DEADLINE_MS, signal: identityAbort.signal,
      });
      identity = own;
      store = await openConfiguredStore();
      const adopted = await store.cluster.adopt(own, now());
      if (adopted.outcome !== 'same') {
        log.info({ cluster: own.name, clusterUid: own.uid, outcome: adopted.outcome, rekeyed: adopted.rekeyed }, 'the database is this cluster\'s');
      }
      fleet = pgPool && config.postgres
        ? openPgFleet({
          own, ownStore: store, ownSchema: config.postgres.schema ?? 'public', pool: pgPool, settings: config.postgres, clock, refreshMs: FLEET_REFRESH_MS,
          metrics, log: log.child({ component: 'fleet' }), historyLimit: config.findings.historyLimit,
        })
        : singleFleet(own, store);
      // At start-up nobody is connected to this collector. On PostgreSQL other replicas hold
      // streams of their own, so their nodes' flags are theirs to keep.
      if (config.store.driver === 'sqlite') await store.nodes.resetConnections();
      pipeline = createPipeline({
        store, metrics, log: log.child({ component: 'pipeline' }), now,
        maxOpenFindingsPerNode: config.limits.maxOpenFindingsPerNode, maxOpenClusterFindings: config.posture.maxOpenFindings,
        destinations: config.webhookDestinations, clusterUid: own.uid,
      });
      // Baseline changes are pushed over the agents' streams, which the agent service holds.
      const pool = pgPool;
      const baselines = createBaselineSync({
        store, pipeline, metrics, log: log.child({ component: 'baselines' }), maxKeysPerNode: config.limits.maxBaselineKeysPerNode, presence, now,
        push: (node, msg) => service?.push(node, msg) ?? false, broadcast: (msg) => service?.broadcast(msg) ?? 0,
      });
      registerStoreMetrics(metrics, { store, hostLearning: (node) => baselines.hostLearning(node), log: log.child({ component: 'metrics' }) });
      service = createAgentService({ pipeline, baselines, metrics, log: log.child({ component: 'ingest' }), insecure: config.grpc.insecure, now });
      service.setPodInventoryProvider(podProvider);
      // Downstream first: the API can answer before agents arrive.
      const s = store;
      // Webhook dispatchers drain the outbox on their own loops; rows left from before a
      // restart go out first.
      await s.outbox.abandonUnconfigured(now());
      dispatchers = config.webhookDestinations.map((d) => createDispatcher(d, {
        outbox: s.outbox, metrics, log: log.child({ component: 'webhooks', destination: d.name }), clock,
        drain: pool ? { claim: () => claimDestination(pool, d.name), idleMs: REPLICA_DRAIN_IDLE_MS } : undefined,
      }));
      for (const d of dispatchers) d.start();
      api = await buildApi({
        store: s, pipeline, baselines, metrics, log: log.child({ component: 'api' }), tokens: config.apiTokens,
        staleAfterMs, https: config.apiTls, now,
        ready: () => grpcServer?.port !== undefined && grpcServer.port > 0,
        rateLimit: { perSecond: config.api.rateLimit.requestsPerSecond, burst: config.api.rateLimit.burst },
        sessionTtlMs: config.api.sessionHours * 3600_000, allowedOrigins: config.api.allowedOrigins, demoNodes: config.nodes.demo,
        posture: posture ? watchView(posture) : undefined, fleet,
      });
      // A handshake deadline and a total cap; no per-source cap: behind an ingress or a
      // proxy every client has one address.
      guardConnections(api.server, {
        handshakeTimeoutMs: config.api.handshakeTimeoutMs, maxConnections: config.api.maxConnections, maxConnectionsPerSource: 0,
      }, { listener: 'api', metrics, log: log.child({ component: 'api' }) });
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
        connections: {
          handshakeTimeoutMs: config.grpc.handshakeTimeoutMs, maxConnections: config.grpc.maxConnections, maxConnectionsPerSource: config.grpc.maxConnectionsPerSource,
        },
      }, service.handlers, { log: log.child({ component: 'grpc' }), metrics });
      await grpcServer.start();
      if (config.enrollment && config.tls && config.caKey) {
        // Agent certificates are dated by the real time, not the collector's clock: the agents
        // and this collector's TLS judge them by the real time.
        enrollment = createEnrollment(config.enrollment, { tls: config.tls, caKey: config.caKey }, { log: log.child({ component: 'enroll' }), metrics });
        await enrollment.start();
      }
      // The nodes the agent should run on, for agent-missing and the inventory; without a
      // node watch, no row of an earlier run's stays to be listed.
      if (config.nodeWatch) {
        nodeWatch = createNodeWatch(config.nodeWatch, {
          store: s.clusterNodes, log: log.child({ component: 'node-watch' }), metrics, clock, onAddresses: (node) => service?.pushAddresses(node),
          leads: () => leading,
        });
        const watch = nodeWatch;
        // The Node object's ExternalIPs and labels go to its agent: it judges what its sockets are
        // bound to by the addresses (docs/exposure.md), and reads the labels to tell its distribution (docs/distributions.md).
        service.setNodeAddressProvider((node) => watch.node(node));
      } else {
        await s.clusterNodes.clear();
      }
      const nw = nodeWatch;
      const agentNamespace = config.enroll.agentNamespace;
      const agentDaemonSet = config.nodes.agentDaemonSet;
      sweeper = createSweeper({
        intervalMs: config.maintenance.intervalSeconds * 1000,
        staleAfterMs,
        missingAfterMs: config.nodes.missingAfterSeconds * 1000,
        retention: {
          resolvedFindingsMs: config.retention.resolvedFindingsDays * DAY_MS,
          historyMs: config.retention.historyDays * DAY_MS,
          auditMs: config.retention.auditDays * DAY_MS,
          receivedMs: RECEIVED_HORIZON_MS,
          webhookDeliveredMs: config.retention.webhookDeliveriesDays * DAY_MS,
          webhookDeadMs: config.retention.webhookDeadLettersDays * DAY_MS,
        },
      }, {
        store: s, pipeline, metrics, log: log.child({ component: 'sweeper' }), clock,
        coverage: nw ? { synced: () => nw.synced, whyMissing: (node) => whyMissing(node, agentNamespace, agentDaemonSet) } : undefined,
      });
      // Every replica watches pods, nodes and posture: each serves its own agents their pods,
      // addresses and labels from memory, and its API answers who-can from its own watch. The
      // sweeper, and the writing of cluster node rows and posture findings, are the leader's.
      podWatch?.start();
      nodeWatch?.start();
      posture?.start();
      if (pool) {
        const connect = (): Promise<PgClient> => connectClient(config.postgres!);
        leadership = createLeadership({
          connect, clock, retryMs: REPLICA_RETRY_MS, checkMs: REPLICA_CHECK_MS, metrics, log: log.child({ component: 'leader' }),
          onChange: (leader) => {
            void lead(leader);
          },
        });
        leadership.start();
        baselineListener = createBaselineListener({
          connect, clock, metrics, log: log.child({ component: 'baseline-notify' }),
          onChange: (key, version) => {
            heardUpTo = Math.max(heardUpTo, version);
            baselines.remote(key, version).catch((err: unknown) => log.warn({ baseline: key, err: (err as Error).message }, 'cannot push another replica\'s baseline change'));
          },
          // Notifications sent while not listening are lost: what changed after the last one heard is pushed again.
          onReconnect: () => {
            baselines.remoteSince(heardUpTo).catch((err: unknown) => log.warn({ err: (err as Error).message }, 'cannot catch up with baseline changes made while not listening'));
          },
        });
        let heardUpTo = (await s.baselines.counters()).version;
        baselineListener.start();
      } else {
        await lead(true);
      }
      // The Kubernetes version, when there is an API server to ask: a warning when too old, never fatal.
      const kube = kubeConnection(config);
      if (kube) {
        versionAbort = new AbortController();
        versionCheck = checkKubernetesVersion(kube, log.child({ component: 'kubernetes' }), versionAbort.signal);
      }
    },
    /** Runs the periodic housekeeping once, now. */
    sweep() {
      return sweeper?.sweep();
    },
    /** Safe before start and safe twice. Upstream first: stop taking agent messages, then the API, then the store. */
    async stop(): Promise<void> {
      identityAbort?.abort();
      versionAbort?.abort();
      await versionCheck;
      versionCheck = undefined;
      await clusterPki?.stop();
      await baselineListener?.stop();
      baselineListener = undefined;
      await leadership?.stop();
      leadership = undefined;
      leading = false;
      await posture?.stop();
      await podWatch?.stop();
      await nodeWatch?.stop();
      nodeWatch = undefined;
      sweeper?.stop();
      sweeper = undefined;
      await enrollment?.stop();
      enrollment = undefined;
      service?.closeAll();
      await grpcServer?.stop();
      grpcServer = undefined;
      if (api) {
        // Requests in flight may finish; a connection that sent none (a browser's preconnected
        // or kept-alive socket) would otherwise hold the close until Node's headers timeout, a
        // minute, past a pod's grace period.
        const server = api.server;
        const cut = setTimeout(() => server.closeAllConnections(), API_CLOSE_GRACE_MS);
        try {
          await api.close();
        } finally {
          clearTimeout(cut);
        }
      }
      api = undefined;
      await Promise.all(dispatchers.map((d) => d.stop()));
      dispatchers = [];
      await fleet?.close();
      fleet = undefined;
      await store?.close();
      store = undefined;
      pgPool = undefined;
      pipeline = undefined;
      started = false;
    },
  };
}

/** The Kubernetes API server the collector talks to, if any (enrollment, the watches, the cluster PKI). */
function kubeConnection(config: CollectorConfig): KubeConnection | undefined {
  return config.nodeWatch?.connection ?? config.podWatch?.connection ?? config.postureWatch?.connection ?? config.clusterPki?.connection
    ?? (config.enrollment ? { ...config.enrollment.kubernetes, timeoutMs: 10_000 } : undefined);
}

export type Collector = ReturnType<typeof createCollector>;
