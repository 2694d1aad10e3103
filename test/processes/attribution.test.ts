// Attribution from fixture proc and cgroup trees: cgroup v1 and v2, containerd and CRI-O,
// systemd and cgroupfs drivers, Docker forms without bundles, and host processes (no container
// in their cgroup: keyed by the node's role, here a worker's).
import test from 'ava';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createHostFs } from '../../agent/facts/host-fs.js';
import { createAttributor, hostAttribution, isNotAContainer, type Attribution, type NotAContainer } from '../../agent/processes/attribution.js';
import { containerFromCgroup } from '../../agent/processes/cgroup.js';
import { bundleLocations, metaFromBundleConfig, readBundleConfig, rootfsOf } from '../../agent/processes/oci.js';
import { createProcReader, parseStat } from '../../agent/processes/proc-reader.js';
import { HOST_WORKER, PROCESS_FIXTURES, scenario, tempDir } from './helpers.js';

async function attributeAll(name: string): Promise<Map<number, Attribution | NotAContainer>> {
  const { procRoot, hostRoot } = scenario(name);
  const reader = createProcReader(procRoot);
  const attributor = createAttributor(createHostFs(hostRoot), { maxContainers: 16, maxOwners: 16, retryMs: 10_000 });
  const out = new Map<number, Attribution | NotAContainer>();
  for (const pid of reader.listPids()) {
    const r = reader.read(pid);
    if (!r || r.kernelThread) continue;
    const c = containerFromCgroup(r.cgroup);
    out.set(pid, c ? await attributor.attribute(c) : hostAttribution(HOST_WORKER));
  }
  return out;
}

/** Each pid's key; `fake` for a cgroup no runtime vouches for (the monitor judges it as the host's). */
const keys = (m: Map<number, Attribution | NotAContainer>): Record<number, string> => Object.fromEntries([...m].map(([pid, a]) => [pid, isNotAContainer(a) ? 'fake' : a.key]));
const attribution = (a: Attribution | NotAContainer | undefined): Attribution => {
  if (!a || isNotAContainer(a)) throw new Error(`not attributed to a container: ${JSON.stringify(a)}`);
  return a;
};

test('containerd + systemd driver + cgroup v2: a Deployment pod, its sandbox, and host processes', async (t) => {
  const m = await attributeAll('containerd-systemd-v2');
  t.deepEqual(keys(m), {
    1: HOST_WORKER, 850: HOST_WORKER, 900: HOST_WORKER,
    1000: 'shop/Deployment/web/POD',
    1001: 'shop/Deployment/web/nginx', 1002: 'shop/Deployment/web/nginx', 1003: 'shop/Deployment/web/nginx', 1004: 'shop/Deployment/web/nginx',
  });
  const nginx = attribution(m.get(1001));
  t.like(nginx, { namespace: 'shop', pod: 'web-7d4b9c8f6d-x2kzq', podUid: '6b1c2d3e-4f5a-6b7c-8d9e-0f1a2b3c4d5e', sandbox: false, unresolved: null });
  t.deepEqual(nginx.workload, { kind: 'Deployment', name: 'web', source: 'pod-name' });
  t.deepEqual(nginx.container, { id: 'a1'.repeat(32), runtime: 'containerd', name: 'nginx', image: 'docker.io/library/nginx:1.27', rootfs: '' });
  t.true(attribution(m.get(1000)).sandbox);
  t.is(attribution(m.get(1)).container, null);
});

test('containerd + cgroupfs driver + cgroup v1: a StatefulSet pod; Docker-looking cgroups without bundles are not containers', async (t) => {
  const m = await attributeAll('containerd-cgroupfs-v1');
  t.deepEqual(keys(m), {
    1: HOST_WORKER, 700: HOST_WORKER,
    2001: 'data/StatefulSet/db/postgres', 2002: 'data/StatefulSet/db/postgres',
    2101: 'fake', 2102: 'fake',
  });
  // The bare id under /kubepods names no runtime; the containerd bundle answered.
  t.is(attribution(m.get(2001)).container?.runtime, 'containerd');
  t.regex((m.get(2101) as NotAContainer).reason, /no runtime bundle/);
});

test('CRI-O + systemd driver + cgroup v2: a CronJob pod from the Labels annotation; conmon is a host process', async (t) => {
  const m = await attributeAll('crio-systemd-v2');
  t.deepEqual(keys(m), { 1: HOST_WORKER, 3000: HOST_WORKER, 3001: 'ops/CronJob/backup/backup' });
  t.like(attribution(m.get(3001)), { namespace: 'ops', pod: 'backup-28934520-q8d7c', podUid: '99999999-8888-7777-6666-555555555555' });
  t.is(attribution(m.get(3001)).container?.runtime, 'crio');
});

test('CRI-O + cgroupfs driver + cgroup v1: a DaemonSet pod from the k8s_ container name alone', async (t) => {
  const m = await attributeAll('crio-cgroupfs-v1');
  t.deepEqual(keys(m), { 1: HOST_WORKER, 4000: HOST_WORKER, 4001: 'kube-system/DaemonSet/fluent-bit/fluent-bit' });
  t.is(attribution(m.get(4001)).podUid, 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee');
});

test('kernel threads are recognised and left out', (t) => {
  const reader = createProcReader(scenario('containerd-systemd-v2').procRoot);
  t.true(reader.read(2)!.kernelThread);
  t.true(reader.read(40)!.kernelThread);
  t.false(reader.read(1001)!.kernelThread);
});

test('the process table reads exe (link value), parent, effective uid, start time and argv', (t) => {
  const reader = createProcReader(scenario('containerd-systemd-v2').procRoot);
  const r = reader.read(1002)!;
  t.like(r, { pid: 1002, ppid: 1001, uid: 101, startTicks: 5100, exe: '/usr/sbin/nginx', exeDeleted: false, cmdlineTruncated: false });
  t.deepEqual(r.argv, ['nginx: worker process']);
  // btime 1767225600 s + 5100 ticks of 10 ms.
  t.is(r.startedAtMs, 1_767_225_600_000 + 51_000);
  t.is(reader.read(99999), null);
  t.deepEqual(reader.listPids(), [1, 2, 40, 850, 900, 1000, 1001, 1002, 1003, 1004]);
});

test('the owner the collector sends wins over the pod-name guess', async (t) => {
  const { procRoot, hostRoot } = scenario('crio-systemd-v2');
  const reader = createProcReader(procRoot);
  const attributor = createAttributor(createHostFs(hostRoot), { maxContainers: 16, maxOwners: 16, retryMs: 10_000 });
  const c = containerFromCgroup(reader.read(3001)!.cgroup)!;
  attributor.setOwner('ops', 'backup-28934520-q8d7c', { kind: 'CronJob', name: 'nightly-backup' });
  t.is(attribution(await attributor.attribute(c)).key, 'ops/CronJob/nightly-backup/backup');
  t.is(attribution(await attributor.attribute(c)).workload?.source, 'collector');
  attributor.setOwner('ops', 'backup-28934520-q8d7c', null);
  t.is(attribution(await attributor.attribute(c)).key, 'ops/CronJob/backup/backup');
  // One bundle read served every call.
  t.is(attributor.stats().lookups, 1);
});

test('only annotations are kept from a bundle: the container environment never comes out', async (t) => {
  const text = await readFile(join(PROCESS_FIXTURES, 'containerd-systemd-v2/host/run/containerd/io.containerd.runtime.v2.task/k8s.io', 'a1'.repeat(32), 'config.json'), 'utf8');
  t.true(text.includes('hunter2'), 'the fixture does carry a secret');
  const meta = metaFromBundleConfig(text);
  t.truthy(meta);
  t.false(JSON.stringify(meta).includes('hunter2'));
  t.is(metaFromBundleConfig('not json'), null);
  t.is(metaFromBundleConfig('{"annotations": {"io.kubernetes.cri.container-name": "x"}}'), null);
});

test('stat parsing counts fields from the last parenthesis (comm may hold spaces and parentheses)', (t) => {
  const s = parseStat('77 (evil) S 1 (x)) R 12 77 77 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 4242 0 0');
  t.like(s, { pid: 77, comm: 'evil) S 1 (x)', ppid: 12, startTicks: 4242 });
  t.is(parseStat('garbage'), null);
});

test('only a runtime bundle makes a container: none, unreadable, or a non-pod one under kubepods is not one; a non-pod one elsewhere keeps container:<id>', async (t) => {
  const dir = await tempDir('bundles');
  t.teardown(dir.cleanup);
  const state = '/var/run/other-containerd';
  const bundle = async (ns: string, id: string, text: string) => {
    const d = join(dir.path, state, 'io.containerd.runtime.v2.task', ns, id);
    await mkdir(d, { recursive: true });
    await writeFile(join(d, 'config.json'), text);
  };
  const pod = JSON.stringify({ annotations: { 'io.kubernetes.cri.sandbox-name': 'web-7d4b9c8f6d-x2kzq', 'io.kubernetes.cri.sandbox-namespace': 'shop', 'io.kubernetes.cri.container-name': 'nginx' } });
  await bundle('k8s.io', 'a1'.repeat(32), pod);
  await bundle('k8s.io', 'b2'.repeat(32), JSON.stringify({ annotations: { 'some.tool': 'x' } }));
  await bundle('moby', 'c3'.repeat(32), JSON.stringify({ annotations: {} }));
  await bundle('k8s.io', 'd4'.repeat(32), '{ not json');
  const attributor = createAttributor(createHostFs(dir.path), { maxContainers: 16, maxOwners: 16, retryMs: 10_000, locations: bundleLocations(state) });
  const at = (path: string) => attributor.attribute(containerFromCgroup(`0::${path}\n`)!);
  const podPath = (id: string) => `/kubepods/besteffort/pod6b1c2d3e-4f5a-6b7c-8d9e-0f1a2b3c4d5e/${id}`;

  t.is(attribution(await at(podPath('a1'.repeat(32)))).key, 'shop/Deployment/web/nginx', 'the bundle under the configured state dir names the pod');
  t.regex((await at(podPath('e5'.repeat(32))) as NotAContainer).reason, /no runtime bundle/);
  t.true(isNotAContainer(await at(podPath('b2'.repeat(32)))), "a bundle without pod annotations in a pod's cgroup");
  t.regex((await at(podPath('b2'.repeat(32))) as NotAContainer).reason, /no pod annotations, yet the cgroup is a pod's/);
  t.regex((await at(podPath('d4'.repeat(32))) as NotAContainer).reason, /not a JSON object/);
  const docker = await at(`/system.slice/docker-${'c3'.repeat(32)}.scope`);
  t.is(attribution(docker).key, `container:${'c3'.repeat(32)}`, 'a plain Docker container keeps its own baseline');
  t.is(attribution(docker).container?.runtime, 'docker');
  // The stock location does not see the other state dir's bundles.
  const stock = createAttributor(createHostFs(dir.path), { maxContainers: 16, maxOwners: 16, retryMs: 10_000 });
  t.true(isNotAContainer(await stock.attribute(containerFromCgroup(`0::${podPath('a1'.repeat(32))}\n`)!)));
});

test('a cgroup path says whether it claims to be a pod\'s', (t) => {
  t.true(containerFromCgroup(`0::/kubepods.slice/kubepods-besteffort.slice/cri-containerd-${'a'.repeat(64)}.scope\n`)!.kubepods);
  t.true(containerFromCgroup(`0::/kubepods/burstable/pod6b1c2d3e-4f5a-6b7c-8d9e-0f1a2b3c4d5e/${'a'.repeat(64)}\n`)!.kubepods);
  t.false(containerFromCgroup(`0::/system.slice/docker-${'a'.repeat(64)}.scope\n`)!.kubepods);
});

test("a bundle's root.path gives the container's root as a host path: relative to the bundle's directory, or absolute; anything else none", (t) => {
  const bundle = '/run/containerd/io.containerd.runtime.v2.task/k8s.io/abc/config.json';
  t.is(rootfsOf(bundle, 'rootfs'), '/run/containerd/io.containerd.runtime.v2.task/k8s.io/abc/rootfs');
  t.is(rootfsOf(bundle, '/var/lib/containers/storage/overlay/x/merged/'), '/var/lib/containers/storage/overlay/x/merged');
  t.is(rootfsOf(bundle, '../../../../../../etc'), '/etc', 'normalised; still read inside the host root by host-fs');
  t.is(rootfsOf(bundle, ''), '');
  const withRoot = (root: unknown) => readBundleConfig(JSON.stringify({ root, annotations: {} }));
  t.like(withRoot({ path: 'rootfs' }), { rootPath: 'rootfs' });
  t.like(withRoot({ path: 7 }), { rootPath: '' });
  t.like(withRoot({ path: `a\u0000b` }), { rootPath: '' });
  t.like(withRoot({ path: 'p'.repeat(1025) }), { rootPath: '' });
});
