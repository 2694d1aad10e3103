// Node checks beyond the CIS benchmark: what the kubelet really exposes on the wire, whether
// its Kubernetes version is still supported, and the kernel settings it protects.
import { kernelDefaultsCheck } from '../kernel-defaults.js';
import { k8sVersionCheck } from '../k8s-version.js';
import { anonymousApiCheck, readOnlyPortCheck } from '../kubelet-exposure.js';
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

/** The checks that need the kubelet port probe (network I/O): the probe runs only when one is in scope. */
export const PROBE_CHECK_IDS: ReadonlySet<string> = new Set(['kubelet-api-anonymous', 'kubelet-readonly-port-closed']);

export const NODE_EXTRA_CHECKS: readonly CheckSpec[] = [
  anonymousApiCheck({
    id: 'kubelet-api-anonymous',
    cis: '',
    title: 'Kubelet API refuses anonymous requests on the wire',
    category: 'kubelet',
    severity: 'critical',
    scored: true,
    remediation:
      'An anonymous caller could list (and likely exec into) this node\'s pods. Turn anonymous authentication off ' +
      '(authentication.anonymous.enabled: false) and use Webhook authorization (authorization.mode: Webhook) in the ' +
      'kubelet config file, restart the kubelet, and until then block the kubelet port from anything but the API server.',
  }),
  readOnlyPortCheck({
    id: 'kubelet-readonly-port-closed',
    cis: '',
    title: 'Kubelet read-only port refuses connections',
    category: 'kubelet',
    severity: 'high',
    scored: true,
    remediation:
      'The read-only port hands out pod specs (with their environment) and metrics without authentication: set readOnlyPort: 0 ' +
      'in the kubelet config file (or --read-only-port=0), restart the kubelet, and move any scraper to the authenticated port.',
  }),
  k8sVersionCheck({
    id: 'k8s-version-supported',
    cis: '',
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
    cis: '',
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
