// CIS Kubernetes 1.12 section 5 beyond RBAC (5.1.5, 5.1.6, 5.2, 5.3.2, 5.4.1, 5.6), and two
// checks of our own on namespaces, as data: each check names its scope (a workload, or a
// namespace) and one test from a closed set; the tests are workload-tests.ts, the engine
// workload-judge.ts, and what a fresh kubeadm cluster and nodeward itself hold by design is
// workload-defaults.ts.
//
// The control numbers are cis-1.12's (kube-bench's cfg/cis-1.12/policies.yaml): 5.2.8 NET_RAW,
// 5.2.9 capabilities, 5.2.10 Windows HostProcess, 5.2.11 hostPath, 5.2.12 hostPorts.
// Workload checks are judged per workload (every replica of a Deployment is one finding).
// Namespace checks are judged on namespaces that hold pods: an empty namespace has nothing to
// protect yet, and the check arms with its first pod.
import { cisRef } from '../../proto/benchmark-refs.js';
import type { Severity } from '../../proto/domain.js';
import type { Direction } from './cluster-objects.js';

/** What a workload check looks at in each of its pods (the tests are workload-tests.ts). */
export type WorkloadTest =
  | { readonly op: 'pod-flag'; readonly field: 'hostNetwork' | 'hostPID' | 'hostIPC' }
  | { readonly op: 'privileged' }
  | { readonly op: 'escalation' }
  | { readonly op: 'root' }
  | { readonly op: 'net-raw' }
  | { readonly op: 'capabilities' }
  | { readonly op: 'host-process' }
  | { readonly op: 'host-path' }
  | { readonly op: 'host-port' }
  | { readonly op: 'proc-mount' }
  | { readonly op: 'seccomp' }
  | { readonly op: 'secret-env' }
  | { readonly op: 'default-service-account' }
  | { readonly op: 'token-automount' }
  | { readonly op: 'in-namespace'; readonly namespace: string };

/** What a namespace check looks at. */
export type NamespaceTest =
  | { readonly op: 'psa-enforce' }
  | { readonly op: 'has'; readonly what: 'ResourceQuota' | 'LimitRange' }
  | { readonly op: 'default-sa-automount' }
  | { readonly op: 'policy-coverage'; readonly direction: Direction };

interface CheckBase {
  readonly id: string;
  readonly references: readonly string[];
  readonly title: string;
  readonly severity: Severity;
  /** `pod-security`, `rbac`, `network-policy`, `secrets`, `general`, `namespace`. */
  readonly category: string;
  /** The Pod Security Standard level that forbids it, when one does. */
  readonly pss?: 'baseline' | 'restricted';
  readonly remediation: string;
}

export interface WorkloadCheck extends CheckBase {
  readonly scope: 'workload';
  readonly test: WorkloadTest;
}

export interface NamespaceCheck extends CheckBase {
  readonly scope: 'namespace';
  readonly test: NamespaceTest;
}

export type ClusterCheck = WorkloadCheck | NamespaceCheck;

const PSS = 'pod-security';
const wl = (c: Omit<WorkloadCheck, 'scope'>): WorkloadCheck => ({ scope: 'workload', ...c });
const ns = (c: Omit<NamespaceCheck, 'scope'>): NamespaceCheck => ({ scope: 'namespace', ...c });

export const WORKLOAD_CHECKS: readonly ClusterCheck[] = [
  wl({
    id: 'cis-5.1.5', references: [cisRef('5.1.5')], title: 'Workloads do not run as their namespace\'s default ServiceAccount',
    severity: 'low', category: 'rbac', test: { op: 'default-service-account' },
    remediation: 'Create a ServiceAccount for the workload (with only the RoleBindings it needs) and set spec.serviceAccountName in its pod template; every pod that names no ServiceAccount shares `default` and whatever is ever bound to it.',
  }),
  ns({
    id: 'cis-5.1.5', references: [cisRef('5.1.5')], title: 'The default ServiceAccount does not mount an API token',
    severity: 'low', category: 'rbac', test: { op: 'default-sa-automount' },
    remediation: 'Set automountServiceAccountToken: false on the namespace\'s default ServiceAccount (kubectl patch serviceaccount default -n <namespace> -p \'{"automountServiceAccountToken": false}\'); pods that need a token use their own ServiceAccount.',
  }),
  wl({
    id: 'cis-5.1.6', references: [cisRef('5.1.6')], title: 'Service account tokens are mounted only where needed',
    severity: 'low', category: 'rbac', test: { op: 'token-automount' },
    remediation: 'Set automountServiceAccountToken: false in the pod template (or on its ServiceAccount) unless the workload calls the Kubernetes API: a mounted token is a credential for anyone who gets code running in the pod. The pod\'s setting wins over the ServiceAccount\'s.',
  }),
  ns({
    id: 'cis-5.2.1', references: [cisRef('5.2.1')], title: 'Namespaces with workloads enforce a Pod Security level',
    severity: 'medium', category: PSS, test: { op: 'psa-enforce' },
    remediation: 'Label the namespace with the strictest level its workloads pass: kubectl label namespace <namespace> pod-security.kubernetes.io/enforce=restricted (or baseline), after a dry run (kubectl label --dry-run=server --overwrite) shows which pods would be refused. `privileged` enforces nothing.',
  }),
  wl({
    id: 'cis-5.2.2', references: [cisRef('5.2.2')], title: 'Containers are not privileged',
    severity: 'high', category: PSS, pss: 'baseline', test: { op: 'privileged' },
    remediation: 'Remove securityContext.privileged: true; add the one capability the container needs instead. A privileged container holds every capability and every device of the node: it is root on the node.',
  }),
  wl({
    id: 'cis-5.2.3', references: [cisRef('5.2.3')], title: 'Pods do not share the host\'s process namespace',
    severity: 'high', category: PSS, pss: 'baseline', test: { op: 'pod-flag', field: 'hostPID' },
    remediation: 'Remove hostPID: true: with it the pod sees every process of the node, their environments and, as root, their memory.',
  }),
  wl({
    id: 'cis-5.2.4', references: [cisRef('5.2.4')], title: 'Pods do not share the host\'s IPC namespace',
    severity: 'medium', category: PSS, pss: 'baseline', test: { op: 'pod-flag', field: 'hostIPC' },
    remediation: 'Remove hostIPC: true: with it the pod reads and writes the shared memory and message queues of every process on the node.',
  }),
  wl({
    id: 'cis-5.2.5', references: [cisRef('5.2.5')], title: 'Pods do not share the host\'s network namespace',
    severity: 'medium', category: PSS, pss: 'baseline', test: { op: 'pod-flag', field: 'hostNetwork' },
    remediation: 'Remove hostNetwork: true: with it the pod listens on and reaches everything the node does (its loopback services included), and no NetworkPolicy applies to it.',
  }),
  wl({
    id: 'cis-5.2.6', references: [cisRef('5.2.6')], title: 'Containers do not allow privilege escalation',
    severity: 'medium', category: PSS, pss: 'restricted', test: { op: 'escalation' },
    remediation: 'Set securityContext.allowPrivilegeEscalation: false on every container. Unset means allowed: a setuid binary in the image can then gain more than the process started with.',
  }),
  wl({
    id: 'cis-5.2.7', references: [cisRef('5.2.7')], title: 'Containers do not run as root',
    severity: 'medium', category: PSS, pss: 'restricted', test: { op: 'root' },
    remediation: 'Set runAsNonRoot: true (pod or container securityContext) and a non-zero runAsUser; without either the image\'s USER decides, and most images run as root.',
  }),
  wl({
    id: 'cis-5.2.8', references: [cisRef('5.2.8')], title: 'Containers do not hold NET_RAW',
    severity: 'low', category: PSS, pss: 'restricted', test: { op: 'net-raw' },
    remediation: 'Drop NET_RAW (capabilities.drop: ["ALL"], or ["NET_RAW"]) and do not add it: container runtimes grant it by default, and it lets a container forge packets and spoof other pods on the node\'s network.',
  }),
  wl({
    id: 'cis-5.2.9', references: [cisRef('5.2.9')], title: 'Containers drop all capabilities and add only what they need',
    severity: 'low', category: PSS, pss: 'restricted', test: { op: 'capabilities' },
    remediation: 'Set capabilities.drop: ["ALL"] and add back only what the process uses (NET_BIND_SERVICE for a port below 1024 is what `restricted` allows).',
  }),
  wl({
    id: 'cis-5.2.10', references: [cisRef('5.2.10')], title: 'No Windows HostProcess containers',
    severity: 'high', category: PSS, pss: 'baseline', test: { op: 'host-process' },
    remediation: 'Remove securityContext.windowsOptions.hostProcess: true: a HostProcess container runs directly on the Windows node, with its access.',
  }),
  wl({
    id: 'cis-5.2.11', references: [cisRef('5.2.11')], title: 'Pods do not mount hostPath volumes',
    severity: 'high', category: PSS, pss: 'baseline', test: { op: 'host-path' },
    remediation: 'Replace hostPath volumes with emptyDir, a PersistentVolumeClaim, a ConfigMap or a Secret; a hostPath exposes the node\'s files (kubelet credentials, the runtime socket) to the pod.',
  }),
  wl({
    id: 'cis-5.2.12', references: [cisRef('5.2.12')], title: 'Containers do not use hostPorts',
    severity: 'medium', category: PSS, pss: 'baseline', test: { op: 'host-port' },
    remediation: 'Remove ports[].hostPort and expose the pod through a Service; a hostPort opens the port on the node\'s address, past NetworkPolicies on some CNIs.',
  }),
  wl({
    id: 'pss-proc-mount', references: [], title: 'Containers keep the default masked /proc',
    severity: 'medium', category: PSS, pss: 'baseline', test: { op: 'proc-mount' },
    remediation: 'Remove securityContext.procMount (or set it to Default): Unmasked exposes the kernel settings and the host\'s information that the runtime hides under /proc.',
  }),
  ns({
    id: 'cis-5.3.2', references: [cisRef('5.3.2')], title: 'Every pod is selected by an ingress network policy',
    severity: 'medium', category: 'network-policy', test: { op: 'policy-coverage', direction: 'ingress' },
    remediation: 'Add a NetworkPolicy (or a Calico or Cilium policy) that selects these pods for Ingress; a default deny for the namespace (podSelector: {}, policyTypes: [Ingress]) then only what each workload serves.',
  }),
  ns({
    id: 'cis-5.3.2', references: [cisRef('5.3.2')], title: 'Every pod is selected by an egress network policy',
    severity: 'medium', category: 'network-policy', test: { op: 'policy-coverage', direction: 'egress' },
    remediation: 'Add a NetworkPolicy (or a Calico or Cilium policy) that selects these pods for Egress; a default deny (podSelector: {}, policyTypes: [Egress]) then DNS and what each workload calls.',
  }),
  wl({
    id: 'cis-5.4.1', references: [cisRef('5.4.1')], title: 'Secrets are mounted as files, not passed as environment variables',
    severity: 'low', category: 'secrets', test: { op: 'secret-env' },
    remediation: 'Mount the Secret as a volume and read the file: environment variables are inherited by every child process, shown by crash reports and debug endpoints, and cannot be rotated without a restart.',
  }),
  wl({
    id: 'cis-5.6.2', references: [cisRef('5.6.2')], title: 'Containers run with a seccomp profile',
    severity: 'low', category: 'general', pss: 'restricted', test: { op: 'seccomp' },
    remediation: 'Set securityContext.seccompProfile.type: RuntimeDefault in the pod (or Localhost with a profile of your own); Unconfined, or unset without the kubelet\'s --seccomp-default, leaves every system call open.',
  }),
  wl({
    id: 'cis-5.6.4', references: [cisRef('5.6.4')], title: 'Workloads do not run in the default namespace',
    severity: 'low', category: 'general', test: { op: 'in-namespace', namespace: 'default' },
    remediation: 'Move the workload to a namespace of its own, where RoleBindings, quotas, Pod Security levels and network policies can be set for it alone.',
  }),
  ns({
    id: 'ns-no-resource-quota', references: [], title: 'Namespaces with workloads have a ResourceQuota',
    severity: 'low', category: 'namespace', test: { op: 'has', what: 'ResourceQuota' },
    remediation: 'Add a ResourceQuota to the namespace (requests, limits, pods, services.loadbalancers ...): without one, one namespace can take the whole cluster\'s capacity.',
  }),
  ns({
    id: 'ns-no-limit-range', references: [], title: 'Namespaces with workloads have a LimitRange',
    severity: 'low', category: 'namespace', test: { op: 'has', what: 'LimitRange' },
    remediation: 'Add a LimitRange with default requests and limits for containers, so that a pod written without them is still bounded.',
  }),
];
