// What a file check asks of a file (its property and test), whatever its kind: the data records
// say it themselves, a custom check that judges a file says it in `judgesFile`.
import type { CheckSpec, FileJudgement } from './spec.js';

export function fileJudgementOf(spec: CheckSpec): FileJudgement | undefined {
  if (spec.kind === 'file' || spec.kind === 'control-plane-file') return { property: spec.property, test: spec.test };
  if (spec.kind === 'custom') return spec.judgesFile;
  return undefined;
}
