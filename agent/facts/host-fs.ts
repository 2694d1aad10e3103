// The one way the agent reads host paths. Every path is resolved as if the process were
// chrooted at `hostRoot`: component by component with lstat, an absolute link target restarts
// at the root, `..` stops at the root, at most MAX_LINK_HOPS links are followed. Disk paths
// are only ever built from the root plus resolved components, so nothing outside the root is
// read. Failures are values with a stable code; nothing here throws.
import { constants, type BigIntStats, type Stats } from 'node:fs';
import { lstat, open, readdir, readlink } from 'node:fs/promises';
import { join, posix, resolve as resolveDiskPath } from 'node:path';

export const MAX_LINK_HOPS = 40;
export const DEFAULT_MAX_BYTES = 1024 * 1024;

export type FsErrorCode = 'ENOENT' | 'ENOTDIR' | 'EISDIR' | 'ELOOP' | 'EACCES' | 'ETOOBIG' | 'EINVAL' | 'ECHANGED' | 'EIO';

/** A failure as data: `path` is the host path that was asked for. */
export interface FsError {
  readonly code: FsErrorCode;
  readonly path: string;
  readonly message: string;
}

export type FsResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: FsError };

export type FileType = 'file' | 'dir' | 'symlink' | 'other';

/** What stat tells about a host file, as plain JSON. `path` is the host path after links. */
export interface FileStat {
  readonly path: string;
  readonly type: FileType;
  /** Permission bits only (mode & 0o7777). */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly size: number;
  readonly mtimeMs: number;
}

export interface Resolved {
  /** The host path after following links (what the host would call the file). */
  readonly path: string;
  /** Where that file is on this machine's disk: always hostRoot + path. */
  readonly diskPath: string;
}

export interface HostFs {
  readonly root: string;
  resolve(path: string): Promise<FsResult<Resolved>>;
  readFile(path: string, opts?: { maxBytes?: number }): Promise<FsResult<Buffer>>;
  /** Follows links (inside the root) and describes the final file. */
  stat(path: string): Promise<FsResult<FileStat>>;
  /** Describes the last component itself, even when it is a link. */
  lstat(path: string): Promise<FsResult<FileStat>>;
  /** The raw value of a link; never followed. */
  readlink(path: string): Promise<FsResult<string>>;
  /** Entry names of a directory, sorted. */
  readdir(path: string): Promise<FsResult<string[]>>;
  /**
   * Opens a regular file for bounded reads at given offsets (a large binary is searched a
   * chunk at a time, never read whole). The caller closes the handle.
   */
  openFile(path: string): Promise<FsResult<HostFileHandle>>;
}

/** A host file opened through the rooted reader: its size, and reads of at most `length` bytes. */
export interface HostFileHandle {
  readonly path: string;
  readonly size: number;
  /** The opened file's identity, as fstat gave it (nanosecond times, exact). */
  readonly identity: FileIdentity;
  read(offset: number, length: number): Promise<FsResult<Buffer>>;
  /** Reads into `target` from `offset` (as much as fits); the bytes read. No allocation. */
  readInto(target: Buffer, offset: number): Promise<FsResult<number>>;
  close(): Promise<void>;
}

/**
 * What tells one version of a file from another without reading it: device, inode, size and
 * the modification and change times in nanoseconds (ctime cannot be set from user space).
 * Times are decimal strings of nanoseconds, exact where a number would round.
 */
export interface FileIdentity {
  readonly dev: number;
  readonly ino: number;
  readonly size: number;
  readonly mtimeNs: string;
  readonly ctimeNs: string;
  /** Permission and type bits (st_mode). */
  readonly mode: number;
  /** Hard links: 0 once the file is deleted (not part of what tells versions apart). */
  readonly nlink: number;
}

/** The identity of a file from a bigint fstat. */
export function identityOf(s: BigIntStats): FileIdentity {
  return {
    dev: Number(s.dev), ino: Number(s.ino), size: Number(s.size), mtimeNs: s.mtimeNs.toString(), ctimeNs: s.ctimeNs.toString(), mode: Number(s.mode), nlink: Number(s.nlink),
  };
}

interface Walked extends Resolved {
  readonly stats: Stats;
}

const fail = (code: FsErrorCode, path: string, message: string): { ok: false; error: FsError } => ({
  ok: false,
  error: { code, path, message },
});

const NODE_CODES = new Map<string, FsErrorCode>([
  ['ENOENT', 'ENOENT'],
  ['ENOTDIR', 'ENOTDIR'],
  ['EISDIR', 'EISDIR'],
  ['ELOOP', 'ELOOP'],
  ['EACCES', 'EACCES'],
  ['EPERM', 'EACCES'],
]);

function fromNodeError(err: unknown, path: string): { ok: false; error: FsError } {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const mapped = (code !== undefined && NODE_CODES.get(code)) || 'EIO';
  return fail(mapped, path, `${mapped}: ${path}${code && code !== mapped ? ` (${code})` : ''}`);
}

function fileType(s: Stats): FileType {
  if (s.isFile()) return 'file';
  if (s.isDirectory()) return 'dir';
  if (s.isSymbolicLink()) return 'symlink';
  return 'other';
}

function toFileStat(path: string, s: Stats): FileStat {
  return { path, type: fileType(s), mode: s.mode & 0o7777, uid: s.uid, gid: s.gid, size: s.size, mtimeMs: s.mtimeMs };
}

const components = (p: string): string[] => p.split('/').filter((c) => c !== '' && c !== '.');

export function createHostFs(hostRoot: string): HostFs {
  const root = resolveDiskPath(hostRoot);
  const diskPathOf = (parts: readonly string[]): string => join(root, ...parts);

  async function walk(path: string, followLast: boolean): Promise<FsResult<Walked>> {
    if (!posix.isAbsolute(path)) return fail('EINVAL', path, `host paths must be absolute: ${path}`);
    if (path.includes('\0')) return fail('EINVAL', path, 'host path contains a NUL byte');
    const pending = components(path);
    let done: string[] = [];
    let stats: Stats | undefined;
    let hops = 0;
    while (pending.length > 0) {
      const name = pending.shift() as string;
      if (name === '..') {
        done.pop();
        stats = undefined;
        continue;
      }
      const candidate = [...done, name];
      let s: Stats;
      try {
        s = await lstat(diskPathOf(candidate));
      } catch (err) {
        return fromNodeError(err, path);
      }
      const isLast = pending.length === 0;
      if (s.isSymbolicLink() && (!isLast || followLast)) {
        hops += 1;
        if (hops > MAX_LINK_HOPS) return fail('ELOOP', path, `more than ${MAX_LINK_HOPS} links while resolving ${path}`);
        let target: string;
        try {
          target = await readlink(diskPathOf(candidate));
        } catch (err) {
          return fromNodeError(err, path);
        }
        if (target.startsWith('/')) done = [];
        pending.unshift(...components(target));
        stats = undefined;
        continue;
      }
      if (!isLast && !s.isDirectory()) return fail('ENOTDIR', path, `not a directory: /${candidate.join('/')}`);
      done.push(name);
      stats = s;
    }
    if (stats === undefined) {
      // The path resolved to the root itself, or ended on `..`: stat the directory reached.
      try {
        stats = await lstat(diskPathOf(done));
      } catch (err) {
        return fromNodeError(err, path);
      }
    }
    return { ok: true, value: { path: `/${done.join('/')}`, diskPath: diskPathOf(done), stats } };
  }

  async function readFile(path: string, opts: { maxBytes?: number } = {}): Promise<FsResult<Buffer>> {
    const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
    const walked = await walk(path, true);
    if (!walked.ok) return walked;
    const { diskPath, stats } = walked.value;
    if (stats.isDirectory()) return fail('EISDIR', path, `is a directory: ${path}`);
    if (!stats.isFile()) return fail('EINVAL', path, `not a regular file: ${path}`);
    if (stats.size > maxBytes) return fail('ETOOBIG', path, `${path} is ${stats.size} bytes, over the ${maxBytes}-byte limit`);
    let handle;
    try {
      // O_NOFOLLOW: the last component was resolved, so it must not have become a link.
      // O_NONBLOCK: opening something swapped in for a FIFO must not hang the agent.
      handle = await open(diskPath, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0));
    } catch (err) {
      return fromNodeError(err, path);
    }
    try {
      const opened = await handle.stat();
      // The file we opened must be the very file we resolved inside the root, even if a
      // directory on the way was swapped for a link in between.
      if (opened.ino !== stats.ino || opened.dev !== stats.dev || !opened.isFile()) {
        return fail('ECHANGED', path, `${path} changed while it was being read`);
      }
      const chunks: Buffer[] = [];
      let total = 0;
      // Read up to one byte past the limit: proc files report size 0, and files can grow.
      for (;;) {
        const buf = Buffer.alloc(Math.min(64 * 1024, maxBytes + 1 - total));
        const { bytesRead } = await handle.read(buf, 0, buf.length, null);
        if (bytesRead === 0) break;
        chunks.push(buf.subarray(0, bytesRead));
        total += bytesRead;
        if (total > maxBytes) return fail('ETOOBIG', path, `${path} is over the ${maxBytes}-byte limit`);
      }
      return { ok: true, value: Buffer.concat(chunks, total) };
    } catch (err) {
      return fromNodeError(err, path);
    } finally {
      await handle.close().catch(() => undefined);
    }
  }

  async function openFile(path: string): Promise<FsResult<HostFileHandle>> {
    const walked = await walk(path, true);
    if (!walked.ok) return walked;
    const { diskPath, stats } = walked.value;
    if (stats.isDirectory()) return fail('EISDIR', path, `is a directory: ${path}`);
    if (!stats.isFile()) return fail('EINVAL', path, `not a regular file: ${path}`);
    let handle;
    try {
      handle = await open(diskPath, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0));
    } catch (err) {
      return fromNodeError(err, path);
    }
    const opened = await handle.stat({ bigint: true }).catch(() => null);
    // As in readFile: the file opened must be the file resolved inside the root.
    if (opened === null || Number(opened.ino) !== stats.ino || Number(opened.dev) !== stats.dev || !opened.isFile()) {
      await handle.close().catch(() => undefined);
      return fail('ECHANGED', path, `${path} changed while it was being opened`);
    }
    const h = handle;
    async function readInto(target: Buffer, offset: number): Promise<FsResult<number>> {
      if (!Number.isSafeInteger(offset) || offset < 0) return fail('EINVAL', path, `bad offset ${offset} of ${path}`);
      try {
        let got = 0;
        while (got < target.length) {
          const { bytesRead } = await h.read(target, got, target.length - got, offset + got);
          if (bytesRead === 0) break;
          got += bytesRead;
        }
        return { ok: true, value: got };
      } catch (err) {
        return fromNodeError(err, path);
      }
    }
    return {
      ok: true,
      value: {
        path: walked.value.path,
        size: Number(opened.size),
        identity: identityOf(opened),
        async read(offset, length) {
          if (!Number.isSafeInteger(length) || length < 0) return fail('EINVAL', path, `bad range ${offset}+${length} of ${path}`);
          const buf = Buffer.alloc(Math.min(length, DEFAULT_MAX_BYTES * 16));
          const r = await readInto(buf, offset);
          return r.ok ? { ok: true, value: buf.subarray(0, r.value) } : r;
        },
        readInto,
        close: () => h.close().catch(() => undefined),
      },
    };
  }

  return {
    root,
    openFile,
    async resolve(path) {
      const w = await walk(path, true);
      return w.ok ? { ok: true, value: { path: w.value.path, diskPath: w.value.diskPath } } : w;
    },
    readFile,
    async stat(path) {
      const w = await walk(path, true);
      return w.ok ? { ok: true, value: toFileStat(w.value.path, w.value.stats) } : w;
    },
    async lstat(path) {
      const w = await walk(path, false);
      return w.ok ? { ok: true, value: toFileStat(w.value.path, w.value.stats) } : w;
    },
    async readlink(path) {
      const w = await walk(path, false);
      if (!w.ok) return w;
      if (!w.value.stats.isSymbolicLink()) return fail('EINVAL', path, `not a symbolic link: ${path}`);
      try {
        return { ok: true, value: await readlink(w.value.diskPath) };
      } catch (err) {
        return fromNodeError(err, path);
      }
    },
    async readdir(path) {
      const w = await walk(path, true);
      if (!w.ok) return w;
      if (!w.value.stats.isDirectory()) return fail('ENOTDIR', path, `not a directory: ${path}`);
      try {
        return { ok: true, value: (await readdir(w.value.diskPath)).sort() };
      } catch (err) {
        return fromNodeError(err, path);
      }
    },
  };
}
