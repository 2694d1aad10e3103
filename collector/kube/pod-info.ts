// A pod object from the Kubernetes API reduced to the PodInfo the agents need (pure): its
// workload owner and, per container, its exec probe commands. Everything is read from the
// pod itself; no owner is fetched.
//
// Owners, from the pod's controller reference (ownerReferences with controller: true):
//   ReplicaSet <deployment>-<h>, pod label pod-template-hash=<h>   Deployment <deployment>
//   ReplicaSet without that label or suffix (created by hand)      ReplicaSet
//   Job <cronjob>-<n>, n 8 to 10 digits, prefix at most 52 chars   CronJob <cronjob>
//   any other Job                                                  Job
//   Node (a static pod's mirror) <node>, pod <name>-<node>        Pod <name>, the same on every node
//   StatefulSet, DaemonSet, or any other controller                that controller
//   no controller reference                                        Pod (the pod itself)
//
// The CronJob rule: a pod names only its Job, and a Job's CronJob is one more API call per Job.
// The CronJob controller names each Job `<cronjob>-<scheduled time>`, in Unix minutes (8
// digits until the year 2160; the controller before Kubernetes 1.21 used seconds, 10 digits),
// and limits CronJob names to 52 characters so that the Job name fits. A hand-made Job can look
// the same; the one such name that is common, a date (`migrate-20240101`), is excluded: as
// minutes it would be a time in 1998 or 1999, before any CronJob ran. A hand-made Job that is
// still taken for a CronJob shares that CronJob's baseline, which is what the agent's pod-name
// fallback (agent/baseline/workload.ts) would have done too.
import type { PodContainer, PodInfo, PodOwner } from './types.js';

export interface PodInfoLimits {
  /** Containers (regular plus init) kept per pod. */
  readonly maxContainers: number;
  /** Words in one probe command; a longer command is dropped (and counted). */
  readonly maxProbeArgs: number;
  /** Bytes of one probe command with its separators (the agent reads at most 4096 of a command line). */
  readonly maxProbeBytes: number;
}

export const DEFAULT_POD_INFO_LIMITS: PodInfoLimits = { maxContainers: 64, maxProbeArgs: 64, maxProbeBytes: 4096 };

/** What one pod object became. */
export type PodRead =
  /** A pod this watch keeps: scheduled on a node and not finished. */
  | { readonly kind: 'pod'; readonly key: string; readonly info: PodInfo; readonly dropped: number }
  /** A valid pod that runs nothing on any node (not scheduled yet, or Succeeded/Failed): forget it. */
  | { readonly kind: 'absent'; readonly key: string }
  | { readonly kind: 'invalid'; readonly reason: string };

const MAX_NAME = 253;
const PROBES = ['livenessProbe', 'readinessProbe', 'startupProbe'] as const;
const CRONJOB_JOB = /^(.{1,52})-(\d{8,10})$/;

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | undefined => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : undefined);
const name = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 && v.length <= MAX_NAME ? v : undefined);

/** namespace/name: how the watch keys a pod. */
export function podKey(namespace: string, podName: string): string {
  return `${namespace}/${podName}`;
}

export function readPod(raw: unknown, limits: PodInfoLimits = DEFAULT_POD_INFO_LIMITS): PodRead {
  const pod = obj(raw);
  const meta = obj(pod?.metadata);
  const namespace = name(meta?.namespace);
  const podName = name(meta?.name);
  const uid = name(meta?.uid);
  if (!pod || !namespace || !podName || !uid) return { kind: 'invalid', reason: 'a pod without metadata.namespace, name or uid' };
  const key = podKey(namespace, podName);
  const spec = obj(pod.spec) ?? {};
  const phase = obj(pod.status)?.phase;
  const node = name(spec.nodeName);
  if (!node || phase === 'Succeeded' || phase === 'Failed') return { kind: 'absent', key };

  let dropped = 0;
  const containers: PodContainer[] = [];
  for (const field of ['containers', 'initContainers'] as const) {
    const list = spec[field];
    if (!Array.isArray(list)) continue;
    for (const c of list) {
      const container = readContainer(c, limits);
      if (!container) continue;
      if (containers.length >= limits.maxContainers) {
        dropped++;
        continue;
      }
      dropped += container.dropped;
      containers.push({ name: container.name, execProbes: container.execProbes });
    }
  }
  return { kind: 'pod', key, info: { namespace, name: podName, uid, node, owner: ownerOf(meta ?? {}, podName, node), containers }, dropped };
}

function readContainer(raw: unknown, limits: PodInfoLimits): (PodContainer & { dropped: number }) | undefined {
  const c = obj(raw);
  const containerName = name(c?.name);
  if (!c || !containerName) return undefined;
  const execProbes: string[][] = [];
  let dropped = 0;
  for (const p of PROBES) {
    const command = obj(obj(c[p])?.exec)?.command;
    if (command === undefined) continue;
    const argv = probeCommand(command, limits);
    if (argv) execProbes.push(argv);
    else dropped++;
  }
  return { name: containerName, execProbes, dropped };
}

/** The probe's argv when it is a non-empty list of strings within the bounds. */
function probeCommand(command: unknown, limits: PodInfoLimits): string[] | undefined {
  if (!Array.isArray(command) || command.length === 0 || command.length > limits.maxProbeArgs) return undefined;
  if (!command.every((w): w is string => typeof w === 'string')) return undefined;
  const bytes = command.reduce((n, w) => n + Buffer.byteLength(w) + 1, 0);
  return bytes <= limits.maxProbeBytes ? [...command] : undefined;
}

export function ownerOf(meta: Obj, podName: string, node: string): PodOwner {
  const refs = Array.isArray(meta.ownerReferences) ? meta.ownerReferences.map(obj) : [];
  const ref = refs.find((r) => r?.controller === true);
  const kind = name(ref?.kind);
  const refName = name(ref?.name);
  if (!kind || !refName) return { kind: 'Pod', name: podName };
  if (kind === 'ReplicaSet') {
    const hash = obj(meta.labels)?.['pod-template-hash'];
    if (typeof hash === 'string' && hash !== '' && refName.endsWith(`-${hash}`) && refName.length > hash.length + 1) {
      return { kind: 'Deployment', name: refName.slice(0, -(hash.length + 1)) };
    }
  }
  if (kind === 'Node' && podName.endsWith(`-${node}`) && podName.length > node.length + 1) {
    // The kubelet names a static pod's mirror `<name>-<node>`; without the node, the control
    // plane's pods share one baseline across control-plane nodes.
    return { kind: 'Pod', name: podName.slice(0, -(node.length + 1)) };
  }
  if (kind === 'Job') {
    const m = CRONJOB_JOB.exec(refName);
    if (m && !isCalendarDate(m[2] as string)) return { kind: 'CronJob', name: m[1] as string };
  }
  return { kind, name: refName };
}

/** yyyymmdd in 2000-2099: a date stamp put there by hand, not a CronJob's schedule. */
function isCalendarDate(digits: string): boolean {
  const m = /^20(\d\d)(\d\d)(\d\d)$/.exec(digits);
  if (!m) return false;
  const month = Number(m[2]);
  const day = Number(m[3]);
  return month >= 1 && month <= 12 && day >= 1 && day <= 31;
}
