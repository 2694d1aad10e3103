// The only module (with its siblings in store/) that imports better-sqlite3.
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { MIGRATIONS } from './migrations/index.js';
import { preparePrivateDatabase } from '../../proto/support/private-files.js';
import { StoreError } from './boundary/errors.js';

export type { Db } from './migrations/migration.js';
import type { Db } from './migrations/migration.js';


/**
 * How commits reach the disk: `full` (the collector's setting: synced before the commit
 * returns, so before any ack) or `normal` (synced at checkpoints only; survives a crash of
 * the process, not of the machine). `normal` exists for the ingest benchmark's comparison.
 */
export type Durability = 'full' | 'normal';

/**
 * Opens (creating if needed) and migrates the collector database. The file and its -wal and
 * -shm are the owner's alone (0600): they hold every finding, command line and the audit log.
 */
export function openDatabase(path: string, durability: Durability = 'full'): Db {
  if (path !== ':memory:') {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    preparePrivateDatabase(path);
  }
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('busy_timeout = 5000');
    db.pragma('foreign_keys = ON');
    // An ack tells the agent the finding is stored, and the agent then drops it from its
    // spool: a commit must therefore reach the disk before the ack leaves. With WAL,
    // NORMAL survives a crash of the process but not a power loss (the WAL is synced only
    // at checkpoints); FULL syncs the WAL at every commit. bench/ingest.ts shows the cost.
    db.pragma(durability === 'full' ? 'synchronous = FULL' : 'synchronous = NORMAL');
    // Planner statistics are sampled, so refreshing them stays cheap on a large database.
    db.pragma('analysis_limit = 1000');
    migrate(db);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

export function migrate(db: Db): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  const latest = MIGRATIONS.at(-1)?.version ?? 0;
  if (current > latest) {
    throw new StoreError('DB_TOO_NEW', `database schema version ${current} is newer than this collector understands (${latest}); refusing to open it`);
  }
  for (const m of MIGRATIONS) {
    if (m.version <= current) continue;
    db.transaction(() => {
      if (m.sql !== '') db.exec(m.sql);
      m.run?.(db);
      db.pragma(`user_version = ${m.version}`);
    })();
  }
}
