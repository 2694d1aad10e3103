// Processes as read from a proc root (the host's /proc, or a fixture tree in tests), through
// the same rooted reader as host files. argv comes from /proc/<pid>/cmdline and is redacted
// before it leaves this module; exe and cwd are link VALUES (host paths), never followed here.
import { posix } from 'node:path';
import type { FsError, HostFs } from './host-fs.js';
import { redactArgv } from '../../proto/support/redact.js';

export const MAX_CMDLINE_BYTES = 256 * 1024;

export interface ProcessInfo {
  readonly pid: number;
  /** Redacted argv. */
  readonly argv: readonly string[];
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

export async function readArgv(procFs: HostFs, pid: number): Promise<string[] | FsError> {
  const raw = await procFs.readFile(`/${pid}/cmdline`, { maxBytes: MAX_CMDLINE_BYTES });
  return raw.ok ? redactArgv(parseCmdline(raw.value)) : raw.error;
}

/** Reads exe and cwd links for a process already known by its argv. */
export async function describeProcess(procFs: HostFs, pid: number, argv: readonly string[]): Promise<ProcessInfo> {
  const errors: FsError[] = [];
  const link = async (name: 'exe' | 'cwd'): Promise<string | null> => {
    const r = await procFs.readlink(`/${pid}/${name}`);
    if (r.ok) return r.value;
    errors.push(r.error);
    return null;
  };
  const exe = await link('exe');
  const cwd = await link('cwd');
  return { pid, argv, exe, cwd, errors };
}

/**
 * Finds the processes whose argv satisfies `match`. Processes that vanish or cannot be read
 * while scanning are passed over: they cannot be judged, and the scan is not a failure.
 */
export async function findProcesses(procFs: HostFs, match: (argv: readonly string[]) => boolean): Promise<ProcessScan> {
  const { pids, error } = await listPids(procFs);
  if (error !== null) return { matches: [], scanned: 0, error };
  const matches: ProcessInfo[] = [];
  for (const pid of pids) {
    const argv = await readArgv(procFs, pid);
    if (Array.isArray(argv) && match(argv)) matches.push(await describeProcess(procFs, pid, argv));
  }
  return { matches, scanned: pids.length, error: null };
}
