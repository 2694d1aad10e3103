// Which host files a check's results depend on, so that a change to one of them re-evaluates
// just the checks it can affect (agent/watch). Pure, like the checks: (spec, facts) -> host
// paths, read from the same facts the evaluation reads. It lists every file a result CAN
// come from, not only the one it came from this time, so it need not follow the evaluation's
// precedence rules as they change.
//
// A check that does not say what it depends on depends on EVERYTHING read (`all`): a new spec
// kind or a custom check without `dependsOn` is re-evaluated on any change, never silently
// left stale. A file check always says: its locator (spec.ts FileLocator) names the facts its
// files come from, and a new locator does not compile until it says which paths it reaches. test/agent/dependencies.test.ts checks that a spec's
// results stay the same when every fact outside its declared paths is broken.
//
// What is not a file is not listed: a running kubelet's argv and cwd come from the process
// table, which no file watch can see; the periodic scan covers a restarted kubelet.
import type { HostFacts, KubeletFacts } from '../facts/index.js';
import { kubeletClientCaPath } from './node-file-checks.js';
import type { CheckSpec, FileCheck, KubeletFlagFile } from './spec.js';

/** Host paths (absolute, as named and after links where the facts know the target), or `all`. */
export type Dependencies = readonly string[] | 'all';

/** Owner and group names come from the host's own user database (facts/users.ts). */
export const USER_DB_PATHS: readonly string[] = ['/etc/passwd', '/etc/group'];

const finish = (paths: Iterable<string | null | undefined>): readonly string[] =>
  [...new Set([...paths].filter((p): p is string => typeof p === 'string' && p.startsWith('/')))].sort();

/** A file as named and, when the facts followed a link, its target. */
function fileAndTarget(facts: HostFacts, path: string): Array<string | null> {
  const file = Object.hasOwn(facts.files, path) ? facts.files[path] : undefined;
  return [path, file?.realPath ?? null];
}

/**
 * The files the kubelet's flags were read from: none for a running process (its argv), the
 * systemd unit and its drop-ins when the kubelet was found through its unit instead, the args
 * or configuration files of an embedded kubelet.
 */
const flagFiles = (k: KubeletFacts): readonly string[] => (k.flagSources ?? []).filter((f) => f !== '');

/**
 * Everything a kubelet setting can come from: the flag files (see above), the --config-dir
 * drop-ins (the directory too, since a new drop-in counts) and the --config file. All of them,
 * whichever wins today: which one wins is resolveKubeletSetting's business (feature-gate keys
 * and empty values fall through a flag), and a change anywhere can change the winner.
 */
function kubeletConfigPaths(k: KubeletFacts, facts: HostFacts): Array<string | null> {
  const out: Array<string | null> = [...flagFiles(k)];
  if (k.dropins !== null) {
    out.push(k.dropins.dir);
    for (const d of k.dropins.files) out.push(...fileAndTarget(facts, d.path));
  }
  if (k.config !== null) out.push(...fileAndTarget(facts, k.config.path));
  return out;
}

/** What owner names come from: the user database, for a check on a file's owner. */
const names = (spec: FileCheck): readonly string[] => (spec.property === 'owner' ? USER_DB_PATHS : []);

/** A file named by one kubelet flag, with its drop-ins when the check judges them. */
function kubeletFlagPaths(spec: FileCheck, file: KubeletFlagFile, facts: HostFacts): readonly string[] {
  const k = facts.kubelet;
  if (k === null) return [];
  const named = k.paths.find((p) => p.flag === file.flag);
  // With its drop-ins: the directory (a new drop-in counts) and every drop-in read.
  const dropins = file.withDropins === true && k.dropins !== null
    ? [k.dropins.dir, ...k.dropins.files.flatMap((d) => fileAndTarget(facts, d.path))]
    : [];
  const own = named === undefined || named.path === null ? [] : fileAndTarget(facts, named.path);
  if (own.length === 0 && dropins.length === 0) return finish(flagFiles(k));
  return finish([...flagFiles(k), ...own, ...dropins, ...names(spec)]);
}

/**
 * The kubelet's unit and drop-ins, and every place systemd could find one: a unit file
 * appearing higher in the search order, or a new drop-in (the `<unit>.d` directories count),
 * changes which files are judged. With or without a running kubelet: the unit is on disk.
 */
function kubeletUnitPaths(spec: FileCheck, facts: HostFacts): readonly string[] {
  const unit = facts.kubeletUnit;
  if (unit === undefined) return [];
  const places = unit.searched.flatMap((dir) => [`${dir}/${unit.name}`, `${dir}/${unit.name}.d`]);
  const files = [...(unit.unitFile === null ? [] : [unit.unitFile]), ...unit.dropins].flatMap((p) => fileAndTarget(facts, p));
  return finish([...places, ...files, ...names(spec)]);
}

/**
 * kube-proxy's --config file and its candidate kubeconfigs (facts.kubeProxy.files), as kube-proxy
 * names them. They are read inside its own root (/proc/<pid>/root): the same host paths when
 * kube-proxy runs on the host, a pod's files otherwise, which no host watch sees and the
 * periodic scan covers. Which candidate is used is in the config file or on its command line.
 */
function kubeProxyPaths(spec: FileCheck, facts: HostFacts): readonly string[] {
  const kp = facts.kubeProxy;
  if (kp === undefined || kp.status !== 'running') return [];
  const files = Object.values(kp.files).flatMap((f) => [f.path, f.realPath]);
  return finish([kp.config?.path, ...files, ...names(spec)]);
}

/**
 * The kubelet's client CA: everything the setting can come from (kubeletConfigPaths), the CA
 * file and its link target; with `sharedWith`, the control plane's files too, since whether the
 * CA is in that check's file set decides which check judges it.
 */
function clientCaPaths(spec: FileCheck, shared: boolean, facts: HostFacts): readonly string[] {
  const k = facts.kubelet;
  if (k === null) return [];
  const ca = kubeletClientCaPath(facts);
  const cp = shared ? facts.controlPlane?.filesRead ?? [] : [];
  return finish([...kubeletConfigPaths(k, facts), ...(ca === null ? [] : [...fileAndTarget(facts, ca), ...names(spec)]), ...cp]);
}

/** Every file check's locator says which files it can judge, so none depends on `all`. */
function fileCheckPaths(spec: FileCheck, facts: HostFacts): readonly string[] {
  const file = spec.file;
  switch (file.from) {
    case 'kubelet-flag':
      return kubeletFlagPaths(spec, file, facts);
    case 'kubelet-unit':
      return kubeletUnitPaths(spec, facts);
    case 'kube-proxy-kubeconfig':
      return kubeProxyPaths(spec, facts);
    case 'kubelet-client-ca':
      return clientCaPaths(spec, file.sharedWith !== undefined, facts);
  }
}

/**
 * The control plane's checks depend on every file its facts were built from (manifests and
 * their directories, component configs and documents, file sets: facts.controlPlane.filesRead)
 * and on the kubelet's configuration, which says where the static pod manifests are. Coarser
 * than per component, never stale; the owner of those facts may narrow it.
 */
function controlPlanePaths(facts: HostFacts, ownerNames: boolean): readonly string[] {
  const cp = facts.controlPlane?.filesRead ?? [];
  const kubelet = facts.kubelet === null ? [] : kubeletConfigPaths(facts.kubelet, facts);
  return finish([...cp, ...kubelet, ...(ownerNames ? USER_DB_PATHS : [])]);
}

export function checkDependencies(spec: CheckSpec, facts: HostFacts): Dependencies {
  switch (spec.kind) {
    case 'kubelet-setting': {
      const k = facts.kubelet;
      if (k === null) return [];
      // A check on the client certificate also depends on how the kubeconfig authenticates.
      const auth = spec.actsOn === 'client-certificate' && k.kubeconfigAuth !== undefined ? fileAndTarget(facts, k.kubeconfigAuth.path) : [];
      return finish([...kubeletConfigPaths(k, facts), ...auth]);
    }
    case 'file':
      return fileCheckPaths(spec, facts);
    case 'custom':
      return spec.dependsOn ? finish(spec.dependsOn(facts)) : 'all';
    case 'component-setting':
      return controlPlanePaths(facts, false);
    case 'control-plane-file':
      return controlPlanePaths(facts, spec.property === 'owner');
    default:
      // A kind added after this function was written: safe, not precise.
      return 'all';
  }
}

/**
 * Host path -> ids of the specs that depend on it. A spec that depends on `all` is listed
 * under every path the facts read and every path another spec named.
 */
export function dependencyIndex(specs: readonly CheckSpec[], facts: HostFacts): ReadonlyMap<string, readonly string[]> {
  const byPath = new Map<string, string[]>();
  const everything: string[] = [];
  const add = (path: string, id: string): void => {
    const ids = byPath.get(path);
    if (ids === undefined) byPath.set(path, [id]);
    else if (!ids.includes(id)) ids.push(id);
  };
  for (const spec of specs) {
    const deps = checkDependencies(spec, facts);
    if (deps === 'all') everything.push(spec.id);
    else for (const p of deps) add(p, spec.id);
  }
  if (everything.length > 0) {
    for (const p of new Set([...facts.filesRead, ...byPath.keys()])) {
      if (p.startsWith('/')) for (const id of everything) add(p, id);
    }
  }
  return byPath;
}
