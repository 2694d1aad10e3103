// `npm run build:native` (also run by `prepare`, so `npm ci` builds it): compiles the native
// exec sources into native/build/Release/ with node-gyp:
//   nodeward_proc.node      the kernel's process connector (netlink)
//   nodeward_bpf.node       the eBPF exec source's loader (libbpf), and
//   nodeward_exec.bpf.o     its program (clang for the BPF target, CO-RE: bpf-object.mjs)
//
// Everything here is optional. A part that cannot be built (not Linux, no compiler, no Node
// headers, no clang/libbpf) is reported and left out: this script always exits 0, and the
// agent falls back (eBPF, else netlink, else the /proc scan) and says why in its stats.
//
// The program is built for NODEWARD_BPF_ARCH (Docker's TARGETARCH: amd64 or arm64; the
// agent image passes it), else for the architecture Node runs on. It is compiled against our
// own declarations of the kernel types it reads (native/bpf/nodeward_core.h), not against a
// vmlinux.h, so the build machine's kernel, BTF and architecture do not matter.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileBpfObject } from './bpf-object.mjs';

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

/** Compiles the eBPF program into `work`; returns the object's path, or undefined after saying why not. */
function buildBpfObject(work) {
  const arch = process.env.NODEWARD_BPF_ARCH || process.arch;
  const obj = join(work, 'nodeward_exec.bpf.o');
  const r = compileBpfObject({ arch, out: obj });
  if (!r.ok) return void say(`eBPF exec source skipped: ${r.reason}; the agent will use netlink`);
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
