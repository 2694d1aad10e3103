// The environment the agent's Node.js process starts with: Dockerfile.agent sets the same
// values (test/deploy/agent-runtime-env.test.ts checks that they agree), `nodeward dev`
// passes them to the agent it spawns, and bench/agent-rss.ts measures the agent with them.
// They must be in place before the process starts, so the agent cannot set them itself.
//
// Measured under process churn (bench/agent-rss.ts), without them most of the agent's
// anonymous memory was not data:
// - V8 grows the young generation up to 2 x 16 MiB when allocation is brisk (every exec
//   event and /proc scan allocates short-lived objects). 1 MiB semi-spaces hold the agent's
//   young objects; the price is more, shorter scavenges.
// - glibc kept ~30 MiB of its main heap after only ~4.5 MiB was still in use: file reads
//   allocate 64 KiB buffers that interleave with long-lived allocations, and glibc's
//   adaptive mmap threshold moves such blocks onto the heap. A fixed 64 KiB threshold
//   serves them with mmap, which returns the pages on free.
// Measured and not set (2-minute paired runs, two agents on the same exec stream):
// `--jitless` (also turns WebAssembly off; V8 warns on stderr unless `--no-expose-wasm`)
// saves another 2-4 MiB over the Node.js options below for 33% more CPU than the default
// (regular expressions, which the redactor runs on every command line, are interpreted).
// `--optimize-for-size`, MALLOC_ARENA_MAX=2, earlier bytecode flushing, `--max-lazy`,
// `--single-threaded` and a smaller heap growing factor saved nothing measurable or cost CPU.
// `npm run bench:rss -- --agent-node-args=...` repeats such a comparison.
export const AGENT_RUNTIME_ENV: Readonly<Record<string, string>> = Object.freeze({
  NODE_OPTIONS: '--max-semi-space-size=1',
  MALLOC_MMAP_THRESHOLD_: '65536',
});

/**
 * V8 options for the agent's Node.js command line (NODE_OPTIONS does not take them):
 * Dockerfile.agent's ENTRYPOINT and `nodeward dev` start the agent with them, and the memory
 * benchmark measures it so. Under process churn (bench/agent-rss.ts, 10 minutes at 100
 * execs/s) they took the agent from 94-95 to under 80 MiB resident, with the 1 MiB eBPF ring:
 * - `--max-opt=1`: interpreter and baseline compiler only. The optimizing compilers' code, their
 *   working memory and the part of the Node.js binary they run are not resident (-5.7 MiB,
 *   4 of them the binary's pages), for about 11% more CPU: the agent's work is short
 *   handlers, not hot loops (2.5-2.8% of a core at 200 execs/s). Spelled as a tier, not
 *   `--no-opt`, so that a later V8's other optimizing compiler (Maglev) stays off as well.
 * - `--compact-on-every-full-gc`: each full collection compacts the old space. Without it V8
 *   kept pages that live objects were scattered over: 27 MiB committed for 18.5 MiB live
 *   after 3 minutes, against 21-23 MiB with it, for no CPU measurable: a full collection of
 *   a 20 MiB heap is rare and short.
 */
export const AGENT_NODE_ARGS: readonly string[] = Object.freeze(['--max-opt=1', '--compact-on-every-full-gc']);

/**
 * `base` (a parent's environment) with the agent's settings: NODE_OPTIONS are joined, the
 * caller's last so that they win; any other variable the caller set is kept.
 */
export function agentEnv(base: Readonly<Record<string, string | undefined>>): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...AGENT_RUNTIME_ENV, ...base };
  env.NODE_OPTIONS = [AGENT_RUNTIME_ENV.NODE_OPTIONS, base.NODE_OPTIONS].filter(Boolean).join(' ');
  return env;
}
