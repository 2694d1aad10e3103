// `npm start`: the whole system on this machine with embedded defaults. Creates ./data
// (PKI, admin token, configs) when absent, starts a collector and an agent scanning this
// machine as two processes, and prints how to query them. The token is never printed.
// Its three ports come from flags or the environment (bin/dev-ports.ts); each is checked
// before anything starts, and start-up ends, never hangs, when one is taken.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isValidNodeName } from '../proto/domain.js';
import { AGENT_NODE_ARGS, agentEnv } from '../agent/runtime-env.js';
import { DEV_HOST, DEV_PORTS, type DevPorts, explainListenFailure, unavailablePorts } from './dev-ports.js';

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

export async function runDev(dataDir: string, version: string, ports: DevPorts): Promise<void> {
  const unavailable = await unavailablePorts(ports);
  if (unavailable.length > 0) {
    throw Object.assign(new Error(`cannot start: ${unavailable.join('; ')}`), { code: 'PORT_UNAVAILABLE' });
  }
  const data = resolve(dataDir);
  mkdirSync(data, { recursive: true, mode: 0o700 });
  const node = isValidNodeName(hostname().toLowerCase()) ? hostname().toLowerCase() : 'localhost';
  const { initPki } = await import('../collector/pki/pki.js');
  const pki = await initPki(join(data, 'pki'), { nodes: [node], collectorHosts: ['localhost', '127.0.0.1', '::1'] });
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
  // The ports of this start win over the files, which may come from an earlier one.
  const portEnv: Record<'collector' | 'agent', Record<string, string>> = {
    collector: { NODEWARD_GRPC_LISTEN: `${DEV_HOST}:${ports.grpc}`, NODEWARD_API_LISTEN: `${DEV_HOST}:${ports.api}` },
    agent: { NODEWARD_COLLECTOR_ADDRESS: `localhost:${ports.grpc}`, NODEWARD_HEALTH_HOST: DEV_HOST, NODEWARD_HEALTH_PORT: String(ports.health) },
  };

  const children: ChildProcess[] = [];
  const start = (name: 'collector' | 'agent', config: string): ChildProcess => {
    const log = createWriteStream(join(data, `${name}.log`), { flags: 'a', mode: 0o600 });
    // The agent runs with the memory settings of its image (agent/runtime-env.ts): its
    // environment and its Node.js options.
    const env = { ...(name === 'agent' ? agentEnv(process.env) : process.env), ...portEnv[name] };
    const child = spawn(process.execPath, [...(name === 'agent' ? AGENT_NODE_ARGS : []), ENTRY, name, '--config', config], { stdio: ['ignore', 'pipe', 'pipe'], env });
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
          `${name} exited (${signal ?? code}); see ${join(data, `${name}.log`)}`,
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

  const collector = start('collector', collectorConfig);
  try {
    // The address the collector listens on (its certificate names it too), not `localhost`,
    // which may lead to another program on ::1.
    await waitReady(`https://${DEV_HOST}:${ports.api}/readyz`, (await import('node:fs')).readFileSync(pki.caCert), collector, 30_000);
  } catch (err) {
    // When the collector exited, its exit handler has said why and is stopping already.
    if (!stopping) await shutdown(1, (err as Error).message);
    return;
  }
  start('agent', agentConfig);

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
    'Press Ctrl-C to stop both.',
    '',
  ].join('\n'));
}
