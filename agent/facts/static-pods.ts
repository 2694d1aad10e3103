// Static pod manifests, read as the kubelet reads its staticPodPath: every file in the
// directory whose name does not start with a dot, YAML or JSON. The component a manifest runs
// is told by its first container's command (argv), not by the file's name. Only what the
// checks need is kept: the redacted command + args, `ETCD_*` variables and hostPath mounts.
import { posix } from 'node:path';
import type { HostFs } from './host-fs.js';
import type { KnownComponent } from './components.js';
import { componentOf } from './components.js';
import { readHostYaml } from './config-file.js';
import type { DocumentRefusalReason } from './document-limits.js';
import { parseQuietly } from './control-plane-docs.js';
import { VALUE_FROM, type EnvEntry, type VolumeMapping } from './control-plane-types.js';
import type { FactError, JsonObject, JsonValue } from './host-facts.js';
import { ETCD_ENV_PREFIX } from './environ.js';
import { createTextMemo } from './text-memo.js';
import { redactArgv, redactNamedValue } from '../../proto/support/redact.js';

export { VALUE_FROM };

export const MAX_MANIFESTS_PER_DIR = 64;


export interface StaticPod {
  readonly path: string;
  readonly component: KnownComponent | null;
  /** Redacted command + args of the first container. */
  readonly argv: readonly string[];
  /** Its `ETCD_*` variables (values redacted by name; VALUE_FROM when not in the file). */
  readonly env: readonly EnvEntry[];
  readonly mounts: readonly VolumeMapping[];
  readonly workingDir: string | null;
  readonly error: FactError | null;
}

const isMapping = (v: JsonValue | undefined): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);
const strings = (v: JsonValue | undefined): string[] | null =>
  v === undefined || v === null ? [] : Array.isArray(v) && v.every((e) => typeof e === 'string') ? (v as string[]) : null;

const failed = (path: string, message: string, code: 'EPARSE' | 'ELIMIT' = 'EPARSE', limit?: DocumentRefusalReason): StaticPod => ({
  path, component: null, argv: [], env: [], mounts: [], workingDir: null,
  error: { code, path, message: `${path}: ${message}`, ...(limit === undefined ? {} : { limit }) },
});

/** The parts of a Pod manifest the checks use. Pure. */
export function parseStaticPod(path: string, text: string): StaticPod {
  // A manifest may carry credentials in its env: a parse error names the line, never the text.
  const parsed = parseQuietly(text);
  if (!parsed.ok) return failed(path, parsed.message, parsed.code, parsed.limit);
  const pod = parsed.data;
  if (pod['kind'] !== 'Pod') return failed(path, `kind is ${JSON.stringify(pod['kind'] ?? null)}, not Pod`);
  const spec = pod['spec'];
  if (!isMapping(spec)) return failed(path, 'spec is not a mapping');
  const containers = spec['containers'];
  const first = Array.isArray(containers) ? containers[0] : undefined;
  if (!isMapping(first)) return failed(path, 'spec.containers[0] is missing');
  const command = strings(first['command']);
  const args = strings(first['args']);
  if (command === null || args === null) return failed(path, 'command and args must be lists of strings');
  const argv = redactArgv([...command, ...args]);

  const env: EnvEntry[] = [];
  for (const e of Array.isArray(first['env']) ? first['env'] : []) {
    if (!isMapping(e) || typeof e['name'] !== 'string' || !e['name'].startsWith(ETCD_ENV_PREFIX)) continue;
    const value = typeof e['value'] === 'string' ? redactNamedValue(e['name'], e['value']) : e['valueFrom'] !== undefined ? VALUE_FROM : '';
    env.push({ name: e['name'], value });
  }

  const hostPaths = new Map<string, string>();
  for (const v of Array.isArray(spec['volumes']) ? spec['volumes'] : []) {
    if (!isMapping(v) || typeof v['name'] !== 'string' || !isMapping(v['hostPath'])) continue;
    const p = v['hostPath']['path'];
    if (typeof p === 'string' && p.startsWith('/')) hostPaths.set(v['name'], posix.normalize(p));
  }
  const mounts: VolumeMapping[] = [];
  for (const m of Array.isArray(first['volumeMounts']) ? first['volumeMounts'] : []) {
    if (!isMapping(m) || typeof m['name'] !== 'string' || typeof m['mountPath'] !== 'string') continue;
    const host = hostPaths.get(m['name']);
    if (host === undefined || !m['mountPath'].startsWith('/')) continue;
    const sub = typeof m['subPath'] === 'string' && m['subPath'] !== '' ? `/${m['subPath']}` : '';
    mounts.push({ containerPath: posix.normalize(m['mountPath']), hostPath: posix.normalize(`${host}${sub}`) });
  }
  const workingDir = typeof first['workingDir'] === 'string' && first['workingDir'].startsWith('/') ? first['workingDir'] : null;
  return { path, component: componentOf(argv)?.component ?? null, argv, env, mounts, workingDir, error: null };
}

/** Manifests parsed, remembered by path and text (text-memo.ts): a StaticPod holds only redacted values. */
const remembered = createTextMemo<StaticPod>(2 * MAX_MANIFESTS_PER_DIR);

export interface ManifestDirScan {
  readonly pods: readonly StaticPod[];
  /** Directories that exist, in the order given. */
  readonly dirsRead: readonly string[];
  readonly errors: readonly FactError[];
}

/** Every manifest in the given directories; a directory that does not exist is not an error. */
export async function readStaticPods(hostFs: HostFs, dirs: readonly string[]): Promise<ManifestDirScan> {
  const pods: StaticPod[] = [];
  const dirsRead: string[] = [];
  const errors: FactError[] = [];
  for (const dir of dirs) {
    const entries = await hostFs.readdir(dir);
    if (!entries.ok) {
      if (entries.error.code !== 'ENOENT') errors.push(entries.error);
      continue;
    }
    dirsRead.push(dir);
    const names = entries.value.filter((n) => !n.startsWith('.'));
    if (names.length > MAX_MANIFESTS_PER_DIR) {
      errors.push({ code: 'ETOOBIG', path: dir, message: `${dir} holds ${names.length} entries; only the first ${MAX_MANIFESTS_PER_DIR} were read` });
    }
    for (const name of names.slice(0, MAX_MANIFESTS_PER_DIR)) {
      const path = `${dir}/${name}`;
      const st = await hostFs.stat(path);
      if (!st.ok || st.value.type !== 'file') continue;
      const raw = await readHostYaml(hostFs, path);
      if (!raw.ok) {
        pods.push({ ...failed(path, raw.error.message), error: raw.error });
        continue;
      }
      pods.push(remembered(`${path}\0${raw.text}`, () => parseStaticPod(path, raw.text)));
    }
  }
  return { pods, dirsRead, errors };
}
