// CIS 4.1: worker node files, located through the running kubelet's own flags (never a fixed
// guess), so a kubelet started with --kubeconfig=/elsewhere is judged on /elsewhere.
import type { FileCheck } from '../spec.js';

export const NODE_FILE_CHECKS: readonly FileCheck[] = [
  {
    kind: 'file',
    id: 'cis-4.1.5',
    cis: '4.1.5',
    title: 'Kubelet kubeconfig file mode is 0600 or stricter',
    category: 'kubelet',
    severity: 'medium',
    scored: true,
    file: {
      from: 'kubelet-flag',
      flag: 'kubeconfig',
      unsetReason: 'the kubelet runs without --kubeconfig (standalone mode), so there is no kubeconfig file to check',
    },
    property: 'mode',
    test: { op: 'bitmask-mode-at-most', value: '600' },
    remediation:
      'The kubeconfig holds the kubelet\'s credentials: run chmod 600 on the file named by --kubeconfig ' +
      '(on its target, if it is a link) so only its owner can read or change it.',
  },
  {
    kind: 'file',
    id: 'cis-4.1.9',
    cis: '4.1.9',
    title: 'Kubelet config file mode is 0600 or stricter',
    category: 'kubelet',
    severity: 'medium',
    scored: true,
    file: {
      from: 'kubelet-flag',
      flag: 'config',
      unsetReason: 'the kubelet runs without --config, so there is no config file to check',
    },
    property: 'mode',
    test: { op: 'bitmask-mode-at-most', value: '600' },
    remediation:
      'Run chmod 600 on the file named by --config (on its target, if it is a link) so that nobody but its owner ' +
      'can read or rewrite the kubelet\'s security settings.',
  },
];
