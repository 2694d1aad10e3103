// The grants a fresh kubeadm cluster holds by design, as data: each would fail a section 5.1
// check, and each is how Kubernetes or kubeadm works. They are reported as expected (with the
// reason below), not raised. An entry matches one binding, one subject and one role exactly,
// and only for the checks it names: the same role bound to anyone else, or the same binding
// granting to another subject, is a finding. The facts come from Kubernetes' bootstrap RBAC
// policy (the API server creates and reconciles these objects at start-up, annotated
// `rbac.authorization.kubernetes.io/autoupdate: "true"`) and from what `kubeadm init` creates.
//
// What this cannot tell: that a bootstrap role still holds only its bootstrap rules. The API
// server puts them back at each start while the annotation is true; an edit in between, or
// with the annotation set to false, is not seen here (the rules are shown in the expected
// entries, for a reader to compare).

export interface ExpectedGrant {
  /** The check ids this grant is expected to fail, or 'all'. */
  readonly checks: readonly string[] | 'all';
  /** `ClusterRoleBinding/<name>`, `RoleBinding/<ns>/<name>`, or `label:<key>` for aggregation. */
  readonly binding: string;
  /** `ClusterRole/<name>` or `Role/<ns>/<name>`. */
  readonly role: string;
  /** `User:<name>`, `Group:<name>`, `ServiceAccount:<ns>/<name>`, or `ClusterRole:<name>` for aggregation. */
  readonly subject: string;
  readonly why: string;
}

const crb = (name: string, subject: string, checks: readonly string[] | 'all', why: string, role = name): ExpectedGrant =>
  ({ checks, binding: `ClusterRoleBinding/${name}`, role: `ClusterRole/${role}`, subject, why });

/** A controller of kube-controller-manager running under its own ServiceAccount (kubeadm passes --use-service-account-credentials). */
const controller = (name: string, checks: readonly string[], why: string): ExpectedGrant =>
  crb(`system:controller:${name}`, `ServiceAccount:kube-system/${name}`, checks, `kube-controller-manager's ${name}: ${why}`);

const aggregation = (label: 'admin' | 'edit' | 'view', role: string, why: string): ExpectedGrant =>
  ({ checks: ['rbac-aggregate-widens'], binding: `label:rbac.authorization.k8s.io/aggregate-to-${label}`, role: `ClusterRole/${role}`, subject: `ClusterRole:${label}`, why });

export const EXPECTED_GRANTS: readonly ExpectedGrant[] = [
  crb('cluster-admin', 'Group:system:masters', 'all',
    'The bootstrap binding of cluster-admin to system:masters. That group bypasses RBAC anyway; the binding only makes it visible.'),
  crb('kubeadm:cluster-admins', 'Group:kubeadm:cluster-admins', 'all',
    "kubeadm (1.29 and later) gives the admin.conf identity (O=kubeadm:cluster-admins) cluster-admin through this binding instead of system:masters, so it can be revoked. Whoever holds /etc/kubernetes/admin.conf is cluster-admin.",
    'cluster-admin'),
  crb('system:kube-controller-manager', 'User:system:kube-controller-manager', ['cis-5.1.2', 'cis-5.1.3', 'cis-5.1.10', 'cis-5.1.13'],
    'The controller manager lists and watches every resource (the one "*" rule: list, watch on */*), reads and writes Secrets and ServiceAccounts, and mints ServiceAccount tokens for its controllers.'),
  controller('generic-garbage-collector', ['cis-5.1.2', 'cis-5.1.3', 'cis-5.1.10', 'cis-5.1.11', 'cis-5.1.12'],
    'deletes objects whose owners are gone, of any kind, so it reads, patches and deletes every resource ("*" on */*).'),
  controller('namespace-controller', ['cis-5.1.2', 'cis-5.1.3', 'cis-5.1.10', 'cis-5.1.12'],
    'empties a namespace being deleted, of every kind of object in it ("*" on */*: get, list, delete).'),
  controller('resourcequota-controller', ['cis-5.1.2', 'cis-5.1.3', 'cis-5.1.10'],
    'counts every kind of object against ResourceQuotas (list, watch on */*).'),
  controller('disruption-controller', ['cis-5.1.3'], 'reads the scale of any workload kind ("*/scale") to compute PodDisruptionBudgets.'),
  controller('horizontal-pod-autoscaler', ['cis-5.1.3'], 'reads and sets the scale of any workload kind ("*/scale") and reads any custom or external metric.'),
  controller('certificate-controller', ['cis-5.1.11'],
    "approves kubelet client certificate requests (signer kubernetes.io/kube-apiserver-client-kubelet only, by resourceNames) that kubeadm's auto-approve bindings allow."),
  controller('clusterrole-aggregation-controller', ['cis-5.1.8'],
    'fills aggregated ClusterRoles (admin, edit, view) with the rules of labelled roles, which takes escalate on clusterroles.'),
  controller('cronjob-controller', ['cis-5.1.4'], 'creates the Jobs of CronJobs.'),
  controller('daemon-set-controller', ['cis-5.1.4'], 'creates the pods of DaemonSets.'),
  controller('deployment-controller', ['cis-5.1.4'], 'creates the ReplicaSets of Deployments.'),
  controller('job-controller', ['cis-5.1.4'], 'creates the pods of Jobs.'),
  controller('replicaset-controller', ['cis-5.1.4'], 'creates the pods of ReplicaSets.'),
  controller('replication-controller', ['cis-5.1.4'], 'creates the pods of ReplicationControllers.'),
  controller('statefulset-controller', ['cis-5.1.4'], 'creates the pods of StatefulSets.'),
  controller('persistent-volume-binder', ['cis-5.1.4', 'cis-5.1.9'],
    'creates PersistentVolumes for dynamic provisioning by in-tree plugins, and the recycler pods of the Recycle reclaim policy.'),
  {
    checks: ['cis-5.1.2'], binding: 'RoleBinding/kube-system/system:controller:bootstrap-signer', role: 'Role/kube-system/system:controller:bootstrap-signer',
    subject: 'ServiceAccount:kube-system/bootstrap-signer',
    why: "The bootstrap signer reads the bootstrap token Secrets of kube-system to sign the cluster-info ConfigMap that joining nodes trust (kubeadm join).",
  },
  {
    checks: ['cis-5.1.2'], binding: 'RoleBinding/kube-system/system:controller:token-cleaner', role: 'Role/kube-system/system:controller:token-cleaner',
    subject: 'ServiceAccount:kube-system/token-cleaner',
    why: 'The token cleaner reads the bootstrap token Secrets of kube-system to delete the expired ones.',
  },
  crb('system:basic-user', 'Group:system:authenticated', ['rbac-public-groups'],
    'Every authenticated caller may ask what it itself may do (selfsubjectaccessreviews, selfsubjectrulesreviews, selfsubjectreviews): nothing more.'),
  crb('system:discovery', 'Group:system:authenticated', ['rbac-public-groups'],
    'Every authenticated caller may read API discovery, OpenAPI, health and version (nonResourceURLs only, no objects).'),
  crb('system:public-info-viewer', 'Group:system:authenticated', ['rbac-public-groups'],
    'Health and version (/healthz, /livez, /readyz, /version) for every caller: what load balancers and probes read.'),
  crb('system:public-info-viewer', 'Group:system:unauthenticated', ['rbac-public-groups'],
    'Health and version (/healthz, /livez, /readyz, /version) for anonymous callers too, when anonymous auth is on: what load balancers and probes read.'),
  {
    checks: ['rbac-public-groups'], binding: 'RoleBinding/kube-public/kubeadm:bootstrap-signer-clusterinfo', role: 'Role/kube-public/kubeadm:bootstrap-signer-clusterinfo',
    subject: 'User:system:anonymous',
    why: 'kubeadm join reads the signed cluster-info ConfigMap of kube-public before it has credentials; the Role allows get on that one ConfigMap by name.',
  },
  aggregation('admin', 'system:aggregate-to-admin', 'The bootstrap rules of admin beyond edit: managing Roles and RoleBindings of the namespace.'),
  aggregation('edit', 'system:aggregate-to-edit', 'The bootstrap rules of edit beyond view: writing workloads, Secrets and ConfigMaps of the namespace.'),
  aggregation('view', 'system:aggregate-to-view', 'The bootstrap rules of view: reading the namespace (no Secrets).'),
  aggregation('admin', 'edit', 'admin includes edit by design (edit carries the aggregate-to-admin label).'),
  aggregation('edit', 'view', 'edit includes view by design (view carries the aggregate-to-edit label).'),
];
