// Wires the agent: facts -> checks -> spool -> reporter (gRPC). The only place that
// composes agent components.
import { createLogger, type Logger } from '../proto/support/logger.js';
import { isFindingStatus } from '../proto/domain.js';
import type { AgentConfig } from './config.js';
import { collectFacts } from './facts/index.js';
import { createHostFs } from './facts/host-fs.js';
import { collectHostInfo } from './facts/host-info.js';
import { CATALOG, selectChecks } from './checks/index.js';
import { evaluate } from './checks/evaluate.js';
import { openSpool, type Spool } from './report/spool.js';
import { createReporter, type Reporter } from './report/client.js';
import { scanToWire } from './report/wire.js';
import { BENCHMARK } from './scan-command.js';

export function createAgent(config: AgentConfig, deps: { version: string; log?: Logger }) {
  const log = deps.log ?? createLogger('agent', config.log.level);
  const specs = config.scan.checks.length > 0 ? selectChecks(CATALOG, config.scan.checks) : CATALOG;
  const scope = specs.map((s) => s.id);
  let spool: Spool | undefined;
  let reporter: Reporter | undefined;
  let timer: NodeJS.Timeout | undefined;
  let scanning: Promise<void> | undefined;
  let skipped = 0;

  async function scan(trigger: 'startup' | 'periodic'): Promise<void> {
    const now = new Date();
    const facts = await collectFacts({ hostRoot: config.hostRoot, procRoot: config.procRoot, now: () => now });
    const results = evaluate(facts, specs, now);
    const s = spool;
    if (!s) return;
    const sequence = s.addScan(scanToWire({ node: config.node, scannedAt: now, benchmark: BENCHMARK, scope, results, trigger }), true);
    const failing = results.filter((r) => isFindingStatus(r.status));
    log.info({ trigger, sequence, results: results.length, failing: failing.length }, 'scan completed');
    log.debug({ sequence, failing: failing.map((r) => `${r.id} ${r.subject}`) }, 'failing results');
    reporter?.notify();
  }

  function tick(trigger: 'startup' | 'periodic'): void {
    if (scanning) {
      skipped++;
      log.warn({ skipped }, 'previous scan still running; this one skipped');
      return;
    }
    scanning = scan(trigger)
      .catch((err: unknown) => log.error({ err: (err as Error).message }, 'scan failed'))
      .finally(() => {
        scanning = undefined;
      });
  }

  return {
    async start(): Promise<void> {
      if (spool) return;
      spool = openSpool({ dir: config.stateDir, maxItems: config.spool.maxItems, maxBytes: config.spool.maxBytes });
      const hostFs = createHostFs(config.hostRoot);
      reporter = createReporter({
        address: config.collector.address, insecure: config.collector.insecure, caFile: config.collector.caFile,
        certFile: config.collector.certFile, keyFile: config.collector.keyFile, serverName: config.collector.serverName,
        heartbeatMs: config.collector.heartbeatSeconds * 1000, backoffBaseMs: config.collector.backoffBaseMs,
        backoffMaxMs: config.collector.backoffMaxMs, window: 16, connectTimeoutMs: 5000,
      }, {
        spool, log: log.child({ component: 'reporter' }),
        hello: async () => ({ node: config.node, agentVersion: deps.version, host: { ...(await collectHostInfo(hostFs)), kubeletVersion: '', certificates: [] }, baselineVersion: 0 }),
      });
      log.info({ node: config.node, epoch: spool.epoch, checks: scope.length, hostRoot: config.hostRoot }, 'agent starting');
      await reporter.start();
      tick('startup');
      if (config.scan.intervalSeconds > 0) {
        timer = setInterval(() => tick('periodic'), config.scan.intervalSeconds * 1000);
      }
    },
    /** Safe before start and twice: stop scanning, let the stream drain briefly, close the spool. */
    async stop(): Promise<void> {
      if (timer) clearInterval(timer);
      timer = undefined;
      await scanning;
      await reporter?.stop();
      reporter = undefined;
      spool?.close();
      spool = undefined;
    },
  };
}
