// Alertmanager API v2: `POST /api/v2/alerts` with a JSON array of postableAlert objects.
//
// Facts relied on (Alertmanager's api/v2/openapi.yaml and its documentation):
// - postableAlert: `labels` (required; a labelSet, i.e. an object of string values),
//   `annotations` (labelSet), `startsAt` and `endsAt` (date-time), `generatorURL` (uri).
// - An alert's identity is its label set: a later post with the same labels updates it.
// - An alert posted without `endsAt` resolves by itself `resolve_timeout` after its last
//   update, so a firing alert must be re-posted before then (`renderFiring`, on the
//   dispatcher's schedule); an `endsAt` in the past resolves it at once.
// - Label names follow Prometheus' data model, [a-zA-Z_][a-zA-Z0-9_]*; ours are fixed
//   words. Empty label values mean "no label", so they are left out.
//
// Choices: `alertname` is the check id, so Alertmanager's usual grouping by alertname
// gathers the nodes failing one check. The labels are the finding's identity plus its
// severity and category (for routing), and they stay the same on every post of a finding,
// with one exception: an escalation changes `severity`, which makes a new alert; the old
// one is no longer re-posted and resolves by itself (resolve_timeout, or `expiresAt`).
// `startsAt` is the finding's firstSeen on every post, so re-posts and the resolving post
// describe the same alert. No generatorURL: a sink does not know the collector's address.
import type { Finding } from '../../finding.js';
import type { AlertMessage, Destination, RenderedRequest, Sink } from '../types.js';
import { DELIVERY_HEADER, clip, requestHeaders, rfc3339 } from './shared.js';

export const ALERTMANAGER_PATH = '/api/v2/alerts';
const LABEL_MAX = 512;
const ANNOTATION_MAX = 4000;

export interface PostableAlert {
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
  readonly startsAt: string;
  readonly endsAt?: string;
}

function nonEmpty(entries: Record<string, string>, max: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(entries)) if (v !== '') out[k] = clip(v, max);
  return out;
}

function alert(f: Finding, endsAt?: string): PostableAlert {
  const labels = nonEmpty({
    // A cluster finding has no node: nonEmpty leaves the empty node label out, and a scope
    // label says cluster. A node finding's labels stay as they were (its alert's identity in
    // Alertmanager is its label set).
    alertname: f.checkId, scope: f.scope === 'cluster' ? 'cluster' : '', node: f.node, check: f.checkId, severity: f.severity, category: f.category, subject: f.subject, finding: f.id,
  }, LABEL_MAX);
  const found = [f.reason, f.actual || f.expected ? `actual: ${f.actual || '(none)'}; expected: ${f.expected || '(none)'}` : ''];
  const annotations = nonEmpty({
    summary: f.title, description: found.filter(Boolean).join('\n'), remediation: f.remediation, cis: f.cis, references: f.references.join(', '),
  }, ANNOTATION_MAX);
  let startsAt = rfc3339(f.firstSeen);
  if (endsAt === undefined) return { labels, annotations, startsAt };
  if (Date.parse(startsAt) > Date.parse(endsAt)) startsAt = endsAt; // Alertmanager refuses an end before the start
  return { labels, annotations, startsAt, endsAt };
}

function request(alerts: PostableAlert[], destination: Destination, own: Record<string, string>): RenderedRequest {
  return { path: ALERTMANAGER_PATH, body: JSON.stringify(alerts), headers: requestHeaders(destination, { 'content-type': 'application/json', ...own }) };
}

export const alertmanagerSink: Sink = {
  format: 'alertmanager',
  /** One alert per change: firing for opened/reopened/escalated, ended at the change for resolved/suppressed. */
  render(message: AlertMessage, destination: Destination): RenderedRequest {
    const alerts = message.changes.map((c) => alert(c.finding, c.event === 'resolved' || c.event === 'suppressed' ? rfc3339(c.at) : undefined));
    return request(alerts, destination, { [DELIVERY_HEADER]: message.deliveryId });
  },
};

/**
 * The periodic re-post that keeps open findings firing. Findings not in state `open` are
 * left out (re-posting one would fire it again). With `expiresAt` (RFC 3339, e.g. now plus a
 * few re-post intervals) the alerts carry that `endsAt` instead of relying on resolve_timeout.
 */
export function renderFiring(findings: readonly Finding[], destination: Destination, expiresAt?: string): RenderedRequest {
  const firing = findings.filter((f) => f.state === 'open').map((f) => {
    const a = alert(f);
    return expiresAt === undefined ? a : { ...a, endsAt: rfc3339(expiresAt) };
  });
  return request(firing, destination, {});
}
