// The exposure checks (agent/checks/exposure-checks.ts) on exposure facts made by hand: which
// ports, which addresses, the Node's ExternalIP, the live etcd probe. Pure.
import test from 'ava';
import { CATALOG, evaluate } from '../../agent/checks/index.js';
import type { ExposureFacts, Listener } from '../../agent/exposure/collect.js';
import type { EtcdProbeFacts, HostFacts } from '../../agent/facts/index.js';

const owner = { pid: 42, exe: '/usr/local/bin/etcd', comm: 'etcd', key: 'host/control-plane', namespace: '', pod: '', container: '', workload: '' };

function listener(address: string, port: number, cls: Listener['class']): Listener {
  return { protocol: 'tcp', family: address.includes(':') ? 'inet6' : 'inet', address, port, class: cls, wildcard: address === '0.0.0.0' || address === '::', inode: port, uid: 0, owner };
}

function exposure(listeners: Listener[], nodeAddresses: ExposureFacts['nodeAddresses'] = []): ExposureFacts {
  return {
    namespacePid: 1, listeners, nodeAddresses, dropped: 0, unowned: 0,
    tables: (['tcp', 'tcp6', 'udp', 'udp6'] as const).map((table) => ({ table, rows: 0, refused: 0, firstRefusal: '', dropped: 0, cut: false, error: '' })),
    walk: { pidsWalked: 1, unreadable: 0, pidLimitHit: false, fdLimitHits: 0, timeLimitHit: false, elapsedMs: 1, nativeReader: true },
  };
}

function run(id: string, facts: Partial<HostFacts>) {
  return evaluate({ kubelet: null, kubeletAbsence: null, ...facts } as HostFacts, CATALOG.filter((c) => c.id === id), new Date());
}

const status = (rs: ReturnType<typeof run>, subject: string) => rs.find((r) => r.subject === subject)?.status;

test('control-plane ports: public fails, private and loopback pass, nothing listening skips', (t) => {
  const rs = run('exposure-control-plane-port', { exposure: exposure([listener('127.0.0.1', 2379, 'loopback'), listener('10.0.0.5', 2380, 'private'), listener('198.51.100.4', 6443, 'public')]) });
  t.is(status(rs, 'exposure/etcd-client:2379'), 'pass');
  t.is(status(rs, 'exposure/etcd-peer:2380'), 'pass');
  t.is(status(rs, 'exposure/kube-apiserver:6443'), 'fail');
  t.regex(rs.find((r) => r.subject === 'exposure/kube-apiserver:6443')!.reason, /bound to the public address 198\.51\.100\.4:6443 \(pid 42 \/usr\/local\/bin\/etcd in the host\)/);
  t.is(status(rs, 'exposure/kube-scheduler:10259'), 'skip');
  t.is(status(rs, 'exposure/kubelet-read-only:10255'), 'skip');
});

test("every address, on a node with an ExternalIP, is bound to it; the API server's --secure-port is the port judged", (t) => {
  const nodeAddresses = [{ address: '10.0.0.5', class: 'private' as const, source: 'interface' as const }, { address: '203.0.113.7', class: 'public' as const, source: 'node' as const }];
  const controlPlane = { components: { 'kube-apiserver': { args: [{ name: 'secure-port', value: '8443', form: 'equals', source: 'process', file: '' }] } } } as unknown as HostFacts['controlPlane'];
  const rs = run('exposure-control-plane-port', { exposure: exposure([listener('0.0.0.0', 2379, 'private'), listener('10.0.0.5', 8443, 'private')], nodeAddresses), controlPlane });
  t.is(status(rs, 'exposure/etcd-client:2379'), 'fail');
  t.regex(rs.find((r) => r.subject === 'exposure/etcd-client:2379')!.reason, /every address \(0\.0\.0\.0:2379\), which includes the Node's ExternalIP 203\.0\.113\.7/);
  t.is(status(rs, 'exposure/kube-apiserver:8443'), 'pass');
  t.false(rs.some((r) => r.subject === 'exposure/kube-apiserver:6443'));
});

test("the kubelet's API fails only on a public address", (t) => {
  t.is(status(run('exposure-kubelet-api', { exposure: exposure([listener('::', 10250, 'private')]) }), 'exposure/kubelet:10250'), 'pass');
  t.is(status(run('exposure-kubelet-api', { exposure: exposure([listener('::', 10250, 'public')]) }), 'exposure/kubelet:10250'), 'fail');
});

test("etcd's client port outside loopback: the live probe decides", (t) => {
  const subject = 'exposure/etcd-client-auth:2379';
  const probe = (outcome: 'served' | 'cert-required'): EtcdProbeFacts => ({
    urlsFrom: 'argv', omitted: 0, disabledReason: '', error: '',
    endpoints: [{ url: 'https://10.0.0.5:2379', host: '10.0.0.5', port: 2379, skipped: '', plain: null, tls: { outcome, statusCode: outcome === 'served' ? 200 : null, detail: '' } }],
  });
  const exposed = exposure([listener('10.0.0.5', 2379, 'private')]);
  t.is(status(run('exposure-etcd-client-auth', { exposure: exposed, etcdProbe: probe('served') }), subject), 'fail');
  t.is(status(run('exposure-etcd-client-auth', { exposure: exposed, etcdProbe: probe('cert-required') }), subject), 'pass');
  t.is(status(run('exposure-etcd-client-auth', { exposure: exposed, etcdProbe: { ...probe('served'), endpoints: [], disabledReason: 'off' } }), subject), 'skip');
  t.is(status(run('exposure-etcd-client-auth', { exposure: exposure([listener('127.0.0.1', 2379, 'loopback')]), etcdProbe: probe('served') }), subject), 'pass');
});

test('without exposure facts the checks skip; unreadable tables are an error', (t) => {
  t.true(run('exposure-control-plane-port', {}).every((r) => r.status === 'skip'));
  const unreadable = { ...exposure([]), tables: exposure([]).tables.map((x) => ({ ...x, error: 'EACCES' })) };
  t.is(run('exposure-kubelet-api', { exposure: unreadable })[0]?.status, 'error');
});
