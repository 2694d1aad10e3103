// A whole agent on a short-lived certificate: it renews before expiry, and its stream to
// the collector carries on across the renewal and past the old certificate's expiry without
// a reconnect. The next TLS handshake needs the renewed certificate: the old one is refused
// by then.
// When to renew is the agent's clock's business, so a test clock moves the agent to its
// renewal at once. Whether a certificate is still valid is the real time's (every TLS peer
// judges it so), so the first certificate is one from an earlier enrollment that lasts a few
// real seconds, and the test waits for that real expiry only (it waited for a 12-second one,
// and for the renewal timer in real time, before).
import test from 'ava';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { AgentConfigSchema, loadAgentConfig } from '../../agent/config.js';
import { createAgent } from '../../agent/main.js';
import { issueClientCertificate } from '../../collector/pki/pki.js';
import { testClock } from '../helpers/clock.js';
import { prepareFixture } from '../helpers/fixture.js';
import { eventually } from '../helpers/https.js';
import { captureLog, startEnrollingCollector } from './helpers.js';

/**
 * The first certificate's real lifetime from the next whole second (certificates count in
 * seconds): room for the agent to start, connect and be checked, which took 0.4-0.6 s here
 * with a load average of 15.
 */
const FIRST_LIFETIME_MS = 3000;

/** A TLS 1.2 handshake with the gRPC port, where the client certificate is checked inside the handshake. */
function handshake(port: number, ca: Buffer, cert: string, key: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', ca, cert, key, ALPNProtocols: ['h2'], maxVersion: 'TLSv1.2' });
    socket.once('secureConnect', () => {
      socket.destroy();
      resolve('accepted');
    });
    socket.once('error', (err) => resolve(err.message));
  });
}

test('the agent renews its certificate before expiry without a gap in its stream', async (t) => {
  const c = await startEnrollingCollector();
  t.teardown(() => c.close());
  const fx = await prepareFixture('insecure-worker');
  t.teardown(fx.cleanup);
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-renewal-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const { token } = c.kube.agentPod('node-a');
  await writeFile(join(dir, 'token'), token);
  const certFile = join(dir, 'state/tls/agent.crt');
  const keyFile = join(dir, 'state/tls/agent.key');
  // Parts of the agent this test does not exercise are switched off where the schema has them.
  const quiet: Record<string, unknown> = {};
  for (const part of ['watch', 'processes', 'kubeletProbe']) if (part in AgentConfigSchema.properties) quiet[part] = { enabled: false };
  const file = join(dir, 'agent.yaml');
  await writeFile(file, JSON.stringify({
    node: 'node-a', hostRoot: fx.root, procRoot: fx.procRoot, stateDir: join(dir, 'state'),
    collector: { address: c.grpcAddress, caFile: c.pki.caCert, certFile, keyFile, heartbeatSeconds: 1, backoffBaseMs: 100, backoffMaxMs: 1000 },
    enroll: { url: c.enrollUrl, tokenFile: join(dir, 'token') },
    scan: { intervalSeconds: 2 },
    health: { port: 0 },
    ...quiet,
  }));
  const config = loadAgentConfig({ file, env: {} }, { needCollector: true });

  // A certificate from an earlier enrollment, by the collector's CA, valid for a few real seconds.
  const issuedAt = Date.now();
  const first = await issueClientCertificate(c.pki, 'node-a', {
    notBefore: new Date(issuedAt - 1000), notAfter: new Date(Math.ceil(issuedAt / 1000) * 1000 + FIRST_LIFETIME_MS), out: { cert: certFile, key: keyFile },
  });
  const certA = readFileSync(certFile, 'utf8');
  const keyA = readFileSync(keyFile, 'utf8');
  const clock = testClock(issuedAt);
  const agentLogs = captureLog('agent');
  const agent = createAgent(config, { version: 'test', log: agentLogs.log, clock });
  t.teardown(() => agent.stop());
  await agent.start();

  const kept = agent.enroller?.certificate;
  if (!kept) return t.fail('no certificate after start');
  t.is(kept.serialNumber, new X509Certificate(certA).serialNumber, 'the certificate on disk is kept while it is good');
  t.true(kept.renewAt.getTime() < first.notAfter.getTime(), `renewal due ${first.notAfter.getTime() - kept.renewAt.getTime()} ms before expiry`);
  t.is(clock.pending(), 1, 'the renewal waits on the agent\'s clock');
  await eventually('the node connected', async () => ((await c.collector.store?.nodes.get('node-a', Date.now(), 60_000))?.connected ? true : undefined));
  t.is(await handshake(c.collector.grpcPort, c.ca, certA, keyA), 'accepted', 'the first certificate is good while it lasts');
  t.log(`started, connected and checked ${Date.now() - issuedAt} ms after the first certificate was issued`);
  t.true(Date.now() < first.notAfter.getTime(), 'connected and checked before the first certificate expired (raise FIRST_LIFETIME_MS on a slower machine)');

  // The agent's clock reaches the renewal: no waiting for it in real time.
  await clock.set(kept.renewAt.getTime());
  const renewed = await eventually('a renewed certificate', () => {
    const cur = agent.enroller?.certificate;
    return cur && cur.serialNumber !== kept.serialNumber ? { cur, at: Date.now() } : undefined;
  }, 10_000, 20);
  t.true(renewed.at < first.notAfter.getTime(), `renewed ${first.notAfter.getTime() - renewed.at} ms before the old certificate expired`);
  const certB = readFileSync(certFile, 'utf8');
  const keyB = readFileSync(keyFile, 'utf8');
  t.not(certB, certA);
  t.not(keyB, keyA, 'a fresh key with every renewal');
  t.is(new X509Certificate(certB).serialNumber, renewed.cur.serialNumber);
  t.true(renewed.cur.renewAt.getTime() > clock.now(), 'the next renewal is scheduled on the clock, later');

  // Past the old certificate's real expiry, the same stream still carries heartbeats.
  const row = await eventually('a heartbeat after the old certificate expired', async () => {
    const r = await c.collector.store?.nodes.get('node-a', Date.now(), 60_000);
    return r && Date.parse(r.lastSeen) > first.notAfter.getTime() ? r : undefined;
  }, FIRST_LIFETIME_MS + 5000, 50);
  t.true(row.connected, 'still connected');
  t.is(c.logs.count('agent connected', { node: 'node-a' }), 1, 'one stream, never reopened');
  t.is(c.logs.count('agent disconnected', { node: 'node-a' }), 0);
  t.is(agentLogs.count('stream to the collector failed') + agentLogs.count('collector ended the stream'), 0);
  t.is(agent.enroller?.enrollments, 1);

  // The next connection could not use the old certificate; the renewed one is accepted.
  t.not(await handshake(c.collector.grpcPort, c.ca, certA, keyA), 'accepted', 'the expired certificate is refused');
  t.is(await handshake(c.collector.grpcPort, c.ca, certB, keyB), 'accepted');
  t.is(c.logs.count('agent certificate issued', { node: 'node-a' }), 1);
});
