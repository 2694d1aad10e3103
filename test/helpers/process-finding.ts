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

/**
 * The agent's detail of a process finding, whichever way it was sent: the typed `process` (with
 * the finding's `seen`, as the collector stores it) or an agent 0.1.0's `detail_json`.
 */
export function findingDetail(f: WireFinding): ProcessDetail {
  if (!f.process) return JSON.parse(f.detailJson || '{}') as ProcessDetail;
  // The fields of agents from 0.2 on (identity, effective user, context) are kept only when set, as the collector stores them.
  const { kernel, fakeContainer, identity, effective, context, ...rest } = f.process;
  return {
    ...rest, seen: f.seen, ...(kernel ? { kernel } : {}), ...(fakeContainer ? { fakeContainer } : {}),
    ...(identity ? { identity } : {}), ...(effective ? { euid: effective.uid ?? 0, effectiveUser: effective.user ?? '' } : {}), ...(context ? { context } : {}),
  } as unknown as ProcessDetail;
}

/**
 * The same finding as an agent 0.1.0 sent it: the detail as detail_json, in the key order that
 * agent wrote (agent/processes/findings.ts's ProcessDetail), and no typed `process`.
 */
export function asDetailJson(f: WireFinding): WireFinding {
  const { process: _typed, ...rest } = f;
  const d = findingDetail(f) as ProcessDetail & { identity?: unknown; euid?: unknown; effectiveUser?: unknown; context?: unknown };
  const ordered: Record<string, unknown> = {
    baseline: d.baseline, exe: d.exe, exeDeleted: d.exeDeleted, pid: d.pid, ppid: d.ppid, parents: d.parents, uid: d.uid, user: d.user,
    cmdline: d.cmdline, container: d.container, pod: d.pod, podUid: d.podUid, namespace: d.namespace, workload: d.workload,
    startedAtMs: d.startedAtMs, seen: d.seen, partial: d.partial, missing: d.missing,
    ...(d.kernel ? { kernel: d.kernel } : {}), ...(d.fakeContainer ? { fakeContainer: d.fakeContainer } : {}),
    ...(d.identity ? { identity: d.identity } : {}), ...('euid' in d ? { euid: d.euid, effectiveUser: d.effectiveUser } : {}),
    ...(d.context ? { context: d.context } : {}),
  };
  return { ...rest, detailJson: JSON.stringify(ordered) };
}
