// Falco's JSON alert, so that a Falcosidekick in front of the destination can fan it out to
// everything it supports. One event per request, POSTed to the destination URL (Falcosidekick
// listens on `/`).
//
// Facts relied on (Falco's output documentation and Falcosidekick's input type):
// - Falco's JSON alert has `output` (the formatted line, which starts with the event time and
//   the priority: "<time>: <Priority> <text>"), `priority`, `rule`, `time` (RFC 3339 in UTC
//   with nanoseconds, e.g. 2017-10-09T23:31:56.746609046Z), `output_fields` (field name to
//   value), `source`, `tags`, `hostname`, and `uuid`.
// - Priorities, highest first: Emergency, Alert, Critical, Error, Warning, Notice,
//   Informational, Debug. Falcosidekick filters each of its outputs by a minimum priority.
// - Falcosidekick rejects an event with no known priority, no rule, no time or empty
//   output_fields (400), and replaces `uuid` with its own.
//
// Choices: our fields are named `nodeward.*`. Falco's own field classes (evt., proc., k8s.,
// container., ...) mean what Falco defines; borrowing them would mislead rules and
// consumers that know them (Falcosidekick itself reads k8s.ns.name and k8s.pod.name).
// `hostname` is the node, as Falco reports the host an event came from; a grouped event
// has no single host and lists its nodes in `nodeward.nodes`. The priority follows the
// finding's severity on every event, resolved too, so an output's minimum priority passes
// a finding's resolution wherever it passed its opening.
import type { Severity } from '../../../proto/domain.js';
import type { AlertMessage, Destination, RenderedRequest, Sink } from '../types.js';
import { DELIVERY_HEADER, clip, findingsOf, leadFinding, listNodes, nodesOf, requestHeaders, rfc3339 } from './shared.js';

export const FALCO_PRIORITIES = ['Emergency', 'Alert', 'Critical', 'Error', 'Warning', 'Notice', 'Informational', 'Debug'] as const;
export type FalcoPriority = (typeof FALCO_PRIORITIES)[number];

export const FALCO_PRIORITY: Readonly<Record<Severity, FalcoPriority>> = {
  critical: 'Critical', high: 'Error', medium: 'Warning', low: 'Notice', info: 'Informational',
};

const VALUE_MAX = 512; // Falcosidekick shortens longer strings itself when an event is large
const NODES_LISTED = 100;

/** RFC 3339 in UTC with nine fractional digits, as Falco writes `time`. */
export function falcoTime(iso: string): string {
  return rfc3339(iso).replace(/\.(\d{3})Z$/, '.$1000000Z');
}

function payload(message: AlertMessage): object {
  const f = leadFinding(message);
  const findings = findingsOf(message);
  const nodes = nodesOf(message);
  const single = findings.length === 1;
  const time = falcoTime(message.changes[0]?.at ?? f.seen);
  const priority = FALCO_PRIORITY[f.severity];
  const v = (s: string) => clip(s, VALUE_MAX);

  const where = single ? `${f.scope === 'cluster' ? 'scope=cluster' : `node=${v(f.node)}`} subject=${v(f.subject)}` : `nodes=${v(listNodes(nodes, 10))} count=${findings.length}`;
  const found = single && (f.actual || f.expected) ? ` actual=${v(f.actual)} expected=${v(f.expected)}` : '';
  const verb = message.event === 'escalated' ? `escalated to ${f.severity}` : message.event;
  const text = `nodeward finding ${verb}: ${v(f.title || f.checkId)} (${where} check=${v(f.checkId)} severity=${f.severity}${found})`;

  const fields: Record<string, string | number> = {
    'nodeward.event': message.event,
    'nodeward.delivery_id': message.deliveryId,
    'nodeward.check.id': v(f.checkId),
    'nodeward.check.cis': v(f.cis),
    'nodeward.check.references': v(f.references.join(',')),
    'nodeward.category': f.category,
    'nodeward.severity': f.severity,
    'nodeward.scope': f.scope,
  };
  if (single) {
    Object.assign(fields, {
      'nodeward.node': v(f.node), 'nodeward.subject': v(f.subject), 'nodeward.finding.id': f.id,
      'nodeward.actual': v(f.actual), 'nodeward.expected': v(f.expected), 'nodeward.remediation': v(f.remediation),
    });
  } else {
    Object.assign(fields, { 'nodeward.nodes': listNodes(nodes, NODES_LISTED), 'nodeward.count': findings.length });
  }

  return {
    uuid: message.deliveryId,
    output: `${time}: ${priority} ${text}`,
    priority,
    rule: v(f.title || f.checkId),
    time,
    source: 'nodeward',
    tags: ['nodeward', f.category, message.event],
    ...(single && f.scope !== 'cluster' ? { hostname: f.node } : {}),
    output_fields: Object.fromEntries(Object.entries(fields).filter(([, x]) => x !== '')),
  };
}

export const falcoSink: Sink = {
  format: 'falco',
  render(message: AlertMessage, destination: Destination): RenderedRequest {
    const own = { 'content-type': 'application/json', [DELIVERY_HEADER]: message.deliveryId };
    return { path: '', body: JSON.stringify(payload(message)), headers: requestHeaders(destination, own) };
  },
};
