// Attribution from exec-time facts, with a real container runtime: Debian's containerd and
// runc, started by the test (own root, state and socket in a temp dir), running a busybox
// directory (`ctr run --rootfs`) with the annotations and kubepods cgroup path the kubelet's
// CRI call gives a pod's container. The agent's monitor runs on the eBPF exec source, with
// processes.containerdState pointed at the test's containerd, and shows:
//   - an unexpected process in the container, a sub-millisecond one included, is attributed
//     to its namespace, pod, workload and container, and judged against that workload's
//     baseline key, not the host's;
//   - a host process that moves itself into a cgroup named like a pod's container (no bundle)
//     stays on the host baseline, and the cgroup is a proc-fake-container-cgroup finding;
//   - a host process that moves itself into a real pod container's cgroup and execs there
//     stays host: it is still in the host's mount namespace;
//   - the real agent sends the proc-fake-container-cgroup finding to a real collector;
//   - a process keeps the attribution of its exec when it is moved to another cgroup later;
//   - benign churn gives no finding: a container of the workload started and stopped, a
//     learned binary run 1,000 times in it.
// Needs root, eBPF and the packages containerd, runc and busybox-static: failed in CI, skipped
// elsewhere.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadAgentConfig } from '../../agent/config.js';
import { createAgent } from '../../agent/main.js';
import { createProcessMonitor, type ProcessMonitor } from '../../agent/processes/monitor.js';
import { processStatsToWire } from '../../agent/processes/wire-stats.js';
import type { Spool } from '../../agent/report/spool.js';
import { createLogger } from '../../proto/support/logger.js';
import { ADMIN_TOKEN, startTestCollector } from '../helpers/collector.js';
import { eventually, httpsJson } from '../helpers/https.js';
import { cgroup2Mount, cgroupIdOf, containerdAvailable, startContainerd, type Containerd, type PodSpec } from '../helpers/containerd.js';
import { exitOnlyElf } from '../helpers/elf.js';
import { needs } from '../helpers/requirements.js';
import { ebpfAvailable, freshBinary, HOST_WORKER, monitorConfig, spooledFindings, tempDir, testSpool, THIS_MACHINE, waitFor, type SpooledFinding } from './helpers.js';

const log = createLogger('test', 'silent');

function available(): true | string {
  const c = containerdAvailable();
  if (c !== true) return c;
  return ebpfAvailable();
}

const containerTest = needs({
  what: 'a real container runtime (containerd, runc, a static busybox) and the eBPF exec source, as root',
  packages: ['containerd', 'runc', 'busybox-static', 'clang', 'llvm', 'libbpf-dev'], check: available, serial: true,
});

const WEB: PodSpec = { namespace: 'shop', pod: 'web-7d9f8b6c5d-x2x9z', container: 'nginx', podUid: '6b1c2d3e-4f5a-6b7c-8d9e-0f1a2b3c4d5e' };
const WEB_KEY = 'shop/Deployment/web/nginx';

interface Setup {
  readonly m: ProcessMonitor;
  readonly spool: Spool;
  readonly ctrd: Containerd;
  readonly dir: string;
}

/**
 * containerd, and a monitor on eBPF that reads its bundles. A warm-up container of the web pod
 * (started, exec'd into, removed; and one run to its end) teaches the host baseline the
 * runtime's programs (ctr, the shim, runc, runc's init) and the workload's baseline busybox,
 * runc's init and /bin/learned, as the learning windows would on a node; then an operator lock
 * locks both.
 */
async function setup(t: import('ava').ExecutionContext): Promise<Setup> {
  const dir = await tempDir('containers');
  t.teardown(dir.cleanup);
  const ctrd = await startContainerd(join(dir.path, 'containerd'));
  t.teardown(() => ctrd.stop());
  // Two exit-only executables in the container's filesystem: one the workload learns, one it never saw.
  await writeFile(join(ctrd.rootfs, 'bin/learned'), exitOnlyElf(), { mode: 0o755 });
  await writeFile(join(ctrd.rootfs, 'bin/fresh'), exitOnlyElf(), { mode: 0o755 });
  const spool = testSpool(join(dir.path, 'spool'));
  t.teardown(() => spool.close());
  const m = createProcessMonitor(monitorConfig({
    procRoot: '/proc', hostRoot: '/', stateDir: join(dir.path, 'state'), scanIntervalMs: 0, execEvents: true,
    containerdState: ctrd.state, learnMs: 3_600_000, hostLearnMs: 3_600_000, startupMs: 0, rateBurst: 100_000, ...THIS_MACHINE,
  }), { log, spool, notify: () => undefined });
  t.teardown(() => m.stop());
  await m.start();
  const warm = await ctrd.start(WEB, ['/bin/sleep', '600']);
  await ctrd.exec(warm.id, ['/bin/learned']);
  // The workload's shell runs inline code while learning (as an entrypoint `sh -c ...` does).
  await ctrd.exec(warm.id, ['/bin/sh', '-c', '/bin/learned']);
  await ctrd.remove(warm.id);
  await ctrd.runOnce(WEB, ['/bin/learned']);
  const items = (key: string) => m.snapshot().baselines.find((b) => b.key === key)?.items ?? {};
  await waitFor('the warm-up to be learned', () => items(WEB_KEY)['/bin/learned'] !== undefined && items(HOST_WORKER)['/usr/sbin/runc'] !== undefined);
  // Every exec of the warm-up is judged before the baselines lock: records arrive in order, so
  // once a marker run after the warm-up is learned, everything before it has been judged. (A
  // wait for the host to go quiet never ends while other tests run processes beside this one.)
  const marker = join(dir.path, `nw-warmup-done-${process.pid}`);
  await writeFile(marker, exitOnlyElf(), { mode: 0o755 });
  await run(marker, []);
  await waitFor('the warm-up marker to be judged', () => items(HOST_WORKER)[marker] !== undefined);
  for (const key of [HOST_WORKER, WEB_KEY]) m.applyBaselineChange({ version: 0, key, allowed: [], removed: [], lock: 'lock' });
  return { m, spool, ctrd, dir: dir.path };
}

/** A running container of the web pod (whose baseline is locked). */
async function runningWorkload(t: import('ava').ExecutionContext, s: Setup): Promise<{ id: string; cgroup: string }> {
  const c = await s.ctrd.start(WEB, ['/bin/sleep', '600']);
  t.teardown(() => s.ctrd.remove(c.id));
  return c;
}

/** The spooled findings once `until` holds (flushing the monitor while waiting). */
async function findings(s: Setup, until: (all: SpooledFinding[]) => boolean): Promise<SpooledFinding[]> {
  let all: SpooledFinding[] = [];
  await waitFor('the expected findings', () => {
    s.m.flush();
    all = spooledFindings(s.spool);
    return until(all);
  }, 30_000);
  return all;
}

/**
 * The spooled findings `relevant` keeps, once no new one came for 3 polls (about a second). The
 * host's baseline sees whatever else runs on the machine (other tests), so only what a test
 * could have caused is waited on and returned.
 */
async function settledFindings(s: Setup, relevant: (f: SpooledFinding) => boolean): Promise<SpooledFinding[]> {
  let last = '';
  let same = 0;
  let all: SpooledFinding[] = [];
  await waitFor('the monitor to settle', async () => {
    s.m.flush();
    all = spooledFindings(s.spool).filter(relevant);
    const now = String(all.length);
    same = now === last ? same + 1 : 0;
    last = now;
    if (same < 3) await new Promise((r) => setTimeout(r, 300));
    return same >= 3;
  }, 30_000);
  return all;
}

/** Runs a command to its end; its exit code. */
function run(file: string, args: readonly string[]): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const c = spawn(file, args, { stdio: 'ignore' });
    c.once('error', reject);
    c.once('exit', resolve);
  });
}

containerTest('a real container: an unexpected sub-millisecond process is attributed to its namespace, pod, workload and container', async (t) => {
  t.timeout(120_000);
  const s = await setup(t);
  const c = await runningWorkload(t, s);
  // /bin/fresh only exits: it is gone long before anyone could read /proc.
  await s.ctrd.exec(c.id, ['/bin/fresh']);
  const all = await findings(s, (f) => f.some((x) => x.finding.subject === `${WEB_KEY}:/bin/fresh`));
  const hit = all.find((x) => x.finding.subject === `${WEB_KEY}:/bin/fresh`);
  t.truthy(hit, `a finding under the workload's key; got ${all.map((x) => x.finding.subject).join(', ')}`);
  const d = hit!.detail;
  t.like(d, {
    baseline: WEB_KEY, exe: '/bin/fresh', namespace: 'shop', pod: WEB.pod, podUid: WEB.podUid, seen: 'event',
    container: { id: c.id, name: 'nginx', runtime: 'containerd' }, workload: { kind: 'Deployment', name: 'web', source: 'pod-name' },
  });
  t.is(hit!.finding.checkId, 'proc-unexpected');
  // Decided from the kernel's exec-time cgroup: the id is the container cgroup directory's inode.
  t.is(d.kernel?.cgroupId, cgroupIdOf(c.cgroup));
  // Judged against the workload's baseline, never the host's; the container is real: no fake finding.
  t.false(all.some((x) => x.detail.baseline === HOST_WORKER && x.detail.exe === '/bin/fresh'));
  t.false(all.some((x) => x.finding.checkId === 'proc-fake-container-cgroup'));
  t.is(s.m.stats().fakeContainer, 0);
});

containerTest('a host process that moves itself into a cgroup named like a pod container stays host, and the cgroup is a finding', async (t) => {
  t.timeout(120_000);
  const s = await setup(t);
  const bin = await freshBinary(s.dir, '/bin/true', 'nw-in-fake-cgroup');
  const id = 'fe'.repeat(32);
  const path = `/kubepods/besteffort/pod0f0f0f0f-1111-2222-3333-444444444444/${id}`;
  const dir = join(cgroup2Mount(), path);
  await mkdir(dir, { recursive: true });
  t.teardown(async () => {
    for (const p of [path, '/kubepods/besteffort/pod0f0f0f0f-1111-2222-3333-444444444444', '/kubepods/besteffort', '/kubepods']) {
      await rmdir(join(cgroup2Mount(), p)).catch(() => undefined);
    }
  });
  // The shell moves itself into the cgroup, then execs the binary there.
  t.is(await run('/bin/sh', ['-c', `echo $$ > ${dir}/cgroup.procs && exec ${bin}`]), 0);
  const all = await findings(s, (f) => f.filter((x) => x.detail.exe === bin).length >= 2);
  const unexpected = all.find((x) => x.finding.checkId === 'proc-unexpected' && x.detail.exe === bin);
  t.truthy(unexpected, `judged against the host baseline; got ${all.map((x) => `${x.finding.checkId} ${x.finding.subject}`).join(', ')}`);
  t.like(unexpected!.detail, { baseline: HOST_WORKER, container: null, namespace: '', pod: '' });
  // The monitor sees every exec on the machine: a container another test's runtime left
  // behind is a fake one to it too. This test's is the one its binary ran in.
  const fake = all.find((x) => x.finding.checkId === 'proc-fake-container-cgroup' && x.detail.exe === bin);
  t.truthy(fake, 'the cgroup is a finding');
  t.is(fake!.finding.subject, `cgroup:${path}`);
  t.is(fake!.finding.category, 'process');
  t.like(fake!.detail, { baseline: HOST_WORKER, exe: bin, container: null, fakeContainer: { cgroupPath: path, id } });
  t.regex(fake!.detail.fakeContainer!.reason, /no runtime bundle/);
  t.false(all.some((x) => x.detail.baseline === `container:${id}`), 'no baseline of its own for the fake container');
  t.true(s.m.stats().fakeContainer >= 1);
});

containerTest('a process keeps the attribution of its exec when it moves to another cgroup later', async (t) => {
  t.timeout(120_000);
  const s = await setup(t);
  const c = await runningWorkload(t, s);
  // A host process, unexpected on the host, moved into the real container's cgroup after its exec.
  const bin = await freshBinary(s.dir, '/bin/sleep', 'nw-moved-later');
  const p = spawn(bin, ['30'], { stdio: 'ignore' });
  t.teardown(() => p.kill('SIGKILL'));
  await findings(s, (f) => f.some((x) => x.detail.exe === bin));
  await writeFile(join(cgroup2Mount(), c.cgroup, 'cgroup.procs'), String(p.pid));
  t.true((await readFile(`/proc/${p.pid}/cgroup`, 'utf8')).includes(`0::${c.cgroup}\n`), 'it is in the container cgroup now');
  await s.m.scanNow();
  const mine = await settledFindings(s, (x) => x.detail.exe === bin);
  t.true(mine.length >= 1);
  t.true(mine.every((x) => x.detail.baseline === HOST_WORKER && x.detail.container === null), mine.map((x) => x.detail.baseline).join(', '));
});

containerTest("a host process that moves itself into a real pod container's cgroup and execs there stays host: it is in the host's mount namespace", async (t) => {
  t.timeout(120_000);
  const s = await setup(t);
  const c = await runningWorkload(t, s);
  t.truthy(s.m.stats().hostMntNs, "the host's mount namespace is known");
  const bin = await freshBinary(s.dir, '/bin/true', 'nw-in-pod-cgroup');
  const dir = join(cgroup2Mount(), c.cgroup);
  t.is(await run('/bin/sh', ['-c', `echo $$ > ${dir}/cgroup.procs && exec ${bin}`]), 0);
  const all = await findings(s, (f) => f.some((x) => x.detail.exe === bin));
  const mine = all.filter((x) => x.detail.exe === bin);
  t.deepEqual(mine.map((x) => `${x.finding.checkId} ${x.detail.baseline}`), [`proc-unexpected ${HOST_WORKER}`]);
  t.like(mine[0]!.detail, { container: null, namespace: '', pod: '' });
  // Its exec-time cgroup was the container's: the kernel said so, and the namespace decided.
  t.is(mine[0]!.detail.kernel?.cgroupId, cgroupIdOf(c.cgroup));
  t.is(mine[0]!.detail.kernel?.mntNs, s.m.stats().hostMntNs ?? -1);
  t.true(s.m.stats().hostNamespace >= 1);
  t.is(processStatsToWire(s.m.stats(), 0).execHostNamespace, s.m.stats().hostNamespace, 'AgentStats carries it to the collector');
});

containerTest('benign churn: a container of the workload started and stopped, a learned binary run 1,000 times, give no finding', async (t) => {
  t.timeout(180_000);
  const s = await setup(t);
  const c = await runningWorkload(t, s);
  const before = s.m.stats().verdicts.known;
  await s.ctrd.exec(c.id, ['/bin/sh', '-c', 'i=0; while [ $i -lt 1000 ]; do /bin/learned; i=$((i+1)); done']);
  // Another container of the same workload, started and stopped (a restart).
  await s.ctrd.runOnce(WEB, ['/bin/sh', '-c', '/bin/learned; /bin/learned']);
  await waitFor('1,000 runs judged as known', () => s.m.stats().verdicts.known - before >= 1000, 30_000);
  // What the churn could cause: anything but a host finding, and host findings of what the
  // container runtime ran.
  const runtime = ['/usr/bin/ctr', '/usr/bin/containerd', '/usr/bin/containerd-shim-runc-v2', '/usr/sbin/runc'];
  const churn = await settledFindings(s, (x) => x.detail.baseline !== HOST_WORKER || x.finding.checkId === 'proc-fake-container-cgroup'
    || runtime.includes(x.detail.exe) || x.detail.parents.some((p) => runtime.includes(p)));
  t.deepEqual(churn.map((x) => `${x.finding.checkId} ${x.finding.subject}`), []);
  const st = s.m.stats();
  t.is(st.fakeContainer, 0);
  t.is(st.exec?.ringLost, 0);
  // runc (1.1) re-executes itself from a sealed memfd copy: the same content the process ran a
  // moment before, recognised as such, so it is neither learned nor a finding.
  t.true(st.content.reexec > 0, "runc's re-exec of itself was recognised");
  t.log(`${st.verdicts.known - before} runs judged known; ${st.verdicts.unexpected} unexpected; runc re-execs ${st.content.reexec}, from memory ${st.content.fromMemory}`);
});

containerTest('a new image version of a locked workload learns its own contents; the same image with other content is proc-modified-binary', async (t) => {
  t.timeout(120_000);
  const s = await setup(t);
  // Version 2 of the image: its own root filesystem, where /bin/learned has other content.
  const v2 = join(s.dir, 'rootfs-v2');
  await cp(s.ctrd.rootfs, v2, { recursive: true, verbatimSymlinks: true });
  const v2Learned = Buffer.concat([exitOnlyElf(), Buffer.from('image v2')]);
  await writeFile(join(v2, 'bin/learned'), v2Learned, { mode: 0o755 });
  const imageBefore = s.m.stats().verdicts.image;
  await s.ctrd.runOnce({ ...WEB, image: 'test/busybox:v2', rootfs: v2 }, ['/bin/learned']);
  await waitFor('the new image content learned', () => s.m.stats().verdicts.image > imageBefore, 30_000);
  const item = s.m.snapshot().baselines.find((b) => b.key === WEB_KEY)?.items['/bin/learned'];
  t.like(item?.digests?.find((d) => d.image === 'test/busybox:v2'), { source: 'image', sha256: createHash('sha256').update(v2Learned).digest('hex') });
  // The first image's file replaced: the same image, content nobody vouches for.
  await writeFile(join(s.ctrd.rootfs, 'bin/learned'), Buffer.concat([exitOnlyElf(), Buffer.from('tampered')]), { mode: 0o755 });
  await s.ctrd.runOnce(WEB, ['/bin/learned']);
  const all = await findings(s, (f) => f.some((x) => x.finding.checkId === 'proc-modified-binary' && x.detail.baseline === WEB_KEY));
  const modified = all.filter((x) => x.detail.baseline === WEB_KEY);
  t.deepEqual(modified.map((x) => `${x.finding.checkId} ${x.detail.exe}`), ['proc-modified-binary /bin/learned']);
  t.is(modified[0]?.detail.identity?.baselineSha256.length, 2);
});

containerTest('the agent sends a fake container cgroup to the collector as proc-fake-container-cgroup', async (t) => {
  t.timeout(90_000);
  const tc = await startTestCollector({ nodes: ['node-a'] });
  t.teardown(() => tc.close());
  const dir = await tempDir('containers-agent');
  t.teardown(dir.cleanup);
  const bin = await freshBinary(dir.path, '/bin/sleep', 'nw-agent-in-fake-cgroup');
  const agentPki = tc.pki.agents['node-a']!;
  const agent = createAgent(loadAgentConfig({
    env: {},
    overrides: {
      node: 'node-a', stateDir: join(dir.path, 'state'), 'collector.address': tc.grpcAddress, 'collector.caFile': tc.pki.caCert,
      'collector.certFile': agentPki.cert, 'collector.keyFile': agentPki.key, 'collector.heartbeatSeconds': 1, 'health.port': 0,
      'scan.intervalSeconds': 0, 'watch.enabled': false, 'processes.scanIntervalSeconds': 0.5, 'processes.hostRole': 'worker',
      'processes.containerdState': join(dir.path, 'no-containerd'),
    },
  }, { needCollector: true }), { version: 'test', log: createLogger('agent', 'silent') });
  t.teardown(() => agent.stop());
  await agent.start();
  const id = '9c'.repeat(32);
  const path = `/kubepods/burstable/pod0e0e0e0e-5555-6666-7777-888888888888/${id}`;
  await mkdir(join(cgroup2Mount(), path), { recursive: true });
  const child = spawn('/bin/sh', ['-c', `echo $$ > ${join(cgroup2Mount(), path)}/cgroup.procs && exec ${bin} 30`], { stdio: 'ignore' });
  t.teardown(async () => {
    child.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 200));
    for (const p of [path, '/kubepods/burstable/pod0e0e0e0e-5555-6666-7777-888888888888', '/kubepods/burstable', '/kubepods']) {
      await rmdir(join(cgroup2Mount(), p)).catch(() => undefined);
    }
  });
  interface ApiFinding { subject: string; checkId: string; category: string; severity: string; state: string; detail: { exe: string; baseline: string; fakeContainer?: { id: string; cgroupPath: string } } }
  const finding = await eventually('the finding at the collector', async () => {
    const r = await httpsJson<{ items: ApiFinding[] }>(`${tc.apiUrl}/api/v1/findings?check=proc-fake-container-cgroup&limit=100`, { ca: tc.ca, token: ADMIN_TOKEN });
    return r.body.items.find((f) => f.subject === `cgroup:${path}`);
  }, 30_000);
  t.like(finding, { checkId: 'proc-fake-container-cgroup', category: 'process', severity: 'high', state: 'open' });
  t.like(finding.detail, { exe: bin, baseline: HOST_WORKER, fakeContainer: { id, cgroupPath: path } });
  // And the node's counters say how many processes were judged as host processes for it.
  const node = await eventually('execFakeContainer at the collector', async () => {
    const r = await httpsJson<{ execFakeContainer: number; execSource: string; execBatches: number }>(`${tc.apiUrl}/api/v1/nodes/node-a`, { ca: tc.ca, token: ADMIN_TOKEN });
    return r.body.execFakeContainer >= 1 ? r.body : undefined;
  }, 30_000);
  t.true(node.execSource !== 'ebpf' || node.execBatches > 0, `${node.execSource}: ${node.execBatches} eBPF batches`);
});
