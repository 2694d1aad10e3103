// An rpm header, as the rpm database stores one per installed package (the `blob` column of
// rpmdb.sqlite's `Packages` table): no magic, then
//   il (u32 BE: index entries), dl (u32 BE: data bytes),
//   il entries of 16 bytes {tag, type, offset, count} (u32 BE each; offset is into the data),
//   dl bytes of data (integers big-endian and aligned to their size; strings NUL-terminated,
//   the strings of an array one after another).
// Written from rpm's own description of the format (docs/manual/format_header.md); rpm's code
// is not used. Pure: bytes in, a value or a coded refusal out, never a throw. A header comes
// from a host file anyone with root on the node can write, so every count and offset is
// checked against the bytes there are, and the work done is bounded by the header's size
// (strings are only walked for the few tags asked for, never for every entry).

export const RPM_TAG = Object.freeze({
  NAME: 1000,
  VERSION: 1001,
  RELEASE: 1002,
  EPOCH: 1003,
  FILEDIGESTS: 1035,
  DIRINDEXES: 1116,
  BASENAMES: 1117,
  DIRNAMES: 1118,
  FILEDIGESTALGO: 5011,
});

export const RPM_TYPE = Object.freeze({
  NULL: 0, CHAR: 1, INT8: 2, INT16: 3, INT32: 4, INT64: 5, STRING: 6, BIN: 7, STRING_ARRAY: 8, I18NSTRING: 9,
});

/** rpm's digest algorithm numbers (the OpenPGP hash ids) for FILEDIGESTALGO; absent means MD5. */
export const RPM_DIGEST_ALGO: Readonly<Record<number, string>> = Object.freeze({
  1: 'md5', 2: 'sha1', 8: 'sha256', 9: 'sha384', 10: 'sha512', 11: 'sha224',
});

/** Bytes per value of the fixed-size types; strings are walked instead. */
const TYPE_SIZE: Readonly<Record<number, number>> = { 0: 0, 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 7: 1 };

export interface RpmHeaderLimits {
  /** Index entries (rpm itself refuses 65,536 or more). */
  readonly maxEntries: number;
  /** Data bytes (rpm itself refuses 256 MiB or more). */
  readonly maxDataBytes: number;
  /** Values in one entry (files in one package, for the file tags). */
  readonly maxCount: number;
}

export const RPM_HEADER_LIMITS: RpmHeaderLimits = Object.freeze({
  maxEntries: 65_535,
  maxDataBytes: 64 * 1024 * 1024,
  maxCount: 1_000_000,
});

export type RpmHeaderErrorCode =
  | 'too-short' | 'too-many-entries' | 'too-much-data' | 'size-mismatch'
  | 'bad-type' | 'bad-offset' | 'bad-count' | 'misaligned' | 'unterminated'
  | 'missing-tag' | 'wrong-type' | 'count-mismatch' | 'bad-dirindex';

export interface RpmHeaderError {
  readonly code: RpmHeaderErrorCode;
  readonly message: string;
}

export type RpmResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: RpmHeaderError };

export interface RpmEntry {
  readonly tag: number;
  readonly type: number;
  readonly offset: number;
  readonly count: number;
}

export interface RpmHeader {
  /** By tag; where a tag repeats (a value changed after install), the later entry wins. */
  readonly entries: ReadonlyMap<number, RpmEntry>;
  readonly data: Uint8Array;
  readonly limits: RpmHeaderLimits;
}

const refuse = (code: RpmHeaderErrorCode, message: string): { ok: false; error: RpmHeaderError } => ({ ok: false, error: { code, message } });

const u32 = (b: Uint8Array, at: number): number => ((b[at]! << 24) >>> 0) + (b[at + 1]! << 16) + (b[at + 2]! << 8) + b[at + 3]!;

/**
 * Checks the header's frame and every index entry (type known, offset inside the data, count
 * in bounds; fixed-size values inside the data and aligned). Strings are checked when read.
 */
export function parseRpmHeader(blob: Uint8Array, limits: RpmHeaderLimits = RPM_HEADER_LIMITS): RpmResult<RpmHeader> {
  if (blob.length < 8) return refuse('too-short', `${blob.length} bytes: shorter than the 8-byte header intro`);
  const il = u32(blob, 0);
  const dl = u32(blob, 4);
  if (il < 1 || il > limits.maxEntries) return refuse('too-many-entries', `${il} index entries (1 to ${limits.maxEntries} allowed)`);
  if (dl > limits.maxDataBytes) return refuse('too-much-data', `${dl} data bytes, over the ${limits.maxDataBytes}-byte limit`);
  const expected = 8 + 16 * il + dl;
  if (blob.length !== expected) return refuse('size-mismatch', `${blob.length} bytes where the intro promises ${expected}`);
  const data = blob.subarray(8 + 16 * il);
  const entries = new Map<number, RpmEntry>();
  for (let i = 0; i < il; i++) {
    const at = 8 + 16 * i;
    const tag = u32(blob, at);
    const type = u32(blob, at + 4);
    const offset = u32(blob, at + 8);
    const count = u32(blob, at + 12);
    const where = `entry ${i} (tag ${tag})`;
    if (type > RPM_TYPE.I18NSTRING) return refuse('bad-type', `${where}: unknown type ${type}`);
    // A region's offset may point just past the data (its trailer is the data's last bytes).
    if (offset > dl) return refuse('bad-offset', `${where}: offset ${offset} past the ${dl} data bytes`);
    if (count < 1 || count > limits.maxCount) return refuse('bad-count', `${where}: count ${count} (1 to ${limits.maxCount} allowed)`);
    if (type === RPM_TYPE.STRING && count !== 1) return refuse('bad-count', `${where}: a STRING has count ${count}, not 1`);
    const size = TYPE_SIZE[type];
    if (size !== undefined) {
      if (size > 1 && offset % size !== 0) return refuse('misaligned', `${where}: ${size}-byte values at offset ${offset}`);
      if (offset + size * count > dl) return refuse('bad-offset', `${where}: ${count} values of ${size} bytes at ${offset} run past the ${dl} data bytes`);
    }
    entries.set(tag, { tag, type, offset, count });
  }
  return { ok: true, value: { entries, data, limits } };
}

const STRING_TYPES: ReadonlySet<number> = new Set([RPM_TYPE.STRING, RPM_TYPE.STRING_ARRAY, RPM_TYPE.I18NSTRING]);

/**
 * The strings of `tag` as raw bytes: each decoded as latin1, one character per byte, so a
 * file name that is not UTF-8 compares exactly. Null when the tag is absent.
 */
export function rawStrings(h: RpmHeader, tag: number): RpmResult<string[] | null> {
  const e = h.entries.get(tag);
  if (!e) return { ok: true, value: null };
  if (!STRING_TYPES.has(e.type)) return refuse('wrong-type', `tag ${tag} has type ${e.type}, not a string type`);
  const out: string[] = [];
  let at = e.offset;
  for (let i = 0; i < e.count; i++) {
    const end = h.data.indexOf(0, at);
    if (end < 0) return refuse('unterminated', `tag ${tag}: string ${i} of ${e.count} is not terminated inside the data`);
    out.push(Buffer.from(h.data.buffer, h.data.byteOffset + at, end - at).toString('latin1'));
    at = end + 1;
  }
  return { ok: true, value: out };
}

/** The first string of `tag`, as UTF-8 text (names and versions, for people to read). */
export function textString(h: RpmHeader, tag: number): RpmResult<string | null> {
  const r = rawStrings(h, tag);
  if (!r.ok || r.value === null) return r as RpmResult<null>;
  return { ok: true, value: Buffer.from(r.value[0]!, 'latin1').toString('utf8') };
}

/** The INT32 values of `tag`; null when absent. */
export function int32s(h: RpmHeader, tag: number): RpmResult<number[] | null> {
  const e = h.entries.get(tag);
  if (!e) return { ok: true, value: null };
  if (e.type !== RPM_TYPE.INT32) return refuse('wrong-type', `tag ${tag} has type ${e.type}, not INT32`);
  const out: number[] = [];
  for (let i = 0; i < e.count; i++) out.push(u32(h.data, e.offset + 4 * i));
  return { ok: true, value: out };
}

export interface RpmPackageInfo {
  readonly name: string;
  /** `[epoch:]version-release`, as rpm -q prints it. */
  readonly version: string;
  /** FILEDIGESTALGO's number (1 when the header has none: MD5). */
  readonly digestAlgo: number;
}

export function rpmPackageInfo(h: RpmHeader): RpmResult<RpmPackageInfo> {
  const name = textString(h, RPM_TAG.NAME);
  if (!name.ok) return name;
  if (name.value === null) return refuse('missing-tag', 'no NAME (1000)');
  const version = textString(h, RPM_TAG.VERSION);
  if (!version.ok) return version;
  const release = textString(h, RPM_TAG.RELEASE);
  if (!release.ok) return release;
  const epoch = int32s(h, RPM_TAG.EPOCH);
  if (!epoch.ok) return epoch;
  const algo = int32s(h, RPM_TAG.FILEDIGESTALGO);
  if (!algo.ok) return algo;
  const evr = `${epoch.value ? `${epoch.value[0]}:` : ''}${version.value ?? ''}${release.value ? `-${release.value}` : ''}`;
  return { ok: true, value: { name: name.value, version: evr, digestAlgo: algo.value?.[0] ?? 1 } };
}

export interface RpmFileMatch {
  /** The path as the header records it (dirname + basename), raw bytes as latin1. */
  readonly path: string;
  /** Lowercase hex; '' when the header records none (directories, links, ghosts). */
  readonly digest: string;
}

/**
 * The files of the header whose path (DIRNAMES[DIRINDEXES[i]] + BASENAMES[i]) is one of
 * `paths` (raw bytes as latin1, absolute), with the digest recorded for each. The file
 * tags must agree with each other; a header without files matches nothing.
 */
export function rpmFindFiles(h: RpmHeader, paths: ReadonlySet<string>): RpmResult<RpmFileMatch[]> {
  const basenames = rawStrings(h, RPM_TAG.BASENAMES);
  if (!basenames.ok) return basenames;
  if (basenames.value === null) return { ok: true, value: [] };
  const dirnames = rawStrings(h, RPM_TAG.DIRNAMES);
  if (!dirnames.ok) return dirnames;
  const dirindexes = int32s(h, RPM_TAG.DIRINDEXES);
  if (!dirindexes.ok) return dirindexes;
  if (dirnames.value === null || dirindexes.value === null) return refuse('missing-tag', 'BASENAMES without DIRNAMES or DIRINDEXES');
  const n = basenames.value.length;
  if (dirindexes.value.length !== n) return refuse('count-mismatch', `${n} BASENAMES but ${dirindexes.value.length} DIRINDEXES`);
  let digests: string[] | null = null;
  const wanted = new Set<string>();
  for (const p of paths) wanted.add(p.slice(p.lastIndexOf('/') + 1));
  const out: RpmFileMatch[] = [];
  for (let i = 0; i < n; i++) {
    const di = dirindexes.value[i]!;
    if (di >= dirnames.value.length) return refuse('bad-dirindex', `file ${i}: directory index ${di} of ${dirnames.value.length}`);
    const base = basenames.value[i]!;
    if (!wanted.has(base)) continue;
    const path = dirnames.value[di]! + base;
    if (!paths.has(path)) continue;
    if (digests === null) {
      const d = rawStrings(h, RPM_TAG.FILEDIGESTS);
      if (!d.ok) return d;
      digests = d.value ?? [];
      if (d.value !== null && digests.length !== n) return refuse('count-mismatch', `${n} BASENAMES but ${digests.length} FILEDIGESTS`);
    }
    out.push({ path, digest: (digests[i] ?? '').toLowerCase() });
  }
  return { ok: true, value: out };
}
