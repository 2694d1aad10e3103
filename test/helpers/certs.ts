// Certificates made at test time (never checked in, so nothing rots): a CA and leaves with
// exactly the flaw a test needs (expiry, weak key, SHA-1, wrong usage, missing SAN).
// @peculiar/x509 issues them (node:crypto cannot), signing through Node's WebCrypto.
import { createHash, X509Certificate, type webcrypto } from 'node:crypto';
import { ensureCryptoProvider, randomSerialHex } from '../../collector/pki/keys.js';
import * as x509 from '../../collector/pki/x509.js';

export type KeySpec = 'ec-p256' | 'rsa-2048' | 'rsa-1024';
export type TestHash = 'SHA-256' | 'SHA-1';
export type TestUsage = 'serverAuth' | 'clientAuth';

export interface TestCa {
  readonly certPem: string;
  /** PKCS#8 PEM. */
  readonly keyPem: string;
  readonly key: KeySpec;
  readonly cn: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** SHA-256 of the DER, lower-case hex without separators. */
  readonly fingerprint256: string;
}

export interface TestCert {
  readonly certPem: string;
  /** PKCS#8 PEM. */
  readonly keyPem: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly fingerprint256: string;
}

export interface TestCaOptions {
  /** Subject CN; default "test CA". */
  readonly cn?: string;
  /** Default one hour ago. */
  readonly notBefore?: Date;
  /** Default ten years from now. */
  readonly notAfter?: Date;
  /** Default ec-p256. */
  readonly key?: KeySpec;
}

export interface TestCertOptions {
  readonly cn: string;
  readonly dns?: readonly string[];
  readonly ips?: readonly string[];
  /** Extended key usages; an empty list leaves the extension out. */
  readonly usages: readonly TestUsage[];
  /** Default one hour ago. */
  readonly notBefore?: Date;
  /** Default one year from now. */
  readonly notAfter?: Date;
  /** Default ec-p256. */
  readonly key?: KeySpec;
  /** The CA's signature hash; default SHA-256. */
  readonly hash?: TestHash;
}

const HOUR_MS = 60 * 60 * 1000;
const DAY_MS = 24 * HOUR_MS;

/** That many days from now (negative: ago), as a Date: `daysFromNow(3)`, `daysFromNow(-1)`. */
export function daysFromNow(days: number): Date {
  return new Date(Date.now() + days * DAY_MS);
}

export async function createTestCa(opts: TestCaOptions = {}): Promise<TestCa> {
  ensureCryptoProvider();
  const key = opts.key ?? 'ec-p256';
  const cn = opts.cn ?? 'test CA';
  const keys = await generateKeys(key, 'SHA-256');
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerialHex(),
    name: [{ CN: [cn] }],
    notBefore: opts.notBefore ?? new Date(Date.now() - HOUR_MS),
    notAfter: opts.notAfter ?? daysFromNow(3650),
    keys,
    signingAlgorithm: signingAlgorithm(key, 'SHA-256'),
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const certPem = cert.toString('pem');
  return {
    certPem,
    keyPem: await exportKey(keys.privateKey),
    key,
    cn,
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    fingerprint256: fingerprint(certPem),
  };
}

export async function issueTestCert(ca: TestCa, opts: TestCertOptions): Promise<TestCert> {
  ensureCryptoProvider();
  const hash = opts.hash ?? 'SHA-256';
  const key = opts.key ?? 'ec-p256';
  const keys = await generateKeys(key, 'SHA-256');
  const caCert = new x509.X509Certificate(ca.certPem);
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    // As kubeadm does: an RSA key may also carry a TLS key exchange, an EC key only signs.
    new x509.KeyUsagesExtension(
      x509.KeyUsageFlags.digitalSignature | (key === 'ec-p256' ? 0 : x509.KeyUsageFlags.keyEncipherment),
      true,
    ),
  ];
  if (opts.usages.length > 0) {
    const oids = opts.usages.map((u) => (u === 'serverAuth' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth));
    extensions.push(new x509.ExtendedKeyUsageExtension(oids, false));
  }
  const sans = [
    ...(opts.dns ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(opts.ips ?? []).map((value) => ({ type: 'ip' as const, value })),
  ];
  if (sans.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(sans, false));
  const caSki = caCert.getExtension(x509.SubjectKeyIdentifierExtension);
  if (caSki) extensions.push(new x509.AuthorityKeyIdentifierExtension(caSki.keyId));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerialHex(),
    subject: [{ CN: [opts.cn] }],
    issuer: caCert.subjectName,
    notBefore: opts.notBefore ?? new Date(Date.now() - HOUR_MS),
    notAfter: opts.notAfter ?? daysFromNow(365),
    publicKey: keys.publicKey,
    signingKey: await importCaKey(ca, hash),
    signingAlgorithm: signingAlgorithm(ca.key, hash),
    extensions,
  });
  const certPem = cert.toString('pem');
  return {
    certPem,
    keyPem: await exportKey(keys.privateKey),
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    fingerprint256: fingerprint(certPem),
  };
}

function keyAlgorithm(key: KeySpec, hash: TestHash): webcrypto.EcKeyGenParams | webcrypto.RsaHashedKeyGenParams {
  if (key === 'ec-p256') return { name: 'ECDSA', namedCurve: 'P-256' };
  return {
    name: 'RSASSA-PKCS1-v1_5',
    modulusLength: key === 'rsa-1024' ? 1024 : 2048,
    publicExponent: new Uint8Array([1, 0, 1]),
    hash,
  };
}

function signingAlgorithm(key: KeySpec, hash: TestHash): { name: string; hash: TestHash } {
  return { name: key === 'ec-p256' ? 'ECDSA' : 'RSASSA-PKCS1-v1_5', hash };
}

async function generateKeys(key: KeySpec, hash: TestHash): Promise<webcrypto.CryptoKeyPair> {
  return globalThis.crypto.subtle.generateKey(keyAlgorithm(key, hash), true, ['sign', 'verify']);
}

/** An RSA WebCrypto key carries its hash, so the CA key is imported anew for each hash asked for. */
async function importCaKey(ca: TestCa, hash: TestHash): Promise<webcrypto.CryptoKey> {
  const der = x509.PemConverter.decodeFirst(ca.keyPem);
  const alg = ca.key === 'ec-p256' ? { name: 'ECDSA', namedCurve: 'P-256' } : { name: 'RSASSA-PKCS1-v1_5', hash };
  return globalThis.crypto.subtle.importKey('pkcs8', der, alg, false, ['sign']);
}

async function exportKey(key: webcrypto.CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await globalThis.crypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
}

function fingerprint(certPem: string): string {
  return createHash('sha256').update(new X509Certificate(certPem).raw).digest('hex');
}
