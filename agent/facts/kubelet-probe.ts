// What really answers on the kubelet's ports, seen from the node itself: an unauthenticated
// HTTPS GET /pods on the kubelet's API port (it must be refused with 401 or 403) and a TCP
// connect to the read-only port (it must be refused). No credentials are ever sent: no
// Authorization header, no client certificate. The server certificate is not verified
// because only the HTTP status is looked at and nothing is sent that needs protecting.
// This is network I/O, so it lives with the facts; the checks only judge what it recorded.
import { request } from 'node:https';
import { connect } from 'node:net';
import type { KubeletProbeFacts, PortProbe } from './node-facts.js';

export interface KubeletProbeOptions {
  readonly host: string;
  readonly apiPort: number;
  readonly readOnlyPort: number;
  readonly timeoutMs: number;
}

export const DEFAULT_KUBELET_PROBE: KubeletProbeOptions = Object.freeze({
  host: '127.0.0.1',
  apiPort: 10250,
  readOnlyPort: 10255,
  timeoutMs: 2000,
});

const REFUSED = new Set(['ECONNREFUSED']);
const TIMED_OUT = new Set(['ETIMEDOUT', 'ESOCKETTIMEDOUT']);

function fromError(host: string, port: number, err: unknown): PortProbe {
  const code = (err as NodeJS.ErrnoException | undefined)?.code ?? '';
  const message = err instanceof Error ? err.message : String(err);
  if (REFUSED.has(code)) return { host, port, outcome: 'refused', statusCode: null, detail: `connection refused (${code})` };
  if (TIMED_OUT.has(code)) return { host, port, outcome: 'timeout', statusCode: null, detail: message };
  return { host, port, outcome: 'error', statusCode: null, detail: code ? `${code}: ${message}` : message };
}

/** Unauthenticated HTTPS GET /pods; resolves (never rejects) with what was seen. */
export function probeKubeletApi(host: string, port: number, timeoutMs: number): Promise<PortProbe> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (p: PortProbe): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.destroy();
      resolve(p);
    };
    const req = request({
      host,
      port,
      path: '/pods',
      method: 'GET',
      // Status only: the certificate is not what is judged, and nothing secret is sent.
      rejectUnauthorized: false,
      agent: false,
      headers: { 'user-agent': 'nodeward-agent (kubelet exposure probe)' },
    });
    const timer = setTimeout(() => finish({ host, port, outcome: 'timeout', statusCode: null, detail: `no answer within ${timeoutMs} ms` }), timeoutMs);
    req.on('response', (res) => {
      res.resume();
      finish({ host, port, outcome: 'http', statusCode: res.statusCode ?? 0, detail: `HTTP ${res.statusCode ?? 0}` });
    });
    req.on('error', (err) => finish(fromError(host, port, err)));
    req.end();
  });
}

/** TCP connect only; resolves (never rejects) with `open`, `refused`, `timeout` or `error`. */
export function probeTcpPort(host: string, port: number, timeoutMs: number): Promise<PortProbe> {
  return new Promise((resolve) => {
    let done = false;
    const socket = connect({ host, port });
    const finish = (p: PortProbe): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(p);
    };
    const timer = setTimeout(() => finish({ host, port, outcome: 'timeout', statusCode: null, detail: `no answer within ${timeoutMs} ms` }), timeoutMs);
    socket.once('connect', () => finish({ host, port, outcome: 'open', statusCode: null, detail: 'a TCP connection was accepted' }));
    socket.once('error', (err) => finish(fromError(host, port, err)));
  });
}

/** Both probes, or none with the reason (the probe is turned off). */
export async function collectKubeletProbe(opts: KubeletProbeOptions | null, disabledReason = 'the kubelet port probe is turned off'): Promise<KubeletProbeFacts> {
  if (opts === null) return { api: null, readOnly: null, disabledReason };
  const [api, readOnly] = await Promise.all([
    probeKubeletApi(opts.host, opts.apiPort, opts.timeoutMs),
    probeTcpPort(opts.host, opts.readOnlyPort, opts.timeoutMs),
  ]);
  return { api, readOnly, disabledReason: '' };
}
