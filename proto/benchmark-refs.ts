// Benchmark references: which control of which benchmark a result decides, written
// "<benchmark>:<control>" (`cis-1.12:1.1.21`). A result carries every reference that applies to
// it, so one problem is reported once whichever benchmarks name it; a managed distribution's
// benchmark (`cis-eks-1.5:3.1.1`) is one more reference, not one more check.

/** The CIS Kubernetes Benchmark version the agent's catalog is written against. */
export const CIS_BENCHMARK = 'cis-1.12';

/** A benchmark's name as a report names it (ScanReport.benchmark): `cis-1.12`, `cis-eks-1.7`. */
export const BENCHMARK_NAME = /^[a-z0-9][a-z0-9._-]{0,31}$/;

/**
 * The benchmark a scan report was judged under: its `benchmark`, or CIS_BENCHMARK when empty
 * (an agent that names none judged under the only benchmark agents knew, CIS Kubernetes).
 */
export const reportBenchmark = (benchmark: string): string => (benchmark === '' ? CIS_BENCHMARK : benchmark);

/** `<benchmark>:<control>`: the benchmark lower-case (`cis-1.12`), the control as it numbers it. */
export const BENCHMARK_REF = /^([a-z0-9][a-z0-9._-]{0,31}):([A-Za-z0-9][A-Za-z0-9._-]{0,31})$/;

/** At most this many references per result (the wire's bound too). */
export const MAX_REFERENCES = 16;

export interface BenchmarkRef {
  readonly benchmark: string;
  readonly control: string;
}

export function parseRef(ref: string): BenchmarkRef | undefined {
  const m = BENCHMARK_REF.exec(ref);
  return m ? { benchmark: m[1] as string, control: m[2] as string } : undefined;
}

export const benchmarkRef = (benchmark: string, control: string): string => `${benchmark}:${control}`;

/** A control of the CIS Kubernetes Benchmark the catalog follows: `cisRef('1.1.21')` is `cis-1.12:1.1.21`. */
export const cisRef = (control: string): string => benchmarkRef(CIS_BENCHMARK, control);

/** The first control `refs` name in `benchmark`, or '' (the `cis` field of a result is this for CIS_BENCHMARK). */
export function controlIn(refs: readonly string[], benchmark: string): string {
  for (const r of refs) {
    const p = parseRef(r);
    if (p?.benchmark === benchmark) return p.control;
  }
  return '';
}

/** Every control `refs` name in `benchmark`. */
export const controlsIn = (refs: readonly string[], benchmark: string): string[] =>
  refs.map(parseRef).filter((p): p is BenchmarkRef => p?.benchmark === benchmark).map((p) => p.control);

/**
 * The references of a result from an agent that predates them (up to 0.2.x): its report's
 * benchmark and its `cis` number, when it has one.
 */
export const legacyReferences = (benchmark: string, cis: string): string[] => {
  if (cis === '') return [];
  const ref = benchmarkRef(benchmark === '' ? CIS_BENCHMARK : benchmark, cis);
  return BENCHMARK_REF.test(ref) ? [ref] : [];
};
