// Benchmarks per platform (agent/checks/benchmarks/): the data is whole and well-formed, and
// every mapped control of every benchmark has a pass case and a fail case on a real fixture
// tree. The pass tree is kubeadm-worker-defaults (hardened: every node check passes); each
// fail tree is that tree with one thing loosened (a mode, an owner, a kubelet flag), chosen so
// it fails whichever benchmark asks about it. Under a benchmark the results of the deciding
// check carry its reference, our title for it and its manual/automated split; the CIS
// Kubernetes reference only where the control is the same. Where a benchmark asks its own
// test (EKS, GKE, AKS: mode 644 of the kubelet's kubeconfig; the k3s and rke2 guides: 600 of
// the client CA; MicroK8s too) a tree between the two thresholds tells them apart.
import test from 'ava';
import { chmod, chown, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Result } from '../../proto/domain.js';
import { BENCHMARK_REF, CIS_BENCHMARK, cisRef, controlIn, parseRef } from '../../proto/benchmark-refs.js';
import { CATALOG, evaluate } from '../../agent/checks/index.js';
import {
  AUTO_BENCHMARK, BENCHMARKS, benchmarkFor, benchmarkNamed, CIS_KUBERNETES, detectedBenchmark, evaluateUnder, UnknownBenchmarkError, type Benchmark, type BenchmarkControl,
} from '../../agent/checks/benchmarks/index.js';
import { failingStatus } from '../../agent/checks/result.js';
import { collectFacts, type HostFacts } from '../../agent/facts/index.js';
import { CAN_CHOWN, prepareFixture, writeCmdline } from '../helpers/fixture.js';
import { loadAgentConfig } from '../../agent/config.js';
import { LAYOUTS } from '../../agent/facts/layouts.js';
import { ConfigError } from '../../proto/support/config-loader.js';

const NOW = new Date('2026-11-20T12:00:00Z');
const PASS_TREE = 'kubeadm-worker-defaults';
const OTHERS = BENCHMARKS.filter((b) => !b.native);

// The kubelet's command line in the pass tree (proc/1042) and kube-proxy's root.
const KUBELET_PID = 1042;
const KUBELET_ARGV = [
  '/usr/bin/kubelet', '--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf', '--kubeconfig=/etc/kubernetes/kubelet.conf',
  '--config=/var/lib/kubelet/config.yaml', '--container-runtime-endpoint=unix:///var/run/containerd/containerd.sock',
  '--pod-infra-container-image=registry.k8s.io/pause:3.10', '--node-labels=tier=general',
];
const FILES = {
  unit: 'usr/lib/systemd/system/kubelet.service',
  proxyKubeconfig: 'proc/2210/root/var/lib/kube-proxy/kubeconfig.conf',
  kubeconfig: 'etc/kubernetes/kubelet.conf',
  clientCa: 'etc/kubernetes/pki/ca.crt',
  config: 'var/lib/kubelet/config.yaml',
} as const;

type Loosen = (root: string, procRoot: string) => Promise<void>;
const mode = (file: string, m: number): Loosen => (root) => chmod(join(root, file), m);
// uid/gid 1 is daemon:daemon in the tree's own /etc/passwd and /etc/group.
const owner = (file: string): Loosen => (root) => chown(join(root, file), 1, 1);
const flag = (arg: string): Loosen => (_root, procRoot) => writeCmdline(procRoot, KUBELET_PID, [...KUBELET_ARGV, arg]);
const configWithout = (key: RegExp): Loosen => async (root) => {
  const path = join(root, FILES.config);
  const lines = (await readFile(path, 'utf8')).split('\n');
  const kept = lines.filter((l) => !key.test(l));
  if (kept.length === lines.length) throw new Error(`the fixture's config has no line matching ${key}`);
  await writeFile(path, kept.join('\n'));
};

/** One way to fail each check a benchmark maps: loose enough for every benchmark's test. */
const FAIL: Readonly<Record<string, Loosen>> = {
  'cis-4.1.1': mode(FILES.unit, 0o666),
  'cis-4.1.2': owner(FILES.unit),
  'cis-4.1.3': mode(FILES.proxyKubeconfig, 0o666),
  'cis-4.1.4': owner(FILES.proxyKubeconfig),
  'cis-4.1.5': mode(FILES.kubeconfig, 0o666),
  'cis-4.1.6': owner(FILES.kubeconfig),
  'cis-4.1.7': mode(FILES.clientCa, 0o666),
  'cis-4.1.8': owner(FILES.clientCa),
  'cis-4.1.9': mode(FILES.config, 0o666),
  'cis-4.1.10': owner(FILES.config),
  'cis-4.2.1': flag('--anonymous-auth=true'),
  'cis-4.2.2': flag('--authorization-mode=AlwaysAllow'),
  'cis-4.2.3': configWithout(/clientCAFile:/),
  'cis-4.2.4': flag('--read-only-port=10255'),
  'cis-4.2.5': flag('--streaming-connection-idle-timeout=0s'),
  'cis-4.2.6': flag('--make-iptables-util-chains=false'),
  'cis-4.2.7': flag('--hostname-override=worker-alias'),
  'cis-4.2.8': flag('--event-qps=-1'),
  'cis-4.2.9': configWithout(/serverTLSBootstrap:/),
  'cis-4.2.10': flag('--rotate-certificates=false'),
  'cis-4.2.11': flag('--feature-gates=RotateKubeletServerCertificate=false'),
  'cis-4.2.12': flag('--tls-cipher-suites=TLS_RSA_WITH_AES_128_CBC_SHA'),
  'cis-4.2.13': flag('--pod-max-pids=-1'),
};

async function factsOf(loosen?: Loosen): Promise<HostFacts> {
  const fx = await prepareFixture(PASS_TREE);
  try {
    // Hardened for every benchmark: the k3s and rke2 guides ask 0600 of the client CA.
    await chmod(join(fx.root, FILES.clientCa), 0o600);
    if (loosen) await loosen(fx.root, fx.procRoot);
    return await collectFacts({ hostRoot: fx.root, procRoot: fx.procRoot, kubeletProbe: null, etcdProbe: null });
  } finally {
    await fx.cleanup();
  }
}

// Facts are collected once per tree and judged under every benchmark.
const cache = new Map<string, Promise<HostFacts>>();
const factsFor = (key: string, loosen?: Loosen): Promise<HostFacts> => {
  let p = cache.get(key);
  if (!p) cache.set(key, (p = factsOf(loosen)));
  return p;
};

const specOf = (check: string) => CATALOG.find((c) => c.id === check);
const ref = (b: Benchmark, c: BenchmarkControl): string => `${b.name}:${c.control}`;
const resultsFor = (b: Benchmark, c: BenchmarkControl, facts: HostFacts): Result[] =>
  evaluateUnder(b, facts, CATALOG, NOW).filter((r) => r.references.includes(ref(b, c)));
const show = (rs: readonly Result[]): string => rs.map((r) => `${r.id} ${r.subject} ${r.status}: ${r.reason}`).join('; ');

test('every control of every benchmark is mapped to a catalog check or listed as not covered, once, with well-formed ids', (t) => {
  t.is(BENCHMARKS.filter((b) => b.native).length, 1, 'one benchmark is the catalog\'s own');
  t.is(CIS_KUBERNETES.name, CIS_BENCHMARK);
  t.is(new Set(BENCHMARKS.map((b) => b.name)).size, BENCHMARKS.length, 'names are unique');
  for (const b of OTHERS) {
    const mapped = b.controls.map((c) => c.control);
    const uncovered = b.notCovered.map((u) => u.control);
    t.deepEqual([...mapped, ...uncovered].sort(), [...b.sourceControls].sort(), `${b.name}: mapped and not covered are exactly ${b.source}'s controls`);
    t.is(new Set([...mapped, ...uncovered]).size, mapped.length + uncovered.length, `${b.name}: no control twice`);
    t.true(b.sourceControls.length > 0, `${b.name} lists its source's controls`);
    for (const c of [...b.controls, ...b.notCovered]) {
      const r = parseRef(`${b.name}:${c.control}`);
      t.deepEqual(r, { benchmark: b.name, control: c.control }, `${b.name}:${c.control} is a well-formed reference`);
      t.regex(c.control, /^\d+(\.\d+)+$/, `${b.name}:${c.control} is numbered as the benchmark numbers it`);
      const section = c.control.split('.').slice(0, 2).join('.');
      t.true(Object.hasOwn(b.sections, section), `${b.name}: section ${section} has a title`);
      t.true(Object.hasOwn(b.parts, c.control.split('.')[0] as string), `${b.name}: part of ${c.control} is named`);
      t.true(c.title.length > 10, `${b.name}:${c.control} has our title`);
    }
    for (const u of b.notCovered) t.true(u.why.length > 20, `${b.name}:${u.control} says why it is not covered`);
    for (const c of b.controls) {
      const spec = specOf(c.check);
      if (!spec) {
        t.fail(`${b.name}:${c.control} names ${c.check}, which is not in the catalog`);
        continue;
      }
      t.true(c.remediation.length > 20, `${b.name}:${c.control} has our remediation`);
      if (c.cis !== undefined) t.true(spec.references.includes(cisRef(c.cis)), `${b.name}:${c.control}: ${c.check} decides CIS ${c.cis}`);
      if (c.test !== undefined) t.true(spec.kind === 'file' || spec.kind === 'kubelet-setting', `${b.name}:${c.control}: its own test is for a data check`);
      // A control claiming the CIS Kubernetes control must ask the same test of it.
      t.false(c.cis !== undefined && c.test !== undefined, `${b.name}:${c.control}: its own test and the same CIS control exclude each other`);
      t.regex(ref(b, c), BENCHMARK_REF);
      t.truthy(FAIL[c.check], `${b.name}:${c.control}: this test has a fail case for ${c.check}`);
    }
  }
});

test('benchmarkFor: a named setting wins, auto takes what the distribution names, nothing named is CIS Kubernetes; unknown names are refused', (t) => {
  t.is(benchmarkFor('cis-eks-1.7', null).name, 'cis-eks-1.7');
  t.is(benchmarkFor('cis-gke-1.8', 'k3s-cis-1.8').name, 'cis-gke-1.8', 'the setting overrides detection');
  t.is(benchmarkFor(AUTO_BENCHMARK, null), CIS_KUBERNETES);
  t.is(benchmarkFor(AUTO_BENCHMARK, 'rke2-cis-1.8').name, 'rke2-cis-1.8');
  t.is(benchmarkFor(AUTO_BENCHMARK, CIS_BENCHMARK), CIS_KUBERNETES);
  const e = t.throws(() => benchmarkFor('cis-eks-9', null), { instanceOf: UnknownBenchmarkError });
  t.is(e?.code, 'UNKNOWN_BENCHMARK');
  t.regex(e?.message ?? '', /cis-eks-9.*known: auto, cis-1\.12, cis-eks-1\.7/);
  t.throws(() => benchmarkFor(AUTO_BENCHMARK, 'no-such-benchmark'), { instanceOf: UnknownBenchmarkError });
  t.throws(() => benchmarkNamed(''), { instanceOf: UnknownBenchmarkError });
});

test('under CIS Kubernetes nothing changes: the same results as the catalog gives', async (t) => {
  const facts = await factsFor('pass');
  t.deepEqual(evaluateUnder(CIS_KUBERNETES, facts, CATALOG, NOW), evaluate(facts, CATALOG, NOW));
});

test('under another benchmark only the checks it maps change; the others keep their CIS Kubernetes references', async (t) => {
  const facts = await factsFor('pass');
  const plain = evaluate(facts, CATALOG, NOW);
  for (const b of OTHERS) {
    const judged = evaluateUnder(b, facts, CATALOG, NOW);
    t.deepEqual(judged.map((r) => `${r.id} ${r.subject}`), plain.map((r) => `${r.id} ${r.subject}`), `${b.name}: the same checks and subjects, in order`);
    const mappedChecks = new Set(b.controls.map((c) => c.check));
    judged.forEach((r, i) => {
      if (!mappedChecks.has(r.id)) t.deepEqual(r, plain[i], `${b.name}: ${r.id} is as the catalog has it`);
    });
  }
});

for (const b of OTHERS) {
  for (const c of b.controls) {
    test(`${b.name}:${c.control} (${c.check}) passes on the hardened tree with its own labels`, async (t) => {
      const rs = resultsFor(b, c, await factsFor('pass'));
      t.true(rs.length > 0, 'the deciding check gives results carrying the reference');
      t.true(rs.every((r) => r.status === 'pass'), show(rs));
      for (const r of rs) {
        t.is(r.id, c.check, 'result ids stay the check ids (finding identity)');
        t.is(r.title, c.title);
        t.is(r.remediation, c.remediation);
        t.is(r.scored, c.scored);
        t.is(r.references[0], ref(b, c), 'the benchmark\'s own control comes first');
        t.is(r.references.includes(cisRef(c.cis ?? '-')), c.cis !== undefined, 'the CIS Kubernetes control only where the same');
        t.is(r.cis, c.cis ?? '');
        t.is(controlIn(r.references, b.name), c.control);
      }
    });
    test(`${b.name}:${c.control} (${c.check}) fails as the benchmark scores it when loosened`, async (t) => {
      const loosen = FAIL[c.check];
      if (!loosen) return t.fail(`no fail case for ${c.check}`);
      const rs = resultsFor(b, c, await factsFor(c.check, loosen));
      if (!CAN_CHOWN && /owned by root/.test(c.title)) {
        t.log('owners cannot be changed here (not root): judged on the pass tree only');
        t.true(rs.length > 0);
        return;
      }
      const failing = failingStatus({ scored: c.scored });
      t.true(rs.some((r) => r.status === failing), `expected ${failing}: ${show(rs)}`);
      t.false(rs.some((r) => r.status === 'error'), show(rs));
      for (const r of rs) t.is(r.title, c.title);
    });
  }
}

test('a benchmark\'s own file mode is the one judged: 0644 passes EKS, GKE and AKS 3.1.1 and fails CIS 4.1.5; the k3s, rke2 and MicroK8s benchmarks fail a 0644 client CA that CIS 4.1.7 passes', async (t) => {
  const kubeconfig644 = await factsFor('kubeconfig-644', mode(FILES.kubeconfig, 0o644));
  const status = (b: Benchmark, check: string, facts: HostFacts): string[] =>
    evaluateUnder(b, facts, CATALOG.filter((s) => s.id === check), NOW).map((r) => r.status);
  t.deepEqual(status(CIS_KUBERNETES, 'cis-4.1.5', kubeconfig644), ['fail']);
  for (const name of ['cis-eks-1.7', 'cis-gke-1.8', 'cis-aks-1.7']) t.deepEqual(status(benchmarkNamed(name), 'cis-4.1.5', kubeconfig644), ['pass'], name);
  for (const name of ['k3s-cis-1.8', 'rke2-cis-1.8', 'cis-1.24-microk8s']) t.deepEqual(status(benchmarkNamed(name), 'cis-4.1.5', kubeconfig644), ['fail'], name);

  const ca644 = await factsFor('ca-644', mode(FILES.clientCa, 0o644));
  t.deepEqual(status(CIS_KUBERNETES, 'cis-4.1.7', ca644), ['pass']);
  for (const name of ['k3s-cis-1.8', 'rke2-cis-1.8', 'cis-1.24-microk8s']) {
    const rs = evaluateUnder(benchmarkNamed(name), ca644, CATALOG.filter((s) => s.id === 'cis-4.1.7'), NOW);
    const scored = benchmarkNamed(name).controls.find((c) => c.control === '4.1.7')?.scored ?? true;
    t.deepEqual(rs.map((r) => r.status), [failingStatus({ scored })], `${name} (MicroK8s scores it manual: warn)`);
    t.deepEqual(rs[0]?.references, [`${name}:4.1.7`], `${name}: a stricter test is not the CIS Kubernetes control`);
  }
});

test('a custom check\'s failing status follows the benchmark\'s split: cis-4.2.9 is manual in the catalog and rke2, automated in the k3s guide', async (t) => {
  const facts = await factsFor('cis-4.2.9', FAIL['cis-4.2.9']);
  const only = CATALOG.filter((s) => s.id === 'cis-4.2.9');
  t.deepEqual(evaluate(facts, only, NOW).map((r) => r.status), ['warn']);
  t.deepEqual(evaluateUnder(benchmarkNamed('k3s-cis-1.8'), facts, only, NOW).map((r) => r.status), ['fail']);
  t.deepEqual(evaluateUnder(benchmarkNamed('rke2-cis-1.8'), facts, only, NOW).map((r) => r.status), ['warn']);
});

test('MicroK8s numbers its kubelet controls as CIS Kubernetes 1.24: from its 4.2.7 on, the CIS 1.12 control one lower decides it', async (t) => {
  const facts = await factsFor('cis-4.2.6', FAIL['cis-4.2.6']);
  const rs = evaluateUnder(benchmarkNamed('cis-1.24-microk8s'), facts, CATALOG.filter((s) => s.id === 'cis-4.2.6'), NOW);
  t.deepEqual(rs.map((r) => [r.status, r.references]), [['fail', ['cis-1.24-microk8s:4.2.7', 'cis-1.12:4.2.6']]]);
  t.deepEqual(benchmarkNamed('cis-1.24-microk8s').notCovered.map((u) => u.control), ['4.2.6'], '--protect-kernel-defaults: no check requires it');
});

test('the agent setting benchmark: auto by default, a known name accepted, anything else a configuration error naming the known ones', (t) => {
  const load = (env: Record<string, string>) => loadAgentConfig({ env: { NODE_NAME: 'node-a', ...env } }, { needCollector: false });
  t.is(load({}).benchmark, AUTO_BENCHMARK);
  t.is(load({ NODEWARD_BENCHMARK: 'rke2-cis-1.8' }).benchmark, 'rke2-cis-1.8');
  const e = t.throws(() => load({ NODEWARD_BENCHMARK: 'cis-eks' }), { instanceOf: ConfigError });
  t.deepEqual(e?.problems.filter((p) => p.startsWith('benchmark:')), [
    'benchmark: "cis-eks" is not auto or a known benchmark (cis-1.12, cis-eks-1.7, cis-gke-1.8, cis-aks-1.7, k3s-cis-1.8, rke2-cis-1.8, cis-1.24-microk8s)',
  ]);
});

test('every distribution layout names a benchmark nodeward knows, so auto never meets an unknown one', (t) => {
  for (const layout of LAYOUTS) t.notThrows(() => benchmarkFor(AUTO_BENCHMARK, layout.benchmark), `${layout.name} names ${layout.benchmark}`);
  t.deepEqual([...new Set(LAYOUTS.map((l) => l.benchmark))].sort(), BENCHMARKS.map((b) => b.name).sort(), 'and every benchmark judges some layout');
});

test('auto judges a node under the benchmark its detected layout names: the EKS fixture trees under cis-eks-1.7', async (t) => {
  for (const tree of ['eks-al2', 'eks-al2023']) {
    const fx = await prepareFixture(tree);
    try {
      const facts = await collectFacts({ hostRoot: fx.root, procRoot: fx.procRoot, kubeletProbe: null, etcdProbe: null });
      t.is(detectedBenchmark(facts), 'cis-eks-1.7', tree);
      t.is(benchmarkFor(AUTO_BENCHMARK, detectedBenchmark(facts)).name, 'cis-eks-1.7');
      const anon = evaluateUnder(benchmarkFor(AUTO_BENCHMARK, detectedBenchmark(facts)), facts, CATALOG.filter((s) => s.id === 'cis-4.2.1'), NOW);
      t.deepEqual(anon.map((r) => r.references), [['cis-eks-1.7:3.2.1', 'cis-1.12:4.2.1']], tree);
    } finally {
      await fx.cleanup();
    }
  }
});
