// Times from an agent (issue 12, break 1): every one is judged by one validator against a
// window around the collector's clock at receipt, per kind of time, and refused per message
// with INVALID_ARGUMENT naming the field. A year-2200 time, or one no Date can hold, never
// reaches the database; the reads stay 200. Migration 006 repairs what was stored before.
import test from 'ava';
import * as grpc from '@grpc/grpc-js';
import Database from 'better-sqlite3';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../collector/store/sqlite.js';
import { MIGRATIONS } from '../../collector/store/migrations/index.js';
import {
  baselineReportFromWire, batchFromWire, helloFromWire, InvalidMessage, scanFromWire, wireTime, WIRE_TIMES, type TimeWindow,
} from '../../collector/ingest/validate.js';
import type { BaselineReport__Output, FindingBatch__Output, Hello__Output, ScanReport__Output } from '../../proto/load.js';
import { openRawStream } from '../helpers/grpc-client.js';
import { api, ok, proc, result, withCollector } from '../helpers/agent-session.js';

const NOW = Date.parse('2026-03-01T12:00:00Z');
const HOUR = 3600_000;
const YEAR = 365 * 24 * HOUR;
const YEAR_2200 = Date.parse('2200-01-01T00:00:00Z');
/** The last millisecond a JavaScript Date holds, and the first it does not. */
const DATE_END = 8.64e15;
const END_OF_9999 = Date.parse('9999-12-31T23:59:59.999Z');

function refused(t: import('ava').ExecutionContext, run: () => unknown, field: RegExp): void {
  const err = t.throws(run, { instanceOf: InvalidMessage });
  t.regex(err?.message ?? '', field);
}

test('each kind of time has its window around the time of receipt; 0 is required or unknown; anything else is refused as invalid', (t) => {
  const cases: Array<[string, TimeWindow, unknown, boolean, boolean?]> = [
    // observed_at_ms / scanned_at_ms: up to an hour ahead (skew), ten years back (a spool after an outage).
    ['observed', WIRE_TIMES.observed, NOW, true],
    ['observed', WIRE_TIMES.observed, NOW + HOUR, true],
    ['observed', WIRE_TIMES.observed, NOW + HOUR + 1, false],
    ['observed', WIRE_TIMES.observed, NOW - 10 * YEAR, true],
    ['observed', WIRE_TIMES.observed, NOW - 10 * YEAR - 1, false],
    ['observed', WIRE_TIMES.observed, YEAR_2200, false],
    ['observed', WIRE_TIMES.observed, Number.MAX_SAFE_INTEGER, false],
    ['observed', WIRE_TIMES.observed, DATE_END + 1, false],
    ['observed', WIRE_TIMES.observed, 1, false],
    ['observed', WIRE_TIMES.observed, 0, false],
    ['observed', WIRE_TIMES.observed, -1, false],
    ['observed', WIRE_TIMES.observed, NOW + 0.5, false],
    ['observed', WIRE_TIMES.observed, Number.NaN, false],
    ['observed', WIRE_TIMES.observed, Number.POSITIVE_INFINITY, false],
    ['observed', WIRE_TIMES.observed, String(NOW), false],
    // first_seen_ms: any time since 1970 (baselines outlive agents), 0 = unknown; the same skew ahead.
    ['baselineItem', WIRE_TIMES.baselineItem, 0, true, true],
    ['baselineItem', WIRE_TIMES.baselineItem, 1, true, true],
    ['baselineItem', WIRE_TIMES.baselineItem, NOW - 30 * YEAR, true, true],
    ['baselineItem', WIRE_TIMES.baselineItem, NOW + HOUR, true, true],
    ['baselineItem', WIRE_TIMES.baselineItem, NOW + HOUR + 1, false, true],
    ['baselineItem', WIRE_TIMES.baselineItem, YEAR_2200, false, true],
    ['baselineItem', WIRE_TIMES.baselineItem, -5, false, true],
    // not_after_ms: not relative to now; up to GeneralizedTime's last second (Go's "no expiry"), never past a Date.
    ['certificateExpiry', WIRE_TIMES.certificateExpiry, 1, true],
    ['certificateExpiry', WIRE_TIMES.certificateExpiry, NOW - 20 * YEAR, true],
    ['certificateExpiry', WIRE_TIMES.certificateExpiry, YEAR_2200, true],
    ['certificateExpiry', WIRE_TIMES.certificateExpiry, Date.parse('9999-12-31T23:59:59Z'), true],
    ['certificateExpiry', WIRE_TIMES.certificateExpiry, END_OF_9999, true],
    ['certificateExpiry', WIRE_TIMES.certificateExpiry, END_OF_9999 + 1, false],
    ['certificateExpiry', WIRE_TIMES.certificateExpiry, DATE_END, false],
    ['certificateExpiry', WIRE_TIMES.certificateExpiry, DATE_END + 1, false],
    ['certificateExpiry', WIRE_TIMES.certificateExpiry, 0, false],
  ];
  for (const [kind, window, v, accepted, optional] of cases) {
    const what = `${kind} ${String(v)}`;
    if (accepted) t.is(wireTime('x.atMs', v, window, NOW, optional), v as number, what);
    else {
      const err = t.throws(() => wireTime('x.atMs', v, window, NOW, optional), { instanceOf: InvalidMessage }, what);
      t.regex(err?.message ?? '', /^x\.atMs /, `${what}: the message names the field`);
    }
  }
  t.regex(t.throws(() => wireTime('f', YEAR_2200, WIRE_TIMES.observed, NOW))!.message,
    /^f 7258118400000 is not a time from 2016-03-03T12:00:00\.000Z to 2026-03-01T13:00:00\.000Z in unix milliseconds \(the collector's clock reads 2026-03-01T12:00:00\.000Z\)$/);
});

test('every validator judges its times against the clock passed in and names the field it refuses', (t) => {
  const finding = { checkId: 'proc-unexpected', subject: '/usr/bin/nc', title: 'x', category: 'process', severity: 'SEVERITY_HIGH', status: 'STATUS_FAIL', occurrences: 1, seen: 'scan', remediation: '', detailJson: '{}' };
  const batch = (observedAtMs: number) => ({ sequence: 1, node: '', findings: [{ ...finding, observedAtMs }] }) as unknown as FindingBatch__Output;
  t.is(batchFromWire(batch(NOW), 'n', 'e', NOW).findings[0]!.observedAt, NOW);
  refused(t, () => batchFromWire(batch(YEAR_2200), 'n', 'e', NOW), /^findingBatch\.findings\[0\]\.observedAtMs /);
  refused(t, () => batchFromWire(batch(Number.MAX_SAFE_INTEGER), 'n', 'e', NOW), /^findingBatch\.findings\[0\]\.observedAtMs /);
  t.notThrows(() => batchFromWire(batch(YEAR_2200), 'n', 'e', YEAR_2200), 'the same time is fine for a collector whose clock reads 2200');

  const scan = (scannedAtMs: number) => ({ sequence: 1, node: '', scannedAtMs, benchmark: 'cis-1.12', scope: [], results: [], trigger: 'periodic' }) as unknown as ScanReport__Output;
  t.is(scanFromWire(scan(NOW), 'n', 'e', NOW).scannedAt, NOW);
  refused(t, () => scanFromWire(scan(YEAR_2200), 'n', 'e', NOW), /^scanReport\.scannedAtMs /);

  const report = (firstSeenMs: number) => ({
    baselineVersion: 0,
    baselines: [{ key: 'host/worker', state: 'BASELINE_STATE_LEARNING', version: 0, learnUntilMs: 0, lockedBy: '', removed: [], items: [{ path: '/bin/sh', source: 'ITEM_SOURCE_LEARNED', firstSeenMs }] }],
  }) as unknown as BaselineReport__Output;
  t.is(baselineReportFromWire(report(0), NOW).baselines[0]!.items[0]!.firstSeen, 0, '0: unknown, stored as the time of receipt');
  refused(t, () => baselineReportFromWire(report(Number.MAX_SAFE_INTEGER), NOW), /^baselineReport\.baselines\[0\]\.items\[0\]\.firstSeenMs /);

  const hello = (notAfterMs: number) => ({
    node: 'n', agentVersion: 'v', epoch: 'e', baselineVersion: 0, hostBaselineKey: '',
    host: { os: '', kernel: '', arch: '', cpus: 1, memoryBytes: 1, uptimeSeconds: 1, kubeletVersion: '', certificates: [{ path: '/etc/k.crt', notAfterMs }] },
  }) as unknown as Hello__Output;
  t.deepEqual(helloFromWire(hello(Date.parse('9999-12-31T23:59:59Z')), 'n', NOW).certificates, [{ path: '/etc/k.crt', notAfter: '9999-12-31T23:59:59.000Z' }]);
  // Past what a Date holds: refused as invalid, not a RangeError out of the validator.
  refused(t, () => helloFromWire(hello(DATE_END + 1), 'n', NOW), /^hello\.host\.certificates\[0\]\.notAfterMs /);
});

test('over the wire: a year-2200 or undatable time is refused per message with INVALID_ARGUMENT, counted, stored nowhere, and reads stay 200', (t) => withCollector(async (tc) => {
  const agent = tc.pki.agents['node-a']!;
  const s = openRawStream(tc.grpcAddress, { ca: tc.pki.caCert, cert: agent.cert, key: agent.key });
  s.send({ hello: { node: 'node-a', agentVersion: 't', epoch: 'times-1', host: { certificates: [{ path: '/etc/k.crt', notAfterMs: Date.parse('9999-12-31T23:59:59Z') }] } } });
  s.send({ findingBatch: { sequence: 1, findings: [proc('/usr/bin/future', { at: YEAR_2200 })] } });
  s.send({ findingBatch: { sequence: 2, findings: [proc('/usr/bin/nc'), proc('/usr/bin/undatable', { at: Number.MAX_SAFE_INTEGER })] } });
  s.send({ scanReport: { sequence: 3, scannedAtMs: YEAR_2200, benchmark: 'cis-1.12', scope: ['cis-4.2.1'], results: [result('cis-4.2.1', '--anonymous-auth', 'fail')] } });
  s.send({ baselineReport: { baselines: [{ key: 'host/worker', state: 'BASELINE_STATE_LEARNING', items: [{ path: '/bin/sh', source: 'ITEM_SOURCE_LEARNED', firstSeenMs: YEAR_2200 }] }] } });
  s.send({ findingBatch: { sequence: 4, findings: [proc('/usr/bin/nc')] } });
  const acks = (await s.receive(5)).map((m) => m.ack);
  t.deepEqual(acks.map((a) => [a?.sequence, a?.code]), [[1, 3], [2, 3], [3, 3], [0, 3], [4, 0]]);
  t.regex(acks[0]!.message, /^findingBatch\.findings\[0\]\.observedAtMs 7258118400000 is not a time from /);
  t.regex(acks[1]!.message, /^findingBatch\.findings\[1\]\.observedAtMs 9007199254740991 /, 'the whole batch goes: a message is accepted or refused');
  t.regex(acks[2]!.message, /^scanReport\.scannedAtMs /);
  t.regex(acks[3]!.message, /^baselineReport\.baselines\[0\]\.items\[0\]\.firstSeenMs /);
  t.is(tc.collector.metrics.get('nodeward_rejects_total', { reason: 'invalid' }), 4);

  const found = await ok(tc, '/api/v1/findings?node=node-a');
  t.deepEqual(found.items.map((f: any) => [f.subject, f.count]), [['/usr/bin/nc', 1]], 'only the valid batch was stored');
  t.deepEqual((await ok(tc, '/api/v1/baselines')).items, []);
  t.deepEqual((await ok(tc, '/api/v1/nodes/node-a')).certificates, [{ path: '/etc/k.crt', notAfter: '9999-12-31T23:59:59.000Z' }]);
  for (const path of ['/api/v1/processes/unexpected', '/api/v1/summary', '/api/v1/nodes']) t.is((await api(tc, path)).status, 200, path);
  s.close();

  // A hello whose certificate expiry no Date holds ends the stream as INVALID_ARGUMENT (the
  // hello has no ack), counted like any refusal; before, the validator threw a RangeError: INTERNAL.
  const h = openRawStream(tc.grpcAddress, { ca: tc.pki.caCert, cert: agent.cert, key: agent.key });
  h.send({ hello: { node: 'node-a', agentVersion: 't', epoch: 'times-2', host: { certificates: [{ path: '/etc/k.crt', notAfterMs: DATE_END + 1 }] } } });
  const end = await h.ended;
  t.is(end.code, grpc.status.INVALID_ARGUMENT);
  t.regex(end.details, /^hello\.host\.certificates\[0\]\.notAfterMs 8640000000000001 /);
  t.is(tc.collector.metrics.get('nodeward_rejects_total', { reason: 'invalid' }), 5);
  h.close();
}));

// SQLite's alone: a SQLite migration over a file made by the migrations before it (PostgreSQL's
// schema starts at the current one: pg-schema-parity).
test('a database of schema version 5 migrates: agent times beyond the clock are clamped to the row\'s own collector time, the rest kept', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-times-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'v5.sqlite');
  const v5 = new Database(path);
  for (const m of MIGRATIONS.filter((x) => x.version <= 5)) v5.exec(m.sql);
  v5.pragma('user_version = 5');
  const T = Date.now() - 60_000; // the collector's time of the writes
  const OLD = Date.parse('2001-01-01T00:00:00Z');
  const finding = v5.prepare(`INSERT INTO findings (id, node, check_id, category, subject, severity, severity_rank, status, state,
      first_seen, last_seen, count, resolved_at, updated_at) VALUES (?, 'node-a', 'proc-unexpected', 'process', ?, 'high', 3, 'fail', ?, ?, ?, 1, ?, ?)`);
  // Poisoned: every agent time of the row far ahead, and one past what a Date holds.
  finding.run('a'.repeat(32), '/poisoned', 'resolved', YEAR_2200, Number.MAX_SAFE_INTEGER, YEAR_2200, T);
  // Half poisoned: a real first sighting, a last one in 2200.
  finding.run('b'.repeat(32), '/half', 'open', T - 5000, YEAR_2200, null, T);
  // Sound: an old time stays as the agent said it.
  finding.run('c'.repeat(32), '/sound', 'open', OLD, T - 1000, null, T - 1000);
  const history = v5.prepare(`INSERT INTO finding_history (finding_seq, event, at, last_at, severity, recorded_at) VALUES (?, ?, ?, ?, 'high', ?)`);
  history.run(1, 'opened', YEAR_2200, Number.MAX_SAFE_INTEGER, T);
  history.run(3, 'opened', OLD, OLD, T - 1000);
  v5.prepare(`INSERT INTO baselines (key, state, created_at, updated_at) VALUES ('host/worker', 'learning', ?, ?)`).run(T, T);
  const item = v5.prepare(`INSERT INTO baseline_items (baseline, path, source, first_seen, last_seen) VALUES (1, ?, 'learned', ?, ?)`);
  item.run('/bin/poisoned', Number.MAX_SAFE_INTEGER, T);
  item.run('/bin/sound', OLD, T);
  const nr = v5.prepare(`INSERT INTO node_results (node, check_id, subject, status, severity, scored, evaluated_at) VALUES ('node-a', ?, 'x', 'fail', 'high', 1, ?)`);
  nr.run('cis-4.2.1', YEAR_2200);
  nr.run('cis-4.2.2', T);
  const certs = [
    { path: '/etc/far.crt', notAfter: '+010000-01-01T00:00:00.000Z' },
    { path: '/etc/soon.crt', notAfter: '2027-01-01T00:00:00.000Z' },
    { path: '/etc/never.crt', notAfter: '9999-12-31T23:59:59.000Z' },
  ];
  v5.prepare(`INSERT INTO nodes (name, certificates, first_seen, last_seen) VALUES ('node-a', ?, ?, ?), ('node-b', '[]', ?, ?)`).run(JSON.stringify(certs), T, T, T, T);
  v5.close();

  const before = Date.now();
  const store = openStore({ path });
  t.teardown(() => store.close());
  const after = Date.now();
  const db = new Database(path, { readonly: true });
  t.teardown(() => db.close());
  t.is(db.pragma('user_version', { simple: true }), MIGRATIONS.at(-1)!.version);
  const rows = db.prepare('SELECT subject, first_seen, last_seen, resolved_at FROM findings ORDER BY seq').all();
  t.deepEqual(rows, [
    { subject: '/poisoned', first_seen: T, last_seen: T, resolved_at: T },
    { subject: '/half', first_seen: T - 5000, last_seen: T, resolved_at: null },
    { subject: '/sound', first_seen: OLD, last_seen: T - 1000, resolved_at: null },
  ]);
  t.deepEqual(db.prepare('SELECT at, last_at FROM finding_history ORDER BY seq').all(), [{ at: T, last_at: T }, { at: OLD, last_at: OLD }]);
  t.deepEqual(db.prepare('SELECT path, first_seen FROM baseline_items ORDER BY path').all(), [{ path: '/bin/poisoned', first_seen: T }, { path: '/bin/sound', first_seen: OLD }]);
  const results = db.prepare('SELECT check_id, evaluated_at FROM node_results ORDER BY check_id').all() as Array<{ check_id: string; evaluated_at: number }>;
  t.true(results[0]!.evaluated_at >= before - 1000 && results[0]!.evaluated_at <= after, 'no other time on the row: the migration\'s own');
  t.is(results[1]!.evaluated_at, T);
  t.deepEqual((await store.nodes.get('node-a', Date.now(), 60_000))?.certificates, [
    { path: '/etc/soon.crt', notAfter: '2027-01-01T00:00:00.000Z' },
    { path: '/etc/never.crt', notAfter: '9999-12-31T23:59:59.000Z' },
    { path: '/etc/far.crt', notAfter: '9999-12-31T23:59:59.999Z' },
  ], 'clamped, and sorted soonest first again');
  t.deepEqual((await store.nodes.get('node-b', Date.now(), 60_000))?.certificates, []);
  t.is((await store.findings.list({ state: 'resolved' }, 10)).items[0]?.resolvedAt, new Date(T).toISOString());
});
