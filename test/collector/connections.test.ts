// Connections a peer without credentials can open: the gRPC port's TLS handshake deadline
// and its caps (total and per source address), the same caps in plain-text mode, and the
// API's handshake deadline and total cap. Real sockets against a real collector; deadlines
// are short and configured, and every wait is for a close event or a counter.
import test, { type ExecutionContext } from 'ava';
import * as grpc from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect as http2Connect } from 'node:http2';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import { firstRecordLength } from '../../collector/connection-guard.js';
import { checkProperty, fc } from '../helpers/property.js';
import { certificateNode } from '../../collector/ingest/agent-service.js';
import { createGrpcServer } from '../../collector/ingest/grpc-server.js';
import { createMetrics } from '../../collector/metrics.js';
import { initPki } from '../../collector/pki/pki.js';
import { createLogger } from '../../proto/support/logger.js';
import type { AgentServiceHandlers } from '../../proto/gen/nodeward/v1/AgentService.js';
import { fingerprint } from '../../proto/fingerprint.js';
import type { AgentMessage } from '../../proto/load.js';
import { openRawStream, type RawStream } from '../helpers/grpc-client.js';
import { eventually, httpsJson } from '../helpers/https.js';
import { halfOpenTls, rawPeer, within, type RawPeer } from '../helpers/sockets.js';
import { startTestCollector, ADMIN_TOKEN, type TestCollector } from '../helpers/collector.js';

async function collector(t: ExecutionContext, overrides: Record<string, unknown>): Promise<TestCollector> {
  const tc = await startTestCollector({ nodes: ['node-a'], overrides });
  t.teardown(() => tc.close());
  return tc;
}

const hello = (node: string, epoch: string): AgentMessage => ({
  hello: { node, agentVersion: 'test', epoch, host: { os: 'Test OS', kernel: '6.1', arch: 'x64', cpus: 2 } },
});

const batch = (sequence: number, subject: string): AgentMessage => ({
  findingBatch: {
    sequence,
    findings: [{
      checkId: 'proc-unexpected', subject, title: 'Unexpected process', category: 'process', severity: 'SEVERITY_HIGH',
      status: 'STATUS_FAIL', observedAtMs: Date.now(), occurrences: 1, seen: 'scan', detailJson: '{"pid":42}',
    }],
  },
});

const open = (tc: TestCollector, listener: string): number => tc.collector.metrics.get('nodeward_connections_open', { listener });
const refused = (tc: TestCollector, listener: string, reason: string): number =>
  tc.collector.metrics.get('nodeward_connections_refused_total', { listener, reason });
const timeouts = (tc: TestCollector, listener: string): number => tc.collector.metrics.get('nodeward_tls_handshake_timeouts_total', { listener });
const grpcPort = (tc: TestCollector): number => tc.collector.grpcPort;

/** Sends a batch on a stream whose hello is sent, and returns its ack. */
async function acked(s: RawStream, sequence: number, subject: string) {
  s.send(batch(sequence, subject));
  const ended = s.ended.then((e): never => {
    throw new Error(`the stream ended before ack ${sequence}: code ${e.code}, ${e.details}`);
  });
  const [m] = await Promise.race([s.receive(1), ended]);
  return m?.ack;
}

/** The node a stored finding belongs to, read back through the API. */
async function storedNode(tc: TestCollector, node: string, subject: string): Promise<string | undefined> {
  const res = await httpsJson<{ items: Array<{ id: string; node: string }> }>(`${tc.apiUrl}/api/v1/findings?check=proc-unexpected`, { ca: tc.ca, token: ADMIN_TOKEN });
  return res.body.items.find((f) => f.id === fingerprint(node, 'proc-unexpected', subject))?.node;
}

const agent = (tc: TestCollector) => openRawStream(tc.grpcAddress, { ca: tc.pki.caCert, cert: tc.pki.agents['node-a']!.cert, key: tc.pki.agents['node-a']!.key });

async function peers(n: number, make: () => RawPeer): Promise<RawPeer[]> {
  const all = Array.from({ length: n }, make);
  await Promise.all(all.map((p) => p.connected));
  return all;
}

test('half-open TLS connections on the gRPC port are closed at the handshake deadline and counted, a dribbling one too, while an agent streams on', async (t) => {
  // Short, yet long enough for a real handshake in a busy test process (collector and clients share it).
  const tc = await collector(t, { 'grpc.handshakeTimeoutMs': 2000 });
  // An agent first: its established stream must outlive the deadline.
  const s = agent(tc);
  t.teardown(() => s.close());
  s.send(hello('node-a', 'e-deadline'));
  t.like(await acked(s, 1, '/before/deadline'), { sequence: 1, code: 0 });
  const agentConnections = open(tc, 'grpc');

  const silent = await peers(5, () => halfOpenTls(grpcPort(tc)));
  // Node's own handshake timeout is an idle timeout: a byte every 50 ms would hold it forever
  // (and with most of the first record's 200 bytes still to come, the collector has no TLS state for it yet).
  const [dribbler] = await peers(1, () => halfOpenTls(grpcPort(tc), { dribbleEveryMs: 50 }));
  await within('half-open connections closed by the collector', Promise.all([...silent, dribbler!].map((p) => p.closed)));
  t.is(timeouts(tc, 'grpc'), 6);
  await eventually('the half-open connections no longer counted as open', () => (open(tc, 'grpc') === agentConnections ? true : undefined));

  t.like(await acked(s, 2, '/after/deadline'), { sequence: 2, code: 0 }, 'the stream opened before the deadline is still served');
  t.is(await storedNode(tc, 'node-a', '/after/deadline'), 'node-a', 'identified by its certificate');
});

test('over the per-source cap a connection is refused at once and counted; another source still gets served', async (t) => {
  const tc = await collector(t, { 'grpc.maxConnectionsPerSource': 3 });
  const crowd = await peers(3, () => rawPeer(grpcPort(tc), { localAddress: '127.0.0.2' }));
  t.teardown(() => crowd.forEach((p) => p.close()));
  await eventually('three connections from 127.0.0.2 counted', () => (open(tc, 'grpc') === 3 ? true : undefined));
  const fourth = rawPeer(grpcPort(tc), { localAddress: '127.0.0.2' });
  await within('the fourth connection from 127.0.0.2 closed', fourth.closed);
  t.is(refused(tc, 'grpc', 'source_cap'), 1);
  t.false(crowd.some((p) => p.isClosed()), 'the three within the cap stay open');

  // 127.0.0.1 is another source: a real agent with its certificate streams and is identified.
  const s = agent(tc);
  t.teardown(() => s.close());
  s.send(hello('node-a', 'e-source'));
  t.like(await acked(s, 1, '/other/source'), { sequence: 1, code: 0 });
  t.is(await storedNode(tc, 'node-a', '/other/source'), 'node-a');
  t.is(refused(tc, 'grpc', 'source_cap'), 1);

  // A spoofing agent is still refused with PERMISSION_DENIED by name, not by the caps.
  const spoof = agent(tc);
  spoof.send(hello('node-b', 'e-spoof'));
  t.is((await spoof.ended).code, grpc.status.PERMISSION_DENIED);
});

test('over the total cap a connection is refused at once and counted; once others close, agents get in again', async (t) => {
  const tc = await collector(t, { 'grpc.maxConnections': 2, 'grpc.maxConnectionsPerSource': 0 });
  const two = await peers(2, () => rawPeer(grpcPort(tc)));
  await eventually('two connections counted', () => (open(tc, 'grpc') === 2 ? true : undefined));
  const third = rawPeer(grpcPort(tc), { localAddress: '127.0.0.3' });
  await within('the third connection closed', third.closed);
  t.is(refused(tc, 'grpc', 'total_cap'), 1);
  two.forEach((p) => p.close());
  await eventually('the two closed connections released', () => (open(tc, 'grpc') === 0 ? true : undefined));
  const s = agent(tc);
  t.teardown(() => s.close());
  s.send(hello('node-a', 'e-total'));
  t.like(await acked(s, 1, '/after/total'), { sequence: 1, code: 0 });
});

test('plain-text gRPC keeps working, under the same caps', async (t) => {
  const tc = await collector(t, { 'grpc.insecure': true, 'grpc.maxConnectionsPerSource': 2 });
  const s = openRawStream(tc.grpcAddress, 'insecure');
  t.teardown(() => s.close());
  s.send(hello('node-a', 'e-plain'));
  t.like(await acked(s, 1, '/plain/text'), { sequence: 1, code: 0 });
  const two = await peers(2, () => rawPeer(grpcPort(tc), { localAddress: '127.0.0.2' }));
  t.teardown(() => two.forEach((p) => p.close()));
  await eventually('the agent and two from 127.0.0.2 counted', () => (open(tc, 'grpc') === 3 ? true : undefined));
  const third = rawPeer(grpcPort(tc), { localAddress: '127.0.0.2' });
  await within('the third connection from 127.0.0.2 closed', third.closed);
  t.is(refused(tc, 'grpc', 'source_cap'), 1);
  t.like(await acked(s, 2, '/plain/still'), { sequence: 2, code: 0 });
});

test('the HTTPS API closes half-open connections at its handshake deadline and caps connections in total, not per source', async (t) => {
  const tc = await collector(t, { 'api.handshakeTimeoutMs': 2000, 'api.maxConnections': 3 });
  const port = tc.collector.apiPort;
  const half = await peers(2, () => halfOpenTls(port));
  await within('half-open API connections closed', Promise.all(half.map((p) => p.closed)));
  t.is(timeouts(tc, 'api'), 2);
  await eventually('released', () => (open(tc, 'api') === 0 ? true : undefined));

  // Three completed TLS connections from three sources fill the cap; a fourth is refused.
  const tlsClients = await Promise.all(['127.0.0.1', '127.0.0.2', '127.0.0.3'].map((localAddress) => new Promise<ReturnType<typeof tlsConnect>>((resolve, reject) => {
    const c = tlsConnect({ socket: netConnect({ port, host: '127.0.0.1', localAddress }), ca: tc.ca, servername: 'localhost' }, () => resolve(c));
    c.once('error', reject);
  })));
  t.teardown(() => tlsClients.forEach((c) => c.destroy()));
  await eventually('three API connections counted', () => (open(tc, 'api') === 3 ? true : undefined));
  const fourth = rawPeer(port, { localAddress: '127.0.0.4' });
  await within('the fourth API connection closed', fourth.closed);
  t.is(refused(tc, 'api', 'total_cap'), 1);
  t.is(refused(tc, 'api', 'source_cap'), 0);
  tlsClients.forEach((c) => c.destroy());
  await eventually('released', () => (open(tc, 'api') === 0 ? true : undefined));
  const health = await httpsJson(`${tc.apiUrl}/healthz`, { ca: tc.ca });
  t.is(health.status, 200);
});

test('connections handed to grpc-js after our handshake keep the peer certificate and the server keepalive', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-grpc-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const pki = await initPki(join(dir, 'pki'), { nodes: ['node-a'], collectorHosts: ['localhost', '127.0.0.1'] });
  const seen: Array<string | undefined> = [];
  const handlers: AgentServiceHandlers = {
    Connect(call) {
      seen.push(certificateNode(call));
      call.end();
    },
  };
  const server = createGrpcServer({
    listen: '127.0.0.1:0', insecure: false, maxMessageBytes: 1 << 20, keepaliveTimeMs: 100,
    tls: { ca: readFileSync(pki.caCert), cert: readFileSync(pki.collectorCert), key: readFileSync(pki.collectorKey) },
    connections: { handshakeTimeoutMs: 5000, maxConnections: 16, maxConnectionsPerSource: 16 },
  }, handlers, { log: createLogger('grpc', 'silent'), metrics: createMetrics() });
  await server.start();
  t.teardown(() => server.stop(100));

  const s = openRawStream(`localhost:${server.port}`, { ca: pki.caCert, cert: pki.agents['node-a']!.cert, key: pki.agents['node-a']!.key });
  t.is((await s.ended).code, grpc.status.OK);
  s.close();
  t.deepEqual(seen, ['node-a'], 'the handler read the node from the client certificate');

  // An idle HTTP/2 connection with a client certificate: the server pings it.
  const session = http2Connect(`https://127.0.0.1:${server.port}`, {
    ca: readFileSync(pki.caCert), cert: readFileSync(pki.agents['node-a']!.cert), key: readFileSync(pki.agents['node-a']!.key), servername: 'localhost',
  });
  t.teardown(() => session.destroy());
  await within('a keepalive ping from the server', new Promise<void>((resolve) => session.once('ping', () => resolve())));
  t.pass();
});

test('a ClientHello that arrives a few bytes at a time still completes the handshake, and grpc-js then speaks HTTP/2', async (t) => {
  const tc = await collector(t, {});
  const tcp = netConnect({ port: grpcPort(tc), host: '127.0.0.1' });
  tcp.setNoDelay(true);
  // Every write leaves in 5-byte pieces 2 ms apart: the collector reads the ClientHello in many reads.
  const slow = new Duplex({
    write(chunk: Buffer, _enc, done) {
      void (async () => {
        for (let i = 0; i < chunk.length; i += 5) {
          tcp.write(chunk.subarray(i, i + 5));
          await new Promise((r) => setTimeout(r, 2));
        }
        done();
      })();
    },
    read() {},
  });
  tcp.on('data', (d: Buffer) => slow.push(d));
  tcp.on('end', () => slow.push(null));
  t.teardown(() => tcp.destroy());
  const client = tlsConnect({
    socket: slow, servername: 'localhost', ALPNProtocols: ['h2'],
    ca: readFileSync(tc.pki.caCert), cert: readFileSync(tc.pki.agents['node-a']!.cert), key: readFileSync(tc.pki.agents['node-a']!.key),
  });
  await within('the TLS handshake', new Promise<void>((resolve, reject) => {
    client.once('secureConnect', resolve);
    client.once('error', reject);
  }));
  t.is(client.alpnProtocol, 'h2');
  t.true(client.authorized);
  // The server's HTTP/2 preface (a SETTINGS frame, type 4) comes once grpc-js has the connection.
  const first = await within('the server preface', new Promise<Buffer>((resolve) => client.once('data', resolve)));
  t.is(first[3], 4);
  t.is(timeouts(tc, 'grpc'), 0);
});

test('the first-record reader tells whole, incomplete and non-TLS starts apart, and never throws', async (t) => {
  const record = (body: Buffer): Buffer => Buffer.concat([Buffer.from([22, 3, 1, body.length >> 8, body.length & 0xff]), body]);
  const hello = record(Buffer.alloc(200, 1));
  t.is(firstRecordLength(hello), 205);
  t.is(firstRecordLength(Buffer.concat([hello, Buffer.from([23, 3, 3])])), 205, 'what follows the record stays for TLS');
  for (let n = 0; n < 205; n++) t.is(firstRecordLength(hello.subarray(0, n)), 0, `${n} bytes are not a whole record yet`);
  t.is(firstRecordLength(Buffer.from('PRI * HTTP/2.0\r\n')), -1, 'plain HTTP/2 goes straight to TLS, which refuses it');
  t.is(firstRecordLength(Buffer.from([22, 3, 1, 0xff, 0xff])), -1, 'a record longer than TLS allows');
  await checkProperty(t, fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
    const n = firstRecordLength(Buffer.from(bytes));
    return n === -1 || n === 0 || (n >= 5 && n <= bytes.length);
  }), 2000);
});
