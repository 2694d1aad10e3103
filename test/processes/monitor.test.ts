// The process monitor end to end: on a fixture proc tree (startup, parent chains up to the
// container boundary, users, redaction), and on this machine's real processes (learning,
// lock, a new executable becomes a finding with the right parent and user, an allowed one
// does not, and the baseline survives a restart).
import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createProcessMonitor, type ProcessMonitor } from '../../agent/processes/monitor.js';
import { createLogger } from '../../proto/support/logger.js';
import type { BaselineSetJson } from '../../agent/baseline/baselines.js';
import { freshBinary, monitorConfig, scenario, spooledFindings, tempDir, testSpool, waitFor } from './helpers.js';

const log = createLogger('test', 'silent');
const NGINX = 'shop/Deployment/web/nginx';

test('fixture node: startup processes are allowed and learned, later ones are findings with their parent chain, user and a redacted command line', async (t) => {
  const dir = await tempDir('monitor-fixture');
  t.teardown(dir.cleanup);
  const { procRoot, hostRoot } = scenario('containerd-systemd-v2');
  // Both baselines locked by their windows: nginx's empty, the host's without the kubelet.
  const seeded: BaselineSetJson = {
    format: 1, version: 0, probes: {},
    baselines: [
      { key: NGINX, createdAtMs: 0, learnUntilMs: 1, lockedAtMs: 1, lockedBy: 'window', version: 0, lastSeenMs: 0, items: {}, removed: {} },
      {
        key: 'host', createdAtMs: 0, learnUntilMs: 1, lockedAtMs: 1, lockedBy: 'window', version: 0, lastSeenMs: 0, removed: {},
        items: { '/usr/lib/systemd/systemd': { addedAtMs: 0, source: 'learned' }, '/usr/bin/containerd-shim-runc-v2': { addedAtMs: 0, source: 'learned' } },
      },
    ],
  };
  await mkdir(dir.path, { recursive: true });
  await writeFile(join(dir.path, 'baselines.json'), JSON.stringify(seeded));
  const spool = testSpool(dir.path);
  const m = createProcessMonitor(monitorConfig({ procRoot, hostRoot, stateDir: dir.path, execEvents: true }), { log, spool, notify: () => undefined });
  t.teardown(async () => {
    await m.stop();
    spool.close();
  });
  await m.start();
  t.is(m.coverage, 'scan', 'a fixture proc root is not procfs: no exec events');
  t.regex(m.stats().execEventsReason, /NOT_PROCFS/);
  m.flush();

  const snap = m.snapshot();
  const nginx = snap.baselines.find((b) => b.key === NGINX)!;
  // pids 1001 and 1002 started within 60 s of the container: startup, learned under the window lock.
  t.deepEqual(Object.keys(nginx.items), ['/usr/sbin/nginx']);
  t.is(nginx.items['/usr/sbin/nginx']!.source, 'startup');
  // The sandbox is its own (learning) baseline.
  t.deepEqual(Object.keys(snap.baselines.find((b) => b.key === 'shop/Deployment/web/POD')!.items), ['/pause']);

  const found = spooledFindings(spool);
  const bySubject = new Map(found.map((f) => [f.finding.subject, f]));
  t.deepEqual([...bySubject.keys()].sort(), ['host:/usr/bin/kubelet', `${NGINX}:/bin/dash`, `${NGINX}:/usr/bin/curl`]);
  const curl = bySubject.get(`${NGINX}:/usr/bin/curl`)!;
  t.like(curl.detail, {
    pid: 1004, ppid: 1003, uid: 101, user: '101', namespace: 'shop', pod: 'web-7d4b9c8f6d-x2kzq', seen: 'scan', partial: false,
    workload: { kind: 'Deployment', name: 'web', source: 'pod-name' }, container: { id: 'a1'.repeat(32), name: 'nginx', runtime: 'containerd' },
  });
  // Up to the container boundary: nginx's parent is the shim, a host process.
  t.deepEqual(curl.detail.parents, ['/bin/dash', '/usr/sbin/nginx']);
  t.like(curl.finding, { checkId: 'proc-unexpected', severity: 'SEVERITY_HIGH', category: 'process', occurrences: 1, seen: 'scan' });
  t.is(bySubject.get(`${NGINX}:/bin/dash`)!.detail.cmdline, 'sh -c curl http://10.0.0.1 --password=pw', 'a value inside one -c word is not a flag');
  const kubelet = bySubject.get('host:/usr/bin/kubelet')!.detail;
  t.like(kubelet, { user: 'root', uid: 0, container: null, namespace: '' });
  t.deepEqual(kubelet.parents, ['/usr/lib/systemd/systemd']);
  t.is(kubelet.cmdline, '/usr/bin/kubelet --config=/var/lib/kubelet/config.yaml --token=<redacted>');

  // The same processes seen again are not new occurrences.
  await m.scanNow();
  m.flush();
  t.is(spooledFindings(spool).length, 3);
  t.is(m.stats().findings.observed, 3);
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
  const config = monitorConfig({ procRoot: '/proc', hostRoot: '/', stateDir: state, hostLearnMs: 2500, scanIntervalMs: 150, execEvents: false });
  let m: ProcessMonitor = createProcessMonitor(config, { log, spool, notify: () => undefined });
  t.teardown(() => m.stop());
  await m.start();
  const hostBaseline = () => m.snapshot().baselines.find((b) => b.key === 'host');
  const findingsFor = (bin: string) => spooledFindings(spool).filter((f) => f.finding.subject === `host:${bin}`);

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
  t.like(hit!.detail, { baseline: 'host', exe: intruder, container: null, seen: 'scan' });
  t.is(hit!.detail.parents[0], shell, 'the parent is the shell that ran it');
  t.is(hit!.detail.parents[1], node, "and the shell's parent is this test process");
  t.is(hit!.detail.uid, asNobody ? 65534 : process.getuid!());
  if (asNobody) t.is(hit!.detail.user, 'nobody');
  t.is(hit!.detail.cmdline, `${intruder} 30`);

  // Allowed through the collector's path: not a finding, and the intruder stops being reported.
  t.true(m.applyBaselineUpdate({ version: 1, key: 'host', allowed: [allowed, intruder], removed: [], locked: false }));
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
  const host = (s: BaselineSetJson) => s.baselines.find((b) => b.key === 'host')!;
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
