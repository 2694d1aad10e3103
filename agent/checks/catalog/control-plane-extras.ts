// Control-plane checks beyond the CIS benchmark: what etcd really does on the wire (the
// benchmark reads its flags), and encryption at rest past the first provider (key strength,
// KMS v1, the key file's own mode and owner).
import { encryptionConfigFileCheck, encryptionKeyStrengthCheck, encryptionKmsV1Check } from '../encryption-checks.js';
import { etcdClientCertAuthLiveCheck, etcdPlaintextLiveCheck } from '../etcd-live-checks.js';
import type { CheckSpec } from '../spec.js';

/** The checks that need the etcd probe (network I/O): the probe runs only when one is in scope. */
export const ETCD_PROBE_CHECK_IDS: ReadonlySet<string> = new Set(['etcd-client-cert-auth-live', 'etcd-plaintext-live']);

export const CONTROL_PLANE_EXTRA_CHECKS: readonly CheckSpec[] = [
  etcdClientCertAuthLiveCheck({
    id: 'etcd-client-cert-auth-live',
    cis: '',
    title: 'etcd refuses clients without a certificate on the wire',
    category: 'etcd',
    severity: 'critical',
    scored: true,
    remediation:
      'Anyone who reaches etcd\'s client port can read every secret of the cluster and rewrite its state. Serve clients over ' +
      'TLS (--cert-file, --key-file), require client certificates (--client-cert-auth=true with --trusted-ca-file naming ' +
      'etcd\'s own CA), restart etcd, and until then let nothing but the API servers reach the port.',
  }),
  etcdPlaintextLiveCheck({
    id: 'etcd-plaintext-live',
    cis: '',
    title: 'etcd does not answer in plain text',
    category: 'etcd',
    severity: 'critical',
    scored: true,
    remediation:
      'etcd answers unencrypted, unauthenticated requests on this port. Give every client URL the https:// scheme in ' +
      '--listen-client-urls and --advertise-client-urls, with a serving certificate and --client-cert-auth=true, and restart etcd.',
  }),
  encryptionKeyStrengthCheck({
    id: 'encryption-key-strength',
    cis: '',
    title: 'Encryption at rest uses 256-bit keys',
    category: 'control-plane',
    severity: 'high',
    scored: true,
    remediation:
      'Generate a new 32-byte key (head -c 32 /dev/urandom | base64), put it first in the provider\'s keys, restart every ' +
      'API server, rewrite all secrets (kubectl get secrets -A -o json | kubectl replace -f -), then remove the weak key.',
  }),
  encryptionKmsV1Check({
    id: 'encryption-kms-v1',
    cis: '',
    title: 'Encryption at rest does not use the deprecated KMS v1',
    category: 'control-plane',
    severity: 'medium',
    scored: false,
    remediation:
      'Move to KMS v2: run a plugin that speaks the v2 API, add a kms provider with apiVersion: v2 before the v1 one, restart ' +
      'the API servers, rewrite all secrets, then remove the v1 provider.',
  }),
  encryptionConfigFileCheck({
    id: 'encryption-config-file',
    cis: '',
    title: 'The encryption configuration file is 0600 and owned by root',
    category: 'control-plane',
    severity: 'high',
    scored: true,
    remediation:
      'The file holds the keys that protect every secret at rest: run chown root:root and chmod 600 on it.',
  }),
];
