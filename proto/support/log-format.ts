// The human form of a log line, for a terminal: when stdout is a TTY the logger (logger.ts)
// writes each of its JSON lines through humanLine instead, as
//   07:13:11.123 INFO  collector: query API listening port=8443 tls=true
// The JSON it reads has been redacted already. Control characters (a node's text can hold
// escape sequences) are written escaped, so a line stays one line and cannot drive the terminal.

/** Fields every line has, shown in the prefix rather than as key=value. */
const PREFIX_FIELDS = new Set(['time', 'level', 'name', 'pid', 'msg', 'hostname']);

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** Text as it is when it is plain; JSON-quoted when it has spaces, quotes, '=' or control characters. */
function value(v: unknown): string {
  if (typeof v === 'string') return v !== '' && !/[\s"=]/.test(v) && !CONTROL.test(v) ? v : JSON.stringify(v);
  return JSON.stringify(v) ?? String(v);
}

/** A message's control characters escaped as JSON escapes them, and nothing else changed. */
function escapeControls(text: string): string {
  return CONTROL.test(text) ? JSON.stringify(text).slice(1, -1).replace(/\\"/g, '"').replace(/\\\\/g, '\\') : text;
}

/** One JSON log line (pino's, level as a name) as one human line with a newline; a line that is not JSON is passed through. */
export function humanLine(json: string): string {
  let obj: Record<string, unknown>;
  try {
    obj = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.endsWith('\n') ? json : `${json}\n`;
  }
  if (typeof obj !== 'object' || obj === null) return `${json.trimEnd()}\n`;
  const time = typeof obj.time === 'string' ? obj.time.slice(11, 23) : '';
  const level = String(obj.level ?? '').toUpperCase().padEnd(5);
  const name = typeof obj.name === 'string' ? `${obj.name}: ` : '';
  const msg = typeof obj.msg === 'string' ? escapeControls(obj.msg) : '';
  const fields = Object.entries(obj).filter(([k]) => !PREFIX_FIELDS.has(k)).map(([k, v]) => `${escapeControls(k)}=${value(v)}`);
  return `${[time, level, `${name}${msg}`, ...fields].filter((p) => p !== '').join(' ')}\n`;
}

/** A pino destination that writes human lines to `out`. */
export function humanDestination(out: NodeJS.WritableStream): { write(line: string): boolean } {
  return { write: (line: string) => out.write(humanLine(line)) };
}
