// What every sink needs: the destination's own headers merged under the format's, the
// node list of a message, and bounded text. Sinks are pure: no clock, no I/O.
import type { Finding } from '../../finding.js';
import type { AlertMessage, Destination } from '../types.js';
import { isoTime } from '../../store/time.js';

/** Carries the message's idempotency key on every format (receivers dedup on it). */
export const DELIVERY_HEADER = 'X-Nodeward-Delivery';

/**
 * The configured headers first, then the format's; a configured header whose name equals a
 * format header (case-insensitively) is dropped, so configuration cannot break the
 * content type or the signature.
 */
export function requestHeaders(destination: Destination, own: Record<string, string>): Record<string, string> {
  const taken = new Set(Object.keys(own).map((k) => k.toLowerCase()));
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(destination.headers)) if (!taken.has(k.toLowerCase())) out[k] = v;
  return { ...out, ...own };
}

/** The first change's finding: what a message is about. A message always has a change. */
export function leadFinding(message: AlertMessage): Finding {
  const f = message.changes[0]?.finding;
  if (!f) throw new Error(`webhook message ${message.deliveryId} has no changes`);
  return f;
}

export function findingsOf(message: AlertMessage): Finding[] {
  return message.changes.map((c) => c.finding);
}

/** Where a finding is, in words: its node, or `cluster` for a cluster finding (which has no node). */
export function placeOf(f: Finding): string {
  return f.scope === 'cluster' ? 'cluster' : f.node;
}

/** The distinct nodes of a message (`cluster` for cluster findings), in the order their changes came. */
export function nodesOf(message: AlertMessage): string[] {
  return [...new Set(message.changes.map((c) => placeOf(c.finding)))];
}

/** `a, b, c and 297 more`: at most `max` names. */
export function listNodes(nodes: readonly string[], max: number): string {
  const shown = nodes.slice(0, max).join(', ');
  return nodes.length > max ? `${shown} and ${nodes.length - max} more` : shown;
}

/** At most `max` UTF-16 units, ending in an ellipsis when cut; never splits a surrogate pair. */
export function clip(s: string, max: number): string {
  if (s.length <= max) return s;
  let cut = s.slice(0, Math.max(0, max - 1));
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  return `${cut}…`;
}

/** RFC 3339 in UTC with milliseconds (four-digit years); a value that is not a time is passed through. */
export function rfc3339(iso: string): string {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? iso : isoTime(t);
}
