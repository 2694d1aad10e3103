// Node checks beyond the CIS benchmark: whether the kubelet's Kubernetes version is still
// supported, and the kernel settings it protects. (What the kubelet exposes on the wire is part
// of cis-4.2.1 and cis-4.2.4: agent/checks/wire-evidence.ts.)
import { kernelDefaultsCheck } from '../kernel-defaults.js';
import { k8sVersionCheck } from '../k8s-version.js';
import type { CheckSpec } from '../spec.js';
import { K8S_RELEASES, K8S_RELEASES_AS_OF } from './k8s-versions.js';

/**
 * The values the kubelet's container manager requires when --protect-kernel-defaults is on
 * (and writes itself when it is off).
 */
export const KERNEL_DEFAULTS = {
  'vm.overcommit_memory': '1',
  'vm.panic_on_oom': '0',
  'kernel.panic': '10',
  'kernel.panic_on_oops': '1',
  'kernel.keys.root_maxkeys': '1000000',
  'kernel.keys.root_maxbytes': '25000000',
} as const;

export const NODE_EXTRA_CHECKS: readonly CheckSpec[] = [
  k8sVersionCheck({
    id: 'k8s-version-supported',
    references: [],
    title: 'Kubelet runs a supported, patched Kubernetes release',
    category: 'version',
    severity: 'medium',
    scored: true,
    remediation:
      'Upgrade the node: move an out-of-support minor to a supported one (one minor at a time, control plane first), and ' +
      'keep each minor on its latest patch release, which carries the security fixes.',
  }, K8S_RELEASES, K8S_RELEASES_AS_OF),
  kernelDefaultsCheck({
    id: 'kernel-protect-defaults',
    references: [],
    title: 'Kernel settings match what the kubelet protects',
    category: 'host',
    severity: 'low',
    scored: true,
    remediation:
      'With protect-kernel-defaults on, the kubelet will not start unless these values hold: set them in a file under ' +
      '/etc/sysctl.d/ (for example vm.overcommit_memory = 1, kernel.panic = 10), apply it with sysctl --system, and find ' +
      'what changed them after the kubelet started.',
  }, KERNEL_DEFAULTS),
];
