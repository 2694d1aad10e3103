// Processes as read from a proc root (the host's /proc, or a fixture tree in tests). argv
// comes from /proc/<pid>/cmdline and is redacted before it leaves this module (match
// predicates see it first, to pick the processes by name: only those are redacted and kept);
// exe and cwd are link VALUES (host paths), never followed here.
//
// A scan walks the process table once (scanProcessTable), whatever number of collectors want
// processes from it: each names its predicate, and gets its matches. Command lines are read
// with synchronous, bounded reads of `<procRoot>/<pid>/cmdline` (a decimal pid and a fixed
// name; the pid entry listed as a directory, not a link, the file opened with O_NOFOLLOW, so
// no link leads out of the proc root): on a node with a thousand processes, a thread-pool
// round trip per file (the promise-based host-fs reader) cost most of a scan. The walk yields
// to the event loop between slices of pids. Links of the matches (exe, cwd) go through the
// rooted reader.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { readBounded } from './bounded-read.js';
import type { FsError, HostFs } from './host-fs.js';
import { redactArgv } from '../../proto/support/redact.js';
import { commandName, MAX_CMDLINE_BYTES, truncatedArgvReason } from './cli-flags.js';

// Interpretations of a command line, in cli-flags.ts; re-exported for the readers' users.
export { commandName, MAX_CMDLINE_BYTES, truncatedArgvReason };

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
 * argv from `<procRoot>/<pid>/cmdline`, read up to the bound (one byte more tells a cut), NOT
 * yet redacted: it stays in this module. null when the process cannot be read (it exited, or
 * access was refused): it is passed over. The pid's entry is known to be a directory. `head` is a
 * scratch buffer of FIRST_READ_BYTES shared by the walk; most command lines fit it, and only
 * a long one costs a bigger buffer (agent/facts/bounded-read.ts).
 */
function readRawArgvSync(procRoot: string, pid: number, head: Buffer): Argv | null {
  const r = readBounded(join(procRoot, String(pid), 'cmdline'), MAX_CMDLINE_BYTES + 1, { scratch: head, view: true });
  return 'error' in r ? null : parseCmdlinePrefix(r.data);
}

/**
 * The pids of the proc root whose entries are directories (a link in a crafted tree is passed
 * over, never followed), listed with their types in one call. When the root cannot be listed,
 * the rooted reader says why, as an error value.
 */
async function listPidDirs(procFs: HostFs): Promise<{ pids: number[]; error: FsError | null }> {
  let entries;
  try {
    entries = readdirSync(procFs.root, { withFileTypes: true });
  } catch {
    const listed = await listPids(procFs);
    return listed.error !== null ? listed : { pids: [], error: { code: 'EIO', path: '/', message: `cannot list ${procFs.root}` } };
  }
  const pids = entries.filter((e) => e.isDirectory() && /^[1-9][0-9]{0,9}$/.test(e.name)).map((e) => Number(e.name));
  return { pids: pids.sort((a, b) => a - b), error: null };
}

/** Pids read between two turns of the event loop. */
const SLICE_PIDS = 256;

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

/** Predicates over raw argv, by name: each must judge names, never keep argv. */
export type ProcessMatchers<K extends string> = { readonly [N in K]: (argv: readonly string[]) => boolean };

/**
 * One walk of the process table: for each named predicate, the processes whose argv satisfies
 * it. Processes that vanish or cannot be read while scanning are passed over: they cannot be
 * judged, and the scan is not a failure. A command line over the bound is matched on the part
 * that was read, and marked. Only the matches are redacted and described: the redactor's cost
 * and the link reads are paid for the few processes judged, not for every process on the node.
 */
export async function scanProcessTable<K extends string>(procFs: HostFs, matchers: ProcessMatchers<K>): Promise<{ readonly [N in K]: ProcessScan }> {
  const names = Object.keys(matchers) as K[];
  const scans = (scan: (name: K) => ProcessScan): { [N in K]: ProcessScan } =>
    Object.fromEntries(names.map((n) => [n, scan(n)])) as { [N in K]: ProcessScan };
  const { pids, error } = await listPidDirs(procFs);
  if (error !== null) return scans(() => ({ matches: [], scanned: 0, error }));
  const found = new Map<K, Array<{ pid: number; argv: Argv }>>(names.map((n) => [n, []]));
  const head = Buffer.alloc(FIRST_READ_BYTES);
  for (let i = 0; i < pids.length; i++) {
    if (i > 0 && i % SLICE_PIDS === 0) await new Promise((resolve) => setImmediate(resolve));
    const pid = pids[i] as number;
    const read = readRawArgvSync(procFs.root, pid, head);
    if (read === null) continue;
    for (const n of names) if (matchers[n](read.argv)) found.get(n)?.push({ pid, argv: read });
  }
  const described = new Map<number, Promise<ProcessInfo>>();
  const describe = (m: { pid: number; argv: Argv }): Promise<ProcessInfo> => {
    const known = described.get(m.pid);
    if (known) return known;
    const p = describeProcess(procFs, m.pid, redactArgv(m.argv.argv), m.argv.truncated);
    described.set(m.pid, p);
    return p;
  };
  const matches = new Map<K, ProcessInfo[]>();
  for (const n of names) {
    const out: ProcessInfo[] = [];
    for (const m of found.get(n) ?? []) out.push(await describe(m));
    matches.set(n, out);
  }
  return scans((n) => ({ matches: matches.get(n) ?? [], scanned: pids.length, error: null }));
}

/** The processes whose argv satisfies `match`: a walk of the table with one predicate (scanProcessTable). */
export async function findProcesses(procFs: HostFs, match: (argv: readonly string[]) => boolean): Promise<ProcessScan> {
  return (await scanProcessTable(procFs, { match })).match;
}
