// This node's key and its PKCS#10 certificate request (RFC 2986), made with node:crypto
// alone: an ECDSA P-256 key, and a request whose subject is CN=<node name>, signed with
// ECDSA-SHA256. The DER is written by hand; the structure is small and fixed:
//
//   CertificationRequest ::= SEQUENCE {
//     certificationRequestInfo SEQUENCE {
//       version INTEGER 0, subject Name, subjectPKInfo SubjectPublicKeyInfo,
//       attributes [0] IMPLICIT SET OF Attribute (empty) },
//     signatureAlgorithm AlgorithmIdentifier (ecdsa-with-SHA256), signature BIT STRING }
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';

export interface NodeKey {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** PKCS#8 PEM, written to the key file (mode 0600). */
  readonly privateKeyPem: string;
}

export function generateNodeKey(): NodeKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { privateKey, publicKey, privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
}

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), length(body.length), body]);
}

function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map(Number);
  const bytes: number[] = [40 * (parts[0] as number) + (parts[1] as number)];
  for (const part of parts.slice(2)) {
    const chunk: number[] = [part & 0x7f];
    for (let v = Math.floor(part / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift((v & 0x7f) | 0x80);
    bytes.push(...chunk);
  }
  return tlv(0x06, Buffer.from(bytes));
}

const SEQUENCE = 0x30;
const SET = 0x31;
const OID_COMMON_NAME = '2.5.4.3';
const OID_ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';

/** A PEM "CERTIFICATE REQUEST" for CN=<commonName>, signed with `key`. */
export function createCsr(commonName: string, key: Pick<NodeKey, 'privateKey' | 'publicKey'>): string {
  const subject = tlv(SEQUENCE, tlv(SET, tlv(SEQUENCE, oid(OID_COMMON_NAME), tlv(0x0c, Buffer.from(commonName, 'utf8')))));
  const spki = key.publicKey.export({ type: 'spki', format: 'der' });
  const info = tlv(SEQUENCE, tlv(0x02, Buffer.from([0])), subject, spki, Buffer.from([0xa0, 0x00]));
  const signature = sign('sha256', info, { key: key.privateKey, dsaEncoding: 'der' });
  const der = tlv(SEQUENCE, info, tlv(SEQUENCE, oid(OID_ECDSA_WITH_SHA256)), tlv(0x03, Buffer.from([0]), signature));
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE REQUEST-----\n${lines.join('\n')}\n-----END CERTIFICATE REQUEST-----\n`;
}
