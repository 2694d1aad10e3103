// A small writer of rpm headers and rpm SQLite databases for tests: what an installed
// package's record looks like in /usr/lib/sysimage/rpm/rpmdb.sqlite (Packages(hnum, blob), and
// the Basenames file index), built from the format description in rpm's documentation. Only
// what agent/facts/rpm-header.ts reads is written; it is independent of that parser (its own
// encoding of every type), so a shared misreading of the format would not pass unnoticed.
import Database from 'better-sqlite3';
import { RPM_TAG, RPM_TYPE } from '../../agent/facts/rpm-header.js';

export type HeaderValue =
  | { readonly tag: number; readonly type: 'string'; readonly value: string }
  | { readonly tag: number; readonly type: 'string-array'; readonly value: readonly string[] }
  | { readonly tag: number; readonly type: 'int32'; readonly value: readonly number[] }
  | { readonly tag: number; readonly type: 'int16'; readonly value: readonly number[] }
  | { readonly tag: number; readonly type: 'bin'; readonly value: Uint8Array };

const TYPE_NUMBER = { string: RPM_TYPE.STRING, 'string-array': RPM_TYPE.STRING_ARRAY, int32: RPM_TYPE.INT32, int16: RPM_TYPE.INT16, bin: RPM_TYPE.BIN };

/** A header as the database stores it: intro (il, dl), index, data; values aligned to their size. */
export function writeRpmHeader(values: readonly HeaderValue[]): Buffer {
  const chunks: Buffer[] = [];
  let dl = 0;
  const index = Buffer.alloc(16 * values.length);
  values.forEach((v, i) => {
    const align = v.type === 'int32' ? 4 : v.type === 'int16' ? 2 : 1;
    const pad = (align - (dl % align)) % align;
    if (pad > 0) {
      chunks.push(Buffer.alloc(pad));
      dl += pad;
    }
    let bytes: Buffer;
    let count: number;
    switch (v.type) {
      case 'string':
        bytes = Buffer.concat([Buffer.from(v.value, 'utf8'), Buffer.alloc(1)]);
        count = 1;
        break;
      case 'string-array':
        bytes = Buffer.concat(v.value.flatMap((s) => [Buffer.from(s, 'utf8'), Buffer.alloc(1)]));
        count = v.value.length;
        break;
      case 'int32':
        bytes = Buffer.alloc(4 * v.value.length);
        v.value.forEach((n, j) => bytes.writeUInt32BE(n >>> 0, 4 * j));
        count = v.value.length;
        break;
      case 'int16':
        bytes = Buffer.alloc(2 * v.value.length);
        v.value.forEach((n, j) => bytes.writeUInt16BE(n & 0xffff, 2 * j));
        count = v.value.length;
        break;
      case 'bin':
        bytes = Buffer.from(v.value);
        count = v.value.length;
        break;
    }
    index.writeUInt32BE(v.tag, 16 * i);
    index.writeUInt32BE(TYPE_NUMBER[v.type], 16 * i + 4);
    index.writeUInt32BE(dl, 16 * i + 8);
    index.writeUInt32BE(count, 16 * i + 12);
    chunks.push(bytes);
    dl += bytes.length;
  });
  const intro = Buffer.alloc(8);
  intro.writeUInt32BE(values.length, 0);
  intro.writeUInt32BE(dl, 4);
  return Buffer.concat([intro, index, ...chunks]);
}

export interface TestPackage {
  readonly name: string;
  readonly version: string;
  readonly release: string;
  readonly epoch?: number;
  /** FILEDIGESTALGO; omitted means the header has none (MD5). */
  readonly algo?: number;
  /** Absolute paths and their recorded digests (hex; '' for none). */
  readonly files: ReadonlyArray<{ readonly path: string; readonly digest: string }>;
}

/** The header of an installed package, with its file list compressed as rpm does (dirnames + indexes). */
export function packageHeader(p: TestPackage): Buffer {
  const dirs: string[] = [];
  const dirindexes: number[] = [];
  const basenames: string[] = [];
  for (const f of p.files) {
    const slash = f.path.lastIndexOf('/');
    const dir = f.path.slice(0, slash + 1);
    let di = dirs.indexOf(dir);
    if (di < 0) di = dirs.push(dir) - 1;
    dirindexes.push(di);
    basenames.push(f.path.slice(slash + 1));
  }
  const values: HeaderValue[] = [
    { tag: RPM_TAG.NAME, type: 'string', value: p.name },
    { tag: RPM_TAG.VERSION, type: 'string', value: p.version },
    { tag: RPM_TAG.RELEASE, type: 'string', value: p.release },
  ];
  if (p.epoch !== undefined) values.push({ tag: RPM_TAG.EPOCH, type: 'int32', value: [p.epoch] });
  if (p.files.length > 0) {
    values.push(
      { tag: RPM_TAG.FILEDIGESTS, type: 'string-array', value: p.files.map((f) => f.digest) },
      { tag: RPM_TAG.DIRINDEXES, type: 'int32', value: dirindexes },
      { tag: RPM_TAG.BASENAMES, type: 'string-array', value: basenames },
      { tag: RPM_TAG.DIRNAMES, type: 'string-array', value: dirs },
    );
  }
  if (p.algo !== undefined) values.push({ tag: RPM_TAG.FILEDIGESTALGO, type: 'int32', value: [p.algo] });
  return writeRpmHeader(values);
}

export interface RpmDbOptions {
  /** Write the Basenames file index (rpm always does); default true. */
  readonly basenamesIndex?: boolean;
}

/**
 * Creates an rpm database at `path` holding `rows` (package headers, or any bytes for a
 * corrupt row) and the Basenames index of the files each row names, then closes it (which
 * checkpoints the log into the database file).
 */
export function writeRpmDb(path: string, rows: ReadonlyArray<{ readonly blob: Buffer; readonly files?: readonly string[] }>, opts: RpmDbOptions = {}): void {
  const db = openRpmDbWriter(path, opts);
  addRpmPackages(db, rows, opts);
  db.close();
}

/** A writer as rpm opens it: WAL, automatic checkpoints off (rpm checkpoints when it closes). */
export function openRpmDbWriter(path: string, opts: RpmDbOptions = {}): Database.Database {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('wal_autocheckpoint = 0');
  db.exec("CREATE TABLE IF NOT EXISTS 'Packages' (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL)");
  if (opts.basenamesIndex !== false) {
    db.exec("CREATE TABLE IF NOT EXISTS 'Basenames' (key 'TEXT' NOT NULL, hnum INTEGER NOT NULL, idx INTEGER NOT NULL, FOREIGN KEY (hnum) REFERENCES 'Packages'(hnum))");
    db.exec("CREATE INDEX IF NOT EXISTS 'Basenames_key_idx' ON 'Basenames'(key ASC)");
  }
  return db;
}

/** Adds packages in one transaction; `files` are the paths the Basenames index gets for the row. */
export function addRpmPackages(db: Database.Database, rows: ReadonlyArray<{ readonly blob: Buffer; readonly files?: readonly string[] }>, opts: RpmDbOptions = {}): void {
  const insert = db.prepare('INSERT INTO Packages (blob) VALUES (?)');
  const index = opts.basenamesIndex === false ? null : db.prepare('INSERT INTO Basenames (key, hnum, idx) VALUES (?, ?, ?)');
  db.transaction(() => {
    for (const row of rows) {
      const hnum = Number(insert.run(row.blob).lastInsertRowid);
      (row.files ?? []).forEach((f, i) => index?.run(f.slice(f.lastIndexOf('/') + 1), hnum, i));
    }
  })();
}

/** A package's row: its header and its files for the index. */
export const packageRow = (p: TestPackage): { blob: Buffer; files: string[] } => ({ blob: packageHeader(p), files: p.files.map((f) => f.path) });
