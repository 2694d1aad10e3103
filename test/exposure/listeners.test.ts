// Listening sockets on the real kernel, mapped to their processes and workloads
// (agent/exposure/collect.ts) and judged (agent/checks/exposure-checks.ts):
//   - a socket this test opens on 127.0.0.1, found with this process's pid and executable, loopback;
//   - in a network namespace the test makes (an address on its lo, as this kernel has no dummy
//     or veth module, in a range the test configures as public), a Python process bound to the
//     scheduler's port on that address and to the controller manager's on 127.0.0.1: the first fails
//     exposure-control-plane-port naming the pid and executable, the second passes;
//   - a container started with Debian's containerd listening in its pod's network namespace:
//     its pid, executable and workload.
// Every assertion picks the test's own ports and pids: other tests run beside this one.
import test from 'ava';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { realpathSync, readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { addressClasses } from '../../agent/exposure/address-class.js';
import { collectExposure, type ExposureFacts } from '../../agent/exposure/collect.js';
import { placeWith } from '../../agent/exposure/owner.js';
import { createProcReader } from '../../agent/processes/proc-reader.js';
import { createAttributor } from '../../agent/processes/attribution.js';
import { bundleLocations } from '../../agent/processes/oci.js';
import { createHostFs } from '../../agent/facts/host-fs.js';
import { CATALOG, evaluate } from '../../agent/checks/index.js';
import type { HostFacts } from '../../agent/facts/index.js';
import { containerdAvailable, startContainerd } from '../helpers/containerd.js';
import { commandSucceeds, needs } from '../helpers/requirements.js';
import { tempDir } from '../processes/helpers.js';

const reader = createProcReader('/proc');
const hostPlace = placeWith({ attribute: async () => ({ fake: true, reason: 'not used' }) }, () => 'host/worker');
const PYTHON = '/usr/bin/python3';

function collect(namespacePid: number, opts: { ranges?: Parameters<typeof addressClasses>[0]; place?: ReturnType<typeof placeWith> } = {}): Promise<ExposureFacts> {
  return collectExposure({ procRoot: '/proc', namespacePid, classes: addressClasses(opts.ranges ?? []).classes, processes: reader, place: opts.place ?? hostPlace });
}

test("a socket on 127.0.0.1 is found with this process's pid and executable, and is loopback", async (t) => {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const port = (server.address() as { port: number }).port;
  const e = await collect(process.pid);
  const mine = e.listeners.filter((l) => l.port === port && l.protocol === 'tcp');
  t.is(mine.length, 1);
  t.like(mine[0], { address: '127.0.0.1', class: 'loopback', wildcard: false, owner: { pid: process.pid, exe: realpathSync(process.execPath), key: 'host/worker' } });
  t.true(e.tables.every((x) => x.error === '' && x.refused === 0), JSON.stringify(e.tables));
});

function isRoot(): true | string {
  return process.getuid?.() === 0 ? true : 'not root';
}

const netnsTest = needs({
  what: 'root, iproute2 and python3 (a network namespace of its own)', packages: ['iproute2', 'python3'],
  check: () => {
    const root = isRoot();
    if (root !== true) return root;
    return commandSucceeds('/usr/sbin/ip', ['-V']) === true ? commandSucceeds(PYTHON, ['-c', 'import socket']) : 'no ip command';
  },
});

const LISTEN_PY = `
import socket, sys, time
addr, port, lport, uport = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
socks = []
for a, p in ((addr, port), ('127.0.0.1', lport)):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind((a, p)); s.listen(); socks.append(s)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind((addr, uport)); socks.append(u)
print('ready', flush=True)
time.sleep(600)
`;

function ip(args: readonly string[]): void {
  const r = spawnSync('/usr/sbin/ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
}

async function ready(child: ChildProcess): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (out.includes('ready')) resolve();
    });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      err += d;
    });
    child.once('exit', (code) => reject(new Error(`listener exited (${code}): ${err}`)));
  });
}

netnsTest('in a namespace the test makes, a control-plane port bound to an address configured public is a finding with its pid and executable; loopback is not', async (t) => {
  const ns = `nw-exposure-${randomBytes(4).toString('hex')}`;
  ip(['netns', 'add', ns]);
  t.teardown(() => ip(['netns', 'del', ns]));
  // The address goes on the namespace's lo: kernels without the dummy and veth modules (this
  // machine's) still have it, and to the kernel it is the namespace's own address all the same.
  ip(['-n', ns, 'link', 'set', 'lo', 'up']);
  ip(['-n', ns, 'addr', 'add', '10.213.7.10/32', 'dev', 'lo']);
  // `ip netns exec` enters the namespace and execs python: the child's pid is the listener's.
  const child = spawn('/usr/sbin/ip', ['netns', 'exec', ns, PYTHON, '-c', LISTEN_PY, '10.213.7.10', '10259', '10257', '5353'], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => child.kill('SIGKILL'));
  await ready(child);
  const pid = child.pid!;
  // 10.213.0.0/16 is private by default: the test's configuration makes it public.
  const e = await collect(pid, { ranges: [{ cidr: '10.213.0.0/16', class: 'public' }] });
  const python = realpathSync(PYTHON);
  const at = (port: number, protocol = 'tcp') => e.listeners.find((l) => l.port === port && l.protocol === protocol);
  t.like(at(10259), { address: '10.213.7.10', class: 'public', owner: { pid, exe: python } });
  t.like(at(10257), { address: '127.0.0.1', class: 'loopback', owner: { pid, exe: python } });
  t.like(at(5353, 'udp'), { address: '10.213.7.10', class: 'public', owner: { pid, exe: python } });
  t.true(e.nodeAddresses.some((a) => a.address === '10.213.7.10' && a.class === 'public' && a.source === 'interface'), JSON.stringify(e.nodeAddresses));

  const facts = { kubelet: null, kubeletAbsence: null, exposure: e } as unknown as HostFacts;
  const results = evaluate(facts, CATALOG.filter((c) => c.id === 'exposure-control-plane-port'), new Date());
  const scheduler = results.find((r) => r.subject === 'exposure/kube-scheduler:10259');
  t.is(scheduler?.status, 'fail');
  t.regex(scheduler?.reason ?? '', new RegExp(`bound to the public address 10\\.213\\.7\\.10:10259 \\(pid ${pid} ${python.replace(/[.]/g, '\\.')} in the host\\)`));
  t.is(results.find((r) => r.subject === 'exposure/kube-controller-manager:10257')?.status, 'pass');
});

const containerTest = needs({ what: 'a real container runtime (containerd, runc, a static busybox), as root', packages: ['containerd', 'runc', 'busybox-static'], check: containerdAvailable, serial: true });

/** The pid of the process in container `id` whose comm is `comm` (its cgroup names the id). */
function pidIn(id: string, comm: string): number | null {
  for (const name of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/cgroup`, 'utf8').includes(id) && readFileSync(`/proc/${name}/comm`, 'utf8').trim() === comm) return Number(name);
    } catch {
      // gone
    }
  }
  return null;
}

containerTest("a container's listener is mapped to its pid, executable and workload", async (t) => {
  const dir = await tempDir('exposure-ctr');
  t.teardown(dir.cleanup);
  const ctrd = await startContainerd(join(dir.path, 'containerd'));
  t.teardown(() => ctrd.stop());
  await symlink('busybox', join(ctrd.rootfs, 'bin/nc'));
  const pod = { namespace: 'shop', pod: 'web-7d9f8b6c5d-x2x9z', container: 'nginx', podUid: '6b1c2d3e-4f5a-6b7c-8d9e-0f1a2b3c4d5e' };
  const c = await ctrd.start(pod, ['/bin/nc', '-l', '-p', '8080']);
  t.teardown(() => ctrd.remove(c.id));
  let pid: number | null = null;
  for (let i = 0; i < 100 && pid === null; i++) {
    pid = pidIn(c.id, 'nc');
    if (pid === null) await new Promise((r) => setTimeout(r, 50));
  }
  if (pid === null) return t.fail('the container process was not found');
  const attributor = createAttributor(createHostFs('/'), { maxContainers: 16, maxOwners: 16, retryMs: 1000, locations: bundleLocations(ctrd.state) });
  let listener;
  for (let i = 0; i < 100 && listener === undefined; i++) {
    const e = await collect(pid, { place: placeWith(attributor, () => 'host/worker') });
    listener = e.listeners.find((l) => l.port === 8080 && l.protocol === 'tcp');
    if (listener === undefined) await new Promise((r) => setTimeout(r, 50));
  }
  t.like(listener, {
    wildcard: true,
    owner: { pid, exe: '/bin/busybox', key: 'shop/Deployment/web/nginx', namespace: 'shop', pod: 'web-7d9f8b6c5d-x2x9z', container: 'nginx', workload: 'Deployment/web' },
  });
});
