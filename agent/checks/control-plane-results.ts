// Shared steps of every control-plane check: find the component (or say why it is not
// there), and turn a resolved value into a judgement.
import type { Result } from '../../proto/domain.js';
import type { ComponentFacts, ControlPlaneComponent, ControlPlaneFacts, HostFacts } from '../facts/index.js';
import { makeResult } from './result.js';
import type { CheckMeta } from './spec.js';

export const NO_CONTROL_PLANE_FACTS = 'no control-plane facts were collected';

/** The control-plane facts, or the error result that stands in for them. */
export function controlPlaneOf(spec: CheckMeta, facts: HostFacts, subject: string, expected: string): ControlPlaneFacts | Result {
  return facts.controlPlane ?? makeResult(spec, { subject, status: 'error', expected, reason: NO_CONTROL_PLANE_FACTS });
}

/**
 * The component, or the result for its absence: `skip` when this node does not run it (a
 * worker has no API server), `error` when nobody can tell.
 */
export function componentOf(spec: CheckMeta, facts: HostFacts, component: ControlPlaneComponent, subject: string, expected: string): ComponentFacts | Result {
  const cp = controlPlaneOf(spec, facts, subject, expected);
  if ('id' in cp) return cp;
  const c = cp.components[component];
  if (c !== null) return c;
  const a = cp.absence[component];
  return makeResult(spec, {
    subject,
    status: a?.status === 'not-found' ? 'skip' : 'error',
    expected,
    reason: a?.reason ?? `no facts about ${component} were collected`,
  });
}

export const isResult = (x: object): x is Result => 'id' in x && 'status' in x;

/** How a component was found, for a reason: `kube-apiserver (pid 42)`, `... (static pod manifest X)`. */
export function foundAs(c: ComponentFacts): string {
  if (c.origin === 'process') return `${c.component} (pid ${c.pid ?? '?'})`;
  if (c.origin === 'manifest') return `${c.component} from its static pod manifest ${c.manifest ?? ''} (no running process seen)`;
  return `${c.component} inside ${c.embeddedIn ?? 'another process'} (pid ${c.pid ?? '?'})`;
}
