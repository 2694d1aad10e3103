// CIS 1.1: control-plane node files. Each record names a file set (located by the facts phase
// from the components' own flags, else the distribution's layout), the property and the limit.
import type { Category, Severity } from '../../../proto/domain.js';
import type { FileSetName } from '../../facts/index.js';
import type { ControlPlaneFileCheck } from '../spec.js';
import type { Test } from '../operators.js';
import { cisRef } from '../../../proto/benchmark-refs.js';

const ROOT_OWNED: Test = { op: 'eq', value: 'root:root' };
const mode = (limit: string): Test => ({ op: 'bitmask-mode-at-most', value: limit });

function fileCheck(
  cis: string, title: string, fileSet: FileSetName, property: 'mode' | 'owner', test: Test,
  o: {
    severity: Severity; scored: boolean; category?: Category; nameSuffix?: string; raise?: ControlPlaneFileCheck['raise'];
    sharedWith?: ControlPlaneFileCheck['sharedWith']; remediation: string;
  },
): ControlPlaneFileCheck {
  return {
    kind: 'control-plane-file',
    id: `cis-${cis}`,
    references: [cisRef(cis)],
    title,
    category: o.category ?? 'control-plane',
    severity: o.severity,
    scored: o.scored,
    fileSet,
    ...(o.nameSuffix !== undefined ? { nameSuffix: o.nameSuffix } : {}),
    ...(o.raise !== undefined ? { raise: o.raise } : {}),
    ...(o.sharedWith !== undefined ? { sharedWith: o.sharedWith } : {}),
    property,
    test,
    remediation: o.remediation,
  };
}

const podSpecMode = (cis: string, who: string, set: FileSetName, category: Category = 'control-plane'): ControlPlaneFileCheck =>
  fileCheck(cis, `${who} pod specification file mode is 0600 or stricter`, set, 'mode', mode('600'), {
    severity: 'medium', scored: true, category,
    remediation: `Whoever can write the ${who} static pod manifest decides what runs as ${who} on this node: run chmod 600 on it.`,
  });

const podSpecOwner = (cis: string, who: string, set: FileSetName, category: Category = 'control-plane'): ControlPlaneFileCheck =>
  fileCheck(cis, `${who} pod specification file is owned by root:root`, set, 'owner', ROOT_OWNED, {
    severity: 'medium', scored: true, category,
    remediation: `Run chown root:root on the ${who} static pod manifest so that only root can change it.`,
  });

export const CONTROL_PLANE_FILE_CHECKS: readonly ControlPlaneFileCheck[] = [
  podSpecMode('1.1.1', 'API server', 'kube-apiserver-pod-spec'),
  podSpecOwner('1.1.2', 'API server', 'kube-apiserver-pod-spec'),
  podSpecMode('1.1.3', 'Controller manager', 'kube-controller-manager-pod-spec'),
  podSpecOwner('1.1.4', 'Controller manager', 'kube-controller-manager-pod-spec'),
  podSpecMode('1.1.5', 'Scheduler', 'kube-scheduler-pod-spec'),
  podSpecOwner('1.1.6', 'Scheduler', 'kube-scheduler-pod-spec'),
  podSpecMode('1.1.7', 'etcd', 'etcd-pod-spec', 'etcd'),
  podSpecOwner('1.1.8', 'etcd', 'etcd-pod-spec', 'etcd'),
  fileCheck('1.1.9', 'CNI files are mode 0600 or stricter', 'cni', 'mode', mode('600'), {
    severity: 'low', scored: false,
    remediation: 'The CNI configuration decides how every pod is wired into the network: run chmod 600 on the files in the CNI configuration and state directories.',
  }),
  fileCheck('1.1.10', 'CNI files are owned by root:root', 'cni', 'owner', ROOT_OWNED, {
    severity: 'low', scored: false,
    remediation: 'Run chown root:root on the files in the CNI configuration and state directories.',
  }),
  fileCheck('1.1.11', 'etcd data directory mode is 0700 or stricter', 'etcd-data-dir', 'mode', mode('700'), {
    severity: 'high', scored: true, category: 'etcd',
    remediation: 'The etcd data directory holds every object of the cluster, secrets included: run chmod 700 on the directory etcd\'s --data-dir names.',
  }),
  fileCheck('1.1.12', 'etcd data directory is owned by etcd:etcd', 'etcd-data-dir', 'owner', { op: 'eq', value: 'etcd:etcd' }, {
    severity: 'medium', scored: true, category: 'etcd',
    remediation: 'Create an etcd user and group if the host has none, run etcd as that user, and chown -R etcd:etcd its data directory ' +
      '(kubeadm runs etcd as root and leaves the directory root-owned; the benchmark asks for a dedicated owner).',
  }),
  fileCheck('1.1.13', 'Administrator kubeconfig files are mode 0600 or stricter', 'admin-kubeconfig', 'mode', mode('600'), {
    severity: 'high', scored: true,
    remediation: 'These kubeconfigs carry cluster-admin credentials: run chmod 600 on each of them (admin.conf and super-admin.conf on kubeadm).',
  }),
  fileCheck('1.1.14', 'Administrator kubeconfig files are owned by root:root', 'admin-kubeconfig', 'owner', ROOT_OWNED, {
    severity: 'medium', scored: true,
    remediation: 'Run chown root:root on each administrator kubeconfig.',
  }),
  fileCheck('1.1.15', 'Scheduler kubeconfig file mode is 0600 or stricter', 'scheduler-kubeconfig', 'mode', mode('600'), {
    severity: 'medium', scored: true,
    remediation: 'Run chmod 600 on the kubeconfig the scheduler uses (its --kubeconfig, or clientConnection.kubeconfig in its --config).',
  }),
  fileCheck('1.1.16', 'Scheduler kubeconfig file is owned by root:root', 'scheduler-kubeconfig', 'owner', ROOT_OWNED, {
    severity: 'medium', scored: true,
    remediation: 'Run chown root:root on the kubeconfig the scheduler uses.',
  }),
  fileCheck('1.1.17', 'Controller manager kubeconfig file mode is 0600 or stricter', 'controller-manager-kubeconfig', 'mode', mode('600'), {
    severity: 'medium', scored: true,
    remediation: 'Run chmod 600 on the kubeconfig named by the controller manager\'s --kubeconfig.',
  }),
  fileCheck('1.1.18', 'Controller manager kubeconfig file is owned by root:root', 'controller-manager-kubeconfig', 'owner', ROOT_OWNED, {
    severity: 'medium', scored: true,
    remediation: 'Run chown root:root on the kubeconfig named by the controller manager\'s --kubeconfig.',
  }),
  // The owner of the PKI's private keys too: cert-key-file judges their mode and leaves their owner here.
  fileCheck('1.1.19', 'Kubernetes PKI directory and files are owned by root:root', 'pki', 'owner', ROOT_OWNED, {
    severity: 'medium', scored: true, category: 'certificate',
    raise: { nameSuffix: '.key', severity: 'high', why: 'a private key: whoever owns it can read it' },
    // The kubelet's client CA is the PKI's ca.crt on kubeadm: CIS 4.1.8 asks the same of it.
    sharedWith: { locate: 'kubelet-client-ca', check: 'cis-4.1.8', references: [cisRef('4.1.8')] },
    remediation: 'Run chown -R root:root on the PKI directory (/etc/kubernetes/pki on kubeadm, server/tls on k3s and rke2), subdirectories included.',
  }),
  fileCheck('1.1.20', 'Kubernetes PKI certificate files are mode 0644 or stricter', 'pki', 'mode', mode('644'), {
    severity: 'low', scored: false, category: 'certificate', nameSuffix: '.crt',
    // The kubelet's client CA is the PKI's ca.crt on kubeadm: CIS 4.1.7 asks the same of it.
    sharedWith: { locate: 'kubelet-client-ca', check: 'cis-4.1.7', references: [cisRef('4.1.7')] },
    remediation: 'Run chmod 644 (or stricter) on every *.crt file under the PKI directory, subdirectories included.',
  }),
  // CIS 1.1.21 (the PKI's *.key files are mode 600 or stricter) is cert-key-file's: it judges
  // every private key file, those included, and its results on them carry cis-1.12:1.1.21.
];
