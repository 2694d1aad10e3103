// agent-exec-coverage: the agent's own exec source, judged like any check (pure: the process
// monitor's state in, one result out). eBPF describes every exec in the kernel; on the process
// connector (netlink) a process gone before /proc is read is not judged, and on the /proc scan
// a process that lives less than the scan interval is never seen. A degraded source is a
// finding that names why eBPF (and netlink) did not load; it resolves when eBPF runs again,
// at the next scan report (a pass inside the report's scope).
import type { Result } from '../../proto/domain.js';
import { makeResult } from './result.js';
import type { CheckMeta } from './spec.js';
import { EXEC_COVERAGE_CHECK } from '../../proto/process-checks.js';

export const EXEC_COVERAGE: CheckMeta & { readonly reads: string } = {
  id: EXEC_COVERAGE_CHECK.id,
  references: [],
  title: 'The agent sees every exec in the kernel (eBPF exec source)',
  reads: "The agent's own exec source: ebpf passes; netlink (the process connector) warns at medium, the /proc scan at high. Subject `exec-source`; the reason names why eBPF did not load.",
  category: EXEC_COVERAGE_CHECK.category,
  severity: EXEC_COVERAGE_CHECK.severity,
  scored: false,
  remediation: 'Let the agent load its eBPF program: a kernel of 5.8 or later with BTF (/sys/kernel/btf/vmlinux), the '
    + 'capabilities CAP_BPF and CAP_PERFMON in the DaemonSet (and CAP_SYS_RESOURCE or a raised RLIMIT_MEMLOCK on kernels '
    + 'before 5.11), a container runtime whose seccomp profile allows bpf(), and processes.ebpf left on. The reason names '
    + 'what failed; docs/privileges.md, "Exec events", lists each code.',
};

/** The monitor's exec source as the check reads it. */
export interface ExecSourceFact {
  /** `ebpf`, `netlink` or `scan`. */
  readonly source: string;
  /** Why each better source did not load, on one line (`ebpf: CODE: ...; netlink: ...`). */
  readonly reason: string;
}

const WHAT_IS_MISSED: Readonly<Record<string, string>> = {
  netlink: 'the process connector: a process gone before /proc is read is not judged',
  scan: 'the /proc scan only: a process that lives less than the scan interval is never seen',
};

export function execCoverageResult(fact: ExecSourceFact): Result {
  const subject = 'exec-source';
  if (fact.source === 'ebpf') {
    return makeResult(EXEC_COVERAGE, { subject, status: 'pass', actual: 'ebpf', expected: 'ebpf', reason: 'an eBPF program records every exec in the kernel' });
  }
  const missed = WHAT_IS_MISSED[fact.source] ?? `an unknown source (${fact.source})`;
  const r = makeResult(EXEC_COVERAGE, {
    subject, status: 'warn', actual: fact.source, expected: 'ebpf',
    reason: `execs are seen through ${missed}; ${fact.reason || 'no reason was recorded'}`,
  });
  // Without any exec events, short-lived processes are not seen at all.
  return fact.source === 'netlink' ? r : { ...r, severity: 'high' };
}
