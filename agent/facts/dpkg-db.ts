// What dpkg recorded about installed files, read from the host's /var/lib/dpkg:
//   info/<package>[:<arch>].md5sums  one line per file: "<md5 hex>  <path without leading />"
//   diversions                       triples of lines: the diverted path, where the package
//                                    versions of it go instead, the diverting package (":"
//                                    for an administrator's local diversion)
//   status                           one stanza per package ("Package:", "Architecture:",
//                                    "Version:", ...), blank-line separated
// Pure parsers here, fed the bytes host-fs read; the scan over the files lives in
// package-vouch.ts. Paths are compared as raw bytes (latin1 strings, one character per byte),
// since dpkg records file names as bytes, not text.

export const DPKG_INFO_DIR = '/var/lib/dpkg/info';
export const DPKG_DIVERSIONS = '/var/lib/dpkg/diversions';
export const DPKG_STATUS = '/var/lib/dpkg/status';

export type Md5sumsLineErrorCode = 'empty' | 'bad-digest' | 'bad-separator' | 'bad-path';

export interface Md5sumsLine {
  /** Lowercase hex. */
  readonly md5: string;
  /** Absolute host path (a leading "/" added), as recorded (raw bytes as latin1). */
  readonly path: string;
}

export type Md5sumsLineResult =
  | { readonly ok: true; readonly value: Md5sumsLine }
  | { readonly ok: false; readonly code: Md5sumsLineErrorCode; readonly message: string };

const HEX32 = /^[0-9a-fA-F]{32}$/;

/**
 * One md5sums line (without its newline): 32 hex digits, two spaces (or a space and the `*`
 * of binary mode, as md5sum writes it), then the path, relative to / (a leading "/" or "./"
 * is accepted). A path with an empty, "." or ".." component, a NUL or a newline is refused.
 */
export function parseMd5sumsLine(line: string): Md5sumsLineResult {
  const text = line.endsWith('\r') ? line.slice(0, -1) : line;
  if (text.trim() === '') return { ok: false, code: 'empty', message: 'empty line' };
  const md5 = text.slice(0, 32);
  if (!HEX32.test(md5)) return { ok: false, code: 'bad-digest', message: 'the line does not start with 32 hex digits' };
  const sep = text.slice(32, 34);
  if (sep !== '  ' && sep !== ' *') return { ok: false, code: 'bad-separator', message: 'the digest is not followed by two spaces or " *"' };
  let rel = text.slice(34);
  if (rel.startsWith('./')) rel = rel.slice(2);
  else if (rel.startsWith('/')) rel = rel.slice(1);
  if (rel === '' || rel.includes('\0') || rel.includes('\n')) return { ok: false, code: 'bad-path', message: 'no usable path after the digest' };
  for (const c of rel.split('/')) {
    if (c === '' || c === '.' || c === '..') return { ok: false, code: 'bad-path', message: 'the path has an empty, "." or ".." component' };
  }
  return { ok: true, value: { md5: md5.toLowerCase(), path: `/${rel}` } };
}

/**
 * Every line of an md5sums file (raw bytes) that records one of `wanted` (absolute paths, raw
 * bytes as latin1). `needle` is a byte string every wanted path contains (the shortest one,
 * without its leading "/"): only lines holding it are parsed, so a file is searched at the
 * speed of Buffer.indexOf rather than split into lines. Unparseable lines holding the needle
 * are counted.
 */
export function findInMd5sums(file: Buffer, needle: Buffer, wanted: ReadonlySet<string>): { found: Md5sumsLine[]; malformed: number } {
  const found: Md5sumsLine[] = [];
  let malformed = 0;
  if (needle.length === 0) return { found, malformed };
  let at = file.indexOf(needle);
  while (at >= 0) {
    const start = file.lastIndexOf(0x0a, at) + 1;
    const nl = file.indexOf(0x0a, at);
    const end = nl < 0 ? file.length : nl;
    const parsed = parseMd5sumsLine(file.toString('latin1', start, end));
    if (!parsed.ok) malformed++;
    else if (wanted.has(parsed.value.path)) found.push(parsed.value);
    if (nl < 0) break;
    at = file.indexOf(needle, nl + 1);
  }
  return { found, malformed };
}

/** The package (and architecture, for `pkg:arch`) an info file name belongs to; null for other files. */
export function md5sumsPackage(fileName: string): { readonly package: string; readonly arch: string | null } | null {
  if (!fileName.endsWith('.md5sums')) return null;
  const stem = fileName.slice(0, -'.md5sums'.length);
  if (stem === '' || stem.startsWith('.')) return null;
  const colon = stem.indexOf(':');
  if (colon < 0) return { package: stem, arch: null };
  if (colon === 0 || colon === stem.length - 1) return null;
  return { package: stem.slice(0, colon), arch: stem.slice(colon + 1) };
}

export interface Diversion {
  /** The path whose package versions are diverted (raw bytes as latin1). */
  readonly from: string;
  /** Where those versions are installed instead. */
  readonly to: string;
  /** The diverting package, whose own version stays at `from`; null for a local diversion. */
  readonly by: string | null;
}

/**
 * The diversions file: triples of lines. A triple whose paths are not absolute, or a trailing
 * incomplete one, is counted as malformed and left out.
 */
export function parseDiversions(text: string): { diversions: Diversion[]; malformed: number } {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const diversions: Diversion[] = [];
  let malformed = 0;
  for (let i = 0; i < lines.length; i += 3) {
    const [from, to, by] = [lines[i], lines[i + 1], lines[i + 2]];
    if (from === undefined || to === undefined || by === undefined || !from.startsWith('/') || !to.startsWith('/') || by === '') {
      malformed++;
      continue;
    }
    diversions.push({ from, to, by: by === ':' ? null : by });
  }
  return { diversions, malformed };
}

/**
 * The Version of `pkg` in dpkg's status file (for `arch`, when the package is multi-arch
 * named), or null. Only the stanzas naming the package are looked at.
 */
export function statusVersion(status: Buffer, pkg: string, arch: string | null): string | null {
  const needle = Buffer.from(`Package: ${pkg}\n`, 'utf8');
  for (let at = status.indexOf(needle); at >= 0; at = status.indexOf(needle, at + 1)) {
    if (at > 0 && status[at - 1] !== 0x0a) continue;
    const blank = status.indexOf('\n\n', at);
    const stanza = status.toString('utf8', at, blank < 0 ? status.length : blank);
    const field = (name: string): string | null => {
      const m = new RegExp(`^${name}: (.*)$`, 'm').exec(stanza);
      return m ? m[1]!.trim() : null;
    };
    if (arch !== null && field('Architecture') !== arch) continue;
    return field('Version');
  }
  return null;
}
