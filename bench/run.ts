// `npm run bench`: every benchmark, each printing its figures next to a baseline measured
// in the same run. Nothing here asserts a time; the ratios are for people to read.
import { benchIngest } from './ingest.js';
import { benchScan, formatScanBench, scanBenchOptions } from './scan.js';
import { benchWatch, formatWatchBench } from './watch.js';
import { benchProcesses, formatProcessesBench } from './processes.js';
import { benchExecCapture, formatExecCaptureBench } from './exec-capture.js';
import { benchExecLatency, formatExecLatencyBench } from './exec-latency.js';
import { agentRssOptions, benchAgentRss, formatAgentRssBench } from './agent-rss.js';
import { AGENT_NODE_ARGS, AGENT_RUNTIME_ENV } from '../agent/runtime-env.js';
import { AgentConfigSchema } from '../agent/config.js';
import { benchQuery, formatQueryBench } from './query.js';
import { benchPg, formatPgBench, PG_BENCH_FULL, PG_BENCH_QUICK } from './pg.js';
import { benchCoverage, formatCoverageBench } from './node-coverage.js';
import { benchAgents, formatAgentsBench } from './query-agents.js';
import { benchWebhooks, formatWebhooksBench } from './webhooks.js';
import { benchBaselinePush, formatPushBench } from './baseline-push.js';
import { benchRedact, formatRedactBench } from './redact.js';
import { benchHostDocuments, formatHostDocumentsBench } from './host-documents.js';
import { benchConnections, formatConnectionsBench } from './connections.js';
import { benchPackageVouch, formatPackageVouchBench } from './package-vouch.js';
import { benchIdentity, formatIdentityBench } from './identity.js';
import { benchMetricsScrape, formatScrapeBench } from './metrics-scrape.js';
import { CollectorConfigSchema } from '../collector/config.js';
import { benchPosture, benchWorkloads, formatPostureBench, formatWorkloadBench } from './posture.js';
import { benchExposure, formatExposureBench } from './exposure.js';
import { benchPostureCommit, formatPostureCommitBench } from './posture-commit.js';

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  process.stdout.write('nodeward benchmarks\n\n');

  const o = quick
    ? { batches: 200, perBatch: 50, distinct: 5_000, window: 16 }
    : { batches: 2_000, perBatch: 100, distinct: 50_000, window: 16 };
  // One warm-up round so both paths run with a warm JIT and page cache.
  await benchIngest({ ...o, batches: Math.min(o.batches, 100) });
  const r = await benchIngest(o);
  process.stdout.write([
    `ingest: ${fmt(r.total)} findings in ${o.batches} batches of ${o.perBatch} (${o.distinct} distinct, the rest updates)`,
    `  gRPC mTLS -> validate -> SQLite, ack after commit: ${fmt(r.grpcPerSec)} findings/s`,
    `  same commits directly on SQLite (baseline):       ${fmt(r.directPerSec)} findings/s`,
    `  ratio gRPC path / direct: ${r.ratio.toFixed(2)}`,
    `  durable acks: direct commits synced at each commit (synchronous=FULL, shipped) ${fmt(r.directPerSec)} findings/s`,
    `    vs synced at checkpoints only (NORMAL, before):                             ${fmt(r.unsyncedPerSec)} findings/s`,
    `    ratio FULL / NORMAL: ${(r.directPerSec / r.unsyncedPerSec).toFixed(2)}; gRPC path (FULL) / direct NORMAL: ${(r.grpcPerSec / r.unsyncedPerSec).toFixed(2)}`,
    '',
  ].join('\n'));

  // `--fixture NAME` picks the host tree for the scan benchmark (default: the kubeadm control plane).
  const so = scanBenchOptions(process.argv);
  process.stdout.write(formatScanBench(await benchScan(so), so.scans));
  const wo = { changes: quick ? 10 : 30, debounceMs: AgentConfigSchema.properties.watch.properties.debounceMs.default as number };
  process.stdout.write(formatWatchBench(await benchWatch(wo), wo, AgentConfigSchema.properties.scan.properties.intervalSeconds.default as number));
  process.stdout.write(formatHostDocumentsBench(await benchHostDocuments({ rounds: quick ? 200 : 2000 })));
  process.stdout.write(`${formatScrapeBench(await benchMetricsScrape({ nodes: 5_000, samples: quick ? 5 : 20 }))}\n\n`);
  process.stdout.write(formatIdentityBench(await benchIdentity({ rounds: quick ? 3 : 7, cachedLookups: quick ? 1000 : 10_000 })));
  process.stdout.write(formatPackageVouchBench(await benchPackageVouch({ rounds: quick ? 3 : 5, hits: quick ? 200 : 1000 })));
  const exo = { processes: 1000, sockets: 5000, rounds: quick ? 5 : 21 };
  process.stdout.write(formatExposureBench(await benchExposure(exo), exo));
  const po = { processes: 1000, rounds: quick ? 3 : 5, execs: quick ? 100 : 500, execsPerSecond: 100 };
  process.stdout.write(formatProcessesBench(await benchProcesses(po), po));
  const eo = { runs: quick ? 400 : 1000, execsPerSecond: 200 };
  process.stdout.write(formatExecCaptureBench(await benchExecCapture(eo), eo));
  const lo = { samples: quick ? 100 : 500, perSecond: 200 };
  process.stdout.write(formatExecLatencyBench(await benchExecLatency(lo), lo));
  // The agent as its own process under one minute of churn (`--soak`: ten). `--agent-bare-env`
  // starts it without the runtime environment the image sets, for comparison.
  const ro = agentRssOptions(process.argv, { env: AGENT_RUNTIME_ENV, nodeArgs: AGENT_NODE_ARGS });
  process.stdout.write(formatAgentRssBench(await benchAgentRss(ro), ro));
  // Collector queries at 1,000,000 findings across 5,000 nodes (--quick: 100,000 across 500).
  const qo = quick ? { nodes: 500, checks: 120, processes: 160, samples: 100 } : { nodes: 5_000, checks: 120, processes: 160, samples: 200 };
  process.stdout.write(formatQueryBench(await benchQuery(qo)));
  // The PostgreSQL store (issue 23): ingest against a raw upsert, queries at the same scale
  // (--quick: 100,000 findings across 500 nodes), two replicas against one; skipped without a server.
  const pgo = quick ? PG_BENCH_QUICK : PG_BENCH_FULL;
  process.stdout.write(formatPgBench(await benchPg(pgo), pgo));
  // Node coverage at 5,000 nodes (--quick: 500): the node list and a sweep, with and without the node watch's rows.
  process.stdout.write(formatCoverageBench(await benchCoverage({ nodes: quick ? 500 : 5_000, samples: quick ? 20 : 100 })));
  const ao = { agents: 200, batches: quick ? 5 : 20, perBatch: quick ? 20 : 50, window: 4 };
  process.stdout.write(formatAgentsBench(await benchAgents(ao), ao));
  const wo2 = { alerts: quick ? 50 : 300, warmup: 20 };
  process.stdout.write(formatWebhooksBench(await benchWebhooks(wo2), wo2));
  const bo = { agents: quick ? 20 : 100, changes: quick ? 50 : 200 };
  process.stdout.write(formatPushBench(await benchBaselinePush(bo), bo));
  // Cluster posture: 5,000 bindings over 500 namespaces judged in full and per watch event.
  const pso = { namespaces: 500, bindingsPerNamespace: 10, events: quick ? 100 : 500, fullRounds: quick ? 3 : 10 };
  process.stdout.write(formatPostureBench(benchPosture(pso), pso));
  // Workload posture: 20,000 pods over 500 namespaces judged in full and per pod event.
  const wpo = { namespaces: 500, events: quick ? 200 : 1_000, fullRounds: quick ? 3 : 5 };
  process.stdout.write(formatWorkloadBench(benchWorkloads(wpo), wpo));
  // ... and committed to SQLite as the posture watch does: a delta unit per event against a full unit.
  const pco = { namespaces: 500, bindingsPerNamespace: 10, events: quick ? 50 : 200, fullRounds: quick ? 2 : 5 };
  process.stdout.write(formatPostureCommitBench(await benchPostureCommit(pco), pco));
  const xo = { iterations: quick ? 2_000 : 20_000 };
  process.stdout.write(formatRedactBench(benchRedact(xo), xo));
  // Half-open TLS and a fleet against a collector process (--quick: 2,000 and 200); the
  // fleet's heartbeats come every 5 s, six times the agent's default rate.
  const co = {
    halfOpen: quick ? 2_000 : 7_000, sources: 250, agents: quick ? 200 : 1_000, holdMs: 15_000, heartbeatMs: 5_000, findingsPerBatch: 20, waves: quick ? 2 : 5,
    handshakeTimeoutMs: CollectorConfigSchema.properties.grpc.properties.handshakeTimeoutMs.default as number,
  };
  process.stdout.write(formatConnectionsBench(await benchConnections(co), co));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
