// The registry of `nodeward scan -o FORMAT`: one file per format, pure functions of the report
// and the checks in scope.
import type { CheckMeta } from '../checks/index.js';
import type { ScanDistribution, ScanReport } from '../scan-report.js';
import { formatText } from '../scan-report.js';
import { formatJunit } from './junit.js';
import { formatSarif } from './sarif.js';
import { formatKubeBench } from './kube-bench.js';

export interface ScanOutputInput {
  readonly report: ScanReport;
  /** The catalog entries of the checks in scope, in catalog order. */
  readonly checks: readonly CheckMeta[];
  /** nodeward's version, for the formats that name the tool. */
  readonly toolVersion: string;
  /** The distribution the facts were read with (the text format names it and why). */
  readonly distribution?: ScanDistribution;
}

export const SCAN_FORMATS = {
  text: { what: 'the report for a person, by CIS section', render: (i: ScanOutputInput) => formatText(i.report, i.distribution) },
  json: { what: "nodeward's JSON report", render: (i: ScanOutputInput) => `${JSON.stringify(i.report, null, 2)}\n` },
  junit: { what: 'JUnit XML: one test case per check and subject', render: (i: ScanOutputInput) => formatJunit(i.report) },
  sarif: { what: 'SARIF 2.1.0', render: formatSarif },
  'kube-bench': { what: "kube-bench's --json shape: one result per CIS control", render: formatKubeBench },
} as const satisfies Record<string, { what: string; render: (i: ScanOutputInput) => string }>;

export type ScanFormat = keyof typeof SCAN_FORMATS;
export const SCAN_FORMAT_NAMES = Object.keys(SCAN_FORMATS) as ScanFormat[];

export function renderScan(format: ScanFormat, input: ScanOutputInput): string {
  return SCAN_FORMATS[format].render(input);
}
