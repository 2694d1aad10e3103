// What the eBPF exec program (native/bpf/exec.bpf.c) reads in the kernel at the exec, beyond
// the path, checked against the real kernel with real processes:
//   - the executed file's identity beyond dev/ino (size, mtime, ctime) and its mode must be
//     what fstat() on the same file says (fs.statSync with bigint), on ext4, tmpfs and an
//     overlay mount (a container's root), also after the file changes in place, for a time
//     before 1970, and with the setuid bit;
//   - a setuid-root copy run by nobody shows uid 65534 and euid 0 (setgid likewise, with gids);
//   - what descriptors 0, 1 and 2 of the new process are: a TCP socket over IPv4 and IPv6, a
//     unix socket, a pipe, /dev/null, a regular file, a closed descriptor, a netlink socket,
//     an eventfd and an O_PATH descriptor of a unix socket's name (which is no socket).
// Needs root in the host's namespaces, the addons built (`npm run build:native` with clang,
// llvm and libbpf-dev), python3 and util-linux's setpriv: skipped elsewhere with the
// reason, failed in CI.
import { spawn } from 'node:child_process';
import { chmodSync, closeSync, mkdirSync, openSync, statSync, writeFileSync, type BigIntStats } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { startBpfExecEvents, type ExecRecord, type KernelExecFacts, type StdioFact } from '../../agent/processes/exec-events.js';
import { exitOnlyElf } from '../helpers/elf.js';
import { needs } from '../helpers/requirements.js';
import { EBPF_PACKAGES, ebpfAvailable, tempDir, waitFor } from './helpers.js';

const PYTHON = '/usr/bin/python3';
const SETPRIV = '/usr/bin/setpriv';
const NOBODY = 65534;

function available(): true | string {
  if (process.getuid?.() !== 0) return 'not root';
  return ebpfAvailable(PYTHON, SETPRIV, '/bin/mount');
}

const factsTest = needs({
  what: 'the eBPF exec source (root on the host, addons built with clang/libbpf), python3 and setpriv',
  packages: [...EBPF_PACKAGES, 'python3', 'util-linux'], check: available, serial: true,
});

/** The eBPF source on, keeping the records of executables under `dir`. */
function recordsUnder(t: ExecutionContext, dir: string): (exe: string, n: number) => Promise<KernelExecFacts[]> {
  const got = new Map<string, ExecRecord[]>();
  const r = startBpfExecEvents({ queue: 1024 }, (rec) => {
    if (rec.exe === null || !rec.exe.startsWith(`${dir}/`)) return;
    got.set(rec.exe, [...(got.get(rec.exe) ?? []), rec]);
  });
  if (!r.ok) throw new Error(`${r.code}: ${r.reason}`);
  t.teardown(() => r.source.stop());
  return (exe, n) => waitFor(`${n} exec record(s) of ${exe}`, () => {
    const recs = got.get(exe) ?? [];
    return recs.length >= n ? recs.map((x) => x.kernel!) : undefined;
  }, 20_000);
}

/** Runs a command to its end; its exit code. */
function run(file: string, args: readonly string[], stdio: Parameters<typeof spawn>[2]['stdio'] = 'ignore'): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const c = spawn(file, args, { stdio });
    c.once('error', reject);
    c.once('exit', resolve);
  });
}

function freshElf(dir: string, name: string): string {
  const path = join(dir, name);
  writeFileSync(path, exitOnlyElf(), { mode: 0o755 });
  return path;
}

const identity = (s: BigIntStats) => ({ dev: Number(s.dev), ino: Number(s.ino), size: Number(s.size), mtimeNs: s.mtimeNs, ctimeNs: s.ctimeNs, mode: Number(s.mode) });

factsTest('eBPF: the executed file\'s size, mtime, ctime and mode are what fstat() says, on ext4, tmpfs and overlay, as the file changes', async (t) => {
  t.timeout(60_000);
  const disk = await tempDir('ebpf-facts');
  t.teardown(disk.cleanup);
  const shm = join('/dev/shm', `nodeward-ebpf-facts-${process.pid}`);
  mkdirSync(shm);
  t.teardown(() => run('/bin/rm', ['-rf', shm]));
  // An overlay mount, as a container's root is: the file in its lower layer.
  const ov = join(disk.path, 'ov');
  for (const d of ['lower', 'upper', 'work', 'merged']) mkdirSync(join(ov, d), { recursive: true });
  freshElf(join(ov, 'lower'), 'bin');
  t.is(await run('/bin/mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${ov}/lower,upperdir=${ov}/upper,workdir=${ov}/work`, join(ov, 'merged')], ['ignore', 'ignore', 'inherit']), 0);
  t.teardown(() => run('/bin/umount', [join(ov, 'merged')]));
  t.not(statSync(join(ov, 'merged')).dev, statSync(ov).dev, 'the overlay is a filesystem of its own');

  const onDisk = recordsUnder(t, disk.path);
  const onShm = recordsUnder(t, shm);
  const cases = [
    { fs: 'ext4', path: freshElf(disk.path, 'bin'), records: onDisk },
    { fs: 'tmpfs', path: freshElf(shm, 'bin'), records: onShm },
    { fs: 'overlay', path: join(ov, 'merged', 'bin'), records: onDisk },
  ];
  for (const c of cases) {
    const expected: ReturnType<typeof identity>[] = [];
    const execAndStat = async (): Promise<void> => {
      t.is(await run(c.path, []), 0, `${c.fs}: ${c.path} runs`);
      expected.push(identity(statSync(c.path, { bigint: true })));
    };
    await execAndStat();
    // Changed in place: longer (an ELF runs with bytes after its segments), a time before 1970
    // with nanoseconds, setuid (the ctime moves with each).
    writeFileSync(c.path, Buffer.concat([exitOnlyElf(), Buffer.alloc(4099, 0x5a)]));
    t.is(await run('/usr/bin/touch', ['-m', '-d', '@-315619199.123456789', c.path]), 0);
    chmodSync(c.path, 0o4755);
    await execAndStat();
    t.true(expected[1]!.mtimeNs < 0n && expected[1]!.size === expected[0]!.size + 4099);
    const got = await c.records(c.path, expected.length);
    t.deepEqual(got.map((k) => ({ dev: k.dev, ino: k.ino, size: k.size, mtimeNs: k.mtimeNs, ctimeNs: k.ctimeNs, mode: k.mode })), expected, c.fs);
    t.is(got[1]!.mode & 0o7777, 0o4755, `${c.fs}: the setuid bit is seen`);
  }
});

factsTest('eBPF: a setuid-root (and a setgid-root) copy run by nobody shows the real ids and the effective ones apart', async (t) => {
  t.timeout(60_000);
  const dir = await tempDir('ebpf-setuid');
  t.teardown(dir.cleanup);
  chmodSync(dir.path, 0o755);
  const records = recordsUnder(t, dir.path);
  const suid = freshElf(dir.path, 'suid');
  chmodSync(suid, 0o4755);
  const sgid = freshElf(dir.path, 'sgid');
  chmodSync(sgid, 0o2755);
  const plain = freshElf(dir.path, 'plain');
  for (const bin of [suid, sgid, plain]) {
    t.is(await run(SETPRIV, [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', bin], ['ignore', 'ignore', 'inherit']), 0, bin);
  }
  const [s] = await records(suid, 1);
  t.like(s, { uid: NOBODY, euid: 0, gid: NOBODY, egid: NOBODY });
  t.is(s!.mode & 0o7777, 0o4755);
  const [g] = await records(sgid, 1);
  t.like(g, { uid: NOBODY, euid: NOBODY, gid: NOBODY, egid: 0 });
  const [p] = await records(plain, 1);
  t.like(p, { uid: NOBODY, euid: NOBODY, gid: NOBODY, egid: NOBODY });
});

function listen(server: Server, ...at: [number, string] | [string]): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(...(at as [number, string]), () => resolve());
  });
}

function connected(s: Socket): Promise<Socket> {
  return new Promise((resolve, reject) => {
    s.once('error', reject);
    s.once('connect', () => resolve(s));
  });
}

factsTest('eBPF: what descriptors 0, 1 and 2 of the new process are: TCP over IPv4 and IPv6, unix sockets, a pipe, /dev/null, a file, closed, others', async (t) => {
  t.timeout(60_000);
  const dir = await tempDir('ebpf-stdio');
  t.teardown(dir.cleanup);
  const records = recordsUnder(t, dir.path);
  const accepted: Socket[] = [];
  const server = createServer((s) => accepted.push(s));
  const unixServer = createServer((s) => accepted.push(s));
  t.teardown(() => {
    for (const s of accepted) s.destroy();
    server.close();
    unixServer.close();
  });
  await listen(server, 0, '::');
  const port = (server.address() as { port: number }).port;
  const sockPath = join(dir.path, 'listener.sock');
  await listen(unixServer, sockPath);

  const devNull: StdioFact = { kind: 'chardev' };
  const cases: { name: string; start: (bin: string) => Promise<number | null>; stdio: readonly StdioFact[] }[] = [
    {
      name: 'stdout a TCP socket to 127.0.0.1', stdio: [devNull, { kind: 'socket', family: 'inet' }, devNull],
      start: async (bin) => {
        const s = await connected(connect(port, '127.0.0.1'));
        try { return await run(bin, [], ['ignore', s, 'ignore']); } finally { s.destroy(); }
      },
    },
    {
      name: 'stdout and stderr a TCP socket to ::1', stdio: [devNull, { kind: 'socket', family: 'inet6' }, { kind: 'socket', family: 'inet6' }],
      start: async (bin) => {
        const s = await connected(connect(port, '::1'));
        try { return await run(bin, [], ['ignore', s, s]); } finally { s.destroy(); }
      },
    },
    {
      name: 'stdin a unix socket', stdio: [{ kind: 'socket', family: 'unix' }, devNull, devNull],
      start: async (bin) => {
        const s = await connected(connect(sockPath));
        try { return await run(bin, [], [s, 'ignore', 'ignore']); } finally { s.destroy(); }
      },
    },
    {
      // The shell makes a pipe for `|` (node's own 'pipe' stdio is a unix socket pair).
      name: 'stdin a pipe, stderr closed', stdio: [{ kind: 'pipe' }, devNull, { kind: 'none' }],
      start: (bin) => run('/bin/sh', ['-c', ': | exec "$0" 2>&-', bin]),
    },
    {
      name: 'stdout a regular file', stdio: [devNull, { kind: 'file' }, devNull],
      start: async (bin) => {
        const fd = openSync(join(dir.path, 'out.txt'), 'w');
        try { return await run(bin, [], ['ignore', fd, 'ignore']); } finally { closeSync(fd); }
      },
    },
    {
      // A netlink socket (another family), an O_PATH descriptor of a unix socket's name (a
      // socket's type on a filesystem, not a socket) and an eventfd (an anonymous inode).
      name: 'a netlink socket, an O_PATH socket name, an eventfd', stdio: [{ kind: 'socket', family: 'other' }, { kind: 'other' }, { kind: 'other' }],
      start: (bin) => run(PYTHON, ['-c', [
        'import os, socket, sys',
        's = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)',
        'os.dup2(s.fileno(), 0)',
        'os.dup2(os.open(sys.argv[2], os.O_PATH), 1)',
        'os.dup2(os.eventfd(0), 2)',
        'os.execv(sys.argv[1], [sys.argv[1]])',
      ].join('\n'), bin, sockPath], ['ignore', 'ignore', 'inherit']),
    },
  ];
  for (const [i, c] of cases.entries()) {
    const bin = freshElf(dir.path, `stdio-${i}`);
    t.is(await c.start(bin), 0, c.name);
    const [k] = await records(bin, 1);
    t.deepEqual(k!.stdio, c.stdio, c.name);
  }
});
