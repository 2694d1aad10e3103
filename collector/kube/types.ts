// What the collector knows about the pods on a node, from its list/watch of pods through the
// Kubernetes API. It is pushed to that node's agent, which uses the owner to key baselines
// (instead of guessing from the pod name) and the exec probes to allow them without learning.

/** The workload a pod belongs to: Deployment, StatefulSet, DaemonSet, CronJob, Job, ReplicaSet or Pod. */
export interface PodOwner {
  readonly kind: string;
  readonly name: string;
}

export interface PodContainer {
  readonly name: string;
  /** Exec liveness/readiness/startup probe commands (argv), bounded. */
  readonly execProbes: readonly (readonly string[])[];
}

export interface PodInfo {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly node: string;
  readonly owner: PodOwner;
  /** Regular and init containers. */
  readonly containers: readonly PodContainer[];
}
