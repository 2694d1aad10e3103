// Certificate and key hygiene beyond the benchmark (which only asks that the flags be set):
// the files themselves, for etcd, the API server, the kubelet and everything under the PKI
// directories. These ids are a contract (other tools and tests select them by name).
import type { Category, Severity } from '../../../proto/domain.js';
import {
  certChainCheck, certEkuCheck, certExpiryCheck, certKeyFileCheck, certKeyMatchCheck, certNotYetValidCheck,
  certWeakKeyCheck, certWeakSignatureCheck,
} from '../certificate-checks.js';
import { certSanCheck, etcdAutoTlsCheck, etcdCaSharedCheck } from '../etcd-certificate-checks.js';
import type { CheckMeta, CheckSpec } from '../spec.js';

const meta = (id: string, title: string, category: Category, severity: Severity, scored: boolean, remediation: string): CheckMeta => ({
  id, cis: '', title, category, severity, scored, remediation,
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
  certKeyFileCheck(meta('cert-key-file', 'Private key files are private', 'certificate', 'high', true,
    'chmod 600 the key file and chown it to root (or etcd for etcd\'s own keys).')),
  etcdCaSharedCheck(meta('etcd-ca-shared', 'etcd does not trust the cluster CA', 'etcd', 'medium', false,
    'Give etcd a CA of its own: issue its server, peer and client certificates from it and name it in --trusted-ca-file, ' +
    'so client certificates the cluster CA issues for other purposes cannot reach etcd.')),
  etcdAutoTlsCheck(meta('etcd-auto-tls', 'etcd does not make itself self-signed certificates', 'etcd', 'high', true,
    'Remove --auto-tls and --peer-auto-tls (or set them false) and give etcd certificates signed by its CA.')),
];

/** Ids of the checks above. */
export const CERTIFICATE_CHECK_IDS: ReadonlySet<string> = new Set(CERTIFICATE_CHECKS.map((c) => c.id));
