// Log lines of both apps (proto/support/logger.ts): a logged request's credential headers, a
// command line, a URL, the message and a serialized error are redacted before they are
// written; the rest of the line stays readable.
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { createLogger } from '../../proto/support/logger.js';
import { humanDestination, humanLine } from '../../proto/support/log-format.js';

function capture(): { stream: Writable; lines: () => Array<Record<string, any>>; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  return { stream, text: () => chunks.join(''), lines: () => chunks.join('').trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>) };
}

test('credential headers, command lines, URLs, messages and errors are redacted in every log line', (t) => {
  const s = `logsecret${randomBytes(8).toString('hex')}`;
  const out = capture();
  const log = createLogger('test', 'debug', out.stream).child({ component: 'api' });
  log.info({
    req: { method: 'GET', url: `/api/v1/x?access_token=${s}`, headers: { authorization: `Bearer ${s}`, cookie: `session=${s}`, 'proxy-authorization': `Basic ${s}`, 'x-api-key': s, accept: 'application/json' } },
    cmdline: `mysql -uroot -p${s} db`, exe: '/usr/bin/mysql',
  }, 'request');
  log.debug(`calling curl -H "Authorization: Bearer ${s}"`);
  log.error({ err: new Error(`cannot reach https://admin:${s}@db.example/x`) }, 'failed');
  log.warn({ detail: { env: [`API_TOKEN=${s}`], nested: { password: s } } }, 'nested');

  t.false(out.text().includes(s), out.text());
  const [request, message, failed, nested] = out.lines();
  t.like(request, {
    component: 'api', msg: 'request', exe: '/usr/bin/mysql', cmdline: 'mysql -uroot -p<redacted> db',
    req: { method: 'GET', url: '/api/v1/x?access_token=<redacted>', headers: { authorization: '<redacted>', cookie: '<redacted>', 'proxy-authorization': '<redacted>', 'x-api-key': '<redacted>', accept: 'application/json' } },
  });
  t.is(message?.msg, 'calling curl -H "Authorization: <redacted>"');
  t.is(failed?.err?.message, 'cannot reach https://admin:<redacted>@db.example/x');
  t.true(String(failed?.err?.stack).startsWith('Error: cannot reach https://admin:<redacted>@db.example/x'));
  t.deepEqual(nested?.detail, { env: ['API_TOKEN=<redacted>'], nested: { password: '<redacted>' } });
});

test('levels are written as names, not pino numbers', (t) => {
  const out = capture();
  const log = createLogger('test', 'trace', out.stream);
  log.trace('a'); log.debug('b'); log.info('c'); log.warn('d'); log.error('e'); log.fatal('f');
  t.deepEqual(out.lines().map((l) => l.level), ['trace', 'debug', 'info', 'warn', 'error', 'fatal']);
  t.false(/"level":\d/.test(out.text()), out.text());
});

test('the terminal format: one line per entry, time, level, name and message, then the fields; redacted and escaped', (t) => {
  const s = `logsecret${randomBytes(8).toString('hex')}`;
  const json = capture();
  const log = createLogger('collector', 'info', json.stream).child({ component: 'api' });
  log.info({ port: 8443, tls: true, path: '/var/lib/my dir', token: s }, 'API listening');
  log.warn({ cmdline: `mysql -p${s}` }, 'line one\nline two \u001b[31mred\u001b[0m');
  const human = json.text().trim().split('\n').map((l) => humanLine(l)).join('');
  const [first, second, ...rest] = human.split('\n');
  t.deepEqual(rest, [''], 'one line per entry');
  t.regex(first ?? '', /^\d\d:\d\d:\d\d\.\d{3} INFO  collector: API listening component=api port=8443 tls=true path="\/var\/lib\/my dir" token=<redacted>$/);
  t.regex(second ?? '', /^\d\d:\d\d:\d\d\.\d{3} WARN  collector: line one\\nline two \\u001b\[31mred\\u001b\[0m component=api cmdline="mysql -p<redacted>"$/);
  t.false(human.includes(s));
  t.false(human.includes('\u001b'), 'no escape sequence reaches the terminal');
  t.is(humanLine('not json'), 'not json\n', 'anything else passes through');
});

test('humanDestination writes the human form of each JSON line pino hands it', (t) => {
  const out = capture();
  const log = createLogger('agent', 'info', humanDestination(out.stream) as unknown as NodeJS.WritableStream);
  log.info({ signal: 'SIGTERM' }, 'SIGTERM, stopping');
  t.regex(out.text(), /^\d\d:\d\d:\d\d\.\d{3} INFO  agent: SIGTERM, stopping signal=SIGTERM\n$/);
});
