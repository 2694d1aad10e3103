// What a node's status says beyond its inventory (issue 17, "first run shows nothing"): where
// its host learning window stands (from the agent's BaselineReports, over the real wire), its
// latest results by status (all skipped: not a Kubernetes node), and whether it is a demo node.
import test from 'ava';
import * as grpc from '@grpc/grpc-js';
import { testClock } from '../helpers/clock.js';
import { api, connect, ok, proc, result, withCollector } from '../helpers/agent-session.js';

const HOUR = 3600_000;

test("a node's host learning window: learning until its end, locked by the window after it, by an operator when so reported; unknown until reported", async (t) => {
  const clock = testClock();
  await withCollector(async (tc) => {
    const a = await connect(tc, 'node-a', { hostBaselineKey: 'host/worker' });
    await a.batch([proc('/usr/bin/nc')]);
    t.is((await ok(tc, '/api/v1/nodes/node-a')).hostLearning, null, 'nothing reported yet');

    const until = clock.now() + 24 * HOUR;
    a.stream.send({
      baselineReport: {
        baselines: [
          { key: 'shop/Deployment/web/app', state: 'BASELINE_STATE_LEARNING', learnUntilMs: clock.now() + HOUR },
          { key: 'host/worker', state: 'BASELINE_STATE_LEARNING', learnUntilMs: until },
        ],
      },
    });
    // Messages on a stream are handled in order: once this batch is acked, the report is in.
    await a.batch([proc('/usr/bin/nc')]);
    const learning = { key: 'host/worker', state: 'learning', until: new Date(until).toISOString(), lockedBy: '' };
    t.like((await ok(tc, '/api/v1/nodes/node-a')).hostLearning, learning);
    t.like((await ok(tc, '/api/v1/nodes')).items.find((n: { name: string }) => n.name === 'node-a').hostLearning, learning, 'the list says the same');
    const b = await connect(tc, 'node-b', { hostBaselineKey: 'host/worker' });
    await b.batch([proc('/usr/bin/nc')]);
    t.is((await ok(tc, '/api/v1/nodes/node-b')).hostLearning, null, 'node-b reported no baseline (no process monitoring)');
    b.close();

    // The window ends: locked by it, even before the agent's next report arrives.
    await clock.advance(24 * HOUR);
    t.like((await ok(tc, '/api/v1/nodes/node-a')).hostLearning, { state: 'locked', until: new Date(until).toISOString(), lockedBy: 'window' });

    // An operator's lock (adopted by the agent) before the window's end.
    a.stream.send({ baselineReport: { baselines: [{ key: 'host/worker', state: 'BASELINE_STATE_LOCKED', learnUntilMs: clock.now() + HOUR, lockedBy: 'operator' }] } });
    // The central baseline locks with it, and every node of the role is told to adopt it.
    const [adopt] = await a.stream.receive(1);
    t.like(adopt?.baselineUpdate, { key: 'host/worker', action: 'ACTION_ADOPT' });
    await a.batch([proc('/usr/bin/nc')]);
    t.like((await ok(tc, '/api/v1/nodes/node-a')).hostLearning, { state: 'locked', lockedBy: 'operator' });

    // Another role's host baseline is not this node's.
    a.stream.send({ baselineReport: { baselines: [{ key: 'host/control-plane', state: 'BASELINE_STATE_LEARNING', learnUntilMs: clock.now() + HOUR }] } });
    await a.batch([proc('/usr/bin/nc')]);
    t.like((await ok(tc, '/api/v1/nodes/node-a')).hostLearning, { key: 'host/worker', lockedBy: 'operator' });

    // A locked_by the contract does not know refuses the report (counted), like any invalid field.
    a.stream.send({ baselineReport: { baselines: [{ key: 'host/worker', state: 'BASELINE_STATE_LOCKED', learnUntilMs: clock.now(), lockedBy: 'somebody' }] } });
    const [refusal] = await a.stream.receive(1);
    t.like(refusal?.ack, { sequence: 0, code: grpc.status.INVALID_ARGUMENT });
    t.regex(refusal?.ack?.message ?? '', /lockedBy "somebody" must be empty, window or operator/);
    t.is((await ok(tc, '/api/v1/nodes/node-a')).baselineReportsRefused, 1);
    a.close();

    // A new stream: what it reports replaces what the last one said.
    const again = await connect(tc, 'node-a', { hostBaselineKey: 'host/worker' });
    t.like((await again.stream.receive(1))[0]?.baselineUpdate, { key: 'host/worker', action: 'ACTION_ADOPT' }, 'the catch-up after its hello');
    await again.batch([proc('/usr/bin/nc')]);
    t.is((await ok(tc, '/api/v1/nodes/node-a')).hostLearning, null);
    again.close();

    const doc = JSON.stringify(await ok(tc, '/api/v1/openapi.json'));
    for (const field of ['hostLearning', 'lockedBy', 'reportedAt', 'demo', 'results']) t.true(doc.includes(`"${field}"`), field);
  }, { clock });
});

test("a node's latest results by status: all skipped says no check applied; a demo node is labelled as the collector is told", (t) => withCollector(async (tc) => {
  const now = Date.now();
  const a = await connect(tc, 'node-a');
  await a.scan(now, ['cis-4.2.1', 'cis-4.2.2', 'cis-4.2.6', 'cis-1.2.1'], [
    result('cis-4.2.1', '--anonymous-auth', 'fail', { severity: 'critical' }),
    result('cis-4.2.2', '--authorization-mode', 'pass'),
    result('cis-4.2.6', '--protect-kernel-defaults', 'warn'),
    result('cis-1.2.1', '--anonymous-auth', 'skip'),
  ]);
  const b = await connect(tc, 'node-b');
  // The agent's judgement of itself is not a node check: a machine with no kubelet still reads as all skipped.
  await b.scan(now, ['cis-4.2.1', 'cis-1.2.1', 'agent-exec-coverage'], [
    result('cis-4.2.1', '--anonymous-auth', 'skip'), result('cis-1.2.1', '--anonymous-auth', 'skip'), result('agent-exec-coverage', 'exec-source', 'pass'),
  ]);
  const byName = async (): Promise<Record<string, { results: unknown; demo: boolean }>> =>
    Object.fromEntries((await ok(tc, '/api/v1/nodes')).items.map((n: { name: string }) => [n.name, n]));
  const nodes = await byName();
  t.deepEqual(nodes['node-a']!.results, { pass: 1, fail: 1, warn: 1, skip: 1, error: 0 });
  t.deepEqual(nodes['node-b']!.results, { pass: 0, fail: 0, warn: 0, skip: 2, error: 0 });
  t.deepEqual((await ok(tc, '/api/v1/nodes/node-b')).results, { pass: 0, fail: 0, warn: 0, skip: 2, error: 0 }, 'the node itself says the same');
  t.deepEqual((await ok(tc, '/api/v1/nodes?sort=certExpiry')).items.map((n: { results: unknown }) => n.results),
    [nodes['node-a']!.results, nodes['node-b']!.results], 'and the other order');
  t.false(nodes['node-a']!.demo);
  t.false(nodes['node-b']!.demo);
  // A later scan replaces a result: the counts follow.
  await a.scan(now + 1000, ['cis-4.2.1'], [result('cis-4.2.1', '--anonymous-auth', 'pass')]);
  t.deepEqual((await ok(tc, '/api/v1/nodes/node-a')).results, { pass: 2, fail: 0, warn: 1, skip: 1, error: 0 });
  a.close();
  b.close();
  t.is((await api(tc, '/api/v1/nodes/node-c')).status, 404);
}));

test('nodes.demo labels those nodes demo in the list and the node', (t) => withCollector(async (tc) => {
  const a = await connect(tc, 'node-a');
  const b = await connect(tc, 'node-b');
  await a.batch([proc('/usr/bin/nc')]);
  await b.batch([proc('/usr/bin/nc')]);
  t.deepEqual((await ok(tc, '/api/v1/nodes')).items.map((n: { name: string; demo: boolean }) => [n.name, n.demo]), [['node-a', false], ['node-b', true]]);
  t.true((await ok(tc, '/api/v1/nodes/node-b')).demo);
  a.close();
  b.close();
}, { overrides: { nodes: { demo: ['node-b'] } } }));
