import test from 'ava';
import type { Result } from '../../proto/domain.js';
import { fingerprint } from '../../proto/fingerprint.js';
import { CATALOG, evaluate, selectChecks } from '../../agent/checks/index.js';
import { collectFacts } from '../../agent/facts/index.js';
import { buildScanReport, failOnMatched, failOnMatches, formatFailOn, formatText } from '../../agent/scan-report.js';
import type { ScanReport } from '../../agent/scan-report.js';
import { prepareFixture } from '../helpers/fixture.js';

const SCANNED_AT = new Date('2026-03-01T12:00:00Z');

// The report's shape and rendering, on a fixed set of five checks (the catalogue grows).
const SPECS = selectChecks(CATALOG, ['cis-4.1.5', 'cis-4.1.9', 'cis-4.2.1', 'cis-4.2.2', 'cis-4.2.4']);

async function reportFor(scenario: string): Promise<ScanReport> {
  const fx = await prepareFixture(scenario);
  try {
    const facts = await collectFacts({ hostRoot: fx.root, procRoot: fx.procRoot });
    const results = evaluate(facts, SPECS, SCANNED_AT);
    return buildScanReport({ node: 'worker-1', scannedAt: SCANNED_AT, benchmark: 'cis-1.12', scope: SPECS.map((c) => c.id), results });
  } finally {
    await fx.cleanup();
  }
}

const RESULT_KEYS = ['id', 'cis', 'references', 'title', 'category', 'subject', 'status', 'severity', 'scored', 'actual', 'expected', 'source', 'sourceFile', 'reason', 'remediation'];

test('the JSON report has exactly the shape of design.md', async (t) => {
  const report = await reportFor('insecure-worker');
  const json = JSON.parse(JSON.stringify(report)) as Record<string, unknown>;
  t.deepEqual(Object.keys(json), ['node', 'scannedAt', 'benchmark', 'scope', 'results', 'findings', 'totals']);
  t.is(json['scannedAt'], '2026-03-01T12:00:00.000Z');
  t.is(json['benchmark'], 'cis-1.12');
  t.deepEqual(json['scope'], ['cis-4.1.5', 'cis-4.1.9', 'cis-4.2.1', 'cis-4.2.2', 'cis-4.2.4']);
  for (const r of report.results) t.deepEqual(Object.keys(r), RESULT_KEYS);
  t.deepEqual(report.totals, { pass: 0, fail: 4, warn: 1, skip: 0, error: 0 });
});

test('findings are the fail and warn results, with the shared fingerprint', async (t) => {
  const report = await reportFor('insecure-worker');
  t.is(report.findings.length, 5);
  const f = report.findings.find((x) => x.checkId === 'cis-4.2.2');
  t.deepEqual(f, {
    fingerprint: fingerprint('worker-1', 'cis-4.2.2', 'kubelet/--authorization-mode'),
    node: 'worker-1',
    checkId: 'cis-4.2.2',
    subject: 'kubelet/--authorization-mode',
    status: 'fail',
    severity: 'critical',
    title: 'Kubelet authorization mode is not AlwaysAllow',
    category: 'kubelet',
  });
  t.is(report.findings.find((x) => x.checkId === 'cis-4.2.4')?.status, 'warn');
  const clean = await reportFor('defaults-worker');
  t.deepEqual(clean.findings, []);
  // 4.1.9 judges the config file and each of its two drop-ins: three results.
  t.deepEqual(clean.totals, { pass: 7, fail: 0, warn: 0, skip: 0, error: 0 });
});

test('extra properties on a result do not leak into the report', (t) => {
  const r = { ...sampleResult('4.2.1', 'fail'), secretDebug: 'x' } as Result;
  const report = buildScanReport({ node: 'n', scannedAt: '2026-01-01T00:00:00Z', benchmark: 'cis-1.12', scope: ['cis-4.2.1'], results: [r] });
  t.deepEqual(Object.keys(report.results[0] ?? {}), RESULT_KEYS);
  t.is(report.scannedAt, '2026-01-01T00:00:00.000Z');
  t.throws(() => buildScanReport({ node: 'n', scannedAt: 'yesterday', benchmark: 'cis-1.12', scope: [], results: [] }), { instanceOf: RangeError });
});

test('--fail-on: a fail at or above the severity matches; warns never do', async (t) => {
  const insecure = await reportFor('insecure-worker');
  t.true(failOnMatched(insecure, 'critical')); // 4.2.2 is critical and fails
  t.true(failOnMatched(insecure, 'medium'));
  const clean = await reportFor('defaults-worker');
  t.false(failOnMatched(clean, 'info'));
  const warnOnly = buildScanReport({ node: 'n', scannedAt: SCANNED_AT, benchmark: 'cis-1.12', scope: [], results: [{ ...sampleResult('4.2.4', 'warn'), severity: 'critical' }] });
  t.false(failOnMatched(warnOnly, 'info'));
  const mediumFail = buildScanReport({ node: 'n', scannedAt: SCANNED_AT, benchmark: 'cis-1.12', scope: [], results: [{ ...sampleResult('4.1.5', 'fail'), severity: 'medium' }] });
  t.false(failOnMatched(mediumFail, 'high'));
  t.true(failOnMatched(mediumFail, 'medium'));
});

test('--fail-on lists what matched: most severe first, each with its check, subject and severity', async (t) => {
  const insecure = await reportFor('insecure-worker');
  const matches = failOnMatches(insecure, 'high');
  t.deepEqual(matches.map((r) => [r.severity, r.id, r.subject]), [
    ['critical', 'cis-4.2.2', 'kubelet/--authorization-mode'],
    ['high', 'cis-4.2.1', 'kubelet/--anonymous-auth'],
  ]);
  t.is(formatFailOn(matches, 'high'), [
    '--fail-on high: 2 failing results at high or above:',
    '  critical  cis-4.2.2  kubelet/--authorization-mode',
    '  high      cis-4.2.1  kubelet/--anonymous-auth',
    '',
  ].join('\n'));
  const odd = buildScanReport({ node: 'n', scannedAt: SCANNED_AT, benchmark: 'cis-1.12', scope: [], results: [{ ...sampleResult('4.1.5', 'fail', { subject: '/etc/\u001b[2Jx' }), severity: 'critical' }] });
  t.is(formatFailOn(failOnMatches(odd, 'critical'), 'critical'), '--fail-on critical: 1 failing result at critical or above:\n  critical  cis-4.1.5  /etc/\\u001b[2Jx\n');
});

test('text: grouped by section with status lines, values and sources, remediation, totals', async (t) => {
  const text = formatText(await reportFor('insecure-worker'));
  const lines = text.split('\n');
  t.is(lines[0], 'nodeward scan of worker-1 at 2026-03-01T12:00:00.000Z (cis-1.12, 5 checks in scope)');
  const s41 = lines.indexOf('4.1 Worker node configuration files');
  const s42 = lines.indexOf('4.2 Kubelet');
  t.true(s41 > 0 && s42 > s41);
  const at = (prefix: string): number => lines.findIndex((l) => l.startsWith(prefix));
  t.true(at('[FAIL] medium cis-4.1.5 Kubelet kubeconfig file mode is 0600 or stricter') > s41);
  t.true(at('[FAIL] high cis-4.2.1 ') > s42);
  t.true(at('[WARN] medium cis-4.2.4 ') > at('[FAIL] critical cis-4.2.2 '));
  t.true(lines.includes('        /etc/kubernetes/kubelet.conf: 0644 (file /etc/kubernetes/real/kubelet.conf)'));
  t.true(lines.includes('        kubelet/--authorization-mode: AlwaysAllow (flag)'));
  t.true(lines.includes('        kubelet/--anonymous-auth: true (config /var/lib/kubelet/config.yaml)'));
  const warnAt = at('[WARN] medium cis-4.2.4 ');
  t.true(lines.slice(warnAt + 1, warnAt + 4).some((l) => l.startsWith('        remediation: Close the unauthenticated read-only API')));
  t.is(lines.filter((l) => l.trim().startsWith('remediation:')).length, 5);
  t.true(text.endsWith('Totals: 0 pass, 4 fail, 1 warn, 0 skip, 0 error\nFindings: 5 (1 critical, 1 high, 3 medium, 0 low, 0 info)\n'));
});

test('text: passes carry no remediation; skip and error say why', (t) => {
  const report = buildScanReport({
    node: 'n',
    scannedAt: SCANNED_AT,
    benchmark: 'cis-1.12',
    scope: ['cis-4.1.5', 'cis-4.2.1', 'cis-4.2.2'],
    results: [
      sampleResult('4.2.1', 'pass', { actual: 'false', source: 'default' }),
      sampleResult('4.1.5', 'skip', { subject: 'kubelet/--kubeconfig', reason: 'standalone kubelet' }),
      sampleResult('4.2.2', 'error', { reason: 'cannot read config file /c.yaml' }),
    ],
  });
  const text = formatText(report);
  t.false(text.includes('remediation:'));
  t.true(text.includes('[PASS] cis-4.2.1 title 4.2.1\n        subject-4.2.1: false (default)\n'));
  t.true(text.includes('[SKIP] cis-4.1.5 title 4.1.5\n        kubelet/--kubeconfig\n        reason: standalone kubelet\n'));
  t.true(text.includes('[ERROR] high cis-4.2.2 title 4.2.2\n        subject-4.2.2\n        reason: cannot read config file /c.yaml\n'));
  t.true(text.endsWith('Totals: 1 pass, 0 fail, 0 warn, 1 skip, 1 error\nFindings: 0 (0 critical, 0 high, 0 medium, 0 low, 0 info)\n'));
});

test('text: CIS numbers sort numerically, sections without a name and non-CIS checks still show', (t) => {
  const results = [sampleResult('4.2.10', 'pass'), sampleResult('4.2.9', 'pass'), sampleResult('2.1', 'pass'), { ...sampleResult('', 'pass'), id: 'etcd-cert-expiry', category: 'certificate' as const }];
  const text = formatText(buildScanReport({ node: 'n', scannedAt: SCANNED_AT, benchmark: 'cis-1.12', scope: [], results }));
  t.true(text.indexOf('cis-4.2.9 ') < text.indexOf('cis-4.2.10 '));
  t.true(text.indexOf('\n2 etcd\n') < text.indexOf('\n4.2 Kubelet\n'));
  t.true(text.indexOf('\n4.2 Kubelet\n') < text.indexOf('\nOther checks: certificate\n'));
});

test('text: control characters from the node cannot reach the terminal', (t) => {
  const r = sampleResult('4.2.2', 'fail', { actual: 'AlwaysAllow\u001b[2J\u202e' });
  const text = formatText(buildScanReport({ node: 'n', scannedAt: SCANNED_AT, benchmark: 'cis-1.12', scope: [], results: [r] }));
  t.false(text.includes('\u001b'));
  t.false(text.includes('\u202e'));
  t.true(text.includes('AlwaysAllow\\u001b[2J\\u202e'));
});

function sampleResult(cis: string, status: Result['status'], over: Partial<Result> = {}): Result {
  return {
    id: cis === '' ? 'custom' : `cis-${cis}`,
    cis,
    references: cis === '' ? [] : [`cis-1.12:${cis}`],
    title: `title ${cis}`,
    category: 'kubelet',
    subject: `subject-${cis}`,
    status,
    severity: 'high',
    scored: true,
    actual: 'x',
    expected: 'y',
    source: 'flag',
    sourceFile: '',
    reason: `reason ${cis}`,
    remediation: `fix ${cis}`,
    ...over,
  };
}
