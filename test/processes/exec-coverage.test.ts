// agent-exec-coverage: a degraded exec source is a finding (agent/checks/exec-coverage.ts), sent
// in the agent's scan reports. The check as a table; then the real agent against a real
// collector over mTLS: on netlink (eBPF turned off) the finding opens naming why, and the same
// agent restarted with eBPF (root, the built addon, kernel BTF) resolves it.
import test from 'ava';
import { join } from 'node:path';
import { loadAgentConfig } from '../../agent/config.js';
import { createAgent } from '../../agent/main.js';
import { execCoverageResult } from '../../agent/checks/exec-coverage.js';
import { fingerprint } from '../../proto/fingerprint.js';
import { createLogger } from '../../proto/support/logger.js';
import { ADMIN_TOKEN, startTestCollector } from '../helpers/collector.js';
import { eventually, httpsJson } from '../helpers/https.js';
import { needs } from '../helpers/requirements.js';
import { EBPF_PACKAGES, ebpfAvailable, tempDir } from './helpers.js';

test('the check: eBPF passes; netlink warns (medium) and the scan warns (high), each naming what is missed and why', (t) => {
  const ebpf = execCoverageResult({ source: 'ebpf', reason: '' });
  t.like(ebpf, { id: 'agent-exec-coverage', category: 'agent', subject: 'exec-source', status: 'pass', actual: 'ebpf', scored: false });
  const netlink = execCoverageResult({ source: 'netlink', reason: 'ebpf: NO_CAPABILITY: the agent lacks CAP_BPF' });
  t.like(netlink, { status: 'warn', severity: 'medium', actual: 'netlink', expected: 'ebpf', subject: 'exec-source' });
  t.regex(netlink.reason, /process connector.*ebpf: NO_CAPABILITY: the agent lacks CAP_BPF$/);
  const scan = execCoverageResult({ source: 'scan', reason: 'ebpf: NO_BTF: x; netlink: NO_CAPABILITY: y' });
  t.like(scan, { status: 'warn', severity: 'high', actual: 'scan' });
  t.regex(scan.reason, /scan interval is never seen; ebpf: NO_BTF: x; netlink: NO_CAPABILITY: y$/);
  t.regex(execCoverageResult({ source: 'scan', reason: '' }).reason, /no reason was recorded/);
});

const bpfLoads = (): true | string => ebpfAvailable();

const bpfTest = needs({
  what: 'the eBPF exec source (root on the host, addons built with clang/libbpf)',
  packages: [...EBPF_PACKAGES], check: bpfLoads, serial: true,
});

interface ApiFinding { id: string; state: string; status: string; severity: string; actual: string; reason: string; category: string }

bpfTest('a node off eBPF has an open agent-exec-coverage finding naming why; back on eBPF, it resolves', async (t) => {
  t.timeout(90_000);
  const tc = await startTestCollector({ nodes: ['node-a'] });
  t.teardown(() => tc.close());
  const dir = await tempDir('exec-coverage');
  t.teardown(dir.cleanup);
  const agentPki = tc.pki.agents['node-a']!;
  const configWith = (ebpf: boolean) => loadAgentConfig({
    env: {},
    overrides: {
      node: 'node-a', stateDir: join(dir.path, 'state'), 'collector.address': tc.grpcAddress, 'collector.caFile': tc.pki.caCert,
      'collector.certFile': agentPki.cert, 'collector.keyFile': agentPki.key, 'collector.heartbeatSeconds': 1, 'health.port': 0,
      'scan.intervalSeconds': 0, 'watch.enabled': false, 'processes.scanIntervalSeconds': 0, 'processes.ebpf': ebpf,
      'processes.hostRole': 'worker',
    },
  }, { needCollector: true });
  const id = fingerprint('node-a', 'agent-exec-coverage', 'exec-source');
  const finding = (state: string) => eventually(`agent-exec-coverage ${state}`, async () => {
    const r = await httpsJson<ApiFinding>(`${tc.apiUrl}/api/v1/findings/${id}`, { ca: tc.ca, token: ADMIN_TOKEN });
    return r.status === 200 && r.body.state === state ? r.body : undefined;
  }, 30_000);

  const degraded = createAgent(configWith(false), { version: 'test', log: createLogger('agent', 'silent') });
  t.teardown(() => degraded.stop());
  await degraded.start();
  const open = await finding('open');
  t.like(open, { category: 'agent', status: 'warn', severity: 'medium', actual: 'netlink' });
  t.regex(open.reason, /ebpf: DISABLED: turned off by configuration/);
  await degraded.stop();

  const restored = createAgent(configWith(true), { version: 'test', log: createLogger('agent', 'silent') });
  t.teardown(() => restored.stop());
  await restored.start();
  t.is(restored.processes!.stats().source, 'ebpf');
  await finding('resolved');
  const nodes = await httpsJson<{ execSource: string; execSourceReason: string }>(`${tc.apiUrl}/api/v1/nodes/node-a`, { ca: tc.ca, token: ADMIN_TOKEN });
  t.like(nodes.body, { execSource: 'ebpf', execSourceReason: '' });
  await restored.stop();
});
