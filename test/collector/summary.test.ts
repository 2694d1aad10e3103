// GET /api/v1/summary: counts by severity, category and node, the checks failing on the most
// nodes, and compliance per node and cluster-wide. Seeded through the real gRPC path.
import test from 'ava';
import { ADMIN_TOKEN } from '../helpers/collector.js';
import { api, connect, fp, ok, proc, result, withCollector } from '../helpers/agent-session.js';

test('the summary counts open findings by severity, category and node, ranks checks by nodes failing, and scores compliance', (t) => withCollector(async (tc) => {
  const now = Date.now();
  const [a, b, c] = await Promise.all(['node-a', 'node-b', 'node-c'].map((n) => connect(tc, n)));
  await a!.scan(now, ['cis-4.2.1', 'cis-4.2.2', 'cis-1.1.1'], [
    result('cis-4.2.1', '--anonymous-auth', 'fail', { severity: 'critical', title: 'Anonymous auth is off' }),
    result('cis-4.2.2', '--authorization-mode', 'pass'),
    result('cis-1.1.1', '/etc/kubernetes/manifests/kube-apiserver.yaml', 'warn', { severity: 'medium', category: 'host', scored: false }),
  ]);
  await a!.batch([proc('/usr/bin/nc', { severity: 'high' })]);
  await b!.scan(now, ['cis-4.2.1', 'cis-4.2.2', 'cis-4.2.6'], [
    result('cis-4.2.1', '--anonymous-auth', 'fail', { severity: 'high' }),
    result('cis-4.2.2', '--authorization-mode', 'fail', { severity: 'medium' }),
    result('cis-4.2.6', '--protect-kernel-defaults', 'fail', { severity: 'low' }),
  ]);
  await b!.batch([proc('/usr/bin/nc', { severity: 'medium' })]);
  await c!.scan(now, ['cis-4.2.1', 'cis-4.2.2'], [
    result('cis-4.2.1', '--anonymous-auth', 'fail', { severity: 'high' }),
    result('cis-4.2.2', '--authorization-mode', 'pass'),
  ]);

  const s = await ok(tc, '/api/v1/summary');
  t.is(s.state, 'open');
  t.deepEqual(s.nodes, { total: 3, connected: 3, stale: 0 });
  t.deepEqual(s.findings.bySeverity, { critical: 1, high: 3, medium: 3, low: 1, info: 0 });
  t.is(s.findings.total, 8);
  t.deepEqual(s.findings.byCategory, { host: 1, kubelet: 5, process: 2 });
  t.deepEqual(s.byNode.map((n: any) => [n.node, n.total, n.bySeverity.critical, n.bySeverity.high]), [
    ['node-a', 3, 1, 1], ['node-b', 4, 0, 1], ['node-c', 1, 0, 1],
  ], 'worst first: critical, then high, then total');
  t.deepEqual(s.topChecks.map((x: any) => [x.checkId, x.nodes, x.findings]), [
    ['cis-4.2.1', 3, 3], ['proc-unexpected', 2, 2], ['cis-4.2.2', 1, 1], ['cis-4.2.6', 1, 1],
  ], 'warnings are not failures; ties break by findings, then check id');
  t.like(s.topChecks[0], { severity: 'critical', title: 'Anonymous auth is off', category: 'kubelet' });
  // Passing scored / scored judged, summed over the nodes: a 1/2, b 0/3, c 1/2.
  t.deepEqual(s.compliance, { score: 0.286, passing: 2, scored: 7, byBenchmark: [{ benchmark: 'cis-1.12', nodes: 3, score: 0.286, passing: 2, scored: 7 }] });
  const nodes = (await ok(tc, '/api/v1/nodes')).items.map((n: any) => [n.name, n.complianceScore]);
  t.deepEqual(nodes, [['node-a', 0.5], ['node-b', 0], ['node-c', 0.5]]);

  // A fix on node-b moves both its score and the cluster's.
  await b!.scan(now + 1000, ['cis-4.2.2'], [result('cis-4.2.2', '--authorization-mode', 'pass')]);
  const fixed = await ok(tc, '/api/v1/summary');
  t.deepEqual(fixed.compliance, { score: 0.429, passing: 3, scored: 7, byBenchmark: [{ benchmark: 'cis-1.12', nodes: 3, score: 0.429, passing: 3, scored: 7 }] });
  t.is(fixed.findings.bySeverity.medium, 2);
  t.like(await ok(tc, '/api/v1/nodes/node-b'), { complianceScore: 0.333, failingChecks: 2 });

  // Other states, and the size of the rankings.
  const sup = await api(tc, `/api/v1/findings/${fp('node-b', 'cis-4.2.6', '--protect-kernel-defaults')}/suppress`, { method: 'POST', token: ADMIN_TOKEN, body: { reason: 'r' } });
  t.is(sup.status, 200);
  const suppressed = await ok(tc, '/api/v1/summary?state=suppressed');
  t.deepEqual(suppressed.findings.bySeverity, { critical: 0, high: 0, medium: 0, low: 1, info: 0 });
  t.deepEqual(suppressed.byNode.map((n: any) => n.node), ['node-b']);
  t.is((await ok(tc, '/api/v1/summary?state=open')).findings.bySeverity.low, 0);
  const resolved = await ok(tc, '/api/v1/summary?state=resolved');
  t.deepEqual(resolved.topChecks.map((x: any) => [x.checkId, x.nodes]), [['cis-4.2.2', 1]], 'in the resolved state: what was fixed on most nodes');
  t.is(resolved.findings.total, 1);
  const top1 = await ok(tc, '/api/v1/summary?top=1');
  t.is(top1.byNode.length, 1);
  t.is(top1.topChecks.length, 1);
  [a, b, c].forEach((x) => x!.close());
}, { nodes: ['node-a', 'node-b', 'node-c'] }));

test('an empty collector summarises to zeroes and a null score; bad parameters are 400', (t) => withCollector(async (tc) => {
  const s = await ok(tc, '/api/v1/summary');
  t.deepEqual(s.findings, { total: 0, bySeverity: { critical: 0, high: 0, medium: 0, low: 0, info: 0 }, byCategory: {} });
  t.deepEqual(s.compliance, { score: null, passing: 0, scored: 0, byBenchmark: [] });
  t.deepEqual(s.nodes, { total: 0, connected: 0, stale: 0 });
  t.deepEqual([s.byNode, s.topChecks], [[], []]);
  for (const [q, param] of [['state=bogus', 'state'], ['top=0', 'top'], ['top=101', 'top'], ['top=x', 'top'], ['node=a', 'node']] as const) {
    const res = await api(tc, `/api/v1/summary?${q}`);
    t.is(res.status, 400, `${q}: ${res.text}`);
    t.true(String(res.body.error).includes(param), `${q}: ${res.body.error}`);
  }
  t.is((await api(tc, '/api/v1/summary', { token: null })).status, 401);
}));
