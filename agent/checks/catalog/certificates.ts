// Certificate and key hygiene beyond the benchmark (which only asks that the flags be set):
// the files themselves, for etcd, the API server, the kubelet and everything under the PKI
// directories (and CIS 1.1.21, the PKI's key files, which cert-key-file judges with the rest). These ids are a contract (other tools and tests select them by name).
import type { Category, Severity } from '../../../proto/domain.js';
import {
  certChainCheck, certEkuCheck, certExpiryCheck, certKeyFileCheck, certKeyMatchCheck, certNotYetValidCheck,
  certWeakKeyCheck, certWeakSignatureCheck,
} from '../certificate-checks.js';
import { certSanCheck } from '../etcd-certificate-checks.js';
import type { CheckMeta, CheckSpec } from '../spec.js';
import { cisRef } from '../../../proto/benchmark-refs.js';

const meta = (id: string, title: string, category: Category, severity: Severity, scored: boolean, remediation: string): CheckMeta => ({
  id, references: [], title, category, severity, scored, remediation,
});

export const CERTIFICATE_CHECKS: readonly CheckSpec[] = [
  certExpiryCheck(meta('cert-expiry', 'Certificates are not close to expiry', 'certificate', 'medium', true,
    'Renew the certificate before it expires (kubeadm: `kubeadm certs renew`), then restart the component that uses it. ' +
    'A result within 30 days is a warning; within 7 days, or expired, it is critical.')),
  certNotYetValidCheck(meta('cert-not-yet-valid', 'Certificates are already valid', 'certificate', 'high', true,
    'Fix the node clock (NTP), or reissue the certificate with a notBefore in the past.')),
  certKeyMatchCheck(meta('cert-key-match', 'Each key belongs to its certificate', 'certificate', 'critical', true,
    'Point the key flag at the private key the certificate was issued for, or reissue the certificate for this key.')),
  certChainCheck(meta('cert-chain', 'Certificates verify against the CA their peers use', 'certificate', 'high', true,
    'Reissue the certificate from the CA its verifier is given, or name the right CA file in the flags.')),
  certSanCheck(meta('cert-san', 'Serving certificates cover the advertised addresses', 'certificate', 'medium', true,
    'Reissue the serving certificate with every host of etcd\'s --advertise-client-urls / --initial-advertise-peer-urls, ' +
    'or the API server\'s --advertise-address, as a DNS or IP subject alternative name.')),
  certEkuCheck(meta('cert-eku', 'Certificates allow the usage their role needs', 'certificate', 'medium', true,
    'Reissue the certificate with extendedKeyUsage serverAuth for a server, clientAuth for a client, and both for an etcd peer.')),
  certWeakKeyCheck(meta('cert-weak-key', 'Certificate keys are strong enough', 'certificate', 'high', true,
    'Reissue the certificate with an RSA key of at least 2048 bits, or an ECDSA key on P-256 or stronger.')),
  certWeakSignatureCheck(meta('cert-weak-signature', 'Certificates are not signed over SHA-1 or MD5', 'certificate', 'high', true,
    'Reissue the certificate signed with SHA-256 or stronger.')),
  // Also CIS 1.1.21 on the PKI directories' *.key files (their owner is cis-1.1.19's).
  certKeyFileCheck({
    ...meta('cert-key-file', 'Private key files are private', 'certificate', 'high', true,
      'Private keys must be readable by their owner only: chmod 600 the key file (every *.key under the PKI directory too) and ' +
      'chown it to root (or etcd, for etcd\'s own keys).'),
    references: [cisRef('1.1.21')],
  }),
  // etcd-ca-shared and etcd-auto-tls were merged into cis-2.7 and cis-2.3/cis-2.6
  // (proto/retired-checks.ts).
];

/** Ids of the checks above. */
export const CERTIFICATE_CHECK_IDS: ReadonlySet<string> = new Set(CERTIFICATE_CHECKS.map((c) => c.id));
