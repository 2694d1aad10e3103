// Processes as read from a proc root (the host's /proc, or a fixture tree in tests), through
// the same rooted reader as host files. argv comes from /proc/<pid>/cmdline and is redacted
// before it leaves this module (a match predicate sees it first, to pick the processes by
// name: only those are redacted and kept); exe and cwd are link VALUES (host paths), never
// followed here.
import { posix } from 'node:path';
import type { FsError, HostFs } from './host-fs.js';
import { redactArgv } from '../../proto/support/redact.js';

/**
 * How much of /proc/<pid>/cmdline is read. Linux allows far more (each argument up to 128 KiB,
 * all of them up to a quarter of the stack limit): past this bound, argv is cut and marked.
 */
export const MAX_CMDLINE_BYTES = 256 * 1024;

export interface ProcessInfo {
  readonly pid: number;
  /** Redacted argv; with `argvTruncated`, only the arguments that ended within the bound. */
  readonly argv: readonly string[];
  /**
   * The command line is longer than MAX_CMDLINE_BYTES: arguments past the bound are unknown.
   * The process is still recognised by its first arguments, but a flag given again later
   * would override what is seen (the last occurrence wins), so none of its settings can be
   * judged from argv.
   */
  readonly argvTruncated: boolean;
  /** Value of the /proc/<pid>/exe link (a host path), or null when unreadable. */
  readonly exe: string | null;
  /** Value of the /proc/<pid>/cwd link (a host path), or null when unreadable. */
  readonly cwd: string | null;
  readonly errors: readonly FsError[];
}

export interface ProcessScan {
  /** Processes whose argv matched, by ascending pid. */
  readonly matches: readonly ProcessInfo[];
  /** How many pid directories were looked at. */
  readonly scanned: number;
  /** Set when the proc root itself could not be listed. */
  readonly error: FsError | null;
}

/** NUL-separated argv; a trailing NUL (the usual case) adds no empty argument. */
export function parseCmdline(raw: Buffer): string[] {
  if (raw.length === 0) return [];
  const text = raw.toString('utf8');
  const parts = text.split('\0');
  if (parts[parts.length - 1] === '') parts.pop();
  return parts;
}

/** The basename of argv[0], which is how processes are matched (never the whole line). */
export function commandName(argv: readonly string[]): string {
  const first = argv[0];
  return first === undefined ? '' : posix.basename(first);
}

export async function listPids(procFs: HostFs): Promise<{ pids: number[]; error: FsError | null }> {
  const entries = await procFs.readdir('/');
  if (!entries.ok) return { pids: [], error: entries.error };
  const pids = entries.value.filter((n) => /^[1-9][0-9]{0,9}$/.test(n)).map(Number);
  return { pids: pids.sort((a, b) => a - b), error: null };
}

const FIRST_READ_BYTES = 8 * 1024;

export interface Argv {
  readonly argv: string[];
  readonly truncated: boolean;
}

/**
 * The first MAX_CMDLINE_BYTES of a NUL-separated command line as argv: when there is more,
 * the argument cut in two is dropped (its first half could read as another value) and the
 * result is marked truncated.
 */
export function parseCmdlinePrefix(raw: Buffer, maxBytes = MAX_CMDLINE_BYTES): Argv {
  if (raw.length <= maxBytes) return { argv: parseCmdline(raw), truncated: false };
  const lastNul = raw.lastIndexOf(0, maxBytes - 1);
  return { argv: lastNul < 0 ? [] : parseCmdline(raw.subarray(0, lastNul + 1)), truncated: true };
}

/**
 * argv from /proc/<pid>/cmdline, read up to the bound (one byte more tells a cut), NOT yet
 * redacted: it stays in this module.
 */
async function readRawArgv(procFs: HostFs, pid: number): Promise<Argv | FsError> {
  const opened = await procFs.openFile(`/${pid}/cmdline`);
  if (!opened.ok) return opened.error;
  try {
    // Most command lines fit the first read; only a long one costs a buffer of the bound.
    const head = await opened.value.read(0, FIRST_READ_BYTES);
    if (!head.ok) return head.error;
    let raw = head.value;
    if (raw.length === FIRST_READ_BYTES) {
      const rest = await opened.value.read(FIRST_READ_BYTES, MAX_CMDLINE_BYTES + 1 - FIRST_READ_BYTES);
      if (!rest.ok) return rest.error;
      raw = Buffer.concat([raw, rest.value]);
    }
    return parseCmdlinePrefix(raw);
  } finally {
    await opened.value.close();
  }
}

/**
 * Why settings read from a truncated command line cannot be judged; `who` names the process
 * (`the kubelet`, `kube-apiserver`).
 */
export function truncatedArgvReason(who: string, pid: number | null): string {
  const at = pid === null ? '' : ` (pid ${pid}, /proc/${pid}/cmdline)`;
  return `the command line of ${who}${at} is longer than the ${MAX_CMDLINE_BYTES} bytes the agent reads: ` +
    'a flag past that point would override what can be seen (the last occurrence wins), so its flags cannot be judged';
}

/** Reads exe and cwd links for a process already known by its argv. */
export async function describeProcess(procFs: HostFs, pid: number, argv: readonly string[], argvTruncated = false): Promise<ProcessInfo> {
  const errors: FsError[] = [];
  const link = async (name: 'exe' | 'cwd'): Promise<string | null> => {
    const r = await procFs.readlink(`/${pid}/${name}`);
    if (r.ok) return r.value;
    errors.push(r.error);
    return null;
  };
  const exe = await link('exe');
  const cwd = await link('cwd');
  return { pid, argv, argvTruncated, exe, cwd, errors };
}

/**
 * Finds the processes whose argv satisfies `match` (which must judge names, never keep argv).
 * Processes that vanish or cannot be read while scanning are passed over: they cannot be
 * judged, and the scan is not a failure. A command line over the bound is matched on the part
 * that was read, and marked. Only the matches are redacted: the redactor's cost is paid for
 * the few processes judged, not for every long command line on the node.
 */
export async function findProcesses(procFs: HostFs, match: (argv: readonly string[]) => boolean): Promise<ProcessScan> {
  const { pids, error } = await listPids(procFs);
  if (error !== null) return { matches: [], scanned: 0, error };
  const matches: ProcessInfo[] = [];
  for (const pid of pids) {
    const read = await readRawArgv(procFs, pid);
    if ('argv' in read && match(read.argv)) matches.push(await describeProcess(procFs, pid, redactArgv(read.argv), read.truncated));
  }
  return { matches, scanned: pids.length, error: null };
}
