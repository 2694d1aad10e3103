// `nodeward scan` on control-plane fixture trees, as a user runs it: the text report has a
// heading per CIS section, and no key, token or password from the node appears in the JSON
// report, the text report or --dump-facts.
import test from 'ava';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { prepareFixture } from '../helpers/fixture.js';
import { NODEWARD_BIN } from '../helpers/process.js';

const run = promisify(execFile);

async function scan(args: string[]): Promise<{ code: number; stdout: string }> {
  try {
    const { stdout } = await run(process.execPath, [NODEWARD_BIN, 'scan', '--no-probe', ...args], { maxBuffer: 32 << 20 });
    return { code: 0, stdout };
  } catch (err) {
    const e = err as { code: number; stdout: string };
    return { code: e.code, stdout: e.stdout };
  }
}

const SECRETS: Readonly<Record<string, readonly string[]>> = {
  'kubeadm-cp-hardened': ['bm9kZXdhcmQtZml4dHVyZS1hZXNjYmMta2V5LTA0MiE='],
  'k3s-server': ['K10fixture0k3s0token0do0not0leak', 'etcd-cluster-token-do-not-leak'],
  'rke2-server': ['cmtlMi1maXh0dXJlLWFlc2NiYy1rZXktZG8tbm90LWxlYWs=', 'rke2-fixture-token-do-not-leak'],
};

for (const [scenario, secrets] of Object.entries(SECRETS)) {
  test(`${scenario}: no secret of the node in the text report, the JSON report or --dump-facts`, async (t) => {
    const fx = await prepareFixture(scenario);
    t.teardown(fx.cleanup);
    const base = ['--host-root', fx.root, '--proc-root', fx.procRoot, '--node', 'cp-1'];
    const outputs = await Promise.all([scan(base), scan([...base, '--format', 'json']), scan([...base, '--dump-facts'])]);
    for (const out of outputs) {
      t.is(out.code, 0);
      for (const s of secrets) t.false(out.stdout.includes(s), `${s} leaked`);
    }
    const facts = JSON.parse(outputs[2]?.stdout ?? '{}') as { controlPlane?: { distribution?: string } };
    t.is(facts.controlPlane?.distribution, scenario.split('-')[0] === 'kubeadm' ? 'kubeadm' : scenario.split('-')[0]);
  });
}

test('the text report groups the control plane by CIS section, in order', async (t) => {
  const fx = await prepareFixture('kubeadm-cp');
  t.teardown(fx.cleanup);
  const { code, stdout } = await scan(['--host-root', fx.root, '--proc-root', fx.procRoot, '--node', 'cp-1', '--checks', '1,2,3']);
  t.is(code, 0);
  const headings = stdout.split('\n').filter((l) => /^\d/.test(l));
  t.deepEqual(headings, [
    '1.1 Control plane node configuration files',
    '1.2 API server',
    '1.3 Controller manager',
    '1.4 Scheduler',
    '2 etcd',
    '3.2 Logging',
  ]);
  t.regex(stdout, /\[FAIL\] (low|medium|high|critical) cis-1\.2\.15 API server profiling is off/);
  t.regex(stdout, /\[WARN\] (low|medium|high|critical) cis-3\.2\.2 /);
  t.regex(stdout, /\[FAIL\] medium cis-1\.1\.12 etcd data directory is owned by etcd:etcd\n\s+\/var\/lib\/etcd: root:root \(file\)/);

  const json = JSON.parse((await scan(['--host-root', fx.root, '--proc-root', fx.procRoot, '--format', 'json', '--checks', '1.2.6,2'])).stdout) as { scope: string[]; results: Array<{ id: string }> };
  t.deepEqual(json.scope, ['cis-1.2.6', 'cis-2.1', 'cis-2.2', 'cis-2.3', 'cis-2.4', 'cis-2.5', 'cis-2.6', 'cis-2.7']);
  t.is(json.results.length, 8);
});

test('--fail-on: a critical control-plane failure (AlwaysAllow) exits 1', async (t) => {
  const fx = await prepareFixture('kubeadm-cp');
  t.teardown(fx.cleanup);
  const base = ['--host-root', fx.root, '--proc-root', fx.procRoot, '--checks', '1.2'];
  t.is((await scan([...base, '--fail-on', 'critical'])).code, 0, 'kubeadm\'s Node,RBAC passes 1.2.6');
  t.is((await scan([...base, '--fail-on', 'medium'])).code, 1, '1.2.5 and 1.2.15 fail at medium and above');
});
