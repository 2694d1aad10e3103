import test from 'ava';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createHostFs } from '../../agent/facts/host-fs.js';
import { kubeletArgs } from '../../agent/facts/kubelet.js';
import { commandName, findProcesses, parseCmdline } from '../../agent/facts/proc.js';
import { prepareFixture } from '../helpers/fixture.js';

test('cmdline is NUL-separated argv', (t) => {
  t.deepEqual(parseCmdline(Buffer.from('/usr/bin/kubelet\x00--v\x002\x00')), ['/usr/bin/kubelet', '--v', '2']);
  t.deepEqual(parseCmdline(Buffer.from('a\0\0b\0')), ['a', '', 'b']);
  t.deepEqual(parseCmdline(Buffer.from('no-trailing-nul')), ['no-trailing-nul']);
  t.deepEqual(parseCmdline(Buffer.alloc(0)), []);
});

test('processes are matched on the basename of argv[0], not on the whole line', async (t) => {
  const fx = await prepareFixture('insecure-worker');
  t.teardown(fx.cleanup);
  const scan = await findProcesses(createHostFs(fx.procRoot), (argv) => kubeletArgs(argv) !== null);
  t.is(scan.error, null);
  t.is(scan.scanned, 5);
  // pid 310 is `tail -F /var/log/kubelet.log`: its line mentions kubelet, its argv[0] is not.
  t.deepEqual(scan.matches.map((p) => p.pid), [4242]);
  t.is(commandName(scan.matches[0]?.argv ?? []), 'kubelet');
});

test('exe and cwd are link values, never followed', async (t) => {
  const fx = await prepareFixture('insecure-worker');
  t.teardown(fx.cleanup);
  const scan = await findProcesses(createHostFs(fx.procRoot), (argv) => commandName(argv) === 'kubelet');
  const kubelet = scan.matches[0];
  // /usr/bin/kubelet does not exist in the fixture: only the link value can have produced it.
  t.is(kubelet?.exe, '/usr/bin/kubelet');
  t.is(kubelet?.cwd, '/var/lib/kubelet');
  t.deepEqual(kubelet?.errors, []);
});

test('an unreadable link is recorded as an error, the process is still reported', async (t) => {
  const fx = await prepareFixture('insecure-worker');
  t.teardown(fx.cleanup);
  await rm(join(fx.procRoot, '4242', 'cwd'));
  const scan = await findProcesses(createHostFs(fx.procRoot), (argv) => commandName(argv) === 'kubelet');
  t.is(scan.matches[0]?.cwd, null);
  t.is(scan.matches[0]?.errors[0]?.code, 'ENOENT');
});

test('a missing proc root is an error value', async (t) => {
  const scan = await findProcesses(createHostFs('/nonexistent-proc-root-for-nodeward'), () => true);
  t.is(scan.error?.code, 'ENOENT');
  t.deepEqual(scan.matches, []);
});

test('the real /proc: this test process is found with its cwd', async (t) => {
  const scan = await findProcesses(createHostFs('/proc'), () => true);
  const self = scan.matches.find((p) => p.pid === process.pid);
  t.truthy(self);
  t.is(self?.cwd, process.cwd());
});

test('kubeletArgs recognises kubelet and hyperkube kubelet only', (t) => {
  t.deepEqual(kubeletArgs(['/usr/bin/kubelet', '--v=2']), ['--v=2']);
  t.deepEqual(kubeletArgs(['kubelet']), []);
  t.deepEqual(kubeletArgs(['/hyperkube', 'kubelet', '--config=/c.yaml']), ['--config=/c.yaml']);
  t.is(kubeletArgs(['/hyperkube', 'kube-proxy']), null);
  t.is(kubeletArgs(['/opt/bin/kubelet-wrapper', 'kubelet']), null);
  t.is(kubeletArgs(['/usr/bin/tail', '-F', '/var/log/kubelet']), null);
  t.is(kubeletArgs([]), null);
});
