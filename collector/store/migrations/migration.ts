// What a migration is, and the database it runs on: a file of its own so that the migrations,
// their list (index.ts) and the database module (db.ts) import it without importing each other.
import type Database from 'better-sqlite3';

export type Db = Database.Database;

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
  /** A step SQL cannot express, run after `sql` in the same transaction. */
  readonly run?: (db: Db) => void;
}
