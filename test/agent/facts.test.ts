import test from 'ava';
import { mkdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createHostFs } from '../../agent/facts/host-fs.js';
import { collectFacts } from '../../agent/facts/index.js';
import { loadUserDb, parseIdFile } from '../../agent/facts/users.js';
import { prepareFixture, writeCmdline } from '../helpers/fixture.js';

const FIXED_NOW = new Date('2026-03-01T12:00:00.000Z');

test('insecure-worker: a relative --config is resolved against the kubelet cwd', async (t) => {
  const fx = await prepareFixture('insecure-worker');
  t.teardown(fx.cleanup);
  const facts = await collectFacts({ hostRoot: fx.root, procRoot: fx.procRoot, now: () => FIXED_NOW });
  const k = facts.kubelet;
  if (k === null) return t.fail(facts.kubeletAbsence?.reason);
  t.is(k.pid, 4242);
  t.is(k.cwd, '/var/lib/kubelet');
  t.deepEqual(k.paths.find((p) => p.flag === 'config'), { flag: 'config', value: 'config.yaml', path: '/var/lib/kubelet/config.yaml', error: null });
  t.is(k.config?.path, '/var/lib/kubelet/config.yaml');
  t.is(k.config?.error, null);
  t.deepEqual(k.config?.data?.['authentication'], { anonymous: { enabled: true }, webhook: { enabled: false } });
  t.is(k.dropins, null);
  t.is(facts.collectedAt, '2026-03-01T12:00:00.000Z');
});

test('insecure-worker: the kubeconfig link is stat-ed at its target, with host owner names', async (t) => {
  const fx = await prepareFixture('insecure-worker');
  t.teardown(fx.cleanup);
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  // Owner names must come from the host tree, not from this machine's /etc/passwd.
  await writeFile(join(fx.root, 'etc/passwd'), `fixture-owner:x:${uid}:${gid}::/:/bin/sh\n`);
  await writeFile(join(fx.root, 'etc/group'), `fixture-group:x:${gid}:\n`);
  const facts = await collectFacts({ hostRoot: fx.root, procRoot: fx.procRoot });
  const kubeconfig = facts.files['/etc/kubernetes/kubelet.conf'];
  t.is(kubeconfig?.realPath, '/etc/kubernetes/real/kubelet.conf');
  t.is(kubeconfig?.stat?.mode, 0o644);
  t.is(kubeconfig?.stat?.type, 'file');
  t.is(kubeconfig?.owner, 'fixture-owner');
  t.is(kubeconfig?.group, 'fixture-group');
  for (const p of ['/etc/kubernetes/kubelet.conf', '/etc/kubernetes/real/kubelet.conf', '/var/lib/kubelet/config.yaml', '/etc/passwd']) {
    t.true(facts.filesRead.includes(p), `${p} should be listed for watching`);
  }
});

test('owner names resolve against the fixture passwd ids (kube is 1000 there)', async (t) => {
  const fx = await prepareFixture('insecure-worker');
  t.teardown(fx.cleanup);
  const db = await loadUserDb(createHostFs(fx.root));
  t.is(db.users.get(1000), 'kube');
  t.is(db.groups.get(1000), 'kube');
  t.is(db.users.get(0), 'root');
  t.deepEqual(db.errors, []);
});

test('passwd parsing: first name for an id wins, comments and malformed lines are skipped', (t) => {
  const ids = parseIdFile('# comment\nroot:x:0:0::/:/bin/sh\ntoor:x:0:0::/:/bin/sh\nbroken-line\nbad:x:notanumber:\nkube:x:1000:1000::/:/bin/sh\n');
  t.deepEqual([...ids.entries()], [[0, 'root'], [1000, 'kube']]);
});

test('the facts are plain JSON: a round trip changes nothing', async (t) => {
  const fx = await prepareFixture('defaults-worker');
  t.teardown(fx.cleanup);
  const facts = await collectFacts({ hostRoot: fx.root, procRoot: fx.procRoot });
  t.deepEqual(JSON.parse(JSON.stringify(facts)), facts);
});

test('defaults-worker: drop-ins are the *.conf files in lexical order, subdirectories walked in place', async (t) => {
  const fx = await prepareFixture('defaults-worker');
  t.teardown(fx.cleanup);
  await mkdir(join(fx.root, 'etc/kubernetes/kubelet.conf.d/15-sub'));
  await writeFile(join(fx.root, 'etc/kubernetes/kubelet.conf.d/15-sub/a.conf'), 'readOnlyPort: 0\n');
  const facts = await collectFacts({ hostRoot: fx.root, procRoot: fx.procRoot });
  const d = facts.kubelet?.dropins;
  t.is(d?.error, null);
  t.deepEqual(d?.files.map((f) => f.path), [
    '/etc/kubernetes/kubelet.conf.d/10-authz.conf',
    '/etc/kubernetes/kubelet.conf.d/15-sub/a.conf',
    '/etc/kubernetes/kubelet.conf.d/20-authz.conf',
  ]);
  t.deepEqual(d?.files[2]?.data?.['authorization'], { mode: 'Webhook' });
});

test('a relative --config with an unreadable cwd is an ENOCWD error fact', async (t) => {
  const fx = await prepareFixture('insecure-worker');
  t.teardown(fx.cleanup);
  await rm(join(fx.procRoot, '4242/cwd'));
  const facts = await collectFacts({ hostRoot: fx.root, procRoot: fx.procRoot });
  t.is(facts.kubelet?.config?.error?.code, 'ENOCWD');
  t.is(facts.kubelet?.config?.data, null);
  t.is(facts.kubelet?.cwd, null);
});

test('an unparseable config file is an EPARSE error fact', async (t) => {
  const fx = await prepareFixture('insecure-worker');
  t.teardown(fx.cleanup);
  await writeFile(join(fx.root, 'var/lib/kubelet/config.yaml'), 'authentication: [unclosed\n');
  const facts = await collectFacts({ hostRoot: fx.root, procRoot: fx.procRoot });
  t.is(facts.kubelet?.config?.error?.code, 'EPARSE');
});

test('a config file of another kind is refused', async (t) => {
  const fx = await prepareFixture('insecure-worker');
  t.teardown(fx.cleanup);
  await writeFile(join(fx.root, 'var/lib/kubelet/config.yaml'), 'apiVersion: v1\nkind: Config\n');
  const facts = await collectFacts({ hostRoot: fx.root, procRoot: fx.procRoot });
  t.is(facts.kubelet?.config?.error?.code, 'EPARSE');
  t.regex(facts.kubelet?.config?.error?.message ?? '', /expected KubeletConfiguration/);
});

test('no kubelet process: kubelet is null and the reason says so', async (t) => {
  const fx = await prepareFixture('insecure-worker');
  t.teardown(fx.cleanup);
  await rm(join(fx.procRoot, '4242'), { recursive: true });
  const facts = await collectFacts({ hostRoot: fx.root, procRoot: fx.procRoot });
  t.is(facts.kubelet, null);
  t.is(facts.kubeletAbsence?.status, 'not-running');
  t.regex(facts.kubeletAbsence?.reason ?? '', /no kubelet process among the 4 processes/);
});

test('an unreadable proc root is "unknown", not "not running"', async (t) => {
  const fx = await prepareFixture('insecure-worker');
  t.teardown(fx.cleanup);
  const facts = await collectFacts({ hostRoot: fx.root, procRoot: join(fx.root, 'no-proc-here') });
  t.is(facts.kubelet, null);
  t.is(facts.kubeletAbsence?.status, 'unknown');
});

test('hyperkube kubelet is discovered, and the lowest pid is judged when there are several', async (t) => {
  const fx = await prepareFixture('defaults-worker');
  t.teardown(fx.cleanup);
  await mkdir(join(fx.procRoot, '9000'));
  await writeCmdline(fx.procRoot, 9000, ['/hyperkube', 'kubelet', '--config=/nowhere.yaml']);
  await symlink('/', join(fx.procRoot, '9000/cwd'));
  await writeCmdline(fx.procRoot, 777, ['/hyperkube', 'kubelet', '--kubeconfig=/etc/kubernetes/kubelet.conf']);
  const facts = await collectFacts({ hostRoot: fx.root, procRoot: fx.procRoot });
  t.is(facts.kubelet?.pid, 777);
  t.deepEqual(facts.kubelet?.otherPids, [9000]);
  t.deepEqual(facts.kubelet?.paths.map((p) => p.flag), ['kubeconfig']);
});

test('a --config-dir that is itself a link is not walked (as the kubelet does), unless written with a trailing slash', async (t) => {
  const fx = await prepareFixture('defaults-worker');
  t.teardown(fx.cleanup);
  await rename(join(fx.root, 'etc/kubernetes/kubelet.conf.d'), join(fx.root, 'etc/kubernetes/real.d'));
  await symlink('/etc/kubernetes/real.d', join(fx.root, 'etc/kubernetes/kubelet.conf.d'));
  const linked = await collectFacts({ hostRoot: fx.root, procRoot: fx.procRoot });
  t.deepEqual(linked.kubelet?.dropins, { dir: '/etc/kubernetes/kubelet.conf.d', files: [], error: null });
  const argv = ['/usr/local/bin/kubelet', '--config=/var/lib/kubelet/config.yaml', '--config-dir=/etc/kubernetes/kubelet.conf.d/'];
  await writeCmdline(fx.procRoot, 777, argv);
  const slashed = await collectFacts({ hostRoot: fx.root, procRoot: fx.procRoot });
  t.is(slashed.kubelet?.dropins?.files.length, 2);
});
