// Webhook delivery through the real path: agents stream over mTLS gRPC, the collector
// commits the finding change and its outbox rows together, and dispatchers POST to real
// HTTP receivers on 127.0.0.1 that fail, hang, refuse or group as each test needs. The outbox
// of the alerts the collector raises itself is also checked on the store alone, on SQLite and
// on PostgreSQL (test/helpers/stores.ts).
import test from 'ava';
import { createHmac } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { loadCollectorConfig } from '../../collector/config.js';
import { initPki } from '../../collector/pki/pki.js';
import { readFile } from 'node:fs/promises';
import type { Destination } from '../../collector/webhooks/types.js';
import { createCommitStage } from '../../collector/pipeline/commit.js';
import { ConfigError } from '../../proto/support/config-loader.js';
import { NODEWARD_BIN } from '../helpers/process.js';
import { ADMIN_TOKEN, startTestCollector, type TestCollector } from '../helpers/collector.js';
import { eventually } from '../helpers/https.js';
import { api, connect, fp, ok, result } from '../helpers/agent-session.js';
import { startReceiver, type Receiver } from '../helpers/webhook-receiver.js';
import { testClock, type TestClock } from '../helpers/clock.js';
import { createDispatcher } from '../../collector/webhooks/dispatcher.js';
import { createMetrics } from '../../collector/metrics.js';
import { createLogger } from '../../proto/support/logger.js';
import type { Finding } from '../../collector/finding.js';
import type { OutboxStore } from '../../collector/store/store.js';
import { storeTest } from '../helpers/stores.js';

const SECRET = 'webhook-secret-for-tests-0123456789';
const T0 = Date.parse('2025-06-01T10:00:00Z');

/** Delivery settings that keep the tests fast: short backoff, no grouping unless asked. */
const fast = { backoffInitialMs: 20, backoffMaxMs: 100, groupWindowMs: 0, timeoutMs: 2000 };

async function withWebhooks(webhooks: (dir: string) => Array<Record<string, unknown>>, run: (tc: TestCollector) => Promise<void>, nodes?: string[], clock?: TestClock): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-webhooks-'));
  await writeFile(join(dir, 'secret'), `${SECRET}\n`, { mode: 0o600 });
  const tc = await startTestCollector({ ...(nodes ? { nodes } : {}), overrides: { webhooks: webhooks(dir) }, ...(clock ? { clock } : {}) });
  try {
    await run(tc);
  } finally {
    await tc.close();
    await rm(dir, { recursive: true, force: true });
  }
}

const deliveries = (tc: TestCollector, query: string): Promise<any[]> => ok(tc, `/api/v1/webhooks/deliveries?${query}`).then((p) => p.items);
/** Polls the deliveries API until the rows satisfy `done`. */
const deliveriesWhen = (tc: TestCollector, what: string, query: string, done: (rows: any[]) => boolean, timeoutMs?: number): Promise<any[]> =>
  eventually(what, async () => {
    const rows = await deliveries(tc, query);
    return done(rows) ? rows : undefined;
  }, timeoutMs);
const failing = (subject = '--anonymous-auth') => result('cis-4.2.1', subject, 'fail');

test('a receiver that fails five times then succeeds gets one delivery, with the same delivery id and a valid signature on all six tries', (t) => {
  // 500, 503, 502, 408, then 429 asking for a second's pause, then 200.
  const answers = [500, 503, 502, 408, { status: 429, headers: { 'retry-after': '1' } }];
  const clock = testClock();
  let flaky: Receiver;
  return startReceiver((_req, n) => answers[n] ?? 200, 0, undefined, clock.now).then((r) => {
    flaky = r;
    return withWebhooks((dir) => [{ name: 'flaky', url: flaky.url, format: 'json', secretFile: join(dir, 'secret'), ...fast }], async (tc) => {
      const a = await connect(tc, 'node-a');
      await a.scan(T0, ['cis-4.2.1'], [failing()]);
      await clock.advanceUntil('the sixth try to be accepted', () => (flaky.accepted().length === 1 ? true : undefined), { stepMs: 20 });
      const [row] = await deliveriesWhen(tc, 'the delivery to show as delivered', 'destination=flaky', (rows) => rows[0]?.status === 'delivered');

      t.is(flaky.requests.length, 6, 'five failures and one success, nothing more');
      const ids = new Set(flaky.requests.map((r) => r.headers['x-nodeward-delivery']));
      t.is(ids.size, 1, 'the same delivery id on every try');
      t.is(flaky.requests[0]!.body.deliveryId, flaky.requests[0]!.headers['x-nodeward-delivery']);
      for (const r of flaky.requests) {
        const expected = `sha256=${createHmac('sha256', SECRET).update(r.raw).digest('hex')}`;
        t.is(r.headers['x-nodeward-signature'], expected, 'the receiver verifies the HMAC of the exact body with the shared secret');
        t.deepEqual(r.raw, flaky.requests[0]!.raw, 'every try carries the same bytes');
      }
      t.like(flaky.requests[0]!.body, { event: 'opened', finding: { id: fp('node-a', 'cis-4.2.1', '--anonymous-auth'), node: 'node-a', state: 'open' } });
      t.true(flaky.requests[5]!.at - flaky.requests[4]!.at >= 900, 'Retry-After: 1 was honoured');

      t.like(row, { destination: 'flaky', event: 'opened', status: 'delivered', attempts: 6, lastStatus: 200, lastError: '' });
      t.is(row.deliveryId, flaky.requests[0]!.headers['x-nodeward-delivery']);
      t.truthy(row.deliveredAt);
      const m = tc.collector.metrics;
      t.is(m.get('nodeward_webhook_deliveries_total', { destination: 'flaky', outcome: 'retry' }), 5);
      t.is(m.get('nodeward_webhook_deliveries_total', { destination: 'flaky', outcome: 'delivered' }), 1);
      const metrics = await api(tc, '/metrics', { token: null });
      t.regex(metrics.text, /nodeward_webhook_delivery_latency_seconds_count\{destination="flaky"\} 1/);
      t.false(metrics.text.includes(SECRET) || JSON.stringify(row).includes(SECRET), 'the secret is nowhere to be seen');
      a.close();
    }, undefined, clock);
  }).finally(() => flaky?.close());
});

test('a hanging receiver times out and is retried while another destination and ingest carry on', async (t) => {
  const hang = await startReceiver(() => 'hang');
  const healthy = await startReceiver(() => 204);
  t.teardown(() => Promise.all([hang.close(), healthy.close()]).then(() => undefined));
  await withWebhooks(() => [
    { name: 'hang', url: hang.url, format: 'json', ...fast, timeoutMs: 300 },
    { name: 'healthy', url: healthy.url, format: 'json', ...fast },
  ], async (tc) => {
    const a = await connect(tc, 'node-a');
    await a.scan(T0, ['cis-4.2.1'], [failing()]);
    await eventually('the healthy destination to get the alert', () => (healthy.requests.length === 1 ? true : undefined));
    const [stuck] = await deliveriesWhen(tc, 'the hanging destination to time out', 'destination=hang', (rows) => rows[0]?.attempts >= 1);
    t.like(stuck, { status: 'pending', lastStatus: null });
    t.regex(stuck.lastError, /timed out after 300 ms/);
    t.truthy(stuck.nextAttemptAt);

    // Ingest is not held up (the ack came) and the healthy destination gets the next alert
    // while the hanging one still has its first.
    await a.scan(T0 + 60_000, ['cis-4.2.1'], [result('cis-4.2.1', '--anonymous-auth', 'pass')]);
    await eventually('the healthy destination to get the resolution', () => (healthy.requests.length === 2 ? true : undefined));
    t.deepEqual(healthy.requests.map((r) => r.body.event), ['opened', 'resolved']);
    t.true(hang.requests.every((r) => r.body.event === 'opened'), 'the hanging destination is still on its first alert: order per finding holds');
    const rows = await deliveries(tc, 'destination=hang&status=pending');
    t.deepEqual(rows.map((r) => r.event), ['resolved', 'opened'], 'both wait, newest first');
    a.close();
  });
});

test('a 400 makes a dead letter after one try; an admin retry sends it again with the same delivery id', async (t) => {
  let refuse = true;
  const strict = await startReceiver(() => (refuse ? { status: 400, body: 'invalid payload\nfrom receiver' } : 200));
  t.teardown(() => strict.close());
  await withWebhooks(() => [{ name: 'strict', url: strict.url, format: 'json', ...fast }], async (tc) => {
    const a = await connect(tc, 'node-a');
    await a.scan(T0, ['cis-4.2.1'], [failing()]);
    const [dead] = await deliveriesWhen(tc, 'a dead letter', 'status=dead', (rows) => rows.length === 1);
    t.like(dead, { destination: 'strict', event: 'opened', status: 'dead', attempts: 1, lastStatus: 400, deliveredAt: null, nextAttemptAt: null });
    t.is(dead.lastError, 'HTTP 400 Bad Request: invalid payload from receiver');
    t.is(strict.requests.length, 1, 'a permanent refusal is not retried');
    t.deepEqual((await ok(tc, '/api/v1/webhooks')).items, [{ name: 'strict', format: 'json', pending: 0, dead: 1, dropped: 0 }]);
    t.is(tc.collector.metrics.get('nodeward_webhook_dead_letters_total', { destination: 'strict', reason: 'refused' }), 1);

    // Only an admin may retry; bad requests name what is wrong.
    t.is((await api(tc, '/api/v1/webhooks/deliveries/retry', { method: 'POST', body: { destination: 'strict' } })).status, 403);
    const admin = (body: unknown) => api(tc, '/api/v1/webhooks/deliveries/retry', { method: 'POST', token: ADMIN_TOKEN, body });
    t.like(await admin({}), { status: 400, body: { error: 'body field ids or destination is required' } });
    t.like(await admin({ destination: 'nope' }), { status: 400, body: { error: 'body field destination: no webhook named "nope" is configured' } });
    t.is((await admin({ ids: ['x'] })).status, 400);
    t.like(await api(tc, '/api/v1/webhooks/deliveries?status=lost'), { status: 400 });
    t.regex((await api(tc, '/api/v1/webhooks/deliveries?status=lost')).body.error, /status/);
    t.like(await api(tc, '/api/v1/webhooks/deliveries?cursor=nonsense'), { status: 400, body: { error: 'parameter cursor is not a cursor this API issued' } });

    refuse = false;
    t.like(await admin({ ids: [dead.id] }), { status: 200, body: { retried: 1 } });
    const [again] = await deliveriesWhen(tc, 'the retried letter to be delivered', `findingId=${dead.findingId}`, (rows) => rows[0]?.status === 'delivered');
    t.like(again, { id: dead.id, attempts: 2, lastStatus: 200, lastError: '' });
    t.is(strict.requests.length, 2, 'the refused try and the retry, nothing in between');
    t.is(strict.requests[1]!.headers['x-nodeward-delivery'], strict.requests[0]!.headers['x-nodeward-delivery']);
    t.like(await admin({ ids: [dead.id] }), { status: 200, body: { retried: 0 } }, 'a delivered row is not a dead letter');

    const openapi = await ok(tc, '/api/v1/openapi.json');
    t.deepEqual(openapi.paths['/api/v1/webhooks/deliveries'].get.parameters.map((p: any) => p.name).sort(), ['cursor', 'destination', 'findingId', 'limit', 'status']);
    t.truthy(openapi.paths['/api/v1/webhooks/deliveries/retry'].post.requestBody);
    const audit = await ok(tc, '/api/v1/audit?action=webhook.retry', ADMIN_TOKEN);
    t.true(audit.items.some((r: any) => r.status === 200 && r.actor === 'admin' && r.detail.ids?.[0] === dead.id));
    a.close();
  });
});

test('a destination holds at most maxPending alerts: the oldest are dropped, counted and shown', async (t) => {
  const down = await startReceiver(() => 503);
  t.teardown(() => down.close());
  await withWebhooks(() => [{ name: 'small', url: down.url, format: 'json', ...fast, maxPending: 2, backoffInitialMs: 60_000, backoffMaxMs: 60_000 }], async (tc) => {
    const a = await connect(tc, 'node-a');
    const subjects = ['--a', '--b', '--c', '--d', '--e'];
    await a.scan(T0, ['cis-4.2.1'], subjects.map((x) => failing(x)));
    await eventually('the newest two to be tried', () => (down.requests.length > 0 ? true : undefined));
    t.deepEqual((await ok(tc, '/api/v1/webhooks')).items, [{ name: 'small', format: 'json', pending: 2, dead: 0, dropped: 3 }]);
    const rows = await deliveries(tc, 'destination=small');
    t.deepEqual(rows.map((r) => r.findingId), [fp('node-a', 'cis-4.2.1', '--e'), fp('node-a', 'cis-4.2.1', '--d')], 'the newest survive');
    t.true(rows.every((r) => r.status === 'pending'));
    const m = tc.collector.metrics;
    t.is(m.get('nodeward_webhook_dropped_total', { destination: 'small' }), 3);
    await eventually('the pending gauge', () => (m.get('nodeward_webhook_pending', { destination: 'small' }) === 2 ? true : undefined));
    a.close();
  });
});

test('suppressions are quiet unless asked for, and a suppression that ends is a reopening', async (t) => {
  const all = await startReceiver();
  const quiet = await startReceiver();
  t.teardown(() => Promise.all([all.close(), quiet.close()]).then(() => undefined));
  await withWebhooks(() => [
    { name: 'all', url: all.url, format: 'json', events: ['opened', 'reopened', 'escalated', 'resolved', 'suppressed'], ...fast },
    { name: 'quiet', url: quiet.url, format: 'json', minSeverity: 'critical', ...fast },
  ], async (tc) => {
    const a = await connect(tc, 'node-a');
    const id = fp('node-a', 'cis-4.2.1', '--anonymous-auth');
    await a.scan(T0, ['cis-4.2.1'], [failing()]);
    // A repeat is no change: nothing is sent for it.
    await a.scan(T0 + 1000, ['cis-4.2.1'], [failing()]);
    const admin = (path: string, body?: unknown) => api(tc, path, { method: 'POST', token: ADMIN_TOKEN, ...(body ? { body } : {}) });
    t.is((await admin(`/api/v1/findings/${id}/suppress`, { reason: 'known' })).status, 200);
    // Escalated while suppressed: quiet. Critical now, so the 'quiet' destination would route it.
    await a.scan(T0 + 2000, ['cis-4.2.1'], [result('cis-4.2.1', '--anonymous-auth', 'fail', { severity: 'critical' })]);
    t.is((await admin(`/api/v1/findings/${id}/unsuppress`)).status, 200);
    await eventually('three alerts at the first destination', () => (all.requests.length === 3 ? true : undefined));
    t.deepEqual(all.requests.map((r) => [r.body.event, r.body.finding.state, r.body.finding.severity]), [
      ['opened', 'open', 'high'],
      ['suppressed', 'suppressed', 'high'],
      ['reopened', 'open', 'critical'],
    ], 'no alert for the repeat, none for the escalation while suppressed');
    // The critical-only destination hears of the finding once it is critical and open again.
    await eventually('the critical-only destination', () => (quiet.requests.length === 1 ? true : undefined));
    t.like(quiet.requests[0]!.body, { event: 'reopened', finding: { id, severity: 'critical' } });
    t.deepEqual((await deliveries(tc, 'destination=quiet')).map((r) => r.event), ['reopened']);
    a.close();
  });
});

test('300 nodes failing the same check within the window make one grouped message per destination', async (t) => {
  t.timeout(110_000);
  const nodes = Array.from({ length: 300 }, (_, i) => `worker-${String(i).padStart(3, '0')}`);
  const json = await startReceiver();
  const slack = await startReceiver(() => ({ status: 200, body: 'ok' }));
  t.teardown(() => Promise.all([json.close(), slack.close()]).then(() => undefined));
  // The window only has to cover the 300 commits below (the agents are connected first):
  // the collector's clock stands still until they are in.
  const grouping = { ...fast, groupWindowMs: 10_000 };
  const clock = testClock();
  await withWebhooks(() => [
    { name: 'siem', url: json.url, format: 'json', ...grouping },
    { name: 'chat', url: slack.url, format: 'slack', ...grouping },
  ], async (tc) => {
    const sessions = await Promise.all(nodes.map((n) => connect(tc, n)));
    await eventually('every agent to be known', async () => ((await ok(tc, '/api/v1/nodes?limit=5000')).items.length === 300 ? true : undefined), 60_000);
    await Promise.all(sessions.map((s) => s.scan(T0, ['cis-4.2.1'], [failing()])));
    await clock.advanceUntil('one message each', () => (json.requests.length > 0 && slack.requests.length > 0 ? true : undefined), { stepMs: 1000, timeoutMs: 60_000 });
    for (const d of ['siem', 'chat']) {
      const rows = await deliveriesWhen(tc, `all 300 alerts of ${d} delivered`, `destination=${d}&status=delivered&limit=1000`, (items) => items.length === 300);
      t.is(new Set(rows.map((r) => r.deliveryId)).size, 1, `${d}: one delivery id covers all 300`);
    }
    t.is(json.requests.length, 1, 'one json message, not 300');
    t.is(slack.requests.length, 1, 'one Slack message, not 300');
    const body = json.requests[0]!.body;
    t.is(body.event, 'opened');
    t.is(body.findings.length, 300);
    t.deepEqual([...body.group.nodes].sort(), nodes);
    t.like(body.group, { checkId: 'cis-4.2.1', count: 300 });
    t.regex(slack.requests[0]!.body.text, /on 300 nodes/);
    sessions.forEach((s) => s.close());
  }, nodes, clock);
});

storeTest('a pass fixes the delivery ids of all its messages in one store call, then sends them in outbox order', async (t, backend) => {
  // On PostgreSQL each store call may wait for a pooled connection behind units of work; a
  // call per message made a busy collector plan for many seconds before its first send.
  const receiver = await startReceiver();
  t.teardown(() => receiver.close());
  const config = loadCollectorConfig({ env: {}, overrides: { grpc: { insecure: true }, api: { insecure: true }, webhooks: [{ name: 'siem', url: receiver.url, format: 'json', ...fast }] } });
  const store = await backend.open(t, { webhooks: config.webhookDestinations });
  const ids = ['f0', 'f1', 'f2', 'f3', 'f4'];
  const now = Date.now();
  await store.unit(async (u) => {
    for (const [i, id] of ids.entries()) {
      const finding = { id, scope: 'node', node: 'node-a', checkId: `cis-4.2.${i}`, subject: `s-${i}`, severity: 'high', status: 'fail', state: 'open', detail: {} } as unknown as Finding;
      await u.outbox.enqueue('siem', { event: 'opened', at: new Date(now).toISOString(), finding }, now);
    }
  });
  const plans: number[] = [];
  const counted = new Proxy(store.outbox, {
    get(o, k) {
      if (k === 'plan') return (messages: Parameters<OutboxStore['plan']>[0]) => { plans.push(messages.length); return o.plan(messages); };
      const v = Reflect.get(o, k) as unknown;
      return typeof v === 'function' ? v.bind(o) : v;
    },
  });
  const dispatcher = createDispatcher(config.webhookDestinations[0]!, { outbox: counted, metrics: createMetrics(), log: createLogger('test', 'silent') });
  dispatcher.start();
  t.teardown(() => dispatcher.stop());
  await eventually('five messages', () => (receiver.requests.length >= 5 ? true : undefined));
  t.deepEqual(plans, [5], 'one call planned the five messages');
  t.deepEqual(receiver.requests.map((r) => r.body.finding.id), ids);
  t.is(new Set(receiver.requests.map((r) => r.body.deliveryId)).size, 5);
});

test('webhook configuration is checked at start: every problem at once, no secret or URL echoed, exit 2', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-webhook-config-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'short'), 'tooshort\n');
  await writeFile(join(dir, 'not-a-cert.pem'), 'hello');
  const slackUrl = 'https://hooks.slack.example/services/T000/B000/XXXXSECRETXXXX';
  const webhooks = [
    { name: 'a', url: 'not a url', format: 'json' },
    { name: 'b', url: 'ftp://example.com/x', format: 'json' },
    { name: 'c', url: 'http://alerts.example.com/hook', format: 'json' },
    { name: 'd', url: slackUrl, format: 'teams' },
    { name: 'e', url: 'https://siem.example.com/', format: 'json', secretFile: join(dir, 'missing') },
    { name: 'e', url: 'https://siem.example.com/', format: 'json', secretEnv: 'NOT_SET_ANYWHERE' },
    { name: 'g', url: 'https://siem.example.com/', format: 'json', secretFile: join(dir, 'short') },
    { name: 'h', url: slackUrl, format: 'slack', secretEnv: 'HOOK_SECRET', caFile: join(dir, 'not-a-cert.pem'), headers: { 'Content-Length': '1', 'X-Ok': 'a\r\nb' } },
    { name: 'i', url: 'https://siem.example.com/', format: 'json', backoffInitialMs: 500, backoffMaxMs: 100 },
  ];
  const file = join(dir, 'collector.yaml');
  await writeFile(file, JSON.stringify({ grpc: { insecure: true }, api: { insecure: true }, dataDir: dir, webhooks }));
  const err = t.throws(() => loadCollectorConfig({ file, env: { HOOK_SECRET: 'a-long-enough-secret-value' } }), { instanceOf: ConfigError }) as ConfigError;
  const problems = err.problems.join('\n');
  for (const expected of [
    /webhooks\[0\] \(a\)\.url: not a valid URL/,
    /webhooks\[1\] \(b\)\.url: must be an https:\/\/ \(or http:\/\/\) URL/,
    /webhooks\[2\] \(c\)\.url: plain http:\/\/ is allowed only to a loopback address, or with allowHttp: true/,
    /webhooks\[3\] \(d\)\.format: "teams" is not a known format \(json, slack, alertmanager, falco\)/,
    /webhooks\[4\] \(e\)\.secretFile: cannot read .*missing: ENOENT/,
    /webhooks\[5\] \(e\): the name is used by another webhook/,
    /webhooks\[5\] \(e\)\.secretEnv: the environment variable NOT_SET_ANYWHERE is not set/,
    /webhooks\[6\] \(g\)\.secret: must be at least 16 characters/,
    /webhooks\[7\] \(h\)\.secret: only the json format signs its requests; slack would ignore it/,
    /webhooks\[7\] \(h\)\.caFile: not a PEM certificate/,
    /webhooks\[7\] \(h\)\.headers: Content-Length is set by the HTTP client/,
    /webhooks\[7\] \(h\)\.headers: the value of X-Ok contains a line break/,
    /webhooks\[8\] \(i\)\.backoffMaxMs: must not be less than backoffInitialMs/,
  ]) t.regex(problems, expected);
  t.false(problems.includes('XXXXSECRETXXXX') || problems.includes('a-long-enough-secret-value'), 'neither a URL nor a secret is echoed');

  // The same file through the CLI: exit 2 before anything listens.
  const out = await promisify(execFile)(process.execPath, [NODEWARD_BIN, 'collector', '--config', file], { timeout: 20_000 })
    .then(() => ({ code: 0, stderr: '' }), (e: { code: number; stderr: string }) => e);
  t.is(out.code, 2);
  t.regex(out.stderr, /webhooks\[0\] \(a\)\.url: not a valid URL/);

  // A valid one, with the secret from the environment and plain http to loopback.
  await writeFile(file, JSON.stringify({ grpc: { insecure: true }, api: { insecure: true }, dataDir: dir, webhooks: [
    { name: 'ok', url: 'http://127.0.0.1:9/x', format: 'json', secretEnv: 'HOOK_SECRET', minSeverity: 'high', categories: ['kubelet'] },
  ] }));
  const c = loadCollectorConfig({ file, env: { HOOK_SECRET: 'a-long-enough-secret-value' } });
  t.like(c.webhookDestinations[0], {
    name: 'ok', format: 'json', secret: 'a-long-enough-secret-value', minSeverity: 'high', categories: ['kubelet'], nodes: [],
    events: ['opened', 'reopened', 'escalated', 'resolved'], timeoutMs: 10_000, maxAgeMs: 86_400_000, groupWindowMs: 2000, maxPending: 10_000,
  });
});

storeTest('alerts the collector raises itself (agent-stale, a suppression running out) are queued with their change; expiry makes dead letters', async (t, backend) => {
  const db = await backend.database(t);
  const dest: Destination & { maxPending: number } = {
    name: 'ops', url: 'http://127.0.0.1:9', format: 'alertmanager', minSeverity: 'info', categories: [], nodes: [],
    events: ['opened', 'reopened', 'escalated', 'resolved'], headers: {}, maxPending: 100,
  };
  const store = await db.open({ webhooks: [dest] });
  const commit = createCommitStage(store, { maxOpenFindingsPerNode: 100, destinations: [dest] });
  const events = async () => (await store.outbox.pending('ops', 100)).map((r) => [r.event, r.change.finding.checkId, r.change.finding.state]);
  const stale = fp('node-a', 'agent-stale', 'node-a');

  t.truthy((await commit.silent('node-a', T0, 60_000, T0 + 120_000))[0]);
  t.deepEqual(await events(), [['opened', 'agent-stale', 'open']]);
  t.deepEqual((await store.outbox.firing('ops')).map((c) => c.finding.id), [stale], 'Alertmanager will re-post it');

  // Suppressed with an expiry: quiet (suppressed is not routed here) and no longer firing.
  t.is((await commit.suppress(stale, { reason: 'maintenance', until: T0 + 200_000, by: 'admin' }, T0 + 130_000)).outcome, 'suppressed');
  t.is((await events()).length, 1);
  t.deepEqual(await store.outbox.firing('ops'), []);
  // The suppression runs out with the agent still silent: reopened, firing again.
  t.is((await commit.expire(T0 + 200_000)).length, 1);
  t.deepEqual((await events()).at(-1), ['reopened', 'agent-stale', 'open']);
  t.deepEqual((await store.outbox.firing('ops')).map((c) => c.finding.id), [stale]);
  t.truthy((await commit.heard('node-a', T0 + 300_000))[0]);
  t.deepEqual((await events()).at(-1), ['resolved', 'agent-stale', 'resolved']);
  t.deepEqual(await store.outbox.firing('ops'), []);

  // The maximum age: what a dispatcher records when it gives up.
  const seqs = (await store.outbox.pending('ops', 100)).map((r) => r.seq);
  t.is(await store.outbox.dead('ops', seqs, { httpStatus: null, error: 'not delivered within 1 s', attempted: false }, T0 + 400_000), 3);
  t.deepEqual(await store.outbox.counts(), [{ destination: 'ops', format: 'alertmanager', pending: 0, dead: 3, dropped: 0 }]);
  // Retention: dead letters go after their days.
  t.is(await store.outbox.prune(0, T0 + 400_001), 3);
  t.deepEqual((await store.outbox.list({}, 10, Number.MAX_SAFE_INTEGER)).items, []);

  // A destination removed from the configuration: what it still had waiting is dead at the next start.
  t.truthy((await commit.silent('node-a', T0 + 300_000, 60_000, T0 + 500_000))[0]);
  t.is((await events()).length, 1);
  await store.close();
  const reopened = await db.open({ webhooks: [] });
  t.is(await reopened.outbox.abandonUnconfigured(T0 + 600_000), 1);
  t.like((await reopened.outbox.list({ destination: 'ops' }, 10, Number.MAX_SAFE_INTEGER)).items[0], {
    event: 'reopened', status: 'dead', lastError: 'the destination is no longer configured',
  });
  t.is(await reopened.outbox.retry({ destination: 'ops' }, T0 + 700_000), 0, 'nothing to send it to');
  await reopened.close();
});

test('a delivery not done within maxAgeSeconds becomes a dead letter saying why', async (t) => {
  const down = await startReceiver(() => 503);
  t.teardown(() => down.close());
  const clock = testClock();
  await withWebhooks(() => [{ name: 'late', url: down.url, format: 'json', ...fast, backoffInitialMs: 200, backoffMaxMs: 200, maxAgeSeconds: 1 }], async (tc) => {
    const a = await connect(tc, 'node-a');
    await a.scan(T0, ['cis-4.2.1'], [failing()]);
    const [row] = await clock.advanceUntil('a dead letter', async () => {
      const rows = await deliveries(tc, 'destination=late&status=dead');
      return rows.length === 1 ? rows : undefined;
    }, { stepMs: 50 });
    t.regex(row.lastError, /^not delivered within 1 s \(\d+ tries\); last error: HTTP 503 Service Unavailable$/);
    t.is(row.lastStatus, 503);
    t.is(row.attempts, down.requests.length, 'every try is counted');
    t.is(tc.collector.metrics.get('nodeward_webhook_dead_letters_total', { destination: 'late', reason: 'max_age' }), 1);
    a.close();
  }, undefined, clock);
});

test('TLS is always verified: a receiver whose CA is not trusted is refused until caFile names it', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-webhook-tls-'));
  const pki = await initPki(join(dir, 'pki'), { nodes: [], collectorHosts: ['localhost'] });
  const secure = await startReceiver(() => 200, 0, { cert: await readFile(pki.collectorCert), key: await readFile(pki.collectorKey) });
  t.teardown(async () => {
    await secure.close();
    await rm(dir, { recursive: true, force: true });
  });
  await withWebhooks(() => [
    { name: 'trusting', url: secure.url, format: 'json', caFile: pki.caCert, ...fast },
    { name: 'untrusting', url: secure.url, format: 'json', ...fast, backoffInitialMs: 60_000, backoffMaxMs: 60_000 },
  ], async (tc) => {
    const a = await connect(tc, 'node-a');
    await a.scan(T0, ['cis-4.2.1'], [failing()]);
    await deliveriesWhen(tc, 'delivery with the extra CA', 'destination=trusting&status=delivered', (rows) => rows.length === 1);
    const [refused] = await deliveriesWhen(tc, 'a refused handshake', 'destination=untrusting', (rows) => rows[0]?.attempts >= 1);
    t.like(refused, { status: 'pending', lastStatus: null });
    t.regex(refused.lastError, /certificate/i);
    t.is(secure.requests.length, 1, 'only the destination that trusts the CA got through');
    a.close();
  });
});
