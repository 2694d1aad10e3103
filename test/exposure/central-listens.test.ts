// Listen sets across nodes, end to end with real sockets: agents (agent/main.ts) scanning this
// machine, a real collector over mTLS, the API over HTTPS. The baseline is `host/worker` (the
// test's own sockets are a host process's; the agents' role is pinned). node-a learns for a
// few seconds and its lock locks the central baseline; node-b, which would learn for a day,
// adopts it with its listen set: a socket opened before node-a learned passes on node-b, a
// new one is exposure-new-listener there. An operator allows the new one (literally, then a
// third by its address class): the findings resolve, saying who allowed them, and stay so.
import test from 'ava';
import { createServer, type Server } from 'node:net';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadAgentConfig } from '../../agent/config.js';
import { createAgent } from '../../agent/main.js';
import { createLogger } from '../../proto/support/logger.js';
import { fingerprint } from '../../proto/fingerprint.js';
import { ADMIN_TOKEN, startTestCollector, type TestCollector } from '../helpers/collector.js';
import { eventually, httpsJson } from '../helpers/https.js';
import { HOST_WORKER, tempDir, waitFor } from '../processes/helpers.js';

const CHECK = 'exposure-new-listener';

interface ApiBaseline { key: string; state: string; version: number; listens: Array<{ listen: string; source: string; firstNode: string }> }
interface ApiFinding { id: string; node: string; state: string; history: Array<{ event: string; note: string }> }

function startAgent(t: import('ava').ExecutionContext, tc: TestCollector, node: string, stateDir: string, hostLearnSeconds: number) {
  const pki = tc.pki.agents[node]!;
  const config = loadAgentConfig({
    env: {},
    overrides: {
      node, stateDir, 'collector.address': tc.grpcAddress, 'collector.caFile': tc.pki.caCert, 'collector.certFile': pki.cert,
      'collector.keyFile': pki.key, 'collector.heartbeatSeconds': 1, 'health.port': 0, 'scan.intervalSeconds': 1,
      'scan.checks': [CHECK], 'watch.enabled': false, 'processes.execEvents': false, 'processes.scanIntervalSeconds': 0.2,
      'processes.hostLearnSeconds': hostLearnSeconds, 'processes.hostRole': 'worker',
    },
  }, { needCollector: true });
  const agent = createAgent(config, { version: 'test', log: createLogger('agent', 'silent') });
  t.teardown(() => agent.stop());
  return agent;
}

async function listen(t: import('ava').ExecutionContext): Promise<number> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as { port: number }).port;
}

test.serial("a node adopting a locked baseline takes its listen set: a listen inside passes, a new one is a finding; an operator's allow resolves it", async (t) => {
  t.timeout(120_000);
  const tc = await startTestCollector({ nodes: ['node-a', 'node-b'] });
  t.teardown(() => tc.close());
  const dir = await tempDir('central-listens');
  t.teardown(dir.cleanup);
  const call = <T>(path: string, opts: { method?: string; body?: unknown } = {}) => httpsJson<T>(`${tc.apiUrl}${path}`, { ca: tc.ca, token: ADMIN_TOKEN, ...opts });
  const host = async (): Promise<ApiBaseline | undefined> => (await call<{ items: ApiBaseline[] }>(`/api/v1/baselines?key=${encodeURIComponent(HOST_WORKER)}`)).body.items[0];
  const finding = async (node: string, port: number): Promise<ApiFinding | undefined> => {
    const r = await call<ApiFinding>(`/api/v1/findings/${fingerprint(node, CHECK, `${HOST_WORKER}:tcp/127.0.0.1:${port}`)}`);
    return r.status === 200 ? r.body : undefined;
  };
  const open = (node: string, port: number) => eventually(`${node}'s finding for port ${port}`, async () => {
    const f = await finding(node, port);
    return f?.state === 'open' ? f : undefined;
  }, 30_000);

  const inside = await listen(t);
  const a = startAgent(t, tc, 'node-a', join(dir.path, 'a'), 4);
  await a.start();
  const central = await eventually('the central host baseline locked with its listens', async () => {
    const b = await host();
    return b?.state === 'locked' && b.listens.some((l) => l.listen === `tcp/127.0.0.1:${inside}`) ? b : undefined;
  }, 60_000);
  t.like(central.listens.find((l) => l.listen === `tcp/127.0.0.1:${inside}`), { source: 'learned', firstNode: 'node-a' });
  await a.stop();

  // node-b would learn for a day; it adopts the baseline and its listens instead.
  const b = startAgent(t, tc, 'node-b', join(dir.path, 'b'), 86_400);
  await b.start();
  const m = b.processes!;
  await waitFor('node-b to adopt', () => {
    const hb = m.snapshot().baselines.find((x) => x.key === HOST_WORKER);
    return hb && hb.version >= central.version && hb.lockedAtMs !== null ? hb : undefined;
  }, 30_000);
  const listensOfB = async (): Promise<string[]> => {
    const doc = JSON.parse(await readFile(join(dir.path, 'b', 'listens.json'), 'utf8')) as { keys: Record<string, { items: string[] }> };
    return doc.keys[HOST_WORKER]?.items ?? [];
  };
  t.true((await waitFor('the adopted listen set saved', async () => ((await listensOfB().catch(() => [])).length > 0 ? listensOfB() : undefined), 30_000))
    .includes(`tcp/127.0.0.1:${inside}`));

  const outside = await listen(t);
  const f = await open('node-b', outside);
  t.is(await finding('node-b', inside), undefined, 'the listen node-a learned raises nothing on node-b (judged in the same scan)');

  // An operator allows it: the finding resolves at once, saying who and what.
  const allowed = await call<{ listen: string; pushed: number; baseline: ApiBaseline }>('/api/v1/baselines/allow-listen', {
    method: 'POST', body: { key: HOST_WORKER, listen: `tcp/127.0.0.1:${outside}` },
  });
  t.is(allowed.status, 200, allowed.text);
  t.is(allowed.body.pushed, 1);
  t.like(allowed.body.baseline.listens.find((l) => l.listen === `tcp/127.0.0.1:${outside}`), { source: 'operator', firstNode: 'admin' });
  const resolved = (await finding('node-b', outside))!;
  t.is(resolved.id, f.id);
  t.is(resolved.state, 'resolved');
  t.like(resolved.history[0], { event: 'resolved', note: `allowed by admin: tcp/127.0.0.1:${outside}` });

  // A third, allowed by its address class (loopback): resolved through node-b's latest scan.
  const third = await listen(t);
  await open('node-b', third);
  const byClass = await call('/api/v1/baselines/allow-listen', { method: 'POST', body: { key: HOST_WORKER, listen: `tcp/loopback:${third}` } });
  t.is(byClass.status, 200, byClass.text);
  t.like((await finding('node-b', third))!.history[0], { event: 'resolved', note: `allowed by admin: tcp/loopback:${third}` });

  // node-b holds both allows; a scan after that judges both listens as allowed (they stay resolved).
  await waitFor('node-b to hold the allows', async () => {
    const held = await listensOfB();
    return held.includes(`tcp/127.0.0.1:${outside}`) && held.includes(`tcp/loopback:${third}`) ? true : undefined;
  }, 30_000);
  const since = Date.now();
  await eventually('a scan of node-b after the allows', async () => {
    const n = await call<{ exposure: { scannedAt: string } | null }>('/api/v1/nodes/node-b');
    return n.body.exposure !== null && Date.parse(n.body.exposure.scannedAt) > since + 100 ? true : undefined;
  }, 30_000);
  t.is((await finding('node-b', outside))!.state, 'resolved');
  t.is((await finding('node-b', third))!.state, 'resolved');
  // node-b reports its baseline again after each update it applied: an address class's
  // entry is the operator's, not a listen it learned, and does not go back (it would refuse the report).
  const nodeB = (await call<{ baselineReportsRefused: number }>('/api/v1/nodes/node-b')).body;
  t.is(nodeB.baselineReportsRefused, 0);
});
