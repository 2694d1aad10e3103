// The agent's half of central baselines, without a collector: BaselineUpdate actions (the
// explicit unlock, ADOPT), the journal the reports follow and the reports' bounds, and a
// PodInventory applied to a real process monitor on a fixture node.
import test from 'ava';
import { changeFromWire, createBaselineSet, type BaselineJson } from '../../agent/baseline/baselines.js';
import { buildReports, REPORT_LIMITS } from '../../agent/report/baseline-report.js';
import { createPodInventory } from '../../agent/processes/pod-inventory.js';
import { createProcessMonitor } from '../../agent/processes/monitor.js';
import { createLogger } from '../../proto/support/logger.js';
import { monitorConfig, scenario, spooledFindings, tempDir, testSpool } from './helpers.js';

const KEY = 'shop/Deployment/web/nginx';
const HOUR = 3600_000;
const limits = { learnMs: HOUR, hostLearnMs: 24 * HOUR, maxKeys: 100, maxItemsPerKey: 100 };
const plain = (exe: string) => ({ exe, startup: false, probe: false });

test('BaselineUpdate actions: ADOPT joins the central items and locks, UNLOCK learns again, ALLOW and REMOVE; the older form still works', (t) => {
  const set = createBaselineSet(limits);
  set.observe(KEY, plain('/usr/sbin/nginx'), 0);
  set.observe(KEY, plain('/bin/sh'), 0);
  const adopt = set.apply(changeFromWire({
    version: 4, key: KEY, action: 'ACTION_ADOPT', operatorLocked: false, removed: ['/bin/sh'],
    items: [{ path: '/usr/sbin/nginx', source: 'ITEM_SOURCE_LEARNED', firstSeenMs: 1 }, { path: '/usr/bin/curl', source: 'ITEM_SOURCE_STARTUP', firstSeenMs: 2 }],
  }), 10);
  t.deepEqual(adopt, { applied: true, allowed: ['/usr/bin/curl'] });
  const b = set.get(KEY)!;
  t.like(b, { lockedAtMs: 10, lockedBy: 'window', version: 4 });
  t.deepEqual([...b.items].map(([p, i]) => [p, i.source]).sort(), [['/usr/bin/curl', 'startup'], ['/usr/sbin/nginx', 'learned']]);
  t.true(b.removed.has('/bin/sh'), 'the central removals come along');
  t.is(set.observe(KEY, plain('/bin/sh'), 11), 'unexpected');
  t.is(set.observe(KEY, { exe: '/bin/ls', startup: true, probe: false }, 11), 'startup', 'adopted after a window lock: startup still allowed');

  t.false(set.apply(changeFromWire({ version: 4, key: KEY, action: 'ACTION_UNLOCK' }), 12).applied, 'an old version is ignored');
  t.true(set.apply(changeFromWire({ version: 5, key: KEY, action: 'ACTION_UNLOCK' }), 12).applied);
  t.like(set.get(KEY)!, { lockedAtMs: null, lockedBy: null, learnUntilMs: 12 + HOUR });
  t.is(set.observe(KEY, plain('/usr/bin/wget'), 13), 'learned');
  t.is(set.observe(KEY, plain('/bin/sh'), 13), 'graveyard');

  set.apply(changeFromWire({ version: 6, key: KEY, action: 'ACTION_ALLOW', allowed: ['/bin/sh'] }), 14);
  t.is(set.get(KEY)!.items.get('/bin/sh')?.source, 'operator');
  set.apply(changeFromWire({ version: 7, key: KEY, action: 'ACTION_REMOVE', removed: ['/usr/bin/wget'] }), 15);
  t.false(set.get(KEY)!.items.has('/usr/bin/wget'));
  t.is(set.get(KEY)!.lockedAtMs, null, 'allow and remove leave the lock state alone');
  set.apply(changeFromWire({ version: 8, key: KEY, action: 'ACTION_ADOPT', operatorLocked: true, items: [] }), 16);
  t.like(set.get(KEY)!, { lockedBy: 'operator', lockedAtMs: 16 });
  t.is(set.observe(KEY, { exe: '/bin/ps', startup: true, probe: false }, 17), 'startup');
  t.false(set.get(KEY)!.items.has('/bin/ps'), 'under an operator lock a startup process is allowed, not learned');
  t.deepEqual(changeFromWire({ version: 9, key: KEY, allowed: ['/x'], removed: ['/y'], locked: true }), { version: 9, key: KEY, allowed: ['/x'], removed: ['/y'], lock: 'lock' });
  t.is(set.version, 8);
});

test("the journal the reports follow: every change to a baseline, and only those, moves the revision", (t) => {
  const set = createBaselineSet(limits);
  t.is(set.revision, 0);
  set.observe(KEY, plain('/a'), 0);
  const r1 = set.revision;
  t.true(r1 > 0);
  set.observe('host/worker', plain('/sbin/init'), 0);
  t.deepEqual(set.changedSince(r1).sort(), ['host/worker']);
  const r2 = set.revision;
  set.observe(KEY, plain('/a'), 10 * 60_000 + 1);
  t.is(set.revision, r2, 'a known executable (lastSeen only) is not a change');
  set.tick(HOUR + 1);
  t.deepEqual(set.changedSince(r2), [KEY], 'a lock at the end of the window is');
  set.apply({ version: 1, key: 'ns/Pod/p/c', allowed: ['/x'], removed: [], lock: 'keep' }, HOUR + 2);
  t.deepEqual(set.changedSince(r2).sort(), ['ns/Pod/p/c', KEY]);
});

function baseline(key: string, paths: string[], over: Partial<BaselineJson> = {}): BaselineJson {
  return {
    key, createdAtMs: 0, learnUntilMs: 1000, lockedAtMs: null, lockedBy: null, version: 0, lastSeenMs: 0,
    items: Object.fromEntries(paths.map((p) => [p, { addedAtMs: 5, source: 'learned' as const }])), removed: {}, ...over,
  };
}

test('reports keep to the bounds of the contract: split by baselines and items, cut and counted beyond a baseline\'s share', (t) => {
  const many = Array.from({ length: 70 }, (_, i) => baseline(`ns/Deployment/w${i}/c`, ['/bin/sh']));
  const split = buildReports(many, 3, 500);
  t.deepEqual(split.reports.map((r) => r.baselines?.length), [64, 6]);
  t.is(split.dropped, 0);
  t.like(split.reports[0]!.baselines![0], { key: 'ns/Deployment/w0/c', state: 'BASELINE_STATE_LEARNING', lockedBy: '' });
  t.is(split.reports[0]!.baselineVersion, 3);

  const big = baseline(KEY, Array.from({ length: REPORT_LIMITS.itemsPerBaseline + 10 }, (_, i) => `/bin/x${String(i).padStart(5, '0')}`));
  const odd = baseline('host/worker', ['/usr/bin/ok', 'relative', `/${'y'.repeat(2000)}`], { lockedAtMs: 10, lockedBy: 'operator', removed: { '/bin/gone': 7 } });
  const cut = buildReports([big, odd], 0, 500);
  t.is(cut.dropped, 12);
  const [wBig, wOdd] = cut.reports.flatMap((r) => r.baselines ?? []);
  t.is(wBig!.items!.length, REPORT_LIMITS.itemsPerBaseline);
  t.like(wOdd, { key: 'host/worker', state: 'BASELINE_STATE_LOCKED', lockedBy: 'operator', removed: ['/bin/gone'] });
  t.deepEqual(wOdd!.items, [{ path: '/usr/bin/ok', source: 'ITEM_SOURCE_LEARNED', firstSeenMs: 5, anyContent: false, inlineCode: false, digests: [] }]);
  t.is(buildReports([baseline(KEY, ['/a'])], 0, 1000).reports[0]!.baselines![0]!.state, 'BASELINE_STATE_LOCKED', 'a window that has ended is locked');
  const chars = buildReports(Array.from({ length: 3 }, (_, i) => baseline(`ns/Deployment/w${i}/c`, Array.from({ length: 500 }, (_, j) => `/${String(j).padStart(4, '0')}${'p'.repeat(995)}`))), 0, 0);
  t.deepEqual(chars.reports.map((r) => r.baselines?.length), [2, 1], 'about 1 MiB of paths per report');
});

test('a PodInventory on a fixture node: real owners key the baselines, exec probes are allowed, and pods that go are forgotten', async (t) => {
  const dir = await tempDir('pod-inventory');
  t.teardown(dir.cleanup);
  const { procRoot, hostRoot } = scenario('containerd-systemd-v2');
  const spool = testSpool(dir.path);
  const m = createProcessMonitor(monitorConfig({ procRoot, hostRoot, stateDir: dir.path }), { log: createLogger('test', 'silent'), spool, notify: () => undefined });
  t.teardown(async () => {
    await m.stop();
    spool.close();
  });
  const STOREFRONT = 'shop/Deployment/storefront/nginx';
  // The operator locked the real workload's baseline: anything not startup or probe is unexpected.
  t.true(m.applyBaselineChange({ version: 1, key: STOREFRONT, allowed: [], removed: [], lock: 'lock' }));
  const pods = createPodInventory(m);
  const r = pods.apply({
    pods: [
      {
        namespace: 'shop', name: 'web-7d4b9c8f6d-x2kzq', uid: 'u1', ownerKind: 'Deployment', ownerName: 'storefront',
        containers: [{ name: 'nginx', execProbes: [{ command: ['sh', '-c', 'curl http://10.0.0.1 --password=pw'] }] }],
      },
      { namespace: 'Bad Namespace', name: 'x', uid: 'u2', ownerKind: 'Pod', ownerName: 'x', containers: [{ name: 'c', execProbes: [] }] },
    ],
  });
  t.deepEqual(r, { pods: 1, probeKeys: 1, skipped: 1 });
  await m.start();
  m.flush();
  const subjects = spooledFindings(spool).map((f) => f.finding.subject ?? '');
  t.false(subjects.some((s) => s.startsWith('shop/Deployment/web/')), 'the pod-name guess is not used');
  t.false(subjects.some((s) => s.startsWith(STOREFRONT)), 'the probe and the process it started are allowed');
  t.like(m.stats().verdicts, { probe: 2 });
  t.deepEqual(m.snapshot().baselines.find((b) => b.key === STOREFRONT)!.items, {}, 'startup under an operator lock is not learned; probes never are');
  t.deepEqual(m.probeKeys(), [STOREFRONT]);
  t.is(m.stats().attribution.owners, 1);

  t.deepEqual(pods.apply({ pods: [] }), { pods: 0, probeKeys: 0, skipped: 0 });
  t.deepEqual(m.probeKeys(), []);
  t.is(m.stats().attribution.owners, 0);
});
