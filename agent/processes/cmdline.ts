// A command line as it may leave the agent (pure): secret-looking values redacted first
// (proto/support/redact.ts), then joined with spaces, control characters escaped (a command
// line is attacker-controlled text that ends up in terminals, chat and HTML), and bounded.
import { redactArgv } from '../../proto/support/redact.js';

export const MAX_CMDLINE_CHARS = 2048;
export const MAX_PATH_CHARS = 512;
const MARK = '...';

const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\\]/;

/** One character as reported: controls, DEL, backslash and line separators escaped. */
function escapeChar(c: string): string {
  if (!CONTROL.test(c)) return c;
  switch (c) {
    case '\\': return '\\\\';
    case '\n': return '\\n';
    case '\r': return '\\r';
    case '\t': return '\\t';
    default: {
      const code = c.charCodeAt(0);
      return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
    }
  }
}

export function escapeControls(s: string): string {
  // Most paths and command lines have nothing to escape: one scan, no copy.
  if (!CONTROL.test(s)) return s;
  let out = '';
  for (const ch of s) out += escapeChar(ch);
  return out;
}

/**
 * Escapes control characters (\n, \t, \xNN, \uNNNN; a backslash as \\) and bounds the result
 * to `max` characters. A cut ends with "..." and never splits an escape or a surrogate pair.
 * `cutAlready` marks input that was cut before it got here (a cmdline read only in part).
 */
export function escapeBounded(s: string, max: number, cutAlready = false): string {
  const full = escapeControls(s);
  if (full.length <= max && !cutAlready) return full;
  let out = '';
  for (const ch of s) {
    const e = escapeChar(ch);
    if (out.length + e.length > max - MARK.length) break;
    out += e;
  }
  return out + MARK;
}

/** argv -> the command line as reported: redacted, escaped, bounded. */
export function formatCmdline(argv: readonly string[], opts: { truncated?: boolean; max?: number } = {}): string {
  return escapeBounded(redactArgv(argv).join(' '), opts.max ?? MAX_CMDLINE_CHARS, opts.truncated ?? false);
}

/** A path (an executable) as reported: escaped and bounded. */
export function formatPath(p: string): string {
  return escapeBounded(p, MAX_PATH_CHARS);
}
