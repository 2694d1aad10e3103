// The process monitor inside the agent (agent/main.ts): configuration defaults, and a real
// collector receiving a proc-unexpected finding over mTLS, with the exec-event coverage in
// its node inventory. Allowing the executable through the monitor's apply function stops
// the agent reporting it.
import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { loadAgentConfig } from '../../agent/config.js';
import { createAgent } from '../../agent/main.js';
import { createLogger } from '../../proto/support/logger.js';
import { ADMIN_TOKEN, startTestCollector } from '../helpers/collector.js';
import { eventually, httpsJson } from '../helpers/https.js';
import { freshBinary, HOST_WORKER, tempDir, waitFor } from './helpers.js';

test('process settings have their defaults and their environment variables', (t) => {
  const c = loadAgentConfig({ env: {} }, { needCollector: false });
  t.deepEqual(c.processes, {
    enabled: true, scanIntervalSeconds: 2, execEvents: true, ebpf: true, btfPath: '/sys/kernel/btf/vmlinux', ebpfRingBytes: 1024 * 1024,
    learnSeconds: 3600, hostLearnSeconds: 86_400, startupSeconds: 60,
    rateBurst: 10, rateRefillSeconds: 180, maxBaselines: 2048, maxItemsPerBaseline: 1024, hostRole: 'auto', containerdState: '/run/containerd',
    identity: true, maxHashBytes: 512 * 1024 * 1024,
  });
  t.is(loadAgentConfig({ env: { NODEWARD_PROCESSES_IDENTITY: 'false' } }, { needCollector: false }).processes.identity, false);
  t.is(loadAgentConfig({ env: { NODEWARD_PROCESSES_MAX_HASH_BYTES: '1048576' } }, { needCollector: false }).processes.maxHashBytes, 1048576);
  t.is(loadAgentConfig({ env: { NODEWARD_PROCESSES_CONTAINERD_STATE: '/run/k3s/containerd' } }, { needCollector: false }).processes.containerdState, '/run/k3s/containerd');
  t.throws(() => loadAgentConfig({ env: { NODEWARD_PROCESSES_CONTAINERD_STATE: 'run/containerd' } }, { needCollector: false }), { message: /processes\.containerdState/ });
  t.like(loadAgentConfig({ env: { NODEWARD_PROCESSES_EBPF: 'false', NODEWARD_PROCESSES_BTF_PATH: '/nowhere' } }, { needCollector: false }).processes, { ebpf: false, btfPath: '/nowhere' });
  t.is(loadAgentConfig({ env: { NODEWARD_PROCESSES_EBPF_RING_BYTES: '65536' } }, { needCollector: false }).processes.ebpfRingBytes, 65_536);
  t.throws(() => loadAgentConfig({ env: { NODEWARD_PROCESSES_EBPF_RING_BYTES: '65537' } }, { needCollector: false }), { message: /processes\.ebpfRingBytes: 65537 is not a power of two/ });
  t.throws(() => loadAgentConfig({ env: { NODEWARD_PROCESSES_EBPF_RING_BYTES: '1024' } }, { needCollector: false }), { message: /processes\.ebpfRingBytes/ });
  const e = loadAgentConfig({ env: { NODEWARD_PROCESSES_ENABLED: 'false', NODEWARD_PROCESSES_SCAN_INTERVAL_SECONDS: '0', NODEWARD_PROCESSES_HOST_LEARN_SECONDS: '600' } }, { needCollector: false });
  t.like(e.processes, { enabled: false, scanIntervalSeconds: 0, hostLearnSeconds: 600 });
  t.throws(() => loadAgentConfig({ env: { NODEWARD_PROCESSES_LEARN_SECONDS: '0' } }, { needCollector: false }), { message: /processes\.learnSeconds/ });
  t.is(loadAgentConfig({ env: { NODEWARD_PROCESSES_HOST_ROLE: 'control-plane' } }, { needCollector: false }).processes.hostRole, 'control-plane');
  t.throws(() => loadAgentConfig({ env: { NODEWARD_PROCESSES_HOST_ROLE: 'master' } }, { needCollector: false }), { message: /processes\.hostRole/ });
});

interface ApiFinding { subject: string; checkId: string; count: number; seen: string; detail: { exe: string; parents: string[] } }

test.serial('a new executable after the host baseline locks reaches the collector as proc-unexpected; allowing it stops the reports', async (t) => {
  t.timeout(90_000);
  const tc = await startTestCollector({ nodes: ['node-a'] });
  t.teardown(() => tc.close());
  const dir = await tempDir('agent-processes');
  t.teardown(dir.cleanup);
  const bins = await tempDir('agent-bins');
  t.teardown(bins.cleanup);
  const bin = await freshBinary(bins.path, '/bin/sleep', 'nw-agent-intruder');
  const agentPki = tc.pki.agents['node-a']!;
  const config = loadAgentConfig({
    env: {},
    overrides: {
      node: 'node-a', stateDir: join(dir.path, 'state'), 'collector.address': tc.grpcAddress, 'collector.caFile': tc.pki.caCert,
      'collector.certFile': agentPki.cert, 'collector.keyFile': agentPki.key, 'collector.heartbeatSeconds': 1, 'health.port': 0,
      'scan.intervalSeconds': 0, 'watch.enabled': false, 'processes.hostLearnSeconds': 1, 'processes.scanIntervalSeconds': 0.2,
      // Pinned: other tests run etcd on this machine (detection: host-role.test.ts).
      'processes.hostRole': 'worker',
    },
  }, { needCollector: true });
  const agent = createAgent(config, { version: 'test', log: createLogger('agent', 'silent') });
  const children: ChildProcess[] = [];
  t.teardown(async () => {
    for (const c of children) c.kill('SIGKILL');
    await agent.stop();
  });
  await agent.start();
  const monitor = agent.processes!;
  t.truthy(monitor, 'processes.enabled defaults to true');
  await waitFor('the host baseline to lock', () => monitor.snapshot().baselines.find((b) => b.key === HOST_WORKER)?.lockedAtMs != null);

  const run = () => {
    const c = spawn(bin, ['20'], { stdio: 'ignore' });
    children.push(c);
    return c;
  };
  run();
  const get = <T>(path: string) => httpsJson<T>(`${tc.apiUrl}${path}`, { ca: tc.ca, token: ADMIN_TOKEN });
  const finding = await eventually('the finding at the collector', async () => {
    const r = await get<{ items: ApiFinding[] }>('/api/v1/findings?check=proc-unexpected&limit=1000');
    return r.body.items.find((f) => f.subject === `${HOST_WORKER}:${bin}`);
  }, 30_000);
  t.is(finding.checkId, 'proc-unexpected');
  t.is(finding.detail.exe, bin);
  t.true(['event', 'scan'].includes(finding.seen));
  const nodes = await eventually('the node inventory', async () => {
    const r = await get<{ items: Array<{ name: string; execCoverage: string }> }>('/api/v1/nodes');
    return r.body.items.find((n) => n.name === 'node-a' && n.execCoverage !== '');
  });
  t.is(nodes.execCoverage, monitor.coverage, 'the node reports how it sees processes');

  // Allowed through the monitor's apply function (unversioned: the collector's own updates,
  // which carry versions, are in central-baselines.test.ts): later runs are not reported.
  t.true(monitor.applyBaselineUpdate({ version: 0, key: HOST_WORKER, allowed: [bin], removed: [], locked: false }));
  const countAtCollector = async () => (await get<{ items: ApiFinding[] }>('/api/v1/findings?check=proc-unexpected&limit=1000'))
    .body.items.find((f) => f.subject === `${HOST_WORKER}:${bin}`)?.count ?? 0;
  const before = await countAtCollector();
  run();
  const scans = monitor.stats().scans;
  await waitFor('a few more scans', () => monitor.stats().scans >= scans + 3);
  monitor.flush();
  await new Promise((r) => setTimeout(r, 1000));
  t.is(await countAtCollector(), before);
  t.is(monitor.snapshot().baselines.find((b) => b.key === HOST_WORKER)!.items[bin]?.source, 'operator');
});
