// CIS 4.1: worker node files, located through the running kubelet's own flags (never a fixed
// guess), so a kubelet started with --kubeconfig=/elsewhere is judged on /elsewhere, and its
// config file together with every --config-dir drop-in it reads; its
// systemd unit and drop-ins as systemd finds them; kube-proxy's kubeconfig as kube-proxy
// names it, inside its own root; the client CA the kubelet really uses.
import { cisRef } from '../../../proto/benchmark-refs.js';
import type { CheckSpec } from '../spec.js';

const KUBECONFIG = {
  from: 'kubelet-flag',
  flag: 'kubeconfig',
  unsetReason: 'the kubelet runs without --kubeconfig (standalone mode), so there is no kubeconfig file to check',
} as const;
// The kubelet reads its --config-dir drop-ins over its --config file: each one is judged too.
const CONFIG = {
  from: 'kubelet-flag',
  flag: 'config',
  unsetReason: 'the kubelet runs without --config and reads no --config-dir drop-in, so there is no config file to check',
  withDropins: true,
} as const;

export const NODE_FILE_CHECKS: readonly CheckSpec[] = [
  {
    kind: 'file',
    id: 'cis-4.1.1',
    references: [cisRef('4.1.1')],
    title: 'Kubelet systemd unit files are mode 0600 or stricter',
    category: 'kubelet',
    severity: 'medium',
    scored: true,
    file: { from: 'kubelet-unit' },
    property: 'mode',
    test: { op: 'bitmask-mode-at-most', value: '600' },
    remediation:
      'The unit and its drop-ins decide how the kubelet starts: run chmod 600 on the kubelet unit file and on every ' +
      '*.conf in its kubelet.service.d directories, then systemctl daemon-reload.',
  },
  {
    kind: 'file',
    id: 'cis-4.1.2',
    references: [cisRef('4.1.2')],
    title: 'Kubelet systemd unit files are owned by root:root',
    category: 'kubelet',
    severity: 'medium',
    scored: true,
    file: { from: 'kubelet-unit' },
    property: 'owner',
    test: { op: 'eq', value: 'root:root' },
    remediation:
      'Make root the only account that can rewrite how the kubelet starts: chown root:root the kubelet unit file and every ' +
      'drop-in under kubelet.service.d, then systemctl daemon-reload.',
  },
  {
    kind: 'file',
    id: 'cis-4.1.3',
    references: [cisRef('4.1.3')],
    title: 'kube-proxy kubeconfig file mode is 0600 or stricter',
    category: 'kubelet',
    severity: 'medium',
    scored: false,
    file: { from: 'kube-proxy-kubeconfig' },
    property: 'mode',
    test: { op: 'bitmask-mode-at-most', value: '600' },
    remediation:
      'kube-proxy\'s kubeconfig carries its credentials: make the file named by its --kubeconfig (or its config\'s ' +
      'clientConnection.kubeconfig) mode 600; for a kube-proxy DaemonSet, set defaultMode 0600 on the volume that holds it.',
  },
  {
    kind: 'file',
    id: 'cis-4.1.4',
    references: [cisRef('4.1.4')],
    title: 'kube-proxy kubeconfig file is owned by root:root',
    category: 'kubelet',
    severity: 'medium',
    scored: false,
    file: { from: 'kube-proxy-kubeconfig' },
    property: 'owner',
    test: { op: 'eq', value: 'root:root' },
    remediation:
      'Have root own kube-proxy\'s kubeconfig (chown root:root the file it names) so no other account can swap its credentials.',
  },
  {
    kind: 'file',
    id: 'cis-4.1.5',
    references: [cisRef('4.1.5')],
    title: 'Kubelet kubeconfig file mode is 0600 or stricter',
    category: 'kubelet',
    severity: 'medium',
    scored: true,
    file: KUBECONFIG,
    property: 'mode',
    test: { op: 'bitmask-mode-at-most', value: '600' },
    remediation:
      'The kubeconfig holds the kubelet\'s credentials: run chmod 600 on the file named by --kubeconfig ' +
      '(on its target, if it is a link) so only its owner can read or change it.',
  },
  {
    kind: 'file',
    id: 'cis-4.1.6',
    references: [cisRef('4.1.6')],
    title: 'Kubelet kubeconfig file is owned by root:root',
    category: 'kubelet',
    severity: 'medium',
    scored: true,
    file: KUBECONFIG,
    property: 'owner',
    test: { op: 'eq', value: 'root:root' },
    remediation:
      'Run chown root:root on the file named by --kubeconfig (on its target, if it is a link) so no other account can ' +
      'replace the kubelet\'s credentials.',
  },
  {
    kind: 'file',
    id: 'cis-4.1.7',
    references: [cisRef('4.1.7')],
    title: 'Kubelet client CA file mode is 0644 or stricter',
    category: 'kubelet',
    severity: 'medium',
    scored: false,
    // On a kubeadm control plane the client CA is the PKI's ca.crt: cis-1.1.20 judges it there, with 4.1.7's reference.
    file: { from: 'kubelet-client-ca', sharedWith: { check: 'cis-1.1.20', fileSet: 'pki', nameSuffix: '.crt' } },
    property: 'mode',
    test: { op: 'bitmask-mode-at-most', value: '644' },
    remediation:
      'Whoever can write the client CA bundle decides which client certificates the kubelet trusts: run chmod 644 (or ' +
      'stricter) on the file named by --client-ca-file or authentication.x509.clientCAFile.',
  },
  {
    kind: 'file',
    id: 'cis-4.1.8',
    references: [cisRef('4.1.8')],
    title: 'Kubelet client CA file is owned by root:root',
    category: 'kubelet',
    severity: 'medium',
    scored: false,
    file: { from: 'kubelet-client-ca', sharedWith: { check: 'cis-1.1.19', fileSet: 'pki' } },
    property: 'owner',
    test: { op: 'eq', value: 'root:root' },
    remediation:
      'Run chown root:root on the kubelet\'s client CA bundle (named by --client-ca-file or authentication.x509.clientCAFile).',
  },
  {
    kind: 'file',
    id: 'cis-4.1.9',
    references: [cisRef('4.1.9')],
    title: 'Kubelet config file and drop-ins are mode 0600 or stricter',
    category: 'kubelet',
    severity: 'medium',
    scored: true,
    file: CONFIG,
    property: 'mode',
    test: { op: 'bitmask-mode-at-most', value: '600' },
    remediation:
      'Run chmod 600 on the file named by --config and on every *.conf drop-in of --config-dir (on their targets, if ' +
      'they are links) so that nobody but their owner can read or rewrite the kubelet\'s security settings.',
  },
  {
    kind: 'file',
    id: 'cis-4.1.10',
    references: [cisRef('4.1.10')],
    title: 'Kubelet config file and drop-ins are owned by root:root',
    category: 'kubelet',
    severity: 'medium',
    scored: true,
    file: CONFIG,
    property: 'owner',
    test: { op: 'eq', value: 'root:root' },
    remediation:
      'Run chown root:root on the file named by --config and on every *.conf drop-in of --config-dir (on their ' +
      'targets, if they are links) so only root can change the kubelet\'s security settings.',
  },
];
