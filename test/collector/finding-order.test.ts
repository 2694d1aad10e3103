// The orders of the findings list (collector/store/finding-order.ts), checked against a
// brute-force sort of the same rows in JS: for every sort and order and random filters, a walk
// page by page with the cursor until the end yields exactly the matching rows in the brute
// force's order (ties included: few nodes, checks and times), none missing or repeated, on
// SQLite and on PostgreSQL (test/helpers/stores.ts). SQLite's list decides per page between
// its two plans (the order's index, or a filter's index and a sort); the same walks run with
// each plan forced, so both are checked whatever the data. And EXPLAIN QUERY PLAN shows that
// no order of SQLite's sorts or scans the table.
import test from 'ava';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { openStore } from '../../collector/store/sqlite.js';
import {
  FINDING_SORTS, SORT_ORDERS, type FindingFilter, type FindingPosition, type FindingSort, type SortOrder, type Store, type StoredFinding,
} from '../../collector/store/store.js';
import { MIGRATIONS } from '../../collector/store/migrations/index.js';
import { createRollupCounts } from '../../collector/store/rollups.js';
import { ORDERS, pageQuery, positionOf, type FilterKind, type Measure } from '../../collector/store/finding-order.js';
import type { FindingRowRaw } from '../../collector/store/finding-row.js';
import { fingerprint } from '../../proto/fingerprint.js';
import { FINDING_STATES, SEVERITIES, severityRank, type FindingState, type Severity } from '../../proto/domain.js';
import { checkProperty, fc } from '../helpers/property.js';
import { testDir } from '../helpers/files.js';
import { storeTest } from '../helpers/stores.js';
import { bruteForce, CATEGORIES, CHECKS, fill, NODES, rowsOf, type Row } from '../helpers/finding-rows.js';

/** Pages of at most `limit` rows until the end; a page before the last is full. */
function walk(limit: number, page: (after: FindingPosition | undefined) => { ids: string[]; next: FindingPosition | undefined }): string[] {
  const out: string[] = [];
  let after: FindingPosition | undefined;
  for (let n = 0; ; n++) {
    if (n > 10_000) throw new Error('the walk does not end');
    const p = page(after);
    if (p.ids.length > limit || (p.next !== undefined && p.ids.length !== limit)) throw new Error(`a page of ${p.ids.length} rows (limit ${limit}, more: ${p.next !== undefined})`);
    out.push(...p.ids);
    if (p.next === undefined) return out;
    after = p.next;
  }
}

/** The same walk over pages that come asynchronously. */
async function walkAsync(limit: number, page: (after: FindingPosition | undefined) => Promise<{ ids: string[]; next: FindingPosition | undefined }>): Promise<string[]> {
  const out: string[] = [];
  let after: FindingPosition | undefined;
  for (let n = 0; ; n++) {
    if (n > 10_000) throw new Error('the walk does not end');
    const p = await page(after);
    if (p.ids.length > limit || (p.next !== undefined && p.ids.length !== limit)) throw new Error(`a page of ${p.ids.length} rows (limit ${limit}, more: ${p.next !== undefined})`);
    out.push(...p.ids);
    if (p.next === undefined) return out;
    after = p.next;
  }
}

/** A walk through the store's list and its sealed cursors. */
function walkStore(store: Store, f: FindingFilter, limit: number, sort: FindingSort, order: SortOrder): Promise<string[]> {
  return walkAsync(limit, async (after) => {
    const p = await store.findings.list(f, limit, { sort, order, after });
    const next = p.nextCursor === null ? undefined : store.findings.openCursor(p.nextCursor);
    if (p.nextCursor !== null && (next === undefined || next.sort !== sort || next.order !== order)) throw new Error(`the store does not open its own cursor ${p.nextCursor}`);
    return { ids: p.items.map((x) => x.id), next };
  });
}

/** The position of a row in an order, as a cursor would carry it. */
function positionAt(r: Row, sort: FindingSort, order: SortOrder): FindingPosition {
  const values: Record<string, number | string> = {
    severity_rank: severityRank(r.severity), first_seen: r.firstSeen, last_seen: r.lastSeen, node: r.node, check_id: r.checkId, seq: r.seq,
  };
  return { sort, order, key: ORDERS[sort].key.map((p) => values[p.column]!) };
}

/** Measures that force a plan: the filter's matches are none (sort them) or endless (walk the order's index). */
const FORCE: Record<'sorted' | 'merged', Measure> = {
  sorted: { total: () => 1_000_000, matches: () => () => 0 },
  merged: { total: () => 1_000_000, matches: () => () => Number.MAX_SAFE_INTEGER },
};

/** A walk with the list's SQL run directly, its plan forced. */
function walkForced(db: Database.Database, plan: 'sorted' | 'merged', f: FindingFilter, limit: number, sort: FindingSort, order: SortOrder): string[] {
  return walk(limit, (after) => {
    const q = pageQuery(f, limit, { sort, order, after }, FORCE[plan]);
    const rows = q.sql === undefined ? [] : db.prepare<Record<string, unknown>, FindingRowRaw>(q.sql).all(q.params);
    const page = rows.slice(0, limit);
    return { ids: page.map((r) => r.id), next: rows.length > limit ? positionOf(sort, order, page.at(-1)!) : undefined };
  });
}

const maybe = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(arb, { nil: undefined, freq: 2 });

const filterArb: fc.Arbitrary<FindingFilter> = fc.record({
  node: maybe(fc.constantFrom(...NODES, 'node-none')),
  check: maybe(fc.constantFrom(...CHECKS)),
  category: maybe(fc.constantFrom(...CATEGORIES)),
  severity: fc.option(fc.constantFrom(...SEVERITIES), { nil: undefined, freq: 5 }),
  minSeverity: maybe(fc.constantFrom(...SEVERITIES)),
  state: maybe(fc.constantFrom(...FINDING_STATES)),
  since: fc.option(fc.integer({ min: 0, max: 16 }), { nil: undefined, freq: 4 }),
  q: fc.option(fc.constantFrom('x', '%', '_', '50%', 'KUBE', 'ert', 's/1'), { nil: undefined, freq: 5 }),
});

const queryArb = fc.record({
  sort: fc.constantFrom(...FINDING_SORTS),
  order: fc.constantFrom(...SORT_ORDERS),
  filter: filterArb,
  limit: fc.integer({ min: 1, max: 300 }),
});

/** The property's runs: rows (most runs few, some past the point where a list walks the order's index for a filter), a seed, four queries. */
const runArb = fc.tuple(
  fc.oneof(fc.record({ n: fc.integer({ min: 0, max: 60 }), big: fc.constant(false) }), fc.record({ n: fc.integer({ min: 1000, max: 1400 }), big: fc.constant(true) })),
  fc.integer(),
  fc.array(queryArb, { minLength: 4, maxLength: 4 }),
);

/** Each query of a run: its page size (pages of at least n / 60 rows, so that a walk stays short), the brute force's order, a row to put a cursor at. */
function* queriesOf(rows: readonly Row[], big: boolean, seed: number, queries: ReadonlyArray<{ sort: FindingSort; order: SortOrder; filter: FindingFilter; limit: number }>) {
  for (const { sort, order, filter, limit: l } of queries) {
    const limit = big ? Math.max(l, 20) : Math.min(l, 8);
    const expected = bruteForce(rows, filter, sort, order);
    const what = `sort=${sort} order=${order} limit=${limit} filter=${JSON.stringify(filter)}`;
    // A cursor at any row, also one the filters do not match (a client that changed its
    // filters mid-walk): the page holds the matching rows that come after that row.
    let cursor: { at: Row; after: FindingPosition; want: string[] } | undefined;
    if (rows.length > 0) {
      const at = rows[Math.abs(seed + limit) % rows.length]!;
      const all = bruteForce(rows, {}, sort, order);
      const later = new Set(all.slice(all.indexOf(at.id) + 1));
      cursor = { at, after: positionAt(at, sort, order), want: expected.filter((id) => later.has(id)).slice(0, limit) };
    }
    yield { sort, order, filter, limit, expected, what, cursor };
  }
}

storeTest('every sort and order, with any filters, walks the cursor through exactly the brute-force order', async (t, backend) => {
  await checkProperty(t, fc.asyncProperty(runArb, async ([{ n, big }, seed, queries]) => {
    const store = await backend.open(t);
    try {
      const rows = rowsOf(seed, n);
      await fill(store, rows);
      for (const { sort, order, filter, limit, expected, what, cursor } of queriesOf(rows, big, seed, queries)) {
        const viaStore = await walkStore(store, filter, limit, sort, order);
        if (JSON.stringify(viaStore) !== JSON.stringify(expected)) throw new Error(`${what}: the list gave ${viaStore.length} rows, the brute force ${expected.length}, or another order`);
        if (cursor !== undefined) {
          const viaCursor = (await store.findings.list(filter, limit, { sort, order, after: cursor.after })).items.map((f) => f.id);
          if (JSON.stringify(viaCursor) !== JSON.stringify(cursor.want)) throw new Error(`${what} after ${cursor.at.id}: ${viaCursor.length} rows against ${cursor.want.length}, or others`);
        }
      }
    } finally {
      await store.close();
    }
  }), 40);
});

// SQLite's alone: its list's two plans forced, the statements run on the database file
// (pageQuery's SQL is SQLite's; PostgreSQL's plans are pg-findings's).
test('sqlite: each plan forced, every sort and order, with any filters, walks the cursor through exactly the brute-force order', async (t) => {
  const dir = await testDir(t, 'finding-order');
  let run = 0;
  await checkProperty(t, fc.asyncProperty(runArb, async ([{ n, big }, seed, queries]) => {
    const path = join(dir, `run-${run++}.db`);
    const store = openStore({ path });
    const db = new Database(path, { readonly: true });
    try {
      const rows = rowsOf(seed, n);
      await fill(store, rows);
      for (const { sort, order, filter, limit, expected, what, cursor } of queriesOf(rows, big, seed, queries)) {
        for (const plan of ['sorted', 'merged'] as const) {
          const forced = walkForced(db, plan, filter, limit, sort, order);
          if (JSON.stringify(forced) !== JSON.stringify(expected)) throw new Error(`${what} plan=${plan}: ${forced.length} rows against ${expected.length}, or another order`);
          if (cursor === undefined) continue;
          const q = pageQuery(filter, limit, { sort, order, after: cursor.after }, FORCE[plan]);
          const got = (q.sql === undefined ? [] : db.prepare<Record<string, unknown>, FindingRowRaw>(q.sql).all(q.params)).slice(0, limit).map((r) => r.id);
          if (JSON.stringify(got) !== JSON.stringify(cursor.want)) throw new Error(`${what} plan=${plan} after ${cursor.at.id}: ${got.length} rows against ${cursor.want.length}, or others`);
        }
      }
    } finally {
      db.close();
      await store.close();
    }
  }), 40);
});

// ---------------------------------------------------------------------------------------
// Plans

/** The lines of the query plan of a page. */
function planOf(db: Database.Database, sql: string, params: Record<string, unknown>): string[] {
  return db.prepare<Record<string, unknown>, { detail: string }>(`EXPLAIN QUERY PLAN ${sql}`).all(params).map((r) => r.detail);
}

/** A position in the middle of every order: severity medium, so a page has arms before, at and after it. */
function middle(sort: FindingSort, order: SortOrder): FindingPosition {
  const values: Record<string, number | string> = { severity_rank: 2, first_seen: 1000, last_seen: 2000, node: 'node-m', check_id: 'cis-4.2.1', seq: 500 };
  return { sort, order, key: ORDERS[sort].key.map((p) => values[p.column]!) };
}

// SQLite's alone (this and the next two): its query plans and the counts its planner reads from the file.
test('EXPLAIN QUERY PLAN: every order reads its own index range by range, never sorting (no TEMP B-TREE) or scanning', async (t) => {
  const dir = await testDir(t, 'finding-order');
  const path = join(dir, 'plan.db');
  const store = openStore({ path });
  await fill(store, rowsOf(7, 300));
  await store.optimize();
  const db = new Database(path, { readonly: true });
  t.teardown(async () => { db.close(); await store.close(); });

  const filters: FindingFilter[] = [
    {}, { state: 'open' }, { minSeverity: 'high' }, { state: 'resolved', severity: 'medium' }, { state: 'open', minSeverity: 'high', since: 5 },
    { since: 5 }, { q: 'kube' },
    // The filters the order's index does not lead with, walked in its order (a filter that matches many rows).
    { node: 'node-a' }, { check: 'proc-unexpected', state: 'open' }, { category: 'process', minSeverity: 'medium' },
  ];
  let plans = 0;
  for (const sort of FINDING_SORTS) {
    const own: FindingFilter[] = sort === 'node' ? [{ node: 'node-a' }, { node: 'node-a', state: 'open' }] : sort === 'check' ? [{ check: 'cis-4.2.1' }] : [];
    for (const order of SORT_ORDERS) {
      for (const filter of [...filters, ...own]) {
        for (const after of [undefined, middle(sort, order)]) {
          const q = pageQuery(filter, 100, { sort, order, after }, FORCE.merged);
          // Every severity the filter allows lies before the cursor: no statement at all.
          if (q.sql === undefined) continue;
          const plan = planOf(db, q.sql, q.params);
          const what = `sort=${sort} order=${order} filter=${JSON.stringify(filter)} cursor=${after !== undefined}:\n${plan.join('\n')}`;
          t.false(plan.some((l) => l.includes('TEMP B-TREE')), what);
          const reads = plan.filter((l) => /\bfindings\b/.test(l));
          t.true(reads.length > 0, what);
          const index = ORDERS[sort].index;
          for (const l of reads) t.regex(l, new RegExp(`^SEARCH findings USING (COVERING )?INDEX ${index} \\(state=\\? AND severity_rank=\\?`), what);
          plans++;
        }
      }
      // The filter of the order's own column, with a cursor inside it: each range starts at the cursor's seq.
      for (const filter of own) {
        const pinned = filter.node ?? filter.check ?? '';
        const after = { ...middle(sort, order), key: [pinned, ...middle(sort, order).key.slice(1)] };
        const q = pageQuery(filter, 100, { sort, order, after }, FORCE.merged);
        const plan = planOf(db, q.sql!, q.params);
        const column = sort === 'node' ? 'node' : 'check_id';
        t.true(plan.includes(`SEARCH findings USING INDEX ${ORDERS[sort].index} (state=? AND severity_rank=? AND ${column}=? AND rowid${order === 'asc' ? '>' : '<'}?)`), plan.join('\n'));
        t.false(plan.some((l) => l.includes('TEMP B-TREE') || l.startsWith('SCAN')), plan.join('\n'));
        plans++;
      }
    }
  }
  t.true(plans >= 200, `${plans} plans checked`);
});

test('EXPLAIN QUERY PLAN: a filter that matches few rows is read through its own index and only those rows are sorted', async (t) => {
  const dir = await testDir(t, 'finding-order');
  const path = join(dir, 'plan.db');
  const store = openStore({ path });
  await fill(store, rowsOf(11, 300));
  const db = new Database(path, { readonly: true });
  t.teardown(async () => { db.close(); await store.close(); });
  const cases: Array<[FindingFilter, string, string]> = [
    [{ node: 'node-b' }, 'findings_node_state', 'node=? AND state=?'],
    [{ check: 'cert-expiry', minSeverity: 'high' }, 'findings_check', 'check_id=? AND state=?'],
    [{ category: 'certificates', state: 'open' }, 'findings_category', 'category=? AND state=?'],
  ];
  for (const sort of FINDING_SORTS) {
    for (const [filter, index, search] of cases) {
      if ((sort === 'node' && filter.node !== undefined) || (sort === 'check' && filter.check !== undefined)) continue;
      const q = pageQuery(filter, 100, { sort, order: ORDERS[sort].defaultOrder, after: middle(sort, ORDERS[sort].defaultOrder) }, FORCE.sorted);
      const plan = planOf(db, q.sql!, q.params);
      t.is(plan[0], `SEARCH findings USING INDEX ${index} (${search})`, `sort=${sort} ${JSON.stringify(filter)}:\n${plan.join('\n')}`);
      t.false(plan.some((l) => l.startsWith('SCAN')), plan.join('\n'));
    }
  }
});

test('the plan follows the data: the rollups count a filter\'s matches; few are sorted, many walk the order\'s index where they are', async (t) => {
  const dir = await testDir(t, 'finding-order');
  const path = join(dir, 'choice.db');
  const store = openStore({ path });
  // Besides the usual rows, a check whose 1,200 findings are all high, some of them warnings.
  const rows = [...rowsOf(3, 1400)];
  for (let i = 0; i < 1200; i++) {
    const subject = `/h/${i}`;
    rows.push({
      seq: rows.length + 1, id: fingerprint('node-c', 'only-high', subject), node: 'node-c', checkId: 'only-high', category: 'kubelet', subject,
      title: 'x', actual: '', severity: 'high', status: i % 3 === 0 ? 'warn' : 'fail', state: i % 10 === 0 ? 'resolved' : 'open', firstSeen: i % 7, lastSeen: i % 9,
    });
  }
  await fill(store, rows);
  t.teardown(() => store.close());
  const db = new Database(path, { readonly: true });
  t.teardown(() => db.close());
  const counts = createRollupCounts(db);
  // The counts are the brute force's, by state and severity, warnings included.
  const ranges = [{ lo: 0, hi: 4 }, { lo: 3, hi: 4 }, { lo: 2, hi: 2 }];
  const stateSets: FindingState[][] = [[...FINDING_STATES], ['open'], ['resolved']];
  for (const ranks of ranges) {
    for (const states of stateSets) {
      const within = rows.filter((r) => states.includes(r.state) && severityRank(r.severity) >= ranks.lo && severityRank(r.severity) <= ranks.hi);
      t.is(counts.total(states, ranks), within.length);
      const filters: Array<[FilterKind, string, (r: Row) => string]> = [
        ...NODES.map((v): [FilterKind, string, (r: Row) => string] => ['node', v, (r) => r.node]),
        ...[...CHECKS, 'only-high'].map((v): [FilterKind, string, (r: Row) => string] => ['check', v, (r) => r.checkId]),
        ...CATEGORIES.map((v): [FilterKind, string, (r: Row) => string] => ['category', v, (r) => r.category]),
      ];
      for (const [by, value, of] of filters) {
        const count = counts.matches(by, value, states, ranks);
        for (const state of states) {
          for (let rank = ranks.lo; rank <= ranks.hi; rank++) {
            t.is(count(state, rank), within.filter((r) => of(r) === value && r.state === state && severityRank(r.severity) === rank).length, `${by}=${value} ${state} ${rank}`);
          }
        }
      }
    }
  }
  // node-a holds about 80% of the first 1,400 rows, more than the cap of 1,000: the order's index is walked.
  t.true(rows.filter((r) => r.node === 'node-a').length > 1000);
  t.regex(pageQuery({ node: 'node-a' }, 100, { sort: 'firstSeen' }, counts).sql!, /INDEXED BY findings_by_first_seen/);
  t.regex(pageQuery({ node: 'node-b' }, 100, { sort: 'firstSeen' }, counts).sql!, /INDEXED BY findings_node_state/);
  t.regex(pageQuery({ node: 'node-a', severity: 'critical' }, 100, { sort: 'firstSeen' }, counts).sql!, /INDEXED BY findings_node_state/, 'few of its findings are critical');
  t.regex(pageQuery({ category: 'process', state: 'resolved' }, 100, { sort: 'lastSeen' }, counts).sql!, /INDEXED BY findings_category WHERE category = @category AND state IN \(@s1\) ORDER BY/);
  // The check that is all high is walked in the ranges of high findings only (open and resolved).
  const walked = pageQuery({ check: 'only-high' }, 100, { sort: 'node' }, counts).sql!;
  t.deepEqual(walked.match(/state = @s\d AND severity_rank = \d/g), ['state = @s0 AND severity_rank = 3', 'state = @s1 AND severity_rank = 3']);
  const want = bruteForce(rows, { check: 'only-high' }, 'node', 'asc');
  t.deepEqual(await walkStore(store, { check: 'only-high' }, 100, 'node', 'asc'), want);
  t.is(want.length, 1200);
});

// SQLite's alone: its migrations over an old file, its indexes and tables read back.
test('a database of schema version 11 migrates through 12: each order gets its index, the state indexes they start with go, and cursors get a key of their own', async (t) => {
  const dir = await testDir(t, 'finding-order');
  const path = join(dir, 'v11.db');
  const raw = new Database(path);
  for (const m of MIGRATIONS.filter((x) => x.version <= 11)) {
    raw.exec(m.sql);
    m.run?.(raw);
    raw.pragma(`user_version = ${m.version}`);
    // Findings stored at version 1, before the rollups (002) that count them.
    if (m.version === 1) {
      const insert = raw.prepare(`INSERT INTO findings (id, node, check_id, category, subject, severity, severity_rank, status, state, first_seen, last_seen, count, updated_at)
        VALUES (?, 'node-a', 'proc-unexpected', 'process', ?, ?, ?, 'fail', ?, ?, ?, 1, 0)`);
      for (const [i, sev] of (['low', 'critical', 'info', 'high', 'critical', 'medium'] as const).entries()) {
        insert.run(fingerprint('node-a', 'proc-unexpected', `/bin/${i}`), `/bin/${i}`, sev, severityRank(sev), i === 2 ? 'resolved' : 'open', 1000 + i, 2000 + i);
      }
    }
  }
  const before = raw.prepare<[], string>("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'findings' ORDER BY name").pluck().all();
  raw.close();
  t.true(before.includes('findings_state_seq') && before.includes('findings_state_severity'));

  const store = openStore({ path });
  t.teardown(() => store.close());
  const db = new Database(path, { readonly: true });
  t.teardown(() => db.close());
  // Through 012 and every migration after it (013's recount of the rollups includes check_totals).
  t.is(db.pragma('user_version', { simple: true }), MIGRATIONS.at(-1)!.version);
  const after = db.prepare<[], string>("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'findings' ORDER BY name").pluck().all();
  // 012's four, and 020's scope index.
  t.deepEqual(after.filter((x) => !before.includes(x)).sort(), ['findings_by_check', 'findings_by_first_seen', 'findings_by_last_seen', 'findings_by_node', 'findings_scope_state']);
  t.deepEqual(before.filter((x) => !after.includes(x)).sort(), ['findings_state_seq', 'findings_state_severity']);
  t.is(db.prepare("SELECT length(value) FROM store_secrets WHERE name = 'cursor-seal'").pluck().get(), 32);
  t.deepEqual(db.prepare('SELECT state, check_id, severity_rank, n FROM check_totals ORDER BY state, severity_rank').raw().all(), [
    ['open', 'proc-unexpected', 1, 1], ['open', 'proc-unexpected', 2, 1], ['open', 'proc-unexpected', 3, 1], ['open', 'proc-unexpected', 4, 2],
    ['resolved', 'proc-unexpected', 0, 1],
  ], 'check_totals counts the findings stored before');

  // The findings stored before list most severe first, then newest first, page by page.
  const walked = await walkStore(store, {}, 2, 'severity', 'desc');
  const subjects = [];
  for (const id of walked) subjects.push((await store.findings.get(id))!.subject);
  t.deepEqual(subjects, ['/bin/4', '/bin/1', '/bin/3', '/bin/5', '/bin/0', '/bin/2']);
  t.deepEqual((await store.findings.list({ state: 'open', minSeverity: 'high' }, 10)).items.map((f) => f.subject), ['/bin/4', '/bin/1', '/bin/3']);
  // Another database has another key: it does not open this one's cursors.
  const other = openStore({ path: join(dir, 'other.db') });
  t.teardown(() => other.close());
  const cursor = (await store.findings.list({}, 1)).nextCursor!;
  t.truthy(store.findings.openCursor(cursor));
  t.is(other.findings.openCursor(cursor), undefined);
});

storeTest('another database has another cursor key: it does not open this one\'s cursors', async (t, backend) => {
  const store = await backend.open(t);
  const other = await backend.open(t);
  await fill(store, rowsOf(5, 3));
  const cursor = (await store.findings.list({}, 1)).nextCursor!;
  t.truthy(store.findings.openCursor(cursor));
  t.is(other.findings.openCursor(cursor), undefined);
});

storeTest('a finding seen again is written without its indexed columns, and still takes the occurrence\'s text and references', async (t, backend) => {
  const store = await backend.open(t);
  const id = fingerprint('node-a', 'cis-1.1.1', '/etc/kubernetes/manifests/kube-apiserver.yaml');
  const write = (before: StoredFinding | undefined, severity: Severity, references: string[], title: string, lastSeen: number) =>
    store.unit((u) => u.findings.save(before, {
      id, node: 'node-a', checkId: 'cis-1.1.1', subject: '/etc/kubernetes/manifests/kube-apiserver.yaml', state: 'open', severity,
      firstSeen: 1000, lastSeen, count: lastSeen - 999, resolvedAt: null, suppressedReason: null, suppressedUntil: null, suppressedBy: null, suppressedAt: null,
      fields: {
        cis: '1.1.1', references, title, category: 'host', severity, status: 'fail', scored: true, actual: '644', expected: '600',
        source: 'file', sourceFile: '', reason: '', remediation: '', detail: '{}', seen: 'scan',
      },
    }, lastSeen));
  const saved = async () => (await store.unit((u) => u.findings.byId(id)))!;
  await write(undefined, 'high', ['cis-1.12:1.1.1'], 'first', 1000);
  // Seen again: same state, severity, category, first seen (the write that skips the indexed columns).
  await write(await saved(), 'high', ['cis-1.12:1.1.1', 'cis-1.12:1.1.2'], 'second', 1001);
  t.like(await store.findings.get(id), { title: 'second', references: ['cis-1.12:1.1.1', 'cis-1.12:1.1.2'], severity: 'high', lastSeen: new Date(1001).toISOString() });
  // Escalated: the occurrence that rewrites the indexed columns.
  await write(await saved(), 'critical', ['cis-1.12:1.1.3'], 'third', 1002);
  t.like(await store.findings.get(id), { title: 'third', references: ['cis-1.12:1.1.3'], severity: 'critical' });
  t.deepEqual((await store.findings.list({ minSeverity: 'critical' }, 10)).items.map((f) => f.id), [id], 'the order indexes moved with it');
});
