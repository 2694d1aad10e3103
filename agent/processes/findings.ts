// `proc-unexpected` findings: what one looks like (pure) and how repeats are collapsed and
// rate-limited before they reach the spool.
//
// Every unexpected process is an occurrence of (baseline key, executable), gathered in a
// pending entry; a finding is one entry sent with the number of occurrences it gathered (the
// detail is the latest process's). An entry whose (key, executable) has a token is ready at
// once: flushReady sends the ready ones (the monitor calls it as soon as the current batch of
// exec events is judged, so a finding does not wait for a timer). A token bucket per (key,
// executable) caps how many findings are sent: when it is empty the entry keeps gathering and
// the periodic flush sends it, with its whole count, once a token is back, so the collector's
// count stays exact while the messages are capped. Occurrences that had to wait are counted
// (`capped`); occurrences lost to the bound on pending entries are counted too (`lost`).
import type { WireFinding } from '../../proto/load.js';
import type { ProcessDetail as WireProcessDetail } from '../../proto/gen/nodeward/v1/ProcessDetail.js';
import { boundedSubject, processSubject } from '../../proto/baseline-key.js';
import { createTokenBuckets } from './rate-limit.js';
import { severityToWire, type Severity } from '../../proto/domain.js';
import {
  PROC_FAKE_CONTAINER_CGROUP_CHECK, PROC_INLINE_CODE_CHECK, PROC_MODIFIED_BINARY_CHECK, PROC_REVERSE_SHELL_CHECK, PROC_UNEXPECTED_CHECK,
  PROC_UNVERIFIED_BINARY_CHECK,
} from '../../proto/process-checks.js';

/** The wire's name of a severity (SEVERITY_HIGH for high). */
const wireSeverity = <S extends Severity>(s: S) => severityToWire(s) as `SEVERITY_${Uppercase<S>}`;

export const PROC_UNEXPECTED = {
  id: PROC_UNEXPECTED_CHECK.id,
  title: 'Unexpected process',
  reads: 'Every exec (eBPF, else the process connector, else a /proc scan every 2 s): its executable, judged against the locked baseline of its container (from its cgroup and the runtime\'s bundle) or of the host. Subject `<baseline>:<executable>`.',
  category: PROC_UNEXPECTED_CHECK.category,
  severity: wireSeverity(PROC_UNEXPECTED_CHECK.severity),
  remediation: 'Find out why this executable ran (its parent chain and command line are in the details). If it is '
    + 'legitimate, allow it in the baseline (`./bin/nodeward baseline allow`, or the API); otherwise treat the workload as compromised: '
    + 'isolate the pod, keep its logs, and rebuild it from a trusted image.',
} as const;

/**
 * A process ran in a cgroup named like a container's that no container runtime vouches for
 * (attribution.ts): something made the cgroup, or moved a process into it, to pass as a
 * container (and be judged against a baseline that is still learning, or none). The process
 * is judged as a host process all the same; this finding names the cgroup. Its subject is
 * `cgroup:<path>`, so every process in one such cgroup is one finding, with a count.
 */
export const PROC_FAKE_CONTAINER_CGROUP = {
  id: PROC_FAKE_CONTAINER_CGROUP_CHECK.id,
  title: "Process in a cgroup that only looks like a container's",
  reads: "Each process's cgroup path at its exec, and whether a container runtime holds a bundle naming a pod for that container id (processes.containerdState). Subject `cgroup:<path>`.",
  category: PROC_FAKE_CONTAINER_CGROUP_CHECK.category,
  severity: wireSeverity(PROC_FAKE_CONTAINER_CGROUP_CHECK.severity),
  remediation: 'No container runtime on the node holds a pod bundle for this cgroup\'s container id, yet a process ran in '
    + 'it. Find who created the cgroup and moved the process there (its parent chain and command line are in the details); '
    + 'only root can, so treat the node as compromised unless a known tool explains it.',
} as const;

/** A shell or interpreter started with stdin, stdout or stderr on a TCP/UDP/raw socket (context.ts). */
export const PROC_REVERSE_SHELL = {
  id: PROC_REVERSE_SHELL_CHECK.id,
  title: 'Shell or interpreter talking to the network on its stdin/stdout',
  reads: 'What stdin, stdout and stderr of each shell or interpreter are at its exec: a TCP, UDP or raw socket (IPv4 or IPv6) is reported; a unix socket, pipe, file or terminal never is (docs/interpreters.md lists the programs).',
  category: PROC_REVERSE_SHELL_CHECK.category,
  severity: wireSeverity(PROC_REVERSE_SHELL_CHECK.severity),
  remediation: 'A shell or interpreter was started with its standard input, output or error on a network connection: the '
    + 'shape of a reverse shell (`bash -i >& /dev/tcp/...`, `nc -e`). Services run by systemd write to a unix socket, which '
    + 'is never reported. Find the parent that set it up (the parent chain is in the details), capture the connection\'s '
    + 'peer, and treat the workload as compromised: isolate it, keep its logs, rebuild it from a trusted image.',
} as const;

/** An interpreter ran inline code in a baseline that never saw it do so while learning (context.ts). */
export const PROC_INLINE_CODE = {
  id: PROC_INLINE_CODE_CHECK.id,
  title: 'Interpreter ran code from its command line',
  reads: "Each shell or interpreter's command line (`-c`, `-e`, awk program text), or stdin when it is a socket, against what its baseline saw while learning (docs/interpreters.md).",
  category: PROC_INLINE_CODE_CHECK.category,
  severity: wireSeverity(PROC_INLINE_CODE_CHECK.severity),
  remediation: 'A shell or interpreter this workload runs ran code given on its command line (`-c`, `-e`, awk program text) '
    + 'or on stdin from a socket, which it never did while its baseline learned. Read the command line in the details: if '
    + 'the workload does this legitimately, allow it in the baseline; otherwise find who started it (the parent chain) and '
    + 'treat the workload as compromised.',
} as const;

/** A learned path ran content nobody vouches for (the coordinator's identity check). */
export const PROC_MODIFIED_BINARY = {
  id: PROC_MODIFIED_BINARY_CHECK.id,
  title: 'Learned executable with unknown content',
  reads: "The SHA-256 of each executable that runs (hashed once per file version), against the contents its baseline learned, the host's package database and the container's image (docs/process-identity.md).",
  category: PROC_MODIFIED_BINARY_CHECK.category,
  severity: wireSeverity(PROC_MODIFIED_BINARY_CHECK.severity),
  remediation: 'An executable at a learned path ran with content (SHA-256) the baseline never learned, and neither the '
    + 'package manager\'s records nor the container image vouch for it: the file was replaced or overwritten. Compare it with '
    + 'the package or image it came from; if the change is a legitimate build, allow the new digest in the baseline, '
    + 'otherwise treat the node or workload as compromised.',
} as const;

/** A learned path ran with content that could not be hashed (identity.ts says why). */
export const PROC_UNVERIFIED_BINARY = {
  id: PROC_UNVERIFIED_BINARY_CHECK.id,
  title: 'Learned executable whose content could not be checked',
  reads: 'Each learned executable that runs once its baseline is locked, when its content cannot be hashed: gone from every place the agent may read, larger than processes.maxHashBytes, or unreadable.',
  category: PROC_UNVERIFIED_BINARY_CHECK.category,
  severity: wireSeverity(PROC_UNVERIFIED_BINARY_CHECK.severity),
  remediation: 'A learned path ran, but the agent could not read what ran to compare it with the baseline (the reason is in '
    + 'the details: the process and its file were gone from every place the agent may read, the file is larger than '
    + 'processes.maxHashBytes, or it could not be read). Check the file on the node against its package or image; raise '
    + 'processes.maxHashBytes if it is a large binary that legitimately runs here.',
} as const;

/** The checks a process finding can be. */
export type ProcessCheck = typeof PROC_UNEXPECTED | typeof PROC_FAKE_CONTAINER_CGROUP | typeof PROC_REVERSE_SHELL
  | typeof PROC_INLINE_CODE | typeof PROC_MODIFIED_BINARY | typeof PROC_UNVERIFIED_BINARY;

/** Every process check, for the check reference (docs/checks.md). */
export const PROCESS_CHECKS: readonly ProcessCheck[] = [
  PROC_UNEXPECTED, PROC_FAKE_CONTAINER_CGROUP, PROC_REVERSE_SHELL, PROC_INLINE_CODE, PROC_MODIFIED_BINARY, PROC_UNVERIFIED_BINARY,
];

export { MAX_SUBJECT_CHARS } from '../../proto/baseline-key.js';
/** Findings per FindingBatch (the collector takes at most 1,000). */
export const MAX_FINDINGS_PER_BATCH = 500;

export interface ProcessDetail {
  /** The baseline key (key.ts). Named `baseline`, not `key`: loggers redact fields called key. */
  readonly baseline: string;
  readonly exe: string;
  readonly exeDeleted: boolean;
  readonly pid: number;
  readonly ppid: number;
  /** Executables of the parent, grandparent, ... up to the container boundary (bounded). */
  readonly parents: readonly string[];
  readonly uid: number;
  /** The host's name for the uid for host processes; the uid as text inside containers. */
  readonly user: string;
  readonly cmdline: string;
  readonly container: { readonly id: string; readonly name: string; readonly runtime: string } | null;
  readonly pod: string;
  readonly podUid: string;
  readonly namespace: string;
  readonly workload: { readonly kind: string; readonly name: string; readonly source: 'pod-name' | 'collector' } | null;
  readonly startedAtMs: number;
  readonly seen: 'event' | 'scan';
  /** Some of the process's files could not be read (it exited first): listed in `missing`. */
  readonly partial: boolean;
  readonly missing: readonly string[];
  /**
   * What the kernel recorded at the exec, when the eBPF source saw it: the file name execve
   * was given (`exe` is the file's canonical path), the file's inode, device, link count and
   * filesystem kind (`memfd` is code run from memory), the exec-time cgroup and namespaces,
   * the real uid and the gids.
   */
  readonly kernel?: {
    readonly filename: string;
    readonly ino: number;
    readonly dev: number;
    readonly nlink: number;
    readonly fsKind: string;
    readonly cgroupId: number;
    readonly mntNs: number;
    readonly pidNs: number;
    readonly uid: number;
    readonly gid: number;
    readonly egid: number;
    readonly comm: string;
  };
  /**
   * proc-fake-container-cgroup only: the cgroup (at the exec) that named a container, the id
   * it named, and why that container is not believed.
   */
  readonly fakeContainer?: { readonly cgroupPath: string; readonly id: string; readonly reason: string };
  /** The executed file's content (SHA-256) and how it compares with the baseline; absent when identity checks are off. */
  readonly identity?: {
    readonly sha256: string;
    readonly size: number;
    /** Why it could not be hashed (identity.ts IdentityFailure), with a sentence. */
    readonly error?: string;
    readonly errorDetail?: string;
    /** The contents the baseline holds for the path. */
    readonly baselineSha256: readonly string[];
    readonly vouchedBy?: string;
    readonly notVouched?: string;
  };
  /** Set when the effective uid at the exec differs from the real one (uid): a setuid program. */
  readonly euid?: number;
  readonly effectiveUser?: string;
  /** What about the start was remarkable (stdio on a socket, inline code, the loader run directly). */
  readonly context?: {
    readonly stdio: readonly { readonly kind: string; readonly family?: string }[];
    readonly interpreter: string;
    readonly inlineFlag: string;
    readonly loader: string;
    readonly loadedProgram: string;
  };
}

/** `<baseline key>:<executable>` (hashed when too long): the contract's processSubject. */
export const subjectFor = processSubject;

/** The subject of a process finding: `<baseline>:<exe>`, or `cgroup:<path>` for a fake container cgroup. */
export function processFindingSubject(check: ProcessCheck, detail: ProcessDetail): string {
  if (check.id === PROC_FAKE_CONTAINER_CGROUP.id) return boundedSubject(`cgroup:${detail.fakeContainer?.cgroupPath ?? ''}`);
  return subjectFor(detail.baseline, detail.exe);
}

/**
 * The detail as the wire's ProcessDetail (agent.proto); its `seen` is the Finding's. The agent
 * sends this alone, not detail_json as agents up to 0.1.x did: one encoding of the detail, so
 * the collector has one thing to validate and the two can never disagree. A collector that
 * predates the field would store such a finding with an empty detail, so collectors are
 * upgraded first (README, beside the frozen wire fixtures).
 */
export function processDetailToWire(d: ProcessDetail): WireProcessDetail {
  return {
    baseline: d.baseline, exe: d.exe, exeDeleted: d.exeDeleted, pid: d.pid, ppid: d.ppid, parents: [...d.parents], uid: d.uid,
    user: d.user, cmdline: d.cmdline, container: d.container ? { ...d.container } : null, pod: d.pod, podUid: d.podUid,
    namespace: d.namespace, workload: d.workload ? { ...d.workload } : null, startedAtMs: d.startedAtMs, partial: d.partial,
    missing: [...d.missing], kernel: d.kernel ? { ...d.kernel } : null, fakeContainer: d.fakeContainer ? { ...d.fakeContainer } : null,
    identity: d.identity ? { ...d.identity, baselineSha256: [...d.identity.baselineSha256].slice(0, 8) } : null,
    effective: d.euid !== undefined ? { uid: d.euid, user: d.effectiveUser ?? '' } : null,
    context: d.context ? { ...d.context, stdio: d.context.stdio.map((f) => ({ kind: f.kind, family: f.family ?? '' })) } : null,
  };
}

export function processFinding(check: ProcessCheck, detail: ProcessDetail, occurrences: number, observedAtMs: number): WireFinding {
  return {
    checkId: check.id, subject: processFindingSubject(check, detail), title: check.title,
    category: check.category, severity: check.severity, status: 'STATUS_FAIL', observedAtMs,
    occurrences: Math.max(1, occurrences), seen: detail.seen, remediation: check.remediation,
    process: processDetailToWire(detail),
  };
}

export function unexpectedFinding(detail: ProcessDetail, occurrences: number, observedAtMs: number): WireFinding {
  return processFinding(PROC_UNEXPECTED, detail, occurrences, observedAtMs);
}

export interface FindingSinkOptions {
  readonly burst: number;
  readonly refillMs: number;
  /** Token buckets and pending entries kept at most. */
  readonly maxKeys: number;
}

export interface FindingSinkStats {
  /** Unexpected occurrences recorded. */
  readonly observed: number;
  /** Findings sent to the spool. */
  readonly emitted: number;
  /** Occurrences that waited for the rate limit (sent later inside a count). */
  readonly capped: number;
  /** Occurrences lost because too many entries were pending. */
  readonly lost: number;
  readonly pending: number;
}

interface Pending {
  readonly check: ProcessCheck;
  occurrences: number;
  detail: ProcessDetail;
  lastMs: number;
}

export function createFindingSink(opts: FindingSinkOptions, deps: { emit(findings: WireFinding[]): void }) {
  const buckets = createTokenBuckets({ burst: opts.burst, refillMs: opts.refillMs, maxKeys: opts.maxKeys });
  const pending = new Map<string, Pending>();
  /** Pending entries that had a token when recorded: sent by the next flushReady. */
  const ready = new Set<string>();
  let observed = 0;
  let emitted = 0;
  let capped = 0;
  let lost = 0;
  const id = (check: ProcessCheck, detail: ProcessDetail): string => `${check.id}\n${processFindingSubject(check, detail)}`;

  function emit(out: WireFinding[]): number {
    for (let i = 0; i < out.length; i += MAX_FINDINGS_PER_BATCH) deps.emit(out.slice(i, i + MAX_FINDINGS_PER_BATCH));
    emitted += out.length;
    return out.length;
  }

  return {
    /**
     * One occurrence of a process finding (proc-unexpected unless `check` says otherwise);
     * true when its entry is ready to be sent now (flushReady).
     */
    record(detail: ProcessDetail, now: number, check: ProcessCheck = PROC_UNEXPECTED): boolean {
      observed++;
      const k = id(check, detail);
      const available = buckets.available(k, now);
      if (available) ready.add(k);
      else capped++;
      const p = pending.get(k);
      if (p) {
        p.occurrences++;
        p.detail = detail;
        p.lastMs = now;
        return available;
      }
      while (pending.size >= opts.maxKeys) {
        const [oldest, entry] = pending.entries().next().value as [string, Pending];
        pending.delete(oldest);
        ready.delete(oldest);
        lost += entry.occurrences;
      }
      pending.set(k, { check, occurrences: 1, detail, lastMs: now });
      return available;
    },

    /** Sends the entries that were ready when recorded (one batch for all of them); returns how many. */
    flushReady(now: number): number {
      const out: WireFinding[] = [];
      for (const k of ready) {
        const p = pending.get(k);
        if (!p || !buckets.take(k, now)) continue;
        pending.delete(k);
        out.push(processFinding(p.check, p.detail, p.occurrences, p.lastMs));
      }
      ready.clear();
      return emit(out);
    },

    /** Sends every pending entry whose bucket has a token; returns how many findings were sent. */
    flush(now: number): number {
      const out: WireFinding[] = [];
      for (const [k, p] of pending) {
        if (!buckets.take(k, now)) continue;
        pending.delete(k);
        out.push(processFinding(p.check, p.detail, p.occurrences, p.lastMs));
      }
      ready.clear();
      return emit(out);
    },

    /** The executable is allowed now: nothing pending for it is sent, and its bucket is reset. */
    allow(key: string, exe: string): void {
      // What an allow answers: the path, its content, its inline code (not a reverse shell).
      for (const check of [PROC_UNEXPECTED, PROC_MODIFIED_BINARY, PROC_UNVERIFIED_BINARY, PROC_INLINE_CODE]) {
        const k = `${check.id}\n${subjectFor(key, exe)}`;
        pending.delete(k);
        ready.delete(k);
        buckets.forget(k);
      }
    },

    stats(): FindingSinkStats {
      return { observed, emitted, capped, lost, pending: pending.size };
    },
  };
}

export type FindingSink = ReturnType<typeof createFindingSink>;
