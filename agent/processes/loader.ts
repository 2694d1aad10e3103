// The dynamic loader run as a program (pure): `/lib64/ld-linux-x86-64.so.2 /tmp/payload` runs
// /tmp/payload while the exec shows the learned loader. The judge asks `loadedProgram` which
// program the loader loads and judges that program instead. Loaders are known by the name of
// the file (LOADERS, data; docs/interpreters.md lists them), wherever it lives: /lib64,
// /lib, /usr/lib/<triplet> (merged /usr), or a copy elsewhere.
//
// The loader's own options are skipped as the loader reads them:
//   - glibc (2.36 here): exact words only; `--list`, `--verify`, `--inhibit-cache`,
//     `--list-tunables`, `--list-diagnostics`, `--help`, `--version` alone; `--library-path`,
//     `--inhibit-rpath`, `--audit`, `--preload`, `--argv0`, `--glibc-hwcaps-prepend`,
//     `--glibc-hwcaps-mask` with the next word. Any other word starting with `--` (even `--`
//     and `--library-path=X`) is refused and nothing runs. A program named without a `/` is
//     searched on the library path (`ld.so libc.so.6` runs /lib/x86_64-linux-gnu/libc.so.6),
//     which a pure function cannot follow.
//   - musl: `--` ends the options; `--list`; `--library-path`, `--preload`, `--argv0` with the
//     next word or `=value`; anything else starting with `--` stops it. The program is opened
//     as named, relative to the working directory.
// When the program cannot be known (printed help, a refused option, a library-path search, a
// relative path without the working directory) `program` is null and `reason` says why: the
// judge treats that exec as unexpected.
import { posix } from 'node:path';
import { basename } from './interpreters.js';

export type LoaderFlavour = 'glibc' | 'musl';

export interface LoaderPattern {
  /** Matches the loader file's basename. */
  readonly name: RegExp;
  /** When set, the full path must match too (musl's libc.so is its loader; glibc's libc.so is not). */
  readonly path?: RegExp;
  readonly flavour: LoaderFlavour;
  /** Examples and a note, for docs/interpreters.md. */
  readonly examples: readonly string[];
  readonly note?: string;
}

export const LOADERS: readonly LoaderPattern[] = [
  { name: /^ld-linux(?:-[a-z0-9_]+)*\.so\.\d+$/, flavour: 'glibc', examples: ['ld-linux-x86-64.so.2', 'ld-linux-aarch64.so.1', 'ld-linux-armhf.so.3', 'ld-linux.so.2'] },
  { name: /^ld64\.so\.\d+$/, flavour: 'glibc', examples: ['ld64.so.2', 'ld64.so.1'], note: 'ppc64le, s390x' },
  { name: /^ld\.so\.\d+$/, flavour: 'glibc', examples: ['ld.so.1'] },
  { name: /^ld-\d+(?:\.\d+)+\.so$/, flavour: 'glibc', examples: ['ld-2.31.so'], note: 'glibc before 2.34 names the file by its version' },
  { name: /^ld-lsb(?:-[a-z0-9_]+)*\.so\.\d+$/, flavour: 'glibc', examples: ['ld-lsb-x86-64.so.3'] },
  { name: /^ld-musl-[a-z0-9_]+\.so\.1$/, flavour: 'musl', examples: ['ld-musl-x86_64.so.1', 'ld-musl-aarch64.so.1'] },
  { name: /^libc\.musl-[a-z0-9_]+\.so\.1$/, flavour: 'musl', examples: ['libc.musl-x86_64.so.1'], note: 'Alpine: ld-musl-*.so.1 links to it' },
  { name: /^libc\.so$/, path: /musl/, flavour: 'musl', examples: ['/usr/lib/x86_64-linux-musl/libc.so'], note: 'Debian\'s musl; only under a path naming musl' },
];

/** The loader's flavour when `exe` is a dynamic loader, else null. */
export function loaderFlavour(exe: string): LoaderFlavour | null {
  const base = basename(String(exe ?? ''));
  for (const l of LOADERS) if (l.name.test(base) && (l.path === undefined || l.path.test(exe))) return l.flavour;
  return null;
}

export type LoaderReason =
  /** Nothing is loaded: help, version, tunables, or no program word at all. */
  | 'no-program'
  /** The loader refuses an option it does not know (or one missing its value): nothing runs. */
  | 'refused-option'
  /** glibc searches the library path for a name without a `/`: unknowable without the filesystem. */
  | 'library-search'
  /** A relative path and no working directory to resolve it against. */
  | 'relative-without-cwd'
  /** The loader is asked to load a loader. */
  | 'loader-loads-loader';

export interface LoadedProgram {
  /** The loader, as exec'd. */
  readonly loader: string;
  readonly flavour: LoaderFlavour;
  /** The program's absolute path, or null when it cannot be known (see reason). */
  readonly program: string | null;
  /** The program's argv as the loader hands it over (argv[0] is the program as named, or --argv0's). Empty when program is null. */
  readonly argv: readonly string[];
  /** `list`/`verify`: the program is mapped and its libraries listed (ldd), not run. */
  readonly mode: 'run' | 'list' | 'verify';
  readonly reason?: LoaderReason;
}

const GLIBC_ALONE = new Set(['--list', '--verify', '--inhibit-cache', '--list-tunables', '--list-diagnostics', '--help', '--version']);
const GLIBC_WITH_VALUE = new Set(['--library-path', '--inhibit-rpath', '--audit', '--preload', '--argv0', '--glibc-hwcaps-prepend', '--glibc-hwcaps-mask']);
const GLIBC_PRINTS = new Set(['--list-tunables', '--list-diagnostics', '--help', '--version']);
const MUSL_WITH_VALUE = ['library-path', 'preload', 'argv0'] as const;

interface Parsed {
  readonly index: number | null;
  readonly argv0: string | null;
  readonly mode: LoadedProgram['mode'];
  readonly reason?: LoaderReason;
}

function parseGlibc(args: readonly string[]): Parsed {
  let mode: LoadedProgram['mode'] = 'run';
  let argv0: string | null = null;
  for (let i = 0; i < args.length; i++) {
    const a = String(args[i]);
    if (GLIBC_PRINTS.has(a)) return { index: null, argv0, mode, reason: 'no-program' };
    if (GLIBC_ALONE.has(a)) {
      if (a === '--list') mode = 'list';
      else if (a === '--verify') mode = 'verify';
      continue;
    }
    if (GLIBC_WITH_VALUE.has(a)) {
      // Without its value, glibc takes the option word for the program name and refuses it.
      if (i + 1 >= args.length) return { index: null, argv0, mode, reason: 'refused-option' };
      if (a === '--argv0') argv0 = String(args[i + 1]);
      i++;
      continue;
    }
    if (a.startsWith('--')) return { index: null, argv0, mode, reason: 'refused-option' };
    return { index: i, argv0, mode };
  }
  return { index: null, argv0, mode, reason: 'no-program' };
}

function parseMusl(args: readonly string[], ldname: string): Parsed {
  let mode: LoadedProgram['mode'] = ldname.endsWith('ldd') ? 'list' : 'run';
  let argv0: string | null = null;
  let i = 0;
  for (; i < args.length; i++) {
    const a = String(args[i]);
    if (!a.startsWith('--')) break;
    const opt = a.slice(2);
    if (opt === '') {
      i++;
      break;
    }
    if (opt === 'list') {
      mode = 'list';
      continue;
    }
    const known = MUSL_WITH_VALUE.find((o) => opt.startsWith(o));
    if (known === undefined) return { index: null, argv0, mode, reason: 'refused-option' };
    const rest = opt.slice(known.length);
    if (rest.startsWith('=')) {
      if (known === 'argv0') argv0 = rest.slice(1);
      continue;
    }
    if (rest !== '' || i + 1 >= args.length) return { index: null, argv0, mode, reason: 'refused-option' };
    if (known === 'argv0') argv0 = String(args[i + 1]);
    i++;
  }
  return i < args.length ? { index: i, argv0, mode } : { index: null, argv0, mode, reason: 'no-program' };
}

/**
 * The program a directly-run dynamic loader loads, or null when `exe` is not a loader. Pure:
 * a relative path is resolved against `cwd` as text (the process's working directory, as
 * /proc/<pid>/cwd or the eBPF record gives it), never on the filesystem.
 */
export function loadedProgram(exe: string, argv: readonly string[], cwd?: string | null): LoadedProgram | null {
  const flavour = loaderFlavour(String(exe ?? ''));
  if (flavour === null) return null;
  const words = Array.isArray(argv) ? argv : [];
  const args = words.slice(1);
  const parsed = flavour === 'glibc' ? parseGlibc(args) : parseMusl(args, String(words[0] ?? ''));
  const none = (reason: LoaderReason): LoadedProgram => ({ loader: exe, flavour, program: null, argv: [], mode: parsed.mode, reason });
  if (parsed.index === null) return none(parsed.reason ?? 'no-program');
  const named = String(args[parsed.index]);
  if (named === '') return none('no-program');
  let program: string;
  if (named.startsWith('/')) program = posix.normalize(named);
  else if (flavour === 'glibc' && !named.includes('/')) return none('library-search');
  else if (typeof cwd === 'string' && cwd.startsWith('/')) program = posix.resolve(cwd, named);
  else return none('relative-without-cwd');
  if (loaderFlavour(program) !== null) return none('loader-loads-loader');
  return { loader: exe, flavour, program, argv: [parsed.argv0 ?? named, ...args.slice(parsed.index + 1).map(String)], mode: parsed.mode };
}

/** The loaders' rows of docs/interpreters.md. */
export function loadersMarkdown(): string {
  return [
    '| Loader files (by name, wherever they are) | Flavour | Note |',
    '|---|---|---|',
    ...LOADERS.map((l) => `| ${l.examples.map((e) => `\`${e}\``).join(', ')} | ${l.flavour} | ${l.note ?? ''} |`),
  ].join('\n');
}
