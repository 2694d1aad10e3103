// The PostgreSQL node inventory, cluster nodes and process queries (collector/store/pg/nodes.ts,
// cluster-nodes.ts, processes.ts) against their SQLite specification: the same calls on both
// backends, the answers deep-equal. What nodes.test.ts, node-status, node-certificates,
// agent-missing and processes-api exercise of these stores: the inventory from hellos and
// stats (counters past 2^53 clamped, the drops' sum), results by status without the agent's
// self-check, both sorts with their cursors walked page by page, the stale and benchmark
// filters, nodes known only from the cluster merged in, agent-missing views, counts,
// compliance by benchmark, the agents' figures, delete and what it removes, the exposure and
// its listeners (a hostile NUL in a field included), and the processes' filters with SQLite's
// ASCII-only case folding. fast-check feeds hostile names, certificates, filters and cursors.
// On PostgreSQL alone: replicas writing the same node at once lose nothing, and two replaces
// of the cluster's nodes at once neither deadlock nor mix.
import test, { type ExecutionContext } from 'ava';
import { AGENT_MISSING_CHECK } from '../../proto/collector-checks.js';
import { processSubject } from '../../proto/baseline-key.js';
import { PROC_MODIFIED_BINARY_CHECK, PROC_UNEXPECTED_CHECK } from '../../proto/process-checks.js';
import type { ClusterNodeState, ClusterNodeStore } from '../../collector/store/boundary/cluster-nodes.js';
import { decodeNodeCursorOf, type NodeCursor, type NodeHello, type NodeStats, type NodeStore } from '../../collector/store/boundary/nodes.js';
import type { ProcessFilter, ProcessQueries } from '../../collector/store/boundary/processes.js';
import { createClusterNodeStore } from '../../collector/store/cluster-nodes.js';
import type { Db } from '../../collector/store/db.js';
import { createNodeStore } from '../../collector/store/nodes.js';
import { decodeCursor } from '../../collector/store/paging.js';
import { createPgClusterNodeStore } from '../../collector/store/pg/cluster-nodes.js';
import { createPgNodeStore } from '../../collector/store/pg/nodes.js';
import { createPgProcessQueries } from '../../collector/store/pg/processes.js';
import { createProcessQueries } from '../../collector/store/processes.js';
import { promised, settle } from '../../collector/store/synchronous.js';
import { execBoth, outcome, pgDatabase, pgPool, sqliteDatabase, type PgSide } from '../helpers/pg-backends.js';
import { needsPostgres, postgresForFile } from '../helpers/postgres.js';
import { checkProperty, fc } from '../helpers/property.js';

const pgTest = needsPostgres();
const server = postgresForFile();

const T0 = Date.parse('2030-01-01T00:00:00Z');
const STALE_MS = 120_000;
const MAX = Number.MAX_SAFE_INTEGER;

interface Stores { readonly nodes: NodeStore; readonly cluster: ClusterNodeStore; readonly processes: ProcessQueries }

interface Sides {
  readonly db: Db;
  readonly pg: PgSide;
  readonly lite: Stores;
  readonly post: Stores;
  /** Runs `call` on SQLite, then on PostgreSQL; asserts the same outcome and returns SQLite's. */
  both<T>(what: string, call: (s: Stores) => Promise<T>): Promise<T>;
  /** Rows other sub-stores would write, alike on both (`?` placeholders). */
  exec(text: string, params?: readonly unknown[]): Promise<void>;
  /** The number of rows of `table` for a node on each backend. */
  rowsOf(table: string, column: string, node: string): Promise<[number, number]>;
}

/** Both backends; PostgreSQL on a database whose own collation is ICU's en-US, not bytes. */
async function sides(t: ExecutionContext): Promise<Sides> {
  const db = sqliteDatabase(t);
  const pg = await pgDatabase(t, server, 4, 'icu');
  const lite: Stores = {
    nodes: promised<NodeStore>(createNodeStore(db), settle),
    cluster: promised<ClusterNodeStore>(createClusterNodeStore(db), settle),
    processes: promised<ProcessQueries>(createProcessQueries(db), settle),
  };
  const post: Stores = { nodes: createPgNodeStore(pg.sql), cluster: createPgClusterNodeStore(pg.sql, pg.transact), processes: createPgProcessQueries(pg.sql) };
  return {
    db, pg, lite, post,
    async both<T>(what: string, call: (s: Stores) => Promise<T>): Promise<T> {
      const a = await outcome(() => call(lite));
      const b = await outcome(() => call(post));
      t.deepEqual(b, a, what);
      if ('threw' in a) throw new Error(`${what}: SQLite threw ${a.threw}`);
      return a.ok;
    },
    exec: (text, params = []) => execBoth(db, pg.sql, text, params),
    async rowsOf(table, column, node) {
      const lite = (db.prepare(`SELECT count(*) AS n FROM ${table} WHERE ${column} = ?`).get(node) as { n: number }).n;
      const post = (await pg.sql.one<{ n: number }>(`SELECT count(*) AS n FROM ${table} WHERE ${column} = $1`, [node]))!.n;
      return [lite, post];
    },
  };
}

const hello = (node: string, over: Partial<NodeHello> = {}): NodeHello => ({
  node, agentVersion: '1.4.0', epoch: 'e-1', os: 'Ubuntu 24.04', kernel: '6.8.0', arch: 'amd64', kubeletVersion: 'v1.31.2',
  cpus: 4, memoryBytes: 8_000_000_000, uptimeSeconds: 1000, certificates: [], ...over,
});

/** Every counter of a stats message, from `base` up. */
function stats(base: number, over: Partial<NodeStats> = {}): NodeStats {
  let n = base;
  const c = (): number => n++;
  return {
    spoolEntries: c(), spoolBytes: c(), spoolDropped: c(), rejected: c(), execCoverage: 'event', execSource: 'ebpf', execSourceReason: '',
    processEventsCapped: c(), processEventsLost: c(), execEventsLost: c(), execRingLost: c(), execUnjudged: c(), execRecordsPartial: c(),
    execFakeContainer: c(), execHostNamespace: c(), execBatches: c(), baselineItemsDropped: c(), baselineKeysEvicted: c(), baselineReportDropped: c(),
    hostDocumentsRefused: c(), hostDocumentRefusedPath: '/etc/kubernetes/<redacted>', hostDocumentRefusedReason: 'bytes',
    execIdentityFailed: c(), execIdentityFailedReason: 'EACCES', execEvents: c(), lastScanDurationMs: c(),
    exposureWalkPidLimitHits: c(), exposureWalkTimeLimitHits: c(), exposureWalkFdLimitHits: c(), exposureWalkUnreadable: c(),
    exposureRowsRefused: c(), exposureListenersDropped: c(), exposureNativeReader: true, ...over,
  };
}

const iso = (ms: number): string => new Date(ms).toISOString();
const DAY = 86_400_000;

/** Every page of a listing, walked with its cursors; each page compared on both backends. */
async function walk(s: Sides, what: string, limit: number, first: NodeCursor, filter = {}): Promise<string[]> {
  const names: string[] = [];
  let after: string | NodeCursor = first;
  for (let i = 0; i < 1000; i++) {
    const page = await s.both(`${what}: page ${i}`, (x) => x.nodes.list(T0, STALE_MS, filter, limit, after));
    names.push(...page.items.map((n) => n.name));
    if (page.nextCursor === null) return names;
    after = decodeNodeCursorOf(page.nextCursor)!;
  }
  throw new Error(`${what}: no end`);
}

/** Results, counts and the rollup a scan would have written, alike on both. */
async function scanned(s: Sides, node: string, benchmark: string, results: ReadonlyArray<readonly [string, string, string]>, open: number): Promise<void> {
  for (const [check, subject, status] of results) {
    await s.exec('INSERT INTO node_results (node, check_id, subject, status, severity, scored, evaluated_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      [node, check, subject, status, 'high', 1, T0]);
  }
  const pass = results.filter((r) => r[2] === 'pass').length;
  const judged = results.filter((r) => r[2] === 'pass' || r[2] === 'fail').length;
  await s.exec('UPDATE nodes SET scored_pass = ?, scored_total = ?, failing_checks = ?, benchmark = ? WHERE name = ?',
    [pass, judged, results.filter((r) => r[2] === 'fail').length, benchmark, node]);
  if (open > 0) await s.exec("INSERT INTO node_counts (state, node, total, s0, s1, s2, s3, s4) VALUES ('open', ?, ?, 0, 0, 0, 0, 0)", [node, open]);
}

let findingIds = 0;
/** A finding row as the findings store would have written it. */
async function finding(s: Sides, f: { node: string; check: string; subject: string; state: string; detail: unknown; lastSeen?: number; reason?: string }): Promise<void> {
  const id = `f${String(++findingIds).padStart(31, '0')}`;
  await s.exec(`INSERT INTO findings (id, node, check_id, category, subject, severity, severity_rank, status, state, detail, seen,
      first_seen, last_seen, count, updated_at, reason) VALUES (?, ?, ?, 'process', ?, 'high', 3, 'fail', ?, ?, 'event', ?, ?, 2, ?, ?)`,
  [id, f.node, f.check, f.subject, f.state, JSON.stringify(f.detail), T0, f.lastSeen ?? T0, T0, f.reason ?? '']);
}

pgTest('the inventory: hellos, every stats counter, refusals, results by status, both sorts walked, filters, counts, figures, delete', async (t) => {
  const s = await sides(t);
  await s.both('hello b', (x) => x.nodes.hello(hello('node-b', { certificates: [{ path: '/var/lib/kubelet/pki/kubelet.crt', notAfter: iso(T0 + 5 * DAY) }] }), T0));
  await s.both('hello a', (x) => x.nodes.hello(hello('node-a', {
    certificates: [
      { path: '/etc/kubernetes/pki/apiserver.crt', notAfter: iso(T0 + 300 * DAY) },
      { path: '/etc/kubernetes/pki/z.crt', notAfter: iso(T0 + 100 * DAY) },
      { path: '/etc/kubernetes/pki/etcd/server.crt', notAfter: iso(T0 + 100 * DAY) },
    ],
  }), T0));
  await s.both('hello c', (x) => x.nodes.hello(hello('node-c', { os: 'Talos "quoted" \\ ü' }), T0));
  await s.both('hello d (silent since)', (x) => x.nodes.hello(hello('node-d', { certificates: [{ path: '/p', notAfter: iso(T0 + 5 * DAY) }] }), T0 - 10 * 60_000));
  await s.both('hello a again (the same node, a new epoch)', (x) => x.nodes.hello(hello('node-a', {
    epoch: 'e-2', cpus: 8, certificates: [
      { path: '/etc/kubernetes/pki/apiserver.crt', notAfter: iso(T0 + 300 * DAY) },
      { path: '/etc/kubernetes/pki/z.crt', notAfter: iso(T0 + 100 * DAY) },
      { path: '/etc/kubernetes/pki/etcd/server.crt', notAfter: iso(T0 + 100 * DAY) },
    ],
  }), T0 + 10));
  await s.both('stats a: counters past 2^53 as clamped by the ingest, the drops summed and capped', (x) =>
    x.nodes.stats('node-a', stats(1, { spoolDropped: MAX, rejected: MAX, exposureNativeReader: true }), T0 + 20));
  await s.both('stats b', (x) => x.nodes.stats('node-b', stats(100, { exposureNativeReader: false, execSource: 'netlink', execSourceReason: 'ebpf: E: no BTF' }), T0 + 20));
  await s.both('stats of a node never seen: nothing', (x) => x.nodes.stats('node-x', stats(1), T0));
  for (let i = 0; i < 2; i++) await s.both('a report refused', (x) => x.nodes.baselineReportRefused('node-a'));
  await s.both('keys refused', (x) => x.nodes.baselineKeysRefused('node-a', { notOnNode: 1, overNodeLimit: 2, centralFull: 3 }));
  await s.both('keys refused again', (x) => x.nodes.baselineKeysRefused('node-a', { notOnNode: 4, overNodeLimit: 0, centralFull: 0 }));
  await s.both('none refused: nothing', (x) => x.nodes.baselineKeysRefused('node-b', { notOnNode: 0, overNodeLimit: 0, centralFull: 0 }));
  await s.both('touch', (x) => x.nodes.touch('node-b', T0 + 1000));
  await s.both('disconnected', (x) => x.nodes.setConnected('node-c', false));
  await scanned(s, 'node-a', 'cis-1.12', [
    ['cis-4.2.1', '--anonymous-auth', 'fail'], ['cis-4.2.2', '--authorization-mode', 'pass'], ['cis-4.2.6', '--protect-kernel-defaults', 'warn'],
    ['cis-1.2.1', '--anonymous-auth', 'skip'], ['cis-1.2.2', 'x', 'error'], ['agent-exec-coverage', 'exec-source', 'pass'],
  ], 3);
  await scanned(s, 'node-b', 'cis-eks-1.7', [['cis-4.2.1', '--anonymous-auth', 'skip'], ['agent-exec-coverage', 'exec-source', 'fail']], 0);
  await scanned(s, 'node-c', 'cis-1.12', [['cis-4.2.1', '--anonymous-auth', 'pass'], ['cis-4.2.2', '--authorization-mode', 'pass']], 1);

  const a = await s.both('get a', (x) => x.nodes.get('node-a', T0 + 30, STALE_MS));
  t.deepEqual(a?.results, { pass: 1, fail: 1, warn: 1, skip: 1, error: 1 }, 'the self-check left out');
  t.is(a?.agentDrops.total, MAX);
  t.is(a?.certificatesExpireFirst?.path, '/etc/kubernetes/pki/etcd/server.crt', 'ties by path');
  t.deepEqual(a?.baselineKeysRefused, { total: 10, notOnNode: 5, overNodeLimit: 2, centralFull: 3 });
  for (const name of ['node-b', 'node-c', 'node-d', 'node-x', '']) await s.both(`get ${name}`, (x) => x.nodes.get(name, T0 + 30, STALE_MS));
  await s.both('get with cluster: no such node either', (x) => x.nodes.get('node-x', T0, STALE_MS, { cluster: true }));

  const everything = await s.both('the list', (x) => x.nodes.list(T0, STALE_MS));
  t.deepEqual(everything.items.map((n) => n.name), ['node-a', 'node-b', 'node-c', 'node-d']);
  for (const limit of [1, 2, 3, 5]) {
    t.deepEqual(await walk(s, `by name, ${limit} a page`, limit, { sort: 'name', after: '' }), ['node-a', 'node-b', 'node-c', 'node-d']);
    t.deepEqual(await walk(s, `by expiry, ${limit} a page`, limit, { sort: 'certExpiry', after: '' }), ['node-b', 'node-d', 'node-a', 'node-c']);
  }
  for (const filter of [{ stale: true }, { stale: false }, { benchmark: 'cis-1.12' }, { benchmark: 'cis-eks-1.7' }, { benchmark: '' }, { benchmark: "cis'%" }, { stale: false, benchmark: 'cis-1.12' }]) {
    await walk(s, `by name, ${JSON.stringify(filter)}`, 1, { sort: 'name', after: '' }, filter);
    await walk(s, `by expiry, ${JSON.stringify(filter)}`, 2, { sort: 'certExpiry', after: '' }, filter);
  }
  await s.both('a cursor past the end', (x) => x.nodes.list(T0, STALE_MS, {}, 10, { sort: 'certExpiry', after: 'zzz', expiry: null }));
  await s.both('a cursor between expiries', (x) => x.nodes.list(T0, STALE_MS, {}, 10, { sort: 'certExpiry', after: 'node-a', expiry: iso(T0 + 50 * DAY) }));
  await s.both('counts', (x) => x.nodes.counts(T0 + 30, STALE_MS));
  t.deepEqual(await s.both('by benchmark', (x) => x.nodes.byBenchmark()), [
    { benchmark: 'cis-1.12', nodes: 2, scoredPassing: 4, scored: 5 }, { benchmark: 'cis-eks-1.7', nodes: 1, scoredPassing: 0, scored: 1 },
  ]);
  for (const limit of [0, 2, 10]) await s.both(`agent figures, ${limit}`, (x) => x.nodes.agentFigures(limit));
  t.deepEqual(await s.both('silent since', (x) => x.nodes.silentSince(T0)), [{ name: 'node-d', lastSeen: T0 - 10 * 60_000 }]);
  await s.both('reset connections', (x) => x.nodes.resetConnections());
  await s.both('counts after the reset', (x) => x.nodes.counts(T0 + 30, STALE_MS));

  // Delete: the node, its results, its idempotency records and its exposure; nothing of others.
  await s.exec('INSERT INTO received (node, epoch, sequence, received_at) VALUES (?, ?, ?, ?), (?, ?, ?, ?)', ['node-a', 'e-2', 1, T0, 'node-b', 'e-1', 1, T0]);
  await s.both('exposure a', (x) => x.nodes.setExposure('node-a', T0, { listeners: [], nodeAddresses: [], listenersDropped: 0, unowned: 0, walkCut: '', rowsRefused: 0 }));
  t.true(await s.both('delete a', (x) => x.nodes.delete('node-a')));
  t.false(await s.both('delete a again', (x) => x.nodes.delete('node-a')));
  for (const [table, column] of [['nodes', 'name'], ['node_results', 'node'], ['received', 'node'], ['node_exposure', 'node']] as const) {
    t.deepEqual(await s.rowsOf(table, column, 'node-a'), [0, 0], `${table} of node-a`);
  }
  t.deepEqual(await s.rowsOf('received', 'node', 'node-b'), [1, 1]);
  t.deepEqual(await s.rowsOf('node_results', 'node', 'node-b'), [2, 2]);
  await s.both('the list after', (x) => x.nodes.list(T0, STALE_MS));
});

const clusterNode = (name: string, over: Partial<ClusterNodeState> = {}): ClusterNodeState => ({
  name, uid: `uid-${name}`, ready: true, agentExpected: true, reason: '', kubeletVersion: 'v1.31.2', osImage: 'Ubuntu', kernel: '6.8', arch: 'amd64', ...over,
});

pgTest('cluster nodes: the watch\'s writes, eligibility kept and reset, missing agents, and the inventory merging them into both sorts', async (t) => {
  const s = await sides(t);
  await s.both('hello a', (x) => x.nodes.hello(hello('node-a', { certificates: [{ path: '/c', notAfter: iso(T0 + DAY) }] }), T0));
  await s.both('hello m', (x) => x.nodes.hello(hello('node-m'), T0));
  await s.both('replace', (x) => x.cluster.replace([
    clusterNode('cn-1'), clusterNode('node-a'), clusterNode('cn-2', { agentExpected: false, reason: 'taint dedicated=gpu:NoSchedule' }),
    clusterNode('cn-0', { agentExpected: null, reason: 'the DaemonSet could not be read' }), clusterNode('cn-9', { ready: false }),
  ], T0));
  await s.both('upsert cn-1, same uid, later: eligibility kept', (x) => x.cluster.upsert(clusterNode('cn-1', { kernel: '6.9' }), T0 + 5000));
  await s.both('upsert cn-3: new', (x) => x.cluster.upsert(clusterNode('cn-3'), T0 + 6000));
  await s.both('upsert cn-9: ready now', (x) => x.cluster.upsert(clusterNode('cn-9'), T0 + 7000));
  await s.both('upsert cn-2: not ready', (x) => x.cluster.upsert(clusterNode('cn-2', { ready: false, agentExpected: false }), T0 + 8000));
  await s.both('get cn-1', (x) => x.cluster.get('cn-1'));
  await s.both('get unknown', (x) => x.cluster.get('cn-x'));
  await s.both('all', (x) => x.cluster.all());
  t.deepEqual((await s.both('missing agents', (x) => x.cluster.missingAgents(T0 + 6000))).map((c) => c.name), ['cn-1', 'cn-3']);
  await s.both('count', (x) => x.cluster.count());
  await s.both('upsert cn-1 recreated (new uid): starts over', (x) => x.cluster.upsert(clusterNode('cn-1', { uid: 'uid-2' }), T0 + 9000));
  await s.both('get cn-1 recreated', (x) => x.cluster.get('cn-1'));
  await s.both('missing agents after', (x) => x.cluster.missingAgents(T0 + 6000));

  await finding(s, { node: 'cn-3', check: AGENT_MISSING_CHECK.id, subject: 'agent', state: 'open', detail: { since: iso(T0 + 6000) }, reason: 'no agent pod' });
  await finding(s, { node: 'cn-9', check: AGENT_MISSING_CHECK.id, subject: 'agent', state: 'suppressed', detail: { since: 17 } });
  await finding(s, { node: 'cn-2', check: AGENT_MISSING_CHECK.id, subject: 'agent', state: 'resolved', detail: { since: iso(T0) } });
  await finding(s, { node: 'node-a', check: AGENT_MISSING_CHECK.id, subject: 'agent', state: 'open', detail: {} });
  const cn3 = await s.both('a node known only from the cluster', (x) => x.nodes.get('cn-3', T0, STALE_MS, { cluster: true }));
  t.like(cn3, { source: 'cluster', agentMissing: { state: 'open', since: iso(T0 + 6000), reason: 'no agent pod' } });
  await s.both('not without the option', (x) => x.nodes.get('cn-3', T0, STALE_MS));
  await s.both('suppressed, its since not a text', (x) => x.nodes.get('cn-9', T0, STALE_MS, { cluster: true }));
  await s.both('an agent\'s node with its cluster view', (x) => x.nodes.get('node-a', T0, STALE_MS));
  const all = ['cn-0', 'cn-1', 'cn-2', 'cn-3', 'cn-9', 'node-a', 'node-m'];
  for (const limit of [1, 2, 3, 10]) {
    t.deepEqual(await walk(s, `merged by name, ${limit}`, limit, { sort: 'name', after: '' }), all);
    t.deepEqual(await walk(s, `merged by expiry, ${limit}`, limit, { sort: 'certExpiry', after: '' }), ['node-a', 'cn-0', 'cn-1', 'cn-2', 'cn-3', 'cn-9', 'node-m']);
  }
  t.deepEqual(await walk(s, 'stale filter: agents only', 1, { sort: 'name', after: '' }, { stale: false }), ['node-a', 'node-m']);

  await s.both('replace with fewer', (x) => x.cluster.replace([clusterNode('cn-3'), clusterNode('cn-1', { uid: 'uid-2' })], T0 + 10_000));
  await s.both('all after', (x) => x.cluster.all());
  await s.both('remove', (x) => x.cluster.remove('cn-3'));
  await s.both('remove unknown', (x) => x.cluster.remove('cn-3'));
  await s.both('count after', (x) => x.cluster.count());
  await s.both('replace with none', (x) => x.cluster.replace([], T0));
  await s.both('replace again', (x) => x.cluster.replace([clusterNode('cn-5')], T0));
  await s.both('clear', (x) => x.cluster.clear());
  await s.both('all cleared', (x) => x.cluster.all());
});

pgTest('exposure: the latest scan wins, listeners of a baseline by protocol and port, a NUL in a listener field hurts no read', async (t) => {
  const s = await sides(t);
  const l = (over: Record<string, unknown>) => ({
    protocol: 'tcp', address: '0.0.0.0', port: 8080, addressClass: 'public', wildcard: true, pid: 7, exe: '/usr/bin/web', baseline: 'shop/Deployment/web/app',
    namespace: 'shop', pod: 'web-1', container: 'app', workload: 'Deployment/web', uid: 0, ...over,
  });
  const exposure = (listeners: unknown[]) => ({
    listeners, nodeAddresses: [{ address: '10.0.0.1', addressClass: 'private', source: 'interface' }], listenersDropped: 1, unowned: 2, walkCut: '', rowsRefused: 0,
  }) as never;
  await s.both('a', (x) => x.nodes.setExposure('node-a', T0, exposure([
    l({}), l({ address: '10.0.0.1', addressClass: 'private' }), l({ address: '10.0.0.1', addressClass: 'private', pid: 8 }), l({ port: 9090 }),
    l({ protocol: 'udp' }), l({ baseline: 'x\u0000y', exe: '/bin/\u0000' }), l({ address: '::1', addressClass: 'loopback', exe: 'é"\\' }),
  ])));
  await s.both('b', (x) => x.nodes.setExposure('node-b', T0, exposure([l({ address: '192.168.1.1', addressClass: 'private' })])));
  await s.both('a, an older scan: ignored', (x) => x.nodes.setExposure('node-a', T0 - 1, exposure([])));
  await s.both('exposure a', (x) => x.nodes.exposure('node-a'));
  await s.both('exposure unknown', (x) => x.nodes.exposure('node-x'));
  const sorted = async (key: string, protocol: 'tcp' | 'udp', port: number): Promise<void> => {
    const sort = (xs: Array<{ address: string; addressClass: string }>) => xs.map((x) => JSON.stringify(x)).sort();
    const lite = sort(await s.lite.nodes.baselineListeners(key, protocol, port));
    t.deepEqual(sort(await s.post.nodes.baselineListeners(key, protocol, port)), lite, `${JSON.stringify(key)} ${protocol} ${port}`);
  };
  await sorted('shop/Deployment/web/app', 'tcp', 8080);
  t.is((await s.post.nodes.baselineListeners('shop/Deployment/web/app', 'tcp', 8080)).length, 4, 'distinct addresses of both nodes, ::1 too');
  await sorted('shop/Deployment/web/app', 'udp', 8080);
  await sorted('shop/Deployment/web/app', 'tcp', 9090);
  await sorted('x\u0000y', 'tcp', 8080);
  await sorted('shop/%', 'tcp', 8080);
  await s.both('b, a newer scan: replaces', (x) => x.nodes.setExposure('node-b', T0 + 1, exposure([])));
  await sorted('shop/Deployment/web/app', 'tcp', 8080);
});

pgTest('unexpected processes: filters with ASCII-only case folding and escaped wildcards, pages, and the contents an allow resolves', async (t) => {
  const s = await sides(t);
  const sha = (c: string): string => c.repeat(64);
  const container = `container:${'ab'.repeat(32)}`;
  const long = `/${'x'.repeat(600)}`;
  const rows: Array<[string, string, string, unknown, number?]> = [
    ['node-a', 'shop/Deployment/web/app:/usr/bin/nc', 'open', { exe: '/usr/bin/nc', baseline: 'shop/Deployment/web/app', pid: 42, parents: ['/bin/sh', 7], identity: { sha256: sha('a') } }],
    ['node-a', 'Shop/Deployment/Web/app:/bin/sh', 'open', { exe: '/bin/sh', baseline: 'Shop/Deployment/Web/app', pid: -1, cmdline: 'sh -c x' }],
    ['node-b', 'host/worker:/usr/bin/x', 'open', { exe: '/usr/bin/x', container: { name: 'n', id: 'i' } }, T0 + 5000],
    ['node-b', 'host:/tmp/y', 'suppressed', 'not an object'],
    ['node-b', `${container}:/bin/z`, 'open', { exe: '/bin/z', partial: true, exeDeleted: true }],
    ['node-a', 'weird%ns/Job/a_b/c:/x', 'open', {}],
    ['node-a', 'weirdXns/Job/aXb/c:/x', 'open', {}],
    ['node-a', 'ÉNS/Deployment/w/c:/x', 'open', {}],
    ['node-a', 'éns/Deployment/w/c:/x', 'open', {}],
    ['node-a', 'nocolon/Deployment/w/c', 'open', {}],
    ['node-a', 'host/Deployment/w/c:/x', 'resolved', {}],
    ['node-c', 'shop/Deployment/web/app:/usr/bin/nc', 'open', { exe: '/usr/bin/nc', baseline: 'shop/Deployment/web/app', identity: { sha256: sha('b') } }],
    ['node-c', 'shop/Deployment/web/app:/usr/bin/curl', 'suppressed', { exe: '/usr/bin/curl', baseline: 'shop/Deployment/web/app', identity: { sha256: 'short' } }],
    // An over-long subject, cut and hashed; what a hostile agent puts in the detail.
    ['node-a', processSubject('shop/Deployment/web/app', long), 'open', {
      exe: long, baseline: 'shop/Deployment/web/app', pid: '12', cmdline: '<img src=x onerror=alert(1)> "quoted" \x1b[31m ü', user: '<b>root</b>',
      parents: [...Array.from({ length: 100 }, (_, i) => `/p${i}`), 42, null], container: 'not an object', partial: 'yes',
    }],
    ['node-a', processSubject('shop/Deployment/web/app', '/tmp/evil'), 'open', { exe: '/somewhere/else', pid: 2 ** 60, parents: 'no' }],
  ];
  for (const [node, subject, state, detail, lastSeen] of rows) {
    await finding(s, { node, check: PROC_UNEXPECTED_CHECK.id, subject, state, detail, ...(lastSeen === undefined ? {} : { lastSeen }) });
  }
  await finding(s, { node: 'node-d', check: PROC_MODIFIED_BINARY_CHECK.id, subject: 'shop/Deployment/web/app:/usr/bin/nc', state: 'open',
    detail: { exe: '/usr/bin/nc', baseline: 'shop/Deployment/web/app', identity: { sha256: sha('a') } } });

  const filters: ProcessFilter[] = [
    { state: 'open' }, { state: 'suppressed' }, { state: 'resolved' }, { state: 'open', node: 'node-a' }, { state: 'open', since: T0 + 1 },
    { state: 'open', namespace: 'shop' }, { state: 'open', namespace: 'SHOP' }, { state: 'open', namespace: 'sh%' }, { state: 'open', namespace: 'weird%ns' },
    { state: 'open', namespace: 'weird_ns' }, { state: 'open', namespace: 'éns' }, { state: 'open', namespace: 'ÉNS' }, { state: 'open', namespace: 'host' },
    { state: 'open', namespace: 'nocolon' }, { state: 'open', workload: 'web' }, { state: 'open', workload: 'Deployment/web' },
    { state: 'open', workload: 'deployment/WEB' }, { state: 'open', workload: 'a_b' }, { state: 'open', workload: 'Job/a%' }, { state: 'open', workload: 'Job/a\\b' },
    { state: 'open', namespace: 'shop', workload: 'Deployment/web', node: 'node-a' },
  ];
  for (const filter of filters) {
    for (const limit of [1, 3, 100]) {
      let after = 0;
      for (let i = 0; ; i++) {
        const page = await s.both(`${JSON.stringify(filter)} ${limit}: page ${i}`, (x) => x.processes.unexpected(filter, limit, after));
        if (page.nextCursor === null) break;
        after = decodeCursor(page.nextCursor)!;
      }
    }
  }
  t.deepEqual((await s.post.processes.unexpected({ state: 'open', namespace: 'SHOP' }, 100, 0)).items.map((p) => p.baseline),
    ['shop/Deployment/web/app', 'Shop/Deployment/Web/app', 'shop/Deployment/web/app', 'shop/Deployment/web/app', 'shop/Deployment/web/app'], 'ASCII case folded');
  const hostile = (await s.post.processes.unexpected({ state: 'open', node: 'node-a', workload: 'web' }, 100, 0)).items;
  t.like(hostile.find((p) => p.executable === long), { pid: null, user: '<b>root</b>', partial: false });
  t.is(hostile.find((p) => p.executable === long)?.parents.length, 64);
  t.deepEqual((await s.post.processes.unexpected({ state: 'open', namespace: 'éns' }, 100, 0)).items.map((p) => p.baseline), ['éns/Deployment/w/c'], 'not beyond ASCII');
  t.deepEqual((await s.post.processes.unexpected({ state: 'open', namespace: 'weird%ns' }, 100, 0)).items.map((p) => p.baseline), ['weird%ns/Job/a_b/c'], '% is literal');

  const seen = async (key: string, paths: string[]) => {
    const lite = await s.lite.processes.contentsSeen(key, paths);
    t.deepEqual(await s.post.processes.contentsSeen(key, paths), lite, `${key} ${paths.join(',')}`);
    return lite;
  };
  t.deepEqual(await seen('shop/Deployment/web/app', ['/usr/bin/nc', '/usr/bin/curl', '/nope']), new Map([['/usr/bin/nc', [sha('a'), sha('b')]]]));
  await seen('Shop/Deployment/Web/app', ['/bin/sh']);
  await seen('shop/Deployment/web/app', []);

  // Hostile filters: whatever the text, both backends agree.
  await checkProperty(t, fc.asyncProperty(hostileText(0, 12), hostileText(0, 12), fc.boolean(), async (ns, wl, withWorkload) => {
    const filter: ProcessFilter = { state: 'open', namespace: ns, ...(withWorkload ? { workload: wl } : {}) };
    const lite = await s.lite.processes.unexpected(filter, 100, 0);
    const post = await s.post.processes.unexpected(filter, 100, 0);
    t.deepEqual(post, lite);
    return JSON.stringify(post) === JSON.stringify(lite);
  }), 60);
});

/**
 * Text an operator or an agent could send: SQL and LIKE metacharacters, quotes, case pairs
 * inside and outside ASCII, astral characters; never NUL (no text column of either backend's
 * API input carries it) nor a lone surrogate (not text at all).
 */
function hostileText(min: number, max: number): fc.Arbitrary<string> {
  const unit = fc.oneof(
    fc.constantFrom('%', '_', '\\', "'", '"', '/', ':', '-', '.', ' ', 'a', 'A', 'z', 'Z', 'é', 'É', 'ß', 'İ', 'ı', '😀', '\uffff', '\u00a0', ';', '*', '$1'),
    fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }).filter((c) => !c.includes('\u0000')),
  );
  return fc.array(unit, { minLength: min, maxLength: max }).map((xs) => xs.join(''));
}

pgTest('hostile names, certificates, benchmarks and cursors: every page of both sorts the same on both backends', async (t) => {
  const s = await sides(t);
  const names = fc.uniqueArray(hostileText(1, 10), { minLength: 1, maxLength: 8, selector: (n) => n });
  const expiry = fc.option(fc.constantFrom(iso(T0), iso(T0 + DAY), iso(T0 + 2 * DAY), '9999-12-31T23:59:59.999Z'), { nil: undefined });
  await checkProperty(t, fc.asyncProperty(
    names, fc.array(hostileText(1, 10), { maxLength: 4 }), fc.array(expiry, { minLength: 8, maxLength: 8 }), fc.integer({ min: 1, max: 4 }),
    fc.constantFrom<'name' | 'certExpiry'>('name', 'certExpiry'), fc.option(hostileText(0, 6), { nil: undefined }), hostileText(1, 12),
    async (agents, clusterOnly, expiries, limit, sort, benchmark, probe) => {
      await s.exec('DELETE FROM nodes');
      await s.exec('DELETE FROM cluster_nodes');
      for (const [i, name] of agents.entries()) {
        const e = expiries[i];
        await s.both(`hello ${JSON.stringify(name)}`, (x) => x.nodes.hello(hello(name, { certificates: e ? [{ path: `/${name}`, notAfter: e }] : [] }), T0));
        if (i % 2 === 0) await s.exec('UPDATE nodes SET benchmark = ? WHERE name = ?', [benchmark ?? name, name]);
      }
      for (const name of clusterOnly) await s.both(`cluster ${JSON.stringify(name)}`, (x) => x.cluster.upsert(clusterNode(name), T0));
      await walk(s, `${sort} by ${limit}`, limit, { sort, after: '' });
      if (benchmark !== undefined) await walk(s, `${sort} by ${limit}, benchmark`, limit, { sort, after: '' }, { benchmark });
      // A cursor naming any text (what decodeNodeCursorOf admits): the same page after it.
      const first = expiries[0] ?? null;
      await s.both('after a hostile cursor', (x) => x.nodes.list(T0, STALE_MS, {}, limit, sort === 'name' ? { sort, after: probe } : { sort, after: probe, expiry: first }));
      await s.both('get a hostile name', (x) => x.nodes.get(probe, T0, STALE_MS, { cluster: true }));
      await s.both('get a known name', (x) => x.nodes.get(agents[0]!, T0, STALE_MS));
      return true;
    }), 40);
});

pgTest('replicas on PostgreSQL: hellos of one node at once make one row; counters added at once lose nothing; replaces at once neither deadlock nor mix', async (t) => {
  const first = await pgDatabase(t, server);
  const second = await pgPool(t, first.url, 4, false);
  const replicas = [createPgNodeStore(first.sql), createPgNodeStore(second.sql)];
  await Promise.all(Array.from({ length: 20 }, (_, i) => replicas[i % 2]!.hello(hello('node-a', { epoch: `e-${i}` }), T0 + i)));
  t.is((await first.sql.one<{ n: number }>("SELECT count(*) AS n FROM nodes WHERE name = 'node-a'"))!.n, 1);
  t.is((await replicas[0]!.get('node-a', T0, STALE_MS))!.firstSeen, iso(T0), 'the first hello\'s time is kept by every later one');
  await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 4 === 0
    ? replicas[i % 2]!.baselineKeysRefused('node-a', { notOnNode: 1, overNodeLimit: 2, centralFull: 0 })
    : replicas[i % 2]!.baselineReportRefused('node-a'))));
  const a = (await replicas[1]!.get('node-a', T0, STALE_MS))!;
  t.is(a.baselineReportsRefused, 30);
  t.deepEqual(a.baselineKeysRefused, { total: 30, notOnNode: 10, overNodeLimit: 20, centralFull: 0 });

  const clusters = [createPgClusterNodeStore(first.sql, first.transact), createPgClusterNodeStore(second.sql, second.transact)];
  const one = Array.from({ length: 60 }, (_, i) => clusterNode(`n-${String(i).padStart(2, '0')}`));
  const other = [...one].reverse().filter((_, i) => i % 3 !== 0).map((n) => ({ ...n, kernel: 'other' }));
  for (let round = 0; round < 5; round++) {
    await Promise.all([clusters[0]!.replace(one, T0 + round), clusters[1]!.replace(other, T0 + round), clusters[round % 2]!.upsert(clusterNode('n-00', { ready: false }), T0)]);
    const after = await clusters[0]!.all();
    const names = after.map((c) => c.name);
    const kernels = new Set(after.filter((c) => c.name !== 'n-00').map((c) => c.kernel));
    t.true(kernels.size === 1, `round ${round}: one replace's nodes, not a mix (${[...kernels].join(', ')})`);
    const expected = kernels.has('other') ? other : one;
    t.deepEqual(names.filter((n) => n !== 'n-00'), expected.map((n) => n.name).filter((n) => n !== 'n-00').sort(), `round ${round}`);
  }
});
