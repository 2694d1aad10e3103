// proc-unexpected findings exactly as the agent builds them (agent/processes/findings.ts), for
// tests that feed the collector: a process in a workload's container or on the host.
import type { WireFinding } from '../../proto/load.js';
import { unexpectedFinding, type ProcessDetail } from '../../agent/processes/findings.js';

/** The detail of a process under `baseline` (`host`, or `<namespace>/<Kind>/<name>/<container>`). */
export function processDetail(baseline: string, exe: string, over: Partial<ProcessDetail> = {}): ProcessDetail {
  const parts = baseline.split('/');
  const inPod = parts.length === 4;
  return {
    baseline, exe, exeDeleted: false, pid: 4242, ppid: 4200, parents: inPod ? ['/bin/sh', '/usr/sbin/nginx'] : ['/usr/lib/systemd/systemd'],
    uid: inPod ? 101 : 0, user: inPod ? '101' : 'root', cmdline: `${exe} --flag`,
    container: inPod ? { id: 'c'.repeat(64), name: parts[3] as string, runtime: 'containerd' } : null,
    pod: inPod ? `${parts[2]}-7d4b9c8f6d-x2kzq` : '', podUid: inPod ? 'pod-uid' : '', namespace: inPod ? (parts[0] as string) : '',
    workload: inPod ? { kind: parts[1] as string, name: parts[2] as string, source: 'collector' } : null,
    startedAtMs: Date.now() - 4 * 3600_000, seen: 'event', partial: false, missing: [],
    ...over,
  };
}

/** The finding the agent sends for `occurrences` of that process, the last at `at`. */
export function unexpectedProcess(baseline: string, exe: string, at: number, occurrences = 1, over: Partial<ProcessDetail> = {}): WireFinding {
  return unexpectedFinding(processDetail(baseline, exe, over), occurrences, at);
}
