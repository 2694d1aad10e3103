// The whole road: a real collector and a real agent as separate OS processes, over mTLS on
// loopback, the agent reading a fixture host tree. Then the hard part: the collector is
// SIGKILLed while the agent keeps scanning, the host changes during the outage, the agent
// is SIGKILLed and restarted, the collector comes back; every finding is stored exactly
// once and its occurrence count equals what the agent produced.
import test from 'ava';
import Database from 'better-sqlite3';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initPki } from '../../collector/pki/pki.js';
import { fingerprint } from '../../proto/fingerprint.js';
import type { ScanReport } from '../../proto/load.js';
import { prepareFixture } from '../helpers/fixture.js';
import { eventually, httpsJson } from '../helpers/https.js';
import { startCollectorProcess, startNodeward, type LogLine, type NodewardProcess } from '../helpers/process.js';

const TOKEN = 'e2e-admin-token-0123456789abcdef';
const NODE = 'node-a';

interface Finding { id: string; checkId: string; subject: string; count: number; state: string; node: string }

test('findings travel from agent to API over mTLS and survive collector and agent crashes exactly once', async (t) => {
  t.timeout(180_000);
  const fixture = await prepareFixture('insecure-worker');
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-e2e-'));
  const running: NodewardProcess[] = [];
  t.teardown(async () => {
    await Promise.all(running.map((p) => p.kill('SIGKILL')));
    await fixture.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  // The kubelet config starts compliant (0600) so that making it 0644 mid-outage is a new failing check.
  const kubeletConfig = join(fixture.root, 'var/lib/kubelet/config.yaml');
  await chmod(kubeletConfig, 0o600);

  const pki = await initPki(join(dir, 'pki'), { nodes: [NODE], collectorHosts: ['localhost', '127.0.0.1'] });
  const ca = readFileSync(pki.caCert);
  let collector = await startCollectorProcess({ dir, pki, adminToken: TOKEN, running });
  const { grpcPort, apiPort } = collector;

  const agentConfig = join(dir, 'agent.yaml');
  await writeFile(agentConfig, JSON.stringify({
    node: NODE, hostRoot: fixture.root, procRoot: fixture.procRoot, stateDir: join(dir, 'agent-state'),
    collector: {
      address: `localhost:${grpcPort}`, caFile: pki.caCert, certFile: pki.agents[NODE]!.cert, keyFile: pki.agents[NODE]!.key,
      backoffBaseMs: 50, backoffMaxMs: 300, heartbeatSeconds: 1,
    },
    // The five checks this scenario is about (the catalogue has grown around them).
    scan: { intervalSeconds: 0.25, checks: ['cis-4.1.5', 'cis-4.1.9', 'cis-4.2.1', 'cis-4.2.2', 'cis-4.2.4'] },
    // Only periodic full scans here, so the spool's folding can be counted exactly; the
    // watcher's own reports are covered by test/e2e/watch.test.ts.
    watch: { enabled: false },
    health: { port: 0 },
    processes: { enabled: false },
    log: { level: 'debug' },
  }));
  const startAgent = (): NodewardProcess => {
    const proc = startNodeward(['agent', '--config', agentConfig]);
    running.push(proc);
    return proc;
  };
  const scans = (p: NodewardProcess): number => p.count((l) => l.msg === 'scan completed');
  const waitScans = async (p: NodewardProcess, more: number): Promise<void> => {
    const target = scans(p) + more;
    await eventually(`${more} more scans`, () => (scans(p) >= target ? true : undefined), 30_000, 50);
  };

  const api = (path: string) => httpsJson<{ items: Finding[]; nextCursor: string | null }>(`https://localhost:${apiPort}${path}`, { ca, token: TOKEN });
  const allFindings = async (): Promise<Finding[]> => {
    const out: Finding[] = [];
    let cursor: string | null = null;
    do {
      const res = await api(`/api/v1/findings?node=${NODE}&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      if (res.status !== 200) throw new Error(`findings: ${res.status} ${res.text}`);
      out.push(...res.body.items);
      cursor = res.body.nextCursor;
    } while (cursor);
    return out;
  };

  // 1. The insecure kubelet's CIS 4.2.1 and 4.2.2 findings reach the API.
  let agent = startAgent();
  const healthPort = (await agent.waitFor((l) => l.msg === 'health endpoint listening')).port as number;
  await eventually('the agent to be ready', async () => ((await fetch(`http://127.0.0.1:${healthPort}/readyz`)).status === 200 ? true : undefined));
  t.is((await fetch(`http://127.0.0.1:${healthPort}/healthz`)).status, 200);
  const first = await eventually('the 4.2.1 and 4.2.2 findings', async () => {
    const f = await allFindings();
    return f.some((x) => x.checkId === 'cis-4.2.1') && f.some((x) => x.checkId === 'cis-4.2.2') ? f : undefined;
  });
  const f421 = first.find((x) => x.checkId === 'cis-4.2.1')!;
  t.is(f421.subject, 'kubelet/--anonymous-auth');
  t.is(f421.id, fingerprint(NODE, 'cis-4.2.1', 'kubelet/--anonymous-auth'));
  t.is(f421.state, 'open');
  t.is(first.find((x) => x.checkId === 'cis-4.2.2')?.subject, 'kubelet/--authorization-mode');
  t.false(first.some((x) => x.checkId === 'cis-4.1.9'), 'the kubelet config file is 0600: no finding yet');

  // 2. Collector SIGKILLed; the agent keeps producing; the host changes during the outage.
  await collector.proc.kill('SIGKILL');
  const scansBeforeOutage = scans(agent);
  await waitScans(agent, 3);
  await chmod(kubeletConfig, 0o644);
  await waitScans(agent, 3);

  // 3. The agent is SIGKILLed too, and restarted on the same state directory.
  await agent.kill('SIGKILL');
  const firstAgent = agent;
  agent = startAgent();
  await waitScans(agent, 3);

  // The spool folded the outage's reports instead of keeping one per scan.
  const outageScans = scans(firstAgent) - scansBeforeOutage + scans(agent);
  const peek = new Database(join(dir, 'agent-state', 'spool.db'), { readonly: true });
  const held = (peek.prepare('SELECT count(*) AS n FROM entries').get() as { n: number }).n;
  peek.close();
  t.true(outageScans >= 9, `${outageScans} scans during the outage`);
  t.true(held <= 3, `${held} spool entries for ${outageScans} scans`);

  // 4. The collector comes back (on the same ports, as a restarted pod behind a Service would); the spool drains into it.
  collector = await collector.restart();
  t.is(collector.grpcPort, grpcPort);
  await eventually('the 4.1.9 finding made during the outage', async () =>
    ((await allFindings()).some((x) => x.checkId === 'cis-4.1.9') ? true : undefined), 30_000);
  await waitScans(agent, 3);
  await agent.kill('SIGTERM');
  t.is(agent.child.exitCode, 0, `the agent stops cleanly on SIGTERM:\n${agent.output().slice(-2000)}`);

  // What the agent produced: every failing result of every scan it logged...
  const produced = new Map<string, number>();
  for (const p of [firstAgent, agent]) {
    for (const l of p.lines as LogLine[]) {
      if (l.msg !== 'failing results') continue;
      for (const key of l.failing as string[]) produced.set(key, (produced.get(key) ?? 0) + 1);
    }
  }
  // ...less whatever is still in its spool, unacknowledged, at the end.
  const spool = new Database(join(dir, 'agent-state', 'spool.db'), { readonly: true });
  for (const row of spool.prepare('SELECT payload FROM entries').all() as Array<{ payload: string }>) {
    for (const r of (JSON.parse(row.payload) as ScanReport).results ?? []) {
      if (r.status !== 'STATUS_FAIL' && r.status !== 'STATUS_WARN') continue;
      const key = `${r.checkId} ${r.subject}`;
      produced.set(key, (produced.get(key) ?? 0) - (r.occurrences ?? 1));
    }
  }
  spool.close();

  const stored = await allFindings();
  t.is(new Set(stored.map((f) => f.id)).size, stored.length, 'each finding is stored once');
  t.deepEqual(
    stored.map((f) => f.checkId).sort(),
    ['cis-4.1.5', 'cis-4.1.9', 'cis-4.2.1', 'cis-4.2.2', 'cis-4.2.4'],
    'exactly the failing and warning checks of the insecure worker',
  );
  for (const f of stored) {
    t.is(f.count, produced.get(`${f.checkId} ${f.subject}`) ?? -1, `occurrences of ${f.checkId} equal what the agent produced`);
  }
  t.true((produced.get('cis-4.2.1 kubelet/--anonymous-auth') ?? 0) >= 12, 'the scenario really ran many scans');

  const nodes = await httpsJson<{ items: Array<{ name: string; spool: { dropped: number }; os: string; kubeletVersion: string; lastScanDurationMs: number }> }>(
    `https://localhost:${apiPort}/api/v1/nodes`, { ca, token: TOKEN });
  const node = nodes.body.items.find((n) => n.name === NODE);
  t.truthy(node);
  t.is(node?.spool.dropped, 0);
  // The hello carries the version inside the fixture kubelet's binary (read, never run).
  t.is(node?.kubeletVersion, 'v1.30.2');
  // Its heartbeats say how long its last scan took (ms, rounded up: never 0 after a scan).
  t.true((node?.lastScanDurationMs ?? 0) > 0, `lastScanDurationMs ${node?.lastScanDurationMs}`);
});
