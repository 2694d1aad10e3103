// `nodeward dev` (what `npm start` runs) as a real process on free loopback ports, in a temp
// data directory: its output, the API it serves (with the admin token it wrote), and a stop
// that signals it and waits for it to end.
import type { ExecutionContext } from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NODEWARD_BIN } from './process.js';
import { eventually, httpsJson } from './https.js';

export const close = (s: Server): Promise<void> => new Promise((resolve) => s.close(() => resolve()));

export function listen(port = 0): Promise<Server> {
  return new Promise((resolve, reject) => {
    const s = createServer().once('error', reject).listen(port, '127.0.0.1', () => resolve(s));
  });
}

export const portOf = (s: Server): number => (s.address() as { port: number }).port;

/** Ports free right now (each held until all are chosen, so they differ). */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: n }, () => listen()));
  const ports = servers.map(portOf);
  await Promise.all(servers.map(close));
  return ports;
}

export interface DevRun {
  readonly child: ChildProcess;
  /** The data directory (`--data`). */
  readonly data: string;
  readonly ports: { readonly grpc: number; readonly api: number; readonly health: number };
  /** The API as the collector listens on it, https://127.0.0.1:PORT. */
  readonly apiUrl: string;
  stdout(): string;
  stderr(): string;
  /** GET on the API with the admin token `dev` wrote; the JSON body of a 200, else it throws. */
  get<T = any>(path: string): Promise<T>;
  /** The flags `nodeward query` needs to reach this collector. */
  queryFlags(): string[];
  /** Signals the process and resolves with its exit code (null: killed by a signal). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts `nodeward dev --data <dir> <ports> ...args` and waits until it says it is running.
 * The data directory is a new temp one (removed at the end of the test), or `opts.data`.
 */
export async function startDev(t: ExecutionContext, args: readonly string[] = [], opts: { data?: string } = {}): Promise<DevRun> {
  const dir = opts.data === undefined ? await mkdtemp(join(tmpdir(), 'nodeward-dev-')) : undefined;
  const data = opts.data ?? join(dir!, 'data');
  const [grpc, api, health] = (await freePorts(3)) as [number, number, number];
  const child = spawn(process.execPath, [NODEWARD_BIN, 'dev', '--data', data, '--grpc-port', String(grpc), '--api-port', String(api), '--health-port', String(health), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const running = (): boolean => child.exitCode === null && child.signalCode === null;
  t.teardown(async () => {
    if (running()) {
      child.kill('SIGKILL');
      await exited;
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  await eventually('dev says it is running', () => (stdout.includes('is running') ? true : !running() ? Promise.reject(new Error(stderr)) : undefined), 90_000);
  const apiUrl = `https://127.0.0.1:${api}`;
  const ca = readFileSync(join(data, 'pki', 'ca.crt'));
  const token = readFileSync(join(data, 'admin.token'), 'utf8').trim();
  return {
    child, data, ports: { grpc, api, health }, apiUrl,
    stdout: () => stdout,
    stderr: () => stderr,
    async get(path) {
      const res = await httpsJson(`${apiUrl}${path}`, { ca, token });
      if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body;
    },
    queryFlags: () => ['--url', `https://localhost:${api}`, '--token-file', join(data, 'admin.token'), '--ca-file', join(data, 'pki', 'ca.crt')],
    async stop(signal = 'SIGTERM') {
      if (running()) child.kill(signal);
      return exited;
    },
  };
}

/** Processes whose command line mentions `text` (e.g. a data directory): what is still running of a run. */
export async function processesMentioning(text: string): Promise<Array<{ pid: number; cmdline: string }>> {
  const found: Array<{ pid: number; cmdline: string }> = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(text)) found.push({ pid: Number(entry), cmdline: cmdline.replace(/\0/g, ' ').trim() });
  }
  return found;
}
