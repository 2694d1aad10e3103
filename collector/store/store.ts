// The collector's store: one SQLite file, opened and migrated once.
import { openDatabase, type Db } from './db.js';
import { createFindingStore } from './findings.js';
import { createNodeStore } from './nodes.js';

export interface StoreOptions {
  readonly path: string;
  readonly maxOpenFindingsPerNode: number;
}

export function openStore(opts: StoreOptions) {
  const db: Db = openDatabase(opts.path);
  const findings = createFindingStore(db, { maxOpenFindingsPerNode: opts.maxOpenFindingsPerNode });
  const nodes = createNodeStore(db);
  return {
    findings,
    nodes,
    /** Drops idempotency records older than the horizon (agents resend within minutes). */
    pruneReceived(olderThan: number): number {
      return db.prepare('DELETE FROM received WHERE received_at < ?').run(olderThan).changes;
    },
    sizeBytes(): number {
      const pages = db.pragma('page_count', { simple: true }) as number;
      const size = db.pragma('page_size', { simple: true }) as number;
      return pages * size;
    },
    close(): void {
      if (db.open) db.close();
    },
  };
}

export type Store = ReturnType<typeof openStore>;
