// The running kubelet as facts: found in the process table by argv, its flags parsed, its
// --config file and --config-dir drop-ins read through the rooted host reader.
import type { CliFlag } from './cli-flags.js';
import { lastFlag, parseFlags } from './cli-flags.js';
import { readConfigDoc } from './config-file.js';
import type { HostFs } from './host-fs.js';
import type { ConfigDoc, DropinFacts, FactError, KubeletAbsence, KubeletFacts, PathFact } from './host-facts.js';
import { commandName, findProcesses } from './proc.js';
import { REDACTED } from './redact.js';

export const KUBELET_CONFIG_KIND = 'KubeletConfiguration';

/** Kubelet flags that are booleans: bare means true, and they never take the next token. */
export const KUBELET_BOOLEAN_FLAGS: ReadonlySet<string> = new Set([
  'add-dir-header',
  'alsologtostderr',
  'anonymous-auth',
  'authentication-token-webhook',
  'cgroups-per-qos',
  'containerized',
  'enable-controller-attach-detach',
  'enable-debugging-handlers',
  'enable-server',
  'exit-on-lock-contention',
  'fail-cgroupv1',
  'fail-swap-on',
  'help',
  'kernel-memcg-notification',
  'keep-terminated-pod-volumes',
  'localstorage-capacity-isolation',
  'log-json-split-stream',
  'log-text-split-stream',
  'logtostderr',
  'make-iptables-util-chains',
  'one-output',
  'protect-kernel-defaults',
  'register-node',
  'register-schedulable',
  'rotate-certificates',
  'rotate-server-certificates',
  'seccomp-default',
  'serialize-image-pulls',
  'skip-headers',
  'skip-log-headers',
  'version',
]);

/** Flags whose value names a host file or directory. */
export const KUBELET_PATH_FLAGS = ['config', 'config-dir', 'kubeconfig'] as const;

const MAX_DROPIN_DEPTH = 8;
const MAX_DROPIN_FILES = 128;

/** The kubelet's own arguments, or null when argv is not a kubelet (`kubelet` or `hyperkube kubelet`). */
export function kubeletArgs(argv: readonly string[]): readonly string[] | null {
  const cmd = commandName(argv);
  if (cmd === 'kubelet') return argv.slice(1);
  if (cmd === 'hyperkube' && argv[1] === 'kubelet') return argv.slice(2);
  return null;
}

export function parseKubeletArgs(args: readonly string[]): readonly CliFlag[] {
  return parseFlags(args, KUBELET_BOOLEAN_FLAGS).flags;
}

const cleanPath = (p: string): string => `/${p.split('/').filter((c) => c !== '' && c !== '.').join('/')}`;

/**
 * A flag value as an absolute host path: relative values are taken from the process's cwd,
 * as the kubelet itself does. `..` is left in place for the rooted reader to resolve
 * physically (past links), not lexically.
 */
export function hostPathFor(flag: string, value: string, cwd: string | null): PathFact {
  if (value.startsWith('/')) return { flag, value, path: cleanPath(value), error: null };
  if (cwd === null || !cwd.startsWith('/')) {
    const message = `--${flag}=${value} is relative and the kubelet's working directory is unknown`;
    return { flag, value, path: null, error: { code: 'ENOCWD', path: '', message } };
  }
  return { flag, value, path: cleanPath(`${cwd}/${value}`), error: null };
}

/**
 * The drop-ins in the order the kubelet applies them: a depth-first walk in lexical order of
 * every `*.conf` entry that is not a directory. As in the kubelet, a --config-dir that is
 * itself a link (written without a trailing slash) is not walked.
 */
export async function collectDropins(hostFs: HostFs, dir: string, followDirLink: boolean): Promise<DropinFacts> {
  const found: string[] = [];
  const walk = async (d: string, depth: number): Promise<FactError | null> => {
    if (depth > MAX_DROPIN_DEPTH) return { code: 'ETOOBIG', path: d, message: `drop-in directories nested deeper than ${MAX_DROPIN_DEPTH}` };
    const entries = await hostFs.readdir(d);
    if (!entries.ok) return entries.error;
    for (const name of entries.value) {
      const p = d === '/' ? `/${name}` : `${d}/${name}`;
      const st = await hostFs.lstat(p);
      if (!st.ok) return st.error;
      if (st.value.type === 'dir') {
        const err = await walk(p, depth + 1);
        if (err !== null) return err;
      } else if (name.endsWith('.conf')) {
        if (found.length >= MAX_DROPIN_FILES) return { code: 'ETOOBIG', path: dir, message: `more than ${MAX_DROPIN_FILES} drop-in files under ${dir}` };
        found.push(p);
      }
    }
    return null;
  };
  const top = await hostFs.lstat(dir);
  if (!top.ok) return { dir, files: [], error: top.error };
  if (top.value.type === 'symlink' && !followDirLink) return { dir, files: [], error: null };
  const error = await walk(dir, 0);
  if (error !== null) return { dir, files: [], error };
  const files: ConfigDoc[] = [];
  for (const p of found) files.push(redactConfigDoc(await readConfigDoc(hostFs, p, KUBELET_CONFIG_KIND)));
  return { dir, files, error: null };
}

/**
 * staticPodURLHeader carries HTTP headers (often credentials) for fetching static pods: its
 * values are masked before the document becomes a fact, as the kubelet masks them in its logs.
 */
export function redactConfigDoc(doc: ConfigDoc): ConfigDoc {
  const headers = doc.data?.['staticPodURLHeader'];
  if (doc.data === null || typeof headers !== 'object' || headers === null || Array.isArray(headers)) return doc;
  const masked = Object.fromEntries(Object.keys(headers).map((k) => [k, [REDACTED]]));
  return { ...doc, data: { ...doc.data, staticPodURLHeader: masked } };
}

export interface KubeletDiscovery {
  readonly kubelet: KubeletFacts | null;
  readonly absence: KubeletAbsence | null;
}

export async function collectKubelet(hostFs: HostFs, procFs: HostFs): Promise<KubeletDiscovery> {
  const scan = await findProcesses(procFs, (argv) => kubeletArgs(argv) !== null);
  if (scan.error !== null) {
    return { kubelet: null, absence: { status: 'unknown', reason: `cannot list processes in ${procFs.root}: ${scan.error.message}` } };
  }
  const [proc, ...others] = scan.matches;
  if (proc === undefined) {
    const reason = `no kubelet process among the ${scan.scanned} processes in ${procFs.root} (does the agent share the host's PID namespace?)`;
    return { kubelet: null, absence: { status: 'not-running', reason } };
  }
  const flags = parseKubeletArgs(kubeletArgs(proc.argv) ?? []);
  const paths: PathFact[] = [];
  for (const flag of KUBELET_PATH_FLAGS) {
    const f = lastFlag(flags, flag);
    // An empty value is "not set", as in the kubelet.
    if (f !== undefined && f.value !== '') paths.push(hostPathFor(flag, f.value, proc.cwd));
  }
  const pathOf = (flag: string): PathFact | undefined => paths.find((p) => p.flag === flag);

  const configPath = pathOf('config');
  let config: ConfigDoc | null = null;
  if (configPath !== undefined) {
    config = configPath.path === null
      ? { path: configPath.value, data: null, error: configPath.error }
      : redactConfigDoc(await readConfigDoc(hostFs, configPath.path, KUBELET_CONFIG_KIND));
  }

  const dirPath = pathOf('config-dir');
  let dropins: DropinFacts | null = null;
  if (dirPath !== undefined) {
    dropins = dirPath.path === null
      ? { dir: dirPath.value, files: [], error: dirPath.error }
      : await collectDropins(hostFs, dirPath.path, dirPath.value.endsWith('/'));
  }

  return {
    kubelet: {
      pid: proc.pid,
      argv: proc.argv,
      exe: proc.exe,
      cwd: proc.cwd,
      flags,
      paths,
      config,
      dropins,
      otherPids: others.map((p) => p.pid),
      errors: proc.errors,
    },
    absence: null,
  };
}
