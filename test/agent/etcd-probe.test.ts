// The etcd probe against real servers on 127.0.0.1 port 0, without etcd: a TLS server that
// requires client certificates, one that asks for none, a plain HTTP server, a closed port
// and a silent one. Then the whole road on a fixture control plane whose etcd advertises
// those servers: facts -> cis-2.1 and cis-2.2 with what the probe saw. What the servers
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
const LIVE = selectChecks(CATALOG, ['2.1', '2.2']);
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

// cis-2.1 (etcd serves clients over TLS) and cis-2.2 (etcd requires client certificates) carry
// what the probe saw: an exposure it confirms fails the result, raised to critical; otherwise its
// words join the setting's result (agent/checks/wire-evidence.ts). One result each, whatever the
// number of client URLs.
const TLS_SUBJECT = 'etcd/--cert-file,--key-file';
const CERT_SUBJECT = 'etcd/--client-cert-auth';

test('checks: etcd that requires client certificates and speaks only TLS passes both, and says what the wire showed', async (t) => {
  const { port, seen } = await tlsEtcd(t, true);
  const url = `https://127.0.0.1:${port}`;
  const rs = await scanEtcd(t, { 'advertise-client-urls': url });
  t.like(pick(rs, 'cis-2.2'), [{ subject: CERT_SUBJECT, status: 'pass', actual: 'true', severity: 'high' }]);
  t.regex(pick(rs, 'cis-2.2')[0]?.reason ?? '', new RegExp(`on the wire: etcd \\(pid 1104\\) at ${url} refused a TLS client that presented no certificate`));
  t.like(pick(rs, 'cis-2.1'), [{ subject: TLS_SUBJECT, status: 'pass' }]);
  t.regex(pick(rs, 'cis-2.1')[0]?.reason ?? '', /on the wire: .*did not answer a plain-text GET \/version/);
  t.deepEqual(seen, []);
});

test('checks: etcd that claims client certificates but serves a client without one fails, critical', async (t) => {
  const { port, seen } = await tlsEtcd(t, false);
  const url = `https://127.0.0.1:${port}`;
  const rs = await scanEtcd(t, { 'advertise-client-urls': url });
  const [live] = pick(rs, 'cis-2.2');
  t.like(live, { subject: CERT_SUBJECT, status: 'fail', severity: 'critical', actual: 'true' });
  t.regex(live?.reason ?? '', /answered a TLS client that presented no certificate: HTTP 200 to GET \/version \(etcd 3\.4\.23\), although client-cert-auth is true \(--client-cert-auth on the etcd command line\), although the setting says otherwise/);
  t.like(pick(rs, 'cis-2.1'), [{ status: 'pass' }]);
  t.deepEqual(seen, [{ path: '/version', authorization: undefined, clientCert: false }]);
});

test('checks: etcd on plain http answers in clear text: both fail, critical, although its certificate flags are set', async (t) => {
  const { port } = await plainEtcd(t);
  const url = `http://127.0.0.1:${port}`;
  const rs = await scanEtcd(t, { 'advertise-client-urls': url });
  t.like(pick(rs, 'cis-2.2'), [{ subject: CERT_SUBJECT, status: 'fail', severity: 'critical' }]);
  t.regex(pick(rs, 'cis-2.2')[0]?.reason ?? '', /is a plain http:\/\/ URL and answered in clear text/);
  const [plain] = pick(rs, 'cis-2.1');
  t.like(plain, { subject: TLS_SUBJECT, status: 'fail', severity: 'critical' });
  t.regex(plain?.reason ?? '', /answered GET \/version in clear text: HTTP 200.*, although the setting says otherwise/);
});

test('checks: without --client-cert-auth and a trusted CA, cis-2.2 fails critical from the settings, whatever the wire says', async (t) => {
  const { port } = await tlsEtcd(t, true);
  const url = `https://127.0.0.1:${port}`;
  const [live] = pick(await scanEtcd(t, { 'advertise-client-urls': url, 'client-cert-auth': 'false', 'trusted-ca-file': null }), 'cis-2.2');
  t.like(live, { status: 'fail', severity: 'critical', source: 'flag', subject: CERT_SUBJECT, actual: 'false' });
  t.regex(live?.reason ?? '', /does not require client certificates: client-cert-auth is false \(--client-cert-auth on the etcd command line\) and no --trusted-ca-file is set/);
  // Also when the probe is off: the settings alone decide it.
  const [off] = pick(await scanEtcd(t, { 'client-cert-auth': null, 'trusted-ca-file': null }, null), 'cis-2.2');
  t.like(off, { status: 'fail', severity: 'critical', subject: CERT_SUBJECT });
  t.regex(off?.reason ?? '', /client-cert-auth is false \(neither --client-cert-auth nor ETCD_CLIENT_CERT_AUTH is set; the etcd default\)/);
});

test('checks: a --trusted-ca-file makes etcd require client certificates without the flag: the wire shows no exposure, cis-2.2 still wants the flag', async (t) => {
  const { port } = await tlsEtcd(t, true);
  const url = `https://127.0.0.1:${port}`;
  const [live] = pick(await scanEtcd(t, { 'advertise-client-urls': url, 'client-cert-auth': null }), 'cis-2.2');
  t.like(live, { status: 'fail', severity: 'high', actual: 'false' });
  t.regex(live?.reason ?? '', /on the wire: .*refused a TLS client that presented no certificate.*but --trusted-ca-file is set \(--trusted-ca-file on the etcd command line\), which makes etcd require client certificates anyway/);
});

test('checks: probe off adds nothing; unreachable, remote and named URLs are said in the reason; no etcd is skip', async (t) => {
  const off = await scanEtcd(t, {}, null);
  for (const id of ['cis-2.1', 'cis-2.2']) {
    t.like(pick(off, id), [{ status: 'pass' }]);
    t.notRegex(pick(off, id)[0]?.reason ?? '', /wire/);
  }

  const closed = `https://127.0.0.1:${await closedPort()}`;
  const rs = await scanEtcd(t, { 'advertise-client-urls': `${closed},https://192.0.2.7:2379,https://etcd.example.com:2379` });
  for (const id of ['cis-2.1', 'cis-2.2']) {
    const [r, more] = pick(rs, id);
    t.is(more, undefined, 'one result, whatever the number of URLs');
    t.like(r, { status: 'pass' });
    t.regex(r?.reason ?? '', new RegExp(`the wire could not confirm it: .*${closed.replace(/\./g, '\\.')}.*host network`));
    t.regex(r?.reason ?? '', /https:\/\/192\.0\.2\.7:2379 .*not probed: 192\.0\.2\.7 is not an address of this node/);
    t.regex(r?.reason ?? '', /resolves no name/);
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
