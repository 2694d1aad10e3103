// The shapes shared by the webhook outbox, its dispatchers and the sinks that format
// messages. A sink is pure: alert events in, one HTTP request out. Everything that touches
// the network or the database lives in the dispatcher.
import type { Severity } from '../../proto/domain.js';
import type { AlertEvent, FindingChange } from '../finding.js';

export const SINK_FORMATS = ['json', 'slack', 'alertmanager', 'falco'] as const;
export type SinkFormat = (typeof SINK_FORMATS)[number];

/**
 * What a sink is asked to send: one change, or a group of changes of the same check and
 * event on several nodes that happened within the grouping window (`changes.length > 1`).
 */
export interface AlertMessage {
  /** Stable across retries: the receiver's idempotency key. */
  readonly deliveryId: string;
  readonly event: AlertEvent;
  readonly changes: readonly FindingChange[];
}

export interface DestinationTls {
  /** PEM of an extra CA to trust for this destination (verification always stays on). */
  readonly ca?: string;
}

/** A configured destination, validated at start; secrets already read from file or env. */
export interface Destination {
  readonly name: string;
  readonly url: string;
  readonly format: SinkFormat;
  readonly minSeverity: Severity;
  /** Empty: every category; node check categories (proto/domain.ts) and posture ones (posture/judge.ts POSTURE_CATEGORIES). */
  readonly categories: readonly string[];
  /** Empty: every node, and cluster findings (which have none). */
  readonly nodes: readonly string[];
  /** Events routed to this destination (default: all but `suppressed`). */
  readonly events: readonly AlertEvent[];
  readonly headers: Readonly<Record<string, string>>;
  /** HMAC key for the json format's signature header; never logged. */
  readonly secret?: string;
  readonly tls?: DestinationTls;
}

/** What a sink produces: the body and headers of one POST to the destination. */
export interface RenderedRequest {
  /** Appended to the destination URL's path (alertmanager: '/api/v2/alerts'); '' for none. */
  readonly path: string;
  readonly body: string;
  readonly headers: Readonly<Record<string, string>>;
}

export interface Sink {
  readonly format: SinkFormat;
  render(message: AlertMessage, destination: Destination): RenderedRequest;
}
