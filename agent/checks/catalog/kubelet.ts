// CIS 4.2: kubelet settings. Each record names the flag, the KubeletConfiguration path, both
// built-in defaults (command line / config file), the test and our default severity.
import { servingCertCheck } from '../kubelet-serving-cert.js';
import { CIS_BENCHMARK, cisRef, controlIn } from '../../../proto/benchmark-refs.js';
import type { CheckSpec, KubeletSetting, KubeletSettingCheck } from '../spec.js';

/**
 * The suites CIS 1.12 allows for the kubelet. Go also accepts the `_SHA256` spelling of the
 * two CHACHA20 suites: the same suites under another name, so they are allowed too.
 */
export const STRONG_CIPHER_SUITES: readonly string[] = [
  'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
  'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
  'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305',
  'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
  'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305',
  'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384',
  'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256',
  'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256',
];

export const CLIENT_CA_FILE: KubeletSetting = {
  flag: 'client-ca-file',
  configPath: ['authentication', 'x509', 'clientCAFile'],
  type: 'string',
  flagDefault: null,
  configDefault: null,
  emptyIsUnset: true,
};

export const KUBELET_SETTING_CHECKS: readonly KubeletSettingCheck[] = [
  {
    kind: 'kubelet-setting',
    id: 'cis-4.2.1',
    references: [cisRef('4.2.1')],
    title: 'Kubelet refuses anonymous requests',
    category: 'kubelet',
    severity: 'high',
    scored: true,
    // The probe's anonymous GET /pods: answered, it is critical (what was kubelet-api-anonymous).
    wire: 'kubelet-anonymous-api',
    setting: {
      flag: 'anonymous-auth',
      configPath: ['authentication', 'anonymous', 'enabled'],
      type: 'bool',
      flagDefault: 'true',
      configDefault: 'false',
    },
    test: { op: 'eq', value: 'false' },
    remediation:
      'Turn anonymous access off: set authentication.anonymous.enabled to false in the kubelet config file ' +
      '(or pass --anonymous-auth=false), remove any command-line flag or drop-in that turns it back on, and restart the kubelet. ' +
      'If an anonymous caller is answered, also use Webhook authorization (authorization.mode: Webhook) and, until the restart, ' +
      'block the kubelet port from anything but the API server.',
  },
  {
    kind: 'kubelet-setting',
    id: 'cis-4.2.2',
    references: [cisRef('4.2.2')],
    title: 'Kubelet authorization mode is not AlwaysAllow',
    category: 'kubelet',
    severity: 'critical',
    scored: true,
    setting: {
      flag: 'authorization-mode',
      configPath: ['authorization', 'mode'],
      type: 'string',
      flagDefault: 'AlwaysAllow',
      configDefault: 'Webhook',
    },
    test: { op: 'nothave', value: 'AlwaysAllow' },
    remediation:
      'Have the kubelet ask the API server before serving a request: set authorization.mode to Webhook in the kubelet ' +
      'config file (or --authorization-mode=Webhook), drop any AlwaysAllow override, and restart the kubelet.',
  },
  {
    kind: 'kubelet-setting',
    id: 'cis-4.2.3',
    references: [cisRef('4.2.3')],
    title: 'Kubelet authenticates clients with a client CA',
    category: 'kubelet',
    severity: 'high',
    scored: true,
    setting: CLIENT_CA_FILE,
    test: { op: 'present' },
    remediation:
      'Give the kubelet the cluster CA bundle so it can verify client certificates (the API server presents one): set ' +
      'authentication.x509.clientCAFile in the kubelet config file (or --client-ca-file) to that bundle and restart the kubelet.',
  },
  {
    kind: 'kubelet-setting',
    id: 'cis-4.2.4',
    references: [cisRef('4.2.4')],
    title: 'Kubelet read-only port is disabled',
    category: 'kubelet',
    severity: 'medium',
    scored: false,
    // The probe's connection to the port: accepted, it fails as high (what was kubelet-readonly-port-closed).
    wire: 'kubelet-read-only-port',
    setting: {
      flag: 'read-only-port',
      configPath: ['readOnlyPort'],
      type: 'int',
      flagDefault: '10255',
      configDefault: '0',
    },
    test: { op: 'eq', value: '0' },
    remediation:
      'Close the unauthenticated read-only API: set readOnlyPort to 0 in the kubelet config file (or --read-only-port=0) ' +
      'and restart the kubelet; point anything still scraping port 10255 at the authenticated port instead.',
  },
  {
    kind: 'kubelet-setting',
    id: 'cis-4.2.5',
    references: [cisRef('4.2.5')],
    title: 'Kubelet streaming connections time out when idle',
    category: 'kubelet',
    severity: 'low',
    scored: false,
    // A zero in the config file is replaced by the 4h default; a zero on the command line is
    // kept and turns the timeout off (kube-bench compares the text with "0" and passes `0s`).
    setting: {
      flag: 'streaming-connection-idle-timeout',
      configPath: ['streamingConnectionIdleTimeout'],
      type: 'duration',
      flagDefault: '4h0m0s',
      configDefault: '4h0m0s',
      configZeroIsDefault: true,
    },
    test: { op: 'noteq', value: '0s' },
    remediation:
      'Let idle exec, attach and port-forward streams be closed: remove a zero --streaming-connection-idle-timeout from the ' +
      'kubelet command line, or set streamingConnectionIdleTimeout to a non-zero duration such as 5m in its config file, and restart it.',
  },
  {
    kind: 'kubelet-setting',
    id: 'cis-4.2.6',
    references: [cisRef('4.2.6')],
    title: 'Kubelet manages its iptables utility chains',
    category: 'kubelet',
    severity: 'low',
    scored: true,
    setting: {
      flag: 'make-iptables-util-chains',
      configPath: ['makeIPTablesUtilChains'],
      type: 'bool',
      flagDefault: 'true',
      configDefault: 'true',
    },
    test: { op: 'eq', value: 'true' },
    remediation:
      'Let the kubelet keep its iptables chains in step with pod networking: drop --make-iptables-util-chains=false, or set ' +
      'makeIPTablesUtilChains to true in the kubelet config file, and restart the kubelet.',
  },
  {
    kind: 'kubelet-setting',
    id: 'cis-4.2.7',
    references: [cisRef('4.2.7')],
    title: 'Kubelet does not override its host name',
    category: 'kubelet',
    severity: 'low',
    scored: false,
    setting: { flag: 'hostname-override', configPath: [], type: 'string', flagDefault: null, configDefault: null, emptyIsUnset: true },
    test: { op: 'absent' },
    remediation:
      'Let the node register under its real host name, which its serving certificate and TLS bootstrap rely on: remove ' +
      '--hostname-override from the kubelet command line (its unit, drop-ins or environment files) and restart the kubelet.',
  },
  {
    kind: 'kubelet-setting',
    id: 'cis-4.2.8',
    references: [cisRef('4.2.8')],
    title: 'Kubelet event rate limit lets events through',
    category: 'kubelet',
    severity: 'low',
    scored: false,
    setting: { flag: 'event-qps', configPath: ['eventRecordQPS'], type: 'int', flagDefault: '50', configDefault: '50' },
    test: { op: 'gte', value: 0 },
    remediation:
      'Pick an event rate that keeps security-relevant events: set eventRecordQPS in the kubelet config file (or --event-qps) ' +
      'to 0 for no limit or to a rate your API server can take, and restart the kubelet.',
  },
  {
    kind: 'kubelet-setting',
    id: 'cis-4.2.10',
    references: [cisRef('4.2.10')],
    title: 'Kubelet rotates its client certificate',
    category: 'kubelet',
    severity: 'medium',
    scored: true,
    // Off by default on both paths; kube-bench passes an absent setting, which is wrong.
    setting: { flag: 'rotate-certificates', configPath: ['rotateCertificates'], type: 'bool', flagDefault: 'false', configDefault: 'false' },
    test: { op: 'eq', value: 'true' },
    // rotateCertificates renews the CLIENT certificate the kubelet authenticates to the API
    // server with (the kubelet's --rotate-certificates help and the CIS text: "Enable kubelet
    // client certificate rotation"; kube-bench's eks-1.7.0 node.yaml 3.2.8 reads the same
    // setting). A kubelet whose kubeconfig authenticates with a token or an exec plugin (EKS's
    // aws-iam-authenticator, GKE's gke-gcloud-auth-plugin) has no client certificate: skipped.
    // 4.2.11 (RotateKubeletServerCertificate, EKS 3.2.9) is the SERVING certificate, which the
    // kubelet has however it authenticates: it stays judged.
    actsOn: 'client-certificate',
    remediation:
      'Have the kubelet renew its client certificate before it expires: set rotateCertificates to true in the kubelet config ' +
      'file (or pass --rotate-certificates), make sure nothing sets it back to false, and restart the kubelet.',
  },
  {
    kind: 'kubelet-setting',
    id: 'cis-4.2.11',
    references: [cisRef('4.2.11')],
    title: 'Kubelet serving-certificate rotation is not turned off',
    category: 'kubelet',
    severity: 'medium',
    scored: false,
    // Read from the parsed gate map (flag merged over config, per key), not by searching the
    // command line for the word "false".
    setting: {
      flag: 'feature-gates',
      flagKey: 'RotateKubeletServerCertificate',
      configPath: ['featureGates', 'RotateKubeletServerCertificate'],
      type: 'bool',
      flagDefault: 'true',
      configDefault: 'true',
    },
    test: { op: 'eq', value: 'true' },
    remediation:
      'Keep the RotateKubeletServerCertificate feature gate on (it is on by default): remove RotateKubeletServerCertificate=false ' +
      'from --feature-gates and from featureGates in the kubelet config file, and restart the kubelet.',
  },
  {
    kind: 'kubelet-setting',
    id: 'cis-4.2.12',
    references: [cisRef('4.2.12')],
    title: 'Kubelet offers only strong TLS cipher suites',
    category: 'kubelet',
    severity: 'medium',
    scored: false,
    setting: { flag: 'tls-cipher-suites', configPath: ['tlsCipherSuites'], type: 'list', flagDefault: null, configDefault: null },
    test: { op: 'valid-elements', value: STRONG_CIPHER_SUITES },
    remediation:
      'List only AEAD suites with forward secrecy in tlsCipherSuites in the kubelet config file (or --tls-cipher-suites), for ' +
      'example TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,' +
      'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305,TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305, and restart the kubelet.',
  },
  {
    kind: 'kubelet-setting',
    id: 'cis-4.2.13',
    references: [cisRef('4.2.13')],
    title: 'Kubelet limits the number of processes per pod',
    category: 'kubelet',
    severity: 'low',
    scored: false,
    // -1 (the default) and 0 both mean no limit: only a positive number limits anything.
    setting: { flag: 'pod-max-pids', configPath: ['podPidsLimit'], type: 'int', flagDefault: '-1', configDefault: '-1' },
    test: { op: 'gte', value: 1 },
    remediation:
      'Stop one pod from exhausting the node\'s process table (a fork bomb): set podPidsLimit in the kubelet config file ' +
      '(or --pod-max-pids) to a positive number sized for your largest workload, and restart the kubelet.',
  },
  {
    kind: 'kubelet-setting',
    id: 'cis-4.2.14',
    references: [cisRef('4.2.14')],
    title: 'Kubelet applies the runtime default seccomp profile',
    category: 'kubelet',
    severity: 'medium',
    scored: false,
    setting: { flag: 'seccomp-default', configPath: ['seccompDefault'], type: 'bool', flagDefault: 'false', configDefault: 'false' },
    test: { op: 'eq', value: 'true' },
    remediation:
      'Give every container the runtime\'s default seccomp profile unless it asks for another: set seccompDefault to true in ' +
      'the kubelet config file (or pass --seccomp-default), test your workloads, and restart the kubelet.',
  },
];

const SERVING_CERT = servingCertCheck({
  id: 'cis-4.2.9',
  references: [cisRef('4.2.9')],
  title: 'Kubelet serves its API with a verifiable certificate',
  category: 'kubelet',
  severity: 'medium',
  scored: false,
  remediation:
    'Give the kubelet a serving certificate the API server can verify: either set tlsCertFile and tlsPrivateKeyFile in its ' +
    'config file to a certificate issued for this node, or set serverTLSBootstrap to true and approve its certificate signing ' +
    'requests; then restart the kubelet.',
});

const cisParts = (c: CheckSpec): number[] => controlIn(c.references, CIS_BENCHMARK).split('.').map(Number);
const byCis = (a: CheckSpec, b: CheckSpec): number => {
  const [pa, pb] = [cisParts(a), cisParts(b)];
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
};

/** All of CIS 4.2 in order: the data records and the one check that brings its own evaluation. */
export const KUBELET_CHECKS: readonly CheckSpec[] = [...KUBELET_SETTING_CHECKS, SERVING_CERT].sort(byCis);
