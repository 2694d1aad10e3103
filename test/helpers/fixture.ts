// Fixture host trees: git keeps neither modes nor owners, so each test works on a fresh copy
// (symlinks kept as symlinks, targets untouched) with the modes of <scenario>.modes.json.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CAN_CHOWN, copyHostTree, FIXTURES_DIR } from '../../bin/host-tree.js';

/** test/fixtures/hostroot in the source tree. */
export { CAN_CHOWN, FIXTURES_DIR };

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
  await copyHostTree(scenario, root);
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

/** Writes a fixture process's environment (NUL-separated `NAME=value`, as /proc shows it). */
export async function writeEnviron(procRoot: string, pid: number, entries: readonly string[]): Promise<void> {
  await writeFile(join(procRoot, String(pid), 'environ'), entries.map((e) => `${e}\0`).join(''));
}
