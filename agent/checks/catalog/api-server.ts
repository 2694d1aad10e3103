// CIS 1.2: the API server. Flag records carry the API server's real default (what it does
// when the flag is absent); checks that are more than a flag come from api-server-checks.ts.
import type { Severity } from '../../../proto/domain.js';
import type { ValueSpec } from '../../facts/component-settings.js';
import {
  anonymousAuthCheck,
  authorizationCheck,
  encryptionConfiguredCheck,
  encryptionProviderCheck,
  reviewSettingCheck,
} from '../api-server-checks.js';
import type { Test } from '../operators.js';
import type { CheckMeta, CheckSpec, ComponentSettingCheck } from '../spec.js';
import { cisRef } from '../../../proto/benchmark-refs.js';

const meta = (cis: string, title: string, severity: Severity, scored: boolean, remediation: string): CheckMeta => ({
  id: `cis-${cis}`, references: [cisRef(cis)], title, category: 'control-plane', severity, scored, remediation,
});

const str = (flag: string): ValueSpec => ({ flag, type: 'string', default: null });
const ENABLE_PLUGINS: ValueSpec = { flag: 'enable-admission-plugins', type: 'list', default: '' };
const DISABLE_PLUGINS: ValueSpec = { flag: 'disable-admission-plugins', type: 'list', default: '' };

function apiFlag(m: CheckMeta, settings: readonly ValueSpec[], test: Test): ComponentSettingCheck {
  return { ...m, kind: 'component-setting', component: 'kube-apiserver', settings, test };
}

/** The cipher suites CIS 1.12 accepts for the API server (1.2.29). */
export const API_SERVER_STRONG_CIPHERS: readonly string[] = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
  'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384',
  'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305',
  'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256',
  'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
  'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
  'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305',
  'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256',
];

export const API_SERVER_CHECKS: readonly CheckSpec[] = [
  anonymousAuthCheck(meta('1.2.1', 'API server refuses anonymous requests', 'high', false,
    'Pass --anonymous-auth=false to the API server (or, with --authentication-config, set anonymous.enabled to false there); ' +
    'health checks that need anonymous access can use the authentication config\'s per-path conditions instead.')),
  apiFlag(meta('1.2.2', 'API server does not use a static token file', 'high', true,
    'Remove --token-auth-file: static tokens never expire and cannot be revoked without a restart. Use client certificates, OIDC or webhook authentication.'),
  [str('token-auth-file')], { op: 'absent' }),
  apiFlag(meta('1.2.3', 'DenyServiceExternalIPs admission plugin is enabled', 'medium', false,
    'Add DenyServiceExternalIPs to --enable-admission-plugins unless the cluster needs Service externalIPs, which let a Service claim any address.'),
  [ENABLE_PLUGINS], { op: 'has', value: 'DenyServiceExternalIPs' }),
  apiFlag(meta('1.2.4', 'API server authenticates to kubelets with a client certificate', 'high', true,
    'Give the API server a client certificate for the kubelets: set --kubelet-client-certificate and --kubelet-client-key.'),
  [str('kubelet-client-certificate'), str('kubelet-client-key')], { op: 'present' }),
  apiFlag(meta('1.2.5', 'API server verifies kubelet serving certificates', 'medium', true,
    'Set --kubelet-certificate-authority to the CA that signs the kubelets\' serving certificates, so the API server knows it talks to the real kubelet.'),
  [str('kubelet-certificate-authority')], { op: 'present' }),
  authorizationCheck(meta('1.2.6', 'API server authorization does not include AlwaysAllow', 'critical', true,
    'Remove AlwaysAllow from --authorization-mode (or from the authorizers of --authorization-config); use Node,RBAC.'),
  { op: 'nothave', value: 'AlwaysAllow' }),
  authorizationCheck(meta('1.2.7', 'API server authorization includes Node', 'high', true,
    'Add Node to --authorization-mode (or a Node authorizer to --authorization-config) so each kubelet can only read what its own pods need.'),
  { op: 'has', value: 'Node' }),
  authorizationCheck(meta('1.2.8', 'API server authorization includes RBAC', 'high', true,
    'Add RBAC to --authorization-mode (or an RBAC authorizer to --authorization-config).'),
  { op: 'has', value: 'RBAC' }),
  apiFlag(meta('1.2.9', 'EventRateLimit admission plugin is enabled', 'low', false,
    'Add EventRateLimit to --enable-admission-plugins and configure its limits in the file named by --admission-control-config-file.'),
  [ENABLE_PLUGINS], { op: 'has', value: 'EventRateLimit' }),
  apiFlag(meta('1.2.10', 'AlwaysAdmit admission plugin is not enabled', 'high', true,
    'Remove AlwaysAdmit from --enable-admission-plugins: it admits every request whatever the other plugins would say.'),
  [ENABLE_PLUGINS], { op: 'nothave', value: 'AlwaysAdmit' }),
  apiFlag(meta('1.2.11', 'AlwaysPullImages admission plugin is enabled', 'medium', false,
    'Add AlwaysPullImages to --enable-admission-plugins so a pod cannot run a private image that another tenant already pulled to the node.'),
  [ENABLE_PLUGINS], { op: 'has', value: 'AlwaysPullImages' }),
  apiFlag(meta('1.2.12', 'ServiceAccount admission plugin is not disabled', 'high', true,
    'Remove ServiceAccount from --disable-admission-plugins.'),
  [DISABLE_PLUGINS], { op: 'nothave', value: 'ServiceAccount' }),
  apiFlag(meta('1.2.13', 'NamespaceLifecycle admission plugin is not disabled', 'medium', true,
    'Remove NamespaceLifecycle from --disable-admission-plugins, so nothing is created in a namespace that is being deleted or does not exist.'),
  [DISABLE_PLUGINS], { op: 'nothave', value: 'NamespaceLifecycle' }),
  apiFlag(meta('1.2.14', 'NodeRestriction admission plugin is enabled', 'high', true,
    'Add NodeRestriction to --enable-admission-plugins (with the Node authorizer) so a kubelet can only change its own Node and its own pods.'),
  [ENABLE_PLUGINS], { op: 'has', value: 'NodeRestriction' }),
  apiFlag(meta('1.2.15', 'API server profiling is off', 'medium', true,
    'Pass --profiling=false to the API server; the profiling endpoints reveal internals and cost resources.'),
  [{ flag: 'profiling', type: 'bool', default: 'true' }], { op: 'eq', value: 'false' }),
  apiFlag(meta('1.2.16', 'API server writes an audit log', 'medium', true,
    'Set --audit-log-path to a file on a protected volume (and --audit-policy-file to say what to record).'),
  [str('audit-log-path')], { op: 'present' }),
  apiFlag(meta('1.2.17', 'Audit logs are kept at least 30 days', 'low', true,
    'Set --audit-log-maxage to 30 or more.'),
  [{ flag: 'audit-log-maxage', type: 'int', default: '0' }], { op: 'gte', value: 30 }),
  apiFlag(meta('1.2.18', 'At least 10 rotated audit log files are kept', 'low', true,
    'Set --audit-log-maxbackup to 10 or more.'),
  [{ flag: 'audit-log-maxbackup', type: 'int', default: '0' }], { op: 'gte', value: 10 }),
  apiFlag(meta('1.2.19', 'Audit log files rotate at 100 MB or more', 'low', true,
    'Set --audit-log-maxsize to 100 or more (megabytes).'),
  [{ flag: 'audit-log-maxsize', type: 'int', default: '0' }], { op: 'gte', value: 100 }),
  reviewSettingCheck(meta('1.2.20', 'API server request timeout is appropriate', 'info', false,
    'Keep the default --request-timeout (60s) unless long-running requests need more; raise it only as far as they need.'),
  { flag: 'request-timeout', type: 'string', default: '1m0s' }, 'a human has to judge whether it suits this cluster'),
  apiFlag(meta('1.2.21', 'Service account tokens are looked up in etcd', 'medium', true,
    'Leave --service-account-lookup at its default (true) or set it to true, so deleted service accounts\' tokens stop working.'),
  [{ flag: 'service-account-lookup', type: 'bool', default: 'true' }], { op: 'eq', value: 'true' }),
  apiFlag(meta('1.2.22', 'API server has the service account verification key', 'medium', true,
    'Set --service-account-key-file to the public key (or bundle) that verifies service account tokens, so signing keys can be rotated.'),
  [str('service-account-key-file')], { op: 'present' }),
  apiFlag(meta('1.2.23', 'API server authenticates to etcd with a client certificate', 'high', true,
    'Set --etcd-certfile and --etcd-keyfile so the API server talks to etcd over mutual TLS.'),
  [str('etcd-certfile'), str('etcd-keyfile')], { op: 'present' }),
  apiFlag(meta('1.2.24', 'API server serves TLS with its own certificate', 'high', true,
    'Set --tls-cert-file and --tls-private-key-file to the API server\'s serving certificate and key.'),
  [str('tls-cert-file'), str('tls-private-key-file')], { op: 'present' }),
  apiFlag(meta('1.2.25', 'API server verifies client certificates', 'high', true,
    'Set --client-ca-file to the CA bundle that signs client certificates.'),
  [str('client-ca-file')], { op: 'present' }),
  apiFlag(meta('1.2.26', 'API server verifies etcd\'s certificate', 'high', true,
    'Set --etcd-cafile to the CA that signs etcd\'s serving certificate.'),
  [str('etcd-cafile')], { op: 'present' }),
  encryptionConfiguredCheck(meta('1.2.27', 'Encryption at rest is configured', 'high', false,
    'Write an EncryptionConfiguration that encrypts at least secrets and pass it with --encryption-provider-config; then rewrite existing secrets so they are stored encrypted.')),
  encryptionProviderCheck(meta('1.2.28', 'Secrets are encrypted with a strong provider', 'high', false,
    'Make the first provider for secrets kms (apiVersion v2), aescbc, aesgcm or secretbox, keep identity only after it for reading old data, and rewrite existing secrets.')),
  apiFlag(meta('1.2.29', 'API server uses only strong TLS cipher suites', 'medium', false,
    `Set --tls-cipher-suites to a subset of ${API_SERVER_STRONG_CIPHERS.join(', ')}.`),
  [{ flag: 'tls-cipher-suites', type: 'list', default: null }], { op: 'valid-elements', value: API_SERVER_STRONG_CIPHERS }),
  apiFlag(meta('1.2.30', 'Service account token lifetimes are not extended', 'medium', true,
    'Pass --service-account-extend-token-expiration=false so projected tokens expire when they say they do.'),
  [{ flag: 'service-account-extend-token-expiration', type: 'bool', default: 'true' }], { op: 'eq', value: 'false' }),
];
