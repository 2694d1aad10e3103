// Whether the host's package manager vouches for a file's content: the digest of what is at a
// path now, against what dpkg (md5sums) or rpm (its database) recorded for that path when the
// package was installed. A learned host binary whose content changed is an upgrade when a
// package vouches for the new content, and a modification when none does.
//
// Lookups are on demand and bounded. Paths asked for while a pass runs wait for the next
// one, and one pass answers all of them: every md5sums file is read once (one at a time,
// never held together) and searched with Buffer.indexOf for the paths; the rpm database is
// read once. What a pass learns about a path (who recorded which digest) is kept in a small
// LRU cache, checked on every hit against the modification times of what it came from
// (/var/lib/dpkg/info, the diversions file, the owning md5sums files, the rpm database and
// its log). Everything read is capped (file sizes, files per pass, packages, time per pass on
// the injected clock) and every cut is counted in stats().
//
// Paths: the kernel names a file by its canonical path (/usr/bin/bash), while dpkg on a
// merged-/usr system may have recorded /bin/bash. When the host's /bin (sbin, lib, lib32,
// lib64, libx32) is a link to /usr/<dir>, both spellings are the same file and are tried.
// dpkg diversions are honoured: at a diverted path only the diverting package's record counts
// (nobody's, for an administrator's local diversion), and at the path it was diverted to, the
// other packages' records of the original path do.
import type { HostFs } from './host-fs.js';
import {
  DPKG_DIVERSIONS, DPKG_INFO_DIR, DPKG_STATUS, findInMd5sums, md5sumsPackage, parseDiversions, statusVersion, type Diversion,
} from './dpkg-db.js';
import { RPM_DIGEST_ALGO, RPM_HEADER_LIMITS } from './rpm-header.js';
import { locateRpmDb, queryRpmDb, RPMDB_DIRS, rpmDbStamp, sameStamp, type RpmDbLimits, type RpmDbStamp } from './rpm-db.js';

export type PackageManager = 'dpkg' | 'rpm';

export type RefusalReason =
  /** No package records the path (or an administrator's local diversion holds it). */
  | 'not-owned'
  /** Packages record the path, with other content. */
  | 'digest-differs'
  /** Packages record the path, but with no digest, or one of an algorithm not given. */
  | 'unsupported-digest'
  /** Neither a dpkg nor an rpm database this code reads (rpm's BerkeleyDB and ndb are not read). */
  | 'no-database'
  /** A database is there but could not be read (too large, not SQLite, a corrupt header ...). */
  | 'unreadable'
  /** The lookup was cut by a bound (time, files) before it found a package that vouches. */
  | 'incomplete'
  /** The path is not absolute, or a digest is not hex of its length. */
  | 'invalid-request'
  /** Too many paths were already waiting for a lookup. */
  | 'busy';

export type Vouch =
  | {
      readonly vouched: true;
      readonly manager: PackageManager;
      readonly package: string;
      readonly version?: string;
      /** The path as the package recorded it (/bin/bash for /usr/bin/bash, the original of a diversion). */
      readonly recordedPath: string;
    }
  | { readonly vouched: false; readonly reason: RefusalReason; readonly detail?: string };

/** Digests of the content, lowercase or uppercase hex. MD5 and SHA-256 always; others if known. */
export interface ContentDigests {
  readonly md5: string;
  readonly sha256: string;
  readonly sha1?: string;
  readonly sha224?: string;
  readonly sha384?: string;
  readonly sha512?: string;
}

const DIGEST_HEX_LENGTH: Readonly<Record<string, number>> = { md5: 32, sha1: 40, sha224: 56, sha256: 64, sha384: 96, sha512: 128 };

export interface PackageVouchLimits {
  /** md5sums files read in one pass (a Debian host has a few thousand). */
  readonly maxMd5sumsFiles: number;
  /** One md5sums file (the largest Debian ones are a few MB). */
  readonly maxMd5sumsBytes: number;
  readonly maxDiversionsBytes: number;
  readonly maxStatusBytes: number;
  /** One pass over the databases; paths it did not finish are 'incomplete'. */
  readonly maxPassMs: number;
  /** How long an incomplete answer is kept before the path is looked up again. */
  readonly retryIncompleteMs: number;
  readonly maxCacheEntries: number;
  /** Distinct paths waiting for the next pass. */
  readonly maxPending: number;
  readonly rpm: RpmDbLimits;
}

export const DEFAULT_PACKAGE_VOUCH_LIMITS: PackageVouchLimits = Object.freeze({
  maxMd5sumsFiles: 20_000,
  maxMd5sumsBytes: 16 * 1024 * 1024,
  maxDiversionsBytes: 1024 * 1024,
  maxStatusBytes: 32 * 1024 * 1024,
  maxPassMs: 10_000,
  retryIncompleteMs: 60_000,
  maxCacheEntries: 512,
  maxPending: 1024,
  rpm: Object.freeze({
    maxDbBytes: 64 * 1024 * 1024,
    maxWalBytes: 64 * 1024 * 1024,
    maxPackages: 50_000,
    header: RPM_HEADER_LIMITS,
  }),
});

export interface PackageVouchOptions {
  /** Milliseconds since the epoch; only differences are used. */
  readonly now?: () => number;
  readonly limits?: Partial<Omit<PackageVouchLimits, 'rpm'>> & { readonly rpm?: Partial<RpmDbLimits> };
}

/** One package's record of the file. */
export interface Recorded {
  readonly manager: PackageManager;
  readonly package: string;
  readonly arch: string | null;
  readonly version: string | null;
  /** As recorded, absolute (UTF-8 text). */
  readonly path: string;
  /** Lowercase hex; '' when none is recorded. */
  readonly digest: string;
  /** 'md5', 'sha256', ... or `algo-<n>` for an rpm algorithm number this code does not know. */
  readonly algo: string;
}

type ManagerState =
  | { readonly state: 'absent' }
  | { readonly state: 'read' }
  | { readonly state: 'unsupported' | 'unreadable' | 'incomplete'; readonly detail: string };

/** Everything the databases say about one path, whatever its content. */
export interface Knowledge {
  readonly recorded: readonly Recorded[];
  readonly dpkg: ManagerState;
  readonly rpm: ManagerState;
  /** An administrator's local diversion holds the path: no package's content belongs there. */
  readonly localDiversion: string | null;
}

const isHex = (s: string, n: number): boolean => s.length === n && /^[0-9a-fA-F]+$/.test(s);

const DETAIL_OWNERS = 3;

/** md5sums files read at once in a pass. */
const READ_CONCURRENCY = 4;

const describe = (r: Recorded): string => `${r.package}${r.version ? ` ${r.version}` : ''} (${r.manager}) recorded ${r.path}`;

/** The verdict for content with `digests` at a path the databases describe as `k`. Pure. */
export function judge(k: Knowledge, digests: ContentDigests): Vouch {
  const given = digests as unknown as Record<string, string | undefined>;
  const comparable = k.recorded.filter((r) => r.digest !== '' && given[r.algo] !== undefined);
  const match = comparable.find((r) => given[r.algo]!.toLowerCase() === r.digest);
  if (match) {
    return { vouched: true, manager: match.manager, package: match.package, ...(match.version ? { version: match.version } : {}), recordedPath: match.path };
  }
  const states = [['dpkg', k.dpkg], ['rpm', k.rpm]] as const;
  const notes = states.filter(([, s]) => 'detail' in s).map(([m, s]) => `${m}: ${(s as { detail: string }).detail}`);
  const refuse = (reason: RefusalReason, ...parts: Array<string | undefined>): Vouch => {
    const text = [...parts, ...notes].filter((x) => x !== undefined && x !== '').join('; ');
    return text ? { vouched: false, reason, detail: text } : { vouched: false, reason };
  };
  const seen = (list: readonly Recorded[], what: (r: Recorded) => string): string =>
    `${list.slice(0, DETAIL_OWNERS).map((r) => `${describe(r)} ${what(r)}`).join('; ')}${list.length > DETAIL_OWNERS ? ` (and ${list.length - DETAIL_OWNERS} more)` : ''}`;
  const withDigest = (r: Recorded): string => `with ${r.algo} ${r.digest}`;
  // A lookup that did not finish may not have reached the package that vouches: say so
  // rather than claim the content differs (the answer is looked up again later).
  if (states.some(([, s]) => s.state === 'incomplete')) return refuse('incomplete', comparable.length > 0 ? seen(comparable, withDigest) : undefined);
  if (comparable.length > 0) return refuse('digest-differs', seen(comparable, withDigest));
  if (k.recorded.length > 0) return refuse('unsupported-digest', seen(k.recorded, (r) => (r.digest === '' ? 'with no digest' : `with a ${r.algo} digest`)));
  if (states.some(([, s]) => s.state === 'unreadable')) return refuse('unreadable');
  if (k.localDiversion !== null) return refuse('not-owned', k.localDiversion);
  if (states.some(([, s]) => s.state === 'read')) return refuse('not-owned');
  return refuse('no-database', notes.length > 0 ? undefined : 'neither /var/lib/dpkg/info nor an rpm database is on the host');
}

/** Top-level directories a merged-/usr host links to /usr/<dir>. */
export const USR_MERGED_DIRS: readonly string[] = ['bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32'];

/**
 * The spellings of one file on a host whose `merged` top-level directories link into /usr:
 * the path itself, and its /usr or non-/usr twin when its directory is merged.
 */
export function pathAliases(path: string, merged: ReadonlySet<string>): string[] {
  const parts = path.split('/');
  // ['', 'usr', 'bin', 'bash'] or ['', 'bin', 'bash']
  if (parts[1] === 'usr' && parts.length > 3 && merged.has(parts[2]!)) return [path, `/${parts.slice(2).join('/')}`];
  if (parts.length > 2 && merged.has(parts[1]!)) return [path, `/usr${path}`];
  return [path];
}

/** The /usr spelling of a path whose directory is merged; the path itself otherwise. */
export const canonicalPath = (path: string, merged: ReadonlySet<string>): string => {
  const parts = path.split('/');
  return parts.length > 2 && parts[1] !== 'usr' && merged.has(parts[1]!) ? `/usr${path}` : path;
};

const latin1 = (s: string): string => Buffer.from(s, 'utf8').toString('latin1');
const utf8 = (s: string): string => Buffer.from(s, 'latin1').toString('utf8');

/** Where a path's dpkg records are looked for, after diversions. Paths raw (latin1). */
interface DpkgTarget {
  readonly key: string;
  /** Alias paths whose md5sums lines count. */
  readonly wanted: ReadonlySet<string>;
  readonly needle: Buffer;
  /** Only this package's record counts (the diverting package, at a diverted path). */
  readonly only: string | null;
  /** This package's record does not (the diverting package, at the path diverted to). */
  readonly exclude: string | null;
  readonly localDiversion: string | null;
}

function dpkgTarget(key: string, path: string, merged: ReadonlySet<string>, diversions: readonly Diversion[]): DpkgTarget {
  const raw = latin1(path);
  const canon = canonicalPath(raw, merged);
  const make = (p: string, only: string | null, exclude: string | null, localDiversion: string | null = null): DpkgTarget => {
    const aliases = pathAliases(p, merged);
    const shortest = aliases.reduce((a, b) => (b.length < a.length ? b : a));
    return { key, wanted: new Set(aliases), needle: Buffer.from(shortest.slice(1), 'latin1'), only, exclude, localDiversion };
  };
  const diverted = diversions.find((d) => canonicalPath(d.from, merged) === canon);
  if (diverted) {
    if (diverted.by === null) {
      return make(raw, null, null, `${utf8(diverted.from)} is diverted locally (to ${utf8(diverted.to)}) by the administrator`);
    }
    return make(raw, diverted.by, null);
  }
  const target = diversions.find((d) => canonicalPath(d.to, merged) === canon);
  if (target) return make(target.from, null, target.by);
  return make(raw, null, null);
}

const accepts = (t: DpkgTarget, pkg: string): boolean => (t.only === null || t.only === pkg) && t.exclude !== pkg;

/** What a cached answer came from: re-checked on every hit. */
interface Validators {
  /**
   * Host path -> mtimeMs, or null where the file was absent: dpkg's info directory, its
   * diversions, the owning md5sums files, and rpm's database directories (a database
   * created, removed or replaced there changes them).
   */
  readonly files: ReadonlyMap<string, number | null>;
  /** The rpm database read, whose content changes in place. */
  readonly rpmStamp: RpmDbStamp | null;
}

interface CacheEntry {
  readonly knowledge: Knowledge;
  readonly validators: Validators;
  /** For incomplete answers: when to look again. */
  readonly expiresAtMs: number | null;
}

interface Deferred {
  readonly promise: Promise<CacheEntry>;
  resolve(e: CacheEntry): void;
}

function deferred(): Deferred {
  let resolve!: (e: CacheEntry) => void;
  const promise = new Promise<CacheEntry>((r) => { resolve = r; });
  return { promise, resolve };
}

export interface PackageVouchStats {
  readonly lookups: number;
  readonly vouched: number;
  readonly refused: Readonly<Record<RefusalReason, number>>;
  readonly cacheHits: number;
  readonly cacheEntries: number;
  /** Passes over the databases, and the paths they answered. */
  readonly passes: number;
  readonly pathsLookedUp: number;
  readonly md5sumsFilesRead: number;
  readonly rpmQueries: number;
  readonly rpmHeadersRead: number;
  /** What was cut or could not be read, by cause. */
  readonly truncated: {
    /** Lookups (dpkg or rpm, in a pass) stopped by maxPassMs. */
    readonly time: number;
    /** md5sums files left out by maxMd5sumsFiles. */
    readonly files: number;
    /** md5sums files over maxMd5sumsBytes, or unreadable. */
    readonly md5sumsSkipped: number;
    /** md5sums lines holding a path asked for that did not parse. */
    readonly malformedLines: number;
    readonly malformedDiversions: number;
    /** rpm queries stopped by maxPackages. */
    readonly rpmPackages: number;
    /** rpm package headers that could not be parsed. */
    readonly rpmCorruptHeaders: number;
  };
}

const REASONS: readonly RefusalReason[] = ['not-owned', 'digest-differs', 'unsupported-digest', 'no-database', 'unreadable', 'incomplete', 'invalid-request', 'busy'];

export function createPackageVouch(hostFs: HostFs, opts: PackageVouchOptions = {}) {
  const now = opts.now ?? Date.now;
  const limits: PackageVouchLimits = {
    ...DEFAULT_PACKAGE_VOUCH_LIMITS,
    ...opts.limits,
    rpm: { ...DEFAULT_PACKAGE_VOUCH_LIMITS.rpm, ...opts.limits?.rpm },
  };
  const cache = new Map<string, CacheEntry>();
  /** Packages that recorded a path before its entry went stale: read first next time. */
  const hints = new Map<string, readonly string[]>();
  let queue = new Map<string, Deferred>();
  let current = new Map<string, Deferred>();
  let running = false;

  const counters = {
    lookups: 0, vouched: 0, cacheHits: 0, passes: 0, pathsLookedUp: 0, md5sumsFilesRead: 0, rpmQueries: 0, rpmHeadersRead: 0,
  };
  const refused = Object.fromEntries(REASONS.map((r) => [r, 0])) as Record<RefusalReason, number>;
  const truncated = { time: 0, files: 0, md5sumsSkipped: 0, malformedLines: 0, malformedDiversions: 0, rpmPackages: 0, rpmCorruptHeaders: 0 };

  function remember<K, V>(map: Map<K, V>, key: K, value: V): void {
    map.delete(key);
    while (map.size >= limits.maxCacheEntries) map.delete(map.keys().next().value as K);
    map.set(key, value);
  }

  const mtimeOf = async (path: string): Promise<number | null> => {
    const st = await hostFs.stat(path);
    return st.ok ? st.value.mtimeMs : null;
  };

  async function mergedDirs(): Promise<Set<string>> {
    const merged = new Set<string>();
    for (const d of USR_MERGED_DIRS) {
      const r = await hostFs.resolve(`/${d}`);
      if (r.ok && r.value.path === `/usr/${d}`) merged.add(d);
    }
    return merged;
  }

  async function stillValid(e: CacheEntry): Promise<boolean> {
    if (e.expiresAtMs !== null && now() >= e.expiresAtMs) return false;
    for (const [path, mtime] of e.validators.files) if ((await mtimeOf(path)) !== mtime) return false;
    if (e.validators.rpmStamp !== null && !sameStamp(e.validators.rpmStamp, await rpmDbStamp(hostFs, e.validators.rpmStamp.path))) return false;
    return true;
  }

  interface DpkgPass {
    readonly state: ManagerState;
    readonly records: Map<string, Recorded[]>;
    readonly local: Map<string, string>;
    /** Keys the pass did not finish for (cut by time, files or a skipped md5sums file). */
    readonly unfinished: string | null;
    readonly files: Map<string, number | null>;
  }

  async function dpkgPass(paths: readonly string[], merged: ReadonlySet<string>, deadline: number): Promise<DpkgPass> {
    const records = new Map<string, Recorded[]>();
    const local = new Map<string, string>();
    const files = new Map<string, number | null>();
    const info = await hostFs.stat(DPKG_INFO_DIR);
    files.set(DPKG_INFO_DIR, info.ok ? info.value.mtimeMs : null);
    if (!info.ok && (info.error.code === 'ENOENT' || info.error.code === 'ENOTDIR')) {
      return { state: { state: 'absent' }, records, local, unfinished: null, files };
    }
    if (!info.ok || info.value.type !== 'dir') {
      return { state: { state: 'unreadable', detail: info.ok ? `${DPKG_INFO_DIR} is not a directory` : info.error.message }, records, local, unfinished: null, files };
    }
    const listing = await hostFs.readdir(DPKG_INFO_DIR);
    if (!listing.ok) return { state: { state: 'unreadable', detail: listing.error.message }, records, local, unfinished: null, files };

    const div = await hostFs.readFile(DPKG_DIVERSIONS, { maxBytes: limits.maxDiversionsBytes });
    files.set(DPKG_DIVERSIONS, await mtimeOf(DPKG_DIVERSIONS));
    let diversions: Diversion[] = [];
    if (div.ok) {
      const parsed = parseDiversions(div.value.toString('latin1'));
      diversions = parsed.diversions;
      truncated.malformedDiversions += parsed.malformed;
    } else if (div.error.code !== 'ENOENT') {
      return { state: { state: 'unreadable', detail: div.error.message }, records, local, unfinished: null, files };
    }

    const targets: DpkgTarget[] = [];
    for (const p of paths) {
      const t = dpkgTarget(p, p, merged, diversions);
      if (t.localDiversion !== null) local.set(p, t.localDiversion);
      else targets.push(t);
    }
    const all = listing.value.filter((n) => md5sumsPackage(n) !== null);
    let unfinished: string | null = null;
    if (all.length > limits.maxMd5sumsFiles) {
      truncated.files += all.length - limits.maxMd5sumsFiles;
      unfinished = `${all.length} md5sums files, only ${limits.maxMd5sumsFiles} read`;
    }
    // Likely owners first (they are what is left when a pass is cut short): packages that
    // recorded the path before, then packages named like the file.
    const likely = new Set<string>();
    for (const p of paths) {
      for (const h of hints.get(p) ?? []) likely.add(h);
      likely.add(p.slice(p.lastIndexOf('/') + 1));
    }
    const ordered = [
      ...all.filter((n) => likely.has(md5sumsPackage(n)!.package)),
      ...all.filter((n) => !likely.has(md5sumsPackage(n)!.package)),
    ].slice(0, limits.maxMd5sumsFiles);

    // A few files in flight at once (the reads wait on the thread pool, not the CPU); each
    // is searched and dropped as soon as it is read.
    let next = 0;
    let timedOut = false;
    const worker = async (): Promise<void> => {
      while (next < ordered.length && targets.length > 0 && !timedOut) {
        if (now() > deadline) {
          timedOut = true;
          break;
        }
        const name = ordered[next++]!;
        const owner = md5sumsPackage(name)!;
        const interested = targets.filter((t) => accepts(t, owner.package));
        if (interested.length === 0) continue;
        const file = `${DPKG_INFO_DIR}/${name}`;
        const r = await hostFs.readFile(file, { maxBytes: limits.maxMd5sumsBytes });
        if (!r.ok) {
          if (r.error.code === 'ENOENT') continue;
          truncated.md5sumsSkipped++;
          unfinished = `${file}: ${r.error.message}`;
          continue;
        }
        counters.md5sumsFilesRead++;
        for (const t of interested) {
          const { found, malformed } = findInMd5sums(r.value, t.needle, t.wanted);
          truncated.malformedLines += malformed;
          if (found.length === 0) continue;
          const list = records.get(t.key) ?? [];
          records.set(t.key, list);
          for (const f of found) {
            list.push({ manager: 'dpkg', package: owner.package, arch: owner.arch, version: null, path: utf8(f.path), digest: f.md5, algo: 'md5' });
          }
          files.set(file, null);
        }
      }
    };
    await Promise.all(Array.from({ length: READ_CONCURRENCY }, worker));
    if (timedOut) {
      truncated.time++;
      unfinished = `the pass took over ${limits.maxPassMs} ms`;
    }
    // The owning files' modification times, taken after the read: a change after this is seen.
    for (const file of files.keys()) if (file.endsWith('.md5sums')) files.set(file, await mtimeOf(file));
    if (records.size > 0) await addVersions(records);
    return { state: { state: 'read' }, records, local, unfinished, files };
  }

  async function addVersions(records: Map<string, Recorded[]>): Promise<void> {
    const status = await hostFs.readFile(DPKG_STATUS, { maxBytes: limits.maxStatusBytes });
    if (!status.ok) return;
    const versions = new Map<string, string | null>();
    for (const [key, list] of records) {
      records.set(key, list.map((r) => {
        const id = `${r.package}:${r.arch ?? ''}`;
        if (!versions.has(id)) versions.set(id, statusVersion(status.value, r.package, r.arch));
        return { ...r, version: versions.get(id) ?? null };
      }));
    }
  }

  interface RpmPass {
    readonly state: ManagerState;
    readonly records: Map<string, Recorded[]>;
    readonly files: Map<string, number | null>;
    readonly stamp: RpmDbStamp | null;
    /** Per key: why its answer is not complete. */
    readonly unfinished: Map<string, string>;
  }

  async function rpmPass(paths: readonly string[], merged: ReadonlySet<string>, deadline: number): Promise<RpmPass> {
    const records = new Map<string, Recorded[]>();
    const unfinished = new Map<string, string>();
    const files = new Map<string, number | null>();
    for (const dir of RPMDB_DIRS) files.set(dir, await mtimeOf(dir));
    const location = await locateRpmDb(hostFs);
    const base = { records, files, unfinished };
    switch (location.kind) {
      case 'none':
        return { ...base, state: { state: 'absent' }, stamp: null };
      case 'unreadable':
        return { ...base, state: { state: 'unreadable', detail: location.message }, stamp: null };
      case 'bdb':
      case 'ndb': {
        const name = location.kind === 'bdb' ? 'BerkeleyDB' : 'ndb';
        return { ...base, state: { state: 'unsupported', detail: `the rpm database ${location.path} uses the ${name} backend, which is not read (only rpmdb.sqlite is)` }, stamp: await rpmDbStamp(hostFs, location.path) };
      }
      case 'sqlite':
        break;
    }
    counters.rpmQueries++;
    const requests = paths.map((p) => ({ key: p, paths: new Set(pathAliases(latin1(p), merged)) }));
    const q = await queryRpmDb(hostFs, location.path, requests, { limits: limits.rpm, now, deadlineMs: deadline });
    if (!q.ok) return { ...base, state: { state: 'unreadable', detail: q.message }, stamp: await rpmDbStamp(hostFs, location.path) };
    counters.rpmHeadersRead += q.headersRead;
    if (q.cut === 'time') truncated.time++;
    if (q.cut === 'packages') truncated.rpmPackages++;
    for (const [key, a] of q.answers) {
      truncated.rpmCorruptHeaders += a.corrupt.length;
      records.set(key, a.owners.map((o) => ({
        manager: 'rpm', package: o.package, arch: null, version: o.version, path: utf8(o.path), digest: o.digest,
        algo: RPM_DIGEST_ALGO[o.digestAlgo] ?? `algo-${o.digestAlgo}`,
      })));
      if (a.corrupt.length > 0) unfinished.set(key, `unreadable package headers: ${a.corrupt.join('; ')}`);
      else if (q.cut !== null) unfinished.set(key, q.cut === 'time' ? `the pass took over ${limits.maxPassMs} ms` : `more than ${limits.rpm.maxPackages} package headers`);
    }
    return { ...base, state: { state: 'read' }, stamp: q.stamp };
  }

  /** One pass for `paths`: never throws (a failure becomes an unreadable answer for each). */
  async function pass(paths: readonly string[]): Promise<Map<string, CacheEntry>> {
    counters.passes++;
    counters.pathsLookedUp += paths.length;
    const deadline = now() + limits.maxPassMs;
    const out = new Map<string, CacheEntry>();
    try {
      const merged = await mergedDirs();
      const d = await dpkgPass(paths, merged, deadline);
      const r = await rpmPass(paths, merged, deadline);
      const validators: Validators = { files: new Map([...d.files, ...r.files]), rpmStamp: r.stamp };
      for (const p of paths) {
        const recorded = [...(d.records.get(p) ?? []), ...(r.records.get(p) ?? [])];
        const dState: ManagerState = d.state.state === 'read' && d.unfinished !== null ? { state: 'incomplete', detail: d.unfinished } : d.state;
        const rNote = r.unfinished.get(p);
        const rState: ManagerState = rNote === undefined ? r.state : { state: rNote.startsWith('unreadable') ? 'unreadable' : 'incomplete', detail: rNote };
        const knowledge: Knowledge = { recorded, dpkg: dState, rpm: rState, localDiversion: d.local.get(p) ?? null };
        const incomplete = dState.state === 'incomplete' || rState.state === 'incomplete';
        out.set(p, { knowledge, validators, expiresAtMs: incomplete ? now() + limits.retryIncompleteMs : null });
      }
    } catch (err) {
      const detail = `lookup failed: ${(err as Error).message}`;
      for (const p of paths) {
        out.set(p, {
          knowledge: { recorded: [], dpkg: { state: 'unreadable', detail }, rpm: { state: 'absent' }, localDiversion: null },
          validators: { files: new Map(), rpmStamp: null },
          expiresAtMs: now() + limits.retryIncompleteMs,
        });
      }
    }
    return out;
  }

  async function drain(): Promise<void> {
    while (queue.size > 0) {
      current = queue;
      queue = new Map();
      const answers = await pass([...current.keys()]);
      for (const [path, d] of current) {
        const e = answers.get(path)!;
        remember(cache, path, e);
        hints.delete(path);
        d.resolve(e);
      }
      current = new Map();
    }
    running = false;
  }

  async function entryFor(path: string): Promise<CacheEntry | 'busy'> {
    const hit = cache.get(path);
    if (hit) {
      if (await stillValid(hit)) {
        counters.cacheHits++;
        remember(cache, path, hit);
        return hit;
      }
      if (cache.get(path) === hit) {
        cache.delete(path);
        remember(hints, path, [...new Set(hit.knowledge.recorded.filter((r) => r.manager === 'dpkg').map((r) => r.package))]);
      }
    }
    const waiting = current.get(path) ?? queue.get(path);
    if (waiting) return waiting.promise;
    if (queue.size >= limits.maxPending) return 'busy';
    const d = deferred();
    queue.set(path, d);
    if (!running) {
      running = true;
      // Paths asked for in the same turn go into one pass.
      setImmediate(() => void drain());
    }
    return d.promise;
  }

  function count(v: Vouch): Vouch {
    if (v.vouched) counters.vouched++;
    else refused[v.reason]++;
    return v;
  }

  return {
    /**
     * Whether a package recorded content with these digests for `path` (absolute, as the
     * kernel names the file). Never throws; a refusal says why.
     */
    async vouch(path: string, digests: ContentDigests): Promise<Vouch> {
      counters.lookups++;
      if (typeof path !== 'string' || !path.startsWith('/') || path.includes('\0') || path.split('/').slice(1).some((c) => c === '' || c === '.' || c === '..')) {
        return count({ vouched: false, reason: 'invalid-request', detail: 'the path must be absolute and normalised' });
      }
      for (const [algo, n] of Object.entries(DIGEST_HEX_LENGTH)) {
        const v = (digests as unknown as Record<string, unknown>)[algo];
        if ((algo === 'md5' || algo === 'sha256' || v !== undefined) && (typeof v !== 'string' || !isHex(v, n))) {
          return count({ vouched: false, reason: 'invalid-request', detail: `${algo} must be ${n} hex digits` });
        }
      }
      const e = await entryFor(path);
      if (e === 'busy') return count({ vouched: false, reason: 'busy', detail: `${limits.maxPending} paths are already waiting for a lookup` });
      return count(judge(e.knowledge, digests));
    },

    stats(): PackageVouchStats {
      return { ...counters, refused: { ...refused }, cacheEntries: cache.size, truncated: { ...truncated } };
    },
  };
}

export type PackageVouch = ReturnType<typeof createPackageVouch>;
