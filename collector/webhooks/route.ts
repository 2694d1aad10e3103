// Which changes a destination receives. Evaluated on the finding as it was at the change,
// so a finding escalated past a destination's minimum severity reaches it as `escalated`,
// and its resolution, at the severity it last had, reaches the destinations that took it.
// (The store lowers a severity without an event; a finding lowered below a destination's
// minimum before it resolves would resolve unseen there.)
import { severityRank } from '../../proto/domain.js';
import type { FindingChange } from '../finding.js';
import type { Destination } from './types.js';

export function routes(destination: Destination, change: FindingChange): boolean {
  const f = change.finding;
  return destination.events.includes(change.event)
    && severityRank(f.severity) >= severityRank(destination.minSeverity)
    && (destination.categories.length === 0 || destination.categories.includes(f.category))
    && (destination.nodes.length === 0 || destination.nodes.includes(f.node));
}
