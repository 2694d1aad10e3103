// The process monitor's counters as AgentStats carries them (agent/processes/wire-stats.ts):
// processes judged as host processes though their cgroup looked like a container's, and the
// eBPF reader's batches. A real monitor on a fixture node carries them too: monitor.test.ts.
import test from 'ava';
import { zeroVerdicts } from '../../agent/baseline/baselines.js';
import type { ProcessMonitorStats } from '../../agent/processes/monitor.js';
import { processStatsToWire } from '../../agent/processes/wire-stats.js';

/** A monitor on eBPF, every counter its own value. */
function ebpfStats(over: Partial<ProcessMonitorStats> = {}): ProcessMonitorStats {
  return {
    coverage: 'event', execEventsReason: '', source: 'ebpf', sourceReasons: {}, fallbackReason: '', scans: 4, lastScanMs: 9,
    lastScanProcesses: 100, tableSize: 100, events: 900, scanOnly: 0, unjudged: 2, unplaced: 1, fakeContainer: 3, hostNamespace: 5,
    hostMntNs: 4026531840, verdicts: { ...zeroVerdicts(), known: 800, learned: 90, unexpected: 10 },
    findings: { observed: 10, emitted: 4, capped: 6, lost: 0, pending: 0 },
    exec: { received: 900, execs: 880, delivered: 900, partial: 0, dropped: 0, overruns: 0, errors: 0, running: true, kernelSeen: 903, ringLost: 3, wakeups: 40, maxBatch: 60, batches: 41 },
    baselines: { keys: 2, overflow: 0, evictedKeys: 0, evictedDigests: 0, version: 1 },
    attribution: { containers: 2, owners: 1, lookups: 7 },
    content: {
      reexec: 0, fromMemory: 0, deleted: 0, upgraded: 0, stdioSkipped: 0, identity: null, packages: null,
      stdio: { reads: 0, tablesRead: 0, tablesCut: 0, linesRefused: 0, familiesUnknown: 0, unreadable: 0 },
    },
    ...over,
  };
}

test('executables that could not be hashed: their total over every reason, and the last reason', (t) => {
  const identity = { entries: 10, hashed: 12, cacheHits: 900, bytesHashed: 1 << 20, failed: { gone: 4, 'too-large': 1 }, lastFailure: 'too-large' as const };
  const s = ebpfStats();
  t.like(processStatsToWire({ ...s, content: { ...s.content, identity } }, 0), { execIdentityFailed: 5, execIdentityFailedReason: 'too-large' });
  t.like(processStatsToWire(s, 0), { execIdentityFailed: undefined }, 'identity off: nothing to say');
});

test('judged-as-host processes, exec events and eBPF batches are carried as they are counted', (t) => {
  t.like(processStatsToWire(ebpfStats(), 0), {
    execSource: 'ebpf', execUnjudged: 3, execRingLost: 3, execEventsLost: 3, execFakeContainer: 3, execHostNamespace: 5, execBatches: 41,
    execEvents: 880,
  });
  // netlink reports no batches; no exec source at all, none either.
  const netlink = ebpfStats({ source: 'netlink', exec: { received: 5, execs: 4, delivered: 5, partial: 1, dropped: 0, overruns: 0, errors: 0, running: true } });
  t.like(processStatsToWire(netlink, 0), { execSource: 'netlink', execBatches: 0, execFakeContainer: 3, execEvents: 4 });
  t.like(processStatsToWire(ebpfStats({ source: 'scan', coverage: 'scan', exec: null, fakeContainer: 0, hostNamespace: 0 }), 0),
    { execBatches: 0, execFakeContainer: 0, execHostNamespace: 0, execEvents: 0 });
});
