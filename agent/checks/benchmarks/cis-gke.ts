// CIS Google Kubernetes Engine Benchmark 1.8.0, its worker node section (3) as kube-bench's
// cfg/gke-1.8.0/node.yaml has it (gke-1.9.0 is the same): four file controls. The kubelet's
// settings are not in this section (GKE manages them), so only these four are judged under
// it; nodeward's other kubelet checks still run and keep their CIS Kubernetes references.
// kube-bench reads the kubeconfig of 3.1.1 and 3.1.2 at /var/lib/kubelet/kubeconfig: the
// kubelet's. GKE asks mode 644 where CIS Kubernetes asks 600. Titles and remediation are ours.
import type { Benchmark } from './types.js';

const MODE_644 = { op: 'bitmask-mode-at-most', value: '644' } as const;
const KUBECONFIG = 'the kubelet\'s --kubeconfig file: /var/lib/kubelet/kubeconfig on Container-Optimized OS and Ubuntu node images';
const CONFIG = 'the kubelet\'s --config file: /home/kubernetes/kubelet-config.yaml on Container-Optimized OS and Ubuntu node images '
  + '(kube-bench\'s default is /etc/kubernetes/kubelet-config.yaml)';

export const CIS_GKE: Benchmark = {
  name: 'cis-gke-1.8',
  title: 'CIS Google Kubernetes Engine Benchmark 1.8.0 (worker nodes)',
  source: 'kube-bench cfg/gke-1.8.0/node.yaml',
  sourceControls: ['3.1.1', '3.1.2', '3.1.3', '3.1.4'],
  parts: { 3: { text: 'Worker Node Security Configuration', nodeType: 'node' } },
  sections: { '3.1': 'Worker node configuration files' },
  native: false,
  controls: [
    {
      control: '3.1.1', check: 'cis-4.1.5', scored: true, test: MODE_644, audits: KUBECONFIG,
      title: 'Kubelet kubeconfig file mode is 0644 or stricter',
      remediation: 'Run chmod 644 (or stricter) on /var/lib/kubelet/kubeconfig; a node pool upgrade or recreation writes it anew, so check again after one.',
    },
    {
      control: '3.1.2', check: 'cis-4.1.6', cis: '4.1.6', scored: true, audits: KUBECONFIG,
      title: 'Kubelet kubeconfig file is owned by root:root',
      remediation: 'Run chown root:root on /var/lib/kubelet/kubeconfig.',
    },
    {
      control: '3.1.3', check: 'cis-4.1.9', scored: true, test: MODE_644, audits: CONFIG,
      title: 'Kubelet config file is mode 0644 or stricter',
      remediation: 'Run chmod 644 (or stricter) on the kubelet\'s config file (/home/kubernetes/kubelet-config.yaml on GKE images) and on any drop-in it reads.',
    },
    {
      control: '3.1.4', check: 'cis-4.1.10', cis: '4.1.10', scored: true, audits: CONFIG,
      title: 'Kubelet config file is owned by root:root',
      remediation: 'Run chown root:root on the kubelet\'s config file (/home/kubernetes/kubelet-config.yaml on GKE images) and on any drop-in it reads.',
    },
  ],
  notCovered: [],
};
