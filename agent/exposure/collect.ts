// The node's exposure as facts: every listening socket of the host's network namespace, the
// process that holds it and that process's workload, each bound address classified, and the
// node's own addresses. The tables are those of `<procRoot>/<namespacePid>/net/` (pid 1: the
// host's namespace, which host-network pods share; `/proc/net` itself would be the agent's
// own namespace). The walk that finds a socket's process reads what it shows (executable and
// cgroup) in the same pass, and owners are placed by the same attribution as the process
// monitor's findings.
//
// The work overlaps where it can: the descriptor walk's first batches go out (to the thread
// pool, with the native reader) before the tables are parsed, and each owner is read as the
// walk finds it, while the next batches are read.
//
// NodePort and hostPort traffic is forwarded by DNAT rules and opens no socket: it is not
// here. What is here is what is bound, never what is reachable.
import { join } from 'node:path';
import { readBoundedText } from '../facts/bounded-read.js';
import { SOCKET_TABLES, parseFibTrieLocal, parseIfInet6, parseSocketTable, type ListeningSocket, type SocketTableName } from '../facts/sockets.js';
import { classify, classifyBound, isWildcard, type AddressClass, type AddressClasses } from './address-class.js';
import type { ExposureFacts, Listener, ListenerOwner, NodeAddress, TableRead } from '../facts/exposure-types.js';

export type { ExposureFacts, Listener, ListenerOwner, NodeAddress, TableRead } from '../facts/exposure-types.js';
import { cleanExe } from '../processes/proc-reader.js';
import { DEFAULT_OWNER_LIMITS, fdSocketReader, findSocketOwners, listPidDirs, type FdSocketReader, type OwnerWalkLimits, type SocketHolder } from './socket-owners.js';

/** What the collector needs of a process the walk could not read the executable of: its name (the monitor's proc reader fits). */
export interface ProcessLookup {
  readStat(pid: number): { readonly comm: string } | null;
}

/** Places a process: its workload, from its cgroup (agent/exposure/owner.ts wraps the monitor's attribution). */
export type PlaceProcess = (pid: number, cgroup: string) => Promise<Omit<ListenerOwner, 'pid' | 'exe' | 'comm'>>;

export interface ExposureOptions {
  readonly procRoot: string;
  /** Whose network namespace is read (default 1: the host's). */
  readonly namespacePid?: number;
  readonly classes: AddressClasses;
  /** Addresses the node has that are not on its interfaces (the Node object's ExternalIP). */
  readonly externalAddresses?: readonly string[];
  readonly processes: ProcessLookup;
  readonly place: PlaceProcess;
  readonly walkLimits?: OwnerWalkLimits;
  /** Reads one process's descriptors (tests); default the native reader when the addon is built. */
  readonly fdReader?: { readonly read: FdSocketReader; readonly native: boolean };
  readonly maxListeners?: number;
  readonly maxTableBytes?: number;
  readonly clock?: () => number;
}

export const DEFAULT_MAX_LISTENERS = 4096;
export const DEFAULT_MAX_TABLE_BYTES = 32 * 1024 * 1024;

/** One scratch buffer for every read (agent/facts/bounded-read.ts grows past it only for a bigger file). */
const SCRATCH = Buffer.allocUnsafe(64 * 1024);

const readProcText = (path: string, max: number) => readBoundedText(path, max, SCRATCH);

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function sortListeners(a: Listener, b: Listener): number {
  return a.port - b.port || cmp(a.protocol, b.protocol) || cmp(a.address, b.address) || a.inode - b.inode;
}

export async function collectExposure(opts: ExposureOptions): Promise<ExposureFacts> {
  const nsPid = opts.namespacePid ?? 1;
  const netDir = join(opts.procRoot, String(nsPid), 'net');
  const maxBytes = opts.maxTableBytes ?? DEFAULT_MAX_TABLE_BYTES;
  const maxListeners = opts.maxListeners ?? DEFAULT_MAX_LISTENERS;

  // The tables are read first and parsed while the descriptor walk's first batches are read
  // (on the thread pool with the native reader); owners are read as the walk finds them.
  const texts: { table: SocketTableName; read: ReturnType<typeof readProcText> }[] = SOCKET_TABLES.map((table) => ({ table, read: readProcText(join(netDir, table), maxBytes) }));
  const reader = opts.fdReader ?? fdSocketReader();
  const owners = new Map<number, Promise<ListenerOwner | null>>();
  const ownerOf = async (pid: number, holder: SocketHolder | null): Promise<ListenerOwner | null> => {
    // Only what a listener shows, as the walk read it: the executable (the name from stat when
    // it cannot be read) and the cgroup that places it.
    const exe = holder?.exe == null ? '' : cleanExe(holder.exe).exe;
    const comm = exe === '' ? opts.processes.readStat(pid)?.comm ?? '' : '';
    const cgroup = holder?.cgroup ?? null;
    if (exe === '' && comm === '' && cgroup === null) return null;
    const at = await opts.place(pid, cgroup ?? '');
    return { pid, exe, comm, key: at.key, namespace: at.namespace, pod: at.pod, container: at.container, workload: at.workload };
  };
  let wanted: ReadonlySet<number> = new Set();
  const walking = findSocketOwners(opts.procRoot, listPidDirs(opts.procRoot), () => wanted, {
    limits: opts.walkLimits ?? DEFAULT_OWNER_LIMITS, clock: opts.clock, read: reader.read,
    // Each owning process is read and placed once, however many sockets it holds.
    // One that cannot be placed is left unowned (counted) rather than failing the collection.
    onOwner: (pid, holder) => owners.set(pid, ownerOf(pid, holder).catch(() => null)),
  });

  const tables: TableRead[] = [];
  const sockets: ListeningSocket[] = [];
  for (const { table, read } of texts) {
    if ('error' in read) {
      tables.push({ table, rows: 0, refused: 0, firstRefusal: '', dropped: 0, cut: false, error: read.error });
      continue;
    }
    const p = parseSocketTable(read.text, table);
    for (const socket of p.sockets) sockets.push(socket);
    tables.push({ table, rows: p.rows, refused: p.refused, firstRefusal: p.firstRefusal, dropped: p.dropped, cut: read.cut, error: '' });
  }
  const kept = sockets.slice(0, maxListeners);
  const dropped = sockets.length - kept.length;
  wanted = new Set(kept.map((s) => s.inode));

  const own: string[] = [];
  for (const [file, parse] of [['fib_trie', parseFibTrieLocal], ['if_inet6', parseIfInet6]] as const) {
    const read = readProcText(join(netDir, file), 4 * 1024 * 1024);
    if (!('error' in read)) own.push(...parse(read.text));
  }
  const nodeAddresses: NodeAddress[] = [];
  const seen = new Set<string>();
  for (const [list, source] of [[own, 'interface'], [opts.externalAddresses ?? [], 'node']] as const) {
    for (const address of list) {
      const cls = classify(address, opts.classes);
      if (cls === null || seen.has(address)) continue;
      seen.add(address);
      nodeAddresses.push({ address, class: cls, source });
    }
  }

  const walk = await walking;
  const ownerByPid = new Map<number, ListenerOwner | null>();
  for (const [pid, owner] of owners) ownerByPid.set(pid, await owner);

  const listeners: Listener[] = [];
  let unowned = 0;
  // Many sockets share an address (every address, loopback, the node's own): each is classified once.
  const classOf = new Map<string, AddressClass>();
  for (const s of kept) {
    const pid = walk.owners.get(s.inode);
    const owner = pid === undefined ? null : ownerByPid.get(pid) ?? null;
    if (owner === null) unowned++;
    let cls = classOf.get(s.address);
    if (cls === undefined) {
      cls = classifyBound(s.address, nodeAddresses, opts.classes) ?? 'public';
      classOf.set(s.address, cls);
    }
    // Spelled out: a spread of the socket here cost V8 a slow clone per listener (15 ms at 5,000).
    listeners.push({
      protocol: s.protocol, family: s.family, address: s.address, port: s.port, inode: s.inode, uid: s.uid,
      class: cls, wildcard: isWildcard(s.address), owner,
    });
  }
  listeners.sort(sortListeners);
  const { owners: _owners, ...walkStats } = walk;
  return { namespacePid: nsPid, listeners, nodeAddresses, tables, walk: { ...walkStats, nativeReader: reader.native }, unowned, dropped };
}
