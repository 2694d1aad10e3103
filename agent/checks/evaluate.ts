// Pure evaluation: (facts, specs, now) -> results. No I/O, no clock reads. A check that throws
// (a bug) becomes an `error` result for that check; the run goes on.
import type { Result } from '../../proto/domain.js';
import type { HostFacts } from '../facts/index.js';
import { evaluateFileCheck, fileCheckSubject } from './node-file-checks.js';
import { evaluateKubeletSetting, kubeletSettingSubject } from './kubelet-setting-checks.js';
import { makeResult } from './result.js';
import { componentSettingSubject, evaluateComponentSetting } from './component-setting-checks.js';
import { evaluateControlPlaneFileCheck, fileSetSubject } from './control-plane-file-checks.js';
import type { CheckSpec } from './spec.js';
import { withWireEvidence } from './wire-evidence.js';

function evaluateOne(spec: CheckSpec, facts: HostFacts, now: Date): readonly Result[] {
  switch (spec.kind) {
    case 'kubelet-setting':
      return [evaluateKubeletSetting(spec, facts)];
    case 'file':
      return evaluateFileCheck(spec, facts);
    case 'custom':
      return spec.evaluate(facts, now);
    case 'component-setting':
      return [evaluateComponentSetting(spec, facts)];
    case 'control-plane-file':
      return evaluateControlPlaneFileCheck(spec, facts);
  }
}

function fallbackSubject(spec: CheckSpec): string {
  if (spec.kind === 'kubelet-setting') return kubeletSettingSubject(spec.setting);
  if (spec.kind === 'file') return fileCheckSubject(spec);
  if (spec.kind === 'component-setting') return componentSettingSubject(spec);
  if (spec.kind === 'control-plane-file') return fileSetSubject(spec);
  return spec.id;
}

export function evaluate(facts: HostFacts, specs: readonly CheckSpec[], now: Date): Result[] {
  const results: Result[] = [];
  for (const spec of specs) {
    try {
      const rs = evaluateOne(spec, facts, now);
      results.push(...(spec.wire === undefined ? rs : rs.map((r) => withWireEvidence(spec, r, facts, now))));
    } catch (err) {
      const reason = `internal error while evaluating ${spec.id}: ${err instanceof Error ? err.message : String(err)}`;
      results.push(makeResult(spec, { subject: fallbackSubject(spec), status: 'error', reason }));
    }
  }
  return results;
}
