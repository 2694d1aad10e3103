// Amazon EKS worker nodes. On Amazon Linux 2 the AMI's bootstrap.sh writes kubelet-config.json
// and two unit drop-ins (KUBELET_ARGS, KUBELET_EXTRA_ARGS); on Amazon Linux 2023 nodeadm writes
// config.json, a --config-dir of drop-ins and the environment file the unit reads; on
// Bottlerocket the settings API renders /etc/kubernetes/kubelet/{config,kubeconfig}. kube-proxy
// is an EKS add-on: a DaemonSet pod whose files are inside its container. The node group labels
// are the same on the three images: /etc/os-release tells them apart.
import type { ComponentLayout, Layout, LabelSign } from './types.js';
import { MANAGED_WORKER } from './types.js';

const EKS_LABELS: readonly LabelSign[] = [{ key: 'eks.amazonaws.com/nodegroup' }];

const KUBE_PROXY: ComponentLayout = {
  embeddedIn: null,
  units: [],
  flagsFiles: [],
  extraArgs: '',
  configFiles: ['/var/lib/kube-proxy-config/config'],
  configDirs: [],
  kubeconfigs: ['/var/lib/kube-proxy/kubeconfig'],
};

export const EKS_AL2_LAYOUT: Layout = {
  name: 'eks-al2',
  title: 'Amazon EKS on the Amazon Linux 2 EKS-optimized AMI',
  benchmark: 'cis-eks-1.7',
  kubelet: {
    embeddedIn: null,
    units: ['kubelet.service'],
    flagsFiles: [],
    extraArgs: 'KUBELET_EXTRA_ARGS',
    configFiles: ['/etc/kubernetes/kubelet/kubelet-config.json'],
    configDirs: [],
    kubeconfigs: ['/var/lib/kubelet/kubeconfig'],
  },
  kubeProxy: KUBE_PROXY,
  detect: { paths: ['/etc/eks/bootstrap.sh'], processes: [], labels: EKS_LABELS, os: [{ id: 'amzn', version: '2' }] },
  ...MANAGED_WORKER,
};

export const EKS_AL2023_LAYOUT: Layout = {
  name: 'eks-al2023',
  title: 'Amazon EKS on the Amazon Linux 2023 EKS-optimized AMI (nodeadm)',
  benchmark: 'cis-eks-1.7',
  kubelet: {
    embeddedIn: null,
    units: ['kubelet.service'],
    flagsFiles: ['/etc/eks/kubelet/environment'],
    extraArgs: '',
    configFiles: ['/etc/kubernetes/kubelet/config.json'],
    configDirs: ['/etc/kubernetes/kubelet/config.json.d'],
    kubeconfigs: ['/var/lib/kubelet/kubeconfig'],
  },
  kubeProxy: KUBE_PROXY,
  detect: { paths: ['/usr/bin/nodeadm', '/etc/eks/kubelet/environment'], processes: [], labels: EKS_LABELS, os: [{ id: 'amzn', version: '2023' }] },
  ...MANAGED_WORKER,
};

export const EKS_BOTTLEROCKET_LAYOUT: Layout = {
  name: 'eks-bottlerocket',
  title: 'Amazon EKS on Bottlerocket',
  benchmark: 'cis-eks-1.7',
  kubelet: {
    embeddedIn: null,
    units: ['kubelet.service'],
    flagsFiles: ['/etc/kubernetes/kubelet/env'],
    extraArgs: '',
    configFiles: ['/etc/kubernetes/kubelet/config'],
    configDirs: [],
    kubeconfigs: ['/etc/kubernetes/kubelet/kubeconfig'],
  },
  kubeProxy: KUBE_PROXY,
  detect: { paths: ['/usr/bin/apiclient'], processes: [], labels: EKS_LABELS, os: [{ id: 'bottlerocket' }] },
  ...MANAGED_WORKER,
};
