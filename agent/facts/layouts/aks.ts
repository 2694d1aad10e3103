// Azure Kubernetes Service nodes. The node image's kubelet.service reads /etc/default/kubelet
// (KUBELET_FLAGS, KUBELET_NODE_LABELS) and drop-ins that add the config file
// (/etc/default/kubeletconfig.json) and the TLS bootstrap flags; the kubeconfigs are in
// /var/lib/kubelet and the cloud configuration in /etc/kubernetes/azure.json. kube-proxy is a
// DaemonSet pod. /etc/os-release (or kubernetes.azure.com/os-sku) tells Ubuntu from Azure Linux
// (formerly CBL-Mariner).
import type { ComponentLayout, Layout } from './types.js';
import { MANAGED_WORKER } from './types.js';

const KUBELET: ComponentLayout = {
  embeddedIn: null,
  units: ['kubelet.service'],
  flagsFiles: ['/etc/default/kubelet'],
  extraArgs: 'KUBELET_FLAGS',
  configFiles: ['/etc/default/kubeletconfig.json'],
  configDirs: [],
  kubeconfigs: ['/var/lib/kubelet/kubeconfig', '/var/lib/kubelet/bootstrap-kubeconfig'],
};

const KUBE_PROXY: ComponentLayout = {
  embeddedIn: null,
  units: [],
  flagsFiles: [],
  extraArgs: '',
  configFiles: [],
  configDirs: [],
  kubeconfigs: ['/var/lib/kubelet/kubeconfig'],
};

const COMMON = {
  benchmark: 'cis-aks-1.7',
  kubelet: KUBELET,
  kubeProxy: KUBE_PROXY,
  ...MANAGED_WORKER,
} as const;

const PATHS = ['/etc/kubernetes/azure.json', '/etc/default/kubeletconfig.json'];

export const AKS_UBUNTU_LAYOUT: Layout = {
  ...COMMON,
  name: 'aks-ubuntu',
  title: 'Azure Kubernetes Service on Ubuntu',
  detect: { paths: PATHS, processes: [], labels: [{ key: 'kubernetes.azure.com/os-sku', value: 'Ubuntu' }], os: [{ id: 'ubuntu' }] },
};

export const AKS_AZURELINUX_LAYOUT: Layout = {
  ...COMMON,
  name: 'aks-azurelinux',
  title: 'Azure Kubernetes Service on Azure Linux (CBL-Mariner)',
  detect: {
    paths: PATHS,
    processes: [],
    labels: [{ key: 'kubernetes.azure.com/os-sku', value: 'AzureLinux' }, { key: 'kubernetes.azure.com/os-sku', value: 'CBLMariner' }],
    os: [{ id: 'azurelinux' }, { id: 'mariner' }],
  },
};
