// The kubelet's version, read from its binary without running it. Kubernetes release builds
// set the version with the Go linker (`-X ...version.gitVersion=v1.32.4`), which stores the
// value as its own string in the ELF `.rodata` section, padded with NUL bytes; ordinary Go
// string data is packed without separators. So the version is the NUL-delimited `v1.N.N...`
// string found there (usually twice: component-base and client-go each get a copy).
//
// Bounded: the ELF header, the section table and the section names are small reads; only
// `.rodata` is searched (about 10 MiB for a kubelet), 1 MiB at a time, and never more than
// MAX_SCAN_BYTES. A binary without section headers is searched from its start, same bound.
// Results are cached per (path, size, mtime), so an unchanged binary is searched once.
import type { FactError } from './host-facts.js';
import type { HostFileHandle, HostFs } from './host-fs.js';
import type { KubeletBinaryFacts } from './node-facts.js';

export const MAX_SCAN_BYTES = 128 * 1024 * 1024;
const CHUNK = 1024 * 1024;
const OVERLAP = 128;
const MAX_SECTIONS = 4096;
const MAX_CACHE = 4;

export interface ElfSection {
  readonly name: string;
  readonly offset: number;
  readonly size: number;
}

type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

/** Section headers of an ELF file (32 or 64 bit, either byte order), read through `read`. */
export async function readElfSections(read: (offset: number, length: number) => Promise<Buffer | null>): Promise<Parsed<ElfSection[]>> {
  const h = await read(0, 64);
  if (h === null || h.length < 4 || h.readUInt32BE(0) !== 0x7f454c46) return { ok: false, message: 'not an ELF binary' };
  if (h.length < 52) return { ok: false, message: 'truncated ELF header' };
  const is64 = h[4] === 2;
  const le = h[5] === 1;
  if (!is64 && h[4] !== 1) return { ok: false, message: `unknown ELF class ${h[4]}` };
  const u16 = (b: Buffer, o: number): number => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
  const u32 = (b: Buffer, o: number): number => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const u64 = (b: Buffer, o: number): number => Number(le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o));
  if (is64 && h.length < 64) return { ok: false, message: 'truncated ELF header' };
  const shoff = is64 ? u64(h, 0x28) : u32(h, 0x20);
  const shentsize = u16(h, is64 ? 0x3a : 0x2e);
  const shnum = u16(h, is64 ? 0x3c : 0x30);
  const shstrndx = u16(h, is64 ? 0x3e : 0x32);
  if (shoff === 0 || shnum === 0) return { ok: true, value: [] };
  if (shnum > MAX_SECTIONS || shentsize < (is64 ? 64 : 40) || shentsize > 256) return { ok: false, message: 'implausible ELF section table' };
  const table = await read(shoff, shnum * shentsize);
  if (table === null || table.length < shnum * shentsize) return { ok: false, message: 'truncated ELF section table' };
  const raw = Array.from({ length: shnum }, (_, i) => {
    const o = i * shentsize;
    return { nameOff: u32(table, o), offset: is64 ? u64(table, o + 24) : u32(table, o + 16), size: is64 ? u64(table, o + 32) : u32(table, o + 20) };
  });
  const strtab = raw[shstrndx];
  if (strtab === undefined) return { ok: false, message: 'no ELF section name table' };
  const names = await read(strtab.offset, Math.min(strtab.size, 64 * 1024));
  if (names === null) return { ok: false, message: 'unreadable ELF section names' };
  const nameAt = (o: number): string => {
    if (o >= names.length) return '';
    const end = names.indexOf(0, o);
    return names.toString('latin1', o, end < 0 ? names.length : end);
  };
  return { ok: true, value: raw.map((s) => ({ name: nameAt(s.nameOff), offset: s.offset, size: s.size })) };
}

// A NUL, then v1.<minor>.<patch> with an optional -pre/+build suffix, then a NUL.
const VERSION_RE = /\0(v1\.[0-9]{1,3}\.[0-9]{1,4}(?:[-+][0-9A-Za-z.+_-]{1,64})?)\0/g;

/** Counts NUL-delimited version strings in a byte range, a chunk at a time. */
export async function scanForVersions(read: (offset: number, length: number) => Promise<Buffer | null>, start: number, size: number): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const end = start + Math.min(size, MAX_SCAN_BYTES);
  for (let pos = start; pos < end; pos += CHUNK - OVERLAP) {
    const len = Math.min(CHUNK, end - pos);
    const buf = await read(pos, len);
    if (buf === null || buf.length === 0) break;
    const text = buf.toString('latin1');
    const last = pos + len >= end;
    for (const m of text.matchAll(VERSION_RE)) {
      // A match starting inside the overlap is counted by the next chunk, which holds it whole.
      if (!last && (m.index ?? 0) >= CHUNK - OVERLAP) continue;
      const v = m[1] as string;
      counts.set(v, (counts.get(v) ?? 0) + 1);
    }
    if (last) break;
  }
  return counts;
}

/** The version a set of candidates points to: the most frequent; a tie between different versions is no answer. */
export function pickVersion(counts: ReadonlyMap<string, number>): { version: string | null; candidates: string[] } {
  const candidates = [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([v]) => v);
  const [first, second] = candidates;
  if (first === undefined) return { version: null, candidates };
  if (second !== undefined && counts.get(second) === counts.get(first)) return { version: null, candidates };
  return { version: first, candidates };
}

const DELETED = ' (deleted)';

interface CacheEntry {
  readonly key: string;
  readonly facts: KubeletBinaryFacts;
}
const cache: CacheEntry[] = [];

function remember(key: string, facts: KubeletBinaryFacts): KubeletBinaryFacts {
  const i = cache.findIndex((e) => e.key === key);
  if (i >= 0) cache.splice(i, 1);
  cache.unshift({ key, facts });
  cache.length = Math.min(cache.length, MAX_CACHE);
  return facts;
}

async function searchBinary(handle: HostFileHandle): Promise<{ version: string | null; candidates: string[]; note: string } | { message: string }> {
  const read = async (offset: number, length: number): Promise<Buffer | null> => {
    const r = await handle.read(offset, length);
    return r.ok ? r.value : null;
  };
  const sections = await readElfSections(read);
  if (!sections.ok) return { message: sections.message };
  const rodata = sections.value.find((s) => s.name === '.rodata');
  const counts = rodata !== undefined
    ? await scanForVersions(read, rodata.offset, rodata.size)
    : await scanForVersions(read, 0, handle.size);
  return { ...pickVersion(counts), note: rodata !== undefined ? 'in .rodata' : 'in the whole file (no .rodata section)' };
}

/** Reads the version of the binary at `exe` (a host path, e.g. the kubelet's /proc/<pid>/exe link value). */
export async function collectKubeletBinary(hostFs: HostFs, exe: string | null): Promise<KubeletBinaryFacts> {
  const empty = { realPath: null, version: null, candidates: [] };
  if (exe === null) {
    return { ...empty, path: null, error: { code: 'ENOENT', path: '', message: "the kubelet's executable is unknown (its /proc/<pid>/exe link could not be read)" } };
  }
  if (exe.endsWith(DELETED)) {
    const path = exe.slice(0, -DELETED.length);
    const message = `${path} was replaced or removed after the kubelet started, so the running version cannot be read from disk (restart the kubelet, or check the new binary)`;
    return { ...empty, path, error: { code: 'ECHANGED', path, message } };
  }
  const st = await hostFs.stat(exe);
  if (!st.ok) return { ...empty, path: exe, error: st.error };
  const key = `${st.value.path}\0${st.value.size}\0${st.value.mtimeMs}`;
  const hit = cache.find((e) => e.key === key);
  if (hit !== undefined) return { ...hit.facts, path: exe };

  const opened = await hostFs.openFile(exe);
  if (!opened.ok) return { ...empty, path: exe, realPath: st.value.path, error: opened.error };
  try {
    const found = await searchBinary(opened.value);
    let error: FactError | null = null;
    if ('message' in found) {
      error = { code: 'EPARSE', path: exe, message: `${exe}: ${found.message}` };
      return remember(key, { path: exe, realPath: st.value.path, version: null, candidates: [], error });
    }
    if (found.version === null) {
      const message = found.candidates.length === 0
        ? `no Kubernetes version string (v1.N.N) found ${found.note} of ${exe}`
        : `${exe} holds several equally likely versions (${found.candidates.slice(0, 5).join(', ')}); cannot tell which is the kubelet's`;
      error = { code: 'EPARSE', path: exe, message };
    }
    return remember(key, { path: exe, realPath: st.value.path, version: found.version, candidates: found.candidates.slice(0, 10), error });
  } finally {
    await opened.value.close();
  }
}
