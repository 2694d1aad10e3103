// Owner and group names as the HOST knows them: read from the host tree's own /etc/passwd
// and /etc/group (uid 1000 is someone else inside the agent's container).
import type { FsError, HostFs } from './host-fs.js';

export interface UserDb {
  readonly users: ReadonlyMap<number, string>;
  readonly groups: ReadonlyMap<number, string>;
  readonly errors: readonly FsError[];
}

const MAX_DB_BYTES = 4 * 1024 * 1024;

/**
 * Parses passwd or group text: `name:x:id:...`, one entry a line. The id is the third field
 * in both files. The first name for an id wins, as getpwuid does.
 */
export function parseIdFile(text: string): Map<number, string> {
  const byId = new Map<number, string>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const [name, , id] = line.split(':');
    if (!name || id === undefined || !/^[0-9]+$/.test(id)) continue;
    const n = Number(id);
    if (!byId.has(n)) byId.set(n, name);
  }
  return byId;
}

export async function loadUserDb(hostFs: HostFs): Promise<UserDb> {
  const errors: FsError[] = [];
  const load = async (path: string): Promise<Map<number, string>> => {
    const r = await hostFs.readFile(path, { maxBytes: MAX_DB_BYTES });
    if (r.ok) return parseIdFile(r.value.toString('utf8'));
    errors.push(r.error);
    return new Map();
  };
  return { users: await load('/etc/passwd'), groups: await load('/etc/group'), errors };
}
