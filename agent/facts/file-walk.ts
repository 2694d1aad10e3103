// A bounded recursive listing of a host directory, every entry stat'ed with owner names from
// the host, as `find DIR` would list it: directories are entered, links are not followed into
// (a link is described by its target, inside the host root, and never walked).
import type { HostFs } from './host-fs.js';
import type { FactError, FileFacts } from './host-facts.js';
import { collectFileFacts } from './file-facts.js';
import type { UserDb } from './users.js';

export const MAX_WALK_ENTRIES = 4096;
export const MAX_WALK_DEPTH = 8;

export interface WalkOptions {
  /** Include directories (the top one too), as `find DIR` does; false lists files only. */
  readonly includeDirs: boolean;
}

export interface Walked {
  readonly files: readonly FileFacts[];
  /** The walk stopped early (too many entries, too deep) or a directory could not be listed. */
  readonly error: FactError | null;
}

export async function walkHostDir(hostFs: HostFs, users: UserDb, dir: string, opts: WalkOptions): Promise<Walked> {
  const files: FileFacts[] = [];
  let count = 0;
  const visit = async (d: string, depth: number): Promise<FactError | null> => {
    if (depth > MAX_WALK_DEPTH) return { code: 'ETOOBIG', path: d, message: `${d} is nested deeper than ${MAX_WALK_DEPTH} levels` };
    const entries = await hostFs.readdir(d);
    if (!entries.ok) return entries.error;
    for (const name of entries.value) {
      const p = `${d}/${name}`;
      const l = await hostFs.lstat(p);
      if (!l.ok) return l.error;
      if (++count > MAX_WALK_ENTRIES) return { code: 'ETOOBIG', path: dir, message: `more than ${MAX_WALK_ENTRIES} entries under ${dir}` };
      if (l.value.type === 'dir') {
        if (opts.includeDirs) files.push(await collectFileFacts(hostFs, users, p));
        const err = await visit(p, depth + 1);
        if (err !== null) return err;
        continue;
      }
      const f = await collectFileFacts(hostFs, users, p);
      // Files only: a link counts when its target is a file (or cannot be told).
      if (opts.includeDirs || f.stat === null || f.stat.type !== 'dir') files.push(f);
    }
    return null;
  };
  const top = await hostFs.lstat(dir);
  if (!top.ok) return { files: [], error: top.error };
  if (opts.includeDirs) files.push(await collectFileFacts(hostFs, users, dir));
  const error = await visit(dir, 0);
  return { files, error };
}
