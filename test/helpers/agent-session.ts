// An agent session over the real wire (mTLS gRPC to a test collector) plus the query API,
// for tests that seed findings and baselines the way agents do. Every spooled message waits
// for its ack; BaselineReports have none (they are state, not events).
import { fingerprint } from '../../proto/fingerprint.js';
import type {
  AgentBaseline, AgentMessage, AgentStats, BaselineUpdate__Output, CollectorMessage__Output, WireFinding, WireResult,
} from '../../proto/load.js';
import { openRawStream, type RawStream } from './grpc-client.js';
import { httpsJson, type HttpResponse } from './https.js';
import { READER_TOKEN, type TestCollector } from './collector.js';

export interface Session {
  /** Sends a finding batch with the next sequence number and waits for its ack. */
  batch(findings: WireFinding[]): Promise<void>;
  /** Sends a scan report with the next sequence number and waits for its ack; judged under `benchmark` (default cis-1.12). */
  scan(scannedAtMs: number, scope: string[], results: WireResult[], benchmark?: string): Promise<void>;
  /** Sends a heartbeat (no ack comes back), with these counters or none. */
  heartbeat(stats?: AgentStats): void;
  /** Sends one BaselineReport of these baselines (no ack comes back). */
  report(...baselines: AgentBaseline[]): void;
  /** The next message from the collector. */
  next(): Promise<CollectorMessage__Output>;
  /** The next message from the collector, which must be a BaselineUpdate. */
  update(): Promise<BaselineUpdate__Output>;
  /**
   * Sends a finding batch and waits for its ack, passing over what the collector pushed before
   * it (baseline updates, pods): everything sent before it has been handled.
   */
  settle(findings?: WireFinding[]): Promise<void>;
  /** The stream itself, for messages without an ack and for how the call ended. */
  readonly stream: RawStream;
  close(): void;
}

let epochs = 0;

export async function connect(tc: TestCollector, node: string, host: {
  os?: string; agentVersion?: string; kubeletVersion?: string; certificates?: Array<{ path: string; notAfterMs: number }>;
  /** The hello's AgentStats (none by default). */
  stats?: AgentStats | undefined;
  /** The highest baseline version the agent applied (0 by default). */
  baselineVersion?: number;
  /** Its node's host baseline key (`host/worker`, ...); none by default: an agent from before node roles. */
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
      baselineVersion: host.baselineVersion ?? 0, hostBaselineKey: host.hostBaselineKey ?? '',
    },
  });
  let sequence = 0;
  let closed = false;
  const next = async (): Promise<CollectorMessage__Output> => (await stream.receive(1))[0]!;
  const send = async (msg: (seq: number) => AgentMessage): Promise<void> => {
    const seq = ++sequence;
    stream.send(msg(seq));
    const reply = await next();
    const ack = reply.ack;
    if (!ack || ack.sequence !== seq || ack.code !== 0) throw new Error(`no clean ack for sequence ${seq}: ${JSON.stringify(reply)}`);
  };
  return {
    report: (...baselines) => stream.send({ baselineReport: { baselines } }),
    next,
    async update() {
      const m = await next();
      if (!m.baselineUpdate) throw new Error(`expected a baseline update, got ${JSON.stringify(m)}`);
      return m.baselineUpdate;
    },
    async settle(findings = []) {
      const seq = ++sequence;
      stream.send({ findingBatch: { sequence: seq, findings } });
      for (;;) {
        const m = (await stream.receive(1, 60_000))[0]!;
        if (m.ack?.sequence !== seq) continue;
        if (m.ack.code !== 0) throw new Error(`batch ${seq} refused: ${m.ack.message}`);
        return;
      }
    },
    batch: (findings) => send((seq) => ({ findingBatch: { sequence: seq, findings } })),
    scan: (scannedAtMs, scope, results, benchmark = 'cis-1.12') => send((seq) => ({
      scanReport: { sequence: seq, scannedAtMs, benchmark, scope, results, trigger: 'periodic' },
    })),
    heartbeat: (stats = { spoolEntries: 0, execCoverage: 'scan' }) => stream.send({ heartbeat: { sentAtMs: Date.now(), stats } }),
    stream,
    close: () => {
      if (closed) return;
      closed = true;
      stream.close();
    },
  };
}

/** A content of an item as an agent reports it (ItemDigest); learned now unless it says. */
export interface DigestSpec { sha256: string; source: string; image?: string; firstSeenMs?: number }
/** An item as an agent reports it: a path learned now, or what it says. */
export type ItemSpec = string | { path: string; firstSeenMs?: number; source?: string; digests?: DigestSpec[]; anyContent?: boolean };

/** One baseline as an agent reports it, learning or locked (its window ended), at the version it applied. */
export function bl(key: string, state: 'learning' | 'locked', items: ItemSpec[], version = 0): AgentBaseline {
  return {
    key, state: state === 'locked' ? 'BASELINE_STATE_LOCKED' : 'BASELINE_STATE_LEARNING', version, learnUntilMs: Date.now() + 3600_000,
    lockedBy: state === 'locked' ? 'window' : '',
    items: items.map((i) => (typeof i === 'string' ? { path: i, source: 'ITEM_SOURCE_LEARNED', firstSeenMs: Date.now() } : {
      path: i.path, source: (i.source ?? 'ITEM_SOURCE_LEARNED') as 'ITEM_SOURCE_LEARNED', firstSeenMs: i.firstSeenMs ?? Date.now(),
      digests: (i.digests ?? []).map((d) => ({ sha256: d.sha256, source: d.source, image: d.image ?? '', firstSeenMs: d.firstSeenMs ?? Date.now() })),
      anyContent: i.anyContent ?? false,
    })),
    removed: [],
  };
}

/** A learning baseline of these executables. */
export const learning = (key: string, ...paths: string[]): AgentBaseline => bl(key, 'learning', paths);

export interface ApiDigest { sha256: string; source: string; image: string; addedBy: string; firstSeen: string; taughtBy: string[] }
export interface ApiItem { path: string; source: string; addedBy: string; taughtBy: string[]; singleNode: boolean; anyContent: boolean; digests: ApiDigest[] }
/** A central baseline as GET /api/v1/baselines shows it (the fields tests read). */
export interface ApiBaseline {
  key: string; namespace: string; workload: { kind: string; name: string } | null; container: string; state: string;
  lockedBy: string | null; lockedByName: string; lockedAt: string | null; version: number; items: ApiItem[];
  removed: Array<{ path: string; removedBy: string }>; chargedTo: string;
}

/** GET /api/v1/baselines with this query. */
export const baselines = (tc: TestCollector, query = ''): Promise<{ items: ApiBaseline[]; nextCursor: string | null }> => ok(tc, `/api/v1/baselines?${query}`);

/** The central baseline of `key`, or undefined. */
export const centralBaseline = async (tc: TestCollector, key: string): Promise<ApiBaseline | undefined> =>
  (await baselines(tc, `key=${encodeURIComponent(key)}`)).items[0];

export const SEVERITY = { info: 'SEVERITY_INFO', low: 'SEVERITY_LOW', medium: 'SEVERITY_MEDIUM', high: 'SEVERITY_HIGH', critical: 'SEVERITY_CRITICAL' } as const;
export const STATUS = { pass: 'STATUS_PASS', fail: 'STATUS_FAIL', warn: 'STATUS_WARN', skip: 'STATUS_SKIP', error: 'STATUS_ERROR' } as const;

export function proc(subject: string, opts: { severity?: keyof typeof SEVERITY; at?: number; occurrences?: number; title?: string; detail?: Record<string, unknown> } = {}): WireFinding {
  return {
    checkId: 'proc-unexpected', subject, title: opts.title ?? 'Unexpected process', category: 'process',
    severity: SEVERITY[opts.severity ?? 'high'], status: 'STATUS_FAIL', observedAtMs: opts.at ?? Date.now(),
    occurrences: opts.occurrences ?? 1, seen: 'event', detailJson: JSON.stringify(opts.detail ?? {}),
  };
}

/**
 * A result as agents send it: without `references` (as agents up to 0.2.x do: the collector
 * takes the report's benchmark and `cis`), or with them.
 */
export function result(checkId: string, subject: string, status: keyof typeof STATUS, opts: {
  severity?: keyof typeof SEVERITY; category?: string; scored?: boolean; occurrences?: number; actual?: string; title?: string;
  cis?: string; references?: string[];
} = {}): WireResult {
  return {
    checkId, cis: opts.cis ?? checkId.replace(/^cis-/, ''), ...(opts.references ? { references: opts.references } : {}),
    title: opts.title ?? `Check ${checkId}`, category: opts.category ?? 'kubelet',
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
