// The exposure collector's cost (agent/exposure/collect.ts): the host namespace's socket tables
// parsed and every listener mapped to its process, at 1,000 processes and 5,000 listening
// sockets (plus as many established connections, which the parser reads and passes over), in
// a synthetic proc tree under a temp dir: pid directories with stat, status, cmdline, cgroup,
// an exe link and fd links (`socket:[inode]`, and as many to files). The baseline, in the same
// run, is the I/O alone: the four tables read whole and every fd link read, nothing parsed or
// mapped. Target: < 50 ms per collection. The collection uses the native descriptor reader
// when the addon is built (native/src/fd_sockets.cc); the same collection with the JavaScript
// reader, the fallback without the addon, is measured beside it.
import { mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addressClasses } from '../agent/exposure/address-class.js';
import { collectExposure } from '../agent/exposure/collect.js';
import { placeWith } from '../agent/exposure/owner.js';
import { fdSocketReader, readFdSocketsJs } from '../agent/exposure/socket-owners.js';
import { createProcReader } from '../agent/processes/proc-reader.js';

export interface ExposureBenchOptions {
  readonly processes: number;
  readonly sockets: number;
  readonly rounds: number;
}

export interface ExposureBenchResult {
  readonly listeners: number;
  readonly owned: number;
  /** Median ms per collection. */
  readonly collectMs: number;
  /** Whether the collection above used the native reader. */
  readonly nativeReader: boolean;
  /** Median ms per collection with the JavaScript reader. */
  readonly collectJsMs: number;
  /** Median ms to read the same tables and fd links without parsing or mapping. */
  readonly rawMs: number;
}

const hex = (n: number, width: number): string => n.toString(16).toUpperCase().padStart(width, '0');
/** An IPv4 address in the kernel's little-endian hex. */
const v4 = (a: number, b: number, c: number, d: number): string => hex(((d << 24) >>> 0) + (c << 16) + (b << 8) + a, 8);

function row(slot: number, local: string, port: number, remote: string, remotePort: number, state: string, inode: number): string {
  return `${String(slot).padStart(4)}: ${local}:${hex(port, 4)} ${remote}:${hex(remotePort, 4)} ${state} 00000000:00000000 00:00000000 00000000     0        0 ${inode} 1 0000000000000000 100 0 0 10 0\n`;
}

const HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';

/** The synthetic proc tree; sockets are spread evenly over the processes (pid 1 holds none). */
function buildTree(root: string, o: ExposureBenchOptions): void {
  const tables: Record<string, string> = { tcp: HEADER, tcp6: HEADER, udp: HEADER, udp6: HEADER };
  const perPid = Math.ceil(o.sockets / o.processes);
  let inode = 100_000;
  for (let i = 0; i < o.processes; i++) {
    const pid = 1000 + i;
    const dir = join(root, String(pid));
    mkdirSync(join(dir, 'fd'), { recursive: true });
    writeFileSync(join(dir, 'stat'), `${pid} (srv${i}) S 1 ${pid} ${pid} 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 ${1000 + i} 0 0\n`);
    writeFileSync(join(dir, 'status'), `Name:\tsrv${i}\nUid:\t0\t0\t0\t0\n`);
    writeFileSync(join(dir, 'cmdline'), `/usr/bin/srv${i}\0--listen\0`);
    writeFileSync(join(dir, 'cgroup'), '0::/system.slice/srv.service\n');
    symlinkSync(`/usr/bin/srv${i}`, join(dir, 'exe'));
    let fd = 0;
    for (let k = 0; k < perPid && inode - 100_000 < o.sockets; k++) {
      inode++;
      symlinkSync(`socket:[${inode}]`, join(dir, 'fd', String(fd++)));
      symlinkSync('/var/log/srv.log', join(dir, 'fd', String(fd++)));
      const table = ['tcp', 'tcp6', 'udp', 'udp6'][inode % 4] as string;
      const v6 = table.endsWith('6');
      const local = v6 ? `0000000000000000FFFF0000${v4(10, 0, (i >> 8) & 255, i & 255)}` : v4(10, 0, (i >> 8) & 255, i & 255);
      const zero = v6 ? '0'.repeat(32) : '00000000';
      const slot = tables[table]!.split('\n').length;
      tables[table] += row(slot, local, 1024 + (inode % 60_000), zero, 0, table.startsWith('tcp') ? '0A' : '07', inode);
      // An established connection beside each listener: read and passed over.
      tables[table] += row(slot + 1, local, 1024 + (inode % 60_000), local, 40_000, '01', inode + 10_000_000);
    }
  }
  mkdirSync(join(root, '1', 'net'), { recursive: true });
  writeFileSync(join(root, '1', 'stat'), '1 (init) S 0 1 1 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 1 0 0\n');
  for (const [name, text] of Object.entries(tables)) writeFileSync(join(root, '1', 'net', name), text);
  writeFileSync(join(root, '1', 'net', 'fib_trie'), 'Main:\n  +-- 0.0.0.0/0 3 0 5\n     |-- 10.0.0.5\n        /32 host LOCAL\n');
  writeFileSync(join(root, 'stat'), 'btime 1700000000\n');
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

export async function benchExposure(o: ExposureBenchOptions): Promise<ExposureBenchResult> {
  const root = await mkdtemp(join(tmpdir(), 'nodeward-bench-exposure-'));
  try {
    buildTree(root, o);
    const classes = addressClasses().classes;
    const place = placeWith({ attribute: async () => ({ fake: true, reason: '' }) }, () => 'host/worker');
    const reader = fdSocketReader();
    const collectWith = (fdReader: typeof reader) => () => collectExposure({ procRoot: root, namespacePid: 1, classes, processes: createProcReader(root), place, maxListeners: o.sockets, fdReader });
    const collect = collectWith(reader);
    const collectJs = collectWith({ read: readFdSocketsJs, native: false });
    const raw = (): number => {
      let n = 0;
      for (const t of ['tcp', 'tcp6', 'udp', 'udp6']) n += readFileSync(join(root, '1', 'net', t)).length;
      for (const name of readdirSync(root)) {
        if (!/^[0-9]+$/.test(name)) continue;
        let fds: string[];
        try {
          fds = readdirSync(join(root, name, 'fd'));
        } catch {
          continue;
        }
        for (const fd of fds) n += readlinkSync(join(root, name, 'fd', fd)).length;
      }
      return n;
    };
    // Warm-up: the JIT and the page cache.
    const first = await collect();
    await collectJs();
    raw();
    const collectTimes: number[] = [];
    const jsTimes: number[] = [];
    const rawTimes: number[] = [];
    for (let r = 0; r < o.rounds; r++) {
      let t0 = performance.now();
      await collect();
      collectTimes.push(performance.now() - t0);
      t0 = performance.now();
      await collectJs();
      jsTimes.push(performance.now() - t0);
      t0 = performance.now();
      raw();
      rawTimes.push(performance.now() - t0);
    }
    return {
      listeners: first.listeners.length, owned: first.listeners.length - first.unowned, collectMs: median(collectTimes),
      nativeReader: reader.native, collectJsMs: median(jsTimes), rawMs: median(rawTimes),
    };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

export function formatExposureBench(r: ExposureBenchResult, o: ExposureBenchOptions): string {
  return [
    `exposure: ${o.processes.toLocaleString('en-US')} processes, ${o.sockets.toLocaleString('en-US')} listening sockets (and as many connections), synthetic proc tree`,
    `  socket tables parsed + every listener mapped to its process: ${r.collectMs.toFixed(1)} ms (median of ${o.rounds}; target < 50 ms; ${r.nativeReader ? 'native descriptor reader' : 'JavaScript reader: the addon is not built'})`,
    `  the same with the JavaScript descriptor reader (no addon):     ${r.collectJsMs.toFixed(1)} ms`,
    `  the same tables and fd links read, nothing parsed (baseline):  ${r.rawMs.toFixed(1)} ms`,
    `  ratio collect / raw read: ${(r.collectMs / Math.max(r.rawMs, 0.001)).toFixed(2)}; listeners ${r.listeners.toLocaleString('en-US')}, owned ${r.owned.toLocaleString('en-US')}`,
    '',
  ].join('\n');
}
