// Takes the README's dashboard screenshot, docs/images/dashboard.png: a real collector fed by
// real agents, each scanning one fixture host tree (test/fixtures/hostroot/), all as their own
// processes over mTLS on loopback; then Debian's headless Chromium, driven by playwright-core
// as test/e2e/dashboard.test.ts does, logs in and photographs the overview.
//
//   npm run build && node dist/scripts/screenshot-dashboard.js [--out FILE]
//
// Needs the chromium package (/usr/bin/chromium). Process monitoring and the kubelet and etcd
// probes are off for the agents: they would see this machine, not their fixture node.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { hashToken } from '../collector/config.js';
import { initPki } from '../collector/pki/pki.js';
import { prepareFixture, type Fixture } from '../test/helpers/fixture.js';
import { eventually, httpsJson } from '../test/helpers/https.js';
import { startNodeward, type NodewardProcess } from '../test/helpers/process.js';

const CHROMIUM = '/usr/bin/chromium';
const DEFAULT_OUT = fileURLToPath(new URL('../../docs/images/dashboard.png', import.meta.url));
/** Node name -> fixture host tree. */
const NODES: Readonly<Record<string, string>> = {
  'cp-1': 'kubeadm-cp',
  'worker-1': 'insecure-worker',
  'worker-2': 'kubeadm-worker-defaults',
  'edge-1': 'k3s-server',
};
const VIEWPORT = { width: 1360, height: 900 };

async function main(argv: readonly string[]): Promise<void> {
  const outArg = argv.indexOf('--out');
  const out = resolve(outArg >= 0 && argv[outArg + 1] ? argv[outArg + 1] as string : DEFAULT_OUT);
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-screenshot-'));
  const running: NodewardProcess[] = [];
  const fixtures: Fixture[] = [];
  try {
    const token = randomBytes(32).toString('hex');
    const names = Object.keys(NODES);
    const pki = await initPki(join(dir, 'pki'), { nodes: names, collectorHosts: ['localhost', '127.0.0.1'] });
    const ca = readFileSync(pki.caCert);

    const collectorConfig = join(dir, 'collector.yaml');
    await writeFile(collectorConfig, JSON.stringify({
      dataDir: join(dir, 'collector'),
      grpc: { listen: '127.0.0.1:0', caFile: pki.caCert, certFile: pki.collectorCert, keyFile: pki.collectorKey },
      api: { listen: '127.0.0.1:0', tokens: [{ name: 'admin', role: 'admin', sha256: hashToken(token) }] },
      log: { level: 'info' },
    }));
    const collector = startNodeward(['collector', '--config', collectorConfig]);
    running.push(collector);
    const apiPort = (await collector.waitFor((l) => l.msg === 'API listening')).port as number;
    const grpcPort = (await collector.waitFor((l) => l.msg === 'gRPC listening')).port as number;

    for (const [node, scenario] of Object.entries(NODES)) {
      const fixture = await prepareFixture(scenario);
      fixtures.push(fixture);
      const agentConfig = join(dir, `agent-${node}.yaml`);
      const cert = pki.agents[node];
      if (!cert) throw new Error(`no certificate for ${node}`);
      await writeFile(agentConfig, JSON.stringify({
        node, hostRoot: fixture.root, procRoot: fixture.procRoot, stateDir: join(dir, `state-${node}`),
        collector: { address: `localhost:${grpcPort}`, caFile: pki.caCert, certFile: cert.cert, keyFile: cert.key },
        scan: { intervalSeconds: 3600 },
        watch: { enabled: false },
        processes: { enabled: false },
        kubeletProbe: { enabled: false },
        etcdProbe: { enabled: false },
        health: { port: 0 },
      }));
      running.push(startNodeward(['agent', '--config', agentConfig]));
    }

    const api = `https://localhost:${apiPort}`;
    await eventually('every node to report a scan', async () => {
      const res = await httpsJson<{ items: { name: string; scoredChecks: { scored: number } }[] }>(`${api}/api/v1/nodes`, { ca, token });
      const scanned = res.body.items.filter((n) => n.scoredChecks.scored > 0).length;
      return scanned === names.length ? true : undefined;
    }, 60_000, 250);

    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    try {
      const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: VIEWPORT, deviceScaleFactor: 1 });
      const page = await context.newPage();
      await page.goto(`${api}/ui/login`);
      await page.fill('#token', token);
      await page.click('button[type=submit]');
      await page.waitForSelector('body[data-ready="true"]', { timeout: 15_000 });
      mkdirSync(dirname(out), { recursive: true });
      await page.screenshot({ path: out, fullPage: false });
    } finally {
      await browser.close();
    }
    process.stdout.write(`${out}\n`);
  } finally {
    await Promise.all(running.map((p) => p.kill('SIGTERM')));
    await Promise.all(fixtures.map((f) => f.cleanup()));
    await rm(dir, { recursive: true, force: true });
  }
}

await main(process.argv.slice(2));
