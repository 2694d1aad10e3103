// The generic format (design.md, Webhooks): body {deliveryId, event, finding}; a grouped
// message keeps those keys (finding: the first change's) and adds `group` and `findings`.
//
// Signature: `X-Nodeward-Signature: sha256=<hex HMAC-SHA256(secret, body bytes)>` when the
// destination has a secret. The body is sent as UTF-8 exactly as rendered, and it is the
// same bytes on every retry, so the signature is too. There is no timestamp header: the
// signed body carries the deliveryId, and a receiver that drops delivery ids it has seen
// (which at-least-once delivery asks of it anyway) also drops a replayed request.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Finding } from '../../finding.js';
import type { AlertMessage, Destination, RenderedRequest, Sink } from '../types.js';
import { DELIVERY_HEADER, findingsOf, leadFinding, nodesOf, requestHeaders } from './shared.js';

export const SIGNATURE_HEADER = 'X-Nodeward-Signature';
const PREFIX = 'sha256=';

export function signBody(body: string | Uint8Array, secret: string): string {
  return PREFIX + createHmac('sha256', secret).update(body).digest('hex');
}

/**
 * For receivers: true when `header` is the signature of exactly these body bytes under
 * `secret`. Compares in constant time; a missing or malformed header is false.
 */
export function verifySignature(body: string | Uint8Array, header: string | undefined, secret: string): boolean {
  if (typeof header !== 'string' || !header.startsWith(PREFIX)) return false;
  const hex = header.slice(PREFIX.length);
  if (!/^[0-9a-f]{64}$/i.test(hex)) return false;
  const expected = createHmac('sha256', secret).update(body).digest();
  return timingSafeEqual(expected, Buffer.from(hex, 'hex'));
}

/** The finding's fields this format carries (docs/webhooks.md), in this order. */
export const JSON_FINDING_FIELDS = [
  'id', 'scope', 'node', 'checkId', 'cis', 'title', 'category', 'subject', 'severity', 'status', 'state', 'actual', 'expected',
  'reason', 'remediation', 'seen', 'firstSeen', 'lastSeen', 'count', 'resolvedAt', 'detail',
] as const satisfies ReadonlyArray<keyof Finding>;

export type JsonFinding = Pick<Finding, (typeof JSON_FINDING_FIELDS)[number]>;

export function jsonFinding(f: Finding): JsonFinding {
  return Object.fromEntries(JSON_FINDING_FIELDS.map((k) => [k, f[k]])) as JsonFinding;
}

function payload(message: AlertMessage): object {
  const lead = leadFinding(message);
  const findings = findingsOf(message);
  const base = { deliveryId: message.deliveryId, event: message.event, finding: jsonFinding(lead) };
  if (findings.length < 2) return base;
  const group = { checkId: lead.checkId, count: findings.length, nodes: nodesOf(message) };
  return { ...base, group, findings: findings.map(jsonFinding) };
}

export const jsonSink: Sink = {
  format: 'json',
  render(message: AlertMessage, destination: Destination): RenderedRequest {
    const body = JSON.stringify(payload(message));
    const own: Record<string, string> = { 'content-type': 'application/json', [DELIVERY_HEADER]: message.deliveryId };
    if (destination.secret) own[SIGNATURE_HEADER] = signBody(body, destination.secret);
    return { path: '', body, headers: requestHeaders(destination, own) };
  },
};
