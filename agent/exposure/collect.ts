// The node's exposure as facts: every listening socket of the host's network namespace, the
// process that holds it and that process's workload, each bound address classified, and the
// node's own addresses. The tables are those of `<procRoot>/<namespacePid>/net/` (pid 1: the
// host's namespace, which host-network pods share; `/proc/net` itself would be the agent's
// own namespace). The process table is read through the monitor's reader for the owning pids
// only, and a process is placed by the same attribution as the process monitor's findings.
//
// NodePort and hostPort traffic is forwarded by DNAT rules and opens no socket: it is not
// here. What is here is what is bound, never what is reachable.
import { closeSync, constants, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { SOCKET_TABLES, parseFibTrieLocal, parseIfInet6, parseSocketTable, type ListeningSocket, type SocketTableName } from '../facts/sockets.js';
import { classify, classifyBound, isWildcard, type AddressClass, type AddressClasses } from './address-class.js';
import { DEFAULT_OWNER_LIMITS, findSocketOwners, type OwnerWalkLimits } from './socket-owners.js';

/** The process that holds a socket, and where it runs. */
export interface ListenerOwner {
  readonly pid: number;
  /** The executable (host path, or the path inside the container); empty when unreadable. */
  readonly exe: string;
  readonly comm: string;
  /** The baseline key of its workload (`host/worker`, `<ns>/<Kind>/<name>/<container>`, `container:<id>`). */
  readonly key: string;
  readonly namespace: string;
  readonly pod: string;
  readonly container: string;
  /** The workload as `Kind/name`; empty for host processes. */
  readonly workload: string;
}

export interface Listener {
  readonly protocol: 'tcp' | 'udp';
  readonly family: 'inet' | 'inet6';
  readonly address: string;
  readonly port: number;
  /** The bound address's class; for a wildcard, the most exposed class of the node's addresses. */
  readonly class: AddressClass;
  /** Bound to every address of the namespace (`0.0.0.0`, `::`). */
  readonly wildcard: boolean;
  readonly inode: number;
  readonly uid: number;
  /** null when no process was found holding it (see ExposureFacts.walk for why that may be). */
  readonly owner: ListenerOwner | null;
}

export interface NodeAddress {
  readonly address: string;
  readonly class: AddressClass;
  /** `interface`: configured on the namespace; `node`: the Node object's ExternalIP (from the collector). */
  readonly source: 'interface' | 'node';
}

export interface TableRead {
  readonly table: SocketTableName;
  readonly rows: number;
  readonly refused: number;
  readonly firstRefusal: string;
  /** Listening rows past the parser's bound, plus a table cut at maxTableBytes (then `cut`). */
  readonly dropped: number;
  readonly cut: boolean;
  /** Why the table could not be read; empty when it was. */
  readonly error: string;
}

export interface ExposureFacts {
  readonly namespacePid: number;
  readonly listeners: readonly Listener[];
  readonly nodeAddresses: readonly NodeAddress[];
  readonly tables: readonly TableRead[];
  readonly walk: {
    readonly pidsWalked: number;
    readonly unreadable: number;
    readonly pidLimitHit: boolean;
    readonly fdLimitHits: number;
    readonly timeLimitHit: boolean;
    readonly elapsedMs: number;
  };
  /** Listeners no process was found for. */
  readonly unowned: number;
  /** Listeners past maxListeners, left out. */
  readonly dropped: number;
}

/** What the collector needs of a process: the monitor's proc reader fits. */
export interface ProcessLookup {
  listPids(): number[];
  read(pid: number): { readonly exe: string | null; readonly comm: string; readonly cgroup: string } | null;
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
  readonly maxListeners?: number;
  readonly maxTableBytes?: number;
  readonly clock?: () => number;
}

export const DEFAULT_MAX_LISTENERS = 4096;
export const DEFAULT_MAX_TABLE_BYTES = 32 * 1024 * 1024;

/** Reads a proc file up to `max` bytes (cut at the last full line); never follows a link. */
export function readProcText(path: string, max: number): { text: string; cut: boolean } | { error: string } {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    return { error: (err as NodeJS.ErrnoException).code ?? 'EIO' };
  }
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    let cut = false;
    for (;;) {
      const buf = Buffer.allocUnsafe(Math.min(256 * 1024, max + 1 - total));
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      chunks.push(buf.subarray(0, n));
      total += n;
      if (total > max) {
        cut = true;
        break;
      }
    }
    let data = Buffer.concat(chunks, Math.min(total, max));
    if (cut) data = data.subarray(0, data.lastIndexOf(0x0a) + 1);
    return { text: data.toString('latin1'), cut };
  } catch (err) {
    return { error: (err as NodeJS.ErrnoException).code ?? 'EIO' };
  } finally {
    closeSync(fd);
  }
}

function sortListeners(a: Listener, b: Listener): number {
  return a.port - b.port || a.protocol.localeCompare(b.protocol) || a.address.localeCompare(b.address) || a.inode - b.inode;
}

export async function collectExposure(opts: ExposureOptions): Promise<ExposureFacts> {
  const nsPid = opts.namespacePid ?? 1;
  const netDir = join(opts.procRoot, String(nsPid), 'net');
  const maxBytes = opts.maxTableBytes ?? DEFAULT_MAX_TABLE_BYTES;
  const maxListeners = opts.maxListeners ?? DEFAULT_MAX_LISTENERS;

  const tables: TableRead[] = [];
  const sockets: ListeningSocket[] = [];
  for (const table of SOCKET_TABLES) {
    const read = readProcText(join(netDir, table), maxBytes);
    if ('error' in read) {
      tables.push({ table, rows: 0, refused: 0, firstRefusal: '', dropped: 0, cut: false, error: read.error });
      continue;
    }
    const p = parseSocketTable(read.text, table);
    sockets.push(...p.sockets);
    tables.push({ table, rows: p.rows, refused: p.refused, firstRefusal: p.firstRefusal, dropped: p.dropped, cut: read.cut, error: '' });
  }

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

  const kept = sockets.slice(0, maxListeners);
  const dropped = sockets.length - kept.length;
  const walk = findSocketOwners(opts.procRoot, opts.processes.listPids(), new Set(kept.map((s) => s.inode)), opts.walkLimits ?? DEFAULT_OWNER_LIMITS, opts.clock);
  const byPid = new Map<number, Promise<ListenerOwner | null>>();
  const ownerOf = (pid: number): Promise<ListenerOwner | null> => {
    let p = byPid.get(pid);
    if (!p) {
      p = (async () => {
        const r = opts.processes.read(pid);
        if (r === null) return null;
        return { pid, exe: r.exe ?? '', comm: r.comm, ...(await opts.place(pid, r.cgroup)) };
      })();
      byPid.set(pid, p);
    }
    return p;
  };

  const listeners: Listener[] = [];
  let unowned = 0;
  for (const s of kept) {
    const pid = walk.owners.get(s.inode);
    const owner = pid === undefined ? null : await ownerOf(pid);
    if (owner === null) unowned++;
    const cls = classifyBound(s.address, nodeAddresses, opts.classes) ?? 'public';
    listeners.push({ ...s, class: cls, wildcard: isWildcard(s.address), owner });
  }
  listeners.sort(sortListeners);
  const { owners: _owners, ...walkStats } = walk;
  return { namespacePid: nsPid, listeners, nodeAddresses, tables, walk: walkStats, unowned, dropped };
}
