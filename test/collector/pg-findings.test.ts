// The PostgreSQL findings store (collector/store/pg/findings.ts, history.ts, rollups.ts,
// summary.ts, finding-order.ts) against the SQLite one, which is its specification: the same
// sequence of units of work runs on both (new findings, occurrences folded or not into the
// history, escalations, resolutions, reopenings, suppressions, the rarer full updates, the
// latest results and compliance, refusals), each answer compared as it comes; then every read
// (the list under every filter, sort and order, paged to its end with cursors that are the same
// strings on both, the counts, totals, summary, detail) and the purges. The unit on PostgreSQL:
// commit and rollback, an idempotency claim raced from two connections, and units moving the
// same rollup rows at once (no deadlock, exact totals).
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import Database from 'better-sqlite3';
import type pg from 'pg';
import { SEVERITIES, FINDING_STATES, type Severity, type Status } from '../../proto/domain.js';
import { openStore } from '../../collector/store/sqlite.js';
import { openPgStore } from '../../collector/store/pg/store.js';
import { openPostgres } from '../../collector/store/pg/open.js';
import { sqlOf } from '../../collector/store/pg/sql.js';
import { runPgUnit } from '../../collector/store/pg/unit.js';
import { createPgSummaryQueries } from '../../collector/store/pg/summary.js';
import { createPgRollups, STRIPES } from '../../collector/store/pg/rollups.js';
import { createCommitStage } from '../../collector/pipeline/commit.js';
import type { IncomingBatch } from '../../collector/pipeline/types.js';
import {
  FINDING_SORTS, SORT_ORDERS, type FindingFields, type FindingFilter, type FindingWrite, type Store, type StoredFinding, type StoreUnit,
} from '../../collector/store/store.js';
import { eventually } from '../helpers/https.js';
import { testDir } from '../helpers/files.js';
import { connectTo, needsPostgres, postgresForFile } from '../helpers/postgres.js';
import { pgPool } from '../helpers/pg-backends.js';
import { checkProperty, fc, prng } from '../helpers/property.js';

const pgTest = needsPostgres();
const server = postgresForFile();

interface Pair {
  readonly lite: Store;
  readonly pg: Store;
  readonly pool: pg.Pool;
  /** A read-only connection to the SQLite file (rows the boundary does not show). */
  readonly liteDb: Database.Database;
  readonly url: string;
}

const T0 = Date.UTC(2026, 0, 1);

let databases = 0;

/**
 * A new database whose default collation is a language's (ICU en-US), as an operator's often
 * is: it orders 'a' < 'B' < 'ß' ignoring punctuation, and its ILIKE folds É to é. SQLite does
 * neither, so a query that leaves a text order or a case fold to the database's default shows.
 */
async function localeDatabase(): Promise<string> {
  const s = await server();
  const name = `findings_${process.pid}_${++databases}`;
  const c = await connectTo(s.url('postgres'));
  try {
    await c.query(`CREATE DATABASE ${name} TEMPLATE template0 ENCODING 'UTF8' LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C'`);
  } finally {
    await c.end();
  }
  return s.url(name);
}

/** A SQLite store and a PostgreSQL store, empty, their cursors sealed with the same key (as `store copy` carries it). */
async function pair(t: { teardown(fn: () => Promise<void>): void }, historyLimit = 4): Promise<Pair> {
  const dir = await testDir(t, 'pg-findings-');
  const path = join(dir, 'lite.db');
  const lite = openStore({ path, historyLimit });
  const liteDb = new Database(path, { readonly: true });
  const url = await localeDatabase();
  const { pool } = await openPostgres({ url: () => url, sslMode: 'disable', ca: undefined, poolSize: 6, connectTimeoutMs: 10_000 }, () => undefined);
  const key = liteDb.prepare("SELECT value FROM store_secrets WHERE name = 'cursor-seal'").pluck().get() as Buffer;
  await pool.query("UPDATE store_secrets SET value = $1 WHERE name = 'cursor-seal'", [key]);
  const pgStore = await openPgStore({ pool, historyLimit });
  t.teardown(async () => {
    liteDb.close();
    await lite.close();
    await pgStore.close();
  });
  return { lite, pg: pgStore, pool, liteDb, url };
}

// Names chosen to tell byte order from a locale's ('B' < 'a' < 'ß'), with LIKE's wildcards,
// quotes and backslashes in them, and a cluster finding's node ''.
const NODES = ['', 'worker-1', 'worker-2', 'Worker-3', 'ßnode', 'a_b%c'] as const;
const CHECKS = ['1.1.1', '1.1.10', '1.1.2', 'K8S_RBAC', 'k8s_rbac', 'proc.unexpected'] as const;
const CATEGORIES = ['kubelet', 'files', 'rbac', 'process'] as const;
const SUBJECTS = ['', '/etc/kubernetes/kubelet.conf', 'ClusterRole/Admin', '100%_done', "O'Brien \\ path"] as const;
const VALUES = ['Root', 'root:root', '0644', 'ÉCOLE', 'école', '50%', 'a_b', 'back\\slash', '日本語'] as const;

type Action = 'open' | 'seen' | 'escalate' | 'resolve' | 'reopen' | 'suppress' | 'unsuppress' | 'rewrite' | 'recount' | 'recategorize';

interface SaveOp {
  readonly kind: 'save';
  readonly id: string;
  readonly node: string;
  readonly checkId: string;
  readonly subject: string;
  readonly action: Action;
  readonly at: number;
  readonly pick: readonly number[];
}
interface ResultOp {
  readonly kind: 'result';
  readonly node: string;
  readonly checkId: string;
  readonly subject: string;
  readonly status: Status;
  readonly severity: Severity;
  readonly scored: boolean;
  readonly at: number;
}
type Op = SaveOp | ResultOp | { readonly kind: 'compliance'; readonly node: string; readonly benchmark: string } | { readonly kind: 'refused'; readonly node: string; readonly n: number };

const choose = <T>(xs: readonly T[], r: number): T => xs[Math.floor(r * xs.length) % xs.length]!;

function fieldsOf(op: SaveOp, severity: Severity, category: string, status: string): FindingFields {
  const [a = 0, b = 0, c = 0] = op.pick;
  return {
    cis: `cis ${op.checkId}`, references: [`cis-1.12:${op.checkId}`], title: `Ensure ${op.checkId} is SET (${choose(VALUES, a)})`, category,
    severity, status, scored: b < 0.5, actual: choose(VALUES, b), expected: choose(VALUES, c), source: 'file', sourceFile: op.subject,
    reason: 'r', remediation: 'fix it',
    detail: JSON.stringify({ z: a, mode: choose(VALUES, c), nested: { y: [1, 2.5, 'x'], b: null } }), seen: b < 0.2 ? 'event' : 'scan',
  };
}

/** The write an action makes of the finding as stored (`before`), and its history entry. */
function writeOf(op: SaveOp, before: StoredFinding | undefined): { write: FindingWrite; history: { event: 'seen' | 'opened' | 'reopened' | 'escalated' | 'resolved' | 'suppressed' | 'unsuppressed'; note?: string } } {
  const [a = 0, b = 0, c = 0] = op.pick;
  const id = { id: op.id, node: op.node, checkId: op.checkId, subject: op.subject };
  const none = { resolvedAt: null, suppressedReason: null, suppressedUntil: null, suppressedBy: null, suppressedAt: null };
  const sev = choose(SEVERITIES, a);
  if (!before) {
    const category = choose(CATEGORIES, b);
    return {
      write: { ...id, ...none, state: 'open', severity: sev, firstSeen: op.at, lastSeen: op.at, count: 1, fields: fieldsOf(op, sev, category, c < 0.7 ? 'fail' : 'warn') },
      history: { event: 'opened' },
    };
  }
  const kept = {
    state: before.state, severity: before.severity, firstSeen: before.firstSeen, lastSeen: before.lastSeen, count: before.count, resolvedAt: before.resolvedAt,
    suppressedReason: before.suppressedReason, suppressedUntil: before.suppressedUntil, suppressedBy: before.suppressedBy, suppressedAt: before.suppressedAt,
  };
  const again = (severity: Severity, category = before.category, status = before.status) => ({ lastSeen: op.at, count: before.count + 1, fields: fieldsOf(op, severity, category, status) });
  switch (op.action) {
    case 'open':
    case 'seen':
      return { write: { ...id, ...kept, ...again(before.severity, before.category, c < 0.1 ? (before.status === 'fail' ? 'warn' : 'fail') : before.status) }, history: { event: 'seen' } };
    case 'escalate':
      return { write: { ...id, ...kept, severity: sev, ...again(sev) }, history: { event: 'escalated' } };
    case 'recategorize':
      return { write: { ...id, ...kept, ...again(before.severity, choose(CATEGORIES, b)) }, history: { event: 'seen' } };
    case 'resolve':
      return { write: { ...id, ...kept, state: 'resolved', resolvedAt: op.at }, history: { event: 'resolved' } };
    case 'reopen':
      return { write: { ...id, ...kept, state: 'open', resolvedAt: null, ...again(before.severity) }, history: { event: 'reopened' } };
    case 'suppress':
      return {
        write: { ...id, ...kept, state: 'suppressed', suppressedReason: `accepted ${choose(VALUES, b)}`, suppressedUntil: c < 0.3 ? null : op.at + Math.floor(c * 86_400_000), suppressedBy: 'alice', suppressedAt: op.at },
        history: { event: 'suppressed', note: 'accepted' },
      };
    case 'unsuppress':
      return { write: { ...id, ...kept, state: 'open', suppressedReason: null, suppressedUntil: null, suppressedBy: null, suppressedAt: null }, history: { event: 'unsuppressed' } };
    case 'rewrite':
      // Every column (firstSeen moves): the full update.
      return { write: { ...id, ...kept, firstSeen: before.firstSeen - 1000, ...again(before.severity) }, history: { event: 'seen' } };
    case 'recount':
      // No occurrence, yet the count moves: the lifecycle update.
      return { write: { ...id, ...kept, count: before.count + 5, lastSeen: op.at }, history: { event: 'seen' } };
  }
}

/** What one op answered on a store (compared between the two). */
async function apply(u: StoreUnit, op: Op, now: number): Promise<unknown> {
  switch (op.kind) {
    case 'save': {
      const before = await u.findings.byId(op.id);
      const { write, history } = writeOf(op, before);
      const after = await u.findings.save(before, write, now);
      if (history.event === 'seen') await u.findings.history.seen(after.seq, op.at, 1, after.severity, now);
      else await u.findings.history.transition(after.seq, history.event, op.at, after.severity, now, { first: before === undefined, ...(history.note ? { note: history.note } : {}) });
      return { before, after, snapshot: await u.findings.snapshot(op.id), openCount: await u.findings.openCount(op.node) };
    }
    case 'result':
      await u.findings.nodeResult(op.node, op, op.at);
      return undefined;
    case 'compliance':
      await u.findings.compliance(op.node, op.benchmark);
      return undefined;
    case 'refused':
      await u.findings.refused(op.node, op.n);
      return undefined;
  }
}

/** Whether the action applies to a finding in this state (undefined: not stored yet). */
function applies(action: Action, state: string | undefined): boolean {
  if (state === undefined) return action === 'open';
  switch (action) {
    case 'open': case 'seen': case 'escalate': case 'recategorize': case 'rewrite': case 'recount': return state === 'open';
    case 'resolve': case 'suppress': return state === 'open';
    case 'reopen': return state === 'resolved';
    case 'unsuppress': return state === 'suppressed';
  }
}

const ACTIONS: readonly Action[] = ['open', 'open', 'seen', 'seen', 'seen', 'escalate', 'resolve', 'reopen', 'suppress', 'unsuppress', 'rewrite', 'recount', 'recategorize'];

/** The ops of one unit, from the states the findings are in (`states`, updated as the ops are planned). */
function planUnit(rnd: () => number, states: Map<string, string>, clock: { at: number }): Op[] {
  const ops: Op[] = [];
  const n = 1 + Math.floor(rnd() * 6);
  for (let i = 0; i < n; i++) {
    // Up to two hours apart: some occurrences fold into the hour's 'seen' entry, some do not.
    clock.at += Math.floor(rnd() * 2 * 3600_000);
    const node = choose(NODES, rnd());
    const checkId = choose(CHECKS, rnd());
    const subject = choose(SUBJECTS, rnd());
    const id = `${node}|${checkId}|${subject}`;
    const state = states.get(id);
    const action = choose(ACTIONS, rnd());
    if (applies(action, state)) {
      ops.push({ kind: 'save', id, node, checkId, subject, action, at: clock.at, pick: [rnd(), rnd(), rnd()] });
      states.set(id, action === 'resolve' ? 'resolved' : action === 'suppress' ? 'suppressed' : 'open');
    }
    if (node !== '' && rnd() < 0.4) {
      ops.push({ kind: 'result', node, checkId, subject, status: choose(['pass', 'fail', 'warn', 'skip'] as const, rnd()), severity: choose(SEVERITIES, rnd()), scored: rnd() < 0.6, at: clock.at - Math.floor(rnd() * 3 * 3600_000) });
      ops.push({ kind: 'compliance', node, benchmark: rnd() < 0.5 ? 'cis-1.12' : 'cis-eks-1.7' });
    }
    if (node !== '' && rnd() < 0.1) ops.push({ kind: 'refused', node, n: Math.floor(rnd() * 3) });
  }
  return ops;
}

/** Runs the same units on both stores, comparing every answer; returns the last time used. */
async function runBoth(t: ExecutionContext, p: Pair, seed: number, units: number): Promise<number> {
  const rnd = prng(seed);
  const states = new Map<string, string>();
  const clock = { at: T0 };
  for (const name of NODES.filter((x) => x !== '')) {
    const insert = 'INSERT INTO nodes (name, first_seen, last_seen) VALUES ($1, $2, $2)';
    await p.pool.query(insert, [name, T0]);
    const w = new Database(p.liteDb.name);
    w.prepare('INSERT INTO nodes (name, first_seen, last_seen) VALUES (?, ?, ?)').run(name, T0, T0);
    w.close();
  }
  for (let i = 0; i < units; i++) {
    const ops = planUnit(rnd, states, clock);
    const now = clock.at + 1;
    const run = (s: Store) => s.unit(async (u) => {
      const out: unknown[] = [await u.received.claim('worker-1', 'epoch-1', i, now)];
      for (const op of ops) out.push(await apply(u, op, now));
      return out;
    });
    t.deepEqual(await run(p.pg), await run(p.lite), `unit ${i} (seed ${seed})`);
  }
  return clock.at;
}

const bySeq = (xs: StoredFinding[]): StoredFinding[] => [...xs].sort((a, b) => a.seq - b.seq);

/** Every read but the list, on one store. */
async function readsOf(s: Store, now: number, ids: readonly string[]) {
  const out: Record<string, unknown> = {
    countByState: await s.findings.countByState(),
    totals: await s.findings.totals(),
    nextSuppressionExpiry: await s.findings.nextSuppressionExpiry(),
  };
  for (const id of ids) out[`detail ${id}`] = await s.findings.detail(id);
  await s.unit(async (u) => {
    for (const node of NODES) {
      out[`active ${node}`] = bySeq(await u.findings.activeOfNode(node));
      out[`openCount ${node}`] = await u.findings.openCount(node);
    }
    for (const check of CHECKS) {
      out[`check ${check}`] = bySeq(await u.findings.activeOfCheck(check));
      out[`subjects ${check}`] = bySeq(await u.findings.activeBySubjects(check, SUBJECTS.slice(1, 4)));
    }
    out.noSubjects = await u.findings.activeBySubjects(CHECKS[0], []);
    out.cluster = bySeq(await u.findings.activeOfCluster());
    out.due = await u.findings.dueSuppressions(now, 3);
    out.dueAll = await u.findings.dueSuppressions(now + 365 * 86_400_000, 1000);
  });
  return out;
}

/** The rows the boundary does not read back directly: node compliance columns, latest results, rollups. */
async function tablesOf(p: Pair) {
  const nodesSql = 'SELECT name, benchmark, scored_pass, scored_total, failing_checks, findings_refused FROM nodes ORDER BY name';
  const resultsSql = 'SELECT node, check_id, subject, status, severity, scored, evaluated_at FROM node_results ORDER BY node, check_id, subject';
  const rollupSql = [
    'SELECT state, node, total, s0, s1, s2, s3, s4 FROM node_counts ORDER BY state, node',
    // The striped tables summed over their stripes (PostgreSQL writes a stripe per connection; SQLite stripe 0).
    'SELECT state, category, severity_rank, CAST(sum(n) AS BIGINT) AS n FROM finding_totals GROUP BY state, category, severity_rank HAVING sum(n) <> 0 ORDER BY state, category, severity_rank',
    'SELECT state, check_id, node, n FROM check_nodes ORDER BY state, check_id, node',
    `SELECT state, check_id, CAST(sum(nodes) AS BIGINT) AS nodes, CAST(sum(findings) AS BIGINT) AS findings, CAST(sum(s0) AS BIGINT) AS s0, CAST(sum(s1) AS BIGINT) AS s1, CAST(sum(s2) AS BIGINT) AS s2, CAST(sum(s3) AS BIGINT) AS s3, CAST(sum(s4) AS BIGINT) AS s4
      FROM check_spread GROUP BY state, check_id HAVING sum(findings) <> 0 ORDER BY state, check_id`,
    'SELECT state, check_id, severity_rank, CAST(sum(n) AS BIGINT) AS n FROM check_totals GROUP BY state, check_id, severity_rank HAVING sum(n) <> 0 ORDER BY state, check_id, severity_rank',
  ];
  const historySql = 'SELECT finding_seq, event, at, last_at, occurrences, severity, note, recorded_at FROM finding_history ORDER BY finding_seq, seq';
  const lite = [nodesSql, resultsSql, historySql, ...rollupSql].map((q) => p.liteDb.prepare(q).all());
  // Text in byte order on PostgreSQL too (SQLite's BINARY).
  const TEXT = new Set(['name', 'node', 'check_id', 'subject', 'state', 'category']);
  const collate = (q: string) => q.replace(/ORDER BY (.*)$/, (_m, cols: string) => `ORDER BY ${cols.split(', ').map((c) => (TEXT.has(c) ? `${c} COLLATE "C"` : c)).join(', ')}`);
  const pgRows = [];
  for (const q of [nodesSql, resultsSql, historySql, ...rollupSql]) pgRows.push((await p.pool.query(collate(q))).rows);
  return { lite, pg: pgRows };
}

/** The rollup tables as tablesOf reads them, counted the slow way from PostgreSQL's findings. */
async function recount(pool: pg.Pool): Promise<unknown[]> {
  const sev = [0, 1, 2, 3, 4].map((r) => `count(*) FILTER (WHERE severity_rank = ${r}) AS s${r}`).join(', ');
  const failing = "status = 'fail' AND node <> ''";
  const queries = [
    `SELECT state, node, count(*) AS total, ${sev} FROM findings GROUP BY state, node ORDER BY state COLLATE "C", node COLLATE "C"`,
    'SELECT state, category, severity_rank, count(*) AS n FROM findings GROUP BY state, category, severity_rank ORDER BY state COLLATE "C", category COLLATE "C", severity_rank',
    `SELECT state, check_id, node, count(*) AS n FROM findings WHERE ${failing} GROUP BY state, check_id, node ORDER BY state COLLATE "C", check_id COLLATE "C", node COLLATE "C"`,
    `SELECT state, check_id, count(DISTINCT node) AS nodes, count(*) AS findings, ${sev} FROM findings WHERE ${failing} GROUP BY state, check_id ORDER BY state COLLATE "C", check_id COLLATE "C"`,
    'SELECT state, check_id, severity_rank, count(*) AS n FROM findings GROUP BY state, check_id, severity_rank ORDER BY state COLLATE "C", check_id COLLATE "C", severity_rank',
  ];
  const out = [];
  for (const q of queries) out.push((await pool.query(q)).rows);
  return out;
}

/** Every page of the list in the order, with its cursor. */
async function walk(s: Store, filter: FindingFilter, sort: (typeof FINDING_SORTS)[number], order: (typeof SORT_ORDERS)[number], limit: number) {
  const pages: Array<{ ids: string[]; next: string | null }> = [];
  let page = await s.findings.list(filter, limit, { sort, order });
  for (let i = 0; i < 500; i++) {
    pages.push({ ids: page.items.map((f) => f.id), next: page.nextCursor });
    if (page.nextCursor === null) break;
    const after = s.findings.openCursor(page.nextCursor);
    // finding-order.ts refuses a position whose node is '' (a cluster finding ending a page
    // in sort=node): on both backends alike, so the walk records it and stops.
    if (after === undefined) {
      pages.push({ ids: [], next: 'does not open' });
      break;
    }
    page = await s.findings.list(filter, limit, { after });
  }
  return pages;
}

const FILTERS: FindingFilter[] = [
  {}, { scope: 'node' }, { scope: 'cluster' }, { scope: 'cluster', node: 'worker-1' }, { scope: 'cluster', state: 'open' },
  ...NODES.map((node) => ({ node })), { node: 'nobody' }, { node: 'WORKER-1' },
  ...CHECKS.map((check) => ({ check })), ...CATEGORIES.map((category) => ({ category })),
  ...SEVERITIES.map((severity) => ({ severity })), { minSeverity: 'medium' }, { minSeverity: 'critical', severity: 'low' },
  ...FINDING_STATES.map((state) => ({ state })), { since: T0 + 40 * 3600_000 },
  { q: 'root' }, { q: 'ROOT' }, { q: '%' }, { q: '_' }, { q: '\\' }, { q: "'" }, { q: 'école' }, { q: 'É' }, { q: 'set (' }, { q: '1.1.1' }, { q: 'k8s_' },
  { node: 'worker-1', state: 'open', minSeverity: 'low' }, { check: '1.1.1', severity: 'high' }, { category: 'files', q: 'o' },
  { scope: 'node', node: 'worker-2', check: 'K8S_RBAC' }, { node: 'a_b%c', since: T0 + 3600_000, state: 'resolved' },
];

pgTest('findings writes, history, rollups and every read answer on PostgreSQL as on SQLite', async (t) => {
  const p = await pair(t);
  const last = await runBoth(t, p, 7, 120);
  const now = last + 1;
  const ids = [...new Set(NODES.flatMap((n) => CHECKS.flatMap((c) => SUBJECTS.map((s) => `${n}|${c}|${s}`))))];
  t.deepEqual(await readsOf(p.pg, now, ids), await readsOf(p.lite, now, ids));
  const tables = await tablesOf(p);
  t.deepEqual(tables.pg, tables.lite, 'nodes, node_results, history and rollup rows');
  t.true((tables.lite[2]!.length) > 0 && tables.lite[3]!.length > 0, 'the run wrote history and rollups');

  for (const state of FINDING_STATES) {
    for (const top of [2, 100]) {
      const opts = { state, top, now, staleAfterMs: 3600_000 };
      // The node counts come from the NodeStore (the SQLite one's rows are the same nodes): the
      // findings' part of the summary is what this file compares.
      const pgSummary = await createPgSummaryQueries(sqlOf(p.pool), p.lite.nodes).summary(opts);
      t.deepEqual(pgSummary, await p.lite.summary.summary(opts), `summary ${state} top ${top}`);
    }
  }

  let pages = 0;
  let longest = 0;
  for (const filter of FILTERS) {
    for (const sort of FINDING_SORTS) {
      for (const order of SORT_ORDERS) {
        const lite = await walk(p.lite, filter, sort, order, 4);
        const onPg = await walk(p.pg, filter, sort, order, 4);
        t.deepEqual(onPg, lite, `list ${JSON.stringify(filter)} ${sort} ${order}`);
        const all = lite.flatMap((x) => x.ids);
        t.is(new Set(all).size, all.length, 'no finding twice in a walk');
        pages += lite.length;
        longest = Math.max(longest, lite.length);
      }
    }
  }
  t.true(longest >= 5, `walks of several pages (${pages} pages, the longest ${longest})`);
  const full = await p.lite.findings.list({}, 1000);
  t.true(full.items.length > 30, `${full.items.length} findings`);
  t.deepEqual([...new Set(full.items.map((f) => f.state))].sort(), [...FINDING_STATES].sort(), 'every state reached');

  t.deepEqual(tables.pg.slice(3), await recount(p.pool), 'the rollups count the findings');

  // Purges: the same rows go, and the rollups follow them. (SQLite's do not, as of this
  // branch: its purgeResolved moves the rollups in a transaction that never flushes them, so
  // its counts still hold the purged findings; the rollups are compared with a recount.)
  let purgedAll = 0;
  for (const cut of [T0 + Math.floor((now - T0) / 2), now + 1]) {
    t.is(await p.pg.findings.purgeHistory(cut - 10 * 3600_000), await p.lite.findings.purgeHistory(cut - 10 * 3600_000));
    const purged = await p.lite.findings.purgeResolved(cut);
    t.is(await p.pg.findings.purgeResolved(cut), purged);
    purgedAll += purged;
    const { countByState: _c, totals: _t, ...onPg } = await readsOf(p.pg, now, ids);
    const { countByState: _c2, totals: _t2, ...onLite } = await readsOf(p.lite, now, ids);
    t.deepEqual(onPg, onLite, `after purging before ${cut}`);
    const after = await tablesOf(p);
    t.deepEqual(after.pg.slice(0, 3), after.lite.slice(0, 3), `nodes, results, history after purging before ${cut}`);
    t.deepEqual(after.pg.slice(3), await recount(p.pool), `the rollups after purging before ${cut}`);
    t.deepEqual(await walk(p.pg, {}, 'severity', 'desc', 7), await walk(p.lite, {}, 'severity', 'desc', 7));
  }
  t.true(purgedAll > 0, `${purgedAll} resolved findings purged`);
  const states = (await p.pool.query<{ state: string; n: number }>('SELECT state, count(*) AS n FROM findings GROUP BY state')).rows;
  t.deepEqual(await p.pg.findings.countByState(), { open: 0, resolved: 0, suppressed: 0, ...Object.fromEntries(states.map((r) => [r.state, r.n])) });
});

pgTest('a cursor issued by one backend opens on the other; a cursor sealed with another key opens on neither', async (t) => {
  const p = await pair(t);
  await runBoth(t, p, 11, 40);
  for (const sort of FINDING_SORTS) {
    const first = await p.lite.findings.list({}, 3, { sort });
    t.truthy(first.nextCursor);
    const onPg = p.pg.findings.openCursor(first.nextCursor!);
    t.deepEqual(onPg, p.lite.findings.openCursor(first.nextCursor!));
    t.deepEqual(await p.pg.findings.list({}, 3, { after: onPg! }), await p.lite.findings.list({}, 3, { after: onPg! }));
  }
  const other = await pair(t);
  await p.pool.query("UPDATE store_secrets SET value = $1 WHERE name = 'cursor-seal'", [Buffer.alloc(32, 7)]);
  const reopened = await openPgStore({ pool: p.pool });
  const cursor = (await reopened.findings.list({}, 3)).nextCursor!;
  t.is(p.lite.findings.openCursor(cursor), undefined);
  t.is(other.pg.findings.openCursor(cursor), undefined);
  t.truthy(reopened.findings.openCursor(cursor));
});

pgTest('the list past the sort cap walks the order\'s ranges on PostgreSQL as on SQLite (node, check and category filters)', async (t) => {
  const p = await pair(t);
  // More matches of one node than the planner sorts (finding-order.ts sortCap: 1000 at least).
  const write = (i: number): FindingWrite => ({
    id: `big-${i}`, node: i % 5 === 0 ? 'small' : 'big', checkId: `c${i % 2}`, subject: `s${i}`, state: 'open', severity: choose(SEVERITIES, (i % 10) / 10),
    firstSeen: T0 + (i % 97) * 1000, lastSeen: T0 + (i % 89) * 1000, count: 1, resolvedAt: null, suppressedReason: null, suppressedUntil: null, suppressedBy: null, suppressedAt: null,
    fields: fieldsOf({ kind: 'save', id: '', node: '', checkId: `c${i % 2}`, subject: `s${i}`, action: 'open', at: 0, pick: [0.1, 0.6, 0.2] }, choose(SEVERITIES, (i % 10) / 10), i % 3 === 0 ? 'files' : 'kubelet', 'fail'),
  });
  for (const s of [p.lite, p.pg]) {
    await s.unit(async (u) => {
      for (let i = 0; i < 2200; i++) await u.findings.save(undefined, write(i), T0);
    });
  }
  for (const filter of [{ node: 'big' }, { check: 'c1' }, { category: 'kubelet' }, { node: 'small', minSeverity: 'high' as Severity }]) {
    for (const sort of ['lastSeen', 'severity', 'node', 'check'] as const) {
      const lite = await walk(p.lite, filter, sort, 'desc', 150);
      t.deepEqual(await walk(p.pg, filter, sort, 'desc', 150), lite, `${JSON.stringify(filter)} ${sort}`);
    }
  }
});

pgTest('q: any text, wildcards and quotes included, finds on PostgreSQL what it finds on SQLite (ASCII case ignored, nothing else)', async (t) => {
  const p = await pair(t);
  await runBoth(t, p, 5, 60);
  const hostile = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 12 }),
    fc.string({ unit: fc.constantFrom('%', '_', '\\', "'", '"', 'R', 'o', 'É', 'é', 'ß', ' ', '.', '1', '日'), maxLength: 6 }),
    fc.constantFrom(...VALUES, ...VALUES.map((v) => v.toUpperCase()), ...VALUES.map((v) => v.slice(1, 3))),
  ).filter((q) => !q.includes('\u0000'));
  await checkProperty(t, fc.asyncProperty(hostile, fc.constantFrom(...FINDING_SORTS), async (q, sort) => {
    const lite = await p.lite.findings.list({ q }, 1000, { sort });
    const onPg = await p.pg.findings.list({ q }, 1000, { sort });
    return JSON.stringify(onPg.items.map((f) => f.id)) === JSON.stringify(lite.items.map((f) => f.id));
  }), 150);
  // PostgreSQL text holds no NUL: a filter with one matches nothing, and is no error.
  t.deepEqual(await p.pg.findings.list({ q: 'root\u0000' }, 10), { items: [], nextCursor: null });
  t.deepEqual(await p.pg.findings.list({ node: 'worker-1\u0000' }, 10), { items: [], nextCursor: null });
});

pgTest('a unit commits whole or not at all: a failing unit writes nothing, its claim and rollups included', async (t) => {
  const p = await pair(t);
  const w = (id: string): FindingWrite => ({
    id, node: 'worker-1', checkId: '1.1.1', subject: id, state: 'open', severity: 'high', firstSeen: T0, lastSeen: T0, count: 1,
    resolvedAt: null, suppressedReason: null, suppressedUntil: null, suppressedBy: null, suppressedAt: null,
    fields: fieldsOf({ kind: 'save', id, node: 'worker-1', checkId: '1.1.1', subject: id, action: 'open', at: T0, pick: [0, 0, 0] }, 'high', 'files', 'fail'),
  });
  const failed = await t.throwsAsync(p.pg.unit(async (u) => {
    t.true(await u.received.claim('worker-1', 'e', 1, T0));
    const f = await u.findings.save(undefined, w('gone'), T0);
    await u.findings.history.transition(f.seq, 'opened', T0, 'high', T0, { first: true });
    throw new Error('the work failed');
  }));
  t.is(failed?.message, 'the work failed');
  t.is(await p.pg.findings.get('gone'), undefined);
  t.deepEqual(await p.pg.findings.countByState(), { open: 0, resolved: 0, suppressed: 0 });
  t.deepEqual(await p.pg.findings.totals(), []);
  t.is(Number((await p.pool.query('SELECT count(*) AS n FROM finding_history')).rows[0].n), 0);
  t.true(await p.pg.unit((u) => u.received.claim('worker-1', 'e', 1, T0)), 'the failed unit\'s claim was undone');
  t.false(await p.pg.unit((u) => u.received.claim('worker-1', 'e', 1, T0)), 'a committed claim holds');
  const kept = await p.pg.unit(async (u) => (await u.findings.save(undefined, w('kept'), T0)).seq);
  t.is((await p.pg.findings.get('kept'))?.id, 'kept');
  t.deepEqual(await p.pg.findings.countByState(), { open: 1, resolved: 0, suppressed: 0 });
  t.true(kept > 0);
  t.is(await p.pg.pruneReceived(T0 + 1), 1);
  t.true(await p.pg.sizeBytes() > 1_000_000);
  await p.pg.optimize();
});

pgTest('the unit runner: flushed before COMMIT, told committed after it; on a failure rolled back, told so, nothing written', async (t) => {
  const p = await pair(t);
  const events: string[] = [];
  const parts = (sql: ReturnType<typeof sqlOf>) => ({
    unit: sql,
    beforeCommit: async () => {
      events.push('beforeCommit');
      await sql.run("INSERT INTO received (node, epoch, sequence, received_at) VALUES ('n', 'flushed', 1, 1)");
    },
    committed: () => events.push('committed'),
    rolledBack: () => events.push('rolledBack'),
  });
  const count = async (epoch: string) => Number((await p.pool.query('SELECT count(*) AS n FROM received WHERE epoch = $1', [epoch])).rows[0].n);
  t.is(await runPgUnit(p.pool, parts, async (sql) => sql.run("INSERT INTO received (node, epoch, sequence, received_at) VALUES ('n', 'ok', 1, 1)")), 1);
  t.deepEqual(events.splice(0), ['beforeCommit', 'committed']);
  t.is(await count('ok'), 1);
  t.is(await count('flushed'), 1);
  await t.throwsAsync(runPgUnit(p.pool, parts, async (sql) => {
    await sql.run("INSERT INTO received (node, epoch, sequence, received_at) VALUES ('n', 'bad', 1, 1)");
    throw new Error('no');
  }), { message: 'no' });
  t.deepEqual(events.splice(0), ['rolledBack']);
  t.is(await count('bad'), 0);
  // The flush fails (the same key again): the whole unit goes.
  await t.throwsAsync(runPgUnit(p.pool, parts, async (sql) => sql.run("INSERT INTO received (node, epoch, sequence, received_at) VALUES ('n', 'late', 1, 1)")), { code: '23505' });
  t.deepEqual(events.splice(0), ['beforeCommit', 'rolledBack']);
  t.is(await count('late'), 0);
  t.is(p.pool.totalCount - p.pool.idleCount, 0, 'every client went back to the pool');
});

/** Waits until some session waits on a lock (another unit's uncommitted row). */
const someoneWaits = (pool: pg.Pool) => eventually('a session waiting on a lock', async () =>
  (Number((await pool.query("SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()")).rows[0].n) > 0 ? true : undefined), 10_000, 20);

pgTest('two units claiming one message on two connections: the second waits for the first, then exactly one claimed it', async (t) => {
  const p = await pair(t);
  for (const firstCommits of [true, false]) {
    let release!: () => void;
    const hold = new Promise<void>((r) => { release = r; });
    let claimed!: () => void;
    const didClaim = new Promise<void>((r) => { claimed = r; });
    const seq = firstCommits ? 1 : 2;
    const first = p.pg.unit(async (u) => {
      const got = await u.received.claim('worker-1', 'e', seq, T0);
      claimed();
      await hold;
      if (!firstCommits) throw new Error('rolled back');
      return got;
    }).catch(() => 'rolled back');
    // The first has claimed (its row written, not committed) before the second starts.
    await didClaim;
    const second = p.pg.unit((u) => u.received.claim('worker-1', 'e', seq, T0));
    await someoneWaits(p.pool);
    release();
    const outcome = [await first, await second];
    t.deepEqual(outcome, firstCommits ? [true, false] : ['rolled back', true]);
  }
});

pgTest('units moving the same rollup rows at once, in opposite orders, neither deadlock nor lose a count', async (t) => {
  const p = await pair(t);
  const nodes = ['n1', 'n2', 'n3', 'n4'];
  // As many units as the pool has clients (6), all holding one at the barrier.
  const units = 6;
  let arrived = 0;
  let open!: () => void;
  const barrier = new Promise<void>((r) => { open = r; });
  const w = (u: number, i: number, node: string): FindingWrite => ({
    id: `u${u}-${i}`, node, checkId: `c${i % 3}`, subject: `s${i}`, state: 'open', severity: choose(SEVERITIES, i / 6), firstSeen: T0, lastSeen: T0, count: 1,
    resolvedAt: null, suppressedReason: null, suppressedUntil: null, suppressedBy: null, suppressedAt: null,
    fields: fieldsOf({ kind: 'save', id: '', node, checkId: `c${i % 3}`, subject: `s${i}`, action: 'open', at: T0, pick: [0, 0, 0] }, choose(SEVERITIES, i / 6), i % 2 === 0 ? 'files' : 'kubelet', 'fail'),
  });
  const work = (s: Store, u: number, meet: boolean) => s.unit(async (x) => {
    // Each unit meets the rows in its own order (half of them backwards), then all flush together.
    const order = u % 2 === 0 ? nodes : [...nodes].reverse();
    for (const [i, node] of order.entries()) {
      for (let k = 0; k < 3; k++) await x.findings.save(undefined, w(u, i * 3 + k, node), T0);
    }
    if (meet && ++arrived === units) open();
    if (meet) await barrier;
  });
  const started = Date.now();
  const outcomes = await Promise.allSettled(Array.from({ length: units }, (_, u) => work(p.pg, u, true)));
  t.deepEqual(outcomes.map((o) => o.status), Array(units).fill('fulfilled'), outcomes.flatMap((o) => (o.status === 'rejected' ? [(o.reason as Error).message] : [])).join('; '));
  t.log(`${units} units flushing the same rollup rows at once: ${Date.now() - started} ms`);
  for (let u = 0; u < units; u++) await work(p.lite, u, false);
  const tables = await tablesOf(p);
  t.deepEqual(tables.pg.slice(3), tables.lite.slice(3), 'the rollups are exact');
  t.deepEqual(tables.pg.slice(3), await recount(p.pool), 'the rollups count the findings');
  t.deepEqual(await p.pg.findings.countByState(), { open: units * 12, resolved: 0, suppressed: 0 });
  const summary = { state: 'open' as const, top: 10, now: T0, staleAfterMs: 1 };
  t.deepEqual(await createPgSummaryQueries(sqlOf(p.pool), p.lite.nodes).summary(summary), await p.lite.summary.summary(summary));
});

pgTest('a batch of new findings through the commit stage: seqs taken at once, the rows written in one statement (a dozen statements, not one a finding), the same findings, history and rollups as SQLite writes one by one', async (t) => {
  const p = await pair(t);
  // Statements sent by the clients units check out.
  let statements = 0;
  const patched = new WeakSet<object>();
  p.pool.on('acquire', (client) => {
    if (patched.has(client)) return;
    patched.add(client);
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as { query: unknown }).query = (...args: unknown[]) => {
      statements++;
      return query(...args);
    };
  });
  const batch = (sequence: number, subjects: readonly string[]): IncomingBatch => ({
    node: 'worker-1', epoch: 'e', sequence,
    findings: subjects.map((subject, i) => ({
      checkId: 'proc-unexpected', subject, title: 'Unexpected process', category: 'process' as const, severity: (['high', 'critical'] as const)[i % 2]!,
      status: 'fail' as const, observedAt: T0 + sequence, occurrences: 1, seen: 'scan', remediation: '', detail: `{"pid":${1000 + i},"cmd":"a \\"quoted\\" \u00e9"}`,
    })),
  });
  const first = Array.from({ length: 60 }, (_, i) => `/opt/app/bin/tool-${i}`);
  // The second batch: 30 seen again, 30 new, one of them twice.
  const second = [...first.slice(0, 30), ...Array.from({ length: 30 }, (_, i) => `/opt/other/${i}`), '/opt/other/0'];
  const pgStage = createCommitStage(p.pg, { maxOpenFindingsPerNode: 1000 });
  const liteStage = createCommitStage(p.lite, { maxOpenFindingsPerNode: 1000 });
  await pgStage.batch(batch(1, first), T0 + 1);
  t.true(statements < 25, `60 new findings in ${statements} statements`);
  await pgStage.batch(batch(2, second), T0 + 2);
  for (const [i, b] of [batch(1, first), batch(2, second)].entries()) await liteStage.batch(b, T0 + 1 + i);

  const all = async (s: Store) => (await s.findings.list({}, 500, { sort: 'firstSeen', order: 'asc' })).items;
  const [pgAll, liteAll] = [await all(p.pg), await all(p.lite)];
  t.is(pgAll.length, 90);
  t.deepEqual(pgAll, liteAll, 'the same findings, in the same order');
  for (const id of [pgAll[0]!.id, pgAll[45]!.id, pgAll[89]!.id]) t.deepEqual(await p.pg.findings.detail(id), await p.lite.findings.detail(id), 'and history');
  const tables = await tablesOf(p);
  t.deepEqual(tables.pg.slice(3), tables.lite.slice(3), 'the rollups');
  t.deepEqual(tables.pg.slice(3), await recount(p.pool), 'which count the findings');
});

pgTest('striped rollups: a unit flushing the cluster-wide rows another has flushed and not committed goes on, unless their connections share a stripe', async (t) => {
  const p = await pair(t);
  // Clients by their stripe (the backend pid modulo STRIPES): two that differ, and a third sharing the first's. Clients
  // of a pool as the store makes them (bigint read as a number); those not wanted stay checked out so that the next is new.
  const { pool } = await pgPool(t, p.url, 60, false);
  const held: pg.PoolClient[] = [];
  const chosen: Array<{ c: pg.PoolClient; stripe: number }> = [];
  t.teardown(() => held.forEach((c) => c.release()));
  const open = async (want: (stripe: number) => boolean) => {
    // New backends' pids mostly count up, so the stripes come round within STRIPES connections.
    for (;;) {
      if (held.length >= 60) throw new Error(`no connection of the stripe wanted in ${held.length}`);
      const c = await pool.connect();
      held.push(c);
      const stripe = Number((await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid) % STRIPES;
      if (want(stripe)) {
        chosen.push({ c, stripe });
        return c;
      }
    }
  };
  const a = await open(() => true);
  const b = await open((x) => x !== chosen[0]!.stripe);
  const same = await open((x) => x === chosen[0]!.stripe);
  // A finding each, of one category and check, on nodes of their own: the rows they share are the cluster-wide ones.
  const flush = async (c: pg.PoolClient, node: string) => {
    const r = createPgRollups();
    r.move(undefined, { state: 'open', node, checkId: 'proc-unexpected', category: 'process', severityRank: 3, status: 'fail' });
    await r.flush(sqlOf(c));
  };
  await a.query('BEGIN');
  await flush(a, 'n1');
  await b.query('BEGIN');
  await b.query("SET LOCAL lock_timeout = '3s'");
  await t.notThrowsAsync(flush(b, 'n2'), 'another stripe does not wait for the uncommitted one (lock_timeout)');
  await b.query('COMMIT');
  await same.query('BEGIN');
  await same.query("SET LOCAL lock_timeout = '300ms'");
  const err = await t.throwsAsync(flush(same, 'n3'));
  t.is((err as Error & { code?: string }).code, '55P03', 'the same stripe waits (lock_timeout)');
  await same.query('ROLLBACK');
  await a.query('COMMIT');
  // The counts are the sums of the stripes, as every reader reads them.
  const summary = await createPgSummaryQueries(sqlOf(p.pool), p.lite.nodes).summary({ state: 'open', top: 10, now: T0, staleAfterMs: 1 });
  t.is(summary.findings.total, 2);
  t.like(summary.topChecks[0], { checkId: 'proc-unexpected', nodes: 2, findings: 2 });
  t.is((await p.pool.query("SELECT count(*)::int AS n FROM finding_totals WHERE category = 'process'")).rows[0].n, 2, 'two stripes, one row each');
});

pgTest('two units writing the same finding at once: the second reads it after the first commits, and the rollups stay exact', async (t) => {
  const p = await pair(t);
  const op = (action: Action): SaveOp => ({ kind: 'save', id: 'f', node: 'worker-1', checkId: '1.1.1', subject: 's', action, at: T0 + 1000, pick: [0.9, 0.1, 0.1] });
  await p.pg.unit(async (u) => apply(u, op('open'), T0));
  let release!: () => void;
  const hold = new Promise<void>((r) => { release = r; });
  let wrote!: () => void;
  const didWrite = new Promise<void>((r) => { wrote = r; });
  const first = p.pg.unit(async (u) => {
    await apply(u, op('resolve'), T0);
    wrote();
    await hold;
  });
  await didWrite;
  const second = p.pg.unit(async (u) => {
    const before = await u.findings.byId('f');
    // Reopened from what the first committed (a stale read would reopen an open finding).
    if (before?.state === 'resolved') await apply(u, op('reopen'), T0);
    return before?.state;
  });
  await someoneWaits(p.pool);
  release();
  await first;
  t.is(await second, 'resolved');
  t.like(await p.pg.findings.get('f'), { state: 'open', count: 2 });
  t.deepEqual((await tablesOf(p)).pg.slice(3), await recount(p.pool));
  t.deepEqual(await p.pg.findings.countByState(), { open: 1, resolved: 0, suppressed: 0 });
});

pgTest('close lets a running unit finish and commit, then ends the pool; a second close is no error', async (t) => {
  const s = await server();
  const url = s.url(await s.createDatabase());
  const { pool } = await openPostgres({ url: () => url, sslMode: 'disable', ca: undefined, poolSize: 2, connectTimeoutMs: 10_000 }, () => undefined);
  const store = await openPgStore({ pool });
  let release!: () => void;
  const hold = new Promise<void>((r) => { release = r; });
  let started!: () => void;
  const didStart = new Promise<void>((r) => { started = r; });
  const running = store.unit(async (u) => {
    const got = await u.received.claim('worker-1', 'e', 1, T0);
    started();
    await hold;
    return got;
  });
  await didStart;
  let closed = false;
  const closing = store.close().then(() => { closed = true; });
  await new Promise((r) => setTimeout(r, 50));
  t.false(closed, 'close waits for the running unit');
  release();
  t.true(await running);
  await closing;
  t.true(pool.ended);
  await t.notThrowsAsync(store.close());
  const check = await connectTo(url);
  t.is(Number((await check.query('SELECT count(*) AS n FROM received')).rows[0].n), 1, 'the unit committed');
  await check.end();
});
