// A real etcd (Debian's etcd-server, /usr/bin/etcd) on 127.0.0.1 with free ports, its files in
// a host tree the test builds, for `nodeward scan --proc-root /proc --host-root <tree>`.
//
// Paths: the agent finds the real etcd process through /proc and reads the paths on its
// command line inside the host root. etcd itself opens them on the real filesystem. So etcd is
// given real paths INSIDE the tree (`<tree>/etc/kubernetes/pki/etcd/server.crt`), and the tree
// holds one symbolic link, `<tree><tree> -> /`: inside the host root, the absolute target `/`
// is the tree's own root (agent/facts/host-fs.ts re-roots absolute targets), so the agent
// resolves `<tree>/etc/kubernetes/...` named on the command line to the tree's
// `/etc/kubernetes/...`, the very file etcd opened. Both views see the same bytes, and the
// tree's /etc/kubernetes/pki is also where the agent's layout looks for the cluster's PKI.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { eventually } from './https.js';
import { freePort } from './ports.js';
import { executable, needs, type Declare } from './requirements.js';

/** Where the etcd tests took a free port from (ports.ts). */
export { freePort } from './ports.js';

export const ETCD_BIN = '/usr/bin/etcd';
export const ETCDCTL_BIN = '/usr/bin/etcdctl';

/** Tests that need a real etcd: serial (one etcd at a time), failing in CI when it is missing. */
export function needsEtcd(): Declare {
  return needs({
    what: 'etcd (server and etcdctl)',
    packages: ['etcd-server', 'etcd-client'],
    check: () => {
      for (const bin of [ETCD_BIN, ETCDCTL_BIN]) {
        const ok = executable(bin);
        if (ok !== true) return ok;
      }
      return true;
    },
    serial: true,
  });
}

export interface EtcdHost {
  /** The host root to scan with --host-root. */
  readonly root: string;
  /** The real path etcd is given for a host path (the same file, seen from the real filesystem). */
  real(hostPath: string): string;
  /** Writes a file at a host path (parents made 0755), with its mode. */
  write(hostPath: string, content: string | Buffer, mode: number): Promise<void>;
  cleanup(): Promise<void>;
}

export async function createEtcdHost(): Promise<EtcdHost> {
  const base = await mkdtemp(join(tmpdir(), 'nodeward-etcd-'));
  const root = join(base, 'host');
  await mkdir(root, { mode: 0o755 });
  // The mirror link: <root><root> -> / (see the top of this file).
  await mkdir(join(root, dirname(root)), { recursive: true });
  await symlink('/', join(root, root));
  const real = (hostPath: string): string => join(root, hostPath);
  const write = async (hostPath: string, content: string | Buffer, mode: number): Promise<void> => {
    await mkdir(dirname(real(hostPath)), { recursive: true, mode: 0o755 });
    await writeFile(real(hostPath), content);
    await chmod(real(hostPath), mode);
  };
  await write('/etc/passwd', 'root:x:0:0:root:/root:/bin/sh\netcd:x:52:52:etcd:/var/lib/etcd:/usr/sbin/nologin\n', 0o644);
  await write('/etc/group', 'root:x:0:\netcd:x:52:\n', 0o644);
  return { root, real, write, cleanup: () => rm(base, { recursive: true, force: true }) };
}

/** A port nothing listens on right now (the OS picks it; etcd binds it a moment later). */
export interface EtcdPorts {
  readonly client: number;
  readonly peer: number;
}

export interface RunningEtcd {
  readonly pid: number;
  readonly ports: EtcdPorts;
  readonly child: ChildProcess;
  /** What etcd wrote (it logs on stderr). */
  log(): string;
  stop(): Promise<void>;
}

export const ETCD_NAME = 'nodeward-test';
export const ETCD_DATA_DIR = '/var/lib/etcd';

/**
 * Starts etcd with the member basics (name, data dir in the tree, peer URL, single-member
 * cluster) and `args(ports)` for everything the test decides (client URLs, TLS). Resolves
 * once etcd says it is ready to serve clients; rejects with its log when it exits first.
 */
export async function startEtcd(host: EtcdHost, args: (ports: EtcdPorts) => readonly string[], peerScheme: 'http' | 'https'): Promise<RunningEtcd> {
  // A free port can be taken by someone else before etcd binds it: then again, on new ports.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(host, args, peerScheme);
    } catch (err) {
      if (attempt >= 3 || !/address already in use/.test((err as Error).message)) throw err;
      await rm(host.real(ETCD_DATA_DIR), { recursive: true, force: true });
    }
  }
}

async function startOnce(host: EtcdHost, args: (ports: EtcdPorts) => readonly string[], peerScheme: 'http' | 'https'): Promise<RunningEtcd> {
  const ports = { client: await freePort(), peer: await freePort() };
  await mkdir(host.real(ETCD_DATA_DIR), { recursive: true, mode: 0o700 });
  const peerUrl = `${peerScheme}://127.0.0.1:${ports.peer}`;
  const child = spawn(ETCD_BIN, [
    '--name', ETCD_NAME,
    '--data-dir', host.real(ETCD_DATA_DIR),
    '--listen-peer-urls', peerUrl,
    '--initial-advertise-peer-urls', peerUrl,
    '--initial-cluster', `${ETCD_NAME}=${peerUrl}`,
    '--initial-cluster-state', 'new',
    ...args(ports),
  ], {
    cwd: host.root,
    // No ETCD_* from the test's own environment: the flags are the whole configuration.
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const chunks: string[] = [];
  child.stdout?.setEncoding('utf8').on('data', (d: string) => chunks.push(d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => chunks.push(d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const log = (): string => chunks.join('');
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  let state: 'ready' | 'exited';
  try {
    state = await eventually('etcd to serve clients', () => {
      if (child.exitCode !== null || child.signalCode !== null) return 'exited' as const;
      return /ready to serve client requests/.test(log()) ? 'ready' as const : undefined;
    }, 30_000, 50);
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}:\n${log().slice(-3000)}`);
  }
  if (state === 'exited') throw new Error(`etcd exited (${child.exitCode ?? child.signalCode}) before serving:\n${log().slice(-3000)}`);
  return { pid: child.pid as number, ports, child, log, stop };
}
