// One unit of work on PostgreSQL: one transaction on one client checked out of the pool for
// the whole unit. The unit's parts are built over that client (so every statement of the
// unit is in its transaction), its rollup deltas are flushed just before COMMIT (their row
// locks are then held only for the flush and the commit), and its outbox is told after the
// transaction ended how it ended. Units of one store run at once, each on its own client;
// the database makes them wait for each other where they write the same rows.
import type pg from 'pg';
import { sqlOf, type Sql } from './sql.js';

/** A unit's parts over its client, and what the runner does with them at its end. */
export interface UnitParts<U> {
  /** What the work is given. */
  readonly unit: U;
  /** The last writes, before COMMIT (the rollups). */
  beforeCommit(): Promise<void>;
  /** After COMMIT. */
  committed(): void;
  /** After ROLLBACK (or a failed COMMIT): nothing the unit wrote stays. */
  rolledBack(): void;
}

export async function runPgUnit<U, T>(pool: pg.Pool, build: (sql: Sql) => UnitParts<U>, work: (u: U) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
  } catch (err) {
    client.release(err as Error);
    throw err;
  }
  let parts: UnitParts<U> | undefined;
  let out: T;
  try {
    parts = build(sqlOf(client));
    out = await work(parts.unit);
    await parts.beforeCommit();
    await client.query('COMMIT');
  } catch (err) {
    // A client whose ROLLBACK failed is in an unknown state: released with the error, the pool closes it.
    let broken: Error | undefined;
    await client.query('ROLLBACK').catch((e: Error) => {
      broken = e;
    });
    client.release(broken);
    parts?.rolledBack();
    throw err;
  }
  client.release();
  parts.committed();
  return out;
}
