// The process monitor end to end: on a fixture proc tree (startup, parent chains up to the
// container boundary, users, redaction), and on this machine's real processes (learning,
// lock, a new executable becomes a finding with the right parent and user, an allowed one
// does not, and the baseline survives a restart). Host processes are keyed by the node's role:
// the worker fixture's `host/worker`, the control-plane fixture's `host/control-plane`, and a
// state file from before roles moves its `host` baseline over.
import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createProcessMonitor, type ProcessMonitor } from '../../agent/processes/monitor.js';
import { processStatsToWire } from '../../agent/processes/wire-stats.js';
import { createLogger } from '../../proto/support/logger.js';
import type { BaselineSetJson } from '../../agent/baseline/baselines.js';
import { freshBinary, HOST_CONTROL_PLANE, HOST_WORKER, monitorConfig, scenario, spooledFindings, tempDir, testSpool, THIS_MACHINE, waitFor } from './helpers.js';

const log = createLogger('test', 'silent');
const NGINX = 'shop/Deployment/web/nginx';

/** A state file from before node roles: the cluster-wide `host` baseline, locked, holding what a control-plane node taught. */
async function legacyStateFile(dir: string, extra: BaselineSetJson['baselines'] = []): Promise<void> {
  const seeded: BaselineSetJson = {
    format: 1, version: 12, probes: {},
    baselines: [...extra, {
      key: 'host', createdAtMs: 0, learnUntilMs: 1, lockedAtMs: 1, lockedBy: 'window', version: 12, lastSeenMs: 0, removed: { '/usr/bin/nc': 1 },
      items: {
        '/usr/lib/systemd/systemd': { addedAtMs: 0, source: 'learned' }, '/usr/bin/containerd-shim-runc-v2': { addedAtMs: 0, source: 'learned' },
        '/usr/local/bin/etcd': { addedAtMs: 0, source: 'learned' },
      },
    }],
  };
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'baselines.json'), JSON.stringify(seeded));
}

test('fixture node: startup processes are allowed and learned, later ones are findings with their parent chain, user and a redacted command line', async (t) => {
  const dir = await tempDir('monitor-fixture');
  t.teardown(dir.cleanup);
  const { procRoot, hostRoot } = scenario('containerd-systemd-v2');
  // Both baselines locked by their windows: nginx's empty, the host's without the kubelet
  // (and from before node roles: it moves to this worker's key, without etcd).
  await legacyStateFile(dir.path, [
    { key: NGINX, createdAtMs: 0, learnUntilMs: 1, lockedAtMs: 1, lockedBy: 'window', version: 0, lastSeenMs: 0, items: {}, removed: {} },
  ]);
  const spool = testSpool(dir.path);
  const m = createProcessMonitor(monitorConfig({ procRoot, hostRoot, stateDir: dir.path, execEvents: true }), { log, spool, notify: () => undefined });
  t.teardown(async () => {
    await m.stop();
    spool.close();
  });
  await m.start();
  t.is(m.coverage, 'scan', 'a fixture proc root is not procfs: no exec events');
  t.regex(m.stats().execEventsReason, /NOT_PROCFS/);
  t.is(m.stats().source, 'scan');
  t.regex(m.stats().fallbackReason, /^NOT_PROCFS: /, 'the agent says why no source was tried');
  t.is(m.hostKey, HOST_WORKER, 'no control-plane component on this node');
  m.flush();

  const snap = m.snapshot();
  t.deepEqual(snap.baselines.map((b) => b.key).filter((k) => k.startsWith('host')), [HOST_WORKER], 'the legacy key is gone');
  const host = snap.baselines.find((b) => b.key === HOST_WORKER)!;
  t.deepEqual(Object.keys(host.items).sort(), ['/usr/bin/containerd-shim-runc-v2', '/usr/lib/systemd/systemd'], 'carried over, except etcd');
  t.like(host, { lockedAtMs: 1, lockedBy: 'window', version: 0, removed: { '/usr/bin/nc': 1 } });
  const saved = JSON.parse(await readFile(join(dir.path, 'baselines.json'), 'utf8')) as BaselineSetJson;
  t.deepEqual(saved.baselines.map((b) => b.key).filter((k) => k.startsWith('host')), [HOST_WORKER], 'saved: the move happens once');
  const nginx = snap.baselines.find((b) => b.key === NGINX)!;
  // pids 1001 and 1002 started within 60 s of the container: startup, learned under the window lock.
  t.deepEqual(Object.keys(nginx.items), ['/usr/sbin/nginx']);
  t.is(nginx.items['/usr/sbin/nginx']!.source, 'startup');
  // The sandbox is its own (learning) baseline.
  t.deepEqual(Object.keys(snap.baselines.find((b) => b.key === 'shop/Deployment/web/POD')!.items), ['/pause']);

  const found = spooledFindings(spool);
  const bySubject = new Map(found.map((f) => [f.finding.subject, f]));
  t.deepEqual([...bySubject.keys()].sort(), [`${HOST_WORKER}:/usr/bin/kubelet`, `${NGINX}:/bin/dash`, `${NGINX}:/usr/bin/curl`]);
  const curl = bySubject.get(`${NGINX}:/usr/bin/curl`)!;
  t.like(curl.detail, {
    pid: 1004, ppid: 1003, uid: 101, user: '101', namespace: 'shop', pod: 'web-7d4b9c8f6d-x2kzq', seen: 'scan', partial: false,
    workload: { kind: 'Deployment', name: 'web', source: 'pod-name' }, container: { id: 'a1'.repeat(32), name: 'nginx', runtime: 'containerd' },
  });
  // Up to the container boundary: nginx's parent is the shim, a host process.
  t.deepEqual(curl.detail.parents, ['/bin/dash', '/usr/sbin/nginx']);
  t.like(curl.finding, { checkId: 'proc-unexpected', severity: 'SEVERITY_HIGH', category: 'process', occurrences: 1, seen: 'scan' });
  t.is(bySubject.get(`${NGINX}:/bin/dash`)!.detail.cmdline, 'sh -c curl http://10.0.0.1 --password=<redacted>', 'a shell script is a command line of its own');
  const kubelet = bySubject.get(`${HOST_WORKER}:/usr/bin/kubelet`)!.detail;
  t.like(kubelet, { baseline: HOST_WORKER, user: 'root', uid: 0, container: null, namespace: '' });
  t.deepEqual(kubelet.parents, ['/usr/lib/systemd/systemd']);
  t.is(kubelet.cmdline, '/usr/bin/kubelet --config=/var/lib/kubelet/config.yaml --token=<redacted>');

  // The same processes seen again are not new occurrences.
  await m.scanNow();
  m.flush();
  t.is(spooledFindings(spool).length, 3);
  t.is(m.stats().findings.observed, 3);
});

test('fixture node: processes in cgroups named like containers that no runtime holds a bundle for are host processes, and each cgroup is a finding', async (t) => {
  const dir = await tempDir('monitor-fake');
  t.teardown(dir.cleanup);
  const spool = testSpool(dir.path);
  const m = createProcessMonitor(monitorConfig({ ...scenario('containerd-cgroupfs-v1'), stateDir: dir.path, ...THIS_MACHINE }), { log, spool, notify: () => undefined });
  t.teardown(async () => {
    await m.stop();
    spool.close();
  });
  await m.start();
  m.flush();
  const fakes = spooledFindings(spool).filter((f) => f.finding.checkId === 'proc-fake-container-cgroup');
  t.deepEqual(fakes.map((f) => f.finding.subject).sort(), [
    `cgroup:/docker/${'8b'.repeat(32)}`, `cgroup:/system.slice/docker-${'d4'.repeat(32)}.scope`,
  ]);
  for (const f of fakes) {
    t.like(f.finding, { category: 'process', severity: 'SEVERITY_HIGH', status: 'STATUS_FAIL' });
    t.like(f.detail, { baseline: HOST_WORKER, container: null, seen: 'scan' });
    t.regex(f.detail.fakeContainer!.reason, /no runtime bundle/);
  }
  t.is(fakes.find((f) => f.detail.pid === 2101)?.detail.exe, '/usr/local/bin/redis-server');
  // Learned as the host's, while the real pod keeps its own key; no baseline for the fake ids.
  const keys = m.snapshot().baselines.map((b) => b.key).sort();
  t.deepEqual(keys, ['data/StatefulSet/db/postgres', HOST_WORKER]);
  t.truthy(m.snapshot().baselines.find((b) => b.key === HOST_WORKER)!.items['/usr/local/bin/redis-server']);
  t.is(m.stats().fakeContainer, 2);
  // And so they reach AgentStats, and the collector.
  t.like(processStatsToWire(m.stats(), 0), { execFakeContainer: 2, execHostNamespace: 0, execBatches: 0 });
});

test('control-plane fixture node: host processes are keyed host/control-plane, the legacy baseline moves there whole, and a worker\'s host updates are ignored', async (t) => {
  const dir = await tempDir('monitor-cp');
  t.teardown(dir.cleanup);
  const { procRoot, hostRoot } = scenario('kubeadm-cp-v2');
  await legacyStateFile(dir.path);
  const spool = testSpool(dir.path);
  const m = createProcessMonitor(monitorConfig({ procRoot, hostRoot, stateDir: dir.path }), { log, spool, notify: () => undefined });
  t.teardown(async () => {
    await m.stop();
    spool.close();
  });
  await m.start();
  t.is(m.hostKey, HOST_CONTROL_PLANE);
  m.flush();
  const snap = m.snapshot();
  t.deepEqual(snap.baselines.map((b) => b.key).filter((k) => k.startsWith('host')), [HOST_CONTROL_PLANE]);
  const host = snap.baselines.find((b) => b.key === HOST_CONTROL_PLANE)!;
  t.deepEqual(Object.keys(host.items).sort(), ['/usr/bin/containerd-shim-runc-v2', '/usr/lib/systemd/systemd', '/usr/local/bin/etcd'], 'a control-plane node keeps etcd');
  // The kubelet and kubeadm run outside containers and are not in the locked baseline; etcd and
  // the API server run in their static pods, under their own (learning) keys.
  const found = spooledFindings(spool);
  t.deepEqual(found.map((f) => f.finding.subject).sort(), [`${HOST_CONTROL_PLANE}:/usr/bin/kubeadm`, `${HOST_CONTROL_PLANE}:/usr/bin/kubelet`]);
  t.true(found.every((f) => f.detail.baseline === HOST_CONTROL_PLANE && f.detail.container === null));
  t.true(snap.baselines.some((b) => b.key.startsWith('kube-system/') && '/usr/local/bin/etcd' in b.items), 'the etcd container learns under its pod');

  // What the collector would never send it: the workers' host baseline. Its own applies.
  t.false(m.applyBaselineChange({ version: 20, key: HOST_WORKER, allowed: ['/usr/bin/kubeadm'], removed: [], lock: 'keep' }));
  t.false(m.applyBaselineChange({ version: 21, key: 'host', allowed: ['/usr/bin/kubeadm'], removed: [], lock: 'keep' }));
  t.deepEqual(m.snapshot().baselines.map((b) => b.key).filter((k) => k.startsWith('host')), [HOST_CONTROL_PLANE]);
  t.true(m.applyBaselineChange({ version: 22, key: HOST_CONTROL_PLANE, allowed: ['/usr/bin/kubeadm'], removed: [], lock: 'keep' }));
  t.is(m.snapshot().baselines.find((b) => b.key === HOST_CONTROL_PLANE)!.items['/usr/bin/kubeadm']?.source, 'operator');
});

test('the role can be pinned: a pinned worker keys the control-plane fixture\'s host processes host/worker', async (t) => {
  const dir = await tempDir('monitor-pinned');
  t.teardown(dir.cleanup);
  const spool = testSpool(dir.path);
  const m = createProcessMonitor(monitorConfig({ ...scenario('kubeadm-cp-v2'), stateDir: dir.path, hostRole: 'worker' }), { log, spool, notify: () => undefined });
  t.teardown(async () => {
    await m.stop();
    spool.close();
  });
  t.is(m.hostKey, HOST_WORKER, 'known before start when pinned');
  await m.start();
  t.is(m.hostKey, HOST_WORKER);
  t.deepEqual(m.snapshot().baselines.map((b) => b.key).filter((k) => k.startsWith('host')), [HOST_WORKER]);
});

// --- real processes on this machine --------------------------------------------------------

const children: ChildProcess[] = [];
/** Kills the shell and what it started (each runs in its own process group). */
const stopChild = (c: ChildProcess): void => {
  try {
    if (c.pid) process.kill(-c.pid, 'SIGKILL');
  } catch {
    // already gone
  }
};
test.after.always(() => children.forEach(stopChild));

/** Runs `sh -c '<bin> 30; true'` (the shell forks, so it is the parent), as nobody when we are root. */
function runViaShell(bin: string, asNobody: boolean): ChildProcess {
  const c = spawn('/bin/sh', ['-c', `"${bin}" 30; true`], { stdio: 'ignore', detached: true, ...(asNobody ? { uid: 65534, gid: 65534 } : {}) });
  children.push(c);
  return c;
}

test.serial('real processes: learned while learning; after lock a new executable is a finding with the right parent and user; an allowed one is not; the baseline survives a restart', async (t) => {
  t.timeout(60_000);
  const dir = await tempDir('monitor-real');
  t.teardown(dir.cleanup);
  const bins = await tempDir('monitor-bins');
  t.teardown(bins.cleanup);
  const state = join(dir.path, 'state');
  const learned = await freshBinary(bins.path, '/bin/sleep', 'nw-learned-sleep');
  const intruder = await freshBinary(bins.path, '/bin/sleep', 'nw-intruder-sleep');
  const allowed = await freshBinary(bins.path, '/bin/sleep', 'nw-allowed-sleep');
  const late = await freshBinary(bins.path, '/bin/sleep', 'nw-after-restart-sleep');
  const asNobody = process.getuid?.() === 0;
  const shell = realpathSync('/bin/sh');
  const node = realpathSync(process.execPath);

  const spool = testSpool(join(dir.path, 'spool'));
  t.teardown(() => spool.close());
  const config = monitorConfig({ procRoot: '/proc', hostRoot: '/', stateDir: state, hostLearnMs: 2500, scanIntervalMs: 150, execEvents: false, ...THIS_MACHINE });
  let m: ProcessMonitor = createProcessMonitor(config, { log, spool, notify: () => undefined });
  t.teardown(() => m.stop());
  await m.start();
  const hostBaseline = () => m.snapshot().baselines.find((b) => b.key === HOST_WORKER);
  const findingsFor = (bin: string) => spooledFindings(spool).filter((f) => f.finding.subject === `${HOST_WORKER}:${bin}`);

  // Learning: the process joins the baseline.
  const c1 = runViaShell(learned, false);
  await waitFor('the learned binary in the baseline', () => hostBaseline()?.items[learned]);
  t.is(hostBaseline()!.items[learned]!.source, 'learned');
  stopChild(c1);
  await waitFor('the host baseline to lock', () => hostBaseline()?.lockedAtMs !== null, 10_000);
  t.is(hostBaseline()!.lockedBy, 'window');

  // Locked: a new executable is a finding; the learned one is not.
  runViaShell(learned, false);
  runViaShell(intruder, asNobody);
  const [hit] = await waitFor('a finding for the intruder', () => {
    m.flush();
    const f = findingsFor(intruder);
    return f.length > 0 ? f : undefined;
  });
  t.like(hit!.finding, { checkId: 'proc-unexpected', seen: 'scan', severity: 'SEVERITY_HIGH' });
  t.like(hit!.detail, { baseline: HOST_WORKER, exe: intruder, container: null, seen: 'scan' });
  t.is(hit!.detail.parents[0], shell, 'the parent is the shell that ran it');
  t.is(hit!.detail.parents[1], node, "and the shell's parent is this test process");
  t.is(hit!.detail.uid, asNobody ? 65534 : process.getuid!());
  if (asNobody) t.is(hit!.detail.user, 'nobody');
  t.is(hit!.detail.cmdline, `${intruder} 30`);

  // Allowed through the collector's path: not a finding, and the intruder stops being reported.
  t.true(m.applyBaselineUpdate({ version: 1, key: HOST_WORKER, allowed: [allowed, intruder], removed: [], locked: false }));
  const reportedBefore = findingsFor(intruder).length;
  runViaShell(allowed, asNobody);
  runViaShell(intruder, asNobody);
  const scansBefore = m.stats().scans;
  await waitFor('three more scans', () => m.stats().scans >= scansBefore + 3);
  m.flush();
  t.is(findingsFor(allowed).length, 0);
  t.is(findingsFor(learned).length, 0);
  t.is(findingsFor(intruder).length, reportedBefore);
  const before = m.snapshot();

  // Restart: the baseline is intact and still locked; nothing is re-learned.
  await m.stop();
  m = createProcessMonitor(config, { log, spool, notify: () => undefined });
  await m.start();
  const after = m.snapshot();
  const host = (s: BaselineSetJson) => s.baselines.find((b) => b.key === HOST_WORKER)!;
  t.deepEqual(host(after).items[learned], host(before).items[learned]);
  t.is(host(after).items[allowed]!.source, 'operator');
  t.is(host(after).lockedAtMs, host(before).lockedAtMs);
  t.is(after.version, 1);
  runViaShell(late, false);
  await waitFor('a finding for a new executable after the restart', () => {
    m.flush();
    return findingsFor(late).length > 0;
  });
  t.false(late in host(m.snapshot()).items, 'a locked baseline does not learn after a restart');
});

test.serial('an unexpected process goes to the spool as soon as it is judged, not at the flush tick (an hour here)', async (t) => {
  t.timeout(60_000);
  const dir = await tempDir('monitor-at-once');
  t.teardown(dir.cleanup);
  const bins = await tempDir('monitor-at-once-bins');
  t.teardown(bins.cleanup);
  const intruder = await freshBinary(bins.path, '/bin/sleep', 'nw-at-once-sleep');
  const spool = testSpool(join(dir.path, 'spool'));
  t.teardown(() => spool.close());
  let notified = 0;
  const m = createProcessMonitor(monitorConfig({
    procRoot: '/proc', hostRoot: '/', stateDir: join(dir.path, 'state'), hostLearnMs: 1, scanIntervalMs: 100, execEvents: false,
    flushMs: 3_600_000, ...THIS_MACHINE,
  }), { log, spool, notify: () => notified++ });
  t.teardown(() => m.stop());
  await m.start();
  await waitFor('the host baseline to lock', () => m.snapshot().baselines.find((b) => b.key === HOST_WORKER)?.lockedAtMs != null);
  runViaShell(intruder, false);
  // No flush() here, and the periodic one is an hour away: the finding must leave by itself.
  const [hit] = await waitFor('the finding in the spool', () => {
    const f = spooledFindings(spool).filter((x) => x.finding.subject === `${HOST_WORKER}:${intruder}`);
    return f.length > 0 ? f : undefined;
  });
  t.like(hit!.finding, { checkId: 'proc-unexpected', occurrences: 1 });
  t.true(notified > 0, 'the reporter is told');
});

test('a process whose executable cannot be read counts once as not judged, however many scans meet it', async (t) => {
  const dir = await tempDir('monitor-unjudged');
  t.teardown(dir.cleanup);
  // The fixture node with one process whose exe link is gone (a zombie, or one that exited mid-read).
  const { procRoot: fixtureProc, hostRoot } = scenario('containerd-systemd-v2');
  const procRoot = join(dir.path, 'proc');
  await cp(fixtureProc, procRoot, { recursive: true, verbatimSymlinks: true });
  await rm(join(procRoot, '1004', 'exe'));
  const spool = testSpool(join(dir.path, 'spool'));
  const m = createProcessMonitor(monitorConfig({ procRoot, hostRoot, stateDir: join(dir.path, 'state'), ...THIS_MACHINE }), { log, spool, notify: () => undefined });
  t.teardown(async () => {
    await m.stop();
    spool.close();
  });
  await m.start();
  t.is(m.stats().unjudged, 1);
  await m.scanNow();
  await m.scanNow();
  t.is(m.stats().scans, 3);
  t.is(m.stats().unjudged, 1, 'the same process, met by three scans');
  // Gone and back under the same pid with another start time: another process, counted again.
  const stat = join(procRoot, '1004', 'stat');
  const fields = (await readFile(stat, 'utf8')).split(' ');
  await rm(join(procRoot, '1004'), { recursive: true });
  await m.scanNow();
  await cp(join(fixtureProc, '1004'), join(procRoot, '1004'), { recursive: true, verbatimSymlinks: true });
  await rm(join(procRoot, '1004', 'exe'));
  fields[21] = String(Number(fields[21]) + 100);
  await writeFile(stat, fields.join(' '));
  await m.scanNow();
  t.is(m.stats().unjudged, 2);
});
