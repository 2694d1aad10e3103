// The file watcher in process: real chokidar watches on a fixture host tree, the real
// facts -> checks path, a real spool. A change re-evaluates just the checks that read the
// file and spools a report with trigger `watch`, full = false and that scope.
import test, { type ExecutionContext } from 'ava';
import { chmodSync } from 'node:fs';
import { Writable } from 'node:stream';
import { chmod, mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CATALOG, dependencyIndex } from '../../agent/checks/index.js';
import { collectFacts, type HostFacts } from '../../agent/facts/index.js';
import { createHostFs } from '../../agent/facts/host-fs.js';
import { openSpool } from '../../agent/report/spool.js';
import { createScanLane } from '../../agent/watch/scan-lane.js';
import { createWatcher, type Watcher } from '../../agent/watch/watcher.js';
import { pathsTouched, planWatch } from '../../agent/watch/watch-plan.js';
import { createLogger } from '../../proto/support/logger.js';
import type { ScanReport } from '../../proto/load.js';
import { eventually } from '../helpers/https.js';
import { prepareFixture, writeCmdline, type Fixture } from '../helpers/fixture.js';

interface Spooled { readonly report: ScanReport; readonly full: boolean }

interface Harness {
  readonly fx: Fixture;
  readonly watcher: Watcher;
  readonly spooled: Spooled[];
  readonly logs: Array<Record<string, unknown>>;
  facts(): Promise<HostFacts>;
}

async function harness(t: { teardown(fn: () => Promise<void>): void }, scenario: 'insecure-worker' | 'defaults-worker', opts: {
  prepare?: (fx: Fixture) => Promise<void>; maxPaths?: number; debounceMs?: number; benchmark?: string;
} = {}): Promise<Harness> {
  const fx = await prepareFixture(scenario);
  const state = await mkdtemp(join(tmpdir(), 'nodeward-watch-'));
  await opts.prepare?.(fx);
  const spool = openSpool({ dir: state, maxItems: 10_000, maxBytes: 1 << 24 });
  const spooled: Spooled[] = [];
  const logs: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const facts = (): Promise<HostFacts> => collectFacts({ hostRoot: fx.root, procRoot: fx.procRoot });
  const watcher = createWatcher(
    { node: 'node-a', hostRoot: fx.root, benchmark: opts.benchmark ?? 'auto', debounceMs: opts.debounceMs ?? 100, maxPaths: opts.maxPaths ?? 1024 },
    {
      specs: CATALOG, collect: facts, lane: createScanLane(), notify: () => undefined, log: createLogger('watch-test', 'debug', sink),
      spool: { addScan: (report, full) => (spooled.push({ report, full }), spool.addScan(report, full)) },
    },
  );
  t.teardown(async () => {
    await watcher.stop();
    spool.close();
    await fx.cleanup();
    await rm(state, { recursive: true, force: true });
  });
  await watcher.update(await facts());
  await watcher.start();
  return { fx, watcher, spooled, logs, facts };
}

const reportAt = (h: Harness, n: number): Promise<Spooled> =>
  eventually(`watch report #${n + 1}`, () => h.spooled[n], 10_000, 10);

const resultOf = (s: Spooled, id: string) => s.report.results?.find((r) => r.checkId === id);

/** The checks that depend on `hostPath`, in catalogue order: what a change to it re-evaluates. */
async function scopeFor(h: Harness, ...hostPaths: string[]): Promise<string[]> {
  const index = dependencyIndex(CATALOG, await h.facts());
  const ids = new Set(hostPaths.flatMap((p) => index.get(p) ?? []));
  return CATALOG.filter((s) => ids.has(s.id)).map((s) => s.id);
}

/** The scope a report must have, and a few checks that must (and must not) be in it. */
function assertScope(t: ExecutionContext, s: Spooled, expected: readonly string[], has: readonly string[], hasNot: readonly string[]): void {
  t.deepEqual(s.report.scope, expected);
  t.deepEqual(s.report.results?.map((r) => r.checkId).filter((id, i, a) => a.indexOf(id) === i), expected, 'a result for every check in scope, none outside');
  for (const id of has) t.true((s.report.scope ?? []).includes(id), `${id} in scope`);
  for (const id of hasNot) t.false((s.report.scope ?? []).includes(id), `${id} not in scope`);
  t.true(expected.length < CATALOG.length, 'not a full scan');
}

test('chmod 0644 -> 0600 of the kubelet config: one watch report, scoped to the checks that read it', async (t) => {
  const h = await harness(t, 'insecure-worker');
  t.is(h.spooled.length, 0, 'nothing is reported before a change');
  const expected = await scopeFor(h, '/var/lib/kubelet/config.yaml');
  await chmod(join(h.fx.root, 'var/lib/kubelet/config.yaml'), 0o600);
  const s = await reportAt(h, 0);
  t.false(s.full);
  t.is(s.report.trigger, 'watch');
  t.is(s.report.node, 'node-a');
  // The kubeconfig checks read another file: they are not in scope.
  assertScope(t, s, expected, ['cis-4.1.9', 'cis-4.2.1', 'cis-4.2.2', 'cis-4.2.4'], ['cis-4.1.5', 'cis-4.1.6']);
  t.is(resultOf(s, 'cis-4.1.9')?.status, 'STATUS_PASS');
  t.is(resultOf(s, 'cis-4.1.9')?.actual, '0600');
  t.is(resultOf(s, 'cis-4.2.1')?.status, 'STATUS_FAIL', 'the content did not change');
  const line = h.logs.find((l) => l.msg === 'watch scan completed');
  t.deepEqual(line?.changed, ['/var/lib/kubelet/config.yaml']);
  t.is(typeof line?.collectMs, 'number');
});

test('a watch report is judged under the agent\'s benchmark setting, as the periodic scan is', async (t) => {
  const h = await harness(t, 'insecure-worker', { benchmark: 'cis-eks-1.7' });
  // 0644 -> 0640: within EKS's 644 both times; the report names EKS and carries its control.
  await chmod(join(h.fx.root, 'var/lib/kubelet/config.yaml'), 0o640);
  const s = await reportAt(h, 0);
  t.is(s.report.benchmark, 'cis-eks-1.7');
  t.deepEqual(resultOf(s, 'cis-4.1.9')?.references, ['cis-eks-1.7:3.1.3']);
  t.is(resultOf(s, 'cis-4.1.9')?.status, 'STATUS_PASS', 'EKS asks 644 or stricter; CIS Kubernetes would fail 0640');
  t.deepEqual(resultOf(s, 'cis-4.2.1')?.references, ['cis-eks-1.7:3.2.1', 'cis-1.12:4.2.1']);
});

test('an editor-style replace (write elsewhere, rename over) is seen, and the new content judged', async (t) => {
  const h = await harness(t, 'insecure-worker');
  const expected = await scopeFor(h, '/var/lib/kubelet/config.yaml');
  const config = join(h.fx.root, 'var/lib/kubelet/config.yaml');
  const tmp = join(h.fx.root, 'var/lib/kubelet/.config.yaml.swp');
  await writeFile(tmp, 'apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nauthentication:\n  anonymous:\n    enabled: false\nreadOnlyPort: 0\n', { mode: 0o600 });
  await rename(tmp, config);
  const s = await reportAt(h, 0);
  assertScope(t, s, expected, ['cis-4.1.9', 'cis-4.2.1'], ['cis-4.1.5']);
  t.is(resultOf(s, 'cis-4.2.1')?.status, 'STATUS_PASS');
  t.is(resultOf(s, 'cis-4.2.4')?.status, 'STATUS_PASS');
  t.is(resultOf(s, 'cis-4.1.9')?.status, 'STATUS_PASS');
  // The replaced file is still watched: its directory is, not its old inode.
  await chmod(config, 0o640);
  const again = await reportAt(h, 1);
  t.is(resultOf(again, 'cis-4.1.9')?.status, 'STATUS_FAIL');
});

test('the kubeconfig link target changes: the kubeconfig checks are re-evaluated, the kubelet settings are not', async (t) => {
  const h = await harness(t, 'insecure-worker');
  const expected = await scopeFor(h, '/etc/kubernetes/real/kubelet.conf');
  await chmod(join(h.fx.root, 'etc/kubernetes/real/kubelet.conf'), 0o600);
  const s = await reportAt(h, 0);
  assertScope(t, s, expected, ['cis-4.1.5', 'cis-4.1.6'], ['cis-4.1.9', 'cis-4.2.1', 'cis-4.2.2']);
  t.is(resultOf(s, 'cis-4.1.5')?.status, 'STATUS_PASS');
  t.is(resultOf(s, 'cis-4.1.5')?.subject, '/etc/kubernetes/kubelet.conf', 'the subject stays the path as named');
});

test('a new drop-in file is noticed through its directory', async (t) => {
  const h = await harness(t, 'defaults-worker');
  const expected = await scopeFor(h, '/etc/kubernetes/kubelet.conf.d');
  const dropin = join(h.fx.root, 'etc/kubernetes/kubelet.conf.d/30-readonly.conf');
  await writeFile(dropin, 'apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nreadOnlyPort: 10255\n', { mode: 0o600 });
  const s = await reportAt(h, 0);
  // The new drop-in's mode and owner are judged too (4.1.9, 4.1.10: every file the kubelet reads).
  assertScope(t, s, expected, ['cis-4.2.1', 'cis-4.2.2', 'cis-4.2.4', 'cis-4.1.9', 'cis-4.1.10'], ['cis-4.1.5']);
  t.is(s.report.results?.find((r) => r.checkId === 'cis-4.1.9' && r.subject === '/etc/kubernetes/kubelet.conf.d/30-readonly.conf')?.status, 'STATUS_PASS');
  t.is(resultOf(s, 'cis-4.2.4')?.status, 'STATUS_WARN');
  t.is(resultOf(s, 'cis-4.2.4')?.sourceFile, '/etc/kubernetes/kubelet.conf.d/30-readonly.conf');
  // The new file is a dependency now: changing it is seen too.
  await writeFile(dropin, 'apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nreadOnlyPort: 0\n');
  const after = await eventually('4.2.4 passes again', () => h.spooled.slice(1).find((x) => resultOf(x, 'cis-4.2.4')?.status === 'STATUS_PASS'), 10_000, 10);
  t.is(after.report.trigger, 'watch');
});

test('a file that does not exist yet, under a directory that does not either, is noticed when created', async (t) => {
  const h = await harness(t, 'defaults-worker', {
    prepare: (fx) => writeCmdline(fx.procRoot, 777, ['/usr/local/bin/kubelet', '--config=/var/lib/kubelet/config.yaml', '--kubeconfig=/etc/kubernetes/later/kubelet.conf']),
  });
  const expected = await scopeFor(h, '/etc/kubernetes/later/kubelet.conf');
  t.true(expected.includes('cis-4.1.5'));
  await mkdir(join(h.fx.root, 'etc/kubernetes/later'));
  const created = await reportAt(h, 0);
  assertScope(t, created, expected, ['cis-4.1.5'], ['cis-4.1.9', 'cis-4.2.1']);
  t.is(resultOf(created, 'cis-4.1.5')?.status, 'STATUS_ERROR', 'the directory alone: still no file');
  // Let the watch move down into the new directory before the file appears.
  await eventually('the new directory watched', () => (h.logs.filter((l) => l.msg === 'watching').length >= 2 ? true : undefined), 5000, 10);
  await writeFile(join(h.fx.root, 'etc/kubernetes/later/kubelet.conf'), 'apiVersion: v1\nkind: Config\n', { mode: 0o600 });
  const s = await eventually('4.1.5 passes', () => h.spooled.find((x) => resultOf(x, 'cis-4.1.5')?.status === 'STATUS_PASS'), 10_000, 10);
  t.deepEqual(s.report.scope, expected);
});

test('a burst of writes is one report; a change nothing depends on is none', async (t) => {
  const h = await harness(t, 'insecure-worker');
  const config = join(h.fx.root, 'var/lib/kubelet/config.yaml');
  // Synchronous, so the whole burst lands within one debounce window however busy the machine is.
  for (let i = 0; i < 20; i++) chmodSync(config, i % 2 === 0 ? 0o600 : 0o644);
  chmodSync(config, 0o600);
  await reportAt(h, 0);
  await writeFile(join(h.fx.root, 'var/lib/kubelet/unrelated-state'), 'x');
  await writeFile(join(h.fx.root, 'etc/kubernetes/unrelated.conf'), 'x');
  await new Promise((r) => setTimeout(r, 500));
  t.is(h.spooled.length, 1);
  t.is(h.watcher.stats().reports, 1);
});

test('the bound on watched directories is kept, and what is left out is counted and logged', async (t) => {
  const h = await harness(t, 'insecure-worker', { maxPaths: 1 });
  const st = h.watcher.stats();
  t.is(st.dirs, 1);
  t.true(st.overflow > 0);
  const warn = h.logs.find((l) => l.msg === 'watch bound reached: some paths wait for the periodic scan');
  t.is(warn?.overflow, st.overflow);
});

test('stop is safe before start and twice; a stopped watcher reports nothing', async (t) => {
  const idle = createWatcher(
    { node: 'n', hostRoot: '/nonexistent', benchmark: 'b', debounceMs: 10, maxPaths: 10 },
    { specs: CATALOG, collect: () => Promise.reject(new Error('never called')), lane: createScanLane(), notify: () => undefined, log: createLogger('t', 'silent'), spool: { addScan: () => 0 } },
  );
  await t.notThrowsAsync(idle.stop());
  await t.notThrowsAsync(idle.stop());

  const h = await harness(t, 'insecure-worker');
  await h.watcher.stop();
  await h.watcher.stop();
  t.is(h.watcher.stats().dirs, 0);
  await chmod(join(h.fx.root, 'var/lib/kubelet/config.yaml'), 0o600);
  await new Promise((r) => setTimeout(r, 300));
  t.is(h.spooled.length, 0);
});

test('watch plan: parents of files, the drop-in directory itself, nearest existing ancestor, never outside the root', async (t) => {
  const fx = await prepareFixture('defaults-worker');
  t.teardown(fx.cleanup);
  const outside = await mkdtemp(join(tmpdir(), 'nodeward-outside-'));
  t.teardown(() => rm(outside, { recursive: true, force: true }));
  // Links that would leave the root if followed by the operating system.
  await symlink(outside, join(fx.root, 'etc/kubernetes/escape-dir'));
  await symlink('../../../../../../../../../../etc/passwd', join(fx.root, 'etc/kubernetes/escape-file'));
  const hostFs = createHostFs(fx.root);
  const plan = await planWatch(hostFs, [
    '/var/lib/kubelet/config.yaml',
    '/etc/kubernetes/kubelet.conf.d',
    '/etc/kubernetes/kubelet.conf.d/10-authz.conf',
    '/etc/kubernetes/pki/missing/ca.crt',
    '/etc/kubernetes/escape-dir/x.conf',
    '/etc/kubernetes/escape-file',
  ], 100);
  const r = (p: string): string => join(fx.root, p);
  t.deepEqual([...plan.dirs].sort(), [r('etc'), r('etc/kubernetes'), r('etc/kubernetes/kubelet.conf.d'), r('var/lib/kubelet')].sort());
  for (const d of plan.dirs) t.true(d === fx.root || d.startsWith(`${fx.root}/`), `${d} is inside the host root`);
  // The missing file is seen appearing one directory at a time.
  t.deepEqual([...pathsTouched(plan, r('etc/kubernetes'), 'pki')], ['/etc/kubernetes/pki/missing/ca.crt']);
  // Links are followed inside the root only: the absolute one leads nowhere there (the link
  // itself is watched), the relative one stops at the root and lands on the host's /etc/passwd.
  t.deepEqual([...pathsTouched(plan, r('etc/kubernetes'), 'escape-dir')], ['/etc/kubernetes/escape-dir/x.conf']);
  t.deepEqual([...pathsTouched(plan, r('etc'), 'passwd')], ['/etc/kubernetes/escape-file']);
  t.deepEqual([...pathsTouched(plan, r('etc/kubernetes'), 'escape-file')], ['/etc/kubernetes/escape-file']);
  // Any new entry in the drop-in directory counts; a stray entry elsewhere does not.
  t.deepEqual([...pathsTouched(plan, r('etc/kubernetes/kubelet.conf.d'), '50-new.conf')], ['/etc/kubernetes/kubelet.conf.d']);
  t.deepEqual([...pathsTouched(plan, r('var/lib/kubelet'), 'cpu_manager_state')], []);
  t.is(plan.overflow, 0);

  const bounded = await planWatch(hostFs, ['/var/lib/kubelet/config.yaml', '/etc/kubernetes/kubelet.conf', '/etc/passwd'], 2);
  t.is(bounded.dirs.length, 2);
  t.is(bounded.overflow, 1);
  t.is(bounded.paths, 3);
});
