// The registry of distribution layouts (agent/facts/layouts/): every layout the agent knows, in
// the order detection prefers them when a node shows signs of more than one (the more specific
// first: a distribution's own processes and directories before a cloud image's, and kubeadm,
// whose signs other layouts also show, last).
import { AKS_AZURELINUX_LAYOUT, AKS_UBUNTU_LAYOUT } from './layouts/aks.js';
import { EKS_AL2023_LAYOUT, EKS_AL2_LAYOUT, EKS_BOTTLEROCKET_LAYOUT } from './layouts/eks.js';
import { GKE_COS_LAYOUT, GKE_UBUNTU_LAYOUT } from './layouts/gke.js';
import { KUBEADM_LAYOUT } from './layouts/kubeadm.js';
import { MICROK8S_LAYOUT } from './layouts/microk8s.js';
import { K3S_LAYOUT, RKE2_LAYOUT } from './layouts/rancher.js';
import type { DistributionName, Layout } from './layouts/types.js';

export type * from './layouts/types.js';
export { KUBEADM_LAYOUT, K3S_LAYOUT, RKE2_LAYOUT };

export const LAYOUTS: readonly Layout[] = [
  RKE2_LAYOUT,
  K3S_LAYOUT,
  MICROK8S_LAYOUT,
  EKS_BOTTLEROCKET_LAYOUT,
  EKS_AL2023_LAYOUT,
  EKS_AL2_LAYOUT,
  GKE_COS_LAYOUT,
  GKE_UBUNTU_LAYOUT,
  AKS_AZURELINUX_LAYOUT,
  AKS_UBUNTU_LAYOUT,
  KUBEADM_LAYOUT,
];

/** The layout of a node that shows no distribution's signs: the one CIS Kubernetes is written against. */
export const DEFAULT_LAYOUT: Layout = KUBEADM_LAYOUT;

/** Every distribution name, in LAYOUTS' order (the agent setting `distribution` takes one of these or `auto`). */
export const DISTRIBUTION_NAMES: readonly DistributionName[] = LAYOUTS.map((l) => l.name);

export const layoutByName = (name: DistributionName): Layout => LAYOUTS.find((l) => l.name === name) ?? KUBEADM_LAYOUT;
