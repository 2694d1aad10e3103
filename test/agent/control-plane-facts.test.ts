// The control plane as facts: components found by argv (never a text search), static pod
// manifests, ETCD_* variables (and nothing else of an environment), hostPath mounts, the k3s
// configuration merge, layouts, and key material that never reaches the facts.
import test from 'ava';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CATALOG, evaluate } from '../../agent/checks/index.js';
import { componentHostPath } from '../../agent/facts/component-paths.js';
import { componentOf } from '../../agent/facts/components.js';
import { shapeArgs } from '../../agent/facts/process-shape.js';
import { parseQuietly, summariseEncryptionConfig } from '../../agent/facts/control-plane-docs.js';
import { parseEnviron } from '../../agent/facts/environ.js';
import { collectFacts } from '../../agent/facts/index.js';
import type { ControlPlaneFacts, HostFacts } from '../../agent/facts/index.js';
import { REDACTED } from '../../proto/support/redact.js';
import { VALUE_FROM, parseStaticPod } from '../../agent/facts/static-pods.js';
import { buildScanReport } from '../../agent/scan-report.js';
import { prepareFixture, writeCmdline, writeEnviron } from '../helpers/fixture.js';

const NOW = new Date('2026-03-01T12:00:00Z');
const HARDENED_KEY = 'bm9kZXdhcmQtZml4dHVyZS1hZXNjYmMta2V5LTA0MiE=';
const K3S_TOKEN = 'K10fixture0k3s0token0do0not0leak';
const RKE2_KEY = 'cmtlMi1maXh0dXJlLWFlc2NiYy1rZXktZG8tbm90LWxlYWs=';

async function factsOf(scenario: string, prepare?: (root: string, proc: string) => Promise<void>): Promise<{ facts: HostFacts; cp: ControlPlaneFacts; cleanup: () => Promise<void> }> {
  const fx = await prepareFixture(scenario);
  await prepare?.(fx.root, fx.procRoot);
  const facts = await collectFacts({ hostRoot: fx.root, procRoot: fx.procRoot, now: () => NOW });
  if (facts.controlPlane === undefined) throw new Error('no control-plane facts');
  return { facts, cp: facts.controlPlane, cleanup: fx.cleanup };
}

/** The JSON a scan prints, for the facts given. */
const reportJson = (facts: HostFacts): string =>
  JSON.stringify(buildScanReport({ node: 'cp-1', scannedAt: NOW, benchmark: 'cis-1.12', scope: CATALOG.map((c) => c.id), results: evaluate(facts, CATALOG, NOW) }));

test('components are recognised by argv[0]\'s base name, or hyperkube and its subcommand', (t) => {
  t.deepEqual(componentOf(['/usr/local/bin/kube-apiserver', '--v=2']), { component: 'kube-apiserver', args: ['--v=2'] });
  t.deepEqual(componentOf(['etcd', '--name=a']), { component: 'etcd', args: ['--name=a'] });
  t.deepEqual(componentOf(['/hyperkube', 'apiserver', '--x']), { component: 'kube-apiserver', args: ['--x'] });
  t.deepEqual(componentOf(['/hyperkube', 'controller-manager'])?.component, 'kube-controller-manager');
  t.deepEqual(componentOf(['/hyperkube', 'kube-scheduler'])?.component, 'kube-scheduler');
  t.deepEqual(componentOf(['/usr/local/bin/kube-proxy', '--config=/c'])?.component, 'kube-proxy');
  // None of these is etcd, though a text search for "etcd" would match each of them.
  t.is(componentOf(['/usr/bin/etcdctl', 'endpoint', 'health']), null);
  t.is(componentOf(['/usr/bin/tail', '-F', '/var/log/etcd.log']), null);
  t.is(componentOf(['/opt/etcd-wrapper', 'etcd']), null);
  t.is(componentOf(['/hyperkube', 'etcd']), null);
  t.is(componentOf([]), null);
});

test('k3s and rke2 servers, with their arguments or their rewritten title', (t) => {
  const k3s = { command: 'k3s', subcommand: 'server' };
  t.deepEqual(shapeArgs(['/usr/local/bin/k3s', 'server', '--cluster-init'], k3s), ['--cluster-init']);
  t.deepEqual(shapeArgs(['/usr/local/bin/k3s server', '', '', ''], k3s), []);
  t.deepEqual(shapeArgs(['/usr/local/bin/rke2 server'], { command: 'rke2', subcommand: 'server' }), []);
  t.is(shapeArgs(['/usr/local/bin/k3s', 'agent'], k3s), null);
  t.is(shapeArgs(['/usr/local/bin/k3s agent'], k3s), null);
  t.is(shapeArgs(['/usr/bin/vim', '/etc/k3s server'], k3s), null);
});

test('only ETCD_* variables are kept from an environment, secret-looking ones redacted', (t) => {
  const raw = Buffer.from([
    'PATH=/usr/bin', 'AWS_SECRET_ACCESS_KEY=aws-secret-9f8e', 'ETCD_CLIENT_CERT_AUTH=true', 'ETCD_PEER_KEY_FILE=/etc/etcd/peer.key',
    'ETCD_INITIAL_CLUSTER_TOKEN=cluster-token-7c6b', 'ETCD_CLIENT_CERT_AUTH=false', 'ETCD_BROKEN', 'ETCD_LISTEN_CLIENT_URLS=https://root:pw@10.0.0.1:2379', '',
  ].join('\0'));
  t.deepEqual(parseEnviron(raw, 'ETCD_'), [
    { name: 'ETCD_CLIENT_CERT_AUTH', value: 'true' },
    { name: 'ETCD_PEER_KEY_FILE', value: '/etc/etcd/peer.key' },
    { name: 'ETCD_INITIAL_CLUSTER_TOKEN', value: REDACTED },
    { name: 'ETCD_LISTEN_CLIENT_URLS', value: `https://root:${REDACTED}@10.0.0.1:2379` },
  ]);
});

test('a path a static pod names is mapped through its hostPath mounts, the longest mount first', (t) => {
  const mounts = [
    { containerPath: '/etc/kubernetes/pki', hostPath: '/etc/kubernetes/pki' },
    { containerPath: '/etc/kubernetes/enc', hostPath: '/srv/encryption' },
    { containerPath: '/etc/kubernetes/pki/etcd', hostPath: '/var/lib/etcd-pki' },
    { containerPath: '/audit.yaml', hostPath: '/etc/kubernetes/audit-policy.yaml' },
  ];
  const ctx = { component: 'kube-apiserver', cwd: '/', mounts };
  t.like(componentHostPath(ctx, 'x', '/etc/kubernetes/enc/config.yaml'), { hostPath: '/srv/encryption/config.yaml', how: 'through the hostPath mount /srv/encryption -> /etc/kubernetes/enc' });
  t.like(componentHostPath(ctx, 'x', '/etc/kubernetes/pki/etcd/ca.crt'), { hostPath: '/var/lib/etcd-pki/ca.crt' });
  t.like(componentHostPath(ctx, 'x', '/etc/kubernetes/pki/ca.crt'), { hostPath: '/etc/kubernetes/pki/ca.crt', how: 'mounted from the host at the same path' });
  t.like(componentHostPath(ctx, 'x', '/audit.yaml'), { hostPath: '/etc/kubernetes/audit-policy.yaml' });
  // /etc/kubernetes/pkix is not under /etc/kubernetes/pki.
  t.like(componentHostPath(ctx, 'x', '/etc/kubernetes/pkix/a'), { hostPath: null, error: { code: 'EINVAL' } });
  t.like(componentHostPath({ ...ctx, cwd: '/etc/kubernetes' }, 'x', 'pki/../enc/c.yaml'), { hostPath: '/srv/encryption/c.yaml' });
  t.like(componentHostPath({ ...ctx, cwd: null }, 'x', 'enc/c.yaml'), { hostPath: null, error: { code: 'ENOCWD' } });
  t.like(componentHostPath({ component: 'etcd', cwd: '/var/lib', mounts: null }, 'data-dir', 'default.etcd'), { hostPath: '/var/lib/default.etcd', how: 'relative to the working directory /var/lib' });
});

test('a static pod manifest: command + args redacted, ETCD_* env (valueFrom marked), mounts with subPath', (t) => {
  const pod = parseStaticPod('/m/etcd.yaml', `apiVersion: v1
kind: Pod
spec:
  containers:
    - name: etcd
      command: [etcd]
      args: ["--data-dir=/var/lib/etcd", "--initial-cluster-token", "tok-123"]
      env:
        - {name: ETCD_CLIENT_CERT_AUTH, value: "true"}
        - {name: ETCD_PEER_AUTO_TLS, valueFrom: {configMapKeyRef: {name: c, key: k}}}
        - {name: OTHER_SECRET, value: "nope"}
      volumeMounts:
        - {name: data, mountPath: /var/lib/etcd}
        - {name: conf, mountPath: /etc/etcd/etcd.yaml, subPath: etcd.yaml}
  volumes:
    - {name: data, hostPath: {path: /srv/etcd}}
    - {name: conf, hostPath: {path: /etc/etcd-config}}
`);
  t.is(pod.error, null);
  t.is(pod.component, 'etcd');
  t.deepEqual(pod.argv, ['etcd', '--data-dir=/var/lib/etcd', '--initial-cluster-token', REDACTED]);
  t.deepEqual(pod.env, [{ name: 'ETCD_CLIENT_CERT_AUTH', value: 'true' }, { name: 'ETCD_PEER_AUTO_TLS', value: VALUE_FROM }]);
  t.deepEqual(pod.mounts, [{ containerPath: '/var/lib/etcd', hostPath: '/srv/etcd' }, { containerPath: '/etc/etcd/etcd.yaml', hostPath: '/etc/etcd-config/etcd.yaml' }]);
  t.regex(parseStaticPod('/m/x.yaml', 'kind: Deployment\n').error?.message ?? '', /not Pod/);
  t.regex(parseStaticPod('/m/x.yaml', 'kind: Pod\nspec: {containers: []}\n').error?.message ?? '', /containers\[0\]/);
  // The component is told by the command, not the file name.
  t.is(parseStaticPod('/m/etcd.yaml', 'kind: Pod\nspec: {containers: [{name: x, command: [kube-scheduler]}]}\n').component, 'kube-scheduler');
});

test('an encryption config is reduced to its structure; key material never survives', (t) => {
  const parsed = parseQuietly(`kind: EncryptionConfiguration
resources:
  - resources: [secrets, "*.apps"]
    providers:
      - aesgcm: {keys: [{name: a, secret: ${HARDENED_KEY}}, {name: b, secret: c2Vjb25k}]}
      - kms: {name: vault, endpoint: "unix:///kms.sock"}
      - identity: {}
`);
  if (!parsed.ok) return t.fail(parsed.message);
  const facts = summariseEncryptionConfig('/e.yaml', parsed.data);
  t.deepEqual(facts, {
    path: '/e.yaml',
    error: null,
    resources: [{
      resources: ['secrets', '*.apps'],
      providers: [
        { type: 'aesgcm', name: '', apiVersion: '', keyLengths: [32, 6] },
        { type: 'kms', name: 'vault', apiVersion: 'v1', keyLengths: [] },
        { type: 'identity', name: '', apiVersion: '', keyLengths: [] },
      ],
    }],
  });
  t.false(JSON.stringify(facts).includes(HARDENED_KEY));
  const bad = parseQuietly(`resources: [{resources: [secrets], providers: [{aescbc: {keys: [{secret: ${HARDENED_KEY}}]}, rot13: {}}]}]`);
  if (!bad.ok) return t.fail(bad.message);
  const err = summariseEncryptionConfig('/e.yaml', bad.data);
  t.regex(err.error?.message ?? '', /exactly one of/);
  t.false(JSON.stringify(err).includes(HARDENED_KEY));
  const broken = parseQuietly(`resources:\n  - providers: [{aescbc: {keys: [{secret: ${HARDENED_KEY}}]}]\n   bad: [`);
  t.false(broken.ok);
  t.false(JSON.stringify(broken).includes(HARDENED_KEY));
});

test('kubeadm-cp: four components from the process table, each tied to its manifest and mounts', async (t) => {
  const { cp, facts, cleanup } = await factsOf('kubeadm-cp');
  t.teardown(cleanup);
  t.is(cp.distribution, 'kubeadm');
  t.is(cp.processTableError, null);
  t.deepEqual(Object.values(cp.components).map((c) => [c?.component, c?.origin, c?.pid, c?.manifest]), [
    ['kube-apiserver', 'process', 1101, '/etc/kubernetes/manifests/kube-apiserver.yaml'],
    ['kube-controller-manager', 'process', 1102, '/etc/kubernetes/manifests/kube-controller-manager.yaml'],
    ['kube-scheduler', 'process', 1103, '/etc/kubernetes/manifests/kube-scheduler.yaml'],
    ['etcd', 'process', 1104, '/etc/kubernetes/manifests/etcd.yaml'],
  ]);
  const etcd = cp.components.etcd;
  // The etcd process's environment holds PATH, HOSTNAME and HOME: none is kept.
  t.deepEqual(etcd?.env, []);
  t.like(etcd?.paths.find((p) => p.setting === 'data-dir'), { value: '/var/lib/etcd', hostPath: '/var/lib/etcd' });
  t.deepEqual(cp.manifests.map((m) => m.component), ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler']);
  // The kubelet's staticPodPath is where manifests are looked for.
  t.true(facts.filesRead.includes('/etc/kubernetes/manifests/etcd.yaml'));
  t.true(facts.filesRead.includes('/etc/kubernetes/pki/etcd/peer.key'));
  t.deepEqual(JSON.parse(JSON.stringify(facts)), facts);
});

test('the kubelet\'s staticPodPath is where static pods are read from', async (t) => {
  const { cp, cleanup } = await factsOf('kubeadm-cp', async (root, proc) => {
    await mkdir(join(root, 'srv/pods'), { recursive: true });
    for (const f of ['kube-apiserver.yaml', 'etcd.yaml']) await writeFile(join(root, 'srv/pods', f), await readFile(join(root, 'etc/kubernetes/manifests', f)));
    await rm(join(root, 'etc/kubernetes/manifests'), { recursive: true });
    await writeFile(join(root, 'var/lib/kubelet/config.yaml'), 'apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nstaticPodPath: /srv/pods\n');
    await rm(join(proc, '1101'), { recursive: true });
  });
  t.teardown(cleanup);
  t.is(cp.components['kube-apiserver']?.origin, 'manifest');
  t.is(cp.components['kube-apiserver']?.manifest, '/srv/pods/kube-apiserver.yaml');
  t.is(cp.components.etcd?.manifest, '/srv/pods/etcd.yaml');
  t.is(cp.components['kube-scheduler']?.manifest, null);
});

test('hardened kubeadm: the encryption key is in no fact and no report', async (t) => {
  const { cp, facts, cleanup } = await factsOf('kubeadm-cp-hardened');
  t.teardown(cleanup);
  t.deepEqual(cp.apiServer.encryption, {
    path: '/etc/kubernetes/secrets-encryption/encryption-config.yaml',
    error: null,
    resources: [{ resources: ['secrets', 'configmaps'], providers: [{ type: 'aescbc', name: '', apiVersion: '', keyLengths: [32] }, { type: 'identity', name: '', apiVersion: '', keyLengths: [] }] }],
  });
  t.like(cp.components['kube-apiserver']?.paths.find((p) => p.setting === 'encryption-provider-config'), {
    value: '/etc/kubernetes/enc/encryption-config.yaml',
    hostPath: '/etc/kubernetes/secrets-encryption/encryption-config.yaml',
  });
  t.is(cp.apiServer.auditPolicy?.rules.length, 5);
  t.true(facts.filesRead.includes('/etc/kubernetes/secrets-encryption/encryption-config.yaml'));
  t.true(facts.filesRead.includes('/etc/kubernetes/audit-policy.yaml'));
  t.false(JSON.stringify(facts).includes(HARDENED_KEY));
  t.false(reportJson(facts).includes(HARDENED_KEY));
});

test('etcd\'s environment: secrets and non-ETCD variables never reach the facts or the report', async (t) => {
  const { cp, facts, cleanup } = await factsOf('kubeadm-cp', async (_root, proc) => {
    await writeEnviron(proc, 1104, ['AWS_SECRET_ACCESS_KEY=aws-secret-5d4c', 'ETCD_INITIAL_CLUSTER_TOKEN=etcd-token-3b2a', 'ETCD_AUTO_TLS=false']);
    await writeCmdline(proc, 1104, ['etcd', '--data-dir=/var/lib/etcd', '--peer-client-cert-auth', '--initial-cluster-token', 'etcd-token-3b2a']);
  });
  t.teardown(cleanup);
  t.deepEqual(cp.components.etcd?.env, [{ name: 'ETCD_INITIAL_CLUSTER_TOKEN', value: REDACTED }, { name: 'ETCD_AUTO_TLS', value: 'false' }]);
  for (const json of [JSON.stringify(facts), reportJson(facts)]) {
    t.false(json.includes('aws-secret-5d4c'));
    t.false(json.includes('etcd-token-3b2a'));
    t.false(json.includes('AWS_SECRET_ACCESS_KEY'));
  }
});

test('k3s: config.yaml, then config.yaml.d in order; `+` appends, a plain key replaces; the token is never kept', async (t) => {
  const { cp, facts, cleanup } = await factsOf('k3s-server');
  t.teardown(cleanup);
  t.is(cp.distribution, 'k3s');
  t.deepEqual(cp.k3s, {
    pid: 812,
    argsHidden: true,
    configFiles: [
      { path: '/etc/rancher/k3s/config.yaml', error: null },
      { path: '/etc/rancher/k3s/config.yaml.d/10-admission.yaml', error: null },
      { path: '/etc/rancher/k3s/config.yaml.d/20-profiling.yaml', error: null },
    ],
    disabled: [],
    clusterInit: true,
    externalDatastore: false,
    secretsEncryption: true,
  });
  const args = (c: 'kube-apiserver' | 'kube-controller-manager') => cp.components[c]?.args.map((a) => `${a.name}=${a.value}@${a.file.split('/').pop()}`);
  t.deepEqual(args('kube-apiserver'), [
    'audit-log-path=/var/lib/rancher/k3s/server/logs/audit.log@config.yaml',
    'audit-policy-file=/var/lib/rancher/k3s/server/audit.yaml@config.yaml',
    'audit-log-maxage=30@config.yaml',
    'audit-log-maxbackup=10@config.yaml',
    'audit-log-maxsize=100@config.yaml',
    'enable-admission-plugins=NodeRestriction,EventRateLimit@10-admission.yaml',
    'anonymous-auth=false@10-admission.yaml',
  ]);
  t.deepEqual(args('kube-controller-manager'), ['profiling=false@20-profiling.yaml', 'bind-address=127.0.0.1@20-profiling.yaml']);
  t.is(cp.components.etcd?.origin, 'embedded');
  t.is(cp.components.etcd?.embeddedIn, 'k3s server');
  t.is(cp.components.etcd?.config?.path, '/var/lib/rancher/k3s/server/db/etcd/config');
  t.regex(cp.components['kube-apiserver']?.hidden ?? '', /rewritten its process title/);
  t.is(cp.components.etcd?.hidden, null);
  for (const json of [JSON.stringify(facts), reportJson(facts)]) {
    t.false(json.includes(K3S_TOKEN));
    // The embedded etcd's config holds an initial cluster token: only the judged keys are kept.
    t.false(json.includes('etcd-cluster-token-do-not-leak'));
  }
});

test('rke2: layout, components from static pods, and the encryption key is never kept', async (t) => {
  const { cp, facts, cleanup } = await factsOf('rke2-server');
  t.teardown(cleanup);
  t.is(cp.distribution, 'rke2');
  t.regex(cp.distributionEvidence, /a `rke2 server` process runs \(pid 700\)/);
  t.is(cp.components.etcd?.config?.path, '/var/lib/rancher/rke2/server/db/etcd/config');
  t.deepEqual(cp.components.etcd?.config?.data?.['client-transport-security'], {
    'cert-file': '/var/lib/rancher/rke2/server/tls/etcd/server-client.crt',
    'key-file': '/var/lib/rancher/rke2/server/tls/etcd/server-client.key',
    'client-cert-auth': true,
    'trusted-ca-file': '/var/lib/rancher/rke2/server/tls/etcd/server-ca.crt',
  });
  t.is(cp.apiServer.encryption?.resources[0]?.providers[0]?.type, 'aescbc');
  for (const json of [JSON.stringify(facts), reportJson(facts)]) {
    t.false(json.includes(RKE2_KEY));
    t.false(json.includes('rke2-fixture-token-do-not-leak'));
  }
});

test('a worker: no component, each absence says why', async (t) => {
  const { cp, cleanup } = await factsOf('defaults-worker');
  t.teardown(cleanup);
  t.deepEqual(Object.values(cp.components), [null, null, null, null]);
  t.is(cp.absence['kube-apiserver']?.status, 'not-found');
  t.regex(cp.absence.etcd?.reason ?? '', /no etcd process among the \d+ processes/);
  t.deepEqual(cp.fileSets.pki, { status: 'none', reason: 'no control-plane component runs on this node (no API server, controller manager, scheduler or etcd): it is not a control-plane node' });
});

test('a manifest that does not parse is recorded, and other manifests still count', async (t) => {
  const { cp, cleanup } = await factsOf('kubeadm-cp', async (root, proc) => {
    await writeFile(join(root, 'etc/kubernetes/manifests/kube-scheduler.yaml'), 'kind: Pod\nspec: [\n');
    await writeFile(join(root, 'etc/kubernetes/manifests/.kube-apiserver.yaml.swp'), 'garbage');
    await rm(join(proc, '1103'), { recursive: true });
  });
  t.teardown(cleanup);
  t.is(cp.components['kube-scheduler'], null);
  const broken = cp.manifests.find((m) => m.path.endsWith('kube-scheduler.yaml'));
  t.is(broken?.error?.code, 'EPARSE');
  t.false(cp.manifests.some((m) => m.path.includes('.swp')), 'dot files are skipped, as the kubelet does');
  t.is(cp.components['kube-apiserver']?.origin, 'process');
});
