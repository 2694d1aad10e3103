// Building results from a spec: the only place a Result object is assembled.
import type { Result, Source, Status } from '../../proto/domain.js';
import { CIS_BENCHMARK, controlIn } from '../../proto/benchmark-refs.js';
import type { KubeletAbsence } from '../facts/index.js';
import type { CheckMeta } from './spec.js';

export interface Judgement {
  readonly subject: string;
  readonly status: Status;
  readonly reason: string;
  readonly actual?: string;
  readonly expected?: string;
  readonly source?: Source;
  readonly sourceFile?: string;
  /** The references that apply to this subject, when not all of the check's do. */
  readonly references?: readonly string[];
}

export function makeResult(spec: CheckMeta, j: Judgement): Result {
  const references = j.references ?? spec.references;
  return {
    id: spec.id,
    cis: controlIn(references, CIS_BENCHMARK),
    references,
    title: spec.title,
    category: spec.category,
    subject: j.subject,
    status: j.status,
    severity: spec.severity,
    scored: spec.scored,
    actual: j.actual ?? '',
    expected: j.expected ?? '',
    source: j.source ?? 'none',
    sourceFile: j.sourceFile ?? '',
    reason: j.reason,
    remediation: spec.remediation,
  };
}

/** A test that did not hold: `fail` for an automated check, `warn` for a manual one. */
export const failingStatus = (spec: Pick<CheckMeta, 'scored'>): Status => (spec.scored ? 'fail' : 'warn');

/** No kubelet: the check does not apply (`skip`), or nobody could tell (`error`). */
export function kubeletAbsent(spec: CheckMeta, subject: string, expected: string, absence: KubeletAbsence | null): Result {
  const status: Status = absence?.status === 'not-running' ? 'skip' : 'error';
  return makeResult(spec, { subject, status, expected, reason: absence?.reason ?? 'no kubelet facts were collected' });
}
