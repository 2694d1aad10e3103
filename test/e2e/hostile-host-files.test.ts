// Hostile host files against the real binary (issue 12, break 7): a kubelet config of nested
// brackets, an alias bomb and a 1 MiB file cost one `error` result each; `nodeward scan`
// completes and `nodeward agent` keeps running and reporting.
import test from 'ava';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { openSpool } from '../../agent/report/spool.js';
import type { ScanReport } from '../../proto/load.js';
import { prepareFixture, type Fixture } from '../helpers/fixture.js';
import { NODEWARD_BIN, startNodeward } from '../helpers/process.js';

const run = promisify(execFile);

const CONFIG = 'var/lib/kubelet/config.yaml';

/** 10,000 bytes: the file that made `nodeward agent` abort (exit 134) at every start. */
const NESTED_10K = `${'['.repeat(5000)}${']'.repeat(5000)}`;
/** 1 MiB of the same: peaked at 627 MB in `scan` before it was parsed at all. */
const NESTED_1M = `${'['.repeat(512 * 1024)}${']'.repeat(512 * 1024)}`;
/** 10^6 strings from 50 aliases in six lines. */
const ALIAS_BOMB = [
  'a: &a ["x","x","x","x","x","x","x","x","x","x"]',
  ...['b', 'c', 'd', 'e', 'f'].map((k, i) => `${k}: &${k} [${Array(10).fill(`*${String.fromCharCode(97 + i)}`).join(',')}]`),
  '',
].join('\n');

interface JsonReport {
  totals: Record<string, number>;
  results: Array<{ id: string; status: string; reason: string; source: string; subject: string }>;
}

async function scanJson(fx: Fixture, checks: string): Promise<{ code: number; report: JsonReport | null; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [NODEWARD_BIN, 'scan', '--host-root', fx.root, '--proc-root', fx.procRoot, '--format', 'json', '--no-probe', '--checks', checks], { maxBuffer: 16 << 20 });
    return { code: 0, report: JSON.parse(stdout) as JsonReport, stderr };
  } catch (err) {
    const e = err as { code: number; stderr: string };
    return { code: e.code, report: null, stderr: e.stderr };
  }
}

// 4.2.1 reads the setting, 4.1.9 the file's mode: one refusal is an error for what needs the
// document, while the mode of the same file is still judged.
const CHECKS = 'cis-4.2.1,cis-4.2.4,cis-4.1.9';

for (const [name, content, refusal] of [
  ['10 KB of nested brackets', NESTED_10K, /nested more than 64 levels deep \(at line 1\): refused before parsing/],
  ['an alias bomb', ALIAS_BOMB, /aliases expand past the limit of 100: refused/],
  ['1 MiB of nested brackets', NESTED_1M, /is 1048576 bytes, over the 262144-byte limit/],
] as const) {
  test(`nodeward scan: ${name} in the kubelet config is one refusal, an error result for what needs it; the scan completes`, async (t) => {
    const fx = await prepareFixture('kubeadm-worker-defaults');
    t.teardown(fx.cleanup);
    await writeFile(join(fx.root, CONFIG), content);
    const { code, report, stderr } = await scanJson(fx, CHECKS);
    t.is(code, 0, stderr);
    const anon = report?.results.find((r) => r.id === 'cis-4.2.1');
    t.like(anon, { status: 'error', subject: 'kubelet/--anonymous-auth' });
    t.regex(anon?.reason ?? '', refusal);
    t.is(report?.results.find((r) => r.id === 'cis-4.2.4')?.status, 'error');
    t.is(report?.results.find((r) => r.id === 'cis-4.1.9')?.status, 'pass', 'the file itself is still judged (mode 0600)');
  });
}

test.serial('nodeward agent: the 10 KB nested-bracket kubelet config, then an alias bomb and 1 MiB in its place: it keeps scanning and reporting', async (t) => {
  t.timeout(90_000);
  const fx = await prepareFixture('kubeadm-worker-defaults');
  t.teardown(fx.cleanup);
  const state = join(fx.root, '..', 'state');
  await writeFile(join(fx.root, CONFIG), NESTED_10K);
  const configFile = join(fx.root, '..', 'agent.yaml');
  await writeFile(configFile, [
    `hostRoot: ${fx.root}`, `procRoot: ${fx.procRoot}`, `stateDir: ${state}`, 'node: worker-1',
    // Nobody listens there: the reports stay in the spool, which is what this test reads.
    'collector: { address: "127.0.0.1:1", insecure: true }',
    'health: { port: 0 }', 'scan: { intervalSeconds: 0 }', 'processes: { enabled: false }',
    'kubeletProbe: { enabled: false }', 'etcdProbe: { enabled: false }', 'watch: { debounceMs: 50 }', '',
  ].join('\n'));
  const agent = startNodeward(['agent', '--config', configFile]);
  t.teardown(() => agent.kill('SIGKILL'));

  // Before the limits, the start-up scan aborted the process here (exit 134, V8's regexp compiler).
  await agent.waitFor((l) => l.msg === 'scan completed', { timeoutMs: 30_000 });
  await agent.waitFor((l) => l.msg === 'watching', { timeoutMs: 30_000 });
  // Each rewrite is parsed again by a watch scan (the regexp state a crash needs builds up over parses).
  for (const content of [ALIAS_BOMB, `${NESTED_10K}\n`, NESTED_1M, NESTED_10K]) {
    const from = agent.lines.length;
    await writeFile(join(fx.root, CONFIG), content);
    await agent.waitFor((l) => l.msg === 'watch scan completed', { timeoutMs: 30_000, from });
  }
  await agent.kill('SIGTERM');
  t.is(agent.child.exitCode, 0, agent.output().slice(-2000));
  t.false(/FATAL ERROR|scan failed/.test(agent.output()), 'no fatal error and no failed scan');

  // What the agent would have sent: every report judged the file as an error, with its reason.
  const spool = openSpool({ dir: state, maxItems: 1000, maxBytes: 64 << 20 });
  t.teardown(() => spool.close());
  const reasons = spool.next(0, 1000)
    .filter((e) => e.kind === 'scan')
    .map((e) => (e.payload as ScanReport).results?.find((r) => r.checkId === 'cis-4.2.1'))
    .filter((r) => r !== undefined)
    .map((r) => `${r.status} ${r.reason}`);
  t.true(reasons.length >= 4, `a report per scan: ${reasons.length}`);
  for (const r of reasons) t.regex(r, /^STATUS_ERROR .*(refused before parsing|over the 262144-byte limit|aliases expand past)/);
  t.true(reasons.some((r) => /aliases expand past/.test(r)), 'the alias bomb was judged');
  t.true(reasons.some((r) => /over the 262144-byte limit/.test(r)), 'the 1 MiB file was judged');
});
