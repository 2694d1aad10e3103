// Reads never write. Every read route of the API, one of them on a finding whose suppression
// has passed its expiry and the audit log with refusal counts not written yet, leaves the
// database exactly as it was (a second connection sees no commit); ending the suppression is
// the sweeper's work, through the pipeline, at its expiry (lifecycle.test.ts shows that in a
// running collector), and writing the counts is the sweeper's too (audit-flood.test.ts).
import test from 'ava';
import Database from 'better-sqlite3';
import { ADMIN_TOKEN } from '../helpers/collector.js';
import { buildTestApi } from '../helpers/api-app.js';
import { testClock } from '../helpers/clock.js';
import { fingerprint } from '../../proto/fingerprint.js';

const T0 = Date.parse('2026-03-01T10:00:00Z');

test('reads never write: every read route, on a suppression past its expiry too, commits nothing; the pipeline ends it', async (t) => {
  const clock = testClock(T0);
  const api = await buildTestApi({ now: clock.now });
  t.teardown(() => api.close());
  await api.pipeline.scan({
    node: 'node-a', epoch: 'e', sequence: 1, scannedAt: T0 - 1000, benchmark: 'cis-1.12', scope: ['cis-4.2.1'], trigger: 'periodic',
    results: [{
      checkId: 'cis-4.2.1', cis: '4.2.1', references: ['cis-1.12:4.2.1'], title: 'Anonymous auth', category: 'kubelet', subject: '--anonymous-auth', status: 'fail', severity: 'high',
      scored: true, actual: 'true', expected: 'false', source: 'flag', sourceFile: '', reason: '', remediation: '', occurrences: 1,
    }],
  });
  const id = fingerprint('node-a', 'cis-4.2.1', '--anonymous-auth');
  const suppressed = await api.app.inject({
    method: 'POST', url: `/api/v1/findings/${id}/suppress`, headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    payload: { reason: 'maintenance', until: new Date(T0 + 1000).toISOString() },
  });
  t.is(suppressed.statusCode, 200, suppressed.body);
  await clock.advance(60_000);
  // Refused tokens: the first makes the aggregated audit row, the next ones count in memory.
  const REFUSALS = 5;
  for (let i = 0; i < REFUSALS; i++) {
    const res = await api.app.inject({ method: 'GET', url: '/api/v1/nodes', headers: { authorization: `Bearer wrong-token-${i}-0123456789abcdef` } });
    t.is(res.statusCode, 401);
  }

  const db = new Database(api.databasePath, { readonly: true, fileMustExist: true });
  t.teardown(() => db.close());
  const version = (): unknown => db.pragma('data_version', { simple: true });
  const stored = (): unknown => db.prepare("SELECT count FROM audit_log WHERE action = 'api.auth'").pluck().get();
  t.is(stored(), 1, 'the counts after the first refusal are not written yet');
  const before = version();
  const reads = [
    '/api/v1/findings', `/api/v1/findings?state=suppressed`, `/api/v1/findings/${id}`, '/api/v1/nodes', '/api/v1/nodes/node-a',
    '/api/v1/summary', '/api/v1/summary?state=suppressed', '/api/v1/processes/unexpected', '/api/v1/baselines', '/api/v1/audit',
    '/api/v1/webhooks', '/api/v1/webhooks/deliveries', '/api/v1/openapi.json', '/metrics', '/healthz', '/readyz',
  ];
  for (const url of reads) {
    const res = await api.get(url);
    t.true(res.status === 200 || (url === '/api/v1/nodes/node-a' && res.status === 404), `${url}: ${res.status}`);
  }
  t.is(version(), before, 'no read committed anything');
  t.is(stored(), 1, 'the audit read wrote none of the counts it holds');
  const audit = JSON.parse((await api.get('/api/v1/audit?action=api.auth')).body) as { items: Array<{ count: number; detail: { reason: string } }> };
  t.like(audit.items, [{ count: REFUSALS, detail: { reason: 'bad-credentials' } }], 'yet it shows every refusal');
  t.like(JSON.parse((await api.get(`/api/v1/findings/${id}`)).body), { state: 'suppressed', suppressedUntil: new Date(T0 + 1000).toISOString() });
  t.is(api.metrics.get('nodeward_suppressions_expired_total'), 0);

  // Ending it is a write, made through the pipeline (what the sweeper does at the expiry).
  t.deepEqual((await api.pipeline.expire()).map((c) => [c.findingId, c.event]), [[id, 'reopened']]);
  t.not(version(), before);
  const after = JSON.parse((await api.get(`/api/v1/findings/${id}`)).body);
  t.like(after, { state: 'open', suppressedUntil: null });
  t.like(after.history[0], { event: 'unsuppressed', at: new Date(T0 + 1000).toISOString(), note: 'the suppression expired' });
});
