// Google Kubernetes Engine nodes. Both images keep the kubelet under /home/kubernetes (its
// binary and kubelet-config.yaml); its unit reads KUBELET_OPTS from /etc/default/kubelet, and
// its kubeconfigs are in /var/lib/kubelet. kube-proxy is a static pod (kube-proxy.manifest in
// /etc/kubernetes/manifests) with its kubeconfig in /var/lib/kube-proxy. /etc/os-release (or
// the cloud.google.com/gke-os-distribution label) tells Container-Optimized OS from Ubuntu.
import type { ComponentLayout, Layout } from './types.js';
import { MANAGED_WORKER } from './types.js';

const KUBELET: ComponentLayout = {
  embeddedIn: null,
  units: ['kubelet.service'],
  flagsFiles: ['/etc/default/kubelet'],
  extraArgs: 'KUBELET_OPTS',
  configFiles: ['/home/kubernetes/kubelet-config.yaml'],
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
  kubeconfigs: ['/var/lib/kube-proxy/kubeconfig'],
};

const COMMON = {
  benchmark: 'cis-gke-1.8',
  kubelet: KUBELET,
  kubeProxy: KUBE_PROXY,
  ...MANAGED_WORKER,
} as const;

const PATHS = ['/home/kubernetes/kubelet-config.yaml', '/home/kubernetes/bin/kubelet'];

export const GKE_COS_LAYOUT: Layout = {
  ...COMMON,
  name: 'gke-cos',
  title: 'Google Kubernetes Engine on Container-Optimized OS',
  detect: { paths: PATHS, processes: [], labels: [{ key: 'cloud.google.com/gke-os-distribution', value: 'cos' }], os: [{ id: 'cos' }] },
};

export const GKE_UBUNTU_LAYOUT: Layout = {
  ...COMMON,
  name: 'gke-ubuntu',
  title: 'Google Kubernetes Engine on Ubuntu',
  detect: { paths: PATHS, processes: [], labels: [{ key: 'cloud.google.com/gke-os-distribution', value: 'ubuntu' }], os: [{ id: 'ubuntu' }] },
};
