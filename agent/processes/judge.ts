// The process judge: one observed process in, a verdict out. It places the process (host, or
// the container its exec-time cgroup names, believed only when a runtime's bundle vouches for
// it), reads its ancestors while they still exist, learns what ran (its content, identity.ts),
// asks the process's baseline about the path and the content, looks at how it started
// (context.ts: stdio on a network socket, inline code, the loader run directly, setuid), and
// hands what is wrong to the findings sink: proc-unexpected, proc-modified-binary,
// proc-unverified-binary, proc-reverse-shell, proc-inline-code (docs/process-identity.md).
//
// Where a process belongs is decided from what held at its exec (eBPF: the kernel's cgroup ids
// and path at the exec; netlink: /proc/<pid>/cgroup read right after it) and kept in the
// process table: a process moved to another cgroup later keeps it, and a scan does not judge it
// again. A cgroup named like a container's is believed only when a runtime's bundle vouches for
// it (attribution.ts); otherwise the process is the host's and the cgroup is a
// `proc-fake-container-cgroup` finding. And a process that exec'd in a real container's cgroup
// while still in the host's mount namespace (eBPF records say which) is not in the container:
// it sees the host's files, not the image's. That is runc's own init before it joins the
// container, and a host process that moved itself into a pod's cgroup; both are the host's.
import type { Logger } from '../../proto/support/logger.js';
import { zeroVerdicts, type ItemDigest, type Verdict } from '../baseline/baselines.js';
import { matchesAnyProbe } from '../baseline/probes.js';
import { hostAttribution, isNotAContainer, type Attribution, type Attributor } from './attribution.js';
import type { BaselineKeeper } from './baseline-keeper.js';
import { containerFromCgroup, type CgroupContainer } from './cgroup.js';
import { formatCmdline, formatPath } from './cmdline.js';
import { fsKindOf, type KernelExecFacts } from './exec-events.js';
import { judgeContext } from './context.js';
import {
  PROC_FAKE_CONTAINER_CGROUP, PROC_INLINE_CODE, PROC_MODIFIED_BINARY, PROC_REVERSE_SHELL, PROC_UNEXPECTED, PROC_UNVERIFIED_BINARY,
  type FindingSink, type ProcessCheck, type ProcessDetail,
} from './findings.js';
import { inlineCode } from './interpreters.js';
import { loadedProgram, loaderFlavour } from './loader.js';
import type { StdioFacts, StdioReader } from './stdio.js';
import type { Digests, IdentityHasher, IdentityResult } from './identity.js';
import { execIdentity, type Observed } from './observed.js';
import type { Vouch } from '../facts/package-vouch.js';
import type { ProcessTable, TableEntry } from './process-table.js';

const MAX_CONTAINERS = 8192;
/** /proc stdio reads per second at most (each may read the kernel's socket tables). */
const STDIO_READS_PER_SECOND = 50;
/** Exec-time cgroups (by the kernel's cgroup ids) whose container is known. */
const MAX_CGROUPS = 4096;

export interface JudgeDeps {
  readonly log: Logger;
  readonly now: () => number;
  /** How long after a container's first process its processes count as its startup. */
  readonly startupMs: number;
  readonly ticksToMs: (ticks: number) => number;
  readonly table: ProcessTable;
  readonly attributor: Attributor;
  readonly baselines: BaselineKeeper;
  readonly sink: FindingSink;
  /** Host users by uid (the host's passwd). */
  readonly users: () => ReadonlyMap<number, string>;
  /** The host's mount namespace inode, null when unknown. */
  readonly hostMntNs: () => number | null;
  /** A finding is ready to leave now (process findings are not held for the flush tick). */
  readonly ready: () => void;
  /** Hashes what ran; null judges paths alone (processes.identity: false). */
  readonly identity: IdentityHasher | null;
  /** Asks the host's package manager whether it recorded a content for a path. */
  readonly vouch: ((path: string, digests: Digests) => Promise<Vouch>) | null;
  /** Reads what fds 0-2 of a live process are (sources without eBPF facts); null: not judged. */
  readonly stdio: StdioReader | null;
  /** A live process's working directory (resolves a relative path given to the loader). */
  readonly cwdOf: ((pid: number) => string | null) | null;
}

/** What a finding says of the executed file's content. */
function identityDetail(r: IdentityResult, held: readonly ItemDigest[], vouch: Vouch | null): NonNullable<ProcessDetail['identity']> {
  const baselineSha256 = held.map((d) => d.sha256);
  const vouched = vouch === null ? {} : vouch.vouched ? { vouchedBy: `${vouch.manager}:${vouch.package}` } : { notVouched: vouch.reason };
  if (r.ok) return { sha256: r.digests.sha256, size: r.identity.size, baselineSha256, ...vouched };
  return { sha256: '', size: 0, error: r.reason, errorDetail: r.detail, baselineSha256 };
}

/** The exec-time facts a finding carries when the kernel recorded them (eBPF). */
function kernelDetail(k: KernelExecFacts, exe: string): NonNullable<ProcessDetail['kernel']> {
  return {
    filename: k.filename, ino: k.ino, dev: k.dev, nlink: k.nlink, fsKind: fsKindOf(k.fsMagic, exe, k.detached), cgroupId: k.cgroupId, mntNs: k.mntNs, pidNs: k.pidNs,
    uid: k.uid, gid: k.gid, egid: k.egid, comm: k.comm,
  };
}

export function createJudge(deps: JudgeDeps) {
  const { log, now, table, attributor, sink } = deps;
  const counters = { unjudged: 0, unplaced: 0, fakeContainer: 0, hostNamespace: 0 };
  const verdicts = zeroVerdicts();
  /** What the judge did beyond the baseline's verdicts. */
  const content = { reexec: 0, fromMemory: 0, deleted: 0, upgraded: 0, stdioSkipped: 0 };
  const stdioWindow = { second: 0, reads: 0 };
  /** Container id -> the start of its oldest process seen (ms). */
  const containerStart = new Map<string, number>();
  /** `<v2 id>:<v1 memory id>` -> the container the exec-time cgroup path names (eBPF records). */
  const cgroups = new Map<string, CgroupContainer | null>();
  let hostKey = '';
  let host: Attribution = hostAttribution(hostKey);

  function hostAt(): Attribution {
    if (deps.baselines.hostKey !== hostKey) {
      hostKey = deps.baselines.hostKey;
      host = hostAttribution(hostKey);
    }
    return host;
  }

  /**
   * The container the cgroup at the exec names. An eBPF record's cgroup is the kernel's own at
   * the exec (ids and path); the parse is kept per cgroup id, which the kernel never reuses.
   * Netlink records read /proc/<pid>/cgroup right after the exec; scan records when scanned.
   */
  function claimedContainer(o: Observed): CgroupContainer | null {
    if (o.cgroup === null) return null;
    if (!o.kernel) return containerFromCgroup(o.cgroup);
    const id = `${o.kernel.cgroupId}:${o.kernel.cgroupV1Id}`;
    const hit = cgroups.get(id);
    if (hit !== undefined) return hit;
    const c = containerFromCgroup(o.cgroup);
    if (cgroups.size >= MAX_CGROUPS) cgroups.delete(cgroups.keys().next().value as string);
    cgroups.set(id, c);
    return c;
  }

  function noteContainerStart(id: string, startedAtMs: number): number {
    const first = containerStart.get(id);
    const since = first === undefined || startedAtMs < first ? startedAtMs : first;
    if (first === undefined || since !== first) {
      if (first === undefined && containerStart.size >= MAX_CONTAINERS) containerStart.delete(containerStart.keys().next().value as string);
      containerStart.set(id, since);
    }
    return since;
  }

  function userName(uid: number, onHost: boolean): string {
    if (uid < 0) return '';
    return (onHost ? deps.users().get(uid) : undefined) ?? String(uid);
  }

  function record(detail: ProcessDetail, t: number, check?: ProcessCheck): void {
    if (sink.record(detail, t, check)) deps.ready();
  }

  async function observe(o: Observed, seen: 'event' | 'scan'): Promise<void> {
    if (o.exe === null) {
      if (table.firstUnjudged(o)) counters.unjudged++;
      return;
    }
    const exe = formatPath(o.exe);
    const known = table.get(o.pid);
    // A scan meeting a process an event judged is not a new exec (an event always is: a process
    // may exec the same file again, with other arguments or descriptors).
    if (seen === 'scan' && known && o.startTicks >= 0 && known.startTicks === o.startTicks && known.judged === exe) return;
    // The cgroup of a process that is already gone is its parent's (it was forked there).
    // Without either, the process cannot be placed: it is not judged rather than judged as host.
    let cg: CgroupContainer | null = claimedContainer(o);
    const parentEntry = o.cgroup === null ? table.get(o.ppid) : undefined;
    if (o.cgroup === null && !parentEntry) {
      counters.unplaced++;
      return;
    }
    const containerId = cg?.id ?? parentEntry?.containerId ?? null;
    const entry: TableEntry = { startTicks: o.startTicks, exe, ppid: o.ppid, containerId, judged: exe, probe: false, sha256: null };
    table.remember(o.pid, entry);
    // The parents are read before anything is awaited: they may exit at any moment.
    let { parents, parentIsProbe } = table.parentChain(o, containerId);
    if (cg === null && containerId !== null) {
      cg = { id: containerId, runtime: 'unknown', podUid: '', path: '', kubepods: false };
    }
    let at: Attribution = hostAt();
    let fake: ProcessDetail['fakeContainer'] | undefined;
    if (cg !== null) {
      const a = await attributor.attribute(cg);
      const hostMntNs = deps.hostMntNs();
      if (isNotAContainer(a)) {
        // Only looks like a container: a host process, its parent chain up to init.
        counters.fakeContainer++;
        fake = { cgroupPath: cg.path, id: cg.id, reason: a.reason };
        entry.containerId = null;
        ({ parents, parentIsProbe } = table.parentChain(o, null));
      } else if (o.kernel && hostMntNs !== null && o.kernel.mntNs === hostMntNs) {
        // In the container's cgroup, yet in the host's filesystem view: not in the container.
        counters.hostNamespace++;
        entry.containerId = null;
        ({ parents, parentIsProbe } = table.parentChain(o, null));
      } else {
        at = a;
      }
    }
    const t = now();
    const startedAtMs = o.startTicks >= 0 ? deps.ticksToMs(o.startTicks) : t;
    let startup = false;
    if (at.container) {
      const since = noteContainerStart(at.container.id, startedAtMs);
      startup = o.startTicks >= 0 && startedAtMs - since < deps.startupMs;
    }
    // A scan judges its processes side by side: a parent judged with this one may have been
    // found a probe (or its child) while this one waited for its attribution.
    const parentNow = table.get(o.ppid);
    if (!parentIsProbe && parentNow?.probe && parentNow.containerId === entry.containerId && (o.startTicks < 0 || parentNow.startTicks <= o.startTicks)) {
      parentIsProbe = true;
    }
    const baselines = deps.baselines.set;
    // The dynamic loader run directly is judged by the program it loads (loader.ts); one that
    // cannot be known is reported under the loader's path.
    const loader = loadedProgram(exe, o.argv, loaderCwd(o, exe));
    const judged = loader?.program ? formatPath(loader.program) : exe;
    const probe = parentIsProbe || matchesAnyProbe(o.argv, judged, baselines.probes(at.key));
    entry.probe = probe;

    // What ran: its content, hashed once per file version (identity.ts). Through the loader,
    // the file executed is the loader: the program is judged by its path alone.
    const previous = known && known.startTicks === o.startTicks ? known.sha256 : null;
    const id = deps.identity && !loader ? identify(o, exe, at) : null;
    entry.sha256 = id ? id.then((r) => (r.ok ? r.digests.sha256 : null)) : null;
    const ident = id ? await id : null;
    const memfd = o.kernel ? fsKindOf(o.kernel.fsMagic, exe, o.kernel.detached) === 'memfd' : exe.startsWith('/memfd:');
    // A link ending in " (deleted)" is a deleted file only when the file has no link left.
    const deleted = o.exeDeleted && !(ident?.ok && ident.identity.nlink > 0);
    let verdict: Verdict | 'reexec' | 'deleted' | 'memory' | 'no-program';
    const sha256 = ident?.ok ? ident.digests.sha256 : null;
    if ((memfd || deleted || o.kernel?.detached) && sha256 !== null && previous !== null && (await previous) === sha256) {
      // The process ran the same content again from a copy (runc's memfd or detached clone of
      // itself): nothing new ran.
      verdict = 'reexec';
      content.reexec++;
    } else if (memfd || deleted) {
      // Code with no file behind it is never learned, and always reported.
      verdict = memfd ? 'memory' : 'deleted';
      if (memfd) content.fromMemory++;
      else content.deleted++;
    } else if (loader && loader.program === null) {
      verdict = 'no-program';
    } else {
      const c = ident === null ? undefined : ident.ok ? { sha256: ident.digests.sha256, image: at.container?.image ?? '' } : { error: ident.reason };
      verdict = baselines.observe(at.key, { exe: judged, startup, probe, ...(c ? { content: c } : {}) }, t);
      verdicts[verdict]++;
    }
    if (verdict === 'learned') log.debug({ baseline: at.key, exe: judged }, 'learned');
    let check: ProcessCheck = PROC_UNEXPECTED;
    let vouch: Vouch | null = null;
    if (verdict === 'modified' && ident?.ok) {
      // A content nobody vouched for, unless the host's package manager recorded it there.
      vouch = at.container === null && deps.vouch ? await deps.vouch(judged, ident.digests) : null;
      if (vouch?.vouched) {
        deps.baselines.set.learnContent(at.key, judged, ident.digests.sha256, 'package', now());
        content.upgraded++;
        log.info({ baseline: at.key, exe: judged, sha256: ident.digests.sha256, by: `${vouch.manager}:${vouch.package}` }, 'executable upgraded by the package manager');
        verdict = 'known';
      } else {
        check = PROC_MODIFIED_BINARY;
      }
    }
    if (verdict === 'unverified') check = PROC_UNVERIFIED_BINARY;

    // How it started: stdio on a network socket, inline code, the setuid bit (context.ts).
    const stdio = o.kernel ? o.kernel.stdio : readStdio(o, judged);
    const ctx = judgeContext(
      { exe, argv: o.argv, stdio, uid: o.kernel?.uid ?? -1, euid: o.kernel?.euid ?? -1, cwd: null },
      { learnedInline: (program) => baselines.inlineAllowed(at.key, formatPath(program), t) },
    );
    if (ctx.inline && ctx.program !== null) baselines.recordInline(at.key, formatPath(ctx.program), t);
    const report = verdict === 'unexpected' || verdict === 'modified' || verdict === 'unverified' || verdict === 'memory' || verdict === 'deleted' || verdict === 'no-program';
    if (!report && !fake && ctx.findings.length === 0) return;
    const item = baselines.get(at.key)?.items.get(judged);
    const onHost = at.container === null;
    const remarkable = ctx.findings.length > 0 || loader !== null;
    const detail: ProcessDetail = {
      baseline: at.key, exe: judged, exeDeleted: deleted, pid: o.pid, ppid: o.ppid, parents, uid: o.uid,
      user: userName(o.uid, onHost), cmdline: formatCmdline(o.argv, { truncated: o.cmdlineTruncated }),
      container: at.container ? { id: at.container.id, name: at.container.name, runtime: at.container.runtime } : null,
      pod: at.pod, podUid: at.podUid, namespace: at.namespace, workload: at.workload, startedAtMs, seen,
      partial: o.missing.length > 0, missing: [...o.missing],
      ...(o.kernel ? { kernel: kernelDetail(o.kernel, exe) } : {}),
      ...(ident ? { identity: identityDetail(ident, item?.digests ?? [], vouch) } : {}),
      ...(ctx.setuid ? { uid: ctx.setuid.uid, euid: ctx.setuid.euid, user: userName(ctx.setuid.uid, onHost), effectiveUser: userName(ctx.setuid.euid, onHost) } : {}),
      ...(remarkable ? {
        context: {
          stdio: stdio ? [...stdio] : [], interpreter: ctx.interpreter?.interpreter ?? '', inlineFlag: ctx.findings.find((f) => f.flag)?.flag ?? '',
          loader: loader?.loader ?? '', loadedProgram: loader?.program ?? '',
        },
      } : {}),
    };
    if (fake) {
      record({ ...detail, fakeContainer: fake }, t, PROC_FAKE_CONTAINER_CGROUP);
      log.debug({ cgroup: fake.cgroupPath, exe, pid: o.pid, reason: fake.reason }, 'process in a cgroup that only looks like a container');
    }
    for (const f of ctx.findings) {
      // Inline code is context on a learned program: an exec probe's command is the pod spec's
      // (the kubelet runs `sh -c ...` as written), and a program nobody learned is reported as such.
      if (f.checkId === PROC_INLINE_CODE.id && (probe || verdict === 'unexpected' || verdict === 'no-program')) continue;
      record(detail, t, f.checkId === PROC_REVERSE_SHELL.id ? PROC_REVERSE_SHELL : PROC_INLINE_CODE);
      log.debug({ baseline: at.key, exe: judged, pid: o.pid, check: f.checkId, reason: f.reason }, 'process start reported');
    }
    if (!report) return;
    record(detail, t, check);
    log.debug({ baseline: at.key, exe: judged, pid: o.pid, seen, verdict, check: check.id }, 'unexpected process');
  }

  /**
   * What fds 0-2 of a process are, read from /proc (netlink and scan records; eBPF ones carry
   * them): only for shells and interpreters, and at most STDIO_READS_PER_SECOND, since a
   * socket's family means reading the kernel's socket tables (milliseconds for TCP).
   */
  function readStdio(o: Observed, program: string): StdioFacts | null {
    if (!deps.stdio || o.startTicks < 0 || inlineCode(program, o.argv) === null) return null;
    const second = Math.floor(now() / 1000);
    if (second !== stdioWindow.second) {
      stdioWindow.second = second;
      stdioWindow.reads = 0;
    }
    if (stdioWindow.reads >= STDIO_READS_PER_SECOND) {
      content.stdioSkipped++;
      return null;
    }
    stdioWindow.reads++;
    return deps.stdio.read(o.pid);
  }

  /** The working directory of a process running the loader directly (a relative program path). */
  function loaderCwd(o: Observed, exe: string): string | null {
    if (loaderFlavour(exe) === null || !deps.cwdOf) return null;
    return deps.cwdOf(o.pid);
  }

  /** The content of what the process executed (see identity.ts for where it is read). */
  function identify(o: Observed, exe: string, at: Attribution): Promise<IdentityResult> {
    const hasher = deps.identity as IdentityHasher;
    const k = o.kernel;
    const hostMntNs = deps.hostMntNs();
    return hasher.digestsOf({
      pid: o.pid, startTicks: o.startTicks, path: exe, exec: k ? execIdentity(k) : null,
      overlay: k ? fsKindOf(k.fsMagic, exe, k.detached) === 'overlay' : false,
      hostPrefix: (k ? hostMntNs !== null && k.mntNs === hostMntNs : at.container === null) ? '' : at.container?.rootfs || null,
    });
  }

  return {
    observe,
    /** Records when a container's process started (scans see its oldest process first). */
    noteContainerStart,
    /** Forgets containers not in `live`. */
    pruneContainers(live: ReadonlySet<string>): void {
      for (const id of containerStart.keys()) if (!live.has(id)) containerStart.delete(id);
    },
    counters: counters as Readonly<typeof counters>,
    content: content as Readonly<typeof content>,
    verdicts(): Readonly<Record<Verdict, number>> {
      return { ...verdicts };
    },
  };
}

export type Judge = ReturnType<typeof createJudge>;
