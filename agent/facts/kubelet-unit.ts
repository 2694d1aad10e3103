// The kubelet's systemd unit as facts: the unit file and drop-ins systemd would use, the
// environment files they name, and the command line its ExecStart= expands to. Read through
// the rooted host reader; the parsing is agent/facts/systemd-unit.ts.
import type { FactError } from './host-facts.js';
import type { HostFs } from './host-fs.js';
import type { KubeletUnitFacts, UnitEnvironmentFile } from './node-facts.js';
import { redactArgv } from '../../proto/support/redact.js';
import type { EnvAssignment, UnitSource } from './systemd-unit.js';
import { buildEnvironment, parseEnvironmentFile, serviceSettings, unitCommand } from './systemd-unit.js';

/** System unit directories, highest priority first (systemd.unit(5)); /lib is Debian's pre-merge /usr/lib. */
export const SYSTEMD_UNIT_DIRS: readonly string[] = [
  '/etc/systemd/system',
  '/run/systemd/system',
  '/usr/local/lib/systemd/system',
  '/usr/lib/systemd/system',
  '/lib/systemd/system',
];

export const KUBELET_UNIT = 'kubelet.service';

const MAX_UNIT_BYTES = 256 * 1024;
const MAX_ENV_FILE_BYTES = 256 * 1024;
const MAX_DROPINS = 64;

/** The unit directories that exist, once each (/lib and /usr/lib are often the same directory). */
async function unitDirs(hostFs: HostFs): Promise<string[]> {
  const seen = new Set<string>();
  const dirs: string[] = [];
  for (const dir of SYSTEMD_UNIT_DIRS) {
    const r = await hostFs.resolve(dir);
    if (!r.ok || seen.has(r.value.path)) continue;
    const st = await hostFs.stat(dir);
    if (!st.ok || st.value.type !== 'dir') continue;
    seen.add(r.value.path);
    dirs.push(dir);
  }
  return dirs;
}

/** A unit file that resolves to /dev/null is masked. */
async function isMasked(hostFs: HostFs, path: string): Promise<boolean> {
  const r = await hostFs.resolve(path);
  return r.ok && r.value.path === '/dev/null';
}

export async function collectKubeletUnit(hostFs: HostFs, name: string = KUBELET_UNIT): Promise<KubeletUnitFacts> {
  const errors: FactError[] = [];
  const dirs = await unitDirs(hostFs);
  let unitFile: string | null = null;
  let masked = false;
  for (const dir of dirs) {
    const p = `${dir}/${name}`;
    const st = await hostFs.lstat(p);
    if (!st.ok) {
      if (st.error.code !== 'ENOENT') errors.push(st.error);
      continue;
    }
    if (await isMasked(hostFs, p)) masked = true;
    else unitFile = p;
    break;
  }

  // Drop-ins: one per file name, the highest-priority directory's copy winning; applied in
  // lexical order of the names, whichever directory they are in.
  const byName = new Map<string, string>();
  for (const dir of dirs) {
    const d = `${dir}/${name}.d`;
    const entries = await hostFs.readdir(d);
    if (!entries.ok) {
      if (entries.error.code !== 'ENOENT') errors.push(entries.error);
      continue;
    }
    for (const entry of entries.value) {
      if (entry.endsWith('.conf') && !byName.has(entry)) byName.set(entry, `${d}/${entry}`);
    }
  }
  const dropins: string[] = [];
  for (const entry of [...byName.keys()].sort()) {
    const p = byName.get(entry) as string;
    if (dropins.length >= MAX_DROPINS) {
      errors.push({ code: 'ETOOBIG', path: p, message: `more than ${MAX_DROPINS} drop-ins for ${name}` });
      break;
    }
    if (!(await isMasked(hostFs, p))) dropins.push(p);
  }

  const base = { name, unitFile, dropins, masked, searched: [...SYSTEMD_UNIT_DIRS] };
  // Without its unit file (or masked), systemd does not load the unit: drop-ins alone start nothing.
  if (unitFile === null) return { ...base, environmentFiles: [], command: null, workingDirectory: null, errors };

  const sources: UnitSource[] = [];
  for (const p of [unitFile, ...dropins]) {
    const r = await hostFs.readFile(p, { maxBytes: MAX_UNIT_BYTES });
    if (r.ok) sources.push({ path: p, text: r.value.toString('utf8') });
    else errors.push(r.error);
  }
  const settings = serviceSettings(sources);

  const environmentFiles: UnitEnvironmentFile[] = [];
  const envTexts: { path: string; assignments: EnvAssignment[] }[] = [];
  for (const ref of settings.environmentFiles) {
    if (!ref.path.startsWith('/')) {
      errors.push({ code: 'EINVAL', path: ref.path, message: `EnvironmentFile=${ref.path} in ${ref.namedIn} is not an absolute path` });
      environmentFiles.push({ ...ref, found: false });
      continue;
    }
    const r = await hostFs.readFile(ref.path, { maxBytes: MAX_ENV_FILE_BYTES });
    if (r.ok) {
      envTexts.push({ path: ref.path, assignments: parseEnvironmentFile(r.value.toString('utf8')) });
      environmentFiles.push({ ...ref, found: true });
      continue;
    }
    environmentFiles.push({ ...ref, found: false });
    // A missing optional file is normal; a missing required one would stop systemd starting the unit.
    if (!(ref.optional && r.error.code === 'ENOENT')) {
      errors.push({ ...r.error, message: `${r.error.message} (EnvironmentFile= in ${ref.namedIn}${ref.optional ? '' : ', required: systemd would refuse to start the unit'})` });
    }
  }

  const cmd = unitCommand(settings, buildEnvironment(settings, envTexts));
  return {
    ...base,
    environmentFiles,
    command: cmd === null ? null : { ...cmd, argv: redactArgv(cmd.argv) },
    workingDirectory: settings.workingDirectory?.value ?? null,
    errors,
  };
}
