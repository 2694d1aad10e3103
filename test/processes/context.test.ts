// Context on learned programs (agent/processes/context.ts), as a table: reverse shells only on
// inet/inet6 stdio, inline code only when the baseline never learned it, the loader judged by
// the program it loads, setuid shown with both uids.
import test from 'ava';
import { judgeContext, type ContextInput } from '../../agent/processes/context.js';
import type { StdioFact, StdioFacts } from '../../agent/processes/stdio.js';
import { PROC_INLINE_CODE_CHECK, PROC_REVERSE_SHELL_CHECK } from '../../proto/process-checks.js';
import { checkProperty, fc } from '../helpers/property.js';

const TTY: StdioFact = { kind: 'chardev' };
const NUL: StdioFact = { kind: 'chardev' };
const TCP: StdioFact = { kind: 'socket', family: 'inet' };
const TCP6: StdioFact = { kind: 'socket', family: 'inet6' };
const UNIX: StdioFact = { kind: 'socket', family: 'unix' };
const SOCK: StdioFact = { kind: 'socket' };
const PIPE: StdioFact = { kind: 'pipe' };
const FILE: StdioFact = { kind: 'file' };
const TERM: StdioFacts = [TTY, TTY, TTY];

const RS = PROC_REVERSE_SHELL_CHECK.id;
const IC = PROC_INLINE_CODE_CHECK.id;

const base = (exe: string, argv: string[], stdio: StdioFacts | null = TERM): ContextInput => ({ exe, argv, stdio, uid: 1000, euid: 1000 });

/** [what, input, learnedInline, expected check ids, judged program] */
const CASES: Array<[string, ContextInput, boolean, string[], string | null]> = [
  ['bash -i with stdin/stdout/stderr on TCP (the /dev/tcp reverse shell)', base('/usr/bin/bash', ['bash', '-i'], [TCP, TCP, TCP]), false, [RS], '/usr/bin/bash'],
  ['the same, learned inline: still a reverse shell', base('/usr/bin/bash', ['bash', '-i'], [TCP, TCP, TCP]), true, [RS], '/usr/bin/bash'],
  ['sh with only stdout on TCP over IPv6', base('/usr/bin/dash', ['sh'], [TTY, TCP6, TTY]), true, [RS], '/usr/bin/dash'],
  ['python with stderr on TCP', base('/usr/bin/python3.11', ['python3', 'app.py'], [NUL, NUL, TCP]), true, [RS], '/usr/bin/python3.11'],
  ['bash -c with stdout on TCP, inline never learned: both', base('/usr/bin/bash', ['bash', '-c', 'id'], [NUL, TCP, TCP]), false, [RS, IC], '/usr/bin/bash'],
  ['a systemd service: stdout and stderr on journald\'s unix socket', base('/usr/bin/bash', ['bash', '/usr/lib/x/run.sh'], [NUL, UNIX, UNIX]), false, [], '/usr/bin/bash'],
  ['a shell in a pipeline', base('/usr/bin/dash', ['sh', 'x.sh'], [PIPE, PIPE, FILE]), false, [], '/usr/bin/dash'],
  ['a socket of unknown family is not a reverse shell', base('/usr/bin/dash', ['sh', 'x.sh'], [SOCK, SOCK, SOCK]), false, [], '/usr/bin/dash'],
  ['stdio not known', base('/usr/bin/bash', ['bash', 'x.sh'], null), false, [], '/usr/bin/bash'],
  ['a non-interpreter on TCP (a web server\'s own socket) is none of this', base('/usr/sbin/nginx', ['nginx'], [TCP, TCP, TCP]), false, [], '/usr/sbin/nginx'],
  ['python3 -c, never learned', base('/usr/bin/python3.11', ['python3', '-c', 'import socket']), false, [IC], '/usr/bin/python3.11'],
  ['python3 -c, learned', base('/usr/bin/python3.11', ['python3', '-c', 'import socket']), true, [], '/usr/bin/python3.11'],
  ['python3 -m is not inline', base('/usr/bin/python3.11', ['python3', '-m', 'http.server']), false, [], '/usr/bin/python3.11'],
  ['python3 script.py -c is the script\'s -c', base('/usr/bin/python3.11', ['python3', 'script.py', '-c', 'x']), false, [], '/usr/bin/python3.11'],
  ['sh -ec, never learned', base('/usr/bin/dash', ['sh', '-ec', 'x']), false, [IC], '/usr/bin/dash'],
  ['busybox sh -c, never learned', base('/bin/busybox', ['sh', '-c', 'x']), false, [IC], '/bin/busybox'],
  ['python reading code from stdin on a unix socket, never learned', base('/usr/bin/python3.11', ['python3', '-'], [UNIX, NUL, NUL]), false, [IC], '/usr/bin/python3.11'],
  ['python reading code from stdin on a pipe is not inline', base('/usr/bin/python3.11', ['python3'], [PIPE, NUL, NUL]), false, [], '/usr/bin/python3.11'],
  ['an interactive shell on a terminal is not inline', base('/usr/bin/bash', ['-bash'], TERM), false, [], '/usr/bin/bash'],
  ['code on stdin from TCP is the reverse shell, reported once', base('/usr/bin/python3.11', ['python3'], [TCP, NUL, NUL]), false, [RS], '/usr/bin/python3.11'],
  ['the loader running a fresh binary is judged as that binary', base('/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2', ['/lib64/ld-linux-x86-64.so.2', '/tmp/payload'], [TCP, TCP, TCP]), false, [], '/tmp/payload'],
  ['the loader running bash on TCP: a reverse shell', base('/lib64/ld-linux-x86-64.so.2', ['ld.so', '/usr/bin/bash', '-i'], [TCP, TCP, TCP]), true, [RS], '/usr/bin/bash'],
  ['the loader running python -c: inline code of python', base('/lib64/ld-linux-x86-64.so.2', ['ld.so', '--argv0', 'python3', '/usr/bin/python3.11', '-c', 'x']), false, [IC], '/usr/bin/python3.11'],
  ['the loader with a program it searches for: unknown', base('/lib64/ld-linux-x86-64.so.2', ['ld.so', 'payload']), false, [], null],
  ['the loader with a relative program and the cwd', { ...base('/lib64/ld-linux-x86-64.so.2', ['ld.so', './payload']), cwd: '/tmp' }, false, [], '/tmp/payload'],
];

for (const [what, input, learnedInline, checks, program] of CASES) {
  test(`judgeContext: ${what}`, (t) => {
    const v = judgeContext(input, { learnedInline });
    t.deepEqual(v.findings.map((f) => f.checkId), checks);
    t.is(v.program, program);
    for (const f of v.findings) {
      t.is(f.severity, f.checkId === RS ? 'critical' : 'medium');
      t.is(f.program, program!);
      t.true(f.reason.length > 0);
    }
  });
}

test('a reverse shell names the fds on the network and their family', (t) => {
  const v = judgeContext(base('/usr/bin/bash', ['bash', '-i'], [TCP, TCP, UNIX]), { learnedInline: true });
  t.like(v.findings[0], { checkId: RS, interpreter: 'bash', fds: [0, 1] });
  t.regex(v.findings[0]!.reason, /stdin, stdout on an inet socket/);
});

test('inline code names its flag; code from a socket on stdin says stdin', (t) => {
  t.like(judgeContext(base('/usr/bin/python3.11', ['python3', '-Ic', 'x']), { learnedInline: false }).findings[0], { checkId: IC, flag: '-c', interpreter: 'python' });
  t.like(judgeContext(base('/usr/bin/perl', ['perl', '-lne', 'x']), { learnedInline: false }).findings[0], { checkId: IC, flag: '-e', interpreter: 'perl' });
  t.like(judgeContext(base('/usr/bin/python3.11', ['python3'], [UNIX, NUL, NUL]), { learnedInline: false }).findings[0], { checkId: IC, flag: 'stdin' });
});

test('the verdict says whether this exec runs inline code, for learning, whatever was learned', (t) => {
  t.true(judgeContext(base('/usr/bin/python3.11', ['python3', '-c', 'x']), { learnedInline: true }).inline);
  t.true(judgeContext(base('/usr/bin/python3.11', ['python3'], [UNIX, NUL, NUL]), { learnedInline: true }).inline);
  t.false(judgeContext(base('/usr/bin/python3.11', ['python3'], [PIPE, NUL, NUL]), { learnedInline: true }).inline);
  t.false(judgeContext(base('/usr/bin/python3.11', ['python3', '-m', 'x']), { learnedInline: false }).inline);
  t.false(judgeContext(base('/usr/bin/true', ['true']), { learnedInline: false }).inline);
});

test('learnedInline may be asked with the judged program and its family (the loader\'s program, not the loader)', (t) => {
  const asked: string[] = [];
  const v = judgeContext(base('/lib64/ld-linux-x86-64.so.2', ['ld.so', '/usr/bin/python3.11', '-c', 'x']), {
    learnedInline: (program, family) => {
      asked.push(`${program} ${family}`);
      return program === '/usr/bin/python3.11';
    },
  });
  t.deepEqual(asked, ['/usr/bin/python3.11 python']);
  t.deepEqual(v.findings, []);
  t.like(v.loader, { program: '/usr/bin/python3.11', flavour: 'glibc' });
  t.like(v.interpreter, { interpreter: 'python', inline: true });
});

test('setuid: both uids when they differ and both are known', (t) => {
  const run = (uid: number, euid: number) => judgeContext({ ...base('/tmp/rootshell', ['x']), uid, euid }, { learnedInline: false }).setuid;
  t.deepEqual(run(65534, 0), { uid: 65534, euid: 0 });
  t.deepEqual(run(0, 1000), { uid: 0, euid: 1000 });
  t.is(run(1000, 1000), null);
  t.is(run(-1, 0), null);
  t.is(run(1000, -1), null);
  // Setuid is shown for interpreters too, alongside their findings.
  const v = judgeContext({ ...base('/usr/bin/bash', ['bash', '-p'], [TCP, TCP, TCP]), uid: 65534, euid: 0 }, { learnedInline: true });
  t.deepEqual(v.setuid, { uid: 65534, euid: 0 });
  t.deepEqual(v.findings.map((f) => f.checkId), [RS]);
});

const fact = fc.oneof(
  fc.constantFrom<StdioFact>(TTY, TCP, TCP6, UNIX, SOCK, PIPE, FILE, { kind: 'none' }, { kind: 'unknown' }, { kind: 'other' }, { kind: 'socket', family: 'other' }),
);
const stdioArb = fc.oneof(fc.constant(null), fc.tuple(fact, fact, fact) as fc.Arbitrary<StdioFacts>);

test('judgeContext never throws; a reverse shell exactly when an interpreter has an inet/inet6 fd', async (t) => {
  const exes = ['/usr/bin/bash', '/usr/bin/python3.11', '/bin/busybox', '/usr/bin/true', '/lib64/ld-linux-x86-64.so.2', '/usr/bin/node', ''];
  const word = fc.oneof(fc.constantFrom('-c', '-e', '-m', '-', '--', 'x', '/usr/bin/bash', '/tmp/p', 'sh', '--argv0', '-i'), fc.string({ maxLength: 5 }));
  await checkProperty(t, fc.property(fc.constantFrom(...exes), fc.array(word, { maxLength: 8 }), stdioArb, fc.boolean(), fc.integer({ min: -1, max: 70000 }), fc.integer({ min: -1, max: 70000 }),
    (exe, argv, stdio, learned, uid, euid) => {
      const v = judgeContext({ exe, argv, stdio, uid, euid, cwd: '/w' }, { learnedInline: learned });
      const inet = stdio !== null && stdio.some((f) => f.kind === 'socket' && (f.family === 'inet' || f.family === 'inet6'));
      const rs = v.findings.some((f) => f.checkId === RS);
      const ic = v.findings.some((f) => f.checkId === IC);
      return rs === (v.interpreter !== null && inet) && (!ic || (!learned && v.inline)) && (v.setuid === null) === (uid < 0 || euid < 0 || uid === euid);
    }), 3000);
});
