// Why the agent cannot reach its collector, in words an operator can act on. gRPC only says
// "failed to connect before the deadline"; this asks the layers below in order, with the same
// address, CA, certificate and server name the stream uses: the name (DNS), the port (TCP), the
// TLS handshake (who rejected whom, and why), and classifies the first that fails. The stream's
// own refusals (PERMISSION_DENIED, UNAUTHENTICATED) are classified from its status by the
// reporter with the same codes.
//
// Nothing here throws, every step has a deadline, and nothing is sent but a TLS ClientHello:
// the handshake is closed as soon as it completes.
import { readFile } from 'node:fs/promises';
import { lookup } from 'node:dns/promises';
import { isIP, Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';

export type ConnectionProblem =
  | 'ADDRESS'          // the configured address is not host:port
  | 'DNS'              // the name does not resolve
  | 'REFUSED'          // nothing listens on the port (or a firewall rejects)
  | 'UNREACHABLE'      // no answer in time: a NetworkPolicy, a firewall dropping, a route
  | 'TLS_UNKNOWN_CA'   // the collector's certificate is not signed by the CA the agent trusts
  | 'TLS_NAME'         // the collector's certificate does not name the address (or serverName)
  | 'TLS_EXPIRED'      // the collector's certificate has expired (or is not yet valid)
  | 'TLS_REJECTED'     // the collector refused the agent's certificate
  | 'TLS'              // another TLS failure
  | 'CREDENTIALS'      // the agent's own CA, certificate or key files cannot be read
  | 'PERMISSION_DENIED' // the collector refused the node (a certificate for another node, a node not allowed)
  | 'UNAUTHENTICATED'  // the collector wants a client certificate naming the node
  | 'STREAM'           // the connection works; the stream failed for another reason
  | 'UNKNOWN';

export interface Diagnosis {
  readonly problem: ConnectionProblem;
  /** One sentence: what failed, with the system's words (error code, certificate subject). */
  readonly detail: string;
  /** What to check first. */
  readonly hint: string;
}

/** Where the collector is and how the agent proves itself to it (collector.* settings). */
export interface CollectorEndpoint {
  readonly address: string;
  readonly insecure: boolean;
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  /** TLS server name to expect, when the address is not a name in the certificate. */
  readonly serverName: string;
}

export interface DiagnoseTarget extends CollectorEndpoint {
  readonly timeoutMs: number;
}

const HINTS: Readonly<Record<ConnectionProblem, string>> = {
  ADDRESS: 'set collector.address to host:port',
  DNS: 'check collector.address: the collector Service name and namespace, and the cluster DNS',
  REFUSED: 'check that the collector runs and listens on that port (its Service and targetPort)',
  UNREACHABLE: 'check NetworkPolicies and firewalls between this node and the collector',
  TLS_UNKNOWN_CA: "the agent's CA bundle (collector.caFile) is not the CA that signed the collector's certificate: refresh it from the collector",
  TLS_NAME: "the collector's certificate does not name the address the agent dials: set collector.serverName or reissue the certificate",
  TLS_EXPIRED: "the collector's serving certificate is expired or not yet valid: renew it, and check the node's clock",
  TLS_REJECTED: "the collector refused this agent's certificate: re-enroll the agent, or check that its CA is the collector's",
  TLS: 'see the detail; compare the CA and certificates of both sides',
  CREDENTIALS: "check the agent's collector.caFile, certFile and keyFile (mounted, readable)",
  PERMISSION_DENIED: "the collector refused the node: the certificate's node name must be the agent's node and allowed by the collector",
  UNAUTHENTICATED: 'the collector wants a client certificate naming the node: check the agent enrolled',
  STREAM: 'see the detail and the collector log',
  UNKNOWN: 'see the detail',
};

export function diagnosis(problem: ConnectionProblem, detail: string): Diagnosis {
  return { problem, detail, hint: HINTS[problem] };
}

/** host:port (a bracketed IPv6 address too), or null. */
export function splitAddress(address: string): { host: string; port: number } | null {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(address.replace(/^dns:(\/\/\/)?/, ''));
  if (!m) return null;
  const port = Number(m[3]);
  if (port < 1 || port > 65_535) return null;
  return { host: (m[1] ?? m[2]) as string, port };
}

/** The class of a Node.js TLS or socket error (its `code`). */
export function classifyError(err: unknown): Diagnosis {
  const e = err as NodeJS.ErrnoException & { reason?: string };
  const code = e?.code ?? '';
  const msg = `${code ? `${code}: ` : ''}${e?.message ?? String(err)}`;
  switch (code) {
    case 'ENOTFOUND': case 'EAI_AGAIN': case 'EAI_NONAME': case 'EAI_FAIL': return diagnosis('DNS', msg);
    case 'ECONNREFUSED': case 'ECONNRESET': return diagnosis('REFUSED', msg);
    case 'ETIMEDOUT': case 'EHOSTUNREACH': case 'ENETUNREACH': case 'TIMEOUT': return diagnosis('UNREACHABLE', msg);
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE': case 'SELF_SIGNED_CERT_IN_CHAIN': case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'UNABLE_TO_GET_ISSUER_CERT': case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY': case 'CERT_SIGNATURE_FAILURE':
      return diagnosis('TLS_UNKNOWN_CA', msg);
    case 'ERR_TLS_CERT_ALTNAME_INVALID': return diagnosis('TLS_NAME', msg);
    case 'CERT_HAS_EXPIRED': case 'CERT_NOT_YET_VALID': return diagnosis('TLS_EXPIRED', msg);
    default:
      break;
  }
  // The server's alert when it refuses the client's certificate.
  if (/alert (bad certificate|unknown ca|certificate unknown|certificate required|certificate expired|handshake failure|access denied)|SSLV3_ALERT_BAD_CERTIFICATE|TLSV1_ALERT_UNKNOWN_CA|TLSV13_ALERT_CERTIFICATE_REQUIRED/i.test(msg)) {
    return diagnosis('TLS_REJECTED', msg);
  }
  if (code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS') || /ssl|tls/i.test(msg)) return diagnosis('TLS', msg);
  return diagnosis('UNKNOWN', msg);
}

function withDeadline<T>(ms: number, run: (done: (v: T) => void) => () => void, onTimeout: () => T): Promise<T> {
  return new Promise<T>((resolve) => {
    let settled = false;
    let cleanup: () => void = () => undefined;
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      cleanup();
      resolve(onTimeout());
    }, ms);
    cleanup = run((v) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      cleanup();
      resolve(v);
    });
  });
}

/** Diagnoses a connection that failed: the first layer that fails, or null when all work. */
export async function diagnoseConnection(t: DiagnoseTarget): Promise<Diagnosis | null> {
  const target = splitAddress(t.address);
  if (!target) return diagnosis('ADDRESS', `${JSON.stringify(t.address)} is not host:port`);
  let ip = target.host;
  if (isIP(target.host) === 0) {
    const r = await withDeadline<Diagnosis | string>(t.timeoutMs, (done) => {
      lookup(target.host).then((a) => done(a.address), (err: unknown) => done(classifyError(err)));
      return () => undefined;
    }, () => diagnosis('DNS', `no answer for ${target.host} within ${t.timeoutMs} ms`));
    if (typeof r !== 'string') return r;
    ip = r;
  }
  const tcp = await withDeadline<Diagnosis | null>(t.timeoutMs, (done) => {
    const s = new Socket();
    s.once('connect', () => done(null));
    s.once('error', (err) => done(classifyError(err)));
    s.connect(target.port, ip);
    return () => s.destroy();
  }, () => diagnosis('UNREACHABLE', `no answer from ${ip}:${target.port} within ${t.timeoutMs} ms`));
  if (tcp) return tcp;
  if (t.insecure) return null;
  let ca: Buffer;
  let cert: Buffer;
  let key: Buffer;
  try {
    [ca, cert, key] = await Promise.all([readFile(t.caFile), readFile(t.certFile), readFile(t.keyFile)]);
  } catch (err) {
    return diagnosis('CREDENTIALS', (err as Error).message);
  }
  return withDeadline<Diagnosis | null>(t.timeoutMs, (done) => {
    let s: TLSSocket;
    try {
      s = tlsConnect({
        host: ip, port: target.port, ca, cert, key, ALPNProtocols: ['h2'],
        servername: t.serverName || (isIP(target.host) === 0 ? target.host : undefined),
      });
    } catch (err) {
      done(diagnosis('CREDENTIALS', (err as Error).message));
      return () => undefined;
    }
    // With TLS 1.3 the client's handshake is done before the server has judged the client's
    // certificate; a server that refuses it then closes the connection (Node.js without an
    // alert, others with one). A collector that accepted waits for the HTTP/2 preface instead:
    // so an end or an alert in the moment after the handshake is a refusal.
    s.once('secureConnect', () => {
      s.resume(); // read, so that what the server sends now is seen
      const settle = setTimeout(() => done(null), 300);
      const refused = () => {
        clearTimeout(settle);
        done(diagnosis('TLS_REJECTED', 'the collector closed the connection right after the TLS handshake: it did not accept the agent\'s certificate'));
      };
      s.once('end', refused);
      s.once('close', refused);
    });
    s.once('error', (err) => done(classifyError(err)));
    return () => s.destroy();
  }, () => diagnosis('UNREACHABLE', `the TLS handshake with ${t.address} did not finish within ${t.timeoutMs} ms`));
}
