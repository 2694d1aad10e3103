// The parsers of dpkg's records (md5sums lines, the diversions file, the status file): pure,
// fed bytes from the host; they never throw and refuse what is not a record.
import test from 'ava';
import { findInMd5sums, md5sumsPackage, parseDiversions, parseMd5sumsLine, statusVersion } from '../../agent/facts/dpkg-db.js';
import { checkProperty, fc } from '../helpers/property.js';

const MD5 = '7210080490f9fd139c1b44fa0f730988';

test('an md5sums line: digest, two spaces (or " *"), a path relative to / (a leading / or ./ is accepted)', (t) => {
  t.deepEqual(parseMd5sumsLine(`${MD5}  bin/bash`), { ok: true, value: { md5: MD5, path: '/bin/bash' } });
  t.deepEqual(parseMd5sumsLine(`${MD5.toUpperCase()} *usr/bin/bash\r`), { ok: true, value: { md5: MD5, path: '/usr/bin/bash' } });
  t.deepEqual(parseMd5sumsLine(`${MD5}  /usr/bin/with space`), { ok: true, value: { md5: MD5, path: '/usr/bin/with space' } });
  t.deepEqual(parseMd5sumsLine(`${MD5}  ./usr/bin/x`), { ok: true, value: { md5: MD5, path: '/usr/bin/x' } });
  const code = (line: string): string => {
    const r = parseMd5sumsLine(line);
    return r.ok ? 'ok' : r.code;
  };
  t.is(code(''), 'empty');
  t.is(code('   '), 'empty');
  t.is(code(`${MD5.slice(1)}  bin/bash`), 'bad-digest', '31 digits');
  t.is(code(`${MD5}0  bin/bash`), 'bad-separator', '33 digits');
  t.is(code(`${MD5.slice(0, 31)}g  bin/bash`), 'bad-digest');
  t.is(code(`${MD5} bin/bash`), 'bad-separator');
  t.is(code(`${MD5}  `), 'bad-path');
  t.is(code(`${MD5}  usr/../etc/shadow`), 'bad-path');
  t.is(code(`${MD5}  usr//bin/x`), 'bad-path');
  t.is(code(`${MD5}  usr/bin/x\0y`), 'bad-path');
});

test('property: md5sums line parsing never throws, and a written line reads back', async (t) => {
  await checkProperty(t, fc.property(fc.string({ unit: 'binary', maxLength: 120 }), (line) => {
    const r = parseMd5sumsLine(line);
    return r.ok ? /^[0-9a-f]{32}$/.test(r.value.md5) && r.value.path.startsWith('/') : ['empty', 'bad-digest', 'bad-separator', 'bad-path'].includes(r.code);
  }), 3000);
  const component = fc.string({ unit: fc.constantFrom(...'abcxyz019._-+ ~\u00e9'), minLength: 1, maxLength: 8 }).filter((c) => c !== '.' && c !== '..' && c.trim() !== '');
  await checkProperty(t, fc.property(fc.stringMatching(/^[0-9a-fA-F]{32}$/), fc.array(component, { minLength: 1, maxLength: 5 }), fc.boolean(), (md5, parts, star) => {
    const r = parseMd5sumsLine(`${md5}${star ? ' *' : '  '}${parts.join('/')}`);
    return r.ok && r.value.md5 === md5.toLowerCase() && r.value.path === `/${parts.join('/')}`;
  }), 1000);
});

test('findInMd5sums finds the lines of the wanted paths only (not a path that merely contains the needle)', (t) => {
  const file = Buffer.from([
    `${'1'.repeat(32)}  usr/bin/bashbug`,
    `${'2'.repeat(32)}  bin/bash`,
    `${'3'.repeat(32)}  usr/share/doc/bin/bash`,
    `garbage bin/bash`,
    `${'4'.repeat(32)}  usr/bin/bash`,
  ].join('\n'));
  const r = findInMd5sums(file, Buffer.from('bin/bash'), new Set(['/bin/bash', '/usr/bin/bash']));
  t.deepEqual(r.found, [{ md5: '2'.repeat(32), path: '/bin/bash' }, { md5: '4'.repeat(32), path: '/usr/bin/bash' }], 'the last line has no newline and still counts');
  t.is(r.malformed, 1);
});

test('property: findInMd5sums agrees with splitting the file into lines and parsing each', async (t) => {
  const names = ['bin/bash', 'usr/bin/bash', 'usr/bin/bashbug', 'sbin/x', 'usr/sbin/x', 'bin/bash/y', 'a'];
  const line = fc.oneof(
    fc.tuple(fc.stringMatching(/^[0-9a-f]{32}$/), fc.constantFrom('  ', ' *', ' '), fc.constantFrom(...names)).map(([m, s, p]) => `${m}${s}${p}`),
    fc.string({ unit: fc.constantFrom(...'abin/ 0f\r'), maxLength: 40 }),
  );
  await checkProperty(t, fc.property(fc.array(line, { maxLength: 30 }), fc.constantFrom(...names), fc.boolean(), (lines, target, trailing) => {
    const text = lines.join('\n') + (trailing ? '\n' : '');
    const wanted = new Set([`/${target}`, `/usr/${target}`]);
    const got = findInMd5sums(Buffer.from(text, 'latin1'), Buffer.from(target), wanted).found;
    const naive = text.split('\n').map(parseMd5sumsLine).flatMap((r) => (r.ok && wanted.has(r.value.path) ? [r.value] : []));
    return JSON.stringify(got) === JSON.stringify(naive);
  }), 2000);
});

test('md5sums file names give the package and, for multi-arch packages, the architecture', (t) => {
  t.deepEqual(md5sumsPackage('bash.md5sums'), { package: 'bash', arch: null });
  t.deepEqual(md5sumsPackage('libc6:amd64.md5sums'), { package: 'libc6', arch: 'amd64' });
  t.is(md5sumsPackage('bash.list'), null);
  t.is(md5sumsPackage('.md5sums'), null);
  t.is(md5sumsPackage(':amd64.md5sums'), null);
  t.is(md5sumsPackage('libc6:.md5sums'), null);
});

test('diversions are triples; a local diversion has no package; incomplete or relative triples are counted', (t) => {
  const text = '/bin/sh\n/bin/sh.distrib\ndash\n/usr/bin/foo\n/usr/bin/foo.orig\n:\nrelative\n/x\np\n/trailing\n';
  t.deepEqual(parseDiversions(text), {
    diversions: [{ from: '/bin/sh', to: '/bin/sh.distrib', by: 'dash' }, { from: '/usr/bin/foo', to: '/usr/bin/foo.orig', by: null }],
    malformed: 2,
  });
  t.deepEqual(parseDiversions(''), { diversions: [], malformed: 0 });
});

test('property: the diversions parser never throws', async (t) => {
  await checkProperty(t, fc.property(fc.string({ unit: fc.constantFrom('/', 'a', '\n', ':', ' '), maxLength: 80 }), (text) => {
    const r = parseDiversions(text);
    return r.diversions.every((d) => d.from.startsWith('/') && d.to.startsWith('/')) && r.malformed >= 0;
  }), 1000);
});

test('status: the version of a package, of the right architecture for a multi-arch name', (t) => {
  const status = Buffer.from([
    'Package: bash-completion', 'Version: 1:2.11-6', '',
    'Package: libc6', 'Architecture: i386', 'Version: 2.36-9+deb12u3', '',
    'Package: libc6', 'Status: install ok installed', 'Architecture: amd64', 'Version: 2.36-9+deb12u4', 'Description: x', ' Version: 0', '',
    'Package: bash', 'Architecture: amd64', 'Version: 5.2.15-2+b7', '',
  ].join('\n'));
  t.is(statusVersion(status, 'bash', null), '5.2.15-2+b7');
  t.is(statusVersion(status, 'libc6', 'amd64'), '2.36-9+deb12u4');
  t.is(statusVersion(status, 'libc6', 'i386'), '2.36-9+deb12u3');
  t.is(statusVersion(status, 'libc6', 'arm64'), null);
  t.is(statusVersion(status, 'bash-', null), null);
  t.is(statusVersion(Buffer.from('XPackage: bash\nVersion: 1\n'), 'bash', null), null);
});
