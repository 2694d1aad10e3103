// One finding per problem, with agents up to 0.2.x still in the field: they send the checks that
// were merged into others (proto/retired-checks.ts) beside the survivors. The collector maps a
// retired check's failing result onto the surviving finding and drops it when the survivor judged
// the same finding in the same report (collector/ingest/retired-checks.ts): twelve loose key files
// are twelve findings, counted once per scan in the rollups, announced once.
import test from 'ava';
import { foldRetiredChecks } from '../../collector/ingest/retired-checks.js';
import { InvalidMessage, scanFromWire } from '../../collector/ingest/validate.js';
import type { ScanReport__Output } from '../../proto/load.js';
import type { IncomingResult, IncomingScan } from '../../collector/pipeline/types.js';
import { RETIRED_CHECKS, survivorOf } from '../../proto/retired-checks.js';
import { CATALOG } from '../../agent/checks/index.js';
import { api, connect, fp, ok, result, withCollector } from '../helpers/agent-session.js';
import { eventually } from '../helpers/https.js';
import { startReceiver } from '../helpers/webhook-receiver.js';

const T0 = Date.now() - 60_000;

const incoming = (checkId: string, subject: string, status: IncomingResult['status'], severity: IncomingResult['severity'] = 'high'): IncomingResult => ({
  checkId, cis: '', references: [], title: checkId, category: 'certificate', subject, status, severity, scored: true, actual: '', expected: '',
  source: 'file', sourceFile: '', reason: 'r', remediation: 'f', occurrences: 1,
});
const scanOf = (results: IncomingResult[], scope: string[]): IncomingScan => ({
  node: 'node-a', epoch: 'e', sequence: 1, scannedAt: T0, benchmark: 'cis-1.12', scope, results, trigger: 'periodic',
});

test('the retired ids are no check of the catalog, and each goes to checks that are', (t) => {
  const ids = new Set(CATALOG.map((c) => c.id));
  for (const r of RETIRED_CHECKS) {
    t.false(ids.has(r.id), `${r.id} is retired`);
    for (const to of r.into) t.true(ids.has(to.checkId), `${r.id} -> ${to.checkId}`);
  }
  t.deepEqual(survivorOf('cis-1.1.21', '/etc/kubernetes/pki/apiserver.key'), { checkId: 'cert-key-file', subject: '/etc/kubernetes/pki/apiserver.key' });
  t.deepEqual(survivorOf('etcd-auto-tls', 'etcd/--peer-auto-tls'), { checkId: 'cis-2.6', subject: 'etcd/--peer-auto-tls' });
  t.deepEqual(survivorOf('etcd-plaintext-live', 'etcd/https://10.0.0.1:2379'), { checkId: 'cis-2.1', subject: 'etcd/--cert-file,--key-file' });
  t.is(survivorOf('etcd-auto-tls', 'etcd'), undefined);
  t.is(survivorOf('cis-4.2.1', 'kubelet/--anonymous-auth'), undefined, 'not retired');
});

test('fold: a retired result is dropped when the survivor judged its finding, mapped when not, dropped when it does not fail; retired ids leave the scope', (t) => {
  const out = foldRetiredChecks(scanOf([
    incoming('cert-key-file', '/pki/a.key', 'fail'),
    incoming('cis-1.1.21', '/pki/a.key', 'warn'),
    // The survivor did not see b.key (past its bound): the retired failure stands for it.
    incoming('cis-1.1.21', '/pki/b.key', 'warn'),
    // A retired pass resolves nothing: cert-key-file may fail the same key for its owner.
    incoming('cis-1.1.21', '/pki/c.key', 'pass'),
    // Two client URLs, one problem: the most severe once.
    incoming('etcd-plaintext-live', 'etcd/http://127.0.0.1:2379', 'fail', 'high'),
    incoming('etcd-plaintext-live', 'etcd/http://10.0.0.1:2379', 'fail', 'critical'),
    incoming('etcd-auto-tls', 'etcd', 'skip'),
    incoming('cis-4.2.1', 'kubelet/--anonymous-auth', 'pass'),
  ], ['cert-key-file', 'cis-1.1.21', 'etcd-plaintext-live', 'etcd-auto-tls', 'cis-4.2.1']));
  t.deepEqual(out.scan.results.map((r) => [r.checkId, r.subject, r.status, r.severity]), [
    ['cert-key-file', '/pki/a.key', 'fail', 'high'],
    ['cert-key-file', '/pki/b.key', 'warn', 'high'],
    ['cis-2.1', 'etcd/--cert-file,--key-file', 'fail', 'critical'],
    ['cis-4.2.1', 'kubelet/--anonymous-auth', 'pass', 'high'],
  ]);
  t.deepEqual(out.scan.scope, ['cert-key-file', 'cis-4.2.1']);
  t.is(out.mapped, 2);
  t.is(out.dropped, 4);
  // The kubelet's client CA: dropped where the same report judges it as a PKI certificate, kept elsewhere.
  const ca = foldRetiredChecks(scanOf([
    incoming('cis-1.1.20', '/etc/kubernetes/pki/ca.crt', 'warn'), incoming('cis-4.1.7', '/etc/kubernetes/pki/ca.crt', 'warn'),
    incoming('cis-4.1.8', '/etc/kubernetes/pki/ca.crt', 'pass'), incoming('cis-4.1.7', '/var/lib/kubelet/ca.crt', 'warn'),
  ], ['cis-1.1.20', 'cis-4.1.7', 'cis-4.1.8']));
  t.deepEqual(ca.scan.results.map((r) => [r.checkId, r.subject]), [['cis-1.1.20', '/etc/kubernetes/pki/ca.crt'], ['cis-4.1.8', '/etc/kubernetes/pki/ca.crt'], ['cis-4.1.7', '/var/lib/kubelet/ca.crt']]);
  t.deepEqual(ca.scan.scope, ['cis-1.1.20', 'cis-4.1.7', 'cis-4.1.8']);
  t.is(ca.dropped, 1);
  const none = scanOf([incoming('cis-4.2.1', 'kubelet/--anonymous-auth', 'fail')], ['cis-4.2.1']);
  t.is(foldRetiredChecks(none).scan, none, 'a report of today\'s agent passes untouched');
});

const KEYS = Array.from({ length: 12 }, (_, i) => `/etc/kubernetes/pki/k${String(i).padStart(2, '0')}.key`);

test('an older agent sending cis-1.1.21 beside cert-key-file for twelve loose key files: twelve findings, counted once, announced once', async (t) => {
  const receiver = await startReceiver(() => 200);
  t.teardown(() => receiver.close());
  await withCollector(async (tc) => {
    const old = await connect(tc, 'node-a', { agentVersion: '0.2.0' });
    t.teardown(() => old.close());
    const both = (status: 'fail' | 'pass') => KEYS.flatMap((k) => [
      result('cert-key-file', k, status, { cis: '', category: 'certificate' }),
      result('cis-1.1.21', k, status === 'fail' ? 'warn' : 'pass', { category: 'certificate', scored: false }),
    ]);
    const scope = ['cert-key-file', 'cis-1.1.21'];
    await old.scan(T0, scope, both('fail'));
    await old.scan(T0 + 1000, scope, both('fail'));

    const open = (await ok<{ items: any[] }>(tc, '/api/v1/findings?node=node-a&state=open&limit=100')).items;
    t.is(open.length, 12);
    t.deepEqual(open.map((f) => f.id).sort(), KEYS.map((k) => fp('node-a', 'cert-key-file', k)).sort());
    t.true(open.every((f) => f.count === 2), 'two scans, two occurrences each (not four)');
    const summary = await ok(tc, '/api/v1/summary');
    t.is(summary.findings.total, 12);
    t.is(summary.findings.bySeverity.high, 12);
    t.deepEqual(summary.topChecks.map((c: any) => [c.checkId, c.nodes, c.findings]), [['cert-key-file', 1, 12]]);
    t.deepEqual(summary.byNode.map((n: any) => [n.node, n.total]), [['node-a', 12]]);
    const node = (await ok<{ items: any[] }>(tc, '/api/v1/nodes')).items.find((n) => n.name === 'node-a');
    t.is(node.failingChecks, 1, 'one failing check, not two');
    const m = tc.collector.metrics;
    t.is(m.get('nodeward_retired_results_total', { outcome: 'dropped' }), 24);

    // Announced once per finding: twelve openings, whatever the old agent repeats.
    const rows = await eventually('twelve deliveries', async () => {
      const r = (await ok<{ items: any[] }>(tc, '/api/v1/webhooks/deliveries?destination=siem&limit=100')).items;
      return r.length >= 12 && r.every((x) => x.status === 'delivered') ? r : undefined;
    });
    t.is(rows.length, 12);
    t.true(rows.every((r) => r.event === 'opened'));

    // A key the survivor did not judge: the retired failure makes its one finding, with its reference.
    await old.scan(T0 + 2000, scope, [...both('fail'), result('cis-1.1.21', '/etc/kubernetes/pki/extra.key', 'warn', { category: 'certificate', scored: false })]);
    const extra = await ok(tc, `/api/v1/findings/${fp('node-a', 'cert-key-file', '/etc/kubernetes/pki/extra.key')}`);
    t.like(extra, { checkId: 'cert-key-file', state: 'open', references: ['cis-1.12:1.1.21'] });
    t.is((await api(tc, `/api/v1/findings/${fp('node-a', 'cis-1.1.21', '/etc/kubernetes/pki/extra.key')}`)).status, 404);
    t.is(m.get('nodeward_retired_results_total', { outcome: 'mapped' }), 1);

    // The retired check passing while the survivor fails resolves nothing; the survivor's pass does.
    await old.scan(T0 + 3000, scope, KEYS.flatMap((k) => [result('cert-key-file', k, 'fail', { cis: '' }), result('cis-1.1.21', k, 'pass')]));
    t.is((await ok<{ items: any[] }>(tc, '/api/v1/findings?node=node-a&state=open&limit=100')).items.length, 13);
    await old.scan(T0 + 4000, scope, both('pass'));
    const left = (await ok<{ items: any[] }>(tc, '/api/v1/findings?node=node-a&state=open&limit=100')).items;
    t.deepEqual(left.map((f) => f.subject), ['/etc/kubernetes/pki/extra.key'], 'cert-key-file\'s passes resolved its twelve');
    const all = (await ok<{ items: any[] }>(tc, '/api/v1/webhooks/deliveries?destination=siem&limit=100')).items;
    t.deepEqual(all.map((r) => r.event).sort(), [...Array(13).fill('opened'), ...Array(12).fill('resolved')].sort());
  }, { overrides: { webhooks: [{ name: 'siem', url: receiver.url, format: 'json', groupWindowMs: 0, backoffInitialMs: 20, backoffMaxMs: 100 }] } });
});

test('today\'s agent: the references of a result reach the API; an older agent\'s come from its cis and the report\'s benchmark', (t) => withCollector(async (tc) => {
  const a = await connect(tc, 'node-a');
  t.teardown(() => a.close());
  await a.scan(T0, ['cert-key-file', 'cis-4.2.1', 'cert-expiry'], [
    result('cert-key-file', '/etc/kubernetes/pki/a.key', 'fail', { cis: '1.1.21', references: ['cis-1.12:1.1.21', 'cis-eks-1.5:3.1.1'] }),
    result('cis-4.2.1', 'kubelet/--anonymous-auth', 'fail'),
    result('cert-expiry', '/etc/kubernetes/pki/a.crt', 'fail', { cis: '' }),
  ]);
  const get = (check: string, subject: string) => ok(tc, `/api/v1/findings/${fp('node-a', check, subject)}`);
  t.deepEqual((await get('cert-key-file', '/etc/kubernetes/pki/a.key')).references, ['cis-1.12:1.1.21', 'cis-eks-1.5:3.1.1']);
  t.deepEqual((await get('cis-4.2.1', 'kubelet/--anonymous-auth')).references, ['cis-1.12:4.2.1']);
  t.deepEqual((await get('cert-expiry', '/etc/kubernetes/pki/a.crt')).references, []);
}));

test('references from the wire: each <benchmark>:<control>, at most 16, no repeats; a refusal names the field', (t) => {
  const scan = (references: string[], cis = '4.2.1') => ({
    sequence: 1, node: '', scannedAtMs: Date.now(), benchmark: 'cis-1.12', scope: ['cis-4.2.1'], trigger: 'periodic',
    results: [{ checkId: 'cis-4.2.1', cis, title: 't', category: 'kubelet', subject: 's', status: 'STATUS_FAIL', severity: 'SEVERITY_HIGH', scored: true,
      actual: '', expected: '', source: 'flag', sourceFile: '', reason: '', remediation: '', occurrences: 1, references }],
  }) as unknown as ScanReport__Output;
  const refs = (s: ScanReport__Output) => scanFromWire(s, 'node-a', 'e', Date.now()).results[0]!.references;
  t.deepEqual(refs(scan(['cis-1.12:4.2.1', 'cis-eks-1.5:3.2.1'])), ['cis-1.12:4.2.1', 'cis-eks-1.5:3.2.1']);
  t.deepEqual(refs(scan([])), ['cis-1.12:4.2.1'], 'an older agent: its cis in the report\'s benchmark');
  t.deepEqual(refs(scan([], '')), []);
  const refused = (s: ScanReport__Output, re: RegExp) => t.regex(t.throws(() => refs(s), { instanceOf: InvalidMessage })!.message, re);
  refused(scan(['cis-1.12:4.2.1', 'cis 1.12:4.2.1']), /^scanReport\.results\[0\]\.references\[1\] "cis 1\.12:4\.2\.1" is not a benchmark reference/);
  refused(scan(['cis-1.12']), /^scanReport\.results\[0\]\.references\[0\] /);
  refused(scan(['cis-1.12:4.2.1', 'cis-1.12:4.2.1']), /^scanReport\.results\[0\]\.references names a reference twice/);
  refused(scan(Array.from({ length: 17 }, (_, i) => `cis-1.12:4.2.${i}`)), /^scanReport\.results\[0\]\.references has 17 entries; at most 16/);
});
