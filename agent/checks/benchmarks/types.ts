// What a benchmark other than the catalog's own is, as data: which of its controls a nodeward
// check decides, in our words (title, remediation), and which of its controls no check decides.
// A benchmark never adds a check: it relabels the catalog's (relabel.ts), so one problem stays
// one result and one finding whichever benchmark judges the node.
import type { Test } from '../operators.js';

/** One control of a benchmark that a nodeward check decides. */
export interface BenchmarkControl {
  /** The control as the benchmark numbers it: `3.2.1`. */
  readonly control: string;
  /** The nodeward check that decides it: `cis-4.2.1`. */
  readonly check: string;
  /** Our title for it under this benchmark. */
  readonly title: string;
  /** Our remediation for it, in this distribution's terms. */
  readonly remediation: string;
  /** Automated in the benchmark (a failure is `fail`) or manual (a failure is `warn`). */
  readonly scored: boolean;
  /**
   * The CIS Kubernetes control (of proto/benchmark-refs.ts CIS_BENCHMARK) that is the same
   * problem and the same test; absent when this benchmark asks something else of the same
   * thing (another file mode), whose result then does not claim the CIS Kubernetes control.
   */
  readonly cis?: string;
  /**
   * The benchmark's own test where it differs from the check's (EKS asks mode 644 of the
   * kubelet's kubeconfig where CIS Kubernetes asks 600). Only for file and kubelet-setting checks.
   */
  readonly test?: Test;
  /**
   * Where the benchmark's audit looks when that is not simply where the kubelet's own flags
   * point (EKS reads /etc/kubernetes/kubelet/kubelet-config.json): the distribution layouts make
   * the facts find these files; the check judges the file the running kubelet really uses.
   */
  readonly audits?: string;
}

/** A control of the benchmark's node section that no nodeward check decides, and why. */
export interface UncoveredControl {
  readonly control: string;
  readonly title: string;
  readonly why: string;
}

export interface Benchmark {
  /** The benchmark's reference name, lower-case: `cis-eks-1.7` (proto/benchmark-refs.ts BENCHMARK_REF). */
  readonly name: string;
  readonly title: string;
  /** Where its control ids and audit targets were read (a kube-bench cfg file). */
  readonly source: string;
  /** Every control id of the node section in `source`: each is mapped or not covered (a test holds it). */
  readonly sourceControls: readonly string[];
  /** Its parts (the first number of a control) as kube-bench's JSON names them: text and node type. */
  readonly parts: Readonly<Record<string, { readonly text: string; readonly nodeType: string }>>;
  /** Section titles, our words: `3.2` -> `Kubelet`. */
  readonly sections: Readonly<Record<string, string>>;
  readonly controls: readonly BenchmarkControl[];
  readonly notCovered: readonly UncoveredControl[];
  /**
   * True for the benchmark the catalog is written against (CIS Kubernetes): its controls are
   * the catalog's own references, and judging under it changes nothing.
   */
  readonly native: boolean;
}

/** Where a node section's layout is the same across benchmarks: its control ids, its part and its sections. */
type NodeSection = Pick<Benchmark, 'sourceControls' | 'parts' | 'sections'>;

const WORKER_PART = { text: 'Worker Node Security Configuration', nodeType: 'node' } as const;

/** The node section as CIS Kubernetes numbers it (4.1 files, 4.2 kubelet), which the k3s, rke2 and MicroK8s guides keep. */
export const CIS_KUBERNETES_NODE_SECTION: NodeSection = {
  sourceControls: [
    '4.1.1', '4.1.2', '4.1.3', '4.1.4', '4.1.5', '4.1.6', '4.1.7', '4.1.8', '4.1.9', '4.1.10',
    '4.2.1', '4.2.2', '4.2.3', '4.2.4', '4.2.5', '4.2.6', '4.2.7', '4.2.8', '4.2.9', '4.2.10', '4.2.11', '4.2.12', '4.2.13',
  ],
  parts: { 4: WORKER_PART },
  sections: { '4.1': 'Worker node configuration files', '4.2': 'Kubelet' },
};

/** The worker section of the managed platforms' benchmarks (CIS EKS, AKS): 3.1 files, 3.2 kubelet. */
export const MANAGED_NODE_SECTION: NodeSection = {
  sourceControls: ['3.1.1', '3.1.2', '3.1.3', '3.1.4', '3.2.1', '3.2.2', '3.2.3', '3.2.4', '3.2.5', '3.2.6', '3.2.7', '3.2.8', '3.2.9'],
  parts: { 3: WORKER_PART },
  sections: { '3.1': 'Worker node configuration files', '3.2': 'Kubelet' },
};
