// The listen baselines (agent/exposure/listen-baseline.ts) and exposure-new-listener: learned
// while a workload's process baseline learns, judged once it is locked, bounded, kept across a
// restart; and on the real kernel, a container of a locked workload (Debian's containerd) that
// starts listening on a new port raises the finding, while the port it listened on before
// passes.
import test from 'ava';
import { join } from 'node:path';
import { symlink } from 'node:fs/promises';
import { CATALOG, evaluate } from '../../agent/checks/index.js';
import type { ExposureFacts, Listener } from '../../agent/exposure/collect.js';
import { collectExposure } from '../../agent/exposure/collect.js';
import { addressClasses } from '../../agent/exposure/address-class.js';
import { createListenBaselines, LISTENS_FILE } from '../../agent/exposure/listen-baseline.js';
import { placeWith } from '../../agent/exposure/owner.js';
import type { HostFacts } from '../../agent/facts/index.js';
import { createProcessMonitor } from '../../agent/processes/monitor.js';
import { createLogger } from '../../proto/support/logger.js';
import { containerdAvailable, startContainerd } from '../helpers/containerd.js';
import { needs } from '../helpers/requirements.js';
import { monitorConfig, tempDir, testSpool, THIS_MACHINE, waitFor } from '../processes/helpers.js';

const KEY = 'shop/Deployment/web/nginx';
const owner = { pid: 7, exe: '/bin/busybox', comm: 'nc', key: KEY, namespace: 'shop', pod: 'web-1', container: 'nginx', workload: 'Deployment/web' };
const l = (port: number, protocol: 'tcp' | 'udp' = 'tcp'): Listener => ({ protocol, family: 'inet', address: '0.0.0.0', port, class: 'private', wildcard: true, inode: port, uid: 0, owner });

function judge(listeners: Listener[], listenBaselines: ExposureFacts['listenBaselines']) {
  const exposure = { listeners, listenBaselines } as unknown as ExposureFacts;
  return evaluate({ kubelet: null, exposure } as unknown as HostFacts, CATALOG.filter((c) => c.id === 'exposure-new-listener'), new Date());
}

test('learned while learning, judged when locked, bounded, and kept across a restart', async (t) => {
  const dir = await tempDir('listens');
  t.teardown(dir.cleanup);
  const file = join(dir.path, LISTENS_FILE);
  const b = createListenBaselines(file, { maxKeys: 1, maxPerKey: 2 });
  t.is(await b.load(), '');
  let views = b.observe([l(8080), l(40000, 'udp')], () => 'learning');
  t.deepEqual(views[KEY]?.learned, ['tcp/0.0.0.0:8080'], 'an ephemeral UDP port is not learned');
  t.true(judge([l(8080)], views).every((r) => r.status === 'pass'));
  b.observe([l(8081), l(8082)], () => 'learning');
  t.is(b.observe([], () => 'learning')[KEY], undefined, 'a key without listeners now has no view');
  views = b.observe([l(8080), l(9090)], () => 'locked');
  t.is(views[KEY]?.overflow, 1, 'the third port did not fit');
  const rs = judge([l(8080), l(9090)], views);
  t.is(rs.find((r) => r.subject === `${KEY}:tcp/0.0.0.0:9090`)?.status, 'fail');
  t.is(rs.find((r) => r.subject === `${KEY}:tcp/0.0.0.0:8080`)?.status, 'pass');
  t.deepEqual(b.observe([{ ...l(1), owner: { ...owner, key: 'other/Deployment/x/y' } }], () => 'learning'), {}, 'past maxKeys a new key is not learned');
  t.is(b.stats().keysDropped, 1);
  await b.save();
  const again = createListenBaselines(file, { maxKeys: 1, maxPerKey: 2 });
  await again.load();
  t.deepEqual(again.learned(KEY), ['tcp/0.0.0.0:8080', 'tcp/0.0.0.0:8081']);
  t.is(judge([l(8080)], undefined)[0]?.status, 'skip', 'without the process monitor the check skips');
});

const containerTest = needs({ what: 'a real container runtime (containerd, runc, a static busybox), as root', packages: ['containerd', 'runc', 'busybox-static'], check: containerdAvailable, serial: true });

containerTest("a locked workload's container that starts listening on a new port raises exposure-new-listener", async (t) => {
  const dir = await tempDir('listens-ctr');
  t.teardown(dir.cleanup);
  const ctrd = await startContainerd(join(dir.path, 'containerd'));
  t.teardown(() => ctrd.stop());
  await symlink('busybox', join(ctrd.rootfs, 'bin/nc'));
  const spool = testSpool(join(dir.path, 'spool'));
  t.teardown(() => spool.close());
  const m = createProcessMonitor(monitorConfig({ procRoot: '/proc', hostRoot: '/', stateDir: join(dir.path, 'state'), containerdState: ctrd.state, identity: false, ...THIS_MACHINE }), {
    log: createLogger('test', 'silent'), spool, notify: () => undefined,
  });
  t.teardown(() => m.stop());
  await m.start();
  const c = await ctrd.start({ namespace: 'shop', pod: 'web-7d9f8b6c5d-x2x9z', container: 'nginx' }, ['/bin/nc', '-l', '-p', '8080']);
  t.teardown(() => ctrd.remove(c.id));
  const parts = m.exposureParts;
  // The scan judges the container's process: its workload's baseline exists, learning.
  await waitFor('the workload baseline', async () => {
    await m.scanNow();
    return parts.baselineState(KEY) === 'learning';
  });
  const pidOf = async (): Promise<number> => waitFor('the container process', () => {
    for (const pid of parts.reader.listPids()) {
      const r = parts.reader.read(pid);
      if (r && r.cgroup.includes(c.id) && r.comm === 'nc') return pid;
    }
    return undefined;
  });
  const nsPid = await pidOf();
  const listens = createListenBaselines(join(dir.path, LISTENS_FILE));
  const scan = async () => {
    const e = await collectExposure({ procRoot: '/proc', namespacePid: nsPid, classes: addressClasses().classes, processes: parts.reader, place: placeWith(parts.attributor, parts.hostKey) });
    const listenBaselines = listens.observe(e.listeners, parts.baselineState);
    return judge([...e.listeners], listenBaselines);
  };
  // busybox's nc binds every address, IPv6 and IPv4 (`::`).
  const learned = await waitFor('port 8080 learned', async () => ((await scan()).some((r) => r.subject === `${KEY}:tcp/[::]:8080` && r.status === 'pass') ? true : undefined));
  t.true(learned);
  m.applyBaselineChange({ version: 0, key: KEY, allowed: [], removed: [], lock: 'lock' });
  t.is(parts.baselineState(KEY), 'locked');
  await ctrd.exec(c.id, ['/bin/sh', '-c', '/bin/nc -l -p 9090 </dev/null >/dev/null 2>&1 &']);
  const rs = await waitFor('the new listener judged', async () => {
    const r = await scan();
    return r.some((x) => x.subject === `${KEY}:tcp/[::]:9090`) ? r : undefined;
  });
  const fail = rs.find((r) => r.subject === `${KEY}:tcp/[::]:9090`);
  t.is(fail?.status, 'fail');
  t.regex(fail?.reason ?? '', /whose baseline is locked, is listening on tcp\/\[::\]:9090, which it did not while learning and no operator allowed \(pid \d+ \/bin\/busybox in pod shop\/web-7d9f8b6c5d-x2x9z, container nginx\)/);
  t.is(rs.find((r) => r.subject === `${KEY}:tcp/[::]:8080`)?.status, 'pass');
});

test('a key this node never saw learning with a listener is not judged (a baseline adopted locked)', async (t) => {
  const dir = await tempDir('listens-adopted');
  t.teardown(dir.cleanup);
  const b = createListenBaselines(join(dir.path, LISTENS_FILE));
  t.deepEqual(b.observe([l(8080)], () => 'locked'), {});
  t.deepEqual(judge([l(8080)], {}), []);
});

test("the collector's listens join a key's set: an adopted set judges, a class's entry covers its port, what is not a listen is refused and counted", async (t) => {
  const dir = await tempDir('listens-central');
  t.teardown(dir.cleanup);
  const file = join(dir.path, LISTENS_FILE);
  const b = createListenBaselines(file, { maxKeys: 2, maxPerKey: 3 });
  t.is(b.adopt(KEY, []), 0);
  t.deepEqual(b.observe([l(8080)], () => 'locked'), {}, 'an empty list makes no set');
  t.is(b.adopt(KEY, ['tcp/0.0.0.0:8080', 'tcp/private:9090', 'tcp/0.0.0.0:8080; echo', 'tcp/[0:0::0]:22']), 3);
  t.is(b.stats().adoptRefused, 1);
  t.deepEqual(b.learned(KEY), ['tcp/0.0.0.0:8080', 'tcp/[::]:22', 'tcp/private:9090']);
  t.is(b.adopt(KEY, ['tcp/0.0.0.0:1']), 0, 'past maxPerKey');
  const views = b.observe([l(8080), l(9090), l(7070), { ...l(9090), class: 'public' }], () => 'locked');
  const rs = judge([l(8080), l(9090), l(7070)], views);
  t.is(rs.find((r) => r.subject === `${KEY}:tcp/0.0.0.0:8080`)?.status, 'pass');
  t.regex(rs.find((r) => r.subject === `${KEY}:tcp/0.0.0.0:9090`)?.reason ?? '', /listen set holds tcp\/private:9090, which covers tcp\/0\.0\.0\.0:9090 \(private\)/);
  t.is(rs.find((r) => r.subject === `${KEY}:tcp/0.0.0.0:9090`)?.status, 'pass');
  t.is(rs.find((r) => r.subject === `${KEY}:tcp/0.0.0.0:7070`)?.status, 'fail');
  t.is(judge([{ ...l(9090), class: 'public' }], views)[0]?.status, 'fail', 'a public wildcard is not covered by the private class');
  await b.save();
  const again = createListenBaselines(file);
  await again.load();
  t.deepEqual(again.learned(KEY), b.learned(KEY), 'kept across a restart');
});
