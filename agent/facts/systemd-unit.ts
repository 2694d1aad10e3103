// systemd unit files and environment files, read the way systemd reads them, to recover the
// command line a unit starts when no live process can be seen. Pure: text in, data out.
//
// What is modelled (systemd.syntax(7), systemd.exec(5), systemd.service(5)):
// - `#`/`;` comment lines, `\` line continuation (comment lines inside one are skipped),
//   `[Section]` headers, `Key=Value` with whitespace around `=` ignored;
// - the unit file first, then its drop-ins in order; an empty `ExecStart=`, `Environment=` or
//   `EnvironmentFile=` clears what came before;
// - `Environment=` words with quotes and C escapes; `EnvironmentFile=` with a leading `-`
//   (optional file); values from environment files override `Environment=`, later files
//   override earlier ones;
// - `ExecStart=` prefixes (`-`, `@`, `:`, `+`, `!`, `!!`), quoting, and variable expansion at
//   start: `$VAR` as a word of its own becomes zero or more words (its value split, quotes
//   honoured), `${VAR}` anywhere becomes the exact value inside one word, `$$` is `$`, an
//   unset variable is empty, and the `:` prefix turns expansion off;
// - the `%%` specifier. Other specifiers (`%n`, `%i`, ...) are left as written.

export interface UnitSource {
  /** Host path of the unit file or drop-in. */
  readonly path: string;
  readonly text: string;
}

export interface UnitAssignment {
  readonly section: string;
  readonly key: string;
  readonly value: string;
}

export interface EnvAssignment {
  readonly name: string;
  readonly value: string;
}

/** A value with the file that set it. */
export interface Sourced<T> {
  readonly value: T;
  readonly source: string;
}

export interface EnvFileRef {
  readonly path: string;
  /** Written with a leading `-`: a missing file is not an error. */
  readonly optional: boolean;
  /** The unit file or drop-in that named it. */
  readonly namedIn: string;
}

export interface ServiceSettings {
  /** `Environment=` assignments in effect, in order (later ones win). */
  readonly environment: readonly Sourced<EnvAssignment>[];
  readonly environmentFiles: readonly EnvFileRef[];
  /** The `ExecStart=` lines in effect after resets, in order. */
  readonly execStart: readonly Sourced<string>[];
  readonly workingDirectory: Sourced<string> | null;
}

export interface UnitCommand {
  /** The program systemd runs. */
  readonly exe: string;
  /** argv as the program sees it (argv[0] included), after expansion. */
  readonly argv: readonly string[];
  /** For each argv entry, the file it came from: the ExecStart= file, or where a variable was set. */
  readonly sources: readonly string[];
  /** The file whose ExecStart= line is used. */
  readonly execStartFile: string;
  /** Names of variables the command line used that nothing set. */
  readonly unsetVariables: readonly string[];
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Assignments of a unit file or drop-in, in order. */
export function parseUnitText(text: string): UnitAssignment[] {
  const out: UnitAssignment[] = [];
  let section = '';
  let pending: string | null = null;
  for (const raw of text.split(/\r?\n/)) {
    const trimmed = raw.trim();
    if (pending !== null && (trimmed.startsWith('#') || trimmed.startsWith(';'))) continue;
    let line: string = pending === null ? trimmed : `${pending} ${trimmed}`;
    if (line.endsWith('\\')) {
      pending = line.slice(0, -1).trimEnd();
      continue;
    }
    pending = null;
    line = line.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    if (line.startsWith('[') && line.endsWith(']')) {
      section = line.slice(1, -1).trim();
      continue;
    }
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    out.push({ section, key: line.slice(0, eq).trim(), value: line.slice(eq + 1).trim() });
  }
  if (pending !== null && pending.trim() !== '') {
    const line = pending.trim();
    const eq = line.indexOf('=');
    if (eq > 0 && !line.startsWith('[')) out.push({ section, key: line.slice(0, eq).trim(), value: line.slice(eq + 1).trim() });
  }
  return out;
}

const C_ESCAPES: Readonly<Record<string, string>> = {
  a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', s: ' ', '\\': '\\', '"': '"', "'": "'",
};

/** Reads one C escape starting after the backslash at s[i]; returns the text and the next index. */
function cUnescape(s: string, i: number): [string, number] {
  const c = s[i];
  if (c === undefined) return ['\\', i];
  if (Object.hasOwn(C_ESCAPES, c)) return [C_ESCAPES[c] as string, i + 1];
  if (c === 'x' && /^[0-9a-fA-F]{2}$/.test(s.slice(i + 1, i + 3))) return [String.fromCharCode(parseInt(s.slice(i + 1, i + 3), 16)), i + 3];
  if (/^[0-7]{3}$/.test(s.slice(i, i + 3))) return [String.fromCharCode(parseInt(s.slice(i, i + 3), 8)), i + 3];
  return [c, i + 1];
}

/**
 * Splits at whitespace into words, removing quotes (which may start mid-word) and resolving
 * C escapes, as systemd does for command lines and `Environment=`. An unterminated quote runs
 * to the end of the text.
 */
export function extractWords(s: string): string[] {
  const words: string[] = [];
  let i = 0;
  while (i < s.length) {
    while (i < s.length && /\s/.test(s[i] as string)) i++;
    if (i >= s.length) break;
    let word = '';
    let quote: '"' | "'" | null = null;
    for (; i < s.length; i++) {
      const c = s[i] as string;
      if (quote === null && /\s/.test(c)) break;
      if (c === '\\') {
        const [text, next] = cUnescape(s, i + 1);
        word += text;
        i = next - 1;
        continue;
      }
      if (quote === null && (c === '"' || c === "'")) {
        quote = c;
        continue;
      }
      if (quote !== null && c === quote) {
        quote = null;
        continue;
      }
      word += c;
    }
    words.push(word);
  }
  return words;
}

const unescapeSpecifiers = (s: string): string => s.replace(/%%/g, '%');

/** `Environment=` value: `A=1 "B=two words"`. Words that are not NAME=VALUE are ignored, as systemd does. */
export function parseEnvironmentValue(value: string): EnvAssignment[] {
  const out: EnvAssignment[] = [];
  for (const word of extractWords(unescapeSpecifiers(value))) {
    const eq = word.indexOf('=');
    if (eq <= 0) continue;
    const name = word.slice(0, eq);
    if (ENV_NAME.test(name)) out.push({ name, value: word.slice(eq + 1) });
  }
  return out;
}

/**
 * An environment file: `NAME=value` lines, `#`/`;` comments, single quotes (literal), double
 * quotes (backslash escapes `"`, `\`, `` ` `` and `$`), an unquoted backslash escaping the next
 * character, a backslash before a newline continuing the line, unquoted trailing whitespace
 * dropped. Lines whose name is not a valid variable name (`export A=1`) are ignored.
 */
export function parseEnvironmentFile(text: string): EnvAssignment[] {
  type State = 'preKey' | 'key' | 'preValue' | 'value' | 'valueEscape' | 'single' | 'double' | 'doubleEscape' | 'comment' | 'commentEscape';
  const out: EnvAssignment[] = [];
  let state: State = 'preKey';
  let key = '';
  let value = '';
  let trailingSpace = 0;
  const finish = (): void => {
    const name = key.trim();
    if (ENV_NAME.test(name)) out.push({ name, value: trailingSpace > 0 ? value.slice(0, value.length - trailingSpace) : value });
    key = '';
    value = '';
    trailingSpace = 0;
  };
  for (const c of text.replace(/\r\n/g, '\n')) {
    switch (state) {
      case 'preKey':
        if (c === '#' || c === ';') state = 'comment';
        else if (!/\s/.test(c)) {
          key = c;
          state = 'key';
        }
        break;
      case 'key':
        if (c === '\n') {
          key = '';
          state = 'preKey';
        } else if (c === '=') state = 'preValue';
        else key += c;
        break;
      case 'preValue':
        if (c === '\n') {
          finish();
          state = 'preKey';
        } else if (c === "'") state = 'single';
        else if (c === '"') state = 'double';
        else if (c === '\\') state = 'valueEscape';
        else if (!/\s/.test(c)) {
          value += c;
          state = 'value';
        }
        break;
      case 'value':
        if (c === '\n') {
          finish();
          state = 'preKey';
        } else if (c === '\\') {
          trailingSpace = 0;
          state = 'valueEscape';
        } else {
          value += c;
          trailingSpace = /\s/.test(c) ? trailingSpace + 1 : 0;
        }
        break;
      case 'valueEscape':
        if (c !== '\n') value += c;
        trailingSpace = 0;
        state = 'value';
        break;
      case 'single':
        if (c === "'") state = 'preValue';
        else value += c;
        break;
      case 'double':
        if (c === '"') state = 'preValue';
        else if (c === '\\') state = 'doubleEscape';
        else value += c;
        break;
      case 'doubleEscape':
        if (c === '\n') {
          // a continuation inside quotes: nothing is added
        } else if ('"\\`$'.includes(c)) value += c;
        else value += `\\${c}`;
        state = 'double';
        break;
      case 'comment':
        if (c === '\\') state = 'commentEscape';
        else if (c === '\n') state = 'preKey';
        break;
      case 'commentEscape':
        state = 'comment';
        break;
    }
  }
  if (state === 'preValue' || state === 'value' || state === 'valueEscape' || state === 'single' || state === 'double' || state === 'doubleEscape') finish();
  return out;
}

/** The [Service] settings that decide the command line, across the unit file and its drop-ins in order. */
export function serviceSettings(files: readonly UnitSource[]): ServiceSettings {
  let environment: Sourced<EnvAssignment>[] = [];
  let environmentFiles: EnvFileRef[] = [];
  let execStart: Sourced<string>[] = [];
  let workingDirectory: Sourced<string> | null = null;
  for (const file of files) {
    for (const a of parseUnitText(file.text)) {
      if (a.section !== 'Service') continue;
      switch (a.key) {
        case 'Environment':
          if (a.value === '') environment = [];
          else environment.push(...parseEnvironmentValue(a.value).map((value) => ({ value, source: file.path })));
          break;
        case 'EnvironmentFile':
          if (a.value === '') environmentFiles = [];
          else {
            const optional = a.value.startsWith('-');
            environmentFiles.push({ path: unescapeSpecifiers(optional ? a.value.slice(1) : a.value), optional, namedIn: file.path });
          }
          break;
        case 'ExecStart':
          if (a.value === '') execStart = [];
          else execStart.push({ value: a.value, source: file.path });
          break;
        case 'WorkingDirectory':
          workingDirectory = a.value === '' ? null : { value: unescapeSpecifiers(a.value.replace(/^-/, '')), source: file.path };
          break;
        default:
          break;
      }
    }
  }
  return { environment, environmentFiles, execStart, workingDirectory };
}

/**
 * The environment a command line is expanded with: `Environment=` values, then each
 * environment file in order (files override `Environment=`, later files earlier ones).
 */
export function buildEnvironment(
  settings: ServiceSettings,
  envFiles: readonly { readonly path: string; readonly assignments: readonly EnvAssignment[] }[],
): Map<string, Sourced<string>> {
  const env = new Map<string, Sourced<string>>();
  for (const a of settings.environment) env.set(a.value.name, { value: a.value.value, source: a.source });
  for (const f of envFiles) for (const a of f.assignments) env.set(a.name, { value: a.value, source: f.path });
  return env;
}

const PREFIX_CHARS = new Set(['-', '@', ':', '+', '!']);

/**
 * One `ExecStart=` line, expanded with `env`. Returns null for a line without a program.
 * Without `@`, argv[0] is the program path; with `@`, the word after the path is argv[0].
 */
export function expandExecStart(line: Sourced<string>, env: ReadonlyMap<string, Sourced<string>>): UnitCommand | null {
  let text = line.value.trim();
  const prefixes = new Set<string>();
  while (text.length > 0 && PREFIX_CHARS.has(text[0] as string)) {
    prefixes.add(text[0] as string);
    text = text.slice(1);
  }
  const words = extractWords(unescapeSpecifiers(text));
  const exe = words[0];
  if (exe === undefined || exe === '') return null;
  const rest = prefixes.has('@') ? words.slice(1) : words;
  const expand = !prefixes.has(':');
  const argv: string[] = [];
  const sources: string[] = [];
  const unset = new Set<string>();
  const lookup = (name: string): Sourced<string> | undefined => {
    const v = env.get(name);
    if (v === undefined) unset.add(name);
    return v;
  };
  rest.forEach((word, i) => {
    if (!expand || (i === 0 && !prefixes.has('@')) || !word.includes('$')) {
      argv.push(word);
      sources.push(line.source);
      return;
    }
    const whole = /^\$([A-Za-z_][A-Za-z0-9_]*)$/.exec(word);
    if (whole) {
      const v = lookup(whole[1] as string);
      if (v === undefined) return;
      for (const w of extractWords(v.value)) {
        argv.push(w);
        sources.push(v.source);
      }
      return;
    }
    let source = line.source;
    const expanded = word.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, name: string | undefined) => {
      if (name === undefined) return '$';
      const v = lookup(name);
      if (v === undefined) return '';
      source = v.source;
      return v.value;
    });
    argv.push(expanded);
    sources.push(source);
  });
  if (argv.length === 0) return null;
  return { exe, argv, sources, execStartFile: line.source, unsetVariables: [...unset].sort() };
}

/** The command a service runs: its last `ExecStart=` line in effect, expanded. */
export function unitCommand(settings: ServiceSettings, env: ReadonlyMap<string, Sourced<string>>): UnitCommand | null {
  const last = settings.execStart[settings.execStart.length - 1];
  return last === undefined ? null : expandExecStart(last, env);
}

/** The service unit a process runs in, from its /proc/<pid>/cgroup text (v2 `0::/...` or v1 `name=systemd`). */
export function unitFromCgroup(text: string): string | null {
  for (const line of text.split('\n')) {
    const [, controllers, path] = /^[0-9]+:([^:]*):(.*)$/.exec(line.trim()) ?? [];
    if (path === undefined || !(controllers === '' || controllers === 'name=systemd')) continue;
    const unit = path.split('/').reverse().find((c) => c.endsWith('.service'));
    if (unit !== undefined) return unit;
  }
  return null;
}
