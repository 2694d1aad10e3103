// Fixture host trees: git keeps neither modes nor owners, so each test works on a fresh copy
// (symlinks kept as symlinks, targets untouched) with the modes of <scenario>.modes.json.
import { chmod, cp, lchown, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** test/fixtures/hostroot in the source tree (this file runs from dist/test/helpers/). */
export const FIXTURES_DIR = fileURLToPath(new URL('../../../test/fixtures/hostroot/', import.meta.url));

export interface Fixture {
  /** The host root: a temp copy of the scenario. */
  readonly root: string;
  /** The scenario's proc tree inside the copy. */
  readonly procRoot: string;
  cleanup(): Promise<void>;
}

export async function prepareFixture(scenario: string): Promise<Fixture> {
  const base = await mkdtemp(join(tmpdir(), `nodeward-${scenario}-`));
  const root = join(base, 'host');
  await cp(join(FIXTURES_DIR, scenario), root, { recursive: true, verbatimSymlinks: true });
  const modes = JSON.parse(await readFile(join(FIXTURES_DIR, `${scenario}.modes.json`), 'utf8')) as Record<string, string>;
  for (const [rel, mode] of Object.entries(modes)) await chmod(join(root, rel), parseInt(mode, 8));
  await applyOwners(scenario, root);
  return {
    root,
    procRoot: join(root, 'proc'),
    cleanup: () => rm(base, { recursive: true, force: true }),
  };
}

/** True when owners can be set (tests run as root here and in CI). */
export const CAN_CHOWN = process.getuid?.() === 0;

/**
 * Optional <scenario>.owners.json: `{"relative/path": "uid:gid"}`, numeric ids as the host
 * tree's own /etc/passwd and /etc/group name them. Applied only when running as root; other
 * files keep the owner of whoever runs the tests (root in CI).
 */
async function applyOwners(scenario: string, root: string): Promise<void> {
  let text: string;
  try {
    text = await readFile(join(FIXTURES_DIR, `${scenario}.owners.json`), 'utf8');
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

/** Replaces a fixture process's argv (written NUL-separated, as the kernel shows it). */
export async function writeCmdline(procRoot: string, pid: number, argv: readonly string[]): Promise<void> {
  await writeFile(join(procRoot, String(pid), 'cmdline'), argv.map((a) => `${a}\0`).join(''));
}

/** Writes a fixture process's environment (NUL-separated `NAME=value`, as /proc shows it). */
export async function writeEnviron(procRoot: string, pid: number, entries: readonly string[]): Promise<void> {
  await writeFile(join(procRoot, String(pid), 'environ'), entries.map((e) => `${e}\0`).join(''));
}
