// The redactor's cost (proto/support/redact.ts), on the paths that pay it:
//   - the agent: a proc-unexpected command line, redacted, escaped and bounded (formatCmdline),
//     against escaping and bounding alone (the baseline: what the agent did with no redaction);
//   - the collector's ingest: a finding's detail JSON redacted (redactDetailJson) against
//     parsing and serialising it alone (JSON.parse + JSON.stringify, the baseline);
//   - linearity: hostile arguments built to make a backtracking regex quadratic, at 4 KiB,
//     64 KiB and 256 KiB (the agent reads at most 4 KiB of a process's command line and
//     256 KiB of a component's), as nanoseconds per input character, against ordinary text of
//     the same length. Flat ratios across the sizes mean linear time.
import { escapeBounded, formatCmdline } from '../agent/processes/cmdline.js';
import { redactArgv, redactDetailJson, redactText } from '../proto/support/redact.js';

export interface RedactBenchOptions {
  readonly iterations: number;
}

export interface RedactBenchResult {
  readonly cmdlineUs: number;
  readonly escapeOnlyUs: number;
  readonly detailUs: number;
  readonly parseOnlyUs: number;
  readonly hostile: ReadonlyArray<{ readonly chars: number; readonly hostileNsPerChar: number; readonly ordinaryNsPerChar: number }>;
}

const ARGV = [
  '/usr/bin/curl', '-sS', '--retry', '3', '-H', 'Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2EifQ.c2lnbmF0dXJl',
  '-H', 'Content-Type: application/json', '-u', 'admin:hunter2', '--data', '{"user":"u","password":"p"}',
  'https://api.example.com:8443/v1/items?page=2&access_token=abc123', '-o', '/tmp/out.json', 'API_TOKEN=xyz', '--verbose',
];

function timeUs(iterations: number, run: () => unknown): number {
  for (let i = 0; i < Math.min(200, iterations); i++) run();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) run();
  return Number(process.hrtime.bigint() - t0) / 1e3 / iterations;
}

/** Inputs that would cost a backtracking engine quadratic time if a pattern allowed it. */
function hostile(chars: number): string[] {
  const fill = (unit: string): string => unit.repeat(Math.ceil(chars / unit.length)).slice(0, chars);
  return [fill('eyJ'), fill('a'), fill('https://a'), fill('&a'), fill('"a":"'), fill('-----BEGIN PRIVATE KEY-----'), fill('a='), fill("'a "), fill('AKIA')];
}

function ordinary(chars: number): string {
  const words = ['--verbose', '/usr/lib/x86_64-linux-gnu/libc.so.6', 'hello', '-o', 'out.txt', '--v=2', 'https://example.com/x?page=2'];
  let s = '';
  for (let i = 0; s.length < chars; i++) s += `${words[i % words.length]} `;
  return s.slice(0, chars);
}

export function benchRedact(o: RedactBenchOptions): RedactBenchResult {
  const cmdlineUs = timeUs(o.iterations, () => formatCmdline(ARGV));
  const escapeOnlyUs = timeUs(o.iterations, () => escapeBounded(ARGV.join(' '), 2048));
  const detail = JSON.stringify({
    baseline: 'shop/Deployment/web/nginx', exe: '/usr/bin/curl', exeDeleted: false, pid: 4242, ppid: 4200, parents: ['/bin/sh', '/usr/sbin/nginx'],
    uid: 101, user: '101', cmdline: redactArgv(ARGV).join(' '), container: { id: 'c'.repeat(64), name: 'nginx', runtime: 'containerd' },
    pod: 'web-7d4b9c8f6d-x2kzq', podUid: 'u', namespace: 'shop', workload: { kind: 'Deployment', name: 'web', source: 'collector' },
    startedAtMs: 1, seen: 'event', partial: false, missing: [],
  });
  const detailUs = timeUs(o.iterations, () => redactDetailJson(detail, ['baseline', 'exe']));
  const parseOnlyUs = timeUs(o.iterations, () => JSON.stringify(JSON.parse(detail)));
  const hostileRows = [4096, 65_536, 262_144].map((chars) => {
    const inputs = hostile(chars);
    const rounds = Math.max(2, Math.round(2_000_000 / chars));
    const h = timeUs(rounds, () => {
      for (const s of inputs) {
        redactText(s);
        redactArgv(['x', s]);
      }
    });
    const plain = ordinary(chars);
    const p = timeUs(rounds, () => {
      for (let i = 0; i < inputs.length; i++) {
        redactText(plain);
        redactArgv(['x', plain]);
      }
    });
    const perChar = (us: number): number => (us * 1e3) / (chars * inputs.length * 2);
    return { chars, hostileNsPerChar: perChar(h), ordinaryNsPerChar: perChar(p) };
  });
  return { cmdlineUs, escapeOnlyUs, detailUs, parseOnlyUs, hostile: hostileRows };
}

export function formatRedactBench(r: RedactBenchResult, o: RedactBenchOptions): string {
  const f = (n: number): string => n.toFixed(2);
  return [
    `redaction (${o.iterations.toLocaleString('en-US')} iterations each):`,
    `  agent: a curl command line redacted, escaped, bounded: ${f(r.cmdlineUs)} us; escaped and bounded only (baseline): ${f(r.escapeOnlyUs)} us; ratio ${f(r.cmdlineUs / r.escapeOnlyUs)}`,
    `  collector ingest: a proc-unexpected detail redacted: ${f(r.detailUs)} us; JSON parse + stringify only (baseline): ${f(r.parseOnlyUs)} us; ratio ${f(r.detailUs / r.parseOnlyUs)}`,
    '  hostile input (9 shapes against the patterns), ns per character, against ordinary text of the same length:',
    ...r.hostile.map((h) => `    ${h.chars.toLocaleString('en-US').padStart(7)} chars: hostile ${f(h.hostileNsPerChar)}, ordinary ${f(h.ordinaryNsPerChar)}, ratio ${f(h.hostileNsPerChar / h.ordinaryNsPerChar)}`),
    '',
  ].join('\n');
}
