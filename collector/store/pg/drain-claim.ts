// Which replica drains a webhook destination: at most one at a time, so a destination's
// messages keep their outbox order (a finding's `resolved` never overtakes its `opened`) and
// its rows are grouped into messages by one dispatcher, as with one collector.
//
// A claim is a row lock: the destination's row in webhook_drains, taken with
// `SELECT ... FOR UPDATE SKIP LOCKED` in a transaction left open on one client checked out of
// the pool for the length of one drain pass. A replica that finds the row locked gets no claim
// and skips the destination: it never waits. The holder's writes (planning, settling rows) go
// through the store as usual, on other connections: the claim only says who drains. It ends
// with release(), or with the holder's session: a replica that dies, or whose connection
// breaks, loses its transaction and the server frees the row at once, with no lease and no
// clock. Delivery stays at least once: a pass cut short this way may have sent a message whose
// rows it could not mark delivered, and the next holder sends it again with the same delivery
// id (the outbox fixes a message's id before its first try).
//
// The claim holds a pooled connection for the pass, so the pool must have room for the
// destinations being drained besides the units of work (docs/postgresql.md). A pass should
// be bounded (one page of messages); a server with idle_in_transaction_session_timeout shorter
// than a pass ends the claim's session, which lost() then reports.
import type pg from 'pg';
import { sqlOf } from './sql.js';

/** Makes the destination's row (its first claim); committed on its own so others see it. */
const ENSURE_ROW = 'INSERT INTO webhook_drains (destination) VALUES ($1) ON CONFLICT DO NOTHING';
const CLAIM = 'SELECT destination FROM webhook_drains WHERE destination = $1 FOR UPDATE SKIP LOCKED';

export interface Claim {
  readonly destination: string;
  /**
   * True once the claim's connection failed or ended: the row is free and another replica
   * may be draining the destination. The holder should stop after its current message.
   */
  lost(): boolean;
  /** Ends the claim and gives the connection back to the pool. Safe twice. */
  release(): Promise<void>;
}

/** The destination, claimed for one drain pass; undefined when another replica holds it now. */
export async function claimDestination(pool: pg.Pool, destination: string): Promise<Claim | undefined> {
  const client = await pool.connect();
  let broken: Error | undefined;
  // A connection that breaks while checked out reports here (with no listener it would end the process).
  const onError = (err: Error): void => {
    broken ??= err;
  };
  const onEnd = (): void => {
    broken ??= new Error('connection ended');
  };
  client.on('error', onError);
  client.on('end', onEnd);
  let released = false;
  const giveBack = (): void => {
    if (released) return;
    released = true;
    client.removeListener('error', onError);
    client.removeListener('end', onEnd);
    // A broken client is closed by the pool, not handed out again.
    client.release(broken);
  };
  const sql = sqlOf(client);
  try {
    await sql.run(ENSURE_ROW, [destination]);
    await client.query('BEGIN');
    const got = await sql.run(CLAIM, [destination]);
    if (got === 0) {
      await client.query('ROLLBACK');
      giveBack();
      return undefined;
    }
  } catch (err) {
    // A client whose ROLLBACK fails is in an unknown state: the pool closes it.
    await client.query('ROLLBACK').catch((e: Error) => {
      broken ??= e;
    });
    giveBack();
    throw err;
  }
  let releasing: Promise<void> | undefined;
  const release = async (): Promise<void> => {
    if (broken === undefined) {
      // Nothing was written in the transaction: ending it is all a release is.
      await client.query('ROLLBACK').catch((err: Error) => {
        broken ??= err;
      });
    }
    giveBack();
  };
  return {
    destination,
    lost: () => broken !== undefined,
    release: () => (releasing ??= release()),
  };
}
