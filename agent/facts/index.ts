// Public surface of the facts phase: read the host once, return a plain snapshot.
import { collectFileFacts } from './file-facts.js';
import { createHostFs, type HostFs } from './host-fs.js';
import type { FileFacts, HostFacts, KubeletFacts } from './model.js';
import { collectKubelet } from './kubelet.js';
import { collectProcessTable } from './process-table.js';
import { collectControlPlane } from './control-plane.js';
import { loadUserDb } from './users.js';
import type { KubeletProbeOptions } from './kubelet-probe.js';
import { collectEtcdProbe, type EtcdProbeOptions } from './etcd-probe.js';
import { collectWorkerFacts } from './worker-facts.js';
import { collectCertificates } from './certificates.js';
import { documentRefusals, type DocumentRefusal } from './document-refusals.js';
import type { ExposureFacts } from './exposure-types.js';
import { collectDistribution } from './distribution.js';
import { layoutByName } from './layouts.js';

export type * from './model.js';
export type * from './host-facts.js';
export type * from './control-plane-types.js';
export type { CliFlag } from './cli-flags.js';
export type * from './node-facts.js';
export type { KubeletProbeOptions } from './kubelet-probe.js';
export type { EtcdEndpointProbe, EtcdProbeFacts, EtcdProbeOptions, EtcdWireOutcome, EtcdWireProbe } from './etcd-probe.js';
export type { FileStat, FsError, FsErrorCode } from './host-fs.js';
export type * from './certificates.js';
export type * from './distribution-types.js';

export interface CollectOptions {
  /** Where the host's `/` is mounted (default `/`). */
  readonly hostRoot: string;
  /** The reader of the host's files; default one rooted at `hostRoot` (host-fs.ts). */
  readonly hostFs?: HostFs;
  /** Where the host's process table is (default `/proc`). */
  readonly procRoot?: string;
  /** Clock for `collectedAt`. */
  readonly now?: () => Date;
  /** Where to probe the kubelet's ports (network I/O); left out or null, no probe is made. */
  readonly kubeletProbe?: KubeletProbeOptions | null;
  /** How to probe etcd's client URLs (network I/O); left out or null, no probe is made. */
  readonly etcdProbe?: EtcdProbeOptions | null;
  /** Told the host documents this collection refused by their limits (document-refusals.ts). */
  readonly refusals?: { add(refusals: readonly DocumentRefusal[]): void };
  /** The agent setting `distribution`: `auto` (the default) or a layout's name (agent/facts/layouts.ts). */
  readonly distribution?: string;
  /** The node's labels, when the caller knows them: evidence for detection (distribution.ts). */
  readonly nodeLabels?: { readonly [key: string]: string } | null;
  /** Collects the node's listening sockets (agent/exposure/collect.ts, wired by the caller); left out, none are. */
  readonly exposure?: (() => Promise<ExposureFacts>) | null;
}

const USER_DB_PATHS = ['/etc/passwd', '/etc/group'];

function pathsRead(kubelet: KubeletFacts | null, files: readonly FileFacts[]): string[] {
  const out = new Set<string>(USER_DB_PATHS);
  if (kubelet?.config) out.add(kubelet.config.path);
  if (kubelet?.dropins) {
    out.add(kubelet.dropins.dir);
    for (const d of kubelet.dropins.files) out.add(d.path);
  }
  for (const f of files) {
    out.add(f.path);
    if (f.realPath !== null) out.add(f.realPath);
  }
  return [...out].filter((p) => p.startsWith('/')).sort();
}

export async function collectFacts(opts: CollectOptions): Promise<HostFacts> {
  const now = opts.now ?? (() => new Date());
  const hostFs = opts.hostFs ?? createHostFs(opts.hostRoot);
  const procFs = createHostFs(opts.procRoot ?? '/proc');
  // One walk of the process table for every collector that looks for processes. Collectors
  // that do not depend on each other run side by side: their reads wait on the disk (and the
  // probes on the network) together, not one after another.
  const [users, processes] = await Promise.all([loadUserDb(hostFs), collectProcessTable(procFs)]);
  // The node's layout, chosen once from what the node shows (or the setting): every collector
  // below reads its paths from it.
  const { facts: distribution } = await collectDistribution({
    hostFs, processes: processes.distribution, setting: opts.distribution ?? 'auto', nodeLabels: opts.nodeLabels ?? null,
  });
  const layout = layoutByName(distribution.name);
  const { kubelet, absence, unit } = await collectKubelet(hostFs, procFs, processes.kubelet, layout, processes.distribution);
  // The files the kubelet's path flags name and its --config-dir drop-ins, stat'ed (CIS 4.1.5,
  // 4.1.6, 4.1.9, 4.1.10 judge them); the drop-ins are bounded by collectDropins.
  const kubeletFiles = async (): Promise<FileFacts[]> => {
    const out: FileFacts[] = [];
    const named = [...(kubelet?.paths ?? []).map((p) => p.path), ...(kubelet?.dropins?.files ?? []).map((d) => d.path)];
    for (const p of named) {
      if (p !== null && !out.some((f) => f.path === p)) out.push(await collectFileFacts(hostFs, users, p));
    }
    return out;
  };
  const [controlPlane, namedFiles, { files: workerFiles, paths: workerPaths, ...worker }] = await Promise.all([
    collectControlPlane(hostFs, procFs, users, kubelet, processes.controlPlane, { layout, evidence: distribution.reason }),
    kubeletFiles(),
    collectWorkerFacts({
      hostFs, procFs, users, kubelet, unit, kubeProxyScan: processes.kubeProxy, layout, distributionScan: processes.distribution,
      probe: opts.kubeletProbe ?? null,
      probeDisabledReason: 'the kubelet port probe is turned off (agent setting kubeletProbe.enabled, or nodeward scan --no-probe)',
    }),
  ]);
  const files: Record<string, FileFacts> = {};
  for (const f of [...namedFiles, ...workerFiles]) if (!Object.hasOwn(files, f.path)) files[f.path] = f;
  const [certificates, etcdProbe] = await Promise.all([
    collectCertificates({ hostFs, users, kubelet, controlPlane }),
    collectEtcdProbe(controlPlane.components.etcd, opts.etcdProbe ?? null,
      'the etcd probe is turned off (agent setting etcdProbe.enabled, or nodeward scan --no-probe)'),
  ]);

  const facts: HostFacts = {
    collectedAt: now().toISOString(),
    hostRoot: hostFs.root,
    procRoot: procFs.root,
    distribution,
    kubelet,
    kubeletAbsence: absence,
    files,
    filesRead: [...new Set([...pathsRead(kubelet, Object.values(files)), ...controlPlane.filesRead, ...workerPaths, ...certificates.filesRead])].sort(),
    errors: [...users.errors],
    controlPlane,
    ...worker,
    etcdProbe,
    certificates,
    ...(opts.exposure ? { exposure: await opts.exposure() } : {}),
  };
  opts.refusals?.add(documentRefusals(facts));
  return facts;
}
