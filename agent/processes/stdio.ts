// What a live process's stdin, stdout and stderr are, read from its proc root: the netlink
// and /proc-scan sources' answer to the question the eBPF source answers in the kernel at the
// exec (same StdioFact type). A shell whose stdout is a TCP connection is a reverse shell;
// one whose stdout is a unix socket is a systemd service (journald holds every service's
// stdout), so for a socket the family matters, and /proc says it only through the socket
// tables: the inode from `<procRoot>/<pid>/fd/N` ("socket:[INODE]") is looked up in the
// socket tables (`<procRoot>/<pid>/net/unix`, tcp, tcp6, udp, udp6, raw, raw6, then netlink
// and packet as other) of the process's network namespace and of the host's (pid 1's: a
// socket made before `unshare -n` stays in the namespace it was made in).
//
// Bounded and total: each table is read up to MAX_TABLE_BYTES (a cut is counted and the
// complete lines before it are used), each line is checked and a line that is not a table row
// is counted and skipped; nothing here throws. Only paths `<procRoot>/<decimal pid>/...` with
// fixed names are touched; the fd links are read with readlink, and a link to a path is
// stat'ed (its type only, never opened) to tell a tty or /dev/null from a file or a FIFO.
import { lstatSync, readlinkSync, statSync } from 'node:fs';
import { readBoundedText } from '../facts/bounded-read.js';
import { join, resolve } from 'node:path';

export type StdioKind = 'none' | 'socket' | 'pipe' | 'file' | 'chardev' | 'other' | 'unknown';
export type SocketFamily = 'unix' | 'inet' | 'inet6' | 'other';

/**
 * One of fds 0, 1, 2. 'none': not open; 'socket' (with its family when known); 'pipe': a pipe
 * or a FIFO; 'file': a regular file; 'chardev': a character device (a tty, /dev/null);
 * 'other': anything else (a directory, an eventfd; from the kernel, also a descriptor its table
 * could not be read for); 'unknown': /proc could not tell (the eBPF reader never says so).
 */
export interface StdioFact {
  readonly kind: StdioKind;
  /** Sockets only. */
  readonly family?: SocketFamily;
}

/** stdin, stdout, stderr. */
export type StdioFacts = readonly [StdioFact, StdioFact, StdioFact];

export const MAX_TABLE_BYTES = 4 * 1024 * 1024;

/** A socket table under /proc/<pid>/net: which column holds the inode, and the family it means. */
export interface NetTable {
  readonly file: string;
  readonly family: SocketFamily;
  /** Zero-based column of the inode, counting whitespace-separated fields. */
  readonly inodeColumn: number;
  /** The first field of a row: `N:` for the inet tables, `HEX:` for unix, a hex address for netlink/packet. */
  readonly firstField: RegExp;
}

const INET_ROW = /^\d+:$/;
export const NET_TABLES: readonly NetTable[] = [
  { file: 'unix', family: 'unix', inodeColumn: 6, firstField: /^[0-9a-fA-F]+:$/ },
  { file: 'tcp', family: 'inet', inodeColumn: 9, firstField: INET_ROW },
  { file: 'tcp6', family: 'inet6', inodeColumn: 9, firstField: INET_ROW },
  { file: 'udp', family: 'inet', inodeColumn: 9, firstField: INET_ROW },
  { file: 'udp6', family: 'inet6', inodeColumn: 9, firstField: INET_ROW },
  { file: 'raw', family: 'inet', inodeColumn: 9, firstField: INET_ROW },
  { file: 'raw6', family: 'inet6', inodeColumn: 9, firstField: INET_ROW },
  { file: 'udplite', family: 'inet', inodeColumn: 9, firstField: INET_ROW },
  { file: 'udplite6', family: 'inet6', inodeColumn: 9, firstField: INET_ROW },
  { file: 'netlink', family: 'other', inodeColumn: 9, firstField: /^[0-9a-fA-F]+$/ },
  { file: 'packet', family: 'other', inodeColumn: 8, firstField: /^[0-9a-fA-F]+$/ },
];

export interface NetTableParse {
  /** The socket inodes of the table's rows. */
  readonly inodes: readonly number[];
  /** Rows read. */
  readonly rows: number;
  /** Lines that were neither the header nor a row (counted, skipped). */
  readonly refused: number;
}

const DECIMAL = /^\d{1,19}$/;

/**
 * One /proc/net socket table (its text, possibly cut at a line boundary): the inodes of its
 * rows. The first line is the header; an empty last line is the file's end. Never throws.
 */
export function parseNetTable(text: string, table: NetTable): NetTableParse {
  const inodes: number[] = [];
  let rows = 0;
  let refused = 0;
  const lines = String(text).split('\n');
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line.trim() === '') {
      if (i < lines.length - 1) refused++;
      continue;
    }
    const fields = line.trim().split(/\s+/);
    const inode = fields[table.inodeColumn];
    if (!table.firstField.test(fields[0] as string) || inode === undefined || !DECIMAL.test(inode)) {
      refused++;
      continue;
    }
    const n = Number(inode);
    if (!Number.isSafeInteger(n)) {
      refused++;
      continue;
    }
    rows++;
    inodes.push(n);
  }
  return { inodes, rows, refused };
}

/** What one fd link says: `socket:[123]` -> the socket inode; `pipe:[..]`; a path; anything else. */
export function classifyLink(link: string): { kind: 'socket'; inode: number } | { kind: 'pipe' } | { kind: 'path' } | { kind: 'other' } {
  const s = String(link);
  const m = /^socket:\[(\d{1,19})\]$/.exec(s);
  if (m) {
    const inode = Number(m[1]);
    return Number.isSafeInteger(inode) ? { kind: 'socket', inode } : { kind: 'other' };
  }
  if (/^pipe:\[\d+\]$/.test(s)) return { kind: 'pipe' };
  if (s.startsWith('/')) return { kind: 'path' };
  return { kind: 'other' };
}

export interface StdioStats {
  /** Processes read. */
  readonly reads: number;
  /** Socket tables read, and those cut at MAX_TABLE_BYTES. */
  readonly tablesRead: number;
  readonly tablesCut: number;
  /** Table lines that were not rows. */
  readonly linesRefused: number;
  /** Sockets whose inode no table held (their family stays unknown). */
  readonly familiesUnknown: number;
  /** Processes whose fds could not be read (gone, or access refused). */
  readonly unreadable: number;
}

export interface StdioReader {
  /** fds 0, 1, 2 of a live process; `unknown` where it could not be told. Never throws. */
  read(pid: number): StdioFacts;
  stats(): StdioStats;
}

const UNKNOWN: StdioFact = { kind: 'unknown' };
const UNKNOWN3: StdioFacts = [UNKNOWN, UNKNOWN, UNKNOWN];

export function createStdioReader(procRoot: string, opts: { maxTableBytes?: number; hostPid?: number } = {}): StdioReader {
  const root = resolve(procRoot);
  const maxTable = opts.maxTableBytes ?? MAX_TABLE_BYTES;
  const hostPid = opts.hostPid ?? 1;
  let reads = 0;
  let tablesRead = 0;
  let tablesCut = 0;
  let linesRefused = 0;
  let familiesUnknown = 0;
  let unreadable = 0;

  /** The table's text up to the last full line within the bound (agent/facts/bounded-read.ts); null when it cannot be read. */
  function readTable(path: string): string | null {
    const r = readBoundedText(path, maxTable);
    if ('error' in r) return null;
    tablesRead++;
    if (r.cut) tablesCut++;
    return r.text;
  }

  const pidDir = (pid: number): string => join(root, String(pid));

  function netNs(pid: number): string | null {
    try {
      return readlinkSync(join(pidDir(pid), 'ns', 'net'));
    } catch {
      return null;
    }
  }

  /** Families of the wanted socket inodes, from the tables of one pid's network namespace. */
  /**
   * Families of the wanted socket inodes. Table by table, each in the process's network
   * namespace and then the host's: the unix table first and in both namespaces before any inet
   * table, because reading /proc/net/tcp walks the kernel's whole TCP hash (5 ms here for 34
   * sockets) while most sockets on a shell's stdio are unix (journald's, also for a service in
   * a private network namespace, whose journald socket is the host's).
   */
  function lookUp(pids: readonly number[], wanted: Set<number>, found: Map<number, SocketFamily>): void {
    for (const table of NET_TABLES) {
      for (const pid of pids) {
        if (wanted.size === found.size) return;
        const text = readTable(join(pidDir(pid), 'net', table.file));
        if (text === null) continue;
        const parsed = parseNetTable(text, table);
        linesRefused += parsed.refused;
        for (const inode of parsed.inodes) if (wanted.has(inode) && !found.has(inode)) found.set(inode, table.family);
      }
    }
  }

  function pathKind(path: string): StdioKind {
    try {
      const st = statSync(path);
      if (st.isFIFO()) return 'pipe';
      if (st.isCharacterDevice()) return 'chardev';
      if (st.isSocket()) return 'socket';
      if (st.isFile() || st.isDirectory() || st.isBlockDevice()) return 'file';
      return 'other';
    } catch {
      return 'unknown';
    }
  }

  function read(pid: number): StdioFacts {
    reads++;
    if (!Number.isSafeInteger(pid) || pid <= 0) {
      unreadable++;
      return UNKNOWN3;
    }
    const fdDir = join(pidDir(pid), 'fd');
    // The pid entry and its fd directory must be directories, not links out of the root (only a crafted tree has those).
    if (!isDirectory(pidDir(pid)) || !isDirectory(fdDir)) {
      unreadable++;
      return UNKNOWN3;
    }
    const facts: StdioFact[] = [];
    const sockets: Array<{ fd: number; inode: number }> = [];
    let missing = 0;
    for (let fd = 0; fd < 3; fd++) {
      const linkPath = join(fdDir, String(fd));
      let link: string;
      try {
        link = readlinkSync(linkPath);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        // ENOENT with the fd directory readable: the fd is closed.
        if (code === 'ENOENT' && isDirectory(fdDir)) facts.push({ kind: 'none' });
        else {
          facts.push(UNKNOWN);
          missing++;
        }
        continue;
      }
      const c = classifyLink(link);
      if (c.kind === 'socket') {
        sockets.push({ fd, inode: c.inode });
        facts.push({ kind: 'socket' });
      } else if (c.kind === 'pipe') facts.push({ kind: 'pipe' });
      else if (c.kind === 'path') facts.push({ kind: pathKind(linkPath) });
      else facts.push({ kind: 'other' });
    }
    if (missing === 3) unreadable++;
    if (sockets.length > 0) {
      const wanted = new Set(sockets.map((s) => s.inode));
      const found = new Map<number, SocketFamily>();
      const own = hostPid === pid ? null : netNs(pid);
      const sameAsHost = hostPid === pid || (own !== null && own === netNs(hostPid));
      lookUp(sameAsHost ? [pid] : [pid, hostPid], wanted, found);
      for (const s of sockets) {
        const family = found.get(s.inode);
        if (family === undefined) familiesUnknown++;
        else facts[s.fd] = { kind: 'socket', family };
      }
    }
    return [facts[0] ?? UNKNOWN, facts[1] ?? UNKNOWN, facts[2] ?? UNKNOWN];
  }

  function isDirectory(dir: string): boolean {
    try {
      return lstatSync(dir).isDirectory();
    } catch {
      return false;
    }
  }

  return {
    read(pid: number): StdioFacts {
      try {
        return read(pid);
      } catch {
        unreadable++;
        return UNKNOWN3;
      }
    },
    stats: () => ({ reads, tablesRead, tablesCut, linesRefused, familiesUnknown, unreadable }),
  };
}
