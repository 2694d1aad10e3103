// Reads cannot be broken by one stored row (issue 12, break 1). Rows written straight into
// SQLite with times no Date holds (as agents could store before ingest judged their times,
// or as anyone with the file can) must not turn the API, the dashboard's reads, `nodeward
// query` or the webhook outbox into failures: every stored time is written by one formatter
// that cannot throw (collector/store/time.ts).
import test from 'ava';
import Database from 'better-sqlite3';
import { execFile } from 'node:child_process';
import { request } from 'node:https';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ADMIN_TOKEN, READER_TOKEN, startTestCollector, type TestCollector } from '../helpers/collector.js';
import { api, connect, fp, result } from '../helpers/agent-session.js';
import { unexpectedProcess } from '../helpers/process-finding.js';
import { eventually, httpsJson } from '../helpers/https.js';
import { startReceiver } from '../helpers/webhook-receiver.js';
import { NODEWARD_BIN } from '../helpers/process.js';

/** The largest time the wire used to accept (2^53-1 ms), far past a Date's end (8.64e15). */
const HUGE = Number.MAX_SAFE_INTEGER;
const MAX_ISO = '9999-12-31T23:59:59.999Z';
const MIN_ISO = '1970-01-01T00:00:00.000Z';

function get(tc: TestCollector, path: string, auth: { token?: string; cookie?: string }): Promise<{ status: number; body: any }> {
  return httpsJson(`${tc.apiUrl}${path}`, { ca: tc.ca, ...(auth.token ? { token: auth.token } : {}), headers: auth.cookie ? { cookie: auth.cookie } : {} });
}

/** The dashboard's session cookie for a token (POST /ui/login as the login form sends it). */
function login(tc: TestCollector, token: string): Promise<string> {
  const body = new URLSearchParams({ token }).toString();
  return new Promise((resolve, reject) => {
    const req = request(`${tc.apiUrl}/ui/login`, {
      method: 'POST', ca: tc.ca,
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: tc.apiUrl },
    }, (res) => {
      res.resume();
      const set = [res.headers['set-cookie'] ?? []].flat()[0];
      if (!set) reject(new Error(`login refused: ${res.statusCode} ${res.headers.location}`));
      else resolve(set.split(';')[0]!);
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('rows holding times no Date can hold break no read: API, dashboard, query CLI, sweeper and webhook commits', async (t) => {
  const receiver = await startReceiver(() => 200);
  t.teardown(() => receiver.close());
  const tc = await startTestCollector({
    overrides: { webhooks: [{ name: 'hook', url: receiver.url, format: 'json', backoffInitialMs: 20, backoffMaxMs: 100, groupWindowMs: 0, timeoutMs: 2000 }] },
  });
  t.teardown(() => tc.close());

  // Seeded the way agents do: failing and resolved results, an unexpected process, a baseline.
  const now = Date.now();
  const a = await connect(tc, 'node-a');
  await a.scan(now, ['cis-4.2.1', 'cis-4.2.2'], [result('cis-4.2.1', '--anonymous-auth', 'fail'), result('cis-4.2.2', '--authorization-mode', 'fail')]);
  await a.scan(now + 1, ['cis-4.2.2'], [result('cis-4.2.2', '--authorization-mode', 'pass')]);
  await a.batch([unexpectedProcess('host/worker', '/usr/bin/nc', now)]);
  a.stream.send({ baselineReport: { baselines: [{ key: 'shop/Deployment/web/nginx', state: 'BASELINE_STATE_LEARNING', items: [{ path: '/bin/sh', source: 'ITEM_SOURCE_LEARNED', firstSeenMs: now }] }] } });
  await eventually('the baseline to be stored', async () => ((await api(tc, '/api/v1/baselines')).body.items?.length === 1 ? true : undefined));
  const suppressed = fp('node-a', 'cis-4.2.1', '--anonymous-auth');
  const sup = await api(tc, `/api/v1/findings/${suppressed}/suppress`, { method: 'POST', token: ADMIN_TOKEN, body: { reason: 'known', until: new Date(now + 86400_000).toISOString() } });
  t.is(sup.status, 200, sup.text);
  await eventually('the webhook deliveries so far', () => (receiver.accepted().length >= 3 ? true : undefined));

  // Poisoned behind the collector's back: every time column of every table the reads format.
  const db = new Database(tc.databasePath);
  db.pragma('busy_timeout = 5000');
  db.transaction(() => {
    db.prepare('UPDATE findings SET first_seen = ?, last_seen = ?, resolved_at = CASE WHEN resolved_at IS NULL THEN NULL ELSE ? END, suppressed_until = CASE WHEN suppressed_until IS NULL THEN NULL ELSE ? END, suppressed_at = CASE WHEN suppressed_at IS NULL THEN NULL ELSE ? END')
      .run(-HUGE, HUGE, HUGE, HUGE, -HUGE);
    db.prepare('UPDATE finding_history SET at = ?, last_at = ?').run(HUGE, -HUGE);
    db.prepare('UPDATE baseline_items SET first_seen = ?, last_seen = ?').run(HUGE, HUGE);
    db.prepare('UPDATE baselines SET created_at = ?, updated_at = ?').run(-HUGE, HUGE);
    db.prepare('UPDATE nodes SET first_seen = ?, last_seen = ?').run(-HUGE, HUGE);
    db.prepare('UPDATE audit_log SET at = ?, last_at = ?').run(HUGE, HUGE);
    db.prepare('UPDATE webhook_outbox SET created_at = ?, finished_at = ?').run(HUGE, HUGE);
  })();
  db.close();

  const routes = [
    '/api/v1/findings', '/api/v1/findings?state=resolved', '/api/v1/findings?state=suppressed', `/api/v1/findings/${suppressed}`,
    `/api/v1/findings/${fp('node-a', 'cis-4.2.2', '--authorization-mode')}`, '/api/v1/processes/unexpected', '/api/v1/baselines',
    '/api/v1/nodes', '/api/v1/nodes?sort=certExpiry', '/api/v1/nodes/node-a', '/api/v1/summary',
  ];
  const cookie = await login(tc, READER_TOKEN);
  for (const path of routes) {
    t.is((await get(tc, path, { token: READER_TOKEN })).status, 200, `${path} with a bearer token`);
    t.is((await get(tc, path, { cookie })).status, 200, `${path} as the dashboard reads it`);
  }
  for (const path of ['/api/v1/audit', '/api/v1/webhooks/deliveries']) t.is((await get(tc, path, { token: ADMIN_TOKEN })).status, 200, path);
  t.is((await get(tc, '/ui/findings', { cookie })).status, 200);

  // Out of range reads as the nearest bound: RFC 3339 with a four-digit year.
  const f = (await get(tc, `/api/v1/findings/${suppressed}`, { token: READER_TOKEN })).body;
  t.like(f, { firstSeen: MIN_ISO, lastSeen: MAX_ISO, suppressedUntil: MAX_ISO, suppressedAt: MIN_ISO });
  t.like(f.history[0], { at: MAX_ISO, lastAt: MIN_ISO });
  t.like((await get(tc, '/api/v1/nodes/node-a', { token: READER_TOKEN })).body, { firstSeen: MIN_ISO, lastSeen: MAX_ISO });
  t.like((await get(tc, '/api/v1/baselines', { token: READER_TOKEN })).body.items[0], { createdAt: MIN_ISO, updatedAt: MAX_ISO });
  t.like((await get(tc, '/api/v1/processes/unexpected', { token: READER_TOKEN })).body.items[0], { firstSeen: MIN_ISO, lastSeen: MAX_ISO });

  // `nodeward query` reads the same API.
  await writeFile(join(tc.dir, 'reader.token'), `${READER_TOKEN}\n`, { mode: 0o600 });
  const cli = await promisify(execFile)(process.execPath, [NODEWARD_BIN, 'query', 'findings', '--url', tc.apiUrl, '--token-file', join(tc.dir, 'reader.token'), '--ca-file', tc.pki.caCert], { env: { PATH: process.env.PATH ?? '' }, timeout: 30_000 });
  t.regex(cli.stdout, /--anonymous-auth/);

  // A commit that writes a webhook alert snapshots the poisoned row: it commits (ack 0) and is delivered.
  const before = receiver.accepted().length;
  await t.notThrowsAsync(a.scan(Date.now(), ['cis-4.2.2'], [result('cis-4.2.2', '--authorization-mode', 'fail')]), 'the reopening commits and is acked');
  const sent = await eventually('the reopened alert', () => receiver.accepted().slice(before).find((r) => r.body.event === 'reopened'));
  t.like(sent.body.finding, { subject: '--authorization-mode', firstSeen: MIN_ISO, lastSeen: MAX_ISO });
  t.notThrows(() => tc.collector.sweep());
  a.close();
});
