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
// Measured and not set (2-minute paired runs, two agents on the same exec stream): no
// optimizing compiler (`--no-opt`, command line only) saves 5.7 MiB for 11% more CPU;
// `--jitless` (also turns WebAssembly off; V8 warns on stderr unless `--no-expose-wasm`)
// saves 11.4 MiB for 33% more CPU. `--optimize-for-size`, MALLOC_ARENA_MAX=2 and earlier
// bytecode flushing saved nothing measurable. `npm run bench:rss -- --agent-node-args=...`
// repeats such a comparison.
export const AGENT_RUNTIME_ENV: Readonly<Record<string, string>> = Object.freeze({
  NODE_OPTIONS: '--max-semi-space-size=1',
  MALLOC_MMAP_THRESHOLD_: '65536',
});

/**
 * `base` (a parent's environment) with the agent's settings: NODE_OPTIONS are joined, the
 * caller's last so that they win; any other variable the caller set is kept.
 */
export function agentEnv(base: Readonly<Record<string, string | undefined>>): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...AGENT_RUNTIME_ENV, ...base };
  env.NODE_OPTIONS = [AGENT_RUNTIME_ENV.NODE_OPTIONS, base.NODE_OPTIONS].filter(Boolean).join(' ');
  return env;
}
