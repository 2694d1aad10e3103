// Central baselines end to end with real processes: agents (agent/main.ts) scanning this
// machine, a real collector over mTLS, the API over HTTPS. The baseline is `host/worker` (these
// processes run outside containers; the agents' role is pinned, since other tests run etcd on
// this machine); learning windows are one second where a lock is wanted.
import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadAgentConfig } from '../../agent/config.js';
import { createAgent } from '../../agent/main.js';
import { createLogger } from '../../proto/support/logger.js';
import { fingerprint } from '../../proto/fingerprint.js';
import { ADMIN_TOKEN, startTestCollector, type TestCollector } from '../helpers/collector.js';
import { eventually, httpsJson } from '../helpers/https.js';
import { freshBinary, HOST_WORKER, tempDir, waitFor } from './helpers.js';

interface ApiBaseline {
  key: string; state: string; lockedBy: string | null; lockedByName: string; version: number;
  items: Array<{ path: string; source: string; taughtBy: string[]; singleNode: boolean; digests: Array<{ sha256: string; source: string }> }>;
}
interface ApiFinding {
  id: string; node: string; state: string; count: number; detail: { exe: string; user: string; identity?: { sha256: string } };
  history: Array<{ event: string; note: string }>;
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

function startAgent(t: import('ava').ExecutionContext, tc: TestCollector, node: string, stateDir: string, hostLearnSeconds: number) {
  const pki = tc.pki.agents[node]!;
  const config = loadAgentConfig({
    env: {},
    overrides: {
      node, stateDir, 'collector.address': tc.grpcAddress, 'collector.caFile': tc.pki.caCert, 'collector.certFile': pki.cert,
      'collector.keyFile': pki.key, 'collector.heartbeatSeconds': 1, 'health.port': 0, 'scan.intervalSeconds': 0,
      'watch.enabled': false, 'processes.execEvents': false, 'processes.scanIntervalSeconds': 0.2,
      'processes.hostLearnSeconds': hostLearnSeconds, 'processes.hostRole': 'worker',
    },
  }, { needCollector: true });
  const agent = createAgent(config, { version: 'test', log: createLogger('agent', 'silent') });
  t.teardown(() => agent.stop());
  return agent;
}

/** A collector for `nodes`, temp dirs, two fresh copies of sleep, and the calls the tests make. */
async function setup(t: import('ava').ExecutionContext, name: string, nodes: string[]) {
  t.timeout(120_000);
  const tc = await startTestCollector({ nodes });
  t.teardown(() => tc.close());
  const dir = await tempDir(name);
  t.teardown(dir.cleanup);
  const bins = await tempDir(`${name}-bins`);
  t.teardown(bins.cleanup);
  const copies = [await freshBinary(bins.path, '/bin/sleep', `nw-${name}-1`), await freshBinary(bins.path, '/bin/sleep', `nw-${name}-2`)] as const;
  return { tc, dir: dir.path, bins: copies, h: helpers(t, tc) };
}

function helpers(t: import('ava').ExecutionContext, tc: TestCollector) {
  const children: ChildProcess[] = [];
  t.teardown(() => {
    for (const c of children) c.kill('SIGKILL');
  });
  const call = <T>(path: string, opts: { method?: string; body?: unknown } = {}) => httpsJson<T>(`${tc.apiUrl}${path}`, { ca: tc.ca, token: ADMIN_TOKEN, ...opts });
  const host = async (): Promise<ApiBaseline | undefined> => (await call<{ items: ApiBaseline[] }>(`/api/v1/baselines?key=${encodeURIComponent(HOST_WORKER)}`)).body.items[0];
  return {
    call,
    host,
    run(bin: string): void {
      children.push(spawn(bin, ['30'], { stdio: 'ignore' }));
    },
    /** Waits for an agent's window to end and its report to lock the central host baseline. */
    centralLocked(): Promise<ApiBaseline> {
      return eventually('the central host baseline locked', async () => {
        const b = await host();
        return b?.state === 'locked' ? b : undefined;
      }, 60_000);
    },
    async finding(node: string, bin: string, check = 'proc-unexpected'): Promise<ApiFinding | undefined> {
      const r = await call<ApiFinding>(`/api/v1/findings/${fingerprint(node, check, `${HOST_WORKER}:${bin}`)}`);
      return r.status === 200 ? r.body : undefined;
    },
  };
}

test.serial('the allow round trip: a finding opens, an admin allows the executable through the API, the finding resolves and the agent stops reporting it', async (t) => {
  const { tc, dir, bins: [bin, later], h } = await setup(t, 'central-allow', ['node-a']);
  const agent = startAgent(t, tc, 'node-a', join(dir, 'state'), 1);
  await agent.start();
  const m = agent.processes!;

  // The agent's window ends; its report locks the central baseline, which it adopts back.
  const central = await h.centralLocked();
  t.like(central, { lockedBy: 'node', lockedByName: 'node-a' });
  t.true(central.items.length > 0);
  t.true(central.items.every((i) => i.taughtBy.includes('node-a')));
  await waitFor('the adopted central baseline', () => (m.snapshot().baselines.find((b) => b.key === HOST_WORKER)?.version ?? 0) >= central.version, 30_000);

  h.run(bin);
  const open = await eventually('the finding', async () => {
    const f = await h.finding('node-a', bin);
    return f?.state === 'open' ? f : undefined;
  }, 30_000);
  t.is(open.detail.exe, bin);

  // The contents seen (the default): the finding carries what ran.
  const allowed = await h.call<{ pushed: number; version: number }>('/api/v1/baselines/allow', { method: 'POST', body: { key: HOST_WORKER, executables: [bin] } });
  t.is(allowed.status, 200, allowed.text);
  t.is(allowed.body.pushed, 1);
  const resolved = (await h.finding('node-a', bin))!;
  t.is(resolved.state, 'resolved', 'resolved by the allow itself');
  t.like(resolved.history[0], { event: 'resolved', note: 'allowed by admin' });
  await waitFor('the agent to apply the allow', () => m.snapshot().baselines.find((b) => b.key === HOST_WORKER)!.items[bin]?.source === 'operator', 30_000);
  t.is(m.baselineVersion, allowed.body.version);

  // It runs again and is judged; then an executable that is not allowed runs. Its finding
  // arriving means everything the agent sent before it has arrived too.
  h.run(bin);
  await m.scanNow();
  m.flush();
  h.run(later);
  await eventually('the later finding', () => h.finding('node-a', later), 30_000);
  const after = (await h.finding('node-a', bin))!;
  t.is(after.state, 'resolved');
  t.is(after.count, open.count);
  t.regex(await tc.collector.metrics.render(), /^nodeward_findings_ignored_total 0$/m, 'the agent sent nothing more for it (not even for the collector to ignore)');
  const host = (await h.host())!;
  t.like(host.items.find((i) => i.path === bin), { source: 'operator', taughtBy: [] });
});

test.serial('a learned binary replaced by rename is proc-modified-binary; allowing the contents seen resolves it, and its later runs are not reported', async (t) => {
  const { tc, dir, bins: [bin, later], h } = await setup(t, 'central-replace', ['node-a']);
  const agent = startAgent(t, tc, 'node-a', join(dir, 'state'), 1);
  h.run(bin); // running when the agent starts: learned by its first scan, with its content
  await agent.start();
  const m = agent.processes!;
  const central = await h.centralLocked();
  const learned = central.items.find((i) => i.path === bin);
  t.is(learned?.digests.length, 1, 'the content was learned with the path');
  await waitFor('the adopted central baseline', () => (m.snapshot().baselines.find((b) => b.key === HOST_WORKER)?.version ?? 0) >= central.version, 30_000);

  // A new build written beside it and renamed over it (a new inode, other content).
  const replaced = Buffer.concat([await readFile(bin), Buffer.from('\0rebuilt\0')]);
  await writeFile(`${bin}.new`, replaced, { mode: 0o755 });
  await rename(`${bin}.new`, bin);
  h.run(bin);
  const open = await eventually('the modified-binary finding', async () => {
    const f = await h.finding('node-a', bin, 'proc-modified-binary');
    return f?.state === 'open' ? f : undefined;
  }, 30_000);
  t.is(open.detail.identity?.sha256, sha256(replaced));
  t.is(await h.finding('node-a', bin), undefined, 'the path is known: no proc-unexpected');

  const allowed = await h.call<{ pushed: number; version: number }>('/api/v1/baselines/allow', { method: 'POST', body: { key: HOST_WORKER, executables: [bin] } });
  t.is(allowed.status, 200, allowed.text);
  t.is((await h.finding('node-a', bin, 'proc-modified-binary'))!.state, 'resolved');
  await waitFor('the agent to hold the allowed content', () => m.snapshot().baselines.find((b) => b.key === HOST_WORKER)!.items[bin]?.digests?.some((d) => d.sha256 === sha256(replaced) && d.source === 'operator'), 30_000);
  const item = (await h.host())!.items.find((i) => i.path === bin)!;
  t.deepEqual(new Set(item.digests.map((d) => d.sha256)), new Set([learned!.digests[0]!.sha256, sha256(replaced)]), 'both contents are allowed');

  h.run(bin);
  await m.scanNow();
  m.flush();
  h.run(later);
  await eventually('the later finding', () => h.finding('node-a', later), 30_000);
  const after = (await h.finding('node-a', bin, 'proc-modified-binary'))!;
  t.is(after.state, 'resolved');
  t.is(after.count, open.count, 'the allowed content is not reported again');
});

test.serial('a new node adopts the locked central baseline instead of learning, and reports its unexpected executable at once; unlocking lets it learn again', async (t) => {
  const { tc, dir, bins: [intruder, learned], h } = await setup(t, 'central-adopt', ['node-a', 'node-b']);
  const a = startAgent(t, tc, 'node-a', join(dir, 'a'), 1);
  await a.start();
  const central = await h.centralLocked();
  await a.stop();

  // node-b would learn for a day; it adopts instead.
  const b = startAgent(t, tc, 'node-b', join(dir, 'b'), 86_400);
  await b.start();
  const m = b.processes!;
  const adopted = await waitFor('node-b to adopt', () => {
    const host = m.snapshot().baselines.find((x) => x.key === HOST_WORKER);
    return host && host.version >= central.version && host.lockedAtMs !== null ? host : undefined;
  }, 30_000);
  t.true(adopted.learnUntilMs > Date.now() + 3600_000, 'locked by adoption, long before its own window would end');
  for (const i of central.items) t.truthy(adopted.items[i.path], `${i.path} adopted`);

  h.run(intruder);
  const f = await eventually('node-b\'s finding', () => h.finding('node-b', intruder), 30_000);
  t.like(f, { node: 'node-b', state: 'open', detail: { exe: intruder } });

  // Unlock (the explicit action): node-b learns again, and what it learns reaches the collector.
  const unlocked = await h.call<{ version: number }>('/api/v1/baselines/unlock', { method: 'POST', body: { key: HOST_WORKER } });
  t.is(unlocked.status, 200, unlocked.text);
  await waitFor('node-b to unlock', () => m.snapshot().baselines.find((x) => x.key === HOST_WORKER)?.lockedAtMs === null, 30_000);
  h.run(learned);
  await waitFor('node-b to learn it', () => m.snapshot().baselines.find((x) => x.key === HOST_WORKER)?.items[learned]?.source === 'learned', 30_000);
  const item = await eventually('the learned item at the collector', async () => (await h.host())?.items.find((i) => i.path === learned), 30_000);
  t.like(item, { source: 'learned', taughtBy: ['node-b'], singleNode: true });
  t.is((await h.host())!.state, 'learning');
});
