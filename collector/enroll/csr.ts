// Reading an agent's PKCS#10 certificate request: its signature must verify with the key
// it carries (the agent holds that key), its subject must be exactly CN=<node name>, and
// the key must be an ECDSA key on P-256 or P-384. Everything else in the request (other
// attributes, requested extensions) is ignored: the issuer decides the extensions.
import * as x509 from '../pki/x509.js';
import { ensureCryptoProvider } from '../pki/keys.js';
import { isValidNodeName } from '../../proto/domain.js';

export interface AgentCsr {
  readonly node: string;
  readonly publicKey: x509.PublicKey;
}

export class CsrError extends Error {
  readonly code = 'CSR_INVALID';
}

const MAX_CSR_CHARS = 8 * 1024;
const CN_OID = '2.5.4.3';

export async function readAgentCsr(pem: unknown): Promise<AgentCsr> {
  if (typeof pem !== 'string' || pem.length === 0) throw new CsrError('csr: a PEM certificate request is required');
  if (pem.length > MAX_CSR_CHARS) throw new CsrError(`csr: longer than ${MAX_CSR_CHARS} characters`);
  if (!/^-----BEGIN CERTIFICATE REQUEST-----/.test(pem.trim())) throw new CsrError('csr: not a PEM "CERTIFICATE REQUEST"');
  ensureCryptoProvider();
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(pem);
  } catch (err) {
    throw new CsrError(`csr: unreadable (${(err as Error).message})`);
  }
  const algorithm = csr.publicKey.algorithm as { name?: string; namedCurve?: string };
  if (algorithm.name !== 'ECDSA' || (algorithm.namedCurve !== 'P-256' && algorithm.namedCurve !== 'P-384')) {
    throw new CsrError(`csr: the key must be ECDSA P-256 or P-384, got ${algorithm.name ?? '?'} ${algorithm.namedCurve ?? ''}`.trim());
  }
  let valid = false;
  try {
    valid = await csr.verify();
  } catch {
    valid = false;
  }
  if (!valid) throw new CsrError('csr: the signature does not verify with the key in the request');
  const names = csr.subjectName.toJSON();
  const attrs = names.flatMap((rdn) => Object.entries(rdn));
  const cn = attrs.length === 1 && attrs[0]?.[0] === 'CN' ? attrs[0][1] : undefined;
  if (!cn || cn.length !== 1 || csr.subjectName.getField(CN_OID).length !== 1) {
    throw new CsrError(`csr: the subject must be exactly CN=<node name>, got "${csr.subject}"`);
  }
  const node = cn[0] as string;
  if (!isValidNodeName(node)) throw new CsrError(`csr: ${JSON.stringify(node)} is not a valid Kubernetes node name`);
  return { node, publicKey: csr.publicKey };
}
