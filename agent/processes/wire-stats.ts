// The process monitor's counters as AgentStats carries them to the collector (pure).
import type { AgentStats } from '../../proto/load.js';
import type { ProcessMonitorStats } from './monitor.js';

export function processStatsToWire(p: ProcessMonitorStats | undefined, baselineReportDropped: number): Partial<AgentStats> {
  // No process monitor (processes.enabled false): no exec source at all, not the scan.
  if (!p) return { execCoverage: '', execSource: '', baselineReportDropped };
  const ringLost = p.exec?.ringLost ?? 0;
  return {
    execCoverage: p.coverage, execSource: p.source, execSourceReason: p.fallbackReason,
    processEventsCapped: p.findings.capped, processEventsLost: p.findings.lost,
    // Lost anywhere between the kernel and the judge: JavaScript behind, a netlink overrun, a full ring.
    execEventsLost: (p.exec?.dropped ?? 0) + (p.exec?.overruns ?? 0) + ringLost, execRecordsPartial: p.exec?.partial ?? 0,
    execRingLost: ringLost, execUnjudged: p.unjudged + p.unplaced,
    // Judged as host processes though their cgroup looked like a container's.
    execFakeContainer: p.fakeContainer, execHostNamespace: p.hostNamespace, execBatches: p.exec?.batches ?? 0,
    execEvents: p.exec?.execs ?? 0,
    baselineItemsDropped: p.baselines.overflow, baselineKeysEvicted: p.baselines.evictedKeys,
    baselineReportDropped,
    ...identityFailures(p.content.identity),
  };
}

/** Executables that could not be hashed, in all, and the last one's reason. */
function identityFailures(s: ProcessMonitorStats['content']['identity']): Partial<AgentStats> {
  if (!s) return {};
  return { execIdentityFailed: Object.values(s.failed).reduce((a, n) => a + n, 0), execIdentityFailedReason: s.lastFailure };
}
