// What a PostgreSQL migration is. A file of its own so that the migrations, their list
// (migrations/index.ts) and the migrator (migrate.ts) import it without importing each other.
import type { ClientBase } from 'pg';

export interface PgMigration {
  readonly version: number;
  readonly name: string;
  /** Run with the simple query protocol: several statements, nothing bound. */
  readonly sql: string;
  /** A step SQL cannot express (bound values, data from Node), run after `sql` in the same transaction. */
  readonly run?: (client: ClientBase) => Promise<void>;
}
