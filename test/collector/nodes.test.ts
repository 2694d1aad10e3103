// Nodes: the inventory from hellos and heartbeats, and staleness: an agent that goes silent
// raises its own finding, which resolves when the agent comes back.
import test from 'ava';
import Database from 'better-sqlite3';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { openStore } from '../../collector/store/sqlite.js';
import { MIGRATIONS } from '../../collector/store/migrations/index.js';
import { eventually } from '../helpers/https.js';
import { testClock } from '../helpers/clock.js';
import { api, connect, fp, ok, proc, result, withCollector } from '../helpers/agent-session.js';

const FAST = { 'nodes.staleAfterSeconds': 4, 'maintenance.intervalSeconds': 1 };

test('a silent agent makes its node stale and raises agent-stale; the agent coming back resolves it', async (t) => {
  const clock = testClock();
  await withCollector(async (tc) => {
    const staleId = fp('node-a', 'agent-stale', 'node-a');
    const a = await connect(tc, 'node-a');
    await a.batch([proc('/usr/bin/nc')]);
    // node-b keeps heartbeating throughout and must never go stale.
    const b = await connect(tc, 'node-b');
    await b.batch([proc('/usr/bin/true')]);
    a.close();
    /** node-b's heartbeat at the current time, seen by the collector before time moves on. */
    const beat = async (): Promise<void> => {
      const at = clock.now();
      b.heartbeat();
      await eventually('node-b\'s heartbeat', async () => (Date.parse((await tc.collector.store?.nodes.get('node-b', at, 60_000))?.lastSeen ?? '') >= at ? true : undefined), 20_000, 5);
    };
    /** Time passes (200 ms a step) with node-b heartbeating, until `done`. */
    const passUntil = <T>(what: string, done: () => Promise<T | undefined>): Promise<T> => clock.advanceUntil(what, async () => {
      await beat();
      return done();
    }, { stepMs: 200 });

    const raised = await passUntil('agent-stale to be raised for node-a', async () => {
      const res = await api(tc, `/api/v1/findings/${staleId}`);
      return res.status === 200 ? res.body : undefined;
    });
    t.like(raised, { node: 'node-a', checkId: 'agent-stale', category: 'agent', subject: 'node-a', state: 'open', severity: 'high', count: 1 });
    t.regex(raised.actual, /no message for \d+ s/);
    t.is(typeof raised.detail.lastSeen, 'string');

    const nodeA = await ok(tc, '/api/v1/nodes/node-a');
    t.like(nodeA, { name: 'node-a', stale: true, connected: false });
    t.deepEqual((await ok(tc, '/api/v1/nodes?stale=true')).items.map((n: any) => n.name), ['node-a']);
    t.deepEqual((await ok(tc, '/api/v1/nodes?stale=false')).items.map((n: any) => n.name), ['node-b']);
    t.deepEqual((await ok(tc, '/api/v1/findings?check=agent-stale')).items.map((f: any) => f.node), ['node-a'], 'node-b never went stale');
    const summary = await ok(tc, '/api/v1/summary');
    t.like(summary.nodes, { total: 2, connected: 1, stale: 1 });
    t.is(summary.findings.byCategory.agent, 1);

    // The agent comes back: the finding resolves at once, the node is no longer stale.
    const back = await connect(tc, 'node-a');
    await back.batch([proc('/usr/bin/nc')]);
    const resolved = await ok(tc, `/api/v1/findings/${staleId}`);
    t.is(resolved.state, 'resolved');
    t.regex(resolved.history[0].note, /agent is back/);
    t.like(await ok(tc, '/api/v1/nodes/node-a'), { stale: false, connected: true });

    // Silent again: the same finding reopens, its count says how often this happened.
    back.close();
    const again = await passUntil('agent-stale to reopen', async () => {
      const f = await ok(tc, `/api/v1/findings/${staleId}`);
      return f.state === 'open' ? f : undefined;
    });
    t.is(again.count, 2);
    t.deepEqual(again.history.map((h: any) => h.event), ['reopened', 'resolved', 'opened']);
    t.is(tc.collector.metrics.get('nodeward_nodes_went_stale_total'), 2);
    b.close();
  }, { overrides: FAST, clock });
});

test('GET /api/v1/nodes/{name}: inventory from the hello; 404 for an unknown node, 400 for a name that cannot be a node', (t) => withCollector(async (tc) => {
  const a = await connect(tc, 'node-a', { os: 'Ubuntu 24.04 LTS', agentVersion: '0.3.0', kubeletVersion: 'v1.30.4' });
  await a.scan(Date.now(), ['cis-4.2.1', 'cis-4.2.2'], [result('cis-4.2.1', '--anonymous-auth', 'fail'), result('cis-4.2.2', '--authorization-mode', 'pass')]);
  const n = await ok(tc, '/api/v1/nodes/node-a');
  t.like(n, {
    name: 'node-a', os: 'Ubuntu 24.04 LTS', agentVersion: '0.3.0', kubeletVersion: 'v1.30.4', kernel: '6.1.0', connected: true,
    stale: false, openFindings: 1, failingChecks: 1, complianceScore: 0.5, scoredChecks: { passing: 1, scored: 2 },
  });
  t.is(n.certificates.length, 1);
  t.is(n.certificates[0].path, '/var/lib/kubelet/pki/kubelet.crt');
  t.true(Date.parse(n.certificates[0].notAfter) > Date.now());

  const missing = await api(tc, '/api/v1/nodes/node-z');
  t.is(missing.status, 404);
  t.is(missing.body.error, 'no such node');
  for (const bad of ['Bad_Name', '-node', encodeURIComponent("x' OR '1'='1")]) {
    const res = await api(tc, `/api/v1/nodes/${bad}`);
    t.is(res.status, 400, `${bad}: ${res.text}`);
    t.regex(res.body.error, /name/);
  }
  a.close();
}));

test('GET /api/v1/nodes pages by name with a cursor and rejects bad parameters with 400', (t) => withCollector(async (tc) => {
  const names = ['node-a', 'node-b', 'node-c'];
  const sessions = await Promise.all(names.map((n) => connect(tc, n)));
  await Promise.all(sessions.map((s) => s.batch([proc('/usr/bin/nc')])));
  const seen: string[] = [];
  let cursor: string | null = null;
  do {
    const page: any = await ok(tc, `/api/v1/nodes?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    t.true(page.items.length <= 2);
    seen.push(...page.items.map((n: any) => n.name));
    cursor = page.nextCursor;
  } while (cursor);
  t.deepEqual(seen, names);
  t.is((await ok(tc, '/api/v1/nodes?limit=3')).nextCursor, null);

  for (const [q, param] of [['limit=0', 'limit'], ['limit=99999', 'limit'], ['stale=perhaps', 'stale'], ['cursor=%%%', 'cursor'],
    [`cursor=${Buffer.from('{"after":5}').toString('base64url')}`, 'cursor'], ['colour=red', 'colour']] as const) {
    const res = await api(tc, `/api/v1/nodes?${q}`);
    t.is(res.status, 400, `${q}: ${res.text}`);
    t.true(String(res.body.error).includes(param), `${q}: ${res.body.error}`);
  }
  sessions.forEach((s) => s.close());
}, { nodes: ['node-a', 'node-b', 'node-c'] }));

// Every AgentStats field, each with its own value, so a counter stored in the wrong column shows.
const HELLO_STATS = {
  spoolEntries: 3, spoolBytes: 4096, spoolDropped: 2, rejected: 1, execCoverage: 'event', processEventsCapped: 40,
  processEventsLost: 5, execEventsLost: 7, execRecordsPartial: 9, baselineItemsDropped: 11, baselineKeysEvicted: 13, baselineReportDropped: 17,
  execSource: 'netlink', execSourceReason: 'ebpf: NO_CAPABILITY: the agent lacks CAP_BPF', execRingLost: 19, execUnjudged: 23,
  execFakeContainer: 29, execHostNamespace: 31, execBatches: 37, hostDocumentsRefused: 41,
  hostDocumentRefusedPath: '/etc/kubernetes/manifests/kube-apiserver.yaml', hostDocumentRefusedReason: 'bytes',
  execIdentityFailed: 43, execIdentityFailedReason: 'too-large', execEvents: 47, lastScanDurationMs: 53,
  exposureWalkPidLimitHits: 59, exposureWalkTimeLimitHits: 61, exposureWalkFdLimitHits: 67, exposureWalkUnreadable: 71,
  exposureRowsRefused: 73, exposureListenersDropped: 79, exposureNativeReader: true,
};

test('every AgentStats counter of a hello, then of a heartbeat, is in GET /api/v1/nodes, with the total of what the agent lost', (t) => withCollector(async (tc) => {
  const a = await connect(tc, 'node-a', { stats: HELLO_STATS });
  // Messages on a stream are handled in order: once this batch is acked, the hello is stored.
  await a.batch([proc('/usr/bin/nc')]);
  const fromHello = await ok(tc, '/api/v1/nodes/node-a');
  t.is(fromHello.execCoverage, 'event');
  t.like(fromHello, { execSource: 'netlink', execSourceReason: 'ebpf: NO_CAPABILITY: the agent lacks CAP_BPF', execRingLost: 19 });
  t.like(fromHello, { execFakeContainer: 29, execHostNamespace: 31, execBatches: 37 });
  t.deepEqual(fromHello.hostDocumentsRefused, { count: 41, lastPath: '/etc/kubernetes/manifests/kube-apiserver.yaml', lastReason: 'bytes' });
  t.deepEqual(fromHello.execIdentityFailed, { count: 43, lastReason: 'too-large' });
  t.like(fromHello, { execEvents: 47, lastScanDurationMs: 53 });
  t.deepEqual(fromHello.exposureCuts, { walkPidLimitHits: 59, walkTimeLimitHits: 61, walkFdLimitHits: 67, walkUnreadable: 71, rowsRefused: 73, listenersDropped: 79, nativeReader: true });
  t.deepEqual(fromHello.spool, { entries: 3, bytes: 4096, dropped: 2, rejected: 1 });
  t.deepEqual(fromHello.agentDrops, {
    total: 2 + 1 + 5 + 7 + 23 + 11 + 13 + 17, spool: 2, rejected: 1, processEventsLost: 5, execEventsLost: 7, execUnjudged: 23,
    baselineItemsDropped: 11, baselineKeysEvicted: 13, baselineReportDropped: 17,
  }, 'ring-buffer losses are inside execEventsLost, not added again');
  t.deepEqual(fromHello.agentDegraded, { processEventsCapped: 40, execRecordsPartial: 9 }, 'seen late or in part is not counted as lost');
  t.is(fromHello.baselineReportsRefused, 0);
  t.deepEqual((await ok(tc, '/api/v1/nodes')).items.find((n: any) => n.name === 'node-a').agentDrops, fromHello.agentDrops, 'the list says the same');

  // A heartbeat replaces every counter with the agent's latest values (a field it leaves out is 0).
  a.heartbeat({ spoolEntries: 1, spoolDropped: 4, execCoverage: 'scan', processEventsLost: 6, execEventsLost: 100, execRecordsPartial: 10, baselineReportDropped: 18 });
  await a.batch([proc('/usr/bin/nc')]);
  const fromBeat = await ok(tc, '/api/v1/nodes/node-a');
  t.is(fromBeat.execCoverage, 'scan');
  t.like(fromBeat, { execSource: 'scan', execSourceReason: '', execRingLost: 0 }, 'no exec_source (an older agent): its exec_coverage says');
  t.like(fromBeat, { execFakeContainer: 0, execHostNamespace: 0, execBatches: 0 }, 'an agent that predates them sends none: 0');
  t.deepEqual(fromBeat.hostDocumentsRefused, { count: 0, lastPath: '', lastReason: '' });
  t.deepEqual(fromBeat.execIdentityFailed, { count: 0, lastReason: '' });
  t.like(fromBeat, { execEvents: 0, lastScanDurationMs: 0 });
  t.deepEqual(fromBeat.exposureCuts, { walkPidLimitHits: 0, walkTimeLimitHits: 0, walkFdLimitHits: 0, walkUnreadable: 0, rowsRefused: 0, listenersDropped: 0, nativeReader: false });
  t.deepEqual(fromBeat.spool, { entries: 1, bytes: 0, dropped: 4, rejected: 0 });
  t.deepEqual(fromBeat.agentDrops, {
    total: 4 + 6 + 100 + 18, spool: 4, rejected: 0, processEventsLost: 6, execEventsLost: 100, execUnjudged: 0,
    baselineItemsDropped: 0, baselineKeysEvicted: 0, baselineReportDropped: 18,
  });
  t.deepEqual(fromBeat.agentDegraded, { processEventsCapped: 0, execRecordsPartial: 10 });

  // The OpenAPI document describes the groups.
  const doc = await ok(tc, '/api/v1/openapi.json');
  const schema = JSON.stringify(doc);
  for (const field of ['agentDrops', 'agentDegraded', 'baselineReportsRefused', 'execEventsLost', 'execSource', 'execSourceReason', 'execRingLost', 'execUnjudged',
    'execFakeContainer', 'execHostNamespace', 'execBatches', 'hostDocumentsRefused', 'lastPath', 'lastReason', 'execIdentityFailed', 'execEvents', 'lastScanDurationMs']) t.true(schema.includes(field), field);
  a.close();
}));

test('AgentStats counters above 2^53-1 are stored as 2^53-1 and the stream goes on; a bad execCoverage ends the stream with INVALID_ARGUMENT', (t) => withCollector(async (tc) => {
  const MAX = Number.MAX_SAFE_INTEGER;
  const a = await connect(tc, 'node-a', {
    stats: {
      spoolDropped: String(MAX), execEventsLost: '9007199254740992', processEventsLost: '18446744073709551615', execRecordsPartial: '18446744073709551615',
      execFakeContainer: '18446744073709551615', execHostNamespace: '9007199254740992', execBatches: '18446744073709551615', hostDocumentsRefused: '18446744073709551615',
    },
  });
  await a.batch([proc('/usr/bin/nc')]);
  const n = await ok(tc, '/api/v1/nodes/node-a');
  t.like(n.agentDrops, { spool: MAX, execEventsLost: MAX, processEventsLost: MAX, rejected: 0 }, 'the bound itself is kept; anything above becomes the bound');
  t.like(n, { execFakeContainer: MAX, execHostNamespace: MAX, execBatches: MAX, hostDocumentsRefused: { count: MAX } }, 'the new counters are bounded alike');
  t.is(n.agentDrops.total, MAX, 'the total stays an exact JSON number');
  t.is(n.agentDegraded.execRecordsPartial, MAX);

  // A string over its bound is refused; a heartbeat has no ack, so the stream ends, naming the field.
  a.heartbeat({ spoolDropped: 1, execCoverage: 'x'.repeat(33) });
  const ended = await a.stream.ended;
  t.is(ended.code, grpc.status.INVALID_ARGUMENT);
  t.regex(ended.details, /stats\.execCoverage is longer than 32 characters/);
  t.is((await ok(tc, '/api/v1/nodes/node-a')).agentDrops.spool, MAX, 'the refused heartbeat changed nothing');

  const b = await connect(tc, 'node-b', { stats: { execCoverage: 'y'.repeat(40) } });
  t.like(await b.stream.ended, { code: grpc.status.INVALID_ARGUMENT });
  t.is((await api(tc, '/api/v1/nodes/node-b')).status, 404, 'a refused hello stores nothing');
  a.close();
  b.close();
}));

test('a baseline report the collector refuses is counted on its node', (t) => withCollector(async (tc) => {
  const a = await connect(tc, 'node-a');
  a.stream.send({ baselineReport: { baselines: [{ key: 'not a key', state: 'BASELINE_STATE_LEARNING' }] } });
  const [refusal] = await a.stream.receive(1);
  t.like(refusal?.ack, { sequence: 0, code: grpc.status.INVALID_ARGUMENT });
  t.is((await ok(tc, '/api/v1/nodes/node-a')).baselineReportsRefused, 1);
  a.close();
}));

// SQLite's alone: a SQLite migration over a file made by the migrations before it (PostgreSQL's
// schema starts at the current one: pg-schema-parity).
test('a database of schema version 4 migrates: its nodes keep their spool counters and gain the new ones at 0', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-nodes-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'v4.sqlite');
  const v4 = new Database(path);
  for (const m of MIGRATIONS.filter((x) => x.version <= 4)) v4.exec(m.sql);
  v4.pragma('user_version = 4');
  v4.prepare(`INSERT INTO nodes (name, exec_coverage, spool_entries, spool_dropped, agent_rejected, findings_refused, first_seen, last_seen)
    VALUES ('node-a', 'event', 5, 3, 1, 2, 1, 2)`).run();
  v4.close();

  const store = openStore({ path });
  t.teardown(() => store.close());
  t.like(await store.nodes.get('node-a', 3, 1000), {
    execCoverage: 'event', spool: { entries: 5, bytes: 0, dropped: 3, rejected: 1 }, findingsRefused: 2, baselineReportsRefused: 0,
    agentDrops: { total: 4, spool: 3, rejected: 1, processEventsLost: 0, execEventsLost: 0, baselineItemsDropped: 0, baselineKeysEvicted: 0, baselineReportDropped: 0 },
    agentDegraded: { processEventsCapped: 0, execRecordsPartial: 0 },
  });
  // The new columns take the next counters.
  await store.nodes.stats('node-a', { ...HELLO_STATS }, 4);
  t.like(await store.nodes.get('node-a', 4, 1000), { spool: { bytes: 4096 }, agentDrops: { total: 79, baselineReportDropped: 17 }, agentDegraded: { processEventsCapped: 40 } });
  await store.close();
  const after = new Database(path, { readonly: true });
  t.is(after.pragma('user_version', { simple: true }), MIGRATIONS.at(-1)!.version);
  const columns = (after.prepare('SELECT name FROM pragma_table_info(?)').all('nodes') as Array<{ name: string }>).map((c) => c.name);
  after.close();
  for (const c of ['spool_bytes', 'process_events_capped', 'process_events_lost', 'exec_events_lost', 'exec_records_partial',
    'baseline_items_dropped', 'baseline_keys_evicted', 'baseline_report_dropped', 'baseline_reports_refused']) t.true(columns.includes(c), c);
});

// SQLite's alone: a SQLite migration over a file made by the migrations before it (PostgreSQL's
// schema starts at the current one: pg-schema-parity).
test('a database of schema version 8 migrates to 9: each node gains its exec source (from exec_coverage) and the exec counters at 0', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-nodes-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'v8.sqlite');
  const v8 = new Database(path);
  for (const m of MIGRATIONS.filter((x) => x.version <= 8)) v8.exec(m.sql);
  v8.pragma('user_version = 8');
  const insert = v8.prepare(`INSERT INTO nodes (name, exec_coverage, exec_events_lost, first_seen, last_seen) VALUES (?, ?, ?, 1, 2)`);
  insert.run('node-event', 'event', 5);
  insert.run('node-scan', 'scan', 0);
  insert.run('node-silent', '', 0);
  v8.close();

  const store = openStore({ path });
  t.teardown(() => store.close());
  t.like(await store.nodes.get('node-event', 3, 1000), { execCoverage: 'event', execSource: 'netlink', execSourceReason: '', execRingLost: 0, agentDrops: { execEventsLost: 5, execUnjudged: 0, total: 5 } });
  t.like(await store.nodes.get('node-scan', 3, 1000), { execSource: 'scan' });
  t.like(await store.nodes.get('node-silent', 3, 1000), { execSource: '' }, 'a node that never said stays unknown');
  await store.nodes.stats('node-event', { ...HELLO_STATS, execSource: 'ebpf', execSourceReason: '', execUnjudged: 2 }, 4);
  t.like(await store.nodes.get('node-event', 4, 1000), { execSource: 'ebpf', execRingLost: 19, agentDrops: { execUnjudged: 2 } });
  await store.close();
  const after = new Database(path, { readonly: true });
  t.is(after.pragma('user_version', { simple: true }), MIGRATIONS.at(-1)!.version);
  after.close();
});

test('exec source at ingest: a name, a reason redacted and bounded, the counters; anything else ends the stream with INVALID_ARGUMENT naming the field', (t) => withCollector(async (tc) => {
  const a = await connect(tc, 'node-a', { stats: { execCoverage: 'event', execSource: 'ebpf', execRingLost: 3, execUnjudged: 1, execEventsLost: 3 } });
  await a.batch([proc('/usr/bin/nc')]);
  t.like(await ok(tc, '/api/v1/nodes/node-a'), { execSource: 'ebpf', execSourceReason: '', execRingLost: 3, agentDrops: { execUnjudged: 1, execEventsLost: 3, total: 4 } });
  // A reason is redacted like any text a node sends.
  a.heartbeat({ execCoverage: 'event', execSource: 'netlink', execSourceReason: 'ebpf: LOAD_FAILED: curl -H "Authorization: Bearer abcdef0123456789abcdef" failed' });
  await a.batch([proc('/usr/bin/nc')]);
  const n = await ok(tc, '/api/v1/nodes/node-a');
  t.is(n.execSource, 'netlink');
  t.true(n.execSourceReason.startsWith('ebpf: LOAD_FAILED: curl'));
  t.false(n.execSourceReason.includes('abcdef0123456789abcdef'), n.execSourceReason);
  a.heartbeat({ execCoverage: 'event', execSource: 'eBPF <b>' });
  const ended = await a.stream.ended;
  t.is(ended.code, grpc.status.INVALID_ARGUMENT);
  t.regex(ended.details, /stats\.execSource "eBPF <b>" is not a source name/);
  t.is((await ok(tc, '/api/v1/nodes/node-a')).execSource, 'netlink', 'the refused heartbeat changed nothing');

  const b = await connect(tc, 'node-b', { stats: { execSource: 'scan', execSourceReason: 'r'.repeat(1025) } });
  t.like(await b.stream.ended, { code: grpc.status.INVALID_ARGUMENT, details: 'stats.execSourceReason is longer than 1024 characters' });
  a.close();
  b.close();
}));

test('a refused host document at ingest: its path redacted and bounded, its reason a short name; anything else ends the stream with INVALID_ARGUMENT naming the field', (t) => withCollector(async (tc) => {
  const secretPath = '/etc/k/ghp_0123456789abcdefghijABCDEFGHIJ0123456789.yaml';
  const a = await connect(tc, 'node-a', { stats: { execCoverage: 'event', hostDocumentsRefused: 3, hostDocumentRefusedPath: secretPath, hostDocumentRefusedReason: 'alias-expansion' } });
  await a.batch([proc('/usr/bin/nc')]);
  const n = await ok(tc, '/api/v1/nodes/node-a');
  t.deepEqual(n.hostDocumentsRefused, { count: 3, lastPath: '/etc/k/<redacted>.yaml', lastReason: 'alias-expansion' }, 'a path is redacted like any text a node sends');
  t.true((await ok(tc, '/api/v1/nodes')).items.some((x: any) => x.hostDocumentsRefused.lastPath === '/etc/k/<redacted>.yaml'), 'the list says the same');

  a.heartbeat({ execCoverage: 'event', hostDocumentsRefused: 4, hostDocumentRefusedPath: '/etc/k.yaml', hostDocumentRefusedReason: 'Depth <b>' });
  const ended = await a.stream.ended;
  t.is(ended.code, grpc.status.INVALID_ARGUMENT);
  t.regex(ended.details, /stats\.hostDocumentRefusedReason "Depth <b>" is not a reason/);
  t.is((await ok(tc, '/api/v1/nodes/node-a')).hostDocumentsRefused.count, 3, 'the refused heartbeat changed nothing');

  const c = await connect(tc, 'node-c', { stats: { execIdentityFailed: 2, execIdentityFailedReason: 'gone; rm -rf' } });
  t.like(await c.stream.ended, { code: grpc.status.INVALID_ARGUMENT });
  t.regex((await c.stream.ended).details, /stats\.execIdentityFailedReason "gone; rm -rf" is not a reason/);
  c.close();

  const b = await connect(tc, 'node-b', { stats: { hostDocumentsRefused: 1, hostDocumentRefusedPath: `/${'p'.repeat(1024)}`, hostDocumentRefusedReason: 'bytes' } });
  t.like(await b.stream.ended, { code: grpc.status.INVALID_ARGUMENT, details: 'stats.hostDocumentRefusedPath is longer than 1024 characters' });
  t.is((await api(tc, '/api/v1/nodes/node-b')).status, 404, 'a refused hello stores nothing');
  a.close();
  b.close();
}, { nodes: ['node-a', 'node-b', 'node-c'] }));

// SQLite's alone: a SQLite migration over a file made by the migrations before it (PostgreSQL's
// schema starts at the current one: pg-schema-parity).
test('a database of schema version 9 migrates to 10: each node gains the judgement counters at 0 and no refused document, and the next stats fill them', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-nodes-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'v9.sqlite');
  const v9 = new Database(path);
  for (const m of MIGRATIONS.filter((x) => x.version <= 9)) v9.exec(m.sql);
  v9.pragma('user_version = 9');
  v9.prepare(`INSERT INTO nodes (name, exec_coverage, exec_source, exec_unjudged, exec_ring_lost, first_seen, last_seen) VALUES ('node-a', 'event', 'ebpf', 4, 2, 1, 2)`).run();
  v9.close();

  const store = openStore({ path });
  t.teardown(() => store.close());
  t.like(await store.nodes.get('node-a', 3, 1000), {
    execSource: 'ebpf', execRingLost: 2, agentDrops: { execUnjudged: 4 }, execFakeContainer: 0, execHostNamespace: 0, execBatches: 0,
    hostDocumentsRefused: { count: 0, lastPath: '', lastReason: '' },
  });
  await store.nodes.stats('node-a', HELLO_STATS, 4);
  t.like(await store.nodes.get('node-a', 4, 1000), {
    execFakeContainer: 29, execHostNamespace: 31, execBatches: 37,
    hostDocumentsRefused: { count: 41, lastPath: '/etc/kubernetes/manifests/kube-apiserver.yaml', lastReason: 'bytes' },
  });
  await store.close();
  const after = new Database(path, { readonly: true });
  t.is(after.pragma('user_version', { simple: true }), MIGRATIONS.at(-1)!.version);
  after.close();
});
