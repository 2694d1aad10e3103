// Slack incoming webhook: a JSON body with `text` (the notification and fallback line) and
// Block Kit `blocks`, POSTed to the webhook URL itself.
//
// Facts relied on (Slack's Block Kit and message formatting references):
// - `section` blocks take a text object (`{type: 'mrkdwn', text}`) of at most 3000
//   characters, and/or `fields`: at most 10 text objects of at most 2000 characters each;
//   `context` blocks take at most 10 elements; a message has at most 50 blocks.
// - mrkdwn treats `&`, `<` and `>` as control characters (`<...>` makes links and mentions
//   such as `<!channel>`); Slack asks for them as `&amp;`, `&lt;`, `&gt;`, and decodes only
//   those three. The top-level `text` is mrkdwn too.
// Every string that came from a node or a check goes through `mrkdwn()` below: escaped, then
// bounded without cutting an entity in half. Our own labels need no escaping.
import type { AlertEvent } from '../../finding.js';
import type { AlertMessage, Destination, RenderedRequest, Sink } from '../types.js';
import type { Severity } from '../../../proto/domain.js';
import { DELIVERY_HEADER, clip, findingsOf, leadFinding, listNodes, nodesOf, placeOf, requestHeaders } from './shared.js';

/** Node names listed in a grouped message before "and K more". */
export const SLACK_MAX_NODES = 10;
const SECTION_MAX = 3000;
const FIELD_MAX = 2000;

export function escapeSlack(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Already-escaped text bounded to `max` characters; a cut never leaves half an entity. */
function bound(escaped: string, max: number): string {
  if (escaped.length <= max) return escaped;
  return `${clip(escaped, max).slice(0, -1).replace(/&[a-z]{0,3}$/, '')}…`;
}

/** Escaped, then bounded to `max` characters. */
export function mrkdwn(s: string, max: number): string {
  return bound(escapeSlack(s), max);
}

const ICON: Record<Severity, string> = {
  critical: ':red_circle:', high: ':large_orange_circle:', medium: ':large_yellow_circle:', low: ':large_blue_circle:', info: ':white_circle:',
};

function verb(event: AlertEvent, severity: Severity): string {
  return event === 'escalated' ? `escalated to ${severity}` : event;
}

const text = (t: string) => ({ type: 'mrkdwn', text: t });
const section = (t: string) => ({ type: 'section', text: text(bound(t, SECTION_MAX)) });
const field = (label: string, value: string) => text(`*${label}*\n${mrkdwn(value, FIELD_MAX - label.length - 3)}`);

function payload(message: AlertMessage): object {
  const f = leadFinding(message);
  const findings = findingsOf(message);
  const nodes = nodesOf(message);
  const where = nodes.length === 1 ? mrkdwn(placeOf(f), 300) : `${nodes.length} nodes`;
  const icon = message.event === 'resolved' ? ':white_check_mark:' : message.event === 'suppressed' ? ':no_bell:' : ICON[f.severity];
  const headline = `${icon} *${f.severity.toUpperCase()}* finding ${verb(message.event, f.severity)}: *${mrkdwn(f.title || f.checkId, 300)}*`;
  const subjects = new Set(findings.map((x) => x.subject));

  const fields = [
    nodes.length === 1 && f.scope === 'cluster' ? field('Scope', 'cluster') : field('Node', nodes.length === 1 ? f.node : `${nodes.length} nodes`),
    field('Check', f.references.length > 0 ? `${f.checkId} (${f.references.join(', ')})` : f.checkId),
    field('Severity', f.severity),
    field('Category', f.category),
    field('Subject', subjects.size === 1 ? f.subject : `${subjects.size} subjects, e.g. ${f.subject}`),
  ];
  if (findings.length === 1 && f.actual) fields.push(field('Actual', f.actual));
  if (findings.length === 1 && f.expected) fields.push(field('Expected', f.expected));

  const blocks: object[] = [section(headline), { type: 'section', fields }];
  if (nodes.length > 1) blocks.push(section(`*Nodes (${nodes.length})*\n${mrkdwn(listNodes(nodes, SLACK_MAX_NODES), 2500)}`));
  const open = message.event !== 'resolved' && message.event !== 'suppressed';
  if (open && f.reason) blocks.push(section(`*Why*\n${mrkdwn(f.reason, 1000)}`));
  if (open && f.remediation) blocks.push(section(`*Remediation*\n${mrkdwn(f.remediation, 2500)}`));
  blocks.push({ type: 'context', elements: [text(`nodeward · ${mrkdwn(message.changes[0]?.at ?? '', 40)} · delivery ${mrkdwn(message.deliveryId, 80)}`)] });

  const fallback = `[${f.severity.toUpperCase()}] ${verb(message.event, f.severity)}: ${mrkdwn(f.title || f.checkId, 300)} on ${where}`;
  return { text: fallback, blocks };
}

export const slackSink: Sink = {
  format: 'slack',
  render(message: AlertMessage, destination: Destination): RenderedRequest {
    const own = { 'content-type': 'application/json', [DELIVERY_HEADER]: message.deliveryId };
    return { path: '', body: JSON.stringify(payload(message)), headers: requestHeaders(destination, own) };
  },
};
