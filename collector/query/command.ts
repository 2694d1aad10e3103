// `nodeward query findings|nodes|summary|processes|baselines|clusters`: a client of the query API.
// `--cluster NAME|UID|*` asks for another cluster the collector reads, or every one (a Cluster
// column then says whose each row is).
// Tables by default, `-o json` for scripts, `-o csv` for spreadsheets. Connection settings come from flags, then
// NODEWARD_URL / NODEWARD_TOKEN_FILE / NODEWARD_TOKEN / NODEWARD_CA_FILE, then the files
// `npm start` writes (data/admin.token, data/pki/ca.crt) when they exist.
// Exit codes: 0 answered, 1 the query failed (network, token, collector), 2 usage error
// (including a parameter the API refused with 400).
import { InvalidArgumentError, Option, type Command } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import { CATEGORIES, FINDING_STATES, SEVERITIES } from '../../proto/domain.js';
import { FINDING_SCOPES, type Finding } from '../finding.js';
import { POSTURE_CATEGORIES } from '../posture/judge.js';
import { FINDING_SORTS, SORT_ORDERS } from '../store/store.js';
import { isoTime } from '../store/time.js';
import { getOk, QueryError, type Connection } from './client.js';
import { renderTable, type Column } from './table.js';
import { renderCsv } from './csv.js';
import { EXPOSURE_COLUMNS, exposureRows } from './exposure.js';

type Env = Readonly<Record<string, string | undefined>>;
export const OUTPUTS = ['table', 'json', 'csv'] as const;
export type Output = (typeof OUTPUTS)[number];
/** What a command that prints one object (not a list) offers. */
export const OBJECT_OUTPUTS: readonly Output[] = ['table', 'json'];

export interface ConnectionFlags {
  readonly url?: string;
  readonly tokenFile?: string;
  readonly caFile?: string;
  readonly output: Output;
}

/** An error that is the caller's to fix: bin/cli.ts exits 2 for code USAGE. */
export class QueryUsageError extends Error {
  readonly code = 'USAGE';
}

export function usageOrFailure(err: unknown): never {
  if (err instanceof QueryError) {
    if (err.usage) throw new QueryUsageError(err.message);
    throw Object.assign(new Error(err.message), { code: 'QUERY_FAILED' });
  }
  throw err;
}

function isLoopback(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

const NOT_A_URL = 'write it as https://HOST:PORT, e.g. https://collector.example:8443';

/**
 * The collector's API URL, or a message that says what is wrong with it and what to write:
 * a URL without a scheme (`collector:8443`, which a URL parser takes as the scheme
 * `collector:`), another scheme, or plain http:// to another machine, where the API token would
 * cross the network in clear text (http:// is for a test collector on this machine, api.insecure).
 */
export function parseCollectorUrl(raw: string, where = '--url'): URL {
  const shown = `${where} ${JSON.stringify(raw)}`;
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(raw)) {
    let host = '';
    try {
      host = /\s/.test(raw) ? '' : new URL(`https://${raw}`).hostname;
    } catch {
      host = '';
    }
    if (host !== '') throw new QueryUsageError(`${shown} has no scheme: write https://${raw} (the collector's API is HTTPS)`);
    throw new QueryUsageError(`${shown} is not a URL: ${NOT_A_URL}`);
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new QueryUsageError(`${shown} is not a URL: ${NOT_A_URL}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new QueryUsageError(`${shown}: the collector's API is reached over https://, not ${url.protocol}//`);
  if (url.protocol === 'http:' && !isLoopback(url.hostname)) {
    throw new QueryUsageError(`${shown}: ${url.hostname} must be reached over https://: over plain http:// the API token would cross the network unencrypted (http:// only reaches a test collector on this machine, api.insecure); write https://${url.host}`);
  }
  return url;
}

export function resolveConnection(flags: ConnectionFlags, env: Env, cwd = process.cwd()): Connection {
  const url = flags.url !== undefined ? parseCollectorUrl(flags.url, '--url')
    : env.NODEWARD_URL !== undefined && env.NODEWARD_URL !== '' ? parseCollectorUrl(env.NODEWARD_URL, 'NODEWARD_URL')
      : new URL('https://localhost:8443');
  const read = (what: string, file: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new QueryUsageError(`cannot read the ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  };
  const local = (p: string): string | undefined => (existsSync(`${cwd}/${p}`) ? `${cwd}/${p}` : undefined);
  const tokenFile = flags.tokenFile ?? env.NODEWARD_TOKEN_FILE;
  let token: string | undefined;
  if (tokenFile) token = read('token file', tokenFile).toString('utf8').trim();
  else if (env.NODEWARD_TOKEN) token = env.NODEWARD_TOKEN.trim();
  else {
    const dev = local('data/admin.token');
    if (dev) token = read('token file', dev).toString('utf8').trim();
  }
  if (token === undefined) throw new QueryUsageError('no API token: pass --token-file FILE (or set NODEWARD_TOKEN_FILE or NODEWARD_TOKEN)');
  if (!/^[\x21-\x7e]{1,512}$/.test(token)) throw new QueryUsageError('the token (from --token-file, NODEWARD_TOKEN_FILE or NODEWARD_TOKEN) is not a token: expected one line of printable characters');
  const caFile = flags.caFile ?? env.NODEWARD_CA_FILE ?? (url.protocol === 'https:' ? local('data/pki/ca.crt') : undefined);
  return { url, token, ca: caFile ? read('CA file', caFile) : undefined };
}

// ---------------------------------------------------------------------------------------
// Formatting

const time = (iso: string | null | undefined): string => (iso ? iso.replace(/\.\d{3}Z$/, 'Z') : '');
const pct = (score: number | null | undefined): string => (score === null || score === undefined ? '-' : `${Math.round(score * 1000) / 10}%`);

/** The API's finding (collector/finding.ts), as much of it as the table shows. */
type FindingLike = Pick<Finding, 'id' | 'node' | 'checkId' | 'subject' | 'severity' | 'state' | 'count' | 'lastSeen' | 'title'> & {
  /** Absent from collectors older than cluster findings. */
  scope?: Finding['scope'];
  /** The cluster's name; absent from collectors older than fleets. */
  cluster?: string;
};

/** `--cluster`: a cluster's name or uid, or * for every one the collector reads. */
const CLUSTER_FLAG = ['--cluster <cluster>', "a cluster the collector reads, by name or uid (query clusters lists them), or * for every one; default: the collector's own"] as const;

/** `columns` with a Cluster column first when the rows come from every cluster (--cluster '*'). */
function withCluster<T>(cluster: string | undefined, columns: ReadonlyArray<Column<T>>, name: (row: T) => string | undefined): ReadonlyArray<Column<T>> {
  return cluster === '*' ? [{ title: 'Cluster', value: (row) => name(row) ?? null, max: 40 }, ...columns] : columns;
}

const FINDING_COLUMNS: ReadonlyArray<Column<FindingLike>> = [
  { title: 'Severity', value: (f) => f.severity },
  { title: 'State', value: (f) => f.state },
  { title: 'Node', value: (f) => (f.scope === 'cluster' ? '(cluster)' : f.node), max: 40 },
  { title: 'Check', value: (f) => f.checkId },
  { title: 'Subject', value: (f) => f.subject, max: 60 },
  { title: 'Count', value: (f) => f.count, align: 'right' },
  { title: 'Last seen', value: (f) => time(f.lastSeen) },
  { title: 'Id', value: (f) => f.id },
];

interface NodeLike {
  name: string; connected: boolean; stale: boolean; complianceScore: number | null; openFindings: number; failingChecks: number;
  agentVersion: string; kubeletVersion: string; os: string; lastSeen: string;
  certificatesExpireFirst?: { path: string; notAfter: string } | null;
  /** Absent from collectors older than the field. */
  agentDrops?: { total: number; execUnjudged?: number };
  execSource?: string;
  execRingLost?: number;
  execFakeContainer?: number;
  execHostNamespace?: number;
  execBatches?: number;
  hostDocumentsRefused?: { count: number; lastPath: string; lastReason: string };
  execIdentityFailed?: { count: number; lastReason: string };
  /** Absent from collectors older than the node watch. */
  source?: 'agent' | 'cluster';
  cluster?: { ready: boolean; agentExpected: boolean | null; reason: string } | null;
  agentMissing?: { state: string; since: string; reason: string } | null;
  demo?: boolean;
  /** Absent from collectors older than benchmarks per node. */
  benchmark?: string;
  /** The cluster's name (cluster says what Kubernetes says of the node); absent from collectors older than fleets. */
  clusterName?: string;
  hostLearning?: { key: string; state: 'learning' | 'locked'; until: string | null; lockedBy: string } | null;
}

/** Where the node's host process learning stands: `until <time>`, `locked`, or `-` (not reported: no process monitoring). */
function learning(h: NodeLike['hostLearning']): string | null {
  if (!h) return null;
  if (h.state === 'learning') return h.until ? `until ${time(h.until)}` : 'learning';
  return h.lockedBy === 'operator' ? 'locked (operator)' : 'locked';
}

/** The node's state: its agent's connection, or, for a node no agent reported, what the cluster says. */
export function nodeStatus(n: NodeLike): string {
  if (n.agentMissing) return n.agentMissing.state === 'suppressed' ? 'agent missing (suppressed)' : 'agent missing';
  if (n.source === 'cluster') {
    if (n.cluster?.agentExpected === false) return 'no agent (not expected)';
    if (n.cluster && !n.cluster.ready) return 'no agent (not ready)';
    return 'no agent yet';
  }
  return n.stale ? 'stale' : n.connected ? 'connected' : 'disconnected';
}

/** Why a node has no agent: the agent-missing finding's reason, or why the DaemonSet does not run there. */
const whyNoAgent = (n: NodeLike): string | null => n.agentMissing?.reason || (n.source === 'cluster' ? n.cluster?.reason || null : null);

const NODE_COLUMNS: ReadonlyArray<Column<NodeLike>> = [
  { title: 'Node', value: (n) => n.name, max: 60 },
  { title: 'Status', value: (n) => `${nodeStatus(n)}${n.demo ? ' (demo)' : ''}` },
  { title: 'Score', value: (n) => (n.complianceScore === null || n.complianceScore === undefined ? null : pct(n.complianceScore)), align: 'right' },
  { title: 'Benchmark', value: (n) => n.benchmark || null },
  { title: 'Open', value: (n) => n.openFindings, align: 'right' },
  { title: 'Failing', value: (n) => n.failingChecks, align: 'right' },
  { title: 'Drops', value: (n) => n.agentDrops?.total ?? null, align: 'right' },
  { title: 'Exec', value: (n) => n.execSource || null, max: 10 },
  { title: 'Host learning', value: (n) => learning(n.hostLearning) },
  { title: 'Agent', value: (n) => n.agentVersion, max: 20 },
  { title: 'Kubelet', value: (n) => n.kubeletVersion, max: 20 },
  { title: 'Certs expire', value: (n) => (n.certificatesExpireFirst ? n.certificatesExpireFirst.notAfter.slice(0, 10) : null) },
  { title: 'OS', value: (n) => n.os, max: 30 },
  { title: 'Last seen', value: (n) => time(n.lastSeen) },
  { title: 'Why no agent', value: whyNoAgent, max: 100 },
];

/** `--wide`: the agent's exec counters and refused host documents (a field the collector predates is `-`). */
const NODE_WIDE_COLUMNS: ReadonlyArray<Column<NodeLike>> = [
  ...NODE_COLUMNS,
  { title: 'Unjudged', value: (n) => n.agentDrops?.execUnjudged ?? null, align: 'right' },
  { title: 'Ring lost', value: (n) => n.execRingLost ?? null, align: 'right' },
  { title: 'Fake ctr', value: (n) => n.execFakeContainer ?? null, align: 'right' },
  { title: 'Host ns', value: (n) => n.execHostNamespace ?? null, align: 'right' },
  { title: 'Batches', value: (n) => n.execBatches ?? null, align: 'right' },
  { title: 'Unhashed', value: (n) => (n.execIdentityFailed ? (n.execIdentityFailed.lastReason ? `${n.execIdentityFailed.count} (${n.execIdentityFailed.lastReason})` : n.execIdentityFailed.count) : null), align: 'right' },
  { title: 'Docs refused', value: (n) => n.hostDocumentsRefused?.count ?? null, align: 'right' },
  { title: 'Last refused', value: (n) => (n.hostDocumentsRefused?.lastPath ? `${n.hostDocumentsRefused.lastPath} (${n.hostDocumentsRefused.lastReason})` : null), max: 60 },
];

interface ProcessLike {
  cluster?: string;
  node: string; state: string; baseline: string; executable: string; user: string; pid: number | null; seen: string;
  count: number; lastSeen: string; cmdline: string;
}

const PROCESS_COLUMNS: ReadonlyArray<Column<ProcessLike>> = [
  { title: 'Node', value: (p) => p.node, max: 40 },
  { title: 'Where', value: (p) => p.baseline, max: 60 },
  { title: 'Executable', value: (p) => p.executable, max: 60 },
  { title: 'User', value: (p) => p.user, max: 16 },
  { title: 'PID', value: (p) => p.pid, align: 'right' },
  { title: 'Seen', value: (p) => p.seen },
  { title: 'Count', value: (p) => p.count, align: 'right' },
  { title: 'Last seen', value: (p) => time(p.lastSeen) },
  { title: 'Command line', value: (p) => p.cmdline, max: 80 },
];

interface BaselineLike {
  key: string; state: string; lockedBy: string | null; lockedByName: string; version: number; updatedAt: string; itemsDropped: number;
  items: Array<{ path: string; source: string; addedBy: string; taughtBy: string[]; singleNode: boolean; anyContent?: boolean; digests?: unknown[] }>;
  removed: Array<{ path: string; removedBy: string }>;
}

/** An item's contents for a table: `any` (an operator allowed any content), else how many are known. */
const contents = (i: BaselineLike['items'][number]): string => (i.anyContent ? 'any' : String(i.digests?.length ?? 0));

const BASELINE_COLUMNS: ReadonlyArray<Column<BaselineLike>> = [
  { title: 'Key', value: (b) => b.key, max: 70 },
  { title: 'State', value: (b) => b.state },
  { title: 'Locked by', value: (b) => (b.lockedBy ? `${b.lockedBy} ${b.lockedByName}` : ''), max: 40 },
  { title: 'Items', value: (b) => b.items.length, align: 'right' },
  { title: 'Digests', value: (b) => b.items.reduce((n, i) => n + (i.digests?.length ?? 0), 0), align: 'right' },
  { title: 'One node', value: (b) => b.items.filter((i) => i.singleNode).length, align: 'right' },
  { title: 'Removed', value: (b) => b.removed.length, align: 'right' },
  { title: 'Version', value: (b) => b.version, align: 'right' },
  { title: 'Updated', value: (b) => time(b.updatedAt) },
];

const BASELINE_ITEM_COLUMNS: ReadonlyArray<Column<{ key: string; path: string; what: string; contents: string; nodes: number; single: boolean; by: string }>> = [
  { title: 'Key', value: (r) => r.key, max: 70 },
  { title: 'Executable', value: (r) => r.path, max: 80 },
  { title: 'Source', value: (r) => r.what },
  { title: 'Digests', value: (r) => r.contents, align: 'right' },
  { title: 'Nodes', value: (r) => r.nodes, align: 'right' },
  { title: 'One node', value: (r) => (r.single ? 'yes' : '') },
  { title: 'Added by', value: (r) => r.by, max: 40 },
];

interface SummaryLike {
  state: string;
  nodes: { total: number; connected: number; stale: number };
  /** byBenchmark is absent from collectors older than benchmarks per node. */
  compliance: { score: number | null; passing: number; scored: number; byBenchmark?: Array<{ benchmark: string; nodes: number; score: number | null; passing: number; scored: number }> };
  findings: { total: number; bySeverity: Record<string, number>; byCategory: Record<string, number> };
  /** Absent from collectors older than cluster findings. */
  cluster?: { total: number; bySeverity: Record<string, number> };
  byNode: Array<{ node: string; total: number; bySeverity: Record<string, number>; cluster?: string }>;
  topChecks: Array<{ checkId: string; title: string; severity: string; nodes: number; findings: number }>;
  /** With --cluster '*': each cluster's own summary. */
  clusters?: Array<{ uid: string; name: string; own: boolean; summary: SummaryLike }>;
}

function renderSummary(s: SummaryLike): string {
  const across = s.clusters !== undefined;
  const sev = [...SEVERITIES].reverse().map((x) => `${x} ${s.findings.bySeverity[x] ?? 0}`).join(', ');
  const out = [
    `Nodes:       ${s.nodes.total} (${s.nodes.connected} connected, ${s.nodes.stale} stale)`,
    `Compliance:  ${pct(s.compliance.score)} (${s.compliance.passing} of ${s.compliance.scored} scored checks pass)`,
    // Per benchmark only when nodes are judged under more than one, or under one that is not CIS Kubernetes.
    ...((s.compliance.byBenchmark ?? []).length > 1 || (s.compliance.byBenchmark ?? []).some((b) => b.benchmark !== 'cis-1.12')
      ? (s.compliance.byBenchmark ?? []).map((b) => `  ${b.benchmark}: ${pct(b.score)} (${b.passing} of ${b.scored} on ${b.nodes} node${b.nodes === 1 ? '' : 's'})`)
      : []),
    `Findings:    ${s.findings.total} ${s.state}: ${sev}`,
    ...(s.cluster ? [`  cluster:   ${s.cluster.total} ${s.state}: ${[...SEVERITIES].reverse().map((x) => `${x} ${s.cluster?.bySeverity[x] ?? 0}`).join(', ')} (RBAC and posture, no node)`] : []),
    '',
  ];
  const cats = Object.entries(s.findings.byCategory);
  if (cats.length > 0) {
    out.push('By category', renderTable(cats, [{ title: 'Category', value: ([c]) => c }, { title: 'Findings', value: ([, n]) => n, align: 'right' }]));
  }
  if (s.topChecks.length > 0) {
    out.push('Checks failing on the most nodes', renderTable(s.topChecks, [
      { title: 'Check', value: (c) => c.checkId }, { title: 'Severity', value: (c) => c.severity },
      { title: 'Nodes', value: (c) => c.nodes, align: 'right' }, { title: 'Findings', value: (c) => c.findings, align: 'right' },
      { title: 'Title', value: (c) => c.title, max: 60 },
    ]));
  }
  if (s.clusters !== undefined && s.clusters.length > 0) {
    out.push('Clusters', renderTable(s.clusters, [
      { title: 'Cluster', value: (c) => `${c.name}${c.own ? ' (own)' : ''}`, max: 40 }, { title: 'Uid', value: (c) => c.uid || '-' },
      { title: 'Nodes', value: (c) => c.summary.nodes.total, align: 'right' }, { title: 'Score', value: (c) => pct(c.summary.compliance.score), align: 'right' },
      { title: 'Findings', value: (c) => c.summary.findings.total, align: 'right' },
      ...[...SEVERITIES].reverse().map((x): Column<NonNullable<SummaryLike['clusters']>[number]> => ({ title: x, value: (c) => c.summary.findings.bySeverity[x] ?? 0, align: 'right' })),
    ]));
  }
  if (s.byNode.length > 0) {
    out.push('Nodes with the most findings', renderTable(s.byNode, [
      ...(across ? [{ title: 'Cluster', value: (n: (typeof s.byNode)[number]) => n.cluster ?? null, max: 40 }] : []),
      { title: 'Node', value: (n) => n.node, max: 60 }, { title: 'Total', value: (n) => n.total, align: 'right' },
      ...[...SEVERITIES].reverse().map((x): Column<(typeof s.byNode)[number]> => ({ title: x, value: (n) => n.bySeverity[x] ?? 0, align: 'right' })),
    ]));
  }
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------
// Fetching

/** A cluster an answer across clusters had to leave out (its store failed the read). */
interface Unreadable {
  readonly cluster: string;
  readonly clusterUid: string;
}

/** Follows nextCursor until `limit` items (or all of them) are in hand; the clusters any page left out, once each. */
export async function collect<T>(conn: Connection, path: string, params: Record<string, string | number | boolean | undefined>, limit: number, pageMax: number): Promise<{ items: T[]; nextCursor: string | null; unreadable?: Unreadable[] }> {
  const items: T[] = [];
  const unreadable = new Map<string, Unreadable>();
  let cursor: string | undefined;
  for (;;) {
    const page = await getOk<{ items: T[]; nextCursor: string | null; unreadable?: Unreadable[] }>(conn, path, { ...params, limit: Math.min(pageMax, limit - items.length), cursor });
    items.push(...page.items);
    for (const u of page.unreadable ?? []) unreadable.set(`${u.clusterUid}\u0000${u.cluster}`, u);
    if (!page.nextCursor || items.length >= limit) return { items, nextCursor: page.nextCursor, ...(unreadable.size > 0 ? { unreadable: [...unreadable.values()] } : {}) };
    cursor = page.nextCursor;
  }
}

const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$/i;
const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86400 } as const;

/** "24h", "30m", "7d", "90s" ago, or an RFC 3339 time, as RFC 3339. */
export function parseSince(s: string, now = Date.now()): string {
  const rel = /^(\d+)(s|m|h|d)$/.exec(s);
  // A duration longer than the clock's past (99999999d) means since the beginning, not a crash.
  if (rel) return isoTime(now - Number(rel[1]) * UNIT_SECONDS[rel[2] as keyof typeof UNIT_SECONDS] * 1000);
  if (RFC3339.test(s) && !Number.isNaN(Date.parse(s))) return s;
  throw new InvalidArgumentError('expected a duration such as 30m, 24h or 7d, or an RFC 3339 time such as 2025-01-31T12:00:00Z');
}

/** "24h", "7d", "90d" from now, or an RFC 3339 time, as RFC 3339 (the collector refuses a time past). */
export function parseUntil(s: string, now = Date.now()): string {
  const rel = /^(\d{1,9})(s|m|h|d)$/.exec(s);
  if (rel) {
    const at = now + Number(rel[1]) * UNIT_SECONDS[rel[2] as keyof typeof UNIT_SECONDS] * 1000;
    if (at > Date.parse('9999-12-31T23:59:59Z')) throw new InvalidArgumentError('that is past the year 9999');
    return isoTime(at);
  }
  if (RFC3339.test(s) && !Number.isNaN(Date.parse(s))) return s;
  throw new InvalidArgumentError('expected a duration from now such as 24h, 7d or 90d, or an RFC 3339 time such as 2025-01-31T12:00:00Z');
}

export function positive(v: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number of at least 1');
  return n;
}

// ---------------------------------------------------------------------------------------
// The command

export interface QueryIo {
  readonly env: Env;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

/** The connection flags and `-o, --output` with the formats the command offers (table first, the default). */
export function withConnection(cmd: Command, outputs: readonly Output[] = OBJECT_OUTPUTS): Command {
  return cmd
    .option('--url <url>', 'collector API base URL (env NODEWARD_URL; default https://localhost:8443)')
    .option('--token-file <file>', 'file holding the API token (env NODEWARD_TOKEN_FILE, or NODEWARD_TOKEN)')
    .option('--ca-file <file>', 'CA certificate that signed the collector certificate (env NODEWARD_CA_FILE)')
    .addOption(new Option('-o, --output <format>', 'output format').choices([...outputs]).default('table'));
}

/** Resolves the connection, runs `body`, and turns a refused or failed call into the exit codes of the CLI. */
export async function runQuery(flags: ConnectionFlags, io: QueryIo, body: (conn: Connection) => Promise<void>): Promise<void> {
  const conn = resolveConnection(flags, io.env);
  try {
    await body(conn);
  } catch (err) {
    usageOrFailure(err);
  }
}

/** Writes `s` with one final newline. */
export function writeOut(io: QueryIo, s: string): void {
  io.stdout.write(s.endsWith('\n') ? s : `${s}\n`);
}

/**
 * Prints a page of a list as the output asks: JSON (the API page), CSV (a header row even
 * when empty), or a table (`empty` when there is nothing, and on stderr a note when there is more).
 */
export function printPage<T>(io: QueryIo, output: Output, page: { items: T[]; nextCursor: string | null; unreadable?: readonly Unreadable[] }, columns: ReadonlyArray<Column<T>>, empty: string, what: string): void {
  if (output === 'json') return writeOut(io, JSON.stringify(page, null, 2));
  if (output === 'csv') io.stdout.write(renderCsv(page.items, columns));
  else writeOut(io, page.items.length === 0 ? empty : renderTable(page.items, columns));
  if (page.nextCursor) io.stderr.write(`(the first ${page.items.length} ${what}; --limit N or --all for more)\n`);
  for (const u of page.unreadable ?? []) io.stderr.write(`(left out: cluster ${u.cluster}${u.clusterUid === '' ? '' : ` (uid ${u.clusterUid})`}, whose store could not be read now)\n`);
}

/** Adds `query` and its subcommands to the program (they inherit its exit and output settings). */
export function addQueryCommand(program: Command, io: QueryIo): Command {
  const out = (s: string): void => writeOut(io, s);
  const json = (v: unknown): void => out(JSON.stringify(v, null, 2));
  const run = (flags: ConnectionFlags, body: (conn: Connection) => Promise<void>): Promise<void> => runQuery(flags, io, body);

  const query = program.command('query').description('ask the collector: findings, nodes, summary, processes, baselines, clusters');

  withConnection(query.command('findings').description('findings, most severe first (or in the order --sort names), with filters'), OUTPUTS)
    .addOption(new Option('--scope <scope>', 'node: findings on nodes; cluster: findings about the cluster\'s API objects (RBAC ...)').choices([...FINDING_SCOPES]))
    .option('--node <name>', 'only this node')
    .option('--check <id>', 'only this check id, e.g. cis-4.2.1')
    .addOption(new Option('--category <category>', 'only this category').choices([...CATEGORIES, ...POSTURE_CATEGORIES]))
    .addOption(new Option('--severity <severity>', 'only this severity').choices([...SEVERITIES]))
    .addOption(new Option('--min-severity <severity>', 'this severity or worse').choices([...SEVERITIES]))
    .addOption(new Option('--state <state>', 'open, resolved or suppressed (default: all)').choices([...FINDING_STATES]))
    .option('--since <when>', 'last seen since: 30m, 24h, 7d or an RFC 3339 time', (v) => parseSince(v))
    .option('--q <text>', 'text in the subject, title, check id or value')
    .addOption(new Option('--sort <order>', 'severity: most severe first, then newest first; lastSeen, firstSeen: newest first; node, check: A to Z, the most severe first within each')
      .choices([...FINDING_SORTS]).default('severity'))
    .addOption(new Option('--order <direction>', 'asc or desc: the whole order reversed (default: desc for severity, lastSeen and firstSeen; asc for node and check)').choices([...SORT_ORDERS]))
    .option('--limit <n>', 'at most this many findings', positive, 100)
    .option('--all', 'every finding that matches (follows every page; while findings change, --sort firstSeen is the order no change moves a finding in)')
    .option(...CLUSTER_FLAG)
    .action(async (o: ConnectionFlags & { cluster?: string; scope?: string; node?: string; check?: string; category?: string; severity?: string; minSeverity?: string; state?: string; since?: string; q?: string; sort: string; order?: string; limit: number; all?: boolean }) => {
      await run(o, async (conn) => {
        const params = { scope: o.scope, node: o.node, check: o.check, category: o.category, severity: o.severity, minSeverity: o.minSeverity, state: o.state, since: o.since, q: o.q, sort: o.sort, order: o.order, cluster: o.cluster };
        const page = await collect<FindingLike>(conn, '/api/v1/findings', params, o.all ? Number.MAX_SAFE_INTEGER : o.limit, 1000);
        printPage(io, o.output, page, withCluster(o.cluster, FINDING_COLUMNS, (f) => f.cluster), 'No findings match.', 'findings');
      });
    });

  withConnection(query.command('nodes').description("the node inventory: status, compliance score, findings, agent drops, versions; with the collector's node watch, also the nodes no agent reports from, and why"), OUTPUTS)
    .option('--stale', 'only nodes whose agent has gone silent')
    .option('--benchmark <name>', 'only nodes judged under this benchmark, e.g. cis-eks-1.7')
    .addOption(new Option('--sort <order>', 'name, or certExpiry: the node whose certificate expires first comes first').choices(['name', 'certExpiry']).default('name'))
    .option('--wide', "also the agent's exec counters (not judged, lost in the ring buffer, judged as host, eBPF batches) and refused host documents")
    .option('--exposure', 'what listens on each node instead: protocol, address, port, address class, pid, executable and workload (docs/exposure.md)')
    .option('--node <name>', 'with --exposure: only this node')
    .option(...CLUSTER_FLAG)
    .action(async (o: ConnectionFlags & { cluster?: string; stale?: boolean; benchmark?: string; sort: string; wide?: boolean; exposure?: boolean; node?: string }) => {
      await run(o, async (conn) => {
        if (o.node !== undefined && !o.exposure) throw new QueryError('--node goes with --exposure', true);
        if (o.cluster !== undefined && o.exposure) throw new QueryError("--exposure reads the collector's own cluster only: ask another cluster's collector for its nodes' listeners", true);
        if (o.exposure) {
          const names = o.node !== undefined ? [o.node]
            : (await collect<NodeLike>(conn, '/api/v1/nodes', { stale: o.stale ? true : undefined, benchmark: o.benchmark, sort: o.sort }, Number.MAX_SAFE_INTEGER, 5000)).items.map((n) => n.name);
          const { rows, missing } = await exposureRows(conn, names);
          for (const m of missing) io.stderr.write(`${m}: no listeners reported (an agent that predates them, or exposure.enabled off)\n`);
          printPage(io, o.output, { items: rows, nextCursor: null }, EXPOSURE_COLUMNS, 'Nothing listens, as far as the agents report.', 'listeners');
          return;
        }
        const page = await collect<NodeLike>(conn, '/api/v1/nodes', { stale: o.stale ? true : undefined, benchmark: o.benchmark, sort: o.sort, cluster: o.cluster }, Number.MAX_SAFE_INTEGER, 5000);
        const none = o.stale ? 'No node is stale.' : o.benchmark !== undefined ? `No node is judged under ${o.benchmark}.` : 'No node is known yet.';
        printPage(io, o.output, page, withCluster(o.cluster, o.wide ? NODE_WIDE_COLUMNS : NODE_COLUMNS, (n) => n.clusterName), none, 'nodes');
      });
    });

  withConnection(query.command('summary').description('the cluster at a glance: counts, compliance, worst checks and nodes'))
    .addOption(new Option('--state <state>', 'which findings to count').choices([...FINDING_STATES]).default('open'))
    .option('--top <n>', 'rows in the rankings', positive, 10)
    .option(CLUSTER_FLAG[0], `${CLUSTER_FLAG[1]} (* sums them, with a row per cluster)`)
    .action(async (o: ConnectionFlags & { state: string; top: number; cluster?: string }) => {
      await run(o, async (conn) => {
        const s = await getOk<SummaryLike>(conn, '/api/v1/summary', { state: o.state, top: o.top, cluster: o.cluster });
        if (o.output === 'json') return json(s);
        out(renderSummary(s));
      });
    });

  withConnection(query.command('processes').description('unexpected processes, one row per node, workload container (or host) and executable'), OUTPUTS)
    .option('--node <name>', 'only this node')
    .option('--namespace <ns>', 'only this namespace')
    .option('--workload <workload>', 'only this workload: Kind/name (Deployment/web) or a name of any kind')
    .addOption(new Option('--state <state>', 'open (default), resolved (allowed since) or suppressed').choices([...FINDING_STATES]).default('open'))
    .option('--since <when>', 'last seen since: 30m, 24h, 7d or an RFC 3339 time', (v) => parseSince(v))
    .option('--limit <n>', 'at most this many rows', positive, 100)
    .option('--all', 'every row that matches (follows every page)')
    .option(...CLUSTER_FLAG)
    .action(async (o: ConnectionFlags & { cluster?: string; node?: string; namespace?: string; workload?: string; state: string; since?: string; limit: number; all?: boolean }) => {
      await run(o, async (conn) => {
        const params = { node: o.node, namespace: o.namespace, workload: o.workload, state: o.state, since: o.since, cluster: o.cluster };
        const page = await collect<ProcessLike>(conn, '/api/v1/processes/unexpected', params, o.all ? Number.MAX_SAFE_INTEGER : o.limit, 1000);
        printPage(io, o.output, page, withCluster(o.cluster, PROCESS_COLUMNS, (p) => p.cluster), `No ${o.state === 'open' ? 'unexpected process' : `${o.state} process finding`} matches.`, 'rows');
      });
    });

  withConnection(query.command('baselines').description('the central process baselines: state, executables, which nodes taught them'), OUTPUTS)
    .option('--key <key>', 'only this baseline key (host/control-plane, host/worker, <namespace>/<Kind>/<workload>/<container>)')
    .option('--namespace <ns>', 'only this namespace')
    .option('--workload <name>', "only this workload (its name)")
    .addOption(new Option('--state <state>', 'learning or locked').choices(['learning', 'locked']))
    .option('--items', 'one row per executable instead of one per baseline')
    .option('--limit <n>', 'at most this many baselines', positive, 100)
    .option('--all', 'every baseline that matches (follows every page)')
    .action(async (o: ConnectionFlags & { key?: string; namespace?: string; workload?: string; state?: string; items?: boolean; limit: number; all?: boolean }) => {
      await run(o, async (conn) => {
        const params = { key: o.key, namespace: o.namespace, workload: o.workload, state: o.state };
        const page = await collect<BaselineLike>(conn, '/api/v1/baselines', params, o.all ? Number.MAX_SAFE_INTEGER : o.limit, 100);
        if (o.output === 'json') return json(page);
        if (o.items) {
          const rows = page.items.flatMap((b) => [
            ...b.items.map((i) => ({ key: b.key, path: i.path, what: i.source, contents: contents(i), nodes: i.taughtBy.length, single: i.singleNode, by: i.addedBy })),
            ...b.removed.map((r) => ({ key: b.key, path: r.path, what: 'removed', contents: '', nodes: 0, single: false, by: r.removedBy })),
          ]);
          // The note about more pages counts baselines, not their rows.
          printPage(io, o.output, { items: rows, nextCursor: null }, BASELINE_ITEM_COLUMNS, 'No baseline matches.', 'baselines');
        } else {
          printPage(io, o.output, { items: page.items, nextCursor: null }, BASELINE_COLUMNS, 'No baseline matches.', 'baselines');
        }
        if (page.nextCursor) io.stderr.write(`(the first ${page.items.length} baselines; --limit N or --all for more)\n`);
      });
    });

  withConnection(query.command('clusters').description('the clusters the collector can read: its own first, each with its nodes, open findings and unexpected processes'), OUTPUTS)
    .action(async (o: ConnectionFlags) => {
      await run(o, async (conn) => {
        const list = await getOk<{ items: ClusterLike[]; totals: Omit<ClusterLike, 'uid' | 'name' | 'own'> }>(conn, '/api/v1/clusters', {});
        if (o.output === 'json') return json(list);
        const rows: ClusterLike[] = [...list.items, ...(o.output === 'table' && list.items.length > 1 ? [{ uid: '', name: '(all)', own: false, ...list.totals }] : [])];
        printPage(io, o.output, { items: rows, nextCursor: null }, CLUSTER_COLUMNS, 'No cluster.', 'clusters');
      });
    });

  return query;
}

interface ClusterLike {
  uid: string; name: string; own: boolean; nodes: { total: number; connected: number };
  openFindings: { total: number; bySeverity: Record<string, number> }; unexpectedProcesses: number;
}

const CLUSTER_COLUMNS: ReadonlyArray<Column<ClusterLike>> = [
  { title: 'Cluster', value: (c) => c.name, max: 40 },
  { title: 'Uid', value: (c) => c.uid || null },
  { title: 'Own', value: (c) => (c.own ? 'yes' : '') },
  { title: 'Nodes', value: (c) => c.nodes.total, align: 'right' },
  { title: 'Connected', value: (c) => c.nodes.connected, align: 'right' },
  { title: 'Open', value: (c) => c.openFindings.total, align: 'right' },
  ...[...SEVERITIES].reverse().map((x): Column<ClusterLike> => ({ title: x, value: (c) => c.openFindings.bySeverity[x] ?? 0, align: 'right' })),
  { title: 'Unexpected processes', value: (c) => c.unexpectedProcesses, align: 'right' },
];

