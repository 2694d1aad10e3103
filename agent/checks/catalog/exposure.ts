// Node exposure (beyond the benchmark): what the node's listening sockets are bound to
// (agent/checks/exposure-checks.ts; what is and is not seen: docs/exposure.md).
import { controlPlanePortsCheck, etcdClientAuthCheck, kubeletApiCheck, newListenerCheck } from '../exposure-checks.js';
import type { CheckSpec } from '../spec.js';
import { NEW_LISTENER_CHECK_ID } from '../../../proto/listen-item.js';

export const EXPOSURE_CHECKS: readonly CheckSpec[] = [
  controlPlanePortsCheck({
    id: 'exposure-control-plane-port',
    references: [],
    title: 'Control-plane ports are not bound to public addresses',
    category: 'control-plane',
    severity: 'high',
    scored: true,
    remediation:
      'Bind the component to a private or loopback address (etcd --listen-client-urls and --listen-peer-urls, the API ' +
      'server --bind-address, the controller manager and scheduler --bind-address=127.0.0.1, the kubelet readOnlyPort: 0), ' +
      'and keep a firewall or security group in front of the node that drops these ports from outside the cluster.',
  }),
  etcdClientAuthCheck({
    id: 'exposure-etcd-client-auth',
    references: [],
    title: "etcd's client port outside loopback requires client certificates",
    category: 'etcd',
    severity: 'critical',
    scored: true,
    remediation:
      'Run etcd with --client-cert-auth=true and --trusted-ca-file, serve https:// client URLs only, and bind its client ' +
      'URLs to loopback and the control-plane network; rotate anything etcd holds if it was served to unknown clients.',
  }),
  kubeletApiCheck({
    id: 'exposure-kubelet-api',
    references: [],
    title: "The kubelet's API is not bound to a public address",
    category: 'kubelet',
    severity: 'medium',
    scored: true,
    remediation:
      "Set the kubelet's address (config `address`, flag --address) to the node's private address, and drop port 10250 " +
      'from outside the cluster at the firewall; keep anonymous authentication off and authorization on Webhook.',
  }),
  newListenerCheck({
    id: NEW_LISTENER_CHECK_ID,
    references: [],
    title: 'A locked workload listens only where it did while learning',
    category: 'process',
    severity: 'medium',
    scored: true,
    remediation:
      'Find out why the process opened the port (a debug server, a backdoor, a new release that changed its port). If it ' +
      'is expected, allow that listen for the workload\'s baseline (nodeward baseline allow-listen --key <key> --listen tcp/0.0.0.0:8080, or ' +
      'tcp/private:8080 for the port on any private address), or unlock the baseline so it learns again (nodeward baseline unlock) ' +
      'and lock it; otherwise ' +
      'stop the workload and look at how it was changed.',
  }),
];
