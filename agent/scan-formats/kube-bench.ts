// `nodeward scan -o kube-bench`: the report in the JSON shape kube-bench writes with --json, for
// the pipelines that already read it (`.Totals.total_fail`, `.Controls[].tests[].results[]`).
// Pure function of the report and the checks in scope.
//
// Shape: {Controls: [one per benchmark part: 1 control plane, 2 etcd, 3 control plane
// configuration, 4 worker node], Totals}. A Controls entry holds its sections (`tests`), each
// with its results and pass/fail/warn/info counts, and its own total_pass/... counts.
//
// Built from the results' benchmark references: one kube-bench result per control of the
// report's benchmark (`cis-1.12:1.1.21` is test 1.1.21), made of every result that names it.
// kube-bench has one result per CIS control; we have one per subject (each key file, each
// manifest). They are aggregated worst-first: the control's status is the worst of its subjects'
// (fail, then warn or error, then pass, then skip), and its actual_value and reason list every
// subject, worst first. Statuses map as kube-bench's own do:
//   pass -> PASS, fail -> FAIL, warn -> WARN (a manual check that needs a person),
//   error -> WARN (kube-bench's "could not carry out the check"), skip -> INFO (does not apply).
// Results that name no control of the benchmark (expired certificates, versions, kernel
// settings) are left out, as kube-bench has no such tests: Totals count the benchmark's controls
// only, exactly as a kube-bench run's would. Gate on nodeward's own findings (`--fail-on`, the
// JSON, JUnit or SARIF outputs) to see those.
import type { Result, Status } from '../../proto/domain.js';
import type { CheckMeta } from '../checks/index.js';
import type { ScanReport } from '../scan-report.js';
import { compareCis, sectionName } from '../scan-report.js';
import { BENCHMARKS } from '../checks/benchmarks/index.js';
import { controlsIn } from '../../proto/benchmark-refs.js';

export type KubeBenchState = 'PASS' | 'FAIL' | 'WARN' | 'INFO';

export interface KubeBenchCheck {
  test_number: string;
  test_desc: string;
  audit: string;
  AuditEnv: string;
  AuditConfig: string;
  type: string;
  remediation: string;
  test_info: string[];
  status: KubeBenchState;
  actual_value: string;
  scored: boolean;
  IsMultiple: boolean;
  expected_result: string;
  reason?: string;
}

export interface KubeBenchSummary {
  total_pass: number;
  total_fail: number;
  total_warn: number;
  total_info: number;
}

export interface KubeBenchGroup {
  section: string;
  type: string;
  pass: number;
  fail: number;
  warn: number;
  info: number;
  desc: string;
  results: KubeBenchCheck[];
}

export interface KubeBenchControls extends KubeBenchSummary {
  id: string;
  version: string;
  text: string;
  node_type: string;
  tests: KubeBenchGroup[];
}

export interface KubeBenchOutput {
  Controls: KubeBenchControls[];
  Totals: KubeBenchSummary;
}

export const KUBE_BENCH_STATE: Readonly<Record<Status, KubeBenchState>> = {
  pass: 'PASS', fail: 'FAIL', warn: 'WARN', error: 'WARN', skip: 'INFO',
};

/** Worst first: the order subjects are listed in, and the first one decides a control's status. */
const WORST: Readonly<Record<Status, number>> = { fail: 0, warn: 1, error: 2, pass: 3, skip: 4 };

/** The benchmark's parts, as kube-bench names them (its targets master, etcd, controlplane, node): the benchmark's data. */
const partsOf = (benchmark: string): Readonly<Record<string, { text: string; nodeType: string }>> =>
  BENCHMARKS.find((b) => b.name === benchmark)?.parts ?? {};

export interface KubeBenchInput {
  readonly report: ScanReport;
  /** The checks in scope (their catalog entries). */
  readonly checks: readonly CheckMeta[];
}

const value = (r: Result): string => (r.actual === '' ? '(not set)' : r.actual);

/** One kube-bench result for one control: its subjects' results, worst first. */
function aggregate(testNumber: string, spec: CheckMeta | undefined, results: readonly Result[]): KubeBenchCheck {
  const rs = [...results].sort((a, b) => WORST[a.status] - WORST[b.status] || (a.subject < b.subject ? -1 : a.subject > b.subject ? 1 : 0));
  const worst = rs[0] as Result;
  const state = KUBE_BENCH_STATE[worst.status];
  const scored = spec?.scored ?? worst.scored;
  const remediation = spec?.remediation ?? worst.remediation;
  const many = rs.length > 1;
  const checks = [...new Set(rs.map((r) => r.id))].join(', ');
  // With several subjects each line names its subject and its own status (ours: ERROR, SKIP are told apart).
  const line = (r: Result, text: string): string => (many ? `${r.subject} [${r.status.toUpperCase()}]: ${text}` : text);
  const reasons = rs.filter((r) => r.status !== 'pass').map((r) => line(r, r.reason));
  const shown = (r: Result): string => (r.status === 'skip' ? '(does not apply)' : r.status === 'error' ? '(not judged)' : value(r));
  return {
    test_number: testNumber,
    test_desc: `${spec?.title ?? worst.title} (${scored ? 'Automated' : 'Manual'})`,
    audit: `nodeward check ${checks} on ${rs.length === 1 ? worst.subject : `${rs.length} subjects`}`,
    AuditEnv: '',
    AuditConfig: '',
    type: state === 'INFO' ? 'skip' : '',
    remediation,
    test_info: [remediation],
    status: state,
    actual_value: rs.map((r) => line(r, shown(r))).join('\n'),
    scored,
    IsMultiple: many,
    expected_result: worst.expected,
    ...(reasons.length > 0 ? { reason: reasons.join('\n') } : {}),
  };
}

function tally<T extends { status: KubeBenchState }>(results: readonly T[]): { pass: number; fail: number; warn: number; info: number } {
  const n = (s: KubeBenchState): number => results.filter((r) => r.status === s).length;
  return { pass: n('PASS'), fail: n('FAIL'), warn: n('WARN'), info: n('INFO') };
}

function summary(counts: { pass: number; fail: number; warn: number; info: number }): KubeBenchSummary {
  return { total_pass: counts.pass, total_fail: counts.fail, total_warn: counts.warn, total_info: counts.info };
}

/** `1.1.21` -> section `1.1`, part `1`; etcd's flat `2.3` -> section `2`, part `2`. */
function sectionOfCis(cis: string): string {
  const parts = cis.split('.');
  return parts.length >= 3 ? parts.slice(0, 2).join('.') : (parts[0] as string);
}

export function buildKubeBench(input: KubeBenchInput): KubeBenchOutput {
  const { report } = input;
  const specs = new Map(input.checks.map((c) => [c.id, c]));
  // One test per control of the report's benchmark, with every result that names it.
  const byTest = new Map<string, { spec: CheckMeta | undefined; results: Result[] }>();
  for (const r of report.results) {
    for (const control of controlsIn(r.references, report.benchmark)) {
      const entry = byTest.get(control) ?? { spec: specs.get(r.id), results: [] };
      entry.results.push(r);
      byTest.set(control, entry);
    }
  }
  // part -> section -> tests
  const parts = new Map<string, Map<string, KubeBenchCheck[]>>();
  for (const control of [...byTest.keys()].sort(compareCis)) {
    const entry = byTest.get(control)!;
    const section = sectionOfCis(control);
    const part = control.split('.')[0] as string;
    const sections = parts.get(part) ?? new Map<string, KubeBenchCheck[]>();
    sections.set(section, [...(sections.get(section) ?? []), aggregate(control, entry.spec, entry.results)]);
    parts.set(part, sections);
  }
  const controls: KubeBenchControls[] = [...parts.keys()].sort(compareCis).map((part) => {
    const sections = parts.get(part)!;
    const tests: KubeBenchGroup[] = [...sections.keys()].sort(compareCis).map((section) => {
      const results = sections.get(section)!;
      const desc = sectionName(section, report.benchmark) ?? section;
      return { section, type: '', ...tally(results), desc, results };
    });
    const PARTS = partsOf(report.benchmark);
    const known = Object.hasOwn(PARTS, part) ? PARTS[part] : undefined;
    return {
      id: part,
      version: report.benchmark,
      text: known?.text ?? `Part ${part}`,
      node_type: known?.nodeType ?? part,
      tests,
      ...summary(tally(tests.flatMap((g) => g.results))),
    };
  });
  const all = controls.flatMap((c) => c.tests.flatMap((g) => g.results));
  return { Controls: controls, Totals: summary(tally(all)) };
}

export function formatKubeBench(input: KubeBenchInput): string {
  return `${JSON.stringify(buildKubeBench(input))}\n`;
}
