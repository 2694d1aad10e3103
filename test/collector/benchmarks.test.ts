// Benchmarks per node at the collector: an agent judging its node under CIS EKS reports under
// cis-eks-1.7 (the real agent's results on a fixture tree, through the real gRPC path); the
// node keeps that benchmark, its findings carry EKS's controls, and the summary gives
// compliance per benchmark (the EKS node under cis-eks-1.7, the others under cis-1.12). An
// agent that names no benchmark (older ones, other clients) counts as cis-1.12. The node list
// and the query CLI filter by benchmark; a malformed benchmark name is refused.
import test from 'ava';
import Database from 'better-sqlite3';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WireResult } from '../../proto/load.js';
import { CATALOG } from '../../agent/checks/index.js';
import { benchmarkNamed, CIS_KUBERNETES, evaluateUnder } from '../../agent/checks/benchmarks/index.js';
import { collectFacts } from '../../agent/facts/index.js';
import { resultToWire } from '../../agent/report/wire.js';
import { MIGRATIONS } from '../../collector/store/migrations/index.js';
import { openStore } from '../../collector/store/sqlite.js';
import { prepareFixture } from '../helpers/fixture.js';
import { api, connect, fp, ok, result, withCollector } from '../helpers/agent-session.js';
import { runNodeward } from '../helpers/process.js';
import { READER_TOKEN } from '../helpers/collector.js';
import { writeFile } from 'node:fs/promises';
import type { ScanReport__Output } from '../../proto/load.js';
import { BENCHMARK_NAME } from '../../proto/benchmark-refs.js';
import { InvalidMessage, scanFromWire } from '../../collector/ingest/validate.js';
import { checkProperty, fc } from '../helpers/property.js';

const NOW = new Date('2026-11-20T12:00:00Z');

/** What the agent sends for the insecure-worker tree judged under `benchmark`. */
async function agentResults(benchmark: string): Promise<{ scope: string[]; results: WireResult[] }> {
  const fx = await prepareFixture('insecure-worker');
  try {
    const facts = await collectFacts({ hostRoot: fx.root, procRoot: fx.procRoot, kubeletProbe: null, etcdProbe: null });
    const specs = CATALOG.filter((c) => c.id.startsWith('cis-4.'));
    const results = evaluateUnder(benchmarkNamed(benchmark), facts, specs, NOW);
    return { scope: specs.map((s) => s.id), results: results.map(resultToWire) };
  } finally {
    await fx.cleanup();
  }
}

const scoreOf = (results: readonly WireResult[]): { passing: number; scored: number } => {
  const scored = results.filter((r) => r.scored && (r.status === 'STATUS_PASS' || r.status === 'STATUS_FAIL'));
  return { passing: scored.filter((r) => r.status === 'STATUS_PASS').length, scored: scored.length };
};

test('a node judged under CIS EKS counts under cis-eks-1.7: its findings, its row, the summary\'s compliance per benchmark, the node filter', (t) => withCollector(async (tc) => {
  const eks = await agentResults('cis-eks-1.7');
  const cis = await agentResults(CIS_KUBERNETES.name);
  const [a, b, c] = await Promise.all(['node-eks', 'node-cis', 'node-old'].map((n) => connect(tc, n)));
  const at = Date.now();
  await a!.scan(at, eks.scope, eks.results, 'cis-eks-1.7');
  await b!.scan(at, cis.scope, cis.results, 'cis-1.12');
  // An agent up to 0.2.x: no benchmark named, no references.
  await c!.scan(at, ['cis-4.2.1'], [result('cis-4.2.1', 'kubelet/--anonymous-auth', 'fail')], '');

  // The EKS node's finding for anonymous auth carries EKS's control first, then the same CIS control.
  const anon = (await ok(tc, `/api/v1/findings/${fp('node-eks', 'cis-4.2.1', 'kubelet/--anonymous-auth')}`));
  t.deepEqual(anon.references, ['cis-eks-1.7:3.2.1', 'cis-1.12:4.2.1']);
  t.is(anon.title, 'Kubelet refuses anonymous requests');
  t.regex(anon.remediation, /launch template/);
  t.deepEqual((await ok(tc, `/api/v1/findings/${fp('node-cis', 'cis-4.2.1', 'kubelet/--anonymous-auth')}`)).references, ['cis-1.12:4.2.1']);
  t.deepEqual((await ok(tc, `/api/v1/findings/${fp('node-old', 'cis-4.2.1', 'kubelet/--anonymous-auth')}`)).references, ['cis-1.12:4.2.1']);

  const nodes = (await ok(tc, '/api/v1/nodes')).items.filter((n: any) => n.source === 'agent');
  t.deepEqual(nodes.map((n: any) => [n.name, n.benchmark]), [['node-cis', 'cis-1.12'], ['node-eks', 'cis-eks-1.7'], ['node-old', 'cis-1.12']]);

  const s = await ok(tc, '/api/v1/summary');
  const e = scoreOf(eks.results);
  const k = scoreOf(cis.results);
  t.true(e.scored > 0 && k.scored > 0);
  // EKS judges the kubelet's 0644 kubeconfig and config file at 644: two more passes than CIS's 600.
  t.true(e.passing > k.passing, `EKS ${JSON.stringify(e)} vs CIS ${JSON.stringify(k)}`);
  const ratio = (p: number, n: number): number => Math.round((p / n) * 1000) / 1000;
  t.deepEqual(s.compliance.byBenchmark, [
    { benchmark: 'cis-1.12', nodes: 2, passing: k.passing, scored: k.scored + 1, score: ratio(k.passing, k.scored + 1) },
    { benchmark: 'cis-eks-1.7', nodes: 1, passing: e.passing, scored: e.scored, score: ratio(e.passing, e.scored) },
  ]);
  t.is(s.compliance.passing, e.passing + k.passing);

  const onlyEks = await ok(tc, '/api/v1/nodes?benchmark=cis-eks-1.7');
  t.deepEqual(onlyEks.items.map((n: any) => n.name), ['node-eks'], 'nodes no agent reported are left out by the filter');
  t.deepEqual((await ok(tc, '/api/v1/nodes?benchmark=cis-gke-1.8')).items, []);
  const bad = await api(tc, '/api/v1/nodes?benchmark=CIS%20EKS');
  t.is(bad.status, 400);
  t.regex(bad.text, /benchmark/);

  // The query CLI: the column, the filter, the summary's lines per benchmark.
  const tokenFile = join(tc.dir, 'benchmarks-reader.token');
  await writeFile(tokenFile, READER_TOKEN);
  const env = { NODEWARD_URL: tc.apiUrl, NODEWARD_TOKEN_FILE: tokenFile, NODEWARD_CA_FILE: tc.pki.caCert };
  const listed = await runNodeward(['query', 'nodes', '--benchmark', 'cis-eks-1.7'], env);
  t.is(listed.code, 0, listed.stderr);
  const rows = listed.stdout.trimEnd().split('\n');
  t.regex(rows[0] ?? '', /\bBENCHMARK\b/);
  t.deepEqual(rows.slice(1).map((l) => l.split(/\s{2,}/).slice(0, 1).concat(l.split(/\s{2,}/).slice(3, 4))), [['node-eks', 'cis-eks-1.7']]);
  t.is((await runNodeward(['query', 'nodes', '--benchmark', 'rke2-cis-1.8'], env)).stdout, 'No node is judged under rke2-cis-1.8.\n');
  const summary = await runNodeward(['query', 'summary'], env);
  t.is(summary.code, 0, summary.stderr);
  t.regex(summary.stdout, /\n {2}cis-1\.12: \d+(\.\d)?% \(\d+ of \d+ on 2 nodes\)\n {2}cis-eks-1\.7: \d+(\.\d)?% \(\d+ of \d+ on 1 node\)\n/);
  [a, b, c].forEach((x) => x!.close());
}, { nodes: ['node-eks', 'node-cis', 'node-old', 'node-idle'] }));

test('a scan report whose benchmark is not a benchmark name is refused, and nothing of it is stored', (t) => withCollector(async (tc) => {
  const a = await connect(tc, 'node-a');
  await t.throwsAsync(a.scan(Date.now(), ['cis-4.2.1'], [result('cis-4.2.1', 'kubelet/--anonymous-auth', 'fail')], 'CIS EKS!'), { message: /not a benchmark name/ });
  t.is((await api(tc, `/api/v1/findings/${fp('node-a', 'cis-4.2.1', 'kubelet/--anonymous-auth')}`)).status, 404);
  a.close();
}));

// SQLite's alone: a SQLite migration over a file made by the migrations before it (PostgreSQL's
// schema starts at the current one: pg-schema-parity).
test('migration 023: nodes that reported results before it were judged under cis-1.12; a node without results has no benchmark yet', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-m023-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'nodeward.db');
  const db = new Database(path);
  db.pragma('foreign_keys = ON');
  for (const m of MIGRATIONS.filter((x) => x.version <= 22)) {
    db.exec(m.sql);
    m.run?.(db);
  }
  db.pragma('user_version = 22');
  const node = db.prepare('INSERT INTO nodes (name, first_seen, last_seen) VALUES (?, ?, ?)');
  node.run('judged', 1, 2);
  node.run('silent', 1, 2);
  db.prepare("INSERT INTO node_results (node, check_id, subject, status, severity, scored, evaluated_at) VALUES ('judged', 'cis-4.2.1', 's', 'pass', 'high', 1, 2)").run();
  db.close();
  const store = openStore({ path });
  try {
    const rows = (await store.nodes.list(3, 60_000)).items.map((n) => [n.name, n.benchmark]);
    t.deepEqual(rows, [['judged', 'cis-1.12'], ['silent', '']]);
    t.deepEqual(await store.nodes.byBenchmark(), [{ benchmark: 'cis-1.12', nodes: 1, scoredPassing: 0, scored: 0 }]);
  } finally {
    await store.close();
  }
});

test('property: a report\'s benchmark is a benchmark name (kept), none (cis-1.12), or refused with InvalidMessage naming it, never another error', async (t) => {
  const counts = { kept: 0, none: 0, refused: 0 };
  const name = fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,31}$/);
  const anything = fc.oneof(fc.string({ maxLength: 80 }), fc.string({ unit: 'binary', maxLength: 80 }), fc.constantFrom('CIS-1.12', 'cis 1.12', 'a'.repeat(33), '-x', 'cis-eks-1.7:3.2.1'));
  await checkProperty(t, fc.property(fc.oneof(name, fc.constant(''), anything), (benchmark) => {
    const body = { sequence: 1, node: '', scannedAtMs: NOW.getTime(), benchmark, scope: [], results: [], trigger: 'periodic' } as unknown as ScanReport__Output;
    try {
      const got = scanFromWire(body, 'node-a', 'epoch', NOW.getTime()).benchmark;
      if (benchmark === '') {
        counts.none++;
        return got === 'cis-1.12';
      }
      counts.kept++;
      return got === benchmark && BENCHMARK_NAME.test(got);
    } catch (err) {
      counts.refused++;
      return err instanceof InvalidMessage && /scanReport\.benchmark/.test(err.message) && !BENCHMARK_NAME.test(benchmark);
    }
  }), 2000);
  t.true(counts.kept > 100 && counts.none > 10 && counts.refused > 100, JSON.stringify(counts));
});
