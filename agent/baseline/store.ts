// Baselines on disk: one JSON file in the agent's state directory (`baselines.json`),
// replaced atomically (write a temporary file, fsync, rename, fsync the directory), so a
// crash leaves either the old or the new file, never half of one. The file is bounded by
// the set's own limits (keys x items); a file over MAX_FILE_BYTES or one that does not
// parse is set aside as `baselines.json.corrupt-<time>` and learning starts over, which is
// reported to the caller rather than thrown.
import { mkdir, open, readFile, rename, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { isDigestSource, isSha256 } from '../../proto/exec-identity.js';
import { MAX_DIGESTS, type BaselineItem, type BaselineJson, type BaselineSetJson } from './baselines.js';

export const BASELINE_FILE = 'baselines.json';
export const MAX_FILE_BYTES = 64 * 1024 * 1024;

export type LoadResult =
  | { readonly state: 'loaded'; readonly data: BaselineSetJson }
  | { readonly state: 'absent' }
  | { readonly state: 'corrupt'; readonly reason: string; readonly setAside: string };

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function isDigest(d: unknown): boolean {
  if (!isObj(d)) return false;
  return isSha256(d.sha256) && isNum(d.addedAtMs) && isDigestSource(d.source) && (d.image === undefined || typeof d.image === 'string');
}

function checkBaseline(v: unknown, i: number): BaselineJson {
  const where = `baselines[${i}]`;
  if (!isObj(v) || typeof v.key !== 'string' || !isNum(v.createdAtMs) || !isNum(v.learnUntilMs) || !isNum(v.version) || !isNum(v.lastSeenMs)) {
    throw new Error(`${where} is malformed`);
  }
  if (!(v.lockedAtMs === null || isNum(v.lockedAtMs))) throw new Error(`${where}.lockedAtMs is malformed`);
  if (!(v.lockedBy === null || v.lockedBy === 'window' || v.lockedBy === 'operator')) throw new Error(`${where}.lockedBy is malformed`);
  if (!isObj(v.items) || !isObj(v.removed)) throw new Error(`${where} has no items or removed map`);
  for (const [exe, item] of Object.entries(v.items)) {
    const it = item as Partial<BaselineItem>;
    if (!isObj(item) || !isNum(it.addedAtMs) || !['learned', 'startup', 'operator'].includes(String(it.source))) {
      throw new Error(`${where}.items[${JSON.stringify(exe)}] is malformed`);
    }
    if (it.anyContent !== undefined && typeof it.anyContent !== 'boolean') throw new Error(`${where}.items[${JSON.stringify(exe)}].anyContent is malformed`);
    if (it.inline !== undefined && typeof it.inline !== 'boolean') throw new Error(`${where}.items[${JSON.stringify(exe)}].inline is malformed`);
    if (it.digests !== undefined && !(Array.isArray(it.digests) && it.digests.length <= MAX_DIGESTS && it.digests.every(isDigest))) {
      throw new Error(`${where}.items[${JSON.stringify(exe)}].digests is malformed`);
    }
  }
  for (const [exe, at] of Object.entries(v.removed)) if (!isNum(at)) throw new Error(`${where}.removed[${JSON.stringify(exe)}] is malformed`);
  return v as unknown as BaselineJson;
}

/** Validates a parsed file; throws with the first problem. */
export function checkBaselineFile(doc: unknown): BaselineSetJson {
  if (!isObj(doc) || doc.format !== 1) throw new Error('not a format-1 baseline file');
  if (!isNum(doc.version) || !Array.isArray(doc.baselines)) throw new Error('version or baselines missing');
  const baselines = doc.baselines.map(checkBaseline);
  const probes = doc.probes === undefined ? {} : doc.probes;
  if (!isObj(probes) || !Object.values(probes).every((list) => Array.isArray(list) && list.every((p) => Array.isArray(p) && p.every((w) => typeof w === 'string')))) {
    throw new Error('probes are malformed');
  }
  return { format: 1, version: doc.version, baselines, probes: probes as Record<string, string[][]> };
}

export async function loadBaselineFile(path: string, now: () => number = Date.now): Promise<LoadResult> {
  let text: string;
  try {
    const st = await stat(path);
    if (st.size > MAX_FILE_BYTES) throw Object.assign(new Error(`${st.size} bytes, over the ${MAX_FILE_BYTES}-byte limit`), { code: 'ETOOBIG' });
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { state: 'absent' };
    if (code !== 'ETOOBIG') throw err;
    return setAside(path, (err as Error).message, now());
  }
  try {
    return { state: 'loaded', data: checkBaselineFile(JSON.parse(text)) };
  } catch (err) {
    return setAside(path, (err as Error).message, now());
  }
}

async function setAside(path: string, reason: string, at: number): Promise<LoadResult> {
  const aside = `${path}.corrupt-${at}`;
  await rename(path, aside);
  return { state: 'corrupt', reason, setAside: aside };
}

/** Writes the whole set atomically. */
export async function saveBaselineFile(path: string, data: BaselineSetJson): Promise<void> {
  await writeJsonAtomically(path, data);
}

/** Writes `data` as JSON atomically (temporary file, fsync, rename, fsync the directory); mode 0600. */
export async function writeJsonAtomically(path: string, data: unknown): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `.${basename(path)}.${process.pid}.tmp`);
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(JSON.stringify(data));
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  const d = await open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}
