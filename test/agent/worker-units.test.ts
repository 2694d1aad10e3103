// The kubelet's systemd unit: the parser (systemd.syntax, systemd.exec, systemd.service rules)
// table by table, then discovery from a fixture host whose kubelet is visible only through its
// unit (the agent does not share the host's PID namespace).
import test from 'ava';
import { rm, writeFile, mkdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { collectFacts } from '../../agent/facts/index.js';
import { collectKubeletUnit } from '../../agent/facts/kubelet-unit.js';
import { createHostFs } from '../../agent/facts/host-fs.js';
import {
  expandExecStart, extractWords, parseEnvironmentFile, parseEnvironmentValue, parseUnitText, serviceSettings, unitCommand, unitFromCgroup,
  buildEnvironment, type Sourced,
} from '../../agent/facts/systemd-unit.js';
import { prepareFixture, writeCmdline } from '../helpers/fixture.js';

test('unit text: sections, comments, whitespace around =, continuation lines (comments inside them skipped)', (t) => {
  const text = [
    '# comment', '; also a comment', '[Unit]', 'Description = kubelet ', '', '[Service]',
    'ExecStart=/usr/bin/kubelet \\', '# skipped inside the continuation', '  --v=2 \\', '  --node-ip=10.0.0.1',
    'Environment=A=1', 'NoEquals', '[Install]', 'WantedBy=multi-user.target',
  ].join('\n');
  t.deepEqual(parseUnitText(text), [
    { section: 'Unit', key: 'Description', value: 'kubelet' },
    { section: 'Service', key: 'ExecStart', value: '/usr/bin/kubelet --v=2 --node-ip=10.0.0.1' },
    { section: 'Service', key: 'Environment', value: 'A=1' },
    { section: 'Install', key: 'WantedBy', value: 'multi-user.target' },
  ]);
});

const words: Array<[string, string[]]> = [
  ['a b   c', ['a', 'b', 'c']],
  ['"a b" c', ['a b', 'c']],
  ["x'a b'y z", ['xa by', 'z']],
  ['a\\ b', ['a b']],
  ['"tab\\there"', ['tab\there']],
  ['"unterminated quote', ['unterminated quote']],
  ['', []],
];
for (const [input, expected] of words) {
  test(`words: ${JSON.stringify(input)}`, (t) => t.deepEqual(extractWords(input), expected));
}

test('Environment=: quoted assignments, several per line, invalid names ignored, %% is %', (t) => {
  t.deepEqual(parseEnvironmentValue('"A=one two" B=3 9BAD=x NOEQ C=50%%'), [
    { name: 'A', value: 'one two' },
    { name: 'B', value: '3' },
    { name: 'C', value: '50%' },
  ]);
});

test('environment files: quotes, escapes, continuations, comments, export lines ignored', (t) => {
  const text = [
    '# kubeadm writes this file',
    'KUBELET_KUBEADM_ARGS="--container-runtime-endpoint=unix:///run/containerd/containerd.sock --pod-infra-container-image=registry.k8s.io/pause:3.10"',
    "SINGLE='keep $HOME and \\n as written'",
    'PLAIN=  value with trailing space   ',
    'ESCAPED=a\\ b',
    'CONT="first \\',
    'second"',
    '; a comment',
    'export EXPORTED=1',
    'EMPTY=',
    'DQ="say \\"hi\\" \\$x \\q"',
  ].join('\n');
  t.deepEqual(parseEnvironmentFile(text), [
    { name: 'KUBELET_KUBEADM_ARGS', value: '--container-runtime-endpoint=unix:///run/containerd/containerd.sock --pod-infra-container-image=registry.k8s.io/pause:3.10' },
    { name: 'SINGLE', value: 'keep $HOME and \\n as written' },
    { name: 'PLAIN', value: 'value with trailing space' },
    { name: 'ESCAPED', value: 'a b' },
    { name: 'CONT', value: 'first second' },
    { name: 'EMPTY', value: '' },
    { name: 'DQ', value: 'say "hi" $x \\q' },
  ]);
});

const src = (value: string, source = '/u'): Sourced<string> => ({ value, source });
const env = (entries: Record<string, [string, string]>): Map<string, Sourced<string>> =>
  new Map(Object.entries(entries).map(([k, [value, source]]) => [k, { value, source }]));

test('ExecStart=: $VAR as a word splits (quotes honoured), ${VAR} stays one word, $$ is $, unset is nothing', (t) => {
  const e = env({ ARGS: ['--a=1 "--b=two words"', '/env'], ONE: ['x y', '/d'], EMPTY: ['', '/d'] });
  const cmd = expandExecStart(src('/usr/bin/kubelet $ARGS --c=${ONE} $UNSET --price=$$5 $EMPTY --literal=$ONE'), e);
  t.deepEqual(cmd?.argv, ['/usr/bin/kubelet', '--a=1', '--b=two words', '--c=x y', '--price=$5', '--literal=$ONE']);
  t.deepEqual(cmd?.sources, ['/u', '/env', '/env', '/d', '/u', '/u']);
  t.deepEqual(cmd?.unsetVariables, ['UNSET']);
});

test('ExecStart= prefixes: - + ! keep the path; @ takes argv[0] from the next word; : turns expansion off', (t) => {
  const e = env({ A: ['--x', '/f'] });
  t.deepEqual(expandExecStart(src('-+/usr/bin/kubelet $A'), e)?.argv, ['/usr/bin/kubelet', '--x']);
  const at = expandExecStart(src('@/usr/local/bin/hyperkube kubelet $A'), e);
  t.is(at?.exe, '/usr/local/bin/hyperkube');
  t.deepEqual(at?.argv, ['kubelet', '--x']);
  t.deepEqual(expandExecStart(src(':/usr/bin/kubelet $A'), e)?.argv, ['/usr/bin/kubelet', '$A']);
  t.is(expandExecStart(src('   '), e), null);
});

test('settings across unit and drop-ins: empty assignments reset, the last ExecStart= wins, environment files win over Environment=', (t) => {
  const settings = serviceSettings([
    { path: '/lib/systemd/system/kubelet.service', text: '[Service]\nExecStart=/usr/bin/kubelet --old\nEnvironment=A=unit B=unit\nEnvironmentFile=/etc/old.env\n' },
    { path: '/etc/systemd/system/kubelet.service.d/10.conf', text: '[Service]\nExecStart=\nExecStart=/usr/bin/kubelet $A $B $C\nEnvironmentFile=\nEnvironmentFile=-/etc/default/kubelet\nWorkingDirectory=-/var/lib/kubelet\n' },
    { path: '/etc/systemd/system/kubelet.service.d/20.conf', text: '[Service]\nEnvironment=A=dropin C=dropin\n[Unit]\nExecStart=/not/in/service/section\n' },
  ]);
  t.deepEqual(settings.execStart.map((e) => e.value), ['/usr/bin/kubelet $A $B $C']);
  t.deepEqual(settings.environmentFiles, [{ path: '/etc/default/kubelet', optional: true, namedIn: '/etc/systemd/system/kubelet.service.d/10.conf' }]);
  t.deepEqual(settings.workingDirectory, { value: '/var/lib/kubelet', source: '/etc/systemd/system/kubelet.service.d/10.conf' });
  const environment = buildEnvironment(settings, [{ path: '/etc/default/kubelet', assignments: [{ name: 'C', value: 'file' }] }]);
  const cmd = unitCommand(settings, environment);
  // A: the later Environment= wins; B: the unit's; C: the environment file beats the drop-in's Environment=.
  t.deepEqual(cmd?.argv, ['/usr/bin/kubelet', 'dropin', 'unit', 'file']);
  t.deepEqual(cmd?.sources, [
    '/etc/systemd/system/kubelet.service.d/10.conf',
    '/etc/systemd/system/kubelet.service.d/20.conf',
    '/lib/systemd/system/kubelet.service',
    '/etc/default/kubelet',
  ]);
});

test('a reset with no ExecStart= after it leaves no command', (t) => {
  const settings = serviceSettings([{ path: '/u', text: '[Service]\nExecStart=/usr/bin/kubelet\nExecStart=\n' }]);
  t.is(unitCommand(settings, new Map()), null);
});

test('the unit a process runs in, from its cgroup (v2 and v1), or none', (t) => {
  t.is(unitFromCgroup('0::/system.slice/kubelet.service\n'), 'kubelet.service');
  t.is(unitFromCgroup('12:pids:/x\n1:name=systemd:/system.slice/snap.kubelet.daemon.service\n0::/\n'), 'snap.kubelet.daemon.service');
  t.is(unitFromCgroup('0::/kubepods.slice/kubepods-pod1.slice/cri-containerd-abc.scope\n'), null);
});

// ---- discovery from the fixture host ---------------------------------------------------

test('unit-only-worker: the unit, the drop-ins systemd applies (same name: /etc hides /lib), the environment files', async (t) => {
  const fx = await prepareFixture('unit-only-worker');
  t.teardown(fx.cleanup);
  const unit = await collectKubeletUnit(createHostFs(fx.root));
  t.is(unit.unitFile, '/lib/systemd/system/kubelet.service');
  t.deepEqual(unit.dropins, ['/etc/systemd/system/kubelet.service.d/10-kubeadm.conf', '/etc/systemd/system/kubelet.service.d/20-extra.conf']);
  t.deepEqual(unit.environmentFiles.map((e) => [e.path, e.optional, e.found]), [
    ['/var/lib/kubelet/kubeadm-flags.env', true, true],
    ['/etc/default/kubelet', true, true],
    ['/etc/sysconfig/kubelet', true, false],
  ]);
  t.deepEqual(unit.errors, [], 'a missing optional environment file is not an error');
  t.deepEqual(unit.command?.argv, [
    '/usr/bin/kubelet',
    '--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf',
    '--kubeconfig=/etc/kubernetes/kubelet.conf',
    '--config=/var/lib/kubelet/config.yaml',
    '--container-runtime-endpoint=unix:///var/run/containerd/containerd.sock',
    '--streaming-connection-idle-timeout=0',
    '--feature-gates=RotateKubeletServerCertificate=true,InPlacePodVerticalScaling=false',
    '--node-labels=site=lab',
  ]);
  t.false(unit.command?.argv.includes('--this-copy-is-shadowed=true'));
  t.false(unit.command?.argv.includes('--anonymous-auth=true'), "20-extra.conf's Environment= loses to /etc/default/kubelet");
});

test('unit-only-worker: with no kubelet process the kubelet is taken from its unit, flags traced to their files', async (t) => {
  const fx = await prepareFixture('unit-only-worker');
  t.teardown(fx.cleanup);
  const facts = await collectFacts({ hostRoot: fx.root, procRoot: fx.procRoot });
  const k = facts.kubelet;
  if (k === null) return t.fail(facts.kubeletAbsence?.reason);
  t.is(k.origin, 'unit');
  t.is(k.pid, 0);
  t.is(k.exe, '/usr/bin/kubelet');
  t.is(k.cwd, '/');
  t.is(k.config?.path, '/var/lib/kubelet/config.yaml');
  const sourceOf = (name: string): string | undefined => k.flagSources?.[k.flags.findIndex((f) => f.name === name)];
  t.is(sourceOf('kubeconfig'), '/etc/systemd/system/kubelet.service.d/10-kubeadm.conf');
  t.is(sourceOf('streaming-connection-idle-timeout'), '/var/lib/kubelet/kubeadm-flags.env');
  t.is(sourceOf('feature-gates'), '/etc/default/kubelet');
  t.is(facts.kubeletAbsence, null);
  for (const p of ['/lib/systemd/system/kubelet.service', '/etc/systemd/system/kubelet.service.d/20-extra.conf', '/var/lib/kubelet/kubeadm-flags.env', '/etc/default/kubelet']) {
    t.true(facts.filesRead.includes(p), `${p} is listed for the watcher`);
  }
});

test('a live kubelet process wins over its unit, and the unit is still described (for CIS 4.1.1/4.1.2)', async (t) => {
  const fx = await prepareFixture('unit-only-worker');
  t.teardown(fx.cleanup);
  await mkdir(join(fx.procRoot, '900'));
  await writeCmdline(fx.procRoot, 900, ['/usr/bin/kubelet', '--config=/var/lib/kubelet/config.yaml']);
  await symlink('/', join(fx.procRoot, '900/cwd'));
  await writeFile(join(fx.procRoot, '900/cgroup'), '0::/system.slice/kubelet.service\n');
  const facts = await collectFacts({ hostRoot: fx.root, procRoot: fx.procRoot });
  t.is(facts.kubelet?.pid, 900);
  t.is(facts.kubelet?.origin, undefined);
  t.is(facts.kubeletUnit?.unitFile, '/lib/systemd/system/kubelet.service');
});

test('the unit named by the kubelet cgroup is looked up first (a snap-installed kubelet)', async (t) => {
  const fx = await prepareFixture('unit-only-worker');
  t.teardown(fx.cleanup);
  await mkdir(join(fx.root, 'etc/systemd/system'), { recursive: true });
  await writeFile(join(fx.root, 'etc/systemd/system/snap.kubelet.daemon.service'), '[Service]\nExecStart=/usr/bin/snap run kubelet.daemon\n');
  await mkdir(join(fx.procRoot, '900'));
  await writeCmdline(fx.procRoot, 900, ['/snap/kubelet/current/kubelet']);
  await writeFile(join(fx.procRoot, '900/cgroup'), '0::/system.slice/snap.kubelet.daemon.service\n');
  const facts = await collectFacts({ hostRoot: fx.root, procRoot: fx.procRoot });
  t.is(facts.kubeletUnit?.name, 'snap.kubelet.daemon.service');
  t.is(facts.kubeletUnit?.unitFile, '/etc/systemd/system/snap.kubelet.daemon.service');
});

test('a masked unit starts nothing; no unit and no process is "not running", saying where it looked', async (t) => {
  const fx = await prepareFixture('unit-only-worker');
  t.teardown(fx.cleanup);
  await mkdir(join(fx.root, 'etc/systemd/system'), { recursive: true });
  await mkdir(join(fx.root, 'dev'));
  await writeFile(join(fx.root, 'dev/null'), '');
  await symlink('/dev/null', join(fx.root, 'etc/systemd/system/kubelet.service'));
  const masked = await collectFacts({ hostRoot: fx.root, procRoot: fx.procRoot });
  t.true(masked.kubeletUnit?.masked);
  t.is(masked.kubelet, null);
  t.is(masked.kubeletAbsence?.status, 'not-running');

  await rm(join(fx.root, 'etc/systemd/system/kubelet.service'));
  await rm(join(fx.root, 'lib/systemd/system/kubelet.service'));
  const none = await collectFacts({ hostRoot: fx.root, procRoot: fx.procRoot });
  t.is(none.kubelet, null);
  t.regex(none.kubeletAbsence?.reason ?? '', /no kubelet process among the 2 processes .*and no kubelet\.service unit in \/etc\/systemd\/system, /);
});

test('a required environment file that is missing is recorded as an error (systemd would not start the unit)', async (t) => {
  const fx = await prepareFixture('unit-only-worker');
  t.teardown(fx.cleanup);
  await writeFile(join(fx.root, 'etc/systemd/system/kubelet.service.d/30-required.conf'), '[Service]\nEnvironmentFile=/etc/kubelet-required.env\n');
  const unit = await collectKubeletUnit(createHostFs(fx.root));
  t.is(unit.errors.length, 1);
  t.regex(unit.errors[0]?.message ?? '', /required: systemd would refuse to start the unit/);
});

test('secrets in a unit command line are redacted before they become facts', async (t) => {
  const fx = await prepareFixture('unit-only-worker');
  t.teardown(fx.cleanup);
  await writeFile(join(fx.root, 'etc/default/kubelet'), 'KUBELET_EXTRA_ARGS="--token=unit-secret-5c1e --node-labels=a=b"\n');
  const facts = await collectFacts({ hostRoot: fx.root, procRoot: fx.procRoot });
  t.false(JSON.stringify(facts).includes('unit-secret-5c1e'));
  t.true(facts.kubelet?.argv.includes('--token=<redacted>'));
});
