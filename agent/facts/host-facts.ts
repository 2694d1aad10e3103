// The model's common facts (model.ts): errors, files, documents, and the kubelet as found.
// Every failure is recorded as a FactError where it happened; nothing is left out silently.
import type { CliFlag } from './cli-flags.js';
import type { FileStat, FsErrorCode } from './host-fs.js';
import type { DocumentRefusalReason } from './document-limits.js';

export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };
export type JsonObject = { readonly [key: string]: JsonValue };

/**
 * EPARSE: not a valid document; ELIMIT: refused before parsing (or while expanding aliases)
 * for passing a limit of document-limits.ts; ENOCWD: a relative path with no known cwd.
 */
export type FactErrorCode = FsErrorCode | 'EPARSE' | 'ELIMIT' | 'ENOCWD';

export interface FactError {
  readonly code: FactErrorCode;
  /** The host path concerned (or '' when none). */
  readonly path: string;
  readonly message: string;
  /** ELIMIT: the limit of document-limits.ts the document passed (document-refusals.ts counts these). */
  readonly limit?: DocumentRefusalReason;
}

/** A host file as stat'ed through the rooted reader, links followed. */
export interface FileFacts {
  /** The host path as it was named (by a flag, a config, a catalogue). */
  readonly path: string;
  /** The host path after following links; null when it could not be resolved. */
  readonly realPath: string | null;
  readonly stat: FileStat | null;
  /** Names from the host's own /etc/passwd and /etc/group; null when unknown. */
  readonly owner: string | null;
  readonly group: string | null;
  readonly error: FactError | null;
}

/** A YAML or JSON document read from the host. */
export interface ConfigDoc {
  readonly path: string;
  readonly data: JsonObject | null;
  readonly error: FactError | null;
}

/** A path-valued flag, resolved to an absolute host path (relative values against the cwd). */
export interface PathFact {
  readonly flag: string;
  readonly value: string;
  readonly path: string | null;
  readonly error: FactError | null;
}

export interface DropinFacts {
  readonly dir: string;
  /** The `*.conf` files in the order the kubelet applies them (later wins). */
  readonly files: readonly ConfigDoc[];
  /** Set when the directory itself could not be read, or held more than the agent reads. */
  readonly error: FactError | null;
  /**
   * With an ETOOBIG error for too many drop-ins: how many `*.conf` files the walk counted
   * (among the entries it looked at, when it stopped at its entry limit). None of them is read.
   */
  readonly count?: number;
}

/**
 * How a kubeconfig's user authenticates: the kinds of credential it holds, never a value.
 * `client-certificate` is a certificate (file or inline data); `token` and `token-file` a
 * bearer token; `exec` a credential plugin (aws-iam-authenticator, gke-gcloud-auth-plugin);
 * `auth-provider` the older plugin form; `basic` a user name and password.
 */
export type KubeconfigAuthKind = 'client-certificate' | 'token' | 'token-file' | 'exec' | 'auth-provider' | 'basic';

/** The kubelet's --kubeconfig, as far as how it authenticates (agent/facts/kubeconfig-auth.ts). */
export interface KubeconfigAuth {
  readonly path: string;
  /**
   * The credential kinds of the user its current-context names, in the order above (empty: the
   * user holds none); null when that could not be told (`error` says why).
   */
  readonly kinds: readonly KubeconfigAuthKind[] | null;
  readonly error: FactError | null;
}

export interface KubeletFacts {
  readonly pid: number;
  /** Redacted argv. */
  readonly argv: readonly string[];
  /**
   * The process's command line was longer than the agent reads (proc.ts MAX_CMDLINE_BYTES):
   * argv and flags hold only its beginning, and no setting can be judged from them.
   */
  readonly argvTruncated: boolean;
  readonly exe: string | null;
  readonly cwd: string | null;
  readonly flags: readonly CliFlag[];
  /** Path-valued flags that were set: config, config-dir, kubeconfig. */
  readonly paths: readonly PathFact[];
  /** The --config file; null when the kubelet runs without one. */
  readonly config: ConfigDoc | null;
  /** The --config-dir drop-ins; null when the flag is not set. */
  readonly dropins: DropinFacts | null;
  /**
   * How the file --kubeconfig names authenticates; absent when --kubeconfig is not set or its
   * path is unknown (a relative path without a cwd).
   */
  readonly kubeconfigAuth?: KubeconfigAuth;
  /** Other kubelet processes seen (the lowest pid is the one judged). */
  readonly otherPids: readonly number[];
  readonly errors: readonly FactError[];
  /**
   * How the kubelet was found: a live process (the default), or its systemd unit when no
   * kubelet process is visible (pid is then 0, argv is the unit's expanded ExecStart=), or
   * inside a distribution's process that embeds it (`k3s agent`, `kubelite`: pid is that
   * process's, argv is `kubelet` and the flags the layout says it is given).
   */
  readonly origin?: 'process' | 'unit' | 'embedded';
  /**
   * With origin `unit`: for each entry of `flags`, the unit, drop-in or environment file it came
   * from. With origin `embedded`: the args file or configuration file ('' for the flags the
   * distribution passes itself and those on the embedding process's command line).
   */
  readonly flagSources?: readonly string[];
  /** With origin `embedded`: the process that runs the kubelet (`k3s agent`, `kubelite`). */
  readonly embeddedIn?: string;
}

export interface KubeletAbsence {
  /** `not-running`: the process table was read and has no kubelet. `unknown`: it could not be read. */
  readonly status: 'not-running' | 'unknown';
  readonly reason: string;
}
