// `npm start` (`nodeward dev`): its ports come from flags and the environment; a port that is
// taken ends start-up at once with the port and the flag or variable that moves it, never a
// hang; and the collector and agent really listen where they were told. Real processes, real
// sockets on loopback.
import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NODEWARD_BIN } from '../helpers/process.js';
import { eventually, httpsJson } from '../helpers/https.js';
import { explainListenFailure } from '../../bin/dev-ports.js';
import { close, freePorts, listen, portOf, startDev } from '../helpers/dev-process.js';
import { allSkipped } from '../../bin/first-run.js';

interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs nodeward; if it has not exited after `guardMs` it is killed and reported as hung. */
function runNodeward(args: string[], env: Record<string, string>, guardMs = 30_000): Promise<Exit & { hung: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [NODEWARD_BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    let hung = false;
    const guard = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, guardMs);
    child.once('exit', (code, signal) => {
      clearTimeout(guard);
      resolve({ code, signal, stdout, stderr, hung });
    });
  });
}

async function tempDir(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-dev-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('a port in use ends start-up at once, naming the port and the flag and variable that move it', async (t) => {
  const dir = await tempDir(t);
  const held = await listen();
  t.teardown(() => close(held));
  const [grpc, health] = await freePorts(2);
  const data = join(dir, 'data');
  const r = await runNodeward(['dev', '--data', data, '--grpc-port', String(grpc), '--api-port', String(portOf(held)), '--health-port', String(health)], {});
  t.false(r.hung, 'start-up did not end by itself');
  t.is(r.code, 1, r.stderr);
  t.log(r.stderr.trim());
  t.true(r.stderr.includes(`port ${portOf(held)} on 127.0.0.1, the collector's API and dashboard, is in use`), r.stderr);
  t.true(r.stderr.includes('--api-port N'), 'the flag that moves it');
  t.true(r.stderr.includes('NODEWARD_DEV_API_PORT=N'), 'the variable that moves it');
  t.false(existsSync(data), 'nothing was created: the ports are checked first');
});

test('ports come from the environment too, and every taken port is reported at once', async (t) => {
  const dir = await tempDir(t);
  const heldA = await listen();
  const heldB = await listen();
  t.teardown(() => Promise.all([heldA, heldB].map(close)).then(() => undefined));
  const [api] = await freePorts(1);
  const r = await runNodeward(['dev', '--data', join(dir, 'data'), '--api-port', String(api)], {
    NODEWARD_DEV_GRPC_PORT: String(portOf(heldA)), NODEWARD_DEV_HEALTH_PORT: String(portOf(heldB)),
  });
  t.false(r.hung);
  t.is(r.code, 1, r.stderr);
  t.true(r.stderr.includes(`port ${portOf(heldA)} on 127.0.0.1, the collector's gRPC listener`), r.stderr);
  t.true(r.stderr.includes('--grpc-port N') && r.stderr.includes('NODEWARD_DEV_GRPC_PORT=N'));
  t.true(r.stderr.includes(`port ${portOf(heldB)} on 127.0.0.1, the agent's health endpoint`), r.stderr);
  t.true(r.stderr.includes('--health-port N') && r.stderr.includes('NODEWARD_DEV_HEALTH_PORT=N'));
});

test('a port that is not a port, or the same port twice, is a usage error', async (t) => {
  const dir = await tempDir(t);
  const bad = await runNodeward(['dev', '--data', join(dir, 'data'), '--api-port', '70000'], {});
  t.is(bad.code, 2);
  t.regex(bad.stderr, /--api-port.*70000 is not a port between 1 and 65535/);
  const env = await runNodeward(['dev', '--data', join(dir, 'data')], { NODEWARD_DEV_HEALTH_PORT: 'x9' });
  t.is(env.code, 2);
  t.regex(env.stderr, /"x9" is not a port number/);
  const same = await runNodeward(['dev', '--data', join(dir, 'data'), '--grpc-port', '17443', '--api-port', '17443'], {});
  t.is(same.code, 2);
  t.regex(same.stderr, /--grpc-port and --api-port are both 17443/);
  t.false(existsSync(join(dir, 'data')));
});

test("a port taken after the check: the collector's own refusal is explained the same way", async (t) => {
  // The real collector, told to listen on a taken port, as a child of `dev` would be.
  const dir = await tempDir(t);
  const held = await listen();
  t.teardown(() => close(held));
  const [grpc] = await freePorts(1);
  const config = join(dir, 'collector.yaml');
  await writeFile(config, [
    `dataDir: ${JSON.stringify(dir)}`,
    'grpc:', `  listen: 127.0.0.1:${grpc}`, '  insecure: true',
    'api:', `  listen: 127.0.0.1:${portOf(held)}`, '  insecure: true',
  ].join('\n'));
  const r = await runNodeward(['collector', '--config', config], {});
  t.is(r.code, 1, r.stderr);
  const advice = explainListenFailure(r.stderr, { grpc: grpc!, api: portOf(held), health: 1 });
  t.is(advice, `port ${portOf(held)} on 127.0.0.1, the collector's API and dashboard, is in use by another program (another \`npm start\`?): stop it, or choose another with --api-port N (npm start -- --api-port N) or NODEWARD_DEV_API_PORT=N`);
  t.is(explainListenFailure('nodeward: error: something else', { grpc: 1, api: 2, health: 3 }), undefined);
});

test('the collector and the agent listen on the ports given by flag and environment', async (t) => {
  const dir = await tempDir(t);
  const [grpc, api, health] = await freePorts(3);
  const child = spawn(process.execPath, [NODEWARD_BIN, 'dev', '--data', join(dir, 'data'), '--grpc-port', String(grpc), '--api-port', String(api)], {
    env: { ...process.env, NODEWARD_DEV_HEALTH_PORT: String(health) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
  });
  await eventually('dev says it is running', () => (stdout.includes('is running') ? true : child.exitCode !== null ? Promise.reject(new Error(stderr)) : undefined), 60_000);
  t.true(stdout.includes(`https://localhost:${api}/ui/`), stdout);
  t.true(stdout.includes(`query findings --url https://localhost:${api}`), 'the CLI is told where the API is');
  const ca = readFileSync(join(dir, 'data', 'pki', 'ca.crt'));
  t.is((await httpsJson(`https://127.0.0.1:${api}/readyz`, { ca })).status, 200);
  const healthz = await eventually('the agent health endpoint', () => new Promise<number | undefined>((resolve) => {
    get(`http://127.0.0.1:${health}/healthz`, (res) => {
      res.resume();
      resolve(res.statusCode);
    }).on('error', () => resolve(undefined));
  }), 30_000);
  t.is(healthz, 200);
  // The agent streams to the collector on the gRPC port it was given.
  await eventually('the agent connected', () => (readFileSync(join(dir, 'data', 'collector.log'), 'utf8').includes('"agent connected"') ? true : undefined), 30_000);
  child.kill('SIGINT');
  t.is(await exited, 0);
});

test('the first run says what the scan of this machine found and when its host learning ends; without --demo there are no demo nodes', async (t) => {
  const dev = await startDev(t);
  const node = /is running on this machine \(node ([^)]+)\)/.exec(dev.stdout())![1]!;
  // Once its first scan is in, and its process monitor has reported the host baseline.
  const local = await eventually('the local node scanned, with its learning window', async () => {
    const n = await dev.get(`/api/v1/nodes/${node}`).catch(() => undefined);
    return n && n.results.skip + n.results.pass + n.results.fail > 0 && n.hostLearning ? n : undefined;
  }, 90_000, 500);
  const nodes = await dev.get('/api/v1/nodes');
  t.deepEqual(nodes.items.map((n: { name: string }) => n.name), [node], 'only this machine: no demo node');
  t.false(local.demo);
  t.false(existsSync(join(dev.data, 'demo')), 'no demo trees either');

  // The window: the agent's host learning (24 h by default) from its first start, just now.
  t.is(local.hostLearning.state, 'learning');
  const until = Date.parse(local.hostLearning.until);
  t.true(until > Date.parse(local.firstSeen) + 23 * 3600_000 && until <= Date.now() + 24 * 3600_000, local.hostLearning.until);
  await eventually('the first-run lines', () => (dev.stdout().includes('Host process learning') ? true : undefined), 60_000);
  const out = dev.stdout();
  t.log(out.slice(out.indexOf('First scan')));
  t.regex(out, new RegExp(`^First scan of ${node}: \\d+ checks: `, 'm'));
  t.true(out.includes(`learning until ${local.hostLearning.until}`), 'the console gives the same end as the API');
  // On a machine that is not a Kubernetes node every check is skipped, and the console says so and why.
  if (allSkipped(local.results)) {
    t.regex(out, /Every check was skipped: no kubelet and no control-plane component/);
    t.regex(out, /To see a full triage now: npm start -- --demo/);
  } else {
    t.false(out.includes('Every check was skipped'));
  }
  t.is(await dev.stop('SIGINT'), 0);
});
