// Key material for the nodeward PKI: ECDSA P-256 key pairs made with Node's WebCrypto,
// PKCS#8 PEM export, and re-import of a PEM private key for signing.

import { createPrivateKey, createPublicKey, type KeyObject, type webcrypto } from 'node:crypto';
import * as x509 from './x509.js';

export type CryptoKey = webcrypto.CryptoKey;
export type CryptoKeyPair = webcrypto.CryptoKeyPair;

let providerReady = false;

/** @peculiar/x509 signs and hashes through a WebCrypto provider; give it Node's. */
export function ensureCryptoProvider(): void {
  if (providerReady) return;
  x509.cryptoProvider.set(globalThis.crypto);
  providerReady = true;
}

export const KEY_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const;
/** Signature hash for every certificate this PKI issues. */
export const SIGNING_HASH = 'SHA-256';

export async function generateKeyPair(): Promise<CryptoKeyPair> {
  ensureCryptoProvider();
  return globalThis.crypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify']);
}

/** PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----") of an extractable private key. */
export async function privateKeyToPem(key: CryptoKey): Promise<string> {
  const der = await globalThis.crypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

/**
 * Imports a PEM private key (PKCS#8, or the older SEC1 / PKCS#1 encodings a CA made
 * elsewhere may use) as a non-extractable WebCrypto signing key. EC keys on the NIST
 * curves and RSA keys are accepted; signatures always use SHA-256.
 */
export async function importSigningKey(pem: string, label: string): Promise<CryptoKey> {
  let ko: KeyObject;
  try {
    ko = createPrivateKey({ key: pem, format: 'pem' });
  } catch (err) {
    throw new Error(`${label}: not a readable PEM private key (${errMessage(err)})`);
  }
  const der = ko.export({ type: 'pkcs8', format: 'der' });
  let algorithm: webcrypto.EcKeyImportParams | webcrypto.RsaHashedImportParams;
  if (ko.asymmetricKeyType === 'ec') {
    const curve = ko.asymmetricKeyDetails?.namedCurve;
    const named = curve === 'prime256v1' ? 'P-256' : curve === 'secp384r1' ? 'P-384' : curve === 'secp521r1' ? 'P-521' : undefined;
    if (named === undefined) throw new Error(`${label}: unsupported EC curve ${curve ?? '(unknown)'}`);
    algorithm = { name: 'ECDSA', namedCurve: named };
  } else if (ko.asymmetricKeyType === 'rsa') {
    algorithm = { name: 'RSASSA-PKCS1-v1_5', hash: SIGNING_HASH };
  } else {
    throw new Error(`${label}: unsupported key type ${ko.asymmetricKeyType ?? '(unknown)'}`);
  }
  ensureCryptoProvider();
  return globalThis.crypto.subtle.importKey('pkcs8', der, algorithm, false, ['sign']);
}

/** True when the PEM private key is the partner of the certificate's public key. */
export function keyMatchesCertificate(keyPem: string, cert: { publicKey: KeyObject }): boolean {
  const fromKey = createPublicKey(createPrivateKey(keyPem)).export({ type: 'spki', format: 'der' });
  const fromCert = cert.publicKey.export({ type: 'spki', format: 'der' });
  return fromKey.equals(fromCert);
}

/**
 * A random positive serial number as hex: 16 random bytes (RFC 5280 allows up to 20
 * octets) with the top bit cleared so the DER INTEGER is positive without padding,
 * and never all zero.
 */
export function randomSerialHex(): string {
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x40;
  return Buffer.from(bytes).toString('hex');
}

export function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
