// The PostgreSQL webhook outbox (collector/store/pg/outbox.ts) against the SQLite one, its
// specification: the same units (enqueue, fire, unfire; committed or rolled back) and the
// same outside calls (pending, planned, plan, delivered, retryLater, dead, retry, counts,
// list, firing, prune, abandonUnconfigured) give deep-equal results, errors and listener
// calls, and the same rows read back. The cases are those webhooks and webhook-sinks make of
// the store: maxPending's drops, dead letters and their retry by id and by destination,
// destinations no longer configured; fast-check drives random sequences with hostile finding
// ids and errors. Then PostgreSQL alone with two replicas (two pools on one database): units
// enqueuing at once past maxPending in opposite destination orders, with dispatchers settling
// rows between, keep the bound, the counters and the rows in agreement and never deadlock.
import fc from 'fast-check';
import type { ExecutionContext } from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import type { AlertEvent, Finding, FindingChange } from '../../collector/finding.js';
import { openStore } from '../../collector/store/sqlite.js';
import { decodeDeliveryCursor, type OutboxQueue, type OutboxStore, type OutboxUnit, type Store } from '../../collector/store/store.js';
import { createPgOutbox, type PgOutbox } from '../../collector/store/pg/outbox.js';
import { openPgStore } from '../../collector/store/pg/store.js';
import { sqlOf, transactOn } from '../../collector/store/pg/sql.js';
import { needsPostgres, postgresForFile } from '../helpers/postgres.js';
import { agree, createIcuDatabase, pgPool, same } from '../helpers/pg-differential.js';

const pgTest = needsPostgres();
const server = postgresForFile();

const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const QUEUES: OutboxQueue[] = [{ name: 'ops', format: 'json', maxPending: 3 }, { name: 'am', format: 'alertmanager', maxPending: 100 }, { name: 'Zed', format: 'slack', maxPending: 2 }];

function change(id: string, event: AlertEvent = 'opened', at = T0): FindingChange {
  const finding = {
    id, scope: 'node', node: 'node-a', checkId: 'cis-4.2.1', cis: '4.2.1', references: [], title: 'A title', category: 'kubelet', subject: `s-${id}`,
    severity: 'high', status: 'fail', state: 'open', actual: 'true', expected: 'false', reason: 'r', remediation: 'm', seen: new Date(at).toISOString(),
    firstSeen: new Date(at).toISOString(), lastSeen: new Date(at).toISOString(), count: 1, resolvedAt: null, detail: { pid: 42, note: `\u0000'"%_\\${id}` },
    scored: true, source: 'flag', sourceFile: '', suppressedReason: null, suppressedUntil: null, suppressedBy: null, suppressedAt: null,
  } as unknown as Finding;
  return { event, at: new Date(at).toISOString(), finding };
}

/** One backend's outbox: outside calls, units, and what its listeners heard. */
interface Side {
  readonly outbox: OutboxStore;
  unit<T>(work: (u: OutboxUnit) => Promise<T>): Promise<T>;
  readonly heard: Array<[string, number]>;
}

function sqliteSide(store: Store): Side {
  const heard: Array<[string, number]> = [];
  store.outbox.subscribe((d, n) => heard.push([d, n]));
  return { outbox: store.outbox, unit: (work) => store.unit((u) => work(u.outbox)), heard };
}

/** A unit as the PostgreSQL store will run one: a transaction on one client, the outbox written last and told how it ended. */
function pgSide(outbox: PgOutbox, pool: pg.Pool): Side {
  const heard: Array<[string, number]> = [];
  outbox.store.subscribe((d, n) => heard.push([d, n]));
  const transact = transactOn(pool);
  return {
    outbox: outbox.store, heard,
    async unit(work) {
      let part: ReturnType<PgOutbox['forUnit']> | undefined;
      try {
        const out = await transact(async (q) => {
          part = outbox.forUnit(q);
          const value = await work(part);
          await part.flush();
          return value;
        });
        part?.committed();
        return out;
      } catch (err) {
        part?.rolledBack();
        throw err;
      }
    },
  };
}

/** SQLite in a file (reopened with other destinations in a test) and PostgreSQL on a fresh database. */
async function pair(t: ExecutionContext, queues = QUEUES, database?: string): Promise<{ lite: Side; pg: Side; pool: pg.Pool; path: string; db: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-pg-outbox-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'nodeward.db');
  const store = openStore({ path, webhooks: queues });
  t.teardown(() => store.close());
  const s = await server();
  const db = database ?? await s.createDatabase();
  const pool = await pgPool(t, s, db);
  return { lite: sqliteSide(store), pg: pgSide(createPgOutbox(sqlOf(pool), transactOn(pool), queues), pool), pool, path, db };
}

/** Every row's seq, oldest first. */
async function seqsOf(o: OutboxStore): Promise<number[]> {
  return (await o.list({}, 100_000, Number.MAX_SAFE_INTEGER)).items.map((d) => d.id).reverse();
}

/**
 * `value` with every row number (a Delivery's id, an OutboxRow's seq, a cursor) written as the
 * row's rank among the rows there are, oldest first. The backends number rows alike until a
 * unit rolls back: SQLite gives its numbers out again (the next rowid is the highest plus one),
 * PostgreSQL's identity does not. Ranks are what both keep: the order rows were queued in.
 */
function ranked(value: unknown, seqs: readonly number[]): unknown {
  if (Array.isArray(value)) return value.map((v) => ranked(v, seqs));
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => {
    if ((k === 'id' || k === 'seq') && typeof v === 'number') return [k, `#${seqs.indexOf(v)}`];
    if (k === 'nextCursor' && typeof v === 'string') return [k, `#${seqs.indexOf(decodeDeliveryCursor(v) ?? -1)}`];
    if (k === 'change' || k === 'finding') return [k, v];
    return [k, ranked(v, seqs)];
  }));
}

/** Everything the outbox shows, read the same way on both, rows by rank. */
async function state(o: OutboxStore, names: readonly string[]): Promise<unknown> {
  const rows = [];
  let before = Number.MAX_SAFE_INTEGER;
  for (;;) {
    const page = await o.list({}, 4, before);
    rows.push(...page.items);
    if (page.nextCursor === null) break;
    before = page.items.at(-1)!.id;
  }
  const per = [];
  for (const n of names) per.push([n, await o.pending(n, 1000), await o.planned(n, 1000), await o.firing(n)]);
  return ranked({ rows, per, counts: await o.counts() }, await seqsOf(o));
}

pgTest('units: queued rows are announced after the commit, with the rows maxPending pushed out; a rolled-back unit leaves nothing and tells nobody', async (t) => {
  const { lite, pg: pgs } = await pair(t);
  const go = <T>(call: (s: Side) => Promise<T>, what = '') => same(t, lite, pgs, call, what);
  await go((s) => s.unit(async (u) => {
    for (let i = 0; i < 5; i++) {
      const c = change(`f${i}`, 'opened', T0 + i);
      for (const d of ['ops', 'am', 'Zed', 'gone']) await u.enqueue(d, c, T0 + i);
      await u.fire('am', c);
    }
    await u.unfire('am', 'f1');
    return 'done';
  }));
  await go((s) => s.unit(async (u) => {
    await u.enqueue('ops', change('f9'), T0 + 9);
    await u.fire('am', change('f9'));
    throw new Error('the unit fails');
  }), 'rolled back');
  await go((s) => s.unit(async (u) => {
    await u.enqueue('Zed', change('f1', 'resolved', T0 + 20), T0 + 20);
    await u.fire('am', change('f0', 'escalated', T0 + 20));
    await u.unfire('am', 'nothing');
  }));
  t.deepEqual(pgs.heard, lite.heard);
  t.deepEqual(pgs.heard, [['ops', 2], ['am', 0], ['Zed', 3], ['Zed', 1]]);
  await go((s) => s.outbox.counts());
  await go((s) => s.outbox.counts('Zed'));
  await go((s) => s.outbox.counts('gone'));
  t.deepEqual(await state(pgs.outbox, ['ops', 'am', 'Zed', 'gone']), await state(lite.outbox, ['ops', 'am', 'Zed', 'gone']));
});

pgTest('dispatching: plan, delivered, retries, dead letters, retry by id and by destination, list filters and pages, prune', async (t) => {
  const { lite, pg: pgs } = await pair(t);
  const go = <T>(call: (s: Side) => Promise<T>, what = '') => same(t, lite, pgs, call, what);
  await go((s) => s.unit(async (u) => {
    for (let i = 0; i < 3; i++) for (const d of ['ops', 'am', 'Zed']) await u.enqueue(d, change(`f${i}`, i === 2 ? 'resolved' : 'opened'), T0 + i);
  }));
  await go((s) => s.outbox.pending('ops', 2));
  await go((s) => s.outbox.plan([{ seqs: [1, 4], deliveryId: 'delivery-1' }]));
  await go((s) => s.outbox.plan([{ seqs: [1, 7], deliveryId: 'delivery-2' }]), 'a planned row keeps its delivery id');
  await go((s) => s.outbox.plan([]), 'nothing to plan');
  await go((s) => s.outbox.plan([{ seqs: [2], deliveryId: 'delivery-3' }, { seqs: [2, 5], deliveryId: 'delivery-4' }, { seqs: [8], deliveryId: 'delivery-5' }]),
    'several messages at once; a row named twice keeps its first');
  await go((s) => s.outbox.planned('ops', 10));
  await go((s) => s.outbox.planned('am', 10));
  await go((s) => s.outbox.retryLater([1, 4], { httpStatus: 503, error: 'x'.repeat(600), nextAttemptAt: T0 + 100 }));
  await go((s) => s.outbox.retryLater([2], { httpStatus: null, error: 'ECONNREFUSED é\u{1F600}', nextAttemptAt: T0 + 200 }));
  await go((s) => s.outbox.retryLater([5], { httpStatus: null, error: `${'x'.repeat(499)}\u{1F600}`, nextAttemptAt: T0 + 200 }), 'the cut splits a surrogate pair');
  await go((s) => s.outbox.delivered('ops', [1, 1, 4, 999], 200, T0 + 300), 'counted once each, pending only');
  await go((s) => s.outbox.delivered('ops', [1], 200, T0 + 301), 'already delivered');
  await go((s) => s.outbox.dead('am', [2, 5], { httpStatus: 400, error: 'refused', attempted: true }, T0 + 400));
  await go((s) => s.outbox.dead('Zed', [3, 6], { httpStatus: null, error: 'too old', attempted: false }, T0 + 401));
  await go((s) => s.outbox.dead('Zed', [], { httpStatus: null, error: 'none', attempted: false }, T0 + 402));
  await go((s) => s.outbox.counts());
  await go((s) => s.outbox.retry({ ids: [6, 2, 2, 3, 999] }, T0 + 500), 'by id, in that order');
  await go((s) => s.outbox.dead('am', [2, 5], { httpStatus: 500, error: 'again', attempted: true }, T0 + 600));
  await go((s) => s.outbox.retry({ ids: [2, 3], destination: 'Zed' }, T0 + 700), 'ids of that destination only');
  await go((s) => s.outbox.retry({ destination: 'am' }, T0 + 800));
  await go((s) => s.outbox.retry({}, T0 + 900));
  await go((s) => s.outbox.retry({ ids: [1e300, 2 ** 63, 1.5, -1] }, T0 + 901), 'ids no row has');
  t.deepEqual(pgs.heard, lite.heard);
  for (const f of [{}, { destination: 'ops' }, { status: 'delivered' as const }, { status: 'pending' as const, destination: 'Zed' }, { findingId: 'f1' }, { findingId: "f1' OR 1=1 --" }, { destination: 'am', status: 'dead' as const, findingId: 'f2' }]) {
    await go((s) => s.outbox.list(f, 2, Number.MAX_SAFE_INTEGER), JSON.stringify(f));
    await go((s) => s.outbox.list(f, 2, 5), `${JSON.stringify(f)} before 5`);
  }
  await go((s) => s.outbox.prune(T0 + 300, T0), 'delivered before');
  await go((s) => s.outbox.dead('ops', [7], { httpStatus: 410, error: 'gone', attempted: true }, T0 + 1000));
  await go((s) => s.outbox.prune(0, T0 + 1001), 'dead before');
  t.deepEqual(await state(pgs.outbox, ['ops', 'am', 'Zed']), await state(lite.outbox, ['ops', 'am', 'Zed']));
});

pgTest('prune deletes in batches of 5000 until none is left', async (t) => {
  const { lite, pg: pgs } = await pair(t, [{ name: 'big', format: 'json', maxPending: 20_000 }]);
  const go = <T>(call: (s: Side) => Promise<T>, what = '') => same(t, lite, pgs, call, what);
  await go((s) => s.unit(async (u) => {
    const c = change('f');
    for (let i = 0; i < 5003; i++) await u.enqueue('big', c, T0);
  }));
  const seqs = Array.from({ length: 5003 }, (_, i) => i + 1);
  await go((s) => s.outbox.delivered('big', seqs, 204, T0 + 1));
  await go((s) => s.outbox.prune(T0 + 2, 0));
  await go((s) => s.outbox.counts());
});

pgTest('a destination no longer configured: its pending rows become dead letters and its firing set goes; retry leaves them dead', async (t) => {
  const first = await pair(t);
  await same(t, first.lite, first.pg, (s) => s.unit(async (u) => {
    for (const d of ['ops', 'am', 'Zed']) await u.enqueue(d, change('f1'), T0);
    await u.fire('am', change('f1'));
    await u.fire('Zed', change('f2'));
  }));
  // The same databases, opened with 'am' alone.
  const only: OutboxQueue[] = [{ name: 'am', format: 'alertmanager', maxPending: 100 }];
  const reopened = openStore({ path: first.path, webhooks: only });
  t.teardown(() => reopened.close());
  const lite = sqliteSide(reopened);
  const pgs = pgSide(createPgOutbox(sqlOf(first.pool), transactOn(first.pool), only), first.pool);
  const go = <T>(call: (s: Side) => Promise<T>, what = '') => same(t, lite, pgs, call, what);
  await go((s) => s.outbox.abandonUnconfigured(T0 + 10));
  await go((s) => s.outbox.abandonUnconfigured(T0 + 11), 'nothing left');
  await go((s) => s.outbox.retry({ destination: 'ops' }, T0 + 12), 'nothing to send it to');
  await go((s) => s.outbox.retry({ ids: [1, 2, 3] }, T0 + 12));
  await go((s) => s.outbox.firing('Zed'));
  await go((s) => s.outbox.firing('am'));
  t.deepEqual(await state(pgs.outbox, ['ops', 'am', 'Zed']), await state(lite.outbox, ['ops', 'am', 'Zed']));
});

// Random sequences with hostile finding ids and errors (%, _, quotes, backslashes, NUL inside
// the JSON, unicode beyond the BMP), on a database whose default collation is not C. Control
// characters are left out of ids and errors as their writers leave them out (ids are
// fingerprints; the sender's safeText blanks them), and PostgreSQL text cannot hold NUL.
const text = fc.oneof(
  fc.constantFrom('%', '_', '\\', "'", '"', 'é', 'E', 'e', 'Z', 'a', '\u{1F600}', '\uFFFF', ' '),
  fc.string({ unit: 'grapheme', maxLength: 6 }),
).map((x) => x.replace(/[\u0000-\u001f\u007f]/g, '?'));
const dest = fc.constantFrom('ops', 'am', 'Zed', 'gone');
const seqs = fc.array(fc.integer({ min: 1, max: 30 }), { maxLength: 5 });
const op = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('unit' as const), fail: fc.boolean(), writes: fc.array(fc.record({ w: fc.constantFrom('enqueue' as const, 'fire' as const, 'unfire' as const), dest, id: text, event: fc.constantFrom<AlertEvent>('opened', 'resolved', 'reopened') }), { maxLength: 6 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('plan' as const), seqs, id: text }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delivered' as const), dest, seqs }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('later' as const), seqs, error: text }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('dead' as const), dest, seqs, error: text, attempted: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('retry' as const), ids: fc.option(seqs, { nil: undefined }), destination: fc.option(dest, { nil: undefined }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('list' as const), destination: fc.option(dest, { nil: undefined }), findingId: fc.option(text, { nil: undefined }), before: fc.integer({ min: 0, max: 40 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('prune' as const), delivered: fc.integer({ min: 0, max: 50 }), dead: fc.integer({ min: 0, max: 50 }) }) },
);
type Op = typeof op extends fc.Arbitrary<infer O> ? O : never;

/** Ranks (the ops' row references) as this side's seqs; a rank past the rows names no row. */
async function apply(s: Side, o: Op, now: number): Promise<unknown> {
  const rows = await seqsOf(s.outbox);
  const at = (r: number): number => rows[r - 1] ?? 1_000_000 + r;
  const seqs = 'seqs' in o ? o.seqs.map(at) : [];
  const out = await run(s, o, now, seqs, at);
  return ranked(out, await seqsOf(s.outbox));
}

async function run(s: Side, o: Op, now: number, seqs: number[], at: (r: number) => number): Promise<unknown> {
  switch (o.kind) {
    case 'unit': return s.unit(async (u) => {
      for (const w of o.writes) {
        if (w.w === 'enqueue') await u.enqueue(w.dest, change(w.id, w.event, now), now);
        else if (w.w === 'fire') await u.fire(w.dest, change(w.id, w.event, now));
        else await u.unfire(w.dest, w.id);
      }
      if (o.fail) throw new Error('the unit fails');
    });
    case 'plan': return s.outbox.plan([{ seqs, deliveryId: o.id }]);
    case 'delivered': return s.outbox.delivered(o.dest, seqs, 200, now);
    case 'later': return s.outbox.retryLater(seqs, { httpStatus: 502, error: o.error, nextAttemptAt: now + 5 });
    case 'dead': return s.outbox.dead(o.dest, seqs, { httpStatus: null, error: o.error, attempted: o.attempted }, now);
    case 'retry': return s.outbox.retry({ ids: o.ids?.map(at), destination: o.destination }, now);
    case 'list': return s.outbox.list({ destination: o.destination, findingId: o.findingId }, 3, o.before === 0 ? Number.MAX_SAFE_INTEGER : at(o.before));
    case 'prune': return s.outbox.prune(T0 + o.delivered, T0 + o.dead);
  }
}

pgTest('fast-check: random sequences of units and dispatcher calls give the same outcomes, announcements and rows', async (t) => {
  const s = await server();
  const pool = await pgPool(t, s, await createIcuDatabase(s));
  await fc.assert(fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 16 }), async (ops) => {
    await pool.query('TRUNCATE webhook_outbox, webhook_queues, webhook_firing RESTART IDENTITY');
    const pgs = pgSide(createPgOutbox(sqlOf(pool), transactOn(pool), QUEUES), pool);
    const store = openStore({ path: ':memory:', webhooks: QUEUES });
    const lite = sqliteSide(store);
    try {
      let now = T0;
      for (const o of ops) {
        now += 1;
        const [a, b] = await agree(lite, pgs, (x) => apply(x, o, now));
        if (JSON.stringify(a) !== JSON.stringify(b)) {
          t.deepEqual(b, a, JSON.stringify(o));
          return false;
        }
      }
      const names = ['ops', 'am', 'Zed', 'gone'];
      const [x, y] = [await state(lite.outbox, names), await state(pgs.outbox, names)];
      if (JSON.stringify(x) !== JSON.stringify(y) || JSON.stringify(lite.heard) !== JSON.stringify(pgs.heard)) {
        t.deepEqual([y, pgs.heard], [x, lite.heard], JSON.stringify(ops));
        return false;
      }
      return true;
    } finally {
      await store.close();
    }
  }), { numRuns: 60 });
  t.pass();
});

// Two replicas at once (PostgreSQL only).

pgTest('two replicas\' units enqueuing at once past maxPending, in opposite destination orders, with dispatchers settling rows: the bound and the counters hold, and nothing deadlocks', async (t) => {
  const s = await server();
  const db = await s.createDatabase();
  const queues: OutboxQueue[] = [{ name: 'a', format: 'json', maxPending: 5 }, { name: 'b', format: 'json', maxPending: 7 }];
  const replicas = await Promise.all([0, 1].map(async () => {
    const pool = await pgPool(t, s, db);
    return pgSide(createPgOutbox(sqlOf(pool), transactOn(pool), queues), pool);
  }));
  const units = 25;
  const enqueue = (side: Side, order: readonly string[], who: string) => (async () => {
    for (let i = 0; i < units; i++) {
      await side.unit(async (u) => {
        await u.fire(order[0]!, change(`${who}-fire`));
        for (const d of order) await u.enqueue(d, change(`${who}${i}`), T0 + i);
        await u.unfire(order[1]!, `${who}-fire`);
      });
    }
  })();
  const settle = (side: Side) => (async () => {
    for (let i = 0; i < 15; i++) {
      for (const d of ['a', 'b']) {
        const rows = await side.outbox.pending(d, 2);
        if (i % 2 === 0) await side.outbox.delivered(d, rows.map((r) => r.seq), 200, T0 + 100 + i);
        else await side.outbox.dead(d, rows.map((r) => r.seq), { httpStatus: 500, error: 'x', attempted: true }, T0 + 100 + i);
      }
      // Retries revive dead letters past the bound (as on SQLite): 'a' alone, so 'b' shows the bound.
      if (i % 5 === 4) await side.outbox.retry({ destination: 'a' }, T0 + 200 + i);
    }
  })();
  const [r1, r2] = replicas as [Side, Side];
  await t.notThrowsAsync(Promise.all([enqueue(r1, ['a', 'b'], 'x'), enqueue(r2, ['b', 'a'], 'y'), enqueue(r1, ['b', 'a'], 'z'), settle(r1), settle(r2)]));
  const pool = await pgPool(t, s, db);
  const actual = (await pool.query<{ destination: string; status: string; n: number }>(
    'SELECT destination, status, count(*)::int AS n FROM webhook_outbox GROUP BY destination, status ORDER BY destination, status')).rows;
  const counted = await r1.outbox.counts();
  for (const q of queues) {
    const c = counted.find((x) => x.destination === q.name)!;
    const pending = actual.find((r) => r.destination === q.name && r.status === 'pending')?.n ?? 0;
    const delivered = actual.find((r) => r.destination === q.name && r.status === 'delivered')?.n ?? 0;
    if (q.name === 'b') t.true(pending <= q.maxPending, `${q.name}: at most maxPending pending`);
    t.is(c.pending, pending, `${q.name}: the counter is the rows`);
    t.is(c.dead, actual.find((r) => r.destination === q.name && r.status === 'dead')?.n ?? 0);
    t.is(pending + c.dead + delivered + c.dropped, 3 * units, `${q.name}: every row queued is pending, dead, delivered or counted dropped`);
  }
  // Each replica's listeners heard its own units (two destinations each) and its retries.
  t.true(r1.heard.length >= 2 * units * 2 && r2.heard.length >= units * 2);
});

pgTest('two replicas enqueuing at once to a destination at maxPending: never more pending than the bound, every drop counted', async (t) => {
  const s = await server();
  const db = await s.createDatabase();
  const queues: OutboxQueue[] = [{ name: 'ops', format: 'json', maxPending: 10 }];
  const sides = await Promise.all([0, 1, 2, 3].map(async () => {
    const pool = await pgPool(t, s, db, 2);
    return pgSide(createPgOutbox(sqlOf(pool), transactOn(pool), queues), pool);
  }));
  await Promise.all(sides.map((side, r) => (async () => {
    for (let i = 0; i < 20; i++) await side.unit((u) => u.enqueue('ops', change(`r${r}-${i}`), T0 + i));
  })()));
  const [c] = await sides[0]!.outbox.counts();
  const rows = await sides[0]!.outbox.pending('ops', 1000);
  t.is(rows.length, 10);
  t.like(c, { pending: 10, dropped: 70 });
  const dropped = sides.reduce((n, side) => n + side.heard.reduce((m, [, k]) => m + k, 0), 0);
  t.is(dropped, 70, 'the listeners were told of every drop');
  // Rows of one destination are numbered in commit order: the pending ones are the last ten queued.
  t.deepEqual(rows.map((r) => r.seq), Array.from({ length: 10 }, (_, i) => 71 + i));
});

pgTest('a unit\'s outbox is written at its flush, last: a unit holding another store\'s row and one waiting for it do not deadlock over the queues', async (t) => {
  const s = await server();
  const db = await s.createDatabase();
  const queues: OutboxQueue[] = [{ name: 'a', format: 'json', maxPending: 10 }];
  const replicas = await Promise.all([0, 1].map(async () => {
    const pool = await pgPool(t, s, db);
    return { outbox: createPgOutbox(sqlOf(pool), transactOn(pool), queues), transact: transactOn(pool) };
  }));
  const [one, two] = replicas as [typeof replicas[0], typeof replicas[0]];
  // A row of another store (a finding, a rollup) that both units write.
  const touch = "UPDATE baseline_meta SET value = value + 1 WHERE name = 'keys_dropped'";
  let held!: () => void;
  const twoHoldsTheRow = new Promise<void>((resolve) => { held = resolve; });
  const first = one.transact(async (q) => {
    const u = one.outbox.forUnit(q);
    await u.enqueue('a', change('f1'), T0);
    await twoHoldsTheRow;
    await q.run(touch); // waits for the second unit's commit
    await u.flush();
    return u;
  });
  const second = two.transact(async (q) => {
    const u = two.outbox.forUnit(q);
    await q.run(touch);
    held();
    await u.enqueue('a', change('f2'), T0 + 1);
    await u.flush();
    return u;
  });
  const units = await Promise.all([first, second]);
  for (const u of units) u.committed();
  t.deepEqual((await one.outbox.store.pending('a', 10)).map((r) => r.findingId), ['f2', 'f1'], 'in commit order');
});

pgTest('the unit\'s part refuses to be misused: committed without its flush throws, nothing joins after the flush, a second flush writes nothing', async (t) => {
  const s = await server();
  const pool = await pgPool(t, s, await s.createDatabase());
  const outbox = createPgOutbox(sqlOf(pool), transactOn(pool), QUEUES);
  const transact = transactOn(pool);
  const lost = await transact(async (q) => {
    const u = outbox.forUnit(q);
    await u.enqueue('ops', change('f1'), T0);
    return u;
  });
  t.throws(() => lost.committed(), { message: /committed without writing its outbox rows/ });
  await transact(async (q) => {
    const u = outbox.forUnit(q);
    await u.fire('am', change('f1'));
    await u.flush();
    await u.flush();
    await t.throwsAsync(u.enqueue('ops', change('f2'), T0), { message: /written already/ });
  });
  t.deepEqual((await outbox.store.firing('am')).map((c) => c.finding.id), ['f1']);
  t.deepEqual(await outbox.store.pending('ops', 10), []);
  const idle = await transact(async (q) => outbox.forUnit(q));
  t.notThrows(() => idle.committed(), 'a unit that wrote nothing needs no flush');
});

pgTest('through the PostgreSQL store: a unit\'s queued alert is written before its commit, announced after it, and rolled back with it', async (t) => {
  const s = await server();
  const pool = await pgPool(t, s, await s.createDatabase());
  const store = await openPgStore({ pool, webhooks: QUEUES });
  t.teardown(() => store.close());
  const heard: Array<[string, number]> = [];
  store.outbox.subscribe((d, n) => heard.push([d, n]));
  await store.unit(async (u) => {
    await u.outbox.enqueue('ops', change('f1'), T0);
    await u.outbox.fire('am', change('f1'));
  });
  await t.throwsAsync(store.unit(async (u) => {
    await u.outbox.enqueue('ops', change('f2'), T0 + 1);
    throw new Error('the unit fails');
  }));
  t.deepEqual((await store.outbox.pending('ops', 10)).map((r) => r.findingId), ['f1']);
  t.deepEqual((await store.outbox.firing('am')).map((c) => c.finding.id), ['f1']);
  t.deepEqual(heard, [['ops', 0]]);
  t.like((await store.outbox.counts('ops'))[0], { pending: 1, dropped: 0 });
});
