// An agent session over the real wire (mTLS gRPC to a test collector) plus the query API,
// for tests that seed findings the way agents do. Every message waits for its ack.
import { fingerprint } from '../../proto/fingerprint.js';
import type { AgentMessage, AgentStats, CollectorMessage__Output, WireFinding, WireResult } from '../../proto/load.js';
import { openRawStream, type RawStream } from './grpc-client.js';
import { httpsJson, type HttpResponse } from './https.js';
import { READER_TOKEN, type TestCollector } from './collector.js';

export interface Session {
  /** Sends a finding batch with the next sequence number and waits for its ack. */
  batch(findings: WireFinding[]): Promise<void>;
  /** Sends a scan report with the next sequence number and waits for its ack. */
  scan(scannedAtMs: number, scope: string[], results: WireResult[]): Promise<void>;
  /** Sends a heartbeat (no ack comes back), with these counters or none. */
  heartbeat(stats?: AgentStats): void;
  /** The stream itself, for messages without an ack and for how the call ended. */
  readonly stream: RawStream;
  close(): void;
}

let epochs = 0;

export async function connect(tc: TestCollector, node: string, host: {
  os?: string; agentVersion?: string; kubeletVersion?: string; certificates?: Array<{ path: string; notAfterMs: number }>;
  /** The hello's AgentStats (none by default). */
  stats?: AgentStats | undefined;
  /** The hello's host baseline key (none by default: the legacy `host`). */
  hostBaselineKey?: string;
} = {}): Promise<Session> {
  const agent = tc.pki.agents[node];
  if (!agent) throw new Error(`the test PKI has no certificate for ${node}`);
  const stream: RawStream = openRawStream(tc.grpcAddress, { ca: tc.pki.caCert, cert: agent.cert, key: agent.key });
  stream.send({
    hello: {
      node, agentVersion: host.agentVersion ?? 'test', epoch: `epoch-${process.pid}-${++epochs}`,
      host: {
        os: host.os ?? 'Test OS', kernel: '6.1.0', arch: 'x64', cpus: 2, memoryBytes: 1 << 30,
        kubeletVersion: host.kubeletVersion ?? 'v1.31.2',
        certificates: host.certificates ?? [{ path: '/var/lib/kubelet/pki/kubelet.crt', notAfterMs: Date.now() + 200 * 86400_000 }],
      },
      ...(host.stats ? { stats: host.stats } : {}),
      ...(host.hostBaselineKey ? { hostBaselineKey: host.hostBaselineKey } : {}),
    },
  });
  let sequence = 0;
  const send = async (msg: (seq: number) => AgentMessage): Promise<void> => {
    const seq = ++sequence;
    stream.send(msg(seq));
    const [reply] = await stream.receive(1);
    const ack = (reply as CollectorMessage__Output | undefined)?.ack;
    if (!ack || ack.sequence !== seq || ack.code !== 0) throw new Error(`no clean ack for sequence ${seq}: ${JSON.stringify(reply)}`);
  };
  return {
    batch: (findings) => send((seq) => ({ findingBatch: { sequence: seq, findings } })),
    scan: (scannedAtMs, scope, results) => send((seq) => ({
      scanReport: { sequence: seq, scannedAtMs, benchmark: 'cis-1.12', scope, results, trigger: 'periodic' },
    })),
    heartbeat: (stats = { spoolEntries: 0, execCoverage: 'scan' }) => stream.send({ heartbeat: { sentAtMs: Date.now(), stats } }),
    stream,
    close: () => stream.close(),
  };
}

export const SEVERITY = { info: 'SEVERITY_INFO', low: 'SEVERITY_LOW', medium: 'SEVERITY_MEDIUM', high: 'SEVERITY_HIGH', critical: 'SEVERITY_CRITICAL' } as const;
export const STATUS = { pass: 'STATUS_PASS', fail: 'STATUS_FAIL', warn: 'STATUS_WARN', skip: 'STATUS_SKIP', error: 'STATUS_ERROR' } as const;

export function proc(subject: string, opts: { severity?: keyof typeof SEVERITY; at?: number; occurrences?: number; title?: string; detail?: Record<string, unknown> } = {}): WireFinding {
  return {
    checkId: 'proc-unexpected', subject, title: opts.title ?? 'Unexpected process', category: 'process',
    severity: SEVERITY[opts.severity ?? 'high'], status: 'STATUS_FAIL', observedAtMs: opts.at ?? Date.now(),
    occurrences: opts.occurrences ?? 1, seen: 'event', detailJson: JSON.stringify(opts.detail ?? {}),
  };
}

export function result(checkId: string, subject: string, status: keyof typeof STATUS, opts: {
  severity?: keyof typeof SEVERITY; category?: string; scored?: boolean; occurrences?: number; actual?: string; title?: string;
} = {}): WireResult {
  return {
    checkId, cis: checkId.replace(/^cis-/, ''), title: opts.title ?? `Check ${checkId}`, category: opts.category ?? 'kubelet',
    subject, status: STATUS[status], severity: SEVERITY[opts.severity ?? 'high'], scored: opts.scored ?? true,
    actual: opts.actual ?? 'x', expected: 'y', source: 'flag', occurrences: opts.occurrences ?? 1,
  };
}

export function api<T = any>(tc: TestCollector, path: string, opts: { token?: string | null; method?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<HttpResponse<T>> {
  const token = opts.token === null ? undefined : (opts.token ?? READER_TOKEN);
  return httpsJson<T>(`${tc.apiUrl}${path}`, {
    ca: tc.ca, ...(token ? { token } : {}), ...(opts.method ? { method: opts.method } : {}), ...(opts.body !== undefined ? { body: opts.body } : {}),
    ...(opts.headers ? { headers: opts.headers } : {}),
  });
}

/** GET that must answer 200. */
export async function ok<T = any>(tc: TestCollector, path: string, token?: string): Promise<T> {
  const res = await api<T>(tc, path, token ? { token } : {});
  if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${res.text}`);
  return res.body;
}

export const fp = (node: string, check: string, subject: string): string => fingerprint(node, check, subject);
export const ids = (items: Array<{ id: string }>): string[] => items.map((f) => f.id).sort();

/** A fresh collector for one test (tests run concurrently). */
export async function withCollector(run: (tc: TestCollector) => Promise<void>, opts: Parameters<typeof import('./collector.js').startTestCollector>[0] = {}): Promise<void> {
  const { startTestCollector } = await import('./collector.js');
  const tc = await startTestCollector({ nodes: ['node-a', 'node-b'], ...opts });
  try {
    await run(tc);
  } finally {
    await tc.close();
  }
}
