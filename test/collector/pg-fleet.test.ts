// Two clusters on one PostgreSQL database, each in a schema of its own owned by a role of its
// own (docs/fleets.md), on a real server: each collector opens and migrates its own schema
// and nothing else; the server refuses one role's writes to the other's tables and schema
// (GRANTed SELECT or not); a store opened in a schema the role may not use fails with
// DB_SCHEMA; each schema has its own leader and its own baseline channel; and the fleet
// (store/pg/fleet.ts) lists another cluster only once its role was granted to read it, reads
// its findings, leaves out one it cannot read without hurting the others, and reads the list
// again on the test clock. Also the schema names (schema.ts) and store.postgres.schema in the
// config, fast-check for the names.
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { loadCollectorConfig } from '../../collector/config.js';
import type { Fleet } from '../../collector/fleet.js';
import { createMetrics } from '../../collector/metrics.js';
import { StoreError } from '../../collector/store/boundary/errors.js';
import type { FindingWrite } from '../../collector/store/boundary/findings.js';
import { copySqliteToPostgres } from '../../collector/store/pg/copy.js';
import { openPgFleet } from '../../collector/store/pg/fleet.js';
import { createLeadership, LEADER_LOCK_KEY } from '../../collector/store/pg/leadership.js';
import { MIGRATION_LOCK_KEY, MIGRATIONS_TABLE } from '../../collector/store/pg/migrate.js';
import { BASELINE_CHANNEL, createBaselineListener } from '../../collector/store/pg/notify.js';
import { openPostgres } from '../../collector/store/pg/open.js';
import { connectClient } from '../../collector/store/pg/pool.js';
import { checkSchemaName, PUBLIC_NAMES, schemaNames, searchPathStatement } from '../../collector/store/pg/schema.js';
import type { PostgresSettings } from '../../collector/store/pg/settings.js';
import { openPgStore } from '../../collector/store/pg/store.js';
import { openStore } from '../../collector/store/sqlite.js';
import type { Store } from '../../collector/store/store.js';
import { createLogger } from '../../proto/support/logger.js';
import { testClock } from '../helpers/clock.js';
import { eventually } from '../helpers/https.js';
import { asSuperuser, createClusterRole, needsPostgres, postgresForFile, type ClusterRole } from '../helpers/postgres.js';
import { checkProperty, fc } from '../helpers/property.js';
import { ConfigError } from '../../proto/support/config-loader.js';

const pgTest = needsPostgres();
const server = postgresForFile();
const log = createLogger('fleet-test', 'silent');
const T0 = 1_765_000_000_000;

const settingsOf = (c: ClusterRole, schema = c.schema): PostgresSettings =>
  ({ url: () => c.url, sslMode: 'disable', ca: undefined, poolSize: 4, connectTimeoutMs: 10_000, schema });

interface Opened {
  readonly role: ClusterRole;
  readonly pool: pg.Pool;
  readonly store: Store;
}

/** A database with `n` clusters, each opened (migrated) by its own role in its own schema. */
async function clusters(n: number): Promise<{ db: string; cs: Opened[]; close: () => Promise<void> }> {
  const s = await server();
  const db = await s.createDatabase();
  const cs: Opened[] = [];
  for (let i = 0; i < n; i++) {
    const role = await createClusterRole(s, db);
    const { pool } = await openPostgres(settingsOf(role), () => undefined);
    cs.push({ role, pool, store: await openPgStore({ pool, schema: role.schema }) });
  }
  return { db, cs, close: async () => void await Promise.all(cs.map((c) => c.store.close())) };
}

/** Sets the cluster's identity row, as the collector's adopt does (its own role writes its own schema). */
const identify = (c: Opened, uid: string, name: string): Promise<unknown> =>
  c.pool.query('INSERT INTO cluster_identity (singleton, uid, name, adopted_at) VALUES (1, $1, $2, $3) ON CONFLICT (singleton) DO UPDATE SET uid = excluded.uid, name = excluded.name', [uid, name, T0]);

const grantRead = (reader: Opened, of: Opened): string =>
  `GRANT USAGE ON SCHEMA ${of.role.schema} TO ${reader.role.role}; GRANT SELECT ON ALL TABLES IN SCHEMA ${of.role.schema} TO ${reader.role.role}`;

const finding = (id: string): FindingWrite => ({
  id, node: 'worker-1', checkId: '1.1.1', subject: id, state: 'open', severity: 'high', firstSeen: T0, lastSeen: T0, count: 1,
  resolvedAt: null, suppressedReason: null, suppressedUntil: null, suppressedBy: null, suppressedAt: null,
  fields: {
    cis: '1.1.1', references: [], title: `title of ${id}`, category: 'files', severity: 'high', status: 'fail', scored: true,
    actual: 'a', expected: 'b', source: 'file', sourceFile: '/etc/x', reason: 'r', remediation: 'fix', detail: '{}', seen: 'scan',
  },
});

const saveFinding = (c: Opened, id: string): Promise<unknown> => c.store.unit(async (u) => {
  const f = await u.findings.save(undefined, finding(id), T0);
  await u.findings.history.transition(f.seq, 'opened', T0, 'high', T0, { first: true });
});

/** The SQLSTATE of what `run` was refused with. */
async function refusal(run: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await run();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return 'not refused';
}

test('schema names: only ^[a-z_][a-z0-9_]{0,62}$ is accepted; the search_path statement quotes it; public keeps its lock keys and channel, others get their own', async (t) => {
  for (const ok of ['public', 'cluster_a', '_x', 'a'.repeat(63), 'c1']) t.is(checkSchemaName(ok), undefined, ok);
  for (const bad of ['', 'A', '1abc', 'a-b', 'a'.repeat(64), 'a"b', 'a b', 'pg_catalog;drop']) t.truthy(checkSchemaName(bad), bad);
  t.regex(checkSchemaName('Prod')!, /"Prod" is not a schema name this collector accepts/);
  t.is(searchPathStatement('cluster_a'), 'SET search_path TO "cluster_a"');
  t.throws(() => searchPathStatement('a"; DROP TABLE x; --'));
  t.is(PUBLIC_NAMES.migrationLock, MIGRATION_LOCK_KEY);
  t.is(PUBLIC_NAMES.leaderLock, LEADER_LOCK_KEY);
  t.is(PUBLIC_NAMES.migrationLock, BigInt(`0x${Buffer.from('nodeward').toString('hex')}`).toString(), 'public keeps the key of before');
  t.is(PUBLIC_NAMES.baselineChannel, 'nodeward_baselines');
  t.is(BASELINE_CHANNEL, 'nodeward_baselines');
  await checkProperty(t, fc.property(fc.string({ maxLength: 80 }), (name) => {
    if (checkSchemaName(name) === undefined) return /^[a-z_][a-z0-9_]{0,62}$/.test(name) && searchPathStatement(name) === `SET search_path TO "${name}"`;
    try {
      searchPathStatement(name);
      return false;
    } catch {
      return true;
    }
  }), 500);
  // Keys of different schemas never coincide, nor with another lock's; a channel is an identifier PostgreSQL keeps whole.
  await checkProperty(t, fc.property(fc.uniqueArray(fc.stringMatching(/^[a-z_][a-z0-9_]{0,62}$/), { minLength: 2, maxLength: 20 }), (schemas) => {
    const all = schemas.flatMap((name) => {
      const n = schemaNames(name);
      return [n.migrationLock, n.leaderLock, n.baselineKeysLock, n.clusterNodesLock];
    });
    const channels = schemas.map((name) => schemaNames(name).baselineChannel);
    return new Set(all).size === all.length && new Set(channels).size === channels.length
      && channels.every((c) => /^[a-z_][a-z0-9_]{0,62}$/.test(c))
      && all.every((k) => BigInt(k) >= -(2n ** 63n) && BigInt(k) < 2n ** 63n);
  }), 200);
});

test('config: store.postgres.schema defaults to public, is passed on, and a name outside the accepted pattern is a clear problem', (t) => {
  const base = { grpc: { insecure: true }, api: { insecure: true } };
  const dir = process.cwd();
  const problems = (schema: string): readonly string[] => {
    try {
      loadCollectorConfig({ env: {}, overrides: { ...base, store: { driver: 'postgres', postgres: { urlFile: `${dir}/missing-url`, schema } } } });
      return [];
    } catch (err) {
      if (err instanceof ConfigError) return err.problems;
      throw err;
    }
  };
  t.true(problems('Prod-1').some((p) => p.startsWith('store.postgres.schema: "Prod-1" is not a schema name this collector accepts')));
  t.false(problems('prod_1').some((p) => p.startsWith('store.postgres.schema')));
  const dirOwn = mkdtempSync(join(tmpdir(), 'nodeward-fleet-config-'));
  try {
    writeFileSync(join(dirOwn, 'url'), 'postgres://nodeward:pw@db.example:5432/nodeward\n', { mode: 0o600 });
    const c = loadCollectorConfig({ env: { NODEWARD_STORE_DRIVER: 'postgres', NODEWARD_STORE_POSTGRES_URL_FILE: join(dirOwn, 'url'), NODEWARD_STORE_POSTGRES_SCHEMA: 'cluster_east' }, overrides: base });
    t.is(c.postgres?.schema, 'cluster_east', 'the schema reaches the settings every connection is made with');
  } finally {
    rmSync(dirOwn, { recursive: true, force: true });
  }
  const sqlite = loadCollectorConfig({ env: {}, overrides: base });
  t.is(sqlite.store.postgres.schema, 'public');
  t.throws(() => loadCollectorConfig({ env: {}, overrides: { ...base, store: { postgres: { schema: 'other' } } } }), { message: /store\.postgres: set, but store\.driver is sqlite/ });
});

pgTest('each role opens and migrates its own schema only: the tables and schema_migrations are there, nothing in public or the other schema', async (t) => {
  const { cs, close } = await clusters(2);
  const [a, b] = cs as [Opened, Opened];
  try {
    for (const c of [a, b]) {
      const where = await c.pool.query<{ schema: string; n: string }>(`SELECT table_schema AS schema, count(*) AS n FROM information_schema.tables
        WHERE table_schema NOT IN ('pg_catalog', 'information_schema') AND table_type = 'BASE TABLE' GROUP BY table_schema`);
      t.deepEqual(where.rows.map((r) => r.schema), [c.role.schema], 'the role sees tables in its own schema only');
      t.true(Number(where.rows[0]!.n) > 20);
      const owner = await c.pool.query<{ owner: string }>(`SELECT DISTINCT tableowner AS owner FROM pg_tables WHERE schemaname = $1`, [c.role.schema]);
      t.deepEqual(owner.rows.map((r) => r.owner), [c.role.role]);
      t.is((await c.pool.query<{ s: string }>(`SELECT current_schema() AS s`)).rows[0]!.s, c.role.schema);
      t.true((await c.pool.query(`SELECT 1 FROM ${c.role.schema}.${MIGRATIONS_TABLE}`)).rowCount! > 0);
    }
    // A second open of the same schema applies nothing.
    const again = await openPostgres(settingsOf(a.role), () => undefined);
    t.deepEqual(again.schema.applied, []);
    await again.pool.end();
  } finally {
    await close();
  }
});

pgTest('the server refuses one role\'s writes to the other cluster\'s tables and schema, with and without a SELECT grant; a store opened in the other schema fails with DB_SCHEMA', async (t) => {
  const s = await server();
  const { db, cs, close } = await clusters(2);
  const [a, b] = cs as [Opened, Opened];
  await saveFinding(b, 'of-b');
  await saveFinding(a, 'of-a');
  const attempts = (other: Opened): Array<[string, string]> => [
    ['INSERT', `INSERT INTO ${other.role.schema}.received (node, epoch, sequence, received_at) VALUES ('x', 'e', 1, 0)`],
    ['UPDATE', `UPDATE ${other.role.schema}.findings SET title = 'taken'`],
    ['DELETE', `DELETE FROM ${other.role.schema}.findings`],
    ['TRUNCATE', `TRUNCATE ${other.role.schema}.findings`],
    ['CREATE', `CREATE TABLE ${other.role.schema}.planted (x int)`],
  ];
  try {
    for (const granted of [false, true]) {
      if (granted) for (const [r, o] of [[a, b], [b, a]] as const) await asSuperuser(s, db, grantRead(r, o));
      for (const [me, other] of [[a, b], [b, a]] as const) {
        for (const [what, sql] of attempts(other)) {
          t.is(await refusal(() => me.pool.query(sql)), '42501', `${what} by ${me.role.role} on ${other.role.schema} (granted read: ${granted}) is insufficient_privilege`);
        }
        const read = await refusal(() => me.pool.query(`SELECT id FROM ${other.role.schema}.findings`));
        t.is(read, granted ? 'not refused' : '42501', `reading ${other.role.schema}: only with the grant`);
        const err = await t.throwsAsync(openPostgres(settingsOf(me.role, other.role.schema), () => undefined));
        t.true(err instanceof StoreError);
        t.is((err as StoreError).code, 'DB_SCHEMA');
        t.regex(err!.message, new RegExp(`role ${me.role.role} lacks ${granted ? 'CREATE' : 'USAGE and CREATE'} on schema ${other.role.schema}`));
      }
    }
    t.deepEqual((await b.store.findings.list({}, 10)).items.map((f) => [f.id, f.title]), [['of-b', 'title of of-b']], 'B\'s findings untouched');
    const missing = await t.throwsAsync(openPostgres(settingsOf(a.role, 'no_such_schema'), () => undefined));
    t.is((missing as StoreError).code, 'DB_SCHEMA');
    t.regex(missing!.message, /schema no_such_schema \(store\.postgres\.schema\) does not exist/);
  } finally {
    await close();
  }
});

pgTest('leaders of two schemas are independent: both lead at once, while two replicas of one schema still elect one', async (t) => {
  const { cs, close } = await clusters(2);
  const [a, b] = cs as [Opened, Opened];
  const clock = testClock();
  const leadershipOf = (c: Opened) => {
    const state = { leader: false };
    const l = createLeadership({
      connect: () => connectClient(settingsOf(c.role)), clock, retryMs: 1000, checkMs: 2000,
      onChange: (now) => { state.leader = now; }, metrics: createMetrics({ defaultMetrics: false }), log,
    });
    return { l, state };
  };
  const [la, la2, lb] = [leadershipOf(a), leadershipOf(a), leadershipOf(b)];
  try {
    la.l.start();
    await eventually('A to lead', () => (la.state.leader ? true : undefined), 10_000, 5);
    lb.l.start();
    la2.l.start();
    await eventually('B to lead', () => (lb.state.leader ? true : undefined), 10_000, 5);
    await clock.advance(3000);
    t.true(la.state.leader && lb.state.leader, 'both clusters have a leader at once');
    t.false(la2.state.leader, 'the second replica of A does not lead');
    // The lock A's leader holds is A's key, not public's.
    const held = await a.pool.query<{ k: string }>(`SELECT ((classid::bigint << 32) | objid::bigint)::text AS k FROM pg_locks WHERE locktype = 'advisory' AND granted`);
    const keys = held.rows.map((r) => r.k);
    t.true(keys.includes(schemaNames(a.role.schema).leaderLock));
    t.true(keys.includes(schemaNames(b.role.schema).leaderLock));
    t.false(keys.includes(LEADER_LOCK_KEY));
  } finally {
    await Promise.all([la.l.stop(), la2.l.stop(), lb.l.stop()]);
    await close();
  }
});

pgTest('a baseline change in one cluster is heard by its own listener and not by the other cluster\'s', async (t) => {
  const { cs, close } = await clusters(2);
  const [a, b] = cs as [Opened, Opened];
  const clock = testClock();
  const listenerOf = (c: Opened) => {
    const heard: Array<[string, number]> = [];
    const l = createBaselineListener({
      connect: () => connectClient(settingsOf(c.role)), clock,
      onChange: (key, version) => heard.push([key, version]), onReconnect: () => undefined,
      metrics: createMetrics({ defaultMetrics: false }), log,
    });
    return { l, heard };
  };
  const [ha, hb] = [listenerOf(a), listenerOf(b)];
  try {
    ha.l.start();
    hb.l.start();
    await eventually('both to listen', () => (ha.l.listening() && hb.l.listening() ? true : undefined), 10_000, 5);
    await a.store.baselines.change('lock', 'shop/Deployment/web/nginx', [], 'admin', T0);
    await eventually('A to hear its change', () => (ha.heard.length > 0 ? true : undefined), 5000, 5);
    t.is(ha.heard[0]![0], 'shop/Deployment/web/nginx');
    // B's change, sent after A's, is heard by B: so B had its chance to hear A's and did not.
    await b.store.baselines.change('lock', 'ops/Deployment/db/pg', [], 'admin', T0);
    await eventually('B to hear its change', () => (hb.heard.length > 0 ? true : undefined), 5000, 5);
    t.deepEqual(hb.heard.map(([k]) => k), ['ops/Deployment/db/pg']);
    t.deepEqual(ha.heard.map(([k]) => k), ['shop/Deployment/web/nginx']);
  } finally {
    await Promise.all([ha.l.stop(), hb.l.stop()]);
    await close();
  }
});

pgTest('the fleet lists another cluster only after its GRANT, reads its findings read-only, leaves out one it cannot read, and reads the list again on the clock', async (t) => {
  const s = await server();
  const { db, cs, close } = await clusters(3);
  const [a, b, c] = cs as [Opened, Opened, Opened];
  await identify(a, 'uid-a', 'alpha');
  await identify(b, 'uid-b', 'bravo');
  // c is readable but no collector adopted it yet (no identity row).
  await saveFinding(b, 'of-b');
  const clock = testClock(T0);
  const metrics = createMetrics({ defaultMetrics: false });
  const fleet: Fleet = openPgFleet({
    own: { uid: 'uid-a', name: 'alpha' }, ownStore: a.store, ownSchema: a.role.schema, pool: a.pool,
    settings: settingsOf(a.role), clock, refreshMs: 30_000, metrics, log,
  });
  const names = async (): Promise<string[]> => (await fleet.members()).map((m) => `${m.identity.name}${m.own ? '*' : ''}`);
  try {
    t.deepEqual(await names(), ['alpha*'], 'nothing granted: the fleet is the own cluster');
    await asSuperuser(s, db, `${grantRead(a, b)}; ${grantRead(a, c)}`);
    t.deepEqual(await names(), ['alpha*'], 'the list is not read again before refreshMs');
    await clock.advance(30_000);
    t.deepEqual(await names(), ['alpha*', 'bravo'], 'after the grant and refreshMs: bravo; c (no identity) left out');
    t.is(metrics.get('nodeward_fleet_members_left_out_total', { reason: 'no_identity' }), 1);
    t.is(metrics.get('nodeward_fleet_members'), 2);
    const bravo = (await fleet.members())[1]!;
    t.deepEqual(bravo.identity, { uid: 'uid-b', name: 'bravo' });
    t.false(bravo.own);
    t.deepEqual((await bravo.store.findings.list({}, 10)).items.map((f) => f.id), ['of-b'], 'B\'s findings through its member store');
    t.is((await bravo.store.findings.get('of-b'))?.title, 'title of of-b');
    t.is(await refusal(() => bravo.store.pruneReceived(T0 + 1)), '42501', 'a write through the member store is refused by the server');
    t.is(await refusal(() => saveFinding({ ...b, store: bravo.store }, 'planted')), '42501');
    // A's own findings are not in B's store, and B's are not in A's.
    t.is(await a.store.findings.get('of-b'), undefined);
    // B does not list A: nothing was granted to B.
    const fleetB = openPgFleet({ own: { uid: 'uid-b', name: 'bravo' }, ownStore: b.store, ownSchema: b.role.schema, pool: b.pool, settings: settingsOf(b.role), clock, refreshMs: 30_000, metrics: createMetrics({ defaultMetrics: false }), log });
    t.deepEqual((await fleetB.members()).map((m) => m.identity.name), ['bravo']);
    await fleetB.close();
    // c gets its identity: listed at the next refresh, by name after bravo.
    await identify(c, 'uid-c', 'charlie');
    await clock.advance(30_000);
    t.deepEqual(await names(), ['alpha*', 'bravo', 'charlie']);
    // The grant on B revoked: B is left out at the next refresh and its pool closed; charlie stays.
    await asSuperuser(s, db, `REVOKE SELECT ON ALL TABLES IN SCHEMA ${b.role.schema} FROM ${a.role.role}; REVOKE USAGE ON SCHEMA ${b.role.schema} FROM ${a.role.role}`);
    await clock.advance(30_000);
    t.deepEqual(await names(), ['alpha*', 'charlie']);
    await t.throwsAsync(bravo.store.findings.list({}, 10), undefined, 'the left-out member\'s pool is closed');
    // Only the cursor key's grant revoked (the identity still readable): left out as unreadable, counted.
    await asSuperuser(s, db, `REVOKE SELECT ON ${c.role.schema}.store_secrets FROM ${a.role.role}`);
    await clock.advance(30_000);
    t.deepEqual(await names(), ['alpha*', 'charlie'], 'an open member stays until its identity is unreadable');
    await asSuperuser(s, db, `REVOKE SELECT ON ${c.role.schema}.cluster_identity FROM ${a.role.role}`);
    await clock.advance(30_000);
    t.deepEqual(await names(), ['alpha*'], 'a schema whose cluster_identity the role cannot read is not listed');
    await asSuperuser(s, db, `GRANT SELECT ON ${c.role.schema}.cluster_identity TO ${a.role.role}`);
    await clock.advance(30_000);
    t.deepEqual(await names(), ['alpha*'], 'identity readable but store_secrets not: left out');
    t.is(metrics.get('nodeward_fleet_members_left_out_total', { reason: 'unreadable' }), 1);
    // A second cluster claiming A's uid is left out as a duplicate.
    await asSuperuser(s, db, grantRead(a, b));
    await identify(b, 'uid-a', 'impostor');
    await clock.advance(30_000);
    t.deepEqual(await names(), ['alpha*']);
    t.is(metrics.get('nodeward_fleet_members_left_out_total', { reason: 'duplicate' }), 1);
    await fleet.close();
    t.deepEqual(await names(), ['alpha*'], 'after close: the own cluster only');
    t.truthy(await a.store.findings.list({}, 10), 'the own store stays open');
  } finally {
    await fleet.close();
    await close();
  }
});

pgTest('store copy into a cluster\'s schema: the rows land in that schema, read by a store opened there, and public stays empty', async (t) => {
  const s = await server();
  const db = await s.createDatabase();
  const role = await createClusterRole(s, db);
  const dir = mkdtempSync(join(tmpdir(), 'nodeward-fleet-copy-'));
  try {
    const path = join(dir, 'nodeward.db');
    const sqlite = openStore({ path });
    await saveFinding({ role, pool: undefined as unknown as pg.Pool, store: sqlite }, 'copied');
    await sqlite.close();
    const outcome = await copySqliteToPostgres({ sqlitePath: path, target: settingsOf(role) });
    t.is(outcome.tables.find((x) => x.table === 'findings')?.rows, 1);
    const { pool } = await openPostgres(settingsOf(role), () => undefined);
    const store = await openPgStore({ pool, schema: role.schema });
    try {
      t.is((await store.findings.get('copied'))?.title, 'title of copied');
      const elsewhere = await pool.query<{ schema: string }>("SELECT DISTINCT table_schema AS schema FROM information_schema.tables WHERE table_name = 'findings'");
      t.deepEqual(elsewhere.rows.map((r) => r.schema), [role.schema]);
    } finally {
      await store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
