// One record of the eBPF exec program (native/bpf/exec_event.h, struct nw_exec_event and the
// data after it), as the addon hands it over, read into an ExecRecord (pure). The header's
// offsets are fixed by static_asserts in native/src/bpf_exec.cc. A record whose lengths do
// not fit is refused (null), never thrown over: the caller counts it.
import { CLOCK_TICKS_PER_SECOND } from './proc-reader.js';
import type { ExecRecord } from './exec-record.js';
import type { SocketFamily, StdioFact, StdioKind } from './stdio.js';

export const HEADER_BYTES = 168;

/** Flags (NW_F_*). */
export const FLAG = {
  PATH_TRUNCATED: 0x1,
  PATH_DETACHED: 0x2,
  UNLINKED: 0x4,
  FILENAME_TRUNCATED: 0x8,
  CGROUP_TRUNCATED: 0x10,
  ARGS_TRUNCATED: 0x20,
  ARGS_UNREADABLE: 0x40,
} as const;

/** stdio bytes (NW_FD_*, NW_FAM_*): the kind in the low nibble, a socket's family in the high one. */
const STDIO_KIND: readonly StdioKind[] = ['other', 'none', 'socket', 'pipe', 'file', 'chardev', 'other'];
const SOCKET_FAMILY: readonly SocketFamily[] = ['other', 'unix', 'inet', 'inet6', 'other'];
/** Every byte's meaning, made once: a record's three are looked up, never built. */
const STDIO_FACTS: readonly StdioFact[] = Array.from({ length: 256 }, (_, byte): StdioFact => {
  const kind = STDIO_KIND[byte & 0xf] ?? 'other';
  return Object.freeze(kind === 'socket' ? { kind, family: SOCKET_FAMILY[byte >> 4] ?? 'other' } : { kind });
});

/** The meaning of one stdio byte (NW_FD_BYTE in native/bpf/exec_event.h); an unknown code is 'other'. */
export function stdioFact(byte: number): StdioFact {
  return STDIO_FACTS[byte & 0xff]!;
}

const NS_PER_S = 1_000_000_000n;

/** A time as seconds (signed 64-bit) and nanoseconds, in nanoseconds since the epoch (as stat's bigint mtimeNs). */
function timeNs(b: Buffer, secAt: number, nsecAt: number): bigint {
  return b.readBigInt64LE(secAt) * NS_PER_S + BigInt(b.readUInt32LE(nsecAt));
}

const NS_PER_TICK = BigInt(1_000_000_000 / CLOCK_TICKS_PER_SECOND);

/** The kernel's dev_t (major << 20 | minor) in the encoding stat() reports (glibc's makedev). */
export function userDev(kdev: number): number {
  const major = Math.floor(kdev / 2 ** 20);
  const minor = kdev % 2 ** 20;
  return (major & 0xfff) * 256 + (minor & 0xff) + Math.floor(minor / 256) * 2 ** 20 + Math.floor(major / 4096) * 2 ** 44;
}

/** The length of the record at `at` in `b` (header and data), or 0 when it does not fit in `b`. */
export function bpfRecordBytes(b: Buffer, at = 0): number {
  if (at < 0 || b.length - at < HEADER_BYTES) return 0;
  const n = HEADER_BYTES + b.readUInt16LE(at + 104) + b.readUInt16LE(at + 106) + b.readUInt16LE(at + 108) + b.readUInt16LE(at + 110) + b.readUInt16LE(at + 112);
  return n <= b.length - at ? n : 0;
}

/**
 * The `count` records of one batch from the addon, one after the other in `b`, each handed to
 * `onExec` in order. Returns how many could not be read: should a record's lengths not fit,
 * it and every record after it (which cannot be found without it) are counted, never thrown.
 */
export function parseBpfBatch(b: Buffer, count: number, readMonoMs: number, onExec: (r: ExecRecord) => void): number {
  let at = 0;
  for (let i = 0; i < count; i++) {
    const n = bpfRecordBytes(b, at);
    const r = n > 0 ? parseBpfRecord(b, readMonoMs, at) : null;
    if (!r) return count - i;
    at += n;
    onExec(r);
  }
  return 0;
}

/** An unsigned 64-bit field as a number (rounded to the nearest, as Number(BigInt) does, above 2^53). */
function u64(b: Buffer, at: number): number {
  return b.readUInt32LE(at + 4) * 2 ** 32 + b.readUInt32LE(at);
}

const NS_PER_TICK_N = 1_000_000_000 / CLOCK_TICKS_PER_SECOND;

/** Whole clock ticks in a nanosecond count, exactly (stat's starttime, which the process table matches on). */
function ticksOf(b: Buffer, at: number): number {
  const hi = b.readUInt32LE(at + 4);
  // Below 2^53 ns (104 days of uptime) the arithmetic is exact once the quotient is corrected.
  if (hi >= 2 ** 21) return Number(b.readBigUInt64LE(at) / NS_PER_TICK);
  const ns = hi * 2 ** 32 + b.readUInt32LE(at);
  let ticks = Math.floor(ns / NS_PER_TICK_N);
  if (ticks * NS_PER_TICK_N > ns) ticks--;
  return ticks;
}

/**
 * The record at `offset` in `b` (a batch holds several, one after the other), or null when
 * it does not fit. Read in place: `cmdline` is a view of `b` (the addon hands over a fresh
 * buffer per batch, which nothing else writes).
 */
export function parseBpfRecord(b: Buffer, readMonoMs: number, offset = 0): ExecRecord | null {
  if (bpfRecordBytes(b, offset) === 0) return null;
  const o = offset;
  const pathLen = b.readUInt16LE(o + 104);
  const filenameLen = b.readUInt16LE(o + 106);
  const cgroupLen = b.readUInt16LE(o + 108);
  const cgroupV1Len = b.readUInt16LE(o + 110);
  const argsLen = b.readUInt16LE(o + 112);
  let at = o + HEADER_BYTES;
  const path = b.toString('utf8', at, (at += pathLen));
  const filename = b.toString('utf8', at, (at += filenameLen));
  const cgroup = b.toString('utf8', at, (at += cgroupLen));
  const cgroupV1 = cgroupV1Len > 0 ? b.toString('utf8', at, (at += cgroupV1Len)) : '';
  const args = b.subarray(at, at + argsLen);
  const flags = b.readUInt32LE(o + 96);
  const commEnd = b.indexOf(0, o + 116);
  const comm = b.toString('utf8', o + 116, commEnd < 0 || commEnd > o + 132 ? o + 132 : commEnd);
  const eventMonoMs = u64(b, o) / 1e6;
  const missing: string[] = [];
  if (flags & FLAG.PATH_TRUNCATED) missing.push('exePath');
  if (flags & FLAG.ARGS_UNREADABLE) missing.push('cmdline');
  if (flags & FLAG.CGROUP_TRUNCATED) missing.push('cgroupPath');
  const v1Hierarchy = b.readUInt32LE(o + 100);
  return {
    pid: b.readUInt32LE(o + 68),
    tid: b.readUInt32LE(o + 64),
    ppid: b.readUInt32LE(o + 72),
    uid: b.readUInt32LE(o + 84),
    startTicks: ticksOf(b, o + 8),
    exe: path,
    parentExe: null,
    cmdline: args,
    cmdlineTruncated: (flags & FLAG.ARGS_TRUNCATED) !== 0,
    // In /proc/<pid>/cgroup's form, so the monitor reads it as it reads that file.
    cgroup: cgroupV1Len > 0 ? `0::${cgroup}\n${v1Hierarchy}:memory:${cgroupV1}\n` : `0::${cgroup}\n`,
    partial: missing.length > 0,
    missing,
    eventMonoMs,
    exeMonoMs: eventMonoMs,
    readMonoMs,
    kernel: {
      filename,
      filenameTruncated: (flags & FLAG.FILENAME_TRUNCATED) !== 0,
      pathTruncated: (flags & FLAG.PATH_TRUNCATED) !== 0,
      detached: (flags & FLAG.PATH_DETACHED) !== 0,
      unlinked: (flags & FLAG.UNLINKED) !== 0,
      ino: u64(b, o + 32),
      dev: userDev(b.readUInt32LE(o + 48)),
      nlink: b.readUInt32LE(o + 52),
      fsMagic: u64(b, o + 40),
      size: u64(b, o + 136),
      mtimeNs: timeNs(b, o + 144, o + 160),
      ctimeNs: timeNs(b, o + 152, o + 164),
      mode: b.readUInt16LE(o + 114),
      stdio: [stdioFact(b[o + 132]!), stdioFact(b[o + 133]!), stdioFact(b[o + 134]!)],
      cgroupId: u64(b, o + 16),
      cgroupV1Id: u64(b, o + 24),
      mntNs: b.readUInt32LE(o + 56),
      pidNs: b.readUInt32LE(o + 60),
      comm,
      uid: b.readUInt32LE(o + 80),
      euid: b.readUInt32LE(o + 84),
      gid: b.readUInt32LE(o + 88),
      egid: b.readUInt32LE(o + 92),
      oldPid: b.readUInt32LE(o + 76),
    },
  };
}
