import test, { type ExecutionContext } from 'ava';
import { execFile } from 'node:child_process';
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tls from 'node:tls';
import { promisify } from 'node:util';
import {
  createCa,
  initPki,
  issueClientCertificate,
  issueServerCertificate,
  pkiPaths,
  type CaSource,
  type InitPkiResult,
  type PkiPaths,
} from '../../collector/pki/pki.js';
import * as x509 from '../../collector/pki/x509.js';
import { executable, needs } from '../helpers/requirements.js';

const HOSTS = ['localhost', '127.0.0.1', '::1'];
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

async function tempDir(t: ExecutionContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-pki-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function freshPki(t: ExecutionContext, nodes: string[] = ['node-a']): Promise<PkiPaths> {
  return initPki(join(await tempDir(t), 'pki'), { nodes, collectorHosts: HOSTS });
}

async function mode(path: string): Promise<number> {
  return (await stat(path)).mode & 0o777;
}

async function nodeCert(path: string): Promise<X509Certificate> {
  return new X509Certificate(await readFile(path));
}

async function libCert(path: string): Promise<x509.X509Certificate> {
  return new x509.X509Certificate(await readFile(path, 'utf8'));
}

// ---------------------------------------------------------------------------------
// Files and modes

// Serial: it changes the process umask, which must not leak into concurrent tests.
test.serial('initPki creates every file with exact modes, even under a restrictive umask and in a loose pre-existing dir', async (t) => {
  const dir = join(await tempDir(t), 'pki');
  await mkdir(dir, { mode: 0o755 });
  const old = process.umask(0o077);
  let paths: InitPkiResult;
  try {
    paths = await initPki(dir, { nodes: ['node-a', 'worker-1.example.com'], collectorHosts: HOSTS });
  } finally {
    process.umask(old);
  }

  const { created, ...shape } = paths;
  t.is(created.length, 8);
  t.deepEqual(shape, pkiPaths(dir, ['node-a', 'worker-1.example.com']));
  t.is(await mode(dir), 0o700);
  t.is(await mode(join(dir, 'agents')), 0o700);
  for (const cert of [paths.caCert, paths.collectorCert, paths.agents['node-a']!.cert, paths.agents['worker-1.example.com']!.cert]) {
    t.is(await mode(cert), 0o644, cert);
    t.regex(await readFile(cert, 'utf8'), /^-----BEGIN CERTIFICATE-----\n[\s\S]+-----END CERTIFICATE-----\n$/, cert);
  }
  for (const key of [paths.caKey, paths.collectorKey, paths.agents['node-a']!.key, paths.agents['worker-1.example.com']!.key]) {
    t.is(await mode(key), 0o600, key);
    // PKCS#8, not SEC1 ("EC PRIVATE KEY").
    t.regex(await readFile(key, 'utf8'), /^-----BEGIN PRIVATE KEY-----\n/, key);
  }
  t.deepEqual((await readdir(dir)).sort(), ['agents', 'ca.crt', 'ca.key', 'collector.crt', 'collector.key']);
  t.deepEqual((await readdir(join(dir, 'agents'))).sort(), [
    'node-a.crt',
    'node-a.key',
    'worker-1.example.com.crt',
    'worker-1.example.com.key',
  ]);
});

// ---------------------------------------------------------------------------------
// Certificate contents

test('every certificate parses, leaves verify against and are issued by the CA, keys are P-256 and match', async (t) => {
  const paths = await freshPki(t, ['node-a', 'node-b']);
  const ca = await nodeCert(paths.caCert);
  t.true(ca.ca);
  t.true(ca.verify(ca.publicKey), 'CA is self-signed');
  t.is(ca.subject, 'CN=nodeward CA');

  const leaves: [string, string][] = [
    [paths.collectorCert, paths.collectorKey],
    [paths.agents['node-a']!.cert, paths.agents['node-a']!.key],
    [paths.agents['node-b']!.cert, paths.agents['node-b']!.key],
  ];
  const serials = new Set<string>([ca.serialNumber]);
  for (const [certPath, keyPath] of [[paths.caCert, paths.caKey] as [string, string], ...leaves]) {
    const cert = await nodeCert(certPath);
    t.is(cert.publicKey.asymmetricKeyType, 'ec', certPath);
    t.is(cert.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1', certPath);
    const fromKey = createPublicKey(createPrivateKey(await readFile(keyPath, 'utf8')));
    t.true(fromKey.export({ type: 'spki', format: 'der' }).equals(cert.publicKey.export({ type: 'spki', format: 'der' })), keyPath);
    t.deepEqual((await libCert(certPath)).signatureAlgorithm, { name: 'ECDSA', hash: { name: 'SHA-256' } }, certPath);
    // Random, positive (OpenSSL prints a negative serial with a leading '-'), 128 bits.
    t.regex(cert.serialNumber, /^[0-9A-F]{32}$/, certPath);
    t.true(parseInt(cert.serialNumber.slice(0, 2), 16) < 0x80, certPath);
    serials.add(cert.serialNumber);
  }
  t.is(serials.size, 4, 'serial numbers are distinct');

  for (const [certPath] of leaves) {
    const leaf = await nodeCert(certPath);
    t.false(leaf.ca, certPath);
    t.true(leaf.verify(ca.publicKey), certPath);
    t.true(leaf.checkIssued(ca), certPath);
    t.is(leaf.issuer, ca.subject, certPath);
    const now = Date.now();
    t.true(Date.parse(leaf.validFrom) <= now && now < Date.parse(leaf.validTo), certPath);
  }
});

test('CA and leaf extensions: basicConstraints and keyUsage', async (t) => {
  const paths = await freshPki(t);
  const ca = await libCert(paths.caCert);
  const caBc = ca.getExtension(x509.BasicConstraintsExtension);
  t.truthy(caBc);
  t.true(caBc!.ca);
  t.true(caBc!.critical);
  const caKu = ca.getExtension(x509.KeyUsagesExtension);
  t.is(caKu?.usages, x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
  t.true(caKu!.critical);
  t.is(ca.getExtension(x509.ExtendedKeyUsageExtension), null);

  for (const p of [paths.collectorCert, paths.agents['node-a']!.cert]) {
    const leaf = await libCert(p);
    const bc = leaf.getExtension(x509.BasicConstraintsExtension);
    t.truthy(bc, p);
    t.false(bc!.ca, p);
    t.is(leaf.getExtension(x509.KeyUsagesExtension)?.usages, x509.KeyUsageFlags.digitalSignature, p);
    // Authority key id of the leaf is the CA's subject key id.
    const ski = ca.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
    t.truthy(ski);
    t.is(leaf.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId, ski, p);
  }
});

test('collector certificate: EKU serverAuth only, DNS and IP SANs told apart', async (t) => {
  const paths = await freshPki(t);
  const cert = await libCert(paths.collectorCert);
  t.deepEqual([...cert.getExtension(x509.ExtendedKeyUsageExtension)!.usages], [SERVER_AUTH]);
  t.deepEqual(cert.getExtension(x509.SubjectAlternativeNameExtension)!.names.toJSON(), [
    { type: 'dns', value: 'localhost' },
    { type: 'ip', value: '127.0.0.1' },
    { type: 'ip', value: '::1' },
  ]);
  const n = await nodeCert(paths.collectorCert);
  t.is(n.checkHost('localhost'), 'localhost');
  t.is(n.checkIP('127.0.0.1'), '127.0.0.1');
  t.is(n.checkIP('::1'), '::1');
  t.is(n.checkIP('10.0.0.1'), undefined);
  t.false(n.subjectAltName!.includes('DNS:127.0.0.1'));
  t.false(n.subjectAltName!.includes('DNS:::1'));
});

test('agent certificate: CN and DNS SAN are the node name, EKU clientAuth only', async (t) => {
  const paths = await freshPki(t, ['worker-7.prod.example']);
  const path = paths.agents['worker-7.prod.example']!.cert;
  const cert = await libCert(path);
  t.deepEqual(cert.subjectName.getField('CN'), ['worker-7.prod.example']);
  t.deepEqual([...cert.getExtension(x509.ExtendedKeyUsageExtension)!.usages], [CLIENT_AUTH]);
  t.deepEqual(cert.getExtension(x509.SubjectAlternativeNameExtension)!.names.toJSON(), [{ type: 'dns', value: 'worker-7.prod.example' }]);
  t.is((await nodeCert(path)).subject, 'CN=worker-7.prod.example');
});

// ---------------------------------------------------------------------------------
// Re-running, validation

test('re-running initPki keeps the CA and existing certificates and adds the new node', async (t) => {
  const dir = join(await tempDir(t), 'pki');
  const first = await initPki(dir, { nodes: ['node-a'], collectorHosts: HOSTS });
  const before = {
    caCert: await readFile(first.caCert, 'utf8'),
    caKey: await readFile(first.caKey, 'utf8'),
    collector: await readFile(first.collectorCert, 'utf8'),
    nodeA: await readFile(first.agents['node-a']!.cert, 'utf8'),
  };

  const second = await initPki(dir, { nodes: ['node-a', 'node-b'], collectorHosts: HOSTS });
  t.is(await readFile(second.caCert, 'utf8'), before.caCert);
  t.is(await readFile(second.caKey, 'utf8'), before.caKey);
  t.is(await readFile(second.collectorCert, 'utf8'), before.collector);
  t.is(await readFile(second.agents['node-a']!.cert, 'utf8'), before.nodeA);
  t.deepEqual(Object.keys(second.agents).sort(), ['node-a', 'node-b']);
  t.deepEqual(second.created, [second.agents['node-b']!.key, second.agents['node-b']!.cert]);

  const ca = await nodeCert(second.caCert);
  const nodeB = await nodeCert(second.agents['node-b']!.cert);
  t.true(nodeB.verify(ca.publicKey));
  t.true(nodeB.checkIssued(ca));

  // A third run with nothing new writes nothing; agents not named this time are still listed.
  const third = await initPki(dir, { nodes: [], collectorHosts: HOSTS });
  t.deepEqual(third.created, []);
  t.deepEqual(Object.keys(third.agents).sort(), ['node-a', 'node-b']);
});

test('concurrent initPki runs on one directory share a single CA', async (t) => {
  const dir = join(await tempDir(t), 'pki');
  const runs = await Promise.all(['node-a', 'node-b', 'node-c'].map((n) => initPki(dir, { nodes: [n], collectorHosts: HOSTS })));
  const ca = await nodeCert(join(dir, 'ca.crt'));
  t.is(runs.filter((r) => r.created.includes(r.caCert)).length, 1, 'exactly one run created the CA');
  for (const n of ['node-a', 'node-b', 'node-c']) {
    t.true((await nodeCert(join(dir, 'agents', `${n}.crt`))).verify(ca.publicKey), n);
  }
  t.false(existsSync(join(dir, '.pki.lock')), 'the lock file is gone');
});

test('bad node names are rejected, named in the error, before anything is written', async (t) => {
  const dir = join(await tempDir(t), 'pki');
  const err = await t.throwsAsync(initPki(dir, { nodes: ['good-node', 'Bad_Node', '-leading-dash'], collectorHosts: HOSTS }));
  t.regex(err!.message, /"Bad_Node"/);
  t.regex(err!.message, /"-leading-dash"/);
  t.notRegex(err!.message, /"good-node"/);
  t.regex(err!.message, /DNS-1123/);
  t.false(existsSync(dir), 'no directory was created');

  await t.throwsAsync(initPki(dir, { nodes: ['a', 'a'], collectorHosts: HOSTS }), { message: /duplicate node name "a"/ });

  const ca = await createCa(null);
  await t.throwsAsync(issueClientCertificate(ca, 'UPPER.case'), { message: /"UPPER\.case"/ });
});

test('collector hosts are validated, and a grown host list is not silently ignored', async (t) => {
  const dir = join(await tempDir(t), 'pki');
  await t.throwsAsync(initPki(dir, { nodes: [], collectorHosts: ['localhost', 'not a host!'] }), { message: /"not a host!"/ });
  await t.throwsAsync(initPki(dir, { nodes: [], collectorHosts: [] }), { message: /at least one collector host/ });
  t.false(existsSync(dir));

  await initPki(dir, { nodes: [], collectorHosts: ['localhost'] });
  const err = await t.throwsAsync(initPki(dir, { nodes: [], collectorHosts: ['localhost', 'collector.example.com', '10.1.2.3'] }));
  t.regex(err!.message, /does not cover collector hosts collector\.example\.com, 10\.1\.2\.3/);
});

test('initPki refuses a CA that is half there, and a leaf not issued by the CA', async (t) => {
  const dir = join(await tempDir(t), 'pki');
  const paths = await initPki(dir, { nodes: ['node-a'], collectorHosts: HOSTS });
  // Replace node-a's certificate with one from an unrelated CA.
  const other = await createCa(null);
  await issueClientCertificate(other, 'node-a', { out: paths.agents['node-a']!, overwrite: true });
  await t.throwsAsync(initPki(dir, { nodes: ['node-a'], collectorHosts: HOSTS }), { message: /node-a\.crt was not issued by/ });

  await rm(paths.caKey);
  await t.throwsAsync(initPki(dir, { nodes: [], collectorHosts: HOSTS }), { message: /incomplete CA/ });
});

test('createCa into a directory never overwrites an existing CA', async (t) => {
  const dir = join(await tempDir(t), 'ca');
  const ca = await createCa(dir, { commonName: 'first' });
  t.deepEqual(ca.files, { caCert: join(dir, 'ca.crt'), caKey: join(dir, 'ca.key') });
  t.is(await readFile(join(dir, 'ca.crt'), 'utf8'), ca.certPem);
  t.is(await mode(join(dir, 'ca.key')), 0o600);
  await t.throwsAsync(createCa(dir, { commonName: 'second' }), { message: /already exists/ });
  t.is((await nodeCert(join(dir, 'ca.crt'))).subject, 'CN=first');
});

// ---------------------------------------------------------------------------------
// Lower-level issuing

test('issueClientCertificate: CN, validity and output overrides; no silent overwrite', async (t) => {
  const dir = await tempDir(t);
  const ca = await createCa(null);
  const notBefore = new Date('2020-01-01T00:00:00Z');
  const notAfter = new Date('2020-02-01T00:00:00Z');
  const out = { cert: join(dir, 'odd', 'x.crt'), key: join(dir, 'odd', 'x.key') };
  const issued = await issueClientCertificate(ca, 'node-x', { commonName: 'impostor', notBefore, notAfter, out });

  t.is(await readFile(out.cert, 'utf8'), issued.certPem);
  t.is(await readFile(out.key, 'utf8'), issued.keyPem);
  t.is(await mode(out.cert), 0o644);
  t.is(await mode(out.key), 0o600);
  const cert = new X509Certificate(issued.certPem);
  t.is(cert.subject, 'CN=impostor');
  t.is(cert.subjectAltName, 'DNS:node-x');
  t.is(new Date(cert.validFrom).toISOString(), notBefore.toISOString());
  t.is(new Date(cert.validTo).toISOString(), notAfter.toISOString());
  t.deepEqual(issued.notAfter, notAfter);
  t.true(cert.verify(new X509Certificate(ca.certPem).publicKey));

  await t.throwsAsync(issueClientCertificate(ca, 'node-x', { out }), { message: /refusing to overwrite/ });
  t.is(await readFile(out.cert, 'utf8'), issued.certPem);
  const replaced = await issueClientCertificate(ca, 'node-x', { out, overwrite: true });
  t.not(replaced.certPem, issued.certPem);
  t.is(await readFile(out.cert, 'utf8'), replaced.certPem);

  await t.throwsAsync(issueClientCertificate(ca, 'node-x', { notBefore: notAfter, notAfter: notBefore }), { message: /validity is empty/ });
});

test('a leaf never outlives its CA unless notAfter is explicit', async (t) => {
  const now = new Date('2030-06-01T00:00:00Z');
  const ca = await createCa(null, { validDays: 10, now });
  const leaf = await issueServerCertificate(ca, ['localhost'], { validDays: 365, now });
  t.deepEqual(leaf.notAfter, ca.notAfter);
  t.is(ca.notAfter.toISOString(), '2030-06-11T00:00:00.000Z');
  t.is(leaf.notBefore.toISOString(), '2030-05-31T23:55:00.000Z');
});

test('a certificate from a second CA does not verify against the first', async (t) => {
  const paths = await freshPki(t);
  // Same subject name as the real CA, so only the key tells them apart.
  const other = await createCa(null, { commonName: 'nodeward CA' });
  const foreign = await issueClientCertificate(other, 'node-a');
  const realCa = await nodeCert(paths.caCert);
  const otherCa = new X509Certificate(other.certPem);
  const leaf = new X509Certificate(foreign.certPem);
  t.is(leaf.issuer, realCa.subject);
  t.false(leaf.verify(realCa.publicKey));
  t.true(leaf.verify(otherCa.publicKey), 'control: it does verify against its own CA');

  // The PkiPaths of an existing PKI also works as a CA source.
  const source: CaSource = paths;
  const own = new X509Certificate((await issueClientCertificate(source, 'node-z')).certPem);
  t.true(own.verify(realCa.publicKey));
  t.false(own.verify(otherCa.publicKey));
});

// ---------------------------------------------------------------------------------
// The real proof: a mutual-TLS handshake

interface Exchange {
  /** What the client read from the server (the server greets only authorised peers). */
  readonly received: string;
  /** The CN the server saw on an authorised connection. */
  readonly serverPeer?: string;
  /** The error the server reported for a rejected client. */
  readonly serverError?: Error;
  /** Why the server's certificate verification failed (an OpenSSL X509_V_ERR name). */
  readonly authorizationError?: string;
}

async function mtls(paths: PkiPaths, client: { cert?: string; key?: string }): Promise<Exchange> {
  const [caPem, serverCert, serverKey] = await Promise.all([
    readFile(paths.caCert, 'utf8'),
    readFile(paths.collectorCert, 'utf8'),
    readFile(paths.collectorKey, 'utf8'),
  ]);
  const server = tls.createServer({ cert: serverCert, key: serverKey, ca: caPem, requestCert: true, rejectUnauthorized: true });
  const sockets = new Set<tls.TLSSocket>();
  let serverPeer: string | undefined;
  let serverError: Error | undefined;
  let authorizationError: string | undefined;
  const serverDone = new Promise<void>((resolveDone) => {
    server.on('secureConnection', (socket: tls.TLSSocket) => {
      sockets.add(socket);
      const cn = socket.getPeerCertificate().subject?.CN;
      serverPeer = socket.authorized && typeof cn === 'string' ? cn : undefined;
      socket.end(`hello ${serverPeer ?? '?'}`);
      resolveDone();
    });
    server.on('tlsClientError', (err, socket) => {
      serverError = err;
      const reason: unknown = socket.authorizationError;
      authorizationError = reason === undefined || reason === null ? undefined : String(reason);
      resolveDone();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  try {
    let received = '';
    const clientDone = new Promise<void>((resolveDone) => {
      const socket = tls.connect({ host: '127.0.0.1', port, ca: caPem, ...client });
      socket.setEncoding('utf8');
      socket.on('data', (d: string) => (received += d));
      socket.on('error', () => undefined);
      socket.on('close', () => resolveDone());
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('mTLS exchange timed out')), 10_000);
    });
    try {
      await Promise.race([Promise.all([clientDone, serverDone]), timeout]);
    } finally {
      clearTimeout(timer);
    }
    return {
      received,
      ...(serverPeer !== undefined ? { serverPeer } : {}),
      ...(serverError ? { serverError } : {}),
      ...(authorizationError !== undefined ? { authorizationError } : {}),
    };
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  }
}

async function agentCreds(p: { cert: string; key: string }): Promise<{ cert: string; key: string }> {
  return { cert: await readFile(p.cert, 'utf8'), key: await readFile(p.key, 'utf8') };
}

test('mTLS: the collector accepts an agent certificate from its CA (and the agent accepts the collector at 127.0.0.1)', async (t) => {
  const paths = await freshPki(t, ['node-a']);
  const res = await mtls(paths, await agentCreds(paths.agents['node-a']!));
  t.is(res.serverError, undefined);
  t.is(res.serverPeer, 'node-a');
  t.is(res.received, 'hello node-a');
});

test('mTLS: the collector rejects a client certificate from another CA', async (t) => {
  const paths = await freshPki(t, ['node-a']);
  const other = await createCa(null, { commonName: 'nodeward CA' });
  const foreign = await issueClientCertificate(other, 'node-a');
  const res = await mtls(paths, { cert: foreign.certPem, key: foreign.keyPem });
  t.truthy(res.serverError, 'the server reports a TLS client error');
  t.is(res.authorizationError, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  t.is(res.serverPeer, undefined);
  t.is(res.received, '');
});

test('mTLS: the collector rejects a client with no certificate', async (t) => {
  const paths = await freshPki(t, ['node-a']);
  const res = await mtls(paths, {});
  t.regex(res.serverError?.message ?? '', /peer did not return a certificate/);
  t.is(res.received, '');
});

test('mTLS: the collector rejects an expired agent certificate and one without clientAuth, both from its own CA', async (t) => {
  const paths = await freshPki(t, ['node-a']);
  const expired = await issueClientCertificate(paths, 'node-a', {
    notBefore: new Date(Date.now() - 10 * 86_400_000),
    notAfter: new Date(Date.now() - 86_400_000),
  });
  const serverOnly = await issueClientCertificate(paths, 'node-a', { extendedKeyUsages: ['serverAuth'] });
  for (const [label, c, reason] of [
    ['expired', expired, 'CERT_HAS_EXPIRED'],
    ['serverAuth-only', serverOnly, 'INVALID_PURPOSE'],
  ] as const) {
    const res = await mtls(paths, { cert: c.certPem, key: c.keyPem });
    t.truthy(res.serverError, label);
    t.is(res.authorizationError, reason, label);
    t.is(res.received, '', label);
  }
});

// ---------------------------------------------------------------------------------
// Independent cross-check

const OPENSSL = '/usr/bin/openssl';
const opensslTest = needs({ what: 'the openssl command', packages: ['openssl'], check: () => executable(OPENSSL) });
opensslTest('openssl verify agrees: agent is a valid TLS client, collector a valid TLS server, not the other way round', async (t) => {
  const paths = await freshPki(t, ['node-a']);
  const run = promisify(execFile);
  const verify = async (purpose: string, cert: string): Promise<boolean> => {
    try {
      const { stdout } = await run(OPENSSL, ['verify', '-CAfile', paths.caCert, '-purpose', purpose, cert]);
      return stdout.trim().endsWith(': OK');
    } catch {
      return false;
    }
  };
  t.true(await verify('sslclient', paths.agents['node-a']!.cert));
  t.true(await verify('sslserver', paths.collectorCert));
  t.false(await verify('sslserver', paths.agents['node-a']!.cert));
  t.false(await verify('sslclient', paths.collectorCert));
});
