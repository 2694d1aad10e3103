// Facts of the worker side beyond the kubelet's settings: the version inside the kubelet
// binary (synthetic ELF files shaped like Go binaries, and a real Kubernetes binary when the
// machine has one), kube-proxy read inside its own root, kernel settings, and the kubelet
// port probe against real servers on port 0.
import test from 'ava';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile, mkdir, symlink, unlink } from 'node:fs/promises';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initPki } from '../../collector/pki/pki.js';
import { collectFacts } from '../../agent/facts/index.js';
import { createHostFs } from '../../agent/facts/host-fs.js';
import { probeKubeletApi, probeTcpPort } from '../../agent/facts/kubelet-probe.js';
import { collectKubeletBinary, pickVersion, readElfSections, scanForVersions } from '../../agent/facts/kubelet-version.js';
import { inventoryOf } from '../../agent/report/hello.js';
import { fakeGoBinary } from '../helpers/elf.js';
import { prepareFixture, writeCmdline } from '../helpers/fixture.js';

async function tempHost(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-worker-facts-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function versionOf(t: Parameters<typeof tempHost>[0], bytes: Buffer): Promise<Awaited<ReturnType<typeof collectKubeletBinary>>> {
  const root = await tempHost(t);
  await mkdir(join(root, 'usr/bin'), { recursive: true });
  await writeFile(join(root, 'usr/bin/kubelet'), bytes);
  return collectKubeletBinary(createHostFs(root), '/usr/bin/kubelet');
}

// ---- the kubelet's version, from its binary ----------------------------------------------

test('version: the NUL-delimited -X string in .rodata, not the versions packed inside other strings', async (t) => {
  const facts = await versionOf(t, fakeGoBinary({ versions: ['v1.33.2', 'v1.33.2'] }));
  t.is(facts.version, 'v1.33.2');
  t.deepEqual(facts.candidates, ['v1.33.2'], 'v1.21.2 and v1.0.7 sit inside packed Go strings and are not candidates');
  t.is(facts.error, null);
});

test('version: vendor suffixes are kept; the most frequent candidate wins; a tie is an error naming them', async (t) => {
  t.is((await versionOf(t, fakeGoBinary({ versions: ['v1.31.2-eks-7f9249a', 'v1.31.2-eks-7f9249a'] }))).version, 'v1.31.2-eks-7f9249a');
  t.is((await versionOf(t, fakeGoBinary({ versions: ['v1.32.3+k3s1', 'v1.32.3+k3s1'], standalone: ['v1.7.23'] }))).version, 'v1.32.3+k3s1');
  const tie = await versionOf(t, fakeGoBinary({ versions: ['v1.30.1'], standalone: ['v1.31.1'] }));
  t.is(tie.version, null);
  t.regex(tie.error?.message ?? '', /several equally likely versions \(v1\.30\.1, v1\.31\.1\)/);
});

test('version: 32-bit and big-endian ELF; no section headers (searched whole); not ELF; no version', async (t) => {
  t.is((await versionOf(t, fakeGoBinary({ versions: ['v1.34.1', 'v1.34.1'], class32: true }))).version, 'v1.34.1');
  t.is((await versionOf(t, fakeGoBinary({ versions: ['v1.34.1', 'v1.34.1'], bigEndian: true }))).version, 'v1.34.1');
  t.is((await versionOf(t, fakeGoBinary({ versions: ['v1.34.1', 'v1.34.1'], noSections: true }))).version, 'v1.34.1');
  const script = await versionOf(t, Buffer.from('#!/bin/sh\nexec /opt/kubelet "$@"\n'));
  t.is(script.version, null);
  t.regex(script.error?.message ?? '', /not an ELF binary/);
  const none = await versionOf(t, fakeGoBinary({ versions: [] }));
  t.regex(none.error?.message ?? '', /no Kubernetes version string \(v1\.N\.N\) found in \.rodata/);
});

test('version: strings across the 1 MiB chunk borders are found once each', async (t) => {
  // Place .rodata so that the versions straddle the first chunk border (1 MiB - 128 bytes overlap).
  for (const shift of [-140, -100, -60, -20, 0, 20]) {
    const bytes = fakeGoBinary({ versions: ['v1.35.1', 'v1.35.1'], textBytes: 1024 * 1024 - 64 - 150 + shift });
    const sections = await readElfSections(async (o, l) => bytes.subarray(o, o + l));
    if (!sections.ok) return t.fail(sections.message);
    const counts = await scanForVersions(async (o, l) => bytes.subarray(o, o + l), 0, bytes.length);
    t.deepEqual([...counts.entries()], [['v1.35.1', 2]], `shift ${shift}`);
  }
  t.deepEqual(pickVersion(new Map([['v1.2.3', 1]])), { version: 'v1.2.3', candidates: ['v1.2.3'] });
});

test('version: a binary replaced after the kubelet started is an error (the running version is not on disk)', async (t) => {
  const facts = await collectKubeletBinary(createHostFs(await tempHost(t)), '/usr/bin/kubelet (deleted)');
  t.is(facts.path, '/usr/bin/kubelet');
  t.is(facts.error?.code, 'ECHANGED');
  t.regex(facts.error?.message ?? '', /replaced or removed after the kubelet started/);
});

test('version: the binary is read inside the host root, through links (a link out of the root leads nowhere)', async (t) => {
  const root = await tempHost(t);
  await mkdir(join(root, 'opt/k8s'), { recursive: true });
  await mkdir(join(root, 'usr/bin'), { recursive: true });
  await writeFile(join(root, 'opt/k8s/kubelet-1.36.2'), fakeGoBinary({ versions: ['v1.36.2', 'v1.36.2'] }));
  await symlink('/opt/k8s/kubelet-1.36.2', join(root, 'usr/bin/kubelet'));
  const facts = await collectKubeletBinary(createHostFs(root), '/usr/bin/kubelet');
  t.is(facts.version, 'v1.36.2');
  t.is(facts.realPath, '/opt/k8s/kubelet-1.36.2');
  await unlink(join(root, 'usr/bin/kubelet'));
  await symlink(`${'../'.repeat(10)}bin/true`, join(root, 'usr/bin/kubelet'));
  t.is((await collectKubeletBinary(createHostFs(root), '/usr/bin/kubelet')).error?.code, 'ENOENT');
});

// A real Kubernetes binary is built with the same -X flags as the kubelet. This machine's
// Cloud SDK ships several kubectl builds; CI machines have none, so this part is extra.
const REAL = '/usr/lib/google-cloud-sdk/bin/kubectl.1.31';
test('version: a real Kubernetes Go binary, when this machine has one', async (t) => {
  if (!existsSync(REAL)) {
    t.log(`${REAL} is not on this machine: only the synthetic binaries were read`);
    return t.pass();
  }
  const facts = await collectKubeletBinary(createHostFs('/'), REAL);
  t.regex(facts.version ?? '', /^v1\.31\.[0-9]+$/);
  t.is(facts.error, null);
});

test('the fixtures carry kubelet binaries of known versions, and the hello finds them as a scan does', async (t) => {
  for (const [scenario, version] of [['insecure-worker', 'v1.30.2'], ['kubeadm-worker-defaults', 'v1.35.9'], ['unit-only-worker', 'v1.35.4']] as const) {
    const fx = await prepareFixture(scenario);
    t.teardown(fx.cleanup);
    const facts = await collectFacts({ hostRoot: fx.root, procRoot: fx.procRoot });
    t.is(facts.kubeletBinary?.version, version, scenario);
    t.true(facts.filesRead.includes('/usr/bin/kubelet'));
    t.is(inventoryOf(facts).kubeletVersion, version);
  }
  const empty = await tempHost(t);
  t.is(inventoryOf(await collectFacts({ hostRoot: empty, procRoot: empty })).kubeletVersion, '');
});

// ---- kube-proxy ----------------------------------------------------------------------------

test('kube-proxy in a pod: its --config and kubeconfig are read inside its own root, not the host tree', async (t) => {
  const fx = await prepareFixture('kubeadm-worker-defaults');
  t.teardown(fx.cleanup);
  const facts = await collectFacts({ hostRoot: fx.root, procRoot: fx.procRoot });
  const kp = facts.kubeProxy;
  t.is(kp?.status, 'running');
  t.is(kp?.pid, 2210);
  t.is(kp?.root, join(fx.procRoot, '2210', 'root'));
  t.is(kp?.config?.error, null);
  t.deepEqual(kp?.config?.data?.['clientConnection'], { kubeconfig: '/var/lib/kube-proxy/kubeconfig.conf' });
  t.is(kp?.files['/var/lib/kube-proxy/kubeconfig.conf']?.stat?.mode, 0o600);
  t.false(existsSync(join(fx.root, 'var/lib/kube-proxy')), 'the host tree has no such files');
});

test('kube-proxy absent, unreadable process table, relative --config with an unknown cwd', async (t) => {
  const fx = await prepareFixture('kubeadm-worker-defaults');
  t.teardown(fx.cleanup);
  await writeCmdline(fx.procRoot, 2210, ['/usr/local/bin/kube-proxy', '--config=config.conf']);
  await rm(join(fx.procRoot, '2210/cwd'));
  const relative = await collectFacts({ hostRoot: fx.root, procRoot: fx.procRoot });
  t.is(relative.kubeProxy?.config?.error?.code, 'ENOCWD');
  await rm(join(fx.procRoot, '2210'), { recursive: true });
  const gone = await collectFacts({ hostRoot: fx.root, procRoot: fx.procRoot });
  t.is(gone.kubeProxy?.status, 'not-running');
  const unreadable = await collectFacts({ hostRoot: fx.root, procRoot: join(fx.root, 'nope') });
  t.is(unreadable.kubeProxy?.status, 'unknown');
});

// ---- kernel settings -------------------------------------------------------------------------

test('sysctls are read from <procRoot>/sys; an unreadable one is an error fact', async (t) => {
  const fx = await prepareFixture('kubeadm-worker-defaults');
  t.teardown(fx.cleanup);
  await rm(join(fx.procRoot, 'sys/kernel/panic'));
  const facts = await collectFacts({ hostRoot: fx.root, procRoot: fx.procRoot });
  t.deepEqual(facts.sysctls?.['vm.overcommit_memory'], { name: 'vm.overcommit_memory', value: '1', error: null });
  t.is(facts.sysctls?.['kernel.keys.root_maxbytes']?.value, '25000000');
  t.is(facts.sysctls?.['kernel.panic']?.value, null);
  t.is(facts.sysctls?.['kernel.panic']?.error?.code, 'ENOENT');
});

// ---- the kubelet port probe, against real servers ------------------------------------------

interface Seen {
  authorization: string | undefined;
  clientCert: boolean;
  path: string | undefined;
}

async function httpsServer(t: Parameters<typeof tempHost>[0], status: number): Promise<{ port: number; seen: Seen[] }> {
  const dir = await tempHost(t);
  const pki = await initPki(join(dir, 'pki'), { nodes: ['probe-node'], collectorHosts: ['127.0.0.1'] });
  const seen: Seen[] = [];
  const server = createHttpsServer({
    cert: await readFile(pki.collectorCert),
    key: await readFile(pki.collectorKey),
    // Ask for a client certificate, accept none: to see that the probe sends none.
    requestCert: true,
    rejectUnauthorized: false,
  }, (req, res) => {
    const peer = (req.socket as import('node:tls').TLSSocket).getPeerCertificate();
    seen.push({ authorization: req.headers.authorization, clientCert: peer !== null && Object.keys(peer).length > 0, path: req.url });
    res.writeHead(status, { 'content-type': 'text/plain' });
    res.end(status === 200 ? '{"kind":"PodList","items":[]}' : 'Unauthorized');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { port: (server.address() as AddressInfo).port, seen };
}

async function closedPort(): Promise<number> {
  const s = createTcpServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

test('probe: an HTTPS kubelet answering 401, 403 and 200 is seen as such; no credentials are ever sent', async (t) => {
  for (const status of [401, 403, 200]) {
    const { port, seen } = await httpsServer(t, status);
    const p = await probeKubeletApi('127.0.0.1', port, 2000);
    t.deepEqual(p, { host: '127.0.0.1', port, outcome: 'http', statusCode: status, detail: `HTTP ${status}` });
    t.deepEqual(seen, [{ authorization: undefined, clientCert: false, path: '/pods' }]);
  }
});

test('probe: a closed port is refused; a plain TCP listener is open; one that never answers times out', async (t) => {
  const port = await closedPort();
  t.like(await probeKubeletApi('127.0.0.1', port, 2000), { outcome: 'refused', statusCode: null });
  t.like(await probeTcpPort('127.0.0.1', port, 2000), { outcome: 'refused' });

  const sockets: import('node:net').Socket[] = [];
  const silent = createTcpServer((socket) => void sockets.push(socket)); // accepts, never speaks TLS
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    silent.close();
  });
  const silentPort = (silent.address() as AddressInfo).port;
  t.like(await probeTcpPort('127.0.0.1', silentPort, 2000), { outcome: 'open' });
  t.like(await probeKubeletApi('127.0.0.1', silentPort, 300), { outcome: 'timeout', detail: 'no answer within 300 ms' });
});

test('probe facts: off unless asked; asked, both ports are probed where the options say', async (t) => {
  const fx = await prepareFixture('kubeadm-worker-defaults');
  t.teardown(fx.cleanup);
  const off = await collectFacts({ hostRoot: fx.root, procRoot: fx.procRoot });
  t.deepEqual(off.kubeletProbe, { api: null, readOnly: null, disabledReason: 'the kubelet port probe is turned off (agent setting kubeletProbe.enabled, or nodeward scan --no-probe)' });
  const { port } = await httpsServer(t, 401);
  const ro = await closedPort();
  const on = await collectFacts({ hostRoot: fx.root, procRoot: fx.procRoot, kubeletProbe: { host: '127.0.0.1', apiPort: port, readOnlyPort: ro, timeoutMs: 2000 } });
  t.like(on.kubeletProbe?.api, { port, outcome: 'http', statusCode: 401 });
  t.like(on.kubeletProbe?.readOnly, { port: ro, outcome: 'refused' });
  t.is(on.kubeletProbe?.disabledReason, '');
});
