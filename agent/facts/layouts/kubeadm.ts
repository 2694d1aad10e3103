// kubeadm: the layout CIS Kubernetes is written against. The kubelet's unit is the packages'
// kubelet.service with kubeadm's 10-kubeadm.conf drop-in, which reads kubeadm-flags.env and the
// packaging's extra-arguments file; kube-proxy runs as a DaemonSet pod.
import type { Layout } from './types.js';

export const KUBEADM_LAYOUT: Layout = {
  name: 'kubeadm',
  title: 'kubeadm on a Linux distribution of the user\'s choice',
  benchmark: 'cis-1.12',
  kubelet: {
    embeddedIn: null,
    units: ['kubelet.service'],
    flagsFiles: ['/var/lib/kubelet/kubeadm-flags.env', '/etc/default/kubelet', '/etc/sysconfig/kubelet'],
    extraArgs: 'KUBELET_EXTRA_ARGS',
    configFiles: ['/var/lib/kubelet/config.yaml'],
    configDirs: [],
    kubeconfigs: ['/etc/kubernetes/kubelet.conf', '/etc/kubernetes/bootstrap-kubelet.conf'],
  },
  kubeProxy: {
    embeddedIn: null,
    units: [],
    flagsFiles: [],
    extraArgs: '',
    // Inside the kube-proxy pod (the kube-proxy ConfigMap's volume).
    configFiles: ['/var/lib/kube-proxy/config.conf'],
    configDirs: [],
    kubeconfigs: ['/var/lib/kube-proxy/kubeconfig.conf'],
  },
  argsFileVariables: {},
  detect: {
    paths: ['/var/lib/kubelet/kubeadm-flags.env', '/etc/kubernetes/manifests'],
    processes: [],
    labels: [{ key: 'node-role.kubernetes.io/control-plane' }],
    os: [],
    shared: true,
  },
  manifestDirs: ['/etc/kubernetes/manifests'],
  pkiDirs: ['/etc/kubernetes/pki'],
  adminKubeconfigs: ['/etc/kubernetes/admin.conf', '/etc/kubernetes/super-admin.conf'],
  schedulerKubeconfigs: ['/etc/kubernetes/scheduler.conf'],
  controllerManagerKubeconfigs: ['/etc/kubernetes/controller-manager.conf'],
  cniDirs: ['/etc/cni/net.d', '/var/lib/cni/networks'],
  serverConfig: null,
  embeddedEtcdConfig: null,
  embeddedControlPlane: null,
};
