// State that is ours alone: a directory only its owner may enter (0700) and SQLite files
// only its owner may read (0600), for the collector's database and the agent's spool. Modes
// are set explicitly (chmod), so the process umask neither loosens nor tightens them.
//
// SQLite creates a database's -wal and -shm files with the mode of the database file itself,
// so a database file created 0600 before SQLite opens it gets private companions too; files
// left looser by an older version are tightened at open.
import { chmodSync, closeSync, mkdirSync, openSync, statSync } from 'node:fs';

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/** What preparing a directory changed: its mode before, when it was looser than 0700. */
export interface PrivateDir {
  readonly created: boolean;
  /** The mode it had (e.g. 0o755) when it was tightened; undefined when it was already private. */
  readonly tightenedFrom?: number | undefined;
}

/**
 * Creates `dir` (and missing parents) 0700, or tightens an existing one that lets group or
 * others in. Throws when it exists and is not a directory.
 */
export function preparePrivateDir(dir: string): PrivateDir {
  let before: number | undefined;
  try {
    const st = statSync(dir);
    if (!st.isDirectory()) throw new Error(`${dir} exists and is not a directory`);
    before = st.mode & 0o7777;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (before === undefined) {
    mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
    chmodSync(dir, PRIVATE_DIR_MODE);
    return { created: true };
  }
  if ((before & 0o077) === 0) return { created: false };
  chmodSync(dir, PRIVATE_DIR_MODE);
  return { created: false, tightenedFrom: before };
}

/**
 * Makes `path` (a SQLite database about to be opened) exist with mode 0600, and its -wal,
 * -shm and -journal files, where they exist, too. Returns the files it had to tighten.
 */
export function preparePrivateDatabase(path: string): string[] {
  closeSync(openSync(path, 'a', PRIVATE_FILE_MODE));
  const tightened: string[] = [];
  for (const p of [path, `${path}-wal`, `${path}-shm`, `${path}-journal`]) {
    let mode: number;
    try {
      mode = statSync(p).mode & 0o7777;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    if (mode === PRIVATE_FILE_MODE) continue;
    chmodSync(p, PRIVATE_FILE_MODE);
    tightened.push(p);
  }
  return tightened;
}
