// One certificate reduced to what the checks judge: names, validity, usages, key strength and
// signature algorithm. node:crypto parses the certificate; it does not expose the signature
// algorithm, so that OID is read from the DER here (Certificate ::= SEQUENCE { tbsCertificate,
// signatureAlgorithm, signature }). Public material only. Pure.
import { createHash, type X509Certificate } from 'node:crypto';

export interface CertificateInfo {
  /** Subject and issuer as node:crypto prints them, one RDN after another (`CN=etcd, O=x`). */
  readonly subject: string;
  readonly issuer: string;
  /** Serial number, upper-case hex. */
  readonly serial: string;
  /** RFC 3339. */
  readonly notBefore: string;
  readonly notAfter: string;
  readonly dnsNames: readonly string[];
  /** IP SANs in canonical form (IPv6 expanded to 8 lower-case groups without leading zeros). */
  readonly ipAddresses: readonly string[];
  /** Extended key usages by name (`serverAuth`, `clientAuth`, else the OID); null: no EKU extension (any purpose). */
  readonly extendedKeyUsages: readonly string[] | null;
  readonly isCa: boolean;
  /** Issued by itself (subject = issuer and its own key verifies it): a trust anchor when isCa. */
  readonly selfSigned: boolean;
  /** `rsa`, `ec`, `ed25519`, `ed448`, `dsa`, ... */
  readonly keyType: string;
  /** Modulus length (RSA, DSA) or curve size (EC, EdDSA); 0 when unknown. */
  readonly keyBits: number;
  /** EC curve as OpenSSL names it (`prime256v1`); null for other key types. */
  readonly curve: string | null;
  /** `sha256WithRSAEncryption`, `ecdsa-with-SHA1`, ... or the dotted OID when unknown. */
  readonly signatureAlgorithm: string;
  /** The digest the signature uses (`sha1`, `md5`, `sha256`, ...); null when it cannot be told (RSA-PSS, unknown OIDs). */
  readonly signatureHash: string | null;
  /** SHA-256 of the DER, lower-case hex. */
  readonly fingerprint256: string;
}

const EKU_NAMES: Readonly<Record<string, string>> = {
  '1.3.6.1.5.5.7.3.1': 'serverAuth',
  '1.3.6.1.5.5.7.3.2': 'clientAuth',
  '1.3.6.1.5.5.7.3.3': 'codeSigning',
  '1.3.6.1.5.5.7.3.4': 'emailProtection',
  '1.3.6.1.5.5.7.3.8': 'timeStamping',
  '1.3.6.1.5.5.7.3.9': 'OCSPSigning',
  '2.5.29.37.0': 'anyExtendedKeyUsage',
};

const SIGNATURE_ALGORITHMS: Readonly<Record<string, { name: string; hash: string | null }>> = {
  '1.2.840.113549.1.1.2': { name: 'md2WithRSAEncryption', hash: 'md2' },
  '1.2.840.113549.1.1.3': { name: 'md4WithRSAEncryption', hash: 'md4' },
  '1.2.840.113549.1.1.4': { name: 'md5WithRSAEncryption', hash: 'md5' },
  '1.2.840.113549.1.1.5': { name: 'sha1WithRSAEncryption', hash: 'sha1' },
  '1.3.14.3.2.29': { name: 'sha1WithRSA', hash: 'sha1' },
  '1.2.840.113549.1.1.10': { name: 'RSASSA-PSS', hash: null },
  '1.2.840.113549.1.1.11': { name: 'sha256WithRSAEncryption', hash: 'sha256' },
  '1.2.840.113549.1.1.12': { name: 'sha384WithRSAEncryption', hash: 'sha384' },
  '1.2.840.113549.1.1.13': { name: 'sha512WithRSAEncryption', hash: 'sha512' },
  '1.2.840.113549.1.1.14': { name: 'sha224WithRSAEncryption', hash: 'sha224' },
  '1.2.840.10045.4.1': { name: 'ecdsa-with-SHA1', hash: 'sha1' },
  '1.2.840.10045.4.3.1': { name: 'ecdsa-with-SHA224', hash: 'sha224' },
  '1.2.840.10045.4.3.2': { name: 'ecdsa-with-SHA256', hash: 'sha256' },
  '1.2.840.10045.4.3.3': { name: 'ecdsa-with-SHA384', hash: 'sha384' },
  '1.2.840.10045.4.3.4': { name: 'ecdsa-with-SHA512', hash: 'sha512' },
  '1.2.840.10040.4.3': { name: 'dsa-with-SHA1', hash: 'sha1' },
  '2.16.840.1.101.3.4.3.2': { name: 'dsa-with-SHA256', hash: 'sha256' },
  '1.3.101.112': { name: 'Ed25519', hash: null },
  '1.3.101.113': { name: 'Ed448', hash: null },
};

const CURVE_BITS: Readonly<Record<string, number>> = {
  prime192v1: 192, secp192k1: 192, secp224r1: 224, secp224k1: 224, prime256v1: 256, secp256k1: 256,
  secp384r1: 384, secp521r1: 521,
};

interface Tlv {
  readonly tag: number;
  /** Offset of the content. */
  readonly start: number;
  /** Offset just past the content. */
  readonly end: number;
}

/** One DER TLV at `off`; null when the bytes are not well-formed DER there. */
function tlv(der: Uint8Array, off: number): Tlv | null {
  const tag = der[off];
  const first = der[off + 1];
  if (tag === undefined || first === undefined) return null;
  let len = first;
  let start = off + 2;
  if (first & 0x80) {
    const n = first & 0x7f;
    if (n === 0 || n > 4) return null;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (der[start + i] ?? 0);
    start += n;
  }
  const end = start + len;
  return end <= der.length ? { tag, start, end } : null;
}

function oidText(bytes: Uint8Array): string {
  const parts: number[] = [];
  let v = 0;
  for (const b of bytes) {
    v = v * 128 + (b & 0x7f);
    if (!(b & 0x80)) {
      if (parts.length === 0) parts.push(v < 80 ? Math.floor(v / 40) : 2, v < 80 ? v % 40 : v - 80);
      else parts.push(v);
      v = 0;
    }
  }
  return parts.join('.');
}

/** The certificate's outer signatureAlgorithm OID (the one its issuer signed with). */
export function signatureAlgorithmOid(der: Uint8Array): string | null {
  const cert = tlv(der, 0);
  if (cert === null || cert.tag !== 0x30) return null;
  const tbs = tlv(der, cert.start);
  if (tbs === null || tbs.tag !== 0x30) return null;
  const alg = tlv(der, tbs.end);
  if (alg === null || alg.tag !== 0x30) return null;
  const oid = tlv(der, alg.start);
  if (oid === null || oid.tag !== 0x06) return null;
  return oidText(der.subarray(oid.start, oid.end));
}

/** Canonical text of an IP address: IPv4 as is, IPv6 as 8 lower-case groups without leading zeros. */
export function canonicalIp(ip: string): string {
  const bare = ip.replace(/^\[|\]$/g, '');
  if (!bare.includes(':')) return bare;
  const [head = '', tail] = bare.toLowerCase().split('::');
  const groups = (s: string): string[] => (s === '' ? [] : s.split(':'));
  const h = groups(head);
  const t = tail === undefined ? [] : groups(tail);
  const zeros = tail === undefined ? [] : new Array<string>(Math.max(0, 8 - h.length - t.length)).fill('0');
  return [...h, ...zeros, ...t].map((g) => g.replace(/^0+(?=.)/, '')).join(':');
}

/**
 * `DNS:a, DNS:"we\u002cird", IP Address:FE80:0:0:0:0:0:0:1` as node:crypto prints a
 * subjectAltName (values with special characters are JSON-quoted).
 */
export function parseSubjectAltName(text: string | undefined): { dns: string[]; ips: string[] } {
  const dns: string[] = [];
  const ips: string[] = [];
  if (!text) return { dns, ips };
  const entry = /(DNS|IP Address|[A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)(?:, |$)/g;
  for (const m of text.matchAll(entry)) {
    const [, kind, raw = ''] = m;
    let value = raw;
    if (raw.startsWith('"')) {
      try {
        value = JSON.parse(raw) as string;
      } catch {
        continue;
      }
    }
    if (kind === 'DNS') dns.push(value.toLowerCase());
    else if (kind === 'IP Address') ips.push(canonicalIp(value));
  }
  return { dns, ips };
}

/** node:crypto prints validity as `Nov 29 23:28:51 2026 GMT`. */
function isoTime(text: string): string {
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? '' : new Date(ms).toISOString();
}

function keyStrength(cert: X509Certificate): { keyType: string; keyBits: number; curve: string | null } {
  const key = cert.publicKey;
  const type = key.asymmetricKeyType ?? 'unknown';
  const details = key.asymmetricKeyDetails ?? {};
  if (type === 'ec') {
    const curve = details.namedCurve ?? null;
    const digits = /(\d{3})/.exec(curve ?? '')?.[1];
    return { keyType: type, curve, keyBits: (curve !== null ? CURVE_BITS[curve] : undefined) ?? (digits ? Number(digits) : 0) };
  }
  if (type === 'ed25519') return { keyType: type, curve: null, keyBits: 256 };
  if (type === 'ed448') return { keyType: type, curve: null, keyBits: 448 };
  return { keyType: type, curve: null, keyBits: details.modulusLength ?? 0 };
}

export function describeCertificate(cert: X509Certificate): CertificateInfo {
  const oid = signatureAlgorithmOid(cert.raw);
  const sig = oid === null ? undefined : SIGNATURE_ALGORITHMS[oid];
  const { dns, ips } = parseSubjectAltName(cert.subjectAltName);
  const eku = cert.keyUsage;
  return {
    subject: cert.subject.split('\n').join(', '),
    issuer: cert.issuer.split('\n').join(', '),
    serial: cert.serialNumber.toUpperCase(),
    notBefore: isoTime(cert.validFrom),
    notAfter: isoTime(cert.validTo),
    dnsNames: dns,
    ipAddresses: ips,
    extendedKeyUsages: eku === undefined ? null : eku.map((o) => EKU_NAMES[o] ?? o),
    isCa: cert.ca,
    selfSigned: cert.checkIssued(cert) && cert.verify(cert.publicKey),
    ...keyStrength(cert),
    signatureAlgorithm: sig?.name ?? oid ?? 'unknown',
    signatureHash: sig?.hash ?? null,
    fingerprint256: createHash('sha256').update(cert.raw).digest('hex'),
  };
}
