// The etcd probe against real servers on 127.0.0.1 port 0, without etcd: a TLS server that
// requires client certificates, one that asks for none, a plain HTTP server, a closed port
// and a silent one. Then the whole road on a fixture control plane whose etcd advertises
// those servers: facts -> etcd-client-cert-auth-live / etcd-plaintext-live. What the servers
// saw proves that the probe presents no certificate and sends no credential. (A real etcd:
// test/e2e/etcd-live.test.ts.)
import test, { type ExecutionContext } from 'ava';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createTcpServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { initPki } from '../../collector/pki/pki.js';
import type { Result } from '../../proto/domain.js';
import { CATALOG, evaluate, selectChecks } from '../../agent/checks/index.js';
import { etcdProbeTarget, probeEtcdEndpoint } from '../../agent/facts/etcd-probe.js';
import { collectFacts } from '../../agent/facts/index.js';
import { parseCmdline } from '../../agent/facts/proc.js';
import { freePort as closedPort } from '../helpers/etcd.js';
import { prepareFixture, writeCmdline } from '../helpers/fixture.js';

const ETCD_PID = 1104;
const VERSION_BODY = '{"etcdserver":"3.4.23","etcdcluster":"3.4.0"}';
const LIVE = selectChecks(CATALOG, ['etcd-client-cert-auth-live', 'etcd-plaintext-live']);
const PROBE = { timeoutMs: 3000, maxUrls: 4 };

interface Seen {
  readonly path: string | undefined;
  readonly authorization: string | undefined;
  readonly clientCert: boolean;
}

const listen = async (t: ExecutionContext, server: Server): Promise<number> => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as AddressInfo).port;
};

function etcdLike(seen: Seen[]) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const peer = (req.socket as Partial<TLSSocket>).getPeerCertificate?.() ?? null;
    seen.push({ path: req.url, authorization: req.headers.authorization, clientCert: peer !== null && Object.keys(peer).length > 0 });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(VERSION_BODY);
  };
}

/** An HTTPS server shaped like etcd's client port: `requireCert` is --client-cert-auth. */
async function tlsEtcd(t: ExecutionContext, requireCert: boolean): Promise<{ port: number; seen: Seen[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-etcd-probe-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const pki = await initPki(join(dir, 'pki'), { nodes: ['probe-node'], collectorHosts: ['127.0.0.1'] });
  const seen: Seen[] = [];
  const server = createHttpsServer({
    cert: await readFile(pki.collectorCert),
    key: await readFile(pki.collectorKey),
    ca: await readFile(pki.caCert),
    // Both ask for a certificate; only the one that requires it refuses a client without one.
    requestCert: true,
    rejectUnauthorized: requireCert,
  }, etcdLike(seen));
  return { port: await listen(t, server), seen };
}

async function plainEtcd(t: ExecutionContext): Promise<{ port: number; seen: Seen[] }> {
  const seen: Seen[] = [];
  return { port: await listen(t, createHttpServer(etcdLike(seen))), seen };
}

test('TLS without a client certificate: refused by a server that requires one, served by one that does not; nothing is presented', async (t) => {
  const strict = await tlsEtcd(t, true);
  t.like(await probeEtcdEndpoint('tls', '127.0.0.1', strict.port, 3000), { outcome: 'cert-required', statusCode: null });
  t.deepEqual(strict.seen, [], 'the request never reached the handler');

  const lax = await tlsEtcd(t, false);
  t.deepEqual(await probeEtcdEndpoint('tls', '127.0.0.1', lax.port, 3000), { outcome: 'served', statusCode: 200, detail: 'HTTP 200 to GET /version (etcd 3.4.23)' });
  t.deepEqual(lax.seen, [{ path: '/version', authorization: undefined, clientCert: false }]);
});

test('plain text: a plain server answers; a TLS-only port does not; TLS to a plain port is not TLS', async (t) => {
  const plain = await plainEtcd(t);
  t.deepEqual(await probeEtcdEndpoint('plain', '127.0.0.1', plain.port, 3000), { outcome: 'served', statusCode: 200, detail: 'HTTP 200 to GET /version (etcd 3.4.23)' });
  t.deepEqual(plain.seen, [{ path: '/version', authorization: undefined, clientCert: false }]);
  const tlsToPlain = await probeEtcdEndpoint('tls', '127.0.0.1', plain.port, 3000);
  t.true(['not-tls', 'no-handshake'].includes(tlsToPlain.outcome), tlsToPlain.detail);

  const strict = await tlsEtcd(t, true);
  const plainToTls = await probeEtcdEndpoint('plain', '127.0.0.1', strict.port, 3000);
  t.true(['no-answer', 'tls-only', 'not-http'].includes(plainToTls.outcome), `${plainToTls.outcome}: ${plainToTls.detail}`);
  t.is(plainToTls.statusCode, null);
});

test('a closed port is unreachable; a port that accepts and never answers times out', async (t) => {
  const port = await closedPort();
  t.like(await probeEtcdEndpoint('tls', '127.0.0.1', port, 3000), { outcome: 'unreachable' });
  t.like(await probeEtcdEndpoint('plain', '127.0.0.1', port, 3000), { outcome: 'unreachable' });
  const sockets: Socket[] = [];
  const silent = createTcpServer((s) => void sockets.push(s));
  const silentPort = await listen(t, silent);
  // Teardowns run last-registered first: the sockets must go before the server can close.
  t.teardown(() => sockets.forEach((s) => s.destroy()));
  t.deepEqual(await probeEtcdEndpoint('plain', '127.0.0.1', silentPort, 300), { outcome: 'timeout', statusCode: null, detail: 'no answer within 300 ms' });
  t.like(await probeEtcdEndpoint('tls', '127.0.0.1', silentPort, 300), { outcome: 'timeout' });
});

test('targets: only this node\'s addresses as written; names, other hosts and unix sockets are not probed', (t) => {
  const local = new Set(['10.1.2.3']);
  t.deepEqual(etcdProbeTarget('https://127.0.0.1:2379', local), { host: '127.0.0.1', port: 2379, secure: true });
  t.deepEqual(etcdProbeTarget('https://[::1]:2379', local), { host: '::1', port: 2379, secure: true });
  t.deepEqual(etcdProbeTarget('http://localhost:2379', local), { host: 'localhost', port: 2379, secure: false });
  t.deepEqual(etcdProbeTarget('https://10.1.2.3', local), { host: '10.1.2.3', port: 443, secure: true });
  t.regex((etcdProbeTarget('https://192.0.2.7:2379', local) as { skipped: string }).skipped, /not an address of this node/);
  t.regex((etcdProbeTarget('https://etcd.example.com:2379', local) as { skipped: string }).skipped, /resolves no name/);
  t.regex((etcdProbeTarget('unixs://etcd.sock:0', local) as { skipped: string }).skipped, /not probed/);
  t.regex((etcdProbeTarget('::not a url', local) as { skipped: string }).skipped, /not a URL/);
});

// ---- facts -> checks, on a control-plane fixture whose etcd advertises the test servers -----

/** The hardened kubeadm fixture with etcd's flags changed: `set` replaces, adds or (null) drops `--name=value`. */
async function scanEtcd(t: ExecutionContext, set: Record<string, string | null>, probe: typeof PROBE | null = PROBE): Promise<Result[]> {
  const fx = await prepareFixture('kubeadm-cp-hardened');
  t.teardown(fx.cleanup);
  const argv = parseCmdline(await readFile(join(fx.procRoot, String(ETCD_PID), 'cmdline')));
  const kept = argv.filter((a) => !Object.keys(set).some((n) => a.startsWith(`--${n}=`)));
  const added = Object.entries(set).flatMap(([n, v]) => (v === null ? [] : [`--${n}=${v}`]));
  await writeCmdline(fx.procRoot, ETCD_PID, [...kept, ...added]);
  const facts = await collectFacts({ hostRoot: fx.root, procRoot: fx.procRoot, etcdProbe: probe });
  t.false(JSON.stringify(facts.etcdProbe).includes('BEGIN'), 'no certificate material in the probe facts');
  return evaluate(facts, LIVE, new Date());
}

const pick = (rs: readonly Result[], id: string): Result[] => rs.filter((r) => r.id === id);

test('checks: etcd that requires client certificates and speaks only TLS passes both', async (t) => {
  const { port, seen } = await tlsEtcd(t, true);
  const url = `https://127.0.0.1:${port}`;
  const rs = await scanEtcd(t, { 'advertise-client-urls': url });
  t.like(pick(rs, 'etcd-client-cert-auth-live'), [{ subject: `etcd/${url}`, status: 'pass', actual: 'cert-required', severity: 'critical' }]);
  t.like(pick(rs, 'etcd-plaintext-live'), [{ subject: `etcd/${url}`, status: 'pass' }]);
  t.deepEqual(seen, []);
});

test('checks: etcd that claims client certificates but serves a client without one fails, critical', async (t) => {
  const { port, seen } = await tlsEtcd(t, false);
  const url = `https://127.0.0.1:${port}`;
  const rs = await scanEtcd(t, { 'advertise-client-urls': url });
  const [live] = pick(rs, 'etcd-client-cert-auth-live');
  t.like(live, { status: 'fail', severity: 'critical', actual: 'served' });
  t.regex(live?.reason ?? '', /answered a TLS client that presented no certificate: HTTP 200 to GET \/version \(etcd 3\.4\.23\), although client-cert-auth is true \(--client-cert-auth on the etcd command line\)/);
  t.like(pick(rs, 'etcd-plaintext-live'), [{ status: 'pass' }]);
  t.deepEqual(seen, [{ path: '/version', authorization: undefined, clientCert: false }]);
});

test('checks: etcd on plain http answers in clear text: both fail', async (t) => {
  const { port } = await plainEtcd(t);
  const url = `http://127.0.0.1:${port}`;
  const rs = await scanEtcd(t, { 'advertise-client-urls': url });
  t.like(pick(rs, 'etcd-client-cert-auth-live'), [{ subject: `etcd/${url}`, status: 'fail', actual: 'plain text' }]);
  const [plain] = pick(rs, 'etcd-plaintext-live');
  t.like(plain, { status: 'fail', severity: 'critical', actual: 'served' });
  t.regex(plain?.reason ?? '', /answered GET \/version in clear text: HTTP 200/);
});

test('checks: without --client-cert-auth and a trusted CA the live check fails with that reason, whatever the wire says', async (t) => {
  const { port } = await tlsEtcd(t, true);
  const url = `https://127.0.0.1:${port}`;
  const [live] = pick(await scanEtcd(t, { 'advertise-client-urls': url, 'client-cert-auth': 'false', 'trusted-ca-file': null }), 'etcd-client-cert-auth-live');
  t.like(live, { status: 'fail', source: 'flag', subject: `etcd/${url}` });
  t.regex(live?.reason ?? '', /does not require client certificates: client-cert-auth is false \(--client-cert-auth on the etcd command line\) and no --trusted-ca-file is set/);
  // Also when the probe is off: the settings alone decide it.
  const [off] = pick(await scanEtcd(t, { 'client-cert-auth': null, 'trusted-ca-file': null }, null), 'etcd-client-cert-auth-live');
  t.like(off, { status: 'fail', subject: 'etcd/client-urls' });
  t.regex(off?.reason ?? '', /client-cert-auth is false \(neither --client-cert-auth nor ETCD_CLIENT_CERT_AUTH is set; the etcd default\)/);
});

test('checks: a --trusted-ca-file makes etcd require client certificates without the flag: the wire decides', async (t) => {
  const { port } = await tlsEtcd(t, true);
  const url = `https://127.0.0.1:${port}`;
  const [live] = pick(await scanEtcd(t, { 'advertise-client-urls': url, 'client-cert-auth': null }), 'etcd-client-cert-auth-live');
  t.like(live, { status: 'pass', actual: 'cert-required' });
  t.regex(live?.reason ?? '', /but --trusted-ca-file is set \(--trusted-ca-file on the etcd command line\), which makes etcd require client certificates anyway/);
});

test('checks: probe off is skip; unreachable, remote and named URLs are errors that say why; no etcd is skip', async (t) => {
  const off = await scanEtcd(t, {}, null);
  t.like(pick(off, 'etcd-plaintext-live'), [{ status: 'skip', subject: 'etcd/client-urls', reason: 'the etcd probe is turned off (agent setting etcdProbe.enabled, or nodeward scan --no-probe)' }]);
  t.like(pick(off, 'etcd-client-cert-auth-live'), [{ status: 'skip' }]);

  const closed = `https://127.0.0.1:${await closedPort()}`;
  const rs = await scanEtcd(t, { 'advertise-client-urls': `${closed},https://192.0.2.7:2379,https://etcd.example.com:2379` });
  for (const id of ['etcd-client-cert-auth-live', 'etcd-plaintext-live']) {
    const [a, b, c] = pick(rs, id);
    t.like(a, { subject: `etcd/${closed}`, status: 'error', actual: 'unreachable' });
    t.regex(a?.reason ?? '', /host network/);
    t.like(b, { subject: 'etcd/https://192.0.2.7:2379', status: 'error' });
    t.regex(b?.reason ?? '', /not probed: 192\.0\.2\.7 is not an address of this node/);
    t.regex(c?.reason ?? '', /resolves no name/);
  }

  const worker = await prepareFixture('defaults-worker');
  t.teardown(worker.cleanup);
  const none = evaluate(await collectFacts({ hostRoot: worker.root, procRoot: worker.procRoot, etcdProbe: PROBE }), LIVE, new Date());
  t.deepEqual(none.map((r) => r.status), ['skip', 'skip']);
});

test('checks: at most maxUrls URLs are probed, the rest say so', async (t) => {
  const { port, seen } = await tlsEtcd(t, false);
  const urls = [1, 2, 3].map((i) => `https://127.0.0.${i}:${port}`);
  const fx = await prepareFixture('kubeadm-cp-hardened');
  t.teardown(fx.cleanup);
  const argv = parseCmdline(await readFile(join(fx.procRoot, String(ETCD_PID), 'cmdline')));
  await writeCmdline(fx.procRoot, ETCD_PID, [...argv, `--advertise-client-urls=${urls.join(',')}`]);
  const facts = await collectFacts({ hostRoot: fx.root, procRoot: fx.procRoot, etcdProbe: { timeoutMs: 3000, maxUrls: 1 } });
  t.deepEqual(facts.etcdProbe?.endpoints.map((e) => e.skipped === ''), [true, false, false]);
  t.regex(facts.etcdProbe?.endpoints[1]?.skipped ?? '', /only the first 1 client URLs/);
  t.is(seen.length, 1, 'one TLS request for the one URL probed');
});
