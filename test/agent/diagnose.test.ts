// Why an agent cannot reach its collector (agent/report/diagnose.ts), against real servers on
// loopback: a closed port, a silent one, TLS servers with a certificate from another CA, for
// another name, expired, and one that refuses the agent's certificate; then a real collector that
// refuses the node, seen through the reporter's status and its rate-limited warning.
import test from 'ava';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer as createNetServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createServer as createTlsServer } from 'node:tls';
import { classifyError, diagnoseConnection, splitAddress, type DiagnoseTarget } from '../../agent/report/diagnose.js';
import { createReporter } from '../../agent/report/client.js';
import { openSpool } from '../../agent/report/spool.js';
import { createLogger } from '../../proto/support/logger.js';
import { createTestCa, daysFromNow, issueTestCert, type TestCa } from '../helpers/certs.js';
import { startTestCollector } from '../helpers/collector.js';
import { checkProperty, fc } from '../helpers/property.js';

interface Files { ca: string; cert: string; key: string }

async function files(t: import('ava').ExecutionContext, ca: TestCa): Promise<Files> {
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-diagnose-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const client = await issueTestCert(ca, { cn: 'node-a', usages: ['clientAuth'] });
  const f = { ca: join(dir, 'ca.crt'), cert: join(dir, 'agent.crt'), key: join(dir, 'agent.key') };
  await writeFile(f.ca, ca.certPem);
  await writeFile(f.cert, client.certPem);
  await writeFile(f.key, client.keyPem);
  return f;
}

/** Listens on a free loopback port; closed at the end of the test with its connections. */
async function listen(t: import('ava').ExecutionContext, s: Server): Promise<number> {
  const open = new Set<Socket>();
  s.on('connection', (c: Socket) => {
    open.add(c);
    c.on('error', () => undefined).once('close', () => open.delete(c));
  });
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const c of open) c.destroy();
    if (s.listening) s.close();
  });
  return (s.address() as AddressInfo).port;
}

function target(f: Files, address: string, over: Partial<DiagnoseTarget> = {}): DiagnoseTarget {
  return { address, insecure: false, caFile: f.ca, certFile: f.cert, keyFile: f.key, serverName: '', timeoutMs: 1500, ...over };
}

/** A TLS server with a certificate from `serverCa` for `names`, asking for client certificates from `clientCa`. */
async function tlsServer(t: import('ava').ExecutionContext, serverCa: TestCa, clientCa: TestCa, opts: { dns?: string[]; ips?: string[]; notAfter?: Date } = {}): Promise<number> {
  const cert = await issueTestCert(serverCa, { cn: 'collector', dns: opts.dns ?? [], ips: opts.ips ?? ['127.0.0.1'], usages: ['serverAuth'], ...(opts.notAfter ? { notAfter: opts.notAfter, notBefore: daysFromNow(-30) } : {}) });
  // An accepted connection is held open, as a gRPC server holds it waiting for the HTTP/2 preface.
  const s = createTlsServer({ cert: cert.certPem, key: cert.keyPem, ca: clientCa.certPem, requestCert: true, rejectUnauthorized: true, ALPNProtocols: ['h2'] }, (c) => {
    c.on('error', () => undefined);
    t.teardown(() => c.destroy());
  });
  s.on('tlsClientError', () => undefined);
  return listen(t, s);
}

test('the layer that fails is named: address, name, port, silence', async (t) => {
  const ca = await createTestCa();
  const f = await files(t, ca);
  t.like(await diagnoseConnection(target(f, 'no-port-here')), { problem: 'ADDRESS' });
  t.like(await diagnoseConnection(target(f, 'nodeward-no-such-host.invalid:443')), { problem: 'DNS' });
  const closed = createNetServer();
  const port = await listen(t, closed);
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  const refused = await diagnoseConnection(target(f, `127.0.0.1:${port}`));
  t.like(refused, { problem: 'REFUSED' });
  t.regex(refused!.hint, /collector runs and listens/);
  // Accepts the connection and never answers the ClientHello.
  const silent = createNetServer((c) => c.on('error', () => undefined));
  const silentPort = await listen(t, silent);
  t.like(await diagnoseConnection(target(f, `127.0.0.1:${silentPort}`, { timeoutMs: 300 })), { problem: 'UNREACHABLE' });
  t.like(await diagnoseConnection(target({ ...f, key: join(tmpdir(), 'nodeward-missing.key') }, `127.0.0.1:${silentPort}`)), { problem: 'CREDENTIALS' });
});

test('TLS: another CA, another name, an expired certificate, the agent refused; and a server that is right', async (t) => {
  const ca = await createTestCa({ cn: 'agent trust' });
  const other = await createTestCa({ cn: 'someone else' });
  const f = await files(t, ca);
  t.like(await diagnoseConnection(target(f, `127.0.0.1:${await tlsServer(t, other, ca)}`)), { problem: 'TLS_UNKNOWN_CA' });
  t.like(await diagnoseConnection(target(f, `127.0.0.1:${await tlsServer(t, ca, ca, { dns: ['other.example'], ips: [] })}`, { serverName: 'collector.example' })), { problem: 'TLS_NAME' });
  t.like(await diagnoseConnection(target(f, `127.0.0.1:${await tlsServer(t, ca, ca, { notAfter: daysFromNow(-1) })}`)), { problem: 'TLS_EXPIRED' });
  t.like(await diagnoseConnection(target(f, `127.0.0.1:${await tlsServer(t, ca, other)}`)), { problem: 'TLS_REJECTED' });
  t.is(await diagnoseConnection(target(f, `127.0.0.1:${await tlsServer(t, ca, ca)}`)), null);
});

test('property: addresses and errors are classified, never thrown over', async (t) => {
  await checkProperty(t, fc.property(fc.string({ maxLength: 80 }), (a) => {
    const r = splitAddress(a);
    return r === null || (r.port >= 1 && r.port <= 65_535 && r.host.length > 0);
  }), 500);
  await checkProperty(t, fc.property(fc.anything(), (e) => typeof classifyError(e).problem === 'string'), 500);
  t.deepEqual(splitAddress('[::1]:8443'), { host: '::1', port: 8443 });
  t.deepEqual(splitAddress('dns:///collector.nodeward:8443'), { host: 'collector.nodeward', port: 8443 });
});

test('a real collector refusing the node: the reporter says PERMISSION_DENIED in its status and warns once, not at every retry', async (t) => {
  t.timeout(60_000);
  const tc = await startTestCollector({ nodes: ['node-a', 'node-b'] });
  t.teardown(() => tc.close());
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-diagnose-spool-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const spool = openSpool({ dir, maxItems: 100, maxBytes: 1 << 20 });
  t.teardown(() => spool.close());
  const warnings: string[] = [];
  const sink = new Writable({ write(chunk: Buffer, _enc, done) { warnings.push(chunk.toString()); done(); } });
  const log = createLogger('agent', 'warn', sink);
  const b = tc.pki.agents['node-b']!;
  // node-b's certificate, with a hello that claims node-a.
  const reporter = createReporter({
    address: tc.grpcAddress, insecure: false, caFile: tc.pki.caCert, certFile: b.cert, keyFile: b.key, serverName: '', heartbeatMs: 60_000,
    backoffBaseMs: 20, backoffMaxMs: 50, window: 8, connectTimeoutMs: 2000,
  }, { spool, log, hello: async () => ({ node: 'node-a', agentVersion: 'test', baselineVersion: 0, hostBaselineKey: 'host/worker' }) });
  t.teardown(() => reporter.stop());
  await reporter.start();
  const deadline = Date.now() + 20_000;
  while ((reporter.status().problem?.attempts ?? 0) < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const st = reporter.status();
  t.like(st.problem, { problem: 'PERMISSION_DENIED' });
  t.true(st.problem!.attempts >= 5, 'it kept retrying');
  t.regex(st.problem!.detail, /certificate is for node "node-b"/);
  const refusals = warnings.filter((l) => l.includes('cannot reach the collector'));
  t.is(refusals.length, 1, 'one warning for one lasting problem');
});
