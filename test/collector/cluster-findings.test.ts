// Cluster findings in the store (migration 020) and the commit stage's posture unit, on real
// SQLite and PostgreSQL (test/helpers/stores.ts): a cluster finding and a node finding with the same check and subject never collide
// (fingerprint, rows, counts, caps, node deletion); a full unit resolves the cluster findings
// the verdict no longer holds and nothing of a node's; the cluster has its own cap; and the
// migration keeps a database's node findings as node findings.
import test from 'ava';
import Database from 'better-sqlite3';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clusterFingerprint, fingerprint } from '../../proto/fingerprint.js';
import { isValidNodeName } from '../../proto/domain.js';
import { MIGRATIONS } from '../../collector/store/migrations/index.js';
import { openStore } from '../../collector/store/sqlite.js';
import type { Store } from '../../collector/store/store.js';
import { storeTest } from '../helpers/stores.js';
import { createCommitStage } from '../../collector/pipeline/commit.js';
import type { ClusterFinding } from '../../collector/posture/judge.js';
import { checkProperty, fc } from '../helpers/property.js';

const T = Date.parse('2026-10-01T00:00:00Z');

const clusterFinding = (checkId: string, key: string, over: Partial<ClusterFinding> = {}): ClusterFinding => ({
  checkId, title: `title of ${checkId}`, severity: 'high', references: ['cis-1.12:5.1.1'], cis: '5.1.1', category: 'rbac', key,
  subject: 'User alice', object: 'ClusterRoleBinding/alice', actual: 'User alice through ClusterRoleBinding/alice', expected: 'none',
  reason: 'bound', remediation: 'unbind', detail: { binding: 'ClusterRoleBinding/alice' }, ...over,
});

async function hello(store: Store, node: string): Promise<void> {
  await store.unit((u) => u.nodes.hello({ node, agentVersion: 't', epoch: 'e1', os: '', kernel: '', arch: '', kubeletVersion: '', cpus: 1, memoryBytes: 1, uptimeSeconds: 1, certificates: [] }, T));
}

function nodeBatch(node: string, checkId: string, subject: string, sequence = 1) {
  return {
    node, epoch: 'e1', sequence, findings: [{
      checkId, subject, title: 't', category: 'process' as const, severity: 'high' as const, status: 'fail' as const, observedAt: T, occurrences: 1,
      seen: 'event', remediation: '', detail: '{}',
    }],
  };
}

test('a cluster fingerprint never equals a node fingerprint; node fingerprints are unchanged', async (t) => {
  t.is(fingerprint('node-a', 'cis-4.2.1', '--anonymous-auth'), fingerprint('node-a', 'cis-4.2.1', '--anonymous-auth'));
  t.is(clusterFingerprint('cis-5.1.1', 'k'), fingerprint('', 'cis-5.1.1', 'k'));
  const node = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?(\.[a-z0-9]{1,8}){0,2}$/).filter(isValidNodeName);
  const text = fc.string({ maxLength: 40 });
  await checkProperty(t, fc.property(node, text, text, text, text, (n, c1, s1, c2, s2) => {
    // Same check and subject, and any other: a node's identity is never a cluster one.
    return fingerprint(n, c1, s1) !== clusterFingerprint(c1, s1) && fingerprint(n, c2, s2) !== clusterFingerprint(c1, s1);
  }), 500);
});

storeTest('a cluster finding and a node finding with the same check and subject are two findings; counts, caps and node deletion keep them apart', async (t, backend) => {
  const store = await backend.open(t);
  const commit = createCommitStage(store, { maxOpenFindingsPerNode: 1, maxOpenClusterFindings: 10 });
  await hello(store, 'node-a');
  const key = 'cis-5.1.1|ClusterRoleBinding/alice|User:alice';
  t.is((await commit.batch(nodeBatch('node-a', 'cis-5.1.1', key), T)).updated, 1);
  const out = await commit.posture({ kind: 'full', findings: [clusterFinding('cis-5.1.1', key)], note: 'gone' }, T);
  t.is(out.refused, 0);
  t.deepEqual(out.changes.map((c) => [c.node, c.event]), [['', 'opened']]);
  const all = (await store.findings.list({}, 10)).items;
  t.is(all.length, 2);
  t.deepEqual(all.map((f) => [f.scope, f.node, f.subject]).sort(), [['cluster', '', key], ['node', 'node-a', key]]);
  t.not(all[0]!.id, all[1]!.id);
  t.deepEqual((await store.findings.list({ scope: 'cluster' }, 10)).items.map((f) => f.id), [clusterFingerprint('cis-5.1.1', key)]);
  t.deepEqual((await store.findings.list({ scope: 'node' }, 10)).items.map((f) => f.id), [fingerprint('node-a', 'cis-5.1.1', key)]);
  // By node, a page ending on the cluster finding (node '') has a cursor that opens and goes on.
  const first = await store.findings.list({}, 1, { sort: 'node', order: 'asc' });
  t.deepEqual(first.items.map((f) => f.node), ['']);
  const after = store.findings.openCursor(first.nextCursor!);
  t.truthy(after, 'the cursor after a cluster finding opens');
  t.deepEqual((await store.findings.list({}, 1, { sort: 'node', order: 'asc', after })).items.map((f) => f.node), ['node-a']);
  // The node's cap (1) counts its own finding only: the cluster's is not on node-a.
  t.is((await store.nodes.get('node-a', T, 60_000))?.openFindings, 1);
  const summary = await store.summary.summary({ state: 'open', top: 10, now: T, staleAfterMs: 60_000 });
  t.deepEqual(summary.byNode.map((n) => n.node), ['node-a']);
  t.is(summary.cluster.total, 1);
  t.is(summary.findings.total, 2);
  t.deepEqual(summary.topChecks.map((c) => [c.checkId, c.nodes, c.findings]), [['cis-5.1.1', 1, 1]]);
  // Deleting the node resolves its findings, not the cluster's.
  await commit.resolveNode('node-a', 'deleted', T + 1);
  t.is((await store.findings.get(fingerprint('node-a', 'cis-5.1.1', key)))?.state, 'resolved');
  t.is((await store.findings.get(clusterFingerprint('cis-5.1.1', key)))?.state, 'open');
});

storeTest('a full unit resolves the cluster findings the verdict no longer holds, with its note, and no node finding; a delta unit raises, changes and resolves', async (t, backend) => {
  const store = await backend.open(t);
  const commit = createCommitStage(store, { maxOpenFindingsPerNode: 100 });
  await hello(store, 'node-a');
  await commit.batch(nodeBatch('node-a', 'proc-unexpected', '/usr/bin/nc'), T);
  await commit.posture({ kind: 'full', findings: [clusterFinding('cis-5.1.1', 'a'), clusterFinding('cis-5.1.2', 'b')], note: 'n' }, T);
  const changed = await commit.posture({ kind: 'delta', upserts: [clusterFinding('cis-5.1.2', 'b', { actual: 'now more', severity: 'critical' })], resolved: [] }, T + 1);
  t.deepEqual(changed.changes.map((c) => c.event), ['escalated']);
  t.is((await store.findings.get(clusterFingerprint('cis-5.1.2', 'b')))?.actual, 'now more');
  const full = await commit.posture({ kind: 'full', findings: [clusterFinding('cis-5.1.2', 'b')], note: 'not there at the relist' }, T + 2);
  t.deepEqual(full.changes.map((c) => [c.checkId, c.event]), [['cis-5.1.1', 'resolved']]);
  t.deepEqual((await store.findings.detail(clusterFingerprint('cis-5.1.1', 'a')))!.history.map((h) => h.note)[0], 'not there at the relist');
  t.is((await store.findings.get(fingerprint('node-a', 'proc-unexpected', '/usr/bin/nc')))?.state, 'open');
  const gone = await commit.posture({ kind: 'delta', upserts: [], resolved: [{ finding: clusterFinding('cis-5.1.2', 'b'), note: 'ClusterRoleBinding/alice was deleted' }] }, T + 3);
  t.deepEqual(gone.changes.map((c) => c.event), ['resolved']);
  // Reopened when it comes back.
  t.deepEqual((await commit.posture({ kind: 'delta', upserts: [clusterFinding('cis-5.1.2', 'b')], resolved: [] }, T + 4)).changes.map((c) => c.event), ['reopened']);
});

storeTest('cluster findings have their own cap: new ones past it are refused and counted', async (t, backend) => {
  const store = await backend.open(t);
  const commit = createCommitStage(store, { maxOpenFindingsPerNode: 100, maxOpenClusterFindings: 2 });
  const out = await commit.posture({ kind: 'full', findings: ['a', 'b', 'c'].map((k) => clusterFinding('cis-5.1.3', k)), note: 'n' }, T);
  t.is(out.refused, 1);
  t.is((await store.findings.list({ scope: 'cluster', state: 'open' }, 10)).items.length, 2);
  // A finding already open is not new: seen again, never refused.
  t.is((await commit.posture({ kind: 'delta', upserts: [clusterFinding('cis-5.1.3', 'a')], resolved: [] }, T + 1)).refused, 0);
});

// SQLite's alone: its migration 020 over a file made by the migrations before it, and its CHECK
// constraints read back through the file (PostgreSQL's schema starts past it: pg-schema-parity).
test('migration 020 keeps the findings of a database made before it as node findings; a row cannot be a cluster finding with a node', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-m020-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'nodeward.db');
  const db = new Database(path);
  for (const m of MIGRATIONS.filter((x) => x.version <= 18)) {
    db.exec(m.sql);
    m.run?.(db);
  }
  db.pragma('user_version = 18');
  db.prepare('INSERT INTO nodes (name, first_seen, last_seen) VALUES (?, ?, ?)').run('node-a', T, T);
  const id = fingerprint('node-a', 'cis-4.2.1', '--anonymous-auth');
  db.prepare(`INSERT INTO findings (id, node, check_id, title, category, subject, severity, severity_rank, status, state, first_seen, last_seen, count, updated_at)
    VALUES (?, 'node-a', 'cis-4.2.1', 'anon', 'kubelet', '--anonymous-auth', 'high', 3, 'fail', 'open', ?, ?, 1, ?)`).run(id, T, T, T);
  db.exec("INSERT INTO node_counts SELECT state, node, count(*), 0, 0, 0, count(*), 0 FROM findings GROUP BY state, node");
  db.close();

  const store = openStore({ path });
  t.teardown(() => store.close());
  const f = await store.findings.get(id);
  t.is(f?.scope, 'node');
  t.is(f?.node, 'node-a');
  t.is((await store.findings.list({ scope: 'node' }, 10)).items.length, 1);
  t.is((await store.findings.list({ scope: 'cluster' }, 10)).items.length, 0);

  const raw = new Database(path);
  t.teardown(() => raw.close());
  t.is(raw.pragma('user_version', { simple: true }), MIGRATIONS.at(-1)!.version);
  const insert = (node: string, scope: string) => () => raw.prepare(`INSERT INTO findings (id, node, check_id, category, subject, severity, severity_rank, status, state,
    first_seen, last_seen, count, updated_at, scope) VALUES (?, ?, 'c', 'rbac', 's', 'high', 3, 'fail', 'open', 0, 0, 1, 0, ?)`).run(`${node}-${scope}`, node, scope);
  t.throws(insert('', 'node'), { any: true, code: 'SQLITE_CONSTRAINT_CHECK' });
  t.throws(insert('node-a', 'cluster'), { any: true, code: 'SQLITE_CONSTRAINT_CHECK' });
  t.throws(insert('node-a', 'pod'), { any: true, code: 'SQLITE_CONSTRAINT_CHECK' });
});
