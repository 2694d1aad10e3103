// `nodeward findings show|history|suppress|unsuppress`, `nodeward audit` and
// `nodeward webhooks list|deliveries|retry` as an operator runs them: the real binary against a
// real collector, whose webhook destination is a real HTTP receiver that refuses, then accepts.
// The tests run in order: the webhook test counts the one dead letter before any suppression.
import test from 'ava';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runNodeward as nodeward } from '../helpers/process.js';
import { ADMIN_TOKEN, READER_TOKEN, startTestCollector, type TestCollector } from '../helpers/collector.js';
import { connect, fp, ok, result } from '../helpers/agent-session.js';
import { eventually } from '../helpers/https.js';
import { startReceiver, type Receiver } from '../helpers/webhook-receiver.js';
import { parseUntil } from '../../collector/query/command.js';

let tc: TestCollector;
let receiver: Receiver;
let refuse = true;
let reader: string[];
let admin: string[];
const ID = fp('node-a', 'cis-4.2.1', '--anonymous-auth');

test.before(async () => {
  receiver = await startReceiver(() => (refuse ? { status: 400, body: 'bad payload' } : 200));
  tc = await startTestCollector({
    nodes: ['node-a'],
    overrides: { webhooks: [{ name: 'strict', url: receiver.url, format: 'json', backoffInitialMs: 20, backoffMaxMs: 100, groupWindowMs: 0, timeoutMs: 2000 }] },
  });
  await writeFile(join(tc.dir, 'reader.token'), `${READER_TOKEN}\n`, { mode: 0o600 });
  await writeFile(join(tc.dir, 'admin.token'), `${ADMIN_TOKEN}\n`, { mode: 0o600 });
  reader = ['--url', tc.apiUrl, '--token-file', join(tc.dir, 'reader.token'), '--ca-file', tc.pki.caCert];
  admin = ['--url', tc.apiUrl, '--token-file', join(tc.dir, 'admin.token'), '--ca-file', tc.pki.caCert];
  const a = await connect(tc, 'node-a');
  await a.scan(Date.now(), ['cis-4.2.1'], [result('cis-4.2.1', '--anonymous-auth', 'fail', { severity: 'critical', title: 'Kubelet anonymous auth', actual: 'true' })]);
  a.close();
  // The refused alert is a dead letter after one try.
  await eventually('a dead letter', async () => ((await ok(tc, '/api/v1/webhooks/deliveries?status=dead')).items.length === 1 ? true : undefined));
});
test.after.always(async () => {
  await tc?.close();
  await receiver?.close();
});

test.serial('webhooks list, deliveries and retry: a dead letter sent again is delivered', async (t) => {
  const list = await nodeward(['webhooks', 'list', ...reader]);
  t.is(list.code, 0, list.stderr);
  t.deepEqual(list.stdout.trimEnd().split('\n').map((l) => l.split(/\s+/)), [['DESTINATION', 'FORMAT', 'PENDING', 'DEAD', 'DROPPED'], ['strict', 'json', '0', '1', '0']]);

  const dead = await nodeward(['webhooks', 'deliveries', '--state', 'dead', ...reader]);
  t.is(dead.code, 0, dead.stderr);
  const [head, row] = dead.stdout.trimEnd().split('\n');
  t.regex(head!, /^ID\s+DESTINATION\s+EVENT\s+STATE\s+TRIES\s+HTTP\s+CREATED\s+WHEN\s+FINDING\s+LAST ERROR$/);
  const id = Number(row!.trim().split(/\s+/)[0]);
  t.regex(row!, new RegExp(`^\\s*${id}\\s+strict\\s+opened\\s+dead\\s+1\\s+400\\s+\\S+Z\\s+\\S+Z\\s+${ID}\\s+HTTP 400 Bad Request: bad payload$`));
  const csv = await nodeward(['webhooks', 'deliveries', '--finding', ID, '-o', 'csv', ...reader]);
  t.is(csv.stdout.split('\r\n').filter(Boolean).length, 2);
  t.is((await nodeward(['webhooks', 'deliveries', '--state', 'delivered', ...reader])).stdout, 'No delivery matches.\n');

  t.is((await nodeward(['webhooks', 'retry', String(id), ...reader])).code, 1, 'retry needs an admin token');
  refuse = false;
  const retried = await nodeward(['webhooks', 'retry', String(id), ...admin]);
  t.is(retried.code, 0, retried.stderr);
  t.is(retried.stdout, '1 dead letter put back in the queue\n');
  await eventually('the retried letter to be delivered', async () => {
    const page = JSON.parse((await nodeward(['webhooks', 'deliveries', '--finding', ID, '-o', 'json', ...reader])).stdout);
    return page.items[0]?.status === 'delivered' ? true : undefined;
  });
  t.is(receiver.accepted().length, 1);
  const twice = await nodeward(['webhooks', 'retry', String(id), ...admin]);
  t.is(twice.stdout, '0 dead letters put back in the queue (1 of the ids given is not a dead letter)\n');

  const usage: Array<[string[], RegExp]> = [
    [['webhooks', 'retry', ...admin], /^nodeward: webhooks retry needs delivery ids or --destination NAME$/],
    [['webhooks', 'retry', 'abc', ...admin], /^nodeward: "abc" is not a delivery id: the Id column of nodeward webhooks deliveries$/],
    [['webhooks', 'retry', '--destination', 'nope', ...admin], /^nodeward: body field destination: no webhook named "nope" is configured$/],
    [['webhooks', 'deliveries', '--state', 'lost', ...reader], /^nodeward webhooks deliveries: option '--state <state>' argument 'lost' is invalid\. Allowed choices are pending, delivered, dead\. \(see nodeward webhooks deliveries --help\)$/],
  ];
  for (const [args, message] of usage) {
    const r = await nodeward(args);
    t.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    t.regex(r.stderr.trimEnd(), message);
  }
});

test.serial('findings show, suppress, history and unsuppress', async (t) => {
  const show = await nodeward(['findings', 'show', ID, ...reader]);
  t.is(show.code, 0, show.stderr);
  const lines = show.stdout.split('\n');
  t.is(lines[0], `Finding:     ${ID}`);
  t.true(lines.includes('Check:       cis-4.2.1 (CIS 4.2.1): Kubelet anonymous auth'));
  t.true(lines.includes('Node:        node-a'));
  t.true(lines.includes('Severity:    critical'));
  t.true(lines.includes('State:       open'));
  t.true(lines.includes('Value:       true (flag); expected y'));
  t.true(lines.includes('History, newest first:'));
  t.regex(show.stdout, /^\S+Z\s+-\s+opened\s+1\s+critical/m);

  // A reader may look but not suppress; an admin may.
  const refused = await nodeward(['findings', 'suppress', ID, '--reason', 'accepted risk', ...reader]);
  t.is(refused.code, 1);
  t.regex(refused.stderr, /the token's role may not do this \(403\)/);
  const suppressed = await nodeward(['findings', 'suppress', ID, '--reason', 'accepted risk', '--until', '2099-01-01T00:00:00Z', ...admin]);
  t.is(suppressed.code, 0, suppressed.stderr);
  t.regex(suppressed.stdout, new RegExp(`^${ID}: suppressed by admin at \\S+Z until 2099-01-01T00:00:00Z: accepted risk\\n$`));
  const json = JSON.parse((await nodeward(['findings', 'show', ID, ...reader, '-o', 'json'])).stdout);
  t.like(json, { id: ID, state: 'suppressed', suppressedReason: 'accepted risk', suppressedUntil: '2099-01-01T00:00:00.000Z', suppressedBy: 'admin' });

  const history = await nodeward(['findings', 'history', ID, ...reader, '-o', 'csv']);
  t.is(history.code, 0, history.stderr);
  const rows = history.stdout.split('\r\n').filter(Boolean).map((l) => l.split(','));
  t.deepEqual(rows[0], ['At', 'Until', 'Event', 'Times', 'Severity', 'Note']);
  t.deepEqual(rows.slice(1).map((r) => r[2]), ['suppressed', 'opened'], 'newest first');

  const lifted = await nodeward(['findings', 'unsuppress', ID, ...admin]);
  t.is(lifted.code, 0, lifted.stderr);
  t.is(lifted.stdout, `${ID}: suppression ended; now open\n`);
  const again = await nodeward(['findings', 'unsuppress', ID, ...admin]);
  t.is(again.code, 1);
  t.regex(again.stderr, /refused \(409\): the finding is not suppressed/);

  // Usage errors name what is wrong, in one line, exit 2.
  const usage: Array<[string[], RegExp]> = [
    [['findings', 'show', 'nope', ...reader], /^nodeward: "nope" is not a finding id: 32 hex characters, the Id column of nodeward query findings$/],
    [['findings', 'suppress', ID, ...admin], /^nodeward findings suppress: required option '--reason <text>' not specified \(see nodeward findings suppress --help\)$/],
    [['findings', 'suppress', ID, '--reason', 'x', '--until', 'next week', ...admin], /--until <when>' argument 'next week' is invalid\. expected a duration from now/],
    [['findings', 'suppress', ID, '--reason', 'x', '--until', '2001-01-01T00:00:00Z', ...admin], /^nodeward: body field until must be in the future$/],
    [['findings'], /^nodeward findings: needs a command: show, history, suppress, unsuppress/],
  ];
  for (const [args, message] of usage) {
    const r = await nodeward(args);
    t.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    t.regex(r.stderr.trimEnd(), message);
  }
  const missing = await nodeward(['findings', 'show', '0'.repeat(32), ...reader]);
  t.is(missing.code, 1);
  t.regex(missing.stderr, /not found \(404\): no such finding/);
});

test.serial('audit lists who changed what, with filters; a reader may not read it', async (t) => {
  await nodeward(['findings', 'suppress', ID, '--reason', 'for the audit', ...admin]);
  const table = await nodeward(['audit', '--action', 'finding.suppress', ...admin]);
  t.is(table.code, 0, table.stderr);
  const lines = table.stdout.trimEnd().split('\n');
  t.regex(lines[0]!, /^AT\s+ACTOR\s+ROLE\s+ACTION\s+TARGET\s+STATUS\s+CALLS\s+FROM\s+DETAIL$/);
  t.true(lines.slice(1).some((l) => new RegExp(`^\\S+Z\\s+admin\\s+admin\\s+finding\\.suppress\\s+\\S*${ID}\\S*\\s+200\\s+1\\s+\\S+\\s+\\{"reason":"for the audit"\\}$`).test(l)), table.stdout);
  const page = JSON.parse((await nodeward(['audit', '--action', 'finding.suppress', '--limit', '1', '-o', 'json', ...admin])).stdout);
  t.is(page.items.length, 1);
  t.like(page.items[0], { actor: 'admin', action: 'finding.suppress', status: 200, detail: { reason: 'for the audit' } }, 'newest first');
  t.is(typeof page.nextCursor, 'string', 'there is an older one');
  const none = await nodeward(['audit', '--actor', 'nobody', ...admin]);
  t.is(none.stdout, 'No audit record matches.\n');
  const byReader = await nodeward(['audit', ...reader]);
  t.is(byReader.code, 1);
  t.regex(byReader.stderr, /\(403\)/);
  await nodeward(['findings', 'unsuppress', ID, ...admin]);
});

test('--until takes a duration from now or an RFC 3339 time', (t) => {
  const now = Date.parse('2026-03-01T12:00:00Z');
  t.is(parseUntil('7d', now), '2026-03-08T12:00:00.000Z');
  t.is(parseUntil('90m', now), '2026-03-01T13:30:00.000Z');
  t.is(parseUntil('2026-04-01T00:00:00Z', now), '2026-04-01T00:00:00Z');
  for (const bad of ['-1d', '7 days', 'tomorrow', '999999999d', '2026-04-01']) t.throws(() => parseUntil(bad, now), undefined, bad);
});
