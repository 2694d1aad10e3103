// Query latency at cluster scale: a million findings across 5,000 nodes, generated with the
// store's own commit functions into a temp SQLite file, then asked through the real API
// (HTTPS, auth, validation, serialisation) of a collector opened on that file. Prints
// p50/p99 per query next to the cheapest call the API has (GET one finding by id), which is
// the baseline measured in the same run; every order of the list (sort, order) on its first
// page and 50,000 rows deep.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initPki } from '../collector/pki/pki.js';
import { hashToken, loadCollectorConfig } from '../collector/config.js';
import { createCollector } from '../collector/main.js';
import { openStore } from '../collector/store/sqlite.js';
import { FINDING_SORTS, SORT_ORDERS, type Store } from '../collector/store/store.js';
import { createCommitStage } from '../collector/pipeline/commit.js';
import { createLogger } from '../proto/support/logger.js';
import { fingerprint } from '../proto/fingerprint.js';
import { CATEGORIES, SEVERITIES, type Category, type Severity } from '../proto/domain.js';
import type { IncomingFinding, IncomingResult } from '../collector/pipeline/types.js';

export interface QueryBenchOptions {
  readonly nodes: number;
  /** Checks per scan report; a third of them fail on each node. */
  readonly checks: number;
  /** Process findings per node. */
  readonly processes: number;
  /** Samples per query (the summary takes a quarter of these, at least 10). */
  readonly samples: number;
}

export interface Latency {
  readonly name: string;
  readonly p50: number;
  readonly p99: number;
  readonly rows: number;
}

export interface QueryBenchResult {
  readonly findings: number;
  readonly nodes: number;
  readonly nodeResults: number;
  readonly generateSeconds: number;
  readonly dbBytes: number;
  readonly latencies: Latency[];
}

const TOKEN = 'bench-token-0123456789abcdef';
const DAY = 86400_000;

const nodeName = (i: number): string => `node-${String(i).padStart(5, '0')}`;
const checkId = (j: number): string => `cis-${1 + (j % 5)}.${1 + Math.floor(j / 5) % 4}.${j}`;
const categoryOf = (j: number): Category => CATEGORIES[j % 6] as Category;
const severityOf = (j: number): Severity => SEVERITIES[(j * 7) % 5] as Severity;

/** Fills the store the way agents would: one hello, one scan report, one batch of process findings per node. */
export async function generate(store: Store, o: QueryBenchOptions, t0: number): Promise<{ findings: number; nodeResults: number }> {
  const commit = createCommitStage(store, { maxOpenFindingsPerNode: 1_000_000 });
  const scope = Array.from({ length: o.checks }, (_, j) => checkId(j));
  let findings = 0;
  for (let i = 0; i < o.nodes; i++) {
    const node = nodeName(i);
    const at = t0 + i * 10;
    await store.nodes.hello({
      node, agentVersion: '1.0.0', epoch: 'bench', os: 'Debian GNU/Linux 12 (bookworm)', kernel: '6.1.0-27-amd64', arch: 'x64',
      kubeletVersion: 'v1.31.2', cpus: 8, memoryBytes: 32 << 30, uptimeSeconds: 86400,
      certificates: [{ path: '/var/lib/kubelet/pki/kubelet.crt', notAfter: new Date(t0 + 200 * DAY).toISOString() }],
    }, at);
    const results: IncomingResult[] = scope.map((checkId, j) => ({
      checkId, cis: checkId.slice(4), references: [`cis-1.12:${checkId.slice(4)}`], title: `Check ${checkId}`, category: categoryOf(j), subject: `--flag-${j}`,
      status: (i + j) % 3 === 0 ? 'fail' : 'pass', severity: severityOf(j), scored: j % 5 !== 0, actual: 'true', expected: 'false',
      source: 'flag', sourceFile: '', reason: '', remediation: 'Set the flag as the benchmark says.', occurrences: 1,
    }));
    findings += (await commit.scan({ node, epoch: 'bench', sequence: 1, scannedAt: at, benchmark: 'cis-1.12', scope, results, trigger: 'startup' }, at)).updated;
    const procs: IncomingFinding[] = Array.from({ length: o.processes }, (_, k) => ({
      checkId: 'proc-unexpected', subject: `/opt/app-${(i * 7 + k) % 997}/bin/tool-${k}`, title: 'Unexpected process', category: 'process',
      severity: SEVERITIES[1 + (k % 4)] as Severity, status: 'fail', observedAt: at + k, occurrences: 1 + (k % 3), seen: k % 2 ? 'event' : 'scan',
      remediation: '', detail: JSON.stringify({ pid: 1000 + k, user: 'root', cmdline: `/opt/app/bin/tool-${k} --serve --port ${8000 + k}` }),
    }));
    findings += (await commit.batch({ node, epoch: 'bench', sequence: 2, findings: procs }, at)).updated;
    // A later scan on every fourth node fixes a few checks (resolved findings), and an
    // operator has suppressed one process finding on every tenth node.
    if (i % 4 === 0) {
      const fixed = results.filter((r) => r.status === 'fail').slice(0, 5).map((r) => ({ ...r, status: 'pass' as const }));
      await commit.scan({ node, epoch: 'bench', sequence: 3, scannedAt: at + DAY, benchmark: 'cis-1.12', scope, results: fixed, trigger: 'watch' }, at + DAY);
    }
    if (i % 10 === 0) {
      const subject = procs[0]!.subject;
      await commit.suppress(fingerprint(node, 'proc-unexpected', subject), { reason: 'known tool', until: null, by: 'bench' }, at);
    }
  }
  return { findings, nodeResults: o.nodes * o.checks };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

export async function benchQuery(o: QueryBenchOptions): Promise<QueryBenchResult> {
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-bench-query-'));
  try {
    const dbPath = join(dir, 'nodeward.db');
    const t0 = Date.now() - 30 * DAY;
    const started = process.hrtime.bigint();
    const store = openStore({ path: dbPath });
    const counts = await generate(store, o, t0);
    await store.optimize();
    await store.close();
    const generateSeconds = Number(process.hrtime.bigint() - started) / 1e9;

    const pki = await initPki(join(dir, 'pki'), { nodes: [], collectorHosts: ['localhost'] });
    const file = join(dir, 'collector.yaml');
    await writeFile(file, JSON.stringify({
      dataDir: dir, database: dbPath,
      grpc: { listen: '127.0.0.1:0', caFile: pki.caCert, certFile: pki.collectorCert, keyFile: pki.collectorKey },
      api: { listen: '127.0.0.1:0', tokens: [{ name: 'bench', role: 'admin', sha256: hashToken(TOKEN) }], rateLimit: { requestsPerSecond: 100_000, burst: 1_000_000 } },
      // The bench's nodes are silent by design; the sweeper must not spend the run raising agent-stale.
      nodes: { staleAfterSeconds: 365 * 86400 }, maintenance: { intervalSeconds: 3600 },
    }));
    const collector = createCollector(loadCollectorConfig({ file, env: {} }), { log: createLogger('bench', 'silent') });
    await collector.start();
    const agent = new Agent({ keepAlive: true, ca: readFileSync(pki.caCert), maxSockets: 1 });
    const get = (path: string): Promise<{ status: number; rows: number }> => new Promise((resolve, reject) => {
      const req = request(`https://localhost:${collector.apiPort}${path}`, { agent, headers: { authorization: `Bearer ${TOKEN}` } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { items?: unknown[]; byNode?: unknown[] };
          if (res.statusCode !== 200) reject(new Error(`${path}: ${res.statusCode} ${JSON.stringify(body)}`));
          else resolve({ status: res.statusCode, rows: body.items?.length ?? body.byNode?.length ?? 1 });
        });
      });
      req.on('error', reject);
      req.end();
    });
    const time = async (name: string, paths: () => string, samples: number): Promise<Latency> => {
      for (let i = 0; i < Math.min(5, samples); i++) await get(paths());
      const ms: number[] = [];
      let rows = 0;
      for (let i = 0; i < samples; i++) {
        const s = process.hrtime.bigint();
        rows = (await get(paths())).rows;
        ms.push(Number(process.hrtime.bigint() - s) / 1e6);
      }
      ms.sort((a, b) => a - b);
      return { name, p50: percentile(ms, 50), p99: percentile(ms, 99), rows };
    };

    /** The cursor 50 pages of 1,000 into a listing (50,000 rows deep), URL-encoded; '' when the listing is shorter. */
    const deepCursor = async (query: string): Promise<string> => {
      let cursor: string | null = null;
      for (let i = 0; i < 50; i++) {
        const res = await new Promise<string | null>((resolve, reject) => {
          const req = request(`https://localhost:${collector.apiPort}/api/v1/findings?${query}&limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
            { agent, headers: { authorization: `Bearer ${TOKEN}` } }, (r) => {
              const chunks: Buffer[] = [];
              r.on('data', (c: Buffer) => chunks.push(c));
              r.on('end', () => resolve((JSON.parse(Buffer.concat(chunks).toString('utf8')) as { nextCursor: string | null }).nextCursor));
            });
          req.on('error', reject);
          req.end();
        });
        if (!res) break;
        cursor = res;
      }
      return cursor === null ? '' : encodeURIComponent(cursor);
    };
    // A cursor deep into the open high-and-worse findings, to show pages stay flat.
    const deep = await deepCursor('state=open&minSeverity=high');

    let n = 0;
    const someNode = (): string => nodeName((n++ * 7919) % o.nodes);
    const oneId = (): string => {
      const i = (n++ * 7919) % o.nodes;
      return fingerprint(nodeName(i), 'proc-unexpected', `/opt/app-${(i * 7 + 1) % 997}/bin/tool-1`);
    };
    const latencies: Latency[] = [
      await time('GET one finding by id (baseline)', () => `/api/v1/findings/${oneId()}`, o.samples),
      await time('findings: state=open&minSeverity=high, first page of 100', () => '/api/v1/findings?state=open&minSeverity=high&limit=100', o.samples),
      await time('findings: same filter, a page 50,000 rows deep', () => `/api/v1/findings?state=open&minSeverity=high&limit=100&cursor=${deep}`, o.samples),
      await time('findings: node=<one node>&state=open, 100', () => `/api/v1/findings?node=${someNode()}&state=open&limit=100`, o.samples),
      await time('findings: check=cis-1.1.0&state=open, 100', () => '/api/v1/findings?check=cis-1.1.0&state=open&limit=100', o.samples),
      await time('findings: category=process&severity=critical, 100', () => '/api/v1/findings?category=process&severity=critical&limit=100', o.samples),
      await time('findings: node=<one node>&sort=lastSeen, 100', () => `/api/v1/findings?node=${someNode()}&sort=lastSeen&limit=100`, o.samples),
      await time('findings: check=proc-unexpected&state=open&sort=node, 100', () => '/api/v1/findings?check=proc-unexpected&state=open&sort=node&limit=100', o.samples),
      await time('nodes: first page of 1,000 with scores', () => '/api/v1/nodes?limit=1000', Math.max(10, Math.floor(o.samples / 4))),
      await time('summary (state=open, top 10)', () => '/api/v1/summary', Math.max(10, Math.floor(o.samples / 4))),
    ];
    // Every order of the list, unfiltered (every state and severity: the most index ranges to
    // merge): its first page of 100, and a page of 100 that starts 50,000 rows deep.
    for (const sort of FINDING_SORTS) {
      for (const order of SORT_ORDERS) {
        const query = `sort=${sort}&order=${order}`;
        const cursor = await deepCursor(query);
        latencies.push(await time(`sort: ${query}, first page of 100`, () => `/api/v1/findings?${query}&limit=100`, o.samples));
        latencies.push(await time(`sort: ${query}, 50,000 rows deep`, () => `/api/v1/findings?${query}&limit=100&cursor=${cursor}`, o.samples));
      }
    }
    agent.destroy();
    const dbBytes = await collector.store?.sizeBytes() ?? 0;
    await collector.stop();
    return { findings: counts.findings, nodes: o.nodes, nodeResults: counts.nodeResults, generateSeconds, dbBytes, latencies };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function formatQueryBench(r: QueryBenchResult): string {
  const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
  const ms = (n: number): string => `${n < 10 ? n.toFixed(2) : n.toFixed(1)} ms`;
  const base = r.latencies[0]!;
  const width = Math.max(...r.latencies.map((l) => l.name.length));
  const sorts = r.latencies.filter((l) => l.name.startsWith('sort: '));
  const worst = sorts.reduce((w, l) => (l.p99 > w.p99 ? l : w), sorts[0] ?? base);
  return [
    `query: ${fmt(r.findings)} findings and ${fmt(r.nodeResults)} check results across ${fmt(r.nodes)} nodes (${(r.dbBytes / 2 ** 20).toFixed(0)} MiB of SQLite)`,
    `  data generated with the store's own commits in ${r.generateSeconds.toFixed(1)} s (not part of the latencies)`,
    `  over HTTPS with keep-alive, one request at a time:${' '.repeat(Math.max(1, width - 42))}p50        p99   x baseline: p50    p99`,
    ...r.latencies.map((l) => `  ${l.name.padEnd(width)}  ${ms(l.p50).padStart(9)}  ${ms(l.p99).padStart(9)}   ${(l.p50 / base.p50).toFixed(1).padStart(15)}  ${(l.p99 / base.p99).toFixed(1).padStart(5)}`),
    `  the list's ${sorts.length} order pages: worst p99 ${ms(worst.p99)} (${worst.name.slice(6)}); target below 50 ms`,
    '',
  ].join('\n');
}
