// The control plane as facts. Components are found from the process table first (argv[0]'s
// base name), then from static pod manifests (a component that is not running is still
// described by the manifest the kubelet would start), then as parts of a process the layout
// says embeds them (`k3s server`). Every
// file a check needs is located here, from what the components themselves say where they can
// (their flags, etcd's data dir, the kubelet's staticPodPath) and from the distribution's
// layout otherwise, and stat'ed or read through the rooted host reader.
import { lastFlag } from './cli-flags.js';
import { componentHostPath, componentPath } from './component-paths.js';
import type { ValueSpec } from './component-settings.js';
import { resolveComponentValue } from './component-settings.js';
import type { KnownComponent } from './components.js';
import { componentArgsFrom, componentOf } from './components.js';
import { shapeArgs, shapeText } from './process-shape.js';
import {
  ETCD_CONFIG_KEEP,
  SCHEDULER_CONFIG_KEEP,
  readAuditPolicy,
  readAuthenticationConfig,
  readAuthorizationConfig,
  readComponentConfig,
  readEncryptionConfig,
} from './control-plane-docs.js';
import type {
  ApiServerDocs,
  ComponentAbsence,
  ComponentFacts,
  ComponentPath,
  ControlPlaneComponent,
  ControlPlaneFacts,
  FileSet,
  FileSetName,
} from './control-plane-types.js';
import { CONTROL_PLANE_COMPONENTS } from './control-plane-types.js';
import { ETCD_ENV_PREFIX, readEnviron } from './environ.js';
import { collectFileFacts } from './file-facts.js';
import { walkHostDir } from './file-walk.js';
import type { HostFs } from './host-fs.js';
import type { ConfigDoc, FactError, FileFacts, KubeletFacts } from './host-facts.js';
import type { K3sView } from './k3s.js';
import { collectK3s } from './k3s.js';
import type { Layout } from './layouts.js';
import type { ProcessInfo } from './proc.js';
import type { ProcessScan } from './proc.js';
import type { StaticPod } from './static-pods.js';
import { readStaticPods } from './static-pods.js';
import type { UserDb } from './users.js';

/** Path-valued settings each component's facts resolve to host paths. */
export const PATH_SETTINGS: { readonly [C in ControlPlaneComponent]: readonly ValueSpec[] } = {
  'kube-apiserver': [
    { flag: 'encryption-provider-config', type: 'string', default: null },
    { flag: 'audit-policy-file', type: 'string', default: null },
    { flag: 'authorization-config', type: 'string', default: null },
    { flag: 'authentication-config', type: 'string', default: null },
    { flag: 'client-ca-file', type: 'string', default: null },
  ],
  'kube-controller-manager': [{ flag: 'kubeconfig', type: 'string', default: null }],
  'kube-scheduler': [
    { flag: 'config', type: 'string', default: null },
    // With --config, the KubeSchedulerConfiguration names the kubeconfig and the flag is ignored.
    { flag: 'kubeconfig', type: 'string', default: null, configPath: ['clientConnection', 'kubeconfig'] },
  ],
  etcd: [
    { flag: 'config-file', type: 'string', default: null, env: 'ETCD_CONFIG_FILE' },
    { flag: 'data-dir', type: 'string', default: null, env: 'ETCD_DATA_DIR', configPath: ['data-dir'] },
    { flag: 'trusted-ca-file', type: 'string', default: null, env: 'ETCD_TRUSTED_CA_FILE', configPath: ['client-transport-security', 'trusted-ca-file'] },
  ],
};

const ETCD_NAME: ValueSpec = { flag: 'name', type: 'string', default: 'default', env: 'ETCD_NAME', configPath: ['name'] };


/** The kubelet's static pod directory: --pod-manifest-path, else the last drop-in or the config file. */
export function kubeletStaticPodPath(k: KubeletFacts | null): string | null {
  if (k === null) return null;
  const flag = lastFlag(k.flags, 'pod-manifest-path');
  if (flag !== undefined && flag.value.startsWith('/')) return flag.value.replace(/(.)\/+$/, '$1');
  const docs = [...(k.dropins?.files ?? [])].reverse();
  if (k.config !== null) docs.push(k.config);
  for (const d of docs) {
    const v = d.data?.['staticPodPath'];
    if (typeof v === 'string' && v.startsWith('/')) return v.replace(/(.)\/+$/, '$1');
  }
  return null;
}

/** The layout's process that runs the control plane inside it (`k3s server`). */
interface Embedder {
  readonly info: ProcessInfo;
  /** Its own arguments (none visible when it rewrote its title). */
  readonly args: readonly string[];
  /** It rewrote its process title: its command-line flags cannot be seen. */
  readonly titleOnly: boolean;
  /** How it is named (`k3s server`). */
  readonly name: string;
}

interface Found {
  readonly processes: ReadonlyMap<KnownComponent, readonly ProcessInfo[]>;
  readonly server: Embedder | null;
  readonly error: FactError | null;
  readonly scanned: number;
}

function sortProcesses(scan: ProcessScan, layout: Layout): Found {
  const processes = new Map<KnownComponent, ProcessInfo[]>();
  let server: Found['server'] = null;
  for (const p of scan.matches) {
    const c = componentOf(p.argv);
    if (c !== null) processes.set(c.component, [...(processes.get(c.component) ?? []), p]);
    for (const shape of c === null && server === null ? layout.embeddedControlPlane?.processes ?? [] : []) {
      const args = shapeArgs(p.argv, shape);
      const titleOnly = args !== null && p.argv.slice(1).every((a) => a === '') && (p.argv[0] ?? '').includes(' ');
      if (args !== null) server = { info: p, args, titleOnly, name: shapeText(shape) };
    }
  }
  return { processes, server, error: scan.error, scanned: scan.scanned };
}

interface Builder {
  readonly hostFs: HostFs;
  readonly procFs: HostFs;
  readonly layout: Layout;
  readonly pods: readonly StaticPod[];
  readonly manifestDirs: readonly string[];
  readonly found: Found;
  readonly k3s: K3sView | null;
}

/** The component as it runs, without its config file and paths yet. */
async function baseComponent(b: Builder, component: ControlPlaneComponent): Promise<ComponentFacts | ComponentAbsence> {
  const procs = b.found.processes.get(component) ?? [];
  const pod = b.pods.find((p) => p.component === component && p.error === null) ?? null;
  const [proc, ...others] = procs;
  const base = { component, otherPids: others.map((p) => p.pid), config: null, paths: [], hidden: null } as const;

  if (proc !== undefined) {
    const own = componentOf(proc.argv);
    const envRead = component === 'etcd' ? await readEnviron(b.procFs, proc.pid, ETCD_ENV_PREFIX) : null;
    return {
      ...base,
      origin: 'process',
      pid: proc.pid,
      argv: proc.argv,
      argvTruncated: proc.argvTruncated,
      args: componentArgsFrom(component, own?.args ?? [], 'flag', ''),
      manifest: pod?.path ?? null,
      mounts: pod?.mounts ?? null,
      cwd: proc.cwd,
      env: envRead === null ? null : Array.isArray(envRead) ? envRead : null,
      envError: envRead === null || Array.isArray(envRead) ? null : envRead,
      errors: proc.errors,
    };
  }
  if (pod !== null) {
    const own = componentOf(pod.argv);
    return {
      ...base,
      origin: 'manifest',
      pid: null,
      argv: pod.argv,
      argvTruncated: false,
      args: componentArgsFrom(component, own?.args ?? [], 'manifest', pod.path),
      manifest: pod.path,
      mounts: pod.mounts,
      // Unknown unless the pod sets one: the image's WORKDIR is not in the manifest.
      cwd: pod.workingDir,
      env: component === 'etcd' ? pod.env : null,
      envError: null,
      errors: [],
    };
  }
  const k3s = b.k3s;
  if (k3s !== null && b.found.server !== null) {
    const server = b.found.server.info;
    const embedded = component !== 'etcd' || (!k3s.facts.externalDatastore && (k3s.facts.clusterInit || await exists(b.hostFs, b.layout.embeddedEtcdConfig)));
    if (k3s.facts.disabled.includes(component)) {
      return { status: 'not-found', reason: `the ${b.found.server.name} process runs with ${component} disabled` };
    }
    if (!embedded) {
      return { status: 'not-found', reason: 'k3s keeps its data in its own datastore (kine over SQLite, or an external database), not in etcd' };
    }
    return {
      ...base,
      origin: 'embedded',
      embeddedIn: b.found.server.name,
      pid: server.pid,
      argv: server.argv,
      // The server's command line comes after its config files: cut, it may override them.
      argvTruncated: server.argvTruncated,
      args: k3s.componentArgs[component],
      manifest: null,
      mounts: null,
      cwd: server.cwd,
      env: null,
      envError: null,
      // k3s writes the embedded etcd's whole configuration to a file: nothing is hidden there.
      hidden: component === 'etcd' ? null : k3s.hiddenReason(component),
      errors: server.errors,
    };
  }
  if (b.found.error !== null) {
    const where = b.manifestDirs.join(', ');
    return { status: 'unknown', reason: `the process table cannot be listed (${b.found.error.message}) and no static pod manifest in ${where} runs ${component}` };
  }
  return {
    status: 'not-found',
    reason: `no ${component} process among the ${b.found.scanned} processes in the process table and no static pod manifest for it in ${b.manifestDirs.join(', ')}: this node does not run ${component}`,
  };
}

async function exists(hostFs: HostFs, path: string | null): Promise<boolean> {
  return path !== null && (await hostFs.stat(path)).ok;
}

const isAbsence = (x: ComponentFacts | ComponentAbsence): x is ComponentAbsence => 'status' in x;

/** Resolves one path-valued setting; null when it is not set (or cannot be seen). */
function resolvePath(c: ComponentFacts, spec: ValueSpec): ComponentPath | null {
  const r = resolveComponentValue(c, spec);
  if (r.kind === 'hidden') return null;
  if (r.kind === 'error') return { setting: spec.flag, value: '', hostPath: null, how: '', error: { code: 'EINVAL', path: r.sourceFile, message: r.reason } };
  if (r.value === null || r.value === '') return null;
  return componentHostPath(c, spec.flag, r.value);
}

async function withConfigAndPaths(b: Builder, c: ComponentFacts): Promise<ComponentFacts> {
  let config: ConfigDoc | null = null;
  if (c.component === 'etcd') {
    if (c.origin === 'embedded') {
      const file = b.layout.embeddedEtcdConfig ?? '';
      config = await readComponentConfig(b.hostFs, file, null, ETCD_CONFIG_KEEP);
    } else {
      const p = resolvePath(c, PATH_SETTINGS.etcd[0] as ValueSpec);
      if (p !== null && p.value === '') {
        // Whether etcd reads a config file (which would make it ignore every flag) cannot be told.
        const message = `whether etcd reads a configuration file, which would make it ignore its flags, cannot be told: ${p.error?.message ?? ''}`;
        config = { path: '', data: null, error: { code: p.error?.code ?? 'EINVAL', path: '', message } };
      } else if (p !== null) {
        config = p.hostPath === null ? { path: p.value, data: null, error: p.error } : await readComponentConfig(b.hostFs, p.hostPath, null, ETCD_CONFIG_KEEP);
      }
    }
  } else if (c.component === 'kube-scheduler') {
    const p = resolvePath(c, PATH_SETTINGS['kube-scheduler'][0] as ValueSpec);
    if (p !== null) {
      config = p.hostPath === null
        ? { path: p.value, data: null, error: p.error }
        : await readComponentConfig(b.hostFs, p.hostPath, ['KubeSchedulerConfiguration'], SCHEDULER_CONFIG_KEEP);
    }
  }
  const withConfig: ComponentFacts = { ...c, config };
  const paths: ComponentPath[] = [];
  for (const spec of PATH_SETTINGS[c.component]) {
    const p = resolvePath(withConfig, spec);
    if (p !== null) paths.push(p);
  }
  if (c.component === 'etcd' && !paths.some((p) => p.setting === 'data-dir')) {
    // etcd's default data dir is `<name>.etcd`, relative to its working directory.
    const name = resolveComponentValue(withConfig, ETCD_NAME);
    if (name.kind === 'value' && name.value !== null) {
      const p = componentHostPath(withConfig, 'data-dir', `${name.value}.etcd`);
      paths.push({ ...p, how: `etcd's default data dir (<name>.etcd), ${p.how}` });
    }
  }
  return { ...withConfig, paths };
}

async function apiServerDocs(hostFs: HostFs, users: UserDb, c: ComponentFacts | null): Promise<ApiServerDocs> {
  const none: ApiServerDocs = { encryption: null, encryptionFile: null, auditPolicy: null, authorization: null, authentication: null };
  if (c === null) return none;
  const at = (setting: string): ComponentPath | null => componentPath(c, setting) ?? null;
  const unreadable = (p: ComponentPath): FactError => p.error ?? { code: 'EINVAL', path: p.value, message: `${p.value} has no host path` };
  const enc = at('encryption-provider-config');
  const audit = at('audit-policy-file');
  const authz = at('authorization-config');
  const authn = at('authentication-config');
  return {
    encryption: enc === null ? null : enc.hostPath === null ? { path: enc.value, error: unreadable(enc), resources: [] } : await readEncryptionConfig(hostFs, enc.hostPath),
    encryptionFile: enc?.hostPath == null ? null : await collectFileFacts(hostFs, users, enc.hostPath),
    auditPolicy: audit === null ? null : audit.hostPath === null ? { path: audit.value, error: unreadable(audit), rules: [] } : await readAuditPolicy(hostFs, audit.hostPath),
    authorization: authz === null ? null : authz.hostPath === null ? { path: authz.value, error: unreadable(authz), authorizers: [] } : await readAuthorizationConfig(hostFs, authz.hostPath),
    authentication: authn === null ? null : authn.hostPath === null ? { path: authn.value, error: unreadable(authn), anonymous: null } : await readAuthenticationConfig(hostFs, authn.hostPath),
  };
}

interface FileSetContext {
  readonly hostFs: HostFs;
  readonly users: UserDb;
  readonly layout: Layout;
  readonly components: { readonly [C in ControlPlaneComponent]: ComponentFacts | null };
  readonly absence: { readonly [C in ControlPlaneComponent]: ComponentAbsence | null };
  readonly manifestDirs: readonly string[];
}

function absentSet(ctx: FileSetContext, component: ControlPlaneComponent): FileSet {
  const a = ctx.absence[component];
  return a?.status === 'unknown' ? { status: 'unknown', reason: a.reason } : { status: 'none', reason: a?.reason ?? `this node does not run ${component}` };
}

/** Section 1 concerns control-plane nodes; on any other node these files are not the benchmark's. */
function notControlPlane(ctx: FileSetContext): FileSet | null {
  if (CONTROL_PLANE_COMPONENTS.some((c) => ctx.components[c] !== null)) return null;
  if (CONTROL_PLANE_COMPONENTS.some((c) => ctx.absence[c]?.status === 'unknown')) {
    return { status: 'unknown', reason: 'the process table cannot be listed, so whether this is a control-plane node cannot be told' };
  }
  return { status: 'none', reason: 'no control-plane component runs on this node (no API server, controller manager, scheduler or etcd): it is not a control-plane node' };
}

async function podSpecSet(ctx: FileSetContext, component: ControlPlaneComponent): Promise<FileSet> {
  const c = ctx.components[component];
  if (c === null) return absentSet(ctx, component);
  if (c.origin === 'embedded') return { status: 'none', reason: `${component} runs inside the ${c.embeddedIn ?? ''} process; there is no pod specification file` };
  if (c.manifest === null) {
    return { status: 'none', reason: `${component} runs as a process (pid ${c.pid ?? '?'}) that no static pod manifest in ${ctx.manifestDirs.join(', ')} describes; there is no pod specification file` };
  }
  return { status: 'found', locatedBy: `the static pod manifest that runs ${component}`, files: [await collectFileFacts(ctx.hostFs, ctx.users, c.manifest)] };
}

async function namedFileSet(ctx: FileSetContext, component: 'kube-scheduler' | 'kube-controller-manager', candidates: readonly string[]): Promise<FileSet> {
  const c = ctx.components[component];
  if (c === null) return absentSet(ctx, component);
  const p = componentPath(c, 'kubeconfig');
  if (p !== undefined) {
    if (p.hostPath === null) return { status: 'unknown', reason: p.error?.message ?? `the ${component} kubeconfig has no host path` };
    const how = c.config !== null && component === 'kube-scheduler' ? `clientConnection.kubeconfig in ${c.config.path}` : `--kubeconfig of ${component}`;
    return { status: 'found', locatedBy: `${how} (${p.how})`, files: [await collectFileFacts(ctx.hostFs, ctx.users, p.hostPath)] };
  }
  for (const path of candidates) {
    const f = await collectFileFacts(ctx.hostFs, ctx.users, path);
    if (f.error?.code !== 'ENOENT') return { status: 'found', locatedBy: `the ${ctx.layout.name} layout's ${component} kubeconfig`, files: [f] };
  }
  if (c.hidden !== null) return { status: 'unknown', reason: `${component} names no kubeconfig where the agent can see it, and none of ${candidates.join(', ')} exists: ${c.hidden}` };
  return { status: 'none', reason: `${component} runs without --kubeconfig and none of ${candidates.join(', ')} exists` };
}

async function dirSet(ctx: FileSetContext, dirs: readonly string[], includeDirs: boolean, what: string): Promise<FileSet> {
  const files: FileFacts[] = [];
  const seen: string[] = [];
  for (const dir of dirs) {
    const w = await walkHostDir(ctx.hostFs, ctx.users, dir, { includeDirs });
    if (w.error?.code === 'ENOENT' && w.files.length === 0) continue;
    if (w.error !== null) return { status: 'unknown', reason: `cannot list ${what} under ${dir}: ${w.error.message}` };
    seen.push(dir);
    files.push(...w.files);
  }
  if (seen.length === 0) return { status: 'none', reason: `no ${what} on this node: none of ${dirs.join(', ')} exists` };
  if (files.length === 0) return { status: 'none', reason: `${seen.join(' and ')} hold no ${what}` };
  return { status: 'found', locatedBy: `the ${ctx.layout.name} layout's ${what} (${seen.join(', ')})`, files };
}

async function collectFileSets(ctx: FileSetContext): Promise<{ readonly [S in FileSetName]: FileSet }> {
  const cp = notControlPlane(ctx);
  const etcd = ctx.components.etcd;
  let dataDir: FileSet;
  if (etcd === null) dataDir = absentSet(ctx, 'etcd');
  else {
    const p = componentPath(etcd, 'data-dir');
    dataDir = p === undefined
      ? { status: 'unknown', reason: `etcd's data dir cannot be told${etcd.hidden ? `: ${etcd.hidden}` : ''}` }
      : p.hostPath === null
        ? { status: 'unknown', reason: p.error?.message ?? 'etcd\'s data dir has no host path' }
        : { status: 'found', locatedBy: `etcd's data-dir (${p.how})`, files: [await collectFileFacts(ctx.hostFs, ctx.users, p.hostPath)] };
  }
  const admin: FileSet = cp ?? await (async (): Promise<FileSet> => {
    const files: FileFacts[] = [];
    for (const path of ctx.layout.adminKubeconfigs) {
      const f = await collectFileFacts(ctx.hostFs, ctx.users, path);
      if (f.error?.code !== 'ENOENT') files.push(f);
    }
    return files.length > 0
      ? { status: 'found', locatedBy: `the ${ctx.layout.name} layout's administrator kubeconfigs`, files }
      : { status: 'none', reason: `none of ${ctx.layout.adminKubeconfigs.join(', ')} exists on this node` };
  })();
  return {
    'kube-apiserver-pod-spec': await podSpecSet(ctx, 'kube-apiserver'),
    'kube-controller-manager-pod-spec': await podSpecSet(ctx, 'kube-controller-manager'),
    'kube-scheduler-pod-spec': await podSpecSet(ctx, 'kube-scheduler'),
    'etcd-pod-spec': await podSpecSet(ctx, 'etcd'),
    cni: cp ?? await dirSet(ctx, ctx.layout.cniDirs, false, 'CNI files'),
    'etcd-data-dir': dataDir,
    'admin-kubeconfig': admin,
    'scheduler-kubeconfig': await namedFileSet(ctx, 'kube-scheduler', ctx.layout.schedulerKubeconfigs),
    'controller-manager-kubeconfig': await namedFileSet(ctx, 'kube-controller-manager', ctx.layout.controllerManagerKubeconfigs),
    pki: cp ?? await dirSet(ctx, ctx.layout.pkiDirs, true, 'certificate and key files'),
  };
}

/** `scan`: the control-plane processes of the scan's process table (process-table.ts). */
/** The node's layout, chosen once for every collector (distribution.ts), and why. */
export interface ChosenLayout {
  readonly layout: Layout;
  readonly evidence: string;
}

export async function collectControlPlane(hostFs: HostFs, procFs: HostFs, users: UserDb, kubelet: KubeletFacts | null, scan: ProcessScan, chosen: ChosenLayout): Promise<ControlPlaneFacts> {
  const errors: FactError[] = [];
  const { layout, evidence } = chosen;
  const found = sortProcesses(scan, layout);

  const staticPodPath = kubeletStaticPodPath(kubelet);
  const manifestDirs = [...new Set([...(staticPodPath !== null ? [staticPodPath] : []), ...layout.manifestDirs])];
  const podScan = await readStaticPods(hostFs, manifestDirs);
  errors.push(...podScan.errors);

  let k3s: K3sView | null = null;
  if (found.server !== null && layout.embeddedControlPlane !== null && layout.serverConfig !== null) {
    const s = found.server;
    k3s = await collectK3s(hostFs, s.info.pid, s.args, s.titleOnly, layout.serverConfig.file, layout.embeddedControlPlane, s.name);
  }
  const b: Builder = { hostFs, procFs, layout, pods: podScan.pods, manifestDirs, found, k3s };

  const components = {} as Record<ControlPlaneComponent, ComponentFacts | null>;
  const absence = {} as Record<ControlPlaneComponent, ComponentAbsence | null>;
  for (const component of CONTROL_PLANE_COMPONENTS) {
    const base = await baseComponent(b, component);
    if (isAbsence(base)) {
      components[component] = null;
      absence[component] = base;
    } else {
      components[component] = await withConfigAndPaths(b, base);
      absence[component] = null;
    }
  }

  const apiServer = await apiServerDocs(hostFs, users, components['kube-apiserver']);
  const fileSets = await collectFileSets({ hostFs, users, layout, components, absence, manifestDirs });

  const read = new Set<string>([...podScan.dirsRead, ...podScan.pods.map((p) => p.path), ...(k3s?.filesRead ?? [])]);
  for (const c of Object.values(components)) {
    if (c?.config) read.add(c.config.path);
    for (const p of c?.paths ?? []) if (p.hostPath !== null) read.add(p.hostPath);
  }
  for (const d of Object.values(apiServer)) if (d !== null) read.add(d.path);
  for (const set of Object.values(fileSets)) {
    if (set.status !== 'found') continue;
    for (const f of set.files) {
      read.add(f.path);
      if (f.realPath !== null) read.add(f.realPath);
    }
  }
  for (const dir of [...layout.pkiDirs, ...layout.cniDirs]) read.add(dir);

  return {
    distribution: layout.name,
    distributionEvidence: evidence,
    processTableError: found.error,
    components,
    absence,
    manifests: podScan.pods.map((p) => ({ path: p.path, component: p.component, error: p.error })),
    apiServer,
    fileSets,
    k3s: k3s?.facts ?? null,
    filesRead: [...read].filter((p) => p.startsWith('/')).sort(),
    errors,
  };
}
