// `nodeward scan` as a user runs it: the real binary on fixture host trees.
import test from 'ava';
import { execFile } from 'node:child_process';
import { readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';
import { prepareFixture } from '../helpers/fixture.js';
import { NODEWARD_BIN } from '../helpers/process.js';

const run = promisify(execFile);

async function scan(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [NODEWARD_BIN, 'scan', ...args], { maxBuffer: 16 << 20 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

// The first five checks, whose results these tests know; the catalogue has grown around them.
const FIVE = ['--checks', 'cis-4.1.5,cis-4.1.9,cis-4.2.1,cis-4.2.2,cis-4.2.4'];

const RESULT_KEYS = ['actual', 'category', 'cis', 'expected', 'id', 'reason', 'references', 'remediation', 'scored', 'severity', 'source', 'sourceFile', 'status', 'subject', 'title'];

test('--format json prints the documented shape, with source "default" where the kubelet default applies', async (t) => {
  const fx = await prepareFixture('defaults-worker');
  t.teardown(fx.cleanup);
  const { code, stdout } = await scan(['--host-root', fx.root, '--proc-root', fx.procRoot, '--node', 'worker-1', '--format', 'json', ...FIVE]);
  t.is(code, 0);
  const report = JSON.parse(stdout) as Record<string, any>;
  t.deepEqual(Object.keys(report).sort(), ['benchmark', 'findings', 'node', 'results', 'scannedAt', 'scope', 'totals']);
  t.is(report.node, 'worker-1');
  t.is(report.benchmark, 'cis-1.12');
  t.false(Number.isNaN(Date.parse(report.scannedAt)));
  t.deepEqual([...report.scope].sort(), ['cis-4.1.5', 'cis-4.1.9', 'cis-4.2.1', 'cis-4.2.2', 'cis-4.2.4']);
  t.deepEqual(Object.keys(report.totals).sort(), ['error', 'fail', 'pass', 'skip', 'warn']);
  for (const r of report.results) t.deepEqual(Object.keys(r).sort(), RESULT_KEYS);

  // The config file sets none of these: the KubeletConfiguration defaults decide (anonymous
  // auth off, read-only port 0), which is a pass, from source "default".
  const anon = report.results.find((r: any) => r.id === 'cis-4.2.1');
  t.like(anon, { status: 'pass', source: 'default', actual: 'false', subject: 'kubelet/--anonymous-auth' });
  t.like(report.results.find((r: any) => r.id === 'cis-4.2.4'), { status: 'pass', source: 'default', actual: '0' });
  t.like(report.results.find((r: any) => r.id === 'cis-4.2.2'), { status: 'pass', source: 'dropin' });
  // 4.1.9 judges the config file and each of the two drop-ins the kubelet reads.
  t.deepEqual(report.results.filter((r: any) => r.id === 'cis-4.1.9').map((r: any) => r.subject), [
    '/var/lib/kubelet/config.yaml', '/etc/kubernetes/kubelet.conf.d/10-authz.conf', '/etc/kubernetes/kubelet.conf.d/20-authz.conf',
  ]);
  t.is(report.totals.pass, 7);
  t.deepEqual(report.findings, []);
});

test('text report, --checks, --fail-on and usage errors', async (t) => {
  const fx = await prepareFixture('insecure-worker');
  t.teardown(fx.cleanup);
  const base = ['--host-root', fx.root, '--proc-root', fx.procRoot, '--node', 'worker-2'];

  const text = await scan([...base, ...FIVE]);
  t.is(text.code, 0, 'a completed scan exits 0 whatever it found');
  t.regex(text.stdout, /4\.2 Kubelet/);
  t.regex(text.stdout, /\[FAIL\] high cis-4\.2\.1 /, 'the text report shows severity');
  t.regex(text.stdout, /\[WARN\] medium cis-4\.2\.4 /);
  t.regex(text.stdout, /remediation: /);
  t.regex(text.stdout, /Totals: 0 pass, 4 fail, 1 warn, 0 skip, 0 error/);
  t.false(text.stdout.includes('fixture-secret-token'), 'the --token value on the kubelet command line never shows');

  const only = JSON.parse((await scan([...base, '--format', 'json', '--no-probe', '--checks', '4.1'])).stdout) as { scope: string[] };
  t.deepEqual(only.scope, Array.from({ length: 10 }, (_, i) => `cis-4.1.${i + 1}`));

  const failOn = await scan([...base, ...FIVE, '--fail-on', 'high', '-o', 'json']);
  t.is(failOn.code, 1, '4.2.2 AlwaysAllow is critical, 4.2.1 high');
  t.is(JSON.parse(failOn.stdout).node, 'worker-2', 'stdout is still the report');
  t.is(failOn.stderr, [
    '--fail-on high: 2 failing results at high or above:',
    '  critical  cis-4.2.2  kubelet/--authorization-mode',
    '  high      cis-4.2.1  kubelet/--anonymous-auth',
    '',
  ].join('\n'), 'stderr names what matched');
  const cleanFx = await prepareFixture('defaults-worker');
  t.teardown(cleanFx.cleanup);
  t.is((await scan(['--host-root', cleanFx.root, '--proc-root', cleanFx.procRoot, ...FIVE, '--fail-on', 'low'])).code, 0);

  const unknown = await scan([...base, '--checks', '9.9.9']);
  t.is(unknown.code, 2);
  t.regex(unknown.stderr, /9\.9\.9/);
  const xml = await scan([...base, '--format', 'xml']);
  t.is(xml.code, 2);
  t.is(xml.stderr, "nodeward scan: option '--format <format>' argument 'xml' is invalid. Allowed choices are text, json, junit, sarif, kube-bench. (see nodeward scan --help)\n", 'a usage error is one line with its hint');
  const both = await scan([...base, '-o', 'json', '--format', 'text']);
  t.is(both.code, 2);
  t.regex(both.stderr, /^nodeward scan: option '--format <format>' cannot be used with option '-o, --output <format>' \(see nodeward scan --help\)\n$/);
  t.is((await scan(['--host-root', '/does/not/exist'])).code, 2);
});

test('symlinks: an absolute target resolves inside the host root; escapes never reach a canary outside it', async (t) => {
  const fx = await prepareFixture('insecure-worker');
  t.teardown(fx.cleanup);
  const canaryText = `CANARY-${process.pid}-${Date.now()}`;
  const outside = dirname(fx.root);
  const canary = join(outside, 'canary.yaml');
  await writeFile(canary, `authentication:\n  anonymous:\n    enabled: ${canaryText}\n`);

  // The kubeconfig link in the fixture is absolute (/etc/kubernetes/real/kubelet.conf):
  // 4.1.5 judges the target inside the host root, not a file of this machine.
  const base = ['--host-root', fx.root, '--proc-root', fx.procRoot, '--format', 'json'];
  const before = JSON.parse((await scan(base)).stdout) as { results: any[] };
  t.like(before.results.find((r) => r.id === 'cis-4.1.5'), { status: 'fail', actual: '0644', sourceFile: '/etc/kubernetes/real/kubelet.conf' });

  // Now point the kubelet config at the canary: once through ../ climbing past the top,
  // once through an absolute path of this machine.
  const config = join(fx.root, 'var/lib/kubelet/config.yaml');
  for (const target of [`${'../'.repeat(12)}${relative('/', canary)}`, canary]) {
    await rm(config);
    await symlink(target, config);
    const res = await scan(base);
    const facts = await scan([...base, '--dump-facts']);
    t.is(res.code, 0);
    t.false(res.stdout.includes(canaryText), `report must not contain the canary (link ${target})`);
    t.false(facts.stdout.includes(canaryText), `facts must not contain the canary (link ${target})`);
    const r419 = (JSON.parse(res.stdout) as { results: any[] }).results.find((r) => r.id === 'cis-4.1.9');
    t.is(r419.status, 'error', 'the link leads nowhere inside the host root');
    t.regex(r419.reason, /ENOENT|not found|does not exist/i);
  }
});

test('-o junit, -o sarif and -o kube-bench from the real binary; --format is the same flag', async (t) => {
  const fx = await prepareFixture('insecure-worker');
  t.teardown(fx.cleanup);
  const base = ['--host-root', fx.root, '--proc-root', fx.procRoot, '--node', 'worker-3', ...FIVE];
  const junit = await scan([...base, '-o', 'junit']);
  t.is(junit.code, 0, junit.stderr);
  t.regex(junit.stdout, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites name="nodeward scan of worker-3 \(cis-1.12\)" tests="5" failures="4" errors="0" skipped="1"/);
  const sarif = JSON.parse((await scan([...base, '--output', 'sarif'])).stdout);
  t.is(sarif.version, '2.1.0');
  t.is(sarif.runs[0].tool.driver.version, JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8')).version);
  t.deepEqual(sarif.runs[0].results.map((r: any) => r.kind), ['fail', 'fail', 'fail', 'fail', 'review']);
  const kb = JSON.parse((await scan([...base, '--format', 'kube-bench'])).stdout);
  t.deepEqual(kb.Totals, { total_pass: 0, total_fail: 4, total_warn: 1, total_info: 0 });
  t.deepEqual(kb.Controls.map((c: any) => c.id), ['4']);
});
