// `npm start`: the whole system on this machine with embedded defaults. Creates ./data
// (PKI, admin token, configs) when absent, starts a collector and an agent scanning this
// machine as two processes, and prints how to query them. The token is never printed.
// Its three ports come from flags or the environment (bin/dev-ports.ts); each is checked
// before anything starts, and start-up ends, never hangs, when one is taken.
// Once the first scan is in, it says what it found and when the host's process learning
// ends (bin/first-run.ts). `--demo` adds demo nodes: one more agent process each, scanning a
// fixture host tree (bin/demo.ts), labelled demo by the collector (nodes.demo).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isValidNodeName } from '../proto/domain.js';
import { AGENT_NODE_ARGS, agentEnv } from '../agent/runtime-env.js';
import { DEV_HOST, DEV_PORTS, type DevPorts, explainListenFailure, unavailablePorts } from './dev-ports.js';
import { DEMO_NODE_NAMES, DEMO_NODES, demoAgentConfig, demoPaths, prepareDemoTree } from './demo.js';
import { demoTriageLines, firstScanLines, resultTotal, type NodeStatusLike } from './first-run.js';
import { getJson, type Connection } from '../collector/query/client.js';

/** The last bytes a child wrote to stderr are kept to say why it failed. */
const STDERR_TAIL_BYTES = 4096;
const ENTRY = fileURLToPath(new URL('../../bin/nodeward', import.meta.url));

function writeIfAbsent(path: string, text: string, mode = 0o644): void {
  if (!existsSync(path)) writeFileSync(path, text, { mode });
}

/** Polls the collector's /readyz; every attempt and the whole wait are bounded. */
function waitReady(url: string, ca: Buffer, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      if (child.exitCode !== null || child.signalCode !== null) return reject(new Error('the collector exited during start-up'));
      const req = request(url, { ca, timeout: 1000 }, (res) => {
        res.resume();
        if (res.statusCode === 200) resolve();
        else retry();
      });
      // `timeout` only reports a silent socket; ending the request is ours to do.
      req.on('timeout', () => req.destroy(new Error('no answer within 1 s')));
      req.on('error', retry);
      req.end();
    };
    const retry = (): void => {
      if (Date.now() > deadline) reject(new Error(`the collector did not become ready within ${timeoutMs / 1000}s`));
      else setTimeout(attempt, 200);
    };
    attempt();
  });
}

/** How long the start-up messages wait for the first scans before saying nothing more. */
const FIRST_SCAN_WAIT_MS = 120_000;
const POLL_MS = 1000;

export interface DevOptions {
  /** Add the demo nodes (bin/demo.ts). */
  readonly demo?: boolean;
}

export async function runDev(dataDir: string, version: string, ports: DevPorts, opts: DevOptions = {}): Promise<void> {
  const demo = opts.demo === true;
  const unavailable = await unavailablePorts(ports);
  if (unavailable.length > 0) {
    throw Object.assign(new Error(`cannot start: ${unavailable.join('; ')}`), { code: 'PORT_UNAVAILABLE' });
  }
  const data = resolve(dataDir);
  mkdirSync(data, { recursive: true, mode: 0o700 });
  const node = isValidNodeName(hostname().toLowerCase()) ? hostname().toLowerCase() : 'localhost';
  const { initPki } = await import('../collector/pki/pki.js');
  // Each demo node is an agent of its own, with its own client certificate from the same CA.
  const pki = await initPki(join(data, 'pki'), { nodes: [node, ...(demo ? DEMO_NODE_NAMES : [])], collectorHosts: ['localhost', '127.0.0.1', '::1'] });
  const agentCert = pki.agents[node];
  if (!agentCert) throw new Error(`no agent certificate for ${node}`);

  const tokenFile = join(data, 'admin.token');
  writeIfAbsent(tokenFile, `${randomBytes(32).toString('base64url')}\n`, 0o600);

  const collectorConfig = join(data, 'collector.yaml');
  writeIfAbsent(collectorConfig, [
    '# Written by `npm start`; edit freely. NODEWARD_* environment variables override it.',
    '# The listen ports are set at each start by `npm start -- --grpc-port N --api-port N`',
    '# (or NODEWARD_DEV_GRPC_PORT, NODEWARD_DEV_API_PORT), which override those below.',
    `dataDir: ${JSON.stringify(data)}`,
    'grpc:',
    `  listen: ${DEV_HOST}:${ports.grpc}`,
    `  caFile: ${JSON.stringify(pki.caCert)}`,
    `  certFile: ${JSON.stringify(pki.collectorCert)}`,
    `  keyFile: ${JSON.stringify(pki.collectorKey)}`,
    'api:',
    `  listen: ${DEV_HOST}:${ports.api}`,
    '  tokens:',
    '    - name: admin',
    '      role: admin',
    `      file: ${JSON.stringify(tokenFile)}`,
    '',
  ].join('\n'));
  const agentConfig = join(data, 'agent.yaml');
  writeIfAbsent(agentConfig, [
    '# Written by `npm start`; edit freely. NODEWARD_* environment variables override it.',
    '# The collector port and the health port are set at each start by `npm start -- --grpc-port N',
    '# --health-port N` (or NODEWARD_DEV_GRPC_PORT, NODEWARD_DEV_HEALTH_PORT), which override those below.',
    `node: ${node}`,
    'hostRoot: /',
    'procRoot: /proc',
    `stateDir: ${JSON.stringify(join(data, 'agent'))}`,
    'collector:',
    `  address: localhost:${ports.grpc}`,
    `  caFile: ${JSON.stringify(pki.caCert)}`,
    `  certFile: ${JSON.stringify(agentCert.cert)}`,
    `  keyFile: ${JSON.stringify(agentCert.key)}`,
    'scan:',
    '  intervalSeconds: 60',
    'health:',
    `  host: ${DEV_HOST}`,
    `  port: ${ports.health}`,
    '',
  ].join('\n'));
  // The ports of this start win over the files, which may come from an earlier one. The demo
  // nodes' names are always labelled demo: those left from an earlier --demo run stay so.
  const portEnv: Record<'collector' | 'agent', Record<string, string>> = {
    collector: { NODEWARD_GRPC_LISTEN: `${DEV_HOST}:${ports.grpc}`, NODEWARD_API_LISTEN: `${DEV_HOST}:${ports.api}`, NODEWARD_NODES_DEMO: DEMO_NODE_NAMES.join(',') },
    agent: { NODEWARD_COLLECTOR_ADDRESS: `localhost:${ports.grpc}`, NODEWARD_HEALTH_HOST: DEV_HOST, NODEWARD_HEALTH_PORT: String(ports.health) },
  };

  // The demo nodes' trees and configurations, afresh at every start (their state stays).
  const demoAgents = demo ? await Promise.all(DEMO_NODES.map(async (d) => {
    const paths = demoPaths(data, d.name);
    const cert = pki.agents[d.name];
    if (!cert) throw new Error(`no agent certificate for ${d.name}`);
    await prepareDemoTree(d, paths.host);
    writeFileSync(paths.config, demoAgentConfig(d.name, paths, { address: `localhost:${ports.grpc}`, caFile: pki.caCert, certFile: cert.cert, keyFile: cert.key }), { mode: 0o600 });
    return { node: d, paths };
  })) : [];

  const children: ChildProcess[] = [];
  const start = (name: string, command: 'collector' | 'agent', config: string, logFile: string, extraEnv: Record<string, string> = {}): ChildProcess => {
    const log = createWriteStream(logFile, { flags: 'a', mode: 0o600 });
    // Every agent, the demo nodes' too, runs with the memory settings of its image
    // (agent/runtime-env.ts): its environment and its Node.js options.
    const env = { ...(command === 'agent' ? agentEnv(process.env) : process.env), ...extraEnv };
    const child = spawn(process.execPath, [...(command === 'agent' ? AGENT_NODE_ARGS : []), ENTRY, command, '--config', config], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let stderrTail = '';
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    child.stderr?.on('data', (d: Buffer) => {
      stderrTail = (stderrTail + d.toString('utf8')).slice(-STDERR_TAIL_BYTES);
    });
    child.on('exit', (code, signal) => {
      if (!stopping) {
        const lastLine = stderrTail.trim().split('\n').at(-1);
        const advice = explainListenFailure(stderrTail, ports);
        process.stderr.write([
          `${name} exited (${signal ?? code}); see ${logFile}`,
          ...(lastLine ? [`  ${lastLine}`] : []),
          ...(advice ? [`  ${advice}`] : []),
        ].join('\n') + '\n');
        void shutdown(1);
      }
    });
    children.push(child);
    return child;
  };
  let stopping = false;
  const shutdown = async (code: number, why?: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    if (why) process.stderr.write(`nodeward dev: ${why}; see ${join(data, 'collector.log')}\n`);
    await Promise.all(children.map((c) => new Promise<void>((done) => {
      if (c.exitCode !== null || c.signalCode !== null) return done();
      c.once('exit', () => done());
      c.kill('SIGTERM');
    })));
    process.exit(code);
  };
  process.once('SIGINT', () => void shutdown(0));
  process.once('SIGTERM', () => void shutdown(0));

  const collector = start('collector', 'collector', collectorConfig, join(data, 'collector.log'), portEnv.collector);
  try {
    // The address the collector listens on (its certificate names it too), not `localhost`,
    // which may lead to another program on ::1.
    await waitReady(`https://${DEV_HOST}:${ports.api}/readyz`, readFileSync(pki.caCert), collector, 30_000);
  } catch (err) {
    // When the collector exited, its exit handler has said why and is stopping already.
    if (!stopping) await shutdown(1, (err as Error).message);
    return;
  }
  start('agent', 'agent', agentConfig, join(data, 'agent.log'), portEnv.agent);
  for (const d of demoAgents) start(d.node.name, 'agent', d.paths.config, d.paths.log);

  const rel = (p: string): string => (p.startsWith(`${process.cwd()}/`) ? p.slice(process.cwd().length + 1) : p);
  const api = `https://localhost:${ports.api}`;
  // `nodeward query` finds data/'s token and CA by itself, and assumes port 8443.
  const queryUrl = ports.api === 8443 ? '' : ` --url ${api}`;
  process.stdout.write([
    `nodeward ${version} is running on this machine (node ${node}).`,
    '',
    `  Dashboard:         ${api}/ui/ (log in with the admin token; the CA is ${rel(pki.caCert)})`,
    `  Query API:         ${api}/api/v1/`,
    `  Logs:              ${rel(join(data, 'collector.log'))}, ${rel(join(data, 'agent.log'))}`,
    `  Admin token:       ${rel(tokenFile)} (mode 600)`,
    `  Ports (${DEV_HOST}): ${DEV_PORTS.map((p) => `${p.name} ${ports[p.name]} (${p.flag})`).join(', ')}`,
    '',
    'Ask the collector what it found:',
    `  ./bin/nodeward query findings${queryUrl}`,
    `  curl --cacert ${rel(pki.caCert)} -H "Authorization: Bearer $(cat ${rel(tokenFile)})" ${api}/api/v1/findings`,
    '',
    ...(demo ? [
      `Demo nodes (labelled demo: agents scanning fixture host trees under ${rel(join(data, 'demo'))}/, not real nodes; rebuilt at each start):`,
      ...DEMO_NODES.map((d) => `  ${d.name.padEnd(20)}${d.what}`),
      `  Logs: ${rel(join(data, 'demo', '<node>', 'agent.log'))}. To remove them (docs/demo.md): stop, \`npm start\` without --demo,`,
      `  then ./bin/nodeward node delete NAME${queryUrl} for each, and rm -rf ${rel(join(data, 'demo'))}`,
      '',
    ] : []),
    `Press Ctrl-C to stop ${demo ? 'them all' : 'both'}.`,
    '',
  ].join('\n'));

  // Once the first scans are in: what they found, and when the host's learning ends.
  const conn: Connection = { url: new URL(`https://${DEV_HOST}:${ports.api}`), token: readFileSync(tokenFile, 'utf8').trim(), ca: readFileSync(pki.caCert), timeoutMs: 5000 };
  void reportFirstScans(conn, node, demo, queryUrl, () => stopping);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms).unref());

/**
 * The node's status once it has results (and, with `learning`, its learning window if its agent
 * watches processes); undefined if it has none in time.
 */
async function awaitFirstScan(conn: Connection, node: string, learning: boolean, deadline: number, stopped: () => boolean): Promise<NodeStatusLike | undefined> {
  let seen: NodeStatusLike | undefined;
  let resultsAt = 0;
  while (Date.now() < deadline && !stopped()) {
    const res = await getJson<NodeStatusLike>(conn, `/api/v1/nodes/${encodeURIComponent(node)}`).catch(() => undefined);
    if (res?.status === 200 && resultTotal(res.body.results) > 0) {
      seen = res.body;
      resultsAt ||= Date.now();
      // The learning window comes with the agent's first baseline report; a few seconds more for it.
      if (!learning || seen.hostLearning || Date.now() - resultsAt > 10_000) return seen;
    }
    await sleep(POLL_MS);
  }
  return seen;
}

async function reportFirstScans(conn: Connection, node: string, demo: boolean, queryUrl: string, stopped: () => boolean): Promise<void> {
  const deadline = Date.now() + FIRST_SCAN_WAIT_MS;
  const local = await awaitFirstScan(conn, node, true, deadline, stopped);
  if (stopped()) return;
  if (!local) {
    process.stdout.write(`No scan result from ${node} within ${FIRST_SCAN_WAIT_MS / 1000} s; see the agent's log.\n`);
    return;
  }
  process.stdout.write(`${firstScanLines(local, { demo, now: Date.now() }).join('\n')}\n`);
  if (!demo) return;
  const nodes: NodeStatusLike[] = [];
  for (const name of DEMO_NODE_NAMES) {
    // Demo agents watch no processes: no learning window to wait for.
    const n = await awaitFirstScan(conn, name, false, deadline, stopped);
    if (stopped()) return;
    if (n) nodes.push(n);
  }
  const summary = await getJson<{ byNode: Array<{ node: string; bySeverity: Record<string, number> }> }>(conn, '/api/v1/summary', { state: 'open', top: 100 }).catch(() => undefined);
  if (stopped() || summary?.status !== 200) return;
  const total: Record<string, number> = {};
  for (const row of summary.body.byNode) {
    if (!DEMO_NODE_NAMES.includes(row.node)) continue;
    for (const [sev, n] of Object.entries(row.bySeverity)) total[sev] = (total[sev] ?? 0) + n;
  }
  process.stdout.write(`${demoTriageLines(nodes, total, queryUrl).join('\n')}\n`);
}
