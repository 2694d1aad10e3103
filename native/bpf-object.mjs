// The eBPF exec program's object: native/bpf/exec.bpf.c compiled with clang for the BPF
// target. Used by build.mjs (`npm run build:native`), and a command of its own:
//
//   node native/bpf-object.mjs <arch> <output.o>      arch: amd64 or arm64 (x64, aarch64 too)
//
// The program is CO-RE: the kernel types it reads are declared by us in
// native/bpf/nodeward_core.h, each access recorded as a relocation by name, which libbpf
// resolves at load time against the running kernel's BTF. So the build reads nothing of the
// machine it runs on: no /sys/kernel/btf/vmlinux, no vmlinux.h, no bpftool. An image
// cross-built for arm64 on an amd64 host (buildx, QEMU) gets the same object a native arm64
// build would. The architecture only chooses bpf_tracing.h's register names
// (__TARGET_ARCH_*, which a tp_btf program does not use: the object is byte-for-byte the same
// for both) and the byte order (both are little-endian). Only 64-bit little-endian
// architectures are built: the header gives each field the width it has on those kernels.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** Per architecture (Docker's TARGETARCH names): bpf_tracing.h's arch and clang's BPF target. */
export const BPF_TARGETS = {
  amd64: { tracingArch: 'x86', target: 'bpfel' },
  arm64: { tracingArch: 'arm64', target: 'bpfel' },
};

const ALIASES = { x64: 'amd64', x86_64: 'amd64', aarch64: 'arm64' };

/** Docker's or Node's name of an architecture as a key of BPF_TARGETS, or undefined. */
export function bpfArch(name) {
  const a = ALIASES[name] ?? name;
  return Object.hasOwn(BPF_TARGETS, a) ? a : undefined;
}

/** The first of `names` found on PATH (or in the sbin directories). */
export function which(...names) {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/sbin'].filter(Boolean);
  for (const name of names) {
    for (const d of dirs) {
      const p = join(d, name);
      if (existsSync(p)) return p;
    }
  }
  return undefined;
}

function run(file, args) {
  const r = spawnSync(file, args, { encoding: 'utf8', timeout: 5 * 60_000, maxBuffer: 64 * 1024 * 1024 });
  const err = r.error?.message ?? (r.status !== 0 ? `${file} exited with ${r.status ?? r.signal}: ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}` : undefined);
  return { ok: !err, err };
}

/**
 * Compiles native/bpf/exec.bpf.c for `arch` into `out`. Returns { ok: true } or
 * { ok: false, reason } (a sentence: what is missing and which Debian package has it).
 */
export function compileBpfObject({ arch, out }) {
  const key = bpfArch(arch);
  if (!key) return { ok: false, reason: `no eBPF program for ${arch}: it is built for ${Object.keys(BPF_TARGETS).join(' and ')} (64-bit little-endian kernels)` };
  const clang = which('clang', 'clang-16', 'clang-15', 'clang-14');
  if (!clang) return { ok: false, reason: 'clang not found (Debian: clang llvm)' };
  if (!existsSync('/usr/include/bpf/bpf_helpers.h') || !existsSync('/usr/include/bpf/libbpf.h')) {
    return { ok: false, reason: 'libbpf headers not found (Debian: libbpf-dev)' };
  }
  const { tracingArch, target } = BPF_TARGETS[key];
  const bpf = join(here, 'bpf');
  const cc = run(clang, ['-target', target, '-O2', '-g', `-D__TARGET_ARCH_${tracingArch}`, '-I', bpf, '-c', join(bpf, 'exec.bpf.c'), '-o', out]);
  if (!cc.ok) return { ok: false, reason: `the program did not compile (${cc.err})` };
  // DWARF is not needed at run time (BTF is kept): a fraction of the size.
  const strip = which('llvm-strip', 'llvm-strip-16', 'llvm-strip-15', 'llvm-strip-14');
  if (strip) run(strip, ['-g', out]);
  return { ok: true };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [arch, out] = process.argv.slice(2);
  if (!arch || !out) {
    process.stderr.write('usage: node native/bpf-object.mjs <amd64|arm64> <output.o>\n');
    process.exitCode = 2;
  } else {
    const r = compileBpfObject({ arch, out });
    if (!r.ok) {
      process.stderr.write(`nodeward bpf-object: ${r.reason}\n`);
      process.exitCode = 1;
    }
  }
}
