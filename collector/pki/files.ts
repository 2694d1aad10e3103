// File handling for PKI material: private directories, and files written whole with
// an exact mode (explicitly chmod'ed, so the process umask cannot loosen or tighten it).

import { randomBytes } from 'node:crypto';
import { chmod, link, mkdir, open, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export const DIR_MODE = 0o700;
export const KEY_MODE = 0o600;
export const CERT_MODE = 0o644;

/** Creates the directory (and parents) if needed and sets it to mode 0700. */
export async function ensurePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: DIR_MODE });
  const st = await stat(dir);
  if (!st.isDirectory()) throw new Error(`${dir} exists and is not a directory`);
  await chmod(dir, DIR_MODE);
}

export async function pathExists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return false;
    throw err;
  }
}

/**
 * Writes `data` to `path` with exactly `mode`. The content goes to a temporary sibling
 * first, so a reader never sees a half-written file. Unless `overwrite` is set, an
 * existing `path` is left alone and an error is thrown (the final step is a hard link,
 * which fails rather than replaces).
 */
export async function writeFileWithMode(path: string, data: string, mode: number, overwrite = false): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx', mode);
  try {
    await fh.chmod(mode);
    await fh.writeFile(data, 'utf8');
    await fh.sync();
  } catch (err) {
    await fh.close();
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await fh.close();
  try {
    if (overwrite) {
      await rename(tmp, path);
    } else {
      await link(tmp, path);
    }
  } catch (err) {
    if (isErrno(err, 'EEXIST')) throw new Error(`refusing to overwrite existing ${path}`);
    throw err;
  } finally {
    // After a link the temporary name is redundant; after a failed rename it is litter.
    await unlink(tmp).catch(() => undefined);
  }
}

export function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}
