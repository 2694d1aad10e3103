// The listening sockets of one network namespace, from its /proc/net/{tcp,tcp6,udp,udp6}
// tables, and the namespace's own addresses from /proc/net/fib_trie (IPv4) and if_inet6
// (IPv6). Pure: text in, rows out. A listening TCP socket is state 0A (LISTEN); a UDP socket
// that receives from anyone is state 07 (CLOSE) with no remote address. Everything else
// (established connections, connected UDP) is left out, not refused; a row in another state
// is passed over once its slot and state read right, without reading its addresses.
//
// The kernel prints an address as the hex of its 32-bit words in host byte order: on the
// little-endian machines the agent runs on (x86_64, arm64), 127.0.0.1 is `0100007F`, and an
// IPv6 address is four such words, each byte-reversed. A row that does not read as the
// kernel writes it is refused and counted with its reason; nothing here throws.

export type SocketTableName = 'tcp' | 'tcp6' | 'udp' | 'udp6';

export const SOCKET_TABLES: readonly SocketTableName[] = ['tcp', 'tcp6', 'udp', 'udp6'];

export interface ListeningSocket {
  readonly protocol: 'tcp' | 'udp';
  readonly family: 'inet' | 'inet6';
  /** The local address in its usual text form (`0.0.0.0`, `::`, `10.0.0.5`, `fe80::1`). */
  readonly address: string;
  readonly port: number;
  readonly inode: number;
  /** The socket owner's uid, as the table gives it. */
  readonly uid: number;
}

export interface SocketTableParse {
  readonly sockets: readonly ListeningSocket[];
  /** Rows read (the header is not one). */
  readonly rows: number;
  /** Rows that did not read as the kernel writes them. */
  readonly refused: number;
  /** The first refusal's reason, for the log and the facts (empty when none). */
  readonly firstRefusal: string;
  /** Listening rows past `maxSockets`, left out. */
  readonly dropped: number;
}

/** Far beyond a real node; a table past it is cut and the rest counted as dropped. */
export const SOCKET_LIMITS: { readonly maxSockets: number; readonly maxLineLength: number } = { maxSockets: 16_384, maxLineLength: 512 };

const HEX8 = /^[0-9A-Fa-f]{8}$/;
const HEX32 = /^[0-9A-Fa-f]{32}$/;
const HEX2 = /^[0-9A-Fa-f]{2}$/;
const SLOT = /^[0-9]+:$/;

/** One little-endian 32-bit word of the kernel's hex as its four bytes, in network order. */
function wordBytes(hex8: string): number[] {
  const v = Number.parseInt(hex8, 16);
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
}

/** `0100007F` -> `127.0.0.1`. */
export function ipv4FromKernelHex(hex8: string): string | null {
  if (!HEX8.test(hex8)) return null;
  return wordBytes(hex8).join('.');
}

/** The usual compressed text of 16 bytes (RFC 5952: the longest run of zero groups as `::`). */
export function formatIpv6(bytes: readonly number[]): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  // IPv4-mapped (::ffff:a.b.c.d) reads best with its IPv4 tail.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) return `::ffff:${bytes.slice(12).join('.')}`;
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** `00000000000000000000000001000000` -> `::1`. */
export function ipv6FromKernelHex(hex32: string): string | null {
  if (!HEX32.test(hex32)) return null;
  const bytes: number[] = [];
  for (let i = 0; i < 32; i += 8) bytes.push(...wordBytes(hex32.slice(i, i + 8)));
  return formatIpv6(bytes);
}

type Row = { ok: true; socket: ListeningSocket | null } | { ok: false; reason: string };

/** Where a row's fields start and end (two entries a field): a row is split without a string a field. */
const BOUNDS = new Int32Array(2 * 10);

/**
 * Finds a row's fields up to the `max`th (at most 10), split at runs of spaces and tabs,
 * resuming after the first `have` already found; returns how many there are.
 */
function fieldBounds(line: string, have: number, max: number): number {
  let n = have;
  let i = n === 0 ? 0 : BOUNDS[2 * n - 1] as number;
  while (n < max) {
    while (i < line.length && (line.charCodeAt(i) === 32 || line.charCodeAt(i) === 9)) i++;
    if (i >= line.length) break;
    BOUNDS[2 * n] = i;
    while (i < line.length && line.charCodeAt(i) !== 32 && line.charCodeAt(i) !== 9) i++;
    BOUNDS[2 * n + 1] = i;
    n++;
  }
  return n;
}

const field = (line: string, k: number): string => line.slice(BOUNDS[2 * k], BOUNDS[2 * k + 1]);

const fewFields = (n: number): Row => ({ ok: false, reason: `a row of ${n} fields (at least 10 expected)` });

function parseRow(line: string, table: SocketTableName, addresses: Map<string, string | null>): Row {
  // Slot and state first: connections outnumber listeners on a busy node, and a row in
  // another state is passed over there. Ten fields are all a listener is judged by (slot ...
  // inode); the kernel's later ones are not read.
  let n = fieldBounds(line, 0, 4);
  if (n < 4) return fewFields(n);
  const slot = field(line, 0);
  const state = field(line, 3);
  if (!SLOT.test(slot)) return { ok: false, reason: `a row that does not start with its slot number: ${JSON.stringify(slot.slice(0, 32))}` };
  if (!HEX2.test(state)) return { ok: false, reason: `a state that is not two hex digits: ${JSON.stringify(state.slice(0, 16))}` };
  const tcp = table.startsWith('tcp');
  if (state.toUpperCase() !== (tcp ? '0A' : '07')) return { ok: true, socket: null };
  n = fieldBounds(line, n, 10);
  if (n < 10) return fewFields(n);
  const v6 = table.endsWith('6');
  const addrLen = v6 ? 32 : 8;
  // The listener's fields are checked where they lie in the row, without a string for each.
  const [localAt, localEnd, remoteAt, remoteEnd] = [BOUNDS[2] as number, BOUNDS[3] as number, BOUNDS[4] as number, BOUNDS[5] as number];
  if (!isAddressAndPort(line, localAt, localEnd, addrLen)) {
    return { ok: false, reason: `a local address that is not ${addrLen} hex digits and a port: ${JSON.stringify(line.slice(localAt, Math.min(localEnd, localAt + 48)))}` };
  }
  if (!isAddressAndPort(line, remoteAt, remoteEnd, addrLen)) {
    return { ok: false, reason: `a remote address that is not ${addrLen} hex digits and a port: ${JSON.stringify(line.slice(remoteAt, Math.min(remoteEnd, remoteAt + 48)))}` };
  }
  if (!isDecimal(line, BOUNDS[14] as number, BOUNDS[15] as number) || !isDecimal(line, BOUNDS[18] as number, BOUNDS[19] as number)) {
    return { ok: false, reason: 'a uid or inode that is not a decimal number' };
  }
  const uid = Number(field(line, 7));
  const inode = Number(field(line, 9));
  if (!Number.isSafeInteger(uid) || !Number.isSafeInteger(inode) || uid > 0xffffffff) return { ok: false, reason: 'a uid or inode out of range' };
  const listening = tcp || allZero(line, remoteAt, remoteEnd);
  // inode 0: a socket with no file left (being torn down): nothing owns it.
  if (!listening || inode === 0) return { ok: true, socket: null };
  // Many sockets share an address (the wildcard, loopback, the node's own): each is formatted once a table.
  const localAddr = line.slice(localAt, localAt + addrLen);
  let address = addresses.get(localAddr);
  if (address === undefined) {
    address = v6 ? ipv6FromKernelHex(localAddr) : ipv4FromKernelHex(localAddr);
    if (addresses.size < 4096) addresses.set(localAddr, address);
  }
  if (address === null) return { ok: false, reason: 'an unreadable local address' };
  const port = Number.parseInt(line.slice(localAt + addrLen + 1, localEnd), 16);
  return { ok: true, socket: { protocol: tcp ? 'tcp' : 'udp', family: v6 ? 'inet6' : 'inet', address, port, inode, uid } };
}

function isHexDigit(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

/** Whether `line[from, to)` reads `<addrLen hex digits>:<4 hex digits>`. */
function isAddressAndPort(line: string, from: number, to: number, addrLen: number): boolean {
  const colon = from + addrLen;
  if (to - from !== addrLen + 5 || line.charCodeAt(colon) !== 58) return false;
  for (let i = from; i < to; i++) if (i !== colon && !isHexDigit(line.charCodeAt(i))) return false;
  return true;
}

/** Whether `line[from, to)` is 1 to 20 decimal digits. */
function isDecimal(line: string, from: number, to: number): boolean {
  if (to - from < 1 || to - from > 20) return false;
  for (let i = from; i < to; i++) {
    const c = line.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** An address and port of zeros (the colon between them aside): a socket connected to no one. */
function allZero(line: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = line.charCodeAt(i);
    if (c !== 48 && c !== 58) return false;
  }
  return true;
}

function isBlank(line: string): boolean {
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 13) return false;
  }
  return true;
}

/**
 * The listening sockets of one table's text. The first line is the header; a blank last line
 * is the file's end. At most `maxSockets` are kept.
 */
export function parseSocketTable(text: string, table: SocketTableName, limits = SOCKET_LIMITS): SocketTableParse {
  const sockets: ListeningSocket[] = [];
  let rows = 0;
  let refused = 0;
  let dropped = 0;
  let firstRefusal = '';
  const lines = text.split('\n');
  const addresses = new Map<string, string | null>();
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] as string;
    if (isBlank(line)) continue;
    rows++;
    const r: Row = line.length > limits.maxLineLength ? { ok: false, reason: `a row longer than ${limits.maxLineLength} characters` } : parseRow(line, table, addresses);
    if (!r.ok) {
      refused++;
      if (firstRefusal === '') firstRefusal = `${table} row ${i}: ${r.reason}`;
      continue;
    }
    if (r.socket === null) continue;
    if (sockets.length >= limits.maxSockets) dropped++;
    else sockets.push(r.socket);
  }
  return { sockets, rows, refused, firstRefusal, dropped };
}

/** Far beyond a real node's addresses. */
export const MAX_NODE_ADDRESSES = 1024;

/**
 * The namespace's own IPv4 addresses from /proc/net/fib_trie: a `|-- a.b.c.d` line followed
 * by a `/32 host LOCAL` line. Broadcast and network entries are not its addresses.
 */
export function parseFibTrieLocal(text: string, max = MAX_NODE_ADDRESSES): string[] {
  const out = new Set<string>();
  const lines = text.split('\n');
  let last: string | null = null;
  for (const line of lines) {
    const m = /^[\s|`+-]*-- (\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})\s*$/.exec(line);
    if (m) {
      const parts = (m[1] as string).split('.').map(Number);
      last = parts.every((p) => p <= 255) ? (m[1] as string) : null;
      continue;
    }
    if (last !== null && /^\s*\/32 host LOCAL\s*$/.test(line)) {
      out.add(last);
      if (out.size >= max) break;
    }
  }
  return [...out].sort();
}

/** The namespace's own IPv6 addresses from /proc/net/if_inet6 (network byte order, unlike the socket tables). */
export function parseIfInet6(text: string, max = MAX_NODE_ADDRESSES): string[] {
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    const hex = line.trim().split(/\s+/)[0] ?? '';
    if (!HEX32.test(hex)) continue;
    const bytes: number[] = [];
    for (let i = 0; i < 32; i += 2) bytes.push(Number.parseInt(hex.slice(i, i + 2), 16));
    out.add(formatIpv6(bytes));
    if (out.size >= max) break;
  }
  return [...out].sort();
}
