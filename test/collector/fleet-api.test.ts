// The query API over a fleet of two clusters (collector/fleet.ts): two real SQLite stores, each
// with a worker-1 node and findings whose ids carry their cluster's uid (decision 2 of the fleet
// brief, computed here by hand), read through the real API. Per-cluster answers, lists across
// clusters grouped in fleet order and paged across the boundary (every item once, in order,
// whatever the page size), cursors that were tampered with refused, unknown and ambiguous
// clusters refused, writes at another cluster refused with that cluster's store unchanged,
// GET /clusters' counts, and the summary across clusters as the sum of each one's; a cluster
// whose store fails left out of answers across clusters and named, a 503 where only it can
// answer; and `nodeward query ... --cluster` (the real binary) against that API.
import test, { type ExecutionContext } from 'ava';
import { openStore } from '../../collector/store/sqlite.js';
import type { Store } from '../../collector/store/store.js';
import type { FleetMember, ClusterIdentity } from '../../collector/fleet.js';
import { check, EAST, EAST_FINDINGS, fleetOf, idOf, NOW, proc, seed, WEST, WEST_FINDINGS, type Seeded } from '../helpers/fleet.js';
import { buildTestApi, type TestApi } from '../helpers/api-app.js';
import { ADMIN_TOKEN } from '../helpers/collector.js';
import { checkProperty, fc } from '../helpers/property.js';
import { runNodeward } from '../helpers/process.js';

interface Fixture {
  readonly api: TestApi;
  readonly west: Store;
  readonly east: Store;
}

async function fixture(t: ExecutionContext, extra: ReadonlyArray<{ identity: ClusterIdentity; findings: Seeded[] }> = []): Promise<Fixture> {
  const west = openStore({ path: ':memory:' });
  const east = openStore({ path: ':memory:' });
  await seed(west, WEST.uid, ['worker-1'], WEST_FINDINGS);
  await seed(east, EAST.uid, ['worker-1', 'worker-2'], EAST_FINDINGS);
  const others: FleetMember[] = [{ identity: EAST, own: false, store: east }];
  for (const e of extra) {
    const store = openStore({ path: ':memory:' });
    await seed(store, e.identity.uid, ['worker-1'], e.findings);
    others.push({ identity: e.identity, own: false, store });
  }
  const api = await buildTestApi({ store: west, now: () => NOW, fleet: fleetOf([{ identity: WEST, own: true, store: west }, ...others]) });
  t.teardown(async () => {
    await api.close();
    for (const m of others) await m.store.close();
  });
  return { api, west, east };
}

async function get<T = any>(api: TestApi, url: string): Promise<{ status: number; body: T }> {
  const res = await api.get(url);
  return { status: res.status, body: JSON.parse(res.body) as T };
}

async function write(api: TestApi, method: 'POST' | 'DELETE', url: string, payload?: unknown): Promise<{ status: number; body: any }> {
  const res = await api.app.inject({ method, url, headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, ...(payload === undefined ? {} : { payload: payload as object }) });
  return { status: res.statusCode, body: JSON.parse(res.body) };
}

/** Every item of a list, walking its pages of `limit` (at most 100 pages). */
async function walk(api: TestApi, path: string, query: string, limit: number): Promise<any[]> {
  const items: any[] = [];
  let cursor: string | null = null;
  for (let pages = 0; pages < 100; pages++) {
    const url: string = `${path}?${query}&limit=${limit}${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`;
    const res: { status: number; body: { items: any[]; nextCursor: string | null } } = await get(api, url);
    if (res.status !== 200) throw new Error(`${url}: ${res.status} ${JSON.stringify(res.body)}`);
    items.push(...res.body.items);
    cursor = res.body.nextCursor;
    if (cursor === null) return items;
  }
  throw new Error(`${path}?${query}: more than 100 pages`);
}

const LISTS = [
  { path: '/api/v1/findings', key: (x: any) => x.id as string },
  { path: '/api/v1/nodes', key: (x: any) => x.name as string },
  { path: '/api/v1/processes/unexpected', key: (x: any) => x.id as string },
] as const;

test('each cluster answers for itself: absent is the own cluster, a name or a uid another; items carry their cluster', async (t) => {
  const { api } = await fixture(t);
  const own = (await get(api, '/api/v1/findings')).body.items as any[];
  t.deepEqual(own.map((f) => f.id).sort(), WEST_FINDINGS.map((f) => idOf(WEST.uid, f.node, f.checkId, f.subject)).sort());
  t.true(own.every((f) => f.cluster === 'west' && f.clusterUid === WEST.uid));
  for (const param of ['east', EAST.uid]) {
    const east = (await get(api, `/api/v1/findings?cluster=${param}`)).body.items as any[];
    t.deepEqual(east.map((f) => f.id).sort(), EAST_FINDINGS.map((f) => idOf(EAST.uid, f.node, f.checkId, f.subject)).sort(), param);
    t.true(east.every((f) => f.cluster === 'east' && f.clusterUid === EAST.uid));
  }
  t.deepEqual((await get(api, '/api/v1/findings?cluster=west')).body.items, own, 'the own name is the own cluster');

  const nodes = (await get(api, '/api/v1/nodes?cluster=east')).body.items as any[];
  t.deepEqual(nodes.map((n) => [n.name, n.clusterName, n.clusterUid]), [['worker-1', 'east', EAST.uid], ['worker-2', 'east', EAST.uid]]);
  t.deepEqual((await get(api, '/api/v1/nodes')).body.items.map((n: any) => [n.name, n.clusterName]), [['worker-1', 'west']]);

  const procs = (await get(api, `/api/v1/processes/unexpected?cluster=${EAST.uid}`)).body.items as any[];
  t.deepEqual(procs.map((p) => `${p.node} ${p.executable} ${p.cluster}`).sort(), ['worker-1 /usr/bin/socat east', 'worker-2 /bin/busybox east', 'worker-2 /usr/bin/nc east']);

  // One finding: the own cluster first, then the others.
  const eastId = idOf(EAST.uid, 'worker-2', 'cis-4.2.6', '--flag-cis-4.2.6');
  t.like((await get(api, `/api/v1/findings/${eastId}`)).body, { id: eastId, cluster: 'east', clusterUid: EAST.uid, checkId: 'cis-4.2.6' });
  const westId = idOf(WEST.uid, 'worker-1', 'cis-4.2.1', '--flag-cis-4.2.1');
  t.like((await get(api, `/api/v1/findings/${westId}`)).body, { cluster: 'west' });
  t.is((await get(api, `/api/v1/findings/${'0'.repeat(32)}`)).status, 404);
});

test('across clusters (*): grouped by cluster in fleet order, each in its usual order; pages of any size cross the boundary, every item once', async (t) => {
  const { api } = await fixture(t);
  for (const { path, key } of LISTS) {
    const west = (await get(api, `${path}?cluster=west&limit=1000`)).body.items as any[];
    const east = (await get(api, `${path}?cluster=east&limit=1000`)).body.items as any[];
    const all = (await get(api, `${path}?cluster=*&limit=1000`)).body;
    t.deepEqual(all.items, [...west, ...east], `${path}: the own cluster's list, then the other's`);
    t.is(all.nextCursor, null);
    await checkProperty(t, fc.asyncProperty(fc.integer({ min: 1, max: west.length + east.length + 2 }), async (limit) => {
      const walked = await walk(api, path, 'cluster=*', limit);
      return JSON.stringify(walked.map(key)) === JSON.stringify([...west, ...east].map(key));
    }), 12);
  }
  // Another order of findings is kept within each cluster.
  const bySort = (await get(api, '/api/v1/findings?cluster=*&sort=node&order=desc&limit=1000')).body.items as any[];
  const westSorted = (await get(api, '/api/v1/findings?sort=node&order=desc&limit=1000')).body.items as any[];
  t.deepEqual(bySort.slice(0, westSorted.length), westSorted);
  t.deepEqual(await walk(api, '/api/v1/findings', 'cluster=*&sort=node&order=desc', 3), bySort);
});

test('a cursor tampered with, forged, or of another listing is a 400 naming the parameter, never a 500', async (t) => {
  const { api } = await fixture(t);
  const first = (await get(api, '/api/v1/findings?cluster=*&limit=4')).body;
  const second = (await get(api, `/api/v1/findings?cluster=*&limit=4&cursor=${encodeURIComponent(first.nextCursor)}`)).body;
  t.is(second.items[0].cluster, 'west');
  t.is(second.items.at(-1).cluster, 'east', 'the second page crosses into the other cluster');
  const wrapped = JSON.parse(Buffer.from(String(second.nextCursor).slice(2), 'base64url').toString()) as { l: string; i: number; u: string; k: string | null };
  t.is(wrapped.i, 1);
  const make = (v: unknown): string => `f.${Buffer.from(JSON.stringify(v)).toString('base64url')}`;
  const singleCursor = (await get(api, '/api/v1/findings?limit=1')).body.nextCursor as string;
  const bad = [
    make({ ...wrapped, u: WEST.uid }), make({ ...wrapped, i: 7 }), make({ ...wrapped, i: -1 }), make({ ...wrapped, k: 'eyJhZnRlciI6MX0.AAAAAAAAAAAAAAAAAAAAAA' }),
    make({ ...wrapped, k: singleCursor }), // the own store's sealed cursor, handed to the other cluster's store: not sealed with its key
    make({ ...wrapped, extra: 1 }), make({ i: 0, u: WEST.uid, k: null }), make({ ...wrapped, l: 'nodes:name' }), make({ ...wrapped, l: 'findings:node:desc' }), 'f.', 'f.!!', singleCursor, `${second.nextCursor}x`,
  ];
  for (const cursor of bad) {
    const res = await get(api, `/api/v1/findings?cluster=*&cursor=${encodeURIComponent(cursor)}`);
    t.is(res.status, 400, cursor);
    t.regex(res.body.error, /parameter cursor/, cursor);
  }
  t.is((await get(api, `/api/v1/findings?cursor=${encodeURIComponent(second.nextCursor)}`)).status, 400, 'a cursor across clusters, given to one cluster');
  t.is((await get(api, `/api/v1/findings?cluster=*&sort=node&cursor=${encodeURIComponent(second.nextCursor)}`)).status, 400, 'a cursor of another order');
  const nodesCursor = (await get(api, '/api/v1/nodes?cluster=*&limit=1')).body.nextCursor as string;
  t.is((await get(api, `/api/v1/processes/unexpected?cluster=*&cursor=${encodeURIComponent(nodesCursor)}`)).status, 400, "the nodes list's cursor");
  // Whatever the text, a list across clusters answers 200 or 400.
  await checkProperty(t, fc.asyncProperty(fc.oneof(fc.string({ maxLength: 300 }), fc.string().map((s) => `f.${Buffer.from(s).toString('base64url')}`),
    fc.record({ l: fc.constantFrom('findings:severity:desc', 'nodes:name', 'processes', ''), i: fc.integer({ min: -2, max: 3 }), u: fc.constantFrom(WEST.uid, EAST.uid, ''), k: fc.oneof(fc.constant(null), fc.string({ maxLength: 40 })) }).map(make)), async (cursor) => {
    for (const { path } of LISTS) {
      const res = await api.get(`${path}?cluster=*&cursor=${encodeURIComponent(cursor)}`);
      if (res.status !== 200 && res.status !== 400) return false;
    }
    return true;
  }), 60);
});

test('an unknown cluster is a 400 naming the parameter; a name two clusters share is a 400 listing their uids, and the uid answers', async (t) => {
  const twin: ClusterIdentity = { uid: 'c0ffee00-1111-4222-8333-444455556666', name: 'east' };
  const { api } = await fixture(t, [{ identity: twin, findings: [check('cis-4.2.1', 'worker-1', 'high')] }]);
  for (const path of ['/api/v1/findings', '/api/v1/nodes', '/api/v1/processes/unexpected', '/api/v1/summary']) {
    const unknown = await get(api, `${path}?cluster=north`);
    t.is(unknown.status, 400, path);
    t.regex(unknown.body.error, /^parameter cluster /, path);
    const twice = await get(api, `${path}?cluster=east`);
    t.is(twice.status, 400, path);
    t.true(twice.body.error.includes(EAST.uid) && twice.body.error.includes(twin.uid), twice.body.error);
    t.is((await get(api, `${path}?cluster=${twin.uid}`)).status, 200, path);
  }
  const byUid = (await get(api, `/api/v1/findings?cluster=${twin.uid}`)).body.items as any[];
  t.deepEqual(byUid.map((f) => [f.id, f.cluster, f.clusterUid]), [[idOf(twin.uid, 'worker-1', 'cis-4.2.1', '--flag-cis-4.2.1'), 'east', twin.uid]]);
  t.is((await get(api, '/api/v1/findings?cluster=')).status, 400, 'an empty cluster parameter');
});

test("writes stay on the own cluster: another cluster's finding or node is a 409 naming that cluster, and its store is unchanged", async (t) => {
  const { api, east } = await fixture(t);
  const before = {
    findings: await east.findings.list({}, 1000), summary: await east.summary.summary({ state: 'open', top: 100, now: NOW, staleAfterMs: 120_000 }),
    nodes: await east.nodes.list(NOW, 120_000, {}, 100, { sort: 'name', after: '' }),
  };
  const eastId = idOf(EAST.uid, 'worker-2', 'cis-4.2.6', '--flag-cis-4.2.6');
  const suppress = await write(api, 'POST', `/api/v1/findings/${eastId}/suppress`, { reason: 'not ours' });
  t.is(suppress.status, 409);
  t.regex(suppress.body.error, new RegExp(`cluster east \\(uid ${EAST.uid}\\).*ask that cluster's collector`));
  t.is((await write(api, 'POST', `/api/v1/findings/${eastId}/unsuppress`)).status, 409);
  const del = await write(api, 'DELETE', '/api/v1/nodes/worker-2');
  t.is(del.status, 409);
  t.regex(del.body.error, /node worker-2 belongs to cluster east/);
  t.is((await write(api, 'POST', `/api/v1/findings/${'0'.repeat(32)}/suppress`, { reason: 'x' })).status, 404, 'in no cluster: 404 as before');
  t.deepEqual({
    findings: await east.findings.list({}, 1000), summary: await east.summary.summary({ state: 'open', top: 100, now: NOW, staleAfterMs: 120_000 }),
    nodes: await east.nodes.list(NOW, 120_000, {}, 100, { sort: 'name', after: '' }),
  }, before);
  // The own cluster's finding is still the own collector's to suppress.
  const westId = idOf(WEST.uid, 'worker-1', 'cis-4.2.1', '--flag-cis-4.2.1');
  const own = await write(api, 'POST', `/api/v1/findings/${westId}/suppress`, { reason: 'ours' });
  t.is(own.status, 200, JSON.stringify(own.body));
  t.like(own.body, { state: 'suppressed', cluster: 'west', clusterUid: WEST.uid });
});

test('GET /clusters: every member with its counts, the own first, and the totals; the summary across clusters is the sum of each one', async (t) => {
  const { api } = await fixture(t);
  const { status, body } = await get(api, '/api/v1/clusters');
  t.is(status, 200);
  const sev = (xs: Seeded[]) => Object.fromEntries((['info', 'low', 'medium', 'high', 'critical'] as const).map((s) => [s, xs.filter((f) => f.severity === s).length]));
  t.deepEqual(body.items, [
    { uid: WEST.uid, name: 'west', own: true, readable: true, nodes: { total: 1, connected: 1 }, openFindings: { total: 6, bySeverity: sev(WEST_FINDINGS) }, unexpectedProcesses: 2 },
    { uid: EAST.uid, name: 'east', own: false, readable: true, nodes: { total: 2, connected: 2 }, openFindings: { total: 7, bySeverity: sev(EAST_FINDINGS) }, unexpectedProcesses: 3 },
  ]);
  t.deepEqual(body.totals, { nodes: { total: 3, connected: 3 }, openFindings: { total: 13, bySeverity: sev([...WEST_FINDINGS, ...EAST_FINDINGS]) }, unexpectedProcesses: 5 });

  const west = (await get(api, '/api/v1/summary?cluster=west&top=100')).body;
  const east = (await get(api, '/api/v1/summary?cluster=east&top=100')).body;
  t.deepEqual((await get(api, '/api/v1/summary?top=100')).body, west, 'absent is the own cluster');
  t.is(west.clusters, undefined, 'one cluster: no clusters array');
  const all = (await get(api, '/api/v1/summary?cluster=*&top=100')).body;
  t.deepEqual(all.clusters, [{ uid: WEST.uid, name: 'west', own: true, summary: west }, { uid: EAST.uid, name: 'east', own: false, summary: east }]);
  t.deepEqual(all.nodes, { total: 3, connected: west.nodes.connected + east.nodes.connected, stale: west.nodes.stale + east.nodes.stale });
  t.is(all.findings.total, west.findings.total + east.findings.total);
  for (const s of ['info', 'low', 'medium', 'high', 'critical']) t.is(all.findings.bySeverity[s], west.findings.bySeverity[s] + east.findings.bySeverity[s], s);
  t.deepEqual(all.findings.byCategory, { 'control-plane': 1, kubelet: 7, process: 5 });
  t.deepEqual(all.byNode.map((n: any) => `${n.cluster}/${n.node}`).sort(), ['east/worker-1', 'east/worker-2', 'west/worker-1']);
  t.is(all.byNode.reduce((n: number, x: any) => n + x.total, 0), 13);
  // cis-4.2.1 fails on worker-1 of west and on worker-1 and worker-2 of east: three nodes, as
  // unexpected processes do (with more findings, so they come first).
  t.like(all.topChecks[0], { checkId: 'proc-unexpected', nodes: 3, findings: 5 });
  t.like(all.topChecks[1], { checkId: 'cis-4.2.1', nodes: 3, findings: 3 });
  const top1 = (await get(api, '/api/v1/summary?cluster=*&top=1')).body;
  t.is(top1.byNode.length, 1);
  t.deepEqual(top1.topChecks.map((c: any) => c.checkId), ['proc-unexpected']);
  t.true(top1.clusters.every((c: any) => c.summary.topChecks.length <= 1), "each cluster's own summary is cut to top too");
});

test('one node is asked of one cluster: the own by default, another by name or uid, never *', async (t) => {
  const { api } = await fixture(t);
  const own = await get(api, '/api/v1/nodes/worker-1');
  t.is(own.status, 200);
  t.like(own.body, { name: 'worker-1', clusterName: 'west', clusterUid: WEST.uid });
  t.like((await get(api, '/api/v1/nodes/worker-1?cluster=east')).body, { name: 'worker-1', clusterName: 'east', clusterUid: EAST.uid });
  t.like((await get(api, `/api/v1/nodes/worker-2?cluster=${EAST.uid}`)).body, { name: 'worker-2', clusterName: 'east' });
  t.is((await get(api, '/api/v1/nodes/worker-2?cluster=east')).body.exposure, null, 'its exposure, from its store (none scanned)');
  t.is((await get(api, '/api/v1/nodes/worker-2')).status, 404, 'west has no worker-2');
  const every = await get(api, '/api/v1/nodes/worker-1?cluster=*');
  t.is(every.status, 400);
  t.regex(every.body.error, /parameter cluster/);
  t.is((await get(api, '/api/v1/nodes/worker-1?cluster=nowhere')).status, 400);
});

test("another cluster whose store fails reads: left out and named in answers across clusters, 503 naming it where only it can answer, never a 500; /clusters lists it unreadable; the own cluster answers as before", async (t) => {
  const { api, east } = await fixture(t);
  const before = (await get(api, '/api/v1/clusters')).body;
  // A walk across clusters that has read west's findings: its cursor is at east's start.
  const started = (await get(api, `/api/v1/findings?cluster=*&limit=${WEST_FINDINGS.length}`)).body;
  t.not(started.nextCursor, null);
  await east.close(); // every read of it now throws, as a revoked grant or a lost database does
  const leftOut = [{ cluster: 'east', clusterUid: EAST.uid }];
  // Across clusters: the others answer, and east is named.
  const findings = await get(api, '/api/v1/findings?cluster=*&limit=100');
  t.is(findings.status, 200);
  t.deepEqual(findings.body.unreadable, leftOut);
  t.deepEqual(findings.body.items.map((f: any) => f.cluster), WEST_FINDINGS.map(() => 'west'));
  t.is(findings.body.nextCursor, null);
  for (const url of ['/api/v1/nodes?cluster=*', '/api/v1/processes/unexpected?cluster=*']) {
    const res = await get(api, url);
    t.is(res.status, 200, url);
    t.deepEqual(res.body.unreadable, leftOut, url);
    t.true(res.body.items.every((x: any) => (x.cluster ?? x.clusterName) === 'west'), url);
  }
  const summary = await get(api, '/api/v1/summary?cluster=*');
  t.is(summary.status, 200);
  t.deepEqual(summary.body.unreadable, leftOut);
  t.deepEqual(summary.body.clusters.map((c: any) => c.name), ['west']);
  t.is(summary.body.findings.total, (await get(api, '/api/v1/summary')).body.findings.total, 'the sums of the readable clusters');
  // The walk goes on past east, naming it, to its end.
  const rest = await get(api, `/api/v1/findings?cluster=*&limit=${WEST_FINDINGS.length}&cursor=${encodeURIComponent(started.nextCursor)}`);
  t.is(rest.status, 200);
  t.deepEqual(rest.body, { items: [], nextCursor: null, unreadable: leftOut });
  // Where only east can answer: 503 naming it.
  for (const url of ['/api/v1/findings?cluster=east', '/api/v1/summary?cluster=east']) {
    const res = await api.get(url);
    t.is(res.status, 503, url);
    t.regex(JSON.parse(res.body).error, new RegExp(`cluster east \\(uid ${EAST.uid}\\) cannot be read now`), url);
    t.is(res.headers['retry-after'], '5', url);
  }
  // The CLI says what it left out.
  const url = await api.listen();
  const cli = await runNodeward(['query', 'findings', '--cluster', '*', '--url', url], { NODEWARD_TOKEN: ADMIN_TOKEN });
  t.is(cli.code, 0, cli.stderr);
  t.regex(cli.stderr, new RegExp(`left out: cluster east \\(uid ${EAST.uid}\\), whose store could not be read now`));
  // A finding only east holds cannot be looked for there: 503, not a 404 that says it does not exist.
  t.is((await api.get(`/api/v1/findings/${idOf(EAST.uid, 'worker-1', 'cis-4.2.9', '--flag-cis-4.2.9')}`)).status, 503);
  const own = await get(api, '/api/v1/findings?limit=100');
  t.is(own.status, 200);
  t.is(own.body.items.length, WEST_FINDINGS.length);
  const { status, body } = await get(api, '/api/v1/clusters');
  t.is(status, 200);
  t.deepEqual(body.items.map((c: any) => [c.name, c.readable]), [['west', true], ['east', false]]);
  t.deepEqual(body.items[0], before.items[0], 'the own cluster counted as before');
  t.is(body.items[1].openFindings.total, 0);
  t.deepEqual(body.totals.nodes, before.items[0].nodes);
  t.is(body.totals.openFindings.total, WEST_FINDINGS.length, 'totals over the readable clusters only');
  // The clusters alone (the dashboard's selector): no store is read, so east is listed as it is.
  const names = await get(api, '/api/v1/clusters?counts=false');
  t.is(names.status, 200);
  t.deepEqual(names.body, { items: [{ uid: WEST.uid, name: 'west', own: true }, { uid: EAST.uid, name: 'east', own: false }] });
  t.is((await get(api, '/api/v1/clusters?counts=maybe')).status, 400);
});

test("nodeward query: --cluster asks another cluster or every one (with a Cluster column), and query clusters lists them", async (t) => {
  const { api } = await fixture(t);
  const url = await api.listen();
  const conn = ['--url', url];
  const env = { NODEWARD_TOKEN: ADMIN_TOKEN };
  const rowsOf = (stdout: string): string[][] => stdout.trimEnd().split('\n').map((l) => l.split(/\s{2,}/));

  const clusters = await runNodeward(['query', 'clusters', ...conn], env);
  t.is(clusters.code, 0, clusters.stderr);
  const table = rowsOf(clusters.stdout);
  t.deepEqual(table[0], ['CLUSTER', 'UID', 'OWN', 'NODES', 'CONNECTED', 'OPEN', 'CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'INFO', 'UNEXPECTED PROCESSES']);
  t.deepEqual(table.slice(1).map((r) => [r[0], r.at(-1)]), [['west', '2'], ['east', '3'], ['(all)', '5']]);
  t.deepEqual(JSON.parse((await runNodeward(['query', 'clusters', ...conn, '-o', 'json'], env)).stdout), (await get(api, '/api/v1/clusters')).body);

  const east = await runNodeward(['query', 'findings', ...conn, '--cluster', 'east', '-o', 'json', '--all'], env);
  t.is(east.code, 0, east.stderr);
  t.true(JSON.parse(east.stdout).items.every((f: any) => f.clusterUid === EAST.uid));
  t.false(rowsOf((await runNodeward(['query', 'findings', ...conn, '--cluster', 'east'], env)).stdout)[0]!.includes('CLUSTER'), 'one cluster: no Cluster column');

  // Every cluster, a page at a time through the cursor (--all with the API's pages).
  const all = await runNodeward(['query', 'findings', ...conn, '--cluster', '*', '--all'], env);
  t.is(all.code, 0, all.stderr);
  const rows = rowsOf(all.stdout);
  t.is(rows[0]![0], 'CLUSTER');
  t.deepEqual(rows.slice(1).map((r) => r[0]), [...WEST_FINDINGS.map(() => 'west'), ...EAST_FINDINGS.map(() => 'east')]);
  const nodes = rowsOf((await runNodeward(['query', 'nodes', ...conn, '--cluster', '*'], env)).stdout);
  t.deepEqual(nodes.slice(1).map((r) => `${r[0]}/${r[1]}`), ['west/worker-1', 'east/worker-1', 'east/worker-2']);
  const procs = rowsOf((await runNodeward(['query', 'processes', ...conn, '--cluster', '*'], env)).stdout);
  t.deepEqual(procs.slice(1).map((r) => r[0]), ['west', 'west', 'east', 'east', 'east']);
  const summary = await runNodeward(['query', 'summary', ...conn, '--cluster', '*'], env);
  t.is(summary.code, 0, summary.stderr);
  t.regex(summary.stdout, /^Nodes: +3 /m);
  t.regex(summary.stdout, /^Clusters\n.*\nwest \(own\) +0b9e/m);

  const unknown = await runNodeward(['query', 'nodes', ...conn, '--cluster', 'north'], env);
  t.is(unknown.code, 2, 'a cluster the collector cannot read is a usage error');
  t.regex(unknown.stderr, /parameter cluster/);
});
