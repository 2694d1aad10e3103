// Drift in real time, end to end: the agent runs as an OS process with its periodic scan
// DISABLED, so after the start-up scan only the file watcher can produce results. A chmod and
// then an edit of the kubelet config each reach the API as a resolved finding, through a
// report whose trigger is `watch` and whose scope is just the checks that read the file.
import test from 'ava';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CATALOG, dependencyIndex } from '../../agent/checks/index.js';
import { collectFacts } from '../../agent/facts/index.js';
import { ADMIN_TOKEN, startTestCollector } from '../helpers/collector.js';
import { prepareFixture } from '../helpers/fixture.js';
import { eventually, httpsJson } from '../helpers/https.js';
import { startNodeward, type LogLine, type NodewardProcess } from '../helpers/process.js';

const NODE = 'node-w';

interface Finding { checkId: string; subject: string; state: string; count: number }

test('with the periodic scan off, file changes alone resolve findings, in reports scoped to the affected checks', async (t) => {
  t.timeout(90_000);
  const fixture = await prepareFixture('insecure-worker');
  const collector = await startTestCollector({ nodes: [NODE] });
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-e2e-watch-'));
  let agent: NodewardProcess | undefined;
  t.teardown(async () => {
    await agent?.kill('SIGKILL');
    await collector.close();
    await fixture.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  const agentConfig = join(dir, 'agent.yaml');
  await writeFile(agentConfig, JSON.stringify({
    node: NODE, hostRoot: fixture.root, procRoot: fixture.procRoot, stateDir: join(dir, 'agent-state'),
    health: { port: 0 },
    collector: {
      address: collector.grpcAddress, caFile: collector.pki.caCert,
      certFile: collector.pki.agents[NODE]!.cert, keyFile: collector.pki.agents[NODE]!.key,
      backoffBaseMs: 50, backoffMaxMs: 300, heartbeatSeconds: 1,
    },
    scan: { intervalSeconds: 0 },
    log: { level: 'debug' },
  }));

  const findings = async (): Promise<Map<string, Finding>> => {
    const res = await httpsJson<{ items: Finding[] }>(`${collector.apiUrl}/api/v1/findings?node=${NODE}&limit=100`, { ca: collector.ca, token: ADMIN_TOKEN });
    if (res.status !== 200) throw new Error(`findings: ${res.status} ${res.text}`);
    return new Map(res.body.items.map((f) => [f.checkId, f]));
  };
  const stateOf = async (checkId: string): Promise<string | undefined> => (await findings()).get(checkId)?.state;

  // What a change to the kubelet config must re-evaluate, by the dependency mapping (in catalogue order).
  const index = dependencyIndex(CATALOG, await collectFacts({ hostRoot: fixture.root, procRoot: fixture.procRoot }));
  const configDeps = new Set(index.get('/var/lib/kubelet/config.yaml') ?? []);
  const expectedScope = CATALOG.filter((s) => configDeps.has(s.id)).map((s) => s.id);
  t.true(expectedScope.length < CATALOG.length);

  agent = startNodeward(['agent', '--config', agentConfig]);
  const watching = await agent.waitFor((l) => l.msg === 'watching');
  t.true((watching.dirs as number) >= 2, 'the kubelet config and kubeconfig directories are watched');
  await eventually('the start-up findings', async () => ((await stateOf('cis-4.1.9')) === 'open' && (await stateOf('cis-4.2.1')) === 'open' ? true : undefined));

  // 1. chmod 0644 -> 0600: CIS 4.1.9 resolves.
  const beforeChmod = agent.lines.length;
  await chmod(join(fixture.root, 'var/lib/kubelet/config.yaml'), 0o600);
  const chmodReport = await agent.waitFor((l) => l.msg === 'watch scan completed', { from: beforeChmod, timeoutMs: 10_000 });
  t.is(chmodReport.trigger, 'watch');
  t.deepEqual(chmodReport.scope, expectedScope, 'the checks that read the kubelet config, and no other');
  for (const id of ['cis-4.1.9', 'cis-4.2.1']) t.true(expectedScope.includes(id));
  for (const id of ['cis-4.1.5', 'cis-4.1.6']) t.false(expectedScope.includes(id), `${id} reads the kubeconfig, not the config`);
  t.deepEqual(chmodReport.changed, ['/var/lib/kubelet/config.yaml']);
  await eventually('4.1.9 resolved through the API', async () => ((await stateOf('cis-4.1.9')) === 'resolved' ? true : undefined), 10_000);
  t.is(await stateOf('cis-4.2.1'), 'open', 'the content did not change: 4.2.1 is still failing');
  t.is(await stateOf('cis-4.1.5'), 'open', 'outside the scope: untouched');

  // 2. The config is edited to turn anonymous auth off: CIS 4.2.1 resolves.
  const config = join(fixture.root, 'var/lib/kubelet/config.yaml');
  const beforeEdit = agent.lines.length;
  await writeFile(config, (await readFile(config, 'utf8')).replace(/anonymous:\n {4}enabled: true/, 'anonymous:\n    enabled: false'));
  const editReport = await agent.waitFor((l) => l.msg === 'watch scan completed', { from: beforeEdit, timeoutMs: 10_000 });
  t.deepEqual(editReport.scope, expectedScope);
  await eventually('4.2.1 resolved through the API', async () => ((await stateOf('cis-4.2.1')) === 'resolved' ? true : undefined), 10_000);
  t.is(await stateOf('cis-4.2.2'), 'open', 're-evaluated, and still failing: --authorization-mode AlwaysAllow on the command line wins');

  // Only the start-up scan ran: everything after it came from the watcher.
  t.is(agent.count((l: LogLine) => l.msg === 'scan completed'), 1);
  t.true(agent.count((l) => l.msg === 'watch scan completed') >= 2);

  await agent.kill('SIGTERM');
  t.is(agent.child.exitCode, 0, `the agent stops cleanly with the watcher running:\n${agent.output().slice(-2000)}`);
});
