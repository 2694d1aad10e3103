// Every exec counted where the operator reads it: the real agent (createAgent) on the real
// kernel, streaming over mTLS to a real collector, and a fresh executable that lives well under
// a millisecond (a static ELF that only exits) run 1,000 times at about 200 per second and then
// 1,000 times as fast as it goes. With eBPF the collector counts every run (2,000) and the node
// shows nothing lost; with eBPF turned off the agent runs on netlink, and whatever it misses is
// shown at the collector (not judged, or lost), never silent. The rate limit refills every
// second here, so the counts settle quickly; they are exact either way.
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadAgentConfig } from '../../agent/config.js';
import { createAgent } from '../../agent/main.js';
import { startExecEvents } from '../../agent/processes/exec-events.js';
import { fingerprint } from '../../proto/fingerprint.js';
import { createLogger } from '../../proto/support/logger.js';
import { ADMIN_TOKEN, startTestCollector, type TestCollector } from '../helpers/collector.js';
import { exitOnlyElf } from '../helpers/elf.js';
import { eventually, httpsJson } from '../helpers/https.js';
import { needs } from '../helpers/requirements.js';
import { EBPF_PACKAGES, ebpfAvailable, HOST_WORKER, tempDir, waitFor } from './helpers.js';

const RUNS = 1000;

function sourcesLoad(): true | string {
  const bpf = ebpfAvailable();
  if (bpf !== true) return bpf;
  const n = startExecEvents({ procRoot: '/proc', maxCmdline: 4096, queue: 64 }, () => undefined);
  if (!n.ok) return `the netlink source does not start: ${n.code}: ${n.reason}`;
  n.source.stop();
  return true;
}

const execTest = needs({
  what: 'the eBPF and netlink exec sources (root on the host, addons built with clang/libbpf)',
  packages: [...EBPF_PACKAGES], check: sourcesLoad, serial: true,
});

/** Runs `bin` `runs` times from a separate Node.js process, each after the previous exited, `perSecond` (0: as fast as it goes). */
function runMany(bin: string, runs: number, perSecond: number): Promise<number> {
  const script = `
    const { spawnSync } = require('node:child_process');
    const [bin, runs, every] = process.argv.slice(1).map((x, i) => (i ? Number(x) : x));
    const t0 = performance.now();
    let failed = 0;
    for (let i = 0; i < runs; i++) {
      const wait = t0 + i * every - performance.now();
      if (wait > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, wait);
      failed += spawnSync(bin, [], { stdio: 'ignore' }).status === 0 ? 0 : 1;
    }
    process.stdout.write(String(failed));`;
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, ['-e', script, bin, String(runs), String(perSecond > 0 ? 1000 / perSecond : 0)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    c.once('error', reject);
    c.once('exit', () => resolve(Number(out)));
  });
}

interface ApiNode {
  execSource: string; execSourceReason: string; execRingLost: number;
  agentDrops: { execEventsLost: number; execUnjudged: number }; agentDegraded: { execRecordsPartial: number };
}

async function runAgainstCollector(t: import('ava').ExecutionContext, ebpf: boolean): Promise<{ counted: number; node: ApiNode; tc: TestCollector }> {
  const tc = await startTestCollector({ nodes: ['node-a'] });
  t.teardown(() => tc.close());
  const dir = await tempDir('exec-collector');
  t.teardown(dir.cleanup);
  const bin = join(dir.path, `nw-fresh-${ebpf ? 'ebpf' : 'netlink'}`);
  await writeFile(bin, exitOnlyElf(), { mode: 0o755 });
  const agentPki = tc.pki.agents['node-a']!;
  const config = loadAgentConfig({
    env: {},
    overrides: {
      node: 'node-a', stateDir: join(dir.path, 'state'), 'collector.address': tc.grpcAddress, 'collector.caFile': tc.pki.caCert,
      'collector.certFile': agentPki.cert, 'collector.keyFile': agentPki.key, 'collector.heartbeatSeconds': 1, 'health.port': 0,
      'scan.intervalSeconds': 0, 'watch.enabled': false, 'processes.hostLearnSeconds': 1, 'processes.scanIntervalSeconds': 0,
      // Not a rate-limit test: no finding waits for a token (other tests' processes on this
      // machine are findings too, and would keep some waiting while the suite runs).
      'processes.ebpf': ebpf, 'processes.rateRefillSeconds': 1, 'processes.rateBurst': 10_000, 'processes.hostRole': 'worker',
    },
  }, { needCollector: true });
  const agent = createAgent(config, { version: 'test', log: createLogger('agent', 'silent') });
  t.teardown(() => agent.stop());
  await agent.start();
  const monitor = agent.processes!;
  t.is(monitor.stats().source, ebpf ? 'ebpf' : 'netlink');
  await waitFor('the host baseline to lock', () => monitor.snapshot().baselines.find((b) => b.key === HOST_WORKER)?.lockedAtMs != null);

  t.is(await runMany(bin, RUNS, 200), 0, 'every paced run exited cleanly');
  t.is(await runMany(bin, RUNS, 0), 0, 'every burst run exited cleanly');
  const id = fingerprint('node-a', 'proc-unexpected', `${HOST_WORKER}:${bin}`);
  const count = async (): Promise<number> => {
    const r = await httpsJson<{ count: number }>(`${tc.apiUrl}/api/v1/findings/${id}`, { ca: tc.ca, token: ADMIN_TOKEN });
    return r.status === 200 ? r.body.count : 0;
  };
  // Settled: nothing waits for a token in the agent, and the collector's count holds still
  // (other processes on this machine are findings too, so the agent's totals are not ours).
  let counted = -1;
  await waitFor('the count at the collector to settle', async () => {
    const before = await count();
    await new Promise((r) => setTimeout(r, 2000));
    const after = await count();
    counted = after;
    return monitor.stats().findings.pending === 0 && after === before && after > 0;
  }, 90_000);
  // The node's counters come with the next heartbeat.
  const beatAfter = monitor.stats();
  const node = await eventually('the heartbeat after the runs', async () => {
    const r = await httpsJson<ApiNode>(`${tc.apiUrl}/api/v1/nodes/node-a`, { ca: tc.ca, token: ADMIN_TOKEN });
    return r.body.agentDrops.execUnjudged >= beatAfter.unjudged + beatAfter.unplaced ? r.body : undefined;
  }, 10_000);
  return { counted, node, tc };
}

execTest('eBPF: 1,000 paced and 1,000 burst runs of a sub-millisecond executable are all counted at the collector, nothing lost', async (t) => {
  t.timeout(180_000);
  const { counted, node } = await runAgainstCollector(t, true);
  t.is(counted, 2 * RUNS, 'every run, at the collector');
  t.like(node, { execSource: 'ebpf', execSourceReason: '', execRingLost: 0, agentDrops: { execEventsLost: 0 } });
});

execTest('netlink (eBPF off): the runs it missed are shown at the collector, as not judged or lost, never silent', async (t) => {
  t.timeout(180_000);
  const { counted, node } = await runAgainstCollector(t, false);
  t.log(`netlink: ${counted} of ${2 * RUNS} counted; not judged ${node.agentDrops.execUnjudged}, lost ${node.agentDrops.execEventsLost}, partial ${node.agentDegraded.execRecordsPartial}`);
  t.true(counted <= 2 * RUNS);
  t.like(node, { execSource: 'netlink' });
  t.regex(node.execSourceReason, /^ebpf: DISABLED: /);
  // Everything the collector did not count is in the node's counters (which other processes on this machine may raise too).
  t.true(counted + node.agentDrops.execUnjudged + node.agentDrops.execEventsLost >= 2 * RUNS,
    `${counted} counted + ${node.agentDrops.execUnjudged} not judged + ${node.agentDrops.execEventsLost} lost`);
});
