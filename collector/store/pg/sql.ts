// How the PostgreSQL store runs a statement: against the pool (a read or write outside a unit
// of work, on whichever connection is free) or against the one client a unit has checked out
// (every statement of the unit in its transaction). The sub-stores are written against `Sql`
// and never see which.
//
// Each distinct statement text gets a name, so node-postgres prepares it once per connection
// and then sends only its parameters; texts are the stores' constants, so the names stay few.
//
// PostgreSQL text cannot hold NUL (U+0000), which SQLite stores as it comes and an agent's text
// may carry (the wire validator bounds text; it refuses no character). Every string parameter
// (and string in an array parameter) has its NULs replaced here by U+FFFD, the replacement
// character: the write is kept instead of failing its whole unit with 22021, and a lookup by
// the same text finds what the write stored. Reads give U+FFFD where SQLite gives NUL.
import type pg from 'pg';

export interface Sql {
  /** The rows the statement returns. */
  rows<R>(text: string, params?: readonly unknown[]): Promise<R[]>;
  /** The first row, or undefined. */
  one<R>(text: string, params?: readonly unknown[]): Promise<R | undefined>;
  /** How many rows the statement wrote (or returned). */
  run(text: string, params?: readonly unknown[]): Promise<number>;
  /**
   * The rows of a statement planned anew for its values every time (not prepared): for one
   * whose best plan depends on a value, as the search probe's does on the term's rarity. A
   * prepared statement may switch to a generic plan after five runs, chosen blind to it.
   */
  rowsPlannedEach<R>(text: string, params: readonly unknown[]): Promise<R[]>;
}

const names = new Map<string, string>();

function nameOf(text: string): string {
  let name = names.get(text);
  if (name === undefined) {
    name = `nw${names.size + 1}`;
    names.set(text, name);
  }
  return name;
}

const hasNul = (v: unknown): v is string => typeof v === 'string' && v.includes('\u0000');

/** A parameter as PostgreSQL text can hold it: NUL replaced by U+FFFD, in a string or an array's strings. */
function withoutNul(v: unknown): unknown {
  if (hasNul(v)) return v.replaceAll('\u0000', '\uFFFD');
  if (Array.isArray(v) && v.some(hasNul)) return v.map(withoutNul);
  return v;
}

/**
 * An Sql over a pool or one client. A text built per call (a list's filter) must come from a
 * bounded set of shapes, with every value a parameter: each shape is one prepared statement.
 */
export function sqlOf(q: pg.Pool | pg.ClientBase): Sql {
  const query = async <R>(text: string, params: readonly unknown[] | undefined): Promise<pg.QueryResult<R & pg.QueryResultRow>> =>
    q.query<R & pg.QueryResultRow>({ name: nameOf(text), text, values: params === undefined ? [] : params.map(withoutNul) });
  return {
    async rows<R>(text: string, params?: readonly unknown[]): Promise<R[]> {
      return (await query<R>(text, params)).rows;
    },
    async one<R>(text: string, params?: readonly unknown[]): Promise<R | undefined> {
      return (await query<R>(text, params)).rows[0];
    },
    async run(text: string, params?: readonly unknown[]): Promise<number> {
      return (await query<unknown>(text, params)).rowCount ?? 0;
    },
    async rowsPlannedEach<R>(text: string, params: readonly unknown[]): Promise<R[]> {
      return (await q.query<R & pg.QueryResultRow>({ text, values: params.map(withoutNul) })).rows;
    },
  };
}

/** Runs `work` as one transaction on one client of the pool: committed when it resolves, rolled back when it rejects. */
export type Transact = <T>(work: (sql: Sql) => Promise<T>) => Promise<T>;

export function transactOn(pool: pg.Pool): Transact {
  return async <T>(work: (sql: Sql) => Promise<T>): Promise<T> => {
    const client = await pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      try {
        const out = await work(sqlOf(client));
        await client.query('COMMIT');
        return out;
      } catch (err) {
        await client.query('ROLLBACK').catch((e: Error) => {
          broken = e;
        });
        throw err;
      }
    } finally {
      // A client whose ROLLBACK failed is in an unknown state: the pool closes it.
      client.release(broken);
    }
  };
}
