// CIS Azure Kubernetes Service Benchmark 1.7.0, its worker node section (3): control ids,
// automated or manual, and audit targets from kube-bench's cfg/aks-1.7/node.yaml (aks-1.8 is
// the same). Titles and remediation are ours. AKS asks mode 644 of the kubelet's kubeconfig
// where CIS Kubernetes asks 600. 3.1.3 and 3.1.4 ask about /etc/kubernetes/azure.json (the
// node's cloud-provider credentials), which no nodeward check judges yet: listed as not covered.
import { managedKubeletControls } from './managed-kubelet.js';
import { MANAGED_NODE_SECTION, type Benchmark } from './types.js';

const KUBECONFIG = 'the kubelet\'s --kubeconfig file: /var/lib/kubelet/kubeconfig on AKS Ubuntu and Azure Linux nodes';
const NO_AZURE_JSON = 'no nodeward check reads /etc/kubernetes/azure.json (the node\'s cloud-provider credentials file): the facts do not collect it';

export const CIS_AKS: Benchmark = {
  name: 'cis-aks-1.7',
  title: 'CIS Azure Kubernetes Service Benchmark 1.7.0 (worker nodes)',
  source: 'kube-bench cfg/aks-1.7/node.yaml',
  ...MANAGED_NODE_SECTION,
  native: false,
  controls: [
    {
      control: '3.1.1', check: 'cis-4.1.5', scored: true, test: { op: 'bitmask-mode-at-most', value: '644' }, audits: KUBECONFIG,
      title: 'Kubelet kubeconfig file mode is 0644 or stricter',
      remediation: 'Run chmod 644 (or stricter) on /var/lib/kubelet/kubeconfig; a node image upgrade writes it anew, so check again after one.',
    },
    {
      control: '3.1.2', check: 'cis-4.1.6', cis: '4.1.6', scored: true, audits: KUBECONFIG,
      title: 'Kubelet kubeconfig file is owned by root:root',
      remediation: 'Run chown root:root on /var/lib/kubelet/kubeconfig.',
    },
    ...managedKubeletControls({
      configFile: 'the kubelet config file (or its --config-dir drop-ins)',
      durable: 'for a whole node pool use its custom kubelet configuration (az aks nodepool add --kubelet-config) instead of editing nodes',
    }),
  ],
  notCovered: [
    { control: '3.1.3', title: 'azure.json file mode is 0644 or stricter', why: NO_AZURE_JSON },
    { control: '3.1.4', title: 'azure.json file is owned by root:root', why: NO_AZURE_JSON },
  ],
};
