// CIS Kubernetes 1.24 as kube-bench applies it to MicroK8s (cfg/cis-1.24-microk8s/node.yaml),
// its node section (4): control ids, automated or manual, audit targets. Numbered as CIS
// Kubernetes 1.24, which still had --protect-kernel-defaults as 4.2.6: from 4.2.7 on its
// controls are CIS 1.12's one number lower (its 4.2.7, make-iptables-util-chains, is 4.2.6
// today). MicroK8s runs the kubelet inside kubelite and takes its flags from the snap's args
// file. Titles and remediation are ours.
import { CIS_KUBERNETES_NODE_SECTION, type Benchmark, type BenchmarkControl } from './types.js';

const ARGS = '/var/snap/microk8s/current/args/kubelet';
const RESTART = 'restart MicroK8s (sudo snap restart microk8s)';
const AUTOMATED = ['4.1.1', '4.1.2', '4.1.5', '4.1.6', '4.2.1', '4.2.2', '4.2.3', '4.2.6', '4.2.7', '4.2.11'];

/** `control` of this benchmark decided by `cis-<cis>`; `stricter`: its own test, then not the CIS control. */
function c(control: string, cis: string, title: string, remediation: string, extra: { stricter?: BenchmarkControl['test']; audits?: string } = {}): BenchmarkControl {
  return {
    control, check: `cis-${cis}`, title, remediation, scored: AUTOMATED.includes(control),
    ...(extra.stricter === undefined ? { cis } : { test: extra.stricter }),
    ...(extra.audits === undefined ? {} : { audits: extra.audits }),
  };
}

const arg = (flag: string): string => `Put ${flag} on its own line in ${ARGS} (replacing any other value of it), then ${RESTART}.`;
const file = (what: string, path: string, cmd: string): string => `MicroK8s keeps ${what} at ${path}: run ${cmd} on it; a snap refresh may rewrite it, so check again after one.`;
const KUBECONFIG = '/var/snap/microk8s/current/credentials/kubelet.config';
const PROXY = '/var/snap/microk8s/current/credentials/proxy.config';
const CA = '/var/snap/microk8s/current/certs/ca.crt';
const UNIT = 'the snap\'s kubelite unit (/etc/systemd/system/snap.microk8s.daemon-kubelite.service)';

export const MICROK8S_CIS: Benchmark = {
  name: 'cis-1.24-microk8s',
  title: 'CIS Kubernetes 1.24 for MicroK8s (node)',
  source: 'kube-bench cfg/cis-1.24-microk8s/node.yaml',
  ...CIS_KUBERNETES_NODE_SECTION,
  native: false,
  controls: [
    c('4.1.1', '4.1.1', 'Kubelet service unit files are mode 0600 or stricter', `Run chmod 600 on ${UNIT} and its drop-ins, then systemctl daemon-reload.`, { audits: UNIT }),
    c('4.1.2', '4.1.2', 'Kubelet service unit files are owned by root:root', `Run chown root:root on ${UNIT} and its drop-ins, then systemctl daemon-reload.`, { audits: UNIT }),
    c('4.1.3', '4.1.3', 'kube-proxy kubeconfig file mode is 0600 or stricter', file('kube-proxy\'s kubeconfig', PROXY, 'chmod 600'), { audits: PROXY }),
    c('4.1.4', '4.1.4', 'kube-proxy kubeconfig file is owned by root:root', file('kube-proxy\'s kubeconfig', PROXY, 'chown root:root'), { audits: PROXY }),
    c('4.1.5', '4.1.5', 'Kubelet kubeconfig file mode is 0600 or stricter', file('the kubelet\'s kubeconfig', KUBECONFIG, 'chmod 600'), { audits: KUBECONFIG }),
    c('4.1.6', '4.1.6', 'Kubelet kubeconfig file is owned by root:root', file('the kubelet\'s kubeconfig', KUBECONFIG, 'chown root:root'), { audits: KUBECONFIG }),
    // kube-bench's MicroK8s config asks 600 of the client CA; CIS Kubernetes 1.12's 4.1.7 asks 644.
    c('4.1.7', '4.1.7', 'Kubelet client CA file mode is 0600 or stricter', file('the cluster CA the kubelet trusts', CA, 'chmod 600'),
      { stricter: { op: 'bitmask-mode-at-most', value: '600' }, audits: CA }),
    c('4.1.8', '4.1.8', 'Kubelet client CA file is owned by root:root', file('the cluster CA the kubelet trusts', CA, 'chown root:root'), { audits: CA }),
    c('4.1.9', '4.1.9', 'Kubelet config file and drop-ins are mode 0600 or stricter',
      `MicroK8s passes kubelet settings as flags (${ARGS}); when a --config file or drop-ins are used, run chmod 600 on each.`),
    c('4.1.10', '4.1.10', 'Kubelet config file and drop-ins are owned by root:root', 'When a --config file or drop-ins are used, run chown root:root on each.'),
    c('4.2.1', '4.2.1', 'Kubelet refuses anonymous requests', arg('--anonymous-auth=false'), { audits: ARGS }),
    c('4.2.2', '4.2.2', 'Kubelet authorizes requests (not AlwaysAllow)', arg('--authorization-mode=Webhook'), { audits: ARGS }),
    c('4.2.3', '4.2.3', 'Kubelet verifies client certificates against a CA', arg(`--client-ca-file=${CA}`), { audits: ARGS }),
    c('4.2.4', '4.2.4', 'Kubelet unauthenticated read-only port is off', arg('--read-only-port=0'), { audits: ARGS }),
    c('4.2.5', '4.2.5', 'Kubelet closes idle streaming connections', arg('--streaming-connection-idle-timeout=5m'), { audits: ARGS }),
    c('4.2.7', '4.2.6', 'Kubelet keeps its iptables utility chains', arg('--make-iptables-util-chains=true'), { audits: ARGS }),
    c('4.2.8', '4.2.7', 'Kubelet does not override its host name', `Remove --hostname-override from ${ARGS} unless the cloud requires it, then ${RESTART}.`, { audits: ARGS }),
    c('4.2.9', '4.2.8', 'Kubelet event rate limit keeps security events', arg('--event-qps=0'), { audits: ARGS }),
    c('4.2.10', '4.2.9', 'Kubelet serves its API with a certificate the API server can verify',
      `Point --tls-cert-file and --tls-private-key-file in ${ARGS} at a certificate issued for this node (MicroK8s writes its own under /var/snap/microk8s/current/certs), then ${RESTART}.`, { audits: ARGS }),
    c('4.2.11', '4.2.10', 'Kubelet renews its client certificate', arg('--rotate-certificates=true'), { audits: ARGS }),
    c('4.2.12', '4.2.11', 'Kubelet serving-certificate rotation stays on', `Remove RotateKubeletServerCertificate=false from --feature-gates in ${ARGS}, then ${RESTART}.`, { audits: ARGS }),
    c('4.2.13', '4.2.12', 'Kubelet offers only strong TLS cipher suites',
      arg('--tls-cipher-suites=TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384'), { audits: ARGS }),
  ],
  notCovered: [
    {
      control: '4.2.6', title: 'Kubelet protects the kernel defaults (--protect-kernel-defaults)',
      why: 'CIS Kubernetes 1.12 dropped this control and no nodeward check requires the flag; kernel-protect-defaults judges the kernel values only while the flag is on',
    },
  ],
};
