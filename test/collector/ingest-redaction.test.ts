// The collector redacts what an agent reports before it stores, logs or sends it: an older (or
// hostile) agent may send a command line with its secrets. Real collector, real mTLS stream,
// real SQLite file, real webhook receiver. Redaction never touches a finding's identity: the
// subject and the fields it is made of stay as sent, and repeats with other secrets stay one
// finding.
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { hostKeyOf, processSubject } from '../../proto/baseline-key.js';
import type { FindingBatch__Output } from '../../proto/load.js';
import { redactText } from '../../proto/support/redact.js';
import { batchFromWire, InvalidMessage, LIMITS } from '../../collector/ingest/validate.js';
import { ADMIN_TOKEN } from '../helpers/collector.js';
import { api, connect, fp, ok, result, withCollector } from '../helpers/agent-session.js';
import { eventually } from '../helpers/https.js';
import { unexpectedProcess } from '../helpers/process-finding.js';
import { startReceiver } from '../helpers/webhook-receiver.js';

const HOST = hostKeyOf('worker');
const EXE = '/tmp/nw-ingest/curl';
const fast = { backoffInitialMs: 20, backoffMaxMs: 100, groupWindowMs: 0, timeoutMs: 2000 };
const secret = (tag: string): string => `${tag}${randomBytes(12).toString('hex')}`;

/** A command line exactly as an agent without redaction would have reported it. */
function rawCmdline(s: { bearer: string; pw: string; env: string }): string {
  return `curl -H Authorization: Bearer ${s.bearer} -u admin:${s.pw} API_TOKEN=${s.env} https://db.example/x`;
}

test('an unredacted command line from an older agent is redacted before it is stored, served or sent; the finding keeps its identity', async (t) => {
  const receiver = await startReceiver();
  t.teardown(() => receiver.close());
  await withCollector(async (tc) => {
    const first = { bearer: secret('b1'), pw: secret('p1'), env: secret('e1') };
    const second = { bearer: secret('b2'), pw: secret('p2'), env: secret('e2') };
    const all = [...Object.values(first), ...Object.values(second)];
    const a = await connect(tc, 'node-a');
    await a.batch([unexpectedProcess(HOST, EXE, Date.now() - 1000, 1, {
      cmdline: rawCmdline(first), parents: ['/usr/bin/bash', `/bin/sh -c mysql -p${first.pw}`],
    })]);
    // The same process again with other secrets: the same finding, not a second one.
    await a.batch([unexpectedProcess(HOST, EXE, Date.now(), 1, { cmdline: rawCmdline(second) })]);

    const subject = processSubject(HOST, EXE);
    const list = await ok<{ items: any[] }>(tc, '/api/v1/findings?check=proc-unexpected&limit=100');
    t.is(list.items.length, 1, 'one finding');
    const [f] = list.items;
    t.is(f.id, fp('node-a', 'proc-unexpected', subject), 'the identity is the subject as sent');
    t.is(f.subject, subject);
    t.is(f.count, 2);
    t.is(f.detail.exe, EXE);
    t.is(f.detail.baseline, HOST);
    t.is(f.detail.cmdline, 'curl -H Authorization: <redacted> <redacted> -u admin:<redacted> API_TOKEN=<redacted> https://db.example/x');
    const processes = await ok<{ items: any[] }>(tc, '/api/v1/processes/unexpected');
    t.is(processes.items[0].executable, EXE, 'the process list still finds the executable in the detail');

    const answers = JSON.stringify([list, processes, await ok(tc, `/api/v1/findings/${f.id}`)]);
    for (const s of all) t.false(answers.includes(s), `${s} is not in the API answers`);

    // Nothing of either report reached the database file or its WAL.
    const files = () => [tc.databasePath, `${tc.databasePath}-wal`].filter(existsSync).map((file) => ({ file, bytes: readFileSync(file) }));
    t.true(files().some((x) => x.bytes.includes(Buffer.from(EXE))), 'the finding is in the files searched');
    for (const { file, bytes } of files()) for (const s of all) t.false(bytes.includes(Buffer.from(s)), `${s} is not in ${file}`);

    // Allowing the executable resolves the finding; its alerts carry only the redacted
    // detail. (Rows an older collector stored unredacted: migration 008, redact-migration.test.ts.)
    const allowed = await api(tc, '/api/v1/baselines/allow', { token: ADMIN_TOKEN, method: 'POST', body: { key: HOST, executables: [EXE], content: 'any' } });
    t.is(allowed.status, 200, allowed.text);
    await eventually('the resolution alert', () => (receiver.accepted().some((r) => r.body?.event === 'resolved') ? true : undefined));
    const bodies = Buffer.concat(receiver.requests.map((r) => r.raw)).toString('utf8');
    t.true(bodies.includes('Authorization: <redacted>'), 'the alerts carry the redacted command line');
    for (const s of all) t.false(bodies.includes(s), `${s} is not in a webhook body`);

    a.close();
  }, { overrides: { webhooks: [{ name: 'json', url: receiver.url, format: 'json', ...fast }] } });
});

test('a scan result\'s actual, expected and reason are redacted at ingest; its subject is not', async (t) => {
  await withCollector(async (tc) => {
    const token = secret('tok');
    const a = await connect(tc, 'node-a');
    const r = { ...result('cis-4.2.1', '--anonymous-auth', 'fail', { actual: `--anonymous-auth=true --token=${token}` }), reason: `kubelet run with Bearer ${token}` };
    await a.scan(Date.now(), ['cis-4.2.1'], [r]);
    const [f] = (await ok<{ items: any[] }>(tc, '/api/v1/findings?check=cis-4.2.1')).items;
    t.is(f.id, fp('node-a', 'cis-4.2.1', '--anonymous-auth'));
    t.is(f.actual, '--anonymous-auth=true --token=<redacted>');
    t.is(f.reason, 'kubelet run with Bearer <redacted>');
    a.close();
  });
});

test('the bounds hold for what is stored: text that redaction would grow past its bound is refused, text already redacted is not', (t) => {
  const now = Date.now();
  const finding = (cmdline: string) => ({
    checkId: 'proc-unexpected', subject: processSubject(HOST, EXE), title: 'Unexpected process', category: 'process',
    severity: 'SEVERITY_HIGH', status: 'STATUS_FAIL', observedAtMs: now, occurrences: 1, seen: 'event',
    remediation: '', detailJson: JSON.stringify({ baseline: HOST, exe: EXE, cmdline }),
  });
  const batch = (cmdline: string) => ({ sequence: 1, findings: [finding(cmdline)] }) as unknown as FindingBatch__Output;
  // 1,400 one-character passwords: 15 KB as sent, about 28 KB once each became <redacted>.
  const growing = Array.from({ length: 1400 }, () => 'PASSWORD=1').join(' ');
  t.true(JSON.stringify({ baseline: HOST, exe: EXE, cmdline: growing }).length < LIMITS.detail);
  const err = t.throws(() => batchFromWire(batch(growing), 'node-a', 'e', now), { instanceOf: InvalidMessage });
  t.regex(err!.message, /^findingBatch\.findings\[0\]\.detailJson is longer than 16384 characters once its secrets are redacted/);
  // The same command line redacted by the agent is within the bound and stored as sent.
  const agentSide = redactText(Array.from({ length: 700 }, () => 'PASSWORD=1').join(' '));
  t.true(agentSide.includes('PASSWORD=<redacted>'));
  const stored = batchFromWire(batch(agentSide), 'node-a', 'e', now).findings[0]!;
  t.is(JSON.parse(stored.detail).cmdline, agentSide);
});
