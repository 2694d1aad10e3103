// Rancher's rke2 self-assessment guide for CIS Kubernetes 1.8, its node section (4): control
// ids, automated or manual and audit targets from kube-bench's cfg/rke2-cis-1.8/node.yaml.
// kube-bench marks 4.1.9 and 4.1.10 not applicable (rke2 passes kubelet settings as flags and
// drop-ins under /var/lib/rancher/rke2/agent/etc/kubelet.conf.d): our checks judge the config
// file and drop-ins the running kubelet reads, and skip when it reads none.
// Titles and remediation are ours.
import { rancherNodeControls } from './rancher-node.js';
import { CIS_KUBERNETES_NODE_SECTION, type Benchmark } from './types.js';

const DROPINS = 'kube-bench reads the kubelet\'s config from /var/lib/rancher/rke2/agent/etc/kubelet.conf.d; nodeward reads the --config file and --config-dir drop-ins the running kubelet names';

export const RKE2_CIS: Benchmark = {
  name: 'rke2-cis-1.8',
  title: 'rke2 CIS Kubernetes 1.8 self-assessment (node)',
  source: 'kube-bench cfg/rke2-cis-1.8/node.yaml',
  ...CIS_KUBERNETES_NODE_SECTION,
  native: false,
  controls: rancherNodeControls({
    product: 'rke2',
    configFile: '/etc/rancher/rke2/config.yaml (or a file in config.yaml.d)',
    restart: 'restart rke2 (systemctl restart rke2-server, or rke2-agent on an agent node)',
    agentDir: '/var/lib/rancher/rke2/agent',
    manual: ['4.1.9', '4.1.10', '4.2.5', '4.2.7', '4.2.8', '4.2.9', '4.2.11', '4.2.13'],
    audits: {
      '4.1.3': '/var/lib/rancher/rke2/agent/kubeproxy.kubeconfig',
      '4.1.4': '/var/lib/rancher/rke2/agent/kubeproxy.kubeconfig',
      '4.1.5': '/var/lib/rancher/rke2/agent/kubelet.kubeconfig',
      '4.1.6': '/var/lib/rancher/rke2/agent/kubelet.kubeconfig',
      '4.1.7': '/var/lib/rancher/rke2/agent/client-ca.crt',
      '4.1.8': '/var/lib/rancher/rke2/agent/client-ca.crt',
      ...Object.fromEntries(['4.1.9', '4.1.10', '4.2.1', '4.2.2', '4.2.3', '4.2.4', '4.2.5', '4.2.6', '4.2.7', '4.2.8', '4.2.9', '4.2.10', '4.2.11', '4.2.12', '4.2.13']
        .map((c) => [c, DROPINS])),
    },
  }),
  notCovered: [],
};
