// `npm start -- --demo` (issue 17): demo nodes next to this machine's, each a real agent (its
// own certificate, mTLS stream, spool and state) scanning a fixture host tree; labelled demo in
// the API and `nodeward query nodes`; a real triage (critical, high, passing); the local node's
// host learning window in the API and the CLI; every agent started with the agent image's
// Node.js options and environment; and on SIGTERM everything stops. Real processes.
import test from 'ava';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { eventually } from '../helpers/https.js';
import { runNodeward } from '../helpers/process.js';
import { processesMentioning, startDev } from '../helpers/dev-process.js';
import { DEMO_NODE_NAMES } from '../../bin/demo.js';
import { AGENT_NODE_ARGS, AGENT_RUNTIME_ENV } from '../../agent/runtime-env.js';

interface NodeLike {
  name: string; demo: boolean; execSource: string; openFindings: number; connected: boolean;
  results: { pass: number; fail: number; warn: number; skip: number; error: number };
  hostLearning: { key: string; state: string; until: string | null; lockedBy: string } | null;
}

const scanned = (n: NodeLike | undefined): boolean => n !== undefined && n.results.pass + n.results.fail + n.results.warn + n.results.skip > 0;

test('npm start -- --demo: demo nodes stream a real triage, labelled demo; the local learning window is shown; SIGTERM stops every process', async (t) => {
  const dev = await startDev(t, ['--demo']);
  const node = /is running on this machine \(node ([^)]+)\)/.exec(dev.stdout())![1]!;
  for (const name of DEMO_NODE_NAMES) t.regex(dev.stdout(), new RegExp(`^  ${name} `, 'm'), `the start-up message lists ${name}`);
  t.regex(dev.stdout(), /To remove them \(docs\/demo.md\): stop/);

  const nodes = await eventually('every node scanned (and the local learning window reported)', async () => {
    const page = await dev.get<{ items: NodeLike[] }>('/api/v1/nodes').catch(() => undefined);
    const by = new Map((page?.items ?? []).map((n) => [n.name, n]));
    const all = [node, ...DEMO_NODE_NAMES].map((n) => by.get(n));
    return all.every(scanned) && by.get(node)!.hostLearning ? by : undefined;
  }, 120_000, 500);

  // Labelled: demo nodes and only them.
  t.deepEqual([...nodes.values()].filter((n) => n.demo).map((n) => n.name), [...DEMO_NODE_NAMES]);
  t.false(nodes.get(node)!.demo);
  for (const name of DEMO_NODE_NAMES) {
    const n = nodes.get(name)!;
    t.true(n.connected, `${name} streams`);
    t.is(n.execSource, '', `${name} watches no processes`);
    t.is(n.hostLearning, null, `${name} has no host baseline`);
    t.is(n.results.error, 0, `${name}: every check could be judged (its PKI is real)`);
  }
  t.true(nodes.get('demo-worker-2')!.results.pass > 30 && nodes.get('demo-worker-2')!.results.fail <= 1, 'a node that passes');
  t.true(nodes.get('demo-control-plane')!.results.pass > 100, 'most control-plane checks pass');

  // A real triage on the demo nodes: critical first, several high, passes elsewhere.
  const findings = await eventually('the demo findings', async () => {
    const all: Array<{ node: string; checkId: string; subject: string; severity: string; state: string }> = [];
    for (const name of DEMO_NODE_NAMES) all.push(...(await dev.get(`/api/v1/findings?node=${name}&state=open&limit=500`)).items);
    return all.some((f) => f.severity === 'critical') ? all : undefined;
  }, 60_000, 500);
  const bySeverity = (s: string) => findings.filter((f) => f.severity === s);
  t.log(`demo open findings: ${['critical', 'high', 'medium', 'low', 'info'].map((s) => `${bySeverity(s).length} ${s}`).join(', ')}`);
  t.deepEqual(bySeverity('critical').map((f) => `${f.node} ${f.checkId} ${f.subject}`).sort(), [
    'demo-control-plane cert-expiry /etc/kubernetes/pki/apiserver.crt',
    'demo-worker-1 cis-4.2.2 kubelet/--authorization-mode',
  ]);
  t.true(bySeverity('high').length >= 4, `several high (${bySeverity('high').length})`);
  // The defaults worker has nothing open (its kubelet, 1.35, goes out of support on 2027-02-28 by
  // the agent's release table; the demo then shows that too).
  t.deepEqual(findings.filter((f) => f.node === 'demo-worker-2' && f.checkId !== 'k8s-version-supported'), [], 'the defaults worker has nothing open');

  // Their own state, apart from the local agent's; their own certificates.
  for (const name of DEMO_NODE_NAMES) {
    t.true(readdirSync(join(dev.data, 'demo', name, 'state')).length > 0, `${name} keeps its spool in its own state dir`);
    t.true(existsSync(join(dev.data, 'pki', 'agents', `${name}.crt`)));
  }
  const collectorLog = readFileSync(join(dev.data, 'collector.log'), 'utf8');
  for (const name of [node, ...DEMO_NODE_NAMES]) t.true(collectorLog.includes(`"node":"${name}"`) && /"agent connected"/.test(collectorLog), `${name} connected`);

  // The local node's learning window, in the API and in `nodeward query nodes`.
  const local = nodes.get(node)!;
  t.is(local.hostLearning!.state, 'learning');
  const table = await runNodeward(['query', 'nodes', ...dev.queryFlags()]);
  t.is(table.code, 0, table.stderr);
  t.log(table.stdout);
  const rows = table.stdout.trimEnd().split('\n');
  t.regex(rows[0]!, /\bHOST LEARNING\b/);
  const row = (name: string): string => rows.find((l) => l.startsWith(`${name} `)) ?? '';
  t.true(row(node).includes(`until ${local.hostLearning!.until!.replace(/\.\d{3}Z$/, 'Z')}`), row(node));
  for (const name of DEMO_NODE_NAMES) t.regex(row(name), /connected \(demo\)/);
  const json = JSON.parse((await runNodeward(['query', 'nodes', '-o', 'json', ...dev.queryFlags()])).stdout) as { items: NodeLike[] };
  t.like(json.items.find((n) => n.name === node)!.hostLearning, { key: local.hostLearning!.key, state: 'learning', until: local.hostLearning!.until, lockedBy: '' });

  // The console: the demo triage, once every demo node is in.
  await eventually('the demo triage line', () => (dev.stdout().includes('Demo triage on 3 demo nodes') ? true : undefined), 60_000);
  t.regex(dev.stdout(), /Demo triage on 3 demo nodes \(demo-control-plane, demo-worker-1, demo-worker-2\): 2 critical, \d+ high/);

  // Every agent, the demo nodes' as this machine's, starts as the agent image starts it: with
  // its V8 options and its runtime environment (agent/runtime-env.ts).
  const agents = (await processesMentioning(dev.data)).filter((p) => / agent --config \S+\.yaml$/.test(p.cmdline));
  t.is(agents.length, 1 + DEMO_NODE_NAMES.length, agents.map((p) => p.cmdline).join('\n'));
  for (const p of agents) {
    const argv = readFileSync(`/proc/${p.pid}/cmdline`, 'utf8').split('\0');
    t.deepEqual(argv.slice(1, 1 + AGENT_NODE_ARGS.length), [...AGENT_NODE_ARGS], p.cmdline);
    const environ = readFileSync(`/proc/${p.pid}/environ`, 'utf8').split('\0');
    for (const [k, v] of Object.entries(AGENT_RUNTIME_ENV)) t.true(environ.some((e) => e.startsWith(`${k}=${v}`)), `${p.cmdline}: ${k}=${v}`);
  }

  // SIGTERM: everything this run started ends, and dev exits 0.
  t.true((await processesMentioning(dev.data)).length >= 5, 'the collector, the local agent and three demo agents run');
  t.is(await dev.stop('SIGTERM'), 0);
  const left = await eventually('every child to end', async () => {
    const p = await processesMentioning(dev.data);
    return p.length === 0 ? p : undefined;
  }, 30_000, 200);
  t.deepEqual(left, []);
  for (const name of DEMO_NODE_NAMES) {
    // The log is JSON lines, level names included: the stop is one of them, not a line of plain text.
    const lines = readFileSync(join(dev.data, 'demo', name, 'agent.log'), 'utf8').split('\n').filter((l) => l.trim() !== '');
    const parsed = lines.map((l) => { try { return JSON.parse(l) as Record<string, unknown>; } catch { return l; } });
    t.deepEqual(parsed.filter((l) => typeof l === 'string'), [], `${name}: every line of agent.log is JSON`);
    t.like(parsed.find((l) => typeof l === 'object' && l.msg === 'SIGTERM, stopping'), { level: 'info', name: 'agent', signal: 'SIGTERM' }, name);
  }

  // Removing the demo data as docs/demo.md says: without --demo, the demo nodes are still
  // listed (and labelled) but not connected, and `nodeward node delete` removes them.
  const again = await startDev(t, [], { data: dev.data });
  const left2 = await again.get<{ items: NodeLike[] }>('/api/v1/nodes');
  t.deepEqual(left2.items.filter((n) => n.demo).map((n) => [n.name, n.connected]), DEMO_NODE_NAMES.map((n) => [n, false]));
  t.deepEqual(await processesMentioning(join(dev.data, 'demo')), [], 'no demo agent runs');
  for (const name of DEMO_NODE_NAMES) {
    const r = await runNodeward(['node', 'delete', name, ...again.queryFlags()]);
    t.is(r.code, 0, r.stderr);
    t.regex(r.stdout, new RegExp(`^${name}: deleted; \\d+ findings? resolved`));
  }
  t.deepEqual((await again.get<{ items: NodeLike[] }>('/api/v1/nodes')).items.map((n) => n.name), [node]);
  t.is((await again.get('/api/v1/findings?state=open&node=demo-worker-1')).items.length, 0);
  t.is(await again.stop('SIGINT'), 0);
});
