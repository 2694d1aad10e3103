// Nodes: the inventory from hellos and heartbeats, and staleness: an agent that goes silent
// raises its own finding, which resolves when the agent comes back.
import test from 'ava';
import { eventually } from '../helpers/https.js';
import { api, connect, fp, ok, proc, result, withCollector } from '../helpers/agent-session.js';

const FAST = { 'nodes.staleAfterSeconds': 4, 'maintenance.intervalSeconds': 1 };

test('a silent agent makes its node stale and raises agent-stale; the agent coming back resolves it', (t) => withCollector(async (tc) => {
  const staleId = fp('node-a', 'agent-stale', 'node-a');
  const a = await connect(tc, 'node-a');
  await a.batch([proc('/usr/bin/nc')]);
  // node-b keeps heartbeating throughout and must never go stale.
  const b = await connect(tc, 'node-b');
  await b.batch([proc('/usr/bin/true')]);
  const beat = setInterval(() => b.heartbeat(), 200);
  t.teardown(() => clearInterval(beat));
  a.close();

  const raised = await eventually('agent-stale to be raised for node-a', async () => {
    const res = await api(tc, `/api/v1/findings/${staleId}`);
    return res.status === 200 ? res.body : undefined;
  }, 30_000, 250);
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
  const again = await eventually('agent-stale to reopen', async () => {
    const f = await ok(tc, `/api/v1/findings/${staleId}`);
    return f.state === 'open' ? f : undefined;
  }, 30_000, 250);
  t.is(again.count, 2);
  t.deepEqual(again.history.map((h: any) => h.event), ['reopened', 'resolved', 'opened']);
  t.is(tc.collector.metrics.get('nodeward_nodes_went_stale_total'), 2);
  b.close();
}, { overrides: FAST }));

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
