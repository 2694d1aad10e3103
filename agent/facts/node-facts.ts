// Facts about the worker side of a node beyond the kubelet's own flags and config: the
// kubelet's systemd unit, kube-proxy, what answers on the kubelet's ports, the kubelet's
// version and the kernel settings the kubelet protects. Plain, JSON-serialisable data;
// every failure is recorded where it happened.
import type { CliFlag } from './cli-flags.js';
import type { ConfigDoc, FactError, FileFacts } from './host-facts.js';

export interface UnitEnvironmentFile {
  readonly path: string;
  /** Named with a leading `-`: systemd starts the unit without it. */
  readonly optional: boolean;
  /** The unit file or drop-in that named it. */
  readonly namedIn: string;
  readonly found: boolean;
}

export interface UnitCommandFacts {
  /** The program systemd runs (a host path). */
  readonly exe: string;
  /** argv after variable expansion, redacted like a process's argv. */
  readonly argv: readonly string[];
  /** For each argv entry, the file it came from (the ExecStart= file or the one that set a variable). */
  readonly sources: readonly string[];
  readonly execStartFile: string;
  /** Variables the command line used that nothing set (they expand to nothing). */
  readonly unsetVariables: readonly string[];
}

/** The systemd unit that starts the kubelet, as found in the host's unit directories. */
export interface KubeletUnitFacts {
  /** The unit looked for: the kubelet's own unit from its cgroup when it runs, else kubelet.service. */
  readonly name: string;
  /** The unit file systemd uses (the first of the unit directories that has it); null when none. */
  readonly unitFile: string | null;
  /** Drop-ins (`<name>.d/*.conf`) in the order systemd applies them. */
  readonly dropins: readonly string[];
  /** The unit file links to /dev/null. */
  readonly masked: boolean;
  readonly environmentFiles: readonly UnitEnvironmentFile[];
  /** The last ExecStart= in effect, expanded; null when there is none. */
  readonly command: UnitCommandFacts | null;
  /** WorkingDirectory=; null means systemd's default for system services, `/`. */
  readonly workingDirectory: string | null;
  /** Unit directories searched, highest priority first. */
  readonly searched: readonly string[];
  readonly errors: readonly FactError[];
}

export interface KubeProxyFacts {
  /** `running`: found in the process table; `not-running`: the table was read and has none; `unknown`: it could not be read. */
  readonly status: 'running' | 'not-running' | 'unknown';
  readonly reason: string;
  readonly pid: number | null;
  /** Redacted argv. */
  readonly argv: readonly string[];
  /** Its command line was longer than the agent reads: flags hold only its beginning (proc.ts). */
  readonly argvTruncated: boolean;
  readonly flags: readonly CliFlag[];
  /** The process's working directory inside its own root (relative flags are taken from it). */
  readonly cwd: string | null;
  /**
   * Where its files were read: `<procRoot>/<pid>/root`, the process's own root. kube-proxy
   * usually runs in a pod, so its paths are inside the container, not on the host.
   */
  readonly root: string | null;
  /** The --config KubeProxyConfiguration, read inside the process's root; null without --config. */
  readonly config: ConfigDoc | null;
  /** Candidate kubeconfig files (from --kubeconfig and clientConnection.kubeconfig), stat'ed inside its root. */
  readonly files: { readonly [path: string]: FileFacts };
  readonly otherPids: readonly number[];
  readonly errors: readonly FactError[];
  /**
   * Set when kube-proxy runs inside a distribution's process (`k3s agent`, `kubelite`): pid is
   * that process's, argv is `kube-proxy` and the flags the layout says it is given, and `root`
   * is the host's root (its files are host files).
   */
  readonly embeddedIn?: string;
}

/** What one connection attempt to a kubelet port saw. */
export interface PortProbe {
  readonly host: string;
  readonly port: number;
  /** `http`: an HTTP answer (statusCode set); `open`: a TCP connection was accepted; `refused`; `timeout`; `error` (detail says). */
  readonly outcome: 'http' | 'open' | 'refused' | 'timeout' | 'error';
  readonly statusCode: number | null;
  readonly detail: string;
}

export interface KubeletProbeFacts {
  /** Unauthenticated HTTPS GET /pods on the kubelet's port; null when not probed. */
  readonly api: PortProbe | null;
  /** TCP connect to the read-only port; null when not probed. */
  readonly readOnly: PortProbe | null;
  /** Why nothing was probed ('' when probed). */
  readonly disabledReason: string;
}

/** The version found inside the kubelet's binary, read without running it. */
export interface KubeletBinaryFacts {
  /** Host path of the binary (the process's exe link value, or the unit's ExecStart program); null without a kubelet. */
  readonly path: string | null;
  readonly realPath: string | null;
  /** e.g. `v1.32.4` (vendor suffixes kept: `v1.31.2-eks-7f9249a`); null when not found. */
  readonly version: string | null;
  /** Every distinct version-like string found, most frequent first. */
  readonly candidates: readonly string[];
  readonly error: FactError | null;
}

export interface SysctlValue {
  readonly name: string;
  /** Trimmed text of /proc/sys/<name>; null when unreadable. */
  readonly value: string | null;
  readonly error: FactError | null;
}

export interface SysctlFacts {
  readonly [name: string]: SysctlValue;
}

/** The kernel settings the kubelet checks at start when --protect-kernel-defaults is on. */
export const KERNEL_DEFAULTS_SYSCTLS = [
  'vm.overcommit_memory',
  'vm.panic_on_oom',
  'kernel.panic',
  'kernel.panic_on_oops',
  'kernel.keys.root_maxkeys',
  'kernel.keys.root_maxbytes',
] as const;
export type KernelDefaultsSysctl = (typeof KERNEL_DEFAULTS_SYSCTLS)[number];
