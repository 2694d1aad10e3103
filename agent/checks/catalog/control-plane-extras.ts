// Control-plane checks beyond the CIS benchmark: encryption at rest past the first provider
// (key strength, KMS v1, the key file's own mode and owner). (What etcd really does on the wire
// is part of cis-2.1 and cis-2.2: agent/checks/wire-evidence.ts.)
import { encryptionConfigFileCheck, encryptionKeyStrengthCheck, encryptionKmsV1Check } from '../encryption-checks.js';
import type { CheckSpec } from '../spec.js';

export const CONTROL_PLANE_EXTRA_CHECKS: readonly CheckSpec[] = [
  encryptionKeyStrengthCheck({
    id: 'encryption-key-strength',
    references: [],
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
    references: [],
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
    references: [],
    title: 'The encryption configuration file is 0600 and owned by root',
    category: 'control-plane',
    severity: 'high',
    scored: true,
    remediation:
      'The file holds the keys that protect every secret at rest: run chown root:root and chmod 600 on it.',
  }),
];
