// fds 0, 1, 2 of live processes (agent/processes/stdio.ts): the /proc/net table parsers over
// generated input, and real children whose stdio is a TCP connection (IPv4, IPv6), a unix
// socket, a pipe, a FIFO, /dev/null, read through the real /proc.
import test from 'ava';
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { closeSync, openSync, readlinkSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { classifyLink, createStdioReader, NET_TABLES, parseNetTable, type NetTable, type StdioFacts } from '../../agent/processes/stdio.js';
import { checkProperty, fc } from '../helpers/property.js';
import { commandSucceeds, needs } from '../helpers/requirements.js';

const table = (file: string): NetTable => NET_TABLES.find((t) => t.file === file)!;

const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:0CEA 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 340 1 000000001c9d9bb3 100 0 0 10 0
   1: 0100007F:A1B2 0100007F:115C 01 00000000:00000000 00:00000000 00000000  1000        0 98765 1 0000000000000000 20 4 30 10 -1
`;
const UNIX = `Num       RefCount Protocol Flags    Type St Inode Path
000000001bff2767: 00000003 00000000 00000000 0001 03   336
000000008b6d4ae3: 00000002 00000000 00010000 0001 01 11223 /run/systemd/journal/stdout
00000000deadbeef: 00000002 00000000 00010000 0001 01 11224 @/tmp/.X11-unix/X0 with spaces
`;
const NETLINK = `sk               Eth Pid        Groups   Rmem     Wmem     Dump  Locks    Drops    Inode
0000000051e506e3 0   0          00000000 0        0        0     2        0        4
`;

test('the socket tables\' rows give their inodes', (t) => {
  t.deepEqual(parseNetTable(TCP, table('tcp')), { inodes: [340, 98765], rows: 2, refused: 0 });
  t.deepEqual(parseNetTable(TCP, table('tcp6')), { inodes: [340, 98765], rows: 2, refused: 0 });
  t.deepEqual(parseNetTable(UNIX, table('unix')), { inodes: [336, 11223, 11224], rows: 3, refused: 0 });
  t.deepEqual(parseNetTable(NETLINK, table('netlink')), { inodes: [4], rows: 1, refused: 0 });
  t.deepEqual(parseNetTable('', table('tcp')), { inodes: [], rows: 0, refused: 0 });
  t.deepEqual(parseNetTable('header only', table('unix')), { inodes: [], rows: 0, refused: 0 });
});

test('lines that are not rows are refused and counted, the rows around them kept', (t) => {
  const bad = `${TCP}garbage\n   2: short row\n   3: 0100007F:0CEA 00000000:0000 0A 0:0 00:0 0 0 0 -5 1\n\n   4: 0100007F:0CEA 00000000:0000 0A 0:0 00:0 0 0 0 99999999999999999999 1\n`;
  t.deepEqual(parseNetTable(bad, table('tcp')), { inodes: [340, 98765], rows: 2, refused: 5 });
  // The unix table read with the tcp layout: the first field is not `N:`.
  t.is(parseNetTable(UNIX, table('tcp')).refused, 3);
});

test('fd links are classified', (t) => {
  t.deepEqual(classifyLink('socket:[12345]'), { kind: 'socket', inode: 12345 });
  t.deepEqual(classifyLink('pipe:[9]'), { kind: 'pipe' });
  t.deepEqual(classifyLink('/dev/null'), { kind: 'path' });
  t.deepEqual(classifyLink('/tmp/x (deleted)'), { kind: 'path' });
  t.deepEqual(classifyLink('anon_inode:[eventfd]'), { kind: 'other' });
  t.deepEqual(classifyLink('socket:[99999999999999999999]'), { kind: 'other' });
  t.deepEqual(classifyLink('socket:[12a]'), { kind: 'other' });
  t.deepEqual(classifyLink(''), { kind: 'other' });
});

const row = fc.oneof(
  fc.tuple(fc.nat(9999), fc.nat(), fc.nat()).map(([sl, inode, uid]) => `  ${sl}: 0100007F:0CEA 00000000:0000 0A 00000000:00000000 00:00000000 00000000 ${uid} 0 ${inode} 1 0 100 0 0 10 0`),
  fc.tuple(fc.nat(), fc.string({ maxLength: 20 })).map(([inode, path]) => `0000000000000000: 00000002 00000000 00010000 0001 01 ${inode} ${path}`),
  fc.string({ maxLength: 80 }),
  fc.string({ unit: 'binary', maxLength: 80 }),
);
const tableText = fc.tuple(fc.string({ maxLength: 40 }), fc.array(row, { maxLength: 30 }), fc.boolean())
  .map(([header, rows, trailing]) => [header, ...rows].join('\n') + (trailing ? '\n' : ''));

test('the table parser never throws; every line after the header is a row or a counted refusal', async (t) => {
  await checkProperty(t, fc.property(tableText, fc.constantFrom(...NET_TABLES), (text, tbl) => {
    const r = parseNetTable(text, tbl);
    const lines = text.split('\n').slice(1);
    const counted = lines.filter((l, i) => !(l.trim() === '' && i === lines.length - 1)).length;
    return r.rows === r.inodes.length && r.rows + r.refused === counted && r.inodes.every((n) => Number.isSafeInteger(n) && n >= 0);
  }), 3000);
});

test('a generated inet row\'s inode is found in the table, whatever rows surround it', async (t) => {
  await checkProperty(t, fc.property(fc.array(row, { maxLength: 10 }), fc.nat(), fc.array(row, { maxLength: 10 }), (before, inode, after) => {
    const line = `  7: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 ${inode} 1 0 100 0 0 10 0`;
    const text = ['header', ...before.map((b) => b.replace(/\n/g, ' ')), line, ...after.map((a) => a.replace(/\n/g, ' '))].join('\n');
    return parseNetTable(text, table('tcp6')).inodes.includes(inode);
  }), 1000);
});

// Real processes.

interface Child {
  readonly child: ChildProcess;
  readonly pid: number;
}

function sleeper(stdio: StdioOptions): Child {
  const child = spawn('sleep', ['60'], { stdio });
  child.on('error', () => undefined);
  return { child, pid: child.pid! };
}

async function tcpPair(host: string): Promise<{ server: Server; client: Socket; accepted: Socket }> {
  const server = createServer();
  server.listen(0, host);
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  const acceptedP = once(server, 'connection') as Promise<[Socket]>;
  const client = connect({ port, host });
  await once(client, 'connect');
  const [accepted] = await acceptedP;
  return { server, client, accepted };
}

/** Resolves once the process runs `name` (its exec happened, and with it its redirections). */
async function execed(pid: number, name: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    try {
      if (readlinkSync(`/proc/${pid}/exe`).endsWith(`/${name}`)) return;
    } catch {
      // not yet readable
    }
    await new Promise((res) => setTimeout(res, 10));
  }
  throw new Error(`pid ${pid} never ran ${name}`);
}

function stop(...children: Child[]): void {
  for (const c of children) c.child.kill('SIGKILL');
}

const reader = createStdioReader('/proc');
const kinds = (f: StdioFacts) => f.map((x) => (x.family ? `${x.kind}/${x.family}` : x.kind));

test('stdout on a TCP connection over IPv4 loopback is an inet socket; /dev/null is a character device', async (t) => {
  const { server, client, accepted } = await tcpPair('127.0.0.1');
  const c = sleeper(['ignore', client, 'ignore']);
  t.teardown(() => {
    stop(c);
    client.destroy();
    accepted.destroy();
    server.close();
  });
  t.deepEqual(kinds(reader.read(c.pid)), ['chardev', 'socket/inet', 'chardev']);
});

test('stdin, stdout and stderr on a TCP connection over IPv6 loopback are inet6 sockets', async (t) => {
  const { server, client, accepted } = await tcpPair('::1');
  const c = sleeper([client, client, client]);
  t.teardown(() => {
    stop(c);
    client.destroy();
    accepted.destroy();
    server.close();
  });
  t.deepEqual(kinds(reader.read(c.pid)), ['socket/inet6', 'socket/inet6', 'socket/inet6']);
});

test('stdin on a unix socket is a unix socket (the way journald holds a service\'s stdout); node\'s pipes are socketpairs', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-stdio-'));
  const server = createServer();
  server.listen(join(dir, 's.sock'));
  await once(server, 'listening');
  const acceptedP = once(server, 'connection') as Promise<[Socket]>;
  const client = connect(join(dir, 's.sock'));
  await once(client, 'connect');
  const [accepted] = await acceptedP;
  const c = sleeper([client, 'pipe', 'inherit']);
  t.teardown(async () => {
    stop(c);
    client.destroy();
    accepted.destroy();
    server.close();
    await rm(dir, { recursive: true, force: true });
  });
  const facts = reader.read(c.pid);
  t.deepEqual(facts[0], { kind: 'socket', family: 'unix' });
  t.deepEqual(facts[1], { kind: 'socket', family: 'unix' });
});

test('stdin on an anonymous pipe and on a FIFO are pipes; a regular file is a file; a closed fd is none', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-stdio-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  // bash runs `{ ...; exec sleep; }` in the pipeline's subshell: sleep's stdin is the pipe.
  const piped = spawn('bash', ['-c', 'true | { echo $BASHPID; exec sleep 60 <&0 2>&-; }'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const [line] = await once(piped.stdout!, 'data') as [Buffer];
  const pipedPid = Number(line.toString().trim());
  const fifo = join(dir, 'fifo');
  t.true(commandSucceeds('mkfifo', [fifo]) === true);
  const fifoFd = openSync(fifo, 'r+');
  const fileFd = openSync(join(dir, 'out.log'), 'w');
  const c = sleeper([fifoFd, fileFd, 'ignore']);
  closeSync(fifoFd);
  closeSync(fileFd);
  t.teardown(() => {
    stop(c, { child: piped, pid: pipedPid });
    try {
      process.kill(pipedPid, 'SIGKILL');
    } catch {
      // gone already
    }
  });
  await execed(pipedPid, 'sleep');
  t.deepEqual(kinds(reader.read(pipedPid)), ['pipe', 'socket/unix', 'none']);
  t.deepEqual(kinds(reader.read(c.pid)), ['pipe', 'file', 'chardev']);
});

test('a process that is gone reads as unknown, and is counted', (t) => {
  const r = createStdioReader('/proc');
  t.deepEqual(kinds(r.read(2 ** 22 + 12345)), ['unknown', 'unknown', 'unknown']);
  t.deepEqual(kinds(r.read(-1)), ['unknown', 'unknown', 'unknown']);
  t.is(r.stats().unreadable, 2);
  t.is(r.stats().reads, 2);
});

const netnsTest = needs({
  what: 'a private network namespace (unshare -rn)', packages: ['util-linux'],
  check: () => commandSucceeds('unshare', ['-rn', 'true']),
});

netnsTest('a TCP socket made before `unshare -n` is found in the host\'s tables', async (t) => {
  const { server, client, accepted } = await tcpPair('127.0.0.1');
  const c = spawn('unshare', ['-rn', 'sleep', '60'], { stdio: ['ignore', client, 'ignore'] });
  t.teardown(() => {
    c.kill('SIGKILL');
    client.destroy();
    accepted.destroy();
    server.close();
  });
  // unshare execs sleep in the same process once the namespace is made.
  await execed(c.pid!, 'sleep');
  t.not(readlinkSync(`/proc/${c.pid}/ns/net`), readlinkSync('/proc/self/ns/net'));
  const r = createStdioReader('/proc');
  t.deepEqual(r.read(c.pid!)[1], { kind: 'socket', family: 'inet' });
  t.is(r.stats().familiesUnknown, 0);
});

test('a table larger than the bound is cut at a line and counted', async (t) => {
  // A proc root built at test time: one pid whose stdout is a socket, and a big tcp table.
  const root = await mkdtemp(join(tmpdir(), 'nodeward-procroot-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  const { mkdir, writeFile, symlink } = await import('node:fs/promises');
  await mkdir(join(root, '42', 'fd'), { recursive: true });
  await mkdir(join(root, '42', 'net'), { recursive: true });
  await symlink('socket:[777]', join(root, '42', 'fd', '1'));
  await symlink('socket:[778]', join(root, '42', 'fd', '2'));
  const rowOf = (i: number, inode: number) => `${String(i).padStart(4)}: 0100007F:0CEA 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 ${inode} 1 0 100 0 0 10 0\n`;
  let text = 'header\n';
  text += rowOf(0, 777);
  for (let i = 1; i < 200; i++) text += rowOf(i, 1000 + i);
  text += rowOf(200, 778); // past the bound
  await writeFile(join(root, '42', 'net', 'tcp'), text);
  const r = createStdioReader(root, { maxTableBytes: 4096 });
  t.deepEqual(kinds(r.read(42)), ['none', 'socket/inet', 'socket']);
  t.like(r.stats(), { tablesCut: 1, linesRefused: 0, familiesUnknown: 1 });
});

netnsTest('a unix socket of a process in a private network namespace (a service with PrivateNetwork=yes) is found with no inet table read', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-stdio-'));
  const server = createServer((s) => s.on('error', () => undefined));
  server.listen(join(dir, 'journal.sock'));
  await once(server, 'listening');
  const client = connect(join(dir, 'journal.sock'));
  await once(client, 'connect');
  const c = spawn('unshare', ['-rn', 'sleep', '60'], { stdio: ['ignore', client, client] });
  t.teardown(async () => {
    c.kill('SIGKILL');
    client.destroy();
    server.close();
    await rm(dir, { recursive: true, force: true });
  });
  await execed(c.pid!, 'sleep');
  const r = createStdioReader('/proc');
  t.deepEqual(kinds(r.read(c.pid!)), ['chardev', 'socket/unix', 'socket/unix']);
  // Its own unix table, then the host's: reading /proc/net/tcp costs milliseconds and is not needed.
  t.is(r.stats().tablesRead, 2);
});
