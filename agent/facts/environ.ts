// A process's environment, of which only the entries under an allowed prefix are ever kept
// (for etcd: `ETCD_*`, the variables etcd reads its settings from). Everything else in the
// environment is dropped while parsing, and the kept values are redacted by name before they
// leave this module.
import type { FsError, HostFs } from './host-fs.js';
import { redactNamedValue } from '../../proto/support/redact.js';

export const MAX_ENVIRON_BYTES = 256 * 1024;

/** The only prefix the agent keeps from any process environment (design.md). */
export const ETCD_ENV_PREFIX = 'ETCD_';

export interface EnvEntry {
  readonly name: string;
  /** Redacted when the name looks secret (`ETCD_INITIAL_CLUSTER_TOKEN`). */
  readonly value: string;
}

/**
 * `NAME=value` entries, NUL-separated, keeping only names that start with `prefix`. An entry
 * without `=` is not a variable and is dropped; when a name repeats, the first one is what
 * getenv returns, so later ones are dropped too.
 */
export function parseEnviron(raw: Buffer, prefix: string): EnvEntry[] {
  const out: EnvEntry[] = [];
  const seen = new Set<string>();
  for (const entry of raw.toString('utf8').split('\0')) {
    if (!entry.startsWith(prefix)) continue;
    const eq = entry.indexOf('=');
    if (eq <= 0) continue;
    const name = entry.slice(0, eq);
    if (seen.has(name)) continue;
    seen.add(name);
    out.push({ name, value: redactNamedValue(name, entry.slice(eq + 1)) });
  }
  return out;
}

/** The `prefix` entries of /proc/<pid>/environ, or the error that kept it from being read. */
export async function readEnviron(procFs: HostFs, pid: number, prefix: string): Promise<EnvEntry[] | FsError> {
  const raw = await procFs.readFile(`/${pid}/environ`, { maxBytes: MAX_ENVIRON_BYTES });
  return raw.ok ? parseEnviron(raw.value, prefix) : raw.error;
}
