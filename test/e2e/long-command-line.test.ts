// Command lines longer than the agent reads (issue 12, break 8): the process is still the one
// judged, and its flag checks are errors, because the kubelet (like every component, through
// pflag) takes the LAST value of a flag and that value may lie past the cut. Before, a kubelet
// with long arguments was skipped and judged from its systemd unit, so
// `--anonymous-auth=true` after 300 KiB of labels scored pass on cis-4.2.1.
import test from 'ava';
import { execFile, spawn } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { MAX_CMDLINE_BYTES, parseCmdlinePrefix } from '../../agent/facts/proc.js';
import { prepareFixture, writeCmdline, type Fixture } from '../helpers/fixture.js';
import { NODEWARD_BIN } from '../helpers/process.js';
import { freshBinary, tempDir } from '../processes/helpers.js';

const run = promisify(execFile);

interface JsonResult { id: string; status: string; reason: string; source: string; sourceFile: string; subject: string }

async function scan(hostRoot: string, procRoot: string, checks?: string): Promise<JsonResult[]> {
  const args = [NODEWARD_BIN, 'scan', '--host-root', hostRoot, '--proc-root', procRoot, '--format', 'json', '--no-probe', ...(checks ? ['--checks', checks] : [])];
  const { stdout } = await run(process.execPath, args, { maxBuffer: 64 << 20 });
  return (JSON.parse(stdout) as { results: JsonResult[] }).results;
}

/**
 * One argument of exactly `bytes` bytes (Linux takes at most 128 KiB per argument, its NUL
 * included), shaped like node labels: `--node-labels=a00001=x,a00002=x,...`.
 */
function longArg(flag: string, tag: string, bytes: number): string {
  const head = `--${flag}=`;
  let body = '';
  for (let i = 0; body.length < bytes - head.length; i++) body += `${tag}${String(i).padStart(5, '0')}=x,`;
  return head + body.slice(0, bytes - head.length);
}
const MAX_ARG = 128 * 1024 - 1;

const CUT = new RegExp(`is longer than the ${MAX_CMDLINE_BYTES} bytes the agent reads`);

test('a cut command line drops the argument cut in two and says it was cut', (t) => {
  const nul = (argv: string[]): Buffer => Buffer.from(argv.map((a) => `${a}\0`).join(''));
  t.deepEqual(parseCmdlinePrefix(nul(['kubelet', '--a=1']), 64), { argv: ['kubelet', '--a=1'], truncated: false });
  // 8 + 6 bytes fit; the third argument is cut at byte 20 and must not read as `--anonymous-`.
  const raw = nul(['kubelet', '--a=1', '--anonymous-auth=true']);
  t.deepEqual(parseCmdlinePrefix(raw, 20), { argv: ['kubelet', '--a=1'], truncated: true });
  t.deepEqual(parseCmdlinePrefix(raw, raw.length), { argv: ['kubelet', '--a=1', '--anonymous-auth=true'], truncated: false });
  t.deepEqual(parseCmdlinePrefix(Buffer.alloc(100, 0x61), 50), { argv: [], truncated: true }, 'no whole argument: nothing to recognise');
});

test.serial('a REAL kubelet process with 3 x 128 KiB arguments and --anonymous-auth=true last: cis-4.2.1 is an error about that process, not its unit file', async (t) => {
  const dir = await tempDir('long-cmdline');
  t.teardown(dir.cleanup);
  // The unit says false: judged from the unit, 4.2.1 would pass.
  const host = join(dir.path, 'host');
  await mkdir(join(host, 'etc/systemd/system'), { recursive: true });
  await writeFile(join(host, 'etc/systemd/system/kubelet.service'), '[Service]\nExecStart=/usr/bin/kubelet --anonymous-auth=false\n');
  // A copy of sh named kubelet, waiting on its stdin: harmless, and its argv is whatever we give it.
  const bins = join(dir.path, 'bin');
  await mkdir(bins);
  const kubelet = await freshBinary(bins, '/bin/sh', 'kubelet');
  const argv = ['-c', 'read line', 'kubelet', ...['a', 'b', 'c'].map((c) => longArg('node-labels', c, MAX_ARG)), '--anonymous-auth=true'];
  const child = spawn(kubelet, argv, { stdio: ['pipe', 'ignore', 'ignore'] });
  t.teardown(() => {
    child.kill('SIGKILL');
  });
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  const pid = child.pid ?? 0;
  // The kernel holds all of it: 3 x 128 KiB plus the decisive flag, past the agent's bound.
  const cmdline = await readFile(`/proc/${pid}/cmdline`);
  t.true(cmdline.length > MAX_CMDLINE_BYTES);
  t.true(cmdline.toString('latin1').endsWith('--anonymous-auth=true\0'));

  const results = await scan(host, '/proc', 'cis-4.2.1,cis-4.2.2,cis-4.1.9');
  const anon = results.find((r) => r.id === 'cis-4.2.1');
  t.like(anon, { status: 'error', subject: 'kubelet/--anonymous-auth', source: 'none', sourceFile: '' });
  t.regex(anon?.reason ?? '', new RegExp(`the kubelet \\(pid ${pid}, /proc/${pid}/cmdline\\)`), 'the live process is the one judged');
  t.regex(anon?.reason ?? '', CUT);
  t.notRegex(anon?.reason ?? '', /systemd unit/, 'never a fallback to the unit file');
  for (const id of ['cis-4.2.2', 'cis-4.1.9']) t.is(results.find((r) => r.id === id)?.status, 'error', id);
});

/** Appends 3 x 128 KiB of padding and then `last` to a fixture process's command line (or to `base`). */
async function lengthen(fx: Fixture, pid: number, last: string, base?: string[]): Promise<void> {
  const argv = base ?? (await readFile(join(fx.procRoot, String(pid), 'cmdline'), 'utf8')).split('\0').filter((a) => a !== '');
  await writeCmdline(fx.procRoot, pid, [...argv, ...['a', 'b', 'c'].map((c) => longArg('node-labels', c, MAX_ARG)), last]);
}

/**
 * Every result about `component`'s settings is an error naming the cut; none is judged. (Not
 * the probes, which are off here, nor the kubelet's version, read from its binary.)
 */
function assertAllCut(t: import('ava').ExecutionContext, results: JsonResult[], component: string, decisive: string): void {
  const mine = results.filter((r) => r.subject.startsWith(`${component}/`) && !/probe is turned off/.test(r.reason) && r.subject !== 'kubelet/version');
  t.true(mine.length > 0, `${component} has results`);
  for (const r of mine) {
    t.is(r.status, 'error', `${r.id} ${r.subject}: ${r.reason}`);
    t.regex(r.reason, CUT, `${r.id} ${r.subject}`);
  }
  t.is(results.find((r) => r.id === decisive)?.status, 'error', decisive);
}

test('kubeadm control plane: kubelet, API server, controller manager, scheduler and etcd each with a cut command line: all their flag checks are errors', async (t) => {
  const fx = await prepareFixture('kubeadm-cp');
  t.teardown(fx.cleanup);
  const decisive: Array<[number, string, string, string]> = [
    [900, 'kubelet', '--anonymous-auth=true', 'cis-4.2.1'],
    [1101, 'kube-apiserver', '--anonymous-auth=true', 'cis-1.2.1'],
    [1102, 'kube-controller-manager', '--profiling=true', 'cis-1.3.2'],
    [1103, 'kube-scheduler', '--profiling=true', 'cis-1.4.1'],
    [1104, 'etcd', '--client-cert-auth=false', 'cis-2.2'],
  ];
  for (const [pid, , last] of decisive) await lengthen(fx, pid, last);
  const results = await scan(fx.root, fx.procRoot);
  for (const [, component, , id] of decisive) assertAllCut(t, results, component, id);
  // The audit policy is named by an API server flag; certificates by every component's.
  for (const r of results.filter((x) => x.subject.startsWith('audit-policy/'))) t.is(r.status, 'error', r.subject);
  t.is(results.find((r) => r.id === 'cis-2.7')?.status, 'error');
  t.is(results.find((r) => r.id === 'cert-san')?.status, 'error');
});

test('kube-proxy with a cut command line: its kubeconfig and metrics checks are errors, not "not running"', async (t) => {
  const fx = await prepareFixture('kubeadm-worker-defaults');
  t.teardown(fx.cleanup);
  await lengthen(fx, 2210, '--metrics-bind-address=0.0.0.0:10249');
  const results = await scan(fx.root, fx.procRoot, 'cis-4.1.3,cis-4.1.4,cis-4.3.1');
  t.is(results.length, 3);
  for (const r of results) {
    t.is(r.status, 'error', `${r.id}: ${r.reason}`);
    t.regex(r.reason, /kube-proxy \(pid 2210, \/proc\/2210\/cmdline\)/);
  }
});

test('k3s: a cut server command line makes the embedded components\' flag checks errors', async (t) => {
  const fx = await prepareFixture('k3s-server');
  t.teardown(fx.cleanup);
  // The fixture's server shows only its title (`k3s server`): here it shows its arguments.
  await lengthen(fx, 812, '--kube-apiserver-arg=anonymous-auth=true', ['/usr/local/bin/k3s', 'server']);
  const results = await scan(fx.root, fx.procRoot, 'cis-1.2.1,cis-1.3.2,cis-1.4.1');
  t.is(results.length, 3);
  for (const r of results) {
    t.is(r.status, 'error', `${r.id}: ${r.reason}`);
    t.regex(r.reason, /the k3s server running kube-(apiserver|controller-manager|scheduler) \(pid 812/);
  }
});
