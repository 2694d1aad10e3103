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
// Measured and not set: `--optimize-for-size`, MALLOC_ARENA_MAX=2, earlier bytecode flushing,
// `--max-lazy`, `--single-threaded` (+2 points of a core) and a smaller heap growing factor
// saved nothing measurable beyond the options below. `npm run bench:rss --
// --agent-node-args=...` repeats such a comparison.
export const AGENT_RUNTIME_ENV: Readonly<Record<string, string>> = Object.freeze({
  NODE_OPTIONS: '--max-semi-space-size=1',
  MALLOC_MMAP_THRESHOLD_: '65536',
});

/**
 * V8 options for the agent's Node.js command line: Dockerfile.agent's ENTRYPOINT and `nodeward
 * dev` start the agent with them, and the memory benchmark measures it so. Measured under
 * process churn (bench/agent-rss.ts --soak: 10 minutes at 100 execs/s, 5% of them new
 * executables), each run on its own on this 2-core machine, resident after 10 minutes:
 * - no options, the 4 MiB ring of before: 94.4-95.3 MiB;
 * - `--no-opt`, the 1 MiB ring (exec-events.ts DEFAULT_RING_BYTES): 89.5 MiB;
 * - `--max-opt=1` (no optimizing compiler) and `--compact-on-every-full-gc`: 84.1 MiB;
 * - `--jitless` and `--compact-on-every-full-gc` (these): 78.7 and 76.5 MiB in two runs
 *   (medians 75.8 and 75.0, at most 80.2), flat (+0.28 and +0.02 MiB/min over the second half).
 * `--jitless`: V8 interprets the agent's JavaScript and regular expressions instead of
 * compiling them. Nothing compiled is resident, and neither is the part of the Node.js binary
 * that compiles (38.1 -> 36.2 MiB of its pages). The agent's work is short handlers, not hot
 * loops: at 200 execs/s on eBPF it took 4.1-4.2% of a core against 3.8-4.1% compiled
 * (bench/exec-capture.ts, two paired runs), inside the 5% target; 7.5% against 6.1% under the
 * memory bench's heavier churn. WebAssembly goes with the compiler (`--no-expose-wasm` says
 * so instead of a warning); nothing the agent loads uses it.
 * `--compact-on-every-full-gc`: each full collection compacts the old space. Without it V8
 * kept pages that live objects were scattered over: 27 MiB committed for 18.5 MiB live after
 * 3 minutes, 22-24 MiB with it, for no CPU measurable (a full collection of a 20 MiB heap is
 * rare and short).
 */
export const AGENT_NODE_ARGS: readonly string[] = Object.freeze(['--jitless', '--no-expose-wasm', '--compact-on-every-full-gc']);

/**
 * `base` (a parent's environment) with the agent's settings: NODE_OPTIONS are joined, the
 * caller's last so that they win; any other variable the caller set is kept.
 */
export function agentEnv(base: Readonly<Record<string, string | undefined>>): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...AGENT_RUNTIME_ENV, ...base };
  env.NODE_OPTIONS = [AGENT_RUNTIME_ENV.NODE_OPTIONS, base.NODE_OPTIONS].filter(Boolean).join(' ');
  return env;
}
