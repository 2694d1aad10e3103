// `npm run build:native` (also run by `prepare`, so `npm ci` builds it): compiles the
// exec-event addon into native/build/Release/nodeward_proc.node with node-gyp.
//
// The addon is optional. A build that cannot run (not Linux, no compiler, no Node headers)
// or fails is reported and then ignored: this script always exits 0, and the agent falls
// back to scanning /proc and says so in its stats (exec_coverage = "scan").
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, 'build', 'Release', 'nodeward_proc.node');
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

function main() {
  if (process.platform !== 'linux') {
    say(`skipped: the process connector exists only on Linux (this is ${process.platform}); the agent will scan /proc instead`);
    return;
  }
  const gyp = nodeGypScript();
  if (!gyp) {
    say('skipped: node-gyp not found; the agent will fall back to scanning /proc');
    return;
  }
  const dir = nodeDir();
  const args = [gyp, 'rebuild', `--directory=${here}`, ...(dir ? [`--nodedir=${dir}`] : [])];
  const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit'], timeout: 10 * 60_000 });
  if (r.error || r.status !== 0 || !existsSync(out)) {
    say(`the exec-event addon did not build (${r.error?.message ?? `node-gyp exited with ${r.status ?? r.signal}`}); the agent will fall back to scanning /proc`);
    return;
  }
  try {
    const addon = createRequire(import.meta.url)(out);
    if (typeof addon.start !== 'function') throw new Error('no start() export');
    say(`built ${out}`);
  } catch (err) {
    say(`built ${out} but it does not load (${err.message}); the agent will fall back to scanning /proc`);
  }
}

try {
  main();
} catch (err) {
  say(`failed (${err?.message ?? err}); the agent will fall back to scanning /proc`);
}
process.exitCode = 0;
