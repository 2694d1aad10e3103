// CIS Kubernetes 1.12 section 5.1 (RBAC), as data over the RBAC model: each check says which
// bindings it looks at (all, or those to one role), which subjects (all, or some), and what a
// rule must grant to fail it, over a small closed set of rule tests. The engine is
// rbac-judge.ts; the grants a fresh kubeadm cluster holds by design are rbac-defaults.ts.
//
// A check judges grants, not roles: a role bound to nobody grants nothing and raises nothing
// until it is bound. A rule that names objects (resourceNames) still fails a check: access to
// one named Secret is access to a Secret; the finding shows the names.
import { cisRef } from '../../proto/benchmark-refs.js';
import type { Severity } from '../../proto/domain.js';
import type { Subject } from './rbac-objects.js';

/** The category posture findings carry (the node categories are proto/domain.ts's). */
export const RBAC_CATEGORY = 'rbac';

/** An API resource a rule can grant: group ('' is core), resource, and a subresource or ''. */
export interface Target {
  readonly group: string;
  readonly resource: string;
  readonly subresource?: string;
}

/** Verbs on targets: the rule grants this access when it allows one of the verbs on one of the targets. */
export interface Access {
  readonly verbs: readonly string[];
  readonly targets: readonly Target[];
}

/** What a rule must grant to fail a check: the closed set of rule tests. */
export type RuleTest =
  /** Any verb of an access on any of its targets (on any object: resourceNames are reported, not excused). */
  | { readonly op: 'grants'; readonly access: readonly Access[] }
  /** A literal "*" (or `*\/sub`) among the rule's verbs, resources or apiGroups. */
  | { readonly op: 'wildcard' }
  /** Every rule the binding makes effective (for checks that judge the binding itself). */
  | { readonly op: 'any' };

export interface GrantCheck {
  readonly kind: 'grant';
  readonly id: string;
  readonly references: readonly string[];
  readonly title: string;
  readonly severity: Severity;
  /** Only bindings to this ClusterRole (from a ClusterRoleBinding or a RoleBinding). */
  readonly role?: string;
  /** Only these subjects. */
  readonly subjects?: readonly Subject[];
  readonly test: RuleTest;
  readonly remediation: string;
}

/** ClusterRoles whose label pours their rules into an aggregated role (admin, edit, view). */
export interface AggregationCheck {
  readonly kind: 'aggregation';
  readonly id: string;
  readonly references: readonly string[];
  readonly title: string;
  readonly severity: Severity;
  /** label key -> the aggregated ClusterRole it widens. */
  readonly labels: Readonly<Record<string, string>>;
  readonly remediation: string;
}

export type RbacCheck = GrantCheck | AggregationCheck;

const READ = ['get', 'list', 'watch'];
const WRITE = ['create', 'update', 'patch', 'delete', 'deletecollection'];
const core = (resource: string, subresource?: string): Target => (subresource === undefined ? { group: '', resource } : { group: '', resource, subresource });

/** Pods, and the workloads whose controllers create pods for whoever creates them. */
export const POD_CREATORS: readonly Target[] = [
  core('pods'),
  { group: 'apps', resource: 'deployments' },
  { group: 'apps', resource: 'daemonsets' },
  { group: 'apps', resource: 'statefulsets' },
  { group: 'apps', resource: 'replicasets' },
  { group: 'batch', resource: 'jobs' },
  { group: 'batch', resource: 'cronjobs' },
  core('replicationcontrollers'),
];

export const RBAC_CHECKS: readonly RbacCheck[] = [
  {
    kind: 'grant',
    id: 'cis-5.1.1',
    references: [cisRef('5.1.1')],
    title: 'The cluster-admin role is bound only where required',
    severity: 'high',
    role: 'cluster-admin',
    test: { op: 'any' },
    remediation:
      'Bind the subject to a role that grants what it uses instead (a namespaced RoleBinding where it works in one namespace), ' +
      'then delete the binding to cluster-admin: kubectl delete clusterrolebinding <name> (or rolebinding -n <namespace> <name>).',
  },
  {
    kind: 'grant',
    id: 'cis-5.1.2',
    references: [cisRef('5.1.2')],
    title: 'Access to Secrets is minimized',
    severity: 'high',
    test: { op: 'grants', access: [{ verbs: READ, targets: [core('secrets')] }] },
    remediation:
      'Remove get, list and watch on secrets from the rule, or narrow it with resourceNames to the Secrets the subject needs. ' +
      'list and watch return every Secret\'s data, not only names.',
  },
  {
    kind: 'grant',
    id: 'cis-5.1.3',
    references: [cisRef('5.1.3')],
    title: 'Roles do not use wildcards',
    severity: 'medium',
    test: { op: 'wildcard' },
    remediation:
      'Replace "*" in the rule\'s verbs, resources and apiGroups with the verbs, resources and groups the subject uses: ' +
      'a wildcard also grants every resource and verb added later (CRDs included).',
  },
  {
    kind: 'grant',
    id: 'cis-5.1.4',
    references: [cisRef('5.1.4')],
    title: 'Creating pods, and workloads that create pods, is minimized',
    severity: 'medium',
    test: { op: 'grants', access: [{ verbs: ['create'], targets: POD_CREATORS }] },
    remediation:
      'Remove create on pods and on workloads (deployments, daemonsets, statefulsets, replicasets, jobs, cronjobs, ' +
      'replicationcontrollers) where the subject does not deploy: whoever creates a pod can run it with any ServiceAccount ' +
      'of its namespace and read every Secret that pod may mount.',
  },
  {
    kind: 'grant',
    id: 'cis-5.1.8',
    references: [cisRef('5.1.8')],
    title: 'The bind, escalate and impersonate verbs are limited',
    severity: 'high',
    test: {
      op: 'grants',
      access: [{
        verbs: ['bind', 'escalate', 'impersonate'],
        targets: [
          { group: 'rbac.authorization.k8s.io', resource: 'roles' },
          { group: 'rbac.authorization.k8s.io', resource: 'clusterroles' },
          core('users'),
          core('groups'),
          core('serviceaccounts'),
          { group: 'authentication.k8s.io', resource: 'uids' },
        ],
      }],
    },
    remediation:
      'Remove bind, escalate and impersonate from the rule: bind and escalate let the subject grant itself any permission, ' +
      'impersonate lets it act as any user, group or ServiceAccount it names.',
  },
  {
    kind: 'grant',
    id: 'cis-5.1.9',
    references: [cisRef('5.1.9')],
    title: 'Creating PersistentVolumes is minimized',
    severity: 'medium',
    test: { op: 'grants', access: [{ verbs: ['create'], targets: [core('persistentvolumes')] }] },
    remediation: 'Remove create on persistentvolumes: a hostPath PersistentVolume mounts any directory of a node into a pod.',
  },
  {
    kind: 'grant',
    id: 'cis-5.1.10',
    references: [cisRef('5.1.10')],
    title: 'Access to the proxy subresource of nodes is minimized',
    severity: 'high',
    test: { op: 'grants', access: [{ verbs: [...READ, ...WRITE], targets: [core('nodes', 'proxy')] }] },
    remediation:
      'Remove access to nodes/proxy: it reaches the kubelet API (exec into any pod on the node) past the API server\'s ' +
      'admission and audit.',
  },
  {
    kind: 'grant',
    id: 'cis-5.1.11',
    references: [cisRef('5.1.11')],
    title: 'Approving certificate signing requests is minimized',
    severity: 'high',
    test: {
      op: 'grants',
      access: [
        { verbs: ['update', 'patch'], targets: [{ group: 'certificates.k8s.io', resource: 'certificatesigningrequests', subresource: 'approval' }] },
        { verbs: ['approve'], targets: [{ group: 'certificates.k8s.io', resource: 'signers' }] },
      ],
    },
    remediation:
      'Remove update on certificatesigningrequests/approval and approve on signers: with both, a subject can have any ' +
      'client certificate signed, including one for system:masters with a signer that allows it.',
  },
  {
    kind: 'grant',
    id: 'cis-5.1.12',
    references: [cisRef('5.1.12')],
    title: 'Writing admission webhook configurations is minimized',
    severity: 'high',
    test: {
      op: 'grants',
      access: [{
        verbs: WRITE,
        targets: [
          { group: 'admissionregistration.k8s.io', resource: 'validatingwebhookconfigurations' },
          { group: 'admissionregistration.k8s.io', resource: 'mutatingwebhookconfigurations' },
          { group: 'admissionregistration.k8s.io', resource: 'validatingadmissionpolicies' },
          { group: 'admissionregistration.k8s.io', resource: 'validatingadmissionpolicybindings' },
          { group: 'admissionregistration.k8s.io', resource: 'mutatingadmissionpolicies' },
          { group: 'admissionregistration.k8s.io', resource: 'mutatingadmissionpolicybindings' },
        ],
      }],
    },
    remediation:
      'Remove write access to admission webhook configurations and admission policies: a mutating webhook sees, and can ' +
      'change, every object it selects (Secrets included); removing a validating one lifts a guard.',
  },
  {
    kind: 'grant',
    id: 'cis-5.1.13',
    references: [cisRef('5.1.13')],
    title: 'Creating ServiceAccount tokens is minimized',
    severity: 'high',
    test: { op: 'grants', access: [{ verbs: ['create'], targets: [core('serviceaccounts', 'token')] }] },
    remediation: 'Remove create on serviceaccounts/token: it mints a token for any ServiceAccount the rule reaches, with all its permissions.',
  },
  {
    kind: 'grant',
    id: 'rbac-public-groups',
    references: [],
    title: 'Anonymous and all-authenticated callers are bound only as Kubernetes does',
    severity: 'high',
    subjects: [
      { kind: 'User', name: 'system:anonymous' },
      { kind: 'Group', name: 'system:unauthenticated' },
      { kind: 'Group', name: 'system:authenticated' },
    ],
    test: { op: 'any' },
    remediation:
      'Remove system:anonymous, system:unauthenticated and system:authenticated from the binding: they stand for every caller ' +
      'without credentials and every caller with any credentials (every ServiceAccount token included). Bind the users, ' +
      'groups or ServiceAccounts that need the role.',
  },
  {
    kind: 'aggregation',
    id: 'rbac-aggregate-widens',
    references: [],
    title: 'No ClusterRole silently widens admin, edit or view',
    severity: 'medium',
    labels: {
      'rbac.authorization.k8s.io/aggregate-to-admin': 'admin',
      'rbac.authorization.k8s.io/aggregate-to-edit': 'edit',
      'rbac.authorization.k8s.io/aggregate-to-view': 'view',
    },
    remediation:
      'Remove the aggregate-to-admin/-edit/-view label (or set it to "false") unless every subject bound to that role, in ' +
      'every namespace, should have these rules; bind a role of its own where only some should. A role aggregated into ' +
      'view also reaches edit and admin.',
  },
];
