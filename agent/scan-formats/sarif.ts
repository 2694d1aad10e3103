// `nodeward scan -o sarif`: the report as a SARIF 2.1.0 log (OASIS), for code-scanning tools
// and SARIF viewers. Pure function of the report and the checks in scope.
//
// - One rule per check in scope, from the catalog: title, the benchmark controls it decides
//   (its references, as tags too), remediation as the rule's help, its default severity as the default level.
// - One result per check and subject. `kind` says what the result is: fail (a finding; its
//   level from its severity), review (a manual check found something for a person to judge),
//   notApplicable (skip), open (the check could not be judged: error), pass. SARIF allows a
//   level only on kind fail, so the others carry level none and their severity in properties.
// - A result about a file (the file it read, or the file the value came from) is located at
//   that file on the node, relative to uriBaseId HOSTROOT, the node's root directory.
// - partialFingerprints carries the finding's fingerprint (the same one the collector keys it
//   by), so a consumer can follow a finding from one scan to the next.
import type { Result, Severity } from '../../proto/domain.js';
import { CIS_BENCHMARK, controlIn } from '../../proto/benchmark-refs.js';
import type { CheckMeta } from '../checks/index.js';
import type { ScanReport } from '../scan-report.js';

export const SARIF_SCHEMA = 'https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json';

/** SARIF levels of a finding by severity. */
export const SARIF_LEVEL: Readonly<Record<Severity, 'error' | 'warning' | 'note'>> = {
  critical: 'error', high: 'error', medium: 'warning', low: 'note', info: 'note',
};

/**
 * `security-severity` of a rule (0.0-10.0, as code-scanning tools rank security results: 9.0
 * and above critical, 7.0 high, 4.0 medium, below low). Info checks carry none.
 */
const SECURITY_SEVERITY: Readonly<Record<Severity, string | undefined>> = {
  critical: '9.5', high: '8.0', medium: '5.5', low: '3.0', info: undefined,
};

const KIND: Readonly<Record<Result['status'], string>> = {
  fail: 'fail', warn: 'review', skip: 'notApplicable', error: 'open', pass: 'pass',
};

export interface SarifInput {
  readonly report: ScanReport;
  /** The checks in scope (their catalog entries), in the order the rules should have. */
  readonly checks: readonly CheckMeta[];
  readonly toolVersion: string;
}

/** A sentence for SARIF's messages: trimmed, ending with a full stop. */
function sentence(s: string): string {
  const t = s.trim();
  return t === '' || /[.!?]$/.test(t) ? t : `${t}.`;
}

/** The host file a result is about: the file its value came from, or the file it judged. */
export function resultFile(r: Result): string | undefined {
  if (r.sourceFile.startsWith('/')) return r.sourceFile;
  if (r.source === 'file' && r.subject.startsWith('/')) return r.subject;
  return undefined;
}

/**
 * An absolute host path as a URI reference relative to the host root, each segment
 * percent-encoded (an unpaired surrogate, which no URI can carry, as U+FFFD).
 */
export function hostPathUri(path: string): string {
  const wellFormed = path.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
  return wellFormed.split('/').filter((s) => s !== '').map((s) => encodeURIComponent(s)).join('/');
}

function rule(c: CheckMeta): Record<string, unknown> {
  const cis = controlIn(c.references, CIS_BENCHMARK);
  const named = c.references.length === 0 ? 'Not a benchmark control' : `Decides ${c.references.join(', ')} (${c.scored ? 'Automated' : 'Manual'})`;
  const securitySeverity = SECURITY_SEVERITY[c.severity];
  return {
    id: c.id,
    shortDescription: { text: sentence(c.title) },
    fullDescription: { text: `${sentence(c.title)} ${named}; severity ${c.severity}.` },
    help: { text: sentence(c.remediation) },
    defaultConfiguration: { level: SARIF_LEVEL[c.severity] },
    properties: {
      tags: ['security', 'kubernetes', c.category, ...(cis === '' ? [] : [`CIS ${cis}`]), ...c.references],
      precision: 'very-high',
      ...(securitySeverity === undefined ? {} : { 'security-severity': securitySeverity }),
      cis,
      references: c.references,
      category: c.category,
      severity: c.severity,
      scored: c.scored,
    },
  };
}

function message(r: Result): string {
  const head = `${sentence(r.title)} ${r.subject}`;
  switch (r.status) {
    case 'pass':
      return sentence(`${head}: ${r.actual === '' ? '(not set)' : r.actual}`);
    case 'skip':
      return sentence(`${head} does not apply: ${r.reason}`);
    case 'error':
      return sentence(`${head} could not be judged: ${r.reason}`);
    default:
      return `${sentence(`${head}: ${r.reason}`)} ${sentence(r.remediation)}`.trim();
  }
}

export function buildSarif(input: SarifInput): Record<string, unknown> {
  const { report } = input;
  const ruleIndex = new Map(input.checks.map((c, i) => [c.id, i]));
  const rules = input.checks.map(rule);
  const fingerprints = new Map(report.findings.map((f) => [`${f.checkId}\u0000${f.subject}`, f.fingerprint]));
  const results = report.results.map((r) => {
    const index = ruleIndex.get(r.id);
    const file = resultFile(r);
    const fingerprint = fingerprints.get(`${r.id}\u0000${r.subject}`);
    return {
      ruleId: r.id,
      ...(index === undefined ? {} : { ruleIndex: index }),
      kind: KIND[r.status],
      level: r.status === 'fail' ? SARIF_LEVEL[r.severity] : 'none',
      message: { text: message(r) },
      locations: [{
        ...(file === undefined ? {} : { physicalLocation: { artifactLocation: { uri: hostPathUri(file), uriBaseId: 'HOSTROOT' } } }),
        logicalLocations: [{ name: r.subject, fullyQualifiedName: `${report.node}/${r.subject}`, kind: 'resource' }],
      }],
      ...(fingerprint === undefined ? {} : { partialFingerprints: { 'nodewardFinding/v1': fingerprint } }),
      properties: {
        status: r.status, severity: r.severity, subject: r.subject, references: r.references, actual: r.actual, expected: r.expected,
        source: r.source, sourceFile: r.sourceFile, reason: r.reason,
      },
    };
  });
  return {
    $schema: SARIF_SCHEMA,
    version: '2.1.0',
    runs: [{
      tool: {
        driver: {
          name: 'nodeward',
          fullName: `nodeward ${input.toolVersion}: Kubernetes node security checks`,
          version: input.toolVersion,
          semanticVersion: input.toolVersion,
          rules,
        },
      },
      automationDetails: { id: `nodeward-scan/${report.node}/${report.scannedAt}` },
      originalUriBaseIds: {
        HOSTROOT: { uri: 'file:///', description: { text: `The root directory of node ${report.node}.` } },
      },
      invocations: [{ executionSuccessful: true, endTimeUtc: report.scannedAt }],
      results,
      properties: { node: report.node, benchmark: report.benchmark, scope: report.scope, totals: report.totals },
    }],
  };
}

export function formatSarif(input: SarifInput): string {
  return `${JSON.stringify(buildSarif(input), null, 2)}\n`;
}
