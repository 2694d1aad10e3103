// Signs enrolled agents' keys with the nodeward CA: a short-lived client certificate,
// subject CN = node and SAN DNS = node (the collector's gRPC ingest takes the node's
// identity from the CN), EKU clientAuth, keyUsage digitalSignature, CA:false. Same profile
// as `nodeward pki init`'s agent certificates (collector/pki/pki.ts), but for a key the
// agent made and keeps: the private key never leaves the node.
import { X509Certificate as NodeX509Certificate } from 'node:crypto';
import * as x509 from '../pki/x509.js';
import { CLOCK_SKEW_MS } from '../pki/pki.js';
import { ensureCryptoProvider, importSigningKey, keyMatchesCertificate, randomSerialHex, SIGNING_HASH, type CryptoKey } from '../pki/keys.js';
import type { AgentCsr } from './csr.js';

export interface IssuerConfig {
  readonly caCertPem: string;
  readonly caKeyPem: string;
  readonly lifetimeSeconds: number;
}

export interface IssuedAgentCertificate {
  readonly certPem: string;
  readonly serialNumber: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

export interface Issuer {
  issue(csr: AgentCsr, now?: Date): Promise<IssuedAgentCertificate>;
}

export async function createIssuer(config: IssuerConfig): Promise<Issuer> {
  ensureCryptoProvider();
  const caNode = new NodeX509Certificate(config.caCertPem);
  if (!caNode.ca) throw new Error('enroll: the CA certificate is not a CA (basicConstraints CA:true is missing)');
  if (!keyMatchesCertificate(config.caKeyPem, caNode)) throw new Error('enroll: the CA key does not belong to the CA certificate');
  const ca = new x509.X509Certificate(config.caCertPem);
  const signingKey: CryptoKey = await importSigningKey(config.caKeyPem, 'enroll CA key');
  const caSki = ca.getExtension(x509.SubjectKeyIdentifierExtension);
  const authorityKeyId = caSki
    ? new x509.AuthorityKeyIdentifierExtension(caSki.keyId)
    : await x509.AuthorityKeyIdentifierExtension.create(ca.publicKey);

  return {
    async issue(csr, now = new Date()) {
      const seconds = (ms: number): Date => new Date(Math.floor(ms / 1000) * 1000);
      const notBefore = seconds(now.getTime() - CLOCK_SKEW_MS);
      let notAfter = seconds(now.getTime() + config.lifetimeSeconds * 1000);
      if (notAfter > ca.notAfter) notAfter = seconds(ca.notAfter.getTime());
      if (notAfter.getTime() <= now.getTime()) throw new Error('enroll: the CA has expired');
      const cert = await x509.X509CertificateGenerator.create({
        serialNumber: randomSerialHex(),
        subject: [{ CN: [csr.node] }],
        issuer: ca.subjectName,
        notBefore,
        notAfter,
        publicKey: csr.publicKey,
        signingKey,
        signingAlgorithm: { name: signingKey.algorithm.name, hash: SIGNING_HASH },
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
          new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth], false),
          new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: csr.node }], false),
          await x509.SubjectKeyIdentifierExtension.create(csr.publicKey),
          authorityKeyId,
        ],
      });
      const pem = cert.toString('pem');
      return { certPem: pem.endsWith('\n') ? pem : `${pem}\n`, serialNumber: cert.serialNumber, notBefore: cert.notBefore, notAfter: cert.notAfter };
    },
  };
}
