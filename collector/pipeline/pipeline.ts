// ingest -> pipeline -> store. The pipeline owns what a committed message means: dedup by
// (node, epoch, sequence), lifecycle transitions, counts, and a node's agent being heard
// from (which ends its agent-stale finding). Sinks will hang off its events.
import type { Logger } from '../../proto/support/logger.js';
import type { Metrics } from '../metrics.js';
import type { Store } from '../store/store.js';
import type { NodeHello, NodeStats } from '../store/nodes.js';
import type { Transition } from '../store/findings.js';
import type { CommitOutcome, IncomingBatch, IncomingScan } from './types.js';
import { allowedCentrally } from './baselines.js';

export interface PipelineDeps {
  readonly store: Store;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly now?: () => number;
}

export function countTransitions(metrics: Metrics, events: ReadonlyArray<{ readonly event: string }>): void {
  for (const e of events) metrics.inc('nodeward_finding_events_total', 'Finding lifecycle transitions', 1, { event: e.event });
}

export function createPipeline(deps: PipelineDeps) {
  const now = deps.now ?? Date.now;
  const { metrics, log, store } = deps;

  function account(kind: 'scan' | 'batch', node: string, items: number, out: CommitOutcome): CommitOutcome {
    if (out.duplicate) {
      metrics.inc('nodeward_dedup_hits_total', 'Agent messages received again and acknowledged without change');
      return out;
    }
    metrics.inc('nodeward_batches_ingested_total', 'Agent messages committed', 1, { kind });
    metrics.inc('nodeward_findings_ingested_total', 'Failing results and findings committed', out.updated);
    if (out.refused > 0) {
      metrics.inc('nodeward_rejects_total', 'Things refused by the collector', out.refused, { reason: 'node_finding_cap' });
      log.warn({ node, refused: out.refused }, 'node is at its open-finding cap; new findings refused');
    }
    countTransitions(metrics, out.events);
    log.debug({ node, kind, items, updated: out.updated, events: out.events.length }, 'committed');
    return out;
  }

  /** The node's agent spoke: it is not silent, whatever the sweeper said. */
  function heard(node: string, at: number): void {
    const back: Transition | undefined = store.findings.resolveStale(node, at);
    if (back) {
      countTransitions(metrics, [back]);
      log.info({ node }, 'agent is back; its agent-stale finding is resolved');
    }
  }

  return {
    hello(hello: NodeHello, stats: NodeStats): void {
      const at = now();
      store.nodes.hello(hello, at);
      store.nodes.stats(hello.node, stats, at);
      heard(hello.node, at);
    },
    heartbeat(node: string, stats: NodeStats): void {
      const at = now();
      store.nodes.stats(node, stats, at);
      heard(node, at);
    },
    disconnected(node: string): void {
      store.nodes.setConnected(node, false);
    },
    /** The node's BaselineReport was refused as invalid: counted on the node, as refused findings are. */
    baselineReportRefused(node: string): void {
      store.nodes.baselineReportRefused(node);
    },
    scan(scan: IncomingScan): CommitOutcome {
      const at = now();
      const out = account('scan', scan.node, scan.results.length, store.findings.commitScan(scan, at));
      store.nodes.touch(scan.node, at);
      heard(scan.node, at);
      return out;
    },
    batch(incoming: IncomingBatch): CommitOutcome {
      const at = now();
      // Sent before the agent applied an allow: committed, it would reopen a resolved finding.
      const findings = incoming.findings.filter((f) => !allowedCentrally(store, f));
      const ignored = incoming.findings.length - findings.length;
      if (ignored > 0) metrics.inc('nodeward_findings_ignored_total', 'Process findings for executables the central baseline allows', ignored);
      const batch = ignored > 0 ? { ...incoming, findings } : incoming;
      const out = account('batch', batch.node, batch.findings.length, store.findings.commitBatch(batch, at));
      store.nodes.touch(batch.node, at);
      heard(batch.node, at);
      return out;
    },
  };
}

export type Pipeline = ReturnType<typeof createPipeline>;
