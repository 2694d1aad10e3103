// The collector's layering, checked on its import graph (every import, export-from and
// dynamic import of every source file under collector/ and proto/, type-only ones included):
// - only collector/store/ imports better-sqlite3, and only it holds SQL; only collector/store/pg/
//   imports pg, and nothing outside the store reaches it;
// - the store is the bottom layer: it imports nothing of the collector but its own files, the
//   shared vocabulary (collector/finding.ts) and two leaves that import nothing of the collector
//   (the clock and the metrics registry, which the PostgreSQL replicas' election and listener
//   take); so there is no cycle between the store and the webhooks (the webhooks read the
//   outbox through the store), nor with the pipeline;
// - the Store boundary (collector/store/store.ts and what it reaches) is plain: no SQL, no
//   better-sqlite3, so none of its types comes from an implementation; and outside the store
//   only main.ts reaches an implementation (it opens the configured one, SQLite or
//   PostgreSQL), so a backend implements the boundary and nothing else changes;
// - the lifecycle (collector/pipeline/lifecycle.ts) is pure: nothing with I/O.
import test from 'ava';
import { reach, sources, type Source } from '../helpers/import-graph.js';

const under = (path: string, dir: string): boolean => path.startsWith(`${dir}/`);
const packageOf = (spec: string): string => (spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);

const all = Promise.all([sources('collector'), sources('proto')]).then(([c, p]) => [...c, ...p]);

const SQL = /\b(?:SELECT\s+[\w*(]|INSERT\s+(?:OR\s+\w+\s+)?INTO\b|DELETE\s+FROM\b|UPDATE\s+\w+\s+SET\b|CREATE\s+(?:TABLE|INDEX|TRIGGER)\b|DROP\s+(?:TABLE|INDEX)\b|PRAGMA\s+\w)/;

/** The source itself holds SQL or imports better-sqlite3. */
const touchesSqlite = (f: Source): boolean => SQL.test(f.text) || f.imports.some((i) => packageOf(i) === 'better-sqlite3');

test('the import graph is read: every collector and proto source, with its imports', async (t) => {
  const files = await all;
  const byPath = new Map(files.map((f) => [f.path, f]));
  t.true(files.length > 100, `${files.length} files`);
  // Every relative import resolves to a source that exists (the parser sees what tsc sees).
  const dangling = files.flatMap((f) => f.imports.filter((i) => (i.startsWith('collector/') || i.startsWith('proto/')) && !byPath.has(i) && !i.endsWith('.json')).map((i) => `${f.path} -> ${i}`));
  t.deepEqual(dangling, []);
  t.true(byPath.get('collector/store/db.ts')!.imports.includes('better-sqlite3'), 'the parser finds a package import');
  t.true(byPath.get('collector/webhooks/dispatcher.ts')!.imports.includes('collector/store/store.ts'), 'and a type-only relative one');
});

test('only collector/store/ imports better-sqlite3', async (t) => {
  const users = (await all).filter((f) => f.imports.some((i) => packageOf(i) === 'better-sqlite3')).map((f) => f.path);
  t.true(users.length > 0);
  t.deepEqual(users.filter((p) => !under(p, 'collector/store')), []);
});

test('only collector/store/pg/ imports pg (node-postgres), and nothing outside the store reaches it', async (t) => {
  const files = await all;
  const byPath = new Map(files.map((f) => [f.path, f]));
  const users = files.filter((f) => f.imports.some((i) => packageOf(i) === 'pg')).map((f) => f.path);
  t.true(users.includes('collector/store/pg/pool.ts'));
  t.deepEqual(users.filter((p) => !under(p, 'collector/store/pg')), []);
  t.true([...reach(byPath, 'collector/main.ts')].includes('collector/store/pg/pool.ts'), 'main.ts opens the PostgreSQL store');
  // config.ts reads the PostgreSQL settings' checks, which are plain: they reach no driver. main.ts
  // opens the store it is configured with, so it alone reaches the driver.
  const reachesPg = files.filter((f) => !under(f.path, 'collector/store') && f.path !== 'collector/main.ts').filter((f) => [...reach(byPath, f.path)].some((q) => byPath.get(q)!.imports.some((i) => packageOf(i) === 'pg')));
  t.deepEqual(reachesPg.map((f) => f.path), []);
});

test('only collector/store/ holds SQL', async (t) => {
  const holders = (await all).filter((f) => SQL.test(f.text)).map((f) => f.path);
  t.true(holders.includes('collector/store/findings.ts'), 'the pattern finds the store\'s own SQL');
  t.deepEqual(holders.filter((p) => !under(p, 'collector/store')), []);
});

test('the store is the bottom layer: no import of the pipeline, the webhooks, the API or ingest, so no cycle between store and webhooks', async (t) => {
  const files = await all;
  const store = files.filter((f) => under(f.path, 'collector/store'));
  const leaves = ['collector/finding.ts', 'collector/clock.ts', 'collector/metrics.ts'];
  const upward = store.flatMap((f) => f.imports
    .filter((i) => under(i, 'collector') && !under(i, 'collector/store') && !leaves.includes(i))
    .map((i) => `${f.path} -> ${i}`));
  t.deepEqual(upward, []);
  const byPath = new Map(files.map((f) => [f.path, f]));
  for (const leaf of leaves.slice(1)) t.deepEqual(byPath.get(leaf)!.imports.filter((i) => under(i, 'collector')), [], `${leaf} is a leaf`);
  // The cycle itself, spelled out: edges from store to webhooks and from webhooks to store.
  const edges = (from: string, to: string): string[] => files.filter((f) => under(f.path, from)).flatMap((f) => f.imports.filter((i) => under(i, to)).map((i) => `${f.path} -> ${i}`));
  const down = edges('collector/webhooks', 'collector/store');
  const up = edges('collector/store', 'collector/webhooks');
  t.true(down.length > 0, 'the webhooks read the outbox through the store');
  t.deepEqual(up, [], 'and the store imports nothing of the webhooks');
});

test('the Store boundary is plain: store.ts and every file it reaches hold no SQL and import no better-sqlite3 (no type of it comes from an implementation)', async (t) => {
  const files = await all;
  const byPath = new Map(files.map((f) => [f.path, f]));
  const boundary = reach(byPath, 'collector/store/store.ts');
  t.true(boundary.has('collector/store/boundary/nodes.ts') && boundary.has('collector/store/boundary/baselines.ts'), 're-exports are followed');
  t.true(touchesSqlite(byPath.get('collector/store/nodes.ts')!), 'an implementation is recognised');
  t.deepEqual([...boundary].filter((p) => touchesSqlite(byPath.get(p)!)), []);
});

test('outside collector/store/, the collector reaches the store only through its boundary: main.ts alone opens an implementation (SQLite or PostgreSQL)', async (t) => {
  const files = await all;
  const byPath = new Map(files.map((f) => [f.path, f]));
  /** A store file that reaches SQL or better-sqlite3. */
  const implementation = (p: string): boolean => [...reach(byPath, p)].some((q) => touchesSqlite(byPath.get(q)!));
  const edges = files.filter((f) => !under(f.path, 'collector/store')).flatMap((f) => f.imports.filter((i) => under(i, 'collector/store')).map((i) => `${f.path} -> ${i}`));
  t.true(edges.includes('collector/main.ts -> collector/store/sqlite.ts'));
  t.true(edges.length > 20, `${edges.length} imports of the store`);
  t.deepEqual(edges.filter((e) => implementation(e.split(' -> ')[1]!) && !e.startsWith('collector/main.ts -> ')), []);
});

test('the lifecycle is pure: it imports no I/O, no store but its time formatter, nothing but the vocabulary', async (t) => {
  const lifecycle = (await all).find((f) => f.path === 'collector/pipeline/lifecycle.ts')!;
  const allowed = (i: string): boolean => under(i, 'proto') && !under(i, 'proto/support') || i === 'collector/finding.ts' || i === 'collector/store/time.ts';
  t.deepEqual(lifecycle.imports.filter((i) => !allowed(i)), []);
  t.false(/\bDate\.now\(|\bnew Date\(\)|\bsetTimeout\(|\bprocess\./.test(lifecycle.text), 'no clock, no timers, no process');
});
