// The PostgreSQL store against baselines measured in the same run, on a throwaway server
// (test/helpers/postgres-server.ts: Debian's PostgreSQL, fsync off, so both sides of each
// ratio skip the same disk flush and the figures are the CPU's and the round trips'):
// 1. ingest: agent batches through the real commit stage over openPgStore (lifecycle, history,
//    rollups, idempotency: one unit per batch) next to a raw baseline that does the least of
//    the same durable work: the same findings rows upserted with a plain parameterised INSERT
//    ... ON CONFLICT per row, one transaction per batch (and, for reference, one multi-row
//    statement per batch). Target: the store at 50 % of the per-row baseline's rows/s or more.
// 2. queries at scale: findings and node results generated in SQL (INSERT ... SELECT over
//    generate_series: rows the store's reads accept), the rollups computed from them with one
//    INSERT ... SELECT ... GROUP BY per table, checked against the rows through the Store,
//    ANALYZEd; then the API's common reads timed through the Store (p50/p99 against the
//    targets: 50 ms a findings page, 200 ms the summary).
// 3. replicas: two stores on two pools, each in its own worker thread, ingesting different
//    nodes' batches at once, against one store alone doing the same work.
// Nothing asserts a time; the figures are for people to read. `node dist/bench/pg.js
// [--quick]` runs this part alone.
import { Worker } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import type pg from 'pg';
import { createCommitStage } from '../collector/pipeline/commit.js';
import type { IncomingBatch } from '../collector/pipeline/types.js';
import { openPgStore } from '../collector/store/pg/store.js';
import { sqlOf, transactOn } from '../collector/store/pg/sql.js';
import type { Store } from '../collector/store/store.js';
import { fingerprint } from '../proto/fingerprint.js';
import { CATEGORIES, SEVERITIES, severityRank } from '../proto/domain.js';
import { postgresBin, startPostgres, type TestPostgres } from '../test/helpers/postgres-server.js';
import { agentBatches, benchPool, helloOf, ingestNodes, type BatchShape } from './pg-support.js';
import type { ReplicaInput, ReplicaMessage } from './pg-replica-worker.js';

export interface PgBenchOptions {
  /** Part 1: nodes ingesting at once, each with these batches, in rounds (each path in turn). */
  readonly ingest: BatchShape & { readonly nodes: number; readonly rounds: number };
  /** Part 2. */
  readonly query: { readonly nodes: number; readonly findingsPerNode: number; readonly checks: number; readonly samples: number };
  /** Part 3: nodes in all (split between the replicas), each with these batches; each store's pool. */
  readonly replicas: BatchShape & { readonly nodes: number; readonly poolSize: number };
}

export const PG_BENCH_FULL: PgBenchOptions = {
  ingest: { nodes: 4, batches: 20, perBatch: 100, distinct: 1_500, rounds: 3 },
  query: { nodes: 5_000, findingsPerNode: 200, checks: 120, samples: 200 },
  replicas: { nodes: 8, batches: 20, perBatch: 100, distinct: 1_500, poolSize: 4 },
};
export const PG_BENCH_QUICK: PgBenchOptions = {
  ingest: { nodes: 4, batches: 8, perBatch: 100, distinct: 500, rounds: 2 },
  query: { nodes: 500, findingsPerNode: 200, checks: 120, samples: 40 },
  replicas: { nodes: 8, batches: 5, perBatch: 100, distinct: 300, poolSize: 4 },
};

const DAY = 86400_000;
const nodeName = (i: number): string => `node-${String(i).padStart(5, '0')}`;

// ---------------------------------------------------------------------------------------------
// 1. Ingest

export interface IngestFigures {
  readonly findings: number;
  /** Rows per second. */
  readonly store: number;
  readonly perRow: number;
  readonly multiRow: number;
  /** Statements a batch cost the store (counted at the client; BEGIN and COMMIT included). */
  readonly statementsPerBatch: number;
}

const COLUMNS = `id, node, check_id, cis, benchmark_refs, title, category, subject, severity, severity_rank, status, state,
  scored, actual, expected, source, source_file, reason, remediation, detail, seen, first_seen, last_seen, count, updated_at, scope`;
// What an occurrence of a known finding changes (the store's SEEN_AGAIN), plus the count.
const ON_CONFLICT = `ON CONFLICT (id) DO UPDATE SET cis = excluded.cis, benchmark_refs = excluded.benchmark_refs, title = excluded.title,
  status = excluded.status, scored = excluded.scored, actual = excluded.actual, expected = excluded.expected, source = excluded.source,
  source_file = excluded.source_file, reason = excluded.reason, remediation = excluded.remediation, detail = excluded.detail,
  seen = excluded.seen, last_seen = excluded.last_seen, count = findings.count + excluded.count, updated_at = excluded.updated_at`;
const UPSERT_ROW = `INSERT INTO findings (${COLUMNS})
  VALUES ($1, $2, $3, '', '[]', $4, $5, $6, $7, $8, $9, 'open', 0, '', '', 'process', '', '', $10, $11, $12, $13, $13, $14, $15, 'node')
  ${ON_CONFLICT}`;
const UPSERT_BATCH = `INSERT INTO findings (${COLUMNS})
  SELECT id, node, check_id, '', '[]', title, category, subject, severity, rank, status, 'open', 0, '', '', 'process', '', '', remediation,
    detail, seen, at, at, count, now, 'node'
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bigint[], $9::text[], $10::text[],
    $11::jsonb[], $12::text[], $13::bigint[], $14::bigint[], $15::bigint[])
    AS d (id, node, check_id, title, category, subject, severity, rank, status, remediation, detail, seen, at, count, now)
  ${ON_CONFLICT}`;

function rowOf(b: IncomingBatch, f: IncomingBatch['findings'][number], now: number): unknown[] {
  return [fingerprint(b.node, f.checkId, f.subject), b.node, f.checkId, f.title, f.category, f.subject, f.severity, severityRank(f.severity),
    f.status, f.remediation, f.detail, f.seen, f.observedAt, f.occurrences, now];
}

/** A pool that counts the statements sent through it. */
function counted(pool: pg.Pool): { pool: pg.Pool; count: () => number } {
  let n = 0;
  pool.on('connect', (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as { query: unknown }).query = (...args: unknown[]) => {
      n++;
      return query(...args);
    };
  });
  return { pool, count: () => n };
}

async function benchIngestPg(server: TestPostgres, o: PgBenchOptions['ingest'], t0: number): Promise<IngestFigures> {
  const warm: BatchShape = { batches: 5, perBatch: o.perBatch, distinct: o.distinct };
  type Path = { commit: (b: IncomingBatch) => Promise<unknown>; seconds: number; close: () => Promise<void> };

  // The store, as the collector commits agent messages.
  const counter = counted(await benchPool(server.url(await server.createDatabase()), 4, true));
  const store = await openPgStore({ pool: counter.pool });
  const stage = createCommitStage(store, { maxOpenFindingsPerNode: 10_000_000 });
  const viaStore: Path = { commit: (b) => stage.batch(b, t0), seconds: 0, close: () => store.close() };

  // The raw baselines: the same rows, no lifecycle, no history, no rollups.
  const raw = async (write: (sql: ReturnType<typeof sqlOf>, b: IncomingBatch) => Promise<void>): Promise<Path> => {
    const pool = await benchPool(server.url(await server.createDatabase()), 4, true);
    const transact = transactOn(pool);
    return { commit: (b) => transact((sql) => write(sql, b)), seconds: 0, close: () => pool.end() };
  };
  const perRow = await raw(async (sql, b) => {
    for (const f of b.findings) await sql.run(UPSERT_ROW, rowOf(b, f, t0));
  });
  const multiRow = await raw(async (sql, b) => {
    const rows = b.findings.map((f) => rowOf(b, f, t0));
    await sql.run(UPSERT_BATCH, rows[0]!.map((_, c) => rows.map((r) => r[c])));
  });
  const paths = [viaStore, perRow, multiRow];
  for (const p of paths) await ingestNodes(p.commit, [agentBatches('warm', warm, t0)]);
  // Rounds, each path in turn on new nodes, so a change in the machine's load falls on all three.
  let storeStatements = 0;
  for (let round = 0; round < o.rounds; round++) {
    const perNode = Array.from({ length: o.nodes }, (_, i) => agentBatches(`r${round}-${i}`, o, t0));
    for (let i = 0; i < o.nodes; i++) await store.nodes.hello(helloOf(`r${round}-${i}`, t0), t0);
    for (const p of paths) {
      const before = counter.count();
      p.seconds += await ingestNodes(p.commit, perNode);
      if (p === viaStore) storeStatements += counter.count() - before;
    }
  }
  for (const p of paths) await p.close();
  const findings = o.rounds * o.nodes * o.batches * o.perBatch;
  return {
    findings, store: findings / viaStore.seconds, perRow: findings / perRow.seconds, multiRow: findings / multiRow.seconds,
    statementsPerBatch: storeStatements / (o.rounds * o.nodes * o.batches),
  };
}

// ---------------------------------------------------------------------------------------------
// 2. Queries at scale

export interface QueryFigures {
  readonly findings: number;
  readonly nodes: number;
  readonly fillSeconds: number;
  readonly dbBytes: number;
  /** Whether the summary's totals (rollups) equal the rows counted. */
  readonly rollupsAgree: boolean;
  readonly latencies: ReadonlyArray<{ name: string; p50: number; p99: number; rows: number; targetMs: number | undefined }>;
}

// The generated findings: per node, `checks` check results of which a third fail (as
// bench/query.ts's scans), the rest process findings; every fourth node has five check
// findings resolved, every tenth one process finding suppressed. Ids are the store's
// fingerprints (proto/fingerprint.ts) computed in SQL.
const FILL_NODES = `INSERT INTO nodes (name, agent_version, epoch, os, kernel, arch, kubelet_version, cpus, memory_bytes, uptime_seconds,
    certificates, first_seen, last_seen, benchmark, scored_pass, scored_total, failing_checks)
  SELECT 'node-' || lpad(i::text, 5, '0'), '1.0.0', 'bench', 'Debian GNU/Linux 12 (bookworm)', '6.1.0-27-amd64', 'x64', 'v1.31.2', 8,
    34359738368, 86400, jsonb_build_array(jsonb_build_object('path', '/var/lib/kubelet/pki/kubelet.crt', 'notAfter', $2::text)),
    $3::bigint + i * 10, $3::bigint + i * 10, 'cis-1.12', $4::int * 2 / 3, $4::int, $4::int / 3
  FROM generate_series(0, $1::int - 1) i`;
const CHECK = `'cis-' || (1 + j % 5) || '.' || (1 + (j / 5) % 4) || '.' || j`;
const FILL_RESULTS = `INSERT INTO node_results (node, check_id, subject, status, severity, scored, evaluated_at)
  SELECT 'node-' || lpad(i::text, 5, '0'), ${CHECK}, '--flag-' || j, CASE WHEN (i + j) % 3 = 0 THEN 'fail' ELSE 'pass' END,
    ($4::text[])[1 + (j * 7) % 5], (j % 5 <> 0)::int, $2::bigint + i * 10
  FROM generate_series(0, $1::int - 1) i, generate_series(0, $3::int - 1) j`;
const FILL_FINDINGS = `INSERT INTO findings (id, node, check_id, cis, benchmark_refs, title, category, subject, severity, severity_rank, status,
    state, scored, actual, expected, source, remediation, detail, seen, first_seen, last_seen, count, resolved_at, suppressed_reason,
    suppressed_by, suppressed_at, updated_at, scope)
  SELECT left(encode(sha256(convert_to(node || E'\\n' || check_id || E'\\n' || subject, 'UTF8')), 'hex'), 32), node, check_id, cis, refs, title,
    category, subject, ($5::text[])[1 + rank], rank, 'fail',
    CASE WHEN i % 4 = 0 AND k < 5 THEN 'resolved' WHEN i % 10 = 0 AND k = nchecks THEN 'suppressed' ELSE 'open' END,
    scored, actual, expected, source, remediation, detail, seen, at, at + k, 1 + k % 3,
    CASE WHEN i % 4 = 0 AND k < 5 THEN at + ${DAY} END,
    CASE WHEN i % 10 = 0 AND k = nchecks THEN 'known tool' END, CASE WHEN i % 10 = 0 AND k = nchecks THEN 'bench' END,
    CASE WHEN i % 10 = 0 AND k = nchecks THEN at + k END, at + k, 'node'
  FROM (
    SELECT i, k, n.node, n.at, c.nchecks, x.*
    FROM generate_series(0, $1::int - 1) i
    CROSS JOIN LATERAL (SELECT 'node-' || lpad(i::text, 5, '0') AS node, $2::bigint + i * 10 AS at) n
    CROSS JOIN LATERAL (SELECT $3::int / 3 AS nchecks) c
    CROSS JOIN LATERAL generate_series(0, $4::int - 1) k
    CROSS JOIN LATERAL (SELECT 3 * k + (3 - i % 3) % 3 AS j) jj
    CROSS JOIN LATERAL (
      SELECT ${CHECK} AS check_id, substr(${CHECK}, 5) AS cis, '["cis-1.12:' || substr(${CHECK}, 5) || '"]' AS refs,
        'Check ' || ${CHECK} AS title, ($6::text[])[1 + j % 6] AS category, '--flag-' || j AS subject, (j * 7) % 5 AS rank,
        (j % 5 <> 0)::int AS scored, 'true' AS actual, 'false' AS expected, 'flag' AS source,
        'Set the flag as the benchmark says.' AS remediation, '{}'::jsonb AS detail, 'scan' AS seen
      WHERE k < c.nchecks
      UNION ALL
      SELECT 'proc-unexpected', '', '[]', 'Unexpected process', 'process', '/opt/app-' || ((i * 7 + k) % 997) || '/bin/tool-' || k, 1 + k % 4,
        0, '', '', 'process', '', jsonb_build_object('pid', 1000 + k, 'user', 'root', 'cmdline', '/opt/app/bin/tool-' || k || ' --serve'),
        CASE WHEN k % 2 = 1 THEN 'event' ELSE 'scan' END
      WHERE k >= c.nchecks
    ) x
  ) g
  ORDER BY i, k`;
// The rollups (pg/rollups.ts keeps them so), computed from the rows.
const ROLLUPS = [
  `INSERT INTO node_counts (state, node, total, s0, s1, s2, s3, s4) SELECT state, node, count(*),
    count(*) FILTER (WHERE severity_rank = 0), count(*) FILTER (WHERE severity_rank = 1), count(*) FILTER (WHERE severity_rank = 2),
    count(*) FILTER (WHERE severity_rank = 3), count(*) FILTER (WHERE severity_rank = 4)
  FROM findings GROUP BY state, node`,
  'INSERT INTO finding_totals (state, category, severity_rank, n) SELECT state, category, severity_rank, count(*) FROM findings GROUP BY 1, 2, 3',
  'INSERT INTO check_totals (state, check_id, severity_rank, n) SELECT state, check_id, severity_rank, count(*) FROM findings GROUP BY 1, 2, 3',
  `INSERT INTO check_nodes (state, check_id, node, n) SELECT state, check_id, node, count(*) FROM findings
    WHERE status = 'fail' AND node <> '' GROUP BY 1, 2, 3`,
  `INSERT INTO check_spread (state, check_id, nodes, findings, s0, s1, s2, s3, s4) SELECT state, check_id, count(DISTINCT node), count(*),
    count(*) FILTER (WHERE severity_rank = 0), count(*) FILTER (WHERE severity_rank = 1), count(*) FILTER (WHERE severity_rank = 2),
    count(*) FILTER (WHERE severity_rank = 3), count(*) FILTER (WHERE severity_rank = 4)
  FROM findings WHERE status = 'fail' AND node <> '' GROUP BY 1, 2`,
];

/** Fills the database: the findings table's secondary indexes dropped and built again after the rows (as a bulk load does). */
async function fill(pool: pg.Pool, o: PgBenchOptions['query'], t0: number): Promise<number> {
  const c = await pool.connect();
  try {
    await c.query("SET maintenance_work_mem = '256MB'");
    await c.query('BEGIN');
    const indexes = (await c.query<{ name: string; def: string }>(`SELECT indexname AS name, indexdef AS def FROM pg_indexes
      WHERE tablename = 'findings' AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = 'findings'::regclass)`)).rows;
    for (const ix of indexes) await c.query(`DROP INDEX ${ix.name}`);
    await c.query(FILL_NODES, [o.nodes, new Date(t0 + 200 * DAY).toISOString(), t0, o.checks]);
    await c.query(FILL_RESULTS, [o.nodes, t0, o.checks, SEVERITIES]);
    const n = (await c.query(FILL_FINDINGS, [o.nodes, t0, o.checks, o.findingsPerNode, SEVERITIES, CATEGORIES])).rowCount ?? 0;
    for (const ix of indexes) await c.query(ix.def);
    for (const r of ROLLUPS) await c.query(r);
    await c.query('COMMIT');
    await c.query('ANALYZE');
    return n;
  } finally {
    c.release();
  }
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

async function benchQueriesPg(server: TestPostgres, o: PgBenchOptions['query'], t0: number): Promise<QueryFigures> {
  const pool = await benchPool(server.url(await server.createDatabase()), 4, true);
  const started = process.hrtime.bigint();
  const findings = await fill(pool, o, t0);
  const fillSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  const store = await openPgStore({ pool });
  try {
    const now = t0 + 2 * DAY;
    const staleAfterMs = 365 * DAY;
    // The store's own writes for a small part: one node's scan-like batch through the commit stage.
    await createCommitStage(store, { maxOpenFindingsPerNode: 1_000_000 }).batch(agentBatches(nodeName(1), { batches: 1, perBatch: 50, distinct: 50 }, now)[0]!, now);
    const summaryOf = () => store.summary.summary({ state: 'open', top: 10, now, staleAfterMs });
    const counted = (await sqlOf(pool).one<{ n: number }>("SELECT count(*) AS n FROM findings WHERE state = 'open'"))!.n;
    const rollupsAgree = (await summaryOf()).findings.total === counted;

    let n = 0;
    const someNode = (): string => nodeName((n++ * 7919) % o.nodes);
    const first = await store.findings.list({}, 100);
    const after = first.nextCursor === null ? undefined : store.findings.openCursor(first.nextCursor);
    const time = async (name: string, targetMs: number | undefined, samples: number, read: () => Promise<number>) => {
      for (let i = 0; i < Math.min(5, samples); i++) await read();
      const ms: number[] = [];
      let rows = 0;
      for (let i = 0; i < samples; i++) {
        const s = process.hrtime.bigint();
        rows = await read();
        ms.push(Number(process.hrtime.bigint() - s) / 1e6);
      }
      ms.sort((a, b) => a - b);
      return { name, p50: percentile(ms, 50), p99: percentile(ms, 99), rows, targetMs };
    };
    const page = (f: Parameters<Store['findings']['list']>[0], how?: Parameters<Store['findings']['list']>[2]) => async () => (await store.findings.list(f, 100, how)).items.length;
    const few = Math.max(10, Math.floor(o.samples / 4));
    const latencies = [
      await time('findings: default sort (severity), first page of 100', 50, o.samples, page({})),
      await time('findings: next page via cursor', 50, o.samples, page({}, { after })),
      await time('findings: state=open&minSeverity=high, 100', 50, o.samples, page({ state: 'open', minSeverity: 'high' })),
      await time('findings: node=<one node>, 100', 50, o.samples, () => page({ node: someNode() })()),
      // The search (pg/findings.ts): a term in half the findings walks the order's ranges under a budget; a rare one
      // (800 findings) is looked up in the trigram index and its findings sorted; one in 5,000 walks, and its pages may
      // hold fewer than 100 (the rows column says how many the last page held).
      await time('findings: q=tool-1 (half the findings match), 100', 50, o.samples, page({ q: 'tool-1' })),
      await time('findings: q=app-996/ (a rare term: 800), 100', 50, o.samples, page({ q: 'app-996/' })),
      await time('findings: q=tool-199 (5,000 match), 100', 50, few, page({ q: 'tool-199' })),
      await time('summary (state=open, top 10)', 200, few, async () => (await summaryOf()).byNode.length),
      await time('nodes: first page of 1,000', undefined, few, async () => (await store.nodes.list(now, staleAfterMs, {}, 1000)).items.length),
    ];
    return { findings, nodes: o.nodes, fillSeconds, dbBytes: await store.sizeBytes(), rollupsAgree, latencies };
  } finally {
    await store.close();
  }
}

// ---------------------------------------------------------------------------------------------
// 3. Replicas

export interface ReplicaFigures {
  readonly findings: number;
  /** Rows per second: one store alone, two replicas combined. */
  readonly one: number;
  readonly two: number;
}

/** Replicas (worker threads), each with its nodes, started together; the seconds until the last is done. */
async function runReplicas(url: string, o: PgBenchOptions['replicas'], groups: ReadonlyArray<readonly string[]>, t0: number): Promise<number> {
  const workers = groups.map((nodes) => {
    const input: ReplicaInput = { url, poolSize: o.poolSize, nodes, shape: o, t0 };
    return new Worker(new URL('./pg-replica-worker.js', import.meta.url), { workerData: input });
  });
  const exited = workers.map((w) => new Promise<void>((resolve) => w.once('exit', () => resolve())));
  const next = (w: Worker): Promise<ReplicaMessage> => new Promise((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  });
  const check = (m: ReplicaMessage): ReplicaMessage => {
    if ('error' in m) throw new Error(`replica: ${m.error}`);
    return m;
  };
  try {
    for (const m of await Promise.all(workers.map(next))) check(m);
    const done = workers.map(next);
    const started = process.hrtime.bigint();
    for (const w of workers) w.postMessage('go');
    for (const m of await Promise.all(done)) check(m);
    return Number(process.hrtime.bigint() - started) / 1e9;
  } catch (err) {
    await Promise.all(workers.map((w) => w.terminate()));
    throw err;
  } finally {
    await Promise.all(exited);
  }
}

async function benchReplicasPg(server: TestPostgres, o: PgBenchOptions['replicas'], t0: number): Promise<ReplicaFigures> {
  const findings = o.nodes * o.batches * o.perBatch;
  const db = async (): Promise<string> => {
    const url = server.url(await server.createDatabase());
    await (await benchPool(url, 1, true)).end();
    return url;
  };
  const nodes = Array.from({ length: o.nodes }, (_, i) => `replica-node-${i}`);
  const oneSeconds = await runReplicas(await db(), o, [nodes], t0);
  const twoSeconds = await runReplicas(await db(), o, [nodes.filter((_, i) => i % 2 === 0), nodes.filter((_, i) => i % 2 === 1)], t0);
  return { findings, one: findings / oneSeconds, two: findings / twoSeconds };
}

// ---------------------------------------------------------------------------------------------

export interface PgBenchResult {
  readonly version: string;
  readonly ingest: IngestFigures;
  readonly query: QueryFigures;
  readonly replicas: ReplicaFigures;
  readonly seconds: number;
}

/** Undefined when no PostgreSQL server is installed. */
export async function benchPg(o: PgBenchOptions): Promise<PgBenchResult | undefined> {
  if (postgresBin() === undefined) return undefined;
  const started = process.hrtime.bigint();
  const server = await startPostgres({ settings: { shared_buffers: '256MB', max_wal_size: '2GB' } });
  try {
    const t0 = Date.now() - 30 * DAY;
    const step = (what: string): void => {
      process.stderr.write(`postgresql: ${what} (${(Number(process.hrtime.bigint() - started) / 1e9).toFixed(0)} s)\n`);
    };
    step('ingest');
    const ingest = await benchIngestPg(server, o.ingest, t0);
    step('replicas');
    const replicas = await benchReplicasPg(server, o.replicas, t0);
    step('queries');
    const query = await benchQueriesPg(server, o.query, t0);
    return { version: server.version, ingest, query, replicas, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
  } finally {
    await server.stop();
  }
}

export function formatPgBench(r: PgBenchResult | undefined, o: PgBenchOptions): string {
  if (r === undefined) return 'postgresql: skipped (no server under /usr/lib/postgresql: install the postgresql package)\n\n';
  const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
  const ms = (n: number): string => `${n < 10 ? n.toFixed(2) : n.toFixed(1)} ms`;
  const i = r.ingest;
  const ratio = i.store / i.perRow;
  const q = r.query;
  const width = Math.max(...q.latencies.map((l) => l.name.length));
  return [
    `postgresql ${r.version} (throwaway server, fsync off on both sides of each ratio), ${r.seconds.toFixed(0)} s in all`,
    `  ingest: ${fmt(i.findings)} findings, ${o.ingest.nodes} nodes at once, batches of ${o.ingest.perBatch} (${o.ingest.distinct} distinct a node, the rest updates), `
      + `${o.ingest.rounds} rounds of each path in turn`,
    `    commit stage over openPgStore (lifecycle, history, rollups):     ${fmt(i.store)} rows/s (${i.statementsPerBatch.toFixed(0)} statements a batch)`,
    `    raw upsert, one INSERT ... ON CONFLICT a row, a transaction a batch (baseline): ${fmt(i.perRow)} rows/s`,
    `    raw upsert, one multi-row statement a batch (reference):       ${fmt(i.multiRow)} rows/s`,
    `    ratio store / baseline: ${ratio.toFixed(2)} (target >= 0.50: ${ratio >= 0.5 ? 'met' : 'NOT met'}); store / multi-row: ${(i.store / i.multiRow).toFixed(2)}`,
    `  replicas: ${fmt(r.replicas.findings)} findings over ${o.replicas.nodes} nodes, each store in its own thread with a pool of ${o.replicas.poolSize}`,
    `    one store alone: ${fmt(r.replicas.one)} rows/s; two replicas on one database combined: ${fmt(r.replicas.two)} rows/s; ratio ${(r.replicas.two / r.replicas.one).toFixed(2)}`,
    `  queries: ${fmt(q.findings)} findings across ${fmt(q.nodes)} nodes (${(q.dbBytes / 2 ** 20).toFixed(0)} MiB), filled in SQL in ${q.fillSeconds.toFixed(1)} s; `
      + `rollups ${q.rollupsAgree ? 'agree with the rows' : 'DISAGREE with the rows'}`,
    `    through the Store, one at a time:${' '.repeat(Math.max(1, width - 32))}p50        p99   rows  target`,
    ...q.latencies.map((l) => `    ${l.name.padEnd(width)}  ${ms(l.p50).padStart(9)}  ${ms(l.p99).padStart(9)}  ${String(l.rows).padStart(5)}  ${l.targetMs === undefined
      ? 'none' : `< ${l.targetMs} ms: ${l.p99 < l.targetMs ? 'met' : 'NOT met'}`}`),
    '',
  ].join('\n');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const o = process.argv.includes('--quick') ? PG_BENCH_QUICK : PG_BENCH_FULL;
  benchPg(o).then((r) => process.stdout.write(formatPgBench(r, o)), (err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
