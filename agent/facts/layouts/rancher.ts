// k3s and rke2 (Rancher). k3s also runs its control plane inside `k3s server`
// (--kube-apiserver-arg and the like pass flags to it). Both read /etc/rancher/<name>/config.yaml and its config.yaml.d
// drop-ins, run as <name>.service / <name>-agent.service (rke2-server / rke2-agent for rke2)
// and rewrite their process title to `<name> server` or `<name> agent`. k3s runs the kubelet
// and kube-proxy inside that process: their flags are k3s's own (the kubeconfigs and the
// kubelet's config drop-ins under /var/lib/rancher/k3s/agent) followed by the user's
// --kubelet-arg / --kube-proxy-arg. rke2 starts the kubelet as a process of its own and
// kube-proxy as a static pod.
import type { Layout } from './types.js';

const K3S_PROCESSES = [{ command: 'k3s', subcommand: 'server' }, { command: 'k3s', subcommand: 'agent' }] as const;
const RKE2_PROCESSES = [{ command: 'rke2', subcommand: 'server' }, { command: 'rke2', subcommand: 'agent' }] as const;

export const K3S_LAYOUT: Layout = {
  name: 'k3s',
  title: 'k3s (server or agent)',
  benchmark: 'k3s-cis-1.8',
  kubelet: {
    embeddedIn: {
      processes: K3S_PROCESSES,
      implicitArgs: [
        '--kubeconfig=/var/lib/rancher/k3s/agent/kubelet.kubeconfig',
        '--config-dir=/var/lib/rancher/k3s/agent/etc/kubelet.conf.d',
      ],
      argOption: 'kubelet-arg',
      argsFileOption: null,
      argsFile: null,
      disableOptions: ['disable-agent'],
    },
    units: ['k3s.service', 'k3s-agent.service'],
    flagsFiles: ['/etc/systemd/system/k3s.service.env', '/etc/systemd/system/k3s-agent.service.env'],
    extraArgs: 'kubelet-arg',
    configFiles: [],
    configDirs: ['/var/lib/rancher/k3s/agent/etc/kubelet.conf.d'],
    kubeconfigs: ['/var/lib/rancher/k3s/agent/kubelet.kubeconfig'],
  },
  kubeProxy: {
    embeddedIn: {
      processes: K3S_PROCESSES,
      implicitArgs: ['--kubeconfig=/var/lib/rancher/k3s/agent/kubeproxy.kubeconfig'],
      argOption: 'kube-proxy-arg',
      argsFileOption: null,
      argsFile: null,
      disableOptions: ['disable-agent', 'disable-kube-proxy'],
    },
    units: ['k3s.service', 'k3s-agent.service'],
    flagsFiles: [],
    extraArgs: 'kube-proxy-arg',
    configFiles: [],
    configDirs: [],
    kubeconfigs: ['/var/lib/rancher/k3s/agent/kubeproxy.kubeconfig'],
  },
  argsFileVariables: {},
  detect: {
    paths: ['/var/lib/rancher/k3s', '/etc/rancher/k3s'],
    processes: K3S_PROCESSES,
    labels: [{ key: 'node.kubernetes.io/instance-type', value: 'k3s' }],
    os: [],
  },
  manifestDirs: ['/var/lib/rancher/k3s/agent/pod-manifests'],
  pkiDirs: ['/var/lib/rancher/k3s/server/tls'],
  adminKubeconfigs: ['/etc/rancher/k3s/k3s.yaml', '/var/lib/rancher/k3s/server/cred/admin.kubeconfig'],
  schedulerKubeconfigs: ['/var/lib/rancher/k3s/server/cred/scheduler.kubeconfig'],
  controllerManagerKubeconfigs: ['/var/lib/rancher/k3s/server/cred/controller.kubeconfig'],
  cniDirs: ['/var/lib/rancher/k3s/agent/etc/cni/net.d', '/etc/cni/net.d', '/var/lib/cni/networks'],
  serverConfig: { file: '/etc/rancher/k3s/config.yaml', dropinDir: '/etc/rancher/k3s/config.yaml.d' },
  embeddedEtcdConfig: '/var/lib/rancher/k3s/server/db/etcd/config',
  embeddedControlPlane: {
    processes: [{ command: 'k3s', subcommand: 'server' }],
    argOptions: {
      'kube-apiserver': 'kube-apiserver-arg',
      'kube-controller-manager': 'kube-controller-manager-arg',
      'kube-scheduler': 'kube-scheduler-arg',
      etcd: 'etcd-arg',
    },
    disableOptions: {
      'kube-apiserver': 'disable-apiserver',
      'kube-controller-manager': 'disable-controller-manager',
      'kube-scheduler': 'disable-scheduler',
      etcd: 'disable-etcd',
    },
  },
};

export const RKE2_LAYOUT: Layout = {
  name: 'rke2',
  title: 'RKE2 (server or agent)',
  benchmark: 'rke2-cis-1.8',
  kubelet: {
    embeddedIn: null,
    units: ['rke2-server.service', 'rke2-agent.service'],
    flagsFiles: ['/etc/default/rke2-server', '/etc/sysconfig/rke2-server', '/etc/default/rke2-agent', '/etc/sysconfig/rke2-agent'],
    extraArgs: 'kubelet-arg',
    configFiles: [],
    configDirs: ['/var/lib/rancher/rke2/agent/etc/kubelet.conf.d'],
    kubeconfigs: ['/var/lib/rancher/rke2/agent/kubelet.kubeconfig'],
  },
  kubeProxy: {
    embeddedIn: null,
    units: [],
    flagsFiles: [],
    extraArgs: 'kube-proxy-arg',
    configFiles: [],
    configDirs: [],
    kubeconfigs: ['/var/lib/rancher/rke2/agent/kubeproxy.kubeconfig'],
  },
  argsFileVariables: {},
  detect: {
    paths: ['/var/lib/rancher/rke2', '/etc/rancher/rke2'],
    processes: RKE2_PROCESSES,
    labels: [{ key: 'node.kubernetes.io/instance-type', value: 'rke2' }],
    os: [],
  },
  manifestDirs: ['/var/lib/rancher/rke2/agent/pod-manifests'],
  pkiDirs: ['/var/lib/rancher/rke2/server/tls'],
  adminKubeconfigs: ['/etc/rancher/rke2/rke2.yaml', '/var/lib/rancher/rke2/server/cred/admin.kubeconfig'],
  schedulerKubeconfigs: ['/var/lib/rancher/rke2/server/cred/scheduler.kubeconfig'],
  controllerManagerKubeconfigs: ['/var/lib/rancher/rke2/server/cred/controller.kubeconfig'],
  cniDirs: ['/etc/cni/net.d', '/var/lib/cni/networks'],
  serverConfig: { file: '/etc/rancher/rke2/config.yaml', dropinDir: '/etc/rancher/rke2/config.yaml.d' },
  embeddedEtcdConfig: null,
  embeddedControlPlane: null,
};
