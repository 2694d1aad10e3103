// `nodeward who-can` as an operator runs it: the real binary against the collector's real API
// over HTTPS (a fresh PKI), whose posture view holds the fixture object sets (fresh kubeadm,
// the weak set, and one binding with hostile names), and one collector without posture.
import test from 'ava';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initPki, type PkiPaths } from '../../collector/pki/pki.js';
import { runNodeward as nodeward } from '../helpers/process.js';
import { buildTestApi, type TestApi } from '../helpers/api-app.js';
import { READER_TOKEN } from '../helpers/collector.js';
import { fixtureView, postureView } from '../helpers/posture.js';
import { CAVEATS } from '../../collector/posture/who-can.js';
import { parseResourceArgument } from '../../collector/query/who-can-command.js';

const ESC = '\u001b';
let dir: string;
let pki: PkiPaths;
const apis: TestApi[] = [];
const flags: Record<'fresh' | 'weak' | 'hostile' | 'off', string[]> = { fresh: [], weak: [], hostile: [], off: [] };

const RBAC = 'rbac.authorization.k8s.io';
const HOSTILE = [
  { kind: 'ClusterRole' as const, object: { metadata: { name: 'pod-reader' }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }] } },
  { kind: 'ClusterRoleBinding' as const, object: { metadata: { name: `evil${ESC}[2J` }, roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: 'pod-reader' }, subjects: [{ apiGroup: RBAC, kind: 'User', name: `${ESC}[31mred${ESC}[0m` }] } },
];

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nodeward-who-can-'));
  pki = await initPki(join(dir, 'pki'), { nodes: [], collectorHosts: ['localhost', '127.0.0.1'] });
  const https = { cert: await readFile(pki.collectorCert), key: await readFile(pki.collectorKey) };
  await writeFile(join(dir, 'reader.token'), `${READER_TOKEN}\n`, { mode: 0o600 });
  const views = { fresh: fixtureView(['kubeadm-fresh']), weak: fixtureView(['weak']), hostile: postureView(HOSTILE), off: undefined };
  for (const [name, posture] of Object.entries(views) as Array<[keyof typeof flags, (typeof views)[keyof typeof views]]>) {
    const api = await buildTestApi({ https, ...(posture ? { posture } : {}) });
    apis.push(api);
    flags[name] = ['--url', await api.listen(), '--token-file', join(dir, 'reader.token'), '--ca-file', pki.caCert];
  }
});
test.after.always(async () => {
  await Promise.all(apis.map((a) => a.close()));
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The table's rows (header first), each cut into its columns. */
const table = (stdout: string): string[][] => stdout.split('\n\nWhat RBAC cannot see:\n')[0]!.trimEnd().split('\n').map((l) => l.split(/\s{2,}/));

test('a table of subject, binding -> role and rule, scope and how; then the caveats', async (t) => {
  const r = await nodeward(['who-can', 'get', 'secrets', '-n', 'shop', '--name', 'db', ...flags.weak]);
  t.is(r.code, 0, r.stderr);
  t.deepEqual(table(r.stdout), [
    ['SUBJECT', 'VIA', 'SCOPE', 'HOW'],
    ['Group ops', 'ClusterRoleBinding ops-admins -> ClusterRole cluster-admin rule #0', 'cluster-wide', '* in verbs, apiGroups, resources'],
    ['ServiceAccount shop/app', 'RoleBinding shop/app-reads-secrets -> ClusterRole secret-reader rule #0', 'namespace shop', 'RoleBinding to ClusterRole'],
  ]);
  const caveats = r.stdout.split('\n\nWhat RBAC cannot see:\n')[1]!;
  t.deepEqual(caveats.trimEnd().split('\n'), CAVEATS.map((c) => `- ${c.text}`));
  // Elsewhere the RoleBinding grants nothing.
  const other = await nodeward(['who-can', 'get', 'secrets', '-n', 'other', '--name', 'db', ...flags.weak]);
  t.deepEqual(table(other.stdout).slice(1).map((row) => row[0]), ['Group ops']);
});

test('resourceNames, a subresource written kubectl\'s way (deployments.apps/scale), and a non-resource path as JSON', async (t) => {
  const info = await nodeward(['who-can', 'get', 'configmaps', '-n', 'kube-public', '--name', 'cluster-info', ...flags.fresh]);
  t.is(info.code, 0, info.stderr);
  t.deepEqual(table(info.stdout).find((row) => row[0] === 'User system:anonymous'),
    ['User system:anonymous', 'RoleBinding kube-public/kubeadm:bootstrap-signer-clusterinfo -> Role kubeadm:bootstrap-signer-clusterinfo rule #0', 'namespace kube-public', 'named objects only']);

  const scale = await nodeward(['who-can', 'update', 'deployments.apps/scale', '-n', 'shop', ...flags.fresh]);
  t.is(scale.code, 0, scale.stderr);
  t.deepEqual(table(scale.stdout).find((row) => row[0] === 'ServiceAccount kube-system/horizontal-pod-autoscaler')?.slice(2), ['cluster-wide', 'subresource; * in apiGroups, resources']);
  // The same with --api-group.
  const same = await nodeward(['who-can', 'update', 'deployments/scale', '--api-group', 'apps', '-n', 'shop', ...flags.fresh]);
  t.is(same.stdout, scale.stdout);

  const jwks = await nodeward(['who-can', 'get', '--non-resource-url', '/openid/v1/jwks', '-o', 'json', ...flags.fresh]);
  t.is(jwks.code, 0, jwks.stderr);
  const body = JSON.parse(jwks.stdout);
  t.deepEqual(body.subjects.map((s: any) => s.subject.name), ['kubeadm:cluster-admins', 'system:masters', 'system:serviceaccounts']);
  t.deepEqual(body.subjects[2].grants[0].forms, ['serviceAccountGroup', 'nonResourceURL']);
  t.is(body.caveats.length, 4);
  t.is((await nodeward(['who-can', 'get', '--non-resource-url', '/openid/v1/jwks', '--format', 'json', ...flags.fresh])).stdout, jwks.stdout, '--format is -o');
  const sa = await nodeward(['who-can', 'get', '--non-resource-url', '/openid/v1/jwks', ...flags.fresh]);
  t.deepEqual(table(sa.stdout).at(-1)?.slice(2), ['cluster-wide', 'ServiceAccount group; non-resource path']);
});

test('nobody: says so, and the caveats still', async (t) => {
  const r = await nodeward(['who-can', 'create', 'widgets.example.com', '-n', 'x', ...flags.fresh]);
  t.is(r.code, 0, r.stderr);
  t.deepEqual(table(r.stdout).slice(1).map((row) => row[0]), ['Group kubeadm:cluster-admins', 'Group system:masters'], 'only cluster-admin');
  const none = await nodeward(['who-can', 'delete', 'pods', '-n', 'x', ...flags.hostile]);
  t.is(none.code, 0, none.stderr);
  t.true(none.stdout.startsWith('RBAC grants this to no subject.\n\nWhat RBAC cannot see:\n- Members of the group system:masters'), none.stdout);
});

test('names from the cluster cannot drive the terminal: control characters are shown escaped', async (t) => {
  const r = await nodeward(['who-can', 'get', 'pods', '-n', 'x', ...flags.hostile]);
  t.is(r.code, 0, r.stderr);
  t.false(r.stdout.includes(ESC));
  t.true(r.stdout.includes('User \\x1b[31mred\\x1b[0m'));
  t.true(r.stdout.includes('ClusterRoleBinding evil\\x1b[2J -> ClusterRole pod-reader rule #0'));
});

test('usage errors exit 2 with a clear message; posture off exits 1 saying so', async (t) => {
  const usage: Array<[string[], RegExp]> = [
    [['get'], /give a RESOURCE or --non-resource-url, not both or neither/],
    [['get', 'pods', '--non-resource-url', '/metrics'], /give a RESOURCE or --non-resource-url, not both or neither/],
    [['get', 'deployments.apps', '--api-group', 'apps'], /the group is given twice/],
    [['get', 'pods/'], /write RESOURCE\[\.GROUP\]\[\/SUBRESOURCE\]/],
    [['get', '--non-resource-url', '/metrics', '-n', 'x'], /a nonResourceURL request takes no apiGroup, subresource, namespace or name/],
    [['get', 'pods', '-n', 'n'.repeat(64)], /parameter namespace must NOT have more than 63 characters/],
    [['get', 'pods', '-o', 'csv'], /-o.*csv.*table, json/],
  ];
  for (const [args, message] of usage) {
    const r = await nodeward(['who-can', ...args, ...flags.weak]);
    t.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    t.regex(r.stderr, message, args.join(' '));
  }
  const off = await nodeward(['who-can', 'get', 'pods', ...flags.off]);
  t.is(off.code, 1);
  t.regex(off.stderr, /cluster posture is off: this collector does not watch the Kubernetes API/);
});

test('the resource argument: RESOURCE[.GROUP][/SUBRESOURCE]', (t) => {
  t.deepEqual(parseResourceArgument('pods'), { resource: 'pods', subresource: '', apiGroup: undefined });
  t.deepEqual(parseResourceArgument('pods/exec'), { resource: 'pods', subresource: 'exec', apiGroup: undefined });
  t.deepEqual(parseResourceArgument('deployments.apps/scale'), { resource: 'deployments', subresource: 'scale', apiGroup: 'apps' });
  t.deepEqual(parseResourceArgument('certificatesigningrequests.certificates.k8s.io/approval'), { resource: 'certificatesigningrequests', subresource: 'approval', apiGroup: 'certificates.k8s.io' });
  t.throws(() => parseResourceArgument('/exec'));
  t.throws(() => parseResourceArgument(''));
});
