// The kubelet controls the managed-cloud benchmarks (CIS EKS, CIS AKS) number 3.2.1 to 3.2.9:
// the same nine problems as CIS Kubernetes 4.2, judged by the same checks, numbered and
// worded for a node whose kubelet is configured by one config file the cloud's bootstrap
// writes. Built per distribution so the remediation names its file and restart.
import type { BenchmarkControl } from './types.js';

export interface ManagedKubelet {
  /** The kubelet config file the distribution's bootstrap writes. */
  readonly configFile: string;
  /** How the change reaches new nodes too (a launch template, a node pool setting). */
  readonly durable: string;
}

export function managedKubeletControls(k: ManagedKubelet): BenchmarkControl[] {
  const edit = (what: string): string =>
    `Set ${what} in ${k.configFile} (or the kubelet's command line), then restart the kubelet (systemctl restart kubelet); ${k.durable}.`;
  return [
    {
      control: '3.2.1', check: 'cis-4.2.1', cis: '4.2.1', scored: true,
      title: 'Kubelet refuses anonymous requests',
      remediation: edit('authentication.anonymous.enabled to false'),
    },
    {
      control: '3.2.2', check: 'cis-4.2.2', cis: '4.2.2', scored: true,
      title: 'Kubelet authorizes requests (not AlwaysAllow)',
      remediation: edit('authorization.mode to Webhook'),
    },
    {
      control: '3.2.3', check: 'cis-4.2.3', cis: '4.2.3', scored: true,
      title: 'Kubelet verifies client certificates against a CA',
      remediation: edit('authentication.x509.clientCAFile to the cluster CA bundle'),
    },
    {
      control: '3.2.4', check: 'cis-4.2.4', cis: '4.2.4', scored: true,
      title: 'Kubelet unauthenticated read-only port is off',
      remediation: edit('readOnlyPort to 0'),
    },
    {
      control: '3.2.5', check: 'cis-4.2.5', cis: '4.2.5', scored: true,
      title: 'Kubelet closes idle streaming connections',
      remediation: edit('streamingConnectionIdleTimeout to a non-zero duration such as 5m'),
    },
    {
      control: '3.2.6', check: 'cis-4.2.6', cis: '4.2.6', scored: true,
      title: 'Kubelet keeps its iptables utility chains',
      remediation: edit('makeIPTablesUtilChains to true'),
    },
    {
      control: '3.2.7', check: 'cis-4.2.8', cis: '4.2.8', scored: true,
      title: 'Kubelet event rate limit keeps security events',
      remediation: edit('eventRecordQPS to 0 (no limit) or to a rate the API server can take'),
    },
    {
      control: '3.2.8', check: 'cis-4.2.10', cis: '4.2.10', scored: true,
      title: 'Kubelet renews its client certificate',
      remediation: edit('rotateCertificates to true'),
    },
    {
      control: '3.2.9', check: 'cis-4.2.11', cis: '4.2.11', scored: true,
      title: 'Kubelet serving-certificate rotation stays on',
      remediation: edit('featureGates.RotateKubeletServerCertificate to true (or leave it out: it is on by default)'),
    },
  ];
}
