// Distribution layouts (issue 22): each distribution's fixture host tree, written after its
// image's documented layout (test/fixtures/hostroot/<name>.sources.md lists the sources), is
// detected as that distribution, and the kubelet's (and kube-proxy's) files are found where
// the layout says. Detection is also tested as a pure function: precedence, an ambiguous node
// and the setting that settles it, labels and /etc/os-release, and never a throw.
import test from 'ava';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { collectFacts, type HostFacts } from '../../agent/facts/index.js';
import { boundedNodeLabels, detectDistribution, MAX_NODE_LABELS, parseOsRelease, type NodeEvidence } from '../../agent/facts/distribution.js';
import { argsFileArgs } from '../../agent/facts/embedded-args.js';
import { DISTRIBUTION_NAMES, LAYOUTS, layoutByName } from '../../agent/facts/layouts.js';
import type { DistributionName } from '../../agent/facts/layouts.js';
import { shapeArgs } from '../../agent/facts/process-shape.js';
import { FIXTURES_DIR, prepareFixture } from '../helpers/fixture.js';
import { runScanCommand } from '../../agent/scan-command.js';
import { loadAgentConfig } from '../../agent/config.js';
import { PassThrough } from 'node:stream';
import { checkProperty, fc } from '../helpers/property.js';

type Teardown = { teardown(fn: () => unknown): void };

async function factsOf(t: Teardown, scenario: string, opts: { distribution?: string; prepare?: (root: string) => Promise<void> } = {}): Promise<HostFacts> {
  const fx = await prepareFixture(scenario);
  t.teardown(fx.cleanup);
  await opts.prepare?.(fx.root);
  return collectFacts({ hostRoot: fx.root, procRoot: fx.procRoot, ...(opts.distribution === undefined ? {} : { distribution: opts.distribution }) });
}

interface Expected {
  readonly benchmark: string;
  /** A piece of the detection's evidence. */
  readonly evidence: RegExp;
  readonly origin: 'process' | 'embedded';
  readonly config: string | null;
  readonly configDir: string | null;
  readonly configDropins: readonly string[];
  readonly kubeconfig: string;
  readonly unit: string;
  readonly unitFile: string;
  readonly unitDropins: readonly string[];
  /** A kubelet flag and the value it must have (from the unit, the flags file, the args file or kubelet-arg). */
  readonly flag: readonly [string, string];
  /** kube-proxy embedded in the distribution's process: its kubeconfig; null when it runs as a pod (not in the fixture). */
  readonly kubeProxyKubeconfig: string | null;
}

const TABLE: { readonly [N in DistributionName]: Expected } = {
  kubeadm: {
    benchmark: 'cis-1.12', evidence: /\/var\/lib\/kubelet\/kubeadm-flags\.env exists/, origin: 'process',
    config: '/var/lib/kubelet/config.yaml', configDir: null, configDropins: [], kubeconfig: '/etc/kubernetes/kubelet.conf',
    unit: 'kubelet.service', unitFile: '/usr/lib/systemd/system/kubelet.service',
    unitDropins: ['/usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf'],
    flag: ['container-runtime-endpoint', 'unix:///var/run/containerd/containerd.sock'], kubeProxyKubeconfig: null,
  },
  'eks-al2': {
    benchmark: 'cis-eks-1.7', evidence: /\/etc\/eks\/bootstrap\.sh exists; \/etc\/os-release says amzn 2$/, origin: 'process',
    config: '/etc/kubernetes/kubelet/kubelet-config.json', configDir: null, configDropins: [], kubeconfig: '/var/lib/kubelet/kubeconfig',
    unit: 'kubelet.service', unitFile: '/etc/systemd/system/kubelet.service',
    unitDropins: ['/etc/systemd/system/kubelet.service.d/10-kubelet-args.conf', '/etc/systemd/system/kubelet.service.d/30-kubelet-extra-args.conf'],
    flag: ['node-labels', 'eks.amazonaws.com/nodegroup=ng-fixture'], kubeProxyKubeconfig: null,
  },
  'eks-al2023': {
    benchmark: 'cis-eks-1.7', evidence: /\/usr\/bin\/nodeadm exists/, origin: 'process',
    config: '/etc/kubernetes/kubelet/config.json', configDir: '/etc/kubernetes/kubelet/config.json.d',
    configDropins: ['/etc/kubernetes/kubelet/config.json.d/00-nodeadm.conf'], kubeconfig: '/var/lib/kubelet/kubeconfig',
    unit: 'kubelet.service', unitFile: '/etc/systemd/system/kubelet.service', unitDropins: [],
    flag: ['cloud-provider', 'external'], kubeProxyKubeconfig: null,
  },
  'eks-bottlerocket': {
    benchmark: 'cis-eks-1.7', evidence: /\/usr\/bin\/apiclient exists; \/etc\/os-release says bottlerocket 1\.26\.1/, origin: 'process',
    config: '/etc/kubernetes/kubelet/config', configDir: null, configDropins: [], kubeconfig: '/etc/kubernetes/kubelet/kubeconfig',
    unit: 'kubelet.service', unitFile: '/usr/lib/systemd/system/kubelet.service', unitDropins: [],
    flag: ['root-dir', '/var/lib/kubelet'], kubeProxyKubeconfig: null,
  },
  'gke-cos': {
    benchmark: 'cis-gke-1.8', evidence: /\/home\/kubernetes\/kubelet-config\.yaml exists.*os-release says cos 113/, origin: 'process',
    config: '/home/kubernetes/kubelet-config.yaml', configDir: null, configDropins: [], kubeconfig: '/var/lib/kubelet/kubeconfig',
    unit: 'kubelet.service', unitFile: '/etc/systemd/system/kubelet.service', unitDropins: [],
    flag: ['bootstrap-kubeconfig', '/var/lib/kubelet/bootstrap-kubeconfig'], kubeProxyKubeconfig: null,
  },
  'gke-ubuntu': {
    benchmark: 'cis-gke-1.8', evidence: /os-release says ubuntu 22\.04/, origin: 'process',
    config: '/home/kubernetes/kubelet-config.yaml', configDir: null, configDropins: [], kubeconfig: '/var/lib/kubelet/kubeconfig',
    unit: 'kubelet.service', unitFile: '/etc/systemd/system/kubelet.service', unitDropins: [],
    flag: ['bootstrap-kubeconfig', '/var/lib/kubelet/bootstrap-kubeconfig'], kubeProxyKubeconfig: null,
  },
  'aks-ubuntu': {
    benchmark: 'cis-aks-1.7', evidence: /\/etc\/kubernetes\/azure\.json exists.*os-release says ubuntu/, origin: 'process',
    config: '/etc/default/kubeletconfig.json', configDir: null, configDropins: [], kubeconfig: '/var/lib/kubelet/kubeconfig',
    unit: 'kubelet.service', unitFile: '/etc/systemd/system/kubelet.service',
    unitDropins: ['/etc/systemd/system/kubelet.service.d/10-componentconfig.conf', '/etc/systemd/system/kubelet.service.d/10-tlsbootstrap.conf'],
    flag: ['node-labels', 'kubernetes.azure.com/os-sku=Ubuntu,kubernetes.azure.com/role=agent'], kubeProxyKubeconfig: null,
  },
  'aks-azurelinux': {
    benchmark: 'cis-aks-1.7', evidence: /os-release says azurelinux 3\.0/, origin: 'process',
    config: '/etc/default/kubeletconfig.json', configDir: null, configDropins: [], kubeconfig: '/var/lib/kubelet/kubeconfig',
    unit: 'kubelet.service', unitFile: '/etc/systemd/system/kubelet.service',
    unitDropins: ['/etc/systemd/system/kubelet.service.d/10-componentconfig.conf', '/etc/systemd/system/kubelet.service.d/10-tlsbootstrap.conf'],
    flag: ['node-labels', 'kubernetes.azure.com/os-sku=AzureLinux,kubernetes.azure.com/role=agent'], kubeProxyKubeconfig: null,
  },
  k3s: {
    benchmark: 'k3s-cis-1.8', evidence: /a `k3s agent` process runs \(pid 1201\)/, origin: 'embedded',
    config: null, configDir: '/var/lib/rancher/k3s/agent/etc/kubelet.conf.d',
    configDropins: ['/var/lib/rancher/k3s/agent/etc/kubelet.conf.d/00-k3s-defaults.conf'], kubeconfig: '/var/lib/rancher/k3s/agent/kubelet.kubeconfig',
    unit: 'k3s-agent.service', unitFile: '/etc/systemd/system/k3s-agent.service', unitDropins: [],
    flag: ['event-qps', '0'], kubeProxyKubeconfig: '/var/lib/rancher/k3s/agent/kubeproxy.kubeconfig',
  },
  rke2: {
    benchmark: 'rke2-cis-1.8', evidence: /a `rke2 agent` process runs \(pid 1402\)/, origin: 'process',
    config: null, configDir: null, configDropins: [], kubeconfig: '/var/lib/rancher/rke2/agent/kubelet.kubeconfig',
    unit: 'rke2-agent.service', unitFile: '/usr/local/lib/systemd/system/rke2-agent.service', unitDropins: [],
    flag: ['client-ca-file', '/var/lib/rancher/rke2/agent/client-ca.crt'], kubeProxyKubeconfig: null,
  },
  microk8s: {
    benchmark: 'cis-1.24-microk8s', evidence: /a `kubelite` process runs \(pid 3001\)/, origin: 'embedded',
    config: null, configDir: null, configDropins: [], kubeconfig: '/var/snap/microk8s/current/credentials/kubelet.config',
    unit: 'snap.microk8s.daemon-kubelite.service', unitFile: '/etc/systemd/system/snap.microk8s.daemon-kubelite.service', unitDropins: [],
    flag: ['client-ca-file', '/var/snap/microk8s/current/certs/ca.crt'], kubeProxyKubeconfig: '/var/snap/microk8s/current/credentials/proxy.config',
  },
};

// ---- every layout has a fixture, every distribution fixture a layout ----------------------

test('every layout has a fixture named after it with its sources, and every fixture with sources is a layout', (t) => {
  const withSources = readdirSync(FIXTURES_DIR).filter((f) => f.endsWith('.sources.md')).map((f) => f.slice(0, -'.sources.md'.length)).sort();
  t.deepEqual(withSources, [...DISTRIBUTION_NAMES].sort());
  for (const name of DISTRIBUTION_NAMES) {
    t.true(existsSync(join(FIXTURES_DIR, name, 'proc')), `${name}: a host tree with a process table`);
    t.true(existsSync(join(FIXTURES_DIR, `${name}.modes.json`)), `${name}: modes`);
    t.regex(readFileSync(join(FIXTURES_DIR, `${name}.sources.md`), 'utf8'), /https:\/\//, `${name}: its sources are listed`);
  }
  t.deepEqual(Object.keys(TABLE).sort(), [...DISTRIBUTION_NAMES].sort(), 'the table below covers every layout');
});

test('each layout names a benchmark, a unit for its kubelet and at least one sign to detect it by', (t) => {
  for (const l of LAYOUTS) {
    t.regex(l.benchmark, /^[a-z0-9][a-z0-9.-]+$/, l.name);
    t.true(l.kubelet.units.length > 0, `${l.name}: kubelet units`);
    t.true(l.kubelet.kubeconfigs.length > 0, `${l.name}: kubelet kubeconfigs`);
    t.true(l.detect.paths.length + l.detect.processes.length + l.detect.labels.length > 0, `${l.name}: signs`);
  }
});

// ---- each fixture: detected, and the kubelet's files found --------------------------------

for (const name of DISTRIBUTION_NAMES) {
  const e = TABLE[name];
  test(`${name}: detected from its fixture, and the kubelet's config, kubeconfig, unit and drop-ins are found`, async (t) => {
    const facts = await factsOf(t, name);
    const d = facts.distribution!;
    t.is(d.name, name, d.reason);
    t.is(d.benchmark, e.benchmark);
    t.is(d.source, 'detected');
    t.regex(d.evidence.join('; '), e.evidence);
    t.deepEqual(d.candidates.map((c) => c.name), [name], `no other layout's signs: ${d.reason}`);
    t.is(layoutByName(d.name).benchmark, d.benchmark);

    const k = facts.kubelet;
    if (k === null) return t.fail(`no kubelet: ${facts.kubeletAbsence?.reason ?? ''}`);
    t.is(k.origin ?? 'process', e.origin);
    t.is(k.config?.path ?? null, e.config);
    t.is(k.config?.error ?? null, null, 'the config file is read');
    t.is(k.dropins?.dir ?? null, e.configDir);
    t.deepEqual((k.dropins?.files ?? []).map((f) => f.path), e.configDropins);
    t.is(k.paths.find((p) => p.flag === 'kubeconfig')?.path, e.kubeconfig);
    t.is(k.kubeconfigAuth?.error ?? null, null, 'the kubeconfig is read');
    t.truthy(k.kubeconfigAuth?.kinds?.length, 'the kubeconfig names a credential');
    const [flag, value] = e.flag;
    t.is(k.flags.filter((f) => f.name === flag).at(-1)?.value, value, `--${flag}`);
    t.is(facts.kubeletUnit?.name, e.unit);
    t.is(facts.kubeletUnit?.unitFile, e.unitFile);
    t.deepEqual(facts.kubeletUnit?.dropins, e.unitDropins);
    // The files the checks judge are stat'ed.
    for (const p of [e.config, e.kubeconfig, ...e.configDropins]) if (p !== null) t.like(facts.files[p], { error: null }, p);

    // The layout's data says what the fixture's kubelet really uses.
    const l = layoutByName(name).kubelet;
    if (k.config !== null) t.true(l.configFiles.includes(k.config.path), `${k.config.path} is among the layout's config files`);
    if (k.dropins !== null) t.true(l.configDirs.includes(k.dropins.dir), `${k.dropins.dir} is among the layout's config dirs`);
    t.true(l.kubeconfigs.includes(e.kubeconfig), `${e.kubeconfig} is among the layout's kubeconfigs`);
    t.true(l.units.includes(e.unit), `${e.unit} is among the layout's units`);
    for (const f of facts.kubeletUnit?.environmentFiles ?? []) if (f.found) t.true(l.flagsFiles.includes(f.path), `${f.path} is among the layout's flag files`);

    if (e.kubeProxyKubeconfig !== null) {
      t.is(facts.kubeProxy?.status, 'running');
      t.truthy(facts.kubeProxy?.embeddedIn);
      t.like(facts.kubeProxy?.files[e.kubeProxyKubeconfig], { error: null });
    }
  });
}

test('k3s: the embedded kubelet\'s flags come from k3s, config.yaml, its drop-ins (`+` appends) in that order, and say where', async (t) => {
  const facts = await factsOf(t, 'k3s');
  const k = facts.kubelet!;
  t.is(k.embeddedIn, 'k3s agent');
  t.is(k.pid, 1201);
  t.deepEqual(k.flags.map((f) => f.name), ['kubeconfig', 'config-dir', 'streaming-connection-idle-timeout', 'make-iptables-util-chains', 'event-qps']);
  t.deepEqual(k.flagSources, ['', '', '/etc/rancher/k3s/config.yaml', '/etc/rancher/k3s/config.yaml', '/etc/rancher/k3s/config.yaml.d/50-hardening.yaml']);
  t.deepEqual(facts.kubeProxy?.flags.map((f) => `${f.name}=${f.value}`), ['kubeconfig=/var/lib/rancher/k3s/agent/kubeproxy.kubeconfig', 'metrics-bind-address=127.0.0.1:10249']);
});

test('k3s: a --kubelet-arg on the agent\'s command line comes after the configuration files', async (t) => {
  const facts = await factsOf(t, 'k3s', {
    prepare: (root) => writeFile(join(root, 'proc/1201/cmdline'), ['/usr/local/bin/k3s', 'agent', '--kubelet-arg', 'event-qps=5'].map((a) => `${a}\0`).join('')),
  });
  t.is(facts.kubelet!.flags.filter((f) => f.name === 'event-qps').at(-1)?.value, '5');
  t.is(facts.kubelet!.flagSources?.at(-1), '');
});

test('k3s: disable-agent or disable-kube-proxy, in a drop-in or on the command line, means no embedded kubelet or kube-proxy, saying why', async (t) => {
  const noProxy = await factsOf(t, 'k3s', {
    prepare: (root) => writeFile(join(root, 'etc/rancher/k3s/config.yaml.d/60-no-proxy.yaml'), 'disable-kube-proxy: true\n'),
  });
  t.is(noProxy.kubeProxy?.status, 'not-running');
  t.regex(noProxy.kubeProxy?.reason ?? '', /the `k3s agent` process \(pid 1201\) runs no kube-proxy: disable-kube-proxy in \/etc\/rancher\/k3s\/config\.yaml\.d\/60-no-proxy\.yaml/);
  t.truthy(noProxy.kubelet, 'the kubelet still runs');

  const noAgent = await factsOf(t, 'k3s', {
    prepare: (root) => writeFile(join(root, 'proc/1201/cmdline'), ['/usr/local/bin/k3s', 'server', '--disable-agent'].map((a) => `${a}\0`).join('')),
  });
  t.is(noAgent.kubelet, null);
  t.regex(noAgent.kubeletAbsence?.reason ?? '', /the `k3s server` process \(pid 1201\) runs no kubelet: --disable-agent on the command line/);

  const reEnabled = await factsOf(t, 'k3s', {
    prepare: async (root) => {
      await writeFile(join(root, 'etc/rancher/k3s/config.yaml.d/60-a.yaml'), 'disable-kube-proxy: true\n');
      await writeFile(join(root, 'etc/rancher/k3s/config.yaml.d/70-b.yaml'), 'disable-kube-proxy: false\n');
    },
  });
  t.is(reEnabled.kubeProxy?.status, 'running', 'a later file turns it back on');
});

test('microk8s: the kubelet\'s flags are kubelite\'s args file, ${SNAP_DATA} expanded, each from that file', async (t) => {
  const facts = await factsOf(t, 'microk8s');
  const k = facts.kubelet!;
  t.is(k.embeddedIn, 'kubelite');
  t.is(k.flags.find((f) => f.name === 'eviction-hard')?.value, 'memory.available<100Mi,nodefs.available<1Gi,imagefs.available<1Gi');
  t.is(k.flags.find((f) => f.name === 'root-dir')?.value, '/var/snap/microk8s/common/var/lib/kubelet');
  t.true(k.flagSources!.every((s) => s === '/var/snap/microk8s/7394/args/kubelet'));
});

test('nodeward scan\'s text report names the distribution, its benchmark and why; --distribution overrides it', async (t) => {
  const fx = await prepareFixture('microk8s');
  t.teardown(fx.cleanup);
  const run = async (distribution?: string): Promise<string> => {
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    await runScanCommand({ hostRoot: fx.root, procRoot: fx.procRoot, node: 'n1', format: 'text', checks: ['4.1'], dumpFacts: false, probe: false, distribution }, out, new PassThrough());
    return Buffer.concat(chunks).toString('utf8').split('\n')[1] ?? '';
  };
  t.regex(await run(), /^distribution: microk8s, judged by cis-1\.24-microk8s; microk8s: a `kubelite` process runs \(pid 3001\); \/var\/snap\/microk8s exists$/);
  t.regex(await run('kubeadm'), /^distribution: kubeadm, judged by cis-1\.12; kubeadm, as the agent setting distribution says \(the node's signs point to microk8s\)$/);
});

// ---- an ambiguous node, settled by the setting --------------------------------------------

test('a k3s agent node that also has rke2\'s directories: k3s by its process, the ambiguity said, and the setting settles it', async (t) => {
  const prepare = async (root: string): Promise<void> => {
    await mkdir(join(root, 'var/lib/rancher/rke2/agent'), { recursive: true });
  };
  const auto = await factsOf(t, 'k3s', { prepare });
  t.is(auto.distribution?.name, 'k3s');
  t.deepEqual(auto.distribution?.candidates.map((c) => c.name), ['k3s', 'rke2']);
  t.regex(auto.distribution!.reason, /also shows signs of rke2 \(\/var\/lib\/rancher\/rke2 exists\): k3s wins by precedence .*Set the agent setting distribution to settle it/);

  const set = await factsOf(t, 'k3s', { prepare, distribution: 'rke2' });
  t.is(set.distribution?.name, 'rke2');
  t.is(set.distribution?.benchmark, 'rke2-cis-1.8');
  t.is(set.distribution?.source, 'config');
  t.regex(set.distribution!.reason, /as the agent setting distribution says \(the node's signs point to k3s, rke2\)/);
  // Read with rke2's layout, the k3s agent embeds no kubelet: none is found, and nothing is made up.
  t.is(set.kubelet, null);
});

test('the agent setting distribution: auto by default, a layout\'s name, anything else refused at start', (t) => {
  t.is(loadAgentConfig({ env: {} }, { needCollector: false }).distribution, 'auto');
  t.is(loadAgentConfig({ env: { NODEWARD_DISTRIBUTION: 'eks-al2023' } }, { needCollector: false }).distribution, 'eks-al2023');
  t.throws(() => loadAgentConfig({ env: { NODEWARD_DISTRIBUTION: 'openshift' } }, { needCollector: false }), { message: /distribution/ });
});

// ---- detection as a pure function ---------------------------------------------------------

const NONE: NodeEvidence = { paths: [], processes: [], os: null, nodeLabels: null };

test('detection: no sign at all is the kubeadm layout by default, saying so', (t) => {
  const d = detectDistribution(NONE);
  t.like(d, { name: 'kubeadm', benchmark: 'cis-1.12', source: 'default', evidence: [], candidates: [] });
  t.regex(d.reason, /no distribution's signs/);
});

test('detection: kubeadm\'s manifests directory on a GKE node does not make it ambiguous', (t) => {
  const d = detectDistribution({ ...NONE, paths: ['/etc/kubernetes/manifests', '/home/kubernetes/kubelet-config.yaml'], os: { id: 'cos', versionId: '113' } });
  t.is(d.name, 'gke-cos');
  t.deepEqual(d.candidates.map((c) => c.name), ['gke-cos']);
});

test('detection: /etc/os-release tells EKS images apart; without it the node group label is ambiguous and precedence picks', (t) => {
  const labels = { 'eks.amazonaws.com/nodegroup': 'ng-1' };
  t.is(detectDistribution({ ...NONE, nodeLabels: labels, os: { id: 'amzn', versionId: '2023' } }).name, 'eks-al2023');
  t.is(detectDistribution({ ...NONE, nodeLabels: labels, os: { id: 'amzn', versionId: '2' } }).name, 'eks-al2');
  const unknown = detectDistribution({ ...NONE, nodeLabels: labels });
  t.deepEqual(unknown.candidates.map((c) => c.name), ['eks-bottlerocket', 'eks-al2023', 'eks-al2']);
  t.is(unknown.name, 'eks-bottlerocket');
  t.regex(unknown.reason, /wins by precedence/);
});

test('detection: labels alone name GKE and AKS images', (t) => {
  t.is(detectDistribution({ ...NONE, nodeLabels: { 'cloud.google.com/gke-os-distribution': 'ubuntu' } }).name, 'gke-ubuntu');
  t.is(detectDistribution({ ...NONE, nodeLabels: { 'kubernetes.azure.com/os-sku': 'CBLMariner' } }).name, 'aks-azurelinux');
  t.is(detectDistribution({ ...NONE, nodeLabels: { 'node.kubernetes.io/instance-type': 'k3s' } }).name, 'k3s');
});

test('detection: a running process outweighs another layout\'s directory', (t) => {
  const d = detectDistribution({ ...NONE, paths: ['/var/lib/rancher/k3s'], processes: [{ pid: 9, argv: ['/usr/local/bin/rke2 server', '', ''] }] });
  t.is(d.name, 'rke2');
  t.deepEqual(d.candidates.map((c) => c.name), ['rke2', 'k3s']);
});

test('detection: a setting naming no layout is said and ignored', (t) => {
  const d = detectDistribution({ ...NONE, paths: ['/usr/bin/nodeadm'] }, 'openshift');
  t.is(d.name, 'eks-al2023');
  t.regex(d.reason, /names no known layout \("openshift"\): detected instead/);
});

test('os-release: quotes removed, comments and junk skipped, no ID is null', (t) => {
  t.deepEqual(parseOsRelease('# c\nNAME="Amazon Linux"\nID="amzn"\nVERSION_ID="2023"\n'), { id: 'amzn', versionId: '2023' });
  t.deepEqual(parseOsRelease("ID='cos'\n"), { id: 'cos', versionId: '' });
  t.is(parseOsRelease('garbage\n=x\n'), null);
});

test('args files: `--flag=value`, `--flag value`, quotes, comments and variables', (t) => {
  t.deepEqual(argsFileArgs('# c\n\n--a=${X}/b\n--c "d e"\n--f="g,h"\n--u=${UNSET}\n', { X: '/x' }), ['--a=/x/b', '--c', 'd e', '--f=g,h', '--u=${UNSET}']);
});

test('process shapes: a rewritten title, a plain argv, and look-alikes', (t) => {
  const k3sAgent = { command: 'k3s', subcommand: 'agent' };
  t.deepEqual(shapeArgs(['/usr/local/bin/k3s agent', '', ''], k3sAgent), []);
  t.deepEqual(shapeArgs(['k3s', 'agent', '--debug'], k3sAgent), ['--debug']);
  t.is(shapeArgs(['/usr/local/bin/k3s server', ''], k3sAgent), null);
  t.is(shapeArgs(['/opt/notk3s agent', ''], k3sAgent), null);
  t.is(shapeArgs(['/usr/local/bin/k3s agent', '--x'], k3sAgent), null);
});

// ---- never throws -------------------------------------------------------------------------

const text = fc.string({ maxLength: 40 });
const somePath = fc.oneof(text, fc.constantFrom(...LAYOUTS.flatMap((l) => l.detect.paths)));
const someArgv = fc.array(fc.oneof(text, fc.constantFrom('k3s', 'agent', 'server', 'kubelite', '/usr/local/bin/k3s agent', 'rke2', '')), { maxLength: 6 });

test('property: detection never throws on arbitrary paths, processes, labels, os-release and settings, and always names a layout', async (t) => {
  await checkProperty(t, fc.property(
    fc.array(somePath, { maxLength: 12 }),
    fc.array(fc.record({ pid: fc.integer(), argv: someArgv }), { maxLength: 8 }),
    fc.option(fc.dictionary(text, text, { maxKeys: 8 })),
    fc.option(fc.record({ id: text, versionId: text })),
    fc.oneof(text, fc.constantFrom('auto', ...DISTRIBUTION_NAMES)),
    (paths, processes, nodeLabels, os, setting) => {
      const d = detectDistribution({ paths, processes, nodeLabels, os }, setting);
      return (DISTRIBUTION_NAMES as readonly string[]).includes(d.name) && d.benchmark === layoutByName(d.name).benchmark && d.reason.length > 0;
    },
  ), 300);
});

test('property: os-release, args-file and process-shape readers never throw', async (t) => {
  await checkProperty(t, fc.property(fc.string({ maxLength: 400 }), someArgv, (s, argv) => {
    parseOsRelease(s);
    argsFileArgs(s, { SNAP_DATA: '/var/snap/microk8s/current' });
    for (const l of LAYOUTS) for (const shape of l.detect.processes) shapeArgs(argv, shape);
    return true;
  }), 300);
});

// ---- code never branches on a distribution's name -----------------------------------------

test('the agent\'s code never names a distribution: the layouts say it all', (t) => {
  // Every source file of the agent but the data that names them: the layouts themselves
  // (agent/facts/layouts/, the registry) and the benchmark mappings (agent/checks/benchmarks/,
  // whose remediation names the distribution's files and commands).
  const root = new URL('../../../agent/', import.meta.url);
  const files = (readdirSync(root, { recursive: true }) as string[])
    .filter((f) => f.endsWith('.ts') && !f.startsWith('facts/layouts') && !f.startsWith('checks/benchmarks/'));
  t.true(files.length > 50, `${files.length} files read`);
  const names = DISTRIBUTION_NAMES.map((n) => n.replace(/[-.]/g, '\\$&'));
  const literal = new RegExp(`['"\`](?:${names.join('|')}|eks|gke|aks|k3s|rke2|microk8s)['"\`]`);
  for (const f of files) {
    const source = readFileSync(new URL(f, root), 'utf8');
    t.false(literal.test(source), `${f} names a distribution: ${literal.exec(source)?.[0] ?? ''}`);
  }
});

test("the Node's labels from the collector are bounded as Kubernetes bounds labels, and whatever else comes is left out", async (t) => {
  const ok = boundedNodeLabels({ 'eks.amazonaws.com/nodegroup': 'ng-1', '': 'x', ['k'.repeat(318)]: 'x', long: 'v'.repeat(64), n: 5, o: null });
  t.deepEqual(ok, { 'eks.amazonaws.com/nodegroup': 'ng-1' });
  t.deepEqual(boundedNodeLabels(null), {});
  t.deepEqual(boundedNodeLabels(['a']), {});
  t.is(Object.keys(boundedNodeLabels(Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`l${i}`, 'x'])))).length, MAX_NODE_LABELS);
  await checkProperty(t, fc.property(fc.anything(), (raw) => {
    const out = boundedNodeLabels(raw);
    return Object.keys(out).length <= MAX_NODE_LABELS && Object.entries(out).every(([k, v]) => k.length >= 1 && k.length <= 317 && typeof v === 'string' && v.length <= 63);
  }), 300);
  // A label the collector sent decides the node on its own (no file of it on the node).
  const d = detectDistribution({ ...NONE, nodeLabels: boundedNodeLabels({ 'eks.amazonaws.com/nodegroup': 'ng-1' }) });
  t.true(d.name.startsWith('eks-'), d.name);
});
