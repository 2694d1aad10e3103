// Finding ids within a cluster (proto/fingerprint.ts) and a database's cluster (store.cluster,
// boundary/cluster.ts), on real SQLite and PostgreSQL (test/helpers/stores.ts): the fingerprint
// without a cluster is the hash it always was and one with a cluster never meets it; the commit
// stage makes every id within its uid; adopting an empty database writes the row; adopting a
// populated one rewrites every finding id, outbox row and firing set to the uid (history,
// counts and states kept, the old ids gone, the pipeline's next report finding the same rows);
// a rename; another cluster refused with nothing changed; two replicas adopting at once rekey once.
import test from 'ava';
import { createHash } from 'node:crypto';
import { AGENT_STALE_CHECK } from '../../proto/collector-checks.js';
import { isValidNodeName } from '../../proto/domain.js';
import { clusterFingerprint, fingerprint } from '../../proto/fingerprint.js';
import { createCommitStage } from '../../collector/pipeline/commit.js';
import { rekeyedChange } from '../../collector/store/cluster.js';
import type { ClusterFinding } from '../../collector/posture/judge.js';
import type { OutboxQueue, Store } from '../../collector/store/store.js';
import { StoreError } from '../../collector/store/store.js';
import type { Destination } from '../../collector/webhooks/types.js';
import { checkProperty, fc } from '../helpers/property.js';
import { storeTest } from '../helpers/stores.js';

const T = Date.parse('2026-12-01T00:00:00Z');
const U = '6f1c2d3e-0000-4a5b-8c9d-0123456789ab';
const OTHER = '9a8b7c6d-1111-4e2f-8a0b-fedcba987654';

const node = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?(\.[a-z0-9]{1,8}){0,2}$/).filter(isValidNodeName);
const text = fc.string({ maxLength: 40 });
const uid = fc.uuid();

test('fingerprint: without a cluster it is the old hash; with one it never equals a node-scoped or cluster-less id; distinct clusters give distinct ids', async (t) => {
  const old = (n: string, c: string, s: string): string => createHash('sha256').update(`${n}\n${c}\n${s}`, 'utf8').digest('hex').slice(0, 32);
  t.is(fingerprint('node-a', 'cis-4.2.1', '--anonymous-auth', U), createHash('sha256').update(`${U}\u0000node-a\ncis-4.2.1\n--anonymous-auth`).digest('hex').slice(0, 32));
  await checkProperty(t, fc.property(node, text, text, (n, c, s) => fingerprint(n, c, s) === old(n, c, s) && fingerprint(n, c, s, '') === old(n, c, s)
    && clusterFingerprint(c, s) === old('', c, s) && clusterFingerprint(c, s, '') === old('', c, s)), 300);
  // Any node-scoped or cluster-less id of the same inputs, or of others: never one within a cluster.
  await checkProperty(t, fc.property(uid, node, text, text, node, text, text, (u, n, c, s, n2, c2, s2) => {
    const within = [fingerprint(n, c, s, u), clusterFingerprint(c, s, u)];
    const without = [fingerprint(n, c, s), clusterFingerprint(c, s), fingerprint(n2, c2, s2), clusterFingerprint(c2, s2), fingerprint(n, c2, s2), fingerprint(u, c, s)];
    return within[0] !== within[1] && within.every((w) => !without.includes(w));
  }), 500);
  await checkProperty(t, fc.property(uid, uid, node, text, text, (u1, u2, n, c, s) => u1 === u2
    || (fingerprint(n, c, s, u1) !== fingerprint(n, c, s, u2) && clusterFingerprint(c, s, u1) !== clusterFingerprint(c, s, u2))), 500);
});

const clusterFinding = (checkId: string, key: string): ClusterFinding => ({
  checkId, title: `title of ${checkId}`, severity: 'high', references: ['cis-1.12:5.1.1'], cis: '5.1.1', category: 'rbac', key,
  subject: 'User alice', object: 'ClusterRoleBinding/alice', actual: 'bound', expected: 'none', reason: 'bound', remediation: 'unbind', detail: {},
});

function batch(nodeName: string, subjects: readonly string[], sequence: number) {
  return {
    node: nodeName, epoch: 'e1', sequence, findings: subjects.map((subject) => ({
      checkId: 'proc-unexpected', subject, title: 't', category: 'process' as const, severity: 'high' as const, status: 'fail' as const, observedAt: T,
      occurrences: 1, seen: 'event', remediation: '', detail: '{}',
    })),
  };
}

const QUEUES: OutboxQueue[] = [{ name: 'ops', format: 'json', maxPending: 100 }, { name: 'am', format: 'alertmanager', maxPending: 100 }];
const destination = (name: string, format: 'json' | 'alertmanager'): Destination => ({
  name, url: 'https://receiver.invalid/', format, minSeverity: 'info', categories: [], nodes: [], events: ['opened', 'reopened', 'escalated', 'resolved'], headers: {},
});
const DESTINATIONS = [destination('ops', 'json'), destination('am', 'alertmanager')];

storeTest('the commit stage makes every finding id within its cluster uid', async (t, backend) => {
  const store = await backend.open(t);
  const commit = createCommitStage(store, { maxOpenFindingsPerNode: 100, clusterUid: U });
  await commit.batch(batch('node-a', ['/usr/bin/nc'], 1), T);
  await commit.posture({ kind: 'full', findings: [clusterFinding('cis-5.1.1', 'k1')], note: 'n' }, T);
  await commit.silent('node-b', T - 600_000, 60_000, T);
  const ids = (await store.findings.list({}, 10)).items.map((f) => f.id).sort();
  t.deepEqual(ids, [fingerprint('node-a', 'proc-unexpected', '/usr/bin/nc', U), clusterFingerprint('cis-5.1.1', 'k1', U),
    fingerprint('node-b', AGENT_STALE_CHECK.id, 'node-b', U)].sort());
  t.is(await store.findings.get(fingerprint('node-a', 'proc-unexpected', '/usr/bin/nc')), undefined, 'not the id without a cluster');
  // The agent-stale finding is found again by its id within the cluster: the agent speaks, it resolves.
  t.deepEqual((await commit.heard('node-b', T + 1)).map((c) => c.event), ['resolved']);
});

storeTest('adopting an empty database writes the row; the same again does nothing; a new name renames; another cluster is refused', async (t, backend) => {
  const store = await backend.open(t);
  t.is(await store.cluster.identity(), null);
  t.deepEqual(await store.cluster.adopt({ uid: U, name: 'prod' }, T), { outcome: 'adopted', rekeyed: 0 });
  t.deepEqual(await store.cluster.identity(), { uid: U, name: 'prod' });
  t.deepEqual(await store.cluster.adopt({ uid: U, name: 'prod' }, T + 1), { outcome: 'same', rekeyed: 0 });
  t.deepEqual(await store.cluster.adopt({ uid: U, name: 'prod-eu' }, T + 2), { outcome: 'renamed', rekeyed: 0 });
  t.deepEqual(await store.cluster.identity(), { uid: U, name: 'prod-eu' });
  for (const other of [{ uid: OTHER, name: 'staging' }, { uid: '', name: 'laptop' }]) {
    const err = await t.throwsAsync(store.cluster.adopt(other, T + 3), { instanceOf: StoreError });
    t.is((err as StoreError).code, 'CLUSTER_MISMATCH');
    for (const part of ['prod-eu', U, other.name]) t.true(err!.message.includes(part), `the refusal names ${part}: ${err!.message}`);
  }
  t.deepEqual(await store.cluster.identity(), { uid: U, name: 'prod-eu' });
  // A database adopted without a uid is adopted later by a collector with one.
  const dev = await backend.open(t);
  t.deepEqual(await dev.cluster.adopt({ uid: '', name: 'dev' }, T), { outcome: 'adopted', rekeyed: 0 });
  t.deepEqual(await dev.cluster.adopt({ uid: U, name: 'dev' }, T + 1), { outcome: 'rekeyed', rekeyed: 0 });
  t.deepEqual(await dev.cluster.identity(), { uid: U, name: 'dev' });
});

const NODE_KEYS = [['node-a', '/usr/bin/nc'], ['node-a', '/usr/bin/socat'], ['node-b', '/usr/bin/nc']] as const;
const CLUSTER_KEYS = [['cis-5.1.1', 'k1'], ['cis-5.1.3', 'k2']] as const;

/** Findings of both scopes, open and resolved, with outbox rows (json) and firing sets (alertmanager), all without a cluster. */
async function populate(store: Store): Promise<{ node: string[]; cluster: string[] }> {
  const commit = createCommitStage(store, { maxOpenFindingsPerNode: 100, destinations: DESTINATIONS });
  await commit.batch(batch('node-a', ['/usr/bin/nc', '/usr/bin/socat'], 1), T);
  await commit.batch(batch('node-b', ['/usr/bin/nc'], 1), T);
  await commit.posture({ kind: 'full', findings: [clusterFinding('cis-5.1.1', 'k1'), clusterFinding('cis-5.1.3', 'k2')], note: 'n' }, T);
  // One of each scope resolves: its history has two entries, and the firing set drops it.
  await commit.resolveSubjects(['proc-unexpected'], ['/usr/bin/socat'], 'allowed', T + 1);
  await commit.posture({ kind: 'full', findings: [clusterFinding('cis-5.1.1', 'k1')], note: 'gone' }, T + 2);
  return {
    node: NODE_KEYS.map(([n, s]) => fingerprint(n, 'proc-unexpected', s)),
    cluster: CLUSTER_KEYS.map(([c, k]) => clusterFingerprint(c, k)),
  };
}

/** What the store shows, with every finding id put through `rename`. */
async function view(store: Store, rename: (id: string) => string = (id) => id) {
  const findings = (await store.findings.list({}, 100)).items.map((f) => ({ id: rename(f.id), state: f.state, node: f.node, subject: f.subject })).sort((a, b) => a.id.localeCompare(b.id));
  const deliveries = (await store.outbox.list({}, 100, Number.MAX_SAFE_INTEGER)).items.map((d) => [d.id, d.destination, d.event, rename(d.findingId)]);
  const pending = (await store.outbox.pending('ops', 100)).map((r) => [r.seq, rename(r.findingId), rename(r.change.finding.id)]);
  const firing = (await store.outbox.firing('am')).map((c) => rename(c.finding.id)).sort();
  const summary = await store.summary.summary({ state: 'open', top: 10, now: T, staleAfterMs: 60_000 });
  return { findings, deliveries, pending, firing, totals: [summary.findings.total, summary.cluster.total] };
}

storeTest('adopting a populated database rewrites every finding id, outbox row and firing set to the uid, once; nothing else changes', async (t, backend) => {
  const store = await backend.open(t, { webhooks: QUEUES });
  const old = await populate(store);
  const before = await view(store);
  t.is(before.findings.length, 5);
  t.true(before.pending.length >= 5, `outbox rows queued: ${before.pending.length}`);
  t.is(before.firing.length, 3, 'the open findings (two of nodes, one of the cluster) fire');
  const oldHistory = await Promise.all([...old.node, ...old.cluster].map(async (id) => (await store.findings.detail(id))!.history));

  t.deepEqual(await store.cluster.adopt({ uid: U, name: 'prod' }, T + 3), { outcome: 'adopted', rekeyed: 5 });
  const renamed = new Map<string, string>([
    ...NODE_KEYS.map(([n, s], i): [string, string] => [old.node[i]!, fingerprint(n, 'proc-unexpected', s, U)]),
    ...CLUSTER_KEYS.map(([c, k], i): [string, string] => [old.cluster[i]!, clusterFingerprint(c, k, U)]),
  ]);
  const after = await view(store);
  // Every id is the old one's within U (counts, states, outbox rows and their order unchanged).
  t.deepEqual(before.findings.map((f) => ({ ...f, id: renamed.get(f.id) })).sort((a, b) => a.id!.localeCompare(b.id!)), after.findings);
  t.deepEqual(before.deliveries.map(([seq, d, e, id]) => [seq, d, e, renamed.get(id as string)]), after.deliveries);
  t.deepEqual(before.pending.map(([seq, id, inChange]) => [seq, renamed.get(id as string), renamed.get(inChange as string)]), after.pending);
  t.deepEqual(before.firing.map((id) => renamed.get(id)).sort(), after.firing);
  t.deepEqual(before.totals, after.totals);
  for (const [i, [oldId, newId]] of [...renamed].entries()) {
    t.is(await store.findings.get(oldId), undefined, 'the old id is gone');
    t.is((await store.findings.get(newId))?.id, newId, 'GET by the new id');
    t.deepEqual((await store.findings.detail(newId))!.history, oldHistory[i], 'its history still attached');
    t.deepEqual((await store.outbox.list({ findingId: oldId }, 10, Number.MAX_SAFE_INTEGER)).items, []);
  }
  // The pipeline within U finds the rekeyed rows: the same reports open nothing new.
  const commit = createCommitStage(store, { maxOpenFindingsPerNode: 100, destinations: DESTINATIONS, clusterUid: U });
  const again = await commit.batch(batch('node-a', ['/usr/bin/nc', '/usr/bin/socat'], 2), T + 4);
  t.deepEqual(again.changes.map((c) => [c.findingId, c.event]), [[renamed.get(old.node[1]!), 'reopened']]);
  t.deepEqual((await commit.posture({ kind: 'full', findings: [clusterFinding('cis-5.1.1', 'k1')], note: 'n' }, T + 4)).changes, []);
  t.is((await store.findings.list({}, 100)).items.length, 5);
  // Adopted now: again is nothing; another cluster is refused and nothing changes.
  t.deepEqual(await store.cluster.adopt({ uid: U, name: 'prod' }, T + 5), { outcome: 'same', rekeyed: 0 });
  const settled = await view(store);
  await t.throwsAsync(store.cluster.adopt({ uid: OTHER, name: 'staging' }, T + 6), { instanceOf: StoreError, message: /CLUSTER|cluster "prod"/ });
  t.deepEqual(await view(store), settled);
  t.deepEqual(await store.cluster.identity(), { uid: U, name: 'prod' });
});

storeTest('two collectors adopting one database at once rekey it once', async (t, backend) => {
  const db = await backend.database(t);
  const a = await db.open({ webhooks: QUEUES });
  const b = await db.open({ webhooks: QUEUES });
  const old = await populate(a);
  const outs = await Promise.all([a.cluster.adopt({ uid: U, name: 'prod' }, T), b.cluster.adopt({ uid: U, name: 'prod' }, T)]);
  t.deepEqual(outs.map((o) => o.outcome).sort(), ['adopted', 'same']);
  t.deepEqual(outs.map((o) => o.rekeyed).sort(), [0, 5]);
  t.is((await b.findings.get(clusterFingerprint('cis-5.1.1', 'k1', U)))?.state, 'open');
  t.is(await b.findings.get(old.cluster[0]!), undefined);
  t.deepEqual((await b.findings.list({}, 100)).items.map((f) => f.id).sort(),
    [...NODE_KEYS.map(([n, s]) => fingerprint(n, 'proc-unexpected', s, U)), ...CLUSTER_KEYS.map(([c, k]) => clusterFingerprint(c, k, U))].sort());
});

storeTest('a finding whose subject holds NUL is rekeyed to the id the pipeline makes for it (PostgreSQL stores NUL as U+FFFD)', async (t, backend) => {
  const store = await backend.open(t, { webhooks: QUEUES });
  const subject = '/tmp/a\u0000b';
  await createCommitStage(store, { maxOpenFindingsPerNode: 100, destinations: DESTINATIONS }).batch(batch('node-a', [subject, '/tmp/a\uFFFDb'], 1), T);
  t.is((await store.findings.list({}, 10)).items.length, 2);
  t.deepEqual(await store.cluster.adopt({ uid: U, name: 'prod' }, T + 1), { outcome: 'adopted', rekeyed: 2 });
  const ids = [fingerprint('node-a', 'proc-unexpected', subject, U), fingerprint('node-a', 'proc-unexpected', '/tmp/a\uFFFDb', U)].sort();
  t.deepEqual((await store.findings.list({}, 10)).items.map((f) => f.id).sort(), ids);
  t.deepEqual((await store.outbox.pending('ops', 10)).map((r) => r.findingId).sort(), ids);
  // The same report within U finds both: nothing new opens.
  const again = await createCommitStage(store, { maxOpenFindingsPerNode: 100, clusterUid: U }).batch(batch('node-a', [subject, '/tmp/a\uFFFDb'], 2), T + 2);
  t.deepEqual(again.changes, []);
  t.is((await store.findings.list({}, 10)).items.length, 2);
});

test('rekeying a webhook row never throws, whatever its change holds, and leaves a change without a finding as it is', async (t) => {
  await checkProperty(t, fc.property(fc.string({ maxLength: 64 }), fc.oneof(fc.string(), fc.json(), fc.jsonValue().map((v) => JSON.stringify({ finding: v }))), (id, change) => {
    const out = rekeyedChange(id, change, '', U);
    return out === undefined || (JSON.parse(out.change) as { finding: { id: string } }).finding.id === out.id;
  }), 500);
  t.is(rekeyedChange('x', 'not json', '', U), undefined);
  t.is(rekeyedChange('x', JSON.stringify({ finding: { node: 'n', checkId: 'c' } }), '', U), undefined);
  const made = rekeyedChange(fingerprint('n', 'c', 's'), JSON.stringify({ event: 'opened', finding: { id: fingerprint('n', 'c', 's'), node: 'n', checkId: 'c', subject: 's' } }), '', U)!;
  t.is(made.id, fingerprint('n', 'c', 's', U));
  t.is(rekeyedChange(made.id, made.change, '', U), undefined, 'a row already within the uid is left as it is');
});
