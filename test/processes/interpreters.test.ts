// Shells and interpreters (agent/processes/interpreters.ts): which execs run inline code, read
// their code from stdin, or run a file; the table is the contract, the properties say the
// reader is total and reads options the way the programs do.
import test from 'ava';
import { INTERPRETERS, identify, inlineCode } from '../../agent/processes/interpreters.js';
import { checkProperty, fc } from '../helpers/property.js';

type Expect = 'inline' | 'stdin' | 'file' | 'other' | null;

/** [exe, argv, expected, family?, flag?] */
const CASES: Array<[string, string[], Expect, string?, string?]> = [
  // python
  ['/usr/bin/python3.11', ['python3', '-m', 'http.server'], 'other', 'python'],
  ['/usr/bin/python3.11', ['python3', '-c', 'x'], 'inline', 'python', '-c'],
  ['/usr/bin/python3.11', ['python3', 'script.py', '-c', 'x'], 'file', 'python'],
  ['/usr/bin/python3.11', ['python3', '-Ic', 'x'], 'inline', 'python', '-c'],
  ['/usr/bin/python3.11', ['python3', '-Sc', 'x'], 'inline', 'python', '-c'],
  ['/usr/bin/python3.11', ['python3', '-cimport os'], 'inline', 'python', '-c'],
  ['/usr/bin/python3.11', ['python3', '-u', '-W', 'ignore', '-X', 'dev', '-c', 'x'], 'inline', 'python', '-c'],
  ['/usr/bin/python3.11', ['python3', '-W', '-c', 'script.py'], 'file', 'python'],
  ['/usr/bin/python3.11', ['python3', '-c', 'x', '-m', 'y'], 'inline', 'python', '-c'],
  ['/usr/bin/python3.11', ['python3', '-m', 'pip', '-c', 'x'], 'other', 'python'],
  ['/usr/bin/python3.11', ['python3', '-c'], 'other', 'python'],
  ['/usr/bin/python3.11', ['python3'], 'stdin', 'python'],
  ['/usr/bin/python3.11', ['python3', '-'], 'stdin', 'python'],
  ['/usr/bin/python3.11', ['python3', '-u', '-'], 'stdin', 'python'],
  ['/usr/bin/python3.11', ['python3', '--', '-c'], 'file', 'python'],
  ['/usr/bin/python3.11', ['python3', '--check-hash-based-pycs', 'always', 'app.py'], 'file', 'python'],
  ['/usr/bin/python3', ['python3', '-c', 'x'], 'inline', 'python', '-c'],
  ['/usr/local/bin/python3.12d', ['python', '-c', 'x'], 'inline', 'python', '-c'],
  ['/opt/pypy/bin/pypy3.9', ['pypy3', '-c', 'x'], 'inline', 'python', '-c'],
  ['/usr/bin/python2.7', ['python2', '-c', 'x'], 'inline', 'python', '-c'],
  // shells
  ['/usr/bin/bash', ['bash', '-c', 'x'], 'inline', 'bash', '-c'],
  ['/usr/bin/bash', ['bash', 'script.sh', '-c', 'x'], 'file', 'bash'],
  ['/usr/bin/bash', ['bash', '-lc', 'x'], 'inline', 'bash', '-c'],
  ['/usr/bin/bash', ['bash', '-ic', 'x'], 'inline', 'bash', '-c'],
  ['/usr/bin/bash', ['bash', '-xc', 'x'], 'inline', 'bash', '-c'],
  ['/usr/bin/bash', ['bash', '-c', '-e', 'x'], 'inline', 'bash', '-c'],
  ['/usr/bin/bash', ['bash', '-o', 'pipefail', '-c', 'x'], 'inline', 'bash', '-c'],
  ['/usr/bin/bash', ['bash', '-o', 'c', 'script.sh'], 'file', 'bash'],
  ['/usr/bin/bash', ['bash', '-O', 'extglob', '-c', 'x'], 'inline', 'bash', '-c'],
  ['/usr/bin/bash', ['bash', '--norc', '--rcfile', '-c', 'script.sh'], 'file', 'bash'],
  ['/usr/bin/bash', ['bash', '--login', '-c', 'x'], 'inline', 'bash', '-c'],
  ['/usr/bin/bash', ['bash', '-c', '--', 'x'], 'inline', 'bash', '-c'],
  ['/usr/bin/bash', ['bash', '+c', 'script.sh'], 'file', 'bash'],
  ['/usr/bin/bash', ['bash', '-c'], 'other', 'bash'],
  ['/usr/bin/bash', ['bash'], 'stdin', 'bash'],
  ['/usr/bin/bash', ['-bash'], 'stdin', 'bash'],
  ['/usr/bin/bash', ['bash', '-i'], 'stdin', 'bash'],
  ['/usr/bin/bash', ['bash', '-s', 'a', 'b'], 'stdin', 'bash'],
  ['/usr/bin/bash', ['bash', '-', 'script.sh'], 'file', 'bash'],
  ['/usr/bin/bash', ['bash', '-'], 'stdin', 'bash'],
  ['/usr/bin/dash', ['sh', '-ec', 'x'], 'inline', 'sh', '-c'],
  ['/usr/bin/dash', ['sh', '-c', 'x'], 'inline', 'sh', '-c'],
  ['/usr/bin/dash', ['sh', '/docker-entrypoint.sh', 'nginx'], 'file', 'sh'],
  ['/usr/bin/zsh', ['zsh', '-c', 'x'], 'inline', 'zsh', '-c'],
  ['/usr/bin/zsh-5.9', ['zsh', '--emulate', 'sh', '-c', 'x'], 'inline', 'zsh', '-c'],
  ['/bin/mksh', ['ksh', '-c', 'x'], 'inline', 'ksh', '-c'],
  ['/usr/bin/ksh93', ['ksh', 'x.ksh'], 'file', 'ksh'],
  ['/usr/bin/tcsh', ['csh', '-fc', 'x'], 'inline', 'csh', '-c'],
  ['/usr/bin/tcsh', ['tcsh', '-b', '-c', 'x'], 'file', 'csh'],
  ['/usr/bin/fish', ['fish', '-c', 'x'], 'inline', 'fish', '-c'],
  ['/usr/bin/fish', ['fish', '--command=x'], 'inline', 'fish', '--command'],
  ['/usr/bin/fish', ['fish', '-l', 'script.fish'], 'file', 'fish'],
  // busybox applets
  ['/bin/busybox', ['sh', '-c', 'x'], 'inline', 'sh', '-c'],
  ['/bin/busybox', ['/bin/sh', '-c', 'x'], 'inline', 'sh', '-c'],
  ['/bin/busybox', ['-sh'], 'stdin', 'sh'],
  ['/bin/busybox', ['ash', 'script.sh'], 'file', 'sh'],
  ['/bin/busybox', ['busybox', 'sh', '-c', 'x'], 'inline', 'sh', '-c'],
  ['/bin/busybox', ['busybox', 'awk', '{print}'], 'inline', 'awk', 'program'],
  ['/bin/busybox', ['ls', '-c'], null],
  ['/bin/busybox', ['busybox', 'wget', '-c', 'x'], null],
  ['/bin/busybox', [], null],
  ['/bin/busybox.static', ['sh', '-c', 'x'], 'inline', 'sh', '-c'],
  // perl
  ['/usr/bin/perl', ['perl', '-e', 'x'], 'inline', 'perl', '-e'],
  ['/usr/bin/perl', ['perl', '-E', 'say 1'], 'inline', 'perl', '-E'],
  ['/usr/bin/perl', ['perl', '-ne', 'print', 'file'], 'inline', 'perl', '-e'],
  ['/usr/bin/perl', ['perl', '-lane', 'print $F[0]'], 'inline', 'perl', '-e'],
  ['/usr/bin/perl', ['perl', '-pi', '-e', 's/a/b/', 'f'], 'inline', 'perl', '-e'],
  ['/usr/bin/perl', ['perl', '-pie', 's/a/b/', 'f'], 'file', 'perl'],
  ['/usr/bin/perl', ['perl', '-0777', '-ne', 'x'], 'inline', 'perl', '-e'],
  ['/usr/bin/perl', ['perl', '-l0e', 'x'], 'inline', 'perl', '-e'],
  ['/usr/bin/perl', ['perl', '-MFoo', '-e', 'x'], 'inline', 'perl', '-e'],
  ['/usr/bin/perl', ['perl', '-I', 'lib', 'script.pl'], 'file', 'perl'],
  ['/usr/bin/perl', ['perl', 'script.pl', '-e', 'x'], 'file', 'perl'],
  ['/usr/bin/perl', ['perl', '-w', '-'], 'stdin', 'perl'],
  ['/usr/bin/perl5.36.0', ['perl', '-e', 'x'], 'inline', 'perl', '-e'],
  // ruby
  ['/usr/bin/ruby3.1', ['ruby', '-e', 'x'], 'inline', 'ruby', '-e'],
  ['/usr/bin/ruby3.1', ['ruby', '-rsocket', '-e', 'x'], 'inline', 'ruby', '-e'],
  ['/usr/bin/ruby3.1', ['ruby', '-r', 'socket', 'app.rb'], 'file', 'ruby'],
  ['/usr/bin/ruby3.1', ['ruby', '--enable', 'frozen-string-literal', 'app.rb'], 'file', 'ruby'],
  // node and friends
  ['/usr/bin/node', ['node', '-e', 'x'], 'inline', 'node', '-e'],
  ['/usr/bin/node', ['node', '--eval', 'x'], 'inline', 'node', '--eval'],
  ['/usr/bin/node', ['node', '--eval=x'], 'inline', 'node', '--eval'],
  ['/usr/bin/node', ['node', '-p', 'x'], 'inline', 'node', '-p'],
  ['/usr/bin/node', ['node', '--print', 'x'], 'inline', 'node', '--print'],
  ['/usr/bin/node', ['node', '-pe', 'x'], 'inline', 'node', '-pe'],
  ['/usr/bin/node', ['node', 'server.js', '-e', 'x'], 'file', 'node'],
  ['/usr/bin/node', ['node', '-r', 'dotenv/config', 'server.js'], 'file', 'node'],
  ['/usr/bin/node', ['node', '--require', '-e', 'server.js'], 'file', 'node'],
  ['/usr/bin/node', ['node', '--max-old-space-size=512', 'server.js'], 'file', 'node'],
  ['/usr/bin/node', ['node', '--', '-e'], 'file', 'node'],
  ['/usr/bin/node', ['node'], 'stdin', 'node'],
  ['/usr/bin/nodejs', ['nodejs', '-e', 'x'], 'inline', 'node', '-e'],
  ['/usr/local/bin/bun', ['bun', '--eval', 'x'], 'inline', 'node', '--eval'],
  ['/usr/bin/deno', ['deno', 'eval', 'x'], 'inline', 'deno', 'eval'],
  ['/usr/bin/deno', ['deno', 'run', '-A', 'main.ts'], 'file', 'deno'],
  ['/usr/bin/deno', ['deno', 'run', '-'], 'stdin', 'deno'],
  // php, lua, tcl, expect, pwsh
  ['/usr/bin/php8.2', ['php', '-r', 'x'], 'inline', 'php', '-r'],
  ['/usr/bin/php8.2', ['php', '-d', 'memory_limit=1G', 'artisan'], 'file', 'php'],
  ['/usr/bin/php8.2', ['php', '-f', 'index.php'], 'file', 'php'],
  ['/usr/bin/php8.2', ['php', '-R', 'echo $argn;'], 'inline', 'php', '-R'],
  ['/usr/bin/php8.2', ['php', '-S', '0.0.0.0:80'], 'other', 'php'],
  ['/usr/bin/lua5.4', ['lua', '-e', 'x'], 'inline', 'lua', '-e'],
  ['/usr/bin/lua5.4', ['lua', '-l', 'socket', 'x.lua'], 'file', 'lua'],
  ['/usr/bin/luajit-2.1.0-beta3', ['luajit', '-e', 'x'], 'inline', 'lua', '-e'],
  ['/usr/bin/luajit-2.1.0-beta3', ['luajit', '-b', 'in.lua', 'out.o'], 'other', 'lua'],
  ['/usr/bin/tclsh8.6', ['tclsh'], 'stdin', 'tcl'],
  ['/usr/bin/tclsh8.6', ['tclsh', 'x.tcl'], 'file', 'tcl'],
  ['/usr/bin/tclsh8.6', ['tclsh', '-encoding', 'utf-8', 'x.tcl'], 'file', 'tcl'],
  ['/usr/bin/expect', ['expect', '-c', 'spawn sh'], 'inline', 'expect', '-c'],
  ['/usr/bin/expect', ['expect', '-f', 'x.exp'], 'file', 'expect'],
  ['/usr/bin/pwsh', ['pwsh', '-NoProfile', '-Command', 'x'], 'inline', 'pwsh', '-Command'],
  ['/usr/bin/pwsh', ['pwsh', '-c', 'x'], 'inline', 'pwsh', '-Command'],
  ['/usr/bin/pwsh', ['pwsh', '-com', 'x'], 'inline', 'pwsh', '-Command'],
  ['/usr/bin/pwsh', ['pwsh', '-EncodedCommand', 'ZQBjAGgAbwA='], 'inline', 'pwsh', '-EncodedCommand'],
  ['/usr/bin/pwsh', ['pwsh', '-ec', 'ZQBjAGgAbwA='], 'inline', 'pwsh', '-EncodedCommand'],
  ['/usr/bin/pwsh', ['pwsh', '-cwa', 'x', 'a'], 'inline', 'pwsh', '-CommandWithArgs'],
  ['/usr/bin/pwsh', ['pwsh', '-ExecutionPolicy', 'Bypass', '-File', 'x.ps1'], 'file', 'pwsh'],
  ['/usr/bin/pwsh', ['pwsh', 'x.ps1', '-c', 'y'], 'file', 'pwsh'],
  ['/usr/bin/pwsh', ['pwsh', '-Command', '-'], 'stdin', 'pwsh'],
  ['/usr/bin/pwsh', ['pwsh', '-i'], 'stdin', 'pwsh'],
  // awk: program text is inline code unless it comes from a file
  ['/usr/bin/mawk', ['awk', '{print $1}', 'file'], 'inline', 'awk', 'program'],
  ['/usr/bin/mawk', ['awk', '-F:', '-v', 'x=1', '{print $1}'], 'inline', 'awk', 'program'],
  ['/usr/bin/gawk', ['gawk', '-f', 'prog.awk', 'file'], 'file', 'awk'],
  ['/usr/bin/gawk', ['gawk', '-f', 'prog.awk', '-e', 'BEGIN{}'], 'inline', 'awk', '-e'],
  ['/usr/bin/gawk', ['gawk', '--source=BEGIN{}'], 'inline', 'awk', '--source'],
  ['/usr/bin/gawk', ['gawk', '-f', '-'], 'stdin', 'awk'],
  ['/usr/bin/mawk', ['mawk', '-W', 'exec', 'prog.awk', 'x'], 'file', 'awk'],
  ['/usr/bin/mawk', ['awk'], 'other', 'awk'],
  // not interpreters
  ['/usr/bin/ls', ['ls', '-c'], null],
  ['/usr/bin/python3-config', ['python3-config', '-c'], null],
  ['/usr/bin/perldoc', ['perldoc', '-e'], null],
  ['/usr/bin/bashbug', ['bashbug'], null],
  ['/usr/bin/java', ['java', '-jar', 'app.jar'], null],
  ['/usr/bin/sed', ['sed', '-e', 's/a/b/'], null],
  ['', [], null],
];

for (const [exe, argv, expected, family, flag] of CASES) {
  test(`inlineCode: ${exe} ${JSON.stringify(argv)} -> ${expected ?? 'not an interpreter'}`, (t) => {
    const r = inlineCode(exe, argv);
    if (expected === null) {
      t.is(r, null);
      return;
    }
    t.truthy(r);
    t.is(r!.interpreter, family as string);
    t.is(r!.source as Expect, expected);
    t.is(r!.inline, expected === 'inline');
    t.is(r!.fromStdin, expected === 'stdin');
    t.is(r!.flag, expected === 'inline' ? flag : undefined);
  });
}

test('every family is found by its names, with and without a version suffix, and via busybox', (t) => {
  for (const spec of INTERPRETERS) {
    for (const name of spec.names) {
      for (const exe of [`/usr/bin/${name}`, `/usr/bin/${name}3`, `/usr/bin/${name}3.11`, `/usr/bin/${name}-2.1.0-beta3`, `/usr/bin/${name}5.36.0`]) {
        t.is(identify(exe, [name])?.spec.family, spec.family, exe);
      }
      t.is(identify('/bin/busybox', [name])?.spec.family, spec.family, `busybox ${name}`);
    }
  }
  // A name with another word after it is another program.
  for (const exe of ['/usr/bin/python3-config', '/usr/bin/perlbug', '/usr/bin/nodemon', '/usr/bin/shellcheck', '/usr/bin/bash-completion', '/usr/bin/sha256sum']) {
    t.is(identify(exe, []), null, exe);
  }
});

/** Words the readers react to, mixed into generated argv so the generator reaches them. */
const WORDS = [
  '-c', '-e', '-E', '-m', '-s', '-', '--', '-o', '-O', '-W', '-X', '-r', '-f', '-F', '-v', '-l', '-i', '-I', '-M', '-pe', '-p', '-S', '-b',
  '-Ic', '-ec', '-lc', '-ne', '-0777', '-l0', '-C', '-Command', '-c', '-EncodedCommand', '-File', '--eval', '--eval=x', '--print',
  '--source', '--file', '--exec', '--rcfile', '--command=x', '-encoding', 'eval', 'run', 'repl', '-W', 'exec', '+o', '+c', '-D', '',
  'x', 'script.py', '/dev/stdin',
];
const word = fc.oneof(fc.constantFrom(...WORDS), fc.string({ maxLength: 6 }), fc.string({ unit: 'binary', maxLength: 4 }));
const names = INTERPRETERS.flatMap((s) => s.names);
const exeArb = fc.oneof(
  fc.constantFrom(...names).map((n) => `/usr/bin/${n}`),
  fc.constantFrom(...names).map((n) => `/usr/bin/${n}3.11`),
  fc.constant('/bin/busybox'),
  fc.string({ maxLength: 12 }),
);

test('inlineCode never throws, on any executable and argv', async (t) => {
  await checkProperty(t, fc.property(exeArb, fc.array(word, { maxLength: 12 }), (exe, argv) => {
    const r = inlineCode(exe, argv);
    if (r === null) return true;
    // inline and fromStdin exclude each other; inline always names its flag.
    return r.inline === (r.source === 'inline') && r.fromStdin === (r.source === 'stdin')
      && (r.inline ? typeof r.flag === 'string' && r.flag.length > 0 : r.flag === undefined);
  }), 3000);
});

test('a code option after the script is the script\'s argument (every family that names a script)', async (t) => {
  const scriptFamilies = INTERPRETERS.filter((s) => s.syntax === 'getopt' || s.syntax === 'posix-shell');
  const script = fc.string({ minLength: 1, maxLength: 8 }).filter((s) => !s.startsWith('-') && !s.startsWith('+'));
  await checkProperty(t, fc.property(fc.constantFrom(...scriptFamilies), script, fc.array(word, { maxLength: 8 }), (spec, file, rest) => {
    const r = inlineCode(`/usr/bin/${spec.names[0]}`, [spec.names[0]!, file, ...rest]);
    return r !== null && r.source === 'file';
  }), 2000);
});

test('each family\'s documented code option, with code, is inline wherever the other options put it', async (t) => {
  const codeOf: Record<string, string[]> = {
    sh: ['-c'], bash: ['-c'], ksh: ['-c'], zsh: ['-c'], csh: ['-c'], fish: ['-c'], python: ['-c'], perl: ['-e'], ruby: ['-e'], node: ['-e'],
    php: ['-r'], lua: ['-e'], expect: ['-c'], pwsh: ['-Command'], deno: ['eval'], awk: ['--'],
  };
  /** Options that take nothing and change nothing here, per family. */
  const harmless: Record<string, string[]> = {
    sh: ['-e', '-x', '-u'], bash: ['-e', '-x', '-l', '--norc', '--login'], ksh: ['-e'], zsh: ['-e'], csh: ['-f'], fish: ['-l', '-i'],
    python: ['-u', '-I', '-S', '-B'], perl: ['-w', '-n', '-l', '-a'], ruby: ['-w', '-n'], node: ['--no-warnings', '--trace-warnings'],
    php: ['-n', '-q'], lua: ['-W'], expect: ['-d'], pwsh: ['-NoProfile', '-NonInteractive'], deno: ['-q'], awk: [],
  };
  const code = fc.string({ minLength: 1, maxLength: 8 }).filter((s) => !s.startsWith('-') && !s.startsWith('+'));
  await checkProperty(t, fc.property(fc.constantFrom(...INTERPRETERS.filter((s) => s.family !== 'tcl')), fc.nat(), code, (spec, n, code) => {
    const before = harmless[spec.family]!.slice(0, n % (harmless[spec.family]!.length + 1));
    const r = inlineCode(`/usr/bin/${spec.names[0]}`, [spec.names[0]!, ...before, ...codeOf[spec.family]!, code]);
    return r !== null && r.inline && r.interpreter === spec.family;
  }), 1000);
});
