// Which replica drains a webhook destination (collector/store/pg/drain-claim.ts) on a real
// PostgreSQL: of two replicas (two pools on one database) claiming one destination, one gets
// it and the other gets nothing at once, without waiting; after a release, or once the
// holder's session is ended by the server (a replica that died), the other gets it; claims of
// different destinations do not touch; many replicas racing for one destination end with
// exactly one claim; a claim whose connection broke says so and is not handed out again.
import type pg from 'pg';
import { claimDestination } from '../../collector/store/pg/drain-claim.js';
import { migratePostgres } from '../../collector/store/pg/migrate.js';
import { createPool } from '../../collector/store/pg/pool.js';
import { eventually } from '../helpers/https.js';
import { connectTo, needsPostgres, postgresForFile } from '../helpers/postgres.js';

const pgTest = needsPostgres();
const server = postgresForFile();

/** A migrated database, an admin client, and `n` pools (replicas) on it. */
async function replicas(n: number): Promise<{ admin: pg.Client; pools: pg.Pool[]; close: () => Promise<void> }> {
  const s = await server();
  const url = s.url(await s.createDatabase());
  const admin = await connectTo(url);
  await migratePostgres(admin);
  const pools = Array.from({ length: n }, () => createPool({ url: () => url, sslMode: 'disable', ca: undefined, poolSize: 4, connectTimeoutMs: 10_000 }, () => undefined));
  return { admin, pools, close: async () => { await Promise.all(pools.map((p) => p.end())); await admin.end(); } };
}

/** The backends holding a claim now: their transaction holds the row lock on webhook_drains (its RowShareLock shows it). */
async function holders(admin: pg.Client): Promise<number[]> {
  return (await admin.query<{ pid: number }>(`SELECT l.pid FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
    WHERE c.relname = 'webhook_drains' AND l.mode = 'RowShareLock' AND l.granted AND l.pid <> pg_backend_pid() ORDER BY l.pid`)).rows.map((r) => r.pid);
}

pgTest('two replicas claiming one destination: one gets it, the other gets nothing at once; after the release the other gets it', async (t) => {
  const { admin, pools: [a, b], close } = await replicas(2);
  try {
    const first = await claimDestination(a!, 'ops');
    t.truthy(first);
    t.is(first!.destination, 'ops');
    t.false(first!.lost());
    const started = performance.now();
    t.is(await claimDestination(b!, 'ops'), undefined);
    t.is(await claimDestination(a!, 'ops'), undefined, 'a second pass on the holder\'s own replica is refused too');
    t.log(`a refused claim answered in ${(performance.now() - started).toFixed(1)} ms (two tries; nothing waits for the holder)`);
    t.is((await holders(admin)).length, 1);
    await first!.release();
    t.deepEqual(await holders(admin), []);
    const second = await claimDestination(b!, 'ops');
    t.truthy(second);
    t.is(await claimDestination(a!, 'ops'), undefined);
    await second!.release();
    await second!.release();
    // Every connection went back to its pool, idle.
    t.is(a!.idleCount, a!.totalCount);
    t.is(b!.idleCount, b!.totalCount);
    t.deepEqual((await admin.query<{ destination: string }>('SELECT destination FROM webhook_drains')).rows, [{ destination: 'ops' }]);
  } finally {
    await close();
  }
});

pgTest('the holder\'s session ended by the server: its claim says it is lost, the other replica gets the destination, and the broken connection is not reused', async (t) => {
  const { admin, pools: [a, b], close } = await replicas(2);
  try {
    const held = await claimDestination(a!, 'ops');
    t.truthy(held);
    t.is(await claimDestination(b!, 'ops'), undefined);
    const [pid] = await holders(admin);
    t.truthy(pid);
    // What a replica killed outright comes to on the server: its session ends, its transaction with it.
    await admin.query('SELECT pg_terminate_backend($1)', [pid]);
    await eventually('the holder to see the loss', () => (held!.lost() ? true : undefined), 10_000, 5);
    const taken = await claimDestination(b!, 'ops');
    t.truthy(taken, 'the row was freed with the session: no lease to run out');
    await held!.release();
    t.is(a!.totalCount, 0, 'the broken client was closed, not handed out again');
    // The first replica can still claim other destinations (a new connection).
    const other = await claimDestination(a!, 'security');
    t.truthy(other);
    await Promise.all([taken!.release(), other!.release()]);
  } finally {
    await close();
  }
});

pgTest('claims of different destinations are independent', async (t) => {
  const { pools: [a, b], close } = await replicas(2);
  try {
    const ops = await claimDestination(a!, 'ops');
    const sec = await claimDestination(b!, 'security');
    t.truthy(ops);
    t.truthy(sec);
    t.is(await claimDestination(b!, 'ops'), undefined);
    t.is(await claimDestination(a!, 'security'), undefined);
    await Promise.all([ops!.release(), sec!.release()]);
  } finally {
    await close();
  }
});

pgTest('replicas racing for a destination never seen before: exactly one claim each round', async (t) => {
  const { pools, close } = await replicas(5);
  try {
    for (let round = 0; round < 10; round++) {
      const name = `dest-${round}`;
      const claims = await Promise.all(pools.map((p) => claimDestination(p, name)));
      const held = claims.filter((c) => c !== undefined);
      t.is(held.length, 1, `round ${round}`);
      await held[0]!.release();
    }
  } finally {
    await close();
  }
});
