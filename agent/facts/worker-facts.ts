// Collects the facts of agent/facts/node-facts.ts, after the kubelet itself was found: its
// systemd unit files stat'ed, the client CA files it may name stat'ed, kube-proxy, the
// kubelet's binary version, the kernel settings it guards, and (when asked) what answers on
// its ports.
import type { JsonValue } from './host-facts.js';
import type { FileFacts, KubeletFacts } from './host-facts.js';
import { collectFileFacts } from './file-facts.js';
import type { HostFs } from './host-fs.js';
import type { ProcessScan } from './proc.js';
import { kubeletSettingPath, type PathOrigin } from './kubelet-paths.js';
import { collectKubeletProbe, type KubeletProbeOptions } from './kubelet-probe.js';
import { collectKubeletBinary } from './kubelet-version.js';
import { collectKubeProxy } from './kube-proxy.js';
import type { KubeletBinaryFacts, KubeletProbeFacts, KubeletUnitFacts, KubeProxyFacts, SysctlFacts } from './node-facts.js';
import { collectSysctls } from './sysctls.js';
import type { UserDb } from './users.js';
import type { Layout } from './layouts.js';
import { lastFlag } from './cli-flags.js';
import { KERNEL_DEFAULTS_SYSCTLS, type KernelDefaultsSysctl } from './node-facts.js';

export { KERNEL_DEFAULTS_SYSCTLS, type KernelDefaultsSysctl };


/** Path-valued kubelet settings whose files a check stats: flag name and KubeletConfiguration path. */
export const KUBELET_FILE_SETTINGS: readonly { readonly flag: string; readonly configPath: readonly string[] }[] = [
  { flag: 'client-ca-file', configPath: ['authentication', 'x509', 'clientCAFile'] },
];

export interface WorkerFactsInput {
  readonly hostFs: HostFs;
  readonly procFs: HostFs;
  readonly users: UserDb;
  readonly kubelet: KubeletFacts | null;
  readonly unit: KubeletUnitFacts;
  /** The kube-proxy processes of the scan's process table (process-table.ts). */
  readonly kubeProxyScan: ProcessScan;
  /** The node's layout: where an embedded kube-proxy's flags come from. */
  readonly layout: Layout;
  /** The distribution processes of the scan's process table. */
  readonly distributionScan: ProcessScan;
  /** Where to probe the kubelet's ports; null: no probe (the reason says why). */
  readonly probe: KubeletProbeOptions | null;
  readonly probeDisabledReason?: string;
}

export interface WorkerFacts {
  readonly kubeletUnit: KubeletUnitFacts;
  readonly kubeProxy: KubeProxyFacts;
  readonly kubeletProbe: KubeletProbeFacts;
  readonly kubeletBinary: KubeletBinaryFacts;
  readonly sysctls: SysctlFacts;
  /** Host files stat'ed, for HostFacts.files. */
  readonly files: readonly FileFacts[];
  /** Host paths read besides those files, for HostFacts.filesRead. */
  readonly paths: readonly string[];
}

export function valueAt(data: JsonValue | null | undefined, path: readonly string[]): JsonValue | undefined {
  let cur: JsonValue | null | undefined = data;
  for (const key of path) {
    if (typeof cur !== 'object' || cur === null || Array.isArray(cur)) return undefined;
    cur = (cur as { readonly [k: string]: JsonValue })[key];
  }
  return cur ?? undefined;
}

/** Every file a path-valued setting could name: the flag's, each drop-in's and the config file's value. */
export function kubeletFileCandidates(kubelet: KubeletFacts): string[] {
  const out = new Set<string>();
  const add = (value: JsonValue | undefined, origin: PathOrigin, sourceFile: string): void => {
    if (typeof value !== 'string' || value === '') return;
    const p = kubeletSettingPath(value, origin, sourceFile, kubelet.cwd);
    if (p.ok) out.add(p.path);
  };
  for (const s of KUBELET_FILE_SETTINGS) {
    add(lastFlag(kubelet.flags, s.flag)?.value, 'flag', '');
    for (const d of kubelet.dropins?.files ?? []) add(valueAt(d.data, s.configPath), 'dropin', d.path);
    if (kubelet.config !== null) add(valueAt(kubelet.config.data, s.configPath), 'config', kubelet.config.path);
  }
  return [...out];
}

export async function collectWorkerFacts(input: WorkerFactsInput): Promise<WorkerFacts> {
  const { hostFs, procFs, users, kubelet, unit } = input;
  const files: FileFacts[] = [];
  const paths: string[] = [];
  const stat = async (p: string): Promise<void> => {
    if (!files.some((f) => f.path === p)) files.push(await collectFileFacts(hostFs, users, p));
  };
  for (const p of [...(unit.unitFile === null ? [] : [unit.unitFile]), ...unit.dropins]) await stat(p);
  for (const e of unit.environmentFiles) if (e.found) paths.push(e.path);
  if (kubelet !== null) for (const p of kubeletFileCandidates(kubelet)) await stat(p);

  const kubeletBinary: KubeletBinaryFacts = kubelet === null
    ? { path: null, realPath: null, version: null, candidates: [], error: null }
    : await collectKubeletBinary(hostFs, kubelet.exe);
  for (const p of [kubeletBinary.path, kubeletBinary.realPath]) if (p !== null && p.startsWith('/')) paths.push(p);

  const [kubeProxy, sysctls, kubeletProbe] = await Promise.all([
    collectKubeProxy(procFs, users, { scan: input.kubeProxyScan, hostFs, layout: input.layout, distributionScan: input.distributionScan }),
    collectSysctls(procFs, KERNEL_DEFAULTS_SYSCTLS),
    collectKubeletProbe(input.probe, input.probeDisabledReason),
  ]);
  return { kubeletUnit: unit, kubeProxy, kubeletProbe, kubeletBinary, sysctls, files, paths };
}
