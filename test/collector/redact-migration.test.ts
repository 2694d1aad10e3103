// Rows stored before ingest redacted (issue 12) may hold secrets an older agent sent:
// migration 008 redacts them once, with the redactor ingest uses, and leaves every
// finding's identity as it was.
import test from 'ava';
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MIGRATIONS } from '../../collector/store/migrations/index.js';
import { openStore } from '../../collector/store/sqlite.js';
import { hostKeyOf, processSubject } from '../../proto/baseline-key.js';

test('a database of schema version 7 migrates: secrets in stored findings and queued alerts are redacted, identities kept', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-redact-migration-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'v7.sqlite');
  const v7 = new Database(path);
  v7.pragma('journal_mode = DELETE');
  for (const m of MIGRATIONS.filter((x) => x.version <= 7)) v7.exec(m.sql);
  v7.pragma('user_version = 7');
  const bearer = `tok${randomBytes(16).toString('hex')}`;
  const password = `pw${randomBytes(16).toString('hex')}`;
  const exe = '/usr/bin/curl';
  const subject = processSubject(hostKeyOf('worker'), exe);
  const detail = { baseline: hostKeyOf('worker'), exe, pid: 42, cmdline: `curl -H Authorization: Bearer ${bearer} https://x`, parents: [`/bin/sh -c PGPASSWORD=${password} psql`] };
  const T = Date.now() - 60_000;
  const finding = v7.prepare(`INSERT INTO findings (id, node, check_id, category, subject, severity, severity_rank, status, state,
      actual, reason, detail, first_seen, last_seen, count, updated_at) VALUES (?, 'node-a', ?, ?, ?, 'high', 3, 'fail', 'open', ?, ?, ?, ?, ?, 1, ?)`);
  finding.run('a'.repeat(32), 'proc-unexpected', 'process', subject, '', '', JSON.stringify(detail), T, T, T);
  finding.run('b'.repeat(32), 'cis-1.2.1', 'control-plane', '--token-auth-file', `--password=${password}`, `Bearer ${bearer} was seen`, '{}', T, T, T);
  finding.run('c'.repeat(32), 'cis-4.2.1', 'kubelet', '--anonymous-auth', 'true', 'the flag is set', '{}', T, T, T);
  const change = { event: 'opened', at: new Date(T).toISOString(), finding: { id: 'a'.repeat(32), subject, actual: '', detail } };
  v7.prepare(`INSERT INTO webhook_outbox (destination, finding_id, event, change, created_at, age_from, next_attempt_at) VALUES ('siem', ?, 'opened', ?, ?, ?, ?)`)
    .run('a'.repeat(32), JSON.stringify(change), T, T, T);
  v7.prepare(`INSERT INTO webhook_firing (destination, finding_id, change) VALUES ('am', ?, ?)`).run('a'.repeat(32), JSON.stringify(change));
  v7.close();
  const raw = await readFile(path);
  t.true(raw.includes(bearer) && raw.includes(password), 'the secrets are in the old file, so the search below can fail');

  const store = openStore({ path });
  await store.close();
  const db = new Database(path, { readonly: true });
  t.teardown(() => db.close());
  t.is(db.pragma('user_version', { simple: true }), MIGRATIONS.at(-1)!.version);
  const rows = db.prepare('SELECT id, subject, actual, reason, detail FROM findings ORDER BY seq').all() as Array<Record<string, string>>;
  t.deepEqual(rows.map((r) => [r.id, r.subject]), [['a'.repeat(32), subject], ['b'.repeat(32), '--token-auth-file'], ['c'.repeat(32), '--anonymous-auth']]);
  const d = JSON.parse(rows[0]!.detail!);
  t.is(d.exe, exe, 'identity fields kept');
  t.is(d.baseline, hostKeyOf('worker'));
  t.is(d.pid, 42);
  t.is(d.cmdline, 'curl -H Authorization: <redacted> <redacted> https://x');
  t.is(rows[1]!.actual, '--password=<redacted>');
  t.is(rows[2]!.actual, 'true', 'text without secrets is left as it was');
  t.is(rows[2]!.reason, 'the flag is set');
  for (const table of ['webhook_outbox', 'webhook_firing']) {
    const c = JSON.parse((db.prepare(`SELECT change FROM ${table}`).get() as { change: string }).change);
    t.is(c.finding.subject, subject);
    t.is(c.finding.detail.exe, exe);
    t.is(c.finding.detail.cmdline, d.cmdline, `${table}: the queued alert's finding is redacted`);
  }
  const everything = JSON.stringify([rows, db.prepare('SELECT change FROM webhook_outbox').all(), db.prepare('SELECT change FROM webhook_firing').all()]);
  t.false(everything.includes(bearer));
  t.false(everything.includes(password));
});
