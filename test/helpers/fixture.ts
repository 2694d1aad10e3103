// Fixture host trees: git keeps neither modes nor owners, so each test works on a fresh copy
// (symlinks kept as symlinks, targets untouched) with the modes of <scenario>.modes.json.
import { chmod, cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
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
  return {
    root,
    procRoot: join(root, 'proc'),
    cleanup: () => rm(base, { recursive: true, force: true }),
  };
}

/** Replaces a fixture process's argv (written NUL-separated, as the kernel shows it). */
export async function writeCmdline(procRoot: string, pid: number, argv: readonly string[]): Promise<void> {
  await writeFile(join(procRoot, String(pid), 'cmdline'), argv.map((a) => `${a}\0`).join(''));
}
