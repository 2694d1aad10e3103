// JSON logs (pino), one child logger per component, the level as a name ("level":"info"),
// or, when stdout is a terminal, one human line each (log-format.ts). Anything that can hold a secret is
// redacted before it is written: fields by path (tokens, keys, passwords, and the headers of
// logged requests: authorization, cookie, proxy-authorization, x-api-key, set-cookie), and
// every string of every line, the message and serialized errors included, by the one
// redactor (redact.ts): a command line, a URL with a token or a header line that reaches a log
// is redacted like it is in a finding.
import { pino, type Logger, type LevelWithSilent } from 'pino';
import { redactJson, redactText } from './redact.js';
import { humanDestination } from './log-format.js';

export type { Logger };

const HEADERS = ['authorization', 'cookie', '["proxy-authorization"]', '["x-api-key"]', '["set-cookie"]'];
const REDACT = [
  'token', '*.token', 'authorization', '*.authorization', 'cookie', '*.cookie',
  ...HEADERS.flatMap((h) => [h.startsWith('[') ? `headers${h}` : `headers.${h}`, h.startsWith('[') ? `*.headers${h}` : `*.headers.${h}`]),
  ...HEADERS.flatMap((h) => [h.startsWith('[') ? `req.headers${h}` : `req.headers.${h}`, h.startsWith('[') ? `res.headers${h}` : `res.headers.${h}`]),
  'key', '*.key', 'privateKey', '*.privateKey', 'password', '*.password', 'secret', '*.secret',
];

/**
 * The one logger factory of both apps. Without a destination it writes to stdout: JSON lines,
 * or human lines when stdout is a TTY. A destination given gets the JSON lines.
 */
export function createLogger(name: string, level: LevelWithSilent = 'info', destination?: NodeJS.WritableStream): Logger {
  const out = destination ?? (process.stdout.isTTY ? humanDestination(process.stdout) : process.stdout);
  return pino(
    {
      name, level, redact: { paths: REDACT, censor: '<redacted>' }, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }), log: (obj) => redactJson(obj) as Record<string, unknown> },
      serializers: {
        msg: (m: unknown) => (typeof m === 'string' ? redactText(m) : m),
        err: (e: unknown) => redactJson(e instanceof Error ? { ...pino.stdSerializers.err(e) } : e),
      },
    },
    out as pino.DestinationStream,
  );
}
