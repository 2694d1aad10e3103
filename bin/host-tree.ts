// A host tree copied from a scenario directory (test/fixtures/hostroot/<scenario>): git keeps
// neither modes nor owners, so a copy gets the modes of <scenario>.modes.json and, when it
// can set owners (as root), the owners of <scenario>.owners.json. Symlinks stay symlinks
// (their targets are host paths, resolved inside the tree by the agent). Used by the tests'
// fixtures and by the demo nodes of `npm start -- --demo`.
import { chmod, cp, lchown, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** test/fixtures/hostroot in the checkout (this file runs from dist/bin/). */
export const FIXTURES_DIR = fileURLToPath(new URL('../../test/fixtures/hostroot/', import.meta.url));

/** True when owners can be set (the tests run as root here and in CI). */
export const CAN_CHOWN = process.getuid?.() === 0;

/** Copies `scenario` to `dest` (which must not exist) with its modes, and its owners when CAN_CHOWN. */
export async function copyHostTree(scenario: string, dest: string, dir = FIXTURES_DIR): Promise<void> {
  await cp(join(dir, scenario), dest, { recursive: true, verbatimSymlinks: true, errorOnExist: true, force: false });
  await applyModes(scenario, dest, dir);
}

/** Sets the modes (and, when CAN_CHOWN, the owners) the scenario's side files give; files written since keep theirs unless listed. */
export async function applyModes(scenario: string, root: string, dir = FIXTURES_DIR): Promise<void> {
  const modes = JSON.parse(await readFile(join(dir, `${scenario}.modes.json`), 'utf8')) as Record<string, string>;
  for (const [rel, mode] of Object.entries(modes)) await chmod(join(root, rel), parseInt(mode, 8));
  await applyOwners(scenario, root, dir);
}

/**
 * Optional <scenario>.owners.json: `{"relative/path": "uid:gid"}`, numeric ids as the host
 * tree's own /etc/passwd and /etc/group name them. Applied only when running as root; other
 * files keep the owner of whoever copies the tree.
 */
async function applyOwners(scenario: string, root: string, dir: string): Promise<void> {
  let text: string;
  try {
    text = await readFile(join(dir, `${scenario}.owners.json`), 'utf8');
  } catch {
    return;
  }
  if (!CAN_CHOWN) return;
  const owners = JSON.parse(text) as Record<string, string>;
  for (const [rel, owner] of Object.entries(owners)) {
    const [uid, gid] = owner.split(':').map(Number);
    await lchown(join(root, rel), uid ?? 0, gid ?? 0);
  }
}
