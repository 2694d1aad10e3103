// What a fresh kubeadm cluster and nodeward's own manifests hold by design, as data: each
// entry would fail a workload or namespace check (workload-checks.ts) and is how Kubernetes,
// kubeadm or nodeward works. Those findings are reported as expected, with the reason below,
// and are not raised.
//
// An entry names one namespace and one workload (`DaemonSet/kube-proxy`; `Pod/etcd` with
// `mirror`, which only a static pod's mirror matches, never a Pod of that name made through
// the API) or the namespace itself (`Namespace`), the checks it excuses, and, where the check
// finds values (capabilities, host paths), the only values it excuses: the agent DaemonSet
// with one more capability or host path than manifests/agent/daemonset.yaml gives it is a
// finding. A namespace check on a coverage direction is named `cis-5.3.2:ingress|egress`.
//
// The kubeadm facts are those of kubeadm 1.33's static pod manifests and add-ons (etcd,
// kube-apiserver, kube-controller-manager, kube-scheduler; kube-proxy; CoreDNS). A CNI's pods
// (calico-node, cilium) in kube-system are not kubeadm's: they are findings, to be judged by
// whoever installed them.

export interface ExpectedPosture {
  readonly namespace: string;
  /** `<Kind>/<name>` of a workload, or `Namespace` for the namespace's own checks. */
  readonly object: string;
  /** Only when every pod of the workload is a static pod's mirror. */
  readonly mirror?: boolean;
  /** Check ids (`cis-5.3.2:egress` for one direction of coverage), or 'all'. */
  readonly checks: readonly string[] | 'all';
  /** When set, only violations with one of these values are expected. */
  readonly values?: readonly string[];
  readonly why: string;
}

const CONTROL_PLANE_WHY =
  'a kubeadm control-plane static pod: it runs on the node\'s network (the API server and etcd are what pods reach the cluster through), as root, ' +
  'with the node\'s certificates and configuration mounted from /etc/kubernetes. The kubelet starts it from /etc/kubernetes/manifests, ' +
  'outside admission; the node agent judges those files (CIS 1.1) and flags (1.2-1.4, 2).';

/** The container checks every kubeadm static pod fails: no securityContext beyond the pod's seccomp profile. */
const STATIC_CHECKS = ['cis-5.2.5', 'cis-5.2.6', 'cis-5.2.7', 'cis-5.2.8', 'cis-5.2.9'];

const staticPod = (name: string, hostPaths: readonly string[]): ExpectedPosture[] => [
  { namespace: 'kube-system', object: `Pod/${name}`, mirror: true, checks: STATIC_CHECKS, why: `${name} is ${CONTROL_PLANE_WHY}` },
  { namespace: 'kube-system', object: `Pod/${name}`, mirror: true, checks: ['cis-5.2.11'], values: hostPaths, why: `${name} is ${CONTROL_PLANE_WHY} These host paths are the ones kubeadm mounts.` },
];

const CA_PATHS = ['/etc/ssl/certs', '/etc/ca-certificates', '/usr/local/share/ca-certificates', '/usr/share/ca-certificates', '/etc/pki'];

const namespace = (ns: string, checks: readonly string[], why: string, values?: readonly string[]): ExpectedPosture =>
  values === undefined ? { namespace: ns, object: 'Namespace', checks, why } : { namespace: ns, object: 'Namespace', checks, values, why };

export const EXPECTED_POSTURE: readonly ExpectedPosture[] = [
  ...staticPod('etcd', ['/etc/kubernetes/pki/etcd', '/var/lib/etcd']),
  ...staticPod('kube-apiserver', [...CA_PATHS, '/etc/kubernetes/pki']),
  ...staticPod('kube-controller-manager', [...CA_PATHS, '/etc/kubernetes/pki', '/etc/kubernetes/controller-manager.conf', '/usr/libexec/kubernetes/kubelet-plugins/volume/exec']),
  ...staticPod('kube-scheduler', ['/etc/kubernetes/scheduler.conf']),
  {
    namespace: 'kube-system', object: 'DaemonSet/kube-proxy',
    checks: ['cis-5.2.2', 'cis-5.2.5', 'cis-5.2.6', 'cis-5.2.7', 'cis-5.2.8', 'cis-5.2.9', 'cis-5.6.2'],
    why: 'kube-proxy (kubeadm\'s add-on) programs the node\'s iptables or IPVS rules for Services: it runs privileged, as root, on the node\'s network.',
  },
  {
    namespace: 'kube-system', object: 'DaemonSet/kube-proxy', checks: ['cis-5.2.11'], values: ['/run/xtables.lock', '/lib/modules'],
    why: 'kube-proxy shares the node\'s iptables lock (/run/xtables.lock) with other writers of the rules and loads IPVS kernel modules from /lib/modules.',
  },
  {
    namespace: 'kube-system', object: 'DaemonSet/kube-proxy', checks: ['cis-5.1.6'], values: ['unset'],
    why: 'kube-proxy watches Services and EndpointSlices through the API with its ServiceAccount\'s token (ClusterRole system:node-proxier).',
  },
  {
    namespace: 'kube-system', object: 'Deployment/coredns', checks: ['cis-5.2.7', 'cis-5.6.2'],
    why: 'CoreDNS as kubeadm deploys it: its container drops every capability but NET_BIND_SERVICE (to serve port 53) and cannot escalate, but sets no non-root user and no seccomp profile.',
  },
  {
    namespace: 'kube-system', object: 'Deployment/coredns', checks: ['cis-5.1.6'], values: ['unset'],
    why: 'CoreDNS watches Services, EndpointSlices and Namespaces through the API with its ServiceAccount\'s token (ClusterRole system:coredns).',
  },
  namespace('kube-system', ['cis-5.2.1'],
    'kube-system holds the control plane and node add-ons (kube-proxy is privileged): no Pod Security level fits all of it, and kubeadm sets none. Who may create pods there is the RBAC checks\' business (CIS 5.1.4).'),
  namespace('kube-system', ['ns-no-resource-quota', 'ns-no-limit-range'],
    'kubeadm sets no quota or limits on kube-system; a quota there could keep CoreDNS or a control-plane component from starting.'),
  namespace('kube-system', ['cis-5.3.2:ingress', 'cis-5.3.2:egress'],
    'kubeadm installs no network policy: CoreDNS serves every pod, and the CNI, not kubeadm, is where policies come from.'),
  namespace('kube-system', ['cis-5.1.5'],
    'The default ServiceAccount of kube-system as the controller manager creates it; kubeadm\'s workloads there run as their own ServiceAccounts (kube-proxy, coredns) or, for static pods, as none.'),

  // nodeward's own footprint (manifests/).
  {
    namespace: 'nodeward-agent', object: 'DaemonSet/nodeward-agent', checks: ['cis-5.2.3', 'cis-5.2.5'],
    why: 'The nodeward agent sees the node\'s processes from the host\'s PID namespace, and reads exec events from the kernel\'s process connector, which exists only in the host\'s network namespace (docs/privileges.md, "Host namespaces").',
  },
  {
    namespace: 'nodeward-agent', object: 'DaemonSet/nodeward-agent', checks: ['cis-5.2.7'], values: ['0'],
    why: 'The nodeward agent runs as root to read root-owned files CIS asks about (kubelet configuration, PKI directories) by ownership, with every capability that bypasses file permissions dropped (docs/privileges.md).',
  },
  {
    namespace: 'nodeward-agent', object: 'DaemonSet/nodeward-agent', checks: ['cis-5.2.9'], values: ['SYS_PTRACE', 'BPF', 'PERFMON', 'NET_ADMIN', 'SYS_RESOURCE'],
    why: 'The nodeward agent drops every capability and adds back SYS_PTRACE (reading /proc/<pid>/exe of the kubelet), BPF and PERFMON (the eBPF exec program), NET_ADMIN (the process connector) and, on kernels 5.8-5.10 only, SYS_RESOURCE (docs/privileges.md, "Capabilities").',
  },
  {
    namespace: 'nodeward-agent', object: 'DaemonSet/nodeward-agent', checks: ['cis-5.2.11'], values: ['/', '/var/lib/nodeward'],
    why: 'The nodeward agent mounts the host\'s / read-only (the files CIS judges) and /var/lib/nodeward, its spool and enrolled key (docs/privileges.md, "Host paths").',
  },
  namespace('nodeward-agent', ['cis-5.2.1'],
    'manifests/namespaces.yaml: nodeward-agent enforces `privileged` because `baseline` refuses the host access the agent exists for, and holds the agent alone; warn and audit stay at baseline, so every departure is reported and recorded.',
    ['privileged']),
  namespace('nodeward-agent', ['ns-no-resource-quota', 'ns-no-limit-range'],
    'The namespace holds the agent DaemonSet alone, whose pod sets its own requests and limits (daemonset.yaml); a quota would keep a new node\'s agent from starting.'),
  namespace('nodeward-agent', ['cis-5.1.5'],
    'No pod of nodeward-agent runs as its default ServiceAccount: the agent runs as nodeward-agent, with token automount off.'),
  {
    namespace: 'nodeward-collector', object: 'StatefulSet/nodeward-collector', checks: ['cis-5.1.6'], values: ['pod:true'],
    why: 'The collector watches pods, nodes and RBAC objects and reviews agent tokens through the API with its ServiceAccount\'s token, which its pod template mounts on purpose (the ServiceAccount itself mounts none).',
  },
  namespace('nodeward-collector', ['ns-no-resource-quota', 'ns-no-limit-range'],
    'The namespace holds the collector StatefulSet alone, whose pod sets its own requests and limits (statefulset.yaml).'),
  namespace('nodeward-collector', ['cis-5.3.2:egress'],
    'manifests/collector/network-policy.yaml limits ingress only: the collector calls the API server and the webhook destinations the operator configures, which only the operator can list in an egress policy (docs/install.md).'),
  namespace('nodeward-collector', ['cis-5.1.5'],
    'No pod of nodeward-collector runs as its default ServiceAccount: the collector runs as nodeward-collector.'),
];
