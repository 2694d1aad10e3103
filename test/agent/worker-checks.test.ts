// CIS 4.1, 4.2, 4.3 and the node checks beyond the benchmark, each in its passing, failing
// and (where it can happen) skip or error state, on real fixture trees. Expectations come
// from the benchmark's text and the kubelet's real behaviour, including where kube-bench gets
// it wrong (marked "kube-bench:"):
//   - 4.2.5: `--streaming-connection-idle-timeout=0s` on the command line turns the timeout off
//     (kube-bench compares the text with "0" and passes it); `0s` in the config file is
//     replaced by the 4h default.
//   - 4.2.10: rotateCertificates is off by default (kube-bench passes an absent setting).
//   - 4.2.11: the RotateKubeletServerCertificate gate is read from the parsed gate map
//     (kube-bench fails `...=true,Other=false` because "false" appears in the text).
//   - 4.2.12: every listed suite must be allowed; each one that is not is named.
//   - 4.2.13: podPidsLimit -1 (the default) is no limit (kube-bench passes any value).
//   - 4.2.14: seccompDefault: false is off (kube-bench passes any value).
//   - 4.1.7/4.1.8: the client CA is the one the kubelet uses, from its flag or its config
//     file's authentication.x509.clientCAFile (kube-bench ignores the config file).
//   - 4.1.1/4.1.2: the kubelet's real unit and all its drop-ins; 4.1.3/4.1.4 and 4.3.1: the
//     kubeconfig and metrics address kube-proxy really uses (skip when it does not run).
import test from 'ava';
import { chmod, chown, mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Result, Severity, Source, Status } from '../../proto/domain.js';
import { initPki } from '../../collector/pki/pki.js';
import { CATALOG, evaluate } from '../../agent/checks/index.js';
import { K8S_RELEASES } from '../../agent/checks/catalog/k8s-versions.js';
import { NODE_EXTRA_CHECKS } from '../../agent/checks/catalog/node-extras.js';
import { CIS_BENCHMARK, controlIn } from '../../proto/benchmark-refs.js';
import type { CheckSpec } from '../../agent/checks/index.js';

const cisOf = (c: CheckSpec): string => controlIn(c.references, CIS_BENCHMARK);
import { collectFacts, type HostFacts, type KubeletProbeOptions } from '../../agent/facts/index.js';
import { fakeGoBinary } from '../helpers/elf.js';
import { CAN_CHOWN, prepareFixture, writeCmdline } from '../helpers/fixture.js';

// 1.34 reached its end of life on 2026-10-27; 1.35 is supported until 2027-02-28.
const NOW = new Date('2026-11-20T12:00:00Z');

type Fixture = 'insecure-worker' | 'defaults-worker' | 'kubeadm-worker-defaults' | 'unit-only-worker';
type Teardown = { teardown(fn: () => unknown): void };

interface Expect {
  readonly status: Status;
  readonly actual?: string;
  readonly source?: Source;
  readonly sourceFile?: string;
  readonly severity?: Severity;
  readonly reason?: RegExp;
  /** The number of results the check gives (one per subject); default: not checked. */
  readonly count?: number;
}

interface Scenario {
  readonly name: string;
  readonly fixture: Fixture;
  readonly prepare?: (root: string, procRoot: string) => Promise<void>;
  readonly procRoot?: (root: string) => string;
  /** Real servers for the kubelet port probe; the probe options point at them. */
  readonly probe?: (t: Teardown) => Promise<KubeletProbeOptions>;
  readonly now?: Date;
  /** Keyed by check id, or `id subject` when a check judges several subjects. */
  readonly expect: Readonly<Record<string, Expect>>;
}

const KUBEADM_ARGV = ['/usr/bin/kubelet', '--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf', '--kubeconfig=/etc/kubernetes/kubelet.conf', '--config=/var/lib/kubelet/config.yaml'];
const kubeadmWith = (...extra: string[]) => (_root: string, proc: string) => writeCmdline(proc, 1042, [...KUBEADM_ARGV, ...extra]);
const appendConfig = (text: string) => async (root: string) => {
  const p = join(root, 'var/lib/kubelet/config.yaml');
  await writeFile(p, `${await readFile(p, 'utf8')}${text}`);
};
const KP_CONFIG = 'proc/2210/root/var/lib/kube-proxy/config.conf';
const kubeProxyConfig = (text: string) => (root: string) => writeFile(join(root, KP_CONFIG), text);
const chownIfRoot = (rel: string, uid: number) => async (root: string) => {
  if (CAN_CHOWN) await chown(join(root, rel), uid, uid);
};

/** An HTTPS server answering every request with `status`, on a port of its own. */
async function kubeletApi(t: Teardown, status: number): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-kubelet-api-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const pki = await initPki(join(dir, 'pki'), { nodes: ['probe-node'], collectorHosts: ['127.0.0.1'] });
  const server = createHttpsServer({ cert: await readFile(pki.collectorCert), key: await readFile(pki.collectorKey) }, (_req, res) => {
    res.writeHead(status);
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  return (server.address() as AddressInfo).port;
}

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const s = createTcpServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** A plain TCP listener (what an open read-only port looks like to a connect). */
async function openPort(t: Teardown): Promise<number> {
  const sockets: Socket[] = [];
  const s = createTcpServer((socket) => void sockets.push(socket));
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const c of sockets) c.destroy();
    s.close();
  });
  return (s.address() as AddressInfo).port;
}

const probeAt = (api: (t: Teardown) => Promise<number>, readOnly: (t: Teardown) => Promise<number>) => async (t: Teardown): Promise<KubeletProbeOptions> => ({
  host: '127.0.0.1', apiPort: await api(t), readOnlyPort: await readOnly(t), timeoutMs: 2000,
});

const UNIT = 'the kubelet was found from its systemd unit';

const scenarios: Scenario[] = [
  // ---- the three worker fixtures as shipped -------------------------------------------------
  {
    name: 'kubeadm-worker-defaults as shipped: a kubeadm worker relying on KubeletConfiguration defaults passes',
    fixture: 'kubeadm-worker-defaults',
    expect: {
      'cis-4.1.1 /usr/lib/systemd/system/kubelet.service': { status: 'pass', actual: '0600', source: 'file' },
      'cis-4.1.1 /usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf': { status: 'pass', actual: '0600' },
      'cis-4.1.1': { status: 'pass', count: 2 },
      'cis-4.1.2 /usr/lib/systemd/system/kubelet.service': { status: 'pass', actual: 'root:root' },
      'cis-4.1.3': { status: 'pass', actual: '0600', reason: /clientConnection\.kubeconfig in \/var\/lib\/kube-proxy\/config\.conf .*inside kube-proxy's root, pid 2210/ },
      'cis-4.1.4': { status: 'pass', actual: 'root:root' },
      'cis-4.1.5': { status: 'pass', actual: '0600' },
      'cis-4.1.6': { status: 'pass', actual: 'root:root' },
      // kube-bench: reads only --client-ca-file; the kubelet here names its CA in the config file.
      'cis-4.1.7': { status: 'pass', actual: '0644', sourceFile: '/etc/kubernetes/pki/ca.crt', reason: /authentication\.x509\.clientCAFile in \/var\/lib\/kubelet\/config\.yaml/ },
      'cis-4.1.8': { status: 'pass', actual: 'root:root' },
      'cis-4.1.9': { status: 'pass', actual: '0600' },
      'cis-4.1.10': { status: 'pass', actual: 'root:root' },
      'cis-4.2.1': { status: 'pass', actual: 'false', source: 'config' },
      'cis-4.2.2': { status: 'pass', actual: 'Webhook', source: 'config' },
      'cis-4.2.3': { status: 'pass', actual: '/etc/kubernetes/pki/ca.crt', source: 'config', sourceFile: '/var/lib/kubelet/config.yaml' },
      'cis-4.2.4': { status: 'pass', actual: '0', source: 'default' },
      // kubeadm writes streamingConnectionIdleTimeout: 0s; the kubelet's defaulting makes it 4h.
      'cis-4.2.5': { status: 'pass', actual: '4h0m0s', source: 'default', sourceFile: '/var/lib/kubelet/config.yaml', reason: /0s in \/var\/lib\/kubelet\/config\.yaml, which the kubelet replaces with its default/ },
      'cis-4.2.6': { status: 'pass', actual: 'true', source: 'default' },
      'cis-4.2.7': { status: 'pass', actual: '', source: 'none' },
      'cis-4.2.8': { status: 'pass', actual: '50', source: 'default' },
      'cis-4.2.9': { status: 'pass', actual: 'serverTLSBootstrap=true', source: 'config' },
      'cis-4.2.10': { status: 'pass', actual: 'true', source: 'config' },
      'cis-4.2.11': { status: 'pass', actual: 'true', source: 'default' },
      'cis-4.2.12': { status: 'pass', source: 'config' },
      'cis-4.2.13': { status: 'pass', actual: '4096', source: 'config' },
      'cis-4.2.14': { status: 'pass', actual: 'true', source: 'config' },
      // metricsBindAddress: "" in its config: kube-proxy's default, loopback.
      'cis-4.3.1': { status: 'pass', actual: '127.0.0.1:10249', source: 'default', sourceFile: '/var/lib/kube-proxy/config.conf' },
      'k8s-version-supported': { status: 'pass', actual: 'v1.35.9', source: 'file', sourceFile: '/usr/bin/kubelet', severity: 'medium' },
      'kernel-protect-defaults': { status: 'pass', count: 6 },
      'kernel-protect-defaults sysctl/kernel.keys.root_maxbytes': { status: 'pass', actual: '25000000' },
    },
  },
  {
    name: 'insecure-worker as shipped: every new check fails or warns',
    fixture: 'insecure-worker',
    expect: {
      // A kubelet process and no unit file this agent can see.
      'cis-4.1.1': { status: 'skip', count: 1, reason: /not started by a systemd unit this agent can see/ },
      'cis-4.1.2': { status: 'skip' },
      'cis-4.1.3': { status: 'warn', actual: '0644', reason: /--kubeconfig on its command line/ },
      'cis-4.1.4': CAN_CHOWN ? { status: 'warn', actual: 'kube:kube' } : { status: 'pass' },
      'cis-4.1.7': { status: 'warn', actual: '0666', reason: /--client-ca-file on the command line/ },
      'cis-4.1.8': CAN_CHOWN ? { status: 'warn', actual: 'kube:kube' } : { status: 'pass' },
      'cis-4.2.3': { status: 'pass', actual: '/etc/kubernetes/pki/ca.crt', source: 'flag' },
      // kube-bench: passes `0s` (it compares the text with "0").
      'cis-4.2.5': { status: 'warn', actual: '0s', source: 'flag' },
      'cis-4.2.6': { status: 'fail', actual: 'false', source: 'flag' },
      'cis-4.2.7': { status: 'warn', actual: 'worker-2-alias', source: 'flag' },
      'cis-4.2.8': { status: 'pass', actual: '5', source: 'config' },
      'cis-4.2.9': { status: 'warn', reason: /self-signed certificate/ },
      'cis-4.2.10': { status: 'fail', actual: 'false', source: 'flag' },
      'cis-4.2.11': { status: 'warn', actual: 'false', source: 'flag' },
      'cis-4.2.12': { status: 'warn', reason: /not allowed: TLS_RSA_WITH_AES_128_CBC_SHA$/ },
      // kube-bench: passes any podPidsLimit, -1 included; and any seccompDefault, false included.
      'cis-4.2.13': { status: 'warn', actual: '-1', source: 'config' },
      'cis-4.2.14': { status: 'warn', actual: 'false', source: 'config' },
      'cis-4.3.1': { status: 'fail', actual: '0.0.0.0:10249', source: 'flag', reason: /every interface/ },
      'k8s-version-supported': { status: 'fail', actual: 'v1.30.2', severity: 'high', reason: /1\.30 reached end of life on 2025-07-15/ },
      'kernel-protect-defaults sysctl/vm.overcommit_memory': { status: 'fail', actual: '0', reason: /needs 1 and will refuse to start/ },
      'kernel-protect-defaults sysctl/kernel.panic': { status: 'fail', actual: '0' },
      'kernel-protect-defaults sysctl/vm.panic_on_oom': { status: 'pass', actual: '0' },
    },
  },
  {
    name: 'unit-only-worker as shipped: no kubelet process, judged from its systemd unit',
    fixture: 'unit-only-worker',
    expect: {
      'cis-4.1.1 /lib/systemd/system/kubelet.service': { status: 'fail', actual: '0644', count: 1, reason: /the kubelet\.service unit file/ },
      'cis-4.1.1 /etc/systemd/system/kubelet.service.d/20-extra.conf': { status: 'pass', actual: '0600', count: 1 },
      'cis-4.1.1 /etc/systemd/system/kubelet.service.d/10-kubeadm.conf': { status: 'pass', actual: '0600', reason: /a drop-in of kubelet\.service/ },
      'cis-4.1.2 /lib/systemd/system/kubelet.service': { status: 'pass', actual: 'root:root' },
      'cis-4.1.2 /etc/systemd/system/kubelet.service.d/20-extra.conf': CAN_CHOWN ? { status: 'fail', actual: 'ops:ops' } : { status: 'pass' },
      'cis-4.1.3': { status: 'skip', reason: /no kube-proxy process/ },
      'cis-4.1.4': { status: 'skip' },
      'cis-4.1.5': { status: 'pass', actual: '0600', reason: new RegExp(UNIT) },
      // clientCAFile is relative in the config file: relative to the file's directory.
      'cis-4.1.7': { status: 'pass', actual: '0644', sourceFile: '/etc/kubernetes/pki/ca.crt' },
      'cis-4.2.1': { status: 'pass', actual: 'false', source: 'default', reason: new RegExp(UNIT) },
      'cis-4.2.3': { status: 'pass', source: 'config' },
      // From kubeadm-flags.env, through $KUBELET_KUBEADM_ARGS in the drop-in's ExecStart=.
      'cis-4.2.5': { status: 'warn', actual: '0s', source: 'flag', sourceFile: '/var/lib/kubelet/kubeadm-flags.env', reason: /command line of the kubelet's systemd unit, from \/var\/lib\/kubelet\/kubeadm-flags\.env/ },
      'cis-4.2.10': { status: 'pass', actual: 'true', source: 'config' },
      // kube-bench: FAILs this one, because "false" appears later in the same --feature-gates.
      'cis-4.2.11': { status: 'pass', actual: 'true', source: 'flag', sourceFile: '/etc/default/kubelet' },
      'cis-4.2.12': { status: 'warn', actual: '', source: 'none' },
      'cis-4.3.1': { status: 'skip' },
      'k8s-version-supported': { status: 'warn', actual: 'v1.35.4', reason: /1\.35\.9 is out/ },
      'kernel-protect-defaults': { status: 'skip', count: 6, reason: /protect-kernel-defaults is off .*sets .* itself when it starts/ },
    },
  },
  // ---- 4.1: files ----------------------------------------------------------------------------
  {
    name: 'files: unit files and kube-proxy kubeconfig looser than 0600, owners other than root',
    fixture: 'kubeadm-worker-defaults',
    prepare: async (root) => {
      await chmod(join(root, 'usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf'), 0o640);
      await chmod(join(root, 'proc/2210/root/var/lib/kube-proxy/kubeconfig.conf'), 0o644);
      await chmod(join(root, 'etc/kubernetes/pki/ca.crt'), 0o664);
      await writeFile(join(root, 'etc/passwd'), 'root:x:0:0::/:/bin/sh\nkube:x:1000:1000::/:/bin/sh\n');
      await writeFile(join(root, 'etc/group'), 'root:x:0:\nkube:x:1000:\n');
      for (const p of ['etc/kubernetes/kubelet.conf', 'var/lib/kubelet/config.yaml', 'etc/kubernetes/pki/ca.crt', 'usr/lib/systemd/system/kubelet.service']) await chownIfRoot(p, 1000)(root);
    },
    expect: {
      'cis-4.1.1 /usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf': { status: 'fail', actual: '0640', reason: /bits 0040/ },
      'cis-4.1.1 /usr/lib/systemd/system/kubelet.service': { status: 'pass' },
      'cis-4.1.3': { status: 'warn', actual: '0644' },
      'cis-4.1.7': { status: 'warn', actual: '0664', reason: /bits 0020/ },
      ...(CAN_CHOWN ? {
        'cis-4.1.2 /usr/lib/systemd/system/kubelet.service': { status: 'fail', actual: 'kube:kube' },
        'cis-4.1.6': { status: 'fail', actual: 'kube:kube' },
        'cis-4.1.8': { status: 'warn', actual: 'kube:kube' },
        'cis-4.1.10': { status: 'fail', actual: 'kube:kube' },
      } : {}),
    },
  },
  {
    name: 'files: 0644 is within the 4.1.7 limit, 0400 within every limit',
    fixture: 'kubeadm-worker-defaults',
    prepare: async (root) => {
      await chmod(join(root, 'usr/lib/systemd/system/kubelet.service'), 0o400);
      await chmod(join(root, 'etc/kubernetes/pki/ca.crt'), 0o444);
    },
    expect: {
      'cis-4.1.1 /usr/lib/systemd/system/kubelet.service': { status: 'pass', actual: '0400' },
      'cis-4.1.7': { status: 'pass', actual: '0444' },
    },
  },
  {
    name: 'files: no client CA, no kube-proxy kubeconfig (in-cluster), kube-proxy not running',
    fixture: 'defaults-worker',
    expect: {
      'cis-4.1.7': { status: 'skip', reason: /no client CA file .*CIS 4\.2\.3 reports that/ },
      'cis-4.1.8': { status: 'skip' },
      'cis-4.1.3': { status: 'skip', reason: /no kube-proxy process/ },
      'cis-4.3.1': { status: 'skip', reason: /no kube-proxy process/ },
      // kube-bench: absent passes; the kubelet's default is off.
      'cis-4.2.10': { status: 'fail', actual: 'false', source: 'default' },
      'cis-4.2.3': { status: 'fail', actual: '', source: 'none' },
      'cis-4.2.13': { status: 'warn', actual: '-1', source: 'default' },
      'cis-4.2.14': { status: 'warn', actual: 'false', source: 'default' },
      'cis-4.2.12': { status: 'warn', reason: /not set/ },
    },
  },
  {
    name: 'files: kube-proxy without --config or --kubeconfig uses its service account; an unreadable --config is an error',
    fixture: 'kubeadm-worker-defaults',
    prepare: async (_root, proc) => {
      await writeCmdline(proc, 2210, ['/usr/local/bin/kube-proxy', '--hostname-override=worker-1']);
    },
    expect: {
      'cis-4.1.3': { status: 'skip', reason: /in-cluster service account/ },
      'cis-4.1.4': { status: 'skip' },
      'cis-4.3.1': { status: 'pass', actual: '127.0.0.1:10249', source: 'default' },
    },
  },
  {
    name: 'files: kube-proxy --config that cannot be read',
    fixture: 'kubeadm-worker-defaults',
    prepare: (root) => rm(join(root, KP_CONFIG)),
    expect: {
      'cis-4.1.3': { status: 'error', reason: /cannot read kube-proxy's --config/ },
      'cis-4.3.1': { status: 'error', reason: /cannot read kube-proxy's --config/ },
    },
  },
  {
    name: 'files: the client CA named by --client-ca-file but missing on disk',
    fixture: 'kubeadm-worker-defaults',
    prepare: kubeadmWith('--client-ca-file=/etc/kubernetes/pki/missing.crt'),
    expect: {
      'cis-4.1.7': { status: 'error', reason: /missing\.crt .*does not exist/ },
      'cis-4.2.3': { status: 'pass', actual: '/etc/kubernetes/pki/missing.crt', source: 'flag' },
    },
  },
  {
    name: 'no kubelet, no unit, unreadable process table: the kubelet checks are errors, never skips',
    fixture: 'insecure-worker',
    procRoot: (root) => join(root, 'missing-proc'),
    expect: Object.fromEntries(['cis-4.1.1', 'cis-4.1.7', 'cis-4.2.5', 'cis-4.2.9', 'cis-4.2.11', 'k8s-version-supported', 'kernel-protect-defaults']
      .map((id) => [id, { status: 'error', reason: /cannot list processes/ }])),
  },
  {
    name: 'no kubelet and no unit on a readable process table: the kubelet checks skip',
    fixture: 'insecure-worker',
    prepare: (_root, proc) => rm(join(proc, '4242'), { recursive: true }),
    expect: {
      ...Object.fromEntries(['cis-4.1.1', 'cis-4.1.2', 'cis-4.1.5', 'cis-4.1.6', 'cis-4.1.7', 'cis-4.1.8', 'cis-4.1.9', 'cis-4.1.10',
        ...Array.from({ length: 14 }, (_, i) => `cis-4.2.${i + 1}`), 'k8s-version-supported']
        .map((id) => [id, { status: 'skip', reason: /no kubelet process .* and no kubelet\.service unit/ }])),
      'kernel-protect-defaults': { status: 'skip', count: 6 },
      // kube-proxy still runs and is still judged.
      'cis-4.3.1': { status: 'fail' },
    },
  },
  // ---- 4.2: kubelet settings -------------------------------------------------------------------
  {
    name: '4.2: an unparseable config file makes every setting it could hold an error; command-line-only 4.2.7 still judged',
    fixture: 'kubeadm-worker-defaults',
    prepare: (root) => writeFile(join(root, 'var/lib/kubelet/config.yaml'), 'authentication: [unclosed\n'),
    expect: {
      ...Object.fromEntries(['cis-4.2.3', 'cis-4.2.5', 'cis-4.2.6', 'cis-4.2.8', 'cis-4.2.9', 'cis-4.2.10', 'cis-4.2.11', 'cis-4.2.12', 'cis-4.2.13', 'cis-4.2.14', 'cis-4.1.7']
        .map((id) => [id, { status: 'error', reason: /not valid YAML/ }])),
      'kernel-protect-defaults': { status: 'error', count: 6, reason: /not valid YAML/ },
      'cis-4.2.7': { status: 'pass' },
    },
  },
  {
    name: '4.2.5: a non-zero duration passes; a flag without a unit is not a Go duration (error)',
    fixture: 'kubeadm-worker-defaults',
    prepare: kubeadmWith('--streaming-connection-idle-timeout=5m'),
    expect: { 'cis-4.2.5': { status: 'pass', actual: '5m0s', source: 'flag' } },
  },
  {
    name: '4.2.5: `5` is not a duration',
    fixture: 'kubeadm-worker-defaults',
    prepare: kubeadmWith('--streaming-connection-idle-timeout=5'),
    expect: { 'cis-4.2.5': { status: 'error', reason: /not a Go duration \(a number without a unit\)/ } },
  },
  {
    name: '4.2.5: a bare `0` on the command line turns the timeout off too',
    fixture: 'kubeadm-worker-defaults',
    prepare: kubeadmWith('--streaming-connection-idle-timeout', '0'),
    expect: { 'cis-4.2.5': { status: 'warn', actual: '0s', source: 'flag' } },
  },
  {
    name: '4.2.8 negative eventRecordQPS; 4.2.13 zero podPidsLimit (no limit either); 4.2.11 gate off in the config',
    fixture: 'kubeadm-worker-defaults',
    prepare: appendConfig('eventRecordQPS: -1\nfeatureGates:\n  RotateKubeletServerCertificate: false\n'),
    expect: {
      'cis-4.2.8': { status: 'warn', actual: '-1', source: 'config' },
      'cis-4.2.11': { status: 'warn', actual: 'false', source: 'config', sourceFile: '/var/lib/kubelet/config.yaml' },
    },
  },
  {
    name: '4.2.11: a --feature-gates flag that does not name the gate leaves the config file in charge',
    fixture: 'kubeadm-worker-defaults',
    prepare: async (root, proc) => {
      await appendConfig('featureGates:\n  RotateKubeletServerCertificate: false\n')(root);
      await kubeadmWith('--feature-gates=SomeOtherGate=true')(root, proc);
    },
    expect: { 'cis-4.2.11': { status: 'warn', actual: 'false', source: 'config' } },
  },
  {
    name: '4.2.11: several --feature-gates flags merge, the later one winning; the flag wins over the config',
    fixture: 'kubeadm-worker-defaults',
    prepare: async (root, proc) => {
      await appendConfig('featureGates:\n  RotateKubeletServerCertificate: false\n')(root);
      await kubeadmWith('--feature-gates=RotateKubeletServerCertificate=false,A=true', '--feature-gates', 'B=false, RotateKubeletServerCertificate=true')(root, proc);
    },
    expect: { 'cis-4.2.11': { status: 'pass', actual: 'true', source: 'flag' } },
  },
  {
    name: '4.2.11: a malformed --feature-gates entry is an error (the kubelet would not start)',
    fixture: 'kubeadm-worker-defaults',
    prepare: kubeadmWith('--feature-gates=RotateKubeletServerCertificate'),
    expect: { 'cis-4.2.11': { status: 'error', reason: /not Key=true\|false/ } },
  },
  {
    name: '4.2.9: a serving certificate and key from flags pass; 4.2.3: an empty --client-ca-file overrides the config',
    fixture: 'kubeadm-worker-defaults',
    prepare: kubeadmWith('--tls-cert-file=/var/lib/kubelet/pki/kubelet.crt', '--tls-private-key-file=/var/lib/kubelet/pki/kubelet.key', '--client-ca-file='),
    expect: {
      'cis-4.2.9': { status: 'pass', actual: '/var/lib/kubelet/pki/kubelet.crt,/var/lib/kubelet/pki/kubelet.key', source: 'flag' },
      'cis-4.2.3': { status: 'fail', actual: '', source: 'flag', reason: /empty: not set/ },
      'cis-4.1.7': { status: 'skip' },
    },
  },
  {
    name: '4.2.9: half a key pair warns',
    fixture: 'kubeadm-worker-defaults',
    prepare: async (root) => {
      const p = join(root, 'var/lib/kubelet/config.yaml');
      await writeFile(p, `${(await readFile(p, 'utf8')).replace('serverTLSBootstrap: true', 'tlsCertFile: /var/lib/kubelet/pki/kubelet.crt')}`);
    },
    expect: { 'cis-4.2.9': { status: 'warn', actual: '/var/lib/kubelet/pki/kubelet.crt', reason: /only one half .*tlsPrivateKeyFile is not set/ } },
  },
  {
    name: '4.2.12: the CHACHA20 suites under their _SHA256 names are the same suites; a weak one among good ones is named',
    fixture: 'kubeadm-worker-defaults',
    prepare: kubeadmWith('--tls-cipher-suites=TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256'),
    expect: { 'cis-4.2.12': { status: 'pass', source: 'flag' } },
  },
  {
    name: '4.2.12: --tls-cipher-suites given twice adds up (as the kubelet reads it)',
    fixture: 'kubeadm-worker-defaults',
    prepare: kubeadmWith('--tls-cipher-suites=TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', '--tls-cipher-suites=TLS_RSA_WITH_AES_256_GCM_SHA384'),
    expect: { 'cis-4.2.12': { status: 'warn', actual: 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_RSA_WITH_AES_256_GCM_SHA384', reason: /not allowed: TLS_RSA_WITH_AES_256_GCM_SHA384$/ } },
  },
  {
    name: '4.2.6, 4.2.7, 4.2.10, 4.2.13, 4.2.14 from the command line',
    fixture: 'kubeadm-worker-defaults',
    prepare: kubeadmWith('--make-iptables-util-chains=false', '--hostname-override=other-name', '--rotate-certificates=false', '--pod-max-pids=0', '--seccomp-default=false'),
    expect: {
      'cis-4.2.6': { status: 'fail', actual: 'false', source: 'flag' },
      'cis-4.2.7': { status: 'warn', actual: 'other-name' },
      'cis-4.2.10': { status: 'fail', actual: 'false', source: 'flag' },
      'cis-4.2.13': { status: 'warn', actual: '0', source: 'flag' },
      'cis-4.2.14': { status: 'warn', actual: 'false', source: 'flag' },
    },
  },
  // ---- 4.3.1: kube-proxy metrics -----------------------------------------------------------------
  {
    name: '4.3.1: metricsBindAddress 0.0.0.0:10249 in kube-proxy\'s config fails',
    fixture: 'kubeadm-worker-defaults',
    prepare: kubeProxyConfig('apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nclientConnection:\n  kubeconfig: /var/lib/kube-proxy/kubeconfig.conf\nmetricsBindAddress: 0.0.0.0:10249\n'),
    expect: { 'cis-4.3.1': { status: 'fail', actual: '0.0.0.0:10249', source: 'config', sourceFile: '/var/lib/kube-proxy/config.conf' } },
  },
  {
    name: '4.3.1: with --config, kube-proxy ignores --metrics-bind-address; v1alpha2 loopback ranges pass',
    fixture: 'kubeadm-worker-defaults',
    prepare: async (root, proc) => {
      await kubeProxyConfig('apiVersion: kubeproxy.config.k8s.io/v1alpha2\nkind: KubeProxyConfiguration\nmetricsBindAddresses: ["127.0.0.0/8", "::1/128"]\n')(root);
      await writeCmdline(proc, 2210, ['/usr/local/bin/kube-proxy', '--config=/var/lib/kube-proxy/config.conf', '--metrics-bind-address=0.0.0.0:10249']);
    },
    expect: { 'cis-4.3.1': { status: 'pass', actual: '127.0.0.0/8,::1/128', source: 'config' } },
  },
  {
    name: '4.3.1: v1alpha2 ranges beyond loopback fail and are named',
    fixture: 'kubeadm-worker-defaults',
    prepare: kubeProxyConfig('apiVersion: kubeproxy.config.k8s.io/v1alpha2\nkind: KubeProxyConfiguration\nmetricsBindAddresses: ["127.0.0.1/32", "10.0.0.0/8"]\n'),
    expect: { 'cis-4.3.1': { status: 'fail', reason: /not loopback: 10\.0\.0\.0\/8/ } },
  },
  {
    name: '4.3.1: [::1]:10249 on the command line is loopback; an empty address turns metrics off',
    fixture: 'insecure-worker',
    prepare: (_root, proc) => writeCmdline(proc, 5100, ['/usr/local/bin/kube-proxy', '--kubeconfig=/var/lib/kube-proxy/kubeconfig', '--metrics-bind-address=[::1]:10249']),
    expect: { 'cis-4.3.1': { status: 'pass', actual: '[::1]:10249', source: 'flag', reason: /::1 is a loopback address/ } },
  },
  {
    name: '4.3.1: an empty --metrics-bind-address turns the metrics server off',
    fixture: 'insecure-worker',
    prepare: (_root, proc) => writeCmdline(proc, 5100, ['/usr/local/bin/kube-proxy', '--metrics-bind-address=']),
    expect: { 'cis-4.3.1': { status: 'pass', actual: '', reason: /turned off/ } },
  },
  // ---- 4.2.1 and 4.2.4 on the wire: the kubelet's ports, seen from the node -----------------------
  // One result per problem: what the probe saw joins the setting's result (agent/checks/wire-evidence.ts).
  {
    name: 'probe: 401 on the API port and a refused read-only port confirm the settings',
    fixture: 'kubeadm-worker-defaults',
    probe: probeAt((t) => kubeletApi(t, 401), () => closedPort()),
    expect: {
      'cis-4.2.1': { status: 'pass', actual: 'false', severity: 'high', reason: /on the wire: https:\/\/127\.0\.0\.1:\d+\/pods refused an anonymous request with 401: anonymous authentication is off/ },
      'cis-4.2.4': { status: 'pass', actual: '0', severity: 'medium', reason: /on the wire: .*refuses connections, and the kubelet answers at 127\.0\.0\.1:/ },
    },
  },
  {
    name: 'probe: 403 on the API port (anonymous reaches authorization and is denied) is no exposure',
    fixture: 'insecure-worker',
    probe: probeAt((t) => kubeletApi(t, 403), () => closedPort()),
    expect: { 'cis-4.2.1': { status: 'fail', actual: 'true', severity: 'high', reason: /on the wire: .*answered an anonymous request with 403: .*not authorized/ } },
  },
  {
    name: 'probe: an anonymous GET /pods answered 200 and an open read-only port fail their settings\' results, raised',
    fixture: 'insecure-worker',
    probe: probeAt((t) => kubeletApi(t, 200), (t) => openPort(t)),
    expect: {
      'cis-4.2.1': { status: 'fail', actual: 'true', severity: 'critical', reason: /anyone who can reach this port can list the node's pods, and likely exec into them; true \(authentication\.anonymous\.enabled in/ },
      // A manual check in CIS, but an open port is no question: it fails.
      'cis-4.2.4': { status: 'fail', actual: '10255', severity: 'high', reason: /accepts connections: the kubelet's read-only port serves pod specs/ },
    },
  },
  {
    name: 'probe: a port the settings say is closed but that answers fails the result anyway',
    fixture: 'kubeadm-worker-defaults',
    probe: probeAt((t) => kubeletApi(t, 200), (t) => openPort(t)),
    expect: {
      'cis-4.2.1': { status: 'fail', actual: 'false', severity: 'critical', reason: /answered an anonymous request with 200.*, although the setting says otherwise/ },
      'cis-4.2.4': { status: 'fail', actual: '0', severity: 'high', reason: /accepts connections.*, although the setting says otherwise/ },
    },
  },
  {
    name: 'probe: what the probe could not tell joins the reason and leaves the setting\'s verdict (a refused API port says where the kubelet listens)',
    fixture: 'kubeadm-worker-defaults',
    prepare: appendConfig('port: 10260\n'),
    probe: probeAt(() => closedPort(), () => closedPort()),
    expect: {
      'cis-4.2.1': { status: 'pass', actual: 'false', reason: /the wire could not confirm it: no HTTPS answer from .*the kubelet's port is 10260 \(port in \/var\/lib\/kubelet\/config\.yaml\)/ },
      // Nothing answers on this address at all: a refused read-only port proves nothing
      // (a pod's own loopback refuses everything).
      'cis-4.2.4': { status: 'pass', actual: '0', reason: /the wire could not confirm it: .*did not answer either .*may not be the node's network/ },
    },
  },
  {
    name: 'probe: a 404 is not how a kubelet answers',
    fixture: 'kubeadm-worker-defaults',
    probe: probeAt((t) => kubeletApi(t, 404), () => closedPort()),
    expect: { 'cis-4.2.1': { status: 'pass', reason: /the wire could not confirm it: .*answered 404, which is not how a kubelet answers/ } },
  },
  {
    name: 'probe: the read-only port the kubelet is configured with was not the one probed',
    fixture: 'insecure-worker',
    probe: probeAt((t) => kubeletApi(t, 401), () => closedPort()),
    expect: { 'cis-4.2.4': { status: 'warn', actual: '10255', severity: 'medium', reason: /the wire could not confirm it: .*the kubelet's read-only port is 10255 .*which was not probed/ } },
  },
  {
    name: 'probe: no kubelet on the node and nothing listening: both skip',
    fixture: 'unit-only-worker',
    prepare: async (root) => {
      await rm(join(root, 'lib/systemd/system/kubelet.service'));
    },
    probe: probeAt(() => closedPort(), () => closedPort()),
    expect: {
      'cis-4.2.1': { status: 'skip', reason: /no kubelet process/ },
      'cis-4.2.4': { status: 'skip', reason: /no kubelet process/ },
    },
  },
  // ---- beyond the benchmark: the kubelet's version and the kernel settings it protects ----------
  {
    name: 'version: the kubelet binary is gone, or holds no version',
    fixture: 'kubeadm-worker-defaults',
    prepare: (root) => rm(join(root, 'usr/bin/kubelet')),
    expect: { 'k8s-version-supported': { status: 'error', reason: /ENOENT: \/usr\/bin\/kubelet/ } },
  },
  {
    name: 'version: a binary with no version string',
    fixture: 'kubeadm-worker-defaults',
    prepare: (root) => writeFile(join(root, 'usr/bin/kubelet'), fakeGoBinary({ versions: [] })),
    expect: { 'k8s-version-supported': { status: 'error', reason: /no Kubernetes version string/ } },
  },
  {
    name: 'version: 1.34 past its end of life (2026-10-27) fails with a raised severity',
    fixture: 'kubeadm-worker-defaults',
    prepare: (root) => writeFile(join(root, 'usr/bin/kubelet'), fakeGoBinary({ versions: ['v1.34.9', 'v1.34.9'] })),
    expect: { 'k8s-version-supported': { status: 'fail', severity: 'high', reason: /1\.34 reached end of life on 2026-10-27/ } },
  },
  {
    name: 'version: the same 1.34.9 on the day before its end of life is current',
    fixture: 'kubeadm-worker-defaults',
    prepare: (root) => writeFile(join(root, 'usr/bin/kubelet'), fakeGoBinary({ versions: ['v1.34.9', 'v1.34.9'] })),
    now: new Date('2026-10-27T23:00:00Z'),
    expect: { 'k8s-version-supported': { status: 'pass', severity: 'medium' } },
  },
  {
    name: 'version: a pre-release warns; a minor newer than the table passes; one older than the table fails',
    fixture: 'kubeadm-worker-defaults',
    prepare: (root) => writeFile(join(root, 'usr/bin/kubelet'), fakeGoBinary({ versions: ['v1.37.0-rc.1', 'v1.37.0-rc.1'] })),
    expect: { 'k8s-version-supported': { status: 'warn', reason: /pre-release build \(rc\.1\)/ } },
  },
  {
    name: 'version: a minor newer than the table is taken as supported',
    fixture: 'kubeadm-worker-defaults',
    prepare: (root) => writeFile(join(root, 'usr/bin/kubelet'), fakeGoBinary({ versions: ['v1.40.0', 'v1.40.0'] })),
    expect: { 'k8s-version-supported': { status: 'pass', reason: /newer than every release in this agent's table/ } },
  },
  {
    name: 'version: a minor older than the table is long out of support',
    fixture: 'kubeadm-worker-defaults',
    prepare: (root) => writeFile(join(root, 'usr/bin/kubelet'), fakeGoBinary({ versions: ['v1.25.16', 'v1.25.16'] })),
    expect: { 'k8s-version-supported': { status: 'fail', severity: 'high', reason: /older than 1\.30/ } },
  },
  {
    name: 'kernel: protectKernelDefaults on and a setting drifted; an unreadable one is an error',
    fixture: 'kubeadm-worker-defaults',
    prepare: async (_root, proc) => {
      await writeFile(join(proc, 'sys/kernel/panic_on_oops'), '0\n');
      await rm(join(proc, 'sys/kernel/keys/root_maxkeys'));
    },
    expect: {
      'kernel-protect-defaults sysctl/kernel.panic_on_oops': { status: 'fail', actual: '0', reason: /protectKernelDefaults in \/var\/lib\/kubelet\/config\.yaml/ },
      'kernel-protect-defaults sysctl/kernel.keys.root_maxkeys': { status: 'error', reason: /cannot read kernel\.keys\.root_maxkeys/ },
      'kernel-protect-defaults sysctl/vm.overcommit_memory': { status: 'pass' },
    },
  },
];

async function run(t: Teardown, sc: Scenario): Promise<{ facts: HostFacts; results: Result[] }> {
  const fx = await prepareFixture(sc.fixture);
  t.teardown(fx.cleanup);
  await sc.prepare?.(fx.root, fx.procRoot);
  const kubeletProbe = sc.probe ? await sc.probe(t) : null;
  const facts = await collectFacts({ hostRoot: fx.root, procRoot: sc.procRoot?.(fx.root) ?? fx.procRoot, kubeletProbe });
  return { facts, results: evaluate(facts, CATALOG, sc.now ?? NOW) };
}

for (const sc of scenarios) {
  test(`worker: ${sc.name}`, async (t) => {
    const { results } = await run(t, sc);
    for (const [key, e] of Object.entries(sc.expect)) {
      const [id, subject] = key.split(' ') as [string, string | undefined];
      const mine = results.filter((r) => r.id === id && (subject === undefined || r.subject === subject));
      if (mine.length === 0) return t.fail(`no result for ${key}`);
      if (e.count !== undefined) t.is(mine.length, e.count, `${key}: one result per subject`);
      for (const r of mine) {
        const got: Record<string, unknown> = { status: r.status };
        const want: Record<string, unknown> = { status: e.status };
        for (const k of ['actual', 'source', 'sourceFile', 'severity'] as const) {
          if (e[k] !== undefined) {
            got[k] = r[k];
            want[k] = e[k];
          }
        }
        t.deepEqual(got, want, `${key} (${r.subject}): ${r.reason}`);
        if (e.reason) t.regex(r.reason, e.reason, key);
        t.not(r.reason, '', `${key} must say why`);
      }
    }
  });
}

test('every node check of the catalogue is exercised above in a passing and a failing (or warning) state', (t) => {
  const states = new Map<string, Set<Status>>();
  for (const sc of scenarios) {
    for (const [key, e] of Object.entries(sc.expect)) {
      const id = key.split(' ')[0] as string;
      states.set(id, (states.get(id) ?? new Set()).add(e.status));
    }
  }
  // Section 4 and the node's own extras (the control plane's and the certificates' are judged elsewhere).
  const node = CATALOG.filter((c) => cisOf(c).startsWith('4.') || NODE_EXTRA_CHECKS.includes(c));
  t.is(node.filter((c) => cisOf(c).startsWith('4.1.')).length, 10);
  t.is(node.filter((c) => cisOf(c).startsWith('4.2.')).length, 14);
  t.is(node.filter((c) => cisOf(c).startsWith('4.3.')).length, 1);
  for (const c of node) {
    const s = states.get(c.id) ?? new Set();
    // Older tests (checks.test.ts) cover 4.1.5, 4.1.9, 4.2.1, 4.2.2 and 4.2.4 in every state.
    if (['cis-4.1.5', 'cis-4.1.9', 'cis-4.2.1', 'cis-4.2.2', 'cis-4.2.4'].includes(c.id)) continue;
    t.true(s.has('pass'), `${c.id} passes somewhere`);
    t.true(s.has('fail') || s.has('warn'), `${c.id} fails or warns somewhere`);
    t.true(s.has('skip') || s.has('error'), `${c.id} skips or errors somewhere`);
  }
});

test('metadata of the node checks: CIS numbers, automated or manual as in CIS 1.12, categories', (t) => {
  const meta = Object.fromEntries(CATALOG.filter((c) => cisOf(c).startsWith('4.') || cisOf(c) === '').map((c) => [c.id, `${c.scored ? 'A' : 'M'} ${c.category}`]));
  const automated = ['4.1.1', '4.1.2', '4.1.5', '4.1.6', '4.1.9', '4.1.10', '4.2.1', '4.2.2', '4.2.3', '4.2.6', '4.2.10', '4.3.1'];
  for (const [id, m] of Object.entries(meta)) {
    if (!id.startsWith('cis-')) continue;
    t.is(m.split(' ')[0], automated.includes(id.slice(4)) ? 'A' : 'M', id);
  }
  // What the kubelet exposes on the wire is part of cis-4.2.1 and cis-4.2.4 (agent/checks/wire-evidence.ts).
  t.is(CATALOG.find((c) => c.id === 'cis-4.2.1')?.wire, 'kubelet-anonymous-api');
  t.is(CATALOG.find((c) => c.id === 'cis-4.2.4')?.wire, 'kubelet-read-only-port');
  t.is(meta['k8s-version-supported'], 'A version');
  t.is(meta['kernel-protect-defaults'], 'A host');
  for (const c of CATALOG.filter((x) => cisOf(x).startsWith('4.') || cisOf(x) === '')) t.true(c.remediation.length > 40, `${c.id} says how to fix it`);
});

test('the release table is ordered, one row per minor, with real dates', (t) => {
  const minors = K8S_RELEASES.map((r) => r.minor);
  t.deepEqual(minors, [...minors].sort((a, b) => a - b));
  t.is(new Set(minors).size, minors.length);
  for (const r of K8S_RELEASES) {
    t.false(Number.isNaN(Date.parse(r.endOfLife)), `1.${r.minor} end of life`);
    t.false(Number.isNaN(Date.parse(r.latestPatchSeen)));
  }
});

test('unit-derived results are the same whichever way the unit is read: evaluating twice changes nothing', async (t) => {
  const { facts } = await run(t, { name: 'x', fixture: 'unit-only-worker', expect: {} });
  t.deepEqual(evaluate(facts, CATALOG, NOW), evaluate(JSON.parse(JSON.stringify(facts)) as HostFacts, CATALOG, NOW));
});

test('a kube-proxy config directory made for the test, created fresh', async (t) => {
  // The fixture's kube-proxy root is a directory of the fixture: files there are not the host's.
  const fx = await prepareFixture('kubeadm-worker-defaults');
  t.teardown(fx.cleanup);
  await mkdir(join(fx.root, 'var/lib/kube-proxy'), { recursive: true });
  await writeFile(join(fx.root, 'var/lib/kube-proxy/kubeconfig.conf'), 'host copy, not the one kube-proxy uses');
  await chmod(join(fx.root, 'var/lib/kube-proxy/kubeconfig.conf'), 0o666);
  const results = evaluate(await collectFacts({ hostRoot: fx.root, procRoot: fx.procRoot }), CATALOG, NOW);
  t.like(results.find((r) => r.id === 'cis-4.1.3'), { status: 'pass', actual: '0600' });
});
