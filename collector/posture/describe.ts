// The posture checks in words, from their data (rbac-checks.ts, workload-checks.ts): what each
// reads and when it fails, for the generated check reference (docs/checks.md). One entry per
// check id: a check id judged by two tests (5.1.5 on workloads and on namespaces, 5.3.2 by
// direction) is one entry whose sentences are joined.
import type { Severity } from '../../proto/domain.js';
import { RBAC_CATEGORY, RBAC_CHECKS, type RbacCheck, type RuleTest, type Target } from './rbac-checks.js';
import { WORKLOAD_CHECKS, type ClusterCheck, type NamespaceTest, type WorkloadTest } from './workload-checks.js';

export interface PostureCheckEntry {
  readonly id: string;
  readonly title: string;
  readonly category: string;
  readonly severity: Severity;
  readonly references: readonly string[];
  readonly reads: string;
  readonly remediation: string;
}

const target = (t: Target): string => `${t.group === '' ? '' : `${t.group}/`}${t.resource}${t.subresource ? `/${t.subresource}` : ''}`;

function ruleTest(test: RuleTest): string {
  switch (test.op) {
    case 'any':
      return 'any rule';
    case 'wildcard':
      return 'a rule with "*" (or "*/<subresource>") in its verbs, resources or apiGroups';
    case 'grants':
      return `a rule that allows ${test.access.map((a) => `${a.verbs.join(', ')} on ${a.targets.map(target).join(', ')}`).join('; or ')} (matched as the RBAC authorizer matches, "*" included; resourceNames do not excuse it)`;
  }
}

function rbacReads(c: RbacCheck): string {
  if (c.kind === 'aggregation') {
    const labels = Object.entries(c.labels).map(([label, role]) => `${label}=true (into ${role})`).join(', ');
    return `ClusterRoles from the Kubernetes API. Fails for a ClusterRole labelled ${labels}: the controller manager adds its rules to that role everywhere it is bound.`;
  }
  const bindings = c.role !== undefined ? `bindings to the ClusterRole ${c.role}` : 'every ClusterRoleBinding and RoleBinding';
  const subjects = c.subjects ? ` whose subjects include ${c.subjects.map((s) => `${s.kind} ${s.name}`).join(', ')}` : '';
  return `RBAC objects from the Kubernetes API: ${bindings}${subjects}, with the role each refers to. Fails for each subject of a binding that makes effective ${ruleTest(c.test)}; the finding names the subject, the binding, the role and the rules.`;
}

const WORKLOAD_READS: { readonly [K in WorkloadTest['op']]: (t: Extract<WorkloadTest, { op: K }>) => string } = {
  'pod-flag': (t) => `a pod sets spec.${t.field}: true`,
  privileged: () => 'a container sets securityContext.privileged: true',
  escalation: () => 'a container does not set securityContext.allowPrivilegeEscalation: false',
  root: () => 'a container may run as root: runAsUser 0, or no runAsUser and runAsNonRoot not true (the container\'s, else the pod\'s)',
  'net-raw': () => 'a container is privileged, adds NET_RAW or ALL, or drops neither NET_RAW nor ALL',
  capabilities: () => 'a container does not drop ALL, or adds a capability beyond NET_BIND_SERVICE',
  'host-process': () => 'a container or pod sets windowsOptions.hostProcess: true',
  'host-path': () => 'a pod mounts a hostPath volume',
  'host-port': () => 'a container asks for a hostPort',
  'proc-mount': () => 'a container sets securityContext.procMount to anything but Default',
  seccomp: () => 'a container has no seccomp profile of type RuntimeDefault or Localhost, in the container or the pod',
  'secret-env': () => 'a container reads a Secret into its environment (env valueFrom.secretKeyRef or envFrom.secretRef; names only, never values)',
  'default-service-account': () => "a pod runs as its namespace's default ServiceAccount",
  'token-automount': () => 'a pod mounts a service account token (automountServiceAccountToken not false on the pod, nor on its ServiceAccount)',
  'in-namespace': (t) => `a workload runs in the ${t.namespace} namespace`,
};

const NAMESPACE_READS: { readonly [K in NamespaceTest['op']]: (t: Extract<NamespaceTest, { op: K }>) => string } = {
  'psa-enforce': () => 'a namespace with pods has no pod-security.kubernetes.io/enforce label, enforces privileged, or names no level',
  has: (t) => `a namespace with pods has no ${t.what}`,
  'default-sa-automount': () => 'the default ServiceAccount of a namespace with pods does not set automountServiceAccountToken: false',
  'policy-coverage': (t) => `a namespace has a pod (not on the host network) that no ${t.direction} policy selects: a NetworkPolicy, or a Calico or Cilium policy where their CRDs are served`,
};

function workloadReads(c: ClusterCheck): string {
  if (c.scope === 'workload') {
    const when = (WORKLOAD_READS[c.test.op] as (t: WorkloadTest) => string)(c.test);
    return `fails for a workload (every replica is one finding) when ${when}${c.pss ? ` (forbidden by the Pod Security Standard ${c.pss})` : ''}`;
  }
  return `fails when ${(NAMESPACE_READS[c.test.op] as (t: NamespaceTest) => string)(c.test)}`;
}

const KINDS_READ = 'Pods, Namespaces and ServiceAccounts from the Kubernetes API (NetworkPolicies, quotas and limit ranges where the check needs them); what a fresh kubeadm cluster and nodeward itself hold on purpose is reported as expected, not raised';

/** Every posture check, one entry per id, in the order the data lists them. */
export function postureCheckEntries(): PostureCheckEntry[] {
  const out = new Map<string, PostureCheckEntry>();
  for (const c of RBAC_CHECKS) {
    out.set(c.id, { id: c.id, title: c.title, category: RBAC_CATEGORY, severity: c.severity, references: c.references, reads: rbacReads(c), remediation: c.remediation });
  }
  for (const c of WORKLOAD_CHECKS) {
    const prev = out.get(c.id);
    if (!prev) {
      out.set(c.id, { id: c.id, title: c.title, category: c.category, severity: c.severity, references: c.references, reads: `${KINDS_READ}. It ${workloadReads(c)}.`, remediation: c.remediation });
      continue;
    }
    const joined = (a: string, b: string): string => (a === b || a.includes(b) ? a : `${a} ${b}`);
    out.set(c.id, {
      ...prev,
      title: prev.title === c.title ? prev.title : `${prev.title}; ${c.title.charAt(0).toLowerCase()}${c.title.slice(1)}`,
      reads: `${prev.reads.replace(/\.$/, '')}; it also ${workloadReads(c)}.`,
      remediation: joined(prev.remediation, c.remediation),
    });
  }
  return [...out.values()];
}
