// The few domain types both the agent and the collector rely on. Wire messages are in
// proto/gen/ (generated); these are the in-process shapes and their conversions.

export const SEVERITIES = ['info', 'low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const STATUSES = ['pass', 'fail', 'warn', 'skip', 'error'] as const;
export type Status = (typeof STATUSES)[number];

export const CATEGORIES = ['kubelet', 'control-plane', 'etcd', 'certificate', 'host', 'process', 'version', 'agent'] as const;
export type Category = (typeof CATEGORIES)[number];

export const SOURCES = ['flag', 'config', 'dropin', 'env', 'manifest', 'default', 'file', 'process', 'none'] as const;
export type Source = (typeof SOURCES)[number];

export const FINDING_STATES = ['open', 'resolved', 'suppressed'] as const;
export type FindingState = (typeof FINDING_STATES)[number];

/** One check's verdict on one subject, as the JSON report and the wire carry it. */
export interface Result {
  readonly id: string;
  /** The CIS control (of the benchmark the catalog follows) among `references`, or ''. */
  readonly cis: string;
  /**
   * Every benchmark control this result decides, `<benchmark>:<control>` (proto/benchmark-refs.ts),
   * e.g. `cis-1.12:1.1.21`: one result per subject and problem, whatever benchmarks name it.
   */
  readonly references: readonly string[];
  readonly title: string;
  readonly category: Category;
  readonly subject: string;
  readonly status: Status;
  readonly severity: Severity;
  readonly scored: boolean;
  readonly actual: string;
  readonly expected: string;
  readonly source: Source;
  readonly sourceFile: string;
  readonly reason: string;
  readonly remediation: string;
}

export function severityRank(s: Severity): number {
  return SEVERITIES.indexOf(s);
}

export function isSeverity(s: string): s is Severity {
  return (SEVERITIES as readonly string[]).includes(s);
}

export function isCategory(s: string): s is Category {
  return (CATEGORIES as readonly string[]).includes(s);
}

export function isStatus(s: string): s is Status {
  return (STATUSES as readonly string[]).includes(s);
}

/** A failing or warning result is what becomes a finding. */
export function isFindingStatus(s: Status): boolean {
  return s === 'fail' || s === 'warn';
}

// Wire enum names <-> domain names. The generated enums are strings such as
// "SEVERITY_HIGH"; the domain keeps the short lower-case word.
export function severityToWire(s: Severity): string {
  return `SEVERITY_${s.toUpperCase()}`;
}
export function severityFromWire(s: string | number | undefined): Severity | undefined {
  if (typeof s !== 'string' || !s.startsWith('SEVERITY_')) return undefined;
  const v = s.slice('SEVERITY_'.length).toLowerCase();
  return isSeverity(v) ? v : undefined;
}
export function statusToWire(s: Status): string {
  return `STATUS_${s.toUpperCase()}`;
}
export function statusFromWire(s: string | number | undefined): Status | undefined {
  if (typeof s !== 'string' || !s.startsWith('STATUS_')) return undefined;
  const v = s.slice('STATUS_'.length).toLowerCase();
  return isStatus(v) ? v : undefined;
}

/** Kubernetes node names are DNS-1123 subdomains. */
export function isValidNodeName(name: string): boolean {
  return name.length > 0 && name.length <= 253 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(name);
}
