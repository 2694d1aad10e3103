// The agent's reporter against a real collector over mTLS: it drains the spool, survives
// a refused message, and backs off with jitter.
import test from 'ava';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protoPath as healthProto } from 'grpc-health-check';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backoffDelay, createReporter } from '../../agent/report/client.js';
import { openSpool } from '../../agent/report/spool.js';
import { createLogger } from '../../proto/support/logger.js';
import { eventually, httpsJson } from '../helpers/https.js';
import { ADMIN_TOKEN, startTestCollector } from '../helpers/collector.js';

test('backoff grows exponentially to its ceiling and never drops below half of it', (t) => {
  t.is(backoffDelay(0, 100, 10_000, () => 0), 50);
  t.is(backoffDelay(0, 100, 10_000, () => 1), 100);
  t.is(backoffDelay(3, 100, 10_000, () => 0), 400);
  t.is(backoffDelay(3, 100, 10_000, () => 1), 800);
  t.is(backoffDelay(40, 100, 10_000, () => 1), 10_000);
  t.is(backoffDelay(40, 100, 10_000, () => 0), 5_000);
});

test('the collector serves the standard gRPC health service over mTLS', async (t) => {
  const tc = await startTestCollector({ nodes: ['node-a'] });
  t.teardown(() => tc.close());
  const def = grpc.loadPackageDefinition(protoLoader.loadSync(healthProto, { enums: String })) as any;
  const creds = grpc.credentials.createSsl(tc.ca, readFileSync(tc.pki.agents['node-a']!.key), readFileSync(tc.pki.agents['node-a']!.cert));
  const client = new def.grpc.health.v1.Health(tc.grpcAddress, creds);
  const check = (service: string) => new Promise<any>((resolve, reject) =>
    client.Check({ service }, (err: Error | null, res: unknown) => (err ? reject(err) : resolve(res))));
  t.is((await check('')).status, 'SERVING');
  t.is((await check('nodeward.v1.AgentService')).status, 'SERVING');
  const unknown = await check('no.such.Service').catch((e: grpc.ServiceError) => e);
  t.is((unknown as grpc.ServiceError).code, grpc.status.NOT_FOUND);
  client.close();
});

test('the reporter drains the spool into the collector and drops (and counts) a message the collector refuses', async (t) => {
  const tc = await startTestCollector({ nodes: ['node-a'] });
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-reporter-'));
  const spool = openSpool({ dir, maxItems: 1000, maxBytes: 1 << 20 });
  const reporter = createReporter({
    address: tc.grpcAddress, insecure: false, caFile: tc.pki.caCert, certFile: tc.pki.agents['node-a']!.cert,
    keyFile: tc.pki.agents['node-a']!.key, serverName: '', heartbeatMs: 60_000, backoffBaseMs: 20, backoffMaxMs: 200,
    window: 4, connectTimeoutMs: 2000,
  }, { spool, log: createLogger('test', 'silent'), hello: async () => ({ node: 'node-a', agentVersion: 'test' }) });
  t.teardown(async () => {
    await reporter.stop();
    spool.close();
    await tc.close();
    await rm(dir, { recursive: true, force: true });
  });

  const finding = (subject: string, checkId = 'proc-unexpected') => ({
    checkId, subject, title: 't', category: 'process', severity: 'SEVERITY_HIGH' as const, status: 'STATUS_FAIL' as const,
    observedAtMs: Date.now(), occurrences: 1, seen: 'scan',
  });
  for (let i = 0; i < 10; i++) spool.addBatch({ findings: [finding(`/opt/tool-${i}`)] });
  spool.addBatch({ findings: [finding('/bad', 'NOT A CHECK ID')] });
  spool.addBatch({ findings: [finding('/opt/after-the-bad-one')] });
  await reporter.start();

  await eventually('the spool to drain', () => (spool.stats().entries === 0 ? true : undefined), 15_000);
  t.is(spool.stats().rejected, 1, 'the invalid message is dropped and counted');
  t.is(reporter.acked, 11);
  const res = await httpsJson<{ items: Array<{ subject: string }> }>(`${tc.apiUrl}/api/v1/findings?node=node-a&limit=100`, { ca: tc.ca, token: ADMIN_TOKEN });
  t.is(res.body.items.length, 11);
  t.true(res.body.items.some((f) => f.subject === '/opt/after-the-bad-one'));
});
