// The registry of benchmarks a node can be judged under, and the one rule that picks it: the
// agent's `benchmark` setting (`auto` or a name), `nodeward scan --benchmark`, and what the
// node's distribution names (the distribution layouts' detection) when the setting is `auto`.
import { CIS_KUBERNETES } from './cis-kubernetes.js';
import { CIS_EKS } from './cis-eks.js';
import { CIS_GKE } from './cis-gke.js';
import { CIS_AKS } from './cis-aks.js';
import { K3S_CIS } from './k3s-cis.js';
import { RKE2_CIS } from './rke2-cis.js';
import { MICROK8S_CIS } from './microk8s-cis.js';
import type { Benchmark } from './types.js';
import type { HostFacts } from '../../facts/index.js';

export type { Benchmark, BenchmarkControl, UncoveredControl } from './types.js';
export { judgeUnder, evaluateUnder, type Judging } from './judge.js';
export { CIS_KUBERNETES };

/** Every benchmark, CIS Kubernetes first. */
export const BENCHMARKS: readonly Benchmark[] = [CIS_KUBERNETES, CIS_EKS, CIS_GKE, CIS_AKS, K3S_CIS, RKE2_CIS, MICROK8S_CIS];

export const BENCHMARK_NAMES: readonly string[] = BENCHMARKS.map((b) => b.name);

/** The setting that lets the node's distribution decide. */
export const AUTO_BENCHMARK = 'auto';

/** A benchmark name nodeward does not know: a usage or configuration error. */
export class UnknownBenchmarkError extends Error {
  readonly code = 'UNKNOWN_BENCHMARK';
  constructor(readonly benchmark: string) {
    super(`unknown benchmark ${JSON.stringify(benchmark)} (known: ${AUTO_BENCHMARK}, ${BENCHMARK_NAMES.join(', ')})`);
    this.name = 'UnknownBenchmarkError';
  }
}

export const isBenchmarkName = (name: string): boolean => BENCHMARK_NAMES.includes(name);

/** @throws UnknownBenchmarkError */
export function benchmarkNamed(name: string): Benchmark {
  const b = BENCHMARKS.find((x) => x.name === name);
  if (b === undefined) throw new UnknownBenchmarkError(name);
  return b;
}

/**
 * The benchmark a node is judged under. `setting` is the agent's `benchmark` setting or the
 * scan's --benchmark: a benchmark name wins over anything detected; `auto` takes `detected`,
 * the name the node's distribution layout gives (null: no distribution recognised, or one
 * that CIS Kubernetes judges, such as kubeadm), and null means CIS Kubernetes.
 * @throws UnknownBenchmarkError when `setting` or `detected` names no known benchmark.
 */
export function benchmarkFor(setting: string, detected: string | null): Benchmark {
  if (setting !== AUTO_BENCHMARK) return benchmarkNamed(setting);
  return detected === null ? CIS_KUBERNETES : benchmarkNamed(detected);
}

/**
 * The benchmark the node's distribution names, from its facts (`detected` of benchmarkFor):
 * the layout the facts phase chose (agent/facts/distribution.ts, detected or set by the
 * `distribution` setting) names its benchmark. Null for facts without a distribution (a
 * snapshot from before it), which CIS Kubernetes judges.
 */
export function detectedBenchmark(facts: HostFacts): string | null {
  return facts.distribution?.benchmark ?? null;
}
