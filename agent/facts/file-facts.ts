// Stat of one host file, links followed inside the root, with owner names from the host.
import type { HostFs } from './host-fs.js';
import type { FileFacts } from './host-facts.js';
import type { UserDb } from './users.js';

export async function collectFileFacts(hostFs: HostFs, users: UserDb, path: string): Promise<FileFacts> {
  const st = await hostFs.stat(path);
  if (!st.ok) return { path, realPath: null, stat: null, owner: null, group: null, error: st.error };
  return {
    path,
    realPath: st.value.path,
    stat: st.value,
    owner: users.users.get(st.value.uid) ?? null,
    group: users.groups.get(st.value.gid) ?? null,
    error: null,
  };
}
