// What `npm start` says once the first scans are in, so a first run never looks empty: what
// this machine's scan found (on a machine that is not a Kubernetes node, that every check was
// skipped and why), when the host's process learning ends, and with --demo, the demo nodes'
// triage. Pure: the caller reads the API (GET /nodes, /summary) and prints these lines.

export interface ResultCounts {
  readonly pass: number;
  readonly fail: number;
  readonly warn: number;
  readonly skip: number;
  readonly error: number;
}

export interface HostLearningLike {
  readonly key: string;
  readonly state: 'learning' | 'locked';
  readonly until: string | null;
  readonly lockedBy: string;
}

/** The part of GET /api/v1/nodes/{name} these lines read. */
export interface NodeStatusLike {
  readonly name: string;
  readonly results: ResultCounts;
  readonly hostLearning: HostLearningLike | null;
  readonly openFindings: number;
  readonly demo: boolean;
}

export const SEVERITY_ORDER = ['critical', 'high', 'medium', 'low', 'info'] as const;

export const resultTotal = (r: ResultCounts): number => r.pass + r.fail + r.warn + r.skip + r.error;

/** Every result a skip: no check applied (the agent found no kubelet and no control-plane component). */
export const allSkipped = (r: ResultCounts): boolean => resultTotal(r) > 0 && r.skip === resultTotal(r);

function inHours(untilMs: number, now: number): string {
  const minutes = Math.max(0, Math.round((untilMs - now) / 60_000));
  return minutes >= 120 ? `${Math.round(minutes / 60)} h` : `${minutes} min`;
}

/** One line on where the host's process learning stands. */
export function learningLine(h: HostLearningLike | null, now: number): string {
  if (!h) return 'Host process learning: not reported (process monitoring is off, or the agent has not reported yet).';
  if (h.state === 'learning') {
    const until = h.until ? `until ${h.until} (in ${inHours(Date.parse(h.until), now)})` : 'for now';
    return `Host process learning (${h.key}): learning ${until}; until then what runs on this machine is learned, not reported (code run from memory or a deleted file is reported even so); after it, a new executable is a finding.`;
  }
  return `Host process learning (${h.key}): done, locked ${h.lockedBy === 'operator' ? 'by an operator' : `at ${h.until ?? 'the end of its window'}`}; a process outside the baseline is a finding.`;
}

/** What the first scan of this machine found. */
export function firstScanLines(n: NodeStatusLike, opts: { demo: boolean; now: number }): string[] {
  const r = n.results;
  const lines = [
    `First scan of ${n.name}: ${resultTotal(r)} checks: ${r.fail} failing, ${r.warn} warnings, ${r.pass} passing, ${r.skip} skipped, ${r.error} errors; ${n.openFindings} open findings.`,
  ];
  if (allSkipped(r)) {
    lines.push(
      '  Every check was skipped: no kubelet and no control-plane component (API server, controller manager, scheduler, etcd)',
      '  runs on this machine, so it is not a Kubernetes node and the node checks do not apply. Run the agent on a node to judge it.',
      opts.demo ? '  The demo nodes below show what a triage looks like.' : '  To see a full triage now: npm start -- --demo (adds demo nodes that scan fixture host trees).',
    );
  }
  lines.push(learningLine(n.hostLearning, opts.now));
  return lines;
}

/** The demo nodes' open findings by severity (from GET /summary's byNode). */
export function demoTriageLines(nodes: readonly NodeStatusLike[], bySeverity: Readonly<Record<string, number>>, queryUrl: string): string[] {
  const counts = SEVERITY_ORDER.filter((s) => (bySeverity[s] ?? 0) > 0).map((s) => `${bySeverity[s]} ${s}`);
  return [
    `Demo triage on ${nodes.length} demo nodes (${nodes.map((n) => n.name).join(', ')}): ${counts.length > 0 ? counts.join(', ') : 'no'} open findings.`,
    `  Worst first: ./bin/nodeward query findings --state open --min-severity high${queryUrl}`,
  ];
}
