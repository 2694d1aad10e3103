// The facts model: the snapshot the facts phase hands to the checks, plain, typed,
// JSON-serialisable data. HostFacts is here; the parts it is made of are in the type files
// re-exported below. None of them imports a collector or a host reader's code: the model is
// the bottom of the facts layers (readers, interpreters and collectors import it; it imports
// only leaf types such as a flag, a file's stat, a certificate's description), so there is no
// import cycle through it (test/import-cycles.test.ts).
import type { CertificateFacts } from './certificate-types.js';
import type { ControlPlaneFacts } from './control-plane-types.js';
import type { EtcdProbeFacts } from './etcd-probe-types.js';
import type { ExposureFacts } from './exposure-types.js';
import type { DistributionFacts } from './distribution-types.js';
import type { FactError, FileFacts, KubeletAbsence, KubeletFacts } from './host-facts.js';
import type { KubeletBinaryFacts, KubeletProbeFacts, KubeletUnitFacts, KubeProxyFacts, SysctlFacts } from './node-facts.js';

export type * from './host-facts.js';
export type * from './node-facts.js';
export type * from './control-plane-types.js';
export type * from './certificate-types.js';
export type * from './etcd-probe-types.js';
export type * from './exposure-types.js';
export type * from './distribution-types.js';

export interface HostFacts {
  readonly collectedAt: string;
  readonly hostRoot: string;
  readonly procRoot: string;
  /**
   * The distribution layout the facts were read with, the benchmark that layout names and
   * why it was chosen (agent/facts/distribution.ts); absent in snapshots from before it.
   */
  readonly distribution?: DistributionFacts;
  readonly kubelet: KubeletFacts | null;
  /** Why `kubelet` is null; null when a kubelet was found. */
  readonly kubeletAbsence: KubeletAbsence | null;
  /** Files stat'ed, keyed by the host path as named. */
  readonly files: { readonly [hostPath: string]: FileFacts };
  /** Host paths read or stat'ed (as named and after links), for a watcher. */
  readonly filesRead: readonly string[];
  /** Failures not tied to one fact above (e.g. the host's /etc/passwd unreadable). */
  readonly errors: readonly FactError[];
  /** The kubelet's systemd unit (CIS 4.1.1/4.1.2, and discovery when no process is visible). */
  readonly kubeletUnit?: KubeletUnitFacts;
  /** kube-proxy, when it runs on the node (CIS 4.1.3/4.1.4/4.3.1). */
  readonly kubeProxy?: KubeProxyFacts;
  /** What answered on the kubelet's ports. */
  readonly kubeletProbe?: KubeletProbeFacts;
  /** The kubelet's version, read from its binary. */
  readonly kubeletBinary?: KubeletBinaryFacts;
  /** Kernel settings the kubelet's --protect-kernel-defaults guards, from <procRoot>/sys. */
  readonly sysctls?: SysctlFacts;
  /** API server, controller manager, scheduler and etcd (CIS 1, 2, 3.2); absent when not collected. */
  readonly controlPlane?: ControlPlaneFacts;
  /** What etcd's client URLs do with a client that has no certificate, and with plain text. */
  readonly etcdProbe?: EtcdProbeFacts;
  /** Certificates and keys the components name, and those under the PKI directories. */
  readonly certificates?: CertificateFacts;
  /** The listening sockets of the host's network namespace, their processes and address classes (agent/exposure/). */
  readonly exposure?: ExposureFacts;
}
