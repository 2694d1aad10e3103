// An operator deletes a node (decommissioned, renamed, or one that only ever sent junk). Its
// open and suppressed findings are resolved the way a pass resolves them (the history and the
// webhooks see 'resolved', noted "node deleted by <who>"); the baselines charged to it that
// nothing else holds on to go (store/baselines.ts deleteChargedTo); then its inventory row,
// latest results and idempotency records. A connected node is refused: its agent would bring
// it straight back (revoke its certificate, or stop it, first). One agent that comes back
// later is simply a new node.
import type { Metrics } from '../metrics.js';
import type { Store } from '../store/store.js';
import type { Pipeline } from './pipeline.js';

export type NodeRemoval =
  | { readonly outcome: 'deleted'; readonly findingsResolved: number; readonly baselinesDeleted: number }
  | { readonly outcome: 'missing' }
  | { readonly outcome: 'connected' };

export async function removeNode(deps: { store: Store; pipeline: Pick<Pipeline, 'resolveNode'>; metrics: Metrics; log: { info(obj: object, msg: string): void } },
  node: string, by: string, now: number): Promise<NodeRemoval> {
  const { store, metrics, log } = deps;
  const row = await store.nodes.get(node, now, Number.MAX_SAFE_INTEGER);
  if (!row) return { outcome: 'missing' };
  if (row.connected) return { outcome: 'connected' };
  const resolved = await deps.pipeline.resolveNode(node, `node deleted by ${by}`);
  const { deleted } = await store.baselines.deleteChargedTo(node);
  if (deleted > 0) metrics.inc('nodeward_baselines_deleted_total', deleted);
  await store.nodes.delete(node);
  metrics.inc('nodeward_nodes_deleted_total');
  log.info({ who: by, node, findingsResolved: resolved.length, baselinesDeleted: deleted }, 'node deleted by an operator');
  return { outcome: 'deleted', findingsResolved: resolved.length, baselinesDeleted: deleted };
}
