// Rancher's k3s self-assessment guide for CIS Kubernetes 1.8, its node section (4): control
// ids, automated or manual and audit targets from kube-bench's cfg/k3s-cis-1.8/node.yaml.
// kube-bench marks 4.1.1, 4.1.2, 4.1.9, 4.1.10 and 4.2.7 as not applicable on k3s (no
// kubelet unit of its own, no kubelet config file, no host-name override by default): our
// checks judge what the node really has and skip, saying why, where there is nothing to judge.
// kube-bench reads the kubelet's flags from k3s's journal ("Running kubelet"); we read them
// from the running process, like any kubelet's. Titles and remediation are ours.
import { rancherNodeControls } from './rancher-node.js';
import { CIS_KUBERNETES_NODE_SECTION, type Benchmark } from './types.js';

const JOURNAL = 'kube-bench reads the kubelet\'s flags from the k3s journal (the "Running kubelet" line); nodeward reads them from the running k3s process';

export const K3S_CIS: Benchmark = {
  name: 'k3s-cis-1.8',
  title: 'k3s CIS Kubernetes 1.8 self-assessment (node)',
  source: 'kube-bench cfg/k3s-cis-1.8/node.yaml',
  ...CIS_KUBERNETES_NODE_SECTION,
  native: false,
  controls: rancherNodeControls({
    product: 'k3s',
    configFile: '/etc/rancher/k3s/config.yaml (or a file in config.yaml.d)',
    restart: 'restart k3s (systemctl restart k3s, or k3s-agent on an agent node)',
    agentDir: '/var/lib/rancher/k3s/agent',
    manual: ['4.2.5', '4.2.8', '4.2.12', '4.2.13'],
    audits: {
      '4.1.3': '/var/lib/rancher/k3s/agent/kubeproxy.kubeconfig',
      '4.1.4': '/var/lib/rancher/k3s/agent/kubeproxy.kubeconfig',
      '4.1.5': '/var/lib/rancher/k3s/agent/kubelet.kubeconfig',
      '4.1.6': '/var/lib/rancher/k3s/agent/kubelet.kubeconfig',
      '4.1.7': '/var/lib/rancher/k3s/agent/client-ca.crt',
      '4.1.8': '/var/lib/rancher/k3s/agent/client-ca.crt',
      ...Object.fromEntries(['4.2.1', '4.2.2', '4.2.3', '4.2.4', '4.2.5', '4.2.6', '4.2.7', '4.2.8', '4.2.9', '4.2.10', '4.2.11', '4.2.12', '4.2.13']
        .map((c) => [c, JOURNAL])),
    },
  }),
  notCovered: [],
};
