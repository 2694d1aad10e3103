// The findings search (`q`) on PostgreSQL with its trigram index (store/pg/search-index.ts,
// pg/findings.ts), on a real server. The index is made once, by a role that may add pg_trgm
// or that finds it added and usable, and is the only change to the migrated schema; a role
// that may not add it opens the store without it and says why, and gets it at the next start
// once an operator has added the extension where it may use it. Whatever the plan of a page
// (the rows the index names, read and sorted; a walk of the order's ranges under a budget,
// whose pages may be short; or no index at all), a walk with the cursor yields exactly the
// brute force's findings in order: fast-check over random rows, filters, orders and page
// sizes, on a database of C collation and one of ICU's en-US. And the budgeted page's cut
// (finding-order.ts budgetedPage), fast-check.
import test, { type ExecutionContext } from 'ava';
import type pg from 'pg';
import { budgetedPage } from '../../collector/store/finding-order.js';
import { FINDING_SORTS, SORT_ORDERS, type FindingFilter, type FindingSort, type SortOrder, type Store } from '../../collector/store/store.js';
import { openPostgres } from '../../collector/store/pg/open.js';
import { SEARCH_PROBE } from '../../collector/store/pg/findings.js';
import { ensureSearchIndex, indexable, SEARCH_INDEX } from '../../collector/store/pg/search-index.js';
import type { PostgresSettings } from '../../collector/store/pg/settings.js';
import { openPgStore, type PgStoreOptions } from '../../collector/store/pg/store.js';
import { FINDING_STATES, SEVERITIES } from '../../proto/domain.js';
import { bruteForce, CATEGORIES, CHECKS, fill, NODES, rowsOf, type Row } from '../helpers/finding-rows.js';
import { createIcuDatabase, pgPool } from '../helpers/pg-backends.js';
import { asSuperuser, connectTo, createClusterRole, needsPostgres, postgresForFile } from '../helpers/postgres.js';
import { checkProperty, fc } from '../helpers/property.js';

const pgTest = needsPostgres();
const server = postgresForFile();

const settingsOf = (url: string, schema?: string): PostgresSettings =>
  ({ url: () => url, sslMode: 'disable', ca: undefined, poolSize: 2, connectTimeoutMs: 10_000, ...(schema === undefined ? {} : { schema }) });

const FINDINGS_INDEXES = "SELECT indexname AS name, indexdef AS def FROM pg_indexes WHERE tablename = 'findings' AND schemaname = current_schema() ORDER BY indexname";

pgTest('the index is made once, with pg_trgm added, and is all it adds to the migrated schema; the probe reads it', async (t) => {
  const s = await server();
  for (const db of [await s.createDatabase(), await createIcuDatabase(s)]) {
    const { pool } = await pgPool(t, s.url(db), 1);
    const c = await pool.connect();
    try {
      const before = (await c.query<{ name: string; def: string }>(FINDINGS_INDEXES)).rows;
      t.false(before.some((i) => i.name === SEARCH_INDEX));
      t.deepEqual(await ensureSearchIndex(c), { ready: true, created: true });
      t.deepEqual(await ensureSearchIndex(c), { ready: true, created: false });
      const after = (await c.query<{ name: string; def: string }>(FINDINGS_INDEXES)).rows;
      t.deepEqual(after.filter((i) => i.name !== SEARCH_INDEX), before);
      t.regex(after.find((i) => i.name === SEARCH_INDEX)?.def ?? '', /USING gin .*gin_trgm_ops/s);
      t.is((await c.query("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")).rowCount, 1);
      // The store's probe is the index's expression (else the planner could never use it): with scans ruled out, it reads the index.
      await c.query('SET enable_seqscan = off');
      const plan = (await c.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${SEARCH_PROBE.replace('$1', "'%kube%'").replace('$2', '5')}`)).rows.map((r) => r['QUERY PLAN']).join('\n');
      t.regex(plan, new RegExp(`Bitmap Index Scan on ${SEARCH_INDEX}`));
      await c.query('RESET enable_seqscan');
      // An index left invalid (a build that failed half-way) is made again.
      await c.query(`UPDATE pg_index SET indisvalid = false WHERE indexrelid = '${SEARCH_INDEX}'::regclass`);
      t.deepEqual(await ensureSearchIndex(c), { ready: true, created: true });
      t.true((await c.query<{ v: boolean }>(`SELECT indisvalid AS v FROM pg_index WHERE indexrelid = '${SEARCH_INDEX}'::regclass`)).rows[0]?.v);
    } finally {
      c.release();
    }
  }
});

pgTest('a role that may not add pg_trgm opens without the index and says why; it is made at the start after an operator adds the extension', async (t) => {
  const s = await server();
  const db = await s.createDatabase();
  const role = await createClusterRole(s, db, 'srch');
  const open = async () => {
    const opened = await openPostgres(settingsOf(role.url, role.schema), () => undefined);
    const store = await openPgStore({ pool: opened.pool, schema: role.schema });
    t.teardown(() => store.close());
    return { search: opened.search, store };
  };
  const first = await open();
  t.false(first.search.ready);
  t.regex(first.search.ready ? '' : first.search.reason, /pg_trgm extension is not in the database, and adding it failed: permission denied/);
  // Searched all the same, by the walk.
  await fill(first.store, rowsOf(7, 30));
  const all = await first.store.findings.list({ q: '/S/1' }, 100);
  t.deepEqual(all.items.map((f) => f.id), bruteForce(rowsOf(7, 30), { q: '/S/1' }, 'severity', 'desc'));

  // Added in a schema the role may not use: still none, and the reason names it.
  await asSuperuser(s, db, 'CREATE SCHEMA ext; CREATE EXTENSION pg_trgm SCHEMA ext');
  const second = await open();
  t.false(second.search.ready);
  t.regex(second.search.ready ? '' : second.search.reason, /in schema ext, which this role may not use \(grant USAGE on it\)/);

  await asSuperuser(s, db, `GRANT USAGE ON SCHEMA ext TO ${role.role}`);
  const third = await open();
  t.deepEqual(third.search, { ready: true, created: true });
  const c = await connectTo(role.url);
  try {
    await c.query(`SET search_path TO ${role.schema}`);
    t.regex((await c.query<{ def: string }>(FINDINGS_INDEXES)).rows.find((i) => i.def.includes('gin'))?.def ?? '', /ext\.gin_trgm_ops/);
  } finally {
    await c.end();
  }
  t.deepEqual((await third.store.findings.list({ q: '/S/1' }, 100)).items.map((f) => f.id), all.items.map((f) => f.id));
});

test('the budgeted page: the hits up to the first edge, at most limit, and where the next page starts', async (t) => {
  const rowArb = fc.record({ hit: fc.constantFrom(0, 1), edge: fc.constantFrom(0, 0, 0, 1) }).filter((r) => r.hit === 1 || r.edge === 1);
  await checkProperty(t, fc.property(fc.array(rowArb, { maxLength: 30 }), fc.integer({ min: 1, max: 10 }), (raw, limit) => {
    const rows = raw.map((r, i) => ({ ...r, i }));
    const { rows: page, next } = budgetedPage(rows, limit);
    const firstEdge = rows.findIndex((r) => r.edge === 1);
    const reachable = firstEdge < 0 ? rows : rows.slice(0, firstEdge + 1);
    const hits = reachable.filter((r) => r.hit === 1);
    if (page.length > limit || page.some((r) => r.hit !== 1)) return false;
    if (hits.length > limit) return JSON.stringify(page) === JSON.stringify(hits.slice(0, limit)) && next === hits[limit - 1];
    return JSON.stringify(page) === JSON.stringify(hits) && next === (firstEdge < 0 ? undefined : rows[firstEdge]);
  }), 300);
  t.true(indexable('tool-1') && indexable('x/app9'));
  t.false(indexable('1') || indexable('a-b') || indexable('%_\\') || indexable('ab'));
});

// Terms: some in many rows, some in few, some with LIKE's own characters, some too short for trigrams, some in no row.
const TERMS = ['/s/1', 'S/2', 'kube', 'ERT', 'proc', 'unexpected', '50%', 'a_b', '%', '_', 'x', 'cis-4', '4.2', 'nothing-here'];

/** Mostly absent: a node, check or category filter most often has the page sort its few matches, leaving the search's own plans unused. */
const rarely = <T>(arb: fc.Arbitrary<T>, weight = 4): fc.Arbitrary<T | undefined> =>
  fc.oneof({ arbitrary: fc.constant(undefined), weight }, { arbitrary: arb, weight: 1 });
const queryArb = fc.record({
  sort: fc.constantFrom(...FINDING_SORTS),
  order: fc.constantFrom(...SORT_ORDERS),
  limit: fc.integer({ min: 1, max: 12 }),
  filter: fc.record({
    q: fc.constantFrom(...TERMS),
    node: rarely(fc.constantFrom(...NODES)),
    check: rarely(fc.constantFrom(...CHECKS)),
    category: rarely(fc.constantFrom(...CATEGORIES)),
    minSeverity: rarely(fc.constantFrom(...SEVERITIES), 2),
    state: rarely(fc.constantFrom(...FINDING_STATES), 2),
    since: rarely(fc.integer({ min: 0, max: 16 })),
  }),
});

/** Every page with the cursor; a page may be short (a budgeted walk), never longer than `limit`, and the walk ends. */
async function walk(store: Store, f: FindingFilter, limit: number, sort: FindingSort, order: SortOrder, most: number, short: { pages: number }): Promise<string[]> {
  const out: string[] = [];
  let cursor: string | null = null;
  for (let n = 0; n <= most; n++) {
    const after = cursor === null ? undefined : store.findings.openCursor(cursor);
    if (cursor !== null && after === undefined) throw new Error(`the store does not open its own cursor ${cursor}`);
    const p = await store.findings.list(f, limit, { sort, order, after });
    if (p.items.length > limit) throw new Error(`a page of ${p.items.length} (limit ${limit})`);
    out.push(...p.items.map((x) => x.id));
    if (p.nextCursor === null) return out;
    if (p.items.length < limit) short.pages++;
    cursor = p.nextCursor;
  }
  throw new Error(`the walk did not end within ${most} pages`);
}

/**
 * One database, three stores on it: one opened before the index is there (it walks, checking
 * `q` on each row), one with the index as the collector opens it, and one whose index always
 * names too many rows and whose walk reads the least a page may (so nearly every page is cut
 * at an edge).
 */
async function storesOn(t: ExecutionContext, url: string): Promise<Array<{ name: string; store: Store }>> {
  const open = async (opts: Omit<PgStoreOptions, 'pool'>) => {
    const { pool } = await pgPool(t, url, 2, false);
    const store = await openPgStore({ pool, ...opts });
    t.teardown(() => store.close());
    return store;
  };
  const { pool } = await pgPool(t, url, 1);
  const scan = await open({});
  const c: pg.PoolClient = await pool.connect();
  try {
    const made = await ensureSearchIndex(c);
    if (!made.ready) throw new Error(`no search index: ${made.reason}`);
  } finally {
    c.release();
  }
  return [
    { name: 'without the index', store: scan },
    { name: 'with the index', store: await open({}) },
    { name: 'the index naming too many, the least budget', store: await open({ search: { candidates: 0, rows: 1 } }) },
  ];
}

async function searchProperty(t: ExecutionContext, database: () => Promise<string>, runs: number): Promise<void> {
  const s = await server();
  const short = { pages: 0 };
  await checkProperty(t, fc.asyncProperty(fc.integer({ min: 0, max: 90 }), fc.integer(), fc.array(queryArb, { minLength: 3, maxLength: 3 }), async (n, seed, queries) => {
    const db = await database();
    // A few rows would be scanned rather than looked up: the index is made to serve every probe it can, so that its answers are what is checked.
    await asSuperuser(s, db, `ALTER DATABASE ${db} SET enable_seqscan = off`);
    const stores = await storesOn(t, s.url(db));
    const rows: Row[] = rowsOf(seed, n);
    await fill(stores[0]!.store, rows);
    for (const { sort, order, limit, filter } of queries) {
      const expected = bruteForce(rows, filter, sort, order);
      for (const { name, store } of stores) {
        const got = await walk(store, filter, limit, sort, order, n + 30, short);
        if (JSON.stringify(got) !== JSON.stringify(expected)) {
          throw new Error(`${name}: sort=${sort} order=${order} limit=${limit} ${JSON.stringify(filter)}: ${got.length} findings against ${expected.length}, or another order`);
        }
      }
    }
  }), runs);
  // And one walk that is sure to be cut: a term no row holds and the index cannot look up, one finding a page, the least budget.
  const [, indexed, least] = await storesOn(t, s.url(await database()));
  await fill(indexed!.store, rowsOf(11, 90));
  const before = short.pages;
  t.deepEqual(await walk(least!.store, { q: '#' }, 1, 'severity', 'desc', 200, short), []);
  t.true(short.pages - before >= 10, `the walk came in pages cut at an edge (${short.pages - before})`);
}

pgTest('every plan of a search walks the cursor through exactly the brute force\'s findings in order', async (t) => {
  const s = await server();
  await searchProperty(t, () => s.createDatabase(), 25);
});

pgTest('the same on a database whose default collation is ICU\'s en-US', async (t) => {
  const s = await server();
  await searchProperty(t, () => createIcuDatabase(s), 8);
});
