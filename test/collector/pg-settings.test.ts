// How the collector is told to use PostgreSQL (store.driver, store.postgres.*) and how it
// connects: the URL read from a file and never shown (not in a problem, not in the config's
// JSON), TLS set by sslMode only, refused in the URL; the collector refusing to start on the
// incomplete PostgreSQL store; and each sslMode against a real PostgreSQL serving TLS with a
// certificate for `localhost`: verify-full checks the chain and the name, verify-ca the chain
// only, require neither; bigint columns come back as numbers, one past 2^53 refused.
import test from 'ava';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCollectorConfig } from '../../collector/config.js';
import { createCollector } from '../../collector/main.js';
import { createPool } from '../../collector/store/pg/pool.js';
import { checkPostgresUrl, parseInt8, redactUrl, tlsOptions, type PostgresSettings, type SslMode } from '../../collector/store/pg/settings.js';
import { createTestCa, issueTestCert } from '../helpers/certs.js';
import { needsPostgres, PG_USER, postgresForFile } from '../helpers/postgres.js';
import { checkProperty, fc } from '../helpers/property.js';
import { ConfigError } from '../../proto/support/config-loader.js';

const PASSWORD = 's3cret-Pa55word-for-tests';
const base = { grpc: { insecure: true }, api: { insecure: true } };

async function withFiles(files: Record<string, string>, run: (dir: string) => Promise<void> | void): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-pg-settings-'));
  try {
    for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content, { mode: 0o600 });
    await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const problemsOf = (f: () => unknown): readonly string[] => {
  try {
    f();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
};

test('URLs: postgres:// and postgresql:// with a host (or a socket dir) and a database pass; anything else says why, never quoting the URL', (t) => {
  t.is(checkPostgresUrl(`postgres://nodeward:${PASSWORD}@db.example:5432/nodeward`), undefined);
  t.is(checkPostgresUrl('postgresql://nodeward@db/nodeward?application_name=x'), undefined);
  t.is(checkPostgresUrl('postgres:///nodeward?host=/var/run/postgresql'), undefined);
  const refused: Array<[string, RegExp]> = [
    ['', /empty/],
    [`mysql://u:${PASSWORD}@h/d`, /scheme must be postgres: or postgresql:, not mysql:/],
    [`postgres://u:${PASSWORD}@h`, /names no database/],
    [`postgres://u:${PASSWORD}@h/d?sslmode=disable`, /sets sslmode: set TLS with store.postgres.sslMode/],
    [`postgres://u:${PASSWORD}@h/d?sslrootcert=/ca.pem&sslcert=/c`, /sets sslrootcert, sslcert/],
    [`postgres://u:${PASSWORD}@h/d extra`, /white space/],
    ['not a url', /white space|not a URL/],
    ['nourl', /not a URL/],
  ];
  for (const [url, why] of refused) {
    const got = checkPostgresUrl(url);
    t.regex(got ?? '', why, url);
    t.false((got ?? '').includes(PASSWORD));
  }
});

test('property: checking any text never throws, and the redacted URL never holds the password', async (t) => {
  await checkProperty(t, fc.property(fc.string({ maxLength: 200 }), (s) => {
    const why = checkPostgresUrl(s);
    return why === undefined || typeof why === 'string';
  }), 500);
  const password = fc.stringMatching(/^[A-Za-z0-9_~!*()-]{6,40}$/).filter((p) => !'postgres://nodeward@db.example:5432/nodeward?application_name=collector'.includes(p) && !p.includes('redacted'));
  await checkProperty(t, fc.property(password, fc.boolean(), (p, asParameter) => {
    const url = asParameter ? `postgres://nodeward@db.example:5432/nodeward?password=${encodeURIComponent(p)}&application_name=collector` : `postgres://nodeward:${encodeURIComponent(p)}@db.example:5432/nodeward?application_name=collector`;
    const shown = redactUrl(url);
    return !shown.includes(p) && !shown.includes(encodeURIComponent(p)) && shown.includes('db.example:5432/nodeward') && shown.includes('redacted');
  }), 300);
});

test('sslMode maps to TLS options: verify-full checks chain and name, verify-ca the chain only, require nothing, disable no TLS', (t) => {
  const ca = Buffer.from('-----BEGIN CERTIFICATE-----\n');
  t.is(tlsOptions('disable', ca), false);
  t.deepEqual(tlsOptions('require', undefined), { rejectUnauthorized: false });
  t.deepEqual(tlsOptions('verify-full', ca), { rejectUnauthorized: true, ca });
  t.deepEqual(tlsOptions('verify-full', undefined), { rejectUnauthorized: true }, "the system's CAs");
  const verifyCa = tlsOptions('verify-ca', ca) as { rejectUnauthorized: boolean; ca: Buffer; checkServerIdentity: () => unknown };
  t.true(verifyCa.rejectUnauthorized);
  t.is(verifyCa.ca, ca);
  t.is(verifyCa.checkServerIdentity(), undefined);
  t.is(parseInt8('1765000000000'), 1_765_000_000_000);
  t.throws(() => parseInt8('9007199254740993'), { instanceOf: RangeError });
});

test('config: the SQLite store by default; postgres reads the URL from its file, trimmed, and keeps it out of the config\'s JSON', async (t) => {
  const sqlite = loadCollectorConfig({ env: {}, overrides: base });
  t.is(sqlite.store.driver, 'sqlite');
  t.is(sqlite.postgres, undefined);
  const url = `postgres://nodeward:${PASSWORD}@db.example:5432/nodeward`;
  await withFiles({ url: `${url}\n`, 'ca.pem': 'CA PEM' }, (dir) => {
    const c = loadCollectorConfig({ env: {}, overrides: { ...base, store: { driver: 'postgres', postgres: { urlFile: join(dir, 'url'), caFile: join(dir, 'ca.pem') } } } });
    t.is(c.postgres?.url(), url);
    t.like(c.postgres, { sslMode: 'verify-full', poolSize: 10, connectTimeoutMs: 10_000 });
    t.is(c.postgres?.ca?.toString(), 'CA PEM');
    t.false(JSON.stringify(c).includes(PASSWORD), 'no JSON (so no log line) of the config holds the password');
    // Environment overrides reach the same settings.
    const e = loadCollectorConfig({ env: { NODEWARD_STORE_DRIVER: 'postgres', NODEWARD_STORE_POSTGRES_URL_FILE: join(dir, 'url'), NODEWARD_STORE_POSTGRES_SSL_MODE: 'verify-ca' }, overrides: base });
    t.like(e.postgres, { sslMode: 'verify-ca', ca: undefined });
  });
});

test('config: every mistake in the PostgreSQL settings is reported at once, and none quotes the URL', async (t) => {
  await withFiles({ bad: `postgres://nodeward:${PASSWORD}@db/nodeward?sslmode=require\n`, good: `postgres://nodeward:${PASSWORD}@db/nodeward` }, (dir) => {
    const load = (store: Record<string, unknown>) => problemsOf(() => loadCollectorConfig({ env: {}, overrides: { ...base, store } }));
    t.deepEqual(load({ driver: 'postgres' }), ['store.postgres.urlFile: required with store.driver postgres (a file holding postgres://user:password@host:5432/database, such as a mounted Secret)']);
    const bad = load({ driver: 'postgres', postgres: { urlFile: join(dir, 'bad'), sslMode: 'require', caFile: join(dir, 'missing.pem') } });
    t.deepEqual(bad, [
      'store.postgres.caFile: not used with sslMode require, which verifies nothing; use verify-full (or verify-ca)',
      `store.postgres.caFile: cannot read ${join(dir, 'missing.pem')}: ENOENT`,
      `store.postgres.urlFile: ${join(dir, 'bad')}: the URL sets sslmode: set TLS with store.postgres.sslMode and store.postgres.caFile instead`,
    ]);
    t.false(bad.join('\n').includes(PASSWORD));
    t.deepEqual(load({ driver: 'sqlite', postgres: { urlFile: join(dir, 'good') } }), ['store.postgres: set, but store.driver is sqlite; set store.driver postgres, or remove store.postgres']);
    t.regex(load({ driver: 'mysql' }).join('\n'), /^store\.driver: /);
  });
});

test('a collector whose PostgreSQL server cannot be reached does not start: the error names the server without the password, and nothing listens or falls back to SQLite', async (t) => {
  await withFiles({ url: `postgres://nodeward:${PASSWORD}@127.0.0.1:1/nodeward` }, async (dir) => {
    const config = loadCollectorConfig({ env: {}, overrides: { ...base, dataDir: join(dir, 'data'), grpc: { insecure: true, listen: '127.0.0.1:0' }, api: { insecure: true, listen: '127.0.0.1:0' }, store: { driver: 'postgres', postgres: { urlFile: join(dir, 'url') } } } });
    const collector = createCollector(config);
    const err = await t.throwsAsync(collector.start());
    t.regex(err!.message, /^cannot connect to PostgreSQL at postgres:\/\/nodeward:redacted@127\.0\.0\.1:1\/nodeward/);
    t.is(collector.apiPort, 0, 'the API never listened');
    t.is(collector.grpcPort, 0, 'nor the agents\' endpoint');
    t.false(err!.message.includes(PASSWORD));
    await collector.stop();
    await t.throwsAsync(rm(join(dir, 'data', 'nodeward.db')).then(() => { throw new Error('exists'); }), { code: 'ENOENT' }, 'no SQLite file was made instead');
  });
});

// A real server serving TLS with a certificate for the name `localhost` only.
const pgTest = needsPostgres();
const tlsMaterial = (async () => {
  const ca = await createTestCa({ cn: 'postgres test CA' });
  const other = await createTestCa({ cn: 'another CA' });
  const cert = await issueTestCert(ca, { cn: 'localhost', dns: ['localhost'], usages: ['serverAuth'] });
  return { ca, other, cert };
})();
const tlsServerOf = postgresForFile(async () => {
  const { cert } = await tlsMaterial;
  return { tls: { certPem: cert.certPem, keyPem: cert.keyPem } };
});

async function connectWith(host: string, mode: SslMode, ca: string | undefined): Promise<{ ssl: boolean; big: unknown }> {
  const s = await tlsServerOf();
  const settings: PostgresSettings = {
    url: () => `postgres://${PG_USER}@${host}:${s.port}/postgres`, sslMode: mode, ca: ca === undefined ? undefined : Buffer.from(ca), poolSize: 2, connectTimeoutMs: 10_000,
  };
  const pool = createPool(settings, () => undefined);
  try {
    const r = await pool.query<{ ssl: boolean; big: unknown }>('SELECT ssl, 1765000000000::bigint AS big FROM pg_stat_ssl WHERE pid = pg_backend_pid()');
    return r.rows[0]!;
  } finally {
    await pool.end();
  }
}

pgTest('TLS against a real server: verify-full with the right CA and name connects encrypted; a wrong name or CA is refused; verify-ca and require are weaker as documented', async (t) => {
  const { ca, other } = await tlsMaterial;
  t.deepEqual(await connectWith('localhost', 'verify-full', ca.certPem), { ssl: true, big: 1_765_000_000_000 }, 'encrypted, and bigint read as a number');
  await t.throwsAsync(connectWith('127.0.0.1', 'verify-full', ca.certPem), { message: /IP: 127\.0\.0\.1 is not in the cert's list|altnames/ }, 'the certificate does not name 127.0.0.1');
  await t.throwsAsync(connectWith('localhost', 'verify-full', other.certPem), { message: /self[- ]signed|unable to verify|local issuer/ });
  t.like(await connectWith('127.0.0.1', 'verify-ca', ca.certPem), { ssl: true }, 'verify-ca checks the chain, not the name');
  await t.throwsAsync(connectWith('127.0.0.1', 'verify-ca', other.certPem), { message: /self[- ]signed|unable to verify|local issuer/ });
  t.like(await connectWith('127.0.0.1', 'require', undefined), { ssl: true }, 'require encrypts without checking');
  t.like(await connectWith('127.0.0.1', 'disable', undefined), { ssl: false });
});

pgTest('a bigint past 2^53 is refused rather than rounded', async (t) => {
  const s = await tlsServerOf();
  const pool = createPool({ url: () => `postgres://${PG_USER}@127.0.0.1:${s.port}/postgres`, sslMode: 'disable', ca: undefined, poolSize: 1, connectTimeoutMs: 10_000 }, () => undefined);
  try {
    await t.throwsAsync(pool.query('SELECT 9007199254740993::bigint AS n'), { instanceOf: RangeError });
    t.is((await pool.query<{ n: number }>('SELECT 9007199254740991::bigint AS n')).rows[0]!.n, Number.MAX_SAFE_INTEGER);
  } finally {
    await pool.end();
  }
});
