// CIS 1.3 (controller manager), 1.4 (scheduler), 2 (etcd) and 3.2 (audit policy). Flag
// records carry the component's real default: the controller manager and the scheduler
// listen on every address (0.0.0.0) unless --bind-address says otherwise, so an absent flag
// fails 1.3.7 and 1.4.2; etcd's TLS switches are off unless turned on.
import type { Category, Severity } from '../../../proto/domain.js';
import type { ControlPlaneComponent } from '../../facts/index.js';
import type { ValueSpec } from '../../facts/component-settings.js';
import { KEY_AUDIT_RESOURCES, auditPolicyCoverageCheck, auditPolicyExistsCheck } from '../audit-policy-checks.js';
import { etcdDedicatedCaCheck } from '../etcd-ca-check.js';
import { etcdAutoTlsCheck } from '../etcd-certificate-checks.js';
import type { Test } from '../operators.js';
import type { CheckMeta, CheckSpec, ComponentSettingCheck } from '../spec.js';
import { cisRef } from '../../../proto/benchmark-refs.js';

const meta = (cis: string, title: string, category: Category, severity: Severity, scored: boolean, remediation: string): CheckMeta => ({
  id: `cis-${cis}`, references: [cisRef(cis)], title, category, severity, scored, remediation,
});

const flagCheck = (m: CheckMeta, component: ControlPlaneComponent, settings: readonly ValueSpec[], test: Test): ComponentSettingCheck =>
  ({ ...m, kind: 'component-setting', component, settings, test });

const PROFILING: ValueSpec = { flag: 'profiling', type: 'bool', default: 'true' };
const BIND_ADDRESS: ValueSpec = { flag: 'bind-address', type: 'string', default: '0.0.0.0' };
const LOOPBACK: Test = { op: 'eq', value: '127.0.0.1' };

export const CONTROLLER_MANAGER_CHECKS: readonly CheckSpec[] = [
  flagCheck(meta('1.3.1', 'Terminated pod garbage collection threshold is set', 'control-plane', 'low', false,
    'Set --terminated-pod-gc-threshold on the controller manager to a number of finished pods this cluster can afford to keep (the built-in 12500 is high for small clusters).'),
  'kube-controller-manager', [{ flag: 'terminated-pod-gc-threshold', type: 'int', default: null }], { op: 'present' }),
  flagCheck(meta('1.3.2', 'Controller manager profiling is off', 'control-plane', 'medium', true,
    'Pass --profiling=false to the controller manager.'),
  'kube-controller-manager', [PROFILING], { op: 'eq', value: 'false' }),
  flagCheck(meta('1.3.3', 'Controllers use their own service account credentials', 'control-plane', 'medium', true,
    'Pass --use-service-account-credentials=true to the controller manager so each controller acts with its own, narrower, service account.'),
  'kube-controller-manager', [{ flag: 'use-service-account-credentials', type: 'bool', default: 'false' }], { op: 'eq', value: 'true' }),
  flagCheck(meta('1.3.4', 'Controller manager signs service account tokens with a key file', 'control-plane', 'high', true,
    'Set --service-account-private-key-file on the controller manager to the private key whose public half the API server verifies with.'),
  'kube-controller-manager', [{ flag: 'service-account-private-key-file', type: 'string', default: null }], { op: 'present' }),
  flagCheck(meta('1.3.5', 'Controller manager hands out the root CA to service accounts', 'control-plane', 'medium', true,
    'Set --root-ca-file on the controller manager so pods can verify the API server\'s certificate.'),
  'kube-controller-manager', [{ flag: 'root-ca-file', type: 'string', default: null }], { op: 'present' }),
  flagCheck(meta('1.3.6', 'RotateKubeletServerCertificate is not turned off', 'control-plane', 'medium', true,
    'Remove RotateKubeletServerCertificate=false from the controller manager\'s --feature-gates (the gate is on by default).'),
  'kube-controller-manager', [{ flag: 'feature-gates', type: 'bool', default: 'true', featureGate: 'RotateKubeletServerCertificate' }], { op: 'eq', value: 'true' }),
  flagCheck(meta('1.3.7', 'Controller manager listens on the loopback address only', 'control-plane', 'medium', true,
    'Pass --bind-address=127.0.0.1 to the controller manager: without it, its secure port listens on every address.'),
  'kube-controller-manager', [BIND_ADDRESS], LOOPBACK),
];

/** kube-scheduler: with --config, its KubeSchedulerConfiguration decides profiling and the flag is ignored. */
export const SCHEDULER_CHECKS: readonly CheckSpec[] = [
  flagCheck(meta('1.4.1', 'Scheduler profiling is off', 'control-plane', 'medium', true,
    'Pass --profiling=false to the scheduler, or set enableProfiling: false in the file named by its --config (which then overrides the flag).'),
  'kube-scheduler', [{ ...PROFILING, configPath: ['enableProfiling'] }], { op: 'eq', value: 'false' }),
  flagCheck(meta('1.4.2', 'Scheduler listens on the loopback address only', 'control-plane', 'medium', true,
    'Pass --bind-address=127.0.0.1 to the scheduler: without it, its secure port listens on every address.'),
  'kube-scheduler', [BIND_ADDRESS], LOOPBACK),
];

/** An etcd setting: its flag, its ETCD_* variable and its place in a --config-file. */
function etcdSetting(flag: string, section: 'client-transport-security' | 'peer-transport-security', key: string, type: 'bool' | 'string', dflt: string | null): ValueSpec {
  return { flag, type, default: dflt, env: `ETCD_${flag.toUpperCase().replace(/-/g, '_')}`, configPath: [section, key] };
}

export const ETCD_CHECKS: readonly CheckSpec[] = [
  // 2.1 and 2.2 also probe etcd's client URLs (what were etcd-plaintext-live and etcd-client-cert-auth-live).
  flagCheck({ ...meta('2.1', 'etcd serves clients over TLS', 'etcd', 'high', true,
    'Give etcd a serving certificate: set --cert-file and --key-file (or client-transport-security in its config file), and give every ' +
    'client URL the https:// scheme in --listen-client-urls and --advertise-client-urls.'), wire: 'etcd-plaintext' },
  'etcd', [etcdSetting('cert-file', 'client-transport-security', 'cert-file', 'string', null), etcdSetting('key-file', 'client-transport-security', 'key-file', 'string', null)], { op: 'present' }),
  flagCheck({ ...meta('2.2', 'etcd requires client certificates', 'etcd', 'high', true,
    'Pass --client-cert-auth=true to etcd (client-transport-security.client-cert-auth: true in its config file) with --trusted-ca-file naming ' +
    'etcd\'s own CA, restart etcd, and until then let nothing but the API servers reach its client port.'), wire: 'etcd-client-cert-auth' },
  'etcd', [etcdSetting('client-cert-auth', 'client-transport-security', 'client-cert-auth', 'bool', 'false')], { op: 'eq', value: 'true' }),
  // 2.3 and 2.6 also say what etcd does when auto TLS is on (they hold what was etcd-auto-tls).
  etcdAutoTlsCheck(meta('2.3', 'etcd does not use self-signed client certificates', 'etcd', 'high', true,
    'Remove --auto-tls from etcd (or set it to false) and give it a certificate signed by its CA.'), 'client'),
  flagCheck(meta('2.4', 'etcd peers talk over TLS', 'etcd', 'high', true,
    'Set --peer-cert-file and --peer-key-file on every etcd member (peer-transport-security in its config file).'),
  'etcd', [etcdSetting('peer-cert-file', 'peer-transport-security', 'cert-file', 'string', null), etcdSetting('peer-key-file', 'peer-transport-security', 'key-file', 'string', null)], { op: 'present' }),
  flagCheck(meta('2.5', 'etcd peers require client certificates', 'etcd', 'high', true,
    'Pass --peer-client-cert-auth=true to every etcd member.'),
  'etcd', [etcdSetting('peer-client-cert-auth', 'peer-transport-security', 'client-cert-auth', 'bool', 'false')], { op: 'eq', value: 'true' }),
  etcdAutoTlsCheck(meta('2.6', 'etcd peers do not use self-signed certificates', 'etcd', 'high', true,
    'Remove --peer-auto-tls from etcd (or set it to false) and give each member a peer certificate signed by its CA.'), 'peer'),
  // 2.7 also compares etcd's CA with the cluster CA by content (what was etcd-ca-shared).
  etcdDedicatedCaCheck(meta('2.7', 'etcd trusts a certificate authority of its own', 'etcd', 'medium', false,
    'Issue etcd\'s certificates from a CA used for etcd only and point --trusted-ca-file at it, so certificates the cluster CA signs for other purposes cannot reach etcd.')),
];

export const AUDIT_CHECKS: readonly CheckSpec[] = [
  auditPolicyExistsCheck(meta('3.2.1', 'API server has an audit policy', 'control-plane', 'medium', false,
    'Write an audit Policy (audit.k8s.io/v1) and pass it with --audit-policy-file, together with --audit-log-path or an audit webhook.')),
  auditPolicyCoverageCheck(meta('3.2.2', 'Audit policy logs access to secrets, configmaps and token reviews', 'control-plane', 'medium', false,
    'Make the first rule that matches secrets, configmaps and tokenreviews log at least Metadata, and move any level: None rule that could match them after it ' +
    '(the first matching rule wins). Do not log request bodies of secrets.'),
  KEY_AUDIT_RESOURCES),
];
