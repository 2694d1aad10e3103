// JSON logs (pino), one child logger per component. Anything that can hold a secret is
// redacted by path before it is written.
import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

const REDACT = [
  'token', '*.token', 'authorization', '*.authorization', 'headers.authorization', '*.headers.authorization',
  'req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]',
  'key', '*.key', 'privateKey', '*.privateKey', 'password', '*.password', 'secret', '*.secret',
];

export function createLogger(name: string, level: LevelWithSilent = 'info', destination?: NodeJS.WritableStream): Logger {
  return pino(
    { name, level, redact: { paths: REDACT, censor: '<redacted>' }, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime },
    (destination ?? process.stdout) as pino.DestinationStream,
  );
}
