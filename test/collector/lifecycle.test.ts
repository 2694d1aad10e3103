// The finding lifecycle through the real path: agents stream over mTLS gRPC, the collector
// commits, the API shows the outcome. Open, resolve on an in-scope pass, reopen keeping the
// history, suppress with a reason and an expiry that really ends the suppression.
import test from 'ava';
import { ADMIN_TOKEN, READER_TOKEN } from '../helpers/collector.js';
import { testClock } from '../helpers/clock.js';
import { api, connect, fp, ids, ok, proc, result, withCollector } from '../helpers/agent-session.js';

const iso = (ms: number): string => new Date(ms).toISOString();
const HOUR = 3600_000;

test('open, resolve on an in-scope pass, reopen: first seen, last seen and count survive, and the history tells the story', (t) => withCollector(async (tc) => {
  const T0 = Date.parse('2025-05-01T08:00:00Z');
  const a = await connect(tc, 'node-a');
  const id = fp('node-a', 'cis-4.2.1', '--anonymous-auth');
  const get = (): Promise<any> => ok(tc, `/api/v1/findings/${id}`);

  await a.scan(T0, ['cis-4.2.1'], [result('cis-4.2.1', '--anonymous-auth', 'fail', { occurrences: 2 })]);
  t.like(await get(), { state: 'open', count: 2, firstSeen: iso(T0), lastSeen: iso(T0) });

  // Repeats within the hour fold into one 'seen' entry; a repeat two hours later starts another.
  await a.scan(T0 + 60_000, ['cis-4.2.1'], [result('cis-4.2.1', '--anonymous-auth', 'fail')]);
  await a.scan(T0 + 120_000, ['cis-4.2.1'], [result('cis-4.2.1', '--anonymous-auth', 'fail')]);
  await a.scan(T0 + 2 * HOUR, ['cis-4.2.1'], [result('cis-4.2.1', '--anonymous-auth', 'fail')]);
  await a.scan(T0 + 3 * HOUR, ['cis-4.2.1'], [result('cis-4.2.1', '--anonymous-auth', 'pass')]);
  const resolved = await get();
  t.like(resolved, { state: 'resolved', count: 5, resolvedAt: iso(T0 + 3 * HOUR), lastSeen: iso(T0 + 2 * HOUR) });
  t.deepEqual(ids(await ok(tc, '/api/v1/findings?state=resolved').then((p) => p.items)), [id]);
  t.deepEqual((await ok(tc, '/api/v1/findings?state=open')).items, []);

  await a.scan(T0 + 4 * HOUR, ['cis-4.2.1'], [result('cis-4.2.1', '--anonymous-auth', 'fail', { severity: 'critical', occurrences: 3 })]);
  const reopened = await get();
  t.like(reopened, {
    state: 'open', severity: 'critical', count: 8, resolvedAt: null, firstSeen: iso(T0), lastSeen: iso(T0 + 4 * HOUR),
  });
  t.deepEqual(reopened.history.map((h: any) => [h.event, h.at, h.occurrences]), [
    ['reopened', iso(T0 + 4 * HOUR), 3],
    ['resolved', iso(T0 + 3 * HOUR), 0],
    ['seen', iso(T0 + 2 * HOUR), 1],
    ['seen', iso(T0 + 60_000), 2],
    ['opened', iso(T0), 2],
  ]);
  t.is(reopened.history[3].lastAt, iso(T0 + 120_000), 'a folded entry spans its first and last occurrence');
  t.is(reopened.history[0].severity, 'critical');
  t.regex(reopened.history[1].note, /passed a scan/);
  // The list carries the same row without the history.
  const [listed] = (await ok(tc, `/api/v1/findings?node=node-a&check=cis-4.2.1`)).items;
  t.is(listed.count, 8);
  t.is(listed.history, undefined);
  a.close();
}));

test('the history is bounded: only the newest entries are kept', (t) => withCollector(async (tc) => {
  const T0 = Date.parse('2025-05-01T08:00:00Z');
  const a = await connect(tc, 'node-a');
  const id = fp('node-a', 'cis-4.2.4', '--read-only-port');
  for (let i = 0; i < 6; i++) {
    await a.scan(T0 + i * 2 * HOUR, ['cis-4.2.4'], [result('cis-4.2.4', '--read-only-port', 'fail')]);
    await a.scan(T0 + i * 2 * HOUR + HOUR, ['cis-4.2.4'], [result('cis-4.2.4', '--read-only-port', 'pass')]);
  }
  const f = await ok(tc, `/api/v1/findings/${id}`);
  t.is(f.history.length, 4);
  t.deepEqual(f.history.map((h: any) => [h.event, h.at]), [
    ['resolved', iso(T0 + 11 * HOUR)], ['reopened', iso(T0 + 10 * HOUR)], ['resolved', iso(T0 + 9 * HOUR)], ['reopened', iso(T0 + 8 * HOUR)],
  ]);
  t.is(f.count, 6, 'the count is not bounded by the history');
  t.is(f.firstSeen, iso(T0));
  a.close();
}, { overrides: { 'findings.historyLimit': 4 } }));

test('a suppression with an expiry ends when it expires; re-suppressing updates reason and expiry', async (t) => {
  const clock = testClock();
  await withCollector(async (tc) => {
    const a = await connect(tc, 'node-a');
    await a.batch([proc('/usr/bin/nc')]);
    const id = fp('node-a', 'proc-unexpected', '/usr/bin/nc');
    const suppress = (body: unknown) => api(tc, `/api/v1/findings/${id}/suppress`, { method: 'POST', token: ADMIN_TOKEN, body });

    const first = await suppress({ reason: 'pentest this week', until: iso(clock.now() + 60_000) });
    t.is(first.status, 200, first.text);
    t.like(first.body, { state: 'suppressed', suppressedReason: 'pentest this week', suppressedBy: 'admin' });
    t.is(typeof first.body.suppressedAt, 'string');

    const until = clock.now() + 3000;
    const again = await suppress({ reason: 'pentest ends early', until: iso(until) });
    t.is(again.status, 200, again.text);
    t.like(again.body, { state: 'suppressed', suppressedReason: 'pentest ends early', suppressedUntil: iso(until) });

    // Visible under its own state, not under open.
    t.deepEqual(ids((await ok(tc, '/api/v1/findings?state=suppressed')).items), [id]);
    t.deepEqual((await ok(tc, '/api/v1/findings?state=open')).items, []);
    // Occurrences while suppressed are still counted; the finding stays suppressed.
    await a.batch([proc('/usr/bin/nc', { occurrences: 4 })]);
    t.like(await ok(tc, `/api/v1/findings/${id}`), { state: 'suppressed', count: 5 });

    // A millisecond before its expiry it is still in force; at its expiry it ends.
    await clock.set(until - 1);
    t.like(await ok(tc, `/api/v1/findings/${id}`), { state: 'suppressed' }, 'it did not end before its expiry');
    const after = await clock.advanceUntil('the suppression to expire', async () => {
      const f = await ok(tc, `/api/v1/findings/${id}`);
      return f.state === 'open' ? f : undefined;
    }, { stepMs: 1 });
    t.true(clock.now() >= until, 'it did not end before its expiry');
    t.like(after, { state: 'open', suppressedReason: null, suppressedUntil: null, suppressedBy: null, count: 5 });
    t.deepEqual(after.history.map((h: any) => h.event), ['unsuppressed', 'seen', 'suppressed', 'suppressed', 'opened']);
    t.regex(after.history[0].note, /expired/);
    t.regex(after.history[2].note, /^admin: pentest ends early \(until /);
    t.regex(after.history[3].note, /^admin: pentest this week/);
    t.deepEqual(ids((await ok(tc, '/api/v1/findings?state=open')).items), [id]);
    a.close();
  }, { clock });
});

test('the sweeper ends expired suppressions on its own, without anyone reading them', async (t) => {
  const clock = testClock();
  await withCollector(async (tc) => {
    const a = await connect(tc, 'node-a');
    await a.batch([proc('/usr/bin/socat')]);
    a.close();
    const id = fp('node-a', 'proc-unexpected', '/usr/bin/socat');
    const res = await api(tc, `/api/v1/findings/${id}/suppress`, { method: 'POST', token: ADMIN_TOKEN, body: { reason: 'x', until: iso(clock.now() + 3000) } });
    t.is(res.status, 200, res.text);
    // /metrics reads gauges the sweeper refreshes; it never ends suppressions itself.
    await clock.advanceUntil('the sweeper to end the suppression', async () => {
      const m = (await api<string>(tc, '/metrics', { token: null })).text;
      return /^nodeward_suppressions_expired_total 1$/m.test(m) && /^nodeward_findings\{state="suppressed"\} 0$/m.test(m) ? true : undefined;
    }, { stepMs: 250 });
    t.is(tc.collector.metrics.get('nodeward_findings', { state: 'open' }), 1);
  }, { overrides: { 'maintenance.intervalSeconds': 1 }, clock });
});

test('a suppression without expiry lasts until lifted; a pass still resolves a suppressed finding', (t) => withCollector(async (tc) => {
  const a = await connect(tc, 'node-a');
  const now = Date.now();
  await a.scan(now, ['cis-4.2.1', 'cis-4.2.6'], [
    result('cis-4.2.1', '--anonymous-auth', 'fail'),
    result('cis-4.2.6', '--protect-kernel-defaults', 'fail'),
  ]);
  const anon = fp('node-a', 'cis-4.2.1', '--anonymous-auth');
  const pkd = fp('node-a', 'cis-4.2.6', '--protect-kernel-defaults');
  const post = (path: string, body?: unknown, token = ADMIN_TOKEN) => api(tc, path, { method: 'POST', token, ...(body ? { body } : {}) });

  t.is((await post(`/api/v1/findings/${anon}/suppress`, { reason: 'accepted risk' })).status, 200);
  t.is((await post(`/api/v1/findings/${pkd}/suppress`, { reason: 'accepted risk' })).status, 200);
  t.like(await ok(tc, `/api/v1/findings/${anon}`), { state: 'suppressed', suppressedUntil: null });

  // Lifting needs admin, and lifting what is not suppressed is a conflict.
  t.is((await post(`/api/v1/findings/${anon}/unsuppress`, undefined, READER_TOKEN)).status, 403);
  const lifted = await post(`/api/v1/findings/${anon}/unsuppress`);
  t.is(lifted.status, 200, lifted.text);
  t.like(lifted.body, { state: 'open', suppressedReason: null });
  const twice = await post(`/api/v1/findings/${anon}/unsuppress`);
  t.is(twice.status, 409);
  t.regex(twice.body.error, /not suppressed/);
  t.is((await post(`/api/v1/findings/${'e'.repeat(32)}/unsuppress`)).status, 404);

  // A pass in scope resolves the suppressed one, and ends its suppression.
  await a.scan(now + 1000, ['cis-4.2.6'], [result('cis-4.2.6', '--protect-kernel-defaults', 'pass')]);
  t.like(await ok(tc, `/api/v1/findings/${pkd}`), { state: 'resolved', suppressedReason: null });
  // A resolved finding suppressed and then lifted goes back to resolved, not open.
  t.is((await post(`/api/v1/findings/${pkd}/suppress`, { reason: 'will not fix' })).status, 200);
  t.like((await post(`/api/v1/findings/${pkd}/unsuppress`)).body, { state: 'resolved' });
  a.close();
}));
