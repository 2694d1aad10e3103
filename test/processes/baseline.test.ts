// Baselines: learning, locking, startup, probes, the graveyard, the collector's updates,
// bounds, and the file that keeps them across restarts.
import test from 'ava';
import { readFile, writeFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { changeFromWire, createBaselineSet, decide, migrateLegacyHost, type Baseline, type BaselineSetJson } from '../../agent/baseline/baselines.js';
import { hostKeyOf, isHostKey, isValidKey, LEGACY_HOST_KEY, parseWorkloadKey, receivesBaseline, workloadKey } from '../../agent/baseline/key.js';
import { isControlPlaneExecutable } from '../../agent/processes/host-role.js';
import { matchesProbe } from '../../agent/baseline/probes.js';
import { loadBaselineFile, saveBaselineFile } from '../../agent/baseline/store.js';
import { workloadFromPodName } from '../../agent/baseline/workload.js';
import { tempDir } from './helpers.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const limits = { learnMs: HOUR, hostLearnMs: 24 * HOUR, maxKeys: 100, maxItemsPerKey: 100 };
const KEY = 'shop/Deployment/web/nginx';
const HOST_KEY = hostKeyOf('worker');
const CP_KEY = hostKeyOf('control-plane');
const plain = (exe: string) => ({ exe, startup: false, probe: false });

test('pod names give the workload: Deployment, CronJob, StatefulSet, DaemonSet, else the Pod', (t) => {
  t.deepEqual(workloadFromPodName('web-7d4b9c8f6d-x2kzq'), { kind: 'Deployment', name: 'web' });
  t.deepEqual(workloadFromPodName('payments-api-5b8f7c9d4-lq2zr'), { kind: 'Deployment', name: 'payments-api' });
  t.deepEqual(workloadFromPodName('backup-28934520-q8d7c'), { kind: 'CronJob', name: 'backup' });
  t.deepEqual(workloadFromPodName('db-0'), { kind: 'StatefulSet', name: 'db' });
  t.deepEqual(workloadFromPodName('kafka-broker-12'), { kind: 'StatefulSet', name: 'kafka-broker' });
  t.deepEqual(workloadFromPodName('fluent-bit-7xk2p'), { kind: 'DaemonSet', name: 'fluent-bit' });
  t.deepEqual(workloadFromPodName('kube-apiserver-node1'), { kind: 'Pod', name: 'kube-apiserver-node1' });
  // "cache" has vowels: not a generated suffix.
  t.deepEqual(workloadFromPodName('redis-cache'), { kind: 'Pod', name: 'redis-cache' });
  t.deepEqual(workloadFromPodName('standalone'), { kind: 'Pod', name: 'standalone' });
});

test('keys: format, parse, validate', (t) => {
  const k = workloadKey({ namespace: 'shop', workload: { kind: 'Deployment', name: 'web' }, container: 'nginx' });
  t.is(k, KEY);
  t.deepEqual(parseWorkloadKey(k), { namespace: 'shop', workload: { kind: 'Deployment', name: 'web' }, container: 'nginx' });
  t.is(parseWorkloadKey(HOST_KEY), null);
  t.true(isValidKey(k));
  t.true(isValidKey(`container:${'a'.repeat(64)}`));
  t.false(isValidKey('shop/Deployment/web'));
  t.false(isValidKey('shop//web/nginx'));
  t.false(isValidKey('container:xyz'));
});

test('host keys: one per node role, two parts, apart from every workload and container key; the legacy `host` still parses', (t) => {
  t.is(HOST_KEY, 'host/worker');
  t.is(CP_KEY, 'host/control-plane');
  for (const k of [HOST_KEY, CP_KEY, LEGACY_HOST_KEY]) {
    t.true(isValidKey(k), k);
    t.true(isHostKey(k), `${k} learns for the host window`);
    t.is(parseWorkloadKey(k), null, `${k} is no workload key`);
  }
  // A namespace may be called `host`: its workload keys have four parts and are not host keys.
  const inHostNs = workloadKey({ namespace: 'host', workload: { kind: 'Deployment', name: 'worker' }, container: 'c' });
  t.true(isValidKey(inHostNs));
  t.false(isHostKey(inHostNs));
  t.false(isHostKey('shop/Deployment/web/nginx'));
  t.false(isHostKey(`container:${'a'.repeat(64)}`));
  // Strict: no other role, no case or spacing variants, no extra parts.
  for (const bad of ['host/master', 'host/Worker', 'host/', 'host/worker/', 'host/worker/x', ' host/worker', 'hosts', 'host:worker']) {
    t.false(isValidKey(bad), bad);
    t.false(isHostKey(bad), bad);
  }
  // Which host baselines an agent is sent: its own, and every non-host key.
  t.true(receivesBaseline(HOST_KEY, HOST_KEY));
  t.false(receivesBaseline(HOST_KEY, CP_KEY));
  t.false(receivesBaseline(HOST_KEY, LEGACY_HOST_KEY));
  t.false(receivesBaseline(CP_KEY, HOST_KEY));
  t.true(receivesBaseline(LEGACY_HOST_KEY, LEGACY_HOST_KEY), 'an older agent keeps its cluster-wide host baseline');
  t.false(receivesBaseline(LEGACY_HOST_KEY, CP_KEY));
  t.true(receivesBaseline(HOST_KEY, KEY));
  t.true(receivesBaseline('', KEY), 'before the role is known, workload baselines still apply');
  t.false(receivesBaseline('', HOST_KEY));
});

test('exec probes match as the kubelet runs them; extra or different words do not', (t) => {
  t.true(matchesProbe(['cat', '/tmp/healthy'], '/bin/cat', ['cat', '/tmp/healthy']));
  t.true(matchesProbe(['/bin/cat', '/tmp/healthy'], '/bin/cat', ['cat', '/tmp/healthy']));
  t.true(matchesProbe(['/usr/local/bin/check', '--ready'], '/usr/local/bin/check', ['/usr/local/bin/check', '--ready']));
  t.false(matchesProbe(['cat', '/etc/shadow'], '/bin/cat', ['cat', '/tmp/healthy']));
  t.false(matchesProbe(['cat', '/tmp/healthy', '/etc/shadow'], '/bin/cat', ['cat', '/tmp/healthy']));
  t.false(matchesProbe(['/tmp/check', '--ready'], '/tmp/check', ['/usr/local/bin/check', '--ready']));
  t.false(matchesProbe([], '/bin/cat', ['cat']));
});

test('learning: every executable is learned, then the window ends and the baseline locks', (t) => {
  const set = createBaselineSet(limits);
  const t0 = 1_000_000;
  t.is(set.observe(KEY, plain('/usr/sbin/nginx'), t0), 'learned');
  t.is(set.observe(KEY, plain('/usr/sbin/nginx'), t0 + MIN), 'known');
  t.is(set.observe(KEY, plain('/bin/sh'), t0 + HOUR - 1), 'learned');
  t.is(set.observe(KEY, plain('/usr/bin/curl'), t0 + HOUR), 'unexpected');
  t.is(set.observe(KEY, plain('/bin/sh'), t0 + HOUR + 1), 'known');
  const b = set.get(KEY)!;
  t.like(b, { createdAtMs: t0, learnUntilMs: t0 + HOUR, lockedAtMs: t0 + HOUR, lockedBy: 'window' });
  // Which items were learned when.
  t.deepEqual(Object.fromEntries(b.items), {
    '/usr/sbin/nginx': { addedAtMs: t0, source: 'learned' }, '/bin/sh': { addedAtMs: t0 + HOUR - 1, source: 'learned' },
  });
});

test('host learns longer, under either role; tick() records when windows ended', (t) => {
  const set = createBaselineSet(limits);
  set.observe(HOST_KEY, plain('/usr/sbin/cron'), 0);
  set.observe(CP_KEY, plain('/usr/sbin/cron'), 0);
  set.observe(KEY, plain('/usr/sbin/nginx'), 0);
  t.deepEqual(set.tick(2 * HOUR), [KEY]);
  t.is(set.observe(HOST_KEY, plain('/usr/bin/logrotate'), 23 * HOUR), 'learned');
  t.deepEqual(set.tick(24 * HOUR).sort(), [CP_KEY, HOST_KEY]);
  t.is(set.observe(HOST_KEY, plain('/usr/bin/nc'), 25 * HOUR), 'unexpected');
});

test('a window that an exec ends (before any tick) is still reported by the next tick, once', (t) => {
  const set = createBaselineSet(limits);
  set.observe(KEY, plain('/usr/sbin/nginx'), 0);
  // Busy node: an exec arrives after the window ended and before the periodic tick.
  t.is(set.observe(KEY, plain('/usr/bin/curl'), HOUR + 1), 'unexpected');
  t.like(set.get(KEY), { lockedAtMs: HOUR, lockedBy: 'window' });
  t.deepEqual(set.tick(HOUR + 2), [KEY], 'the lock is reported (the agent logs it)');
  t.deepEqual(set.tick(HOUR + 3), [], 'and only once');
});

test('after lock: startup processes are allowed (and learned under a window lock), probes are allowed without learning', (t) => {
  const set = createBaselineSet(limits);
  set.observe(KEY, plain('/usr/sbin/nginx'), 0);
  t.is(set.observe(KEY, { exe: '/docker-entrypoint.d/20-envsubst.sh', startup: true, probe: false }, 2 * HOUR), 'startup');
  t.is(set.get(KEY)!.items.get('/docker-entrypoint.d/20-envsubst.sh')?.source, 'startup');
  t.is(set.observe(KEY, { exe: '/bin/cat', startup: false, probe: true }, 2 * HOUR), 'probe');
  t.false(set.get(KEY)!.items.has('/bin/cat'));
  t.is(set.observe(KEY, plain('/bin/cat'), 2 * HOUR), 'unexpected');
});

test('an operator lock is a promise: startup processes are allowed but not learned', (t) => {
  const set = createBaselineSet(limits);
  set.observe(KEY, plain('/usr/sbin/nginx'), 0);
  t.true(set.apply({ version: 1, key: KEY, allowed: [], removed: [], lock: 'lock' }, MIN).applied);
  t.like(set.get(KEY)!, { lockedAtMs: MIN, lockedBy: 'operator' });
  t.is(set.observe(KEY, { exe: '/bin/sh', startup: true, probe: false }, 2 * MIN), 'startup');
  t.false(set.get(KEY)!.items.has('/bin/sh'));
  t.is(set.observe(KEY, plain('/bin/sh'), 3 * MIN), 'unexpected');
});

test('the graveyard: removed entries are never learned again, not even as startup; only an allow brings them back', (t) => {
  const set = createBaselineSet(limits);
  set.observe(KEY, plain('/usr/sbin/nginx'), 0);
  set.observe(KEY, plain('/usr/bin/wget'), 1);
  set.apply({ version: 1, key: KEY, allowed: [], removed: ['/usr/bin/wget'], lock: 'keep' }, 2);
  t.false(set.get(KEY)!.items.has('/usr/bin/wget'));
  t.is(set.observe(KEY, plain('/usr/bin/wget'), 3), 'graveyard', 'still learning, but not re-learned');
  t.false(set.get(KEY)!.items.has('/usr/bin/wget'));
  t.is(set.observe(KEY, { exe: '/usr/bin/wget', startup: true, probe: false }, 2 * HOUR), 'unexpected');
  const r = set.apply({ version: 2, key: KEY, allowed: ['/usr/bin/wget'], removed: [], lock: 'keep' }, 2 * HOUR);
  t.deepEqual(r.allowed, ['/usr/bin/wget']);
  t.is(set.observe(KEY, plain('/usr/bin/wget'), 2 * HOUR + 1), 'known');
  t.is(set.get(KEY)!.items.get('/usr/bin/wget')?.source, 'operator');
});

test('collector updates: versions are monotonic per key, unlock restarts learning, unknown keys are adopted', (t) => {
  const set = createBaselineSet(limits);
  set.observe(KEY, plain('/usr/sbin/nginx'), 0);
  t.true(set.apply({ version: 5, key: KEY, allowed: ['/bin/true'], removed: [], lock: 'lock' }, 10).applied);
  t.false(set.apply({ version: 5, key: KEY, allowed: ['/bin/false'], removed: [], lock: 'lock' }, 11).applied);
  t.false(set.apply({ version: 4, key: KEY, allowed: ['/bin/false'], removed: [], lock: 'lock' }, 11).applied);
  t.false(set.get(KEY)!.items.has('/bin/false'));
  t.is(set.version, 5);
  // Unlock: learning again for a fresh window.
  set.apply({ version: 6, key: KEY, allowed: [], removed: [], lock: 'unlock' }, 3 * HOUR);
  t.like(set.get(KEY)!, { lockedAtMs: null, lockedBy: null, learnUntilMs: 4 * HOUR });
  t.is(set.observe(KEY, plain('/bin/sh'), 3 * HOUR + 1), 'learned');
  // A new node adopts a locked baseline instead of learning.
  const other = 'shop/Deployment/api/app';
  set.apply({ version: 7, key: other, allowed: ['/app/server'], removed: [], lock: 'lock' }, 100);
  t.is(set.observe(other, plain('/app/server'), 101), 'known');
  t.is(set.observe(other, plain('/bin/sh'), 102), 'unexpected');
  t.is(set.version, 7);
});

test("the wire's locked=false never unlocks: an allow must not reopen learning", (t) => {
  t.deepEqual(changeFromWire({ version: 3, key: KEY, allowed: ['/bin/true'], removed: [], locked: false }), {
    version: 3, key: KEY, allowed: ['/bin/true'], removed: [], lock: 'keep',
  });
  t.is(changeFromWire({ key: KEY, locked: true }).lock, 'lock');
  const set = createBaselineSet(limits);
  set.observe(KEY, plain('/usr/sbin/nginx'), 0);
  set.apply(changeFromWire({ version: 1, key: KEY, locked: true }), 1);
  set.apply(changeFromWire({ version: 2, key: KEY, allowed: ['/bin/true'], locked: false }), 2);
  t.like(set.get(KEY)!, { lockedAtMs: 1, lockedBy: 'operator' });
  t.is(set.observe(KEY, plain('/bin/sh'), 3), 'unexpected');
});

test('bounds: items beyond the cap are not learned (counted); the least recently seen key is evicted (counted)', (t) => {
  const set = createBaselineSet({ ...limits, maxKeys: 3, maxItemsPerKey: 2 });
  set.observe(KEY, plain('/a'), 0);
  set.observe(KEY, plain('/b'), 0);
  t.is(set.observe(KEY, plain('/c'), 0), 'overflow');
  t.is(set.counters.overflow, 1);
  set.observe(HOST_KEY, plain('/sbin/init'), 1);
  set.observe('ns/Deployment/b/c', plain('/x'), 2);
  set.observe('ns/Deployment/d/e', plain('/y'), 3);
  t.is(set.size, 3);
  t.is(set.counters.evictedKeys, 1);
  t.deepEqual(set.keys(), [HOST_KEY, 'ns/Deployment/b/c', 'ns/Deployment/d/e']);
});

test('bounds: items in all baselines together are capped too (the file stays small)', (t) => {
  const set = createBaselineSet({ ...limits, maxTotalItems: 3 });
  set.observe(KEY, plain('/a'), 0);
  set.observe(KEY, plain('/b'), 0);
  set.observe(HOST_KEY, plain('/c'), 0);
  t.is(set.observe(HOST_KEY, plain('/d'), 0), 'overflow');
  t.is(set.observe(KEY, plain('/a'), 0), 'known');
  set.apply({ version: 0, key: KEY, allowed: [], removed: ['/a'], lock: 'keep' }, 1);
  t.is(set.items, 2);
  t.is(set.observe(HOST_KEY, plain('/d'), 2), 'learned', 'room again after a removal');
  t.is(set.counters.overflow, 1);
});

test('decide is pure: the same baseline and observation give the same answer, nothing changes', (t) => {
  const b: Baseline = {
    key: KEY, createdAtMs: 0, learnUntilMs: HOUR, lockedAtMs: null, lockedBy: null, version: 0, lastSeenMs: 0,
    items: new Map([['/usr/sbin/nginx', { addedAtMs: 0, source: 'learned' as const }]]), removed: new Map(),
  };
  const before = JSON.stringify([...b.items]);
  t.deepEqual(decide(b, plain('/bin/sh'), 10, 100), { verdict: 'learned', learnAs: 'learned' });
  t.deepEqual(decide(b, plain('/bin/sh'), 2 * HOUR, 100), { verdict: 'unexpected' });
  t.deepEqual(decide(b, { exe: '/bin/sh', startup: true, probe: false }, 2 * HOUR, 100), { verdict: 'startup', learnAs: 'startup' });
  t.is(JSON.stringify([...b.items]), before);
});

test('the file: saved atomically, loaded intact, probes kept; a corrupt file is set aside, not fatal', async (t) => {
  const dir = await tempDir('baseline-store');
  t.teardown(dir.cleanup);
  const file = join(dir.path, 'baselines.json');
  t.deepEqual(await loadBaselineFile(file), { state: 'absent' });
  const set = createBaselineSet(limits);
  set.observe(KEY, plain('/usr/sbin/nginx'), 0);
  set.apply({ version: 3, key: KEY, allowed: ['/bin/true'], removed: ['/usr/bin/wget'], lock: 'lock' }, 5);
  set.setProbes(KEY, [['cat', '/tmp/healthy']]);
  await saveBaselineFile(file, set.snapshot());
  t.deepEqual((await readdir(dir.path)).sort(), ['baselines.json'], 'no temporary file left behind');
  const loaded = await loadBaselineFile(file);
  if (loaded.state !== 'loaded') return t.fail(loaded.state);
  const again = createBaselineSet(limits, loaded.data);
  t.deepEqual(again.snapshot(), set.snapshot());
  t.is(again.version, 3);
  t.deepEqual(again.probes(KEY), [['cat', '/tmp/healthy']]);
  t.is(again.observe(KEY, plain('/usr/bin/wget'), 10), 'unexpected');

  await writeFile(file, '{"format": 1, "version": 1, "baselines": [{"key": 7}]}');
  const bad = await loadBaselineFile(file, () => 42);
  t.is(bad.state, 'corrupt');
  t.deepEqual((await readdir(dir.path)).sort(), ['baselines.json.corrupt-42']);
  t.regex(await readFile(join(dir.path, 'baselines.json.corrupt-42'), 'utf8'), /"key": 7/);
});

test('a state file from before node roles: the legacy host baseline moves to the role key once, state and graveyard kept; a worker leaves control-plane binaries behind', (t) => {
  const legacy = {
    key: LEGACY_HOST_KEY, createdAtMs: 10, learnUntilMs: 20, lockedAtMs: 20, lockedBy: 'window' as const, version: 41, lastSeenMs: 30,
    items: {
      '/usr/lib/systemd/systemd': { addedAtMs: 11, source: 'learned' as const },
      '/usr/local/bin/etcd': { addedAtMs: 12, source: 'learned' as const },
      '/usr/local/bin/kube-apiserver': { addedAtMs: 12, source: 'learned' as const },
      '/usr/bin/kube-proxy': { addedAtMs: 13, source: 'learned' as const },
      '/opt/tool': { addedAtMs: 14, source: 'operator' as const },
    },
    removed: { '/usr/bin/nc': 15 },
  };
  const web = { ...legacy, key: KEY, version: 41, items: { '/usr/sbin/nginx': { addedAtMs: 1, source: 'learned' as const } }, removed: {} };
  const file: BaselineSetJson = { format: 1, version: 41, baselines: [legacy, web], probes: {} };
  const worker = (exe: string) => !isControlPlaneExecutable(exe);

  const w = migrateLegacyHost(file, HOST_KEY, worker);
  t.deepEqual(w.data.baselines.map((b) => b.key), [HOST_KEY, KEY]);
  const moved = w.data.baselines[0]!;
  t.like(moved, { createdAtMs: 10, learnUntilMs: 20, lockedAtMs: 20, lockedBy: 'window', lastSeenMs: 30, removed: { '/usr/bin/nc': 15 } });
  t.is(moved.version, 0, "the collector's versions of the new key are its own: the node is sent the central baseline again");
  t.deepEqual(Object.keys(moved.items).sort(), ['/opt/tool', '/usr/bin/kube-proxy', '/usr/lib/systemd/systemd']);
  t.deepEqual(moved.items['/opt/tool'], legacy.items['/opt/tool'], 'items keep their source and time');
  t.deepEqual(w.left, ['/usr/local/bin/etcd', '/usr/local/bin/kube-apiserver']);
  t.is(w.moved, 3);
  t.deepEqual(w.data.baselines[1], web, 'other baselines are untouched');
  t.is(w.data.version, 41);

  // Once: the migrated file has nothing left to move.
  const again = migrateLegacyHost(w.data, HOST_KEY, worker);
  t.is(again.data, w.data);
  t.is(again.moved, 0);

  // Loaded, it is the host baseline of this node, still locked; the removed stays removed.
  const set = createBaselineSet(limits, w.data);
  t.is(set.observe(HOST_KEY, plain('/usr/lib/systemd/systemd'), 40), 'known');
  t.is(set.observe(HOST_KEY, plain('/usr/local/bin/etcd'), 40), 'unexpected', 'a worker does not allow etcd on the host');
  t.is(set.observe(HOST_KEY, plain('/usr/bin/nc'), 40), 'unexpected');
  t.is(set.get(LEGACY_HOST_KEY), undefined);

  // A control-plane node keeps everything.
  const cp = migrateLegacyHost(file, CP_KEY, () => true);
  t.deepEqual(Object.keys(cp.data.baselines.find((b) => b.key === CP_KEY)!.items).length, 5);
  t.deepEqual(cp.left, []);

  // Already a baseline under the role key: the legacy items and removals join it, its state stays.
  const current = { ...legacy, key: HOST_KEY, version: 50, lockedAtMs: null, lockedBy: null, learnUntilMs: 99, removed: { '/opt/tool': 16 }, items: { '/usr/sbin/cron': { addedAtMs: 17, source: 'learned' as const } } };
  const merged = migrateLegacyHost({ ...file, baselines: [legacy, current] }, HOST_KEY, worker);
  t.deepEqual(merged.data.baselines.map((b) => b.key), [HOST_KEY]);
  t.like(merged.data.baselines[0]!, { version: 50, lockedAtMs: null, learnUntilMs: 99 });
  t.deepEqual(Object.keys(merged.data.baselines[0]!.items).sort(), ['/usr/bin/kube-proxy', '/usr/lib/systemd/systemd', '/usr/sbin/cron'],
    'what this node removed under the new key is not brought back');
  t.deepEqual(merged.data.baselines[0]!.removed, { '/usr/bin/nc': 15, '/opt/tool': 16 });
  t.is(merged.moved, 2);
});

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const C = 'c'.repeat(64);
const ran = (exe: string, sha256: string, image = '') => ({ exe, startup: false, probe: false, content: { sha256, image } });

test('contents: learned with the path; once locked a new content is modified, except the first of an item from before contents and the first of a new image', (t) => {
  const set = createBaselineSet(limits);
  t.is(set.observe(KEY, ran('/bin/app', A, 'shop/app:1'), 0), 'learned');
  t.is(set.observe(KEY, ran('/bin/app', B, 'shop/app:1'), 10), 'learned', 'another content while learning is learned');
  t.deepEqual(set.get(KEY)!.items.get('/bin/app')!.digests!.map((d) => [d.sha256, d.source, d.image]), [[A, 'learned', 'shop/app:1'], [B, 'learned', 'shop/app:1']]);
  const locked = 2 * HOUR;
  t.is(set.observe(KEY, ran('/bin/app', A, 'shop/app:1'), locked), 'known');
  t.is(set.observe(KEY, ran('/bin/app', C, 'shop/app:1'), locked), 'modified', 'the same image, content nobody vouches for');
  t.is(set.observe(KEY, ran('/bin/app', C, 'shop/app:2'), locked), 'image', 'a new image version learns its own');
  t.is(set.observe(KEY, ran('/bin/app', C, 'shop/app:2'), locked), 'known');
  t.is(set.observe(KEY, ran('/bin/app', A, 'shop/app:3'), locked), 'known', 'a content held under another image is known');
  t.is(set.observe(KEY, { exe: '/bin/app', startup: false, probe: false, content: { error: 'gone' } }, locked), 'unverified');
  t.is(set.observe(KEY, { exe: '/bin/app', startup: false, probe: true, content: { sha256: 'd'.repeat(64), image: 'shop/app:1' } }, locked), 'probe', 'a probe runs what it runs');
  t.is(set.observe(KEY, plain('/bin/app'), locked), 'known', 'without contents (identity off) the path is all');

  // An item from before contents: its first content is learned on first sight, then judged.
  const old = createBaselineSet(limits, {
    format: 1, version: 0, probes: {},
    baselines: [{ key: KEY, createdAtMs: 0, learnUntilMs: HOUR, lockedAtMs: HOUR, lockedBy: 'window', version: 0, lastSeenMs: 0, items: { '/bin/app': { addedAtMs: 0, source: 'learned' } }, removed: {} }],
  });
  t.is(old.observe(KEY, ran('/bin/app', A), locked), 'first-sight');
  t.like(old.get(KEY)!.items.get('/bin/app')!.digests![0], { sha256: A, source: 'first-sight' });
  t.is(old.observe(KEY, ran('/bin/app', B), locked), 'modified');
});

test('contents that could not be computed are never learned; an operator allow with any content is not judged by content', (t) => {
  const set = createBaselineSet(limits);
  t.is(set.observe(KEY, { exe: '/bin/app', startup: false, probe: false, content: { error: 'too-large' } }, 0), 'unhashed');
  t.false(set.get(KEY)!.items.has('/bin/app'), 'not learned, not even its path');
  set.apply({ version: 0, key: KEY, allowed: ['/bin/app'], removed: [], lock: 'lock', allowedContent: new Map([['/bin/app', { anyContent: true, sha256: [] }]]) }, 2 * HOUR);
  t.is(set.observe(KEY, ran('/bin/app', C), 2 * HOUR), 'known');
  set.apply({ version: 0, key: KEY, allowed: ['/bin/tool'], removed: [], lock: 'keep', allowedContent: new Map([['/bin/tool', { anyContent: false, sha256: [A] }]]) }, 2 * HOUR);
  t.is(set.observe(KEY, ran('/bin/tool', A), 2 * HOUR), 'known');
  t.is(set.observe(KEY, ran('/bin/tool', B), 2 * HOUR), 'modified', 'allowed with its contents: another one is not');
});

test('an item holds at most 8 contents: the oldest learned one makes room, an operator one stays (counted)', (t) => {
  const set = createBaselineSet(limits);
  const sha = (i: number) => i.toString(16).padStart(64, '0');
  set.apply({ version: 0, key: KEY, allowed: ['/bin/app'], removed: [], lock: 'keep', allowedContent: new Map([['/bin/app', { anyContent: false, sha256: [sha(0)] }]]) }, 0);
  for (let i = 1; i <= 9; i++) set.observe(KEY, ran('/bin/app', sha(i)), i);
  const held = set.get(KEY)!.items.get('/bin/app')!.digests!.map((d) => d.sha256);
  t.is(held.length, 8);
  t.true(held.includes(sha(0)), "the operator's content stays");
  t.false(held.includes(sha(1)), 'the oldest learned one went');
  t.is(set.counters.evictedDigests, 2);
});

test('inline code: recorded while learning, allowed after; once locked, an interpreter that never ran inline code may not', (t) => {
  const set = createBaselineSet(limits);
  set.observe(KEY, plain('/usr/bin/python3'), 0);
  set.observe(KEY, plain('/bin/sh'), 0);
  t.true(set.inlineAllowed(KEY, '/bin/sh', 10), 'learning: allowed');
  set.recordInline(KEY, '/bin/sh', 10);
  t.true(set.inlineAllowed(KEY, '/bin/sh', 2 * HOUR));
  t.false(set.inlineAllowed(KEY, '/usr/bin/python3', 2 * HOUR));
  set.recordInline(KEY, '/usr/bin/python3', 2 * HOUR);
  t.false(set.inlineAllowed(KEY, '/usr/bin/python3', 2 * HOUR), 'nothing is recorded once locked');
});
