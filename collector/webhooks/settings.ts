// The `webhooks` section of the collector's configuration: its schema (defaults included)
// and the checks a schema cannot make (URL, secrets, CA, headers, unique names). Part of the
// config module: collector/config.ts calls it with the environment it was given and reports
// its problems with all the others, at start.
import { X509Certificate } from 'node:crypto';
import { Type, type Static } from '@sinclair/typebox';
import { CATEGORIES, SEVERITIES } from '../../proto/domain.js';
import type { DispatcherConfig } from './dispatcher.js';
import { ALERT_EVENTS } from '../finding.js';
import { SINK_FORMATS, type SinkFormat } from './types.js';
import { literals } from '../schema.js';
import { POSTURE_CATEGORIES } from '../posture/judge.js';

export const DEFAULT_EVENTS = ALERT_EVENTS.filter((e) => e !== 'suppressed');

export const WebhookSchema = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-z0-9]([-a-z0-9_.]*[a-z0-9])?$', description: 'Unique name (metrics, API, logs): lower case letters, digits, `-`, `_`, `.`' }),
  url: Type.String({ minLength: 1, maxLength: 2048, description: '`https://` URL (`http://` only to a loopback address, or with `allowHttp`); never logged' }),
  // A string here (checked below) so an unknown format gets a message naming the known ones.
  format: Type.String({ minLength: 1, maxLength: 32, description: `Message format: ${SINK_FORMATS.join(', ')}` }),
  minSeverity: literals(SEVERITIES, { default: 'info', description: 'Send findings of this severity and above' }),
  categories: Type.Array(literals([...CATEGORIES, ...POSTURE_CATEGORIES]), { default: [], maxItems: 16, description: 'Empty: every category (the posture categories, such as `rbac`, are those of cluster findings)' }),
  nodes: Type.Array(Type.String({ minLength: 1, maxLength: 253 }), { default: [], maxItems: 10_000, description: 'Empty: every node, and cluster findings; otherwise only the findings of these nodes (a cluster finding has none)' }),
  events: Type.Array(literals(ALERT_EVENTS), { default: DEFAULT_EVENTS, minItems: 1, maxItems: 5, description: 'The finding transitions to send; add `suppressed` to get those too' }),
  headers: Type.Record(Type.String(), Type.String({ maxLength: 8192 }), { default: {}, description: 'Added to every request; `Host`, `Content-Length`, `Transfer-Encoding` and `Connection` cannot be set, and the format\'s own headers win over these. Values are treated as secrets: scrubbed from anything kept' }),
  secretFile: Type.Optional(Type.String({ minLength: 1, description: 'File holding the HMAC secret of the `json` format (at least 16 characters), read once at start; a secret on another format is an error' })),
  secretEnv: Type.Optional(Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z_][A-Za-z0-9_]*$', description: 'Environment variable holding the HMAC secret, instead of `secretFile`' })),
  caFile: Type.Optional(Type.String({ minLength: 1, description: 'PEM of a CA trusted for this destination next to the system\'s roots; verification stays on' })),
  allowHttp: Type.Boolean({ default: false, description: 'Allow `http://` to a host that is not loopback (an in-cluster Alertmanager without TLS)' }),
  timeoutMs: Type.Integer({ default: 10_000, minimum: 100, maximum: 300_000, description: 'Deadline of one request: connect, send, and the whole answer' }),
  maxAgeSeconds: Type.Integer({ default: 86_400, minimum: 1, maximum: 30 * 86_400, description: 'An alert not delivered this long after it was queued becomes a dead letter' }),
  groupWindowMs: Type.Integer({ default: 2000, minimum: 0, maximum: 600_000, description: 'The grouping window; 0 sends every change on its own' }),
  backoffInitialMs: Type.Integer({ default: 1000, minimum: 1, maximum: 3_600_000, description: 'The wait after the first failed try, doubling up to backoffMaxMs' }),
  backoffMaxMs: Type.Integer({ default: 300_000, minimum: 1, maximum: 86_400_000, description: 'The longest wait between tries' }),
  maxPending: Type.Integer({ default: 10_000, minimum: 1, maximum: 1_000_000, description: 'Alerts waiting for this destination at most (docs/webhooks.md, "Bounds")' }),
  repostSeconds: Type.Integer({ default: 60, minimum: 1, maximum: 3600, description: '`alertmanager`: how often firing alerts are posted again' }),
}, { additionalProperties: false });

export type WebhookInput = Static<typeof WebhookSchema>;

export interface WebhookResolveIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Reads a file the configuration names, or records why it cannot. */
  readonly read: (setting: string, path: string) => Buffer | undefined;
  readonly problems: string[];
}

/** Shortest HMAC secret accepted: a guessable one would make the signature worthless. */
export const MIN_SECRET_LENGTH = 16;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Headers the HTTP client owns; setting them would break the request. */
const RESERVED_HEADERS = new Set(['host', 'content-length', 'transfer-encoding', 'connection']);

function isLoopback(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** The destinations as the dispatchers take them, secrets and CA read; problems are collected, not thrown. */
export function resolveWebhooks(list: readonly WebhookInput[], io: WebhookResolveIo): DispatcherConfig[] {
  const out: DispatcherConfig[] = [];
  const seen = new Set<string>();
  list.forEach((w, i) => {
    const at = `webhooks[${i}] (${w.name})`;
    const problem = (p: string): void => {
      io.problems.push(`${at}.${p}`);
    };
    const before = io.problems.length;
    if (seen.has(w.name)) io.problems.push(`${at}: the name is used by another webhook; names must be unique`);
    seen.add(w.name);

    const format = (SINK_FORMATS as readonly string[]).includes(w.format) ? (w.format as SinkFormat) : undefined;
    if (!format) problem(`format: ${JSON.stringify(w.format)} is not a known format (${SINK_FORMATS.join(', ')})`);

    // The URL is never repeated in a message: a Slack webhook URL is itself a secret.
    let url: URL | undefined;
    try {
      url = new URL(w.url);
    } catch {
      problem('url: not a valid URL');
    }
    if (url && url.protocol !== 'https:' && url.protocol !== 'http:') problem('url: must be an https:// (or http://) URL');
    else if (url?.protocol === 'http:' && !isLoopback(url.hostname) && !w.allowHttp) {
      problem('url: plain http:// is allowed only to a loopback address, or with allowHttp: true (alerts would cross the network unencrypted)');
    }
    if (url?.hash) problem('url: must not have a #fragment');

    for (const [k, v] of Object.entries(w.headers)) {
      if (!TOKEN.test(k)) problem(`headers: ${JSON.stringify(k.slice(0, 64))} is not a valid header name`);
      else if (RESERVED_HEADERS.has(k.toLowerCase())) problem(`headers: ${k} is set by the HTTP client and cannot be configured`);
      // eslint-disable-next-line no-control-regex
      if (/[\r\n\u0000]/.test(v)) problem(`headers: the value of ${k.slice(0, 64)} contains a line break or NUL`);
    }

    let secret: string | undefined;
    if (w.secretFile !== undefined && w.secretEnv !== undefined) problem('secretFile: give at most one of secretFile and secretEnv');
    else if (w.secretFile !== undefined) secret = io.read(`${at}.secretFile`, w.secretFile)?.toString('utf8').trim();
    else if (w.secretEnv !== undefined) {
      secret = io.env[w.secretEnv]?.trim();
      if (!secret) problem(`secretEnv: the environment variable ${w.secretEnv} is not set`);
    }
    if (secret !== undefined && secret.length > 0 && secret.length < MIN_SECRET_LENGTH) problem(`secret: must be at least ${MIN_SECRET_LENGTH} characters`);
    if (secret === '' && w.secretFile !== undefined) problem('secretFile: the file is empty');
    if (secret && format && format !== 'json') problem(`secret: only the json format signs its requests; ${w.format} would ignore it`);

    let ca: string | undefined;
    if (w.caFile !== undefined) {
      const pem = io.read(`${at}.caFile`, w.caFile)?.toString('utf8');
      if (pem !== undefined) {
        try {
          new X509Certificate(pem);
          ca = pem;
        } catch {
          problem('caFile: not a PEM certificate');
        }
      }
      if (url?.protocol === 'http:') problem('caFile: only used with an https:// URL');
    }
    if (w.backoffMaxMs < w.backoffInitialMs) problem('backoffMaxMs: must not be less than backoffInitialMs');
    if (io.problems.length > before || !format) return;

    out.push(Object.freeze({
      name: w.name, url: w.url, format, minSeverity: w.minSeverity, categories: w.categories, nodes: w.nodes,
      events: [...new Set(w.events)], headers: w.headers,
      ...(secret ? { secret } : {}),
      ...(ca ? { tls: { ca } } : {}),
      maxPending: w.maxPending, timeoutMs: w.timeoutMs, maxAgeMs: w.maxAgeSeconds * 1000, groupWindowMs: w.groupWindowMs,
      backoff: { initialMs: w.backoffInitialMs, maxMs: w.backoffMaxMs }, repostMs: w.repostSeconds * 1000,
    }));
  });
  return out;
}
