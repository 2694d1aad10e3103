// The dynamic loader run directly (agent/processes/loader.ts): which program it loads, with
// the loader's own options skipped as glibc and musl skip them; null when that cannot be known.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { LOADERS, loadedProgram, loaderFlavour } from '../../agent/processes/loader.js';
import { checkProperty, fc } from '../helpers/property.js';

const GLIBC = '/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2';
const MUSL = '/lib/ld-musl-x86_64.so.1';

test('loaders are known by name, wherever they are; other files are not loaders', (t) => {
  for (const exe of [
    '/lib64/ld-linux-x86-64.so.2', '/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2', GLIBC, '/lib/ld-linux-aarch64.so.1',
    '/usr/lib/aarch64-linux-gnu/ld-linux-aarch64.so.1', '/lib/ld-linux-armhf.so.3', '/lib/ld-linux.so.2', '/lib64/ld64.so.2',
    '/lib/ld-linux-riscv64-lp64d.so.1', '/lib/x86_64-linux-gnu/ld-2.31.so', '/tmp/copy/ld-linux-x86-64.so.2',
  ]) t.is(loaderFlavour(exe), 'glibc', exe);
  for (const exe of [MUSL, '/lib/ld-musl-aarch64.so.1', '/lib/libc.musl-x86_64.so.1', '/usr/lib/x86_64-linux-musl/libc.so']) t.is(loaderFlavour(exe), 'musl', exe);
  for (const exe of ['/usr/bin/ld', '/usr/bin/ld.so', '/usr/lib/x86_64-linux-gnu/libc.so', '/lib/x86_64-linux-gnu/libc.so.6', '/usr/bin/ldd', '/usr/bin/ld.gold', '/etc/ld.so.cache', '']) {
    t.is(loaderFlavour(exe), null, exe);
    t.is(loadedProgram(exe, [exe, '/tmp/payload']), null, exe);
  }
});

/** [what, loader, argv after argv[0], cwd, program, argv of the program, mode, reason] */
const CASES: Array<[string, string, string[], string | null, string | null, string[], string, string?]> = [
  ['a program by absolute path', GLIBC, ['/tmp/payload', 'a', '-b'], null, '/tmp/payload', ['/tmp/payload', 'a', '-b'], 'run'],
  ['options before it are skipped', GLIBC, ['--inhibit-cache', '--library-path', '/x', '--preload', 'libz.so', '--audit', 'a.so', '--inhibit-rpath', 'l',
    '--glibc-hwcaps-prepend', 'x86-64-v3', '--glibc-hwcaps-mask', 'x', '/tmp/payload'], null, '/tmp/payload', ['/tmp/payload'], 'run'],
  ['--argv0 renames the program', GLIBC, ['--argv0', 'sshd', '/tmp/payload', 'x'], null, '/tmp/payload', ['sshd', 'x'], 'run'],
  ['an option value that looks like a program is the value', GLIBC, ['--library-path', '/tmp/payload', '/usr/bin/true'], null, '/usr/bin/true', ['/usr/bin/true'], 'run'],
  ['--list maps the program (ldd)', GLIBC, ['--list', '/tmp/payload'], null, '/tmp/payload', ['/tmp/payload'], 'list'],
  ['--verify', GLIBC, ['--verify', '/tmp/payload'], null, '/tmp/payload', ['/tmp/payload'], 'verify'],
  ['a relative path with the working directory', GLIBC, ['./payload'], '/var/tmp', '/var/tmp/payload', ['./payload'], 'run'],
  ['a relative path climbing out', GLIBC, ['../x/payload'], '/var/tmp', '/var/x/payload', ['../x/payload'], 'run'],
  ['a relative path without the working directory', GLIBC, ['./payload'], null, null, [], 'run', 'relative-without-cwd'],
  ['a relative working directory is no working directory', GLIBC, ['./payload'], 'tmp', null, [], 'run', 'relative-without-cwd'],
  ['glibc searches the library path for a bare name', GLIBC, ['payload'], '/tmp', null, [], 'run', 'library-search'],
  ['--help loads nothing', GLIBC, ['--help', '/tmp/payload'], null, null, [], 'run', 'no-program'],
  ['--version loads nothing', GLIBC, ['--version'], null, null, [], 'run', 'no-program'],
  ['--list-tunables loads nothing', GLIBC, ['--list-tunables'], null, null, [], 'run', 'no-program'],
  ['--list-diagnostics loads nothing', GLIBC, ['--list-diagnostics'], null, null, [], 'run', 'no-program'],
  ['no program at all', GLIBC, [], null, null, [], 'run', 'no-program'],
  ['an option without its value', GLIBC, ['--library-path'], null, null, [], 'run', 'refused-option'],
  ['glibc refuses --opt=value', GLIBC, ['--library-path=/x', '/tmp/payload'], null, null, [], 'run', 'refused-option'],
  ['glibc refuses --', GLIBC, ['--', '/tmp/payload'], null, null, [], 'run', 'refused-option'],
  ['glibc refuses an unknown option', GLIBC, ['--frobnicate', '/tmp/payload'], null, null, [], 'run', 'refused-option'],
  ['a single-dash word is a program name (searched)', GLIBC, ['-x'], '/tmp', null, [], 'run', 'library-search'],
  ['a single-dash path is the program', GLIBC, ['./-x'], '/tmp', '/tmp/-x', ['./-x'], 'run'],
  ['the loader loading a loader', GLIBC, ['/lib64/ld-linux-x86-64.so.2', '/tmp/payload'], null, null, [], 'run', 'loader-loads-loader'],
  ['a path is normalised as text', GLIBC, ['/tmp//x/../payload'], null, '/tmp/payload', ['/tmp//x/../payload'], 'run'],
  ['musl: a program by absolute path', MUSL, ['/tmp/payload', 'a'], null, '/tmp/payload', ['/tmp/payload', 'a'], 'run'],
  ['musl: options with = and with the next word', MUSL, ['--library-path=/x', '--preload', 'y.so', '--argv0=top', '/tmp/payload'], null, '/tmp/payload', ['top'], 'run'],
  ['musl: -- ends the options', MUSL, ['--', '--payload'], '/tmp', '/tmp/--payload', ['--payload'], 'run'],
  ['musl: a bare name is opened in the working directory', MUSL, ['payload'], '/tmp', '/tmp/payload', ['payload'], 'run'],
  ['musl: --list', MUSL, ['--list', '/tmp/payload'], null, '/tmp/payload', ['/tmp/payload'], 'list'],
  ['musl: an unknown option stops it', MUSL, ['--frob', '/tmp/payload'], null, null, [], 'run', 'refused-option'],
  ['musl: an option with a tail stops it', MUSL, ['--preloadx', '/tmp/payload'], null, null, [], 'run', 'refused-option'],
  ['musl: an option without its value', MUSL, ['--preload'], null, null, [], 'run', 'refused-option'],
  ['musl: nothing after the options', MUSL, ['--preload', 'x.so'], null, null, [], 'run', 'no-program'],
];

for (const [what, loader, args, cwd, program, argv, mode, reason] of CASES) {
  test(`loadedProgram: ${what}`, (t) => {
    const r = loadedProgram(loader, [loader, ...args], cwd);
    t.truthy(r);
    t.is(r!.loader, loader);
    t.is(r!.program, program);
    t.deepEqual(r!.argv, argv);
    t.is(r!.mode as string, mode);
    t.is(r!.reason as string | undefined, reason);
  });
}

test('musl run as ldd lists', (t) => {
  t.is(loadedProgram(MUSL, ['/usr/bin/ldd', '/tmp/payload'])?.mode, 'list');
});

const WORDS = ['--list', '--verify', '--library-path', '--preload', '--argv0', '--audit', '--help', '--', '--library-path=/x', '--argv0=z', '-', '',
  '/tmp/payload', './p', 'p', '../p', '/lib64/ld-linux-x86-64.so.2', '/tmp/../etc/x'];
const word = fc.oneof(fc.constantFrom(...WORDS), fc.string({ maxLength: 8 }));
const loaderArb = fc.oneof(fc.constantFrom(GLIBC, MUSL, '/lib/libc.musl-x86_64.so.1', '/usr/bin/true'), fc.string({ maxLength: 10 }));
const cwdArb = fc.oneof(fc.constant(null), fc.constant(undefined), fc.constantFrom('/', '/work', '/a/../b', 'rel'), fc.string({ maxLength: 8 }));

test('loadedProgram never throws; a program is absolute, normalised and never a loader; null always says why', async (t) => {
  await checkProperty(t, fc.property(loaderArb, fc.array(word, { maxLength: 10 }), cwdArb, (exe, args, cwd) => {
    const r = loadedProgram(exe, [exe, ...args], cwd);
    if (r === null) return loaderFlavour(exe) === null;
    if (r.program === null) return typeof r.reason === 'string' && r.argv.length === 0;
    return r.reason === undefined && r.program.startsWith('/') && !/\/\.\.?(\/|$)|\/\//.test(r.program)
      && loaderFlavour(r.program) === null && r.argv.length >= 1;
  }), 3000);
});

test('an absolute program after any run of known glibc options is that program', async (t) => {
  const opt = fc.oneof(
    fc.constantFrom('--list', '--verify', '--inhibit-cache').map((o) => [o]),
    fc.tuple(fc.constantFrom('--library-path', '--preload', '--audit', '--inhibit-rpath', '--argv0', '--glibc-hwcaps-mask'), fc.string({ maxLength: 6 })).map(([o, v]) => [o, v]),
  );
  const name = fc.stringMatching(/^\/[a-z0-9_]{1,8}(\/[a-z0-9_]{1,8}){0,3}$/);
  await checkProperty(t, fc.property(fc.array(opt, { maxLength: 6 }), name, fc.array(fc.string({ maxLength: 6 }), { maxLength: 4 }), (opts, program, rest) => {
    const r = loadedProgram(GLIBC, [GLIBC, ...opts.flat(), program, ...rest], null);
    return r?.program === program && r.argv.slice(1).join('\0') === rest.join('\0');
  }), 1000);
});

test('the real glibc loader runs the program loadedProgram names (and refuses what it refuses)', (t) => {
  if (!existsSync('/lib64/ld-linux-x86-64.so.2')) {
    t.pass('no x86-64 glibc loader on this machine');
    return;
  }
  const ld = '/lib64/ld-linux-x86-64.so.2';
  const run = (args: string[], cwd = '/') => spawnSync(ld, args, { cwd, encoding: 'utf8' });
  // Runs /bin/echo with its arguments: the program named after the options.
  const echo = run(['--inhibit-cache', '--library-path', '/nonexistent', '--argv0', 'renamed', '/bin/echo', 'hello']);
  t.is(echo.status, 0);
  t.is(echo.stdout, 'hello\n');
  t.like(loadedProgram(ld, [ld, '--inhibit-cache', '--library-path', '/nonexistent', '--argv0', 'renamed', '/bin/echo', 'hello']), { program: '/bin/echo', argv: ['renamed', 'hello'] });
  // Refused: --opt=value and an unknown option; loadedProgram has no program for either.
  for (const args of [['--library-path=/x', '/bin/true'], ['--frobnicate', '/bin/true']]) {
    t.not(run(args).status, 0, args.join(' '));
    t.is(loadedProgram(ld, [ld, ...args])?.reason, 'refused-option');
  }
  // A bare name is searched on the library path, not in the working directory.
  t.not(run(['true'], '/bin').status, 0);
  t.is(loadedProgram(ld, [ld, 'true'], '/bin')?.reason, 'library-search');
  // A relative path is opened in the working directory.
  t.is(run(['./true'], '/bin').status, 0);
  t.is(loadedProgram(ld, [ld, './true'], '/bin')?.program, '/bin/true');
});

test('the loader table has examples its patterns match', (t) => {
  for (const l of LOADERS) for (const e of l.examples) t.is(loaderFlavour(e.startsWith('/') ? e : `/lib/${e}`), l.flavour, e);
});
