// The collector's gRPC ingest over real mTLS on loopback: identity from the certificate,
// acks after commit, idempotency, and rejections that store nothing.
import test from 'ava';
import * as grpc from '@grpc/grpc-js';
import { join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { createCa, issueClientCertificate } from '../../collector/pki/pki.js';
import { fingerprint } from '../../proto/fingerprint.js';
import type { AgentMessage } from '../../proto/load.js';
import { openRawStream } from '../helpers/grpc-client.js';
import { httpsJson } from '../helpers/https.js';
import { startTestCollector, ADMIN_TOKEN, type TestCollector } from '../helpers/collector.js';

let tc: TestCollector;
test.before(async () => {
  tc = await startTestCollector({ nodes: ['node-a', 'node-b'] });
});
test.after.always(async () => {
  await tc?.close();
});

const agentCreds = (node: string) => ({ ca: tc.pki.caCert, cert: tc.pki.agents[node]!.cert, key: tc.pki.agents[node]!.key });

const hello = (node: string, epoch = 'epoch-1'): AgentMessage => ({
  hello: { node, agentVersion: 'test', epoch, host: { os: 'Test OS', kernel: '6.1', arch: 'x64', cpus: 2 } },
});

const batch = (sequence: number, subject: string, node = ''): AgentMessage => ({
  findingBatch: {
    sequence, node,
    findings: [{
      checkId: 'proc-unexpected', subject, title: 'Unexpected process', category: 'process', severity: 'SEVERITY_HIGH',
      status: 'STATUS_FAIL', observedAtMs: Date.now(), occurrences: 2, seen: 'scan', detailJson: '{"pid":42}',
    }],
  },
});

async function findings(query: string): Promise<any[]> {
  const res = await httpsJson<{ items: any[] }>(`${tc.apiUrl}/api/v1/findings?${query}`, { ca: tc.ca, token: ADMIN_TOKEN });
  if (res.status !== 200) throw new Error(`status ${res.status}: ${res.text}`);
  return res.body.items;
}

test.serial('a batch is acked after commit, and the same batch sent twice changes no count', async (t) => {
  const s = openRawStream(tc.grpcAddress, agentCreds('node-a'));
  s.send(hello('node-a'));
  s.send(batch(1, '/usr/bin/nc'));
  const [first] = await s.receive(1);
  t.is(first?.ack?.sequence, 1);
  t.is(first?.ack?.code, 0);
  t.false(first?.ack?.duplicate);
  const id = fingerprint('node-a', 'proc-unexpected', '/usr/bin/nc');
  const [row] = await findings(`node=node-a&check=proc-unexpected`);
  t.is(row.id, id);
  t.is(row.count, 2);
  t.is(row.state, 'open');
  t.deepEqual(row.detail, { pid: 42 });

  s.send(batch(1, '/usr/bin/nc'));
  const [second] = await s.receive(1);
  t.is(second?.ack?.sequence, 1);
  t.true(second?.ack?.duplicate);
  t.is((await findings(`node=node-a&check=proc-unexpected`))[0].count, 2, 'a resent batch must not add occurrences');

  s.send(batch(2, '/usr/bin/nc'));
  await s.receive(1);
  t.is((await findings(`node=node-a&check=proc-unexpected`))[0].count, 4, 'a new batch adds its occurrences');
  s.close();

  // A new stream with the same epoch resending sequence 2 is still a duplicate.
  const again = openRawStream(tc.grpcAddress, agentCreds('node-a'));
  again.send(hello('node-a'));
  again.send(batch(2, '/usr/bin/nc'));
  const [dup] = await again.receive(1);
  t.true(dup?.ack?.duplicate);
  t.is((await findings(`node=node-a&check=proc-unexpected`))[0].count, 4);
  again.close();
});

test.serial('an invalid batch is refused with INVALID_ARGUMENT in its ack and the stream stays usable', async (t) => {
  const s = openRawStream(tc.grpcAddress, agentCreds('node-a'));
  s.send(hello('node-a', 'epoch-invalid'));
  s.send({ findingBatch: { sequence: 1, findings: [{ checkId: 'Bad Id!', subject: 'x', category: 'process', severity: 'SEVERITY_HIGH', status: 'STATUS_FAIL', observedAtMs: 1 }] } });
  s.send(batch(2, '/tmp/evil'));
  const [bad, good] = await s.receive(2);
  t.is(bad?.ack?.code, grpc.status.INVALID_ARGUMENT);
  t.regex(bad?.ack?.message ?? '', /checkId/);
  t.is(good?.ack?.code, 0);
  t.is((await findings('q=%2Ftmp%2Fevil')).length, 1);
  s.close();
});

test.serial('a client without a certificate is refused and stores nothing', async (t) => {
  const s = openRawStream(tc.grpcAddress, { ca: tc.pki.caCert });
  s.send(hello('node-x'));
  s.send(batch(1, '/no/cert'));
  const end = await s.ended;
  t.is(end.code, grpc.status.UNAVAILABLE);
  t.deepEqual(await findings('q=%2Fno%2Fcert'), []);
});

test.serial('a certificate from another CA is refused and stores nothing', async (t) => {
  const other = await createCa(null, { commonName: 'someone else' });
  const dir = join(tc.dir, 'rogue');
  await mkdir(dir);
  await issueClientCertificate(other, 'node-a', { out: { cert: join(dir, 'node-a.crt'), key: join(dir, 'node-a.key') } });
  const s = openRawStream(tc.grpcAddress, { ca: tc.pki.caCert, cert: join(dir, 'node-a.crt'), key: join(dir, 'node-a.key') });
  s.send(hello('node-a', 'rogue-epoch'));
  s.send(batch(1, '/rogue/ca'));
  const end = await s.ended;
  t.is(end.code, grpc.status.UNAVAILABLE);
  t.deepEqual(await findings('q=%2Frogue%2Fca'), []);
});

test.serial('node A cannot speak for node B: in the hello or in a batch', async (t) => {
  const viaHello = openRawStream(tc.grpcAddress, agentCreds('node-a'));
  viaHello.send(hello('node-b'));
  viaHello.send(batch(1, '/claims/b'));
  const e1 = await viaHello.ended;
  t.is(e1.code, grpc.status.PERMISSION_DENIED);
  t.regex(e1.details, /certificate is for node "node-a"; hello claims node "node-b"/);

  const viaBatch = openRawStream(tc.grpcAddress, agentCreds('node-a'));
  viaBatch.send(hello('node-a', 'epoch-claim'));
  viaBatch.send(batch(1, '/claims/b2', 'node-b'));
  const e2 = await viaBatch.ended;
  t.is(e2.code, grpc.status.PERMISSION_DENIED);
  t.regex(e2.details, /claims node "node-b"/);

  t.deepEqual(await findings('q=%2Fclaims'), []);
  const nodes = await httpsJson<{ items: Array<{ name: string }> }>(`${tc.apiUrl}/api/v1/nodes`, { ca: tc.ca, token: ADMIN_TOKEN });
  t.false(nodes.body.items.some((n) => n.name === 'node-b'), 'node-b must not appear in the inventory');
});

test.serial('a message before the hello ends the stream with FAILED_PRECONDITION', async (t) => {
  const s = openRawStream(tc.grpcAddress, agentCreds('node-a'));
  s.send(batch(1, '/before/hello'));
  t.is((await s.ended).code, grpc.status.FAILED_PRECONDITION);
  t.deepEqual(await findings('q=%2Fbefore'), []);
});

test.serial('a message larger than the cap is refused with RESOURCE_EXHAUSTED', async (t) => {
  const s = openRawStream(tc.grpcAddress, agentCreds('node-a'));
  s.send(hello('node-a', 'epoch-big'));
  s.send({ findingBatch: { sequence: 1, findings: [{ checkId: 'proc-unexpected', subject: 'x'.repeat(5 * 1024 * 1024), category: 'process', severity: 'SEVERITY_HIGH', status: 'STATUS_FAIL', observedAtMs: 1 }] } });
  t.is((await s.ended).code, grpc.status.RESOURCE_EXHAUSTED);
});
