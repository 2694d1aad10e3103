// Enrollment end to end, against a local server that speaks the TokenReview and pod APIs:
// only a live, pod-bound agent token, presented for the node its pod runs on, gets a
// certificate, and that certificate is what the gRPC ingest accepts as the node.
import test, { type ExecutionContext } from 'ava';
import { X509Certificate } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCsr, generateNodeKey } from '../../agent/enroll/csr.js';
import { createEnroller } from '../../agent/enroll/enroller.js';
import { initPki } from '../../collector/pki/pki.js';
import { testClock } from '../helpers/clock.js';
import { eventually, httpsJson } from '../helpers/https.js';
import { openRawStream } from '../helpers/grpc-client.js';
import { captureLog, startEnrollingCollector, type EnrollingCollector } from './helpers.js';

async function collector(t: ExecutionContext, lifetimeSeconds?: number): Promise<EnrollingCollector> {
  const c = await startEnrollingCollector({ lifetimeSeconds });
  t.teardown(() => c.close());
  return c;
}

function enroll(c: EnrollingCollector, token: string | undefined, node: string, key = generateNodeKey()) {
  return httpsJson<{ certificate?: string; notAfter?: string; error?: string }>(c.enrollUrl, {
    ca: c.ca, method: 'POST', ...(token ? { token } : {}), body: { csr: createCsr(node, key) },
  });
}

test('an agent pod\'s token, for the node its pod runs on, gets a short-lived client certificate for its own key', async (t) => {
  const c = await collector(t, 3600);
  const { token } = c.kube.agentPod('node-a');
  const key = generateNodeKey();
  const res = await enroll(c, token, 'node-a', key);
  t.is(res.status, 200, res.text);
  const cert = new X509Certificate(res.body.certificate ?? '');
  t.is(cert.subject, 'CN=node-a');
  t.is(cert.subjectAltName, 'DNS:node-a');
  t.true(cert.checkIssued(new X509Certificate(c.ca)) && cert.verify(new X509Certificate(c.ca).publicKey));
  t.deepEqual(cert.publicKey.export({ type: 'spki', format: 'der' }), key.publicKey.export({ type: 'spki', format: 'der' }));
  t.false(cert.ca);
  t.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.2'], 'clientAuth only');
  const lifetime = Date.parse(cert.validTo) - Date.now();
  t.true(lifetime > 3500_000 && lifetime <= 3600_000, `lives an hour, as configured (${lifetime} ms)`);
  t.is(res.body.notAfter, new Date(cert.validTo).toISOString());
  // The collector asked the API server, as itself, with our audience, and read the pod.
  const review = c.kube.requests.find((r) => r.path.endsWith('/tokenreviews'));
  t.like(review, { method: 'POST', caller: 'collector' });
  t.deepEqual((review?.body as { spec: { audiences: string[] } }).spec.audiences, ['nodeward-collector']);
  t.true(c.kube.requests.some((r) => r.method === 'GET' && r.path.startsWith('/api/v1/namespaces/nodeward-agent/pods/')));
  t.is(c.logs.count('agent certificate issued', { node: 'node-a' }), 1);
  t.false(JSON.stringify(c.logs.lines).includes(token), 'the token is never logged');
});

test('a valid token for a pod on another node gets no certificate', async (t) => {
  const c = await collector(t);
  const onB = c.kube.agentPod('node-b', { withNodeName: false });
  const res = await enroll(c, onB.token, 'node-a');
  t.is(res.status, 403);
  t.is(res.body.certificate, undefined);
  t.regex(res.body.error ?? '', /runs on node node-b, not node-a/);
  // The same token does get node-b's certificate: the refusal is about the node, not the token.
  t.is((await enroll(c, onB.token, 'node-b')).status, 200);
  t.is(c.logs.count('enrollment refused', { status: 403 }), 1);
  t.is(c.logs.count('agent certificate issued'), 1);
});

test('an expired, revoked, foreign-audience or foreign-account token gets no certificate', async (t) => {
  const c = await collector(t);
  const expired = c.kube.agentPod('node-a', { ttlMs: -1000 });
  const revoked = c.kube.agentPod('node-a');
  c.kube.pods.delete(`${revoked.pod.namespace}/${revoked.pod.name}`); // pod deleted: its tokens die with it
  const replaced = c.kube.agentPod('node-a', { name: 'nodeward-agent-x' });
  c.kube.pods.set('nodeward-agent/nodeward-agent-x', { ...replaced.pod, uid: 'a-new-pod-with-the-same-name' });
  const apiServerAudience = c.kube.agentPod('node-a', { audience: 'https://kubernetes.default.svc' });
  const otherAccount = c.kube.agentPod('node-a', { serviceAccount: 'nodeward-agent/default' });
  const terminating = c.kube.agentPod('node-a');
  c.kube.pods.set(`${terminating.pod.namespace}/${terminating.pod.name}`, { ...terminating.pod, deleting: true });
  const cases: Array<[string, string | undefined, number, RegExp]> = [
    ['expired', expired.token, 401, /token has expired/],
    ['revoked (pod deleted)', revoked.token, 401, /not found or replaced/],
    ['pod replaced', replaced.token, 401, /not found or replaced/],
    ['for the API server, not the collector', apiServerAudience.token, 401, /audiences/],
    ["another ServiceAccount's", otherAccount.token, 403, /is not system:serviceaccount:nodeward-agent:nodeward-agent/],
    ['of a terminating pod', terminating.token, 403, /terminating/],
    ['made up', 'not-a-token', 401, /invalid bearer token/],
    ['absent', undefined, 401, /Authorization: Bearer/],
  ];
  for (const [what, token, status, reason] of cases) {
    const res = await enroll(c, token, 'node-a');
    t.is(res.status, status, what);
    t.regex(res.body.error ?? '', reason, what);
    t.is(res.body.certificate, undefined, what);
  }
  t.is(c.logs.count('agent certificate issued'), 0);
});

test('a TokenReview that names no audience (the token is for the API server) gets no certificate', async (t) => {
  const c = await collector(t);
  // An authenticator that ignores spec.audiences checks the token against the API server's
  // own audience and answers with an empty status.audiences: the pod's ordinary API token
  // passes that review, but it was never minted for the collector.
  c.kube.audienceUnaware = true;
  const apiToken = c.kube.agentPod('node-a', { audience: 'https://kubernetes.default.svc' });
  const res = await enroll(c, apiToken.token, 'node-a');
  t.is(res.status, 401, res.text);
  t.regex(res.body.error ?? '', /not for audience nodeward-collector \(the TokenReview names no audience/);
  t.is(res.body.certificate, undefined);
  const review = c.kube.requests.find((r) => r.path.endsWith('/tokenreviews'));
  t.deepEqual((review?.body as { spec: { audiences: string[] } }).spec.audiences, ['nodeward-collector'], 'our audience was asked for');
  // The same pod's token for our audience, reviewed by a server that knows audiences, is fine.
  c.kube.audienceUnaware = false;
  const ours = c.kube.agentPod('node-a');
  t.is((await enroll(c, ours.token, 'node-a')).status, 200);
  t.is(c.logs.count('agent certificate issued'), 1);
});

test('bad requests are refused before the API server is asked; an API outage is retryable', async (t) => {
  const c = await collector(t);
  const { token } = c.kube.agentPod('node-a');
  const bad = await httpsJson(c.enrollUrl, { ca: c.ca, method: 'POST', token, body: { csr: 'nope' } });
  t.is(bad.status, 400);
  t.is((await httpsJson(c.enrollUrl, { ca: c.ca, method: 'GET', token })).status, 405);
  t.is((await httpsJson(c.enrollUrl.replace('/v1/enroll', '/v1/other'), { ca: c.ca, method: 'POST', token, body: {} })).status, 404);
  const atStart = new Set(['/version', '/api/v1/namespaces/kube-system']);
  t.is(c.kube.requests.filter((r) => !atStart.has(r.path)).length, 0, 'no API call for a malformed request (the version check and the cluster identity read at start aside)');
  c.kube.failWith = 500;
  const down = await enroll(c, token, 'node-a');
  t.is(down.status, 503);
  t.is(down.headers['retry-after'], '5');
  c.kube.failWith = undefined;
  t.is((await enroll(c, token, 'node-a')).status, 200, 'works again once the API server is back');
});

test('the enrolled certificate is how the node connects: the gRPC ingest takes its name from it', async (t) => {
  const c = await collector(t);
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-agent-enroll-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const { token } = c.kube.agentPod('node-a');
  await writeFile(join(dir, 'token'), token);
  const logs = captureLog('agent');
  const enroller = createEnroller({
    url: c.enrollUrl, tokenFile: join(dir, 'token'), caFile: c.pki.caCert, serverName: '', node: 'node-a',
    certFile: join(dir, 'tls/agent.crt'), keyFile: join(dir, 'tls/agent.key'), renewAfterFraction: 0.7,
    retryBaseMs: 60_000, retryMaxMs: 60_000, timeoutMs: 5000,
  }, { log: logs.log });
  t.teardown(() => enroller.stop());
  await enroller.start();
  t.is(enroller.enrollments, 1);
  t.truthy(enroller.certificate);
  t.is(statSync(join(dir, 'tls/agent.key')).mode & 0o777, 0o600, 'the key is private');
  const stream = openRawStream(c.grpcAddress, { ca: c.pki.caCert, cert: join(dir, 'tls/agent.crt'), key: join(dir, 'tls/agent.key') });
  t.teardown(() => stream.close());
  stream.send({ hello: { node: 'node-a', agentVersion: 'test', epoch: 'e1', baselineVersion: 0 } });
  stream.send({ heartbeat: { sentAtMs: Date.now() } });
  await eventually('node-a connected', async () => ((await c.collector.store?.nodes.get('node-a', Date.now(), 60_000))?.connected ? true : undefined));
  // A hello claiming another node on this certificate is refused.
  const liar = openRawStream(c.grpcAddress, { ca: c.pki.caCert, cert: join(dir, 'tls/agent.crt'), key: join(dir, 'tls/agent.key') });
  t.teardown(() => liar.close());
  liar.send({ hello: { node: 'node-b', agentVersion: 'test', epoch: 'e2', baselineVersion: 0 } });
  const ended = await liar.ended;
  t.not(ended.code, 0);
});

test('an agent whose token belongs to a pod on another node is left without a certificate, and keeps none', async (t) => {
  const c = await collector(t);
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-agent-enroll-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const { token } = c.kube.agentPod('node-b');
  await writeFile(join(dir, 'token'), token);
  const logs = captureLog('agent');
  const enroller = createEnroller({
    url: c.enrollUrl, tokenFile: join(dir, 'token'), caFile: c.pki.caCert, serverName: '', node: 'node-a',
    certFile: join(dir, 'tls/agent.crt'), keyFile: join(dir, 'tls/agent.key'), renewAfterFraction: 0.7,
    retryBaseMs: 60_000, retryMaxMs: 60_000, timeoutMs: 5000,
  }, { log: logs.log });
  t.teardown(() => enroller.stop());
  await enroller.start();
  t.is(enroller.certificate, undefined);
  t.is(enroller.enrollments, 0);
  t.false(existsSync(join(dir, 'tls/agent.crt')));
  t.false(existsSync(join(dir, 'tls/agent.key')), 'no key is kept for a refused enrollment');
  const failure = logs.lines.find((l) => l.msg === 'enrollment failed');
  t.is(failure?.status, 403);
  t.is(failure?.level, 'error', 'logged as an error: a refusal needs an operator');
  t.false(JSON.stringify(logs.lines).includes(token));
});

test('a restarted agent keeps its still-good certificate instead of enrolling again', async (t) => {
  const c = await collector(t, 3600);
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-agent-enroll-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const { token } = c.kube.agentPod('node-a');
  await writeFile(join(dir, 'token'), token);
  const make = () => createEnroller({
    url: c.enrollUrl, tokenFile: join(dir, 'token'), caFile: c.pki.caCert, serverName: '', node: 'node-a',
    certFile: join(dir, 'tls/agent.crt'), keyFile: join(dir, 'tls/agent.key'), renewAfterFraction: 0.7,
    retryBaseMs: 60_000, retryMaxMs: 60_000, timeoutMs: 5000,
  }, { log: captureLog('agent').log });
  const first = make();
  await first.start();
  await first.stop();
  const again = make();
  t.teardown(() => again.stop());
  await again.start();
  t.is(again.enrollments, 0, 'no new enrollment');
  t.is(again.certificate?.serialNumber, first.certificate?.serialNumber);
  t.is(c.logs.count('agent certificate issued'), 1);
  // A certificate for another node name is not taken over: that node enrolls afresh.
  const other = createEnroller({
    url: c.enrollUrl, tokenFile: join(dir, 'token'), caFile: c.pki.caCert, serverName: '', node: 'node-b',
    certFile: join(dir, 'tls/agent.crt'), keyFile: join(dir, 'tls/agent.key'), renewAfterFraction: 0.7,
    retryBaseMs: 60_000, retryMaxMs: 60_000, timeoutMs: 5000,
  }, { log: captureLog('agent').log });
  t.teardown(() => other.stop());
  await other.start();
  t.is(other.certificate, undefined, 'node-b tried to enroll (and was refused: its token is for node-a)');
  t.is(c.logs.count('enrollment refused', { status: 403 }), 1);
});

test('recover: a certificate the collector refuses, or one its bundle no longer vouches for, is enrolled again at once, then only after a backoff until a connection holds', async (t) => {
  const c = await collector(t, 3600);
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-agent-enroll-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const { token } = c.kube.agentPod('node-a');
  await writeFile(join(dir, 'token'), token);
  const caFile = join(dir, 'ca.crt');
  await writeFile(caFile, await readFile(c.pki.caCert));
  const clock = testClock();
  const logs = captureLog('agent');
  const enroller = createEnroller({
    url: c.enrollUrl, tokenFile: join(dir, 'token'), caFile, serverName: '', node: 'node-a',
    certFile: join(dir, 'tls/agent.crt'), keyFile: join(dir, 'tls/agent.key'), renewAfterFraction: 0.7,
    retryBaseMs: 1000, retryMaxMs: 8000, timeoutMs: 5000,
  }, { log: logs.log, clock, random: () => 1 });
  t.teardown(() => enroller.stop());
  await enroller.start();
  t.is(enroller.enrollments, 1);

  // Network trouble, or a TLS problem while the certificate is still from the bundle: no new certificate would help.
  for (const p of ['DNS', 'REFUSED', 'UNREACHABLE', 'ADDRESS', 'TLS_UNKNOWN_CA', 'TLS_EXPIRED', 'TLS_NAME', 'PERMISSION_DENIED'] as const) {
    t.is(await enroller.recover(p), 'not-needed', p);
  }
  // The collector refuses the certificate: enrolled again at once, not again right after.
  t.is(await enroller.recover('TLS_REJECTED'), 'enrolled');
  t.is(enroller.enrollments, 2);
  t.is(await enroller.recover('UNAUTHENTICATED'), 'backing-off');
  await clock.advance(999);
  t.is(await enroller.recover('TLS_REJECTED'), 'backing-off', 'the first backoff is collector.backoffBaseMs');
  await clock.advance(1);
  t.is(await enroller.recover('TLS_REJECTED'), 'enrolled');
  await clock.advance(1999);
  t.is(await enroller.recover('TLS_REJECTED'), 'backing-off', 'then it doubles');
  await clock.advance(1);
  t.is(await enroller.recover('TLS_REJECTED'), 'enrolled');
  t.is(enroller.enrollments, 4);
  // A connection that held: the next refusal is acted on at once.
  enroller.connectionHeld();
  t.is(await enroller.recover('UNAUTHENTICATED'), 'enrolled');

  // The bundle changes under it (the CA replaced): a certificate not from the new bundle is enrolled again
  // whatever the TLS problem; the endpoint is still the old CA's here, so it fails and the retries take over.
  enroller.connectionHeld();
  const other = await initPki(join(dir, 'other-pki'), { nodes: [], collectorHosts: ['localhost'] });
  await writeFile(caFile, await readFile(other.caCert));
  t.is(await enroller.recover('TLS_UNKNOWN_CA'), 'failed');
  t.is(await enroller.recover('TLS_UNKNOWN_CA'), 'backing-off', 'its retries are under way');
  t.is(logs.lines.filter((l) => typeof l.msg === 'string' && l.msg.includes('enrolling again now')).length, 5);
});
