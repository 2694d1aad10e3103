// Kernel settings read from <procRoot>/sys (the host's /proc/sys: these are not namespaced
// per container, so the agent's view is the node's).
import type { HostFs } from './host-fs.js';
import type { SysctlFacts, SysctlValue } from './node-facts.js';

const MAX_SYSCTL_BYTES = 4096;

/** `vm.overcommit_memory` -> `/sys/vm/overcommit_memory` inside the proc root. */
export const sysctlPath = (name: string): string => `/sys/${name.replace(/\./g, '/')}`;

export async function collectSysctls(procFs: HostFs, names: readonly string[]): Promise<SysctlFacts> {
  const out: Record<string, SysctlValue> = {};
  for (const name of names) {
    if (!/^[a-z0-9_]+(\.[a-z0-9_]+)+$/.test(name)) {
      out[name] = { name, value: null, error: { code: 'EINVAL', path: '', message: `not a sysctl name: ${name}` } };
      continue;
    }
    const r = await procFs.readFile(sysctlPath(name), { maxBytes: MAX_SYSCTL_BYTES });
    out[name] = r.ok ? { name, value: r.value.toString('utf8').trim(), error: null } : { name, value: null, error: r.error };
  }
  return out;
}
