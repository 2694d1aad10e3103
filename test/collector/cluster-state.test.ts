// The cluster PKI's decisions as a table: given the Secret's data and the time, which step is
// next (collector/pki/cluster-state.ts). The data is made by applyStep itself, so every row
// starts from a Secret the collector could have written.
import test from 'ava';
import { X509Certificate } from 'node:crypto';
import { applyStep, planStep, readPkiSecret, PkiSecretError, type PkiPolicy, type Step } from '../../collector/pki/cluster-state.js';
import { pemCertificates } from '../../proto/support/pem.js';
import { loadCollectorConfig } from '../../collector/config.js';
import { ConfigError } from '../../proto/support/config-loader.js';

const DAY = 86_400_000;
const T0 = Date.parse('2030-01-01T00:00:00Z');
const policy: PkiPolicy = {
  hosts: ['localhost', '127.0.0.1'], caValidDays: 400, caRotateBeforeDays: 100, servingValidDays: 90, servingRenewBeforeDays: 30,
  rotationAnnounceMs: 600_000, retireAfterMs: 3600_000,
};

async function run(data: Record<string, string> | undefined, step: Step, now: number, p = policy): Promise<Record<string, string>> {
  return applyStep(data ? readPkiSecret(data, 'test') : undefined, step, now, p);
}

const kind = (data: Record<string, string> | undefined, now: number, request?: string, p = policy): string =>
  planStep(data ? readPkiSecret(data, 'test') : undefined, now, p, request).kind;

test('each state and time gives the step the PKI needs, and only that one', async (t) => {
  const created = await run(undefined, { kind: 'create' }, T0);
  const renewed = await run(created, { kind: 'issue-serving', why: 'test' }, T0 + 70 * DAY);
  const rows: Array<[string, Record<string, string> | undefined, number, string | undefined, string]> = [
    ['an empty Secret', undefined, T0, undefined, 'create'],
    ['just created', created, T0, undefined, 'none'],
    ['the serving certificate with 31 days left', created, T0 + 59 * DAY, undefined, 'none'],
    ['the serving certificate with 29 days left', created, T0 + 61 * DAY, undefined, 'issue-serving'],
    ['renewed', renewed, T0 + 70 * DAY, undefined, 'none'],
    ['the CA with 101 days left', renewed, T0 + 299 * DAY, undefined, 'issue-serving'],
    ['an operator asks for a rotation', created, T0 + DAY, '2030-01-02', 'announce'],
    ['the CA expired', created, T0 + 401 * DAY, undefined, 'replace-expired'],
  ];
  for (const [what, data, now, request, expected] of rows) t.is(kind(data, now, request), expected, what);

  // The CA nears its end: a rotation starts by itself, even with a fresh serving certificate.
  const late = await run(created, { kind: 'issue-serving', why: 'test' }, T0 + 299 * DAY);
  t.is(kind(late, T0 + 299 * DAY), 'none', 'with 101 days left');
  t.is(kind(late, T0 + 301 * DAY), 'announce', 'with 99 days left');
  // A serving certificate that would end after its CA is cut at the CA's end, and is not
  // renewed in a loop while the rotation that replaces its CA is under way.
  const cut = await run(created, { kind: 'issue-serving', why: 'test' }, T0 + 380 * DAY);
  t.is(new X509Certificate(cut['tls.crt']!).validTo, new X509Certificate(cut['ca.crt']!).validTo);
  const rotating = await run(cut, { kind: 'announce', why: 'test' }, T0 + 385 * DAY);
  t.is(kind(rotating, T0 + 385 * DAY + 1000), 'none', '15 days left, but renewing cannot give more');
});

test('a rotation: announced, switched after the announcement, retired after the agent certificates expire; a request is answered once', async (t) => {
  const created = await run(undefined, { kind: 'create' }, T0);
  const [oldCa] = pemCertificates(created['ca.crt']!);
  const announced = await run(created, { kind: 'announce', request: 'r1', why: 'test' }, T0 + DAY);
  const cas = pemCertificates(announced['ca.crt']!);
  t.is(cas.length, 2);
  t.is(cas[0], oldCa, 'the old CA still signs');
  t.is(announced['ca.key'], created['ca.key']);
  t.is(announced['tls.crt'], created['tls.crt'], 'the serving certificate stays');
  t.truthy(announced['next.key']);
  t.is(kind(announced, T0 + DAY + 599_000, 'r1'), 'none', 'the announcement has its time');
  t.is(kind(announced, T0 + DAY + 600_000, 'r1'), 'switch');

  const switched = await run(announced, { kind: 'switch' }, T0 + DAY + 600_000);
  t.deepEqual(pemCertificates(switched['ca.crt']!), [cas[1], cas[0]], 'the new CA signs, the old one stays trusted');
  t.is(switched['ca.key'], announced['next.key']);
  t.is(switched['next.key'], undefined);
  t.true(new X509Certificate(switched['tls.crt']!).checkIssued(new X509Certificate(cas[1]!)), 'served from the new CA');
  t.is(kind(switched, T0 + DAY + 600_000 + 3599_000, 'r1'), 'none');
  t.is(kind(switched, T0 + DAY + 600_000 + 3600_000, 'r1'), 'retire');

  const done = await run(switched, { kind: 'retire' }, T0 + 2 * DAY);
  t.deepEqual(pemCertificates(done['ca.crt']!), [cas[1]]);
  t.is(JSON.parse(done['rotation.json']!).phase, 'done');
  t.is(kind(done, T0 + 3 * DAY, 'r1'), 'none', 'the same request is not answered twice');
  t.is(kind(done, T0 + 3 * DAY, 'r2'), 'announce', 'a new one is');
  t.is(kind(announced, T0 + DAY + 60_000, 'r2'), 'none', 'a request during a rotation waits for it to end');
});

test('a Secret the collector cannot use is refused, with what is wrong', async (t) => {
  const a = await run(undefined, { kind: 'create' }, T0);
  const b = await run(undefined, { kind: 'create' }, T0);
  const bad: Array<[string, Record<string, string>, RegExp]> = [
    ['a certificate without its key', { 'ca.crt': a['ca.crt']! }, /ca\.key is missing/],
    ['a key without its certificate', { 'ca.key': a['ca.key']! }, /ca\.crt is missing/],
    ['another CA\'s key', { ...a, 'ca.key': b['ca.key']! }, /ca\.key does not belong to the first certificate of ca\.crt/],
    ['no certificate at all', { ...a, 'ca.crt': 'hello' }, /holds no PEM certificate/],
    ['a leaf where a CA belongs', { ...a, 'ca.crt': a['tls.crt']! }, /is not a CA/],
    ['a rotation state that is not one', { ...a, 'rotation.json': '{"phase":"later"}' }, /rotation\.json is not/],
    ['an announced rotation without the new key', { ...a, 'ca.crt': a['ca.crt']! + b['ca.crt']!, 'rotation.json': '{"phase":"announced","since":"2030-01-01T00:00:00Z"}' }, /next\.key is not the key of the last certificate/],
  ];
  for (const [what, data, message] of bad) {
    const err = t.throws(() => readPkiSecret(data, 'Secret x/y'), { instanceOf: PkiSecretError }, what);
    t.regex(err?.message ?? '', message, what);
    t.regex(err?.message ?? '', /^Secret x\/y: .*does not overwrite it/, what);
  }
  // A serving certificate that is not the signing CA's is not refused: it is issued again.
  const foreign = readPkiSecret({ ...a, 'tls.crt': b['tls.crt']!, 'tls.key': b['tls.key']! }, 'test');
  t.is(foreign?.servingProblem, 'not issued by the signing CA');
  t.is(planStep(foreign, T0, policy).kind, 'issue-serving');
  t.is(planStep(readPkiSecret({ ...a, 'tls.key': b['tls.key']! }, 'test'), T0, policy).kind, 'issue-serving', 'a key that is not the certificate\'s');
  t.is(planStep(readPkiSecret({ ...a, 'tls.crt': '' }, 'test'), T0, policy).kind, 'issue-serving', 'none at all (a hand-made Secret with only the CA)');
  t.is(planStep(readPkiSecret(a, 'test'), T0, { ...policy, hosts: ['localhost', 'collector.example'] }).kind, 'issue-serving', 'a name it does not cover');
});

test('pki.mode kubernetes: the files of the other mode, plain gRPC and settings that would loop are refused together; files mode is unchanged', (t) => {
  const env = { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' };
  const err = t.throws(() => loadCollectorConfig({
    env: { ...env, NODEWARD_PKI_MODE: 'kubernetes', NODEWARD_GRPC_CA_FILE: '/x/ca.crt', NODEWARD_ENROLL_CA_KEY_FILE: '/x/ca.key', NODEWARD_GRPC_INSECURE: 'true' },
    overrides: { 'pki.caRotateBeforeDays': 4000, 'pki.servingRenewBeforeDays': 90, 'pki.hosts': ['localhost', 'not a host'] },
  }), { instanceOf: ConfigError }) as ConfigError;
  const text = err.problems.join('\n');
  t.regex(text, /grpc\.caFile: not used with pki\.mode kubernetes/);
  t.regex(text, /enroll\.caKeyFile: not used with pki\.mode kubernetes/);
  t.regex(text, /grpc\.insecure: cannot be combined with pki\.mode kubernetes/);
  t.regex(text, /pki\.caRotateBeforeDays: must be less than pki\.caValidDays/);
  t.regex(text, /pki\.servingRenewBeforeDays: must be less than pki\.servingValidDays/);
  t.regex(text, /pki\.hosts: invalid collector host "not a host"/);
  t.false(/cannot read/.test(text), 'no file is read in kubernetes mode');

  const outside = t.throws(() => loadCollectorConfig({ env: { NODEWARD_PKI_MODE: 'kubernetes' } }), { instanceOf: ConfigError }) as ConfigError;
  t.regex(outside.problems.join('\n'), /pki\.mode: kubernetes needs the Kubernetes API server/);

  const ok = loadCollectorConfig({ env: { ...env, NODEWARD_PKI_MODE: 'kubernetes', NODEWARD_ENROLL_LISTEN: '0.0.0.0:7444' } });
  t.is(ok.tls, undefined, 'filled at start from the cluster');
  t.truthy(ok.enrollment);
  t.is(ok.clusterPki?.connection.server, 'https://10.0.0.1:443');
  t.deepEqual(ok.clusterPki?.caConfigMap, { namespace: 'nodeward-agent', name: 'nodeward-ca' });
  t.true(ok.clusterPki?.adminToken, 'no admin token configured: one is generated');
  const withToken = loadCollectorConfig({ env: { ...env, NODEWARD_PKI_MODE: 'kubernetes' }, overrides: { 'api.tokens': [{ name: 'ops', role: 'admin', sha256: 'a'.repeat(64) }] } });
  t.false(withToken.clusterPki?.adminToken, 'an admin token is given: none is generated');

  // files (the default): the files are required, as before.
  const files = t.throws(() => loadCollectorConfig({ env }), { instanceOf: ConfigError }) as ConfigError;
  t.regex(files.problems.join('\n'), /grpc\.caFile: required unless insecure mode is set/);
  t.is(loadCollectorConfig({ env, overrides: { 'grpc.insecure': true, 'api.insecure': true } }).clusterPki, undefined);
});
