// One record of the eBPF exec program (native/bpf/exec_event.h, struct nw_exec_event and the
// data after it), as the addon hands it over, read into an ExecRecord (pure). The header's
// offsets are fixed by static_asserts in native/src/bpf_exec.cc. A record whose lengths do
// not fit is refused (null), never thrown over: the caller counts it.
import { CLOCK_TICKS_PER_SECOND } from './proc-reader.js';
import type { ExecRecord } from './exec-events.js';

export const HEADER_BYTES = 136;

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

/** The record at `at` in `b` (a batch holds several, one after the other), or null when it does not fit. */
export function parseBpfRecord(whole: Buffer, readMonoMs: number, offset = 0): ExecRecord | null {
  if (bpfRecordBytes(whole, offset) === 0) return null;
  const b = offset === 0 ? whole : whole.subarray(offset);
  const pathLen = b.readUInt16LE(104);
  const filenameLen = b.readUInt16LE(106);
  const cgroupLen = b.readUInt16LE(108);
  const cgroupV1Len = b.readUInt16LE(110);
  const argsLen = b.readUInt16LE(112);
  let at = HEADER_BYTES;
  const text = (n: number): string => {
    const s = b.toString('utf8', at, at + n);
    at += n;
    return s;
  };
  const path = text(pathLen);
  const filename = text(filenameLen);
  const cgroup = text(cgroupLen);
  const cgroupV1 = text(cgroupV1Len);
  const args = Buffer.from(b.subarray(at, at + argsLen));
  const flags = b.readUInt32LE(96);
  const commEnd = b.indexOf(0, 116);
  const comm = b.toString('utf8', 116, commEnd < 0 || commEnd > 132 ? 132 : commEnd);
  const eventMonoMs = Number(b.readBigUInt64LE(0)) / 1e6;
  const missing: string[] = [];
  if (flags & FLAG.PATH_TRUNCATED) missing.push('exePath');
  if (flags & FLAG.ARGS_UNREADABLE) missing.push('cmdline');
  if (flags & FLAG.CGROUP_TRUNCATED) missing.push('cgroupPath');
  const v1Hierarchy = b.readUInt32LE(100);
  return {
    pid: b.readUInt32LE(68),
    tid: b.readUInt32LE(64),
    ppid: b.readUInt32LE(72),
    uid: b.readUInt32LE(84),
    startTicks: Number(b.readBigUInt64LE(8) / NS_PER_TICK),
    exe: path,
    parentExe: null,
    cmdline: args,
    cmdlineTruncated: (flags & FLAG.ARGS_TRUNCATED) !== 0,
    // In /proc/<pid>/cgroup's form, so the monitor reads it as it reads that file.
    cgroup: `0::${cgroup}\n${cgroupV1Len > 0 ? `${v1Hierarchy}:memory:${cgroupV1}\n` : ''}`,
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
      ino: Number(b.readBigUInt64LE(32)),
      dev: userDev(b.readUInt32LE(48)),
      nlink: b.readUInt32LE(52),
      fsMagic: Number(b.readBigUInt64LE(40)),
      cgroupId: Number(b.readBigUInt64LE(16)),
      cgroupV1Id: Number(b.readBigUInt64LE(24)),
      mntNs: b.readUInt32LE(56),
      pidNs: b.readUInt32LE(60),
      comm,
      uid: b.readUInt32LE(80),
      euid: b.readUInt32LE(84),
      gid: b.readUInt32LE(88),
      egid: b.readUInt32LE(92),
      oldPid: b.readUInt32LE(76),
    },
  };
}
