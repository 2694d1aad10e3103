// The sweeper on a real store (SQLite and PostgreSQL, test/helpers/stores.ts) with a clock the
// test moves: retention purges what is old and keeps what is not; silence is measured from
// when the collector started.
import type { Store } from '../../collector/store/store.js';
import { createSweeper } from '../../collector/pipeline/sweeper.js';
import { createMetrics } from '../../collector/metrics.js';
import { createLogger } from '../../proto/support/logger.js';
import { fingerprint } from '../../proto/fingerprint.js';
import { testClock } from '../helpers/clock.js';
import { eventually } from '../helpers/https.js';
import type { IncomingResult } from '../../collector/pipeline/types.js';
import { createCommitStage } from '../../collector/pipeline/commit.js';
import { createPipeline } from '../../collector/pipeline/pipeline.js';
import type { Clock } from '../../collector/clock.js';
import { storeTest } from '../helpers/stores.js';

/** The pipeline the sweeper raises agent-stale and ends suppressions through, on the sweeper's clock. */
const pipelineOf = (store: Store, clock: Clock) => createPipeline({ store, metrics: createMetrics(), log: createLogger('test', 'silent'), now: () => clock.now() });

const DAY = 86400_000;
const T0 = Date.parse('2025-01-01T00:00:00Z');

const hello = (node: string) => ({
  node, agentVersion: 't', epoch: 'e1', os: '', kernel: '', arch: '', kubeletVersion: '', cpus: 1, memoryBytes: 0,
  uptimeSeconds: 0, certificates: [],
});

function res(checkId: string, subject: string, status: 'pass' | 'fail'): IncomingResult {
  return {
    checkId, cis: '', references: [], title: checkId, category: 'kubelet', subject, status, severity: 'high', scored: true, actual: '', expected: '',
    source: 'flag', sourceFile: '', reason: '', remediation: '', occurrences: 1,
  };
}

let seq = 0;
async function scan(store: Store, at: number, scope: string[], results: IncomingResult[]): Promise<void> {
  await createCommitStage(store, { maxOpenFindingsPerNode: 1000 }).scan({ node: 'node-a', epoch: 'e1', sequence: ++seq, scannedAt: at, benchmark: 'b', scope, results, trigger: 't' }, at);
}

storeTest('retention purges resolved findings, old history, old audit records and idempotency records by age, and nothing younger', async (t, backend) => {
  const store = await backend.open(t);
  const clock = testClock(T0);
  const metrics = createMetrics();
  const sweeper = createSweeper({
    intervalMs: 1000, staleAfterMs: 1000 * DAY,
    retention: { resolvedFindingsMs: 30 * DAY, historyMs: 90 * DAY, auditMs: 365 * DAY, receivedMs: 7 * DAY },
  }, { store, pipeline: pipelineOf(store, clock), metrics, log: createLogger('test', 'silent'), clock });
  await store.nodes.hello(hello('node-a'), T0);
  await scan(store, T0, ['c1', 'c2', 'c3'], [res('c1', 'x', 'fail'), res('c2', 'y', 'fail'), res('c3', 'z', 'fail')]);
  await scan(store, T0 + DAY, ['c1'], [res('c1', 'x', 'pass')]);
  await store.audit.record({ at: T0, actor: 'admin', role: 'admin', action: 'finding.suppress', target: '', detail: {}, status: 200, remote: '' });
  const x = fingerprint('node-a', 'c1', 'x');
  const y = fingerprint('node-a', 'c2', 'y');

  await clock.set(T0 + 30 * DAY);
  let out = await sweeper.sweep();
  t.deepEqual(out.purged, { resolvedFindings: 0, history: 0, audit: 0, received: 2 }, 'resolved 29 days ago: kept');
  t.is((await store.findings.get(x))?.state, 'resolved');

  await clock.set(T0 + 31 * DAY + 1);
  out = await sweeper.sweep();
  t.is(out.purged.resolvedFindings, 1);
  t.is(await store.findings.get(x), undefined, 'resolved more than 30 days ago: gone');
  t.is((await store.findings.get(y))?.state, 'open', 'open findings are never purged by age');

  await clock.set(T0 + 91 * DAY);
  out = await sweeper.sweep();
  t.is(out.purged.history, 2, "the open findings' old history entries");
  t.deepEqual((await store.findings.detail(y))?.history, []);
  t.is((await store.findings.get(y))?.count, 1, 'the finding keeps its counts');
  t.is(out.purged.audit, 0);

  await clock.set(T0 + 366 * DAY);
  t.is((await sweeper.sweep()).purged.audit, 1);
  t.deepEqual((await store.audit.list({}, 10, Number.MAX_SAFE_INTEGER)).items, []);
  // The purged finding's history went with it (nothing is left to purge at any age).
  t.is(await store.findings.purgeHistory(Number.MAX_SAFE_INTEGER), 0);
  t.is(metrics.get('nodeward_retention_purged_total', { what: 'resolvedFindings' }), 1);
});

storeTest('the newest finding is never purged, so a finding id (seq) is never reused under a paging cursor', async (t, backend) => {
  const store = await backend.open(t);
  await scan(store, T0, ['c1'], [res('c1', 'x', 'fail')]);
  await scan(store, T0 + 1, ['c1'], [res('c1', 'x', 'pass')]);
  t.is(await store.findings.purgeResolved(T0 + 100 * DAY), 0);
  await scan(store, T0 + 2, ['c2'], [res('c2', 'y', 'fail')]);
  t.is(await store.findings.purgeResolved(T0 + 100 * DAY), 1);
});

storeTest('retention set to 0 keeps everything', async (t, backend) => {
  const store = await backend.open(t);
  const clock = testClock(T0);
  const sweeper = createSweeper({ intervalMs: 1000, staleAfterMs: DAY, retention: { resolvedFindingsMs: 0, historyMs: 0, auditMs: 0, receivedMs: 0 } },
    { store, pipeline: pipelineOf(store, clock), metrics: createMetrics(), log: createLogger('test', 'silent'), clock });
  await scan(store, T0, ['c1', 'c2'], [res('c1', 'x', 'fail'), res('c2', 'y', 'fail')]);
  await scan(store, T0, ['c1'], [res('c1', 'x', 'pass')]);
  await clock.set(T0 + 10_000 * DAY);
  t.deepEqual((await sweeper.sweep()).purged, { resolvedFindings: 0, history: 0, audit: 0, received: 0 });
});

storeTest('silence is measured from when the sweeper started: a collector outage does not make every node stale', async (t, backend) => {
  const store = await backend.open(t);
  const staleAfterMs = 300_000;
  const clock = testClock(T0);
  const sweeper = createSweeper({ intervalMs: 3600_000, staleAfterMs, retention: { resolvedFindingsMs: 0, historyMs: 0, auditMs: 0, receivedMs: 0 } },
    { store, pipeline: pipelineOf(store, clock), metrics: createMetrics(), log: createLogger('test', 'silent'), clock });
  t.teardown(() => sweeper.stop());
  await store.nodes.hello(hello('node-a'), T0);
  await store.nodes.hello(hello('node-b'), T0);
  // The collector was down for a day, then starts.
  await clock.set(T0 + DAY);
  sweeper.start();
  t.deepEqual((await sweeper.sweep()).staleRaised, []);
  await store.nodes.touch('node-b', clock.now() + 60_000); // node-b's agent reconnects; node-a's does not
  await clock.advance(staleAfterMs + 1000);
  t.deepEqual((await sweeper.sweep()).staleRaised, ['node-a']);
  t.deepEqual((await sweeper.sweep()).staleRaised, [], 'raised once, not on every sweep');
  const f = await store.findings.get(fingerprint('node-a', 'agent-stale', 'node-a'));
  t.like(f, { state: 'open', category: 'agent', subject: 'node-a', checkId: 'agent-stale' });
  sweeper.stop();
  sweeper.stop();
  t.pass('stop is safe twice');
});

storeTest('a suppression ends at its expiry, not at the next tick: the sweeper wakes up for it (one made before start too, one moved later, one made after)', async (t, backend) => {
  const store = await backend.open(t);
  const clock = testClock(T0);
  const metrics = createMetrics();
  const pipeline = createPipeline({ store, metrics, log: createLogger('test', 'silent'), now: () => clock.now() });
  const sweeper = createSweeper({ intervalMs: 3600_000, staleAfterMs: DAY, retention: { resolvedFindingsMs: 0, historyMs: 0, auditMs: 0, receivedMs: 0 } },
    { store, pipeline, metrics, log: createLogger('test', 'silent'), clock });
  t.teardown(() => sweeper.stop());
  await scan(store, T0, ['c1', 'c2', 'c3'], [res('c1', 'x', 'fail'), res('c2', 'y', 'fail'), res('c3', 'z', 'fail')]);
  const [x, y, z] = [['c1', 'x'], ['c2', 'y'], ['c3', 'z']].map(([c, s]) => fingerprint('node-a', c!, s!));
  const state = async (id: string) => (await store.findings.get(id!))?.state;
  t.is(await pipeline.suppress(x!, { reason: 'before start', until: T0 + 10_000, by: 'admin' }), 'suppressed');
  sweeper.start();
  t.is(await pipeline.suppress(y!, { reason: 'soon', until: T0 + 5000, by: 'admin' }), 'suppressed');
  t.is(await pipeline.suppress(z!, { reason: 'soon', until: T0 + 5000, by: 'admin' }), 'suppressed');
  t.is(await pipeline.suppress(z!, { reason: 'later', until: T0 + 20_000, by: 'admin' }), 'updated');

  // A wake-up's work reaches a PostgreSQL store over the network, which takes longer than the
  // one turn of the event loop the test clock gives it. After each move, the clock standing
  // still, wait (in real time) until the suppressions ended so far are counted, the gauges
  // refreshed and the next wake-up set; a suppression left to the next tick never settles.
  const settled = (ended: number, suppressed: number, pending: number) => eventually(
    `${ended} suppressions ended, ${suppressed} left and ${pending} wake-ups set at +${clock.now() - T0} ms`,
    () => ((metrics.get('nodeward_suppressions_expired_total') ?? 0) === ended && (ended === 0 || metrics.get('nodeward_findings', { state: 'suppressed' }) === suppressed)
      && clock.pending() === pending ? true : undefined),
    10_000, 5,
  );
  await clock.set(T0 + 4999);
  await settled(0, 3, 2);
  t.deepEqual([await state(x!), await state(y!), await state(z!)], ['suppressed', 'suppressed', 'suppressed']);
  await clock.set(T0 + 5000);
  await settled(1, 2, 2);
  t.deepEqual([await state(x!), await state(y!), await state(z!)], ['suppressed', 'open', 'suppressed'], 'y at its expiry; z was moved later');
  await clock.set(T0 + 10_000);
  await settled(2, 1, 2);
  t.is(await state(x!), 'open', 'the one made before the sweeper started');
  await clock.set(T0 + 19_999);
  await settled(2, 1, 2);
  t.is(await state(z!), 'suppressed');
  await clock.set(T0 + 20_000);
  await settled(3, 0, 1);
  t.is(await state(z!), 'open');
  t.is(metrics.get('nodeward_suppressions_expired_total'), 3);
  t.is(metrics.get('nodeward_findings', { state: 'suppressed' }), 0, 'the gauges follow at once');
  t.is(clock.pending(), 1, 'only the hourly tick is left waiting');
});
