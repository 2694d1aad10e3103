// The running kubelet as facts: found in the process table by argv (or, when no kubelet
// process is visible, from the command line its systemd unit starts), its flags parsed, its
// --config file and --config-dir drop-ins read through the rooted host reader, and how its
// --kubeconfig authenticates (the kinds of credential only).
import type { CliFlag } from './cli-flags.js';
import { lastFlag, parseFlags } from './cli-flags.js';
import { readConfigDoc } from './config-file.js';
import type { HostFs } from './host-fs.js';
import type { ConfigDoc, DropinFacts, FactError, KubeletAbsence, KubeletFacts, PathFact } from './host-facts.js';
import { collectKubeconfigAuth } from './kubeconfig-auth.js';
import { collectKubeletUnit } from './kubelet-unit.js';
import { embeddedArgs } from './embedded-args.js';
import type { Layout } from './layouts.js';
import { shapeArgs, shapeText } from './process-shape.js';
import { redactArgv } from '../../proto/support/redact.js';
import type { KubeletUnitFacts } from './node-facts.js';
import { commandName, type ProcessScan } from './proc.js';
import { REDACTED } from '../../proto/support/redact.js';
import { unitFromCgroup } from './systemd-unit.js';

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
/** Drop-ins read at most; past it none is read (a setting could come from any of them). */
export const MAX_DROPIN_FILES = 128;
/** Directory entries looked at in all (drop-ins or not) while walking and counting: a huge tree is not walked to its end. */
export const MAX_DROPIN_ENTRIES = 4096;

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
 * itself a link (written without a trailing slash) is not walked. Past MAX_DROPIN_FILES the
 * walk goes on counting (up to MAX_DROPIN_ENTRIES entries looked at) and reads none of them:
 * the refusal says how many there are, and `count` keeps it.
 */
export async function collectDropins(hostFs: HostFs, dir: string, followDirLink: boolean): Promise<DropinFacts> {
  const found: string[] = [];
  let count = 0;
  let entriesSeen = 0;
  const walk = async (d: string, depth: number): Promise<FactError | 'entries' | null> => {
    if (depth > MAX_DROPIN_DEPTH) return { code: 'ETOOBIG', path: d, message: `drop-in directories nested deeper than ${MAX_DROPIN_DEPTH}` };
    const entries = await hostFs.readdir(d);
    if (!entries.ok) return entries.error;
    for (const name of entries.value) {
      if (++entriesSeen > MAX_DROPIN_ENTRIES) return 'entries';
      const p = d === '/' ? `/${name}` : `${d}/${name}`;
      const st = await hostFs.lstat(p);
      if (!st.ok) return st.error;
      if (st.value.type === 'dir') {
        const err = await walk(p, depth + 1);
        if (err !== null) return err;
      } else if (name.endsWith('.conf')) {
        count++;
        if (found.length < MAX_DROPIN_FILES) found.push(p);
      }
    }
    return null;
  };
  const top = await hostFs.lstat(dir);
  if (!top.ok) return { dir, files: [], error: top.error };
  if (top.value.type === 'symlink' && !followDirLink) return { dir, files: [], error: null };
  const error = await walk(dir, 0);
  if (error !== null && error !== 'entries') return { dir, files: [], error };
  if (error === 'entries') {
    const message = `more than ${MAX_DROPIN_ENTRIES} entries under ${dir} (${count} drop-in files among the first ${MAX_DROPIN_ENTRIES}): the agent looks at no more and reads no drop-in`;
    return { dir, files: [], count, error: { code: 'ETOOBIG', path: dir, message } };
  }
  if (count > MAX_DROPIN_FILES) {
    const message = `${count} drop-in files under ${dir}, more than the ${MAX_DROPIN_FILES} the agent reads: none is read`;
    return { dir, files: [], count, error: { code: 'ETOOBIG', path: dir, message } };
  }
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
  /** The kubelet's systemd unit (looked for whether or not a kubelet process was seen). */
  readonly unit: KubeletUnitFacts;
}

/** What a kubelet is started with: a live process, or the command line of its systemd unit. */
interface KubeletStart {
  readonly pid: number;
  readonly argv: readonly string[];
  readonly argvTruncated: boolean;
  readonly exe: string | null;
  readonly cwd: string | null;
  readonly errors: readonly FactError[];
  readonly otherPids: readonly number[];
  readonly origin: 'process' | 'unit' | 'embedded';
  /** With origin `unit` or `embedded`: the file each argv entry came from. */
  readonly argvSources?: readonly string[];
  /** With origin `embedded`: the process that runs it. */
  readonly embeddedIn?: string;
}

async function kubeletFromStart(hostFs: HostFs, start: KubeletStart): Promise<KubeletFacts> {
  const args = kubeletArgs(start.argv) ?? [];
  const parsed = parseFlags(args, KUBELET_BOOLEAN_FLAGS);
  const flags = parsed.flags;
  const paths: PathFact[] = [];
  for (const flag of KUBELET_PATH_FLAGS) {
    const f = lastFlag(flags, flag);
    // An empty value is "not set", as in the kubelet.
    if (f !== undefined && f.value !== '') paths.push(hostPathFor(flag, f.value, start.cwd));
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

  // How the kubelet authenticates to the API server: only the kinds of credential are kept.
  const kubeconfigPath = pathOf('kubeconfig')?.path ?? null;
  const kubeconfigAuth = kubeconfigPath === null ? undefined : await collectKubeconfigAuth(hostFs, kubeconfigPath);

  const facts: KubeletFacts = {
    pid: start.pid,
    argv: start.argv,
    argvTruncated: start.argvTruncated,
    exe: start.exe,
    cwd: start.cwd,
    flags,
    paths,
    config,
    dropins,
    ...(kubeconfigAuth === undefined ? {} : { kubeconfigAuth }),
    otherPids: start.otherPids,
    errors: start.errors,
  };
  if (start.origin === 'process') return facts;
  const offset = start.argv.length - args.length;
  const flagSources = parsed.valueAt.map((i) => start.argvSources?.[i + offset] ?? '');
  return { ...facts, origin: start.origin, flagSources, ...(start.embeddedIn === undefined ? {} : { embeddedIn: start.embeddedIn }) };
}

const MAX_CGROUP_BYTES = 64 * 1024;

/**
 * The unit the kubelet process (or the process embedding it) runs in, as its cgroup says;
 * else the first of the layout's kubelet units that exists (the first one when none does).
 */
async function kubeletUnitFor(hostFs: HostFs, procFs: HostFs, pid: number | null, layout: Layout): Promise<KubeletUnitFacts> {
  const units = layout.kubelet.units.length > 0 ? layout.kubelet.units : ['kubelet.service'];
  if (pid !== null) {
    const cg = await procFs.readFile(`/${pid}/cgroup`, { maxBytes: MAX_CGROUP_BYTES });
    const name = cg.ok ? unitFromCgroup(cg.value.toString('utf8')) : null;
    if (name !== null && !units.includes(name)) {
      const own = await collectKubeletUnit(hostFs, name);
      if (own.unitFile !== null) return own;
    }
  }
  let first: KubeletUnitFacts | null = null;
  for (const name of units) {
    const unit = await collectKubeletUnit(hostFs, name);
    if (unit.unitFile !== null || unit.masked) return unit;
    first ??= unit;
  }
  return first as KubeletUnitFacts;
}

/** A process of the layout's that runs the kubelet inside it, and that process's own arguments. */
function embeddingProcess(layout: Layout, scan: ProcessScan): { proc: ProcessScan['matches'][number]; args: readonly string[]; shape: string } | null {
  const embedding = layout.kubelet.embeddedIn;
  if (embedding === null) return null;
  for (const proc of scan.matches) {
    for (const shape of embedding.processes) {
      const args = shapeArgs(proc.argv, shape);
      if (args !== null) return { proc, args, shape: shapeText(shape) };
    }
  }
  return null;
}

/**
 * The kubelet a node runs: the live process when one is visible (even one whose command line
 * is too long to read whole: it is marked, never replaced by its unit's), else its unit's.
 * `scan`: the kubelet processes of the scan's process table (process-table.ts).
 */
export async function collectKubelet(hostFs: HostFs, procFs: HostFs, scan: ProcessScan, layout: Layout, distributionScan: ProcessScan): Promise<KubeletDiscovery> {
  const [proc, ...others] = scan.matches;
  const embedder = proc === undefined ? embeddingProcess(layout, distributionScan) : null;
  const unit = await kubeletUnitFor(hostFs, procFs, proc?.pid ?? embedder?.proc.pid ?? null, layout);
  if (proc !== undefined) {
    const kubelet = await kubeletFromStart(hostFs, { ...proc, otherPids: others.map((p) => p.pid), origin: 'process' });
    return { kubelet, absence: null, unit };
  }

  // The layout's kubelet runs inside another process: its flags are the ones the layout says
  // that process gives it (the distribution's own, an args file, pass-through options).
  if (embedder !== null && layout.kubelet.embeddedIn !== null) {
    const e = await embeddedArgs(hostFs, layout, layout.kubelet.embeddedIn, embedder.args);
    if (e.disabledBy !== null) {
      const reason = `the \`${embedder.shape}\` process (pid ${embedder.proc.pid}) runs no kubelet: ${e.disabledBy}`;
      return { kubelet: null, absence: { status: 'not-running', reason }, unit };
    }
    const kubelet = await kubeletFromStart(hostFs, {
      pid: embedder.proc.pid,
      argv: redactArgv(['kubelet', ...e.args]),
      argvTruncated: embedder.proc.argvTruncated,
      exe: embedder.proc.exe,
      cwd: embedder.proc.cwd,
      errors: [...embedder.proc.errors, ...e.errors],
      otherPids: [],
      origin: 'embedded',
      argvSources: ['', ...e.sources],
      embeddedIn: embedder.shape,
    });
    return { kubelet, absence: null, unit };
  }

  // No kubelet process to be seen (the agent may not share the host's PID namespace): judge
  // the command line its systemd unit starts instead, and say so in every result.
  const cmd = unit.command;
  if (cmd !== null && kubeletArgs(cmd.argv) !== null) {
    const kubelet = await kubeletFromStart(hostFs, {
      pid: 0,
      argv: cmd.argv,
      argvTruncated: false,
      exe: cmd.exe,
      cwd: unit.workingDirectory ?? '/',
      errors: unit.errors,
      otherPids: [],
      origin: 'unit',
      argvSources: cmd.sources,
    });
    return { kubelet, absence: null, unit };
  }

  const noUnit = unit.unitFile === null
    ? `no ${unit.name} unit in ${unit.searched.join(', ')}`
    : `${unit.unitFile} does not start a kubelet`;
  if (scan.error !== null) {
    return { kubelet: null, absence: { status: 'unknown', reason: `cannot list processes in ${procFs.root}: ${scan.error.message}; and ${noUnit}` }, unit };
  }
  const reason = `no kubelet process among the ${scan.scanned} processes in ${procFs.root} (does the agent share the host's PID namespace?), and ${noUnit}`;
  return { kubelet: null, absence: { status: 'not-running', reason }, unit };
}
