// The agent's durable outbox: every scan report and finding batch waits here, on disk,
// until the collector acknowledges it. Bounded by entries and bytes; every drop is
// counted. The agent's own small store (the collector's store is separate).
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { FindingBatch, ScanReport, WireResult } from '../../proto/load.js';
import { preparePrivateDatabase } from '../../proto/support/private-files.js';

export type SpoolKind = 'scan' | 'batch';

export interface SpoolEntry {
  readonly sequence: number;
  readonly kind: SpoolKind;
  readonly payload: ScanReport | FindingBatch;
}

export interface SpoolStats {
  readonly entries: number;
  readonly items: number;
  readonly bytes: number;
  /** Entries lost to the bounds (their items are counted in droppedItems). */
  readonly dropped: number;
  readonly droppedItems: number;
  readonly rejected: number;
}

export interface SpoolOptions {
  readonly dir: string;
  /** Results plus findings held at most (default 50,000). */
  readonly maxItems: number;
  readonly maxBytes: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS entries (
  sequence   INTEGER PRIMARY KEY AUTOINCREMENT,
  kind       TEXT NOT NULL CHECK (kind IN ('scan', 'batch')),
  full_scan  INTEGER NOT NULL DEFAULT 0,
  payload    TEXT NOT NULL,
  items      INTEGER NOT NULL,
  bytes      INTEGER NOT NULL,
  attempted  INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL
) STRICT;
`;

interface Row { sequence: number; kind: SpoolKind; full_scan: number; payload: string; items: number; bytes: number; attempted: number }

const resultKey = (r: WireResult): string => `${r.checkId}\n${r.subject}`;
const failing = (r: WireResult): boolean => r.status === 'STATUS_FAIL' || r.status === 'STATUS_WARN';

export function openSpool(opts: SpoolOptions) {
  mkdirSync(opts.dir, { recursive: true, mode: 0o700 });
  // The owner's alone (0600, and so its -wal and -shm): it holds findings with command lines.
  preparePrivateDatabase(join(opts.dir, 'spool.db'));
  const db = new Database(join(opts.dir, 'spool.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  // Every commit is synced (FULL), not only at checkpoints (NORMAL). Entries are kept until
  // the collector acks them (and an ack now means the collector synced them), so what
  // matters here is the sequence: after a power loss, NORMAL could roll back sequence
  // numbers the collector has already stored, and the next batches would reuse them and be
  // acked as duplicates without being stored. The spool commits a few times a second at
  // most (scans, rate-limited process findings, acks), so the syncs are cheap.
  db.pragma('synchronous = FULL');
  db.exec(SCHEMA);

  const s = {
    meta: db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?'),
    setMeta: db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value'),
    insert: db.prepare('INSERT INTO entries (kind, full_scan, payload, items, bytes, created_at) VALUES (?, ?, ?, ?, ?, ?)'),
    unsentFull: db.prepare<[], Row>("SELECT * FROM entries WHERE kind = 'scan' AND full_scan = 1 AND attempted = 0 ORDER BY sequence"),
    delete: db.prepare('DELETE FROM entries WHERE sequence = ?'),
    totals: db.prepare<[], { n: number; items: number | null; bytes: number | null }>('SELECT count(*) AS n, sum(items) AS items, sum(bytes) AS bytes FROM entries'),
    oldestOfKind: db.prepare<[SpoolKind], Row>('SELECT * FROM entries WHERE kind = ? ORDER BY sequence LIMIT 1'),
    next: db.prepare<[number, number], Row>('SELECT * FROM entries WHERE sequence > ? ORDER BY sequence LIMIT ?'),
    attempted: db.prepare('UPDATE entries SET attempted = 1 WHERE sequence = ? AND attempted = 0'),
  };

  const counter = (key: string): number => Number(s.meta.get(key)?.value ?? '0');
  const bump = (key: string, by: number): void => {
    s.setMeta.run(key, String(counter(key) + by));
  };

  let epoch = s.meta.get('epoch')?.value;
  if (!epoch) {
    // A new spool is a new epoch: the collector's idempotency is per (node, epoch, sequence).
    epoch = randomBytes(12).toString('base64url');
    s.setMeta.run('epoch', epoch);
  }

  /** Evicts oldest entries until the spool fits; scan results never evict process findings. */
  function enforceBounds(added: SpoolKind): void {
    for (;;) {
      const t = s.totals.get()!;
      if ((t.items ?? 0) <= opts.maxItems && (t.bytes ?? 0) <= opts.maxBytes) return;
      const victim = s.oldestOfKind.get('scan') ?? (added === 'batch' ? s.oldestOfKind.get('batch') : undefined);
      if (!victim) return;
      s.delete.run(victim.sequence);
      bump('dropped', 1);
      bump('dropped_items', victim.items);
    }
  }

  const add = db.transaction((kind: SpoolKind, full: boolean, payload: ScanReport | FindingBatch, items: number): number => {
    const json = JSON.stringify(payload);
    const bytes = Buffer.byteLength(json);
    if (items > opts.maxItems || bytes > opts.maxBytes) {
      bump('dropped', 1);
      bump('dropped_items', items);
      return 0;
    }
    const seq = Number(s.insert.run(kind, full ? 1 : 0, json, items, bytes, Date.now()).lastInsertRowid);
    enforceBounds(kind);
    return seq;
  });

  return {
    get epoch(): string {
      return epoch;
    },

    /**
     * Queues a scan report. A full report folds in the full reports that were never sent:
     * a result that fails in both keeps the older occurrences, so counts stay exact while
     * the spool holds one report per outage instead of one per scan.
     */
    addScan(report: ScanReport, full: boolean): number {
      return db.transaction(() => {
        let results = report.results ?? [];
        if (full) {
          const carried = new Map<string, number>();
          for (const old of s.unsentFull.all()) {
            for (const r of (JSON.parse(old.payload) as ScanReport).results ?? []) {
              if (failing(r)) carried.set(resultKey(r), (carried.get(resultKey(r)) ?? 0) + (r.occurrences ?? 1));
            }
            s.delete.run(old.sequence);
          }
          if (carried.size > 0) {
            results = results.map((r) => (failing(r) && carried.has(resultKey(r))
              ? { ...r, occurrences: (r.occurrences ?? 1) + (carried.get(resultKey(r)) ?? 0) }
              : r));
          }
        }
        return add('scan', full, { ...report, results }, results.length);
      })();
    },

    addBatch(batch: FindingBatch): number {
      return add('batch', false, batch, batch.findings?.length ?? 0);
    },

    /** Entries after `after`, oldest first. */
    next(after: number, limit: number): SpoolEntry[] {
      return s.next.all(after, limit).map((r) => ({ sequence: r.sequence, kind: r.kind, payload: JSON.parse(r.payload) as ScanReport }));
    },

    /** Recorded before the first send: an entry that may have reached the collector is never folded. */
    markAttempted(sequence: number): void {
      s.attempted.run(sequence);
    },

    ack(sequence: number): void {
      s.delete.run(sequence);
    },

    /** The collector refused the entry as permanently invalid: dropped and counted. */
    reject(sequence: number): void {
      db.transaction(() => {
        if (s.delete.run(sequence).changes > 0) bump('rejected', 1);
      })();
    },

    stats(): SpoolStats {
      const t = s.totals.get()!;
      return {
        entries: t.n, items: t.items ?? 0, bytes: t.bytes ?? 0,
        dropped: counter('dropped'), droppedItems: counter('dropped_items'), rejected: counter('rejected'),
      };
    },

    close(): void {
      if (db.open) db.close();
    },
  };
}

export type Spool = ReturnType<typeof openSpool>;
