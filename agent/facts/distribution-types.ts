// The distribution the facts phase chose for a node, and why: part of the facts model
// (model.ts), read by `nodeward scan` and joined with the benchmark mappings (the benchmark
// name is the layout's). Plain, JSON-serialisable data.
import type { DistributionName } from './layouts/types.js';

export interface DistributionCandidate {
  readonly name: DistributionName;
  /** What the node shows for it, one sentence each (`/etc/eks/bootstrap.sh exists`). */
  readonly evidence: readonly string[];
}

export interface DistributionFacts {
  /** The layout the facts were read with. */
  readonly name: DistributionName;
  /** The benchmark that judges this node, as the layout names it (e.g. `cis-eks-1.7`). */
  readonly benchmark: string;
  /**
   * `config`: the agent setting `distribution` named it; `detected`: the node's signs chose it;
   * `default`: no layout's signs were seen, so the kubeadm layout (CIS Kubernetes's own).
   */
  readonly source: 'config' | 'detected' | 'default';
  /** The evidence for the chosen layout (empty for `default`; the setting for `config`). */
  readonly evidence: readonly string[];
  /** One sentence: what was chosen and why, including how an ambiguity was settled. */
  readonly reason: string;
  /** Every layout the node showed signs of (more than one: the node is ambiguous). */
  readonly candidates: readonly DistributionCandidate[];
  /** /etc/os-release's ID and VERSION_ID; null when unreadable. */
  readonly os: { readonly id: string; readonly versionId: string } | null;
}
