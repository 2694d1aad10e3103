// The PostgreSQL baseline store (collector/store/pg/baselines.ts) against the SQLite one, its
// specification: the same calls on both, deep-equal results and errors, then the same state
// read back (every baseline page by page, counters, catch-ups, listens, charges, allows).
// The cases are those of baselines, baseline-quotas and listen-sets at the store's level:
// merging and who taught what, removals, node and operator locks, the on-its-way window,
// contents and their bound, listens and theirs, the limits on keys, items and nodes, quotas
// and a node's cleanup; fast-check drives random sequences of calls with hostile text. Then
// PostgreSQL alone, two replicas (two pools on one database) at once: reports racing at the
// key limit and a node's own limit, changes taking versions, and writes that lock baselines
// in opposite orders, which must neither over-admit nor fail.
import fc from 'fast-check';
import type { ExecutionContext } from 'ava';
import type pg from 'pg';
import { openStore } from '../../collector/store/sqlite.js';
import {
  BASELINE_LIMITS, MAX_LISTENS_PER_BASELINE, type BaselineStore, type ReportedBaseline, type ReportedDigest, type ReportQuota,
} from '../../collector/store/store.js';
import { createPgBaselineStore } from '../../collector/store/pg/baselines.js';
import { sqlOf, transactOn } from '../../collector/store/pg/sql.js';
import { ITEM_DIGEST_LIMITS, type DigestSource } from '../../proto/exec-identity.js';
import { connectTo, needsPostgres, postgresForFile } from '../helpers/postgres.js';
import { BASELINE_CHANNEL } from '../../collector/store/pg/notify.js';
import { agree, createIcuDatabase, pgPool, same } from '../helpers/pg-differential.js';

const pgTest = needsPostgres();
const server = postgresForFile();

const WEB = 'shop/Deployment/web/nginx';
const JOB = 'ops/CronJob/backup/dump';
const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const sha = (n: number): string => (n % 16).toString(16).repeat(64);

/** A fresh database's pool and its store, as one replica sees them. */
async function replica(t: ExecutionContext, database: string, poolSize = 4): Promise<{ pool: pg.Pool; store: BaselineStore }> {
  const pool = await pgPool(t, await server(), database, poolSize);
  return { pool, store: createPgBaselineStore(sqlOf(pool), transactOn(pool)) };
}

/** SQLite in memory and PostgreSQL on a fresh database. */
async function pair(t: ExecutionContext): Promise<{ lite: BaselineStore; pg: BaselineStore; pool: pg.Pool }> {
  const s = openStore({ path: ':memory:' });
  t.teardown(() => s.close());
  const { pool, store } = await replica(t, await (await server()).createDatabase());
  return { lite: s.baselines, pg: store, pool };
}

type ItemSpec = string | { path: string; firstSeen?: number; source?: 'learned' | 'startup' | 'operator'; digests?: ReportedDigest[]; inlineCode?: boolean };
const digest = (n: number, source: DigestSource = 'learned', firstSeen = 0, image = ''): ReportedDigest => ({ sha256: sha(n), source, image, firstSeen });
function rb(key: string, state: 'learning' | 'locked', items: readonly ItemSpec[], version = 0, listens?: string[]): ReportedBaseline {
  return {
    key, state, version, ...(listens ? { listens } : {}),
    items: items.map((i) => (typeof i === 'string' ? { path: i, source: 'learned' as const, firstSeen: 0 } : { source: 'learned' as const, firstSeen: 0, ...i })),
  };
}

/** Everything the store shows, read the same way on both. */
async function state(s: BaselineStore, nodes: readonly string[], probes: ReadonlyArray<readonly [string, string]>): Promise<unknown> {
  const all = [];
  let cursor: string | undefined;
  do {
    const page = (await s.list({}, 3, cursor))!;
    all.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
  const listens = [];
  for (const b of all) listens.push([b.key, await s.listens(b.key), await s.sync(b.key)]);
  const charged = [];
  for (const n of nodes) charged.push([n, await s.chargedTo(n)]);
  const allowed = [];
  for (const [k, p] of probes) allowed.push([k, p, await s.isAllowed(k, p), await s.allowedContents(k, p)]);
  return { all, listens, charged, allowed, counters: await s.counters(), since: await s.changedSince(0, 100_000) };
}

/** Asserts both stores show the same state. */
async function sameState(t: ExecutionContext, lite: BaselineStore, pgs: BaselineStore, nodes: readonly string[] = [], probes: ReadonlyArray<readonly [string, string]> = []): Promise<void> {
  t.deepEqual(await state(pgs, nodes, probes), await state(lite, nodes, probes), 'the same state read back');
}

pgTest('reports from two nodes merge per key with who taught what; filters and pages list the same', async (t) => {
  const { lite, pg: pgs } = await pair(t);
  await same(t, lite, pgs, (s) => s.applyReport('node-a', [rb(WEB, 'learning', ['/usr/sbin/nginx', '/bin/sh'])], T0));
  await same(t, lite, pgs, (s) => s.applyReport('node-b', [rb(WEB, 'learning', ['/usr/sbin/nginx', '/usr/bin/curl']), rb(JOB, 'learning', ['/usr/bin/pg_dump'])], T0 + 5));
  await same(t, lite, pgs, (s) => s.applyReport('node-a', [rb('host/worker', 'learning', ['/usr/bin/kubelet']), rb(WEB, 'learning', [{ path: '/bin/sh', firstSeen: T0 - 50 }])], T0 + 9));
  // One report naming a key, a path and a content twice: the second sees what the first wrote.
  await same(t, lite, pgs, (s) => s.applyReport('node-c', [
    rb(JOB, 'learning', [{ path: '/bin/x', digests: [digest(1), digest(1, 'image', T0 - 5)] }, { path: '/bin/x', firstSeen: T0 - 99, digests: [digest(2), digest(1)] }]),
    rb(JOB, 'locked', ['/bin/x', '/bin/y'], 0, ['tcp/0.0.0.0:1', 'tcp/0.0.0.0:1']),
  ], T0 + 12));
  const web = await same(t, lite, pgs, (s) => s.get(WEB));
  t.like(web, { ok: { namespace: 'shop', workload: { kind: 'Deployment', name: 'web' }, container: 'nginx', state: 'learning' } });
  for (const f of [{ namespace: 'ops' }, { workload: 'web' }, { state: 'locked' as const }, { state: 'learning' as const }, { key: JOB }, { chargedTo: '' }, { namespace: '' }]) {
    await same(t, lite, pgs, (s) => s.list(f, 10, undefined), JSON.stringify(f));
  }
  const first = await same(t, lite, pgs, (s) => s.list({}, 1, undefined));
  const cursor = 'ok' in first ? first.ok!.nextCursor! : '';
  t.truthy(cursor);
  await same(t, lite, pgs, (s) => s.list({}, 1, cursor));
  await same(t, lite, pgs, (s) => s.list({ state: 'learning' }, 2, cursor));
  await same(t, lite, pgs, (s) => s.list({}, 1, 'not a cursor'));
  await same(t, lite, pgs, (s) => s.get('nothing/Pod/x/y'));
  await same(t, lite, pgs, (s) => s.sync('nothing/Pod/x/y'));
  await sameState(t, lite, pgs, ['node-a', 'node-b'], [[WEB, '/bin/sh'], [JOB, '/usr/bin/pg_dump']]);
});

pgTest('removals, allows with contents, node and operator locks, unlock, the on-its-way window and versions', async (t) => {
  const { lite, pg: pgs } = await pair(t);
  const go = <T>(call: (s: BaselineStore) => Promise<T>, what = '') => same(t, lite, pgs, call, what);
  await go((s) => s.applyReport('node-a', [rb(WEB, 'learning', [{ path: '/usr/sbin/nginx', digests: [digest(1, 'learned', T0 - 9, 'nginx:1.27')] }, '/bin/sh'])], T0));
  await go((s) => s.change('remove', WEB, ['/bin/sh', '/never'], 'admin', T0 + 1));
  await go((s) => s.applyReport('node-b', [rb(WEB, 'learning', ['/usr/sbin/nginx', '/bin/sh'])], T0 + 2), 'a removed executable is not learned again');
  await go((s) => s.change('allow', WEB, ['/bin/sh'], 'admin', T0 + 3), 'an allow brings it back, any content');
  await go((s) => s.change('allow', WEB, ['/usr/sbin/nginx', '/opt/x'], 'ops', T0 + 4, { anyContent: false, digests: new Map([['/usr/sbin/nginx', [sha(1), sha(2), sha(2)]]]) }));
  // A node locks: everything adopts; then reports on their way (and not) at the lock.
  await go((s) => s.applyReport('node-a', [rb(WEB, 'locked', ['/usr/sbin/nginx'], 5, ['tcp/0.0.0.0:8080'])], T0 + 10));
  await go((s) => s.applyReport('node-b', [rb(WEB, 'locked', [
    { path: '/usr/bin/late', firstSeen: T0 + 5 }, { path: '/usr/bin/after', firstSeen: T0 + 20 },
    { path: '/usr/sbin/nginx', digests: [digest(3, 'learned', T0 + 20), digest(4, 'package', T0 + 20), digest(5, 'operator'), digest(6, 'learned', T0 + 1)] },
  ], 5, ['tcp/0.0.0.0:9090'])], T0 + 12), 'on its way: joins and is pushed');
  await go((s) => s.applyReport('node-c', [rb(WEB, 'locked', [{ path: '/usr/bin/backdated', firstSeen: T0 - 60_000 }], 0, ['udp/[::]:53'])], T0 + 10 + 30_001), 'past the window: refused');
  await go((s) => s.applyReport('node-c', [rb(WEB, 'learning', ['/usr/sbin/nginx'], 1)], T0 + 40_000), 'behind');
  const unlocked = await go((s) => s.change('unlock', WEB, [], 'admin', T0 + 41_000));
  const v = 'ok' in unlocked ? unlocked.ok.version : 0;
  await go((s) => s.applyReport('node-a', [rb(WEB, 'locked', ['/usr/sbin/nginx'], v - 1)], T0 + 42_000), 'made before the unlock: does not lock');
  await go((s) => s.applyReport('node-a', [rb(WEB, 'locked', [{ path: '/bin/new', inlineCode: true }], v)], T0 + 43_000), 'locks');
  await go((s) => s.change('unlock', WEB, [], 'admin', T0 + 44_000));
  await go((s) => s.change('lock', WEB, [], 'admin', T0 + 45_000));
  await go((s) => s.change('lock', WEB, [], 'other', T0 + 46_000), 'an operator lock is kept as it was');
  await go((s) => s.applyReport('node-b', [rb(WEB, 'locked', [{ path: '/x', firstSeen: T0 }], 0, ['tcp/1.2.3.4:1'])], T0 + 45_001), 'an operator lock takes nothing on its way');
  await go((s) => s.change('lock', 'ops/Job/new/c', [], 'admin', T0 + 47_000), 'a change creates the baseline');
  await go((s) => s.raiseVersion(1000));
  await go((s) => s.change('allow', JOB, ['/bin/true'], 'admin', T0 + 48_000), 'numbered above the raised version');
  await go((s) => s.raiseVersion(5));
  for (const v2 of [0, 3, 12, 1000, 1001]) await go((s) => s.changedSince(v2, 100), `changedSince ${v2}`);
  await go((s) => s.changedSince(0, 1));
  await sameState(t, lite, pgs, ['node-a', 'node-b', 'node-c'], [[WEB, '/usr/sbin/nginx'], [WEB, '/bin/sh'], [WEB, '/x'], [WEB, '/usr/bin/late'], [JOB, '/bin/true'], ['x', 'y']]);
});

pgTest('contents per item: bounded at 8 (dropped, counted), an operator\'s allow evicts the least recently seen, refused when operators own all 8', async (t) => {
  const { lite, pg: pgs } = await pair(t);
  const go = <T>(call: (s: BaselineStore) => Promise<T>, what = '') => same(t, lite, pgs, call, what);
  const ds = (from: number, n: number, at: number) => Array.from({ length: n }, (_, i) => digest(from + i, 'learned', at + i));
  const report = (d: ReportedDigest[], at: number) => (s: BaselineStore) => s.applyReport('node-a', [rb(WEB, 'learning', [{ path: '/usr/sbin/nginx', firstSeen: at, digests: d }])], at);
  await go(report(ds(0, 6, T0), T0));
  await go(report(ds(6, 4, T0 + 10), T0 + 10), 'the 9th and 10th dropped');
  await go(report(ds(0, 5, T0 + 20).concat(ds(6, 2, T0 + 20)), T0 + 20));
  await go((s) => s.change('allow', WEB, ['/usr/sbin/nginx'], 'admin', T0 + 30, { anyContent: false, digests: new Map([['/usr/sbin/nginx', [sha(10)]]]) }));
  await go((s) => s.change('allow', WEB, ['/usr/sbin/nginx'], 'admin', T0 + 40, { anyContent: false, digests: new Map([['/usr/sbin/nginx', [11, 12, 13, 14, 15, 0, 1].map(sha)]]) }));
  const full = await go((s) => s.change('allow', WEB, ['/usr/sbin/nginx'], 'admin', T0 + 50, { anyContent: false, digests: new Map([['/usr/sbin/nginx', [sha(9)]]]) }));
  t.like(full, { error: { code: 'BASELINE_LIMIT' } });
  t.is((await pgs.get(WEB))!.items[0]!.digests.length, ITEM_DIGEST_LIMITS.perItem);
  await sameState(t, lite, pgs, ['node-a'], [[WEB, '/usr/sbin/nginx']]);
});

pgTest('listens: learned, refused by a locked baseline, bounded at 256; allow-listen creates, takes over a learned one, and is refused past the bound', async (t) => {
  const { lite, pg: pgs } = await pair(t);
  const go = <T>(call: (s: BaselineStore) => Promise<T>, what = '') => same(t, lite, pgs, call, what);
  const many = (n: number, from = 0) => Array.from({ length: n }, (_, i) => `tcp/10.0.${Math.floor((from + i) / 256)}.${(from + i) % 256}:80`);
  await go((s) => s.applyReport('node-a', [rb(WEB, 'learning', ['/bin/sh'], 0, ['tcp/0.0.0.0:8080', 'udp/[::]:53', ...many(250)])], T0));
  await go((s) => s.applyReport('node-b', [rb(WEB, 'learning', ['/bin/sh'], 0, ['tcp/0.0.0.0:8080', ...many(10, 250)])], T0 + 1), '4 fit, 6 dropped');
  await go((s) => s.allowListen(WEB, 'tcp/0.0.0.0:8080', 'admin', T0 + 2), 'a learned one becomes the operator\'s');
  await go((s) => s.allowListen(WEB, 'tcp/private:9090', 'admin', T0 + 3), 'past the bound');
  await go((s) => s.allowListen('ops/Job/j/c', 'tcp/private:9090', 'admin', T0 + 4), 'creates the baseline');
  await go((s) => s.listens(WEB));
  await go((s) => s.listens('ops/Job/j/c'));
  await go((s) => s.listens('nothing'));
  t.is((await pgs.listens(WEB)).length, MAX_LISTENS_PER_BASELINE);
  await sameState(t, lite, pgs, ['node-a', 'node-b']);
});

pgTest('quotas: unvouched keys are charged to their node up to its limit; deleting a node takes only what nothing else holds on to; delete', async (t) => {
  const { lite, pg: pgs } = await pair(t);
  const go = <T>(call: (s: BaselineStore) => Promise<T>, what = '') => same(t, lite, pgs, call, what);
  const quota: ReportQuota = { maxKeysPerNode: 5, vouched: (k) => k.startsWith('host') };
  const c = (n: number) => `container:${n.toString(16).padStart(64, '0')}`;
  await go((s) => s.applyReport('node-x', [...Array.from({ length: 7 }, (_, i) => rb(c(i), 'learning', ['/bin/sh'])), rb('host/worker', 'learning', ['/bin/k'])], T0, quota));
  await go((s) => s.applyReport('node-x', [rb(c(9), 'learning', ['/bin/sh']), rb(c(0), 'learning', ['/bin/ls'])], T0 + 1, quota), 'at its limit: no new key, old ones merge');
  await go((s) => s.applyReport('node-y', [rb(c(1), 'learning', ['/bin/sh'])], T0 + 2, quota), 'another node taught c1');
  await go((s) => s.change('allow', c(2), ['/bin/op'], 'admin', T0 + 3), 'an operator allowed in c2');
  await go((s) => s.change('remove', c(3), ['/bin/sh'], 'admin', T0 + 4), 'an operator removed from c3');
  await go((s) => s.change('lock', c(4), [], 'admin', T0 + 5), 'an operator locked c4');
  await go((s) => s.chargedTo('node-x'));
  await go((s) => s.deleteChargedTo('node-x'), 'only c0 goes');
  await go((s) => s.deleteChargedTo('node-x'));
  await go((s) => s.chargedTo('node-x'));
  await go((s) => s.delete(c(1)));
  await go((s) => s.delete(c(1)), 'none left');
  await sameState(t, lite, pgs, ['node-x', 'node-y', ''], [[c(2), '/bin/op']]);
});

pgTest('limits: items per key (2048), nodes per item (32), keys (10,000) and operators\' room beyond them', async (t) => {
  const { lite, pg: pgs, pool } = await pair(t);
  const go = <T>(call: (s: BaselineStore) => Promise<T>, what = '') => same(t, lite, pgs, call, what);
  const paths = (n: number, p = '/bin/i') => Array.from({ length: n }, (_, i) => `${p}${i}`);
  await go((s) => s.applyReport('node-a', [rb(WEB, 'learning', paths(BASELINE_LIMITS.itemsPerKey + 2))], T0), '2 dropped');
  await go((s) => s.change('allow', WEB, ['/bin/i0', '/new'], 'admin', T0 + 1), 'no room for a new item');
  for (let n = 0; n < BASELINE_LIMITS.nodesPerItem + 2; n++) {
    await go((s) => s.applyReport(`node-${n}`, [rb(JOB, 'learning', ['/bin/dump'])], T0 + 2 + n));
  }
  t.is((await pgs.get(JOB))!.items[0]!.taughtBy.length, BASELINE_LIMITS.nodesPerItem);
  // Fill to one below the key limit, then a report of three new keys.
  const fill = Array.from({ length: BASELINE_LIMITS.keys - 3 }, (_, i) => rb(`fill/Pod/p${i}/c`, 'learning', []));
  const filled = await go((s) => s.applyReport('node-f', fill, T0 + 100));
  t.like(filled, { ok: { keysDropped: 0 } });
  await go((s) => s.applyReport('node-g', [rb('a/Pod/1/c', 'learning', ['/x']), rb('a/Pod/2/c', 'learning', ['/x']), rb(WEB, 'learning', ['/x'])], T0 + 101), 'one fits');
  await go((s) => s.allowListen('b/Pod/1/c', 'tcp/0.0.0.0:1', 'admin', T0 + 102), 'operators have room beyond');
  await pool.query(`INSERT INTO baselines (key, state, created_at, updated_at) SELECT 'op/Pod/' || g || '/c', 'learning', 0, 0 FROM generate_series(1, ${BASELINE_LIMITS.operatorKeys - 1}) g`);
  for (let i = 1; i < BASELINE_LIMITS.operatorKeys; i++) await lite.change('lock', `op/Pod/${i}/c`, [], 'admin', 0);
  t.is((await pgs.counters()).keys, BASELINE_LIMITS.keys + BASELINE_LIMITS.operatorKeys);
  t.is((await lite.counters()).keys, BASELINE_LIMITS.keys + BASELINE_LIMITS.operatorKeys);
  await go((s) => s.change('allow', 'c/Pod/1/c', ['/x'], 'admin', T0 + 103), 'no room at all');
  await go((s) => s.allowListen('c/Pod/1/c', 'tcp/0.0.0.0:1', 'admin', T0 + 103));
  const dropped = await go((s) => s.applyReport('node-g', [rb('c/Pod/2/c', 'learning', ['/x'])], T0 + 104));
  t.like(dropped, { ok: { keysDropped: 1 } });
});

pgTest('catch-ups leave out unattributed container keys, whatever the case of their prefix (SQLite\'s LIKE)', async (t) => {
  const { lite, pg: pgs } = await pair(t);
  for (const key of ['container:abc', 'CONTAINER:abc', 'Container:x', 'containers/Pod/x/y', 'container_x', 'ns/Pod/container:%/c', 'CONTAİNER:x']) {
    await same(t, lite, pgs, (s) => s.change('lock', key, [], 'admin', T0), key);
  }
  const since = await same(t, lite, pgs, (s) => s.changedSince(0, 100));
  t.deepEqual('ok' in since ? since.ok.map((e) => e.key) : [], ['containers/Pod/x/y', 'container_x', 'ns/Pod/container:%/c', 'CONTAİNER:x'], 'case folded for ASCII alone');
});

// Random sequences of calls with hostile text (%, _, quotes, backslashes, case, unicode beyond
// the BMP): every call's outcome and the state after are the same on both backends, on a
// database whose default collation is not C.
const text = fc.oneof(
  fc.constantFrom('%', '_', '\\', "'", '"', 'é', 'E', 'e', 'z', 'Z', '\u{1F600}', '\uFFFF', ' ', '/', 'a%b', 'a_b'),
  fc.string({ unit: 'grapheme', maxLength: 6 }),
).map((s) => s.replace(/[\u0000-\u001f\u007f]/g, '?'));
const path = fc.tuple(text, text).map(([a, b]) => `/${a}${b}`);
const key = fc.oneof(fc.constantFrom(WEB, JOB, 'host/worker', 'container:ab', 'CONTAINER:ab'), fc.tuple(text, text).map(([a, b]) => `n${a}/Pod/${b}/c`));
const node = fc.constantFrom('node-a', 'node-b', 'Node-a', 'node_%');
const item = fc.record({
  path, firstSeen: fc.integer({ min: 0, max: 200 }).map((d) => (d === 0 ? 0 : T0 + d * 1000)),
  source: fc.constantFrom('learned' as const, 'startup' as const, 'operator' as const), inlineCode: fc.boolean(),
  digests: fc.array(fc.record({ sha256: fc.integer({ min: 0, max: 11 }).map(sha), source: fc.constantFrom<DigestSource>('learned', 'package', 'image', 'first-sight', 'operator', 'startup'), image: text, firstSeen: fc.integer({ min: 0, max: 3 }).map((d) => (d === 0 ? 0 : T0 + d)) }), { maxLength: 3 }),
});
const op = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('report' as const), node, quota: fc.boolean(), baselines: fc.array(fc.record({ key, state: fc.constantFrom('learning' as const, 'locked' as const), version: fc.integer({ min: 0, max: 30 }), items: fc.array(item, { maxLength: 4 }), listens: fc.array(text, { maxLength: 3 }) }), { maxLength: 3 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('change' as const), action: fc.constantFrom('allow' as const, 'remove' as const, 'lock' as const, 'unlock' as const), key, paths: fc.array(path, { maxLength: 3 }), by: text, any: fc.boolean(), shas: fc.array(fc.integer({ min: 0, max: 11 }), { maxLength: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('listen' as const), key, listen: text, by: text }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), key }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('cleanup' as const), node }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('raise' as const), version: fc.integer({ min: 0, max: 40 }) }) },
);
type Op = typeof op extends fc.Arbitrary<infer O> ? O : never;

function apply(s: BaselineStore, o: Op, now: number): Promise<unknown> {
  switch (o.kind) {
    case 'report': return s.applyReport(o.node, o.baselines, now, o.quota ? { maxKeysPerNode: 2, vouched: (k) => k.startsWith('host') } : undefined);
    case 'change': return s.change(o.action, o.key, o.paths, o.by, now, { anyContent: o.any, digests: new Map(o.paths.map((p) => [p, o.shas.map(sha)])) });
    case 'listen': return s.allowListen(o.key, o.listen, o.by, now);
    case 'delete': return s.delete(o.key);
    case 'cleanup': return s.deleteChargedTo(o.node);
    case 'raise': return s.raiseVersion(o.version);
  }
}

pgTest('fast-check: random sequences of reports, changes, allow-listens, deletes and cleanups give the same outcomes and state', async (t) => {
  const pool = (await replica(t, await createIcuDatabase(await server()))).pool;
  const pgs = createPgBaselineStore(sqlOf(pool), transactOn(pool));
  await fc.assert(fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 14 }), async (ops) => {
    await pool.query("TRUNCATE baselines RESTART IDENTITY CASCADE; UPDATE baseline_meta SET value = 0");
    const lite = openStore({ path: ':memory:' });
    try {
      let now = T0;
      for (const o of ops) {
        now += 7_000;
        const [a, b] = await agree(lite.baselines, pgs, (s) => apply(s, o, now));
        if (JSON.stringify(a) !== JSON.stringify(b)) t.deepEqual(b, a, JSON.stringify(o));
        if (JSON.stringify(a) !== JSON.stringify(b)) return false;
      }
      const keys = new Set(ops.flatMap((o) => ('key' in o ? [o.key] : o.kind === 'report' ? o.baselines.map((x) => x.key) : [])));
      const paths = new Set(ops.flatMap((o) => (o.kind === 'change' ? o.paths : o.kind === 'report' ? o.baselines.flatMap((x) => x.items.map((i) => i.path)) : [])));
      const probes = [...keys].flatMap((k) => [...paths].slice(0, 4).map((p) => [k, p] as const));
      const nodes = ['node-a', 'node-b', 'Node-a', 'node_%'];
      const [x, y] = [await state(lite.baselines, nodes, probes), await state(pgs, nodes, probes)];
      if (JSON.stringify(x) !== JSON.stringify(y)) {
        t.deepEqual(y, x, JSON.stringify(ops));
        return false;
      }
      return true;
    } finally {
      await lite.close();
    }
  }), { numRuns: 40 });
  t.pass();
});

// Two replicas at once (PostgreSQL only).

/** Two replicas' stores on one new database. */
async function replicas(t: ExecutionContext): Promise<[BaselineStore, BaselineStore, pg.Pool]> {
  const db = await (await server()).createDatabase();
  const a = await replica(t, db);
  const b = await replica(t, db);
  return [a.store, b.store, a.pool];
}

pgTest('two replicas\' reports racing at the key limit admit exactly up to it; a node\'s own limit holds the same way', async (t) => {
  const [a, b, pool] = await replicas(t);
  await pool.query(`INSERT INTO baselines (key, state, created_at, updated_at) SELECT 'fill/Pod/' || g || '/c', 'learning', 0, 0 FROM generate_series(1, ${BASELINE_LIMITS.keys - 10}) g`);
  for (let round = 0; round < 3; round++) {
    const keys = (r: string) => Array.from({ length: 8 }, (_, i) => rb(`r${round}${r}/Pod/${i}/c`, 'learning', ['/bin/sh']));
    const [x, y] = await Promise.all([a.applyReport('node-a', keys('a'), T0), b.applyReport('node-b', keys('b'), T0)]);
    const c = await a.counters();
    t.is(c.keys, BASELINE_LIMITS.keys, `round ${round}: never past the limit`);
    t.is(x.keysDropped + y.keysDropped, round === 0 ? 6 : 16);
    t.is(c.keysDropped, [6, 22, 38][round]!);
  }
  // One node's reports reaching two replicas (a reconnect) at its own limit.
  await pool.query("DELETE FROM baselines WHERE key LIKE 'fill/%'");
  const quota: ReportQuota = { maxKeysPerNode: 5, vouched: () => false };
  const c = (r: string, i: number) => `container:${r}${i.toString(16).padStart(63, '0')}`;
  const [x, y] = await Promise.all([
    a.applyReport('node-q', Array.from({ length: 4 }, (_, i) => rb(c('a', i), 'learning', [])), T0, quota),
    b.applyReport('node-q', Array.from({ length: 4 }, (_, i) => rb(c('b', i), 'learning', [])), T0, quota),
  ]);
  t.is(await a.chargedTo('node-q'), 5);
  t.is(x.keysOverNodeLimit + y.keysOverNodeLimit, 3);
});

pgTest('two replicas changing baselines at once get distinct versions, in commit order, and the counter ends at their number', async (t) => {
  const [a, b] = await replicas(t);
  await a.applyReport('node-a', [rb(WEB, 'learning', ['/bin/sh']), rb(JOB, 'learning', ['/bin/sh'])], T0);
  const versions: number[] = [];
  /** A reader polling the catch-up: a version it has seen is never followed by a lower one appearing. */
  let highest = 0;
  let gaps = 0;
  let stop = false;
  const reader = (async () => {
    const seen = new Set<number>();
    while (!stop) {
      for (const e of await b.changedSince(0, 100)) {
        if (!seen.has(e.version) && e.version < highest) gaps++;
        seen.add(e.version);
        highest = Math.max(highest, e.version);
      }
    }
  })();
  const run = async (s: BaselineStore, who: string) => {
    for (let i = 0; i < 15; i++) {
      const key = i % 3 === 0 ? WEB : i % 3 === 1 ? JOB : `${who}/Pod/p${i}/c`;
      const out = i % 2 === 0 ? await s.change('allow', key, [`/bin/${who}${i}`], who, T0 + i) : await s.allowListen(key, `tcp/0.0.0.0:${i}`, who, T0 + i);
      versions.push(out.version);
    }
  };
  await Promise.all([run(a, 'a'), run(b, 'b')]);
  stop = true;
  await reader;
  t.is(new Set(versions).size, 30, 'distinct');
  t.deepEqual([...versions].sort((x, y) => x - y), Array.from({ length: 30 }, (_, i) => i + 1));
  t.is((await a.counters()).version, 30);
  t.is(gaps, 0, 'a catch-up never misses a version that commits later');
});

pgTest('writes locking baselines in opposite orders on two replicas, with deletes and node cleanups between, never deadlock', async (t) => {
  const [a, b] = await replicas(t);
  const keys = ['k/Pod/a/c', 'k/Pod/b/c', 'k/Pod/c/c', 'k/Pod/d/c'];
  const quota: ReportQuota = { maxKeysPerNode: 100, vouched: () => false };
  const work = async (s: BaselineStore, order: readonly string[], node: string) => {
    for (let i = 0; i < 12; i++) {
      await s.applyReport(node, order.map((k) => rb(k, i % 4 === 3 ? 'locked' : 'learning', [`/bin/${node}${i}`], 0, [`tcp/0.0.0.0:${i}`])), T0 + i, quota);
      if (i % 3 === 0) await s.change('allow', order[0]!, ['/bin/op'], 'admin', T0 + i);
      if (i % 4 === 1) await s.delete(order[1]!);
      if (i % 5 === 2) await s.deleteChargedTo(node === 'node-a' ? 'node-b' : 'node-a');
    }
  };
  await t.notThrowsAsync(Promise.all([work(a, keys, 'node-a'), work(b, [...keys].reverse(), 'node-b'), work(a, [keys[2]!, keys[0]!, keys[3]!, keys[1]!], 'node-c')]));
  const c = await a.counters();
  t.true(c.keys <= keys.length);
});

pgTest('every version taken is announced to the replicas when its change commits, with that version; a change that rolls back announces nothing', async (t) => {
  const s = await server();
  const db = await s.createDatabase();
  const { store } = await replica(t, db);
  const listener = await connectTo(s.url(db));
  t.teardown(() => listener.end());
  const heard: unknown[] = [];
  listener.on('notification', (n) => heard.push(JSON.parse(n.payload ?? 'null')));
  await listener.query(`LISTEN ${BASELINE_CHANNEL}`);
  const allowed = await store.change('allow', WEB, ['/bin/sh'], 'admin', T0);
  await store.applyReport('node-a', [rb(JOB, 'locked', ['/bin/dump']), rb('host/worker', 'learning', ['/bin/k'])], T0 + 1);
  const listen = await store.allowListen(WEB, 'tcp/0.0.0.0:80', 'admin', T0 + 2);
  await store.change('lock', 'not a baseline key', [], 'admin', T0 + 3);
  const full = Array.from({ length: ITEM_DIGEST_LIMITS.perItem }, (_, i) => sha(i));
  await store.change('allow', WEB, ['/bin/sh'], 'admin', T0 + 4, { anyContent: false, digests: new Map([['/bin/sh', full]]) });
  await t.throwsAsync(store.change('allow', WEB, ['/bin/sh'], 'admin', T0 + 5, { anyContent: false, digests: new Map([['/bin/sh', [sha(9)]]]) }), { message: /holds 8 contents/ });
  await listener.query('SELECT 1'); // notifications sent before this round trip have arrived
  t.deepEqual(heard, [{ key: WEB, version: allowed.version }, { key: JOB, version: 2 }, { key: WEB, version: listen.version }, { key: WEB, version: 5 }]);
});
