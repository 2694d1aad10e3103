// ingest -> pipeline -> store. The pipeline owns what a committed message means: dedup by
// (node, epoch, sequence), lifecycle transitions, counts. Sinks will hang off its events.
import type { Logger } from '../../proto/support/logger.js';
import type { Metrics } from '../metrics.js';
import type { Store } from '../store/store.js';
import type { CommitOutcome, IncomingBatch, IncomingScan } from './types.js';

export interface PipelineDeps {
  readonly store: Store;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly now?: () => number;
}

export function createPipeline(deps: PipelineDeps) {
  const now = deps.now ?? Date.now;
  const { metrics, log } = deps;

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
    for (const e of out.events) metrics.inc('nodeward_finding_events_total', 'Finding lifecycle transitions', 1, { event: e.event });
    log.debug({ node, kind, items, updated: out.updated, events: out.events.length }, 'committed');
    return out;
  }

  return {
    scan(scan: IncomingScan): CommitOutcome {
      return account('scan', scan.node, scan.results.length, deps.store.findings.commitScan(scan, now()));
    },
    batch(batch: IncomingBatch): CommitOutcome {
      return account('batch', batch.node, batch.findings.length, deps.store.findings.commitBatch(batch, now()));
    },
  };
}

export type Pipeline = ReturnType<typeof createPipeline>;
