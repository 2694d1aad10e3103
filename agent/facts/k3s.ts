// k3s runs the API server, controller manager, scheduler and (optionally) etcd inside one
// `k3s server` process; which process, and its options that reach each component, are the k3s
// layout's EmbeddedControlPlane (agent/facts/layouts/rancher.ts). What a user gave them is visible in two places: the server's own
// command line (`--kube-apiserver-arg=profiling=false`, unless k3s has rewritten its process
// title) and the k3s configuration files (/etc/rancher/k3s/config.yaml, then
// config.yaml.d/*.yaml in lexical order; a later file replaces a key, a `key+` appends to it).
// Config-file values come before command-line ones, and for a component flag the last value
// wins. Everything else k3s sets internally, out of sight. Only the keys below are kept: the
// files also hold the cluster token and datastore credentials.
import { parseFlags } from './cli-flags.js';
import type { ComponentArg, ControlPlaneComponent, K3sFacts } from './control-plane-types.js';
import type { HostFs } from './host-fs.js';
import type { FactError, JsonValue } from './host-facts.js';
import { parseError, readHostYaml } from './config-file.js';
import { parseQuietly } from './control-plane-docs.js';
import { redactArgv } from '../../proto/support/redact.js';
import type { EmbeddedControlPlane } from './layouts.js';

const SERVER_BOOLEAN_FLAGS = ['debug', 'disable-agent', 'protect-kernel-defaults', 'disable-network-policy', 'disable-helm-controller', 'disable-kube-proxy', 'disable-cloud-controller', 'embedded-registry', 'selinux', 'rootless', 'prefer-bundled-bin', 'supervisor-metrics', 'enable-pprof'];

const MAX_DROPINS = 64;

interface Valued {
  readonly value: string;
  readonly file: string;
}

function asStrings(v: JsonValue | undefined): string[] {
  if (typeof v === 'string') return [v];
  if (typeof v === 'boolean' || typeof v === 'number') return [String(v)];
  return Array.isArray(v) ? v.filter((e): e is string => typeof e === 'string') : [];
}

export interface K3sView {
  readonly facts: K3sFacts;
  /** What the user passed to each component, in the order k3s applies it. */
  readonly componentArgs: { readonly [C in ControlPlaneComponent]: readonly ComponentArg[] };
  /** Why settings not in componentArgs cannot be seen. */
  readonly hiddenReason: (component: ControlPlaneComponent) => string;
  readonly filesRead: readonly string[];
}

/** `profiling=false` (or `--profiling=false`) as a component flag, redacted like argv. */
function componentArg(raw: string, source: 'flag' | 'config', file: string): ComponentArg | null {
  const body = raw.replace(/^-+/, '');
  if (body === '') return null;
  const eq = body.indexOf('=');
  const name = eq < 0 ? body : body.slice(0, eq);
  const value = eq < 0 ? 'true' : body.slice(eq + 1);
  const redacted = redactArgv(['server', `--${name}=${value}`])[1] ?? '';
  return { name, value: redacted.slice(name.length + 3), form: eq < 0 ? 'bare' : 'equals', source, file };
}

/** `spec`: the layout's embedded control plane; `processName` how the process is named (`k3s server`). */
export async function collectK3s(hostFs: HostFs, pid: number, args: readonly string[], titleOnly: boolean, configFile: string, spec: EmbeddedControlPlane, processName: string): Promise<K3sView> {
  const argKeys = spec.argOptions;
  const disableKeys = spec.disableOptions;
  const BOOL_KEYS = ['cluster-init', 'secrets-encryption', ...Object.values(disableKeys)];
  const cli = parseFlags(args, new Set([...BOOL_KEYS, ...SERVER_BOOLEAN_FLAGS])).flags;
  // `-c FILE` is the short form of --config.
  const short = args.indexOf('-c');
  const configFlag = [...cli].reverse().find((f) => f.name === 'config')?.value ?? (short >= 0 ? args[short + 1] : undefined);
  const mainFile = configFlag !== undefined && configFlag.startsWith('/') ? configFlag : configFile;

  const files: string[] = [mainFile];
  const configFiles: { path: string; error: FactError | null }[] = [];
  const dropinDir = `${mainFile}.d`;
  const listing = await hostFs.readdir(dropinDir);
  if (listing.ok) {
    for (const n of listing.value.filter((x) => x.endsWith('.yaml') || x.endsWith('.yml')).slice(0, MAX_DROPINS)) files.push(`${dropinDir}/${n}`);
  } else if (listing.error.code !== 'ENOENT') {
    configFiles.push({ path: dropinDir, error: listing.error });
  }

  const lists = new Map<string, Valued[]>();
  const scalars = new Map<string, Valued>();
  for (const path of files) {
    const raw = await readHostYaml(hostFs, path);
    if (!raw.ok) {
      // No config file at all is the common case, not an error.
      configFiles.push({ path, error: raw.error.code === 'ENOENT' && path === mainFile ? null : raw.error });
      continue;
    }
    const parsed = parseQuietly(raw.text);
    if (!parsed.ok) {
      configFiles.push({ path, error: parseError(path, parsed) });
      continue;
    }
    configFiles.push({ path, error: null });
    for (const [rawKey, v] of Object.entries(parsed.data)) {
      const append = rawKey.endsWith('+');
      const key = append ? rawKey.slice(0, -1) : rawKey;
      if (Object.values(argKeys).includes(key)) {
        const values = asStrings(v).map((value) => ({ value, file: path }));
        lists.set(key, append ? [...(lists.get(key) ?? []), ...values] : values);
      } else if (BOOL_KEYS.includes(key)) {
        scalars.set(key, { value: String(v), file: path });
      } else if (key === 'datastore-endpoint') {
        scalars.set(key, { value: v === '' || v === null ? '' : 'set', file: path });
      }
    }
  }
  for (const f of cli) {
    if (BOOL_KEYS.includes(f.name)) scalars.set(f.name, { value: f.value, file: '' });
    if (f.name === 'datastore-endpoint') scalars.set(f.name, { value: f.value === '' ? '' : 'set', file: '' });
  }
  const flagOn = (key: string): boolean => ['true', '1', 't', 'T', 'TRUE', 'True'].includes(scalars.get(key)?.value ?? 'false');

  const componentArgs = {} as Record<ControlPlaneComponent, ComponentArg[]>;
  for (const [component, key] of Object.entries(argKeys) as [ControlPlaneComponent, string][]) {
    const fromConfig = (lists.get(key) ?? []).map((v) => componentArg(v.value, 'config', v.file));
    const fromCli = cli.filter((f) => f.name === key).map((f) => componentArg(f.value, 'flag', ''));
    componentArgs[component] = [...fromConfig, ...fromCli].filter((a): a is ComponentArg => a !== null);
  }

  const facts: K3sFacts = {
    pid,
    argsHidden: titleOnly,
    configFiles,
    disabled: (Object.entries(disableKeys) as [ControlPlaneComponent, string][]).filter(([, k]) => flagOn(k)).map(([c]) => c),
    clusterInit: flagOn('cluster-init'),
    externalDatastore: (scalars.get('datastore-endpoint')?.value ?? '') !== '',
    secretsEncryption: flagOn('secrets-encryption'),
  };
  const hiddenReason = (component: ControlPlaneComponent): string => {
    const key = argKeys[component];
    const parts = [
      `${component} runs inside the ${processName} process (pid ${pid}), which sets most of its flags itself, out of sight; ` +
        `only values given with --${key} or ${key} in its configuration files can be seen`,
    ];
    if (titleOnly) parts.push(`the ${processName} process has rewritten its process title, so its own command-line flags cannot be seen either`);
    return parts.join('; ');
  };
  return { facts, componentArgs, hiddenReason, filesRead: [...files, dropinDir] };
}
