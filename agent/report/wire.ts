// Domain results -> wire messages (proto/nodeward/v1/agent.proto).
import { severityToWire, statusToWire, type Result } from '../../proto/domain.js';
import type { AgentStats, ScanReport, WireResult } from '../../proto/load.js';
import { boundedSubject } from '../../proto/baseline-key.js';
import { redactText } from '../../proto/support/redact.js';
import type { DocumentRefusalStats } from '../facts/document-refusals.js';
import type { ExposureFacts } from '../facts/exposure-types.js';
import { exposureToWire } from '../exposure/wire.js';

export function resultToWire(r: Result): WireResult {
  return {
    checkId: r.id, cis: r.cis, title: r.title, category: r.category, subject: r.subject,
    status: statusToWire(r.status) as WireResult['status'], severity: severityToWire(r.severity) as WireResult['severity'],
    scored: r.scored, actual: r.actual, expected: r.expected, source: r.source, sourceFile: r.sourceFile,
    reason: r.reason, remediation: r.remediation, occurrences: 1, references: [...r.references],
  };
}

export function scanToWire(opts: {
  node: string; scannedAt: Date; benchmark: string; scope: readonly string[]; results: readonly Result[]; trigger: string;
  exposure?: ExposureFacts;
}): ScanReport {
  return {
    node: opts.node, scannedAtMs: opts.scannedAt.getTime(), benchmark: opts.benchmark, scope: [...opts.scope],
    results: opts.results.map(resultToWire), trigger: opts.trigger,
    ...(opts.exposure ? { exposure: exposureToWire(opts.exposure) } : {}),
  };
}

/** The host documents the facts phase refused, as AgentStats carries them: the path redacted, then bounded. */
export function documentRefusalsToWire(r: DocumentRefusalStats): Partial<AgentStats> {
  return {
    hostDocumentsRefused: r.refused,
    hostDocumentRefusedPath: r.lastPath === '' ? '' : boundedSubject(redactText(r.lastPath)),
    hostDocumentRefusedReason: r.lastReason,
  };
}
