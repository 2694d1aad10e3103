// Which host files a check's results depend on, so that a change to one of them re-evaluates
// just the checks it can affect (agent/watch). Pure, like the checks: (spec, facts) -> host
// paths, read from the same facts the evaluation reads. It lists every file a result CAN
// come from, not only the one it came from this time, so it need not follow the evaluation's
// precedence rules as they change.
//
// A check that does not say what it depends on depends on EVERYTHING read (`all`): a new spec
// kind, a new file locator or a custom check without `dependsOn` is re-evaluated on any
// change, never silently left stale. test/agent/dependencies.test.ts checks that a spec's
// results stay the same when every fact outside its declared paths is broken.
//
// What is not a file is not listed: a running kubelet's argv and cwd come from the process
// table, which no file watch can see; the periodic scan covers a restarted kubelet.
import type { HostFacts, KubeletFacts } from '../facts/index.js';
import type { CheckSpec, FileCheck } from './spec.js';

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
 * systemd unit and its drop-ins when the kubelet was found through its unit instead.
 */
const flagFiles = (k: KubeletFacts): readonly string[] => (k.origin === 'unit' ? k.flagSources ?? [] : []);

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

function fileCheckPaths(spec: FileCheck, facts: HostFacts): Dependencies {
  if (spec.file.from !== 'kubelet-flag') return 'all';
  const k = facts.kubelet;
  const named = k?.paths.find((p) => p.flag === spec.file.flag);
  if (k === null) return [];
  // With its drop-ins: the directory (a new drop-in counts) and every drop-in read.
  const dropins = spec.file.withDropins === true && k.dropins !== null
    ? [k.dropins.dir, ...k.dropins.files.flatMap((d) => fileAndTarget(facts, d.path))]
    : [];
  const own = named === undefined || named.path === null ? [] : fileAndTarget(facts, named.path);
  if (own.length === 0 && dropins.length === 0) return finish(flagFiles(k));
  return finish([...flagFiles(k), ...own, ...dropins, ...(spec.property === 'owner' ? USER_DB_PATHS : [])]);
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
