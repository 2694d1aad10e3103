// Long-flag parsing for Kubernetes components (pflag conventions), from an argv that was
// read from /proc and already redacted, and what a command line's name and bound tell. Pure:
// no I/O.
import { posix } from 'node:path';

/**
 * How much of /proc/<pid>/cmdline is read. Linux allows far more (each argument up to 128 KiB,
 * all of them up to a quarter of the stack limit): past this bound, argv is cut and marked.
 */
export const MAX_CMDLINE_BYTES = 256 * 1024;

/** The basename of argv[0], which is how processes are matched (never the whole line). */
export function commandName(argv: readonly string[]): string {
  const first = argv[0];
  return first === undefined ? '' : posix.basename(first);
}

/**
 * Why settings read from a truncated command line cannot be judged; `who` names the process
 * (`the kubelet`, `kube-apiserver`).
 */
export function truncatedArgvReason(who: string, pid: number | null): string {
  const at = pid === null ? '' : ` (pid ${pid}, /proc/${pid}/cmdline)`;
  return `the command line of ${who}${at} is longer than the ${MAX_CMDLINE_BYTES} bytes the agent reads: ` +
    'a flag past that point would override what can be seen (the last occurrence wins), so its flags cannot be judged';
}

export interface CliFlag {
  /** Name without the leading dashes, `_` normalised to `-` as the components do. */
  readonly name: string;
  readonly value: string;
  /** How it was written: `--f=v`, `--f v`, or a bare `--f` (value "true"). */
  readonly form: 'equals' | 'space' | 'bare';
}

export interface ParsedArgs {
  readonly flags: readonly CliFlag[];
  /** Everything that is not a long flag or its value. */
  readonly positional: readonly string[];
  /** For each entry of `flags`, the index in `args` of the token that holds its value. */
  readonly valueAt: readonly number[];
}

const normaliseName = (name: string): string => name.replace(/_/g, '-');

/**
 * `--flag=value`, `--flag value` (only when the next token does not start with `--`), and a
 * bare `--flag` (value "true"). A flag in `booleanFlags` never takes the next token, as
 * pflag does: `--anonymous-auth false` means true followed by a stray `false`. `--` ends
 * the flags.
 */
export function parseFlags(args: readonly string[], booleanFlags: ReadonlySet<string>): ParsedArgs {
  const flags: CliFlag[] = [];
  const positional: string[] = [];
  const valueAt: number[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '--') {
      positional.push(...args.slice(i + 1));
      break;
    }
    if (!arg.startsWith('--') || arg.length === 2) {
      positional.push(arg);
      continue;
    }
    const body = arg.slice(2);
    const eq = body.indexOf('=');
    if (eq >= 0) {
      flags.push({ name: normaliseName(body.slice(0, eq)), value: body.slice(eq + 1), form: 'equals' });
      valueAt.push(i);
      continue;
    }
    const name = normaliseName(body);
    const next = args[i + 1];
    if (!booleanFlags.has(name) && next !== undefined && !next.startsWith('--')) {
      flags.push({ name, value: next, form: 'space' });
      valueAt.push(i + 1);
      i++;
    } else {
      flags.push({ name, value: 'true', form: 'bare' });
      valueAt.push(i);
    }
  }
  return { flags, positional, valueAt };
}

/** The value a component sees: the last occurrence wins. */
export function lastFlag(flags: readonly CliFlag[], name: string): CliFlag | undefined {
  for (let i = flags.length - 1; i >= 0; i--) {
    const f = flags[i] as CliFlag;
    if (f.name === name) return f;
  }
  return undefined;
}
