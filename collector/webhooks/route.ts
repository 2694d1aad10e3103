// Which changes a destination receives. Evaluated on the finding as it was at the change,
// so a finding escalated past a destination's minimum severity reaches it as `escalated`,
// and its resolution, at the severity it last had, reaches the destinations that took it.
// (The lifecycle lowers a severity without an event; a finding lowered below a destination's
// minimum before it resolves would resolve unseen there.)
import { severityRank, type FindingState } from '../../proto/domain.js';
import type { AlertEvent, FindingChange } from '../finding.js';
import type { Destination } from './types.js';

export function routes(destination: Destination, change: FindingChange): boolean {
  const f = change.finding;
  return destination.events.includes(change.event)
    && severityRank(f.severity) >= severityRank(destination.minSeverity)
    && (destination.categories.length === 0 || destination.categories.includes(f.category))
    && (destination.nodes.length === 0 || destination.nodes.includes(f.node));
}

/** The alerts that leave an Alertmanager alert firing. */
export const FIRING: ReadonlySet<AlertEvent> = new Set(['opened', 'reopened', 'escalated']);

/** What one transition of a finding writes to the outbox: rows to queue, and Alertmanager's firing sets. */
export interface OutboxWrites {
  /** Destinations that get a row for the change. */
  readonly queue: string[];
  /** Alertmanager destinations told the finding fires (kept for their re-posts). */
  readonly fire: string[];
  /** Alertmanager destinations where it no longer fires. */
  readonly unfire: string[];
}

/**
 * One transition: `change` is its alert (undefined when it announces nothing, e.g. an
 * escalation while suppressed), `state` where it left the finding. A destination gets a row
 * when it routes the change; an Alertmanager destination keeps the finding firing while it
 * is open after a firing alert it routed, and stops once it is not open.
 */
export function outboxWrites(destinations: readonly Destination[], change: FindingChange | undefined, state: FindingState): OutboxWrites {
  const out: OutboxWrites = { queue: [], fire: [], unfire: [] };
  for (const d of destinations) {
    const routed = change !== undefined && routes(d, change);
    if (d.format === 'alertmanager') {
      if (routed && FIRING.has(change.event) && state === 'open') out.fire.push(d.name);
      else if (state !== 'open') out.unfire.push(d.name);
    }
    if (routed) out.queue.push(d.name);
  }
  return out;
}
