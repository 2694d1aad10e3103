// `nodeward scan --benchmark`, run as an operator runs it (its own process, a fixture host
// tree): the report names the benchmark, results carry its controls (`cis-eks-1.7:3.2.1`) with
// the CIS Kubernetes control where it is the same, and the text and kube-bench outputs are
// sectioned by its numbering. A name nodeward does not know is a usage error (exit 2).
import test from 'ava';
import type { ScanReport } from '../../agent/scan-report.js';
import type { KubeBenchOutput } from '../../agent/scan-formats/kube-bench.js';
import { prepareFixture } from '../helpers/fixture.js';
import { runNodeward } from '../helpers/process.js';

async function scan(t: { teardown(fn: () => unknown): void }, args: readonly string[]) {
  const fx = await prepareFixture('insecure-worker');
  t.teardown(() => fx.cleanup());
  return runNodeward(['scan', '--host-root', fx.root, '--proc-root', fx.procRoot, '--node', 'worker-2', '--no-probe', ...args]);
}

test('scan --benchmark cis-eks-1.7 -o json: the report and its results are EKS\'s', async (t) => {
  const ran = await scan(t, ['--benchmark', 'cis-eks-1.7', '-o', 'json']);
  t.is(ran.code, 0, ran.stderr);
  const report = JSON.parse(ran.stdout) as ScanReport;
  t.is(report.benchmark, 'cis-eks-1.7');
  const anonymous = report.results.find((r) => r.id === 'cis-4.2.1');
  t.deepEqual(anonymous?.references, ['cis-eks-1.7:3.2.1', 'cis-1.12:4.2.1']);
  t.is(anonymous?.status, 'fail');
  t.is(anonymous?.title, 'Kubelet refuses anonymous requests');
  t.regex(anonymous?.remediation ?? '', /launch template/);
  // 3.1.1 asks 644 of the kubelet's kubeconfig (0644 in this tree): a pass, and not CIS 4.1.5 (600).
  const kubeconfig = report.results.find((r) => r.id === 'cis-4.1.5');
  t.deepEqual(kubeconfig && { status: kubeconfig.status, references: kubeconfig.references, cis: kubeconfig.cis },
    { status: 'pass', references: ['cis-eks-1.7:3.1.1'], cis: '' });
  // Every EKS control appears on some result; a check EKS does not name keeps its CIS reference.
  const eks = new Set(report.results.flatMap((r) => r.references.filter((x) => x.startsWith('cis-eks-1.7:'))));
  t.deepEqual([...eks].sort(), ['3.1.1', '3.1.2', '3.1.3', '3.1.4', '3.2.1', '3.2.2', '3.2.3', '3.2.4', '3.2.5', '3.2.6', '3.2.7', '3.2.8', '3.2.9'].map((c) => `cis-eks-1.7:${c}`).sort());
  t.deepEqual(report.results.find((r) => r.id === 'cis-4.2.7')?.references, ['cis-1.12:4.2.7']);
});

test('scan without --benchmark judges under CIS Kubernetes (auto, no distribution named)', async (t) => {
  const ran = await scan(t, ['-o', 'json']);
  t.is(ran.code, 0, ran.stderr);
  const report = JSON.parse(ran.stdout) as ScanReport;
  t.is(report.benchmark, 'cis-1.12');
  t.deepEqual(report.results.find((r) => r.id === 'cis-4.2.1')?.references, ['cis-1.12:4.2.1']);
  t.is(report.results.find((r) => r.id === 'cis-4.1.5')?.status, 'fail', 'CIS 4.1.5 asks 600 of the 0644 kubeconfig');
});

test('scan --benchmark cis-eks-1.7 in text and kube-bench form is sectioned by EKS\'s numbering', async (t) => {
  const text = await scan(t, ['--benchmark', 'cis-eks-1.7']);
  t.is(text.code, 0, text.stderr);
  t.regex(text.stdout, /^nodeward scan of worker-2 at \S+ \(cis-eks-1\.7, /);
  t.regex(text.stdout, /\n3\.2 Kubelet\n\[FAIL\] high cis-4\.2\.1 Kubelet refuses anonymous requests \(cis-eks-1\.7:3\.2\.1\)/);
  t.regex(text.stdout, /\n3\.1 Worker node configuration files\n/);

  const kb = await scan(t, ['--benchmark', 'cis-eks-1.7', '-o', 'kube-bench']);
  t.is(kb.code, 0, kb.stderr);
  const out = JSON.parse(kb.stdout) as KubeBenchOutput;
  t.deepEqual(out.Controls.map((c) => [c.id, c.version, c.node_type]), [['3', 'cis-eks-1.7', 'node']]);
  t.deepEqual(out.Controls[0]?.tests.map((g) => [g.section, g.desc]), [['3.1', 'Worker node configuration files'], ['3.2', 'Kubelet']]);
  t.deepEqual(out.Controls[0]?.tests[1]?.results.map((r) => r.test_number), ['3.2.1', '3.2.2', '3.2.3', '3.2.4', '3.2.5', '3.2.6', '3.2.7', '3.2.8', '3.2.9']);
  t.is(out.Totals.total_pass + out.Totals.total_fail + out.Totals.total_warn + out.Totals.total_info, 13, 'EKS\'s thirteen node controls');
});

test('scan --benchmark with a name nodeward does not know is a usage error naming the known ones', async (t) => {
  const ran = await scan(t, ['--benchmark', 'cis-eks-0.1']);
  t.is(ran.code, 2);
  t.regex(ran.stderr, /unknown benchmark "cis-eks-0\.1" \(known: auto, cis-1\.12, cis-eks-1\.7, cis-gke-1\.8, cis-aks-1\.7, k3s-cis-1\.8, rke2-cis-1\.8, cis-1\.24-microk8s\)/);
  t.is(ran.stdout, '');
});
