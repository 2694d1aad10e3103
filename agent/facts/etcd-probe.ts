// What a running etcd really does with a client that holds no certificate, seen from the
// node. For each client URL etcd advertises (a bounded number, and only addresses of this node
// as they are written: the agent resolves no name it read from the host and reaches no other
// machine), two connections, each asking `GET /version` over HTTP/1.1:
//   - TLS without a client certificate: does etcd refuse it, or answer?
//   - plain text to the same host:port: does etcd answer in clear text?
// Nothing else is sent: no certificate, key, token or header the host holds. The server
// certificate is not verified, because only whether etcd answers is judged and the request
// carries nothing that needs protecting. Network I/O, so it lives with the facts; the checks
// (agent/checks/etcd-live-checks.ts) only judge what was recorded here.
import { isIP, connect as tcpConnect, type Socket } from 'node:net';
import { networkInterfaces } from 'node:os';
import { connect as tlsConnect } from 'node:tls';
import type { ValueSpec } from './component-settings.js';
import { resolveComponentValue } from './component-settings.js';
import type { ComponentFacts } from './control-plane-types.js';

export interface EtcdProbeOptions {
  /** How long one connection waits for its answer. */
  readonly timeoutMs: number;
  /** Client URLs probed at most (two connections each). */
  readonly maxUrls: number;
}

export const DEFAULT_ETCD_PROBE: EtcdProbeOptions = Object.freeze({ timeoutMs: 2000, maxUrls: 4 });

/** etcd's own default when nothing sets it. */
export const ETCD_ADVERTISE_CLIENT_URLS: ValueSpec = {
  flag: 'advertise-client-urls',
  type: 'list',
  default: 'http://localhost:2379',
  env: 'ETCD_ADVERTISE_CLIENT_URLS',
  configPath: ['advertise-client-urls'],
};

/** Endpoints recorded at most: a command line can list any number of URLs. */
export const MAX_LISTED_URLS = 16;
/** Bytes of an answer read at most: the status line and a little of the body are all that is judged. */
export const MAX_ANSWER_BYTES = 4096;

export type * from './etcd-probe-types.js';
import type { EtcdEndpointProbe, EtcdProbeFacts, EtcdWireProbe } from './etcd-probe-types.js';

const hostHeader = (host: string, port: number): string => `${host.includes(':') ? `[${host}]` : host}:${port}`;

function request(host: string, port: number): string {
  return `GET /version HTTP/1.1\r\nHost: ${hostHeader(host, port)}\r\nUser-Agent: nodeward-agent (etcd exposure probe)\r\n` +
    'Accept: application/json\r\nConnection: close\r\n\r\n';
}

/** An HTTP answer: `served`, or `tls-only` for Go's answer to plain HTTP on a TLS port. */
function judgeAnswer(answer: Buffer, kind: 'tls' | 'plain'): EtcdWireProbe {
  const first = answer[0];
  // A TLS record (alert 0x15, handshake 0x16) in answer to plain text: the port speaks only TLS.
  if (kind === 'plain' && (first === 0x15 || first === 0x16) && answer[1] === 0x03) {
    return { outcome: 'tls-only', statusCode: null, detail: 'answered with a TLS record: the port speaks only TLS' };
  }
  const text = answer.toString('latin1');
  const status = /^HTTP\/1\.[01] ([1-5][0-9]{2})[ \r]/.exec(text);
  if (status === null) {
    return { outcome: 'not-http', statusCode: null, detail: `answered ${answer.length} bytes that are not an HTTP answer` };
  }
  const code = Number(status[1]);
  if (kind === 'plain' && code === 400 && /HTTPS server/.test(text)) {
    return { outcome: 'tls-only', statusCode: code, detail: 'answered HTTP 400 "Client sent an HTTP request to an HTTPS server"' };
  }
  // The body is the peer's, so only a version-shaped string is kept from it.
  const version = /"etcdserver"\s*:\s*"([0-9A-Za-z.+-]{1,32})"/.exec(text)?.[1];
  return { outcome: 'served', statusCode: code, detail: `HTTP ${code} to GET /version${version !== undefined ? ` (etcd ${version})` : ''}` };
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);
const NOT_TLS = new Set(['ERR_SSL_WRONG_VERSION_NUMBER', 'ERR_SSL_PACKET_LENGTH_TOO_LONG', 'ERR_SSL_UNEXPECTED_EOF_WHILE_READING']);

/** `ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE` -> `bad certificate`. */
const alertName = (code: string): string => code.replace(/^ERR_SSL_(?:SSLV3|TLSV1|TLSV13)_ALERT_/, '').toLowerCase().replace(/_/g, ' ');

function fromError(err: unknown, kind: 'tls' | 'plain', handshakeDone: boolean): EtcdWireProbe {
  const code = (err as NodeJS.ErrnoException | undefined)?.code ?? '';
  const message = (err instanceof Error ? err.message : String(err)).split('\n')[0]?.slice(0, 200) ?? '';
  const none = { statusCode: null } as const;
  if (UNREACHABLE.has(code)) return { ...none, outcome: 'unreachable', detail: `nothing accepted the connection (${code})` };
  if (code === 'ETIMEDOUT') return { ...none, outcome: 'timeout', detail: message };
  if (/_ALERT_(BAD_CERTIFICATE|CERTIFICATE_REQUIRED)$/.test(code)) {
    return { ...none, outcome: 'cert-required', detail: `the server ended the TLS session with the alert "${alertName(code)}" (${code})` };
  }
  if (/_ALERT_/.test(code)) return { ...none, outcome: 'tls-refused', detail: `the server ended the TLS session with the alert "${alertName(code)}" (${code})` };
  if (kind === 'tls' && NOT_TLS.has(code)) return { ...none, outcome: 'not-tls', detail: `the answer is not TLS (${code})` };
  if (code === 'ECONNRESET' || code === 'EPIPE') {
    if (kind === 'tls' && !handshakeDone) return { ...none, outcome: 'no-handshake', detail: `the server closed the connection before the TLS handshake completed (${code})` };
    return { ...none, outcome: 'no-answer', detail: `the server closed the connection without answering (${code})` };
  }
  return { ...none, outcome: 'error', detail: code !== '' ? `${code}: ${message}` : message };
}

/**
 * One connection (TLS without a client certificate, or plain text) that asks GET /version;
 * resolves (never rejects) with what was seen.
 */
export function probeEtcdEndpoint(kind: 'tls' | 'plain', host: string, port: number, timeoutMs: number): Promise<EtcdWireProbe> {
  return new Promise((resolve) => {
    let done = false;
    let handshakeDone = false;
    const chunks: Buffer[] = [];
    let received = 0;
    const socket: Socket = kind === 'tls'
      ? tlsConnect({
        host,
        port,
        // An IP address is not a valid server name; `localhost` is sent as written.
        ...(isIP(host) === 0 ? { servername: host } : {}),
        // Only whether etcd answers is judged, and nothing secret is sent: no verification.
        rejectUnauthorized: false,
        ALPNProtocols: ['http/1.1'],
        // Deliberately no cert, key, pfx or ca: the agent presents nothing it found on the host.
      })
      : tcpConnect({ host, port });
    const answer = (): Buffer => Buffer.concat(chunks, received);
    const finish = (p: EtcdWireProbe): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(p);
    };
    const closed = (): void => {
      if (received > 0) return finish(judgeAnswer(answer(), kind));
      if (kind === 'tls' && !handshakeDone) {
        return finish({ outcome: 'no-handshake', statusCode: null, detail: 'the server closed the connection before the TLS handshake completed' });
      }
      finish({ outcome: 'no-answer', statusCode: null, detail: `the server closed the connection without answering GET /version${kind === 'tls' ? ' after the TLS handshake' : ''}` });
    };
    const timer = setTimeout(() => {
      if (received > 0) finish(judgeAnswer(answer(), kind));
      else finish({ outcome: 'timeout', statusCode: null, detail: `no answer within ${timeoutMs} ms` });
    }, timeoutMs);
    socket.once(kind === 'tls' ? 'secureConnect' : 'connect', () => {
      handshakeDone = true;
      socket.write(request(host, port));
    });
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      received += d.length;
      if (received >= MAX_ANSWER_BYTES) finish(judgeAnswer(answer(), kind));
    });
    socket.once('end', closed);
    socket.once('close', closed);
    // `on`, not `once`: a second error after the first must not go unhandled (and crash the agent).
    socket.on('error', (err) => {
      // A TLS alert always wins: it is the server's own verdict. Otherwise an answer already
      // received is what counts, however the connection ended.
      const seen = fromError(err, kind, handshakeDone);
      if (received > 0 && seen.outcome !== 'cert-required' && seen.outcome !== 'tls-refused') finish(judgeAnswer(answer(), kind));
      else finish(seen);
    });
  });
}

/** The addresses of this network namespace's interfaces (the node's, with the host network). */
function localAddresses(): Set<string> {
  const out = new Set<string>();
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) out.add(a.address);
  return out;
}

const isLoopback = (ip: string): boolean => ip === '::1' || /^127\.\d+\.\d+\.\d+$/.test(ip);

interface Target {
  readonly host: string;
  readonly port: number;
  readonly secure: boolean;
}

/** A URL etcd advertises, as a target, or why it is not probed. */
export function etcdProbeTarget(url: string, local: ReadonlySet<string>): Target | { readonly skipped: string; readonly host: string; readonly port: number } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { skipped: `${JSON.stringify(url.slice(0, 200))} is not a URL`, host: '', port: 0 };
  }
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  const secure = u.protocol === 'https:';
  const port = u.port !== '' ? Number(u.port) : secure ? 443 : 80;
  if (u.protocol !== 'https:' && u.protocol !== 'http:') {
    return { skipped: `${u.protocol}// URLs (unix sockets) are not probed`, host, port };
  }
  if (host === 'localhost' || (isIP(host) !== 0 && (isLoopback(host) || local.has(host)))) return { host, port, secure };
  if (isIP(host) === 0) {
    return { skipped: `${host} is a name: the agent connects only to addresses of this node written as such, and resolves no name it read from the host`, host, port };
  }
  return { skipped: `${host} is not an address of this node (the agent probes only this node's own etcd, and needs the host network to see the node's addresses)`, host, port };
}

/** Both connections for each advertised client URL, or why nothing is probed. */
export async function collectEtcdProbe(
  etcd: ComponentFacts | null, opts: EtcdProbeOptions | null, disabledReason = 'the etcd probe is turned off',
): Promise<EtcdProbeFacts> {
  const nothing = { urlsFrom: '', endpoints: [], omitted: 0, disabledReason: '', error: '' };
  if (opts === null) return { ...nothing, disabledReason };
  if (etcd === null) return { ...nothing, disabledReason: 'this node does not run etcd' };
  const r = resolveComponentValue(etcd, ETCD_ADVERTISE_CLIENT_URLS);
  if (r.kind === 'error') return { ...nothing, error: `the client URLs etcd advertises cannot be told: ${r.reason}` };
  if (r.kind === 'hidden') return { ...nothing, error: `the client URLs etcd advertises cannot be told: ${r.reason}: ${r.why}` };
  const urls = [...new Set((r.value ?? '').split(',').map((s) => s.trim()).filter((s) => s !== ''))];
  if (urls.length === 0) return { ...nothing, error: `etcd advertises no client URL (${r.where})` };

  const local = localAddresses();
  // Decide first which URLs are probed (the first maxUrls this node can reach), then probe them together.
  let budget = opts.maxUrls;
  const plan = urls.slice(0, MAX_LISTED_URLS).map((url) => {
    const target = etcdProbeTarget(url, local);
    if ('skipped' in target) return { url, target, skipped: target.skipped };
    if (budget === 0) return { url, target, skipped: `only the first ${opts.maxUrls} client URLs this node can reach are probed (etcdProbe.maxUrls)` };
    budget -= 1;
    return { url, target, skipped: '' };
  });
  const endpoints = await Promise.all(plan.map(async ({ url, target, skipped }): Promise<EtcdEndpointProbe> => {
    const at = { url, host: target.host, port: target.port };
    if (skipped !== '' || 'skipped' in target) return { ...at, tls: null, plain: null, skipped };
    const [tls, plain] = await Promise.all([
      target.secure ? probeEtcdEndpoint('tls', target.host, target.port, opts.timeoutMs) : Promise.resolve(null),
      probeEtcdEndpoint('plain', target.host, target.port, opts.timeoutMs),
    ]);
    return { ...at, tls, plain, skipped: '' };
  }));
  return { urlsFrom: r.where, endpoints, omitted: Math.max(0, urls.length - MAX_LISTED_URLS), disabledReason: '', error: '' };
}
