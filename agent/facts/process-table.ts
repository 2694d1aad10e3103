// The processes a scan judges, from one walk of the process table: the kubelet, kube-proxy,
// the control-plane components (or the k3s/rke2 server that embeds them) and the processes a
// distribution layout names (`k3s agent`, `kubelite`). Collected once per scan and handed to
// each collector, so /proc is read once however many look into it.
import { componentOf } from './components.js';
import { isDistributionProcess } from './distribution.js';
import type { HostFs } from './host-fs.js';
import { kubeletArgs } from './kubelet.js';
import { kubeProxyArgs } from './kube-proxy.js';
import { scanProcessTable, type ProcessScan } from './proc.js';

export interface ProcessTable {
  readonly kubelet: ProcessScan;
  readonly kubeProxy: ProcessScan;
  /** Control-plane components by name, and the processes a layout names (a `k3s server` embeds them). */
  readonly controlPlane: ProcessScan;
  /** Processes a layout names, as detection evidence and as the home of embedded components. */
  readonly distribution: ProcessScan;
}

export function collectProcessTable(procFs: HostFs): Promise<ProcessTable> {
  return scanProcessTable(procFs, {
    kubelet: (argv) => kubeletArgs(argv) !== null,
    kubeProxy: (argv) => kubeProxyArgs(argv) !== null,
    controlPlane: (argv) => componentOf(argv) !== null || isDistributionProcess(argv),
    distribution: isDistributionProcess,
  });
}
