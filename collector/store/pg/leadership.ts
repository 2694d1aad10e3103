// Which of the collectors sharing one PostgreSQL database is the leader: the one replica that
// runs the sweepers and the Kubernetes watches (pods, nodes, posture), so that two replicas
// never raise the same agent-stale finding or watch the API server twice.
//
// The leader is the replica whose session holds a session advisory lock (LEADER_LOCK_KEY for
// the schema `public`, distinct from the migrator's; another schema's key is derived from its
// name, schema.ts, read from the session's current_schema() after each connect, so two
// clusters on one database each have a leader of their own). The lock lives in a client of
// its own, not one of the store's pool, since a pooled connection is handed to other work and
// a lock taken on it would follow it there. While not leader, a replica tries to take the lock every `retryMs`
// (pg_try_advisory_lock: never waits). While leader, it checks its session every `checkMs`
// with `SELECT 1` under a deadline; when the check fails, or the connection reports an error or
// ends, it steps down at once (onChange(false)), drops the client and, `retryMs` later,
// connects again and tries again. A replica killed outright (SIGKILL, a lost node) loses its
// session when the server notices the connection gone, the server frees the lock, and another
// replica takes it within `retryMs`.
//
// Two leaders can overlap only briefly: a leader cut off from the server (not killed) keeps
// acting until its next check fails, at most `checkMs` plus the check's deadline, while the
// server may already have ended its session and given the lock to another. What the leader runs
// is therefore written to be correct when done twice (the store's writes are upserts).
//
// The timers run on the injected clock; the check's deadline is a network deadline on real
// time (proto/support/clock.ts). The session advisory lock needs a direct connection or a
// session-mode pooler: PgBouncer in transaction mode breaks it (docs/postgresql.md).
import type pg from 'pg';
import type { Logger } from '../../../proto/support/logger.js';
import type { Clock } from '../../clock.js';
import type { Metrics } from '../../metrics.js';
import { CURRENT_SCHEMA, PUBLIC_NAMES, schemaNames } from './schema.js';

/**
 * The leader lock's key in the schema `public`: the ASCII of "nwleader" read as a big-endian
 * 64-bit integer (the migrator's is "nodeward": migrate.ts), so no other lock collides with it
 * by chance. Other schemas: schemaNames(schema).leaderLock.
 */
export const LEADER_LOCK_KEY = PUBLIC_NAMES.leaderLock;

const TRY_LOCK = 'SELECT pg_try_advisory_lock($1::bigint) AS ok';
const UNLOCK = 'SELECT pg_advisory_unlock($1::bigint)';
const CHECK = 'SELECT 1';

export interface LeadershipDeps {
  /** Opens a new client of its own (not from the store's pool), connected. */
  readonly connect: () => Promise<pg.Client>;
  readonly clock: Clock;
  /** How often a replica that is not leader tries to take the lock (and reconnects after a loss). */
  readonly retryMs: number;
  /** How often the leader checks that its session is still alive. */
  readonly checkMs: number;
  /** The deadline of one check or one try, on real time (default 5 s). */
  readonly queryTimeoutMs?: number;
  /** Told each time this replica becomes leader (true) and stops being leader (false). */
  readonly onChange: (leader: boolean) => void;
  readonly metrics: Metrics;
  readonly log: Logger;
}

export interface Leadership {
  start(): void;
  /** Steps down (the lock given back before it resolves) and closes the client. Safe before start and safe twice. */
  stop(): Promise<void>;
  /** Whether this replica is leader now. */
  isLeader(): boolean;
}

const DEFAULT_QUERY_TIMEOUT_MS = 5000;

/**
 * One statement on `c` with a deadline on real time (a network deadline). A statement past it
 * leaves the session in doubt: the caller drops the client.
 */
async function query<R extends pg.QueryResultRow>(c: pg.Client, ms: number, text: string, values: unknown[] = []): Promise<R[]> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  try {
    return (await Promise.race([c.query<R>(text, values), deadline])).rows;
  } finally {
    clearTimeout(timer);
  }
}

export function createLeadership(d: LeadershipDeps): Leadership {
  const timeoutMs = d.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS;
  let running = false;
  let client: pg.Client | undefined;
  /** The lock key of the schema the client's session is in (read after each connect). */
  let lockKey = LEADER_LOCK_KEY;
  let leader = false;
  let cancel: (() => void) | undefined;
  /** Steps run one after another: a timer that fires while one is under way waits its turn. */
  let chain: Promise<void> = Promise.resolve();

  function tell(now: boolean): void {
    if (leader === now) return;
    leader = now;
    d.metrics.set('nodeward_leader', now ? 1 : 0);
    d.metrics.inc('nodeward_leader_changes_total', 1, { to: now ? 'leader' : 'follower' });
    try {
      d.onChange(now);
    } catch (err) {
      d.log.error({ err: (err as Error).message }, 'leadership: the change handler failed');
    }
  }

  /** Runs `step` after the steps before it; an unexpected error is logged, never left to break the chain. */
  function enqueue(step: () => Promise<void>): void {
    chain = chain.then(step).catch((err: unknown) => {
      d.log.error({ err: (err as Error).message }, 'leadership: unexpected error');
    });
  }

  function schedule(ms: number, step: () => Promise<void>): void {
    cancel?.();
    cancel = undefined;
    if (!running) return;
    const cancelIt = d.clock.after(ms, () => {
      if (cancel === cancelIt) cancel = undefined;
      enqueue(step);
    });
    cancel = cancelIt;
  }

  /** The session of `c` is gone or cannot be trusted: step down, drop it, reconnect later. */
  function lost(c: pg.Client, why: string): void {
    if (client !== c) return;
    client = undefined;
    if (leader) d.log.warn({ why }, 'leadership: lost the database session; stepping down');
    else d.log.info({ why }, 'leadership: lost the database session');
    tell(false);
    void c.end().catch(() => undefined);
    schedule(d.retryMs, attempt);
  }

  async function attempt(): Promise<void> {
    if (!running) return;
    if (client === undefined) {
      let c: pg.Client;
      try {
        c = await d.connect();
      } catch (err) {
        d.log.info({ err: (err as Error).message }, 'leadership: cannot connect; trying again later');
        schedule(d.retryMs, attempt);
        return;
      }
      if (!running) {
        await c.end().catch(() => undefined);
        return;
      }
      // Without a listener an error on an idle client would end the process.
      c.on('error', (err: Error) => lost(c, err.message));
      c.on('end', () => lost(c, 'connection ended'));
      client = c;
      try {
        const schema = (await query<{ schema: string | null }>(c, timeoutMs, CURRENT_SCHEMA))[0]?.schema ?? null;
        if (schema === null) throw new Error('the session has no schema on its search_path');
        lockKey = schemaNames(schema).leaderLock;
      } catch (err) {
        lost(c, (err as Error).message);
        return;
      }
    }
    const c = client;
    let got: boolean;
    try {
      got = (await query<{ ok: boolean }>(c, timeoutMs, TRY_LOCK, [lockKey]))[0]?.ok === true;
    } catch (err) {
      lost(c, (err as Error).message);
      return;
    }
    if (client !== c) return;
    if (!running) {
      // stop() came while the try was under way and waits for this step: give the lock back.
      if (got) await query(c, timeoutMs, UNLOCK, [lockKey]).catch(() => undefined);
      return;
    }
    if (got) {
      d.log.info('leadership: this replica is now the leader');
      tell(true);
      schedule(d.checkMs, check);
    } else {
      schedule(d.retryMs, attempt);
    }
  }

  async function check(): Promise<void> {
    const c = client;
    if (!running || c === undefined) return;
    try {
      await query(c, timeoutMs, CHECK);
    } catch (err) {
      lost(c, `session check failed: ${(err as Error).message}`);
      return;
    }
    if (client === c) schedule(d.checkMs, check);
  }

  return {
    start(): void {
      if (running) return;
      running = true;
      enqueue(attempt);
    },
    async stop(): Promise<void> {
      running = false;
      cancel?.();
      cancel = undefined;
      await chain;
      const c = client;
      client = undefined;
      if (c === undefined) return;
      if (leader) {
        // Given back before the session ends, so another replica can take it the moment this resolves.
        await query(c, timeoutMs, UNLOCK, [lockKey]).catch(() => undefined);
        d.log.info('leadership: stepped down (stopping)');
        tell(false);
      }
      await c.end().catch(() => undefined);
    },
    isLeader: () => leader,
  };
}
