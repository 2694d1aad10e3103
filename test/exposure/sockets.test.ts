// The socket table parser (agent/facts/sockets.ts) and the address classes
// (agent/exposure/address-class.ts): rows as the kernel writes them, and properties over
// generated and hostile tables: it never throws, and every row is kept, passed over or refused.
import test from 'ava';
import { formatIpv6, parseFibTrieLocal, parseIfInet6, parseSocketTable, type SocketTableName } from '../../agent/facts/sockets.js';
import { addressBytes, addressClasses, classify, classifyBound } from '../../agent/exposure/address-class.js';
import { checkProperty, fc } from '../helpers/property.js';

const HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';

/** The kernel's hex of an address: each 32-bit word in little-endian byte order. */
function kernelHex(bytes: readonly number[]): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 4) {
    for (let j = 3; j >= 0; j--) out += (bytes[i + j] as number).toString(16).padStart(2, '0').toUpperCase();
  }
  return out;
}

function row(slot: number, local: readonly number[], port: number, state: string, inode: number, opts: { remote?: readonly number[]; remotePort?: number; uid?: number } = {}): string {
  const remote = opts.remote ?? local.map(() => 0);
  const p = (n: number): string => n.toString(16).padStart(4, '0').toUpperCase();
  return `${String(slot).padStart(4)}: ${kernelHex(local)}:${p(port)} ${kernelHex(remote)}:${p(opts.remotePort ?? 0)} ${state} 00000000:00000000 00:00000000 00000000 ${String(opts.uid ?? 0).padStart(5)}        0 ${inode} 1 0000000000000000 100 0 0 10 0\n`;
}

const V6_LOOPBACK = [...Array<number>(15).fill(0), 1];

test('a listening TCP socket, IPv4 and IPv6, in the kernel byte order', (t) => {
  const v4 = parseSocketTable(HEADER + row(0, [127, 0, 0, 1], 2379, '0A', 1234, { uid: 0 }) + row(1, [10, 1, 2, 3], 443, '01', 99, { remote: [10, 9, 9, 9], remotePort: 5555 }), 'tcp');
  t.deepEqual(v4.sockets, [{ protocol: 'tcp', family: 'inet', address: '127.0.0.1', port: 2379, inode: 1234, uid: 0 }]);
  t.is(v4.rows, 2);
  t.is(v4.refused, 0);
  // What /proc/net/tcp6 prints for ::1 and for fe80::1 (words byte-reversed).
  const v6 = parseSocketTable(`${HEADER}   0: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 777 1 0 100 0 0 10 0\n${
    row(1, [0xfe, 0x80, ...Array<number>(13).fill(0), 1], 53, '0A', 778)}`, 'tcp6');
  t.deepEqual(v6.sockets.map((s) => `${s.address}:${s.port}:${s.uid}`), ['::1:8080:1000', 'fe80::1:53:0']);
});

test('UDP: a bound socket with no peer is listening; a connected one is not', (t) => {
  const p = parseSocketTable(HEADER + row(0, [0, 0, 0, 0], 53, '07', 10) + row(1, [10, 0, 0, 1], 4000, '01', 11, { remote: [8, 8, 8, 8], remotePort: 53 }) + row(2, [10, 0, 0, 1], 4001, '07', 12, { remote: [8, 8, 4, 4], remotePort: 53 }), 'udp');
  t.deepEqual(p.sockets.map((s) => `${s.protocol} ${s.address}:${s.port}`), ['udp 0.0.0.0:53']);
});

test('rows that do not read as the kernel writes them are refused and counted with a reason', (t) => {
  const p = parseSocketTable(`${HEADER}garbage\n   1: 0100007F:0050 00000000:0000 0A 0 0 0 x 0 12\n   2: 0100007F:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 55 1\n`, 'tcp');
  t.is(p.refused, 2);
  t.regex(p.firstRefusal, /^tcp row 1: a row of 1 fields/);
  t.is(p.sockets.length, 1);
});

test('past maxSockets, listening rows are counted as dropped', (t) => {
  let text = HEADER;
  for (let i = 0; i < 10; i++) text += row(i, [127, 0, 0, 1], 1000 + i, '0A', 100 + i);
  const p = parseSocketTable(text, 'tcp', { maxSockets: 4, maxLineLength: 512 });
  t.is(p.sockets.length, 4);
  t.is(p.dropped, 6);
});

const addressArb = (v6: boolean) => fc.array(fc.integer({ min: 0, max: 255 }), { minLength: v6 ? 16 : 4, maxLength: v6 ? 16 : 4 });

test('property: a generated table parses back to the sockets it was made of', async (t) => {
  const socketArb = fc.record({
    v6: fc.boolean(), tcp: fc.boolean(), port: fc.integer({ min: 0, max: 65535 }), inode: fc.integer({ min: 1, max: 2 ** 40 }),
    listening: fc.boolean(), uid: fc.integer({ min: 0, max: 2 ** 31 }), seed: fc.nat(),
  }).chain((r) => fc.record({ r: fc.constant(r), addr: addressArb(r.v6) }));
  await checkProperty(t, fc.property(fc.boolean(), fc.boolean(), fc.array(socketArb, { maxLength: 40 }), (v6, tcp, specs) => {
    const table = `${tcp ? 'tcp' : 'udp'}${v6 ? '6' : ''}` as SocketTableName;
    const fits = specs.filter((s) => s.r.v6 === v6);
    let text = HEADER;
    fits.forEach((s, i) => {
      text += row(i, s.addr, s.r.port, s.r.listening ? (tcp ? '0A' : '07') : '01', s.r.inode, { uid: s.r.uid });
    });
    const p = parseSocketTable(text, table);
    const want = fits.filter((s) => s.r.listening);
    if (p.refused !== 0 || p.rows !== fits.length || p.sockets.length !== want.length) return false;
    return want.every((s, i) => {
      const got = p.sockets[i]!;
      const bytes = addressBytes(got.address);
      return got.port === s.r.port && got.inode === s.r.inode && got.uid === s.r.uid && bytes !== null && bytes.join('.') === s.addr.join('.');
    });
  }), 200);
});

test('property: any text never throws, and every row is kept, passed over or refused', async (t) => {
  const lineArb = fc.oneof(
    fc.string({ maxLength: 200 }),
    fc.array(fc.oneof(fc.string({ unit: fc.constantFrom(...'0123456789ABCDEFabcdef:'), maxLength: 40 }), fc.constantFrom(':', '0A', '07', '00000000:0000', '-1', '99999999999999999999999')), { maxLength: 14 }).map((a) => a.join(' ')),
    fc.constant('   0: 0100007F:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 55 1'),
  );
  await checkProperty(t, fc.property(fc.array(lineArb, { maxLength: 30 }), fc.constantFrom<SocketTableName>('tcp', 'tcp6', 'udp', 'udp6'), (lines, table) => {
    const p = parseSocketTable(['header', ...lines].join('\n'), table);
    const nonBlank = lines.flatMap((l) => l.split('\n')).filter((l) => l.trim() !== '').length;
    return p.rows === nonBlank && p.refused <= p.rows && p.sockets.length + p.refused <= p.rows && (p.refused === 0) === (p.firstRefusal === '') &&
      p.sockets.every((s) => Number.isSafeInteger(s.inode) && s.port >= 0 && s.port <= 65535 && addressBytes(s.address) !== null);
  }), 500);
});

test('property: IPv6 text round-trips through the address reader', async (t) => {
  await checkProperty(t, fc.property(addressArb(true), (bytes) => addressBytes(formatIpv6(bytes))?.join(',') === bytes.join(',')), 500);
});

test("the namespace's own addresses: fib_trie's local /32 entries and if_inet6", (t) => {
  const fib = `Main:
  +-- 0.0.0.0/0 3 0 5
     |-- 0.0.0.0
        /0 universe UNICAST
     +-- 10.0.0.0/8 2 0 2
        +-- 10.0.2.0/24 2 0 2
           |-- 10.0.2.15
              /32 host LOCAL
           |-- 10.0.2.255
              /32 link BROADCAST
     +-- 127.0.0.0/8 2 0 2
        |-- 127.0.0.1
           /32 host LOCAL
Local:
  +-- 0.0.0.0/0 3 0 5
           |-- 10.0.2.15
              /32 host LOCAL
`;
  t.deepEqual(parseFibTrieLocal(fib), ['10.0.2.15', '127.0.0.1']);
  t.deepEqual(parseIfInet6('00000000000000000000000000000001 01 80 10 80       lo\nfe800000000000000000000000000001 02 40 20 80     eth0\nbad line\n'), ['::1', 'fe80::1']);
});

test('address classes: the defaults, an operator range matched first, IPv4-mapped, wildcards', (t) => {
  const { classes, errors } = addressClasses([{ cidr: '100.64.0.0/10', class: 'private' }, { cidr: '203.0.113.0/24', class: 'public' }]);
  t.deepEqual(errors, []);
  const c = (a: string) => classify(a, classes);
  t.is(c('127.0.0.1'), 'loopback');
  t.is(c('::1'), 'loopback');
  t.is(c('169.254.169.254'), 'link-local');
  t.is(c('fe80::1'), 'link-local');
  t.is(c('10.1.2.3'), 'private');
  t.is(c('172.31.255.255'), 'private');
  t.is(c('172.32.0.1'), 'public');
  t.is(c('fd00::5'), 'private');
  t.is(c('100.100.1.1'), 'private');
  t.is(c('8.8.8.8'), 'public');
  t.is(c('::ffff:10.0.0.1'), 'private');
  t.is(c('2001:db8::1'), 'public');
  t.is(c('not an address'), null);
  t.is(addressClasses()['classes'] && classify('100.100.1.1', addressClasses().classes), 'public', 'without the override, shared address space is public');
  const node = [{ address: '10.0.0.5', class: 'private' as const }, { address: '2001:db8::5', class: 'public' as const }];
  t.is(classifyBound('0.0.0.0', node, classes), 'private', 'an IPv4 wildcard takes the IPv4 addresses only');
  t.is(classifyBound('::', node, classes), 'public', 'a dual-stack wildcard takes every address');
  t.is(classifyBound('0.0.0.0', [], classes), 'public', 'no known address: nothing says it is not public');
  t.deepEqual(addressClasses([{ cidr: '10.0.0.0/33', class: 'private' }, { cidr: 'x/8', class: 'public' }]).errors.length, 2);
});
