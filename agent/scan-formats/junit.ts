// `nodeward scan -o junit`: the report as JUnit XML for CI systems. Pure function of the report.
//
// One <testsuite> per section of the text report (4.2 Kubelet, ...), one <testcase> per result,
// that is per check and subject. How our statuses map:
//   pass  -> a passed test case
//   fail  -> <failure type="SEVERITY">: the check found a problem
//   warn  -> <skipped>: a manual (unscored) check found something for a person to review; like
//            --fail-on (and kube-bench's JUnit), it does not fail the build
//   skip  -> <skipped>: the check does not apply to this node
//   error -> <error>: the check could not be judged (a file it needs could not be read)
// Every value from the node is escaped; characters XML 1.0 cannot carry at all (most control
// characters) are written as \uXXXX.
import type { Result } from '../../proto/domain.js';
import type { ScanReport } from '../scan-report.js';
import { compareCis, controlOf, otherReferences, sectionOf, sectionTitle } from '../scan-report.js';

/** Characters outside XML 1.0's Char production (and unpaired surrogates), as \uXXXX text. */
function xmlChars(s: string): string {
  return s.replace(/[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/gu, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Text content: &, < and > escaped (> for `]]>`). */
export function xmlText(s: string): string {
  return xmlChars(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** An attribute value in double quotes: also " and the whitespace a parser would normalise away. */
export function xmlAttr(s: string): string {
  return xmlText(s).replace(/"/g, '&quot;').replace(/\t/g, '&#9;').replace(/\n/g, '&#10;').replace(/\r/g, '&#13;');
}

const attrs = (a: Record<string, string | number>): string => Object.entries(a).map(([k, v]) => ` ${k}="${xmlAttr(String(v))}"`).join('');

function detail(r: Result): string {
  const lines = [`${r.id} ${r.title}`, `subject: ${r.subject}`, `severity: ${r.severity}`];
  if (r.references.length > 0) lines.push(`references: ${r.references.join(', ')}`);
  if (r.status !== 'skip' && r.status !== 'error') lines.push(`actual: ${r.actual === '' ? '(not set)' : r.actual}`, `expected: ${r.expected}`);
  if (r.sourceFile !== '') lines.push(`source: ${r.source} ${r.sourceFile}`);
  lines.push(`reason: ${r.reason}`);
  if (r.status === 'fail' || r.status === 'warn') lines.push(`remediation: ${r.remediation}`);
  return lines.join('\n');
}

function testcase(r: Result, classname: string): string {
  const refs = otherReferences(r);
  const open = `    <testcase${attrs({ classname, name: `${r.id} ${r.title}${refs.length > 0 ? ` (${refs.join(', ')})` : ''} [${r.subject}]`, time: 0 })}`;
  switch (r.status) {
    case 'pass':
      return `${open}/>`;
    case 'fail':
      return `${open}>\n      <failure${attrs({ type: r.severity, message: `${r.severity}: ${r.reason}` })}>${xmlText(detail(r))}</failure>\n    </testcase>`;
    case 'warn':
      return `${open}>\n      <skipped${attrs({ message: `warn (manual check, ${r.severity}): ${r.reason}` })}/>\n      <system-out>${xmlText(detail(r))}</system-out>\n    </testcase>`;
    case 'skip':
      return `${open}>\n      <skipped${attrs({ message: `does not apply: ${r.reason}` })}/>\n    </testcase>`;
    case 'error':
      return `${open}>\n      <error${attrs({ type: 'not-judged', message: r.reason })}>${xmlText(detail(r))}</error>\n    </testcase>`;
  }
}

interface Counts { tests: number; failures: number; errors: number; skipped: number }

function count(results: readonly Result[]): Counts {
  return {
    tests: results.length,
    failures: results.filter((r) => r.status === 'fail').length,
    errors: results.filter((r) => r.status === 'error').length,
    skipped: results.filter((r) => r.status === 'warn' || r.status === 'skip').length,
  };
}

export function formatJunit(report: ScanReport): string {
  const bySection = new Map<string, Result[]>();
  for (const r of report.results) {
    const key = sectionOf(r, report.benchmark);
    bySection.set(key, [...(bySection.get(key) ?? []), r]);
  }
  // JUnit's timestamp is an xs:dateTime without a zone (the Ant schema); ours is UTC.
  const timestamp = report.scannedAt.replace(/\.\d+Z$|Z$/, '');
  const suites: string[] = [];
  for (const section of [...bySection.keys()].sort(compareCis)) {
    const rs = [...(bySection.get(section) ?? [])].sort((a, b) => compareCis(controlOf(a, report.benchmark), controlOf(b, report.benchmark)));
    const name = sectionTitle(section, report.benchmark);
    suites.push([
      `  <testsuite${attrs({ name, ...count(rs), time: 0, timestamp, hostname: report.node })}>`,
      ...rs.map((r) => testcase(r, name)),
      '  </testsuite>',
    ].join('\n'));
  }
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites${attrs({ name: `nodeward scan of ${report.node} (${report.benchmark})`, ...count(report.results), time: 0 })}>`,
    ...suites,
    '</testsuites>',
    '',
  ].join('\n');
}
