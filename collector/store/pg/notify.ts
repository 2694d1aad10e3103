// Baseline changes between replicas: a change committed through one collector reaches the
// agents connected to any collector sharing the database within the same second, by
// PostgreSQL's LISTEN/NOTIFY on the channel of the collector's schema: `nodeward_baselines` for
// the schema `public`, a name derived from the schema otherwise (schema.ts), since channels
// belong to the database and two clusters sharing one must not hear each other's changes. The
// sender is told its channel by the store (which read its schema at open); the listener reads
// current_schema() on each connection it makes.
//
// Sending: the store calls notifyBaselineChange inside the transaction that makes the change,
// so the notification is delivered when that transaction commits and never when it rolls
// back. The payload is the baseline key and its new version, as JSON.
//
// Hearing: every replica (the sender too) LISTENs on a client of its own, not one of the
// store's pool, since a pooled connection is handed to other work. A notification is only a
// hint: the listener passes on the key and version, and the caller reads the baseline from
// the store before pushing anything. Any role that can connect to the database can NOTIFY on
// any channel, so every payload is bounded and validated; a malformed one is counted
// (nodeward_baseline_notifications_total{outcome="malformed"}) and ignored. When the
// connection is lost (or the first one cannot be made) it connects again `retryMs` later,
// LISTENs again and calls onReconnect: notifications sent while it was deaf are gone, so the
// caller catches up with the store's changedSince.
//
// LISTEN needs a direct connection or a session-mode pooler: PgBouncer in transaction mode
// breaks it (docs/postgresql.md). The timers run on the injected clock.
import type pg from 'pg';
import { isValidBaselineKey } from '../../../proto/baseline-key.js';
import type { Logger } from '../../../proto/support/logger.js';
import type { Clock } from '../../clock.js';
import type { Metrics } from '../../metrics.js';
import { CURRENT_SCHEMA, PUBLIC_NAMES, schemaNames } from './schema.js';
import type { Sql } from './sql.js';

/** The channel of the schema `public`; another schema's is schemaNames(schema).baselineChannel. */
export const BASELINE_CHANNEL = PUBLIC_NAMES.baselineChannel;

/**
 * The longest payload heard: a workload key is at most four parts of 253 characters, so a
 * valid payload stays well under this (PostgreSQL's own limit is 8000 bytes).
 */
export const MAX_PAYLOAD_CHARS = 2048;

export interface BaselineChange {
  readonly key: string;
  readonly version: number;
}

const NOTIFY = 'SELECT pg_notify($1, $2)';

/** The payload of a change. A key or version no store would hold is the code's mistake: refused at once. */
export function encodeBaselineChange(key: string, version: number): string {
  if (!isValidBaselineKey(key)) throw new Error(`not a baseline key: ${JSON.stringify(key.slice(0, 100))}`);
  if (!Number.isSafeInteger(version) || version < 0) throw new Error(`not a baseline version: ${version}`);
  return JSON.stringify({ key, version });
}

/** The change a payload names, or why it is refused. Never throws. */
export function decodeBaselineChange(payload: unknown): BaselineChange | string {
  if (typeof payload !== 'string') return 'no payload';
  if (payload.length > MAX_PAYLOAD_CHARS) return `payload of ${payload.length} characters (at most ${MAX_PAYLOAD_CHARS})`;
  let v: unknown;
  try {
    v = JSON.parse(payload);
  } catch {
    return 'payload is not JSON';
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return 'payload is not a JSON object';
  const o = v as Record<string, unknown>;
  const fields = Object.keys(o);
  if (fields.length !== 2 || !('key' in o) || !('version' in o)) return 'payload must have exactly the fields key and version';
  if (typeof o['key'] !== 'string' || !isValidBaselineKey(o['key'])) return 'key is not a baseline key';
  const version = o['version'];
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 0) return 'version is not a non-negative integer';
  return { key: o['key'], version };
}

/** Announces a change; call it inside the transaction that makes it, so it is heard only if that commits. */
export async function notifyBaselineChange(sql: Sql, key: string, version: number, channel = BASELINE_CHANNEL): Promise<void> {
  await sql.run(NOTIFY, [channel, encodeBaselineChange(key, version)]);
}

export interface BaselineListenerDeps {
  /** Opens a new client of its own (not from the store's pool), connected. */
  readonly connect: () => Promise<pg.Client>;
  readonly clock: Clock;
  /** Wait before connecting again after a loss or a failed try (default 1 s). */
  readonly retryMs?: number;
  /** A well-formed change was heard (from any replica, this one included). */
  readonly onChange: (key: string, version: number) => void;
  /** Listening again after a time without: catch up from the store. */
  readonly onReconnect: () => void;
  readonly metrics: Metrics;
  readonly log: Logger;
}

export interface BaselineListener {
  start(): void;
  /** Stops listening and closes the client. Safe before start and safe twice. */
  stop(): Promise<void>;
  /** Whether the LISTEN is in place now. */
  listening(): boolean;
}

const DEFAULT_RETRY_MS = 1000;

export function createBaselineListener(d: BaselineListenerDeps): BaselineListener {
  const retryMs = d.retryMs ?? DEFAULT_RETRY_MS;
  let running = false;
  let client: pg.Client | undefined;
  /** The channel of the schema the client's session is in (read after each connect). */
  let channel = BASELINE_CHANNEL;
  let listening = false;
  /** Notifications may have been missed since start (a lost connection, a failed try). */
  let deaf = false;
  let cancel: (() => void) | undefined;
  let chain: Promise<void> = Promise.resolve();

  function guarded(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      d.log.error({ err: (err as Error).message }, `baseline listener: the ${what} handler failed`);
    }
  }

  function heard(msg: pg.Notification): void {
    if (msg.channel !== channel) return;
    const change = decodeBaselineChange(msg.payload);
    if (typeof change === 'string') {
      d.metrics.inc('nodeward_baseline_notifications_total', 1, { outcome: 'malformed' });
      d.log.debug({ why: change, from: msg.processId }, 'baseline listener: malformed notification ignored (counted)');
      return;
    }
    d.metrics.inc('nodeward_baseline_notifications_total', 1, { outcome: 'passed' });
    guarded('change', () => d.onChange(change.key, change.version));
  }

  /** Runs a try after the one before it; an unexpected error is logged, never left to break the chain. */
  function enqueue(): void {
    chain = chain.then(listen).catch((err: unknown) => {
      d.log.error({ err: (err as Error).message }, 'baseline listener: unexpected error');
    });
  }

  function retryLater(): void {
    cancel?.();
    cancel = undefined;
    if (!running) return;
    const cancelIt = d.clock.after(retryMs, () => {
      if (cancel === cancelIt) cancel = undefined;
      enqueue();
    });
    cancel = cancelIt;
  }

  function lost(c: pg.Client, why: string): void {
    if (client !== c) return;
    client = undefined;
    listening = false;
    deaf = true;
    d.log.warn({ why }, 'baseline listener: lost its connection; listening again shortly');
    void c.end().catch(() => undefined);
    retryLater();
  }

  async function listen(): Promise<void> {
    if (!running || client !== undefined) return;
    let c: pg.Client;
    try {
      c = await d.connect();
    } catch (err) {
      deaf = true;
      d.log.warn({ err: (err as Error).message }, 'baseline listener: cannot connect; trying again shortly');
      retryLater();
      return;
    }
    if (!running) {
      await c.end().catch(() => undefined);
      return;
    }
    c.on('error', (err: Error) => lost(c, err.message));
    c.on('end', () => lost(c, 'connection ended'));
    c.on('notification', heard);
    client = c;
    try {
      const schema = (await c.query<{ schema: string | null }>(CURRENT_SCHEMA)).rows[0]?.schema ?? null;
      if (schema === null) throw new Error('the session has no schema on its search_path');
      channel = schemaNames(schema).baselineChannel;
      // A name made by schemaNames of letters, digits and _: channels cannot be bound.
      await c.query(`LISTEN ${channel}`);
    } catch (err) {
      lost(c, `LISTEN failed: ${(err as Error).message}`);
      return;
    }
    if (client !== c || !running) return;
    listening = true;
    if (deaf) {
      deaf = false;
      d.metrics.inc('nodeward_baseline_listener_reconnects_total');
      d.log.info('baseline listener: listening again; catching up');
      guarded('reconnect', d.onReconnect);
    }
  }

  return {
    start(): void {
      if (running) return;
      running = true;
      deaf = false;
      enqueue();
    },
    async stop(): Promise<void> {
      running = false;
      cancel?.();
      cancel = undefined;
      await chain;
      const c = client;
      client = undefined;
      listening = false;
      await c?.end().catch(() => undefined);
    },
    listening: () => listening,
  };
}
