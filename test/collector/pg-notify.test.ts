// Baseline changes between replicas by LISTEN/NOTIFY (collector/store/pg/notify.ts) on a real
// PostgreSQL: a change notified in a committed transaction reaches every replica's listener,
// one in a rolled-back transaction reaches none; a listener whose session the server ends
// connects again on its clock, LISTENs again and calls onReconnect; payloads anyone could
// NOTIFY are validated, and the hostile ones are counted and ignored (fast-check, both in the
// decoder and over the server).
import type pg from 'pg';
import { createMetrics } from '../../collector/metrics.js';
import {
  BASELINE_CHANNEL, createBaselineListener, decodeBaselineChange, encodeBaselineChange, MAX_PAYLOAD_CHARS, notifyBaselineChange,
  type BaselineListener,
} from '../../collector/store/pg/notify.js';
import { createPool } from '../../collector/store/pg/pool.js';
import { sqlOf, transactOn } from '../../collector/store/pg/sql.js';
import { isValidBaselineKey } from '../../proto/baseline-key.js';
import { createLogger } from '../../proto/support/logger.js';
import { testClock, type TestClock } from '../helpers/clock.js';
import { eventually } from '../helpers/https.js';
import { connectTo, needsPostgres, postgresForFile } from '../helpers/postgres.js';
import { checkProperty, fc, propertyOptions } from '../helpers/property.js';
import test from 'ava';

const pgTest = needsPostgres();
const server = postgresForFile();
const log = createLogger('notify-test', 'silent');
const RETRY_MS = 1000;

interface Heard {
  readonly listener: BaselineListener;
  readonly changes: Array<[string, number]>;
  readonly reconnects: { n: number };
  readonly connects: { n: number };
  readonly metrics: ReturnType<typeof createMetrics>;
}

function listenerOn(url: string, clock: TestClock, opts: { failConnects?: number } = {}): Heard {
  const changes: Array<[string, number]> = [];
  const reconnects = { n: 0 };
  const connects = { n: 0 };
  let failures = opts.failConnects ?? 0;
  const metrics = createMetrics({ defaultMetrics: false });
  const listener = createBaselineListener({
    clock, retryMs: RETRY_MS, metrics, log,
    async connect(): Promise<pg.Client> {
      connects.n++;
      if (failures > 0) {
        failures--;
        throw new Error('connect ECONNREFUSED (test)');
      }
      return connectTo(url);
    },
    onChange: (key, version) => changes.push([key, version]),
    onReconnect: () => reconnects.n++,
  });
  return { listener, changes, reconnects, connects, metrics };
}

async function database(): Promise<{ url: string; admin: pg.Client; pool: pg.Pool }> {
  const s = await server();
  const url = s.url(await s.createDatabase());
  const pool = createPool({ url: () => url, sslMode: 'disable', ca: undefined, poolSize: 4, connectTimeoutMs: 10_000 }, () => undefined);
  return { url, admin: await connectTo(url), pool };
}

const listening = (h: Heard): Promise<true> => eventually('the LISTEN', () => (h.listener.listening() ? true : undefined), 10_000, 10);

/** The sessions of this database listening on the channel (their last statement was the LISTEN). */
async function listeners(admin: pg.Client): Promise<number[]> {
  return (await admin.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity
    WHERE datname = current_database() AND query = $1 ORDER BY pid`, [`LISTEN ${BASELINE_CHANNEL}`])).rows.map((r) => r.pid);
}

test('a change is encoded as its key and version, and decoded back', (t) => {
  const payload = encodeBaselineChange('shop/Deployment/web/nginx', 42);
  t.deepEqual(JSON.parse(payload), { key: 'shop/Deployment/web/nginx', version: 42 });
  t.deepEqual(decodeBaselineChange(payload), { key: 'shop/Deployment/web/nginx', version: 42 });
  t.deepEqual(decodeBaselineChange(encodeBaselineChange(`container:${'a'.repeat(64)}`, 0)), { key: `container:${'a'.repeat(64)}`, version: 0 });
  // The longest workload key stays far under the bound.
  const part = `a${'b'.repeat(252)}`;
  t.true(encodeBaselineChange(`${part}/${part}/${part}/${part}`, Number.MAX_SAFE_INTEGER).length < MAX_PAYLOAD_CHARS);
  t.throws(() => encodeBaselineChange('not a key', 1), { message: /not a baseline key/ });
  t.throws(() => encodeBaselineChange('host/worker', -1), { message: /not a baseline version/ });
  t.throws(() => encodeBaselineChange('host/worker', 1.5), { message: /not a baseline version/ });
});

test('refusals say why: no payload, too long, not JSON, not an object, other fields, a bad key, a bad version', (t) => {
  t.is(decodeBaselineChange(undefined), 'no payload');
  t.regex(decodeBaselineChange('x'.repeat(MAX_PAYLOAD_CHARS + 1)) as string, /at most 2048/);
  t.is(decodeBaselineChange('{'), 'payload is not JSON');
  t.is(decodeBaselineChange('[1,2]'), 'payload is not a JSON object');
  t.is(decodeBaselineChange('null'), 'payload is not a JSON object');
  t.is(decodeBaselineChange('{"key":"host/worker","version":1,"x":1}'), 'payload must have exactly the fields key and version');
  t.is(decodeBaselineChange('{"key":"host/worker","x":1}'), 'payload must have exactly the fields key and version');
  t.is(decodeBaselineChange('{"key":"../../etc","version":1}'), 'key is not a baseline key');
  t.is(decodeBaselineChange('{"key":7,"version":1}'), 'key is not a baseline key');
  for (const v of ['-1', '1.5', '"1"', '9007199254740992', 'null', '1e400']) {
    t.is(decodeBaselineChange(`{"key":"host/worker","version":${v}}`), 'version is not a non-negative integer', v);
  }
  t.is(decodeBaselineChange('{"__proto__":{"x":1},"key":"host/worker"}'), 'payload must have exactly the fields key and version');
});

/** Payloads anyone with a connection could send: free text, near misses of the format, and valid ones. */
const hostileKey = fc.oneof(
  fc.string({ maxLength: 300 }),
  fc.constantFrom('host', 'host/worker', 'host/control-plane', `container:${'f'.repeat(64)}`, 'a/b/c/d', 'a/b/c', 'a//c/d', `container:${'F'.repeat(64)}`, 'ns/Kind/name/c%_\'"'),
  fc.tuple(fc.string({ maxLength: 260 }), fc.string({ maxLength: 20 })).map(([a, b]) => `${a}/Deployment/${b}/c`),
);
const hostileVersion = fc.oneof(fc.integer(), fc.double(), fc.constantFrom(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 1, -0), fc.string(), fc.constant(null), fc.boolean());
const hostilePayload = fc.oneof(
  fc.string({ maxLength: 3000 }),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.json(),
  fc.record({ key: hostileKey, version: hostileVersion }).map((o) => JSON.stringify(o)),
  fc.record({ key: hostileKey, version: hostileVersion, extra: fc.anything() }).map((o) => JSON.stringify(o)),
  fc.tuple(hostileKey, fc.nat()).map(([k, v]) => `{"key":${JSON.stringify(k)},"version":${v}}`),
);

test('the decoder never throws, and accepts exactly a valid key with a non-negative safe integer version', async (t) => {
  await checkProperty(t, fc.property(hostilePayload, (payload) => {
    const out = decodeBaselineChange(payload);
    if (typeof out === 'string') return out.length > 0;
    const o = JSON.parse(payload) as Record<string, unknown>;
    return isValidBaselineKey(out.key) && Number.isSafeInteger(out.version) && out.version >= 0 && payload.length <= MAX_PAYLOAD_CHARS
      && Object.keys(o).length === 2 && o['key'] === out.key && o['version'] === out.version;
  }), 2000);
});

pgTest('a change notified in a committed transaction reaches the listeners of every replica; one in a rolled-back transaction reaches none', async (t) => {
  const { url, admin, pool } = await database();
  const clock = testClock();
  const a = listenerOn(url, clock);
  const b = listenerOn(url, clock);
  const transact = transactOn(pool);
  try {
    a.listener.start();
    b.listener.start();
    await Promise.all([listening(a), listening(b)]);
    t.is((await listeners(admin)).length, 2);
    // Rolled back: never heard.
    await t.throwsAsync(transact(async (sql) => {
      await notifyBaselineChange(sql, 'host/worker', 7);
      throw new Error('the change failed');
    }), { message: 'the change failed' });
    // Committed: heard by both, after the rolled-back one would have been (delivery is in commit order).
    const sent = performance.now();
    await transact(async (sql) => {
      await sql.run('SELECT 1');
      await notifyBaselineChange(sql, 'shop/Deployment/web/nginx', 8);
    });
    await eventually('both to hear the change', () => (a.changes.length > 0 && b.changes.length > 0 ? true : undefined), 5000, 1);
    const took = performance.now() - sent;
    t.deepEqual(a.changes, [['shop/Deployment/web/nginx', 8]]);
    t.deepEqual(b.changes, [['shop/Deployment/web/nginx', 8]]);
    t.is(a.metrics.get('nodeward_baseline_notifications_total', { outcome: 'passed' }), 1);
    t.is(a.reconnects.n, 0, 'the first LISTEN is not a reconnection');
    // Outside a transaction (one statement of its own) it is heard too.
    await notifyBaselineChange(sqlOf(pool), 'host/control-plane', 9);
    await eventually('the third', () => (a.changes.length === 2 ? true : undefined), 5000, 5);
    t.deepEqual(a.changes[1], ['host/control-plane', 9]);
    t.log(`commit to both listeners: ${took.toFixed(1)} ms (real time, loopback)`);
  } finally {
    await Promise.all([a.listener.stop(), b.listener.stop()]);
    await admin.end();
    await pool.end();
  }
});

pgTest('a listener whose session the server ends connects again after its retry period, LISTENs again and calls onReconnect', async (t) => {
  const { url, admin, pool } = await database();
  const clock = testClock();
  const a = listenerOn(url, clock);
  try {
    a.listener.start();
    await listening(a);
    const [pid] = await listeners(admin);
    await admin.query('SELECT pg_terminate_backend($1)', [pid]);
    await eventually('the loss to be seen', () => (a.listener.listening() ? undefined : true), 10_000, 5);
    // Sent while deaf: gone (the caller catches up from the store on onReconnect).
    await notifyBaselineChange(sqlOf(pool), 'host/worker', 3);
    await clock.advance(RETRY_MS - 1);
    t.is(a.connects.n, 1, 'no reconnection before the retry period');
    await clock.advanceUntil('listening again', () => (a.listener.listening() ? true : undefined), { stepMs: 100 });
    t.is(a.connects.n, 2);
    t.is(a.reconnects.n, 1);
    t.is(a.metrics.get('nodeward_baseline_listener_reconnects_total'), 1);
    const [again] = await listeners(admin);
    t.not(again, pid);
    await notifyBaselineChange(sqlOf(pool), 'host/worker', 4);
    await eventually('the change after the reconnection', () => (a.changes.length > 0 ? true : undefined), 5000, 5);
    t.deepEqual(a.changes, [['host/worker', 4]]);
  } finally {
    await a.listener.stop();
    await admin.end();
    await pool.end();
  }
});

pgTest('a listener that cannot connect at first keeps trying on its clock, and calls onReconnect when it gets through', async (t) => {
  const { url, admin, pool } = await database();
  const clock = testClock();
  const a = listenerOn(url, clock, { failConnects: 2 });
  try {
    a.listener.start();
    await eventually('the first try', () => (a.connects.n >= 1 ? true : undefined), 5000, 5);
    t.false(a.listener.listening());
    await clock.advanceUntil('listening', () => (a.listener.listening() ? true : undefined), { stepMs: RETRY_MS });
    t.is(a.connects.n, 3);
    t.is(a.reconnects.n, 1);
    await a.listener.stop();
    t.false(a.listener.listening());
    t.deepEqual(await listeners(admin), [], 'stop() closes the connection');
    t.is(clock.pending(), 0);
    await a.listener.stop();
  } finally {
    await a.listener.stop();
    await admin.end();
    await pool.end();
  }
});

pgTest('hostile payloads sent to the channel are counted and ignored; the listener goes on hearing valid ones', async (t) => {
  const { url, admin, pool } = await database();
  const clock = testClock();
  const a = listenerOn(url, clock);
  try {
    a.listener.start();
    await listening(a);
    // PostgreSQL's text has no NUL and a payload must stay under 8000 bytes.
    const payloads = fc.sample(hostilePayload.map((p) => p.replace(/\u0000/g, '')).filter((p) => Buffer.byteLength(p) < 8000), { ...propertyOptions(200), numRuns: 200 });
    const refused = payloads.filter((p) => typeof decodeBaselineChange(p) === 'string');
    t.true(refused.length > 150, `${refused.length} of ${payloads.length} sampled payloads are malformed`);
    for (const p of refused) await admin.query('SELECT pg_notify($1, $2)', [BASELINE_CHANNEL, p]);
    // Anything on another channel is not ours.
    await admin.query('SELECT pg_notify($1, $2)', ['nodeward_other', 'x']);
    await notifyBaselineChange(sqlOf(pool), 'host/worker', 11);
    await eventually('the valid change after them', () => (a.changes.length > 0 ? true : undefined), 10_000, 5);
    t.deepEqual(a.changes, [['host/worker', 11]]);
    t.is(a.metrics.get('nodeward_baseline_notifications_total', { outcome: 'malformed' }), refused.length);
    t.is(a.metrics.get('nodeward_baseline_notifications_total', { outcome: 'passed' }), 1);
    t.true(a.listener.listening());
  } finally {
    await a.listener.stop();
    await admin.end();
    await pool.end();
  }
});
