// Results about a kubelet that was found from its systemd unit (no live process visible)
// say so: what they judge is what the unit starts, not what runs.
import type { KubeletFacts } from '../facts/index.js';

export const UNIT_ORIGIN_NOTE = 'the kubelet was found from its systemd unit, not a live process (is the agent sharing the host PID namespace?)';

/** `reason` with the unit-origin note appended when it applies. */
export function withOrigin(kubelet: KubeletFacts | null, reason: string): string {
  return kubelet?.origin === 'unit' ? `${reason} [${UNIT_ORIGIN_NOTE}]` : reason;
}
