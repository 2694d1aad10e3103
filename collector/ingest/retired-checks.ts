// Results of retired checks (proto/retired-checks.ts), which agents up to 0.2.x still send:
// their problem is judged by the check they were merged into, so they must not make a second
// finding. Pure, run on a validated scan report before the pipeline sees it:
// - a retired check's failing result goes to the surviving finding (check and subject), unless
//   the report judges that finding itself: an older agent sends both checks, and the survivor's
//   own verdict decides (the retired duplicate would count each scan twice and could escalate
//   the finding: an alert for nothing new);
// - its other results (pass, skip, error) are dropped: only the survivor's own pass resolves
//   the surviving finding, which the retired check may judge differently (cis-1.1.21 passed a
//   key file whose owner cert-key-file failed);
// - retired ids leave the scope, so they resolve nothing;
// - a result of a check another absorbs on a shared file (ABSORBED_CHECKS: the kubelet's client
//   CA that is also the PKI's ca.crt) is dropped when the same report judges that subject with
//   the absorbing check: the agent of today sends one result there, with both references.
// Every result mapped or dropped is counted (nodeward_retired_results_total).
import { isFindingStatus, severityRank } from '../../proto/domain.js';
import { absorberOf, isRetiredCheck, survivorOf } from '../../proto/retired-checks.js';
import type { IncomingResult, IncomingScan } from '../pipeline/types.js';

export interface RetiredFold {
  readonly scan: IncomingScan;
  /** Retired results that now stand for their surviving finding. */
  readonly mapped: number;
  /** Retired results left out (a survivor's own result judged the same, or not a failure). */
  readonly dropped: number;
}

const key = (checkId: string, subject: string): string => `${checkId}\u0000${subject}`;

export function foldRetiredChecks(scan: IncomingScan): RetiredFold {
  const involved = (id: string): boolean => isRetiredCheck(id) || absorberOf(id) !== undefined;
  if (!scan.results.some((r) => involved(r.checkId)) && !scan.scope.some(isRetiredCheck)) return { scan, mapped: 0, dropped: 0 };
  const judged = new Set(scan.results.filter((r) => !isRetiredCheck(r.checkId)).map((r) => key(r.checkId, r.subject)));
  const absorbed = (r: IncomingResult): boolean => {
    const into = absorberOf(r.checkId);
    return into !== undefined && judged.has(key(into, r.subject));
  };
  // The most severe retired failure per surviving finding (several endpoints may map to one).
  const onto = new Map<string, IncomingResult>();
  let dropped = 0;
  for (const r of scan.results) {
    if (!isRetiredCheck(r.checkId)) continue;
    const to = survivorOf(r.checkId, r.subject);
    const k = to && key(to.checkId, to.subject);
    if (to === undefined || k === undefined || !isFindingStatus(r.status) || judged.has(k)) {
      dropped++;
      continue;
    }
    const held = onto.get(k);
    if (held !== undefined) dropped++;
    if (held === undefined || severityRank(r.severity) > severityRank(held.severity)) onto.set(k, { ...r, checkId: to.checkId, subject: to.subject });
  }
  const results: IncomingResult[] = [];
  let mapped = 0;
  for (const r of scan.results) {
    if (absorbed(r)) {
      dropped++;
      continue;
    }
    if (!isRetiredCheck(r.checkId)) {
      results.push(r);
      continue;
    }
    const to = survivorOf(r.checkId, r.subject);
    const one = to && onto.get(key(to.checkId, to.subject));
    // Each surviving finding once, where its first retired result stood.
    if (one !== undefined && to !== undefined) {
      results.push(one);
      onto.delete(key(to.checkId, to.subject));
      mapped++;
    }
  }
  return { scan: { ...scan, results, scope: scan.scope.filter((id) => !isRetiredCheck(id)) }, mapped, dropped };
}
