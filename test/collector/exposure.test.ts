// What listens on a node, from the agent's wire to the operator: a ScanReport carrying the
// exposure the agent's own code collected on this machine (a socket this test opens on
// 127.0.0.1) goes over real mTLS gRPC into SQLite, and comes back from GET /api/v1/nodes/{name}
// and `nodeward query nodes --exposure`. A report with a listener that is not an address is
// refused (INVALID_ARGUMENT) and leaves the stored exposure as it was; a newer scan replaces it.
import test from 'ava';
import { realpathSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { addressClasses } from '../../agent/exposure/address-class.js';
import { collectExposure } from '../../agent/exposure/collect.js';
import { placeWith } from '../../agent/exposure/owner.js';
import { exposureToWire } from '../../agent/exposure/wire.js';
import { createProcReader } from '../../agent/processes/proc-reader.js';
import type { NodeExposure } from '../../proto/gen/nodeward/v1/NodeExposure.js';
import { connect } from '../helpers/agent-session.js';
import { READER_TOKEN, startTestCollector } from '../helpers/collector.js';
import { httpsJson } from '../helpers/https.js';
import { runNodeward } from '../helpers/process.js';

test('the listeners an agent collects reach GET /nodes/{name} and query nodes --exposure; a bad one is refused', async (t) => {
  const tc = await startTestCollector();
  t.teardown(() => tc.close());
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const port = (server.address() as { port: number }).port;
  const facts = await collectExposure({
    procRoot: '/proc', namespacePid: process.pid, classes: addressClasses().classes, processes: createProcReader('/proc'),
    place: placeWith({ attribute: async () => ({ fake: true, reason: '' }) }, () => 'host/worker'),
  });
  const wire = exposureToWire(facts);
  const s = await connect(tc, 'node-a');
  t.teardown(() => s.close());
  const scan = async (seq: number, at: number, exposure: NodeExposure) => {
    s.stream.send({ scanReport: { sequence: seq, scannedAtMs: at, benchmark: 'cis-1.12', scope: [], results: [], trigger: 'periodic', exposure } });
    for (;;) {
      const m = await s.next();
      if (m.ack?.sequence === seq) return m.ack;
    }
  };
  const t0 = Date.now();
  t.is((await scan(1, t0, wire)).code, 0);

  const get = async () => (await httpsJson(`${tc.apiUrl}/api/v1/nodes/node-a`, { ca: tc.ca, token: READER_TOKEN })).body as { exposure: { listeners: Array<Record<string, unknown>>; scannedAt: string } | null };
  const mine = (await get()).exposure?.listeners.filter((l) => l.port === port);
  t.deepEqual(mine, [{
    protocol: 'tcp', address: '127.0.0.1', port, addressClass: 'loopback', wildcard: false, pid: process.pid, exe: realpathSync(process.execPath),
    baseline: 'host/worker', namespace: '', pod: '', container: '', workload: '', uid: process.getuid?.() ?? 0,
  }]);

  // A listener whose address is not one: the whole report is refused, the stored one stays.
  const bad = { ...wire, listeners: [{ ...wire.listeners![0]!, address: '127.0.0.1; rm -rf /' }] };
  const refused = await scan(2, t0 + 1000, bad);
  t.is(refused.code, 3);
  t.regex(refused.message ?? '', /scanReport\.exposure\.listeners\[0\]\.address .* is not an IPv4 or IPv6 address/);
  t.is((await get()).exposure?.listeners.filter((l) => l.port === port).length, 1);

  // The CLI, as an operator runs it; node-b has said hello but sent no scan.
  const b = await connect(tc, 'node-b');
  t.teardown(() => b.close());
  await b.settle();
  await writeFile(join(tc.dir, 'reader.token'), `${READER_TOKEN}\n`, { mode: 0o600 });
  const conn = ['--url', tc.apiUrl, '--token-file', join(tc.dir, 'reader.token'), '--ca-file', tc.pki.caCert];
  const table = await runNodeward(['query', 'nodes', '--exposure', ...conn]);
  t.is(table.code, 0, table.stderr);
  t.regex(table.stdout, /^NODE\s+PROTO\s+ADDRESS\s+PORT\s+CLASS\s+PID\s+EXECUTABLE\s+WORKLOAD\n/);
  t.regex(table.stdout, new RegExp(`node-a\\s+tcp\\s+127\\.0\\.0\\.1\\s+${port}\\s+loopback\\s+${process.pid}\\s+\\S*node\\S*\\s+host/worker`));
  t.regex(table.stderr, /node-b: no listeners reported/);
  const json = await runNodeward(['query', 'nodes', '--exposure', '--node', 'node-a', '--output', 'json', ...conn]);
  t.true((JSON.parse(json.stdout) as { items: Array<{ port: number }> }).items.some((r) => r.port === port));

  // A newer scan replaces what listens.
  t.is((await scan(3, t0 + 2000, { ...wire, listeners: [] })).code, 0);
  t.deepEqual((await get()).exposure?.listeners, []);
});

test('property: the collector reads any exposure message without throwing: a value or a refusal', async (t) => {
  const { checkProperty, fc } = await import('../helpers/property.js');
  const { exposureFromWire } = await import('../../collector/ingest/exposure.js');
  const anyText = fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom('127.0.0.1', '::', '10.0.0.1', 'tcp', 'udp', 'public', 'loopback', 'interface', 'node'), fc.string({ minLength: 1020, maxLength: 1100 }));
  const anyNum = fc.oneof(fc.integer({ min: -5, max: 70_000 }), fc.constant(2 ** 40), fc.double());
  const listener = fc.record({
    protocol: anyText, address: anyText, port: anyNum, addressClass: anyText, wildcard: fc.boolean(), pid: anyNum, exe: anyText,
    baseline: anyText, namespace: anyText, pod: anyText, container: anyText, workload: anyText, uid: anyNum,
  });
  const msg = fc.record({
    listeners: fc.array(listener, { maxLength: 5 }), nodeAddresses: fc.array(fc.record({ address: anyText, addressClass: anyText, source: anyText }), { maxLength: 3 }),
    listenersDropped: anyNum, unowned: anyNum, walkCut: anyText, rowsRefused: anyNum,
  });
  await checkProperty(t, fc.property(msg, (m) => {
    const r = exposureFromWire(m as Parameters<typeof exposureFromWire>[0]);
    return typeof r === 'string' ? r.startsWith('scanReport.exposure') : r.listeners.length === m.listeners.length;
  }), 500);
});

test("the Node object's ExternalIPs reach its agent after hello and again when they change; what is not an address is left out", async (t) => {
  const { startFakePodApi, agentDaemonSet, nodeObject } = await import('./fake-pod-api.js');
  const { eventually } = await import('../helpers/https.js');
  const api = await startFakePodApi();
  t.teardown(() => api.close());
  api.daemonSet = agentDaemonSet();
  api.version = { major: '1', minor: '31', gitVersion: 'v1.31.2' };
  api.applyNode(nodeObject({ name: 'node-a', externalIps: ['203.0.113.7', 'not-an-ip'] }));
  const tc = await startTestCollector({
    overrides: {
      nodes: { watch: 'on' }, pods: { watch: 'off' },
      'enroll.kubernetes': { server: api.url, caFile: api.caFile, tokenFile: api.tokenFile },
    },
  });
  t.teardown(() => tc.close());
  await eventually('the node watch', () => (tc.collector.nodes?.synced ? true : undefined));
  const s = await connect(tc, 'node-a');
  t.teardown(() => s.close());
  const addresses = async (): Promise<string[]> => {
    for (;;) {
      const m = await s.next();
      if (m.nodeAddresses) return m.nodeAddresses.externalIps;
    }
  };
  t.deepEqual(await addresses(), ['203.0.113.7']);
  api.applyNode(nodeObject({ name: 'node-a', externalIps: ['203.0.113.8', '2001:db8::8'] }));
  t.deepEqual(await addresses(), ['203.0.113.8', '2001:db8::8']);
});

test("a baseline's listens travel with its report and show in GET /baselines; one that is not a listen refuses the report", async (t) => {
  const { bl } = await import('../helpers/agent-session.js');
  const { buildReports } = await import('../../agent/report/baseline-report.js');
  const tc = await startTestCollector();
  t.teardown(() => tc.close());
  const s = await connect(tc, 'node-a');
  t.teardown(() => s.close());
  const key = 'shop/Deployment/web/nginx';
  // The agent's own report builder puts the listen set on its baseline.
  const built = buildReports([{ key, createdAtMs: Date.now(), learnUntilMs: Date.now() + 3_600_000, lockedAtMs: null, lockedBy: null, version: 0, lastSeenMs: Date.now(), items: {}, removed: {} }],
    0, Date.now(), (k) => (k === key ? ['tcp/0.0.0.0:8080', 'udp/[::]:53'] : []));
  t.deepEqual(built.reports[0]?.baselines?.[0]?.listens, ['tcp/0.0.0.0:8080', 'udp/[::]:53']);
  const withAllow = buildReports([{ key, createdAtMs: Date.now(), learnUntilMs: Date.now() + 3_600_000, lockedAtMs: null, lockedBy: null, version: 0, lastSeenMs: Date.now(), items: {}, removed: {} }],
    0, Date.now(), () => ['tcp/0.0.0.0:8080', 'tcp/private:9090']);
  t.deepEqual(withAllow.reports[0]?.baselines?.[0]?.listens, ['tcp/0.0.0.0:8080'], "an operator's address-class entry does not go back in a report");
  s.report({ ...bl(key, 'learning', ['/usr/sbin/nginx']), listens: ['tcp/0.0.0.0:8080', 'udp/[::]:53'] });
  await s.settle();
  const get = async () => ((await httpsJson(`${tc.apiUrl}/api/v1/baselines?key=${encodeURIComponent(key)}`, { ca: tc.ca, token: READER_TOKEN })).body as { items: Array<{ key: string; listens: Array<{ listen: string; firstNode: string }> }> }).items;
  t.deepEqual((await get()).find((b) => b.key === key)?.listens.map((l) => `${l.listen} ${l.firstNode}`), ['tcp/0.0.0.0:8080 node-a', 'udp/[::]:53 node-a']);
  s.report({ ...bl(key, 'learning', ['/usr/sbin/nginx']), listens: ['tcp/0.0.0.0:8080; echo'] });
  for (;;) {
    const m = await s.next();
    if (m.ack?.sequence === 0) {
      t.is(m.ack.code, 3);
      t.regex(m.ack.message ?? '', /listens\[0\] is not <tcp\|udp>\/<address>:<port>/);
      break;
    }
  }
});
