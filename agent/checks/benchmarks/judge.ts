// Judging the catalog under a benchmark. A benchmark never adds a check: the checks that
// decide its controls get its test where it asks another (a file mode), its manual/automated
// split, and on their results its references (`cis-eks-1.7:3.2.1`, plus the CIS Kubernetes
// control when it is the same problem and test), its title and our remediation for it. Every
// other check runs as it is and keeps its CIS Kubernetes references. Result ids stay the
// check ids, so a finding keeps its fingerprint whichever benchmark judges the node.
import type { Result } from '../../../proto/domain.js';
import { benchmarkRef, cisRef } from '../../../proto/benchmark-refs.js';
import type { HostFacts } from '../../facts/index.js';
import { evaluate } from '../evaluate.js';
import { failingStatus } from '../result.js';
import type { CheckSpec } from '../spec.js';
import type { Benchmark, BenchmarkControl } from './types.js';

export interface Judging {
  readonly benchmark: Benchmark;
  /** The specs to evaluate: the same objects where the benchmark changes nothing. */
  readonly specs: readonly CheckSpec[];
  /** A result of `specs` as the benchmark labels it. */
  relabel(r: Result): Result;
}

interface Label {
  readonly references: readonly string[];
  readonly control: BenchmarkControl;
  /** Whether the check as the catalog has it is automated. */
  readonly catalogScored: boolean;
  /** A custom check builds its results from the catalog's spec: its failing status is moved here. */
  readonly custom: boolean;
}

function labelOf(b: Benchmark, controls: readonly BenchmarkControl[], spec: CheckSpec): Label {
  const own = controls.map((c) => benchmarkRef(b.name, c.control));
  const cis = [...new Set(controls.flatMap((c) => (c.cis === undefined ? [] : [cisRef(c.cis)])))];
  return { references: [...own, ...cis], control: controls[0] as BenchmarkControl, catalogScored: spec.scored, custom: spec.kind === 'custom' };
}

function judgedSpec(spec: CheckSpec, label: Label): CheckSpec {
  const c = label.control;
  const meta = { references: label.references, title: c.title, remediation: c.remediation, scored: c.scored };
  if (c.test !== undefined && (spec.kind === 'file' || spec.kind === 'kubelet-setting')) return { ...spec, ...meta, test: c.test };
  return { ...spec, ...meta };
}

export function judgeUnder(benchmark: Benchmark, specs: readonly CheckSpec[]): Judging {
  if (benchmark.native) return { benchmark, specs, relabel: (r) => r };
  const byCheck = new Map<string, BenchmarkControl[]>();
  for (const c of benchmark.controls) byCheck.set(c.check, [...(byCheck.get(c.check) ?? []), c]);
  const labels = new Map<string, Label>();
  const judged = specs.map((spec) => {
    const controls = byCheck.get(spec.id);
    if (controls === undefined) return spec;
    const label = labelOf(benchmark, controls, spec);
    labels.set(spec.id, label);
    return judgedSpec(spec, label);
  });
  return {
    benchmark,
    specs: judged,
    relabel(r) {
      const label = labels.get(r.id);
      if (label === undefined) return r;
      const c = label.control;
      // A custom check fails as the catalog scores it: its failing status follows the benchmark's split.
      const moved = label.custom && label.catalogScored !== c.scored && r.status === failingStatus({ scored: label.catalogScored });
      const status = moved ? failingStatus({ scored: c.scored }) : r.status;
      return { ...r, references: label.references, cis: c.cis ?? '', title: c.title, remediation: c.remediation, scored: c.scored, status };
    },
  };
}

/** Evaluates `specs` on `facts` as `benchmark` judges them. */
export function evaluateUnder(benchmark: Benchmark, facts: HostFacts, specs: readonly CheckSpec[], now: Date): Result[] {
  const j = judgeUnder(benchmark, specs);
  return evaluate(facts, j.specs, now).map(j.relabel);
}
