// The NUL character (U+0000) through a real collector (real mTLS gRPC, real HTTPS), on SQLite
// and on PostgreSQL (whose text and jsonb cannot hold one: before the validators kept NUL out,
// such a batch failed its commit there on every retry):
// a batch whose finding's title and detail carry NULs is acked and stored with each written as
// `\x00`; one whose subject carries a NUL is refused (an ack with INVALID_ARGUMENT, counted)
// and the stream goes on. The API answers 400 naming the body field to a suppress reason, a
// baseline key or an executable holding a NUL, and stores nothing of it but the audit record
// of the refused call, with the NUL escaped. Both backends answer alike.
import test, { type ExecutionContext } from 'ava';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import Database from 'better-sqlite3';
import { fingerprint } from '../../proto/fingerprint.js';
import type { AgentMessage } from '../../proto/load.js';
import { openRawStream } from '../helpers/grpc-client.js';
import { httpsJson } from '../helpers/https.js';
import { parsePromText } from '../helpers/prom-text.js';
import { startTestCollector, ADMIN_TOKEN, type TestCollector } from '../helpers/collector.js';
import { needsPostgres, postgresForFile } from '../helpers/postgres.js';

const pgTest = needsPostgres();
const server = postgresForFile();

type WireFinding = NonNullable<NonNullable<AgentMessage['findingBatch']>['findings']>[number];
const finding = (subject: string, title: string, detail: unknown): WireFinding => ({
  checkId: 'proc-unexpected', subject, title, category: 'process', severity: 'SEVERITY_HIGH', status: 'STATUS_FAIL',
  observedAtMs: Date.now(), occurrences: 1, seen: 'scan', remediation: 'Find out\u0000 why', detailJson: JSON.stringify(detail),
});
const batch = (sequence: number, ...findings: WireFinding[]): AgentMessage => ({ findingBatch: { sequence, findings } });

const apiOf = (tc: TestCollector) => <T = any>(path: string, opts: { method?: string; body?: unknown } = {}) => httpsJson<T>(`${tc.apiUrl}${path}`, { ca: tc.ca, token: ADMIN_TOKEN, ...opts });

async function invalidRejects(tc: TestCollector): Promise<number> {
  const res = await httpsJson(`${tc.apiUrl}/metrics`, { ca: tc.ca });
  const family = parsePromText(res.text).get('nodeward_rejects_total');
  return family?.samples.find((s) => s.labels.reason === 'invalid')?.value ?? 0;
}

/** NULs over the wire: stored as \\x00 in a title and a detail; in a subject refused with INVALID_ARGUMENT, counted, and the stream goes on. */
async function overTheWire(t: ExecutionContext, tc: TestCollector): Promise<void> {
  const api = apiOf(tc);
  const rejectsBefore = await invalidRejects(tc);
  const s = openRawStream(tc.grpcAddress, { ca: tc.pki.caCert, cert: tc.pki.agents['node-a']!.cert, key: tc.pki.agents['node-a']!.key });
  s.send({ hello: { node: 'node-a', agentVersion: 'test', epoch: 'epoch-nul', host: { os: 'Test\u0000OS', kernel: '6.1', arch: 'x64', cpus: 2 } } });
  s.send(batch(1, finding('/usr/bin/nul-ok', 'Unexpected\u0000process', { pid: 42, cmdline: 'nc\u0000-l', 'name\u0000': ['\u0000', { deep: 'a\u0000b' }] })));
  s.send(batch(2, finding('/usr/bin/nul\u0000bad', 'Unexpected process', { pid: 43 })));
  s.send(batch(3, finding('/usr/bin/nul-after', 'Unexpected process', { pid: 44 })));
  const [ok, refused, after] = await s.receive(3);
  t.is(ok?.ack?.sequence, 1);
  t.is(ok?.ack?.code, 0, ok?.ack?.message);
  t.is(refused?.ack?.sequence, 2);
  t.is(refused?.ack?.code, grpc.status.INVALID_ARGUMENT);
  t.regex(refused?.ack?.message ?? '', /findingBatch\.findings\[0\]\.subject holds the NUL character/);
  t.is(after?.ack?.sequence, 3);
  t.is(after?.ack?.code, 0, 'the stream goes on after the refusal');
  s.close();
  t.is(await invalidRejects(tc), rejectsBefore + 1, 'the refusal is counted as every invalid message is');

  const stored = await api(`/api/v1/findings/${fingerprint('node-a', 'proc-unexpected', '/usr/bin/nul-ok')}`);
  t.is(stored.status, 200, stored.text);
  t.is(stored.body.title, 'Unexpected\\x00process');
  t.is(stored.body.remediation, 'Find out\\x00 why');
  t.deepEqual(stored.body.detail, { pid: 42, cmdline: 'nc\\x00-l', 'name\\x00': ['\\x00', { deep: 'a\\x00b' }] });
  t.is((await api(`/api/v1/findings/${fingerprint('node-a', 'proc-unexpected', '/usr/bin/nul-after')}`)).status, 200);
  const all = await api<{ items: Array<{ subject: string }> }>('/api/v1/findings?node=node-a&limit=1000');
  t.deepEqual(all.body.items.map((f) => f.subject).filter((x) => x.startsWith('/usr/bin/nul')).sort(), ['/usr/bin/nul-after', '/usr/bin/nul-ok']);
  const node = await api('/api/v1/nodes/node-a');
  t.is(node.body.os, 'Test\\x00OS');
}

/** In the SQLite database itself: no NUL and no \\u0000 escape in any finding's or node's text. */
function noNulInSqlite(t: ExecutionContext, tc: TestCollector): void {
  const db = new Database(tc.databasePath, { readonly: true, fileMustExist: true });
  try {
    const nul = db.prepare(`SELECT count(*) AS n FROM findings WHERE instr(title, char(0)) OR instr(subject, char(0)) OR instr(remediation, char(0))
      OR instr(detail, char(0)) OR instr(detail, '\\u0000')`).get() as { n: number };
    t.is(nul.n, 0);
    t.is((db.prepare('SELECT count(*) AS n FROM nodes WHERE instr(os, char(0))').get() as { n: number }).n, 0);
  } finally {
    db.close();
  }
}

/** The API answers 400 naming the field to a suppress reason, a baseline key or an executable with a NUL, and audits the call with it escaped. */
async function overTheApi(t: ExecutionContext, tc: TestCollector): Promise<void> {
  const api = apiOf(tc);
  const id = fingerprint('node-a', 'proc-unexpected', '/usr/bin/nul-ok');
  const suppress = await api(`/api/v1/findings/${id}/suppress`, { method: 'POST', body: { reason: 'known\u0000 tool' } });
  t.is(suppress.status, 400, suppress.text);
  t.is(suppress.body.error, 'body field reason holds the NUL character (U+0000), which the collector does not store');
  t.is((await api(`/api/v1/findings/${id}`)).body.state, 'open', 'nothing was suppressed');

  const allow = await api('/api/v1/baselines/allow', { method: 'POST', body: { key: 'host/worker', executables: ['/usr/bin/ok', '/usr/bin/n\u0000c'] } });
  t.is(allow.status, 400, allow.text);
  t.regex(allow.body.error, /^body field executables\.1 holds the NUL character/);
  const key = await api('/api/v1/baselines/allow', { method: 'POST', body: { key: 'shop/Deployment/web\u0000/nginx', executables: ['/usr/bin/ok'] } });
  t.is(key.status, 400, key.text);
  t.regex(key.body.error, /^body field key holds the NUL character/);
  const baselines = await api<{ items: Array<{ key: string }> }>('/api/v1/baselines?limit=100');
  t.false(baselines.body.items.some((b) => b.key.includes('shop')), 'no baseline was made');

  // The refused calls are in the audit log as they were sent, the NULs written as \x00.
  const audit = await api<{ items: Array<{ status: number; target: string; detail: Record<string, unknown> }> }>('/api/v1/audit?action=finding.suppress');
  t.like(audit.body.items[0], { status: 400, target: id, detail: { reason: 'known\\x00 tool' } });
  const allows = await api<{ items: Array<{ status: number; target: string; detail: Record<string, unknown> }> }>('/api/v1/audit?action=baseline.allow');
  t.true(allows.body.items.some((r) => r.status === 400 && r.target === 'shop/Deployment/web\\x00/nginx'), JSON.stringify(allows.body.items));
  t.true(allows.body.items.some((r) => r.status === 400 && JSON.stringify(r.detail.executables) === JSON.stringify(['/usr/bin/ok', '/usr/bin/n\\x00c'])));
}

test('SQLite: NULs in a title and a detail are stored as \\x00, one in a subject is refused and counted, the stream goes on; the API refuses NULs in bodies with a 400 naming the field', async (t) => {
  const tc = await startTestCollector({ nodes: ['node-a'] });
  try {
    await overTheWire(t, tc);
    noNulInSqlite(t, tc);
    await overTheApi(t, tc);
  } finally {
    await tc.close();
  }
});

pgTest('PostgreSQL: the same, alike', async (t) => {
  const s = await server();
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-nul-'));
  const urlFile = join(dir, 'url');
  await writeFile(urlFile, s.url(await s.createDatabase()), { mode: 0o600 });
  try {
    const tc = await startTestCollector({ nodes: ['node-a'], overrides: { store: { driver: 'postgres', postgres: { urlFile, sslMode: 'disable' } } } });
    try {
      await overTheWire(t, tc);
      await overTheApi(t, tc);
    } finally {
      await tc.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
