// `nodeward store copy`: a SQLite database a real collector filled (two agents over mTLS gRPC
// scanning and reporting baselines, an operator's suppression, allow and allow-listen through
// the API, a webhook destination's outbox; then dashboard sessions and the node watch's rows
// through the store's own APIs) copied into a real PostgreSQL (test/helpers/postgres.ts).
// Every table's rows are compared between the two, normalised (integers as decimal text, bytea
// as hex, JSON parsed); the identities continue past the copied values; a used target, an
// out-of-date file and a failing batch write nothing; the command's exit codes and messages
// never show the URL's password nor a secret column.
import test from 'ava';
import Database from 'better-sqlite3';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MIGRATIONS } from '../../collector/store/migrations/index.js';
import { openStore } from '../../collector/store/sqlite.js';
import { copySqliteToPostgres, CopyError, SEEDED_TABLES } from '../../collector/store/pg/copy.js';
import { migratePostgres, MIGRATIONS_TABLE } from '../../collector/store/pg/migrate.js';
import { createPool } from '../../collector/store/pg/pool.js';
import { openPostgres } from '../../collector/store/pg/open.js';
import { SEARCH_INDEX } from '../../collector/store/pg/search-index.js';
import { openPgStore } from '../../collector/store/pg/store.js';
import type { PostgresSettings } from '../../collector/store/pg/settings.js';
import { ADMIN_TOKEN, startTestCollector } from '../helpers/collector.js';
import { api, bl, centralBaseline, connect, fp, proc, result } from '../helpers/agent-session.js';
import { eventually } from '../helpers/https.js';
import { startReceiver } from '../helpers/webhook-receiver.js';
import { connectTo, needsPostgres, postgresForFile, PG_USER } from '../helpers/postgres.js';
import { runNodeward } from '../helpers/process.js';
import type { AgentMessage } from '../../proto/load.js';

const pgTest = needsPostgres();
const server = postgresForFile();

const SESSION_HASH = 'e'.repeat(64);
const CSRF = 'csrf-token-never-printed-0123456789';
const WEB = 'shop/Deployment/web/nginx';

let work: string;
test.before(async () => {
  work = await mkdtemp(join(tmpdir(), 'nodeward-pgcopy-'));
});
test.after.always(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

/** A SQLite file filled by a real collector (made once per file), and its path. */
let filled: Promise<string> | undefined;
const source = (): Promise<string> => (filled ??= fill());

async function fill(): Promise<string> {
  const receiver = await startReceiver(() => 200);
  const tc = await startTestCollector({
    nodes: ['node-a', 'node-b'],
    overrides: { webhooks: [{ name: 'hook', url: receiver.url, format: 'json', backoffInitialMs: 20, backoffMaxMs: 100, groupWindowMs: 0, timeoutMs: 2000 }] },
  });
  const path = join(work, 'source.db');
  try {
    const a = await connect(tc, 'node-a');
    const b = await connect(tc, 'node-b');
    const now = Date.now();
    // 25 failing results on node-a: more findings than a batch of 7 holds.
    const many = Array.from({ length: 25 }, (_, i) => result('cis-4.2.1', `--flag-${i}`, 'fail', { severity: i % 2 ? 'high' : 'critical', actual: `v${i}` }));
    await a.scan(now, ['cis-4.2.1'], [...many, result('cis-4.2.1', '--ok', 'pass')]);
    await b.scan(now, ['cis-4.2.1', 'cis-4.2.2'], [result('cis-4.2.1', '--flag-0', 'fail'), result('cis-4.2.2', '--other', 'fail', { scored: false })]);
    await a.batch([proc('/usr/bin/nc', { detail: { since: now - 1000, cmdline: 'nc -l 4444', nested: { n: [1, 2] } } })]);
    a.report(bl(WEB, 'learning', [{ path: '/usr/sbin/nginx', digests: [{ sha256: 'a'.repeat(64), source: 'image', image: 'nginx:1.27' }] }, '/bin/sh']));
    b.report(bl(WEB, 'learning', ['/usr/sbin/nginx', '/usr/bin/curl']));
    await eventually('the baseline from both nodes', async () => ((await centralBaseline(tc, WEB))?.items.length === 3 ? true : undefined));
    const post = async (path: string, body: unknown): Promise<void> => {
      const r = await api(tc, path, { method: 'POST', token: ADMIN_TOKEN, body });
      if (r.status !== 200) throw new Error(`${path}: ${r.status} ${r.text}`);
    };
    await post(`/api/v1/findings/${fp('node-a', 'cis-4.2.1', '--flag-3')}/suppress`, { reason: 'known, ticket OPS-1' });
    await post('/api/v1/baselines/allow', { key: WEB, executables: ['/usr/bin/env'], content: 'any' });
    await post('/api/v1/baselines/allow-listen', { key: WEB, listen: 'tcp/0.0.0.0:9090' });
    await post('/api/v1/baselines/remove', { key: WEB, executables: ['/bin/sh'] });
    // A scan with the node's exposure (its third message: the session's own sequence is at 2).
    const listener = { protocol: 'tcp', address: '0.0.0.0', port: 9090, addressClass: 'public', wildcard: true, uid: 0, pid: 42, exe: '/usr/sbin/nginx',
      baseline: WEB, namespace: 'shop', pod: 'web-1', container: 'nginx', workload: 'Deployment/web' };
    a.stream.send({ scanReport: { sequence: 3, scannedAtMs: now, benchmark: 'cis-1.12', scope: ['cis-4.2.1'], results: [...many, result('cis-4.2.1', '--ok', 'pass')], trigger: 'periodic',
      exposure: { listeners: [listener], nodeAddresses: [], listenersDropped: 0, unowned: 0, walkCut: '', rowsRefused: 0 } as NonNullable<AgentMessage['scanReport']>['exposure'] } });
    for (;;) {
      const m = await a.next();
      if (m.ack?.sequence === 3) {
        if (m.ack.code !== 0) throw new Error(`scan refused: ${m.ack.message}`);
        break;
      }
    }
    a.close();
    b.close();
    await tc.collector.stop();
    await copyFile(tc.databasePath, path);
  } finally {
    await tc.close();
    await receiver.close();
  }
  // What the dashboard and the node watch write, through the store's own APIs.
  const store = openStore({ path });
  try {
    await store.sessions.create({ idSha256: SESSION_HASH, name: 'admin', role: 'admin', csrfToken: CSRF, createdAt: Date.now(), expiresAt: Date.now() + 3600_000 }, 100, Date.now());
    await store.clusterNodes.upsert({ name: 'node-a', uid: 'uid-a', ready: true, agentExpected: true, reason: '', kubeletVersion: 'v1.31.2', osImage: 'Debian 12', kernel: '6.1.0', arch: 'amd64' }, Date.now());
    await store.clusterNodes.upsert({ name: 'node-c', uid: 'uid-c', ready: false, agentExpected: null, reason: 'DaemonSet unreadable', kubeletVersion: '', osImage: '', kernel: '', arch: '' }, Date.now());
  } finally {
    await store.close();
  }
  return path;
}

/** A new database of the test server, its URL and settings. */
async function target(password?: string): Promise<{ url: string; settings: PostgresSettings }> {
  const pg = await server();
  const name = await pg.createDatabase();
  const url = password === undefined ? pg.url(name) : pg.url(name).replace(`${PG_USER}@`, `${PG_USER}:${password}@`);
  return { url, settings: { url: () => url, sslMode: 'disable', ca: undefined, poolSize: 1, connectTimeoutMs: 10_000 } };
}

/** Every table's rows, normalised and sorted: integers and text as text, bytea as \x hex, JSON parsed. */
type Rows = Record<string, string[]>;

function sqliteRows(path: string, jsonColumns: ReadonlySet<string>): Rows {
  const db = new Database(path, { readonly: true });
  try {
    const out: Rows = {};
    for (const t of db.prepare<[], string>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").pluck().all()) {
      const rows = db.prepare(`SELECT * FROM "${t}"`).safeIntegers(true).all() as Array<Record<string, unknown>>;
      out[t] = rows.map((r) => JSON.stringify(Object.keys(r).sort().map((c) => [c, norm(r[c], jsonColumns.has(`${t}.${c}`))]))).sort();
    }
    return out;
  } finally {
    db.close();
  }
}

/** JSON with its object keys sorted: jsonb keeps a document, not its key order. */
function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])]));
  return v;
}

function norm(v: unknown, json: boolean): unknown {
  if (v === null) return null;
  if (json) return canonical(JSON.parse(String(v)));
  if (Buffer.isBuffer(v)) return `\\x${v.toString('hex')}`;
  return String(v);
}

async function postgresRows(url: string): Promise<{ rows: Rows; jsonColumns: Set<string> }> {
  const c = await connectTo(url);
  try {
    const cols = (await c.query<{ t: string; c: string; type: string }>(`SELECT table_name AS t, column_name AS c, data_type AS type FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name <> $1`, [MIGRATIONS_TABLE])).rows;
    const jsonColumns = new Set(cols.filter((x) => x.type === 'jsonb').map((x) => `${x.t}.${x.c}`));
    const rows: Rows = {};
    for (const t of new Set(cols.map((x) => x.t))) {
      const names = cols.filter((x) => x.t === t).map((x) => x.c);
      // Every column as PostgreSQL's text of it (jsonb's parsed after): no driver type mapping in between.
      const r = await c.query<Record<string, string | null>>(`SELECT ${names.map((n) => `"${n}"::text AS "${n}"`).join(', ')} FROM "${t}"`);
      rows[t] = r.rows.map((row) => JSON.stringify(Object.keys(row).sort().map((n) => [n, row[n] === null ? null : jsonColumns.has(`${t}.${n}`) ? canonical(JSON.parse(row[n]!)) : row[n]]))).sort();
    }
    return { rows, jsonColumns };
  } finally {
    await c.end();
  }
}

async function counts(url: string): Promise<Record<string, number>> {
  const c = await connectTo(url);
  try {
    const tables = (await c.query<{ t: string }>("SELECT table_name AS t FROM information_schema.tables WHERE table_schema = current_schema() AND table_name <> $1 ORDER BY 1", [MIGRATIONS_TABLE])).rows.map((r) => r.t);
    const out: Record<string, number> = {};
    for (const t of tables) out[t] = Number((await c.query<{ n: string }>(`SELECT count(*) AS n FROM "${t}"`)).rows[0]!.n);
    return out;
  } finally {
    await c.end();
  }
}

pgTest('a filled SQLite database is copied table for table: every row equal, in batches, the identities continuing past the copied values', async (t) => {
  const from = await source();
  const to = await target();
  const outcome = await copySqliteToPostgres({ sqlitePath: from, target: to.settings, batchRows: 7 });
  t.is(outcome.sqliteVersion, MIGRATIONS.at(-1)!.version);

  const { rows: copied, jsonColumns } = await postgresRows(to.url);
  const original = sqliteRows(from, jsonColumns);
  t.deepEqual(Object.keys(copied).sort(), Object.keys(original).sort());
  for (const table of Object.keys(original)) t.deepEqual(copied[table], original[table], `table ${table}`);
  t.true(jsonColumns.has('findings.detail') && jsonColumns.has('nodes.certificates'), 'JSON text became jsonb');

  // The data is what the collector wrote, in every part the test filled.
  const empty = Object.keys(original).filter((k) => original[k]!.length === 0);
  for (const table of ['nodes', 'findings', 'finding_history', 'node_results', 'received', 'audit_log', 'webhook_outbox', 'baselines', 'baseline_items',
    'baseline_item_nodes', 'baseline_item_digests', 'baseline_digest_nodes', 'baseline_listens', 'baseline_removed', 'node_exposure', 'baseline_meta', 'store_secrets', 'sessions', 'cluster_nodes', 'node_counts', 'finding_totals']) {
    t.false(empty.includes(table), `${table} has rows to copy`);
  }
  t.log(`${Object.keys(original).length} tables, ${Object.values(original).reduce((n, r) => n + r.length, 0)} rows; empty in the source: ${empty.join(', ')}`);
  const findings = outcome.tables.find((x) => x.table === 'findings')!;
  t.true(findings.rows > 25 && findings.batches === Math.ceil(findings.rows / 7), `findings: ${findings.rows} rows in ${findings.batches} batches`);
  // The copy leaves the search index out; the collector's first start makes it from the copied rows.
  const indexes = async (): Promise<string[]> => {
    const c = await connectTo(to.url);
    try {
      return (await c.query<{ name: string }>("SELECT indexname AS name FROM pg_indexes WHERE tablename = 'findings'")).rows.map((r) => r.name);
    } finally {
      await c.end();
    }
  };
  t.false((await indexes()).includes(SEARCH_INDEX));
  const started = await openPostgres(to.settings, () => undefined);
  await started.pool.end();
  t.deepEqual(started.search, { ready: true, created: true });
  t.true((await indexes()).includes(SEARCH_INDEX));
  // Parents before children.
  const order = outcome.tables.map((x) => x.table);
  t.true(order.indexOf('findings') < order.indexOf('finding_history'));
  t.true(order.indexOf('baseline_items') < order.indexOf('baseline_item_digests') && order.indexOf('baseline_item_digests') < order.indexOf('baseline_digest_nodes'));

  // A row written after the copy takes the next seq, past the largest copied one.
  const c = await connectTo(to.url);
  try {
    for (const table of ['audit_log', 'findings', 'finding_history', 'baselines', 'webhook_outbox']) {
      const max = Number((await c.query<{ m: string }>(`SELECT max(seq) AS m FROM ${table}`)).rows[0]!.m);
      t.is(outcome.identities.find((i) => i.table === table)?.next, max + 1, `${table}'s identity`);
    }
    const maxAudit = Number((await c.query<{ m: string }>('SELECT max(seq) AS m FROM audit_log')).rows[0]!.m);
    const inserted = await c.query<{ seq: string }>("INSERT INTO audit_log (at, actor, role, action, status) VALUES (1, 'a', 'admin', 'x', 200) RETURNING seq");
    t.is(Number(inserted.rows[0]!.seq), maxAudit + 1);
    const b = await c.query<{ seq: string }>("INSERT INTO baselines (key, state, created_at, updated_at) VALUES ('new/key', 'learning', 1, 1) RETURNING seq");
    t.true(Number(b.rows[0]!.seq) > Number((await c.query<{ m: string }>("SELECT max(seq) AS m FROM baselines WHERE key <> 'new/key'")).rows[0]!.m));
  } finally {
    await c.end();
  }
});

pgTest('a target that already holds rows is refused and left as it was; a fresh migration seeds only the tables the copy replaces', async (t) => {
  const from = await source();
  // What a fresh migration leaves: rows in the seeded tables only.
  const fresh = await target();
  const c = await connectTo(fresh.url);
  await migratePostgres(c);
  await c.end();
  const seeded = Object.entries(await counts(fresh.url)).filter(([, n]) => n > 0).map(([k]) => k).sort();
  t.deepEqual(seeded, Object.keys(SEEDED_TABLES).sort());

  const used = await target();
  await copySqliteToPostgres({ sqlitePath: from, target: used.settings });
  const before = await postgresRows(used.url);
  const err = await t.throwsAsync(copySqliteToPostgres({ sqlitePath: from, target: used.settings }), { instanceOf: CopyError });
  t.is((err as CopyError).code, 'COPY_TARGET_NOT_EMPTY');
  t.regex(err!.message, /already holds data \(.*findings.*\).*nothing was written/);
  t.deepEqual((await postgresRows(used.url)).rows, before.rows);

  // A counter moved is data too: only a fresh migration's zeros may be overwritten.
  const c2 = await connectTo(fresh.url);
  await c2.query("UPDATE baseline_meta SET value = 3 WHERE name = 'version'");
  await c2.end();
  const meta = await t.throwsAsync(copySqliteToPostgres({ sqlitePath: from, target: fresh.settings }), { instanceOf: CopyError });
  t.regex(meta!.message, /already holds data \(baseline_meta\)/);
});

pgTest('a SQLite file at an older schema is refused before anything is written, telling the operator to start the collector on it once', async (t) => {
  const old = join(work, 'old.db');
  const db = new Database(old);
  for (const m of MIGRATIONS.slice(0, -1)) {
    db.transaction(() => {
      if (m.sql !== '') db.exec(m.sql);
      m.run?.(db);
      db.pragma(`user_version = ${m.version}`);
    })();
  }
  db.close();
  const to = await target();
  const err = await t.throwsAsync(copySqliteToPostgres({ sqlitePath: old, target: to.settings }), { instanceOf: CopyError });
  t.is((err as CopyError).code, 'COPY_SOURCE_OLD');
  t.regex(err!.message, new RegExp(`schema version ${MIGRATIONS.length - 1}; this nodeward copies version ${MIGRATIONS.length}: start the collector`));
  t.deepEqual(await counts(to.url), {}, 'the target was not even migrated');
});

pgTest('a batch that fails rolls the whole copy back and names the table and the rows; the target then takes a good copy', async (t) => {
  const bad = join(work, 'bad.db');
  await copyFile(await source(), bad);
  const db = new Database(bad);
  // The 10th finding by seq holds text that is not JSON: jsonb refuses it, in the second batch of 7.
  const seq = db.prepare<[], number>('SELECT seq FROM findings ORDER BY seq LIMIT 1 OFFSET 9').pluck().get()!;
  db.prepare('UPDATE findings SET detail = ? WHERE seq = ?').run('{not json', seq);
  db.close();
  const to = await target('pw-in-the-url-0123');
  const err = await t.throwsAsync(copySqliteToPostgres({ sqlitePath: bad, target: to.settings, batchRows: 7 }), { instanceOf: CopyError });
  t.is((err as CopyError).code, 'COPY_FAILED');
  t.regex(err!.message, /^copying findings, rows 8-14: invalid input syntax for type json; nothing was written \(rolled back\)$/);
  t.false(err!.message.includes('pw-in-the-url'));
  const after = await counts(to.url);
  t.deepEqual(Object.entries(after).filter(([k, n]) => n > 0 && !(k in SEEDED_TABLES)), [], 'no table kept a row');
  const good = await copySqliteToPostgres({ sqlitePath: await source(), target: to.settings });
  t.true(good.tables.every((x) => x.rows >= 0));
});

pgTest('nodeward store copy: 0 with a per-table summary and the URL redacted; 1 when refused; 2 for usage and for a URL file without a usable URL; no secret printed', async (t) => {
  const from = await source();
  const password = 'pw-never-shown-0123';
  const to = await target(password);
  const urlFile = join(work, 'url');
  await writeFile(urlFile, `${to.url}\n`, { mode: 0o600 });
  const args = ['store', 'copy', '--from', from, '--to-url-file', urlFile, '--ssl-mode', 'disable'];
  const secrets = [password, SESSION_HASH, CSRF];
  const seal = await (async () => {
    const db = new Database(from, { readonly: true });
    try {
      return (db.prepare('SELECT value FROM store_secrets').pluck().get() as Buffer).toString('hex');
    } finally {
      db.close();
    }
  })();
  const shown = (r: { stdout: string; stderr: string }): void => {
    for (const s of [...secrets, seal]) t.false(`${r.stdout}${r.stderr}`.includes(s), 'a secret was printed');
  };

  const ok = await runNodeward(args);
  t.is(ok.code, 0, ok.stderr);
  shown(ok);
  t.true(ok.stdout.includes(`${PG_USER}:redacted@127.0.0.1`), ok.stdout);
  t.regex(ok.stdout, /^findings\s+\d+\s+1$/m);
  t.regex(ok.stdout, /^sessions\s+1\s+1$/m);
  t.regex(ok.stdout, /Identities continue at: .*findings\.seq \d+/);

  const again = await runNodeward(args);
  t.is(again.code, 1);
  shown(again);
  t.regex(again.stderr, /^nodeward: error: the PostgreSQL database already holds data/);

  const write = async (name: string, text: string): Promise<string> => {
    const f = join(work, name);
    await writeFile(f, text, { mode: 0o600 });
    return f;
  };
  const usage: Array<[string[], RegExp]> = [
    [['store', 'copy', '--to-url-file', urlFile], /^nodeward store copy: required option '--from <file>' not specified/],
    [['store', 'copy', '--from', from, '--to-url-file', join(work, 'absent')], /^nodeward: --to-url-file .*absent: cannot read it \(ENOENT\)$/],
    [['store', 'copy', '--from', from, '--to-url-file', await write('no-db', `postgres://${PG_USER}:${password}@127.0.0.1:5432`)], /the URL names no database/],
    [['store', 'copy', '--from', from, '--to-url-file', await write('tls', `${to.url}?sslmode=disable`)], /the URL sets sslmode: set TLS with/],
    [['store', 'copy', '--from', from, '--to-url-file', urlFile, '--ssl-mode', 'none'], /argument 'none' is invalid/],
    [['store', 'copy', '--from', from, '--to-url-file', urlFile, '--ssl-mode', 'disable', '--ca-file', urlFile], /--ca-file is not used with --ssl-mode disable/],
    [['store', 'copy', '--from', from, '--to-url-file', urlFile, '--ssl-mode', 'disable', '--schema', 'East-1'], /^nodeward: --schema: "East-1" is not a schema name this collector accepts/],
  ];
  for (const [a, message] of usage) {
    const r = await runNodeward(a);
    t.is(r.code, 2, `${a.join(' ')}: ${r.stderr}`);
    t.regex(r.stderr.trimEnd(), message);
    shown(r);
  }

  // A server that is not there: refused with the URL redacted.
  const gone = await write('gone', `postgres://${PG_USER}:${password}@127.0.0.1:1/nodeward`);
  const down = await runNodeward(['store', 'copy', '--from', from, '--to-url-file', gone, '--ssl-mode', 'disable']);
  t.is(down.code, 1);
  t.regex(down.stderr, /cannot connect to PostgreSQL at postgres:\/\/nodeward:redacted@127\.0\.0\.1:1\/nodeward/);
  shown(down);
});

pgTest('hostile text copies as the PostgreSQL store writes it: NUL as U+FFFD, a detail with escapes jsonb refuses kept as its value, certificates made well-formed', async (t) => {
  const dir = await mkdtemp(join(work, 'hostile-'));
  const path = join(dir, 'source.db');
  const T = Date.parse('2026-06-01T00:00:00Z');
  const detail = String.raw`{"cmdline":"\u0000 and \udfff","exe":"/bin/x"}`;
  const id = fp('node-a', 'proc-unexpected', 'host:/bin/x');
  const lite = openStore({ path });
  await lite.unit(async (u) => {
    await u.nodes.hello({
      node: 'node-a', agentVersion: 't', epoch: 'e', os: 'Linux\u0000', kernel: '', arch: '', kubeletVersion: '', cpus: 1, memoryBytes: 1, uptimeSeconds: 1,
      certificates: [{ path: '/etc/\u0000\udfff.crt', notAfter: new Date(T).toISOString() }],
    }, T);
    await u.findings.save(undefined, {
      id, node: 'node-a', checkId: 'proc-unexpected', subject: 'host:/bin/x', state: 'open', severity: 'high', firstSeen: T, lastSeen: T, count: 1,
      resolvedAt: null, suppressedReason: null, suppressedUntil: null, suppressedBy: null, suppressedAt: null,
      fields: {
        cis: '', references: [], title: 'a\u0000b', category: 'process', severity: 'high', status: 'fail', scored: false, actual: '', expected: '',
        source: '', sourceFile: '', reason: '', remediation: '', detail, seen: 'event',
      },
    }, T);
  });
  await lite.close();

  const to = await target();
  await copySqliteToPostgres({ sqlitePath: path, target: to.settings });
  const pool = createPool({ ...to.settings, poolSize: 2 }, () => undefined);
  const store = await openPgStore({ pool });
  t.teardown(() => store.close());
  t.like(await store.findings.get(id), { title: 'a\uFFFDb', detail: JSON.parse(detail) as unknown });
  const node = await store.nodes.get('node-a', T, 60_000);
  t.is(node?.os, 'Linux\uFFFD');
  t.deepEqual(node?.certificates.map((c) => c.path), ['/etc/\uFFFD\uFFFD.crt']);
});
