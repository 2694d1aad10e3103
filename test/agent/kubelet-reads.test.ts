// What the node really uses (issue 22), on the dropin-worker fixture: a kubelet laid out as
// nodeadm lays out an EKS node (--config /etc/kubernetes/kubelet/config.json, --config-dir
// config.json.d, --kubeconfig /var/lib/kubelet/kubeconfig with an exec credential plugin).
//   - CIS 4.1.9/4.1.10 judge every file the kubelet reads: the --config file and each drop-in,
//     one result per file (kube-bench judges only the --config file).
//   - CIS 4.2.10 (rotateCertificates: the kubelet's CLIENT certificate) does not apply to a
//     kubelet that authenticates with a token or an exec plugin: it has no client certificate.
//     4.2.11 (the serving certificate) is judged whatever the kubelet authenticates with.
// The kubeconfig's credentials never reach the facts or the results.
import test from 'ava';
import { chmod, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Result } from '../../proto/domain.js';
import { CATALOG, evaluate } from '../../agent/checks/index.js';
import { dependencyIndex } from '../../agent/checks/dependencies.js';
import { collectFacts, type HostFacts } from '../../agent/facts/index.js';
import { kubeconfigAuthOfDoc, kubeconfigAuthOfText } from '../../agent/facts/kubeconfig-auth.js';
import { MAX_DROPIN_ENTRIES, MAX_DROPIN_FILES } from '../../agent/facts/kubelet.js';
import { CAN_CHOWN, prepareFixture, writeCmdline } from '../helpers/fixture.js';
import { checkProperty, fc } from '../helpers/property.js';

const NOW = new Date('2026-11-20T12:00:00Z');
const PID = 812;
const CONFIG = '/etc/kubernetes/kubelet/config.json';
const DIR = '/etc/kubernetes/kubelet/config.json.d';
const LOOSE = `${DIR}/10-loose.conf`;
const FOREIGN = `${DIR}/20-foreign.conf`;
const TOKEN_VALUE = 'fixture-token-value-do-not-leak-0123456789';
const argv = (...flags: string[]) => ['/usr/bin/kubelet', ...flags];
const SHIPPED = argv(`--config=${CONFIG}`, `--config-dir=${DIR}`, '--kubeconfig=/var/lib/kubelet/kubeconfig');
const withKubeconfig = (p: string) => argv(`--config=${CONFIG}`, `--config-dir=${DIR}`, `--kubeconfig=${p}`);

type Teardown = { teardown(fn: () => unknown): void };

async function scan(t: Teardown, prepare?: (root: string, proc: string) => Promise<void>): Promise<{ facts: HostFacts; results: Result[]; root: string }> {
  const fx = await prepareFixture('dropin-worker');
  t.teardown(fx.cleanup);
  await prepare?.(fx.root, fx.procRoot);
  const facts = await collectFacts({ hostRoot: fx.root, procRoot: fx.procRoot });
  return { facts, results: evaluate(facts, CATALOG, NOW), root: fx.root };
}

const of = (results: readonly Result[], id: string): Result[] => results.filter((r) => r.id === id);
const bySubject = (results: readonly Result[], id: string): Record<string, string> =>
  Object.fromEntries(of(results, id).map((r) => [r.subject, `${r.status} ${r.actual}`]));

// ---- 4.1.9 / 4.1.10: the config file and every drop-in -------------------------------------

test('dropin-worker: a 0644 drop-in fails 4.1.9 by name while the config file and the other drop-ins pass', async (t) => {
  const { facts, results } = await scan(t);
  // The facts phase stat'ed every drop-in, as it does the config file.
  for (const p of [CONFIG, `${DIR}/00-base.conf`, LOOSE, FOREIGN]) t.like(facts.files[p], { path: p, error: null }, p);
  t.deepEqual(bySubject(results, 'cis-4.1.9'), {
    [CONFIG]: 'pass 0600',
    [`${DIR}/00-base.conf`]: 'pass 0600',
    [LOOSE]: 'fail 0644',
    [FOREIGN]: 'pass 0600',
  });
  const loose = of(results, 'cis-4.1.9').find((r) => r.subject === LOOSE)!;
  t.is(loose.sourceFile, LOOSE);
  t.regex(loose.reason, /mode 0644 on \/etc\/kubernetes\/kubelet\/config\.json\.d\/10-loose\.conf; expected 0600 or stricter: bits 0044 .*; a drop-in the kubelet reads from --config-dir \/etc\/kubernetes\/kubelet\/config\.json\.d$/);
  t.regex(loose.remediation, /every \*\.conf drop-in of --config-dir/);
});

test('dropin-worker: a drop-in owned by uid 1000 fails 4.1.10 by name', async (t) => {
  if (!CAN_CHOWN) return t.pass('owners cannot be set without root');
  const { results } = await scan(t);
  t.deepEqual(bySubject(results, 'cis-4.1.10'), {
    [CONFIG]: 'pass root:root',
    [`${DIR}/00-base.conf`]: 'pass root:root',
    [LOOSE]: 'pass root:root',
    [FOREIGN]: 'fail kube:kube',
  });
  t.regex(of(results, 'cis-4.1.10').find((r) => r.subject === FOREIGN)!.reason, /owner kube:kube on .*20-foreign\.conf; expected root:root/);
});

test('a drop-in the kubelet reads without --config is judged; with neither, the check skips', async (t) => {
  const only = await scan(t, (_r, proc) => writeCmdline(proc, PID, argv(`--config-dir=${DIR}`)));
  t.deepEqual(Object.keys(bySubject(only.results, 'cis-4.1.9')), [`${DIR}/00-base.conf`, LOOSE, FOREIGN]);
  const none = await scan(t, (_r, proc) => writeCmdline(proc, PID, argv('--kubeconfig=/var/lib/kubelet/kubeconfig')));
  t.like(of(none.results, 'cis-4.1.9'), [{ status: 'skip', subject: 'kubelet/--config' }]);
  t.regex(of(none.results, 'cis-4.1.9')[0]!.reason, /without --config and reads no --config-dir drop-in/);
});

test('a drop-in that is a link is judged on its target, inside the host root', async (t) => {
  const { results } = await scan(t, async (root) => {
    await rm(join(root, LOOSE));
    // `..` past the top stops at the host root: this names the host's own config.json.
    await symlink(`/../../../..${CONFIG}`, join(root, LOOSE));
    await chmod(join(root, CONFIG.slice(1)), 0o640);
  });
  const linked = of(results, 'cis-4.1.9').find((r) => r.subject === LOOSE)!;
  t.like(linked, { status: 'fail', actual: '0640', sourceFile: CONFIG });
  t.regex(linked.reason, /link target of .*10-loose\.conf/);
});

test('more drop-ins than the agent reads: one error result for the directory, counted, and no drop-in judged', async (t) => {
  const n = MAX_DROPIN_FILES + 3;
  const { facts, results } = await scan(t, async (root) => {
    await mkdir(join(root, DIR.slice(1), 'many'));
    for (let i = 0; i < n - 3; i++) await writeFile(join(root, DIR.slice(1), 'many', `${String(i).padStart(3, '0')}.conf`), 'maxPods: 10\n', { mode: 0o600 });
  });
  t.is(facts.kubelet?.dropins?.count, n);
  t.is(facts.kubelet?.dropins?.error?.code, 'ETOOBIG');
  for (const id of ['cis-4.1.9', 'cis-4.1.10']) {
    const rs = of(results, id);
    t.deepEqual(rs.map((r) => `${r.subject} ${r.status}`), [`${CONFIG} pass`, `${DIR} error`], id);
    t.regex(rs[1]!.reason, new RegExp(`${n} drop-in files under ${DIR.replaceAll('.', '\\.')}, more than the ${MAX_DROPIN_FILES} the agent reads: none is read`));
  }
  // The settings they could hold cannot be told either.
  t.like(of(results, 'cis-4.2.13')[0], { status: 'error' });
});

test('a drop-in directory too large to walk: the walk stops at its entry limit and says how many drop-ins it saw', async (t) => {
  const { facts, results } = await scan(t, async (root) => {
    const many = join(root, DIR.slice(1), '05-notes');
    await mkdir(many);
    for (let i = 0; i < MAX_DROPIN_ENTRIES; i++) await writeFile(join(many, `${i}.txt`), '');
  });
  // 00-base.conf is walked before 05-notes/ (lexical order); 10-loose.conf and 20-foreign.conf come after the limit.
  t.is(facts.kubelet?.dropins?.count, 1);
  t.regex(facts.kubelet?.dropins?.error?.message ?? '', new RegExp(`more than ${MAX_DROPIN_ENTRIES} entries under .*\\(1 drop-in files among the first ${MAX_DROPIN_ENTRIES}\\)`));
  t.like(of(results, 'cis-4.1.9').at(-1), { subject: DIR, status: 'error' });
});

// ---- 4.2.10: no client certificate, no rotation to judge -----------------------------------

test('an exec credential plugin: 4.2.10 skips and says how the kubelet authenticates; 4.2.11 is still judged', async (t) => {
  const { facts, results } = await scan(t);
  t.deepEqual(facts.kubelet?.kubeconfigAuth, { path: '/var/lib/kubelet/kubeconfig', kinds: ['exec'], error: null });
  const r = of(results, 'cis-4.2.10');
  t.is(r.length, 1);
  t.like(r[0], { status: 'skip', subject: 'kubelet/--rotate-certificates', sourceFile: '/var/lib/kubelet/kubeconfig' });
  t.regex(r[0]!.reason, /authenticates with an exec credential plugin \(exec\), not a client certificate: there is no client certificate to rotate/);
  t.like(of(results, 'cis-4.2.11')[0], { status: 'pass', actual: 'true' });
});

test('a bearer token: 4.2.10 skips; the user is the current context\'s, and the token is nowhere in the facts or results', async (t) => {
  const { facts, results } = await scan(t, (_r, proc) => writeCmdline(proc, PID, withKubeconfig('/var/lib/kubelet/kubeconfig-token')));
  // The file's other user holds a client certificate; the current context names the token's.
  t.deepEqual(facts.kubelet?.kubeconfigAuth?.kinds, ['token']);
  t.like(of(results, 'cis-4.2.10')[0], { status: 'skip' });
  t.regex(of(results, 'cis-4.2.10')[0]!.reason, /authenticates with a bearer token \(token\), not a client certificate/);
  t.false(JSON.stringify(facts).includes(TOKEN_VALUE), 'the facts never carry the token');
  t.false(JSON.stringify(results).includes(TOKEN_VALUE), 'nor do the results');
});

test('a client certificate keeps today\'s verdict: rotateCertificates false fails 4.2.10', async (t) => {
  const { facts, results } = await scan(t, (_r, proc) => writeCmdline(proc, PID, withKubeconfig('/var/lib/kubelet/kubeconfig-cert')));
  t.deepEqual(facts.kubelet?.kubeconfigAuth?.kinds, ['client-certificate']);
  t.like(of(results, 'cis-4.2.10')[0], { status: 'fail', actual: 'false', source: 'config', sourceFile: CONFIG });
});

test('a kubeconfig that cannot be read or told keeps today\'s verdict, and the error names no content', async (t) => {
  const missing = await scan(t, (_r, proc) => writeCmdline(proc, PID, withKubeconfig('/var/lib/kubelet/nowhere')));
  t.is(missing.facts.kubelet?.kubeconfigAuth?.error?.code, 'ENOENT');
  t.like(of(missing.results, 'cis-4.2.10')[0], { status: 'fail', actual: 'false' });
  const broken = await scan(t, (root) => writeFile(join(root, 'var/lib/kubelet/kubeconfig'), `users: [ {name: x, user: {token: ${TOKEN_VALUE}}\n`));
  t.is(broken.facts.kubelet?.kubeconfigAuth?.error?.code, 'EPARSE');
  t.false(JSON.stringify(broken.facts).includes(TOKEN_VALUE));
  t.like(of(broken.results, 'cis-4.2.10')[0], { status: 'fail' });
});

test('a command line cut short may name another --kubeconfig past the cut: 4.2.10 is an error, not a skip', async (t) => {
  const { facts } = await scan(t);
  const cut: HostFacts = { ...facts, kubelet: { ...facts.kubelet!, argvTruncated: true } };
  t.like(of(evaluate(cut, CATALOG, NOW), 'cis-4.2.10')[0], { status: 'error' });
});

test('4.2.10 depends on the kubeconfig: a change to how it authenticates re-evaluates it', async (t) => {
  const { facts } = await scan(t);
  t.true((dependencyIndex(CATALOG, facts).get('/var/lib/kubelet/kubeconfig') ?? []).includes('cis-4.2.10'));
});

// ---- the kubeconfig reader ---------------------------------------------------------------

const kc = (user: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'v1', kind: 'Config', 'current-context': 'c',
  contexts: [{ name: 'c', context: { cluster: 'k', user: 'u' } }],
  users: [{ name: 'u', user }],
  ...extra,
});

test('the kinds of credential of the current user, in a fixed order; refusals say why', (t) => {
  const kinds = (doc: Record<string, unknown>) => {
    const r = kubeconfigAuthOfDoc(doc as never);
    return r.ok ? r.value : `refused: ${r.problem}`;
  };
  t.deepEqual(kinds(kc({ 'client-certificate-data': 'LS0t', 'client-key-data': 'LS0t' })), ['client-certificate']);
  t.deepEqual(kinds(kc({ exec: { command: 'gke-gcloud-auth-plugin' }, 'client-certificate': '/c.pem' })), ['client-certificate', 'exec']);
  t.deepEqual(kinds(kc({ tokenFile: '/var/run/token' })), ['token-file']);
  t.deepEqual(kinds(kc({ 'auth-provider': { name: 'gcp' } })), ['auth-provider']);
  t.deepEqual(kinds(kc({ username: 'admin', password: 'pw' })), ['basic']);
  t.deepEqual(kinds(kc({ token: '' })), [], 'an empty token is no token');
  t.deepEqual(kinds(kc({})), []);
  t.regex(String(kinds(kc({ token: 5 }))), /token is not a string/);
  t.regex(String(kinds(kc({ exec: 'aws' }))), /exec is not a mapping/);
  t.regex(String(kinds({ ...kc({}), 'current-context': undefined })), /no current-context/);
  t.regex(String(kinds({ ...kc({}), kind: 'Secret' })), /kind is not Config/);
  t.regex(String(kinds(kc({}, { users: [{ name: 'u', user: {} }, { name: 'u', user: { token: 'x' } }] }))), /two entries of users/);
  t.regex(String(kinds(kc({}, { contexts: [{ name: 'other', context: { user: 'u' } }] }))), /no entry of contexts/);
  t.regex(String(kinds(kc({}, { users: 'u' }))), /users is not a list/);
});

test('property: the kubeconfig reader never throws on any text, and refuses with a reason', async (t) => {
  const text = fc.oneof(
    fc.string({ maxLength: 400 }),
    fc.jsonValue({ maxDepth: 6 }).map((v) => JSON.stringify(v)),
    fc.array(fc.constantFrom('users:', '- name: u', '  user:', '    token: x', 'current-context: c', 'contexts: [', '&a', '*a', '{', '}', '---', 'exec: {', '\t', '"'), { maxLength: 30 }).map((l) => l.join('\n')),
  );
  await checkProperty(t, fc.property(text, (s) => {
    const r = kubeconfigAuthOfText('/k', s);
    if (r.kinds === null) return r.error !== null && r.error.message.length > 0;
    return r.error === null && r.kinds.every((k) => ['client-certificate', 'token', 'token-file', 'exec', 'auth-provider', 'basic'].includes(k));
  }), 500);
});

test('property: no credential value, or any other string of the document, comes back from the reader', async (t) => {
  // Every string the document holds carries the marker; none of them may come back.
  const secret = fc.string({ minLength: 1, maxLength: 16 }).map((s) => `SECRET${s}`);
  const value = fc.oneof(secret, fc.constant(''), fc.integer(), fc.constant(null), fc.dictionary(secret, secret, { maxKeys: 3 }));
  const user = fc.record({
    token: value, tokenFile: value, 'client-certificate': value, 'client-certificate-data': value, username: value, password: value,
    exec: fc.oneof(value, fc.record({ command: secret, args: fc.array(secret, { maxLength: 3 }), env: fc.array(fc.record({ name: secret, value: secret }), { maxLength: 2 }) })),
    'auth-provider': fc.oneof(value, fc.record({ name: secret, config: fc.dictionary(secret, secret, { maxKeys: 3 }) })),
  }, { requiredKeys: [] });
  const name = fc.oneof(fc.constant('SECRETu'), secret);
  const doc = fc.record({
    kind: fc.oneof(fc.constant('Config'), secret),
    'current-context': fc.oneof(fc.constant('SECRETc'), secret),
    contexts: fc.array(fc.record({ name: fc.oneof(fc.constant('SECRETc'), secret), context: fc.record({ user: name }) }), { maxLength: 3 }),
    users: fc.array(fc.record({ name, user }), { maxLength: 3 }),
  }, { requiredKeys: [] });
  await checkProperty(t, fc.property(doc, fc.boolean(), (d, asJson) => {
    const text = asJson ? JSON.stringify(d) : Object.entries(d).map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}`).join('\n');
    const out = JSON.stringify(kubeconfigAuthOfText('/var/lib/kubelet/kubeconfig', text));
    return !out.includes('SECRET');
  }), 500);
});
