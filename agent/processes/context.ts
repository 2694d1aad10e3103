// Context on a learned program (pure): the baseline says which programs a workload runs; this
// says what one exec of such a program is doing that the path alone does not show.
//
//   - The dynamic loader run directly is judged by the program it loads (loader.ts): `program`
//     is that program (null when it cannot be known: the judge treats the exec as unexpected).
//   - `proc-reverse-shell` (critical): a shell or interpreter (interpreters.ts) whose stdin,
//     stdout or stderr is an AF_INET/AF_INET6 socket. Never for a unix socket (journald holds
//     every systemd service's stdout), a pipe, a file or a tty.
//   - `proc-inline-code` (medium): an interpreter runs code from its command line (`-c`, `-e`,
//     awk's program text), or reads its code from stdin while stdin is a socket, and the
//     baseline never saw that interpreter run inline code while learning (`learnedInline`).
//     Code on stdin from an inet socket is the reverse shell itself and reported only as that.
//   - setuid: the real and effective uids differ at the exec; both are returned, for the
//     finding's detail (a setuid-root copy run by nobody shows nobody and root).
import { PROC_INLINE_CODE_CHECK, PROC_REVERSE_SHELL_CHECK } from '../../proto/process-checks.js';
import type { Severity } from '../../proto/domain.js';
import { inlineCode, type InlineCode } from './interpreters.js';
import { loadedProgram, type LoadedProgram } from './loader.js';
import type { StdioFact, StdioFacts } from './stdio.js';

export interface ContextInput {
  /** The executable that ran (canonical path). */
  readonly exe: string;
  /** Its argv, raw (not redacted: the judge reads options). */
  readonly argv: readonly string[];
  /** fds 0, 1, 2, or null when not known (they are then not judged). */
  readonly stdio: StdioFacts | null;
  /** Real and effective uid at the exec; -1 when unknown. */
  readonly uid: number;
  readonly euid: number;
  /** The working directory, to resolve a loader's relative program path. */
  readonly cwd?: string | null;
}

export interface ContextOptions {
  /**
   * Whether the baseline saw inline code from this interpreter while learning: a boolean for
   * the exec's program, or asked with the judged program and its interpreter family (when
   * the loader runs it, the program is not the exe the caller started from).
   */
  readonly learnedInline: boolean | ((program: string, interpreter: string) => boolean);
}

export type ContextCheckId = typeof PROC_REVERSE_SHELL_CHECK.id | typeof PROC_INLINE_CODE_CHECK.id;

export interface ContextFinding {
  readonly checkId: ContextCheckId;
  readonly severity: Severity;
  /** The interpreter family (interpreters.ts): bash, python, ... */
  readonly interpreter: string;
  /** The judged program (the loaded one when the loader ran it). */
  readonly program: string;
  /** Why, in words, for the finding's detail. */
  readonly reason: string;
  /** proc-reverse-shell: the fds (0, 1, 2) on an inet/inet6 socket. */
  readonly fds?: readonly number[];
  /** proc-inline-code: the option that carried the code (`-c`, `-e`, `program`), or `stdin`. */
  readonly flag?: string;
}

export interface ContextVerdict {
  /** What the baseline judges: the exe, or the program the loader loads; null when it cannot be known. */
  readonly program: string | null;
  /** The judged program's argv. */
  readonly argv: readonly string[];
  /** Set when the exe is the dynamic loader run directly. */
  readonly loader: LoadedProgram | null;
  /** The judged program as an interpreter (null: not one). Learning records `inline` from here. */
  readonly interpreter: InlineCode | null;
  /** Whether this exec runs inline code (command line, or stdin from a socket): what learning records. */
  readonly inline: boolean;
  readonly findings: readonly ContextFinding[];
  /** Real and effective uid when they differ (both known). */
  readonly setuid: { readonly uid: number; readonly euid: number } | null;
}

const FD_NAMES = ['stdin', 'stdout', 'stderr'] as const;

const isInet = (f: StdioFact | undefined): boolean => f?.kind === 'socket' && (f.family === 'inet' || f.family === 'inet6');

export function judgeContext(input: ContextInput, opts: ContextOptions): ContextVerdict {
  const loader = loadedProgram(input.exe, input.argv, input.cwd ?? null);
  const program = loader ? loader.program : input.exe;
  const argv = loader ? loader.argv : input.argv;
  const setuid = input.uid >= 0 && input.euid >= 0 && input.uid !== input.euid ? { uid: input.uid, euid: input.euid } : null;
  const interpreter = program === null ? null : inlineCode(program, argv);
  if (program === null || interpreter === null) {
    return { program, argv, loader, interpreter: null, inline: false, findings: [], setuid };
  }

  const findings: ContextFinding[] = [];
  const stdio = input.stdio;
  const inetFds = stdio ? [0, 1, 2].filter((fd) => isInet(stdio[fd])) : [];
  if (inetFds.length > 0) {
    const families = [...new Set(inetFds.map((fd) => stdio![fd]!.family))].join('/');
    findings.push({
      checkId: PROC_REVERSE_SHELL_CHECK.id, severity: PROC_REVERSE_SHELL_CHECK.severity, interpreter: interpreter.interpreter, program,
      fds: inetFds, reason: `${interpreter.kind} ${interpreter.interpreter} started with ${inetFds.map((fd) => FD_NAMES[fd]).join(', ')} on an ${families} socket`,
    });
  }

  const stdinSocket = stdio?.[0]?.kind === 'socket';
  const inline = interpreter.inline || (interpreter.fromStdin && stdinSocket);
  const learned = typeof opts.learnedInline === 'function' ? opts.learnedInline(program, interpreter.interpreter) : opts.learnedInline;
  const stdinIsTheReverseShell = !interpreter.inline && inetFds.includes(0);
  if (inline && !learned && !stdinIsTheReverseShell) {
    const flag = interpreter.inline ? interpreter.flag ?? '' : 'stdin';
    findings.push({
      checkId: PROC_INLINE_CODE_CHECK.id, severity: PROC_INLINE_CODE_CHECK.severity, interpreter: interpreter.interpreter, program, flag,
      reason: interpreter.inline
        ? `${interpreter.interpreter} ran code given on its command line (${flag}); it never did while the baseline learned`
        : `${interpreter.interpreter} read its code from stdin, a ${stdio?.[0]?.family ?? 'unknown-family'} socket; it never did while the baseline learned`,
    });
  }
  return { program, argv, loader, interpreter, inline, findings, setuid };
}
