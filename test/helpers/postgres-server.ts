// A throwaway PostgreSQL server (Debian's `postgresql`, binaries under
// /usr/lib/postgresql/<major>/bin) for the tests and benchmarks of the PostgreSQL store:
// `initdb` in a temp dir, `postgres` on 127.0.0.1 with a free port and its socket in the same
// dir, durability off (fsync, full-page writes and synchronous commit: the data dies with the
// run), trust authentication for one superuser. initdb refuses to run as root, so when run as
// root (CI does) both programs are spawned with the uid and gid of the `postgres` user that
// the package creates; never through a shell. `stop()` ends the server and removes the dir.
//
// Free of ava, so bench/ can start one too; test/helpers/postgres.ts adds the tests' part
// (needsPostgres, one server per test file).
import { spawn, type ChildProcess } from 'node:child_process';
import { chownSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { eventually } from './https.js';
import { freePort } from './ports.js';

export const PG_ROOT = '/usr/lib/postgresql';
/** The superuser initdb creates; trust authentication, loopback only. */
export const PG_USER = 'nodeward';

/** The newest server installed: /usr/lib/postgresql/<major>/bin, or undefined. */
export function postgresBin(): string | undefined {
  let majors: number[];
  try {
    majors = readdirSync(PG_ROOT).map(Number).filter((n) => Number.isInteger(n) && n > 0);
  } catch {
    return undefined;
  }
  const newest = majors.sort((a, b) => b - a)[0];
  return newest === undefined ? undefined : join(PG_ROOT, String(newest), 'bin');
}

/** The `postgres` system user's uid and gid (from /etc/passwd), or why there is none. */
export function postgresAccount(): { uid: number; gid: number } | string {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('postgres:'));
  if (line === undefined) return 'no user postgres in /etc/passwd';
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

/** Running as root: the server must run as `postgres` (initdb refuses root). */
export const asRoot = (): boolean => process.getuid?.() === 0;

export interface TestPostgres {
  /** The server's major version and full version string (SHOW server_version). */
  readonly version: string;
  readonly port: number;
  /** A connection URL for a database of this server (no password: trust on loopback). */
  url(database: string): string;
  /** Creates a new, empty database and returns its name. */
  createDatabase(): Promise<string>;
  /** What the server logged. */
  log(): string;
  stop(): Promise<void>;
}

export interface PostgresOptions {
  /** Serve TLS too (ssl=on) with this certificate and key (PEM); clients may still connect without. */
  readonly tls?: { readonly certPem: string; readonly keyPem: string };
  /** Server settings (-c name=value) over the defaults here, e.g. a benchmark's shared_buffers. */
  readonly settings?: Readonly<Record<string, string>>;
}

let databases = 0;

/** A client of one of the server's databases, connected. */
export async function connectTo(url: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  return c;
}

/** Starts a server; rejects with its log when it does not come up. */
export async function startPostgres(opts: PostgresOptions = {}): Promise<TestPostgres> {
  const bin = postgresBin();
  if (bin === undefined) throw new Error(`no PostgreSQL under ${PG_ROOT}`);
  const base = await mkdtemp(join(tmpdir(), 'nodeward-pg-'));
  const data = join(base, 'data');
  const socketDir = join(base, 'socket');
  await mkdir(socketDir, { mode: 0o700 });
  let ids: { uid: number; gid: number } | Record<string, never> = {};
  if (asRoot()) {
    const account = postgresAccount();
    if (typeof account === 'string') throw new Error(account);
    ids = account;
    chownSync(base, account.uid, account.gid);
    chownSync(socketDir, account.uid, account.gid);
  }
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' };
  const init = await run(join(bin, 'initdb'), ['-D', data, '-U', PG_USER, '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions'], { ...ids, cwd: base, env });
  if (init.code !== 0) {
    await rm(base, { recursive: true, force: true });
    throw new Error(`initdb exited with ${init.code}:\n${init.output.slice(-3000)}`);
  }
  const extra: string[] = [];
  if (opts.tls) {
    // The server refuses a key others can read; it reads both as the postgres user.
    const cert = join(data, 'server.crt');
    const key = join(data, 'server.key');
    await writeFile(cert, opts.tls.certPem);
    await writeFile(key, opts.tls.keyPem, { mode: 0o600 });
    await chmod(key, 0o600);
    if ('uid' in ids) for (const f of [cert, key]) await chown(f, ids.uid, ids.gid);
    extra.push('-c', 'ssl=on', '-c', `ssl_cert_file=${cert}`, '-c', `ssl_key_file=${key}`);
  }
  for (const [name, value] of Object.entries(opts.settings ?? {})) extra.push('-c', `${name}=${value}`);
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        return await serve(bin, base, data, socketDir, ids, env, extra);
      } catch (err) {
        if (attempt >= 3 || !/could not bind|already in use/i.test((err as Error).message)) throw err;
      }
    }
  } catch (err) {
    await rm(base, { recursive: true, force: true });
    throw err;
  }
}

async function serve(bin: string, base: string, data: string, socketDir: string, ids: object, env: Record<string, string>, extra: readonly string[]): Promise<TestPostgres> {
  const port = await freePort();
  const child = spawn(join(bin, 'postgres'), [
    '-D', data, '-p', String(port),
    '-c', 'listen_addresses=127.0.0.1',
    '-c', `unix_socket_directories=${socketDir}`,
    '-c', 'fsync=off', '-c', 'full_page_writes=off', '-c', 'synchronous_commit=off',
    '-c', 'max_connections=100', '-c', 'shared_buffers=32MB',
    ...extra,
  ], { ...ids, cwd: base, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const chunks: string[] = [];
  child.stdout?.setEncoding('utf8').on('data', (d: string) => chunks.push(d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => chunks.push(d));
  const log = (): string => chunks.join('');
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const gone = (): boolean => child.exitCode !== null || child.signalCode !== null;
  // A test worker that dies (an uncaught exception) runs no after hook: the server goes with it.
  const orphaned = (): void => {
    if (!gone()) child.kill('SIGKILL');
    rmSync(base, { recursive: true, force: true });
  };
  process.once('exit', orphaned);
  child.once('exit', () => process.removeListener('exit', orphaned));
  const halt = async (): Promise<void> => {
    if (gone()) return;
    child.kill('SIGINT'); // Fast shutdown: active sessions are ended.
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  const url = (database: string): string => `postgres://${PG_USER}@127.0.0.1:${port}/${database}`;
  const state = await eventually('PostgreSQL to accept connections', () => {
    if (gone()) return 'exited' as const;
    return /ready to accept connections/.test(log()) ? 'ready' as const : undefined;
  }, 30_000, 50).catch(async (err: unknown) => {
    await halt();
    throw new Error(`${(err as Error).message}:\n${log().slice(-3000)}`);
  });
  if (state === 'exited') throw new Error(`postgres exited (${child.exitCode ?? child.signalCode}) before accepting connections:\n${log().slice(-3000)}`);
  let admin: pg.Client | undefined;
  let version: string;
  try {
    admin = await connectTo(url('postgres'));
    version = (await admin.query<{ server_version: string }>('SHOW server_version')).rows[0]!.server_version;
  } catch (err) {
    await halt();
    throw err;
  } finally {
    await admin?.end().catch(() => undefined);
  }
  return {
    version, port, url, log,
    async createDatabase(): Promise<string> {
      const name = `t${process.pid}_${++databases}`;
      const c = await connectTo(url('postgres'));
      try {
        // A name made here of digits and letters; identifiers cannot be bound.
        await c.query(`CREATE DATABASE ${name}`);
      } finally {
        await c.end();
      }
      return name;
    },
    async stop(): Promise<void> {
      await halt();
      await rm(base, { recursive: true, force: true });
    },
  };
}

function run(file: string, args: readonly string[], opts: { uid?: number; gid?: number; cwd: string; env: Record<string, string> }): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(file, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: string[] = [];
    child.stdout?.setEncoding('utf8').on('data', (d: string) => chunks.push(d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => chunks.push(d));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output: chunks.join('') }));
  });
}
