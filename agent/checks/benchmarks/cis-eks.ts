// CIS Amazon EKS Benchmark 1.7.0, its worker node section (3): control ids, automated or
// manual, and audit targets read from kube-bench's cfg/eks-1.7.0/node.yaml (eks-1.8.0 numbers
// and scores the node section the same). Titles and remediation are ours.
// EKS asks mode 644 of the kubelet's kubeconfig and config file where CIS Kubernetes asks 600:
// those two controls are judged at 644 and claim no CIS Kubernetes control.
import { managedKubeletControls } from './managed-kubelet.js';
import { MANAGED_NODE_SECTION, type Benchmark } from './types.js';

const MODE_644 = { op: 'bitmask-mode-at-most', value: '644' } as const;
const DURABLE = 'on managed node groups put the setting in the launch template\'s user data (nodeadm NodeConfig kubelet.config) so new nodes get it';

export const CIS_EKS: Benchmark = {
  name: 'cis-eks-1.7',
  title: 'CIS Amazon EKS Benchmark 1.7.0 (worker nodes)',
  source: 'kube-bench cfg/eks-1.7.0/node.yaml',
  ...MANAGED_NODE_SECTION,
  native: false,
  controls: [
    {
      control: '3.1.1', check: 'cis-4.1.5', scored: true, test: MODE_644,
      title: 'Kubelet kubeconfig file mode is 0644 or stricter',
      remediation: 'Run chmod 644 (or stricter) on the kubeconfig the kubelet authenticates with (on Amazon Linux nodes /var/lib/kubelet/kubeconfig).',
      audits: 'the kubelet\'s --kubeconfig file: /var/lib/kubelet/kubeconfig on Amazon Linux 2 and 2023',
    },
    {
      control: '3.1.2', check: 'cis-4.1.6', cis: '4.1.6', scored: true,
      title: 'Kubelet kubeconfig file is owned by root:root',
      remediation: 'Run chown root:root on the kubeconfig the kubelet authenticates with (on Amazon Linux nodes /var/lib/kubelet/kubeconfig).',
      audits: 'the kubelet\'s --kubeconfig file: /var/lib/kubelet/kubeconfig on Amazon Linux 2 and 2023',
    },
    {
      control: '3.1.3', check: 'cis-4.1.9', scored: true, test: MODE_644,
      title: 'Kubelet config file and drop-ins are mode 0644 or stricter',
      remediation: 'Run chmod 644 (or stricter) on the kubelet\'s config file and on every drop-in of its config directory.',
      audits: 'the kubelet\'s --config file: /etc/kubernetes/kubelet/kubelet-config.json on Amazon Linux 2, '
        + '/etc/kubernetes/kubelet/config.json and its config.json.d drop-ins (nodeadm) on Amazon Linux 2023',
    },
    {
      control: '3.1.4', check: 'cis-4.1.10', cis: '4.1.10', scored: true,
      title: 'Kubelet config file and drop-ins are owned by root:root',
      remediation: 'Run chown root:root on the kubelet\'s config file and on every drop-in of its config directory.',
      audits: 'the kubelet\'s --config file: /etc/kubernetes/kubelet/kubelet-config.json on Amazon Linux 2, '
        + '/etc/kubernetes/kubelet/config.json and its config.json.d drop-ins (nodeadm) on Amazon Linux 2023',
    },
    ...managedKubeletControls({ configFile: 'the kubelet config file (/etc/kubernetes/kubelet/kubelet-config.json, or a nodeadm drop-in on Amazon Linux 2023)', durable: DURABLE }),
  ],
  notCovered: [],
};
