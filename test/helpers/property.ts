// Property-based tests (fast-check) run the same way everywhere: a fixed seed, so a run in CI
// is the run on a developer's machine; a set number of runs per property; and on failure the
// seed, the path and the shrunk counterexample in the message, so it can be replayed with
//   NODEWARD_FC_SEED=<seed> npx ava <file>
// NODEWARD_FC_RUNS raises the run count for a longer local soak.
import fc from 'fast-check';
import type { ExecutionContext } from 'ava';

const seed = Number(process.env.NODEWARD_FC_SEED ?? 20261207);
const runsOverride = process.env.NODEWARD_FC_RUNS === undefined ? undefined : Number(process.env.NODEWARD_FC_RUNS);

/** The options every property in the suite runs with; `numRuns` is the property's own default. */
export function propertyOptions(numRuns: number): { seed: number; numRuns: number } {
  return { seed, numRuns: runsOverride ?? numRuns };
}

/**
 * Checks a property and fails the ava test with fast-check's report (seed, path, shrunk
 * counterexample). Synchronous and asynchronous properties both go through here.
 */
export async function checkProperty<Ts>(t: ExecutionContext, property: fc.IProperty<Ts> | fc.IAsyncProperty<Ts>, numRuns: number): Promise<void> {
  const details = await fc.check(property as fc.IAsyncProperty<Ts>, propertyOptions(numRuns));
  if (details.failed) {
    t.fail(`${fc.defaultReportMessage(details) ?? 'property failed'}\n(replay with NODEWARD_FC_SEED=${details.seed})`);
    return;
  }
  t.is(details.numRuns, runsOverride ?? numRuns, 'every run of the property executed');
}

export { fc };

/**
 * A small deterministic PRNG (mulberry32), for tests that generate rows from a seed they print:
 * the rows of a run follow from its seed, so a failure can be replayed.
 */
export function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}
