// Where the collector keeps each node's host learning window (collector/pipeline/host-learning.ts):
// bounded, the time given. Over the wire and in the API: test/collector/node-status.test.ts.
import test from 'ava';
import { createHostLearning } from '../../collector/pipeline/host-learning.js';
import { createMetrics } from '../../collector/metrics.js';

const NOW = Date.parse('2026-03-01T10:00:00.000Z');
const H = 3600_000;

test('host learning is held for a bounded number of nodes, the oldest report going first (counted)', (t) => {
  const metrics = createMetrics();
  const hl = createHostLearning({ metrics, maxNodes: 2 });
  const report = (node: string, until: number): void => hl.report(node, [{ key: 'shop/Deployment/web/app', state: 'learning', learnUntil: until }, { key: 'host/worker', state: 'learning', learnUntil: until }], NOW);
  report('a', NOW + H);
  report('b', NOW + H);
  report('a', NOW + 2 * H);
  report('c', NOW + H);
  t.is(hl.size(), 2);
  t.is(hl.get('b', NOW), null, 'b reported least recently: evicted');
  t.like(hl.get('a', NOW), { key: 'host/worker', state: 'learning', until: new Date(NOW + 2 * H).toISOString(), lockedBy: '' });
  t.is(metrics.get('nodeward_host_learning_evicted_total'), 1);
  // A report without a host baseline (only workloads) changes nothing.
  hl.report('c', [{ key: 'shop/Deployment/web/app', state: 'locked' }], NOW);
  t.like(hl.get('c', NOW), { state: 'learning' });
  t.like(hl.get('c', NOW + H), { state: 'locked', lockedBy: 'window' }, 'the window ended');
  hl.forget('c');
  t.is(hl.get('c', NOW), null);
});
