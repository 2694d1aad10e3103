// Shells and interpreters: programs that run code handed to them on the command line or on
// stdin (pure). The list is data (INTERPRETERS, rendered into docs/interpreters.md); each entry
// names the executables, the family reported, and the option syntax its command line is read
// with. `inlineCode(exe, argv)` says whether one exec runs inline code (`python3 -c`, `perl -e`,
// `sh -c`, awk's program text), reads its code from stdin (no script named, or `-`), or runs a
// file or a module (`python3 -m http.server`).
//
// The command line is read the way the program reads it: options up to the first operand, so
// `python3 script.py -c` runs script.py (the -c is the script's), and clustered short options
// (`sh -ec`, `python3 -Ic`, `perl -lne`) are taken apart letter by letter. A code option without
// its code (`python3 -c` alone) is refused by the program, runs nothing, and is not inline.
//
// What is not on the list, and why: java (code comes from class files and jars; `java Foo.java`
// names a file), sed, find, vim, gdb and other programs that can run commands as a side feature
// (GTFOBins-style escapes are beyond "an interpreter given code"), R (rare on nodes).

export type InterpreterKind = 'shell' | 'interpreter';

/** How a command line is read (one reader per syntax, below). */
export type OptionSyntax = 'posix-shell' | 'getopt' | 'awk' | 'tcl' | 'pwsh' | 'deno';

/** Options of the getopt-style and posix-shell readers. Letters are single characters. */
export interface OptionTable {
  /** Short options whose argument is inline code (attached, `-cCODE`, or the next word). */
  readonly codeShort?: string;
  /** Long options (without `--`) whose argument is inline code (`--eval CODE`, `--eval=CODE`). */
  readonly codeLong?: readonly string[];
  /** Inline code ends the options: what follows is the code's argv (python -c). */
  readonly codeEndsOptions?: boolean;
  /** Short options that take an argument, attached or the next word. */
  readonly argShort?: string;
  /** Short options that take the rest of the word, if any, as their argument (perl -i.bak). */
  readonly restShort?: string;
  /** Short options that take an attached argument of these characters only (perl -l0, -0777). */
  readonly charsetShort?: Readonly<Record<string, string>>;
  /** Long options (without `--`) that take an argument (`--opt X` or `--opt=X`). */
  readonly argLong?: readonly string[];
  /** Short options that take an argument and run something else: a module, a server (python -m, php -S). */
  readonly otherShort?: string;
  /** Short options whose argument is the script file (php -f, expect -f); `-` there is stdin. */
  readonly fileShort?: string;
  /** Short options that end the options (tcsh -b). */
  readonly endShort?: string;
  /** Whole words that stand for a code option (node's `-pe`). */
  readonly codeWords?: readonly string[];
  /** Short options come one per word (node): `-abc` is one unknown option, not three. */
  readonly noClusters?: boolean;
  /** posix-shell: the letter that makes the first operand the code (`c`), and the one that reads stdin (`s`). */
  readonly commandLetter?: string;
  readonly stdinLetter?: string;
  /** awk: options naming a program file (their presence means no program text operand). */
  readonly progFileShort?: string;
  readonly progFileLong?: readonly string[];
}

export interface InterpreterSpec {
  /** The family reported: one name for a language's executables (python3.11 and pypy3 are both python). */
  readonly family: string;
  readonly kind: InterpreterKind;
  /** Executable basenames; each also matches with a version suffix (python3.11, perl5.36.0, luajit-2.1.0-beta3). */
  readonly names: readonly string[];
  readonly syntax: OptionSyntax;
  readonly options: OptionTable;
  /** How inline code is given, in words (docs/interpreters.md). */
  readonly inline: string;
  /** How code comes from stdin, in words. */
  readonly stdin: string;
}

const SH_STDIN = 'no operand (or `-s`): commands are read from stdin';

export const INTERPRETERS: readonly InterpreterSpec[] = [
  {
    family: 'sh', kind: 'shell', names: ['sh', 'dash', 'ash', 'hush', 'posh', 'yash'], syntax: 'posix-shell',
    options: { commandLetter: 'c', stdinLetter: 's', argShort: 'o' },
    inline: '`-c` anywhere among the options (`-ec`, `-c -e`): the first operand is the code', stdin: SH_STDIN,
  },
  {
    family: 'bash', kind: 'shell', names: ['bash', 'rbash', 'bash-static'], syntax: 'posix-shell',
    options: { commandLetter: 'c', stdinLetter: 's', argShort: 'oO', argLong: ['rcfile', 'init-file'] },
    inline: '`-c` anywhere among the options (`-lc`, `-ic`, `-xc`): the first operand is the code', stdin: SH_STDIN,
  },
  {
    family: 'ksh', kind: 'shell', names: ['ksh', 'mksh', 'mksh-static', 'lksh', 'pdksh', 'oksh', 'loksh'], syntax: 'posix-shell',
    options: { commandLetter: 'c', stdinLetter: 's', argShort: 'oT' },
    inline: '`-c` among the options: the first operand is the code', stdin: SH_STDIN,
  },
  {
    family: 'zsh', kind: 'shell', names: ['zsh'], syntax: 'posix-shell',
    options: { commandLetter: 'c', stdinLetter: 's', argShort: 'o', argLong: ['emulate'] },
    inline: '`-c` among the options: the first operand is the code', stdin: SH_STDIN,
  },
  {
    family: 'csh', kind: 'shell', names: ['csh', 'tcsh', 'bsd-csh'], syntax: 'posix-shell',
    options: { commandLetter: 'c', stdinLetter: 's', restShort: 'D', endShort: 'b' },
    inline: '`-c` among the options: the first operand is the code', stdin: SH_STDIN,
  },
  {
    family: 'fish', kind: 'shell', names: ['fish'], syntax: 'getopt',
    options: {
      codeShort: 'cC', codeLong: ['command', 'init-command'], argShort: 'dfopD',
      argLong: ['debug', 'features', 'debug-output', 'profile', 'profile-startup', 'debug-stack-frames'],
    },
    inline: '`-c CODE`, `--command=CODE`, `-C`/`--init-command CODE`', stdin: 'no script named: commands are read from stdin',
  },
  {
    family: 'python', kind: 'interpreter', names: ['python', 'pypy'], syntax: 'getopt',
    options: { codeShort: 'c', codeEndsOptions: true, argShort: 'WXQ', otherShort: 'm', argLong: ['check-hash-based-pycs'] },
    inline: '`-c CODE`, also clustered (`-Ic`, `-Sc`, `-cCODE`); `-m MODULE` is not inline', stdin: 'no script named, or `-`',
  },
  {
    family: 'perl', kind: 'interpreter', names: ['perl'], syntax: 'getopt',
    options: {
      codeShort: 'eE', argShort: 'IMm', restShort: 'iFxdDV',
      charsetShort: { l: '01234567', 0: '0123456789abcdefABCDEFxX', C: '0123456789IOESiosDAaL' },
    },
    inline: '`-e CODE`/`-E CODE`, also clustered (`-ne`, `-lane`, `-pi -e`)', stdin: 'no script named, or `-`',
  },
  {
    family: 'ruby', kind: 'interpreter', names: ['ruby'], syntax: 'getopt',
    options: {
      codeShort: 'e', argShort: 'CIrE', restShort: 'FixWKT', charsetShort: { 0: '01234567' },
      argLong: ['enable', 'disable', 'encoding', 'external-encoding', 'internal-encoding', 'dump', 'backtrace-limit', 'crash-report', 'parser'],
    },
    inline: '`-e CODE`, also clustered (`-ne`)', stdin: 'no script named, or `-`',
  },
  {
    family: 'node', kind: 'interpreter', names: ['node', 'nodejs', 'bun'], syntax: 'getopt',
    options: {
      noClusters: true, codeShort: 'ep', codeWords: ['-pe'], codeLong: ['eval', 'print'], argShort: 'rC',
      argLong: [
        'require', 'import', 'loader', 'experimental-loader', 'conditions', 'input-type', 'title', 'inspect-port', 'debug-port',
        'env-file', 'env-file-if-exists', 'disable-warning', 'diagnostic-dir', 'icu-data-dir', 'openssl-config', 'redirect-warnings',
        'report-dir', 'report-directory', 'report-filename', 'report-signal', 'snapshot-blob', 'test-name-pattern', 'test-reporter',
        'test-reporter-destination', 'test-shard', 'tls-keylog', 'unhandled-rejections', 'watch-path', 'dns-result-order',
        'experimental-default-type', 'localstorage-file', 'cpu-prof-dir', 'cpu-prof-name', 'heap-prof-dir', 'heap-prof-name',
        'trace-event-categories', 'trace-event-file-pattern', 'secure-heap', 'secure-heap-min', 'max-http-header-size',
      ],
    },
    inline: '`-e CODE`, `--eval CODE`, `-p CODE`, `--print CODE`, `-pe CODE`', stdin: 'no script named, or `-`',
  },
  {
    family: 'deno', kind: 'interpreter', names: ['deno'], syntax: 'deno', options: {},
    inline: '`deno eval CODE`', stdin: '`deno run -`, `deno repl`',
  },
  {
    family: 'php', kind: 'interpreter', names: ['php'], syntax: 'getopt',
    options: { codeShort: 'rBRE', argShort: 'cdztF', otherShort: 'S', fileShort: 'f', argLong: ['rf', 'rc', 're', 'rz', 'ri'] },
    inline: '`-r CODE`, and the per-line `-B`/`-R`/`-E CODE`', stdin: 'no script named (`-a` is interactive on stdin)',
  },
  {
    family: 'lua', kind: 'interpreter', names: ['lua', 'luajit'], syntax: 'getopt',
    options: { codeShort: 'e', argShort: 'lj', restShort: 'O', otherShort: 'b' },
    inline: '`-e CODE`', stdin: 'no script named, or `-`',
  },
  {
    family: 'awk', kind: 'interpreter', names: ['awk', 'gawk', 'mawk', 'nawk', 'original-awk'], syntax: 'awk',
    options: {
      codeShort: 'e', codeLong: ['source'], argShort: 'FvfeEilW', restShort: 'dDLop', progFileShort: 'fE',
      progFileLong: ['file', 'exec'], argLong: ['field-separator', 'assign', 'file', 'exec', 'include', 'load'],
    },
    inline: 'always, unless the program comes from `-f FILE` only: the program text operand, or gawk `-e`/`--source`',
    stdin: '`-f -` or `-f /dev/stdin`',
  },
  {
    family: 'tcl', kind: 'interpreter', names: ['tclsh', 'wish'], syntax: 'tcl', options: {},
    inline: 'none (Tcl takes no code option)', stdin: 'no script named (the first word starting with `-` is not a script)',
  },
  {
    family: 'expect', kind: 'interpreter', names: ['expect'], syntax: 'getopt',
    options: { codeShort: 'c', argShort: 'D', fileShort: 'fb' },
    inline: '`-c CODE`', stdin: 'no script named, `-`, or `-f -`',
  },
  {
    family: 'pwsh', kind: 'interpreter', names: ['pwsh', 'pwsh-preview', 'pwsh-lts'], syntax: 'pwsh', options: {},
    inline: '`-Command`/`-c CODE`, `-CommandWithArgs`/`-cwa`, `-EncodedCommand`/`-e`/`-ec BASE64` (case-insensitive, unique prefixes)',
    stdin: '`-Command -`, `-File -`',
  },
];

/** A version suffix after a name: 3, 3.11, 3.11d, 5.36.0, -2.1.0-beta3, 3-dbg. */
const VERSION_SUFFIX = /^-?\d+(?:\.\d+)*[a-z]{0,2}(?:-(?:dbg|beta\d*|alpha\d*|rc\d*))?$/;
/** Busybox's multi-call binary; the applet is argv[0]'s name (or argv[1] when that is busybox itself). */
const BUSYBOX = /^busybox(?:\.(?:static|nosuid|suid))?$/;

export function basename(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? path : path.slice(i + 1);
}

const BY_NAME = new Map<string, InterpreterSpec>(INTERPRETERS.flatMap((spec) => spec.names.map((n) => [n, spec] as const)));
/** A name, then from its first digit on (after an optional `-`) what may be a version. */
const NAME_AND_VERSION = /^(\D+?)(-?\d.*)$/;

function specForName(name: string): InterpreterSpec | null {
  const exact = BY_NAME.get(name);
  if (exact !== undefined) return exact;
  const m = NAME_AND_VERSION.exec(name);
  if (m === null) return null;
  const spec = BY_NAME.get(m[1] as string);
  return spec !== undefined && VERSION_SUFFIX.test(m[2] as string) ? spec : null;
}

export interface Identified {
  readonly spec: InterpreterSpec;
  /** The name it was known by: the executable's basename, or busybox's applet. */
  readonly name: string;
  /** The arguments after the program's own name (argv[1..], or busybox's after the applet). */
  readonly args: readonly string[];
}

/** The interpreter an exec runs, by the executable's basename (busybox: by applet), or null. */
export function identify(exe: string, argv: readonly string[]): Identified | null {
  const base = basename(exe);
  if (BUSYBOX.test(base)) {
    let applet = basename(String(argv[0] ?? '')).replace(/^-/, '');
    let args = argv.slice(1);
    if (applet === '' || BUSYBOX.test(applet)) {
      applet = basename(String(argv[1] ?? ''));
      args = argv.slice(2);
    }
    const spec = specForName(applet);
    return spec ? { spec, name: applet, args } : null;
  }
  const spec = specForName(base);
  return spec ? { spec, name: base, args: argv.slice(1) } : null;
}

/** Where the code an interpreter runs comes from. */
type Source =
  | { readonly from: 'inline'; readonly flag: string }
  | { readonly from: 'stdin' }
  | { readonly from: 'file' }
  /** Something else: a module (python -m), a built-in server (php -S), nothing at all (a code option without code). */
  | { readonly from: 'other' };

const INLINE = (flag: string): Source => ({ from: 'inline', flag });
const STDIN: Source = { from: 'stdin' };
const FILE: Source = { from: 'file' };
const OTHER: Source = { from: 'other' };

const isStdinName = (s: string | undefined): boolean => s === '-' || s === '/dev/stdin' || s === '/dev/fd/0' || s === '/proc/self/fd/0';

/** sh, bash, dash, ksh, zsh, csh: `-c` is a flag; the first operand is then the code. */
function readPosixShell(args: readonly string[], o: OptionTable): Source {
  let command = false;
  let stdin = false;
  let i = 0;
  for (; i < args.length; i++) {
    const a = String(args[i]);
    if (a === '--' || a === '-') {
      i++;
      break;
    }
    if (a.startsWith('--')) {
      const [name, value] = splitLong(a);
      if (value === null && (o.argLong ?? []).includes(name)) i++;
      continue;
    }
    if (!(a.startsWith('-') || a.startsWith('+')) || a.length < 2) break;
    const on = a[0] === '-';
    let ended = false;
    for (let j = 1; j < a.length; j++) {
      const c = a[j] as string;
      if (on && c === o.commandLetter) command = true;
      else if (on && c === o.stdinLetter) stdin = true;
      else if ((o.argShort ?? '').includes(c)) {
        if (j === a.length - 1) i++;
        break;
      } else if ((o.restShort ?? '').includes(c)) break;
      else if ((o.endShort ?? '').includes(c)) ended = true;
    }
    if (ended) {
      i++;
      break;
    }
  }
  if (command) return i < args.length ? INLINE(`-${o.commandLetter}`) : OTHER;
  if (stdin || i >= args.length) return STDIN;
  return FILE;
}

function splitLong(word: string): [string, string | null] {
  const body = word.slice(2);
  const eq = body.indexOf('=');
  return eq < 0 ? [body, null] : [body.slice(0, eq), body.slice(eq + 1)];
}

/**
 * python, perl, ruby, node, php, lua, fish, expect: options (clustered unless noClusters) up to
 * the first operand, which is the script; code options take their code attached or as the next
 * word. Code given and no code-ends-options: the rest are the code's arguments (perl -e 'x' a b).
 */
function readGetopt(args: readonly string[], o: OptionTable): Source {
  let inline: string | null = null;
  const codeShort = o.codeShort ?? '';
  const argShort = o.argShort ?? '';
  const restShort = o.restShort ?? '';
  const otherShort = o.otherShort ?? '';
  const fileShort = o.fileShort ?? '';
  const charset = o.charsetShort ?? {};
  /** Set when the reading is decided before the options end. */
  let decided: Source | null = null;
  let i = 0;
  outer: for (; i < args.length; i++) {
    const a = String(args[i]);
    if (a === '--') {
      i++;
      break;
    }
    if (a === '-') return inline ? INLINE(inline) : STDIN;
    if (!a.startsWith('-')) break;
    if ((o.codeWords ?? []).includes(a)) {
      if (i + 1 >= args.length) return OTHER;
      inline ??= a;
      i++;
      if (o.codeEndsOptions) break;
      continue;
    }
    if (a.startsWith('--')) {
      const [name, value] = splitLong(a);
      if ((o.codeLong ?? []).includes(name)) {
        if (value === null && i + 1 >= args.length) return OTHER;
        inline ??= `--${name}`;
        if (value === null) i++;
        if (o.codeEndsOptions) break;
      } else if (value === null && (o.argLong ?? []).includes(name)) i++;
      continue;
    }
    if (o.noClusters) {
      const c = a.slice(1);
      if (c.length === 1 && codeShort.includes(c)) {
        if (i + 1 >= args.length) return OTHER;
        inline ??= a;
        i++;
        if (o.codeEndsOptions) break;
      } else if (c.length === 1 && argShort.includes(c)) i++;
      continue;
    }
    for (let j = 1; j < a.length; j++) {
      const c = a[j] as string;
      const attached = a.length > j + 1;
      if (codeShort.includes(c)) {
        if (!attached && i + 1 >= args.length) return OTHER;
        inline ??= `-${c}`;
        if (!attached) i++;
        if (o.codeEndsOptions) {
          i++;
          break outer;
        }
        continue outer;
      }
      if (otherShort.includes(c)) {
        // python -m: the module runs with the rest as its argv; php -S: a server. Not inline
        // code unless some came first (python -c ends the options before an -m could follow).
        return inline ? INLINE(inline) : OTHER;
      }
      if (fileShort.includes(c)) {
        const file = attached ? a.slice(j + 1) : args[i + 1];
        decided ??= isStdinName(file) ? STDIN : FILE;
        if (!attached) i++;
        continue outer;
      }
      if (argShort.includes(c)) {
        if (!attached) i++;
        continue outer;
      }
      if (restShort.includes(c)) continue outer;
      const set = charset[c];
      if (set !== undefined) {
        while (j + 1 < a.length && set.includes(a[j + 1] as string)) j++;
      }
    }
  }
  if (inline !== null) return INLINE(inline);
  if (decided !== null) return decided;
  if (i >= args.length) return STDIN;
  return String(args[i]) === '-' ? STDIN : FILE;
}

/**
 * awk: the program text is the first operand unless a program file is named (-f, gawk -E,
 * --file, --exec, mawk -W exec); gawk's -e/--source gives program text as an option. Either
 * way program text on the command line is inline code: it is what awk runs.
 */
function readAwk(args: readonly string[], o: OptionTable): Source {
  let source: string | null = null;
  let progFile: string | null = null;
  let i = 0;
  outer: for (; i < args.length; i++) {
    const a = String(args[i]);
    if (a === '--') {
      i++;
      break;
    }
    if (!a.startsWith('-') || a === '-') break;
    if (a.startsWith('--')) {
      const [name, value] = splitLong(a);
      const arg = value ?? args[i + 1];
      if ((o.codeLong ?? []).includes(name)) {
        if (arg === undefined) return OTHER;
        source ??= `--${name}`;
      } else if ((o.progFileLong ?? []).includes(name)) {
        if (arg === undefined) return OTHER;
        progFile ??= String(arg);
      }
      if (value === null && ((o.argLong ?? []).includes(name) || (o.codeLong ?? []).includes(name))) i++;
      continue;
    }
    for (let j = 1; j < a.length; j++) {
      const c = a[j] as string;
      const attached = a.length > j + 1;
      if ((o.argShort ?? '').includes(c)) {
        const arg = attached ? a.slice(j + 1) : args[i + 1];
        if (!attached) i++;
        if (arg === undefined) return OTHER;
        if ((o.codeShort ?? '').includes(c)) source ??= `-${c}`;
        else if ((o.progFileShort ?? '').includes(c)) progFile ??= String(arg);
        else if (c === 'W' && /^e(?:x(?:e(?:c)?)?)?$/.test(String(arg))) {
          // mawk -W exec FILE: the program file, and the last option.
          const file = args[i + 1];
          if (file === undefined) return OTHER;
          progFile ??= String(file);
          i += 2;
          break outer;
        }
        continue outer;
      }
      if ((o.restShort ?? '').includes(c)) continue outer;
    }
  }
  if (source !== null) return INLINE(source);
  if (progFile !== null) return isStdinName(progFile) ? STDIN : FILE;
  return i < args.length ? INLINE('program') : OTHER;
}

/** tclsh/wish: `?-encoding name? ?fileName arg ...?`; a first word starting with `-` is not a script. */
function readTcl(args: readonly string[]): Source {
  const rest = String(args[0] ?? '') === '-encoding' ? args.slice(2) : args;
  const first = rest[0];
  return first === undefined || String(first).startsWith('-') ? STDIN : FILE;
}

const SWITCH_ALIASES: Readonly<Record<string, readonly string[]>> = { help: ['h', '?'], interactive: ['i'], login: ['l'], noprofile: ['nop'], version: ['v'], sshservermode: ['sshs'] };

/** PowerShell: parameters are case-insensitive and may be shortened to a unique prefix. */
const PWSH_PARAMS: ReadonlyArray<{ name: string; aliases: readonly string[]; role: 'code' | 'encoded' | 'file' | 'arg' | 'flag' }> = [
  { name: 'command', aliases: ['c'], role: 'code' },
  { name: 'commandwithargs', aliases: ['cwa'], role: 'code' },
  { name: 'encodedcommand', aliases: ['e', 'ec', 'en', 'enc'], role: 'encoded' },
  { name: 'file', aliases: ['f'], role: 'file' },
  { name: 'executionpolicy', aliases: ['ex', 'ep'], role: 'arg' },
  { name: 'workingdirectory', aliases: ['wd'], role: 'arg' },
  { name: 'inputformat', aliases: ['inp', 'if'], role: 'arg' },
  { name: 'outputformat', aliases: ['o', 'of'], role: 'arg' },
  { name: 'configurationname', aliases: ['config'], role: 'arg' },
  { name: 'configurationfile', aliases: [], role: 'arg' },
  { name: 'custompipename', aliases: [], role: 'arg' },
  { name: 'settingsfile', aliases: ['settings'], role: 'arg' },
  { name: 'windowstyle', aliases: ['w'], role: 'arg' },
  { name: 'encodedarguments', aliases: ['encodeda', 'ea'], role: 'arg' },
  // Switches, listed so that a prefix resolves as pwsh resolves it (-i is -Interactive, not -InputFormat).
  ...['help', 'interactive', 'login', 'mta', 'sta', 'noexit', 'nologo', 'noninteractive', 'noprofile', 'noprofileloadtime', 'version',
    'sshservermode', 'servermode', 'namedpipeservermode', 'socketservermode'].map((name) => ({ name, aliases: SWITCH_ALIASES[name] ?? [], role: 'flag' as const })),
];

function pwshParam(word: string): (typeof PWSH_PARAMS)[number] | null {
  const w = word.replace(/^--?/, '').toLowerCase();
  if (w === '') return null;
  for (const p of PWSH_PARAMS) if (p.name === w || p.aliases.includes(w)) return p;
  const prefixed = PWSH_PARAMS.filter((p) => p.name.startsWith(w));
  // -Com is -Command (the shorter name wins a shared prefix, as pwsh does for -Command/-CommandWithArgs).
  if (prefixed.length === 1 || (prefixed.length > 1 && prefixed.every((p) => p.name.startsWith(prefixed[0]!.name)))) return prefixed[0] ?? null;
  return null;
}

function readPwsh(args: readonly string[]): Source {
  for (let i = 0; i < args.length; i++) {
    const a = String(args[i]);
    if (!/^--?[A-Za-z?]/.test(a)) return FILE; // the first positional word is -File's
    const p = pwshParam(a);
    if (p === null) continue; // a switch (-NoProfile, -NonInteractive, -Login, ...)
    const next = args[i + 1];
    if (p.role === 'code' || p.role === 'encoded') {
      if (next === undefined) return OTHER;
      return String(next) === '-' ? STDIN : INLINE(`-${p.name === 'encodedcommand' ? 'EncodedCommand' : p.name === 'command' ? 'Command' : 'CommandWithArgs'}`);
    }
    if (p.role === 'file') return next === undefined ? OTHER : String(next) === '-' ? STDIN : FILE;
    if (p.role === 'arg') i++;
  }
  return STDIN;
}

/** deno: `deno eval CODE` is inline; `deno run -` and `deno repl` read stdin; anything else runs a file. */
function readDeno(args: readonly string[]): Source {
  const words = args.map(String);
  const sub = words.findIndex((w) => !w.startsWith('-'));
  if (sub < 0) return STDIN; // bare deno: the REPL
  const cmd = words[sub];
  if (cmd === 'eval') return words.slice(sub + 1).some((w) => !w.startsWith('-')) ? INLINE('eval') : OTHER;
  if (cmd === 'repl') return STDIN;
  if (cmd === 'run') return words.slice(sub + 1).find((w) => !w.startsWith('-') || w === '-') === '-' ? STDIN : FILE;
  return FILE;
}

function readSource(spec: InterpreterSpec, args: readonly string[]): Source {
  switch (spec.syntax) {
    case 'posix-shell': return readPosixShell(args, spec.options);
    case 'getopt': return readGetopt(args, spec.options);
    case 'awk': return readAwk(args, spec.options);
    case 'tcl': return readTcl(args);
    case 'pwsh': return readPwsh(args);
    case 'deno': return readDeno(args);
  }
}

export interface InlineCode {
  /** The family (INTERPRETERS[].family): sh, bash, python, perl, node, awk, ... */
  readonly interpreter: string;
  readonly kind: InterpreterKind;
  /** The code is on the command line. */
  readonly inline: boolean;
  /** The option that carried it (`-c`, `-e`, `--eval`, `-Command`), or `program` for awk's program operand. */
  readonly flag?: string;
  /** The program reads its code from stdin (no script named, `-`, `-s`, `-Command -`). */
  readonly fromStdin: boolean;
  /** Where the code comes from: `other` is a module (python -m), a server (php -S), or nothing (a code option without code). */
  readonly source: 'inline' | 'stdin' | 'file' | 'other';
}

/**
 * Whether this exec runs inline code; null when the executable is not a shell or interpreter
 * of INTERPRETERS. Pure and total: any exe and argv (bounded by the caller) give an answer.
 */
export function inlineCode(exe: string, argv: readonly string[]): InlineCode | null {
  const id = identify(String(exe ?? ''), Array.isArray(argv) ? argv : []);
  if (id === null) return null;
  const src = readSource(id.spec, id.args);
  const { family: interpreter, kind } = id.spec;
  // Plain literals: spreading a base object into each answer cost 2 us a call here.
  if (src.from === 'inline') return { interpreter, kind, inline: true, flag: src.flag, fromStdin: false, source: 'inline' };
  return { interpreter, kind, inline: false, fromStdin: src.from === 'stdin', source: src.from };
}

/** docs/interpreters.md, rendered from INTERPRETERS (test/processes/interpreters.test.ts keeps it current). */
export function interpretersMarkdown(): string {
  const rows = INTERPRETERS.map((s) => `| ${s.family} | ${s.kind} | ${s.names.map((n) => `\`${n}\``).join(', ')} | ${s.inline} | ${s.stdin} |`);
  return [
    '| Family | Kind | Executables (each also with a version suffix: `python3.11`, `perl5.36.0`) | Inline code | Code from stdin |',
    '|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}
