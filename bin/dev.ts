// `npm start`: the whole system on this machine with embedded defaults. Creates ./data
// (PKI, admin token, configs) when absent, starts a collector and an agent scanning this
// machine as two processes, and prints how to query them. The token is never printed.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isValidNodeName } from '../proto/domain.js';
import { agentEnv } from '../agent/runtime-env.js';

const GRPC_PORT = 7443;
const API_PORT = 8443;
const ENTRY = fileURLToPath(new URL('../../bin/nodeward', import.meta.url));

function writeIfAbsent(path: string, text: string, mode = 0o644): void {
  if (!existsSync(path)) writeFileSync(path, text, { mode });
}

function waitReady(url: string, ca: Buffer, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      if (child.exitCode !== null) return reject(new Error('the collector exited during start-up; see its log'));
      const req = request(url, { ca, timeout: 1000 }, (res) => {
        res.resume();
        if (res.statusCode === 200) resolve();
        else retry();
      });
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

export async function runDev(dataDir: string, version: string): Promise<void> {
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
    `dataDir: ${JSON.stringify(data)}`,
    'grpc:',
    `  listen: 127.0.0.1:${GRPC_PORT}`,
    `  caFile: ${JSON.stringify(pki.caCert)}`,
    `  certFile: ${JSON.stringify(pki.collectorCert)}`,
    `  keyFile: ${JSON.stringify(pki.collectorKey)}`,
    'api:',
    `  listen: 127.0.0.1:${API_PORT}`,
    '  tokens:',
    '    - name: admin',
    '      role: admin',
    `      file: ${JSON.stringify(tokenFile)}`,
    '',
  ].join('\n'));
  const agentConfig = join(data, 'agent.yaml');
  writeIfAbsent(agentConfig, [
    '# Written by `npm start`; edit freely. NODEWARD_* environment variables override it.',
    `node: ${node}`,
    'hostRoot: /',
    'procRoot: /proc',
    `stateDir: ${JSON.stringify(join(data, 'agent'))}`,
    'collector:',
    `  address: localhost:${GRPC_PORT}`,
    `  caFile: ${JSON.stringify(pki.caCert)}`,
    `  certFile: ${JSON.stringify(agentCert.cert)}`,
    `  keyFile: ${JSON.stringify(agentCert.key)}`,
    'scan:',
    '  intervalSeconds: 60',
    '',
  ].join('\n'));

  const children: ChildProcess[] = [];
  const start = (name: string, config: string): ChildProcess => {
    const log = createWriteStream(join(data, `${name}.log`), { flags: 'a', mode: 0o600 });
    // The agent runs with the memory settings of its image (agent/runtime-env.ts).
    const env = name === 'agent' ? agentEnv(process.env) : process.env;
    const child = spawn(process.execPath, [ENTRY, name, '--config', config], { stdio: ['ignore', 'pipe', 'pipe'], env });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    child.on('exit', (code, signal) => {
      if (!stopping) {
        process.stderr.write(`${name} exited (${signal ?? code}); see ${join(data, `${name}.log`)}\n`);
        void shutdown(1);
      }
    });
    children.push(child);
    return child;
  };
  let stopping = false;
  const shutdown = async (code: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
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
  await waitReady(`https://localhost:${API_PORT}/readyz`, (await import('node:fs')).readFileSync(pki.caCert), collector, 30_000);
  start('agent', agentConfig);

  const rel = (p: string): string => (p.startsWith(`${process.cwd()}/`) ? p.slice(process.cwd().length + 1) : p);
  process.stdout.write([
    `nodeward ${version} is running on this machine (node ${node}).`,
    '',
    `  Dashboard:         https://localhost:${API_PORT}/ui/ (log in with the admin token; the CA is ${rel(pki.caCert)})`,
    `  Query API:         https://localhost:${API_PORT}/api/v1/`,
    `  Logs:              ${rel(join(data, 'collector.log'))}, ${rel(join(data, 'agent.log'))}`,
    `  Admin token:       ${rel(tokenFile)} (mode 600)`,
    '',
    'Ask the collector what it found:',
    `  curl --cacert ${rel(pki.caCert)} -H "Authorization: Bearer $(cat ${rel(tokenFile)})" https://localhost:${API_PORT}/api/v1/findings`,
    '',
    'Press Ctrl-C to stop both.',
    '',
  ].join('\n'));
}
