// MicroK8s (a snap). One process, kubelite, runs the kubelet, kube-proxy and (on a control-plane
// node) the API server, scheduler and controller manager; each reads its flags from an args
// file under /var/snap/microk8s/current/args, one flag a line, where ${SNAP_DATA} and
// ${SNAP_COMMON} stand for the snap's data directories. Its unit is
// snap.microk8s.daemon-kubelite.service.
import type { Layout } from './types.js';

const KUBELITE = [{ command: 'kubelite' }] as const;
const SNAP_DATA = '/var/snap/microk8s/current';

export const MICROK8S_LAYOUT: Layout = {
  name: 'microk8s',
  title: 'MicroK8s (snap, kubelite)',
  benchmark: 'cis-1.24-microk8s',
  kubelet: {
    embeddedIn: { processes: KUBELITE, implicitArgs: [], argOption: null, argsFileOption: 'kubelet-args-file', argsFile: `${SNAP_DATA}/args/kubelet`, disableOptions: [] },
    units: ['snap.microk8s.daemon-kubelite.service'],
    flagsFiles: [],
    extraArgs: '',
    configFiles: [],
    configDirs: [],
    kubeconfigs: [`${SNAP_DATA}/credentials/kubelet.config`],
  },
  kubeProxy: {
    embeddedIn: { processes: KUBELITE, implicitArgs: [], argOption: null, argsFileOption: 'proxy-args-file', argsFile: `${SNAP_DATA}/args/kube-proxy`, disableOptions: [] },
    units: ['snap.microk8s.daemon-kubelite.service'],
    flagsFiles: [],
    extraArgs: '',
    configFiles: [],
    configDirs: [],
    kubeconfigs: [`${SNAP_DATA}/credentials/proxy.config`],
  },
  argsFileVariables: { SNAP_DATA, SNAP_COMMON: '/var/snap/microk8s/common', SNAP: '/snap/microk8s/current' },
  detect: {
    paths: ['/var/snap/microk8s', '/snap/microk8s'],
    processes: KUBELITE,
    labels: [{ key: 'microk8s.io/cluster', value: 'true' }],
    os: [],
  },
  manifestDirs: [],
  pkiDirs: [`${SNAP_DATA}/certs`],
  adminKubeconfigs: [`${SNAP_DATA}/credentials/client.config`],
  schedulerKubeconfigs: [`${SNAP_DATA}/credentials/scheduler.config`],
  controllerManagerKubeconfigs: [`${SNAP_DATA}/credentials/controller.config`],
  cniDirs: [`${SNAP_DATA}/args/cni-network`],
  serverConfig: null,
  embeddedEtcdConfig: null,
  embeddedControlPlane: null,
};
