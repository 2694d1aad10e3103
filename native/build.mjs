// `npm run build:native` (also run by `prepare`, so `npm ci` builds it): compiles the native
// exec sources into native/build/Release/ with node-gyp:
//   nodeward_proc.node      the kernel's process connector (netlink)
//   nodeward_bpf.node       the eBPF exec source's loader (libbpf), and
//   nodeward_exec.bpf.o     its program (clang -target bpf, CO-RE against a vmlinux.h)
//
// Everything here is optional. A part that cannot be built (not Linux, no compiler, no Node
// headers, no clang/libbpf/bpftool, no kernel BTF to generate vmlinux.h from) is reported
// and left out: this script always exits 0, and the agent falls back (eBPF, else netlink,
// else the /proc scan) and says why in its stats.
//
// vmlinux.h: NODEWARD_VMLINUX_H names one to use; otherwise it is generated with bpftool from
// the build machine's /sys/kernel/btf/vmlinux for the build (never committed). The
// program reads only fields CO-RE relocates at load time and no registers, so the object
// built on one architecture loads on another.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const release = join(here, 'build', 'Release');
const out = join(release, 'nodeward_proc.node');
const bpfAddon = join(release, 'nodeward_bpf.node');
const bpfObject = join(release, 'nodeward_exec.bpf.o');
const say = (msg) => process.stderr.write(`nodeward build:native: ${msg}\n`);

function nodeGypScript() {
  const candidates = [];
  // npm runs scripts with npm_execpath pointing into its own package, which bundles node-gyp.
  if (process.env.npm_execpath) candidates.push(join(dirname(process.env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  candidates.push(join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  try {
    candidates.push(createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js'));
  } catch {
    // not installed as a package; the candidates above remain
  }
  return candidates.find((c) => existsSync(c));
}

/** Node's own headers when they are installed next to it (Debian's nodejs ships them). */
function nodeDir() {
  if (process.env.npm_config_nodedir) return process.env.npm_config_nodedir;
  const prefix = join(dirname(process.execPath), '..');
  return existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined;
}

/** The first of `names` found on PATH (or in the sbin directories, where Debian puts bpftool). */
function which(...names) {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/sbin'].filter(Boolean);
  for (const name of names) {
    for (const d of dirs) {
      const p = join(d, name);
      if (existsSync(p)) return p;
    }
  }
  return undefined;
}

function run(file, args, opts = {}) {
  const r = spawnSync(file, args, { encoding: 'utf8', timeout: 5 * 60_000, maxBuffer: 64 * 1024 * 1024, ...opts });
  const err = r.error?.message ?? (r.status !== 0 ? `${file} exited with ${r.status ?? r.signal}: ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}` : undefined);
  return { ok: !err, err, stdout: r.stdout };
}

const BPF_ARCH = { x64: 'x86', arm64: 'arm64', arm: 'arm', ppc64: 'powerpc', s390x: 's390', riscv64: 'riscv' };

/**
 * Compiles native/bpf/exec.bpf.c into a temporary directory; returns the object's path, or
 * undefined after saying why not.
 */
function buildBpfObject(work) {
  const clang = which('clang', 'clang-16', 'clang-15', 'clang-14');
  if (!clang) return void say('eBPF exec source skipped: clang not found (Debian: clang llvm); the agent will use netlink');
  if (!existsSync('/usr/include/bpf/bpf_helpers.h') || !existsSync('/usr/include/bpf/libbpf.h')) {
    return void say('eBPF exec source skipped: libbpf headers not found (Debian: libbpf-dev); the agent will use netlink');
  }
  let vmlinux = process.env.NODEWARD_VMLINUX_H;
  if (vmlinux) {
    if (!existsSync(vmlinux)) return void say(`eBPF exec source skipped: NODEWARD_VMLINUX_H=${vmlinux} does not exist`);
  } else {
    const btf = '/sys/kernel/btf/vmlinux';
    const bpftool = which('bpftool');
    if (!existsSync(btf)) return void say(`eBPF exec source skipped: ${btf} is missing (a kernel without BTF), so no vmlinux.h can be generated; set NODEWARD_VMLINUX_H to one`);
    if (!bpftool) return void say('eBPF exec source skipped: bpftool not found (Debian: bpftool), so no vmlinux.h can be generated; set NODEWARD_VMLINUX_H to one');
    const dump = run(bpftool, ['btf', 'dump', 'file', btf, 'format', 'c']);
    if (!dump.ok) return void say(`eBPF exec source skipped: bpftool could not dump ${btf} (${dump.err})`);
    vmlinux = join(work, 'vmlinux.h');
    writeFileSync(vmlinux, dump.stdout);
  }
  const include = join(work, 'include');
  mkdirSync(include, { recursive: true });
  copyFileSync(vmlinux, join(include, 'vmlinux.h'));
  const obj = join(work, 'nodeward_exec.bpf.o');
  const arch = BPF_ARCH[process.arch] ?? 'x86';
  const cc = run(clang, ['-target', 'bpf', '-O2', '-g', `-D__TARGET_ARCH_${arch}`, '-I', include, '-I', join(here, 'bpf'), '-c', join(here, 'bpf', 'exec.bpf.c'), '-o', obj]);
  if (!cc.ok) return void say(`eBPF exec source skipped: the program did not compile (${cc.err})`);
  // DWARF is not needed at run time (BTF is kept): a tenth of the size.
  const strip = which('llvm-strip', 'llvm-strip-16', 'llvm-strip-15', 'llvm-strip-14');
  if (strip) run(strip, ['-g', obj]);
  return obj;
}

function main() {
  if (process.platform !== 'linux') {
    say(`skipped: the kernel exec sources exist only on Linux (this is ${process.platform}); the agent will scan /proc instead`);
    return;
  }
  const gyp = nodeGypScript();
  if (!gyp) {
    say('skipped: node-gyp not found; the agent will fall back to scanning /proc');
    return;
  }
  const work = mkdtempSync(join(tmpdir(), 'nodeward-bpf-'));
  try {
    const obj = buildBpfObject(work);
    const dir = nodeDir();
    const gypBuild = (bpf) => spawnSync(process.execPath, [gyp, 'rebuild', `--directory=${here}`, ...(dir ? [`--nodedir=${dir}`] : []), `--nodeward_bpf=${bpf ? 1 : 0}`],
      { stdio: ['ignore', 'inherit', 'inherit'], timeout: 10 * 60_000 });
    let r = gypBuild(Boolean(obj));
    let bpfBuilt = Boolean(obj);
    if (obj && (r.error || r.status !== 0)) {
      // The eBPF loader did not compile (an older libbpf, say): the process connector still must.
      say('the eBPF loader addon did not build; building the process connector addon alone (the agent will use netlink)');
      bpfBuilt = false;
      r = gypBuild(false);
    }
    if (r.error || r.status !== 0 || !existsSync(out)) {
      say(`the exec-event addons did not build (${r.error?.message ?? `node-gyp exited with ${r.status ?? r.signal}`}); the agent will fall back to scanning /proc`);
      return;
    }
    const load = createRequire(import.meta.url);
    try {
      if (typeof load(out).start !== 'function') throw new Error('no start() export');
      say(`built ${out}`);
    } catch (err) {
      say(`built ${out} but it does not load (${err.message}); the agent will fall back to scanning /proc`);
    }
    if (obj && bpfBuilt) {
      copyFileSync(obj, bpfObject);
      try {
        if (typeof load(bpfAddon).start !== 'function') throw new Error('no start() export');
        say(`built ${bpfAddon} and ${bpfObject}`);
      } catch (err) {
        say(`built ${bpfAddon} but it does not load (${err.message}); the agent will use netlink`);
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

try {
  main();
} catch (err) {
  say(`failed (${err?.message ?? err}); the agent will fall back to scanning /proc`);
}
process.exitCode = 0;
