// CIS 4.3: kube-proxy.
import { kubeProxyMetricsCheck } from '../kube-proxy-metrics.js';
import { cisRef } from '../../../proto/benchmark-refs.js';
import type { CheckSpec } from '../spec.js';

export const KUBE_PROXY_CHECKS: readonly CheckSpec[] = [
  kubeProxyMetricsCheck({
    id: 'cis-4.3.1',
    references: [cisRef('4.3.1')],
    title: 'kube-proxy serves its metrics on loopback only',
    category: 'kubelet',
    severity: 'medium',
    scored: true,
    remediation:
      'Keep kube-proxy\'s metrics off the network: leave metricsBindAddress unset (it defaults to 127.0.0.1:10249) or set it ' +
      'to 127.0.0.1:10249 in kube-proxy\'s configuration (the kube-proxy ConfigMap on kubeadm clusters), drop any ' +
      '--metrics-bind-address=0.0.0.0 flag, and restart the kube-proxy pods.',
  }),
];
