// The rpm database, read-only: where it is, which backend it uses, and which installed
// packages record given paths, with the digest each recorded.
//
// Only the SQLite backend (rpmdb.sqlite: Fedora 33+, RHEL 9, openSUSE since 2021) is read.
// The older BerkeleyDB (`Packages`) and ndb (`Packages.db`) backends are recognised and
// reported as not read. The database and its write-ahead log are read through host-fs (never
// out of the host root, each at most a set size) and opened from memory (sqlite-image.ts
// says why), so nothing is ever written beside the host's database and no lock of the host's
// rpm is taken. Each package is one rpm header (rpm-header.ts) in table Packages(hnum, blob);
// table Basenames(key, hnum, idx) indexes the file names, and is used when present.
import Database from 'better-sqlite3';
import type { HostFs } from './host-fs.js';
import { parseRpmHeader, rpmFindFiles, rpmPackageInfo, type RpmHeaderLimits } from './rpm-header.js';
import { sqliteImage } from './sqlite-image.js';

/** Where rpm keeps its database, newest layout first (/var/lib/rpm is often a link to the first). */
export const RPMDB_DIRS: readonly string[] = ['/usr/lib/sysimage/rpm', '/var/lib/rpm'];

export type RpmDbLocation =
  | { readonly kind: 'sqlite'; readonly path: string }
  | { readonly kind: 'bdb' | 'ndb'; readonly path: string }
  | { readonly kind: 'none' }
  | { readonly kind: 'unreadable'; readonly path: string; readonly message: string };

const BACKEND_FILES: ReadonlyArray<readonly [string, 'sqlite' | 'ndb' | 'bdb']> = [
  ['rpmdb.sqlite', 'sqlite'],
  ['Packages.db', 'ndb'],
  ['Packages', 'bdb'],
];

export async function locateRpmDb(hostFs: HostFs): Promise<RpmDbLocation> {
  for (const dir of RPMDB_DIRS) {
    for (const [name, kind] of BACKEND_FILES) {
      const path = `${dir}/${name}`;
      const st = await hostFs.stat(path);
      if (st.ok) {
        if (st.value.type !== 'file') return { kind: 'unreadable', path, message: `${path} is not a regular file` };
        return { kind, path };
      }
      if (st.error.code !== 'ENOENT' && st.error.code !== 'ENOTDIR') return { kind: 'unreadable', path, message: st.error.message };
    }
  }
  return { kind: 'none' };
}

export interface RpmDbLimits {
  /** The database file and the committed image built from it and its log. */
  readonly maxDbBytes: number;
  readonly maxWalBytes: number;
  /** Package headers read by one query (a full scan when the file index is missing). */
  readonly maxPackages: number;
  readonly header: RpmHeaderLimits;
}

export interface RpmOwner {
  readonly package: string;
  readonly version: string;
  /** The path as recorded (raw bytes as latin1). */
  readonly path: string;
  /** Lowercase hex; '' when none is recorded. */
  readonly digest: string;
  /** FILEDIGESTALGO's number. */
  readonly digestAlgo: number;
}

/** What the database says about one asked-for file (under any of its alias paths). */
export interface RpmAnswer {
  readonly owners: RpmOwner[];
  /** Headers that could have recorded the file but could not be parsed (their errors, bounded). */
  readonly corrupt: string[];
}

/** The database's identity for a cache: both files' sizes and modification times. */
export interface RpmDbStamp {
  readonly path: string;
  readonly size: number;
  readonly mtimeMs: number;
  readonly walSize: number;
  readonly walMtimeMs: number;
}

export type RpmQuery =
  | {
      readonly ok: true;
      readonly answers: ReadonlyMap<string, RpmAnswer>;
      readonly stamp: RpmDbStamp;
      readonly headersRead: number;
      /** Why the query stopped early ('time' or 'packages'), or null. */
      readonly cut: 'time' | 'packages' | null;
      readonly walFrames: number;
    }
  | { readonly ok: false; readonly message: string };

export interface RpmRequest {
  /** The caller's key for the answer. */
  readonly key: string;
  /** Absolute alias paths of the one file (raw bytes as latin1). */
  readonly paths: ReadonlySet<string>;
}

export async function rpmDbStamp(hostFs: HostFs, path: string): Promise<RpmDbStamp | null> {
  const st = await hostFs.stat(path);
  if (!st.ok) return null;
  const wal = await hostFs.stat(`${path}-wal`);
  return {
    path,
    size: st.value.size,
    mtimeMs: st.value.mtimeMs,
    walSize: wal.ok ? wal.value.size : -1,
    walMtimeMs: wal.ok ? wal.value.mtimeMs : -1,
  };
}

export const sameStamp = (a: RpmDbStamp, b: RpmDbStamp | null): boolean =>
  b !== null && a.path === b.path && a.size === b.size && a.mtimeMs === b.mtimeMs && a.walSize === b.walSize && a.walMtimeMs === b.walMtimeMs;

const MAX_CORRUPT_NOTES = 4;
const YIELD_EVERY = 64;

/**
 * Answers every request from one read of the database. Bounded by the limits and by
 * `deadlineMs` on `now` (checked between headers); what was cut is said in `cut`.
 */
export async function queryRpmDb(
  hostFs: HostFs, dbPath: string, requests: readonly RpmRequest[],
  opts: { readonly limits: RpmDbLimits; readonly now: () => number; readonly deadlineMs: number },
): Promise<RpmQuery> {
  const stamp = await rpmDbStamp(hostFs, dbPath);
  if (stamp === null) return { ok: false, message: `${dbPath} is gone` };
  const main = await hostFs.readFile(dbPath, { maxBytes: opts.limits.maxDbBytes });
  if (!main.ok) return { ok: false, message: main.error.message };
  const walRead = await hostFs.readFile(`${dbPath}-wal`, { maxBytes: opts.limits.maxWalBytes });
  if (!walRead.ok && walRead.error.code !== 'ENOENT') return { ok: false, message: walRead.error.message };
  const built = sqliteImage(main.value, walRead.ok ? walRead.value : null, opts.limits.maxDbBytes);
  if (!built.ok) return { ok: false, message: `${dbPath}: ${built.message}` };

  let db: Database.Database;
  try {
    db = new Database(built.image, { readonly: true });
  } catch (err) {
    return { ok: false, message: `${dbPath}: ${(err as Error).message}` };
  }
  try {
    const tables = new Set(
      (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>).map((r) => r.name),
    );
    if (!tables.has('Packages')) return { ok: false, message: `${dbPath}: no Packages table` };
    const answers = new Map<string, { owners: RpmOwner[]; corrupt: string[] }>();
    for (const r of requests) answers.set(r.key, { owners: [], corrupt: [] });
    let headersRead = 0;
    let cut: 'time' | 'packages' | null = null;

    /** Looks at one header for the requests in `asked`; a corrupt one is noted on each. */
    const consider = (hnum: number, blob: unknown, asked: readonly RpmRequest[]): void => {
      headersRead++;
      const note = (message: string): void => {
        for (const r of asked) {
          const a = answers.get(r.key)!;
          if (a.corrupt.length < MAX_CORRUPT_NOTES) a.corrupt.push(`package header ${hnum}: ${message}`);
        }
      };
      if (!(blob instanceof Uint8Array)) return note('not a blob');
      const h = parseRpmHeader(blob, opts.limits.header);
      if (!h.ok) return note(`${h.error.code}: ${h.error.message}`);
      const union = new Set<string>();
      for (const r of asked) for (const p of r.paths) union.add(p);
      const files = rpmFindFiles(h.value, union);
      if (!files.ok) return note(`${files.error.code}: ${files.error.message}`);
      if (files.value.length === 0) return;
      const info = rpmPackageInfo(h.value);
      if (!info.ok) return note(`${info.error.code}: ${info.error.message}`);
      for (const r of asked) {
        for (const f of files.value) {
          if (!r.paths.has(f.path)) continue;
          answers.get(r.key)!.owners.push({ package: info.value.name, version: info.value.version, path: f.path, digest: f.digest, digestAlgo: info.value.digestAlgo });
        }
      }
    };

    const outOfTime = (): boolean => opts.now() > opts.deadlineMs;
    if (tables.has('Basenames')) {
      // The file index: which headers hold a file of each base name. Ask for each alias's.
      const byName = db.prepare('SELECT DISTINCT hnum FROM Basenames WHERE key = ?');
      const blobOf = db.prepare('SELECT blob FROM Packages WHERE hnum = ?').pluck();
      const wanted = new Map<number, RpmRequest[]>();
      for (const r of requests) {
        const names = new Set([...r.paths].map((p) => Buffer.from(p.slice(p.lastIndexOf('/') + 1), 'latin1').toString('utf8')));
        for (const name of names) {
          for (const row of byName.all(name) as Array<{ hnum: number }>) {
            const list = wanted.get(row.hnum) ?? [];
            if (!list.includes(r)) list.push(r);
            wanted.set(row.hnum, list);
          }
        }
      }
      for (const [hnum, asked] of wanted) {
        if (headersRead >= opts.limits.maxPackages) { cut = 'packages'; break; }
        if (outOfTime()) { cut = 'time'; break; }
        consider(hnum, blobOf.get(hnum), asked);
      }
    } else {
      // No index (an unusual database): every header, a few at a time.
      let n = 0;
      for (const row of db.prepare('SELECT hnum, blob FROM Packages').iterate() as IterableIterator<{ hnum: number; blob: unknown }>) {
        if (headersRead >= opts.limits.maxPackages) { cut = 'packages'; break; }
        if (outOfTime()) { cut = 'time'; break; }
        consider(row.hnum, row.blob, requests);
        if (++n % YIELD_EVERY === 0) await new Promise((resolve) => setImmediate(resolve));
      }
    }
    return { ok: true, answers, stamp, headersRead, cut, walFrames: built.walFrames };
  } catch (err) {
    return { ok: false, message: `${dbPath}: ${(err as Error).message}` };
  } finally {
    db.close();
  }
}
