// A command line as it may leave the agent (pure): secret-looking values redacted first
// (proto/support/redact.ts), then joined with spaces, control characters escaped (a command
// line is attacker-controlled text that ends up in terminals, chat and HTML), and bounded.
import { redactArgv } from '../../proto/support/redact.js';
import { escapeBounded } from '../../proto/support/escape.js';

// The escaping is shared with the collector (which escapes the NUL in a node's free text).
export { escapeBounded, escapeControls } from '../../proto/support/escape.js';

export const MAX_CMDLINE_CHARS = 2048;
export const MAX_PATH_CHARS = 512;

/** argv -> the command line as reported: redacted, escaped, bounded. */
export function formatCmdline(argv: readonly string[], opts: { truncated?: boolean; max?: number } = {}): string {
  return escapeBounded(redactArgv(argv).join(' '), opts.max ?? MAX_CMDLINE_CHARS, opts.truncated ?? false);
}

/** A path (an executable) as reported: escaped and bounded. */
export function formatPath(p: string): string {
  return escapeBounded(p, MAX_PATH_CHARS);
}
