// An agent that cannot reach its collector says so: a real collector and a real agent as
// separate OS processes, the agent trusting another CA (as after a CA rotation it missed). It
// warns once with the reason and what to check, its health endpoint's /status shows the
// problem, and it stays ready (readiness is about the node's scans, not the collector). Given
// the right CA, it connects and the problem clears.
import test from 'ava';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initPki } from '../../collector/pki/pki.js';
import { prepareFixture } from '../helpers/fixture.js';
import { eventually } from '../helpers/https.js';
import { startCollectorProcess, startNodeward, type NodewardProcess } from '../helpers/process.js';

const NODE = 'node-a';

interface Status { status: string; ready: boolean; collector: { connected: boolean; address: string; problem: { problem: string; detail: string; hint: string; attempts: number } | null } }

test('an agent that trusts another CA warns why, shows it in /status, stays ready; with the right CA the problem clears', async (t) => {
  t.timeout(120_000);
  const fixture = await prepareFixture('insecure-worker');
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-unreachable-'));
  const running: NodewardProcess[] = [];
  t.teardown(async () => {
    await Promise.all(running.map((p) => p.kill('SIGKILL')));
    await fixture.cleanup();
    await rm(dir, { recursive: true, force: true });
  });
  const pki = await initPki(join(dir, 'pki'), { nodes: [NODE], collectorHosts: ['localhost', '127.0.0.1'] });
  const stale = await initPki(join(dir, 'stale-pki'), { nodes: [NODE], collectorHosts: ['localhost'] });
  const { grpcPort } = await startCollectorProcess({ dir, pki, adminToken: 'e2e-admin-token-0123456789abcdef', running });

  const agentConfig = (caFile: string) => JSON.stringify({
    node: NODE, hostRoot: fixture.root, procRoot: fixture.procRoot, stateDir: join(dir, 'agent-state'),
    collector: { address: `localhost:${grpcPort}`, caFile, certFile: pki.agents[NODE]!.cert, keyFile: pki.agents[NODE]!.key, backoffBaseMs: 50, backoffMaxMs: 200 },
    scan: { intervalSeconds: 0 }, watch: { enabled: false }, processes: { enabled: false }, health: { port: 0 },
  });
  const configFile = join(dir, 'agent.yaml');
  await writeFile(configFile, agentConfig(stale.caCert));
  let agent = startNodeward(['agent', '--config', configFile]);
  running.push(agent);
  const healthPort = (await agent.waitFor((l) => l.msg === 'health endpoint listening')).port as number;
  const status = async (): Promise<Status> => (await fetch(`http://127.0.0.1:${healthPort}/status`)).json() as Promise<Status>;

  const warned = await agent.waitFor((l) => l.msg === 'cannot reach the collector', { timeoutMs: 30_000 });
  t.is(warned.level, 'warn', 'at warn');
  t.is(warned.problem, 'TLS_UNKNOWN_CA');
  t.regex(String(warned.hint), /CA bundle/);
  const st = await eventually('the problem in /status', async () => {
    const s = await status();
    return s.collector.problem && s.collector.problem.attempts >= 3 ? s : undefined;
  }, 30_000);
  t.like(st, { status: 'ok', ready: true, collector: { connected: false, address: `localhost:${grpcPort}`, problem: { problem: 'TLS_UNKNOWN_CA' } } });
  t.is((await fetch(`http://127.0.0.1:${healthPort}/readyz`)).status, 200, 'ready: it scans the node, and keeps what it finds');
  t.is(agent.count((l) => l.msg === 'cannot reach the collector'), 1, 'one warning for one lasting problem, however many retries');

  // The right CA: it connects, and the problem clears.
  await agent.kill('SIGTERM');
  await writeFile(configFile, agentConfig(pki.caCert));
  agent = startNodeward(['agent', '--config', configFile]);
  running.push(agent);
  const port2 = (await agent.waitFor((l) => l.msg === 'health endpoint listening')).port as number;
  const ok = await eventually('connected', async () => {
    const s = (await (await fetch(`http://127.0.0.1:${port2}/status`)).json()) as Status;
    return s.collector.connected ? s : undefined;
  }, 30_000);
  t.is(ok.collector.problem, null);
  t.is(agent.count((l) => l.msg === 'cannot reach the collector'), 0);
});
