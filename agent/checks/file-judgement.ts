// What a file check asks of a file (its property and test), whatever its kind: the node's files
// (FileCheck) and the control plane's file sets (ControlPlaneFileCheck) are data that say it.
import type { CheckSpec, FileJudgement } from './spec.js';

export function fileJudgementOf(spec: CheckSpec): FileJudgement | undefined {
  if (spec.kind === 'file' || spec.kind === 'control-plane-file') return { property: spec.property, test: spec.test };
  return undefined;
}
