// The one redactor for everything that can carry a secret off a node: command lines (an argv,
// or one joined string), header lines, named values (environment variables, config keys, JSON
// properties) and free text. Both apps use it: the agent before a command line becomes a fact,
// a finding or a scan report; the collector again at ingest (an older or hostile agent may send
// anything), and on every log line of both (proto/support/logger.ts).
//
// A command line is read as a sequence of units (argv elements; in a joined string, the words
// between spaces, a quoted stretch counting as one), each judged with what came before it:
//   names     `--token=x`, `-password=x`, `API_TOKEN=x`, `-Djavax.net.ssl.keyStorePassword=x`,
//             `--password x`, `aws_secret_access_key x`: a name is judged by its last word
//             (split at - _ . and camelCase), see nameKind. `--token-auth-file` ends in `file`
//             and is kept; a `...key` value is kept when it is a path; `true`/`false` are kept.
//   headers   the value after -H/--header/--proxy-header (any header but a short list of
//             harmless ones), and `Authorization: x`, `Cookie: x`, `X-Api-Key: x` ... anywhere;
//             `Bearer x`, `Basic x`, `Token x` (and the other HTTP auth schemes) anywhere.
//   programs  options whose meaning depends on the program (PROGRAMS): mysql's `-pSECRET`,
//             curl's `-u user:password`, sshpass -p, redis-cli -a, ldapsearch -w, docker login -p ...
//   values    URL credentials (`scheme://user:pass@`), secret query or list parameters
//             (`?access_token=`, `&X-Amz-Signature=`, `;Password=`), JSON `"password": "x"`,
//             openssl's `pass:x`, and credential shapes anywhere (secret-shapes.ts), PEM private
//             key blocks included.
// A replaced value becomes `<redacted>`; the names around it stay, so the command line still
// says what ran. Over-redacting is the safe mistake. The result of redacting is a fixed point
// (redacting it again changes nothing), every step is linear in the input, and nothing throws.
import { PEM_PRIVATE_KEY_BEGIN, SECRET_SHAPE_HINT, SECRET_SHAPES } from './secret-shapes.js';

export const REDACTED = '<redacted>';

/**
 * What replaces a value: REDACTED, followed by the quote characters the value held, in order.
 * Quotes group the words of a command line (tokenize), so keeping them keeps the grouping of
 * what is around a redacted value, and redacting the result again changes nothing.
 */
function hide(value: string): string {
  return REDACTED + value.replace(/[^'"]+/g, '');
}

/** How a name's value is treated. */
type Kind = 'secret' | 'key' | 'header' | 'none';

/** A name whose last word ends with one of these holds a secret (`PGPASSWORD`, `bootstrap-token`). */
const SECRET_SUFFIXES = ['token', 'password', 'passwd', 'secret', 'credential', 'credentials', 'apikey', 'signature',
  'passphrase', 'authorization', 'authentication', 'cookie'];
/** ... or is exactly one of these (`--pass`, `REDIS_AUTH`, `sig=`). */
const SECRET_WORDS = new Set(['pass', 'pw', 'auth', 'sig', 'bearer']);

const isAlnum = (c: number): boolean => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
const isUpper = (c: number): boolean => c >= 65 && c <= 90;

/**
 * The last word of a name, lower case: words are split at anything but letters and digits and
 * where a lower-case letter or digit meets an upper-case one (`keyStorePassword` -> password,
 * `X-Amz-Signature` -> signature, `APIKey` -> apikey).
 */
function lastWord(name: string): string {
  let end = name.length;
  while (end > 0 && !isAlnum(name.charCodeAt(end - 1))) end--;
  let start = end;
  while (start > 0 && isAlnum(name.charCodeAt(start - 1))) {
    const c = name.charCodeAt(start - 1);
    start--;
    if (isUpper(c) && start > 0 && isAlnum(name.charCodeAt(start - 1)) && !isUpper(name.charCodeAt(start - 1))) break;
  }
  return name.slice(start, end).toLowerCase();
}

/**
 * secret: the value is replaced; key: replaced unless it is a path (`--kubelet-client-key=/x.key`,
 * `PWD=/home/x`); header: the value is a header line; none: the value is redacted as text.
 */
function nameKind(name: string): Kind {
  const last = lastWord(name);
  if (SECRET_WORDS.has(last) || SECRET_SUFFIXES.some((s) => last.endsWith(s))) return 'secret';
  if (last.endsWith('key') || last === 'pwd') return 'key';
  if (last.endsWith('header') || last.endsWith('headers')) return 'header';
  return 'none';
}

const BOOLEAN = /^(?:true|false)$/i;
const RELATIVE_FILE = /^(?:[\w.-]+\/)+[\w.-]+\.(?:key|pem|crt|cer|der|p8|p12|pfx|jks|json|ya?ml|conf|cfg|txt|env)$/;

function looksLikePath(v: string): boolean {
  return v.startsWith('/') || v.startsWith('./') || v.startsWith('../') || v.startsWith('~/') || RELATIVE_FILE.test(v);
}

// ---------------------------------------------------------------------------------------------
// Values that need no context.

const URL_PASSWORD = /(?<![a-z0-9+.-])([a-z][a-z0-9+.-]{0,31}:\/\/[^\s/@:]*):([^\s/@]+)@/gi;
/** `https://<token>@host`: a user part this long is a token, not a user name. */
const URL_TOKEN_USER = /(?<![a-z0-9+.-])([a-z][a-z0-9+.-]{0,31}:\/\/)([^\s/@:]{20,})@/gi;
/** `?name=value`, `&name=value`, `;name=value`, `,name=value`, `#name=value` inside a unit. */
const PAIR = /([?&;,#])([A-Za-z0-9_.[\]-]{1,128})=([^&;,#\s'"]+)/g;
const JSON_PAIR = /"([A-Za-z0-9_.-]{1,128})"(\s*):(\s*)"((?:[^"\\]|\\.)*)"/g;

function redactJsonPair(all: string, name: string, s1: string, s2: string, value: string): string {
  const kind = nameKind(name);
  if (value === '' || (kind !== 'secret' && kind !== 'key') || (kind === 'key' && looksLikePath(value))) return all;
  return `"${name}"${s1}:${s2}"${hide(value)}"`;
}

function redactPem(s: string): string {
  if (!s.includes('PRIVATE KEY')) return s;
  const begin = new RegExp(PEM_PRIVATE_KEY_BEGIN.source, 'g');
  let out = '';
  let from = 0;
  for (let m = begin.exec(s); m !== null; m = begin.exec(s)) {
    const body = m.index + m[0].length;
    const endMarker = `-----END ${m[1] ?? ''}PRIVATE KEY${m[2] ?? ''}-----`;
    const end = s.indexOf(endMarker, body);
    out += s.slice(from, body);
    if (end < 0) {
      // No end: everything after the marker may be key material.
      out += body < s.length ? hide(s.slice(body)) : '';
      from = s.length;
      break;
    }
    out += (end > body ? hide(s.slice(body, end)) : '') + endMarker;
    from = end + endMarker.length;
    begin.lastIndex = from;
  }
  return out + s.slice(from);
}

/** Every credential shape in one pattern: one pass over a unit, not one per shape. */
const SHAPES = new RegExp(SECRET_SHAPES.map((x) => `(?:${x.pattern.source})`).join('|'), 'g');

/** Replaces what is a secret whatever stands around it. */
function redactInline(s: string): string {
  if (s === '' || s === REDACTED) return s;
  let out = SECRET_SHAPE_HINT.test(s) ? s.replace(SHAPES, REDACTED) : s;
  if (out.includes('=')) {
    out = out.replace(PAIR, (all, sep: string, name: string, value: string) => {
      const kind = nameKind(name);
      return kind === 'secret' || (kind === 'key' && !looksLikePath(value)) ? `${sep}${name}=${BOOLEAN.test(value) ? value : REDACTED}` : all;
    });
  }
  if (out.includes('"')) out = out.replace(JSON_PAIR, redactJsonPair);
  // Last: whether a user part is long enough to be a token is judged on what is left of it.
  if (out.includes('://')) {
    out = out.replace(URL_PASSWORD, (_all, head: string, pass: string) => `${head}:${hide(pass)}@`)
      .replace(URL_TOKEN_USER, (_all, head: string, user: string) => `${head}${hide(user)}@`);
  }
  // openssl's -pass/-passin/-passout pass:SECRET
  if (out.startsWith('pass:') && out.length > 5) out = `pass:${hide(out.slice(5))}`;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Headers.

/** Headers whose value is kept after -H: nothing secret travels in them. */
const HARMLESS_HEADERS = new Set([
  'accept', 'accept-charset', 'accept-encoding', 'accept-language', 'cache-control', 'connection', 'content-encoding',
  'content-language', 'content-length', 'content-type', 'dnt', 'expect', 'host', 'if-match', 'if-modified-since',
  'if-none-match', 'if-unmodified-since', 'origin', 'pragma', 'range', 'referer', 'te', 'upgrade', 'user-agent',
  'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'x-request-id', 'x-requested-with', 'x-real-ip',
]);

/**
 * Authorization schemes: the word after one is a credential. In a header value any case
 * (`authorization: token ghp_...`); standing alone, Bearer and Basic in any case and the others
 * as they are written, so `kubeadm token create` keeps its subcommand.
 */
const SCHEMES = /^(?:bearer|basic|token|digest|negotiate|ntlm|oauth|aws4-hmac-sha256|ssws|splunk|apikey|bot|googlelogin)$/i;
const STANDALONE_ANY_CASE = /^(?:bearer|basic)$/i;
const STANDALONE_AS_WRITTEN = /^(?:Token|TOKEN|Digest|Negotiate|NTLM|OAuth|AWS4-HMAC-SHA256|SSWS)$/;
const isScheme = (w: string): boolean => SCHEMES.test(w);
const isStandaloneScheme = (w: string): boolean => STANDALONE_ANY_CASE.test(w) || STANDALONE_AS_WRITTEN.test(w);

const HEADER_LINE = /^([A-Za-z0-9_.-]{1,128}):([\s\S]*)$/;

function headerIsSecret(name: string, fromHeaderOption: boolean): boolean {
  if (fromHeaderOption) return !HARMLESS_HEADERS.has(name.toLowerCase());
  const kind = nameKind(name);
  return kind === 'secret' || kind === 'key';
}

// ---------------------------------------------------------------------------------------------
// Programs whose options carry secrets in their own way.

interface ProgramOptions {
  /** `-pSECRET`: the rest of the unit is a secret. */
  readonly attached?: readonly string[];
  /** `-p SECRET`: the next unit is a secret. */
  readonly separate?: readonly string[];
  /** `-u user:password` (or attached, `-uuser:password`): what follows the first separator is a secret. */
  readonly userPass?: readonly string[];
  readonly userPassSeparator?: string;
  /** `-b 'name=value; ...'`: cookie data (a file name, without `=`, is kept). */
  readonly cookie?: readonly string[];
  /** The options apply only after this subcommand (`docker login -p`; `docker run -p` is a port). */
  readonly subcommand?: string;
  /** A shell: the unit after `-c` (or a cluster such as `-ec`) is a script, read as a command line of its own. */
  readonly shell?: boolean;
}

const MYSQL: ProgramOptions = { attached: ['-p'] };
const MONGO: ProgramOptions = { attached: ['-p'], separate: ['-p'] };
const LDAP: ProgramOptions = { attached: ['-w'], separate: ['-w'] };
const SQLSERVER: ProgramOptions = { attached: ['-P'], separate: ['-P'] };
const ZIP: ProgramOptions = { attached: ['-P'], separate: ['-P'] };
const SEVENZIP: ProgramOptions = { attached: ['-p'] };
const REDIS: ProgramOptions = { attached: ['-a'], separate: ['-a'] };
const FREERDP: ProgramOptions = { attached: ['/p:', '/gp:', '/pth:'] };
const SAMBA: ProgramOptions = { userPass: ['-U', '--user'], userPassSeparator: '%' };
const REGISTRY_LOGIN: ProgramOptions = { subcommand: 'login', attached: ['-p'], separate: ['-p'] };

const PROGRAMS: ReadonlyMap<string, ProgramOptions> = new Map<string, ProgramOptions>([
  ...['mysql', 'mysqldump', 'mysqladmin', 'mysqlimport', 'mysqlcheck', 'mysqlshow', 'mysqlslap', 'mysqlpump', 'mysqlbinlog',
    'mariadb', 'mariadb-dump', 'mariadb-admin', 'mariadb-import', 'mariadb-check', 'mariadb-show', 'mariadb-slap', 'mariadb-binlog',
    'mycli'].map((p) => [p, MYSQL] as const),
  ...['mongo', 'mongosh', 'mongodump', 'mongorestore', 'mongoexport', 'mongoimport', 'mongostat', 'mongotop'].map((p) => [p, MONGO] as const),
  ...['ldapsearch', 'ldapadd', 'ldapmodify', 'ldapdelete', 'ldapwhoami', 'ldappasswd', 'ldapcompare', 'ldapmodrdn', 'ldapexop'].map((p) => [p, LDAP] as const),
  ...['sqlcmd', 'bcp', 'osql', 'ipmitool'].map((p) => [p, SQLSERVER] as const),
  ...['zip', 'unzip', 'zipcloak'].map((p) => [p, ZIP] as const),
  ...['7z', '7za', '7zr', 'rar', 'unrar'].map((p) => [p, SEVENZIP] as const),
  ...['redis-cli', 'valkey-cli', 'keydb-cli'].map((p) => [p, REDIS] as const),
  ...['xfreerdp', 'xfreerdp3', 'wlfreerdp', 'sdl-freerdp', 'sdl-freerdp3'].map((p) => [p, FREERDP] as const),
  ...['smbclient', 'rpcclient', 'smbcacls', 'smbget', 'net'].map((p) => [p, SAMBA] as const),
  ...['docker', 'podman', 'nerdctl', 'buildah', 'skopeo', 'oras', 'crane', 'regctl', 'helm'].map((p) => [p, REGISTRY_LOGIN] as const),
  ...['sh', 'bash', 'dash', 'zsh', 'ash', 'ksh', 'mksh', 'su', 'runuser'].map((p) => [p, { shell: true }] as const),
  ['sshpass', { attached: ['-p'], separate: ['-p'] }],
  ['rdesktop', { attached: ['-p'], separate: ['-p'] }],
  ['openssl', { separate: ['-k', '-K'] }],
  ['lftp', { userPass: ['-u'], userPassSeparator: ',' }],
  ['curl', { userPass: ['-u', '--user', '-U', '--proxy-user', '-E', '--cert', '--proxy-cert'], cookie: ['-b', '--cookie'] }],
]);

/** The program a unit names (`/usr/bin/mysql` -> mysql), or '' when it is no command name. */
function programName(w: string): string {
  if (!/^[\w./+-]+$/.test(w) || w.startsWith('-')) return '';
  return w.slice(w.lastIndexOf('/') + 1);
}

// ---------------------------------------------------------------------------------------------
// The sequence of units.

/** What the unit before asks of the next one. */
type Pending =
  /** `--password VALUE`: taken unless it starts with `--`. */
  | { readonly t: 'flag-value'; readonly kind: 'secret' | 'key' }
  /** Always a secret: `sshpass -p VALUE`, the credential after `Bearer`. */
  | { readonly t: 'secret'; readonly cont?: true }
  /** The value after -H: a header line. */
  | { readonly t: 'header' }
  /** The words of a header value after `Authorization:` in a joined command line. */
  | { readonly t: 'header-value'; readonly cont?: true }
  | { readonly t: 'user-pass'; readonly separator: string }
  | { readonly t: 'cookie'; readonly cont?: true }
  /** SQL's `PASSWORD 'x'`, `IDENTIFIED BY 'x'`: taken when quoted. */
  | { readonly t: 'quoted' }
  /** A shell's `-c` script. */
  | { readonly t: 'script' };

interface Step {
  readonly text: string;
  readonly next: Pending | null;
}

const MAX_DEPTH = 6;
const FLAG_WITH_VALUE = /^(-{0,2})([A-Za-z0-9_][\w.[\]-]*)=([\s\S]*)$/;
const FLAG = /^(-{1,2})([A-Za-z0-9][\w.-]*)$/;
const SNAKE_NAME = /^[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+$/;
const SECRET_WORD = /^(?:password|passwd|secret|token|pass|pwd)$/i;
const QUOTES = new Set(['"', "'"]);
const SPACE = /\s/;
/** Whitespace as \s knows it, by code: the tokenizer looks at every character. */
function isSpace(c: number): boolean {
  if (c === 32 || (c >= 9 && c <= 13)) return true;
  return c >= 0x80 ? SPACE.test(String.fromCharCode(c)) : false;
}

function redactValue(kind: Kind, value: string, depth: number): string {
  return valueStep(kind, value, depth).text;
}

/** A value, and what it asks of the unit after it (`--opt=Bearer` followed by the token). */
function valueStep(kind: Kind, value: string, depth: number): Step {
  if (value === '') return { text: value, next: null };
  if ((kind === 'secret' || kind === 'key') && BOOLEAN.test(value)) return { text: value, next: null };
  switch (kind) {
    case 'secret': return { text: hide(value), next: null };
    case 'key': return { text: looksLikePath(value) ? value : hide(value), next: null };
    case 'header': return headerUnit(value, true, depth) ?? unitStep(value, depth + 1);
    default: return unitStep(value, depth + 1);
  }
}

/** A header line as one unit, `Name: value`; null when the unit is not one. */
function headerUnit(unit: string, fromHeaderOption: boolean, depth: number): Step | null {
  const { open, inner, close } = unquote(unit);
  const m = HEADER_LINE.exec(inner);
  if (m === null) return null;
  const [, name, rest] = m as unknown as [string, string, string];
  if (!headerIsSecret(name, fromHeaderOption)) {
    return fromHeaderOption ? { text: `${open}${name}:${redactUnit(rest, depth + 1)}${close}`, next: null } : null;
  }
  const value = rest.trimStart();
  // `Authorization:` alone: its value is in the units that follow.
  if (value === '') return { text: unit, next: { t: 'header-value' } };
  const space = rest.slice(0, rest.length - value.length);
  return { text: `${open}${name}:${space}${hide(value)}${close}`, next: isScheme(value) ? { t: 'secret' } : null };
}

/** One layer of surrounding quotes (an unbalanced opening quote too). */
function unquote(unit: string): { open: string; inner: string; close: string } {
  const q = unit[0];
  if (q === undefined || !QUOTES.has(q)) return { open: '', inner: unit, close: '' };
  if (unit.length >= 2 && unit.endsWith(q)) return { open: q, inner: unit.slice(1, -1), close: q };
  return { open: q, inner: unit.slice(1), close: '' };
}

/**
 * The unit as the value `p` asks for, or null when it is not one (it is then judged on its
 * own). A value that ends in `,` or `;` continues into the next unit (`Digest a="1", b="2"`,
 * `Cookie: a=1; b=2`), but a continuation never takes an option or a program's name: those
 * keep their meaning for what follows them.
 */
function consume(p: Pending, unit: string, quoted: boolean, depth: number): Step | null {
  if (unit === '') return { text: unit, next: p };
  if ('cont' in p && p.cont === true && (unit.startsWith('-') || PROGRAMS.has(programName(unit)))) return null;
  switch (p.t) {
    case 'flag-value':
      return unit.startsWith('--') ? null : { text: redactValue(p.kind, unit, depth), next: null };
    case 'secret':
      return { text: hide(unit), next: unit.endsWith(',') ? { t: 'secret', cont: true } : null };
    case 'header':
      return headerUnit(unit, true, depth);
    case 'header-value':
      return { text: hide(unit), next: isScheme(unit) ? { t: 'secret' } : unit.endsWith(',') || unit.endsWith(';') ? { t: 'header-value', cont: true } : null };
    case 'user-pass': {
      const at = unit.indexOf(p.separator);
      return at < 0 ? null : { text: redactUserPass(unit, p.separator), next: null };
    }
    case 'cookie':
      return unit.includes('=') ? { text: hide(unit), next: unit.endsWith(';') ? { t: 'cookie', cont: true } : null } : null;
    case 'quoted':
      return quoted ? { text: hide(unit), next: null } : null;
    case 'script':
      return { text: redactText(unit, depth + 1), next: null };
  }
}

function redactUserPass(value: string, separator: string): string {
  const at = value.indexOf(separator);
  if (at < 0 || at === value.length - 1) return redactInline(value);
  return `${value.slice(0, at + 1)}${hide(value.slice(at + 1))}`;
}

interface Sequence {
  pending: Pending | null;
  program: ProgramOptions | null;
  subcommandSeen: boolean;
  previous: string;
}

/** Follows which program the units belong to: the last one named (`sudo mysql`, `sh -c "..."`). */
function noteProgram(unit: string, seq: Sequence): boolean {
  const known = PROGRAMS.get(programName(unit));
  if (known !== undefined) {
    seq.program = known;
    seq.subcommandSeen = false;
    return true;
  }
  if (seq.program?.subcommand === unit) seq.subcommandSeen = true;
  return false;
}

/** One unit with no demand from the one before: its own rules, and what it asks of the next. */
function redactOwn(unit: string, seq: Sequence, depth: number): Step {
  if (noteProgram(unit, seq)) return { text: redactInline(unit), next: null };
  const program = seq.program;
  if (program?.shell === true && /^-[a-z]*c[a-z]*$/.test(unit)) return { text: unit, next: { t: 'script' } };
  if (program && (program.subcommand === undefined || seq.subcommandSeen)) {
    if (program.separate?.includes(unit)) return { text: unit, next: { t: 'secret' } };
    if (program.userPass?.includes(unit)) return { text: unit, next: { t: 'user-pass', separator: program.userPassSeparator ?? ':' } };
    if (program.cookie?.includes(unit)) return { text: unit, next: { t: 'cookie' } };
    for (const opt of program.userPass ?? []) {
      if (opt.length === 2 && unit.startsWith(opt) && unit.length > 2) return { text: opt + redactUserPass(unit.slice(2), program.userPassSeparator ?? ':'), next: null };
    }
    for (const opt of program.attached ?? []) {
      if (unit.startsWith(opt) && unit.length > opt.length && !unit.startsWith('--')) return { text: opt + hide(unit.slice(opt.length)), next: null };
    }
  }
  if (unit === '-H') return { text: unit, next: { t: 'header' } };
  if (unit.startsWith('-H') && unit.length > 2) {
    const h = headerUnit(unit.slice(2), true, depth);
    if (h !== null) return { text: `-H${h.text}`, next: h.next };
  }
  const withValue = FLAG_WITH_VALUE.exec(unit);
  if (withValue !== null) {
    const [, dashes, name, value] = withValue as unknown as [string, string, string, string];
    const v = valueStep(nameKind(name), value, depth);
    return { text: `${dashes}${name}=${v.text}`, next: v.next };
  }
  const flag = FLAG.exec(unit);
  if (flag !== null) {
    const kind = nameKind(flag[2] as string);
    if (kind === 'secret' || kind === 'key') return { text: redactInline(unit), next: { t: 'flag-value', kind } };
    if (kind === 'header') return { text: redactInline(unit), next: { t: 'header' } };
    return { text: redactInline(unit), next: null };
  }
  const header = headerUnit(unit, false, depth);
  if (header !== null) return header;
  if (isStandaloneScheme(unit)) return { text: unit, next: { t: 'secret' } };
  if (SNAKE_NAME.test(unit)) {
    const kind = nameKind(unit);
    if (kind === 'secret' || kind === 'key') return { text: redactInline(unit), next: { t: 'flag-value', kind } };
  }
  if (SECRET_WORD.test(unit) || (/^by$/i.test(unit) && /^identified$/i.test(seq.previous))) return { text: unit, next: { t: 'quoted' } };
  // A unit with spaces that is none of the above (`sh -c "..."`): a command line of its own.
  if (SPACE.test(unit)) return { text: redactText(unit, depth + 1), next: null };
  return { text: redactInline(unit), next: null };
}

function redactSequence(units: readonly string[], depth: number, seq: Sequence = { pending: null, program: null, subcommandSeen: false, previous: '' }): string[] {
  const out: string[] = [];
  for (const raw of units) {
    const { open, inner, close } = unquote(raw);
    const pending = seq.pending;
    seq.pending = null;
    let step = pending === null ? null : consume(pending, inner, open !== '', depth);
    // A unit taken as a value still names its program, if it is one: over-redacting one word
    // must not leave the program's own secrets (`Token x, mysql -pSECRET`) unredacted.
    if (step !== null) noteProgram(inner, seq);
    step ??= redactOwn(inner, seq, depth);
    out.push(step.text === inner ? raw : `${open}${step.text}${close}`);
    seq.pending = step.next;
    seq.previous = inner;
  }
  return out;
}

/** One unit on its own (a value, an argv element). */
function redactUnit(unit: string, depth: number): string {
  return unitStep(unit, depth).text;
}

function unitStep(unit: string, depth: number): Step {
  if (depth > MAX_DEPTH) return { text: /[=:]/.test(unit) || /\b(?:bearer|basic|token)\b/i.test(unit) ? hide(unit) : redactInline(unit), next: null };
  const seq: Sequence = { pending: null, program: null, subcommandSeen: false, previous: '' };
  const text = redactSequence([unit], depth, seq)[0] as string;
  return { text, next: seq.pending };
}

/**
 * Splits at whitespace, keeping a quoted stretch (`"Authorization: Bearer x"`, `--header='a b'`)
 * in one unit. A quote that never closes is an ordinary character. Linear: after a failed
 * search for a closing quote, that quote character is never searched for again.
 */
function tokenize(s: string, quotes = true): { units: string[]; gaps: string[] } {
  const units: string[] = [];
  const gaps: string[] = [];
  const unclosed = new Set<string>(quotes ? [] : QUOTES);
  let i = 0;
  let gapStart = 0;
  while (i < s.length) {
    if (isSpace(s.charCodeAt(i))) {
      i++;
      continue;
    }
    gaps.push(s.slice(gapStart, i));
    let j = i;
    while (j < s.length && !isSpace(s.charCodeAt(j))) {
      const c = s[j] as string;
      if (QUOTES.has(c) && !unclosed.has(c)) {
        const close = s.indexOf(c, j + 1);
        if (close < 0) unclosed.add(c);
        else {
          j = close + 1;
          continue;
        }
      }
      j++;
    }
    units.push(s.slice(i, j));
    i = j;
    gapStart = j;
  }
  gaps.push(s.slice(gapStart));
  return { units, gaps };
}

// ---------------------------------------------------------------------------------------------
// The public surface.

/** A copy of argv with every secret replaced; argv[0] names the program. */
export function redactArgv(argv: readonly string[]): string[] {
  return redactSequence(argv.map(redactPem), 0);
}

/**
 * Text that may hold a command line (a joined argv, as a finding reports it), header lines or
 * secrets in any other form: a log message, a value from a finding's detail.
 */
export function redactText(text: string, depth = 0): string {
  if (depth > MAX_DEPTH) return redactUnit(text, depth);
  // What may span spaces: a PEM block, a JSON `"password": "two words"`.
  // PEM blocks are replaced once, on the whole input: inside it, a block's end may be in another unit.
  const pemDone = depth === 0 ? redactPem(text) : text;
  const whole = pemDone.includes('"') ? pemDone.replace(JSON_PAIR, redactJsonPair) : pemDone;
  let { units, gaps } = tokenize(whole);
  // One unit with spaces inside (`-H'a b'`): its quotes group nothing here; split at the spaces.
  if (units.length === 1 && SPACE.test(units[0] as string)) ({ units, gaps } = tokenize(whole, false));
  const red = redactSequence(units, depth);
  let out = gaps[0] ?? '';
  for (let i = 0; i < red.length; i++) out += (red[i] as string) + (gaps[i + 1] ?? '');
  return out;
}

/**
 * A value known by name (an environment variable such as `ETCD_PEER_KEY_FILE`, a config key),
 * judged like a flag of that name: `ETCD_INITIAL_CLUSTER_TOKEN` is a secret, `ETCD_PEER_KEY_FILE`
 * is not, and any value is still searched for URL credentials and credential shapes.
 */
export function redactNamedValue(name: string, value: string): string {
  return redactValue(nameKind(name), redactPem(value), 0);
}

const MAX_JSON_DEPTH = 32;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

function walk(v: unknown, depth: number, kind: Kind, inHeaders: boolean, keyName: string): unknown {
  if (depth > MAX_JSON_DEPTH) return typeof v === 'object' && v !== null ? REDACTED : typeof v === 'string' ? REDACTED : v;
  if (typeof v === 'string') {
    if (inHeaders) return HARMLESS_HEADERS.has(keyName.toLowerCase()) ? redactText(v) : v === '' ? v : REDACTED;
    if (kind === 'header') return headerUnit(v, true, 0)?.text ?? redactText(v);
    return kind === 'none' ? redactText(v) : redactValue(kind, v, 0);
  }
  if (Array.isArray(v)) return v.map((x) => walk(x, depth + 1, kind, inHeaders, keyName));
  if (!isPlainObject(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = walk(x, depth + 1, nameKind(k), kind === 'header', k);
  return out;
}

/**
 * A JSON-like value with every string redacted: strings under a secret-looking property name
 * (`password`, `apiKey`, `authorization`, `cookie` ...) like a named value, strings under a
 * `headers` object as header values, every other string as text. Objects that are not plain
 * (Errors, Buffers, class instances) are returned as they are; nesting beyond 32 is replaced.
 * `keep` names top-level properties returned untouched.
 */
export function redactJson(value: unknown, keep: readonly string[] = []): unknown {
  if (!isPlainObject(value) || keep.length === 0) return walk(value, 0, 'none', false, '');
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(value)) out[k] = keep.includes(k) ? x : walk(x, 1, nameKind(k), false, k);
  return out;
}

/**
 * A finding's detail (JSON text) with its strings redacted, except the top-level fields in
 * `keep`. The input is returned as it was when nothing changed, or when it is not JSON.
 */
export function redactDetailJson(json: string, keep: readonly string[] = []): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return json;
  }
  const before = JSON.stringify(parsed);
  const after = JSON.stringify(redactJson(parsed, keep));
  return after === before ? json : after;
}
