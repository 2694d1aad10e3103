// The workload a pod belongs to, guessed from its name (pure). This is the fallback: the
// collector, which watches pods through the Kubernetes API, supplies real owners later
// (see `owners` in baselines.ts), and those win.
//
//   <deployment>-<pod-template-hash>-<suffix>   Deployment   web-7d4b9c8f6d-x2kzq
//   <cronjob>-<scheduled minute>-<suffix>       CronJob      backup-28934520-q8d7c
//   <statefulset>-<ordinal>                     StatefulSet  db-0
//   <daemonset>-<suffix>                        DaemonSet    fluent-bit-7xk2p
//   anything else                               Pod          the pod itself
//
// Generated suffixes use Kubernetes' safe alphabet (no vowels, no 0, 1 or 3), which is what
// tells them from ordinary words. A bare ReplicaSet's or a plain Job's pods look like a
// DaemonSet's by name alone; the real owner from the collector resolves that.

export interface Workload {
  readonly kind: string;
  readonly name: string;
}

const SAFE = 'bcdfghjklmnpqrstvwxz2456789';
const suffix = (min: number, max: number): string => `[${SAFE}]{${min},${max}}`;

const CRONJOB = /^(.+)-(\d{8,10})-[a-z0-9]{5}$/;
const DEPLOYMENT = new RegExp(`^(.+)-${suffix(6, 10)}-${suffix(5, 5)}$`);
const STATEFULSET = /^(.+)-(0|[1-9]\d{0,5})$/;
const DAEMONSET = new RegExp(`^(.+)-${suffix(5, 5)}$`);

export function workloadFromPodName(pod: string): Workload {
  let m = CRONJOB.exec(pod);
  if (m) return { kind: 'CronJob', name: m[1] as string };
  m = DEPLOYMENT.exec(pod);
  if (m) return { kind: 'Deployment', name: m[1] as string };
  m = STATEFULSET.exec(pod);
  if (m) return { kind: 'StatefulSet', name: m[1] as string };
  m = DAEMONSET.exec(pod);
  if (m) return { kind: 'DaemonSet', name: m[1] as string };
  return { kind: 'Pod', name: pod };
}
