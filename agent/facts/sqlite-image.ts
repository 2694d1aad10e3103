// An SQLite database as its writer last committed it, built in memory from the database file
// and its write-ahead log, both read from the host through host-fs. Why not open the host's
// file with SQLite: a reader of a WAL-mode database needs the `-shm` index beside it and will
// create or write it (even a read-only connection does, when it may), and it takes locks the
// host's own writer then waits on; `immutable=1` would avoid both, but it ignores the log, and
// the SQLite inside better-sqlite3 is built without URI filenames. rpm keeps its commits in
// the log until it closes the database (it turns automatic checkpoints off), so a package
// upgraded a moment ago is only in the log: the log has to be read.
//
// The log's committed frames are applied here, as SQLite's own recovery would: a header with
// a valid checksum, then frames whose salts match the header and whose running checksum holds,
// up to the last frame that ends a transaction. The image is then marked as a rollback-journal
// database (file format bytes 18-19 = 1), which an in-memory database can read. Written from
// SQLite's description of its file format (https://www.sqlite.org/fileformat2.html); pure,
// never throws.

const MAGIC = Buffer.from('SQLite format 3\0', 'latin1');
const WAL_MAGIC_LE = 0x377f0682;
const WAL_MAGIC_BE = 0x377f0683;
const WAL_VERSION = 3007000;
const WAL_HEADER = 32;
const FRAME_HEADER = 24;

export type SqliteImageErrorCode = 'not-sqlite' | 'bad-page-size' | 'too-large';

export type SqliteImage =
  | {
      readonly ok: true;
      readonly image: Buffer;
      /** Frames taken from the log (the last copy of a page wins). */
      readonly walFrames: number;
      /** Why the log was not used at all, when it was present but not usable; else null. */
      readonly walIgnored: string | null;
    }
  | { readonly ok: false; readonly code: SqliteImageErrorCode; readonly message: string };

/** Page size from the database header (1 stands for 65536); 0 when it is not a valid one. */
export function sqlitePageSize(db: Uint8Array): number {
  if (db.length < 100) return 0;
  const raw = (db[16]! << 8) | db[17]!;
  const size = raw === 1 ? 65536 : raw;
  return size >= 512 && size <= 65536 && (size & (size - 1)) === 0 ? size : 0;
}

export const isSqliteFile = (db: Uint8Array): boolean => db.length >= 100 && Buffer.from(db.buffer, db.byteOffset, 16).equals(MAGIC);

/** SQLite's WAL checksum over `bytes` (a multiple of 8 long), continuing from (s0, s1). */
function walChecksum(bytes: Buffer, bigEndian: boolean, s: [number, number]): [number, number] {
  let [s0, s1] = s;
  for (let i = 0; i + 8 <= bytes.length; i += 8) {
    const x0 = bigEndian ? bytes.readUInt32BE(i) : bytes.readUInt32LE(i);
    const x1 = bigEndian ? bytes.readUInt32BE(i + 4) : bytes.readUInt32LE(i + 4);
    s0 = (s0 + x0 + s1) >>> 0;
    s1 = (s1 + x1 + s0) >>> 0;
  }
  return [s0, s1];
}

interface WalCommitted {
  readonly pages: ReadonlyMap<number, number>;
  readonly dbPages: number;
  readonly frames: number;
}

/** The committed frames of a log for a database of `pageSize`, or why it is not usable. */
function readWal(wal: Buffer, pageSize: number): WalCommitted | string {
  if (wal.length < WAL_HEADER) return wal.length === 0 ? 'empty' : 'shorter than its header';
  const magic = wal.readUInt32BE(0);
  if (magic !== WAL_MAGIC_LE && magic !== WAL_MAGIC_BE) return 'not a write-ahead log';
  const bigEndian = magic === WAL_MAGIC_BE;
  if (wal.readUInt32BE(4) !== WAL_VERSION) return `log format ${wal.readUInt32BE(4)}`;
  if (wal.readUInt32BE(8) !== pageSize) return `log page size ${wal.readUInt32BE(8)}, database ${pageSize}`;
  let sum = walChecksum(wal.subarray(0, 24), bigEndian, [0, 0]);
  if (sum[0] !== wal.readUInt32BE(24) || sum[1] !== wal.readUInt32BE(28)) return 'log header checksum does not hold';
  const salt1 = wal.readUInt32BE(16);
  const salt2 = wal.readUInt32BE(20);
  const committed = new Map<number, number>();
  const pending: Array<[number, number]> = [];
  let dbPages = 0;
  let frames = 0;
  for (let at = WAL_HEADER; at + FRAME_HEADER + pageSize <= wal.length; at += FRAME_HEADER + pageSize) {
    const pgno = wal.readUInt32BE(at);
    const commit = wal.readUInt32BE(at + 4);
    if (pgno === 0 || wal.readUInt32BE(at + 8) !== salt1 || wal.readUInt32BE(at + 12) !== salt2) break;
    sum = walChecksum(wal.subarray(at, at + 8), bigEndian, sum);
    sum = walChecksum(wal.subarray(at + FRAME_HEADER, at + FRAME_HEADER + pageSize), bigEndian, sum);
    if (sum[0] !== wal.readUInt32BE(at + 16) || sum[1] !== wal.readUInt32BE(at + 20)) break;
    pending.push([pgno, at + FRAME_HEADER]);
    if (commit > 0) {
      for (const [p, off] of pending) committed.set(p, off);
      frames += pending.length;
      pending.length = 0;
      dbPages = commit;
    }
  }
  return { pages: committed, dbPages, frames };
}

/**
 * The committed state of a database: `db` (the main file) with the committed frames of
 * `wal` (its `-wal` file, or null) applied, at most `maxBytes` long.
 */
export function sqliteImage(db: Buffer, wal: Buffer | null, maxBytes: number): SqliteImage {
  if (!isSqliteFile(db)) return { ok: false, code: 'not-sqlite', message: 'not an SQLite database (no "SQLite format 3" header)' };
  const pageSize = sqlitePageSize(db);
  if (pageSize === 0) return { ok: false, code: 'bad-page-size', message: 'the database header names no valid page size' };
  const log = wal === null ? 'absent' : readWal(wal, pageSize);
  const usable = typeof log === 'string' ? null : log.dbPages > 0 ? log : null;
  const size = usable ? usable.dbPages * pageSize : db.length;
  if (size > maxBytes) return { ok: false, code: 'too-large', message: `the committed database is ${size} bytes, over the ${maxBytes}-byte limit` };
  const image = Buffer.alloc(size);
  db.copy(image, 0, 0, Math.min(db.length, size));
  if (usable && wal) {
    for (const [pgno, off] of usable.pages) {
      if (pgno > usable.dbPages) continue;
      wal.copy(image, (pgno - 1) * pageSize, off, off + pageSize);
    }
  }
  if (image.length >= 100) {
    image[18] = 1;
    image[19] = 1;
  }
  return {
    ok: true,
    image,
    walFrames: usable ? usable.frames : 0,
    walIgnored: typeof log === 'string' && log !== 'absent' && log !== 'empty' ? log : null,
  };
}
