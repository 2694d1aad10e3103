// Exec events from the kernel, through the optional native addons in native/ (built by
// `npm run build:native`). Sources, best first:
//
//   ebpf     native/bpf/exec.bpf.c on tp_btf/sched_process_exec, loaded by nodeward_bpf.node:
//            every exec described in the kernel at the moment it happens (canonical path,
//            inode, size, times and mode, credentials, cgroup, argv, what fds 0-2 are), so a
//            process that is gone before anyone could read /proc is still judged. Needs
//            kernel >= 5.8 with BTF, CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN), and bpf()
//            allowed by the seccomp profile.
//   netlink  the process connector (nodeward_proc.node): the kernel says "pid N exec'd" and the
//            addon reads /proc/N at once, which a sub-millisecond process can win.
//   scan     no events: the monitor's periodic /proc scan is all there is.
//
// Loading or starting a source can fail for reasons that are facts about the node, not bugs
// (no BTF, a capability missing, a seccomp profile refusing bpf(), an old kernel, the addon not
// built, not in the host's network namespace ...). Each comes back as a reason with a stable
// code, never a throw, and the next source is tried; the reasons stay visible in the stats.
import { existsSync, readFileSync } from 'node:fs';
import { release } from 'node:os';
import { basename } from 'node:path';
import { parseBpfBatch } from './bpf-record.js';
import { ADDON_PATH, BPF_ADDON_PATH, BPF_OBJECT_PATH, loadAddon } from './native-addon.js';

export { ADDON_PATH, BPF_ADDON_PATH, BPF_OBJECT_PATH } from './native-addon.js';
/** Where the kernel publishes its own type information (CONFIG_DEBUG_INFO_BTF). */
export const DEFAULT_BTF_PATH = '/sys/kernel/btf/vmlinux';
/**
 * The eBPF ring buffer: 1 MiB, about 2,000 records of a typical size (a record with the longest
 * path and argv kept takes 20 KiB). The ring only holds what arrives while the addon's reader
 * thread is not draining it: that thread moves every record into its own queue (8,192 records)
 * at once, whether JavaScript keeps up or not, so the ring need not hold a burst. Bursts of
 * 3,000 execs lost nothing with it (bench/exec-capture.ts); a record the kernel finds no room
 * for is counted (execRingLost). Its pages are mapped twice into the agent, so 4 MiB showed as
 * 8 MiB resident (bench/agent-rss.ts).
 */
export const DEFAULT_RING_BYTES = 1024 * 1024;
/**
 * How long the eBPF reader lets records gather after a wake-up that found some, before it
 * polls again: at 200 execs/s a wake-up (of the reader, and of the JavaScript thread) carries
 * about four records instead of one, for at most this much more delay to a finding. A wake-up
 * of an idle agent costs far more than judging one record there (bench/exec-capture.ts at
 * 200 execs/s: about 5.5-7.6 % of a core with one record per wake-up, 3.3-3.5 % with 20 ms,
 * 4.3-5.3 % with 10 ms; exec -> finding p99 stays far under its 100 ms target).
 */
export const DEFAULT_BATCH_MS = 20;

export type ExecSourceKind = 'ebpf' | 'netlink';
export type ExecSourceName = ExecSourceKind | 'scan';

/** What the filesystem of the executed file is, from its superblock's magic number. */
export type FsKind = 'memfd' | 'tmpfs' | 'overlay' | 'ramfs' | 'hugetlbfs' | 'ext4' | 'xfs' | 'btrfs' | 'squashfs' | 'nfs' | 'fuse' | 'other';

// What fds 0, 1, 2 are: one type for both readers (the kernel's at the exec, stdio.ts's from /proc).
export type { SocketFamily, StdioFact, StdioFacts, StdioKind } from './stdio.js';

// One exec as a source delivers it (exec-record.ts: the parser of eBPF records reads it too).
export type { ExecRecord, KernelExecFacts } from './exec-record.js';
import type { ExecRecord } from './exec-record.js';

export interface ExecEventStats {
  readonly received: number;
  readonly execs: number;
  readonly delivered: number;
  readonly partial: number;
  /**
   * Records dropped because JavaScript was behind (netlink: the queue was full). The eBPF
   * reader waits instead, the records wait in the ring, and a full ring is `ringLost`; its
   * `dropped` counts only records discarded while stopping.
   */
  readonly dropped: number;
  /** Times the kernel reported it dropped events (netlink socket overrun). */
  readonly overruns: number;
  readonly errors: number;
  readonly running: boolean;
  /** eBPF: execs the program ran for, records the ring buffer had no room for (lost in the kernel). */
  readonly kernelSeen?: number;
  readonly ringLost?: number;
  /** eBPF: reader wake-ups that found records, and the most records one wake-up drained. */
  readonly wakeups?: number;
  readonly maxBatch?: number;
  /** eBPF: calls into JavaScript, each carrying a batch of records (fewer than `delivered`: see DEFAULT_BATCH_MS). */
  readonly batches?: number;
}

export interface ExecEventSource {
  readonly kind: ExecSourceKind;
  stop(): void;
  stats(): ExecEventStats;
}

interface Handle {
  stop(): void;
  stats(): ExecEventStats;
}

interface Addon<O, R extends unknown[]> {
  start(opts: O, onRecord: (...record: R) => void): Handle;
}

interface NetlinkOptions { procRoot: string; maxCmdline?: number; queue?: number }
interface BpfOptions { objectPath: string; btfPath?: string; ringBytes?: number; queue?: number; batchMs?: number }

export type StartResult =
  | { readonly ok: true; readonly source: ExecEventSource }
  | { readonly ok: false; readonly code: string; readonly reason: string };

type NetlinkAddon = Addon<NetlinkOptions, [ExecRecord]>;
/** The eBPF addon hands over the bytes of a batch of records (bpf-record.ts reads them), how many, and when they were drained. */
type BpfAddon = Addon<BpfOptions, [Buffer, number, number]>;

const NETLINK_HINTS: Record<string, string> = {
  EPROTONOSUPPORT: 'not in the host network namespace (the DaemonSet needs hostNetwork: true)',
  EPERM: 'CAP_NET_ADMIN is missing',
  EACCES: 'CAP_NET_ADMIN is missing',
  ETIMEDOUT: 'the kernel did not acknowledge the subscription (the agent must run in the host PID and user namespaces)',
};

/** The netlink process connector. */
export function startExecEvents(opts: { procRoot: string; maxCmdline: number; queue: number; addonPath?: string }, onExec: (r: ExecRecord) => void): StartResult {
  const loaded = loadAddon<NetlinkAddon>(opts.addonPath ?? ADDON_PATH, 'process connector', 'start');
  if ('error' in loaded) return { ok: false, ...loaded.error };
  try {
    const h = loaded.addon.start({ procRoot: opts.procRoot, maxCmdline: opts.maxCmdline, queue: opts.queue }, onExec);
    return { ok: true, source: { kind: 'netlink', stop: () => h.stop(), stats: () => h.stats() } };
  } catch (err) {
    const code = String((err as NodeJS.ErrnoException).code ?? 'EIO');
    const hint = NETLINK_HINTS[code];
    return { ok: false, code, reason: `${(err as Error).message}${hint ? `: ${hint}` : ''}` };
  }
}

// --- eBPF ------------------------------------------------------------------------------

const TMPFS_MAGIC = 0x01021994;
const HUGETLBFS_MAGIC = 0x958458f6;
const FS_MAGIC: ReadonlyMap<number, FsKind> = new Map<number, FsKind>([
  [TMPFS_MAGIC, 'tmpfs'],
  [0x794c7630, 'overlay'],
  [0x858458f6, 'ramfs'],
  [HUGETLBFS_MAGIC, 'hugetlbfs'],
  [0xef53, 'ext4'],
  [0x58465342, 'xfs'],
  [0x9123683e, 'btrfs'],
  [0x73717368, 'squashfs'],
  [0x6969, 'nfs'],
  [0x65735546, 'fuse'],
]);

/**
 * The kind of filesystem an executed file lives on. A memfd is a tmpfs (or hugetlbfs) file
 * on the kernel's internal mount, outside every process's view, named `memfd:<name>`: code
 * run from memory, which never had a path on disk.
 */
export function fsKindOf(fsMagic: number, path: string, detached: boolean): FsKind {
  if ((fsMagic === TMPFS_MAGIC || fsMagic === HUGETLBFS_MAGIC) && detached && basename(path).startsWith('memfd:')) return 'memfd';
  return FS_MAGIC.get(fsMagic) ?? 'other';
}

/** Capability bits (linux/capability.h). */
const CAP = { SYS_ADMIN: 21, PERFMON: 38, BPF: 39 } as const;

export interface ProcessPrivileges {
  /** CapEff as a bit set. */
  readonly effective: bigint;
  /** /proc/self/status "Seccomp:" (0 none, 1 strict, 2 filter), -1 when unknown. */
  readonly seccomp: number;
  /** RLIMIT_MEMLOCK's soft limit in bytes, Infinity for unlimited, -1 when unknown. */
  readonly memlock: number;
}

export function parsePrivileges(status: string, limits: string): ProcessPrivileges {
  const cap = /^CapEff:\s*([0-9a-fA-F]+)\s*$/m.exec(status);
  const sec = /^Seccomp:\s*(\d+)\s*$/m.exec(status);
  const mem = /^Max locked memory\s+(\S+)/m.exec(limits);
  return {
    effective: cap ? BigInt(`0x${cap[1]}`) : 0n,
    seccomp: sec ? Number(sec[1]) : -1,
    memlock: !mem ? -1 : mem[1] === 'unlimited' ? Infinity : Number(mem[1]),
  };
}

function ownPrivileges(): ProcessPrivileges {
  const read = (p: string): string => {
    try {
      return readFileSync(p, 'utf8');
    } catch {
      return '';
    }
  };
  return parsePrivileges(read('/proc/self/status'), read('/proc/self/limits'));
}

const has = (p: ProcessPrivileges, cap: number): boolean => ((p.effective >> BigInt(cap)) & 1n) === 1n;

/** The capabilities loading the program needs that `p` lacks (CAP_SYS_ADMIN stands in for both). */
export function missingBpfCapabilities(p: ProcessPrivileges): string[] {
  if (has(p, CAP.SYS_ADMIN)) return [];
  const missing: string[] = [];
  if (!has(p, CAP.BPF)) missing.push('CAP_BPF');
  if (!has(p, CAP.PERFMON)) missing.push('CAP_PERFMON');
  return missing;
}

/** `uname -r` -> [major, minor], or null when it does not start with two numbers. */
export function kernelVersion(text: string): readonly [number, number] | null {
  const m = /^(\d+)\.(\d+)/.exec(text);
  return m ? [Number(m[1]), Number(m[2])] : null;
}

const atLeast = (v: readonly [number, number], major: number, minor: number): boolean => v[0] > major || (v[0] === major && v[1] >= minor);

export interface BpfFailure {
  /** The errno-style code the addon threw (EPERM, EINVAL, ...). */
  readonly code: string;
  /** The libbpf step: bpf_object__open, bpf_object__load, bpf_program__attach, ... */
  readonly syscall: string;
  readonly message: string;
  /** The end of libbpf's log (the verifier's complaint, for one). */
  readonly detail: string;
}

/**
 * Why the eBPF source did not start, as a stable code and a sentence an operator can act on.
 * A refusal (EPERM) is a missing capability when one is missing; with them all held it is the
 * memlock limit on kernels that still charge BPF maps to it, else a seccomp filter (older
 * runtimes' default profiles deny bpf()), else something else (an LSM).
 */
export function classifyBpfFailure(f: BpfFailure, p: ProcessPrivileges, kernel: readonly [number, number] | null): { code: string; reason: string } {
  const detail = f.detail ? ` (libbpf: ${f.detail.split('\n').filter(Boolean).slice(-3).join(' | ')})` : '';
  if (f.code === 'EPERM' || f.code === 'EACCES') {
    const missing = missingBpfCapabilities(p);
    if (missing.length > 0) {
      return { code: 'NO_CAPABILITY', reason: `${f.message}: the agent lacks ${missing.join(' and ')} (or CAP_SYS_ADMIN), which loading a tracing program needs` };
    }
    if (kernel && !atLeast(kernel, 5, 11) && p.memlock !== Infinity) {
      return { code: 'MEMLOCK', reason: `${f.message}: kernel ${kernel.join('.')} charges BPF maps to RLIMIT_MEMLOCK (${p.memlock} bytes here), which the agent cannot raise without CAP_SYS_RESOURCE` };
    }
    if (p.seccomp === 2) {
      return { code: 'SECCOMP', reason: `${f.message} although the capabilities are held: a seccomp filter denies bpf() (the container runtime's default profile on older runtimes); give the agent a profile that allows bpf()` };
    }
    return { code: 'EPERM', reason: `${f.message} although the capabilities are held and no seccomp filter applies: a security module (SELinux, AppArmor, lockdown) may deny bpf()${detail}` };
  }
  if (f.code === 'EAGAIN' && f.syscall === 'bpf_object__load') {
    return { code: 'LOAD_INTERRUPTED', reason: `${f.message}: signals kept interrupting the kernel's verifier (a profiler sampling the agent?); the next start will try again` };
  }
  if (f.syscall === 'bpf_object__open') return { code: 'OBJECT_INVALID', reason: `${f.message}: the program object cannot be opened${detail}` };
  if (f.syscall === 'bpf_object__load') return { code: 'LOAD_FAILED', reason: `${f.message}: the kernel refused the program${detail}` };
  if (f.syscall === 'bpf_program__attach') return { code: 'ATTACH_FAILED', reason: `${f.message}: tp_btf/sched_process_exec cannot be attached${detail}` };
  return { code: f.code || 'EIO', reason: `${f.message}${detail}` };
}

export interface BpfStartOptions {
  readonly queue: number;
  /** The kernel BTF that CO-RE relocates against; default /sys/kernel/btf/vmlinux. */
  readonly btfPath?: string;
  readonly ringBytes?: number;
  /** See DEFAULT_BATCH_MS; 0 polls again at once. */
  readonly batchMs?: number;
  readonly addonPath?: string;
  readonly objectPath?: string;
}

/** The eBPF exec source. */
export function startBpfExecEvents(opts: BpfStartOptions, onExec: (r: ExecRecord) => void): StartResult {
  if (process.platform !== 'linux') return { ok: false, code: 'UNSUPPORTED', reason: `eBPF exists only on Linux (this is ${process.platform})` };
  const kernel = kernelVersion(release());
  if (kernel && !atLeast(kernel, 5, 8)) {
    return { ok: false, code: 'KERNEL_TOO_OLD', reason: `kernel ${release()} is older than 5.8, which BPF ring buffers and CAP_BPF need` };
  }
  const btfPath = opts.btfPath || DEFAULT_BTF_PATH;
  if (!existsSync(btfPath)) {
    return { ok: false, code: 'NO_BTF', reason: `${btfPath} does not exist: the kernel was built without BTF (CONFIG_DEBUG_INFO_BTF), which the program is relocated against` };
  }
  const objectPath = opts.objectPath ?? BPF_OBJECT_PATH;
  const loaded = loadAddon<BpfAddon>(opts.addonPath ?? BPF_ADDON_PATH, 'eBPF exec source', 'start');
  if ('error' in loaded) return { ok: false, ...loaded.error };
  if (!existsSync(objectPath)) {
    return { ok: false, code: 'OBJECT_MISSING', reason: `the eBPF program ${objectPath} is missing; run \`npm run build:native\` with clang, llvm and libbpf-dev installed` };
  }
  let malformed = 0;
  const onRecords = (bytes: Buffer, count: number, readMonoMs: number): void => {
    malformed += parseBpfBatch(bytes, count, readMonoMs, onExec);
  };
  try {
    const h = loaded.addon.start({ objectPath, btfPath, ringBytes: opts.ringBytes ?? DEFAULT_RING_BYTES, queue: opts.queue, batchMs: opts.batchMs ?? DEFAULT_BATCH_MS }, onRecords);
    return {
      ok: true,
      source: { kind: 'ebpf', stop: () => h.stop(), stats: () => { const st = h.stats(); return { ...st, errors: st.errors + malformed }; } },
    };
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { detail?: string };
    const f: BpfFailure = { code: String(e.code ?? 'EIO'), syscall: String(e.syscall ?? ''), message: e.message, detail: e.detail ?? '' };
    return { ok: false, ...classifyBpfFailure(f, ownPrivileges(), kernel) };
  }
}

// --- choosing -------------------------------------------------------------------------

export interface ExecSourceOptions {
  /** Try the eBPF source first (processes.ebpf). */
  readonly ebpf: boolean;
  readonly procRoot: string;
  readonly maxCmdline: number;
  readonly queue: number;
  readonly btfPath?: string;
  readonly ringBytes?: number;
  readonly batchMs?: number;
  readonly addonPath?: string;
  readonly bpfAddonPath?: string;
  readonly bpfObjectPath?: string;
}

export interface ExecSourceChoice {
  readonly source: ExecEventSource | null;
  readonly kind: ExecSourceName;
  /** Why each better source did not start, as `CODE: sentence`. */
  readonly reasons: Readonly<Partial<Record<ExecSourceKind, string>>>;
}

/** eBPF, else netlink, else none (the scan): the first that starts, and why the others did not. */
export function startExecSource(opts: ExecSourceOptions, onExec: (r: ExecRecord) => void): ExecSourceChoice {
  const reasons: Partial<Record<ExecSourceKind, string>> = {};
  if (opts.ebpf) {
    const r = startBpfExecEvents({ queue: opts.queue, btfPath: opts.btfPath, ringBytes: opts.ringBytes, batchMs: opts.batchMs, addonPath: opts.bpfAddonPath, objectPath: opts.bpfObjectPath }, onExec);
    if (r.ok) return { source: r.source, kind: 'ebpf', reasons };
    reasons.ebpf = `${r.code}: ${r.reason}`;
  } else {
    reasons.ebpf = 'DISABLED: turned off by configuration (processes.ebpf: false)';
  }
  const n = startExecEvents({ procRoot: opts.procRoot, maxCmdline: opts.maxCmdline, queue: opts.queue, addonPath: opts.addonPath }, onExec);
  if (n.ok) return { source: n.source, kind: 'netlink', reasons };
  reasons.netlink = `${n.code}: ${n.reason}`;
  return { source: null, kind: 'scan', reasons };
}

/** The reasons as one line: `ebpf: CODE: ...; netlink: CODE: ...`. */
export function formatReasons(reasons: ExecSourceChoice['reasons']): string {
  return (['ebpf', 'netlink'] as const).filter((k) => reasons[k]).map((k) => `${k}: ${reasons[k]}`).join('; ');
}
