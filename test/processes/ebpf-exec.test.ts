// The eBPF exec source (native/bpf/exec.bpf.c through native/src/bpf_exec.cc) on the real
// kernel, end to end into the process monitor: a fresh executable that lives well under a
// millisecond (a static ELF that only exits, test/helpers/elf.ts) is run 1,000 times at
// about 200 per second and 1,000 times as fast as it goes, and every run must be judged with
// its canonical path and inode, none lost (the ring's reservation failures and the queue's
// drops are read and must be 0). The netlink source runs beside it in the same test, so the
// difference shows: it is told of every exec too, but has to read /proc/<pid>/exe in time.
// An exec through /proc/self/fd/N reports the file's real path, and a memfd's is a memfd.
// With eBPF made unavailable (a BTF path that does not exist; the agent run with CAP_BPF,
// CAP_PERFMON and CAP_SYS_ADMIN out of its bounding set) the agent runs on netlink and says
// why. Needs root in the host's namespaces, the addons built (`npm run build:native` with
// clang, llvm and libbpf-dev) and python3 (it paces the runs): skipped elsewhere
// with the reason, failed in CI.
import test from 'ava';
import { spawn } from 'node:child_process';
import { statfsSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  classifyBpfFailure, DEFAULT_BATCH_MS, fsKindOf, kernelVersion, missingBpfCapabilities, parsePrivileges, startBpfExecEvents, startExecEvents,
  type ExecEventSource, type ExecRecord, type ProcessPrivileges,
} from '../../agent/processes/exec-events.js';
import { HEADER_BYTES, parseBpfBatch, parseBpfRecord, stdioFact, userDev } from '../../agent/processes/bpf-record.js';
import { createProcessMonitor, DETACHED_PREFIX, type ProcessMonitor } from '../../agent/processes/monitor.js';
import { cleanExe } from '../../agent/processes/proc-reader.js';
import { processStatsToWire } from '../../agent/processes/wire-stats.js';
import type { Spool } from '../../agent/report/spool.js';
import { createLogger } from '../../proto/support/logger.js';
import { exitOnlyElf } from '../helpers/elf.js';
import { startNodeward } from '../helpers/process.js';
import { checkProperty, fc } from '../helpers/property.js';
import { executable, needs } from '../helpers/requirements.js';
import { EBPF_PACKAGES, ebpfAvailable, HOST_WORKER, monitorConfig, spooledFindings, tempDir, testSpool, THIS_MACHINE, waitFor, type SpooledFinding } from './helpers.js';

const log = createLogger('test', 'silent');
const RUNS = 1000;
const PYTHON = '/usr/bin/python3';

function bpfAvailable(): true | string {
  const bpf = ebpfAvailable(PYTHON);
  if (bpf !== true) return bpf;
  const n = startExecEvents({ procRoot: '/proc', maxCmdline: 4096, queue: 64 }, () => undefined);
  if (!n.ok) return `the netlink source, compared against, does not start: ${n.code}: ${n.reason}`;
  n.source.stop();
  return true;
}

const bpfTest = needs({
  what: 'the eBPF exec source (root on the host, addons built with clang/libbpf) and python3',
  packages: [...EBPF_PACKAGES, 'python3'], check: bpfAvailable, serial: true,
});

/**
 * Runs `bin` `runs` times from one python3 process (posix_spawn, then wait: each run has
 * ended before the next starts), `rate` per second, or as fast as it goes when 0.
 */
async function runMany(bin: string, runs: number, rate: number): Promise<{ failed: number; seconds: number }> {
  const script = [
    'import os, sys, time',
    'path, n, rate = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])',
    't0 = time.monotonic(); failed = 0',
    'for i in range(n):',
    '    if rate > 0:',
    '        d = t0 + i / rate - time.monotonic()',
    '        if d > 0: time.sleep(d)',
    '    pid = os.posix_spawn(path, [path], {})',
    '    failed += os.waitpid(pid, 0)[1] != 0',
    'print(failed, time.monotonic() - t0)',
  ].join('\n');
  return new Promise((resolve, reject) => {
    const c = spawn(PYTHON, ['-c', script, bin, String(runs), String(rate)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    c.once('error', reject);
    c.once('exit', (code) => {
      const [failed, seconds] = out.trim().split(' ').map(Number);
      if (code !== 0 || failed === undefined || seconds === undefined) reject(new Error(`the pacer exited with ${code}: ${out}`));
      else resolve({ failed, seconds });
    });
  });
}

/** Runs a command to its end. */
function run(file: string, args: readonly string[]): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const c = spawn(file, args, { stdio: 'ignore' });
    c.once('error', reject);
    c.once('exit', resolve);
  });
}

async function freshElf(dir: string, name: string): Promise<{ path: string; ino: number; dev: number }> {
  const path = join(dir, name);
  await writeFile(path, exitOnlyElf(), { mode: 0o755 });
  const st = statSync(path);
  return { path, ino: st.ino, dev: st.dev };
}

interface Setup {
  readonly m: ProcessMonitor;
  readonly spool: Spool;
  readonly bins: string;
  /** The netlink source beside the monitor, and what it delivered. */
  readonly netlink: { source: ExecEventSource; records: ExecRecord[] };
}

/** A monitor on the eBPF source with its host baseline locked, and a netlink source beside it. */
async function setup(t: import('ava').ExecutionContext, extra: Partial<Parameters<typeof monitorConfig>[0]> = {}): Promise<Setup> {
  const dir = await tempDir('ebpf-exec');
  t.teardown(dir.cleanup);
  const spool = testSpool(join(dir.path, 'spool'));
  t.teardown(() => spool.close());
  const m = createProcessMonitor(monitorConfig({
    procRoot: '/proc', hostRoot: '/', stateDir: join(dir.path, 'state'), scanIntervalMs: 0, execEvents: true, hostLearnMs: 1000, ...THIS_MACHINE,
    // Not a rate-limit test: every occurrence goes out as soon as it is flushed.
    rateBurst: 100_000, ...extra,
  }), { log, spool, notify: () => undefined });
  t.teardown(() => m.stop());
  await m.start();
  const records: ExecRecord[] = [];
  const n = startExecEvents({ procRoot: '/proc', maxCmdline: 4096, queue: 8192 }, (r) => records.push(r));
  if (!n.ok) throw new Error(`netlink: ${n.reason}`);
  t.teardown(() => n.source.stop());
  await waitFor('the host baseline to lock', () => m.snapshot().baselines.find((b) => b.key === HOST_WORKER)?.lockedAtMs != null);
  return { m, spool, bins: dir.path, netlink: { source: n.source, records } };
}

/** The findings for `exe`, once their occurrences reach `expected` or stop growing. */
async function findingsFor(m: ProcessMonitor, spool: Spool, exe: string, expected: number): Promise<{ found: SpooledFinding[]; caught: number }> {
  const subject = `${HOST_WORKER}:${exe}`;
  const collect = () => spooledFindings(spool).filter((f) => f.finding.subject === subject);
  const count = () => collect().reduce((n, f) => n + (f.finding.occurrences ?? 0), 0);
  let last = -1;
  await waitFor(`findings for ${exe}`, async () => {
    m.flush();
    const now = count();
    const settled = now >= expected || (now > 0 && now === last);
    last = now;
    if (!settled) await new Promise((r) => setTimeout(r, 250));
    return settled;
  }, 30_000);
  return { found: collect(), caught: count() };
}

for (const [name, rate] of [['1,000 runs at about 200 per second', 200], ['a burst of 1,000 runs as fast as they go', 0]] as const) {
  bpfTest(`eBPF: ${name} of a fresh sub-millisecond executable are all judged, with its canonical path and inode; netlink beside it`, async (t) => {
    t.timeout(120_000);
    const s = await setup(t);
    const bin = await freshElf(s.bins, rate > 0 ? 'nw-paced' : 'nw-burst');
    const before = s.m.stats().exec!;
    const t0 = performance.now();
    const paced = await runMany(bin.path, RUNS, rate);
    const during = s.m.stats().exec!;
    const elapsedMs = performance.now() - t0;
    t.is(paced.failed, 0);
    const { found, caught } = await findingsFor(s.m, s.spool, bin.path, RUNS);
    const st = s.m.stats();
    const ebpf = st.exec!;
    const nl = s.netlink.source.stats();
    const byNetlink = s.netlink.records.filter((r) => r.exe !== null && cleanExe(r.exe).exe === bin.path).length;
    t.log(`${RUNS} runs in ${paced.seconds.toFixed(2)} s: eBPF judged ${caught}; netlink read the executable of ${byNetlink} `
      + `(${nl.partial} partial records of ${nl.execs} execs it was told of); eBPF ring lost ${ebpf.ringLost}, queue dropped ${ebpf.dropped}, `
      + `${(ebpf.wakeups ?? 0) - (before.wakeups ?? 0)} reader wake-ups, at most ${ebpf.maxBatch} records in one; `
      + `${(ebpf.batches ?? 0) - (before.batches ?? 0)} calls into JavaScript for ${ebpf.delivered - before.delivered} records`);
    // After a wake-up that found records the reader lets more gather for DEFAULT_BATCH_MS, so it
    // cannot wake more often than that while the runs go on (it woke for every record before).
    const wakeups = (during.wakeups ?? 0) - (before.wakeups ?? 0);
    t.true(wakeups <= elapsedMs / DEFAULT_BATCH_MS + 1, `${wakeups} wake-ups in ${elapsedMs.toFixed(0)} ms`);
    t.true((ebpf.batches ?? 0) - (before.batches ?? 0) <= ebpf.delivered - before.delivered, 'a call into JavaScript carries one record or more');
    t.is(st.source, 'ebpf');
    t.is(caught, RUNS, 'every run was judged: 1,000 of 1,000');
    t.is(ebpf.ringLost, 0, 'no reservation failed in the ring buffer');
    t.is(ebpf.dropped, 0, 'no record was dropped on the way to JavaScript');
    t.is(st.findings.lost, 0);
    t.true((ebpf.kernelSeen ?? 0) >= RUNS && ebpf.delivered >= RUNS);
    t.true(byNetlink <= RUNS, 'no run is counted twice by netlink');
    const last = found.at(-1)!.detail;
    t.true(found.every((f) => f.detail.seen === 'event'));
    t.like(last, { exe: bin.path, exeDeleted: false, partial: false, container: null, baseline: HOST_WORKER });
    t.like(last.kernel, { filename: bin.path, ino: bin.ino, dev: bin.dev, nlink: 1, uid: process.getuid!() });
    t.like(processStatsToWire(st, 0), { execSource: 'ebpf', execSourceReason: '', execCoverage: 'event', execRingLost: 0, execEventsLost: 0 });
    t.true((ebpf.batches ?? 0) > 0);
    t.is(processStatsToWire(st, 0).execBatches, ebpf.batches, 'the batches the reader drained go to the collector');
  });
}

bpfTest('eBPF: an exec through /proc/self/fd/N reports the file\'s canonical path, and a memfd\'s is a memfd', async (t) => {
  t.timeout(60_000);
  const s = await setup(t);
  const bin = await freshElf(s.bins, 'nw-by-fd');
  // The shell opens the file as fd 5 and execs /proc/self/fd/5: execve is given that name.
  t.is(await run('/bin/sh', ['-c', 'exec 5< "$0"; exec /proc/self/fd/5', bin.path]), 0);
  const byFd = await findingsFor(s.m, s.spool, bin.path, 1);
  t.is(byFd.caught, 1);
  t.like(byFd.found[0]!.detail, { exe: bin.path, exeDeleted: false });
  t.like(byFd.found[0]!.detail.kernel, { filename: '/proc/self/fd/5', ino: bin.ino, fsKind: fsKindOf(Number(statfsSync(bin.path).type), bin.path, false) });

  // Code that never had a path: written to a memfd and run from it (fexecve).
  const script = 'import os, sys\nfd = os.memfd_create("nw-probe", 0)\nos.write(fd, open(sys.argv[1], "rb").read())\nos.execv("/proc/self/fd/%d" % fd, ["nw-probe"])';
  t.is(await run(PYTHON, ['-c', script, bin.path]), 0);
  const memfd = await findingsFor(s.m, s.spool, '/memfd:nw-probe', 1);
  t.is(memfd.caught, 1);
  const d = memfd.found[0]!.detail;
  t.like(d, { exe: '/memfd:nw-probe', exeDeleted: true });
  t.like(d.kernel, { fsKind: 'memfd', nlink: 0 });
  t.regex(d.kernel!.filename, /^\/proc\/self\/fd\/\d+$/);
});

bpfTest('eBPF: a file on a detached mount (the root of its own mount, as runc\'s cloned binary is) is never judged as "/" or as a host path', async (t) => {
  t.timeout(60_000);
  const s = await setup(t);
  const bin = await freshElf(s.bins, 'nw-detached');
  // open_tree(AT_FDCWD, file, OPEN_TREE_CLONE) gives a detached mount of just that file; run it
  // through its descriptor (fexecve). The kernel's path walk ends at that mount's root: "/".
  const script = [
    'import ctypes, os, sys',
    'libc = ctypes.CDLL(None, use_errno=True)',
    'fd = libc.syscall(428, -100, sys.argv[1].encode(), 1 | 0o2000000)',
    'if fd < 0: sys.exit(90 + ctypes.get_errno() % 10)',
    'os.execve(fd, ["nw-detached"], {})',
  ].join('\n');
  t.is(await run(PYTHON, ['-c', script, bin.path]), 0);
  const detached = () => spooledFindings(s.spool).filter((f) => f.finding.subject?.startsWith(`${HOST_WORKER}:${DETACHED_PREFIX}`));
  await waitFor('the detached file\'s finding', () => {
    s.m.flush();
    return detached().length > 0;
  }, 30_000);
  const d = detached()[0]!.detail;
  // fexecve runs it as execveat(fd, "", AT_EMPTY_PATH): execve is given /dev/fd/N.
  t.regex(d.kernel!.filename, /^\/dev\/fd\/\d+$/);
  t.is(d.exe, `${DETACHED_PREFIX}/${d.kernel!.filename.split('/').pop()}`, 'named apart from every host path, "/" included');
  t.like(d.kernel, { ino: bin.ino });
});


for (const ringBytes of [4 * 1024 * 1024, 4096]) {
  const small = ringBytes === 4096;
  bpfTest(`eBPF: when JavaScript falls behind, records wait in the ring (${small ? 'one page: it fills, and the kernel counts each record lost' : '4 MiB: none is lost'})`, async (t) => {
    t.timeout(60_000);
    const dir = await tempDir('ebpf-queue');
    t.teardown(dir.cleanup);
    const bin = await freshElf(dir.path, 'nw-queue');
    let delivered = 0;
    const r = startBpfExecEvents({ queue: 16, ringBytes }, (rec) => {
      if (rec.exe === bin.path) delivered++;
    });
    if (!r.ok) {
      t.fail(r.reason);
      return;
    }
    t.teardown(() => r.source.stop());
    const runs = runMany(bin.path, 300, 0);
    // The JavaScript thread is busy for two seconds while the runs go on: 16 records fit in
    // the queue, the rest wait in the ring.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2000);
    t.is((await runs).failed, 0);
    const st = await waitFor('every record to be delivered or counted lost', () => {
      const s = r.source.stats();
      return s.delivered === s.received && s.kernelSeen === s.received + (s.ringLost ?? 0) ? s : undefined;
    });
    t.log(`ring of ${ringBytes} bytes: ${st.kernelSeen} execs seen in the kernel, ${st.received} read from the ring and delivered, ${st.ringLost} lost in the kernel (ring full); ${delivered} of the 300 runs reached JavaScript`);
    t.is(st.dropped, 0, 'nothing is dropped after the ring: the reader waits for the queue');
    if (small) {
      t.true((st.ringLost ?? 0) > 0, 'a full ring loses records, and the kernel counts them');
      t.true(delivered < 300);
    } else {
      t.is(st.ringLost, 0);
      t.is(delivered, 300, 'all 300 waited in the ring and arrived');
    }
  });
}

bpfTest('eBPF unavailable: a BTF path that does not exist leaves the monitor on netlink, with the reason in its stats', async (t) => {
  t.timeout(60_000);
  const dir = await tempDir('ebpf-nobtf');
  t.teardown(dir.cleanup);
  const spool = testSpool(join(dir.path, 'spool'));
  t.teardown(() => spool.close());
  const m = createProcessMonitor(monitorConfig({
    procRoot: '/proc', hostRoot: '/', stateDir: join(dir.path, 'state'), execEvents: true, btfPath: join(dir.path, 'no-such-btf'), ...THIS_MACHINE,
  }), { log, spool, notify: () => undefined });
  t.teardown(() => m.stop());
  await m.start();
  const st = m.stats();
  t.is(st.source, 'netlink');
  t.is(st.coverage, 'event');
  t.regex(st.sourceReasons.ebpf ?? '', /^NO_BTF: .*no-such-btf does not exist/);
  t.like(processStatsToWire(st, 0), { execSource: 'netlink', execCoverage: 'event' });
  t.regex(processStatsToWire(st, 0).execSourceReason ?? '', /^ebpf: NO_BTF: /);
});

bpfTest('eBPF unavailable: the agent run without CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN says so and runs on netlink', async (t) => {
  t.timeout(60_000);
  const setpriv = executable('/usr/bin/setpriv');
  if (setpriv !== true) {
    t.fail(setpriv);
    return;
  }
  const dir = await tempDir('ebpf-nocap');
  t.teardown(dir.cleanup);
  const agent = startNodeward(['agent'], {
    NODEWARD_NODE: 'node-nocap', NODEWARD_STATE_DIR: join(dir.path, 'state'), NODEWARD_COLLECTOR_ADDRESS: '127.0.0.1:1',
    NODEWARD_COLLECTOR_INSECURE: 'true', NODEWARD_HEALTH_ENABLED: 'false', NODEWARD_SCAN_INTERVAL_SECONDS: '0', NODEWARD_WATCH_ENABLED: 'false',
    NODEWARD_PROCESSES_HOST_ROLE: 'worker', NODEWARD_KUBELET_PROBE_ENABLED: 'false', NODEWARD_ETCD_PROBE_ENABLED: 'false',
  }, ['/usr/bin/setpriv', '--bounding-set', '-bpf,-perfmon,-sys_admin']);
  t.teardown(() => agent.kill('SIGKILL'));
  const line = await agent.waitFor((l) => typeof l.msg === 'string' && l.msg.startsWith('exec events'), { timeoutMs: 45_000 });
  t.is(line.source, 'netlink');
  const reasons = line.reasons as { ebpf?: string };
  t.regex(reasons.ebpf ?? '', /^NO_CAPABILITY: .*lacks CAP_BPF and CAP_PERFMON \(or CAP_SYS_ADMIN\)/);
});

// --- pure parts: the reasons, from the facts a node gives ------------------------------------

const privileges = (caps: number[], seccomp = 0, memlock = Infinity): ProcessPrivileges =>
  ({ effective: caps.reduce((a, c) => a | (1n << BigInt(c)), 0n), seccomp, memlock });
const eperm = { code: 'EPERM', syscall: 'bpf_object__load', message: 'bpf_object__load: Operation not permitted', detail: '' };

test('a refused bpf() is a missing capability, the memlock limit, a seccomp profile or something else, in that order', (t) => {
  t.like(classifyBpfFailure(eperm, privileges([]), [6, 18]), { code: 'NO_CAPABILITY' });
  t.regex(classifyBpfFailure(eperm, privileges([39]), [6, 18]).reason, /lacks CAP_PERFMON \(or CAP_SYS_ADMIN\)/);
  t.like(classifyBpfFailure(eperm, privileges([21], 2), [6, 18]), { code: 'SECCOMP' }, 'CAP_SYS_ADMIN stands in for both');
  t.like(classifyBpfFailure(eperm, privileges([38, 39], 2), [6, 18]), { code: 'SECCOMP' });
  t.like(classifyBpfFailure(eperm, privileges([38, 39], 2, 65_536), [5, 10]), { code: 'MEMLOCK' });
  t.like(classifyBpfFailure(eperm, privileges([38, 39], 0, 65_536), [5, 15]), { code: 'EPERM' }, 'memlock is not charged after 5.11');
  t.like(classifyBpfFailure({ ...eperm, code: 'EINVAL', detail: 'R1 invalid mem access\nprocessed 12 insns' }, privileges([21]), [6, 1]), { code: 'LOAD_FAILED' });
  t.regex(classifyBpfFailure({ ...eperm, code: 'EINVAL', detail: 'R1 invalid mem access' }, privileges([21]), [6, 1]).reason, /libbpf: R1 invalid mem access/);
  t.like(classifyBpfFailure({ ...eperm, code: 'EAGAIN' }, privileges([21]), [6, 1]), { code: 'LOAD_INTERRUPTED' });
  t.like(classifyBpfFailure({ ...eperm, code: 'ENOENT', syscall: 'bpf_program__attach' }, privileges([21]), [6, 1]), { code: 'ATTACH_FAILED' });
  t.like(classifyBpfFailure({ ...eperm, code: 'EINVAL', syscall: 'bpf_object__open' }, privileges([21]), [6, 1]), { code: 'OBJECT_INVALID' });
});

test('privileges, kernel versions and filesystem kinds are read from what the kernel shows', (t) => {
  const p = parsePrivileges('Name:\tnode\nCapEff:\t000001c000200000\nSeccomp:\t2\n', 'Max locked memory         65536                65536                bytes\n');
  t.deepEqual(missingBpfCapabilities(p), []);
  t.is(p.seccomp, 2);
  t.is(p.memlock, 65_536);
  t.deepEqual(missingBpfCapabilities(parsePrivileges('CapEff:\t0000008000000000\n', '')), ['CAP_PERFMON']);
  t.is(parsePrivileges('', 'Max locked memory         unlimited            unlimited            bytes\n').memlock, Infinity);
  t.deepEqual(kernelVersion('6.18.44-fc-v1300'), [6, 18]);
  t.deepEqual(kernelVersion('5.4.0-150-generic'), [5, 4]);
  t.is(kernelVersion('unknown'), null);
  t.is(fsKindOf(0x01021994, '/memfd:x', true), 'memfd');
  t.is(fsKindOf(0x01021994, '/dev/shm/x', false), 'tmpfs');
  t.is(fsKindOf(0x01021994, '/memfd:x', false), 'tmpfs', 'a file merely named so on a tmpfs in view is not a memfd');
  t.is(fsKindOf(0x794c7630, '/bin/sh', false), 'overlay');
  t.is(fsKindOf(0xef53, '/usr/bin/true', false), 'ext4');
  t.is(fsKindOf(0x12345678, '/x', false), 'other');
});

test('a kernel older than 5.8, or no BTF, or no addon: the eBPF source says why instead of throwing', (t) => {
  const r = startBpfExecEvents({ queue: 64, btfPath: '/no/such/btf' }, () => undefined);
  t.false(r.ok);
  if (!r.ok) t.true(['NO_BTF', 'KERNEL_TOO_OLD', 'UNSUPPORTED'].includes(r.code), r.code);
  const a = startBpfExecEvents({ queue: 64, addonPath: '/no/such/addon.node', btfPath: '/' }, () => undefined);
  t.false(a.ok);
  if (!a.ok) t.true(['NOT_BUILT', 'KERNEL_TOO_OLD', 'UNSUPPORTED'].includes(a.code), a.code);
  const o = startBpfExecEvents({ queue: 64, objectPath: '/no/such/exec.bpf.o', btfPath: '/' }, () => undefined);
  t.false(o.ok);
  if (!o.ok) t.true(['OBJECT_MISSING', 'NOT_BUILT', 'KERNEL_TOO_OLD', 'UNSUPPORTED'].includes(o.code), o.code);
});

/** A record as the program writes it (native/bpf/exec_event.h). */
function record(o: { path: string; filename: string; cgroup: string; v1?: string; args: string; flags?: number; comm?: string; stdio?: readonly number[] }): Buffer {
  const parts = [o.path, o.filename, o.cgroup, o.v1 ?? '', o.args].map((x) => Buffer.from(x));
  const h = Buffer.alloc(HEADER_BYTES);
  h.writeBigUInt64LE(5_000_000_123n, 0); // ktime: 5,000.000123 ms
  h.writeBigUInt64LE(123_456_789_000n, 8); // start_boottime: 12,345 ticks at 100 Hz
  h.writeBigUInt64LE(4_294_967_301n, 16); // cgroup id
  h.writeBigUInt64LE(7n, 24);
  h.writeBigUInt64LE(260_958n, 32); // ino
  h.writeBigUInt64LE(0xef53n, 40);
  h.writeUInt32LE((254 << 20) | 0, 48); // dev 254:0
  h.writeUInt32LE(1, 52);
  h.writeUInt32LE(4026531832, 56);
  h.writeUInt32LE(4026531836, 60);
  h.writeUInt32LE(4242, 64); // pid (thread id)
  h.writeUInt32LE(4242, 68); // tgid
  h.writeUInt32LE(17, 72); // ppid
  h.writeUInt32LE(4243, 76); // old pid
  [1000, 0, 1001, 1002].forEach((v, i) => h.writeUInt32LE(v, 80 + 4 * i)); // uid, euid, gid, egid
  h.writeUInt32LE(o.flags ?? 0, 96);
  h.writeUInt32LE(o.v1 === undefined ? 0 : 4, 100);
  parts.forEach((p, i) => h.writeUInt16LE(p.length, 104 + 2 * i));
  h.writeUInt16LE(0o104755, 114); // mode: a setuid regular file
  h.write(o.comm ?? 'true', 116);
  // stdio (NW_FD_BYTE): a TCP socket over IPv6 (socket 2, inet6 3), a pipe (3), not open (1)
  (o.stdio ?? [0x32, 0x03, 0x01]).forEach((v, i) => h.writeUInt8(v, 132 + i));
  h.writeBigInt64LE(1_234_567n, 136); // size
  h.writeBigInt64LE(1_700_000_000n, 144); // mtime
  h.writeBigInt64LE(-315_619_199n, 152); // ctime: before 1970
  h.writeUInt32LE(123_456_789, 160);
  h.writeUInt32LE(999_999_999, 164);
  return Buffer.concat([h, ...parts]);
}

test('an eBPF record reads into the exec record the monitor consumes', (t) => {
  const r = parseBpfRecord(record({ path: '/usr/bin/true', filename: '/proc/self/fd/5', cgroup: '/kubepods.slice/x.scope', v1: '/kubepods/x', args: 'true\0-v\0', flags: 0x20 }), 5001.5);
  t.like(r, {
    pid: 4242, tid: 4242, ppid: 17, uid: 0, startTicks: 12_345, exe: '/usr/bin/true', parentExe: null, cmdlineTruncated: true,
    cgroup: '0::/kubepods.slice/x.scope\n4:memory:/kubepods/x\n', partial: false, eventMonoMs: 5000.000123, readMonoMs: 5001.5,
  });
  t.deepEqual(r?.cmdline, Buffer.from('true\0-v\0'));
  t.like(r?.kernel, {
    filename: '/proc/self/fd/5', ino: 260_958, dev: userDev(254 << 20), nlink: 1, fsMagic: 0xef53, cgroupId: 4_294_967_301, cgroupV1Id: 7,
    mntNs: 4026531832, pidNs: 4026531836, comm: 'true', uid: 1000, euid: 0, gid: 1001, egid: 1002, oldPid: 4243, pathTruncated: false,
    size: 1_234_567, mode: 0o104755, mtimeNs: 1_700_000_000_123_456_789n, ctimeNs: -315_619_199_000_000_000n + 999_999_999n,
  });
  t.deepEqual(r?.kernel?.stdio, [{ kind: 'socket', family: 'inet6' }, { kind: 'pipe' }, { kind: 'none' }]);
  t.is(parseBpfRecord(record({ path: '/a', filename: '/a', cgroup: '/', args: '' }), 0)?.cgroup, '0::/\n', 'no v1 line without a v1 hierarchy');
  const cut = parseBpfRecord(record({ path: '/deep/tail', filename: 'x', cgroup: '/', args: '', flags: 0x1 | 0x40 }), 0);
  t.like(cut, { partial: true, missing: ['exePath', 'cmdline'] });
});

test('a batch of eBPF records reads into each of them in order; one that does not fit is counted with the rest, never thrown', async (t) => {
  const paths = ['/usr/bin/true', '/bin/a-much-longer-name-than-the-first', '/x'];
  const batch = Buffer.concat(paths.map((p, i) => record({ path: p, filename: p, cgroup: `/c${i}`, args: `${p}\0-${i}\0` })));
  const got: ExecRecord[] = [];
  t.is(parseBpfBatch(batch, 3, 42.5, (r) => got.push(r)), 0);
  t.deepEqual(got.map((r) => r.exe), paths);
  t.deepEqual(got.map((r) => r.cgroup), ['0::/c0\n', '0::/c1\n', '0::/c2\n']);
  t.deepEqual(got.map((r) => r.cmdline?.toString()), paths.map((p, i) => `${p}\0-${i}\0`));
  t.true(got.every((r) => r.readMonoMs === 42.5 && r.pid === 4242));
  const some: ExecRecord[] = [];
  t.is(parseBpfBatch(batch.subarray(0, batch.length - 1), 3, 0, (r) => some.push(r)), 1, 'the last record is one byte short');
  t.is(some.length, 2);
  t.is(parseBpfBatch(batch, 5, 0, () => undefined), 2, 'a count beyond the bytes: the missing ones are counted');
  await checkProperty(t, fc.property(fc.uint8Array({ maxLength: 900 }), fc.nat(8), (bytes, count) => {
    const b = Buffer.concat([batch.subarray(0, HEADER_BYTES), Buffer.from(bytes)]);
    let read = 0;
    const bad = parseBpfBatch(b, count, 0, () => read++);
    return read + bad === count;
  }), 300);
});

test('64-bit fields read as BigInt would read them; start ticks exactly, at any uptime', async (t) => {
  const base = record({ path: '/a', filename: '/a', cgroup: '/', args: '' });
  await checkProperty(t, fc.property(fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.bigInt({ min: 0n, max: 2n ** 53n - 1n }), fc.bigInt({ min: 1n, max: 900_719_925n }).map((k) => k * 10_000_000n - 1n)), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), (ns, id) => {
    const b = Buffer.from(base);
    b.writeBigUInt64LE(ns, 8);
    b.writeBigUInt64LE(id, 16);
    const r = parseBpfRecord(b, 0)!;
    return r.startTicks === Number(ns / 10_000_000n) && r.kernel!.cgroupId === Number(id);
  }), 2000);
  const b = Buffer.from(base);
  for (const ns of [0n, 9_999_999n, 10_000_000n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 9_999_999n, 2n ** 64n - 1n, 90_071_992_547_409_919n]) {
    b.writeBigUInt64LE(ns, 8);
    t.is(parseBpfRecord(b, 0)!.startTicks, Number(ns / 10_000_000n), String(ns));
  }
});

test('stdio bytes read as the kind in the low nibble and a socket\'s family in the high one; no byte is unreadable', async (t) => {
  const at = (stdio: number[]) => parseBpfRecord(record({ path: '/a', filename: '/a', cgroup: '/', args: '', stdio }), 0)!.kernel!.stdio;
  t.deepEqual(at([0x12, 0x22, 0x42]), [{ kind: 'socket', family: 'unix' }, { kind: 'socket', family: 'inet' }, { kind: 'socket', family: 'other' }]);
  t.deepEqual(at([0x04, 0x05, 0x06]), [{ kind: 'file' }, { kind: 'chardev' }, { kind: 'other' }]);
  t.deepEqual(at([0x00, 0x02, 0xff]), [{ kind: 'other' }, { kind: 'socket', family: 'other' }, { kind: 'other' }], 'unread, a socket without a family, unknown codes');
  const kinds = new Set(['none', 'socket', 'pipe', 'file', 'chardev', 'other']);
  const families = new Set(['unix', 'inet', 'inet6', 'other']);
  await checkProperty(t, fc.property(fc.integer({ min: 0, max: 255 }), (byte) => {
    const f = stdioFact(byte);
    return kinds.has(f.kind) && (f.kind === 'socket' ? families.has(f.family!) : f.family === undefined)
      && (f.kind === 'socket') === ((byte & 0xf) === 2);
  }), 256);
});

test('the file\'s times read as nanoseconds since the epoch, as stat\'s bigint mtimeNs, at any second (before 1970 too)', async (t) => {
  const base = record({ path: '/a', filename: '/a', cgroup: '/', args: '' });
  await checkProperty(t, fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), fc.integer({ min: 0, max: 999_999_999 }), fc.bigInt({ min: 0n, max: 2n ** 53n - 1n }), (sec, nsec, size) => {
    const b = Buffer.from(base);
    b.writeBigInt64LE(sec, 144);
    b.writeUInt32LE(nsec, 160);
    b.writeBigInt64LE(sec, 152);
    b.writeUInt32LE(nsec, 164);
    b.writeBigInt64LE(size, 136);
    const k = parseBpfRecord(b, 0)!.kernel!;
    const ns = sec * 1_000_000_000n + BigInt(nsec);
    return k.mtimeNs === ns && k.ctimeNs === ns && k.size === Number(size);
  }), 1000);
});

test('the kernel dev_t is re-encoded as stat() reports it', (t) => {
  t.is(userDev((8 << 20) | 1), 0x801);
  t.is(userDev((254 << 20) | 0), 254 * 256);
  t.is(userDev((0 << 20) | 300), 44 + 256 * 4096, 'minor bits above 8 move up, as glibc encodes them');
  t.is(userDev((259 << 20) | 65_537), (259 & 0xfff) * 256 + 1 + 256 * 2 ** 20);
});

test('a record whose lengths do not fit is refused, and no bytes make the reader throw', async (t) => {
  t.is(parseBpfRecord(Buffer.alloc(HEADER_BYTES - 1), 0), null);
  const whole = record({ path: '/usr/bin/true', filename: '/usr/bin/true', cgroup: '/', args: 'true\0' });
  t.is(parseBpfRecord(whole.subarray(0, whole.length - 1), 0), null, 'one byte short');
  await checkProperty(t, fc.property(fc.uint8Array({ maxLength: 600 }), fc.boolean(), (bytes, withHeader) => {
    const b = withHeader ? Buffer.concat([record({ path: '/x', filename: '/x', cgroup: '/', args: '' }).subarray(0, HEADER_BYTES), Buffer.from(bytes)]) : Buffer.from(bytes);
    const r = parseBpfRecord(b, 0);
    // Paths are bytes: invalid UTF-8 reads as U+FFFD, one character per byte at most.
    return r === null || (r.exe !== null && r.exe.length <= b.length - HEADER_BYTES && r.kernel!.stdio.length === 3);
  }), 500);
  // Any header at all (lengths that fit, every other byte random): read, never thrown over.
  await checkProperty(t, fc.property(fc.uint8Array({ minLength: HEADER_BYTES, maxLength: HEADER_BYTES }), fc.uint8Array({ maxLength: 64 }), (head, tail) => {
    const b = Buffer.concat([Buffer.from(head), Buffer.from(tail)]);
    b.fill(0, 104, 114);
    b.writeUInt16LE(tail.length, 104);
    const r = parseBpfRecord(b, 0);
    return r !== null && r.kernel!.stdio.every((f) => typeof f.kind === 'string') && typeof r.kernel!.mtimeNs === 'bigint';
  }), 500);
});
