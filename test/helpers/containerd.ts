// A real container runtime for tests: Debian's containerd and runc, started by the test with
// its own root and state directories and its own socket in a temp dir (no system service),
// and containers run from a directory (`ctr run --rootfs`, no image pull) with the
// annotations and cgroup path the kubelet's CRI call would give a pod's container. Needs root
// (CI runs as root) and the packages containerd, runc and busybox-static.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { chmod, copyFile, mkdir, rmdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { executable } from './requirements.js';

const run = promisify(execFile);

export const CONTAINERD_BIN = '/usr/bin/containerd';
export const CTR_BIN = '/usr/bin/ctr';
export const RUNC_BIN = '/usr/sbin/runc';
export const BUSYBOX_BIN = '/bin/busybox';
/** The namespace the kubelet's containers live in (the CRI plugin's). */
export const K8S_NAMESPACE = 'k8s.io';

/** True when containerd, ctr, runc and a static busybox are there and this is root; otherwise why not. */
export function containerdAvailable(): true | string {
  for (const bin of [CONTAINERD_BIN, CTR_BIN, RUNC_BIN, BUSYBOX_BIN]) {
    const r = executable(bin);
    if (r !== true) return r;
  }
  if (process.getuid?.() !== 0) return 'running containers needs root';
  return true;
}

/** Where this machine's cgroup v2 hierarchy is mounted (/sys/fs/cgroup, or /sys/fs/cgroup/unified on a hybrid host). */
export function cgroup2Mount(): string {
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [left, right] = line.split(' - ');
    if (right?.split(' ')[0] === 'cgroup2') return left!.split(' ')[4]!;
  }
  throw new Error('no cgroup2 hierarchy is mounted');
}

/** The mount points of every cgroup hierarchy (v1 controllers and v2). */
export function cgroupMounts(): string[] {
  const out: string[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [left, right] = line.split(' - ');
    const type = right?.split(' ')[0];
    if (type === 'cgroup' || type === 'cgroup2') out.push(left!.split(' ')[4]!);
  }
  return out;
}

/** A fresh 64-hex container id, as the CRI plugin makes them. */
export const containerId = (): string => randomBytes(32).toString('hex');

export interface PodSpec {
  readonly namespace: string;
  /** The pod's name (for a Deployment: <deployment>-<rs hash>-<suffix>). */
  readonly pod: string;
  readonly container: string;
  readonly podUid?: string;
  /** The image the CRI annotation names (default test/busybox:static). */
  readonly image?: string;
  /** The root filesystem (default the busybox one, `rootfs`). */
  readonly rootfs?: string;
}

export interface Containerd {
  /** The state directory: bundles are under <state>/io.containerd.runtime.v2.task/<namespace>/<id>/. */
  readonly state: string;
  /** A busybox root filesystem (static busybox and its applets as symlinks). */
  readonly rootfs: string;
  /** Runs `cmd` in a new detached container of `pod` (a kubepods cgroup path, CRI annotations); returns its id. */
  start(pod: PodSpec, cmd: readonly string[]): Promise<{ id: string; cgroup: string }>;
  /** Runs `cmd` to its end in a new container of `pod`, which is then removed. */
  runOnce(pod: PodSpec, cmd: readonly string[]): Promise<{ id: string; cgroup: string }>;
  /** Runs `cmd` in a running container to its end (`ctr task exec`). */
  exec(id: string, cmd: readonly string[]): Promise<void>;
  /** Kills and removes a container. */
  remove(id: string): Promise<void>;
  stop(): Promise<void>;
}

export async function startContainerd(dir: string): Promise<Containerd> {
  const root = join(dir, 'root');
  const state = join(dir, 'state');
  const rootfs = join(dir, 'rootfs');
  const sock = join(state, 'containerd.sock');
  await mkdir(root, { recursive: true });
  await mkdir(state, { recursive: true });
  for (const d of ['bin', 'proc', 'dev', 'sys', 'tmp', 'etc']) await mkdir(join(rootfs, d), { recursive: true });
  await copyFile(BUSYBOX_BIN, join(rootfs, 'bin/busybox'));
  await chmod(join(rootfs, 'bin/busybox'), 0o755);
  for (const applet of ['sh', 'sleep', 'true', 'cat', 'echo', 'seq']) await symlink('busybox', join(rootfs, 'bin', applet));
  const config = join(dir, 'config.toml');
  // No CRI plugin (it would set up networking and image services the test does not need).
  await writeFile(config, [
    'version = 2', `root = ${JSON.stringify(root)}`, `state = ${JSON.stringify(state)}`,
    'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
    '[grpc]', `  address = ${JSON.stringify(sock)}`, '[ttrpc]', `  address = ${JSON.stringify(`${sock}.ttrpc`)}`,
    '[debug]', '  address = ""', '[metrics]', '  address = ""', '',
  ].join('\n'));
  const child: ChildProcess = spawn(CONTAINERD_BIN, ['--config', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    log = (log + d).slice(-8192);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ctr = (args: readonly string[]) => run(CTR_BIN, ['-a', sock, '-n', K8S_NAMESPACE, ...args], { timeout: 60_000 });
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await ctr(['version']);
      break;
    } catch (err) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`containerd did not start: ${(err as Error).message}\n${log}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const cgroupParents = new Set<string>();

  function runArgs(pod: PodSpec, id: string): { args: string[]; cgroup: string } {
    const podUid = pod.podUid ?? randomUUID();
    const parent = `/kubepods/besteffort/pod${podUid}`;
    cgroupParents.add(parent);
    const cgroup = `${parent}/${id}`;
    const annotations = {
      'io.kubernetes.cri.container-type': 'container',
      'io.kubernetes.cri.container-name': pod.container,
      'io.kubernetes.cri.sandbox-name': pod.pod,
      'io.kubernetes.cri.sandbox-namespace': pod.namespace,
      'io.kubernetes.cri.sandbox-uid': podUid,
      'io.kubernetes.cri.sandbox-id': containerId(),
      'io.kubernetes.cri.image-name': pod.image ?? 'test/busybox:static',
    };
    const args = ['--cgroup', cgroup, ...Object.entries(annotations).flatMap(([k, v]) => ['--annotation', `${k}=${v}`]), '--rootfs', pod.rootfs ?? rootfs, id];
    return { args, cgroup };
  }

  async function remove(id: string): Promise<void> {
    await ctr(['task', 'kill', '-s', 'KILL', id]).catch(() => undefined);
    for (let i = 0; i < 100; i++) {
      try {
        await ctr(['task', 'delete', id]);
        break;
      } catch (err) {
        if (/not found/.test((err as Error).message)) break;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    await ctr(['container', 'delete', id]).catch(() => undefined);
  }

  return {
    state, rootfs,
    async start(pod, cmd) {
      const id = containerId();
      const { args, cgroup } = runArgs(pod, id);
      await ctr(['run', '-d', ...args, ...cmd]);
      return { id, cgroup };
    },
    async runOnce(pod, cmd) {
      const id = containerId();
      const { args, cgroup } = runArgs(pod, id);
      await ctr(['run', '--rm', ...args, ...cmd]);
      return { id, cgroup };
    },
    async exec(id, cmd) {
      await ctr(['task', 'exec', '--exec-id', `e${randomBytes(6).toString('hex')}`, id, ...cmd]);
    },
    remove,
    async stop() {
      try {
        const { stdout } = await ctr(['container', 'list', '-q']);
        for (const id of stdout.split('\n').filter(Boolean)) await remove(id);
      } catch {
        // containerd already gone
      }
      child.kill('SIGTERM');
      await exited;
      // runc removes a container's cgroup; the pod and QoS levels above it are ours to remove.
      for (const mount of cgroupMounts()) {
        for (const parent of cgroupParents) {
          for (const p of [parent, '/kubepods/besteffort', '/kubepods']) await rmdir(join(mount, p)).catch(() => undefined);
        }
      }
    },
  };
}

/** A v2 cgroup's id: the inode of its directory, which the kernel reports at an exec. */
export function cgroupIdOf(path: string): number {
  return statSync(join(cgroup2Mount(), path)).ino;
}
