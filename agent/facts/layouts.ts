// Where each distribution keeps its control-plane files, as data apart from the rules. The
// facts phase picks one layout for the node and then prefers what the components themselves
// say (a --kubeconfig flag, etcd's --data-dir, the kubelet's staticPodPath) over these paths.

export type DistributionName = 'kubeadm' | 'k3s' | 'rke2';

export interface Layout {
  readonly name: DistributionName;
  /** Directories of static pod manifests (after the kubelet's own staticPodPath). */
  readonly manifestDirs: readonly string[];
  /** Certificate and key directories, walked recursively for CIS 1.1.19-1.1.21. */
  readonly pkiDirs: readonly string[];
  /** Administrator kubeconfigs; each one that exists is judged (CIS 1.1.13/1.1.14). */
  readonly adminKubeconfigs: readonly string[];
  /** The scheduler's kubeconfig when its own flags do not name one. */
  readonly schedulerKubeconfigs: readonly string[];
  /** The controller manager's kubeconfig when its own flags do not name one. */
  readonly controllerManagerKubeconfigs: readonly string[];
  /** CNI configuration and state directories (CIS 1.1.9/1.1.10), walked recursively. */
  readonly cniDirs: readonly string[];
  /** The distribution's own server configuration file and its drop-in directory, if any. */
  readonly serverConfig: { readonly file: string; readonly dropinDir: string } | null;
  /** An embedded etcd's configuration file, written by the distribution (k3s). */
  readonly embeddedEtcdConfig: string | null;
  /** Paths whose existence identifies the distribution when no server process says it. */
  readonly markers: readonly string[];
}

export const KUBEADM_LAYOUT: Layout = {
  name: 'kubeadm',
  manifestDirs: ['/etc/kubernetes/manifests'],
  pkiDirs: ['/etc/kubernetes/pki'],
  adminKubeconfigs: ['/etc/kubernetes/admin.conf', '/etc/kubernetes/super-admin.conf'],
  schedulerKubeconfigs: ['/etc/kubernetes/scheduler.conf'],
  controllerManagerKubeconfigs: ['/etc/kubernetes/controller-manager.conf'],
  cniDirs: ['/etc/cni/net.d', '/var/lib/cni/networks'],
  serverConfig: null,
  embeddedEtcdConfig: null,
  markers: ['/etc/kubernetes/manifests'],
};

export const K3S_LAYOUT: Layout = {
  name: 'k3s',
  manifestDirs: ['/var/lib/rancher/k3s/agent/pod-manifests'],
  pkiDirs: ['/var/lib/rancher/k3s/server/tls'],
  adminKubeconfigs: ['/etc/rancher/k3s/k3s.yaml', '/var/lib/rancher/k3s/server/cred/admin.kubeconfig'],
  schedulerKubeconfigs: ['/var/lib/rancher/k3s/server/cred/scheduler.kubeconfig'],
  controllerManagerKubeconfigs: ['/var/lib/rancher/k3s/server/cred/controller.kubeconfig'],
  cniDirs: ['/var/lib/rancher/k3s/agent/etc/cni/net.d', '/etc/cni/net.d', '/var/lib/cni/networks'],
  serverConfig: { file: '/etc/rancher/k3s/config.yaml', dropinDir: '/etc/rancher/k3s/config.yaml.d' },
  embeddedEtcdConfig: '/var/lib/rancher/k3s/server/db/etcd/config',
  markers: ['/var/lib/rancher/k3s/server'],
};

export const RKE2_LAYOUT: Layout = {
  name: 'rke2',
  manifestDirs: ['/var/lib/rancher/rke2/agent/pod-manifests'],
  pkiDirs: ['/var/lib/rancher/rke2/server/tls'],
  adminKubeconfigs: ['/etc/rancher/rke2/rke2.yaml', '/var/lib/rancher/rke2/server/cred/admin.kubeconfig'],
  schedulerKubeconfigs: ['/var/lib/rancher/rke2/server/cred/scheduler.kubeconfig'],
  controllerManagerKubeconfigs: ['/var/lib/rancher/rke2/server/cred/controller.kubeconfig'],
  cniDirs: ['/etc/cni/net.d', '/var/lib/cni/networks'],
  serverConfig: { file: '/etc/rancher/rke2/config.yaml', dropinDir: '/etc/rancher/rke2/config.yaml.d' },
  embeddedEtcdConfig: null,
  markers: ['/var/lib/rancher/rke2/server'],
};

/** In the order markers are tried: the Rancher layouts are more specific than kubeadm's. */
export const LAYOUTS: readonly Layout[] = [RKE2_LAYOUT, K3S_LAYOUT, KUBEADM_LAYOUT];

export const layoutByName = (name: DistributionName): Layout => LAYOUTS.find((l) => l.name === name) ?? KUBEADM_LAYOUT;
