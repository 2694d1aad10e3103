// Exposure facts -> the wire's NodeExposure (proto/nodeward/v1/agent.proto): the listeners,
// cut to the wire's bounds with the cut counted, and whether the descriptor walk was cut short.
import type { NodeExposure } from '../../proto/gen/nodeward/v1/NodeExposure.js';
import type { ExposureFacts } from './collect.js';

/** The wire's bounds (the collector refuses a report past them). */
export const WIRE_EXPOSURE_LIMITS = { listeners: 4096, nodeAddresses: 1024, text: 1024 } as const;

const cut = (s: string): string => (s.length > WIRE_EXPOSURE_LIMITS.text ? s.slice(0, WIRE_EXPOSURE_LIMITS.text) : s);

/** Why the walk of descriptors stopped early, in words; empty when it did not. */
export function walkCut(w: ExposureFacts['walk']): string {
  const why: string[] = [];
  if (w.pidLimitHit) why.push('process limit');
  if (w.timeLimitHit) why.push(`time budget (${Math.round(w.elapsedMs)} ms)`);
  if (w.fdLimitHits > 0) why.push(`descriptor limit in ${w.fdLimitHits} processes`);
  return why.join(', ');
}

/** Socket rows refused, and listeners left out past the parser's, the agent's and the wire's bounds. */
export function wireLosses(e: ExposureFacts): { readonly rowsRefused: number; readonly listenersDropped: number } {
  return {
    rowsRefused: e.tables.reduce((n, t) => n + t.refused, 0),
    listenersDropped: e.tables.reduce((n, t) => n + t.dropped, 0) + e.dropped + Math.max(0, e.listeners.length - WIRE_EXPOSURE_LIMITS.listeners),
  };
}

export function exposureToWire(e: ExposureFacts): NodeExposure {
  const listeners = e.listeners.slice(0, WIRE_EXPOSURE_LIMITS.listeners);
  return {
    listeners: listeners.map((l) => ({
      protocol: l.protocol, address: l.address, port: l.port, addressClass: l.class, wildcard: l.wildcard, uid: l.uid,
      pid: l.owner?.pid ?? 0, exe: cut(l.owner?.exe ?? ''), baseline: cut(l.owner?.key ?? ''), namespace: cut(l.owner?.namespace ?? ''),
      pod: cut(l.owner?.pod ?? ''), container: cut(l.owner?.container ?? ''), workload: cut(l.owner?.workload ?? ''),
    })),
    nodeAddresses: e.nodeAddresses.slice(0, WIRE_EXPOSURE_LIMITS.nodeAddresses).map((a) => ({ address: a.address, addressClass: a.class, source: a.source })),
    ...wireLosses(e),
    unowned: e.unowned,
    walkCut: walkCut(e.walk),
  };
}
