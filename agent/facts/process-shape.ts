// Matching a command line against a layout's ProcessShape (agent/facts/layouts/types.ts):
// argv[0]'s base name and its first argument, or a title the process rewrote into argv[0]
// (`/usr/local/bin/k3s agent` followed by the NULs of the old command line). Pure.
import { commandName } from './cli-flags.js';
import type { ProcessShape } from './layouts.js';

/** The process's own arguments after the shape's command (and subcommand), or null when it is not that process. */
export function shapeArgs(argv: readonly string[], shape: ProcessShape): readonly string[] | null {
  const cmd = commandName(argv);
  if (cmd === shape.command) {
    if (shape.subcommand === undefined) return argv.slice(1);
    if (argv[1] === shape.subcommand) return argv.slice(2);
  }
  const first = argv[0] ?? '';
  const title = `${shape.command}${shape.subcommand === undefined ? '' : ` ${shape.subcommand}`}`;
  const at = first.indexOf(title);
  if (at < 0 || !argv.slice(1).every((a) => a === '')) return null;
  const before = first.slice(0, at);
  const after = first.slice(at + title.length);
  if (before !== '' && !before.endsWith('/')) return null;
  if (before.includes(' ') || (after !== '' && !after.startsWith(' '))) return null;
  return after.split(' ').filter((a) => a !== '');
}

export const matchesShape = (argv: readonly string[], shape: ProcessShape): boolean => shapeArgs(argv, shape) !== null;

export const shapeText = (shape: ProcessShape): string => (shape.subcommand === undefined ? shape.command : `${shape.command} ${shape.subcommand}`);
