// Which host files each check depends on (agent/checks/dependencies.ts), and the guard that
// keeps the mapping honest as the checks change: a check's results must not move when every
// fact OUTSIDE the paths it declares is broken.
import test from 'ava';
import { readdirSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CATALOG, checkDependencies, dependencyIndex, evaluate } from '../../agent/checks/index.js';
import type { CheckSpec, CustomCheck, FileCheck } from '../../agent/checks/index.js';
import { USER_DB_PATHS } from '../../agent/checks/dependencies.js';
import { collectFacts, type ConfigDoc, type FactError, type FileFacts, type HostFacts } from '../../agent/facts/index.js';
import { FIXTURES_DIR, prepareFixture, writeCmdline } from '../helpers/fixture.js';

const NOW = new Date('2026-03-01T12:00:00Z');

async function factsOf(scenario: string, prepare?: (root: string, procRoot: string) => Promise<void>): Promise<HostFacts> {
  const fx = await prepareFixture(scenario);
  try {
    await prepare?.(fx.root, fx.procRoot);
    return await collectFacts({ hostRoot: fx.root, procRoot: fx.procRoot, now: () => NOW });
  } finally {
    await fx.cleanup();
  }
}

const depsById = (facts: HostFacts, specs: readonly CheckSpec[] = CATALOG) =>
  Object.fromEntries(specs.map((s) => [s.id, checkDependencies(s, facts)]));

/** The same for a few ids (the catalogue grows; these are the checks the tests are about). */
const depsOf = (facts: HostFacts, ids: readonly string[], extra: readonly CheckSpec[] = []) => {
  const all = depsById(facts, [...CATALOG, ...extra]);
  return Object.fromEntries(ids.map((id) => [id, all[id]]));
};

const KUBELET_IDS = ['cis-4.1.5', 'cis-4.1.9', 'cis-4.2.1', 'cis-4.2.2', 'cis-4.2.4'];

const KUBECONFIG_OWNER: FileCheck = {
  kind: 'file', id: 'test-kubeconfig-owner', references: [], title: 'kubeconfig owner', category: 'kubelet', severity: 'low',
  scored: true, remediation: '', property: 'owner', test: { op: 'eq', value: 'root:root' },
  file: { from: 'kubelet-flag', flag: 'kubeconfig', unsetReason: 'no --kubeconfig' },
};

test('insecure-worker: file checks name their file and its link target; settings the files they can come from', async (t) => {
  const facts = await factsOf('insecure-worker');
  t.deepEqual(depsOf(facts, [...KUBELET_IDS, KUBECONFIG_OWNER.id], [KUBECONFIG_OWNER]), {
    'cis-4.1.5': ['/etc/kubernetes/kubelet.conf', '/etc/kubernetes/real/kubelet.conf'],
    'cis-4.1.9': ['/var/lib/kubelet/config.yaml'],
    'cis-4.2.1': ['/var/lib/kubelet/config.yaml'],
    // --authorization-mode AlwaysAllow on the command line wins today; the config file still
    // counts (which source wins is the evaluation's business, and can change).
    'cis-4.2.2': ['/var/lib/kubelet/config.yaml'],
    'cis-4.2.4': ['/var/lib/kubelet/config.yaml'],
    // Owner names come from the host's own user database.
    'test-kubeconfig-owner': ['/etc/group', '/etc/kubernetes/kubelet.conf', '/etc/kubernetes/real/kubelet.conf', '/etc/passwd'],
  });
});

test('defaults-worker: settings, and the config file checks, depend on the drop-in directory (a new drop-in counts), every drop-in and the config', async (t) => {
  const facts = await factsOf('defaults-worker');
  const settings = ['/etc/kubernetes/kubelet.conf.d', '/etc/kubernetes/kubelet.conf.d/10-authz.conf', '/etc/kubernetes/kubelet.conf.d/20-authz.conf', '/var/lib/kubelet/config.yaml'];
  t.deepEqual(depsOf(facts, KUBELET_IDS), {
    'cis-4.1.5': ['/etc/kubernetes/kubelet.conf'],
    // 4.1.9 judges every drop-in the kubelet reads, as well as the --config file.
    'cis-4.1.9': settings,
    'cis-4.2.1': settings,
    'cis-4.2.2': settings,
    'cis-4.2.4': settings,
  });
  const index = dependencyIndex(CATALOG, facts);
  const config = index.get('/var/lib/kubelet/config.yaml') ?? [];
  for (const id of ['cis-4.1.9', 'cis-4.2.1', 'cis-4.2.2', 'cis-4.2.4']) t.true(config.includes(id), `${id} re-evaluated when the config changes`);
  t.false(config.includes('cis-4.1.5'), 'the kubeconfig check is not');
  t.true((index.get('/etc/kubernetes/kubelet.conf') ?? []).includes('cis-4.1.5'));
  t.false((index.get('/etc/kubernetes/kubelet.conf') ?? []).includes('cis-4.1.9'));
  for (const id of ['cis-4.1.9', 'cis-4.1.10']) t.true((index.get('/etc/kubernetes/kubelet.conf.d') ?? []).includes(id), `${id} re-evaluated when a drop-in appears`);
});

test('a kubelet found through its systemd unit: the unit files its flags came from count too', async (t) => {
  const facts = await factsOf('insecure-worker');
  const k = facts.kubelet!;
  const unit = '/etc/systemd/system/kubelet.service';
  const dropin = '/etc/systemd/system/kubelet.service.d/10-kubeadm.conf';
  const fromUnit: HostFacts = { ...facts, kubelet: { ...k, pid: 0, origin: 'unit', flagSources: k.flags.map((_f, i) => (i === 0 ? unit : dropin)) } };
  const deps = depsById(fromUnit);
  t.deepEqual(deps['cis-4.2.2'], [unit, dropin, '/var/lib/kubelet/config.yaml'], 'a flag set in the unit changes when the unit does');
  t.deepEqual(deps['cis-4.2.1'], [unit, dropin, '/var/lib/kubelet/config.yaml']);
  t.deepEqual(deps['cis-4.1.5'], ['/etc/kubernetes/kubelet.conf', '/etc/kubernetes/real/kubelet.conf', unit, dropin]);
});

/** The file checks whose files the running kubelet names (a flag, its client CA). */
const byKubelet = (s: CheckSpec): boolean => s.kind === 'kubelet-setting' || (s.kind === 'file' && (s.file.from === 'kubelet-flag' || s.file.from === 'kubelet-client-ca'));

test('no kubelet: nothing on disk can change a kubelet verdict, which is about the process table', async (t) => {
  const facts = await factsOf('insecure-worker', (_root, procRoot) => rm(join(procRoot, '4242'), { recursive: true }));
  const kubelet = CATALOG.filter(byKubelet);
  t.true(kubelet.length >= KUBELET_IDS.length + 2, 'the client CA checks are among them');
  t.deepEqual(Object.values(depsById(facts, kubelet)), kubelet.map(() => []));
  // The unit is on disk whether or not a kubelet runs: its checks still depend on where systemd finds it.
  t.true((depsById(facts)['cis-4.1.1'] ?? []).includes('/etc/systemd/system/kubelet.service.d'));
});

/** Where systemd looks for the kubelet's unit and its drop-ins (facts/kubelet-unit.ts). */
const UNIT_PLACES = ['/etc/systemd/system', '/lib/systemd/system', '/run/systemd/system', '/usr/lib/systemd/system', '/usr/local/lib/systemd/system']
  .flatMap((d) => [`${d}/kubelet.service`, `${d}/kubelet.service.d`]);
const sorted = (paths: readonly string[]): string[] => [...paths].sort();

test('unit-only-worker: the unit checks depend on the unit, its drop-ins and every place systemd looks; the client CA on where the setting comes from and the CA', async (t) => {
  const facts = await factsOf('unit-only-worker');
  const unitFiles = ['/etc/systemd/system/kubelet.service.d/10-kubeadm.conf', '/etc/systemd/system/kubelet.service.d/20-extra.conf', '/lib/systemd/system/kubelet.service'];
  const kubeletFlags = ['/etc/default/kubelet', '/etc/systemd/system/kubelet.service.d/10-kubeadm.conf', '/var/lib/kubelet/kubeadm-flags.env'];
  const deps = depsOf(facts, ['cis-4.1.1', 'cis-4.1.2', 'cis-4.1.3', 'cis-4.1.4', 'cis-4.1.8']);
  t.deepEqual(deps['cis-4.1.1'], sorted([...new Set([...UNIT_PLACES, ...unitFiles])]));
  t.deepEqual(deps['cis-4.1.2'], sorted([...new Set([...UNIT_PLACES, ...unitFiles, ...USER_DB_PATHS])]));
  // No kube-proxy runs: nothing on disk can change that.
  t.deepEqual(deps['cis-4.1.3'], []);
  t.deepEqual(deps['cis-4.1.4'], []);
  const ca = deps['cis-4.1.8'];
  if (ca === 'all' || ca === undefined) return t.fail('4.1.8 has no mapping');
  for (const p of [...kubeletFlags, '/var/lib/kubelet/config.yaml', '/etc/kubernetes/pki/ca.crt', ...USER_DB_PATHS]) t.true(ca.includes(p), `4.1.8 depends on ${p}`);
  t.false(ca.includes('/etc/kubernetes/kubelet.conf'), 'not on the kubeconfig');
  t.false(ca.includes('/lib/systemd/system/kubelet.service'), 'not on the unit file the kubelet\'s flags did not come from');
  const index = dependencyIndex(CATALOG, facts);
  t.deepEqual(index.get('/etc/systemd/system/kubelet.service.d/20-extra.conf')?.filter((id) => id.startsWith('cis-4.1.')), ['cis-4.1.1', 'cis-4.1.2']);
});

test('insecure-worker: kube-proxy\'s checks depend on the kubeconfig it names, as it names it', async (t) => {
  const facts = await factsOf('insecure-worker');
  t.deepEqual(depsOf(facts, ['cis-4.1.3', 'cis-4.1.4']), {
    'cis-4.1.3': ['/var/lib/kube-proxy/kubeconfig'],
    'cis-4.1.4': ['/etc/group', '/etc/passwd', '/var/lib/kube-proxy/kubeconfig'],
  });
  const index = dependencyIndex(CATALOG, facts);
  t.deepEqual(index.get('/var/lib/kube-proxy/kubeconfig')?.filter((id) => id.startsWith('cis-4.1.')), ['cis-4.1.3', 'cis-4.1.4']);
  t.false((index.get('/etc/kubernetes/kubelet.conf') ?? []).includes('cis-4.1.3'));
});

test('control-plane checks depend on the files the control-plane facts were read from, and the kubelet config (static pod path)', async (t) => {
  const facts = await factsOf('insecure-worker');
  const cp = CATALOG.filter((s) => s.kind === 'component-setting' || s.kind === 'control-plane-file');
  for (const spec of cp) {
    const deps = checkDependencies(spec, facts);
    if (deps === 'all') return t.fail(`${spec.id} has no mapping`);
    for (const p of [...(facts.controlPlane?.filesRead ?? []), '/var/lib/kubelet/config.yaml']) t.true(deps.includes(p), `${spec.id} depends on ${p}`);
    t.false(deps.includes('/etc/kubernetes/real/kubelet.conf'), `${spec.id} does not depend on the kubelet's kubeconfig`);
  }
});

test('a check that declares nothing depends on every path read; one that declares is taken at its word', async (t) => {
  const facts = await factsOf('insecure-worker');
  const meta = { references: [], title: 't', category: 'host', severity: 'low', scored: true, remediation: '', reads: '' } as const;
  const silent: CustomCheck = { ...meta, kind: 'custom', id: 'test-silent', evaluate: () => [] };
  const declared: CustomCheck = { ...meta, kind: 'custom', id: 'test-declared', evaluate: () => [], dependsOn: () => ['/etc/os-release', 'relative/ignored'] };
  // A kind this version does not know (added later by someone else) is treated like `silent`.
  const future = { ...meta, kind: 'component-flag', id: 'test-future' } as unknown as CheckSpec;
  t.is(checkDependencies(silent, facts), 'all');
  t.is(checkDependencies(future, facts), 'all');
  t.deepEqual(checkDependencies(declared, facts), ['/etc/os-release']);

  const specs = [...CATALOG.filter((s) => s.kind !== 'custom'), silent, declared, future];
  const index = dependencyIndex(specs, facts);
  for (const p of facts.filesRead) t.true(index.get(p)?.includes('test-silent'), `${p} re-evaluates the silent check`);
  t.deepEqual(index.get('/etc/os-release'), ['test-declared', 'test-silent', 'test-future'], 'every path any check names counts for `all`');
  t.deepEqual(index.get('/etc/kubernetes/real/kubelet.conf')?.filter((id) => id.startsWith('test-')), ['test-silent', 'test-future']);
  t.false(index.get('/etc/kubernetes/real/kubelet.conf')?.includes('test-declared'));
});

// ---- The guard ---------------------------------------------------------------------------

const broken = (path: string): FactError => ({ code: 'EIO', path, message: `EIO: ${path} (broken by the test)` });

/** The facts with everything the check did not declare made unreadable. */
function breakOutside(facts: HostFacts, keep: ReadonlySet<string>): HostFacts {
  const names = USER_DB_PATHS.every((p) => keep.has(p));
  const file = (f: FileFacts): FileFacts => {
    const kept = keep.has(f.path) && (f.realPath === null || keep.has(f.realPath));
    if (!kept) return { path: f.path, realPath: null, stat: null, owner: null, group: null, error: broken(f.path) };
    return names ? f : { ...f, owner: null, group: null };
  };
  const doc = (d: ConfigDoc): ConfigDoc => (keep.has(d.path) ? d : { path: d.path, data: null, error: broken(d.path) });
  const k = facts.kubelet;
  const kp = facts.kubeProxy;
  return {
    ...facts,
    files: Object.fromEntries(Object.entries(facts.files).map(([p, f]) => [p, file(f)])),
    // kube-proxy's files, read inside its own root, under the paths it names them by.
    ...(kp === undefined ? {} : {
      kubeProxy: { ...kp, config: kp.config === null ? null : doc(kp.config), files: Object.fromEntries(Object.entries(kp.files).map(([p, f]) => [p, file(f)])) },
    }),
    kubelet: k === null ? null : {
      ...k,
      config: k.config === null ? null : doc(k.config),
      dropins: k.dropins === null ? null
        : keep.has(k.dropins.dir) ? { ...k.dropins, files: k.dropins.files.map(doc) }
        : { dir: k.dropins.dir, files: [], error: broken(k.dropins.dir) },
    },
  };
}

const scenarios: Array<[string, string, ((root: string, procRoot: string) => Promise<void>)?]> = [
  ['insecure-worker', 'insecure-worker'],
  ['defaults-worker', 'defaults-worker'],
  ['flags over drop-ins', 'defaults-worker', (_r, proc) => writeCmdline(proc, 777, ['/usr/local/bin/kubelet', '--anonymous-auth', '--read-only-port=0', '--config-dir=/etc/kubernetes/kubelet.conf.d', '--config=/var/lib/kubelet/config.yaml'])],
  ['no config file', 'insecure-worker', (_r, proc) => writeCmdline(proc, 4242, ['/usr/bin/kubelet', '--kubeconfig=/etc/kubernetes/kubelet.conf'])],
  ['missing kubeconfig target', 'insecure-worker', (root) => rm(join(root, 'etc/kubernetes/real/kubelet.conf'))],
];

// Every other host tree under test/fixtures/hostroot as shipped (control planes, unit-only kubelets...).
for (const entry of readdirSync(FIXTURES_DIR)) {
  const name = /^(.+)\.modes\.json$/.exec(entry)?.[1];
  if (name !== undefined && !scenarios.some(([, f, prepare]) => f === name && prepare === undefined)) scenarios.push([`${name} as shipped`, name]);
}

for (const [name, fixture, prepare] of scenarios) {
  test(`guard (${name}): breaking every fact outside a check's declared paths leaves its results unchanged`, async (t) => {
    const facts = await factsOf(fixture, prepare);
    for (const spec of [...CATALOG, KUBECONFIG_OWNER]) {
      const deps = checkDependencies(spec, facts);
      // Every check that is data knows exactly which files it depends on.
      if (spec.kind !== 'custom') t.not(deps, 'all', `${spec.id} (${spec.kind}) declares its files`);
      if (deps === 'all') continue;
      t.deepEqual(
        evaluate(breakOutside(facts, new Set(deps)), [spec], NOW),
        evaluate(facts, [spec], NOW),
        `${spec.id} depends on more than ${JSON.stringify(deps)}`,
      );
    }
  });
}

test('the guard has teeth: a check judged on broken facts does change', async (t) => {
  // Whoever runs the test owns the fixture files: give that uid and gid names in the host tree.
  const facts = await factsOf('insecure-worker', async (root) => {
    await writeFile(join(root, 'etc/passwd'), `fixture-owner:x:${process.getuid?.() ?? 0}:0::/:/bin/sh\n`);
    await writeFile(join(root, 'etc/group'), `fixture-group:x:${process.getgid?.() ?? 0}:\n`);
  });
  const spec = CATALOG.find((s) => s.id === 'cis-4.1.9')!;
  t.notDeepEqual(evaluate(breakOutside(facts, new Set()), [spec], NOW), evaluate(facts, [spec], NOW));
  const owner = evaluate(breakOutside(facts, new Set(['/etc/kubernetes/kubelet.conf', '/etc/kubernetes/real/kubelet.conf'])), [KUBECONFIG_OWNER], NOW);
  t.notDeepEqual(owner, evaluate(facts, [KUBECONFIG_OWNER], NOW), 'without the user database the owner names change');
  // kube-proxy's files are broken too: its kubeconfig check sees it.
  const kubeProxy = CATALOG.find((s) => s.id === 'cis-4.1.3')!;
  t.notDeepEqual(evaluate(breakOutside(facts, new Set()), [kubeProxy], NOW), evaluate(facts, [kubeProxy], NOW));
});
