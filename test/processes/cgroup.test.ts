// Container ids from cgroup paths: every form the kubelet's drivers and the runtimes write.
import test from 'ava';
import { cgroupPaths, containerFromCgroup, containerFromPath, podUidFromComponent } from '../../agent/processes/cgroup.js';

const ID = '0123456789abcdef'.repeat(4);
const UID = '6b1c2d3e-4f5a-6b7c-8d9e-0f1a2b3c4d5e';
const UID_ = UID.replace(/-/g, '_');

const cases: Array<[string, string, string | null, string, string]> = [
  // [what, path, id, runtime, podUid]
  ['containerd, systemd driver', `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice/cri-containerd-${ID}.scope`, ID, 'containerd', UID],
  ['containerd, systemd driver, guaranteed QoS', `/kubepods.slice/kubepods-pod${UID_}.slice/cri-containerd-${ID}.scope`, ID, 'containerd', UID],
  ['containerd, cgroupfs driver', `/kubepods/burstable/pod${UID}/${ID}`, ID, 'unknown', UID],
  ['containerd, cgroupfs driver, guaranteed QoS', `/kubepods/pod${UID}/${ID}`, ID, 'unknown', UID],
  ['CRI-O, systemd driver', `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID_}.slice/crio-${ID}.scope`, ID, 'crio', UID],
  ['CRI-O, cgroupfs driver', `/kubepods/besteffort/pod${UID}/crio-${ID}`, ID, 'crio', UID],
  ['Docker, systemd driver', `/system.slice/docker-${ID}.scope`, ID, 'docker', ''],
  ['Docker, cgroupfs driver', `/docker/${ID}`, ID, 'docker', ''],
  ['podman', `/machine.slice/libpod-${ID}.scope/container`, ID, 'podman', ''],
  ['a sub-cgroup inside the container', `/kubepods.slice/kubepods-pod${UID_}.slice/cri-containerd-${ID}.scope/init.scope`, ID, 'containerd', UID],
  ['seen from a private cgroup namespace', `/../../kubepods-besteffort-pod${UID_}.slice/cri-containerd-${ID}.scope`, ID, 'containerd', UID],
  ['CRI-O conmon is a host process', `/kubepods.slice/kubepods-pod${UID_}.slice/crio-conmon-${ID}.scope`, null, '', ''],
  ['a systemd service', '/system.slice/kubelet.service', null, '', ''],
  ['the root', '/', null, '', ''],
  ['a 63-hex name is not an id', `/docker/${ID.slice(1)}`, null, '', ''],
  ['upper-case hex is not an id', `/docker/${ID.toUpperCase()}`, null, '', ''],
];

for (const [what, path, id, runtime, podUid] of cases) {
  test(`cgroup path: ${what}`, (t) => {
    const c = containerFromPath(path);
    if (id === null) {
      t.is(c, null);
      return;
    }
    t.is(c?.id, id);
    t.is(String(c?.runtime), runtime);
    t.is(c?.podUid, podUid);
  });
}

test('the outermost container id wins (a container in a container belongs to the outer one)', (t) => {
  const inner = 'f'.repeat(64);
  t.is(containerFromPath(`/kubepods/pod${UID}/${ID}/docker/${inner}`)?.id, ID);
});

test('the v2 line is read first; on a hybrid host the container is found on a v1 line', (t) => {
  const hybrid = `12:memory:/kubepods/burstable/pod${UID}/${ID}\n1:name=systemd:/kubepods/burstable/pod${UID}/${ID}\n0::/\n`;
  t.deepEqual(cgroupPaths(hybrid), ['/', `/kubepods/burstable/pod${UID}/${ID}`, `/kubepods/burstable/pod${UID}/${ID}`]);
  t.is(containerFromCgroup(hybrid)?.id, ID);
  const pureV2 = `0::/kubepods.slice/kubepods-pod${UID_}.slice/cri-containerd-${ID}.scope\n`;
  t.is(containerFromCgroup(pureV2)?.runtime, 'containerd');
  t.is(containerFromCgroup('0::/init.scope\n'), null);
  t.is(containerFromCgroup(''), null);
  // A controller list with colons in the path stays intact.
  t.deepEqual(cgroupPaths('3:cpu,cpuacct:/a:b\n'), ['/a:b']);
});

test('pod uids come back with dashes from both driver forms', (t) => {
  t.is(podUidFromComponent(`pod${UID}`), UID);
  t.is(podUidFromComponent(`kubepods-burstable-pod${UID_}.slice`), UID);
  t.is(podUidFromComponent('kubepods-burstable.slice'), '');
  t.is(podUidFromComponent('podcast'), '');
});
