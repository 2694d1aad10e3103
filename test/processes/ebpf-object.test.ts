// How the eBPF exec program is built (native/bpf-object.mjs): against the kernel types we
// declare (native/bpf/nodeward_core.h), never against the build machine's kernel. The build
// runs in a mount namespace of its own where /sys/kernel/btf is an empty tmpfs and bpftool
// cannot run (a builder without BTF, or a cross-build whose /sys shows another machine's
// kernel), for amd64 and for arm64; both objects must come out, be the same bytes (the
// program reads no registers: its architecture does not show in it), and each must load on
// this kernel, be relocated against its BTF and describe a real exec correctly. Needs root
// (the mount namespace, loading the program), clang, llvm, libbpf-dev and util-linux's
// unshare: skipped elsewhere with the reason, failed in CI.
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startBpfExecEvents, type ExecRecord } from '../../agent/processes/exec-events.js';
import { exitOnlyElf } from '../helpers/elf.js';
import { executable, needs } from '../helpers/requirements.js';
import { EBPF_PACKAGES, tempDir, waitFor } from './helpers.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BUILD = join(ROOT, 'native', 'bpf-object.mjs');
const UNSHARE = '/usr/bin/unshare';
const EM_BPF = 247;

function available(): true | string {
  if (process.getuid?.() !== 0) return 'not root (a mount namespace, and loading the program)';
  const u = executable(UNSHARE);
  if (u !== true) return u;
  if (!existsSync('/usr/include/bpf/bpf_helpers.h')) return 'the libbpf headers are missing';
  const r = startBpfExecEvents({ queue: 16 }, () => undefined);
  if (!r.ok) return `${r.code}: ${r.reason}`;
  r.source.stop();
  return true;
}

const buildTest = needs({
  what: 'building and loading the eBPF program (root, clang, libbpf headers, unshare)',
  packages: [...EBPF_PACKAGES, 'util-linux'], check: available, serial: true,
});

/**
 * Runs `node native/bpf-object.mjs <arch> <out>` for each arch in a new mount namespace in
 * which the kernel's BTF is gone and bpftool, where installed, cannot run.
 */
function buildWithoutKernelBtf(builds: readonly (readonly [string, string])[]): Promise<{ code: number | null; out: string }> {
  const hideBpftool = ['/usr/sbin/bpftool', '/sbin/bpftool', '/usr/bin/bpftool', '/usr/local/sbin/bpftool', '/usr/local/bin/bpftool']
    .filter((p) => existsSync(p)).map((p) => `mount --bind /dev/null ${p}`);
  const script = [
    'set -e',
    'mount -t tmpfs nobtf /sys/kernel/btf',
    ...hideBpftool,
    'test ! -e /sys/kernel/btf/vmlinux',
    ...builds.map(([arch, out]) => `"${process.execPath}" "${BUILD}" ${arch} "${out}"`),
  ].join('\n');
  return new Promise((resolve, reject) => {
    const c = spawn(UNSHARE, ['--mount', '--propagation', 'private', '/bin/sh', '-c', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    c.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    c.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    c.once('error', reject);
    c.once('exit', (code) => resolve({ code, out }));
  });
}

buildTest('the program builds for amd64 and arm64 with no kernel BTF and no bpftool, into the same object, which loads here and describes an exec', async (t) => {
  const dir = await tempDir('ebpf-object');
  t.teardown(dir.cleanup);
  const objects = { amd64: join(dir.path, 'amd64.bpf.o'), arm64: join(dir.path, 'arm64.bpf.o') };
  const built = await buildWithoutKernelBtf(Object.entries(objects));
  t.is(built.code, 0, built.out);
  const amd64 = readFileSync(objects.amd64);
  const arm64 = readFileSync(objects.arm64);
  t.is(amd64.subarray(0, 4).toString('latin1'), '\x7fELF');
  t.is(amd64.readUInt16LE(18), EM_BPF, 'an eBPF object');
  t.is(amd64[5], 1, 'little-endian, as both architectures are');
  t.true(amd64.equals(arm64), 'the architecture does not show in the program');

  const bin = join(dir.path, 'probe-exec');
  await writeFile(bin, exitOnlyElf(), { mode: 0o755 });
  const st = statSync(bin);
  for (const [arch, objectPath] of Object.entries(objects)) {
    const seen: ExecRecord[] = [];
    const r = startBpfExecEvents({ queue: 64, objectPath, batchMs: 0 }, (rec) => {
      if (rec.kernel?.ino === st.ino) seen.push(rec);
    });
    if (!r.ok) {
      t.fail(`the ${arch} object does not load on this kernel: ${r.code}: ${r.reason}`);
      continue;
    }
    try {
      const child = spawnSync(bin, [], { stdio: 'ignore' });
      t.is(child.status, 0);
      const rec = await waitFor(`the ${arch} object's record of ${bin}`, () => seen[0]);
      // Fields reached through each kind of relocation: a path rebuilt from dentries and
      // mounts, inode and superblock fields, credentials, the parent, the file's times.
      t.is(rec.exe, bin, arch);
      t.is(rec.kernel?.dev, st.dev, arch);
      t.is(rec.kernel?.nlink, 1, arch);
      t.is(rec.kernel?.size, st.size, arch);
      t.is(rec.kernel?.mode, st.mode, arch);
      t.is(rec.kernel?.mtimeNs, statSync(bin, { bigint: true }).mtimeNs, arch);
      t.is(rec.uid, process.getuid?.() ?? -1, arch);
      t.is(rec.ppid, process.pid, arch);
      t.false(rec.partial, `${arch}: ${rec.missing.join(', ')}`);
    } finally {
      r.source.stop();
    }
  }
});

test('an architecture the program is not built for is refused with the ones it is', (t) => {
  const r = spawnSync(process.execPath, [BUILD, 'riscv64', '/nonexistent/x.o'], { encoding: 'utf8' });
  t.is(r.status, 1);
  t.regex(r.stderr, /no eBPF program for riscv64: it is built for amd64 and arm64/);
});
