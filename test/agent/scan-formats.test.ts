// `nodeward scan -o junit|sarif|kube-bench`: each format read back the way its consumers read
// it. JUnit by a real XML parser (expat); SARIF by Microsoft's SARIF Multitool (`validate`);
// kube-bench's JSON by a reader written to kube-bench's field names, as pipelines parse it.
import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Result, Status } from '../../proto/domain.js';
import { CATEGORIES, SEVERITIES, SOURCES, STATUSES } from '../../proto/domain.js';
import { CATALOG, evaluate, type CheckMeta } from '../../agent/checks/index.js';
import { collectFacts } from '../../agent/facts/index.js';
import { buildScanReport, otherReferences, type ScanReport } from '../../agent/scan-report.js';
import { formatJunit } from '../../agent/scan-formats/junit.js';
import { buildSarif, formatSarif, hostPathUri, SARIF_LEVEL } from '../../agent/scan-formats/sarif.js';
import { buildKubeBench } from '../../agent/scan-formats/kube-bench.js';
import { prepareFixture } from '../helpers/fixture.js';
import { executable, needs, npmPackage } from '../helpers/requirements.js';
import { findAll, parseXml, PYTHON_XML, type Parsed, type XmlElement } from '../helpers/xml.js';
import { checkProperty, fc } from '../helpers/property.js';

const SCANNED_AT = new Date('2026-03-01T12:00:00Z');

async function scanFixture(scenario: string, node: string): Promise<ScanReport> {
  const fx = await prepareFixture(scenario);
  try {
    const facts = await collectFacts({ hostRoot: fx.root, procRoot: fx.procRoot });
    const results = evaluate(facts, CATALOG, SCANNED_AT);
    return buildScanReport({ node, scannedAt: SCANNED_AT, benchmark: 'cis-1.12', scope: CATALOG.map((c) => c.id), results });
  } finally {
    await fx.cleanup();
  }
}

// Two hosts between them give every status: a kubeadm control plane (many subjects per control:
// each key file, each manifest) and a misconfigured worker.
let reports: ScanReport[] = [];
test.before(async () => {
  reports = [await scanFixture('kubeadm-cp', 'cp-1'), await scanFixture('insecure-worker', 'worker-1')];
});

test('the fixtures give every status, and controls with several subjects', (t) => {
  const statuses = new Set(reports.flatMap((r) => r.results.map((x) => x.status)));
  t.deepEqual([...statuses].sort(), [...STATUSES].sort());
  const perCis = new Map<string, number>();
  for (const r of reports[0]!.results) if (r.cis) perCis.set(r.cis, (perCis.get(r.cis) ?? 0) + 1);
  t.true((perCis.get('1.1.21') ?? 0) > 1, 'CIS 1.1.21 is judged on each key file (by cert-key-file)');
  t.true(reports.some((rep) => rep.results.some((r) => r.cis === '' && (r.status === 'fail' || r.status === 'warn'))), 'a finding no benchmark names');
});

// ---------------------------------------------------------------------------------------
// JUnit

const xmlTest = needs(PYTHON_XML);

const childOf = (tc: XmlElement): string => tc.children.find((c) => c.tag !== 'system-out')?.tag ?? 'passed';
const EXPECTED_CHILD: Readonly<Record<Status, string>> = { pass: 'passed', fail: 'failure', warn: 'skipped', skip: 'skipped', error: 'error' };

xmlTest('JUnit: well-formed, one test case per result, statuses mapped, counts that add up', async (t) => {
  const parsed = await parseXml(reports.map(formatJunit));
  for (const [i, report] of reports.entries()) {
    const p = parsed[i]!;
    if ('error' in p) return t.fail(`${report.node}: ${p.error}`);
    const root = p.root;
    t.is(root.tag, 'testsuites');
    const cases = findAll(root, 'testcase');
    t.is(cases.length, report.results.length, 'one test case per check and subject');
    // Test cases come in the text report's order; each is its result's check and subject.
    const byName = new Map(cases.map((c) => [c.attrs.name!, c]));
    t.is(byName.size, cases.length, 'test case names are unique');
    for (const r of report.results) {
      const refs = otherReferences(r);
      const tc = byName.get(`${r.id} ${r.title}${refs.length > 0 ? ` (${refs.join(', ')})` : ''} [${r.subject}]`);
      if (!tc) return t.fail(`no test case for ${r.id} ${r.subject}`);
      t.is(childOf(tc), EXPECTED_CHILD[r.status], `${r.id} ${r.subject} is ${r.status}`);
      if (r.status === 'fail') t.is(tc.children[0]!.attrs.type, r.severity);
    }
    const totals = report.totals;
    t.like(root.attrs, { tests: String(report.results.length), failures: String(totals.fail), errors: String(totals.error), skipped: String(totals.warn + totals.skip) });
    for (const suite of findAll(root, 'testsuite')) {
      const own = suite.children.filter((c) => c.tag === 'testcase');
      t.is(suite.attrs.tests, String(own.length));
      t.is(suite.attrs.failures, String(own.filter((c) => childOf(c) === 'failure').length));
      t.is(suite.attrs.errors, String(own.filter((c) => childOf(c) === 'error').length));
      t.is(suite.attrs.skipped, String(own.filter((c) => childOf(c) === 'skipped').length));
      t.is(suite.attrs.hostname, report.node);
      t.is(suite.attrs.timestamp, '2026-03-01T12:00:00');
    }
  }
  const cp = parsed[0]!;
  if ('error' in cp) return;
  t.true(findAll(cp.root, 'testsuite').some((s) => s.attrs.name === '1.1 Control plane node configuration files'));
});

/** A string of any UTF-16 code units: control characters, markup, lone surrogates. */
const anyText = fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((n) => String.fromCharCode(n)), maxLength: 40 });
const hostile = fc.oneof(anyText, fc.constantFrom('</testcase>', ']]>', '&amp;', '"\'<>&', '\u0000\u001b[2J', '\ud800', '\udfff\ud800', '\r\n\t', '\ufffe\uffff'));

const arbitraryResult: fc.Arbitrary<Result> = fc.record({
  id: fc.constantFrom('cert-key-file', 'cis-4.2.1', 'cert-expiry', 'custom'),
  cis: fc.constantFrom('', '1.1.21', '4.2.1', '2.3'),
  title: hostile,
  category: fc.constantFrom(...CATEGORIES),
  subject: fc.oneof(hostile, hostile.map((s) => `/etc/kubernetes/${s}`)),
  status: fc.constantFrom(...STATUSES),
  severity: fc.constantFrom(...SEVERITIES),
  scored: fc.boolean(),
  actual: hostile,
  expected: hostile,
  source: fc.constantFrom(...SOURCES),
  sourceFile: fc.oneof(fc.constant(''), hostile.map((s) => `/var/lib/${s}`)),
  reason: hostile,
  remediation: hostile,
}).map((r) => ({ ...r, references: r.cis === '' ? [] : [`cis-1.12:${r.cis}`] }));

const arbitraryReport = fc.record({ node: hostile, results: fc.array(arbitraryResult, { minLength: 1, maxLength: 6 }) })
  .map(({ node, results }) => buildScanReport({ node, scannedAt: SCANNED_AT, benchmark: 'cis-1.12', scope: [...new Set(results.map((r) => r.id))], results }));

const metaOf = (report: ScanReport): CheckMeta[] => [...new Map(report.results.map((r) => [r.id, {
  id: r.id, references: r.references, title: r.title, category: r.category, severity: r.severity, scored: r.scored, remediation: r.remediation,
}])).values()];

xmlTest('JUnit: whatever a node sends (markup, control characters, unpaired surrogates), the XML stays well-formed and says it', async (t) => {
  // Ten reports a run, parsed by one expat process.
  await checkProperty(t, fc.asyncProperty(fc.array(arbitraryReport, { minLength: 1, maxLength: 10 }), async (batch) => {
    const parsed = await parseXml(batch.map(formatJunit));
    for (const [i, report] of batch.entries()) check(report, parsed[i]);
    return true;
  }), 20);
  function check(report: ScanReport, p: Parsed | undefined): void {
    if (!p || 'error' in p) throw new Error(`not well-formed: ${p && 'error' in p ? p.error : 'no answer'}`);
    const cases = findAll(p.root, 'testcase');
    if (cases.length !== report.results.length) throw new Error(`${cases.length} test cases for ${report.results.length} results`);
    // Text XML can carry comes back exactly; what it cannot is written as \uXXXX.
    const expected = (s: string): string => s.replace(/[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/gu, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
    const names = new Set(cases.map((c) => c.attrs.name));
    for (const r of report.results) {
      const refs = otherReferences(r);
      if (!names.has(expected(`${r.id} ${r.title}${refs.length > 0 ? ` (${refs.join(', ')})` : ''} [${r.subject}]`))) throw new Error(`lost the name of ${JSON.stringify(r.subject)}`);
    }
  }
});

// ---------------------------------------------------------------------------------------
// SARIF

const SARIF_MULTITOOL = '@microsoft/sarif-multitool';
/** The package exports the path of the platform's Multitool binary (from its optional dependency for this OS). */
const multitoolBinary = (): string => createRequire(import.meta.url)(SARIF_MULTITOOL) as string;
const sarifTest = needs({
  what: "Microsoft's SARIF Multitool", packages: [SARIF_MULTITOOL],
  check: () => {
    const installed = npmPackage(SARIF_MULTITOOL);
    return installed === true ? executable(multitoolBinary()) : installed;
  },
  install: `npm install --save-dev ${SARIF_MULTITOOL}@5.7.0`,
});

interface SarifResult { ruleId: string; level?: string; message: { text?: string; id?: string; arguments?: string[] } }

/** `sarif-multitool validate`, run directly (no shell): the results it logs (schema errors are level error). */
async function validateSarif(dir: string, name: string, log: unknown): Promise<SarifResult[]> {
  const binary = multitoolBinary();
  const input = join(dir, `${name}.sarif`);
  const output = join(dir, `${name}.validation.sarif`);
  await writeFile(input, JSON.stringify(log, null, 2));
  await promisify(execFile)(binary, ['validate', input, '--output', output, '--log', 'ForceOverwrite', '--quiet'], { timeout: 60_000, maxBuffer: 16 << 20 });
  const validation = JSON.parse(await readFile(output, 'utf8')) as { runs: Array<{ results?: SarifResult[] }> };
  return validation.runs.flatMap((r) => r.results ?? []);
}

const errorsOf = (results: readonly SarifResult[]): string[] => results.filter((r) => r.level === 'error').map((r) => `${r.ruleId}: ${JSON.stringify(r.message.arguments ?? r.message.text)}`);

sarifTest('SARIF: sarif-multitool validate finds no error in the log of either host, nor in one made of hostile strings', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-sarif-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const hostileReport = fc.sample(arbitraryReport, { seed: 20261207, numRuns: 1 })[0]!;
  const logs = [
    ...reports.map((report) => ({ name: report.node, log: buildSarif({ report, checks: CATALOG, toolVersion: '0.2.0' }) })),
    { name: 'hostile', log: buildSarif({ report: hostileReport, checks: metaOf(hostileReport), toolVersion: '0.2.0' }) },
  ];
  for (const { name, log } of logs) {
    const found = await validateSarif(dir, name, log);
    t.deepEqual(errorsOf(found), [], `${name}: the validator's errors`);
    t.log(`${name}: ${found.length} warnings/notes: ${[...new Set(found.map((r) => r.ruleId))].join(', ')}`);
  }
  // The validator does judge the log: the same log without the tool's name is a schema error.
  const broken = structuredClone(logs[0]!.log) as any;
  delete broken.runs[0].tool.driver.name;
  t.true(errorsOf(await validateSarif(dir, 'broken', broken)).some((e) => e.startsWith('JSON1002')), 'a missing required property is reported');
});

test('SARIF: rules from the catalog, results with level by severity and kind by status, files located on the host', (t) => {
  const report = reports[0]!;
  const log = JSON.parse(formatSarif({ report, checks: CATALOG, toolVersion: '0.2.0' })) as any;
  t.is(log.version, '2.1.0');
  const run = log.runs[0];
  t.is(run.tool.driver.name, 'nodeward');
  t.is(run.tool.driver.version, '0.2.0');
  t.deepEqual(run.tool.driver.rules.map((r: any) => r.id), CATALOG.map((c) => c.id));
  const rule421 = run.tool.driver.rules.find((r: any) => r.id === 'cis-4.2.1');
  const spec421 = CATALOG.find((c) => c.id === 'cis-4.2.1')!;
  t.is(rule421.help.text, spec421.remediation);
  t.is(rule421.defaultConfiguration.level, 'error');
  t.is(rule421.properties['security-severity'], '8.0');
  t.true(rule421.properties.tags.includes('CIS 4.2.1'));

  t.is(run.results.length, report.results.length, 'one result per check and subject');
  const KINDS = { pass: 'pass', fail: 'fail', warn: 'review', skip: 'notApplicable', error: 'open' };
  for (const [i, r] of report.results.entries()) {
    const s = run.results[i];
    t.is(s.ruleId, r.id);
    t.is(run.tool.driver.rules[s.ruleIndex].id, r.id);
    t.is(s.kind, KINDS[r.status]);
    // SARIF: a level other than none only on kind fail.
    t.is(s.level, r.status === 'fail' ? SARIF_LEVEL[r.severity] : 'none');
    t.true(['none', 'note', 'warning', 'error'].includes(s.level));
  }
  // A file check is located at the file it judged, relative to the node's root.
  const keyFile = report.results.findIndex((r) => r.id === 'cert-key-file' && r.cis === '1.1.21');
  t.deepEqual(run.results[keyFile].properties.references, ['cis-1.12:1.1.21']);
  const keyRule = run.tool.driver.rules.find((r: any) => r.id === 'cert-key-file');
  t.deepEqual(keyRule.properties.references, ['cis-1.12:1.1.21']);
  t.true(keyRule.properties.tags.includes('cis-1.12:1.1.21'));
  t.regex(report.results[keyFile]!.subject, /^\/etc\/kubernetes\/pki\/.+\.key$/);
  const loc = run.results[keyFile].locations[0].physicalLocation.artifactLocation;
  t.deepEqual(loc, { uri: report.results[keyFile]!.subject.slice(1), uriBaseId: 'HOSTROOT' });
  // A setting read from a file is located at that file.
  const fromConfig = report.results.findIndex((r) => r.source === 'config' && r.sourceFile !== '');
  t.is(run.results[fromConfig].locations[0].physicalLocation.artifactLocation.uri, report.results[fromConfig]!.sourceFile.slice(1));
  t.is(run.originalUriBaseIds.HOSTROOT.uri, 'file:///');
  // A flag's value has no file: only its logical location.
  const flag = run.results[report.results.findIndex((r) => r.source === 'flag')];
  t.is(flag.locations[0].physicalLocation, undefined);
  // Findings carry the fingerprint the collector keys them by.
  const f = report.findings[0]!;
  const withFp = run.results.find((s: any) => s.partialFingerprints?.['nodewardFinding/v1'] === f.fingerprint);
  t.like(withFp, { ruleId: f.checkId, properties: { subject: f.subject } });
  t.is(hostPathUri('/etc/a b/100%/x\ud800y'), 'etc/a%20b/100%25/x%EF%BF%BDy');
});

// ---------------------------------------------------------------------------------------
// kube-bench

/**
 * A consumer of kube-bench's JSON, written to its field names only (as a pipeline reads
 * `kube-bench --json`): it walks Controls[].tests[].results[] and keeps what each level says.
 */
interface KubeBenchRead {
  /** test_number -> status, from the results themselves. */
  statuses: Map<string, string>;
  counted: { PASS: number; FAIL: number; WARN: number; INFO: number };
  totals: { total_pass: number; total_fail: number; total_warn: number; total_info: number };
  /** Every Controls entry's and every section's own counts, next to what its results say. */
  levels: Array<{ where: string; says: number[]; counted: number[] }>;
  results: Array<Record<string, unknown>>;
}

function readKubeBench(text: string): KubeBenchRead {
  const doc = JSON.parse(text) as { Controls: any[]; Totals: KubeBenchRead['totals'] };
  const read: KubeBenchRead = { statuses: new Map(), counted: { PASS: 0, FAIL: 0, WARN: 0, INFO: 0 }, totals: doc.Totals, levels: [], results: [] };
  const count = (rs: any[]): number[] => ['PASS', 'FAIL', 'WARN', 'INFO'].map((s) => rs.filter((r) => r.status === s).length);
  for (const controls of doc.Controls) {
    const all: any[] = [];
    for (const section of controls.tests) {
      for (const result of section.results) {
        if (read.statuses.has(result.test_number)) throw new Error(`test_number ${result.test_number} twice`);
        read.statuses.set(result.test_number, result.status);
        read.counted[result.status as keyof KubeBenchRead['counted']] += 1;
        read.results.push(result);
        all.push(result);
      }
      read.levels.push({ where: `section ${section.section}`, says: [section.pass, section.fail, section.warn, section.info], counted: count(section.results) });
    }
    read.levels.push({ where: `controls ${controls.id}`, says: [controls.total_pass, controls.total_fail, controls.total_warn, controls.total_info], counted: count(all) });
  }
  return read;
}

/**
 * Our report's totals per CIS control: the worst status of the results that name it (their
 * references, `cis-1.12:<control>`). A result that names no control of the benchmark is in none.
 */
function expectedPerControl(report: ScanReport): Map<string, string> {
  const rank: Record<Status, number> = { fail: 0, warn: 1, error: 2, pass: 3, skip: 4 };
  const state: Record<Status, string> = { fail: 'FAIL', warn: 'WARN', error: 'WARN', pass: 'PASS', skip: 'INFO' };
  const worst = new Map<string, Status>();
  for (const r of report.results) {
    for (const ref of r.references) {
      if (!ref.startsWith(`${report.benchmark}:`)) continue;
      const key = ref.slice(report.benchmark.length + 1);
      const was = worst.get(key);
      if (was === undefined || rank[r.status] < rank[was]) worst.set(key, r.status);
    }
  }
  return new Map([...worst].map(([k, s]) => [k, state[s]]));
}

test('kube-bench: a reader of its field names gets one result per CIS control and the same totals as our report', (t) => {
  for (const report of reports) {
    const read = readKubeBench(`${JSON.stringify(buildKubeBench({ report, checks: CATALOG }))}`);
    const expected = expectedPerControl(report);
    const sorted = (m: Map<string, string>): string[][] => [...m].sort(([a], [b]) => (a < b ? -1 : 1));
    t.deepEqual(sorted(read.statuses), sorted(expected), `${report.node}: one result per control, worst subject first`);
    const tally = (s: string): number => [...expected.values()].filter((x) => x === s).length;
    t.deepEqual(read.counted, { PASS: tally('PASS'), FAIL: tally('FAIL'), WARN: tally('WARN'), INFO: tally('INFO') });
    t.deepEqual(read.totals, { total_pass: tally('PASS'), total_fail: tally('FAIL'), total_warn: tally('WARN'), total_info: tally('INFO') });
    for (const level of read.levels) t.deepEqual(level.says, level.counted, `${report.node} ${level.where}`);
    for (const r of read.results) {
      t.deepEqual(Object.keys(r).filter((k) => k !== 'reason'), ['test_number', 'test_desc', 'audit', 'AuditEnv', 'AuditConfig', 'type', 'remediation', 'test_info', 'status', 'actual_value', 'scored', 'IsMultiple', 'expected_result']);
    }
  }
  // The key files of a kubeadm control plane: one result for 1.1.21, every file named, worst first.
  const cp = reports[0]!;
  const kb = readKubeBench(JSON.stringify(buildKubeBench({ report: cp, checks: CATALOG })));
  const r1121 = kb.results.find((r) => r.test_number === '1.1.21')!;
  const keyResults = cp.results.filter((r) => r.cis === '1.1.21');
  t.is(r1121.IsMultiple, true);
  t.is(r1121.status, keyResults.some((r) => r.status === 'fail') ? 'FAIL' : 'PASS');
  const lines = String(r1121.actual_value).split('\n');
  t.is(lines.length, keyResults.length);
  for (const r of keyResults) t.true(lines.some((l) => l.startsWith(`${r.subject} [${r.status.toUpperCase()}]: `)), r.subject);
  const firstPass = lines.findIndex((l) => l.includes('[PASS]'));
  const lastFail = lines.map((l) => l.includes('[FAIL]')).lastIndexOf(true);
  t.true(firstPass === -1 || lastFail < firstPass, 'failing files come before passing ones');
  t.regex(String(r1121.test_desc), / \((Automated|Manual)\)$/);
  t.deepEqual(r1121.test_info, [CATALOG.find((c) => c.id === 'cert-key-file')!.remediation]);
  t.regex(String(r1121.audit), /^nodeward check cert-key-file on \d+ subjects$/);
});

test('kube-bench: sections and parts as kube-bench numbers them; nothing but the benchmark\'s controls', (t) => {
  const doc = buildKubeBench({ report: reports[0]!, checks: CATALOG });
  t.deepEqual(doc.Controls.map((c) => [c.id, c.node_type]), [['1', 'master'], ['2', 'etcd'], ['3', 'controlplane'], ['4', 'node']]);
  t.deepEqual(doc.Controls[1]!.tests.map((g) => g.section), ['2']);
  t.true(doc.Controls[0]!.tests.every((g) => g.results.every((r) => r.test_number.startsWith(`${g.section}.`))));
  t.true(doc.Controls.every((c) => c.version === 'cis-1.12'));
  const numbers = doc.Controls.flatMap((c) => c.tests.flatMap((g) => g.results.map((r) => r.test_number)));
  t.true(numbers.every((n) => /^\d+(\.\d+)+$/.test(n)), 'every test is a CIS control');
});

test('kube-bench: one result per CIS control from every result that names it; results that name none are left out of it and of Totals', (t) => {
  const result = (over: Partial<Result>): Result => ({
    id: 'x', cis: '', references: [], title: 'T', category: 'certificate', subject: 's', status: 'pass', severity: 'high', scored: true,
    actual: '', expected: '', source: 'file', sourceFile: '', reason: 'why', remediation: 'fix', ...over,
  });
  const report = buildScanReport({
    node: 'n', scannedAt: SCANNED_AT, benchmark: 'cis-1.12', scope: ['cert-key-file', 'cert-expiry', 'cis-4.2.1'], results: [
      // Two key files, one control: one kube-bench result, failing.
      result({ id: 'cert-key-file', cis: '1.1.21', references: ['cis-1.12:1.1.21'], subject: '/pki/a.key', status: 'fail' }),
      result({ id: 'cert-key-file', cis: '1.1.21', references: ['cis-1.12:1.1.21'], subject: '/pki/b.key', status: 'pass' }),
      // The same check on a key outside the PKI directory names no control: not in kube-bench's output.
      result({ id: 'cert-key-file', subject: '/var/lib/kubelet/pki/kubelet-client-current.pem', status: 'fail' }),
      // A failure beyond the benchmark (an expired certificate) is not kube-bench's either.
      result({ id: 'cert-expiry', subject: '/pki/a.crt', status: 'fail', severity: 'critical' }),
      result({ id: 'cis-4.2.1', cis: '4.2.1', references: ['cis-1.12:4.2.1', 'cis-eks-1.5:3.2.1'], subject: 'kubelet/--anonymous-auth', status: 'pass' }),
    ],
  });
  const read = readKubeBench(JSON.stringify(buildKubeBench({ report, checks: CATALOG })));
  t.deepEqual([...read.statuses].sort(), [['1.1.21', 'FAIL'], ['4.2.1', 'PASS']]);
  t.deepEqual(read.totals, { total_pass: 1, total_fail: 1, total_warn: 0, total_info: 0 });
  for (const level of read.levels) t.deepEqual(level.says, level.counted, level.where);
  t.is(report.totals.fail, 3, 'our own report still counts every failure');
  const r1121 = read.results.find((r) => r.test_number === '1.1.21')!;
  t.is(String(r1121.actual_value).split('\n').length, 2, 'only the PKI key files');
});

test('every format renders any report without throwing, and the JSON ones parse', async (t) => {
  await checkProperty(t, fc.property(arbitraryReport, (report) => {
    const checks = metaOf(report);
    JSON.parse(formatSarif({ report, checks, toolVersion: '1' }));
    const kb = buildKubeBench({ report, checks });
    return kb.Totals.total_pass + kb.Totals.total_fail + kb.Totals.total_warn + kb.Totals.total_info === expectedPerControl(report).size
      && formatJunit(report).startsWith('<?xml');
  }), 200);
});
