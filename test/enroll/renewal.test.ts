// A whole agent on a short-lived enrolled certificate: it renews before expiry, and its
// stream to the collector carries on across the renewal and past the old certificate's
// expiry without a reconnect. The next TLS handshake needs the renewed certificate: the
// old one is refused by then.
import test from 'ava';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { AgentConfigSchema, loadAgentConfig } from '../../agent/config.js';
import { createAgent } from '../../agent/main.js';
import { prepareFixture } from '../helpers/fixture.js';
import { eventually } from '../helpers/https.js';
import { captureLog, startEnrollingCollector } from './helpers.js';

const LIFETIME_SECONDS = 12;

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
  const c = await startEnrollingCollector({ lifetimeSeconds: LIFETIME_SECONDS });
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
  const agentLogs = captureLog('agent');
  const agent = createAgent(config, { version: 'test', log: agentLogs.log });
  t.teardown(() => agent.stop());
  await agent.start();

  const first = agent.enroller?.certificate;
  if (!first) return t.fail('no certificate after start');
  const certA = readFileSync(certFile, 'utf8');
  const keyA = readFileSync(keyFile, 'utf8');
  const lifetimeMs = first.notAfter.getTime() - Date.now();
  t.true(lifetimeMs > 0 && lifetimeMs <= LIFETIME_SECONDS * 1000, `short-lived: ${lifetimeMs} ms`);
  await eventually('the node connected', () => (c.collector.store?.nodes.get('node-a', Date.now(), 60_000)?.connected ? true : undefined));
  t.is(await handshake(c.collector.grpcPort, c.ca, certA, keyA), 'accepted', 'the first certificate is good while it lasts');

  const renewed = await eventually('a renewed certificate', () => {
    const cur = agent.enroller?.certificate;
    return cur && cur.serialNumber !== first.serialNumber ? { cur, at: Date.now() } : undefined;
  }, LIFETIME_SECONDS * 1000 + 5000, 50);
  t.true(renewed.at < first.notAfter.getTime(), `renewed ${first.notAfter.getTime() - renewed.at} ms before the old certificate expired`);
  const certB = readFileSync(certFile, 'utf8');
  const keyB = readFileSync(keyFile, 'utf8');
  t.not(certB, certA);
  t.not(keyB, keyA, 'a fresh key with every renewal');
  t.is(new X509Certificate(certB).serialNumber, renewed.cur.serialNumber);

  // Past the old certificate's expiry, the same stream still carries heartbeats.
  await new Promise((r) => setTimeout(r, Math.max(0, first.notAfter.getTime() - Date.now()) + 2500));
  const row = c.collector.store?.nodes.get('node-a', Date.now(), 60_000);
  t.true(row?.connected, 'still connected');
  t.true(Date.parse(row?.lastSeen ?? '') > first.notAfter.getTime(), `heard from after the old certificate expired (last seen ${row?.lastSeen})`);
  t.is(c.logs.count('agent connected', { node: 'node-a' }), 1, 'one stream, never reopened');
  t.is(c.logs.count('agent disconnected', { node: 'node-a' }), 0);
  t.is(agentLogs.count('stream to the collector failed') + agentLogs.count('collector ended the stream'), 0);
  t.is(agent.enroller?.enrollments, 2);

  // The next connection could not use the old certificate; the renewed one is accepted.
  t.not(await handshake(c.collector.grpcPort, c.ca, certA, keyA), 'accepted', 'the expired certificate is refused');
  t.is(await handshake(c.collector.grpcPort, c.ca, certB, keyB), 'accepted');
  t.is(c.logs.count('agent certificate issued', { node: 'node-a' }), 2);
});
