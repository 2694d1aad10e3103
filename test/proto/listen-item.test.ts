// Listens (proto/listen-item.ts), the text both apps read from the wire and the API: any
// input is read or refused with a sentence, never thrown on; a listen read and written again
// reads the same; IPv6 is written as the agent writes it; and which listeners a listen
// covers (literal, or an address class's).
import test from 'ava';
import { formatListen, listenCovers, parseListen, type ParsedListen } from '../../proto/listen-item.js';
import { checkProperty, fc } from '../helpers/property.js';

const read = (text: string): ParsedListen => {
  const p = parseListen(text);
  if (typeof p === 'string') throw new Error(p);
  return p;
};

test('the two forms are read; IPv6 is written canonically, an IPv4-mapped tail dotted', (t) => {
  t.deepEqual(read('tcp/0.0.0.0:8080'), { protocol: 'tcp', port: 8080, address: '0.0.0.0' });
  t.deepEqual(read('udp/private:53'), { protocol: 'udp', port: 53, addressClass: 'private' });
  t.is(formatListen(read('tcp/[0:0::0]:80')), 'tcp/[::]:80');
  t.is(formatListen(read('tcp/[2001:DB8:0:0:0:0:0:1]:80')), 'tcp/[2001:db8::1]:80');
  t.is(formatListen(read('tcp/[::FFFF:a00:1]:80')), 'tcp/[::ffff:10.0.0.1]:80');
  t.is(formatListen(read('tcp/[::ffff:10.0.0.1]:80')), 'tcp/[::ffff:10.0.0.1]:80');
  t.deepEqual(read('tcp/link-local:1'), { protocol: 'tcp', port: 1, addressClass: 'link-local' });
  t.is(parseListen(null), 'a listen is a string');
  t.regex(parseListen('tcp/loopbacks:1') as string, /loopbacks is not an address class/);
});

test('a literal listen covers its own protocol, address and port; a class covers the port on any address of the class', (t) => {
  const l = { protocol: 'tcp', address: '10.0.0.5', port: 7000, class: 'private' };
  t.true(listenCovers(read('tcp/10.0.0.5:7000'), l));
  t.false(listenCovers(read('udp/10.0.0.5:7000'), l));
  t.false(listenCovers(read('tcp/10.0.0.5:7001'), l));
  t.false(listenCovers(read('tcp/10.0.0.6:7000'), l));
  t.true(listenCovers(read('tcp/private:7000'), l));
  t.false(listenCovers(read('tcp/public:7000'), l));
  t.true(listenCovers(read('tcp/[0::0]:22'), { protocol: 'tcp', address: '::', port: 22, class: 'public' }));
});

test('property: any text is read or refused with a sentence, never thrown on', async (t) => {
  const pieces = fc.constantFrom('tcp', 'udp', '/', ':', '[', ']', '.', '::', '0', '1', '255', '65535', '65536', 'ffff', 'private', 'public', 'x', ' ', '\u0000', 'é');
  const text = fc.oneof(fc.string({ maxLength: 80 }), fc.array(pieces, { maxLength: 12 }).map((a) => a.join('')));
  await checkProperty(t, fc.property(text, (s) => {
    const p = parseListen(s);
    return typeof p === 'string' ? p.length > 0 : parseListen(formatListen(p)) !== undefined;
  }), 2000);
});

test('property: a listen written and read again is the same listen, and covers what it covered', async (t) => {
  const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((b) => b.join('.'));
  const v6 = fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 }).map((g) => g.map((x) => x.toString(16)).join(':'));
  const listen = fc.record({
    protocol: fc.constantFrom('tcp' as const, 'udp' as const), port: fc.integer({ min: 1, max: 65535 }),
    where: fc.oneof(v4, v6.map((a) => `[${a}]`), fc.constantFrom('loopback', 'link-local', 'private', 'public')),
  });
  await checkProperty(t, fc.property(listen, ({ protocol, port, where }) => {
    const first = read(`${protocol}/${where}:${port}`);
    const again = read(formatListen(first));
    if (JSON.stringify(again) !== JSON.stringify(first) || formatListen(again) !== formatListen(first)) return false;
    if ('address' in first) return listenCovers(again, { protocol, port, address: first.address, class: 'public' });
    return listenCovers(again, { protocol, port, address: '192.0.2.1', class: first.addressClass });
  }), 1000);
});
