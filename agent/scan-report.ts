// The one-shot scan report (`nodeward scan`): the JSON object of design.md, its text
// rendering, and the --fail-on decision. Pure functions over results.
import type { Category, Result, Severity, Status } from '../proto/domain.js';
import { SEVERITIES, STATUSES, isFindingStatus, severityRank } from '../proto/domain.js';
import { fingerprint } from '../proto/fingerprint.js';
import { CIS_BENCHMARK, cisRef, controlIn } from '../proto/benchmark-refs.js';
import { BENCHMARKS, CIS_KUBERNETES } from './checks/benchmarks/index.js';

export interface ReportFinding {
  readonly fingerprint: string;
  readonly node: string;
  readonly checkId: string;
  readonly subject: string;
  readonly status: Status;
  readonly severity: Severity;
  readonly title: string;
  readonly category: Category;
}

export type Totals = { readonly [S in Status]: number };

export interface ScanReport {
  readonly node: string;
  /** ISO 8601. */
  readonly scannedAt: string;
  readonly benchmark: string;
  /** The check ids evaluated: only a pass inside the scope resolves a finding. */
  readonly scope: readonly string[];
  readonly results: readonly Result[];
  readonly findings: readonly ReportFinding[];
  readonly totals: Totals;
}

export interface ScanReportInput {
  readonly node: string;
  readonly scannedAt: Date | string;
  readonly benchmark: string;
  readonly scope: readonly string[];
  readonly results: readonly Result[];
}

/** Exactly the fields of a result, in a fixed order, whatever the object carried. */
const pickResult = (r: Result): Result => ({
  id: r.id,
  cis: r.cis,
  references: [...r.references],
  title: r.title,
  category: r.category,
  subject: r.subject,
  status: r.status,
  severity: r.severity,
  scored: r.scored,
  actual: r.actual,
  expected: r.expected,
  source: r.source,
  sourceFile: r.sourceFile,
  reason: r.reason,
  remediation: r.remediation,
});

export function buildScanReport(input: ScanReportInput): ScanReport {
  const scannedAt = new Date(input.scannedAt);
  if (Number.isNaN(scannedAt.getTime())) throw new RangeError(`scannedAt is not a valid time: ${String(input.scannedAt)}`);
  const results = input.results.map(pickResult);
  const totals = { pass: 0, fail: 0, warn: 0, skip: 0, error: 0 };
  for (const r of results) totals[r.status] += 1;
  const findings = results.filter((r) => isFindingStatus(r.status)).map((r) => ({
    fingerprint: fingerprint(input.node, r.id, r.subject),
    node: input.node,
    checkId: r.id,
    subject: r.subject,
    status: r.status,
    severity: r.severity,
    title: r.title,
    category: r.category,
  }));
  return { node: input.node, scannedAt: scannedAt.toISOString(), benchmark: input.benchmark, scope: [...input.scope], results, findings, totals };
}

/**
 * The `fail` results at least as severe as `severity` (the --fail-on rule: warns, skips and
 * errors never match), most severe first, then by check id and subject.
 */
export function failOnMatches(report: ScanReport, severity: Severity): Result[] {
  return report.results
    .filter((r) => r.status === 'fail' && severityRank(r.severity) >= severityRank(severity))
    .sort((a, b) => severityRank(b.severity) - severityRank(a.severity) || compareCis(controlOf(a, report.benchmark), controlOf(b, report.benchmark))
      || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0) || (a.subject < b.subject ? -1 : a.subject > b.subject ? 1 : 0));
}

/** True when --fail-on matches: some `fail` result is at least as severe as `severity`. */
export function failOnMatched(report: ScanReport, severity: Severity): boolean {
  return failOnMatches(report, severity).length > 0;
}

/** What --fail-on says before the exit code 1: every matching result, one line each. */
export function formatFailOn(matches: readonly Result[], severity: Severity): string {
  const width = Math.max(...matches.map((r) => r.severity.length));
  const idWidth = Math.max(...matches.map((r) => r.id.length));
  const lines = [`--fail-on ${severity}: ${matches.length} failing result${matches.length === 1 ? '' : 's'} at ${severity} or above:`];
  for (const r of matches) lines.push(`  ${r.severity.padEnd(width)}  ${r.id.padEnd(idWidth)}  ${printable(r.subject)}`);
  return `${lines.join('\n')}\n`;
}

/** The section titles of CIS Kubernetes (the benchmark the catalog follows). */
export const SECTION_TITLES: Readonly<Record<string, string>> = CIS_KUBERNETES.sections;

/** The control a result decides in `benchmark` (`3.2.1` in cis-eks-1.7), or ''. */
export const controlOf = (r: Pick<Result, 'references'>, benchmark: string): string => controlIn(r.references, benchmark);

/**
 * `4.2.1` -> `4.2`; etcd's flat `2.3` -> `2`: the section of the control the result decides in
 * `benchmark` (default CIS Kubernetes); a result that decides none groups by category.
 */
export function sectionOf(r: Pick<Result, 'references' | 'category'>, benchmark: string = CIS_BENCHMARK): string {
  const control = controlOf(r, benchmark);
  if (control === '') return `other:${r.category}`;
  const parts = control.split('.');
  return parts.length >= 3 ? parts.slice(0, 2).join('.') : (parts[0] as string);
}

/** What `benchmark` calls a section of its own (`3.2` -> `Kubelet`), when the data names it. */
export function sectionName(section: string, benchmark: string = CIS_BENCHMARK): string | undefined {
  const titles = BENCHMARKS.find((b) => b.name === benchmark)?.sections ?? {};
  return Object.hasOwn(titles, section) ? titles[section] : undefined;
}

export function sectionTitle(section: string, benchmark: string = CIS_BENCHMARK): string {
  if (section.startsWith('other:')) return `Other checks: ${section.slice('other:'.length)}`;
  const name = sectionName(section, benchmark);
  return name === undefined ? section : `${section} ${name}`;
}

/**
 * The references a result carries beyond the control its id names (`cis-4.2.1` names
 * cis-1.12:4.2.1): what the text and JUnit reports add to its title.
 */
export function otherReferences(r: Pick<Result, 'id' | 'references'>): string[] {
  const own = r.id.startsWith('cis-') ? cisRef(r.id.slice(4)) : undefined;
  return r.references.filter((x) => x !== own);
}

/** Numeric order for CIS numbers (4.2.10 after 4.2.9); non-CIS groups last. */
export function compareCis(a: string, b: string): number {
  const pa = a.split(/[.:]/);
  const pb = b.split(/[.:]/);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? '';
    const y = pb[i] ?? '';
    if (x === y) continue;
    const nx = /^\d+$/.test(x) ? Number(x) : Number.POSITIVE_INFINITY;
    const ny = /^\d+$/.test(y) ? Number(y) : Number.POSITIVE_INFINITY;
    return nx !== ny ? nx - ny : x < y ? -1 : 1;
  }
  return 0;
}

/**
 * Values in a report come from the node (a config value, a path): control characters and
 * bidi overrides are escaped so they cannot rewrite the reader's terminal.
 */
export function printable(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function valueText(r: Result): string {
  const value = r.actual === '' ? '(not set)' : r.actual;
  switch (r.source) {
    case 'none':
      return value;
    case 'config':
    case 'dropin':
    case 'file':
    case 'manifest': {
      const file = r.sourceFile && r.sourceFile !== r.subject ? ` ${r.sourceFile}` : '';
      return `${value} (${r.source === 'dropin' ? 'drop-in' : r.source}${file})`;
    }
    default:
      return `${value} (${r.source})`;
  }
}

const INDENT = '        ';

/** The node's distribution as the facts chose it (agent/facts/distribution-types.ts), for the text report's second line. */
export interface ScanDistribution {
  readonly name: string;
  readonly benchmark: string;
  readonly reason: string;
}

export function formatText(report: ScanReport, distribution?: ScanDistribution): string {
  const lines: string[] = [
    `nodeward scan of ${printable(report.node)} at ${report.scannedAt} (${printable(report.benchmark)}, ${report.scope.length} checks in scope)`,
  ];
  if (distribution !== undefined) {
    lines.push(`distribution: ${printable(distribution.name)}, judged by ${printable(distribution.benchmark)}; ${printable(distribution.reason)}`);
  }
  const bySection = new Map<string, Result[]>();
  for (const r of report.results) {
    const key = sectionOf(r, report.benchmark);
    bySection.set(key, [...(bySection.get(key) ?? []), r]);
  }
  const control = (r: Result): string => controlOf(r, report.benchmark);
  for (const section of [...bySection.keys()].sort(compareCis)) {
    lines.push('', sectionTitle(section, report.benchmark));
    const rs = [...(bySection.get(section) ?? [])].sort((a, b) => compareCis(control(a), control(b)));
    for (const r of rs) {
      // Severity is what a finding (or a check that could not be judged) is triaged by; a pass or a skip has none to act on.
      const severity = r.status === 'pass' || r.status === 'skip' ? '' : `${r.severity} `;
      const refs = otherReferences(r);
      lines.push(`[${r.status.toUpperCase()}] ${severity}${r.id} ${printable(r.title)}${refs.length > 0 ? ` (${printable(refs.join(', '))})` : ''}`);
      const showValue = r.status !== 'skip' && r.status !== 'error';
      lines.push(`${INDENT}${printable(r.subject)}${showValue ? `: ${printable(valueText(r))}` : ''}`);
      if (r.status !== 'pass') lines.push(`${INDENT}reason: ${printable(r.reason)}`);
      if (isFindingStatus(r.status)) lines.push(`${INDENT}remediation: ${printable(r.remediation)}`);
    }
  }
  const t = report.totals;
  lines.push('', `Totals: ${STATUSES.map((s) => `${t[s]} ${s}`).join(', ')}`);
  const bySeverity = [...SEVERITIES].reverse().map((sev) => `${report.findings.filter((f) => f.severity === sev).length} ${sev}`);
  lines.push(`Findings: ${report.findings.length} (${bySeverity.join(', ')})`, '');
  return lines.join('\n');
}
