// Migration 013 (one finding per problem, issue 17): a database of the schema before it, holding
// findings of both checks of a merged pair (cis-1.1.21 and cert-key-file on the same key file;
// etcd-auto-tls and cis-2.3; etcd's per-URL wire findings and cis-2.1; kubelet-api-anonymous and
// cis-4.2.1), open, suppressed and resolved in every mix, is migrated: each problem is one
// finding under the surviving check's fingerprint; whatever was open is open and nothing else
// is; suppressions and resolutions are kept; every history entry is kept, on the finding that
// remains; no webhook outbox row is written; Alertmanager's firing set follows the ids; the
// rollups (012's check_totals too) and the nodes' compliance are recounted.
import test from 'ava';
import Database from 'better-sqlite3';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MIGRATIONS } from '../../collector/store/migrations/index.js';
import { openStore } from '../../collector/store/sqlite.js';
import { fingerprint } from '../../proto/fingerprint.js';
import { absorberOf, isRetiredCheck, survivorOf } from '../../proto/retired-checks.js';

const DAY = 86_400_000;
const T = Date.parse('2026-11-01T00:00:00Z');
const PKI = '/etc/kubernetes/pki';

type State = 'open' | 'suppressed' | 'resolved';
interface Seed {
  readonly node: string;
  readonly check: string;
  readonly subject: string;
  readonly state: State;
  readonly severity?: 'medium' | 'high' | 'critical';
  readonly cis?: string;
  /** Days before T it was first seen. */
  readonly age: number;
  readonly category?: string;
}

const SEEDS: readonly Seed[] = [
  // Both open: one open finding, the survivor's own row.
  { node: 'node-a', check: 'cert-key-file', subject: `${PKI}/k1.key`, state: 'open', age: 3 },
  { node: 'node-a', check: 'cis-1.1.21', subject: `${PKI}/k1.key`, state: 'open', cis: '1.1.21', age: 10 },
  // The survivor suppressed, the retired one open: open (it was open on the dashboard).
  { node: 'node-a', check: 'cert-key-file', subject: `${PKI}/k2.key`, state: 'suppressed', age: 3 },
  { node: 'node-a', check: 'cis-1.1.21', subject: `${PKI}/k2.key`, state: 'open', cis: '1.1.21', age: 10 },
  // The retired one suppressed, the survivor resolved: suppressed, with its suppression.
  { node: 'node-a', check: 'cert-key-file', subject: `${PKI}/k3.key`, state: 'resolved', age: 3 },
  { node: 'node-a', check: 'cis-1.1.21', subject: `${PKI}/k3.key`, state: 'suppressed', cis: '1.1.21', age: 10 },
  // Both resolved: resolved.
  { node: 'node-a', check: 'cert-key-file', subject: `${PKI}/k4.key`, state: 'resolved', age: 3 },
  { node: 'node-a', check: 'cis-1.1.21', subject: `${PKI}/k4.key`, state: 'resolved', cis: '1.1.21', age: 10 },
  // Only the retired one: renamed.
  { node: 'node-b', check: 'cis-1.1.21', subject: `${PKI}/k5.key`, state: 'open', cis: '1.1.21', age: 5 },
  { node: 'node-b', check: 'cis-1.1.21', subject: `${PKI}/k6.key`, state: 'suppressed', cis: '1.1.21', age: 5 },
  // etcd: auto TLS twice; two client URLs in clear text for one cis-2.1 that did not exist.
  { node: 'node-a', check: 'cis-2.3', subject: 'etcd/--auto-tls', state: 'open', cis: '2.3', age: 2, category: 'etcd' },
  { node: 'node-a', check: 'etcd-auto-tls', subject: 'etcd/--auto-tls', state: 'open', age: 4, category: 'etcd' },
  { node: 'node-a', check: 'etcd-auto-tls', subject: 'etcd/--peer-auto-tls', state: 'resolved', age: 4, category: 'etcd' },
  { node: 'node-a', check: 'etcd-plaintext-live', subject: 'etcd/http://127.0.0.1:2379', state: 'open', severity: 'critical', age: 6, category: 'etcd' },
  { node: 'node-a', check: 'etcd-plaintext-live', subject: 'etcd/http://10.0.0.1:2379', state: 'resolved', severity: 'critical', age: 8, category: 'etcd' },
  // The kubelet: the wire's critical finding and the setting's, both open.
  { node: 'node-b', check: 'cis-4.2.1', subject: 'kubelet/--anonymous-auth', state: 'open', cis: '4.2.1', age: 1, category: 'kubelet' },
  { node: 'node-b', check: 'kubelet-api-anonymous', subject: 'kubelet/api', state: 'open', severity: 'critical', age: 1, category: 'kubelet' },
  // The kubelet's client CA is the PKI's ca.crt on a control plane: 4.1.7 beside 1.1.20 is one
  // problem; on a worker (node-b) 4.1.7 stands alone and stays.
  { node: 'node-a', check: 'cis-1.1.20', subject: `${PKI}/ca.crt`, state: 'resolved', cis: '1.1.20', age: 9, severity: 'medium' },
  { node: 'node-a', check: 'cis-4.1.7', subject: `${PKI}/ca.crt`, state: 'open', cis: '4.1.7', age: 9, severity: 'medium', category: 'kubelet' },
  { node: 'node-b', check: 'cis-4.1.7', subject: `${PKI}/ca.crt`, state: 'open', cis: '4.1.7', age: 9, severity: 'medium', category: 'kubelet' },
  // Not merged: left as it is.
  { node: 'node-b', check: 'cis-4.2.2', subject: 'kubelet/--authorization-mode', state: 'open', cis: '4.2.2', age: 7, category: 'kubelet' },
];

/** Where a finding's problem lives after the merge: (node, check, subject). */
const problemOf = (s: { node: string; check: string; subject: string }): string => {
  const into = absorberOf(s.check);
  if (into !== undefined && SEEDS.some((o) => o.node === s.node && o.check === into && o.subject === s.subject)) return `${s.node} ${into} ${s.subject}`;
  const to = survivorOf(s.check, s.subject) ?? { checkId: s.check, subject: s.subject };
  return `${s.node} ${to.checkId} ${to.subject}`;
};

const RANK: Record<State, number> = { open: 2, suppressed: 1, resolved: 0 };

function seedV11(path: string): void {
  const db = new Database(path);
  db.pragma('journal_mode = DELETE');
  db.pragma('foreign_keys = ON');
  for (const m of MIGRATIONS.filter((x) => x.version <= 11)) {
    db.exec(m.sql);
    m.run?.(db);
  }
  db.pragma('user_version = 11');
  const node = db.prepare("INSERT INTO nodes (name, first_seen, last_seen) VALUES (?, ?, ?)");
  for (const n of ['node-a', 'node-b']) node.run(n, T - 30 * DAY, T);
  const finding = db.prepare(`INSERT INTO findings (id, node, check_id, cis, title, category, subject, severity, severity_rank, status, state,
      scored, first_seen, last_seen, count, resolved_at, suppressed_reason, suppressed_until, suppressed_by, suppressed_at, updated_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'fail', ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const history = db.prepare(`INSERT INTO finding_history (finding_seq, event, at, last_at, occurrences, severity, note, recorded_at)
    VALUES (?, ?, ?, ?, 1, ?, ?, ?)`);
  const result = db.prepare(`INSERT INTO node_results (node, check_id, subject, status, severity, scored, evaluated_at) VALUES (?, ?, ?, ?, ?, 1, ?)`);
  const rank = { medium: 2, high: 3, critical: 4 } as const;
  for (const s of SEEDS) {
    const severity = s.severity ?? 'high';
    const first = T - s.age * DAY;
    const resolvedAt = s.state === 'resolved' ? T - DAY : null;
    const sup = s.state === 'suppressed' ? [`accepted risk on ${s.subject}`, T + 30 * DAY, 'admin', T - 2 * DAY] : [null, null, null, null];
    const seq = Number(finding.run(fingerprint(s.node, s.check, s.subject), s.node, s.check, s.cis ?? '', `title of ${s.check}`, s.category ?? 'certificate',
      s.subject, severity, rank[severity], s.state, first, T - DAY, s.age, resolvedAt, ...sup, T).lastInsertRowid);
    history.run(seq, 'opened', first, first, severity, '', first);
    history.run(seq, 'seen', first + 1000, first + 1000, severity, '', first + 1000);
    if (s.state === 'suppressed') history.run(seq, 'suppressed', T - 2 * DAY, T - 2 * DAY, severity, 'admin: accepted risk', T - 2 * DAY);
    if (s.state === 'resolved') history.run(seq, 'resolved', T - DAY, T - DAY, severity, 'passed a scan', T - DAY);
    result.run(s.node, s.check, s.subject, s.state === 'resolved' ? 'pass' : 'fail', severity, T - DAY);
  }
  // The rollups as the store keeps them (migration 002's recount), and the nodes' compliance.
  db.exec(`
INSERT INTO node_counts SELECT state, node, count(*), sum(severity_rank = 0), sum(severity_rank = 1), sum(severity_rank = 2),
  sum(severity_rank = 3), sum(severity_rank = 4) FROM findings GROUP BY state, node;
INSERT INTO finding_totals SELECT state, category, severity_rank, count(*) FROM findings GROUP BY state, category, severity_rank;
INSERT INTO check_nodes SELECT state, check_id, node, count(*) FROM findings WHERE status = 'fail' GROUP BY state, check_id, node;
INSERT INTO check_spread SELECT state, check_id, count(DISTINCT node), count(*), sum(severity_rank = 0), sum(severity_rank = 1),
  sum(severity_rank = 2), sum(severity_rank = 3), sum(severity_rank = 4) FROM findings WHERE status = 'fail' GROUP BY state, check_id;
UPDATE nodes SET failing_checks = (SELECT count(DISTINCT r.check_id) FROM node_results r WHERE r.node = nodes.name AND r.status = 'fail');`);
  // Alertmanager was told k1 (both rows) and k2's retired row fire; a delivery for k2 is still queued.
  const change = (id: string, check: string, subject: string) => JSON.stringify({ event: 'opened', at: new Date(T).toISOString(), finding: { id, checkId: check, subject, state: 'open' } });
  const fire = db.prepare('INSERT INTO webhook_firing (destination, finding_id, change) VALUES (?, ?, ?)');
  for (const [check, subject] of [['cert-key-file', `${PKI}/k1.key`], ['cis-1.1.21', `${PKI}/k1.key`], ['cis-1.1.21', `${PKI}/k2.key`]] as const) {
    const id = fingerprint('node-a', check, subject);
    fire.run('am', id, change(id, check, subject));
  }
  const k2 = fingerprint('node-a', 'cis-1.1.21', `${PKI}/k2.key`);
  db.prepare(`INSERT INTO webhook_outbox (destination, finding_id, event, change, created_at, age_from, next_attempt_at) VALUES ('siem', ?, 'opened', ?, ?, ?, ?)`)
    .run(k2, change(k2, 'cis-1.1.21', `${PKI}/k2.key`), T, T, T);
  db.close();
}

interface Row { seq: number; id: string; node: string; check_id: string; subject: string; state: State; first_seen: number; benchmark_refs?: string;
  suppressed_reason: string | null; suppressed_until: number | null; resolved_at: number | null; count: number; severity: string }

test('migration 013: each merged problem is one finding; the same open set; suppressions, resolutions and history kept; no outbox row', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-merge-migration-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'v11.sqlite');
  seedV11(path);

  const before = new Database(path, { readonly: true });
  const rowsBefore = before.prepare('SELECT * FROM findings ORDER BY seq').all() as Row[];
  const historyBefore = before.prepare('SELECT finding_seq, event, at FROM finding_history ORDER BY seq').all() as Array<{ finding_seq: number; event: string; at: number }>;
  const outboxBefore = before.prepare('SELECT * FROM webhook_outbox ORDER BY seq').all();
  before.close();
  // The problems and the state each was in, at its most alive.
  const stateBefore = new Map<string, State>();
  for (const r of rowsBefore) {
    const p = problemOf({ node: r.node, check: r.check_id, subject: r.subject });
    const was = stateBefore.get(p);
    if (was === undefined || RANK[r.state] > RANK[was]) stateBefore.set(p, r.state);
  }
  const openBefore = [...stateBefore].filter(([, s]) => s === 'open').map(([p]) => p).sort();

  await openStore({ path }).close();

  const db = new Database(path, { readonly: true });
  t.teardown(() => db.close());
  t.is(db.pragma('user_version', { simple: true }), MIGRATIONS.at(-1)!.version);
  const rows = db.prepare('SELECT * FROM findings ORDER BY seq').all() as Row[];
  t.false(rows.some((r) => isRetiredCheck(r.check_id)), 'no finding is left under a retired check');
  // One finding per problem, under the surviving check's fingerprint.
  const problems = rows.map((r) => `${r.node} ${r.check_id} ${r.subject}`);
  t.is(new Set(problems).size, rows.length);
  t.deepEqual([...problems].sort(), [...stateBefore.keys()].sort());
  for (const r of rows) t.is(r.id, fingerprint(r.node, r.check_id, r.subject));
  // The same open set; nothing resolved, nothing reopened.
  t.deepEqual(rows.filter((r) => r.state === 'open').map((r) => `${r.node} ${r.check_id} ${r.subject}`).sort(), openBefore);
  for (const r of rows) t.is(r.state as State | undefined, stateBefore.get(`${r.node} ${r.check_id} ${r.subject}`), `${r.check_id} ${r.subject}`);

  const get = (node: string, check: string, subject: string): Row => rows.find((r) => r.id === fingerprint(node, check, subject))!;
  // k1: the survivor's own row (its seq), first seen when the retired one was.
  const k1 = get('node-a', 'cert-key-file', `${PKI}/k1.key`);
  t.is(k1.seq, rowsBefore.find((r) => r.check_id === 'cert-key-file' && r.subject === `${PKI}/k1.key`)!.seq);
  t.is(k1.first_seen, T - 10 * DAY);
  t.is(k1.count, 10, 'the larger count: both counted the same scans');
  t.deepEqual(JSON.parse(k1.benchmark_refs!), ['cis-1.12:1.1.21']);
  // k3: the retired row's suppression, under the survivor's id.
  const k3 = get('node-a', 'cert-key-file', `${PKI}/k3.key`);
  t.like(k3, { state: 'suppressed', suppressed_reason: `accepted risk on ${PKI}/k3.key`, suppressed_until: T + 30 * DAY });
  t.is(get('node-b', 'cert-key-file', `${PKI}/k6.key`).suppressed_reason, `accepted risk on ${PKI}/k6.key`);
  t.like(get('node-a', 'cert-key-file', `${PKI}/k4.key`), { state: 'resolved', resolved_at: T - DAY });
  // etcd: one cis-2.1 from two URLs, first seen at the earlier; the kubelet's critical wire finding is cis-4.2.1's.
  t.like(get('node-a', 'cis-2.1', 'etcd/--cert-file,--key-file'), { state: 'open', first_seen: T - 8 * DAY });
  t.like(get('node-a', 'cis-2.6', 'etcd/--peer-auto-tls'), { state: 'resolved' });
  t.like(get('node-b', 'cis-4.2.1', 'kubelet/--anonymous-auth'), { state: 'open' });
  t.deepEqual(JSON.parse(get('node-b', 'cis-4.2.2', 'kubelet/--authorization-mode').benchmark_refs!), ['cis-1.12:4.2.2'], 'references filled from cis');
  // The client CA: one open cis-1.1.20 finding with both references on the control plane; the worker's 4.1.7 as it was.
  const ca = get('node-a', 'cis-1.1.20', `${PKI}/ca.crt`);
  t.like(ca, { state: 'open' });
  t.deepEqual(JSON.parse(ca.benchmark_refs!), ['cis-1.12:1.1.20', 'cis-1.12:4.1.7']);
  t.like(get('node-b', 'cis-4.1.7', `${PKI}/ca.crt`), { state: 'open' });

  // Every history entry is still there, on a finding that remains; moved ones say where from.
  const history = db.prepare('SELECT finding_seq, event, at, note FROM finding_history ORDER BY seq').all() as Array<{ finding_seq: number; event: string; at: number; note: string }>;
  t.is(history.length, historyBefore.length);
  const seqs = new Set(rows.map((r) => r.seq));
  t.true(history.every((h) => seqs.has(h.finding_seq)));
  const k1History = history.filter((h) => h.finding_seq === k1.seq);
  t.is(k1History.filter((h) => h.event === 'opened').length, 2);
  t.true(k1History.some((h) => h.note === `from cis-1.1.21 on ${PKI}/k1.key`));
  const k2 = get('node-a', 'cert-key-file', `${PKI}/k2.key`);
  t.true(history.some((h) => h.finding_seq === k2.seq && h.event === 'suppressed' && h.note === `admin: accepted risk (from cert-key-file on ${PKI}/k2.key)`),
    'the folded suppression is in the history of the finding that remains');

  // No webhook: the outbox is as it was. Alertmanager's firing set names the findings that remain.
  t.deepEqual(db.prepare('SELECT * FROM webhook_outbox ORDER BY seq').all(), outboxBefore);
  const firing = db.prepare('SELECT finding_id, change FROM webhook_firing ORDER BY finding_id').all() as Array<{ finding_id: string; change: string }>;
  t.deepEqual(firing.map((f) => f.finding_id).sort(), [k1.id, k2.id].sort());
  const k2Fire = JSON.parse(firing.find((f) => f.finding_id === k2.id)!.change);
  t.like(k2Fire.finding, { id: k2.id, checkId: 'cert-key-file', subject: `${PKI}/k2.key` });

  // Rollups recounted from the findings; the retired checks' latest results are gone.
  const recount = (sql: string) => db.prepare(sql).all();
  t.deepEqual(recount('SELECT state, node, total, s0, s1, s2, s3, s4 FROM node_counts ORDER BY state, node'),
    recount(`SELECT state, node, count(*) AS total, sum(severity_rank = 0) AS s0, sum(severity_rank = 1) AS s1, sum(severity_rank = 2) AS s2,
      sum(severity_rank = 3) AS s3, sum(severity_rank = 4) AS s4 FROM findings GROUP BY state, node ORDER BY state, node`));
  t.deepEqual(recount('SELECT state, check_id, nodes, findings FROM check_spread ORDER BY state, check_id'),
    recount(`SELECT state, check_id, count(DISTINCT node) AS nodes, count(*) AS findings FROM findings WHERE status = 'fail' GROUP BY state, check_id ORDER BY state, check_id`));
  t.deepEqual(recount('SELECT state, category, severity_rank, n FROM finding_totals ORDER BY state, category, severity_rank'),
    recount('SELECT state, category, severity_rank, count(*) AS n FROM findings GROUP BY state, category, severity_rank ORDER BY state, category, severity_rank'));
  // And 012's check_totals (the findings list's planner counts on it), filled before the re-keying.
  t.deepEqual(recount('SELECT state, check_id, severity_rank, n FROM check_totals ORDER BY state, check_id, severity_rank'),
    recount('SELECT state, check_id, severity_rank, count(*) AS n FROM findings GROUP BY state, check_id, severity_rank ORDER BY state, check_id, severity_rank'));
  t.deepEqual(recount('SELECT node, check_id FROM node_results ORDER BY node, check_id, subject').map((r: any) => `${r.node} ${r.check_id}`),
    [...Array(4).fill('node-a cert-key-file'), 'node-a cis-1.1.20', 'node-a cis-2.3', 'node-b cis-4.1.7', 'node-b cis-4.2.1', 'node-b cis-4.2.2']);
  t.deepEqual(recount('SELECT name, failing_checks FROM nodes ORDER BY name'), [{ name: 'node-a', failing_checks: 2 }, { name: 'node-b', failing_checks: 3 }]);

  // The store reads the merged finding with its history and references.
  const store = openStore({ path });
  t.teardown(() => store.close());
  const detail = (await store.findings.detail(k1.id))!;
  t.deepEqual(detail.references, ['cis-1.12:1.1.21']);
  t.is(detail.history.length, k1History.length);
});

test('migration 013 on a database with nothing to merge changes no finding but its references', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-merge-migration-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'v11.sqlite');
  const db = new Database(path);
  for (const m of MIGRATIONS.filter((x) => x.version <= 11)) {
    db.exec(m.sql);
    m.run?.(db);
  }
  db.pragma('user_version = 11');
  db.prepare(`INSERT INTO findings (id, node, check_id, cis, category, subject, severity, severity_rank, status, state, first_seen, last_seen, count, updated_at)
    VALUES ('x', 'node-a', 'proc-unexpected', '', 'process', 'host/worker:/bin/nc', 'high', 3, 'fail', 'open', ?, ?, 1, ?)`).run(T, T, T);
  const before = db.prepare('SELECT * FROM findings').all();
  db.close();
  await openStore({ path }).close();
  const after = new Database(path, { readonly: true });
  t.teardown(() => after.close());
  // Migration 020 adds the scope after 013: a node's finding stays a node's.
  t.deepEqual((after.prepare('SELECT * FROM findings').all() as Array<Record<string, unknown>>).map(({ benchmark_refs: refs, scope, ...rest }) => {
    t.is(refs, '[]');
    t.is(scope, 'node');
    return rest;
  }), before);
});
