// Executable identity: the content digests (SHA-256, and MD5 for dpkg's records) of the file a
// process executed, so a baseline judges what ran, not only the path it ran from.
//
// A digest is computed once per file version, known by its identity (device, inode, size,
// mtime and ctime in nanoseconds; ctime cannot be set from user space), and kept in a bounded
// cache (least recently used out). An eBPF record carries the identity from the kernel, so a
// cached file is judged without touching the disk, even when the process is long gone. Files
// of an overlay (every container's root) get a device per mount: their identity leaves the
// device out, so the same image file in a hundred containers is hashed once.
//
// The file is read from what the process really executed, never from a path guessed at:
//   1. /proc/<pid>/exe, which opens the executed file itself, whatever mount namespace,
//      bind mount or rename is in between (checked to be the same process afterwards);
//   2. for a process already gone, the path in the host's filesystem: as it is for a process
//      that ran in the host's mount namespace, under the container's root filesystem (which the
//      runtime keeps mounted on the host) for one in a container; only when the file there has
//      the identity the kernel recorded at the exec.
// Anything else is a failure with a reason (counted), never a digest: a file that could not be
// hashed is never treated as learned. Hashing is asynchronous, a chunk at a time, two files at
// most at once, with a bounded queue; a large binary is read once and never blocks the judging
// of other processes for more than a chunk.
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { identityOf, type FileIdentity, type HostFs } from '../facts/host-fs.js';
import type { IdentityError } from '../../proto/exec-identity.js';

export interface Digests {
  readonly sha256: string;
  readonly md5: string;
}

/**
 * Why a content could not be computed (proto/exec-identity.ts IDENTITY_ERRORS): gone (the
 * process and its file could not be reached), too-large (above maxBytes), not-regular, changed
 * (the file found is not the version executed), unreadable (permission or I/O), busy (the
 * hashing queue was full).
 */
export type IdentityFailure = IdentityError;

export type IdentityResult =
  | { readonly ok: true; readonly digests: Digests; readonly identity: FileIdentity; readonly cached: boolean }
  | { readonly ok: false; readonly reason: IdentityFailure; readonly detail: string };

export interface IdentityRequest {
  readonly pid: number;
  /** The process's start (clock ticks), -1 when unknown: guards against a reused pid. */
  readonly startTicks: number;
  /** The path the process is judged by (the host path for a host process). */
  readonly path: string;
  /** The identity the kernel recorded at the exec (eBPF), when there is one. */
  readonly exec: FileIdentity | null;
  /** The file is on an overlay (the identity then leaves the device out). */
  readonly overlay: boolean;
  /**
   * Where the process's root is in the host's filesystem, for a process already gone: '' for
   * one in the host's mount namespace, a container's root filesystem (its bundle's root.path)
   * for one in a container, null when no host path reaches its files.
   */
  readonly hostPrefix: string | null;
}

export interface IdentityOptions {
  readonly procRoot: string;
  readonly hostFs: HostFs;
  /** Files larger than this are not hashed (counted as too-large). */
  readonly maxBytes: number;
  /** Identities cached at most. */
  readonly maxEntries: number;
  /** Files waiting to be hashed at most. */
  readonly maxQueue: number;
  /** Reads the start ticks of a pid now (null when gone). */
  readonly startTicksOf: (pid: number) => number | null;
}

const CHUNK = 256 << 10;
const CONCURRENT = 2;

/** The cache key of a file version. */
export function identityKey(id: FileIdentity, overlay: boolean): string {
  return `${overlay ? 'ov' : id.dev}:${id.ino}:${id.size}:${id.mtimeNs}:${id.ctimeNs}`;
}

function sameVersion(a: FileIdentity, b: FileIdentity, overlay: boolean): boolean {
  return identityKey(a, overlay) === identityKey(b, overlay);
}

interface Source {
  readonly identity: FileIdentity;
  read(buf: Buffer, position: number): Promise<number>;
  close(): Promise<void>;
}

export function createIdentityHasher(opts: IdentityOptions) {
  const cache = new Map<string, { digests: Digests; identity: FileIdentity }>();
  const inFlight = new Map<string, Promise<IdentityResult>>();
  const waiting: Array<() => void> = [];
  let running = 0;
  const counters = { hashed: 0, cacheHits: 0, bytesHashed: 0, failed: {} as Partial<Record<IdentityFailure, number>>, lastFailure: '' as IdentityFailure | '' };

  function fail(reason: IdentityFailure, detail: string): IdentityResult {
    counters.failed[reason] = (counters.failed[reason] ?? 0) + 1;
    counters.lastFailure = reason;
    return { ok: false, reason, detail };
  }

  function remember(key: string, value: { digests: Digests; identity: FileIdentity }): void {
    cache.delete(key);
    while (cache.size >= opts.maxEntries) cache.delete(cache.keys().next().value as string);
    cache.set(key, value);
  }

  async function fromProc(req: IdentityRequest): Promise<Source | IdentityFailure> {
    let fh;
    try {
      fh = await open(join(opts.procRoot, String(req.pid), 'exe'), constants.O_RDONLY);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      return code === 'EACCES' || code === 'EPERM' ? 'unreadable' : 'gone';
    }
    const st = await fh.stat({ bigint: true }).catch(() => null);
    // The pid must still be the process judged: a reused pid would name another file.
    const ticks = req.startTicks >= 0 ? opts.startTicksOf(req.pid) : req.startTicks;
    if (st === null || ticks !== req.startTicks) {
      await fh.close().catch(() => undefined);
      return 'gone';
    }
    const h = fh;
    return {
      identity: identityOf(st),
      read: async (buf, position) => (await h.read(buf, 0, buf.length, position)).bytesRead,
      close: () => h.close(),
    };
  }

  async function fromHost(req: IdentityRequest): Promise<Source | IdentityFailure> {
    const r = await opts.hostFs.openFile(`${req.hostPrefix ?? ''}${req.path}`);
    if (!r.ok) return r.error.code === 'EACCES' ? 'unreadable' : r.error.code === 'EINVAL' || r.error.code === 'EISDIR' ? 'not-regular' : 'gone';
    const h = r.value;
    return {
      identity: h.identity,
      read: async (buf, position) => {
        const got = await h.readInto(buf, position);
        if (!got.ok) throw new Error(got.error.message);
        return got.value;
      },
      close: () => h.close(),
    };
  }

  /** One read buffer per hashing slot, reused: hashing makes no garbage per file. */
  const buffers: Buffer[] = [];

  async function hash(src: Source): Promise<Digests> {
    const sha = createHash('sha256');
    const md5 = createHash('md5');
    const chunk = buffers.pop() ?? Buffer.allocUnsafe(CHUNK);
    try {
      return await hashWith(src, sha, md5, chunk.subarray(0, Math.min(CHUNK, Math.max(src.identity.size, 1))));
    } finally {
      buffers.push(chunk);
    }
  }

  async function hashWith(src: Source, sha: ReturnType<typeof createHash>, md5: ReturnType<typeof createHash>, buf: Buffer): Promise<Digests> {
    let at = 0;
    for (;;) {
      const n = await src.read(buf, at);
      if (n === 0) break;
      const chunk = buf.subarray(0, n);
      sha.update(chunk);
      md5.update(chunk);
      at += n;
      counters.bytesHashed += n;
      if (at > opts.maxBytes) throw Object.assign(new Error('grew past the limit while read'), { tooLarge: true });
    }
    return { sha256: sha.digest('hex'), md5: md5.digest('hex') };
  }

  async function slot(): Promise<void> {
    if (running < CONCURRENT) {
      running++;
      return;
    }
    await new Promise<void>((resolve) => waiting.push(resolve));
  }

  function release(): void {
    const next = waiting.shift();
    if (next) next();
    else running--;
  }

  async function compute(req: IdentityRequest): Promise<IdentityResult> {
    await slot();
    let src: Source | IdentityFailure = 'gone';
    try {
      src = await fromProc(req);
      if (typeof src === 'string' && req.exec !== null && req.hostPrefix !== null) src = await fromHost(req);
      if (typeof src === 'string') return fail(src, src === 'gone' ? 'the process exited before its file could be read, and the file is not reachable from the host' : `cannot open the executable (${src})`);
      const id = src.identity;
      if (req.exec !== null && !sameVersion(id, req.exec, req.overlay)) return fail('changed', 'the file found is not the version the process executed');
      if ((id.mode & 0o170000) !== 0o100000) return fail('not-regular', 'the executable is not a regular file');
      if (id.size > opts.maxBytes) return fail('too-large', `${id.size} bytes, above the limit of ${opts.maxBytes}`);
      const cached = cache.get(identityKey(id, req.overlay));
      if (cached) {
        counters.cacheHits++;
        return { ok: true, digests: cached.digests, identity: id, cached: true };
      }
      const digests = await hash(src);
      counters.hashed++;
      remember(identityKey(id, req.overlay), { digests, identity: id });
      return { ok: true, digests, identity: id, cached: false };
    } catch (err) {
      if ((err as { tooLarge?: boolean }).tooLarge) return fail('too-large', 'the file grew past the limit while it was read');
      return fail('unreadable', (err as Error).message);
    } finally {
      if (typeof src !== 'string') await src.close().catch(() => undefined);
      release();
    }
  }

  return {
    /** The digests of what the process executed; a cached version is answered at once. */
    async digestsOf(req: IdentityRequest): Promise<IdentityResult> {
      if (req.exec !== null) {
        const key = identityKey(req.exec, req.overlay);
        const hit = cache.get(key);
        if (hit) {
          counters.cacheHits++;
          cache.delete(key);
          cache.set(key, hit);
          return { ok: true, digests: hit.digests, identity: hit.identity, cached: true };
        }
        const pending = inFlight.get(key);
        if (pending) return pending;
        if (waiting.length >= opts.maxQueue) return fail('busy', 'too many files waiting to be hashed');
        const p = compute(req).finally(() => inFlight.delete(key));
        inFlight.set(key, p);
        return p;
      }
      if (waiting.length >= opts.maxQueue) return fail('busy', 'too many files waiting to be hashed');
      return compute(req);
    },

    stats() {
      return { entries: cache.size, hashed: counters.hashed, cacheHits: counters.cacheHits, bytesHashed: counters.bytesHashed, failed: { ...counters.failed }, lastFailure: counters.lastFailure };
    },
  };
}

export type IdentityHasher = ReturnType<typeof createIdentityHasher>;
