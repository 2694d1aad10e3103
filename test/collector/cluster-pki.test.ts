// The collector's PKI inside a cluster (pki.mode kubernetes), against the local Kubernetes
// API server (test/enroll/fake-kube.ts): the first start fills the empty Secrets and the
// ConfigMap the manifests create, a restart and a second replica reuse them, an agent given
// only the ConfigMap's bundle enrolls and streams, the serving certificate is renewed on an
// injected clock and served without a restart, and a CA rotation keeps every agent connected.
import test, { type ExecutionContext } from 'ava';
import { X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pemCertificates } from '../../proto/support/pem.js';
import { ROTATE_ANNOTATION } from '../../collector/pki/cluster.js';
import { initPki } from '../../collector/pki/pki.js';
import { eventually, httpsJson } from '../helpers/https.js';
import { AGENT_NAMESPACE, COLLECTOR_NAMESPACE, startFakeKube, type FakeKube } from '../enroll/fake-kube.js';
import {
  caConfigMap, clientFromSecret, handshake, pkiSecret, serialOf, startClusterAgent, startClusterCollector, tokenSecret,
} from './cluster-collector.js';

const DAY_MS = 86_400_000;

async function fakeKube(t: { teardown(fn: () => Promise<void>): void }): Promise<FakeKube> {
  const kube = await startFakeKube();
  t.teardown(() => kube.close());
  return kube;
}

/** The start's error; the collector's directory it leaves for inspection is removed afterwards. */
async function refused(t: ExecutionContext, start: Promise<unknown>): Promise<Error & { code?: string; dir?: string }> {
  const err = await t.throwsAsync(start);
  const dir = (err as { dir?: string } | undefined)?.dir;
  if (dir) t.teardown(() => rm(dir, { recursive: true, force: true }));
  return err as Error & { code?: string; dir?: string };
}

const puts = (kube: FakeKube, name: string): number => kube.requests.filter((r) => r.method === 'PUT' && r.path.endsWith(`/${name}`)).length;

test('the first start fills the empty Secrets and the ConfigMap; an agent given only the ConfigMap enrolls and streams; the generated admin token works and is never logged', async (t) => {
  const kube = await fakeKube(t);
  t.deepEqual(pkiSecret(kube), {}, 'the manifests create the Secret empty');
  const c = await startClusterCollector(kube);
  t.teardown(() => c.close());

  const secret = pkiSecret(kube);
  t.deepEqual(Object.keys(secret).sort(), ['ca.crt', 'ca.key', 'tls.crt', 'tls.key']);
  const ca = new X509Certificate(secret['ca.crt']!);
  t.true(ca.ca);
  const serving = new X509Certificate(secret['tls.crt']!);
  t.true(serving.checkIssued(ca) && serving.verify(ca.publicKey), 'the serving certificate is issued by the CA');
  t.is(serving.checkHost('localhost'), 'localhost');
  t.deepEqual(caConfigMap(kube), { 'ca.crt': secret['ca.crt'] }, 'the CA is published for the agents, and only the CA');
  t.deepEqual(kube.objects.get(`secrets/${COLLECTOR_NAMESPACE}/nodeward-pki`)?.labels, { 'app.kubernetes.io/part-of': 'nodeward' }, 'the update keeps the labels the manifests set');

  // Every port serves the certificate the ConfigMap's CA verifies.
  const bundle = caConfigMap(kube)['ca.crt']!;
  const client = await clientFromSecret(kube);
  for (const [port, alpn] of [[c.collector.grpcPort, ['h2']], [c.collector.enrollPort, ['http/1.1']], [c.collector.apiPort, ['http/1.1']]] as const) {
    const h = await handshake(port, bundle, client, [...alpn]);
    t.true(h.ok, `port ${port}: ${h.error}`);
    t.is(h.serial, serial(secret['tls.crt']!));
  }

  // The admin token: generated into its Secret, accepted by the API, absent from every log line.
  const token = tokenSecret(kube)['admin'];
  if (!token) return t.fail('no admin token generated');
  t.true(token.length >= 32);
  const nodes = await httpsJson(`https://localhost:${c.collector.apiPort}/api/v1/nodes`, { ca: Buffer.from(bundle), token });
  t.is(nodes.status, 200, nodes.text);
  t.is((await httpsJson(`https://localhost:${c.collector.apiPort}/api/v1/nodes`, { ca: Buffer.from(bundle), token: `${token}x` })).status, 401);
  const generated = c.logs.lines.find((l) => l.msg === 'admin API token generated');
  t.is(generated?.read, `kubectl -n ${COLLECTOR_NAMESPACE} get secret nodeward-api-tokens -o jsonpath='{.data.admin}' | base64 -d`);

  // An agent that has only the ConfigMap's bundle.
  const a = await startClusterAgent(kube, c.collector, 'node-a');
  t.teardown(() => a.cleanup());
  await eventually('node-a streaming', async () => ((await c.collector.store?.nodes.get('node-a', Date.now(), 60_000))?.connected ? true : undefined));
  const issued = new X509Certificate(await readFile(a.certFile));
  t.true(issued.checkIssued(ca) && issued.verify(ca.publicKey), 'enrolled from the Secret\'s CA');

  const everything = JSON.stringify(c.logs.lines) + JSON.stringify(a.logs.lines);
  t.false(everything.includes(token), 'the token is in no log line');
  t.false(everything.includes(secret['ca.key']!.split('\n')[1]!), 'nor the CA key');
});

function serial(pem: string): string {
  return serialOf(pem);
}

test('a restart reuses the Secret: same CA, same certificate, same token, no write', async (t) => {
  const kube = await fakeKube(t);
  const first = await startClusterCollector(kube);
  const secret = pkiSecret(kube);
  const token = tokenSecret(kube)['admin'];
  await first.close();
  const writes = kube.requests.filter((r) => r.method === 'PUT').length;

  const second = await startClusterCollector(kube);
  t.teardown(() => second.close());
  t.deepEqual(pkiSecret(kube), secret, 'nothing changed');
  t.is(tokenSecret(kube)['admin'], token);
  t.is(kube.requests.filter((r) => r.method === 'PUT').length, writes, 'no update at all');
  t.is(second.collector.clusterPki?.material?.tls.ca.toString(), secret['ca.crt']);
  const h = await handshake(second.collector.grpcPort, caConfigMap(kube)['ca.crt']!, await clientFromSecret(kube));
  t.is(h.serial, serial(secret['tls.crt']!));
  t.is(second.logs.count('CA and serving certificate created'), 0);
  t.is(second.logs.count('admin API token generated'), 0);
  const res = await httpsJson(`https://localhost:${second.collector.apiPort}/api/v1/nodes`, { ca: Buffer.from(secret['ca.crt']!), token });
  t.is(res.status, 200);
});

test('two collectors started at the same moment end with one CA and one token: the loser of the update reads the winner\'s', async (t) => {
  const kube = await fakeKube(t);
  // Both read the empty Secrets before either writes.
  kube.gateReads('secrets', COLLECTOR_NAMESPACE, 'nodeward-pki', 2);
  kube.gateReads('secrets', COLLECTOR_NAMESPACE, 'nodeward-api-tokens', 2);
  const [a, b] = await Promise.all([startClusterCollector(kube, { name: 'replica-a' }), startClusterCollector(kube, { name: 'replica-b' })]);
  t.teardown(() => a.close());
  t.teardown(() => b.close());
  // One update of each Secret was refused with 409 (the CA bundle's ConfigMap, which both
  // publish without a gate, may add one more on a loaded machine: both read it first).
  t.true(kube.conflicts >= 2 && kube.conflicts <= 3, `${kube.conflicts} conflicts`);
  t.is(puts(kube, 'nodeward-pki'), 2, 'both tried, one landed');
  t.is(puts(kube, 'nodeward-api-tokens'), 2, 'both tried, one landed');

  const secret = pkiSecret(kube);
  t.is(pemCertificates(secret['ca.crt']!).length, 1, 'one CA');
  t.is(a.collector.clusterPki?.material?.tls.ca.toString(), secret['ca.crt']);
  t.is(b.collector.clusterPki?.material?.tls.ca.toString(), secret['ca.crt']);
  t.is(caConfigMap(kube)['ca.crt'], secret['ca.crt']);
  const ca = new X509Certificate(secret['ca.crt']!);
  const client = await clientFromSecret(kube);
  for (const c of [a, b]) {
    const h = await handshake(c.collector.grpcPort, secret['ca.crt']!, client);
    t.true(h.ok, h.error);
    t.is(h.serial, serial(secret['tls.crt']!), 'both serve the certificate in the Secret, which chains to the one CA');
  }
  t.true(new X509Certificate(secret['tls.crt']!).checkIssued(ca));
  t.is(a.logs.count('CA and serving certificate created') + b.logs.count('CA and serving certificate created'), 1, 'one of them made it');
  t.is(a.logs.count('the PKI Secret changed while this step was prepared; reading it again') + b.logs.count('the PKI Secret changed while this step was prepared; reading it again'), 1);

  // One token, which both accept.
  const token = tokenSecret(kube)['admin'];
  for (const c of [a, b]) {
    t.is((await httpsJson(`https://localhost:${c.collector.apiPort}/api/v1/nodes`, { ca: Buffer.from(secret['ca.crt']!), token })).status, 200);
  }
});

test('the serving certificate is renewed before it expires (injected clock) and every port serves the new one without a restart', async (t) => {
  const kube = await fakeKube(t);
  // Issued 70 days ago for 90 days: 20 days left, under servingRenewBeforeDays (30) once the
  // clock reaches today. Real clients check validity with the real clock, so the clock
  // never runs ahead of it.
  let clock = Date.now() - 70 * DAY_MS;
  const c = await startClusterCollector(kube, { now: () => clock });
  t.teardown(() => c.close());
  const before = pkiSecret(kube);
  const bundle = caConfigMap(kube)['ca.crt']!;
  const oldSerial = serial(before['tls.crt']!);
  const client = await clientFromSecret(kube);
  t.is((await handshake(c.collector.grpcPort, bundle, client)).serial, oldSerial);

  clock = Date.now() - 61 * DAY_MS;
  t.false(await c.collector.clusterPki!.refresh(), 'with 29 days and more left it is not due');
  t.is(pkiSecret(kube)['tls.crt'], before['tls.crt']);

  clock = Date.now();
  t.true(await c.collector.clusterPki!.refresh(), 'due: renewed');
  const after = pkiSecret(kube);
  t.not(after['tls.crt'], before['tls.crt']);
  t.not(after['tls.key'], before['tls.key'], 'a new key too');
  t.is(after['ca.crt'], before['ca.crt'], 'the same CA');
  t.is(caConfigMap(kube)['ca.crt'], bundle, 'nothing new to publish');
  const renewed = new X509Certificate(after['tls.crt']!);
  t.true(Date.parse(renewed.validTo) > Date.now() + 89 * DAY_MS);
  for (const [port, alpn] of [[c.collector.grpcPort, ['h2']], [c.collector.enrollPort, ['http/1.1']], [c.collector.apiPort, ['http/1.1']]] as const) {
    const h = await handshake(port, bundle, client, [...alpn]);
    t.true(h.ok, h.error);
    t.is(h.serial, renewed.serialNumber, `port ${port} serves the renewed certificate`);
  }
  t.is(c.logs.count('serving certificate issued'), 1);
  t.false(await c.collector.clusterPki!.refresh(), 'and once is enough');
});

test('a CA rotation publishes old and new until every agent certificate of the old CA has expired, and keeps every agent connected', async (t) => {
  const kube = await fakeKube(t);
  const lifetimeSeconds = 3600;
  let clock = Date.now() - DAY_MS;
  const c = await startClusterCollector(kube, { now: () => clock, lifetimeSeconds, pki: { rotationAnnounceSeconds: 600, checkSeconds: 60 } });
  t.teardown(() => c.close());
  const pki = c.collector.clusterPki!;
  const oldCa = pkiSecret(kube)['ca.crt']!;

  // Agent A enrolls and streams before the rotation.
  const a = await startClusterAgent(kube, c.collector, 'node-a');
  t.teardown(() => a.cleanup());
  await eventually('node-a streaming', async () => ((await c.collector.store?.nodes.get('node-a', Date.now(), 60_000))?.connected ? true : undefined));
  const certA = { cert: await readFile(a.certFile, 'utf8'), key: await readFile(a.keyFile, 'utf8') };

  // 1. Announced: the new CA is trusted and published after the old one, which still signs.
  kube.write('secrets', COLLECTOR_NAMESPACE, 'nodeward-pki', { annotations: { [ROTATE_ANNOTATION]: '2025-06-01' } });
  t.true(await pki.refresh());
  const announced = pemCertificates(caConfigMap(kube)['ca.crt']!);
  t.is(announced.length, 2, 'old and new published');
  t.is(announced[0], oldCa, 'the old CA first: it still signs');
  const newCa = announced[1]!;
  t.is(JSON.parse(pkiSecret(kube)['rotation.json']!).phase, 'announced');
  t.is(c.logs.count('CA rotation: a new CA is published to the agents next to the current one'), 1);
  t.false(await pki.refresh(), 'nothing more until the announcement has had its time');
  t.is(pemCertificates(pkiSecret(kube)['ca.crt']!).length, 2);
  const phaseA = caConfigMap(kube)['ca.crt']!;

  // 2. Switched: the new CA signs, the serving certificate is the new CA's, the old CA stays trusted.
  clock += 600_000;
  t.true(await pki.refresh());
  const switched = pemCertificates(caConfigMap(kube)['ca.crt']!);
  t.deepEqual(switched, [newCa, oldCa], 'the new CA first now');
  const servingNow = new X509Certificate(pkiSecret(kube)['tls.crt']!);
  t.true(servingNow.checkIssued(new X509Certificate(newCa)), 'served from the new CA');
  t.true((await c.collector.store?.nodes.get('node-a', Date.now(), 60_000))?.connected, 'agent A kept its stream');
  const phaseAHandshake = await handshake(c.collector.grpcPort, phaseA, certA);
  t.true(phaseAHandshake.ok, `an agent with the announced bundle and an old-CA certificate connects: ${phaseAHandshake.error}`);

  // Agent B starts now with the announced bundle (its kubelet has not caught up): it is
  // signed by the new CA, the last of its bundle, and takes that certificate.
  const b = await startClusterAgent(kube, c.collector, 'node-b', { bundle: phaseA });
  t.teardown(() => b.cleanup());
  await eventually('node-b streaming', async () => ((await c.collector.store?.nodes.get('node-b', Date.now(), 60_000))?.connected ? true : undefined));
  const certB = { cert: await readFile(b.certFile, 'utf8'), key: await readFile(b.keyFile, 'utf8') };
  t.true(new X509Certificate(certB.cert).checkIssued(new X509Certificate(newCa)), 'B holds a new-CA certificate');

  // Agent A restarts with its old-CA certificate and the current bundle: still accepted.
  await a.syncBundle();
  await a.agent.stop();
  const a2 = await startClusterAgent(kube, c.collector, 'node-a', { dir: a.dir });
  t.teardown(() => a2.cleanup());
  await eventually('node-a streaming again', () => (c.logs.count('agent connected', { node: 'node-a' }) >= 2 ? true : undefined));
  t.is(a2.agent.enroller?.enrollments, 0, 'A kept its old-CA certificate (still valid, its CA still in the bundle)');

  // 3. Done, once every certificate the old CA signed has expired (lifetime + check + skew).
  clock += lifetimeSeconds * 1000;
  t.false(await pki.refresh(), 'not before the agent certificate lifetime plus slack');
  clock += 60_000 + 5 * 60_000;
  t.true(await pki.refresh());
  t.deepEqual(pemCertificates(caConfigMap(kube)['ca.crt']!), [newCa], 'only the new CA is published');
  t.deepEqual(pemCertificates(pkiSecret(kube)['ca.crt']!), [newCa]);
  t.is(JSON.parse(pkiSecret(kube)['rotation.json']!).phase, 'done');
  t.false((await handshake(c.collector.grpcPort, newCa, certA)).ok, 'an old-CA certificate is refused now');
  t.true((await handshake(c.collector.grpcPort, newCa, certB)).ok, 'a new-CA certificate is accepted');
  t.true((await c.collector.store?.nodes.get('node-b', Date.now(), 60_000))?.connected, 'agent B is still streaming');
  t.false(await pki.refresh(), 'the same request does not start another rotation');
});

test('a refused API call stops the start with the permission it lacks, before anything listens or is stored', async (t) => {
  const kube = await fakeKube(t);
  kube.forbidden.add(`update secrets ${COLLECTOR_NAMESPACE}/nodeward-pki`);
  const err = await refused(t, startClusterCollector(kube));
  t.regex(err.message, /may not update Secret nodeward-collector\/nodeward-pki \(HTTP 403.*grant "update" on secrets "nodeward-pki" in namespace "nodeward-collector" \(manifests\/collector\/rbac\.yaml\)/);
  t.is(err.code, 'KUBE_API');
  const dir = err.dir!;
  t.false(existsSync(join(dir, 'nodeward.db')), 'no database was opened');
  t.deepEqual(pkiSecret(kube), {}, 'nothing half-written');
  t.deepEqual(caConfigMap(kube), {});

  kube.forbidden.clear();
  kube.forbidden.add(`get configmaps ${AGENT_NAMESPACE}/nodeward-ca`);
  const err2 = await refused(t, startClusterCollector(kube));
  t.regex(err2.message, /may not get ConfigMap nodeward-agent\/nodeward-ca .*grant "get" on configmaps "nodeward-ca" in namespace "nodeward-agent"/);

  kube.forbidden.clear();
  kube.objects.delete(`secrets/${COLLECTOR_NAMESPACE}/nodeward-api-tokens`);
  const err3 = await refused(t, startClusterCollector(kube));
  t.regex(err3.message, /Secret nodeward-collector\/nodeward-api-tokens does not exist: the manifests create it empty/);

  // With the permission back, the same API lets it start.
  kube.objects.set(`secrets/${COLLECTOR_NAMESPACE}/nodeward-api-tokens`, { resourceVersion: '1', data: {}, annotations: {}, labels: {} });
  const c = await startClusterCollector(kube);
  t.teardown(() => c.close());
  t.true(c.collector.grpcPort > 0);
});

test('an API server that answers 503 at start is tried again: the start waits it out; one that stays down fails the start, saying how often it tried', async (t) => {
  const kube = await fakeKube(t);
  kube.failWith = 503;
  const starting = startClusterCollector(kube);
  await eventually('a few refused calls', async () => (kube.requests.length >= 2 ? true : undefined), 10_000);
  kube.failWith = undefined;
  const c = await starting;
  t.teardown(() => c.close());
  t.true(c.collector.grpcPort > 0);
  t.truthy(pkiSecret(kube)['ca.crt'], 'the CA was made once the API answered');

  const other = await fakeKube(t);
  other.failWith = 503;
  const err = await refused(t, startClusterCollector(other));
  t.is(err.code, 'KUBE_API');
  t.regex(err.message, /HTTP 503.*\(after 6 tries\)/s);
});

test('a Secret with an inconsistent PKI is refused and left as it is', async (t) => {
  const kube = await fakeKube(t);
  const first = await startClusterCollector(kube);
  await first.close();
  const good = pkiSecret(kube);
  const other = await startFakeKube();
  t.teardown(() => other.close());
  const c2 = await startClusterCollector(other);
  await c2.close();
  // The CA key of another CA.
  kube.write('secrets', COLLECTOR_NAMESPACE, 'nodeward-pki', { data: { ...good, 'ca.key': pkiSecret(other)['ca.key']! } });
  const bad = pkiSecret(kube);
  const err = await refused(t, startClusterCollector(kube));
  t.regex(err.message, /nodeward-pki: ca\.key does not belong to the first certificate of ca\.crt .*does not overwrite it/);
  t.is(err.code, 'PKI_SECRET_INVALID');
  t.deepEqual(pkiSecret(kube), bad, 'untouched');
});

test("a Secret filled by hand (pki init, or an install before the cluster PKI) is used: the same CA, its token, a serving certificate re-issued only for names it lacks", async (t) => {
  const kube = await fakeKube(t);
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-own-ca-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  // The names the 0.2.0 install docs gave pki init: localhost, but not 127.0.0.1.
  const own = await initPki(dir, { nodes: [], collectorHosts: ['localhost'] });
  const files = { 'ca.crt': await readFile(own.caCert, 'utf8'), 'ca.key': await readFile(own.caKey, 'utf8'), 'tls.crt': await readFile(own.collectorCert, 'utf8'), 'tls.key': await readFile(own.collectorKey, 'utf8') };
  kube.write('secrets', COLLECTOR_NAMESPACE, 'nodeward-pki', { data: files });
  kube.write('secrets', COLLECTOR_NAMESPACE, 'nodeward-api-tokens', { data: { admin: 'an-operator-chosen-token-0123456789' } });

  const c = await startClusterCollector(kube);
  t.teardown(() => c.close());
  const secret = pkiSecret(kube);
  t.is(secret['ca.crt'], files['ca.crt'], 'the same CA');
  t.is(secret['ca.key'], files['ca.key']);
  t.not(secret['tls.crt'], files['tls.crt'], 're-issued: 127.0.0.1 was missing');
  t.true(new X509Certificate(secret['tls.crt']!).checkIssued(new X509Certificate(files['ca.crt'])), 'from that CA');
  t.regex(String(c.logs.lines.find((l) => l.msg === 'serving certificate issued')?.why), /does not cover 127\.0\.0\.1/);
  t.is(caConfigMap(kube)['ca.crt'], files['ca.crt']);
  t.is(tokenSecret(kube)['admin'], 'an-operator-chosen-token-0123456789', 'the token is kept');
  t.is(c.logs.count('admin API token generated'), 0);
  t.is((await httpsJson(`https://localhost:${c.collector.apiPort}/api/v1/nodes`, { ca: Buffer.from(files['ca.crt']), token: 'an-operator-chosen-token-0123456789' })).status, 200);
});

test('an agent that starts before its CA bundle is there waits for it, saying why, then enrolls and streams', async (t) => {
  const kube = await fakeKube(t);
  const c = await startClusterCollector(kube);
  t.teardown(() => c.close());
  const a = await startClusterAgent(kube, c.collector, 'node-a', { bundle: null });
  t.teardown(() => a.cleanup());
  t.false(existsSync(a.caFile));
  const waiting = await eventually('the agent says why it waits', () => a.logs.lines.find((l) => l.msg === 'enrollment failed'));
  t.regex(String(waiting.err), /cannot read the CA .*ca\.crt/);
  t.is(waiting.level, 'warn', 'a warning');
  await a.syncBundle();
  await eventually('node-a streaming', async () => ((await c.collector.store?.nodes.get('node-a', Date.now(), 60_000))?.connected ? true : undefined));
  t.is(a.agent.enroller?.enrollments, 1);
});

test('an emergency CA replacement: the collector ends the old CA\'s streams, and each agent enrolls again as soon as its bundle has the new CA, not at its renewal', async (t) => {
  const kube = await fakeKube(t);
  // An hour's certificates: the renewal is 40 minutes or more away.
  const c = await startClusterCollector(kube, { lifetimeSeconds: 3600, pki: { checkSeconds: 60 } });
  t.teardown(() => c.close());
  const a = await startClusterAgent(kube, c.collector, 'node-a');
  t.teardown(() => a.cleanup());
  await eventually('node-a streaming', async () => ((await c.collector.store?.nodes.get('node-a', Date.now(), 60_000))?.connected ? true : undefined));
  const enroller = a.agent.enroller!;
  t.is(enroller.enrollments, 1);
  const firstSerial = enroller.certificate!.serialNumber;
  t.true(enroller.certificate!.renewAt.getTime() > Date.now() + 30 * 60_000, 'no renewal due during this test');
  const oldCa = pkiSecret(kube)['ca.crt']!;

  // The operator empties the Secret (docs/install.md, "Rotating the CA"): a new CA, published alone.
  kube.write('secrets', COLLECTOR_NAMESPACE, 'nodeward-pki', { data: {} });
  t.true(await c.collector.clusterPki!.refresh());
  const newCa = caConfigMap(kube)['ca.crt']!;
  t.deepEqual(pemCertificates(newCa).length, 1);
  t.not(newCa, oldCa);
  // The stream made with the old CA's certificate ends at once.
  await eventually('the old stream ended', async () => ((await c.collector.store?.nodes.get('node-a', Date.now(), 60_000))?.connected ? undefined : true));
  t.is(c.logs.count('agent streams ended: their certificates are from a CA no longer trusted (the CA was replaced); they enroll again'), 1);

  // Until the kubelet brings the new bundle the agent cannot tell the new collector certificate
  // from an impostor's: it says so, and does not enroll (it would not trust the endpoint either).
  await eventually('the unknown CA diagnosed', () => (a.logs.lines.some((l) => l.msg === 'cannot reach the collector' && l.problem === 'TLS_UNKNOWN_CA') ? true : undefined));
  t.is(enroller.enrollments, 1, 'no enrollment against a collector it cannot verify');

  // The bundle arrives: the agent's certificate is not from it; it enrolls again and streams.
  await a.syncBundle();
  await eventually('node-a streaming again', async () => ((await c.collector.store?.nodes.get('node-a', Date.now(), 60_000))?.connected ? true : undefined));
  t.is(enroller.enrollments, 2, 'one more enrollment, not a storm');
  t.not(enroller.certificate!.serialNumber, firstSerial);
  t.true(new X509Certificate(await readFile(a.certFile, 'utf8')).checkIssued(new X509Certificate(newCa)), 'the new certificate is the new CA\'s');
  t.is(a.logs.lines.filter((l) => typeof l.msg === 'string' && l.msg.includes('enrolling again now')).length, 1);
  t.is(c.logs.count('agent connected', { node: 'node-a' }), 2);
});
