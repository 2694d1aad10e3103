// One dispatcher per destination drains its outbox rows. Its own loop, never awaited from
// ingest: a slow or dead destination holds up nothing but itself.
//
// Order: messages go out one at a time, in outbox order. A message that must be retried
// holds back the destination's later messages (so a finding's `resolved` never overtakes
// its `opened`); a permanent refusal or the maximum age turns it into a dead letter and
// the queue moves on.
//
// Grouping: rows are grouped (group.ts) only when nothing planned is left, and a group is
// sent once its window has closed. Its delivery id is written to its rows before the
// first try, so every later try, after a restart too, carries the same id and the same rows.
//
// Alertmanager destinations also re-post the alerts they were told are firing, every
// `repostMs`, with an end time a few re-posts ahead, so Alertmanager never resolves an
// alert by itself while the finding is open (and does, should nodeward go away).
import type { Logger } from '../../proto/support/logger.js';
import { systemClock, type Clock } from '../clock.js';
import type { Metrics } from '../metrics.js';
import type { OutboxRow, Store } from '../store/store.js';
import { isoTime } from '../store/time.js';
import { groupChanges } from './group.js';
import { renderFiring } from './sinks/alertmanager.js';
import { sinkFor } from './sinks/index.js';
import { backoffMs, type Backoff } from '../backoff.js';
import { createSender, type Sender, type SendOutcome } from './sender.js';
import type { AlertMessage, Destination } from './types.js';

/** A destination with its delivery settings, as the configuration gives it. */
export interface DispatcherConfig extends Destination {
  /** Pending rows kept at most; past it the oldest is dropped and counted (store/outbox.ts). */
  readonly maxPending: number;
  /** Deadline of one request: connect, send, answer. */
  readonly timeoutMs: number;
  /** A delivery not done this long after it was queued (or retried by an admin) is a dead letter. */
  readonly maxAgeMs: number;
  /** Changes of one check and event queued within this window go out as one message; 0: no grouping. */
  readonly groupWindowMs: number;
  readonly backoff: Backoff;
  /** Alertmanager: how often firing alerts are re-posted. */
  readonly repostMs: number;
}

export interface DispatcherDeps {
  /** The outbox, read and settled through the store. */
  readonly outbox: Store['outbox'];
  readonly metrics: Metrics;
  readonly log: Logger;
  /** Its time and its waits: backoff, grouping windows, re-posts (default: the system's). */
  readonly clock?: Clock;
  /**
   * Replicas sharing one database (PostgreSQL): each pass drains the destination only while
   * it holds the destination's claim (store/pg/drain-claim.ts), so one replica at a time sends
   * its rows, in order. A replica that finds it claimed, or that has nothing to do, looks
   * again after `idleMs`: rows another replica queued wake no one here.
   */
  readonly drain?: { readonly claim: () => Promise<DrainClaim | undefined>; readonly idleMs: number };
}

/** One pass's hold on a destination (store/pg/drain-claim.ts Claim). */
export interface DrainClaim {
  /** The hold broke: another replica may be draining now. */
  lost(): boolean;
  release(): Promise<void>;
}

/** Rows read per step; a message never has more than MAX_GROUP, so a page holds a whole one. */
const PAGE = 1000;
export const MAX_GROUP = 500;
/** Alerts per re-post request. */
const REPOST_CHUNK = 500;
/** Re-posted alerts end this many re-post intervals ahead unless posted again. */
const REPOST_EXPIRY_INTERVALS = 3;
/** With nothing to do, look again after this long anyway (a wake-up is the usual trigger). */
const IDLE_MS = 30_000;
/** After an unexpected error (a busy database), the loop waits this long. */
const ERROR_PAUSE_MS = 1000;

interface Planned {
  readonly seqs: number[];
  readonly message: AlertMessage;
  readonly attempts: number;
  readonly nextAttemptAt: number;
  readonly ageFrom: number;
  readonly createdAt: readonly number[];
  readonly lastError: string;
}

/** Pending rows already planned, as their messages, in outbox order. */
function messagesOf(rows: readonly OutboxRow[]): Planned[] {
  const byId = new Map<string, OutboxRow[]>();
  for (const r of rows) {
    const list = byId.get(r.deliveryId!);
    if (list) list.push(r);
    else byId.set(r.deliveryId!, [r]);
  }
  return [...byId].map(([deliveryId, rs]) => ({
    seqs: rs.map((r) => r.seq),
    message: { deliveryId, event: rs[0]!.event, changes: rs.map((r) => r.change) },
    attempts: Math.max(...rs.map((r) => r.attempts)),
    nextAttemptAt: Math.max(...rs.map((r) => r.nextAttemptAt)),
    ageFrom: Math.min(...rs.map((r) => r.ageFrom)),
    createdAt: rs.map((r) => r.createdAt),
    lastError: rs[0]!.lastError,
  }));
}

export function createDispatcher(config: DispatcherConfig, deps: DispatcherDeps) {
  const { outbox, metrics, log } = deps;
  const clock = deps.clock ?? systemClock;
  const now = (): number => clock.now();
  const name = config.name;
  const labels = { destination: name };
  const sink = sinkFor(config.format);
  const newSender = (): Sender => createSender({
    url: config.url, timeoutMs: config.timeoutMs, ca: config.tls?.ca,
    secrets: [...(config.secret ? [config.secret] : []), ...Object.values(config.headers)],
  });
  let sender = newSender();
  let running = false;
  let loop: Promise<void> | undefined;
  let abort = new AbortController();
  let wakeup: (() => void) | undefined;
  let unsubscribe: (() => void) | undefined;
  let nextRepostAt = 0;
  let gaugesDue = false;

  /** Sleeps `ms`; a wake-up (new rows, a retry) cuts it short when `wakeable`. */
  function sleep(ms: number, wakeable: boolean): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        cancel();
        wakeup = undefined;
        resolve();
      };
      const cancel = clock.after(Math.max(0, ms), done);
      wakeup = wakeable ? done : () => {
        if (!running) done();
      };
    });
  }

  async function gauges(): Promise<void> {
    const c = (await outbox.counts(name))[0];
    if (!c) return;
    metrics.set('nodeward_webhook_pending', c.pending, labels);
    metrics.set('nodeward_webhook_dead_letters', c.dead, labels);
  }

  /** New rows (or drops) while the loop may be asleep: the gauges follow once the writing transaction is over. */
  function rowsQueued(dropped: number): void {
    if (dropped > 0) {
      metrics.inc('nodeward_webhook_dropped_total', dropped, labels);
    }
    if (!gaugesDue) {
      gaugesDue = true;
      setImmediate(() => {
        gaugesDue = false;
        if (running) {
          gauges().catch((err: unknown) => log.warn({ err: (err as Error).message }, 'cannot read the webhook queue for its gauges'));
        }
      });
    }
    wakeup?.();
  }

  function counted(outcome: string, n = 1): void {
    metrics.inc('nodeward_webhook_deliveries_total', n, { ...labels, outcome });
  }

  async function bury(m: Planned, failure: { httpStatus: number | null; error: string; attempted: boolean }, reason: string): Promise<void> {
    const n = await outbox.dead(name, m.seqs, failure, now());
    metrics.inc('nodeward_webhook_dead_letters_total', n, { ...labels, reason });
    log.warn({ deliveryId: m.message.deliveryId, rows: n, status: failure.httpStatus, error: failure.error, reason }, 'webhook delivery is a dead letter');
  }

  /** One try of the head message; returns how long to wait before the queue may move on (0: at once). */
  async function attempt(m: Planned): Promise<number> {
    const t = now();
    if (m.nextAttemptAt > t) return m.nextAttemptAt - t;
    if (t - m.ageFrom >= config.maxAgeMs) {
      const last = m.lastError ? `; last error: ${m.lastError}` : '';
      await bury(m, { httpStatus: null, error: `not delivered within ${Math.round(config.maxAgeMs / 1000)} s (${m.attempts} tries)${last}`, attempted: false }, 'max_age');
      counted('expired');
      return 0;
    }
    let rendered;
    try {
      rendered = sink.render(m.message, config);
    } catch (err) {
      await bury(m, { httpStatus: null, error: `could not render the ${config.format} message: ${(err as Error).message}`, attempted: false }, 'render');
      return 0;
    }
    const started = process.hrtime.bigint();
    const out: SendOutcome = await sender.post(rendered.path, rendered.body, rendered.headers, abort.signal);
    // Stopped mid-flight: the rows stay as they were and go out again after the restart.
    if (!running) return 0;
    metrics.observe('nodeward_webhook_request_duration_seconds',
      Number(process.hrtime.bigint() - started) / 1e9, labels);
    const done = now();
    if (out.kind === 'delivered') {
      await outbox.delivered(name, m.seqs, out.status, done);
      counted('delivered');
      for (const c of m.createdAt) {
        metrics.observe('nodeward_webhook_delivery_latency_seconds',
          Math.max(0, done - c) / 1000, labels);
      }
      log.debug({ deliveryId: m.message.deliveryId, rows: m.seqs.length, status: out.status, attempts: m.attempts + 1 }, 'webhook delivered');
      return 0;
    }
    if (out.kind === 'permanent') {
      counted('refused');
      await bury(m, { httpStatus: out.status, error: out.error, attempted: true }, 'refused');
      return 0;
    }
    const attempts = m.attempts + 1;
    const wait = out.retryAfterMs !== undefined ? Math.max(out.retryAfterMs, config.backoff.initialMs) : backoffMs(attempts, config.backoff);
    await outbox.retryLater(m.seqs, { httpStatus: out.status, error: out.error, nextAttemptAt: done + wait });
    counted('retry');
    log.info({ deliveryId: m.message.deliveryId, attempts, status: out.status, error: out.error, retryInMs: wait }, 'webhook delivery failed; will retry');
    return wait;
  }

  /** Alertmanager: re-posts the firing alerts when due. */
  async function repost(): Promise<void> {
    if (config.format !== 'alertmanager' || now() < nextRepostAt) return;
    const t = now();
    nextRepostAt = t + config.repostMs;
    const firing = await outbox.firing(name);
    if (firing.length === 0) return;
    const expiresAt = isoTime(t + REPOST_EXPIRY_INTERVALS * config.repostMs);
    for (let i = 0; i < firing.length && running; i += REPOST_CHUNK) {
      const req = renderFiring(firing.slice(i, i + REPOST_CHUNK).map((c) => c.finding), config, expiresAt);
      const out = await sender.post(req.path, req.body, req.headers, abort.signal);
      if (!running) return;
      metrics.inc('nodeward_webhook_reposts_total', 1, { ...labels, outcome: out.kind });
      if (out.kind !== 'delivered') {
        log.info({ status: out.status, error: out.error }, 're-posting firing alerts failed; trying again on the next round');
        return;
      }
    }
  }

  /** One pass: under the destination's claim when replicas share the outbox. */
  async function step(): Promise<{ ms: number; wakeable: boolean }> {
    if (!deps.drain) return pass(undefined);
    const claim = await deps.drain.claim();
    if (claim === undefined) {
      metrics.inc('nodeward_webhook_drain_claimed_elsewhere_total', 1, labels);
      return { ms: deps.drain.idleMs, wakeable: true };
    }
    try {
      const next = await pass(claim);
      return { ms: Math.min(next.ms, deps.drain.idleMs), wakeable: next.wakeable };
    } finally {
      await claim.release();
    }
  }

  /** Sends what is due; returns how long to sleep and whether new rows may cut that short. */
  async function pass(claim: DrainClaim | undefined): Promise<{ ms: number; wakeable: boolean }> {
    let planned = await outbox.planned(name, PAGE);
    // A full page may end inside a message: that one waits for the next step, whole.
    if (planned.length === PAGE) {
      const lastId = planned.at(-1)!.deliveryId;
      const head = planned.filter((r) => r.deliveryId !== lastId);
      if (head.length > 0) planned = head;
    }
    let queue = messagesOf(planned);
    let wait: { ms: number; wakeable: boolean } | undefined;
    if (queue.length === 0) {
      const fresh = await outbox.pending(name, PAGE);
      if (fresh.length === 0) wait = { ms: IDLE_MS, wakeable: true };
      else {
        const t = now();
        const grouped = groupChanges(fresh.map((r) => ({ rowId: r.seq, change: r.change, queuedAt: r.createdAt })), {
          destination: name, windowMs: config.groupWindowMs, maxGroup: MAX_GROUP, now: t,
        });
        const ready = grouped.filter((g) => g.ready);
        if (ready.length > 0) await outbox.plan(ready.map((g) => ({ seqs: g.rowIds, deliveryId: g.message.deliveryId })));
        if (ready.length > 0) queue = messagesOf(await outbox.planned(name, PAGE));
        else wait = { ms: Math.max(0, (grouped[0]?.readyAt ?? t) - t), wakeable: false };
      }
    }
    for (const m of queue) {
      if (!running || claim?.lost() === true) break;
      const ms = await attempt(m);
      if (ms > 0) {
        wait = { ms, wakeable: false };
        break;
      }
    }
    await gauges();
    await repost();
    const w = wait ?? { ms: 0, wakeable: false };
    const untilRepost = config.format === 'alertmanager' ? Math.max(0, nextRepostAt - now()) : Infinity;
    return { ms: Math.min(w.ms, untilRepost), wakeable: w.wakeable };
  }

  async function run(): Promise<void> {
    while (running) {
      let next: { ms: number; wakeable: boolean };
      try {
        next = await step();
      } catch (err) {
        metrics.inc('nodeward_webhook_dispatcher_errors_total', 1, labels);
        log.error({ err: (err as Error).message }, 'webhook dispatcher step failed; trying again');
        next = { ms: ERROR_PAUSE_MS, wakeable: false };
      }
      if (running && next.ms > 0) await sleep(next.ms, next.wakeable);
    }
  }

  return {
    name,
    start(): void {
      if (running) return;
      running = true;
      abort = new AbortController();
      nextRepostAt = 0;
      metrics.inc('nodeward_webhook_dropped_total', 0, labels);
      unsubscribe = outbox.subscribe((d, dropped) => {
        if (d === name) rowsQueued(dropped);
      });
      loop = run();
    },
    /** Safe before start and safe twice. A request in flight is abandoned; its rows stay pending. */
    async stop(): Promise<void> {
      if (!running) return;
      running = false;
      unsubscribe?.();
      abort.abort();
      wakeup?.();
      await loop;
      loop = undefined;
      // A fresh client for a later start; an unused one holds no socket.
      sender.close();
      sender = newSender();
    },
  };
}

export type Dispatcher = ReturnType<typeof createDispatcher>;
