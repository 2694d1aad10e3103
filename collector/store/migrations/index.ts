// Numbered migrations keyed on PRAGMA user_version. Append only: a released migration is
// never edited, and a database newer than the code is refused.
import { m001Initial } from './001-initial.js';

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [m001Initial];
