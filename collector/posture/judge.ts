// The contract between the collector's posture watches and the posture judges (pure).
//
// A judge owns some kinds of Kubernetes objects (RBAC objects; namespaces, pods, network
// policies ...): how each is read (a bounded, never-throwing reader that fits the informer,
// collector/kube/informer.ts), how the whole set is judged once the lists are in, and how one
// watch event moves the judgement, saying which findings opened, changed or resolved. The
// watches (one informer per kind, shared by every judge that declares it) feed the judges and
// turn their findings into cluster-scoped findings of the store (same lifecycle, outbox and
// dashboard as a node's findings).
//
// A ClusterFinding is about the cluster, not a node: `key` is its identity among every posture
// finding (it becomes the stored finding's subject, so the fingerprint is stable across
// restarts), `object` the API object whose deletion resolves it.
import type { Severity } from '../../proto/domain.js';
import type { ObjectRead } from '../kube/informer.js';

/** The categories of posture findings (ClusterFinding.category), for the CLI's and the dashboard's filters. */
export const POSTURE_CATEGORIES = ['rbac', 'pod-security', 'network-policy', 'namespace', 'secrets', 'general'] as const;

export interface ClusterFinding {
  readonly checkId: string;
  readonly title: string;
  readonly severity: Severity;
  /** Every benchmark control it decides (`cis-1.12:5.1.1`). */
  readonly references: readonly string[];
  /** The CIS Kubernetes control among `references` (`5.1.1`), or ''. */
  readonly cis: string;
  /** `rbac`, `pod-security`, `network-policy`, `namespace`, `secrets`, `general`. */
  readonly category: string;
  /** Stable and unique among all posture findings: `<check>|<what it is about>`. */
  readonly key: string;
  /** Who or what it is about, in words: `User alice`, `Deployment shop/web`, `Namespace shop`. */
  readonly subject: string;
  /** The object it is about (`RoleBinding/shop/edit`, `Namespace/shop`, `Deployment/shop/web`). */
  readonly object: string;
  /** What the cluster has, in one line (subject, binding, role and rule; workload and field ...). */
  readonly actual: string;
  readonly expected: string;
  /** Why the check judged so. */
  readonly reason: string;
  readonly remediation: string;
  /** Check-specific details (rules that grant, containers that violate ...), JSON. */
  readonly detail: Readonly<Record<string, unknown>>;
}

/** A finding a fresh or nodeward-deployed cluster holds by design: reported, not raised. */
export interface ExpectedClusterFinding {
  readonly finding: ClusterFinding;
  readonly why: string;
}

/** One kind of object a judge reads. */
export interface PostureKind<T = unknown> {
  /** `ClusterRole`, `Namespace`, `NetworkPolicy`, `CiliumNetworkPolicy` ... */
  readonly kind: string;
  /** The collection, plural and lower case: `clusterroles`. */
  readonly name: string;
  /** The collection's path: `/apis/rbac.authorization.k8s.io/v1/clusterroles`. */
  readonly path: string;
  /** A CRD (Calico, Cilium): watched only when the API server serves its group and version. */
  readonly optional?: { readonly group: string; readonly version: string };
  read(raw: unknown): ObjectRead<T>;
}

/** One watch event, read: an object added or changed, or the key of one deleted. */
export type ObjectChange =
  | { readonly type: 'upsert'; readonly kind: string; readonly key: string; readonly value: unknown }
  | { readonly type: 'delete'; readonly kind: string; readonly key: string };

export interface JudgeDelta<S> {
  readonly state: S;
  readonly opened: readonly ClusterFinding[];
  /** Still there, with another actual or severity. */
  readonly changed: readonly ClusterFinding[];
  readonly resolved: readonly ClusterFinding[];
}

export interface PostureJudge<S> {
  /** `rbac`, `workloads`. */
  readonly id: string;
  readonly kinds: readonly PostureKind[];
  /** Judges everything held, by kind then key (a kind not served, such as a CRD not installed, is an empty map). */
  full(objects: ReadonlyMap<string, ReadonlyMap<string, unknown>>): S;
  /** The state after one event. Never throws. */
  apply(state: S, change: ObjectChange): JudgeDelta<S>;
  findings(state: S): { readonly findings: readonly ClusterFinding[]; readonly expected: readonly ExpectedClusterFinding[] };
}
