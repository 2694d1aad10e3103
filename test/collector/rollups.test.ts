// The summary reads rollup tables the store keeps. Whatever happens to findings (opened,
// reopened, escalated, resolved, suppressed, lifted, expired, purged, raised by the sweeper),
// the rollups must equal a count made the slow way from the findings themselves, on SQLite and
// on PostgreSQL (test/helpers/stores.ts); so must the counts SQLite's findings list plans its
// reads with. And a SQLite database from the previous schema version migrates with its
// rollups filled in.
import test, { type ExecutionContext } from 'ava';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { openStore } from '../../collector/store/sqlite.js';
import type { Store } from '../../collector/store/store.js';
import { m001Initial } from '../../collector/store/migrations/001-initial.js';
import { fingerprint } from '../../proto/fingerprint.js';
import { SEVERITIES, FINDING_STATES, type Severity } from '../../proto/domain.js';
import type { IncomingResult } from '../../collector/pipeline/types.js';
import { createCommitStage } from '../../collector/pipeline/commit.js';
import { createRollupCounts } from '../../collector/store/rollups.js';
import { prng } from '../helpers/property.js';
import { testDir } from '../helpers/files.js';
import { storeTest } from '../helpers/stores.js';

/** The summary computed the slow way, from every finding. */
async function bruteForce(store: Store) {
  const all = (await store.findings.list({}, 1_000_000)).items;
  return Object.fromEntries(FINDING_STATES.map((state) => {
    const rows = all.filter((f) => f.state === state);
    const bySeverity = Object.fromEntries(SEVERITIES.map((s) => [s, rows.filter((f) => f.severity === s).length]));
    const byCategory: Record<string, number> = {};
    for (const f of rows) byCategory[f.category] = (byCategory[f.category] ?? 0) + 1;
    const nodes = [...new Set(rows.map((f) => f.node))].sort();
    const byNode = nodes.map((node) => ({ node, total: rows.filter((f) => f.node === node).length }));
    const checks = [...new Set(rows.filter((f) => f.status === 'fail').map((f) => f.checkId))].sort();
    const spread = checks.map((c) => {
      const failing = rows.filter((f) => f.checkId === c && f.status === 'fail');
      const worst = Math.max(...failing.map((f) => SEVERITIES.indexOf(f.severity)));
      return { checkId: c, nodes: new Set(failing.map((f) => f.node)).size, findings: failing.length, severity: SEVERITIES[worst] };
    });
    return [state, { total: rows.length, bySeverity, byCategory: Object.fromEntries(Object.entries(byCategory).sort()), byNode, spread }];
  }));
}

async function fromRollups(store: Store) {
  const out = [];
  for (const state of FINDING_STATES) {
    const s = await store.summary.summary({ state, top: 1000, now: Date.now(), staleAfterMs: 1 });
    out.push([state, {
      total: s.findings.total, bySeverity: s.findings.bySeverity, byCategory: s.findings.byCategory,
      byNode: s.byNode.map((n) => ({ node: n.node, total: n.total })).sort((a, b) => a.node.localeCompare(b.node)),
      spread: s.topChecks.map((c) => ({ checkId: c.checkId, nodes: c.nodes, findings: c.findings, severity: c.severity })).sort((a, b) => a.checkId.localeCompare(b.checkId)),
    }]);
  }
  return Object.fromEntries(out);
}

/**
 * What the findings list's planner reads (rollups.ts createRollupCounts), for every node,
 * check and category of the findings, by state and severity; from the rollups, or (`slow`)
 * counted from the findings themselves.
 */
async function plannerCounts(store: Store, reader: Database.Database, slow: boolean): Promise<Record<string, number>> {
  const all = (await store.findings.list({}, 1_000_000)).items;
  const counts = createRollupCounts(reader);
  const out: Record<string, number> = {};
  const every = { lo: 0, hi: SEVERITIES.length - 1 };
  const of = { node: (f: (typeof all)[number]) => f.node, check: (f: (typeof all)[number]) => f.checkId, category: (f: (typeof all)[number]) => f.category } as const;
  for (const by of ['node', 'check', 'category'] as const) {
    for (const value of [...new Set(all.map(of[by]))].sort()) {
      const count = counts.matches(by, value, FINDING_STATES, every);
      for (const state of FINDING_STATES) {
        SEVERITIES.forEach((sev, rank) => {
          const n = slow ? all.filter((f) => of[by](f) === value && f.state === state && f.severity === sev).length : count(state, rank);
          if (n !== 0) out[`${by}=${value} ${state} ${sev}`] = n;
        });
      }
    }
  }
  out.total = slow ? all.length : counts.total(FINDING_STATES, every);
  return out;
}

/**
 * 150 rounds of random changes through the commit stage (scans, batches, suppressions, lifts,
 * expiries, silence, purges), with `check` after each round; the run must reach every state.
 */
async function randomRun(t: ExecutionContext, store: Store, check: (round: number) => Promise<Record<string, unknown>>): Promise<void> {
  const commit = createCommitStage(store, { maxOpenFindingsPerNode: 25 });
  const rnd = prng(20250501);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const nodes = ['node-a', 'node-b', 'node-c'];
  const checks = ['cis-4.2.1', 'cis-4.2.2', 'cis-1.1.1', 'etcd-cert-expiry'];
  const categories = ['kubelet', 'host', 'etcd', 'certificate'] as const;
  const seqs = new Map<string, number>();
  const seq = (node: string): number => {
    const n = (seqs.get(node) ?? 0) + 1;
    seqs.set(node, n);
    return n;
  };
  let clock = Date.parse('2025-01-01T00:00:00Z');
  const known = new Set<string>();
  const reached = new Set<string>();

  for (let round = 0; round < 150; round++) {
    clock += 60_000;
    const node = pick(nodes);
    const op = rnd();
    if (op < 0.45) {
      const results: IncomingResult[] = checks.flatMap((checkId, j) => Array.from({ length: 3 }, (_, k): IncomingResult => ({
        checkId, cis: '', references: [], title: checkId, category: categories[j]!, subject: `s${k}`, status: pick(['pass', 'fail', 'warn', 'skip', 'fail'] as const),
        severity: pick(SEVERITIES) as Severity, scored: true, actual: '', expected: '', source: 'flag', sourceFile: '', reason: '',
        remediation: '', occurrences: 1,
      })));
      for (const r of results) known.add(fingerprint(node, r.checkId, r.subject));
      await commit.scan({ node, epoch: 'e', sequence: seq(node), scannedAt: clock, benchmark: 'b', scope: checks.filter(() => rnd() < 0.8), results, trigger: 't' }, clock);
    } else if (op < 0.6) {
      // Several findings per batch, so one commit sums several deltas into the same rollup rows.
      const subjects = Array.from({ length: 1 + Math.floor(rnd() * 4) }, () => `/bin/p${Math.floor(rnd() * 5)}`);
      for (const subject of subjects) known.add(fingerprint(node, 'proc-unexpected', subject));
      await commit.batch({ node, epoch: 'e', sequence: seq(node), findings: subjects.map((subject) => ({
        checkId: 'proc-unexpected', subject, title: 'p', category: 'process', severity: pick(SEVERITIES) as Severity,
        status: pick(['fail', 'fail', 'warn'] as const), observedAt: clock, occurrences: 1, seen: 'event', remediation: '', detail: '{}',
      })) }, clock);
    } else if (op < 0.72 && known.size > 0) {
      await commit.suppress(pick([...known]), { reason: 'r', until: rnd() < 0.5 ? clock + 120_000 : null, by: 'admin' }, clock);
    } else if (op < 0.78 && known.size > 0) {
      await commit.unsuppress(pick([...known]), 'admin', clock);
    } else if (op < 0.84) {
      await commit.expire(clock);
    } else if (op < 0.9) {
      await commit.silent(node, clock - 600_000, 300_000, clock);
    } else if (op < 0.95) {
      await commit.heard(node, clock);
    } else {
      await store.findings.purgeResolved(clock - 5 * 60_000);
    }
    const expected = await check(round);
    for (const s of FINDING_STATES) if ((expected[s] as { total: number }).total > 0) reached.add(s);
  }
  t.deepEqual([...reached].sort(), [...FINDING_STATES].sort(), 'the run went through every state');
}

storeTest('the rollups equal a brute-force count after every kind of change', async (t, backend) => {
  const store = await backend.open(t, { historyLimit: 5 });
  await randomRun(t, store, async (round) => {
    const expected = await bruteForce(store);
    t.deepEqual(await fromRollups(store), expected, `round ${round}`);
    return expected;
  });
});

// SQLite's alone: the counts its findings list plans with are read from the database file
// (createRollupCounts over a second connection); PostgreSQL plans with its own reads.
test("sqlite: the list planner's counts equal a brute-force count after every kind of change", async (t) => {
  const dir = await testDir(t, 'rollups');
  const store = openStore({ path: join(dir, 'db.sqlite'), historyLimit: 5 });
  t.teardown(() => store.close());
  const reader = new Database(join(dir, 'db.sqlite'), { readonly: true });
  t.teardown(() => reader.close());
  await randomRun(t, store, async (round) => {
    t.deepEqual(await plannerCounts(store, reader, false), await plannerCounts(store, reader, true), `round ${round}: the list planner's counts`);
    return bruteForce(store);
  });
});

// SQLite's alone: its migrations from an old file.
test('a database of schema version 1 migrates to the current one with its data and rollups', async (t) => {
  const dir = await testDir(t, 'rollups');
  const path = join(dir, 'v1.sqlite');
  const v1 = new Database(path);
  v1.exec(m001Initial.sql);
  v1.pragma('user_version = 1');
  v1.prepare(`INSERT INTO nodes (name, first_seen, last_seen) VALUES ('node-a', 1, 2)`).run();
  const insert = v1.prepare(`INSERT INTO findings (id, node, check_id, category, subject, severity, severity_rank, status, state,
    first_seen, last_seen, count, updated_at) VALUES (?, 'node-a', ?, 'kubelet', ?, ?, ?, ?, ?, 1, 2, 3, 2)`);
  insert.run('a'.repeat(32), 'cis-4.2.1', '--anonymous-auth', 'critical', 4, 'fail', 'open');
  insert.run('b'.repeat(32), 'cis-4.2.2', '--authorization-mode', 'low', 1, 'fail', 'resolved');
  insert.run('c'.repeat(32), 'cis-3.2.1', 'audit policy', 'medium', 2, 'warn', 'open');
  v1.prepare(`INSERT INTO node_results VALUES ('node-a', 'cis-4.2.1', '--anonymous-auth', 'fail', 'critical', 1, 1),
    ('node-a', 'cis-4.2.3', '--client-ca-file', 'pass', 'high', 1, 1)`).run();
  v1.close();

  const store = openStore({ path });
  t.teardown(() => store.close());
  t.like(await store.findings.get('a'.repeat(32)), { state: 'open', count: 3, suppressedBy: null });
  t.deepEqual(await fromRollups(store), await bruteForce(store));
  const s = await store.summary.summary({ state: 'open', top: 10, now: 3, staleAfterMs: 1000 });
  t.deepEqual(s.findings.bySeverity, { info: 0, low: 0, medium: 1, high: 0, critical: 1 });
  t.deepEqual(s.topChecks.map((c) => c.checkId), ['cis-4.2.1']);
  t.like(await store.nodes.get('node-a', 3, 1000), { openFindings: 2, complianceScore: 0.5, failingChecks: 1 });
  // And a database newer than the code is refused.
  await store.close();
  const newer = new Database(path);
  newer.pragma('user_version = 99');
  newer.close();
  t.throws(() => openStore({ path }), { message: /schema version 99 is newer/ });
});
