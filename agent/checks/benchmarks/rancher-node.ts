// The node controls of Rancher's k3s and rke2 self-assessment guides (kube-bench's
// k3s-cis-* and rke2-cis-*): CIS Kubernetes 4.1 and 4.2 under the same numbers, judged by
// the same checks, with the guides' own automated/manual split and one stricter test (the
// client CA at 600 where CIS Kubernetes asks 644). Built per distribution so the remediation
// names its config file (kubelet settings are `kubelet-arg` entries there) and its files.
import type { BenchmarkControl } from './types.js';

export interface RancherNode {
  /** `k3s` or `rke2`: how the remediation names the product. */
  readonly product: string;
  /** Its config file, where `kubelet-arg` entries set kubelet flags. */
  readonly configFile: string;
  /** How to apply a change: the service restarts. */
  readonly restart: string;
  /** The agent's own directory (kubeconfigs, client CA). */
  readonly agentDir: string;
  /** Controls the guide scores as manual (the rest are automated). */
  readonly manual: readonly string[];
  /** Where the guide's audit differs from what the kubelet's flags name, per control. */
  readonly audits: Readonly<Record<string, string>>;
}

export function rancherNodeControls(r: RancherNode): BenchmarkControl[] {
  const arg = (flag: string): string =>
    `Set it with a kubelet-arg entry in ${r.configFile} (\`kubelet-arg: ["${flag}"]\`), remove any entry that sets it otherwise, then ${r.restart}.`;
  const file = (what: string, path: string, cmd: string): string =>
    `${r.product} writes ${what} itself (${path}): run ${cmd} on it, and check again after an upgrade rewrites it.`;
  // `stricter`: the guide's own test, where it asks more than CIS Kubernetes (then not the same control).
  const c = (control: string, title: string, remediation: string, stricter?: BenchmarkControl['test']): BenchmarkControl => ({
    control, check: `cis-${control}`, title, remediation, scored: !r.manual.includes(control),
    ...(stricter === undefined ? { cis: control } : { test: stricter }),
    ...(r.audits[control] === undefined ? {} : { audits: r.audits[control] }),
  });
  const kubeconfig = `${r.agentDir}/kubelet.kubeconfig`;
  const proxy = `${r.agentDir}/kubeproxy.kubeconfig`;
  const ca = `${r.agentDir}/client-ca.crt`;
  return [
    c('4.1.1', 'Kubelet service unit files are mode 0600 or stricter',
      `The kubelet runs inside the ${r.product} service: run chmod 600 on its systemd unit and drop-ins, then systemctl daemon-reload.`),
    c('4.1.2', 'Kubelet service unit files are owned by root:root',
      `Run chown root:root on the ${r.product} service's systemd unit and drop-ins, then systemctl daemon-reload.`),
    c('4.1.3', 'kube-proxy kubeconfig file mode is 0600 or stricter', file('kube-proxy\'s kubeconfig', proxy, 'chmod 600')),
    c('4.1.4', 'kube-proxy kubeconfig file is owned by root:root', file('kube-proxy\'s kubeconfig', proxy, 'chown root:root')),
    c('4.1.5', 'Kubelet kubeconfig file mode is 0600 or stricter', file('the kubelet\'s kubeconfig', kubeconfig, 'chmod 600')),
    c('4.1.6', 'Kubelet kubeconfig file is owned by root:root', file('the kubelet\'s kubeconfig', kubeconfig, 'chown root:root')),
    // The guide asks 600 of the client CA; CIS Kubernetes 4.1.7 asks 644: not the same test.
    c('4.1.7', 'Kubelet client CA file mode is 0600 or stricter', file('the kubelet\'s client CA bundle', ca, 'chmod 600'),
      { op: 'bitmask-mode-at-most', value: '600' }),
    c('4.1.8', 'Kubelet client CA file is owned by root:root', file('the kubelet\'s client CA bundle', ca, 'chown root:root')),
    c('4.1.9', 'Kubelet config file and drop-ins are mode 0600 or stricter',
      `When the kubelet reads a config file or drop-ins (${r.product} passes most settings as flags), run chmod 600 on each.`),
    c('4.1.10', 'Kubelet config file and drop-ins are owned by root:root',
      `When the kubelet reads a config file or drop-ins, run chown root:root on each.`),
    c('4.2.1', 'Kubelet refuses anonymous requests', `${r.product} turns anonymous access off by default. ${arg('anonymous-auth=false')}`),
    c('4.2.2', 'Kubelet authorizes requests (not AlwaysAllow)', `${r.product} uses Webhook by default. ${arg('authorization-mode=Webhook')}`),
    c('4.2.3', 'Kubelet verifies client certificates against a CA', `${r.product} sets the client CA itself. ${arg(`client-ca-file=${ca}`)}`),
    c('4.2.4', 'Kubelet unauthenticated read-only port is off', arg('read-only-port=0')),
    c('4.2.5', 'Kubelet closes idle streaming connections', arg('streaming-connection-idle-timeout=5m')),
    c('4.2.6', 'Kubelet keeps its iptables utility chains', arg('make-iptables-util-chains=true')),
    c('4.2.7', 'Kubelet does not override its host name',
      `Remove node-name and any kubelet-arg hostname-override from ${r.configFile} unless the cloud requires it, then ${r.restart}.`),
    c('4.2.8', 'Kubelet event rate limit keeps security events', arg('event-qps=0')),
    c('4.2.9', 'Kubelet serves its API with a certificate the API server can verify',
      `${r.product} issues the kubelet's serving certificate itself; if kubelet-arg sets tls-cert-file or tls-private-key-file, point them at a certificate issued for this node, then ${r.restart}.`),
    c('4.2.10', 'Kubelet renews its client certificate', arg('rotate-certificates=true')),
    c('4.2.11', 'Kubelet serving-certificate rotation stays on',
      `Remove RotateKubeletServerCertificate=false from any kubelet-arg feature-gates entry in ${r.configFile}, then ${r.restart}.`),
    c('4.2.12', 'Kubelet offers only strong TLS cipher suites',
      arg('tls-cipher-suites=TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384')),
    c('4.2.13', 'Kubelet limits the number of processes per pod', arg('pod-max-pids=4096')),
  ];
}
