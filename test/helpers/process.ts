// Runs `bin/nodeward` as a separate OS process and follows its JSON log lines; and a
// collector as such a process, the way the end-to-end tests start one.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hashToken } from '../../collector/config.js';
import type { PkiPaths } from '../../collector/pki/pki.js';

export const NODEWARD_BIN = fileURLToPath(new URL('../../../bin/nodeward', import.meta.url));

export interface Ran { readonly code: number; readonly stdout: string; readonly stderr: string }

/**
 * Runs one `nodeward` command as an operator would (a process of its own, from /, with only
 * PATH and `env` in its environment) and returns its exit code and output.
 */
export function runNodeward(args: readonly string[], env: Record<string, string> = {}): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(process.execPath, [NODEWARD_BIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 30_000, cwd: '/', maxBuffer: 16 << 20 },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }));
  });
}

export interface LogLine {
  readonly msg?: string;
  /** The level's name: trace, debug, info, warn, error, fatal. */
  readonly level?: string;
  readonly [key: string]: unknown;
}

export interface NodewardProcess {
  readonly child: ChildProcess;
  readonly lines: LogLine[];
  /** Everything the process wrote, stdout and stderr, as text. */
  output(): string;
  /** Resolves with the first log line (from index `from`) matching, or rejects on timeout/exit. */
  waitFor(pred: (l: LogLine) => boolean, opts?: { timeoutMs?: number; from?: number }): Promise<LogLine>;
  count(pred: (l: LogLine) => boolean): number;
  kill(signal: NodeJS.Signals): Promise<void>;
}

/**
 * `wrapper` runs the process under another program (e.g. `['strace', '-f', '-o', log]`); the
 * log lines are still the nodeward process's own, and `kill` signals the wrapper.
 */
export function startNodeward(args: string[], env: Record<string, string> = {}, wrapper: readonly string[] = []): NodewardProcess {
  const [command, ...prefix] = [...wrapper, process.execPath];
  const child = spawn(command as string, [...prefix, NODEWARD_BIN, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  const lines: LogLine[] = [];
  const chunks: string[] = [];
  let partial = '';
  const listeners = new Set<() => void>();
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    chunks.push(d);
    partial += d;
    const parts = partial.split('\n');
    partial = parts.pop() ?? '';
    for (const p of parts) {
      try {
        lines.push(JSON.parse(p) as LogLine);
      } catch {
        // not a log line
      }
    }
    for (const l of listeners) l();
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => chunks.push(d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('exit', () => {
    for (const l of listeners) l();
  });
  return {
    child,
    lines,
    output: () => chunks.join(''),
    count: (pred) => lines.filter(pred).length,
    waitFor(pred, opts = {}) {
      const { timeoutMs = 20_000, from = 0 } = opts;
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const hit = lines.slice(from).find(pred);
          if (hit) {
            done();
            resolve(hit);
          } else if (child.exitCode !== null || child.signalCode !== null) {
            done();
            reject(new Error(`process exited (${child.exitCode ?? child.signalCode}) before the expected log line:\n${chunks.join('').slice(-3000)}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`timed out after ${timeoutMs} ms waiting for a log line:\n${chunks.join('').slice(-3000)}`));
        }, timeoutMs);
        const done = (): void => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      });
    },
    async kill(signal) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      await exited;
    },
  };
}

export interface CollectorProcess {
  readonly proc: NodewardProcess;
  readonly grpcPort: number;
  readonly apiPort: number;
  /** Its database and the rest of its state. */
  readonly dataDir: string;
  /** Starts it again (after a kill) with the same settings on the same ports, as a restarted pod behind a Service. */
  restart(): Promise<CollectorProcess>;
}

export interface CollectorProcessOptions {
  /** Where its config file (collector.yaml) and its data dir (collector/) go. */
  readonly dir: string;
  /** Its CA and serving certificate (initPki's). */
  readonly pki: Pick<PkiPaths, 'caCert' | 'collectorCert' | 'collectorKey'>;
  /** The token of its one API token, an admin named `admin`. */
  readonly adminToken: string;
  /** More settings, e.g. `webhooks`, `log`. */
  readonly settings?: Record<string, unknown>;
  /** Where the process is added, for the test's teardown to kill. */
  readonly running: NodewardProcess[];
}

/**
 * `nodeward collector --config` as its own OS process on loopback ports the OS picks, with
 * mTLS from `pki`; resolves once both its API and its gRPC port listen.
 */
export async function startCollectorProcess(opts: CollectorProcessOptions): Promise<CollectorProcess> {
  const configFile = join(opts.dir, 'collector.yaml');
  const dataDir = join(opts.dir, 'collector');
  const start = async (grpcPort: number, apiPort: number): Promise<CollectorProcess> => {
    await writeFile(configFile, JSON.stringify({
      dataDir,
      grpc: { listen: `127.0.0.1:${grpcPort}`, caFile: opts.pki.caCert, certFile: opts.pki.collectorCert, keyFile: opts.pki.collectorKey },
      api: { listen: `127.0.0.1:${apiPort}`, tokens: [{ name: 'admin', role: 'admin', sha256: hashToken(opts.adminToken) }] },
      ...opts.settings,
    }));
    const proc = startNodeward(['collector', '--config', configFile]);
    opts.running.push(proc);
    const api = await proc.waitFor((l) => l.msg === 'API listening');
    const grpc = await proc.waitFor((l) => l.msg === 'gRPC listening');
    const started: CollectorProcess = {
      proc, grpcPort: grpc.port as number, apiPort: api.port as number, dataDir,
      restart: () => start(started.grpcPort, started.apiPort),
    };
    return started;
  };
  return start(0, 0);
}
