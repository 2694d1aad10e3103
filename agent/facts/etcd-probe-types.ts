// The etcd probe facts of the model (model.ts): what etcd's client URLs did with a client
// that has no certificate, and with plain text, as etcd-probe.ts probes them. Types only.

/**
 * What one connection saw.
 * - `served`: an HTTP answer came back (`statusCode` set): the request was served.
 * - `cert-required` (TLS): the server's alert says it wanted a client certificate (bad_certificate, certificate_required).
 * - `tls-refused` (TLS): another TLS alert ended the connection.
 * - `no-answer`: the server closed the connection without answering (TLS: after the handshake).
 * - `no-handshake` (TLS): the server closed the connection before the TLS handshake completed.
 * - `not-tls` (TLS): what came back is not TLS.
 * - `tls-only` (plain text): the server answered with TLS, or said it only speaks HTTPS.
 * - `not-http` (plain text): bytes came back that are not an HTTP answer.
 * - `unreachable`: nothing accepted the connection; `timeout`; `error` (detail says).
 */
export type EtcdWireOutcome =
  | 'served' | 'cert-required' | 'tls-refused' | 'no-answer' | 'no-handshake' | 'not-tls'
  | 'tls-only' | 'not-http' | 'unreachable' | 'timeout' | 'error';

export interface EtcdWireProbe {
  readonly outcome: EtcdWireOutcome;
  readonly statusCode: number | null;
  readonly detail: string;
}

export interface EtcdEndpointProbe {
  /** The URL as etcd advertises it. */
  readonly url: string;
  /** Host and port as written in the URL ('' and 0 when it could not be parsed). */
  readonly host: string;
  readonly port: number;
  /** TLS without a client certificate; null when not tried (an http:// URL, or not probed). */
  readonly tls: EtcdWireProbe | null;
  /** Plain text to the same host:port; null when not probed. */
  readonly plain: EtcdWireProbe | null;
  /** Why this URL was not probed; '' when it was. */
  readonly skipped: string;
}

export interface EtcdProbeFacts {
  /** Where the URLs came from, in words ('' when not probed). */
  readonly urlsFrom: string;
  readonly endpoints: readonly EtcdEndpointProbe[];
  /** URLs beyond MAX_LISTED_URLS, counted and not recorded. */
  readonly omitted: number;
  /** Why nothing was probed because the probe is off or there is no etcd ('' otherwise). */
  readonly disabledReason: string;
  /** Why nothing could be probed although it should have been ('' otherwise). */
  readonly error: string;
}
