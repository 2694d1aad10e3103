// The leader election of replicas sharing one PostgreSQL database (collector/store/pg/
// leadership.ts) on a real server: of two replicas exactly one leads, and the lock is held by
// its session (pg_locks says so); when the leader's session is ended by the server
// (pg_terminate_backend, what a SIGKILLed replica's session comes to) it steps down and the
// other takes over within its retry period; stop() gives the lock back before it resolves; a
// replica that cannot connect keeps trying on its clock; a leader whose session hangs steps
// down at its next check's deadline. Time is a test clock; real I/O is awaited.
import { Writable } from 'node:stream';
import type pg from 'pg';
import { createMetrics } from '../../collector/metrics.js';
import { createLeadership, LEADER_LOCK_KEY, type Leadership } from '../../collector/store/pg/leadership.js';
import { MIGRATION_LOCK_KEY } from '../../collector/store/pg/migrate.js';
import { createLogger } from '../../proto/support/logger.js';
import { testClock, type TestClock } from '../helpers/clock.js';
import { eventually } from '../helpers/https.js';
import { connectTo, needsPostgres, postgresForFile } from '../helpers/postgres.js';

const pgTest = needsPostgres();
const server = postgresForFile();
const log = createLogger('leadership-test', 'silent');

const RETRY_MS = 1000;
const CHECK_MS = 2000;

interface Replica {
  readonly leadership: Leadership;
  /** Every onChange, in order. */
  readonly changes: boolean[];
  /** Clients it opened, and the lock tries it made. */
  readonly stats: { connects: number; tries: number; backends: number[] };
  readonly metrics: ReturnType<typeof createMetrics>;
}

/** A replica's leadership over `url`; its clients count the lock tries they run. */
function replica(url: string, clock: TestClock, opts: { failConnects?: number; queryTimeoutMs?: number } = {}): Replica {
  const changes: boolean[] = [];
  const stats = { connects: 0, tries: 0, backends: [] as number[] };
  const metrics = createMetrics({ defaultMetrics: false });
  let failures = opts.failConnects ?? 0;
  const leadership = createLeadership({
    clock, retryMs: RETRY_MS, checkMs: CHECK_MS, metrics, log,
    ...(opts.queryTimeoutMs === undefined ? {} : { queryTimeoutMs: opts.queryTimeoutMs }),
    onChange: (leader) => changes.push(leader),
    async connect(): Promise<pg.Client> {
      stats.connects++;
      if (failures > 0) {
        failures--;
        throw new Error('connect ECONNREFUSED (test)');
      }
      const c = await connectTo(url);
      stats.backends.push((await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid);
      const query = c.query.bind(c) as (...args: unknown[]) => unknown;
      (c as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
        if (String(args[0]).includes('pg_try_advisory_lock')) stats.tries++;
        return query(...args);
      };
      return c;
    },
  });
  return { leadership, changes, stats, metrics };
}

/** A new database: its URL and an admin client of it. */
async function database(): Promise<{ url: string; admin: pg.Client }> {
  const s = await server();
  const url = s.url(await s.createDatabase());
  return { url, admin: await connectTo(url) };
}

/** The backends of this database holding the leader lock (pg_locks: a bigint key is classid << 32 | objid). */
async function holders(admin: pg.Client, key = LEADER_LOCK_KEY): Promise<number[]> {
  return (await admin.query<{ pid: number }>(`SELECT pid FROM pg_locks
    WHERE locktype = 'advisory' AND granted AND objsubid = 1
      AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND ((classid::bigint << 32) | objid::bigint) = $1::bigint`, [key])).rows.map((r) => r.pid);
}

const leaderOf = (rs: readonly Replica[]): Replica | undefined => {
  const leaders = rs.filter((r) => r.leadership.isLeader());
  return leaders.length === 1 ? leaders[0] : undefined;
};

pgTest('the leader lock has a key of its own, not the migrator\'s', (t) => {
  t.not(LEADER_LOCK_KEY, MIGRATION_LOCK_KEY);
  t.regex(LEADER_LOCK_KEY, /^-?\d+$/);
});

pgTest('two replicas on one database: exactly one leads, its session holds the lock, and the other keeps trying without taking it', async (t) => {
  const { url, admin } = await database();
  const clock = testClock();
  const a = replica(url, clock);
  const b = replica(url, clock);
  try {
    a.leadership.start();
    b.leadership.start();
    const leader = await clock.advanceUntil('a leader', () => leaderOf([a, b]), { stepMs: RETRY_MS });
    const follower = leader === a ? b : a;
    const triesBefore = follower.stats.tries;
    await clock.advanceUntil('the follower to try five more times', () => (follower.stats.tries >= triesBefore + 5 ? true : undefined), { stepMs: RETRY_MS });
    t.true(leader.leadership.isLeader());
    t.false(follower.leadership.isLeader());
    t.deepEqual(leader.changes, [true]);
    t.deepEqual(follower.changes, []);
    t.deepEqual(await holders(admin), [leader.stats.backends.at(-1)], 'the leader\'s own session holds the lock');
    t.is(leader.metrics.get('nodeward_leader'), 1);
    t.is(follower.metrics.get('nodeward_leader'), 0);
    t.is(leader.metrics.get('nodeward_leader_changes_total', { to: 'leader' }), 1);
    t.is(follower.stats.connects, 1, 'the follower keeps its one connection between tries');
  } finally {
    await Promise.all([a.leadership.stop(), b.leadership.stop()]);
    await admin.end();
  }
});

pgTest('the leader\'s session ended by the server: it steps down at once, the other takes over within its retry period, and the first comes back as a follower', async (t) => {
  const { url, admin } = await database();
  const clock = testClock();
  const a = replica(url, clock);
  const b = replica(url, clock);
  try {
    a.leadership.start();
    await clock.advanceUntil('a leader', () => (a.leadership.isLeader() ? true : undefined), { stepMs: RETRY_MS });
    b.leadership.start();
    await clock.advanceUntil('b to try', () => (b.stats.tries >= 2 ? true : undefined), { stepMs: RETRY_MS });
    t.false(b.leadership.isLeader());
    const [pid] = await holders(admin);
    t.is(pid, a.stats.backends[0]);
    // Half a period on, so b's next try comes before a's reconnection.
    await clock.advance(RETRY_MS / 2);
    // What a replica killed outright comes to on the server: its session ends.
    await admin.query('SELECT pg_terminate_backend($1)', [pid]);
    await eventually('a to step down', () => (a.leadership.isLeader() ? undefined : true), 10_000, 10);
    t.deepEqual(a.changes, [true, false], 'stepped down on the connection\'s end, before any clock tick');
    const started = clock.now();
    await clock.advanceUntil('b leader', () => (b.leadership.isLeader() ? true : undefined), { stepMs: 100 });
    t.true(clock.now() - started <= RETRY_MS, `taken over ${clock.now() - started} ms (clock) after the session ended`);
    t.deepEqual(b.changes, [true]);
    t.deepEqual(await holders(admin), [b.stats.backends[0]]);
    // The first reconnects and tries again, as a follower.
    await clock.advanceUntil('a to reconnect and try', () => (a.stats.connects >= 2 && a.stats.tries >= 3 ? true : undefined), { stepMs: RETRY_MS });
    t.false(a.leadership.isLeader());
    t.deepEqual(a.changes, [true, false]);
    t.is(a.metrics.get('nodeward_leader_changes_total', { to: 'follower' }), 1);
    t.is(a.metrics.get('nodeward_leader'), 0);
  } finally {
    await Promise.all([a.leadership.stop(), b.leadership.stop()]);
    await admin.end();
  }
});

pgTest('stop() gives the lock back before it resolves, steps down, and leaves no timer; safe before start and twice', async (t) => {
  const { url, admin } = await database();
  const clock = testClock();
  const a = replica(url, clock);
  const idle = replica(url, clock);
  try {
    await idle.leadership.stop();
    a.leadership.start();
    await clock.advanceUntil('a leader', () => (a.leadership.isLeader() ? true : undefined), { stepMs: RETRY_MS });
    await a.leadership.stop();
    // No clock moved and no wait: the lock is free now.
    t.deepEqual(await holders(admin), []);
    t.true((await admin.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS ok', [LEADER_LOCK_KEY])).rows[0]!.ok);
    await admin.query('SELECT pg_advisory_unlock($1::bigint)', [LEADER_LOCK_KEY]);
    t.deepEqual(a.changes, [true, false]);
    t.false(a.leadership.isLeader());
    t.is(clock.pending(), 0);
    await a.leadership.stop();
    t.deepEqual(a.changes, [true, false]);
    t.deepEqual(idle.changes, []);
  } finally {
    await a.leadership.stop();
    await admin.end();
  }
});

pgTest('a replica that cannot connect tries again every retry period and leads once it can', async (t) => {
  const { url, admin } = await database();
  const clock = testClock();
  const a = replica(url, clock, { failConnects: 3 });
  try {
    a.leadership.start();
    await eventually('the first connect', () => (a.stats.connects >= 1 ? true : undefined), 5000, 10);
    await clock.advance(RETRY_MS - 1);
    t.is(a.stats.connects, 1, 'no second try before the retry period');
    await clock.advanceUntil('a leader', () => (a.leadership.isLeader() ? true : undefined), { stepMs: RETRY_MS });
    t.is(a.stats.connects, 4);
    t.deepEqual(a.changes, [true]);
    t.deepEqual(await holders(admin), [a.stats.backends[0]]);
  } finally {
    await a.leadership.stop();
    await admin.end();
  }
});

pgTest('a leader whose session hangs steps down at its next check\'s deadline; nobody else leads until the server has ended that session', async (t) => {
  const { url, admin } = await database();
  const clock = testClock();
  const a = replica(url, clock, { queryTimeoutMs: 300 });
  const b = replica(url, clock);
  let frozen: number | undefined;
  try {
    a.leadership.start();
    await clock.advanceUntil('a leader', () => (a.leadership.isLeader() ? true : undefined), { stepMs: RETRY_MS });
    b.leadership.start();
    await clock.advanceUntil('b to try', () => (b.stats.tries >= 1 ? true : undefined), { stepMs: RETRY_MS });
    // The leader's server process stops answering (as behind a network that drops its packets):
    // its session lives on and holds the lock, but the leader's check gets no answer.
    frozen = a.stats.backends[0]!;
    process.kill(frozen, 'SIGSTOP');
    await clock.advanceUntil('a to step down', () => (a.leadership.isLeader() ? undefined : true), { stepMs: CHECK_MS / 4 });
    t.deepEqual(a.changes, [true, false]);
    // The server still counts the frozen session as the holder: nobody may lead, a on a new
    // connection included.
    const triesBefore = { a: a.stats.tries, b: b.stats.tries };
    await clock.advanceUntil('both to try three more times', () => (a.stats.tries >= triesBefore.a + 3 && b.stats.tries >= triesBefore.b + 3 ? true : undefined), { stepMs: RETRY_MS });
    t.is(a.stats.connects, 2, 'a tries again on a new connection');
    t.false(a.leadership.isLeader());
    t.false(b.leadership.isLeader(), 'no second leader while the first one\'s session may still be alive');
    t.deepEqual(await holders(admin), [frozen]);
    // The session resumes, finds the leader's connection closed and ends; the lock is freed and
    // one of the two takes it.
    process.kill(frozen, 'SIGCONT');
    frozen = undefined;
    const leader = await clock.advanceUntil('one leader', () => leaderOf([a, b]), { stepMs: RETRY_MS });
    t.deepEqual(await holders(admin), [leader.stats.backends.at(-1)]);
    t.deepEqual(leader === a ? a.changes : b.changes, leader === a ? [true, false, true] : [true]);
  } finally {
    if (frozen !== undefined) process.kill(frozen, 'SIGCONT');
    await Promise.all([a.leadership.stop(), b.leadership.stop()]);
    await admin.end();
  }
});

pgTest('a change handler that throws is logged; the replica still leads, checks its session and steps down on stop', async (t) => {
  const { url, admin } = await database();
  const clock = testClock();
  const lines: string[] = [];
  const metrics = createMetrics({ defaultMetrics: false });
  const leadership = createLeadership({
    clock, retryMs: RETRY_MS, checkMs: CHECK_MS, metrics,
    log: createLogger('leadership-test', 'info', new Writable({ write(chunk: Buffer, _enc, done) { lines.push(chunk.toString()); done(); } })),
    connect: () => connectTo(url),
    onChange: () => {
      throw new Error('the sweepers failed to start');
    },
  });
  try {
    leadership.start();
    await clock.advanceUntil('leader', () => (leadership.isLeader() ? true : undefined), { stepMs: RETRY_MS });
    t.true(lines.some((l) => l.includes('the change handler failed') && l.includes('the sweepers failed to start')));
    await clock.advance(CHECK_MS * 3);
    t.true(leadership.isLeader());
    t.is((await holders(admin)).length, 1);
    await leadership.stop();
    t.false(leadership.isLeader());
    t.deepEqual(await holders(admin), []);
    t.is(metrics.get('nodeward_leader_changes_total', { to: 'follower' }), 1);
  } finally {
    await leadership.stop();
    await admin.end();
  }
});
