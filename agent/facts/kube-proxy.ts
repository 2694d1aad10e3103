// kube-proxy as facts: found in the process table by argv, its flags parsed, its --config
// file read and its kubeconfig stat'ed INSIDE ITS OWN ROOT (<procRoot>/<pid>/root). kube-proxy
// usually runs in a pod, where /var/lib/kube-proxy/... is a volume of the container that the
// host's tree does not show; the kernel's /proc/<pid>/root link shows the process's view.
import { join } from 'node:path';
import type { CliFlag } from './cli-flags.js';
import { lastFlag, parseFlags } from './cli-flags.js';
import { readConfigDoc } from './config-file.js';
import { collectFileFacts } from './file-facts.js';
import type { ConfigDoc, FactError, FileFacts } from './host-facts.js';
import { createHostFs, type HostFs } from './host-fs.js';
import type { KubeProxyFacts } from './node-facts.js';
import { commandName, type ProcessScan } from './proc.js';
import { kubeProxyPath } from './component-paths.js';

export { kubeProxyPath };
import type { UserDb } from './users.js';
import { embeddedArgs } from './embedded-args.js';
import type { Layout } from './layouts.js';
import { shapeArgs, shapeText } from './process-shape.js';
import { redactArgv } from '../../proto/support/redact.js';

export const KUBE_PROXY_CONFIG_KIND = 'KubeProxyConfiguration';

/** kube-proxy flags that are booleans: bare means true, and they never take the next token. */
export const KUBE_PROXY_BOOLEAN_FLAGS: ReadonlySet<string> = new Set([
  'add-dir-header',
  'alsologtostderr',
  'bind-address-hard-fail',
  'cleanup',
  'help',
  'init-only',
  'iptables-localhost-nodeports',
  'ipvs-strict-arp',
  'log-json-split-stream',
  'log-text-split-stream',
  'logtostderr',
  'masquerade-all',
  'one-output',
  'profiling',
  'skip-headers',
  'skip-log-headers',
]);

/** kube-proxy's own arguments, or null when argv is not kube-proxy (`kube-proxy`, `hyperkube proxy|kube-proxy`). */
export function kubeProxyArgs(argv: readonly string[]): readonly string[] | null {
  const cmd = commandName(argv);
  if (cmd === 'kube-proxy') return argv.slice(1);
  if (cmd === 'hyperkube' && (argv[1] === 'proxy' || argv[1] === 'kube-proxy')) return argv.slice(2);
  return null;
}

export function parseKubeProxyArgs(args: readonly string[]): readonly CliFlag[] {
  return parseFlags(args, KUBE_PROXY_BOOLEAN_FLAGS).flags;
}


/** The kubeconfig paths kube-proxy could use: its --kubeconfig flag and its config's clientConnection.kubeconfig. */
export function kubeProxyKubeconfigCandidates(flags: readonly CliFlag[], config: ConfigDoc | null): string[] {
  const out: string[] = [];
  const flag = lastFlag(flags, 'kubeconfig');
  if (flag !== undefined && flag.value !== '') out.push(flag.value);
  const conn = config?.data?.['clientConnection'];
  if (typeof conn === 'object' && conn !== null && !Array.isArray(conn)) {
    const k = (conn as { readonly [k: string]: unknown })['kubeconfig'];
    if (typeof k === 'string' && k !== '') out.push(k);
  }
  return out;
}

/** Where kube-proxy is looked for: its own processes, and the layout's process that may embed it. */
export interface KubeProxySource {
  /** The kube-proxy processes of the scan's process table (process-table.ts). */
  readonly scan: ProcessScan;
  /** The host's files (an embedded kube-proxy's paths are host paths). */
  readonly hostFs: HostFs;
  readonly layout: Layout;
  /** The distribution processes of the scan's process table. */
  readonly distributionScan: ProcessScan;
}

/** A process of the layout's that runs kube-proxy inside it, and its own arguments. */
function embeddingProcess(layout: Layout, scan: ProcessScan): { proc: ProcessScan['matches'][number]; args: readonly string[]; shape: string } | null {
  for (const proc of scan.matches) {
    for (const shape of layout.kubeProxy.embeddedIn?.processes ?? []) {
      const args = shapeArgs(proc.argv, shape);
      if (args !== null) return { proc, args, shape: shapeText(shape) };
    }
  }
  return null;
}

export async function collectKubeProxy(procFs: HostFs, users: UserDb, source: KubeProxySource): Promise<KubeProxyFacts> {
  const { scan } = source;
  const none = { pid: null, argv: [], argvTruncated: false, flags: [], cwd: null, root: null, config: null, files: {}, otherPids: [], errors: [] };
  if (scan.error !== null) return { ...none, status: 'unknown', reason: `cannot list processes in ${procFs.root}: ${scan.error.message}` };
  const [own, ...others] = scan.matches;
  const embedder = own === undefined ? embeddingProcess(source.layout, source.distributionScan) : null;
  if (own === undefined && (embedder === null || source.layout.kubeProxy.embeddedIn === null)) {
    return { ...none, status: 'not-running', reason: `no kube-proxy process among the ${scan.scanned} processes in ${procFs.root}` };
  }
  // kube-proxy in a process of its own reads files in that process's root; one embedded in a
  // distribution's process (k3s, kubelite) reads host files, with the flags the layout gives it.
  let proc: { pid: number; argv: readonly string[]; argvTruncated: boolean; cwd: string | null; errors: readonly FactError[] };
  let args: readonly string[];
  let root: string;
  let rootFs: HostFs;
  let embeddedIn: string | undefined;
  const errors: FactError[] = [];
  if (own !== undefined) {
    proc = own;
    args = kubeProxyArgs(own.argv) ?? [];
    root = join(procFs.root, String(own.pid), 'root');
    rootFs = createHostFs(root);
  } else {
    const e = embedder as NonNullable<typeof embedder>;
    const found = await embeddedArgs(source.hostFs, source.layout, source.layout.kubeProxy.embeddedIn as NonNullable<Layout['kubeProxy']['embeddedIn']>, e.args);
    if (found.disabledBy !== null) {
      return { ...none, status: 'not-running', reason: `the \`${e.shape}\` process (pid ${e.proc.pid}) runs no kube-proxy: ${found.disabledBy}` };
    }
    args = found.args;
    errors.push(...found.errors);
    proc = { ...e.proc, argv: redactArgv(['kube-proxy', ...found.args]) };
    root = source.hostFs.root;
    rootFs = source.hostFs;
    embeddedIn = e.shape;
  }
  errors.push(...proc.errors);
  const flags = parseKubeProxyArgs(args);

  let config: ConfigDoc | null = null;
  const configFlag = lastFlag(flags, 'config');
  if (configFlag !== undefined && configFlag.value !== '') {
    const p = kubeProxyPath(configFlag.value, proc.cwd);
    config = p === null
      ? { path: configFlag.value, data: null, error: { code: 'ENOCWD', path: '', message: `--config=${configFlag.value} is relative and kube-proxy's working directory is unknown` } }
      : await readConfigDoc(rootFs, p, KUBE_PROXY_CONFIG_KIND);
  }

  // Owner names: the host's user database. The uid on the file is the same number seen from
  // the host and from the container (no user namespace), and the host's name for it is what
  // an operator sees on the node.
  const files: Record<string, FileFacts> = {};
  for (const value of kubeProxyKubeconfigCandidates(flags, config)) {
    const p = kubeProxyPath(value, proc.cwd);
    if (p === null) {
      errors.push({ code: 'ENOCWD', path: '', message: `kubeconfig ${value} is relative and kube-proxy's working directory is unknown` });
      continue;
    }
    if (!Object.hasOwn(files, p)) files[p] = await collectFileFacts(rootFs, users, p);
  }

  return {
    status: 'running',
    reason: embeddedIn === undefined ? '' : `kube-proxy runs inside the \`${embeddedIn}\` process (pid ${proc.pid}), with the flags the ${source.layout.name} layout says it is given`,
    pid: proc.pid,
    argv: proc.argv,
    argvTruncated: proc.argvTruncated,
    flags,
    cwd: proc.cwd,
    root,
    config,
    files,
    otherPids: others.map((p) => p.pid),
    errors,
    ...(embeddedIn === undefined ? {} : { embeddedIn }),
  };
}
