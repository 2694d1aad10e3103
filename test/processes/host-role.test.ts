// The node's role for its host baseline, from fixture host and proc trees: static pod manifests
// make a control-plane node, so does a control-plane component running outside containers; a
// component in a pod that no manifest runs does not, and an unreadable process table gives the
// stricter worker baseline.
import test from 'ava';
import { cp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { detectHostRole, isControlPlaneExecutable } from '../../agent/processes/host-role.js';
import { HOST_CONTROL_PLANE, HOST_WORKER, scenario, tempDir } from './helpers.js';

const CP = scenario('kubeadm-cp-v2');

test('a kubeadm control-plane node: its static pod manifests make it host/control-plane', async (t) => {
  const r = await detectHostRole(CP.hostRoot, CP.procRoot);
  t.like(r, { role: 'control-plane', key: HOST_CONTROL_PLANE });
  t.regex(r.evidence, /^the static pod manifest \/etc\/kubernetes\/manifests\/(etcd|kube-apiserver)\.yaml runs (etcd|kube-apiserver)$/);
});

test('worker nodes (every other fixture) are host/worker', async (t) => {
  for (const name of ['containerd-systemd-v2', 'containerd-cgroupfs-v1', 'crio-systemd-v2', 'crio-cgroupfs-v1']) {
    const { hostRoot, procRoot } = scenario(name);
    const r = await detectHostRole(hostRoot, procRoot);
    t.like(r, { role: 'worker', key: HOST_WORKER }, name);
    t.is(r.evidence, 'no static pod manifest runs a control-plane component and none runs as a host process', name);
  }
});

test('etcd and an API server in pods that no static manifest runs (an application\'s own) do not make a control-plane node', async (t) => {
  // The control-plane fixture's processes, on a host without its manifests.
  const r = await detectHostRole(scenario('containerd-systemd-v2').hostRoot, CP.procRoot);
  t.like(r, { role: 'worker', key: HOST_WORKER });
});

test('a control-plane component running outside containers (etcd as a systemd service) makes a control-plane node', async (t) => {
  const dir = await tempDir('host-role');
  t.teardown(dir.cleanup);
  const proc = join(dir.path, 'proc');
  await cp(CP.procRoot, proc, { recursive: true, verbatimSymlinks: true });
  await writeFile(join(proc, '1100', 'cgroup'), '0::/system.slice/etcd.service\n');
  const r = await detectHostRole(scenario('containerd-systemd-v2').hostRoot, proc);
  t.like(r, { role: 'control-plane', key: HOST_CONTROL_PLANE });
  t.is(r.evidence, 'etcd runs as a host process (pid 1100)');
});

test('a process table that cannot be read gives the stricter worker baseline, and says why', async (t) => {
  const dir = await tempDir('host-role-noproc');
  t.teardown(dir.cleanup);
  const r = await detectHostRole(scenario('containerd-systemd-v2').hostRoot, join(dir.path, 'missing'));
  t.like(r, { role: 'worker', key: HOST_WORKER });
  t.regex(r.evidence, /the process table cannot be read/);
  // Manifests alone still tell a control-plane node.
  t.is((await detectHostRole(CP.hostRoot, join(dir.path, 'missing'))).role, 'control-plane');
});

test('control-plane executables are told by name, as argv[0] is', (t) => {
  for (const exe of ['/usr/local/bin/etcd', '/usr/bin/kube-apiserver', '/opt/bin/kube-controller-manager', '/usr/local/bin/kube-scheduler']) t.true(isControlPlaneExecutable(exe), exe);
  for (const exe of ['/usr/bin/kube-proxy', '/usr/bin/etcdctl', '/usr/bin/kubelet', '/usr/local/bin/k3s', '/usr/bin/kubeadm', '/tmp/etcd-backup']) t.false(isControlPlaneExecutable(exe), exe);
});
