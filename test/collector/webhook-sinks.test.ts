// The pure half of webhooks: each sink's payload checked field by field against the format
// its receiver documents (Slack Block Kit, Alertmanager v2 postableAlert, Falco's JSON alert
// as Falcosidekick accepts it, our json with its HMAC), routing per destination, and the
// grouping of a burst into one message with per-finding order kept.
import test from 'ava';
import { createHmac } from 'node:crypto';
import { fingerprint } from '../../proto/fingerprint.js';
import { SEVERITIES, type Severity } from '../../proto/domain.js';
import { SINK_FORMATS, type AlertMessage, type Destination } from '../../collector/webhooks/types.js';
import type { AlertEvent, Finding, FindingChange } from '../../collector/finding.js';
import { sinkFor } from '../../collector/webhooks/sinks/index.js';
import { jsonSink, verifySignature } from '../../collector/webhooks/sinks/json.js';
import { slackSink, SLACK_MAX_NODES } from '../../collector/webhooks/sinks/slack.js';
import { alertmanagerSink, renderFiring, type PostableAlert } from '../../collector/webhooks/sinks/alertmanager.js';
import { falcoSink, FALCO_PRIORITIES } from '../../collector/webhooks/sinks/falco.js';
import { routes } from '../../collector/webhooks/route.js';
import { deliveryIdFor, groupChanges, type OutboxRow } from '../../collector/webhooks/group.js';

const T0 = Date.parse('2025-03-01T12:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function finding(node: string, over: Partial<Finding> = {}): Finding {
  const checkId = over.checkId ?? 'cis-4.2.1';
  const subject = over.subject ?? '--anonymous-auth';
  return {
    id: fingerprint(node, checkId, subject), scope: node === '' ? 'cluster' : 'node', node, checkId, cis: '4.2.1', references: ['cis-1.12:4.2.1'], title: 'Anonymous requests to the kubelet are refused',
    category: 'kubelet', subject, severity: 'high', status: 'fail', state: 'open', actual: 'true', expected: 'false',
    reason: 'the kubelet runs with --anonymous-auth=true', remediation: 'Set authentication.anonymous.enabled: false in the kubelet config.',
    seen: iso(T0), firstSeen: iso(T0 - 60_000), lastSeen: iso(T0), count: 1, resolvedAt: null, detail: { pid: 42 },
    scored: true, source: 'flag', sourceFile: '', suppressedReason: null, suppressedUntil: null, suppressedBy: null, suppressedAt: null, ...over,
  };
}

/** The finding's fields the json format carries (docs/webhooks.md), in that order. */
const DOCUMENTED = ['id', 'scope', 'node', 'checkId', 'cis', 'title', 'category', 'subject', 'severity', 'status', 'state', 'actual', 'expected',
  'reason', 'remediation', 'seen', 'firstSeen', 'lastSeen', 'count', 'resolvedAt', 'detail'] as const;
const documented = (f: Finding): Record<string, unknown> => Object.fromEntries(DOCUMENTED.map((k) => [k, f[k]]));
const change = (event: AlertEvent, f: Finding, at = T0): FindingChange => ({ event, at: iso(at), finding: f });
const message = (changes: FindingChange[], deliveryId = '0b9a3c1e-1111-8222-9333-444455556666'): AlertMessage => ({ deliveryId, event: changes[0]!.event, changes });
const nodes = (n: number) => Array.from({ length: n }, (_, i) => `node-${String(i).padStart(3, '0')}`);

function destination(over: Partial<Destination> = {}): Destination {
  return {
    name: 'ops', url: 'https://receiver.example/hook', format: 'json', minSeverity: 'info', categories: [], nodes: [],
    events: ['opened', 'reopened', 'escalated', 'resolved'], headers: {}, ...over,
  };
}

/** Every string anywhere in a parsed JSON value. */
function strings(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v)) return v.flatMap(strings);
  if (v && typeof v === 'object') return Object.values(v).flatMap(strings);
  return [];
}

// ---------------------------------------------------------------- registry

test('the registry has one sink per format, each reporting its own format', (t) => {
  for (const format of SINK_FORMATS) t.is(sinkFor(format).format, format);
  t.is(sinkFor('json'), jsonSink);
});

// ---------------------------------------------------------------- json

test('json: one change is {deliveryId, event, finding} exactly, with the delivery header and no signature without a secret', (t) => {
  const f = finding('node-a');
  const req = jsonSink.render(message([change('opened', f)], 'id-1'), destination());
  t.is(req.path, '');
  const body = JSON.parse(req.body);
  t.deepEqual(Object.keys(body), ['deliveryId', 'event', 'finding']);
  t.is(body.deliveryId, 'id-1');
  t.is(body.event, 'opened');
  t.deepEqual(body.finding, documented(f));
  t.deepEqual(Object.keys(body.finding), [...DOCUMENTED]);
  t.is(req.headers['content-type'], 'application/json');
  t.is(req.headers['X-Nodeward-Delivery'], 'id-1');
  t.false(Object.keys(req.headers).some((h) => h.toLowerCase() === 'x-nodeward-signature'));
});

test('json: the signature is the HMAC-SHA256 of the exact body, verifies with the secret and fails with another secret or a changed body', (t) => {
  const secret = 's3cret-shared-with-receiver';
  const req = jsonSink.render(message([change('resolved', finding('node-a'))]), destination({ secret }));
  const header = req.headers['X-Nodeward-Signature'];
  t.regex(header ?? '', /^sha256=[0-9a-f]{64}$/);
  // What a receiver computes on its own, from the bytes on the wire:
  t.is(header, `sha256=${createHmac('sha256', secret).update(Buffer.from(req.body, 'utf8')).digest('hex')}`);
  t.true(verifySignature(req.body, header, secret));
  t.true(verifySignature(Buffer.from(req.body, 'utf8'), header, secret));
  t.false(verifySignature(req.body, header, 'another-secret'));
  t.false(verifySignature(req.body.replace('"resolved"', '"opened"'), header, secret));
  t.false(verifySignature(`${req.body} `, header, secret));
  t.false(verifySignature(req.body, undefined, secret));
  t.false(verifySignature(req.body, header!.replace('sha256=', 'sha1='), secret));
  t.false(verifySignature(req.body, 'sha256=zz', secret));
  t.false(req.body.includes(secret));
  // The same message renders the same bytes, so every retry carries the same signature.
  t.is(jsonSink.render(message([change('resolved', finding('node-a'))]), destination({ secret })).headers['X-Nodeward-Signature'], header);
});

test('json: a grouped message keeps the single-change keys and adds group and findings', (t) => {
  const fs = nodes(3).map((n) => finding(n));
  const body = JSON.parse(jsonSink.render(message(fs.map((f) => change('opened', f))), destination()).body);
  t.deepEqual(Object.keys(body), ['deliveryId', 'event', 'finding', 'group', 'findings']);
  t.deepEqual(body.finding, documented(fs[0]!));
  t.deepEqual(body.group, { checkId: 'cis-4.2.1', count: 3, nodes: ['node-000', 'node-001', 'node-002'] });
  t.deepEqual(body.findings, fs.map(documented));
});

test('configured headers are sent, but never replace the format\'s content type, delivery id or signature', (t) => {
  const req = jsonSink.render(message([change('opened', finding('node-a'))], 'id-9'), destination({
    secret: 'k', headers: { Authorization: 'Bearer t', 'Content-Type': 'text/plain', 'x-nodeward-signature': 'forged', 'X-NODEWARD-DELIVERY': 'x' },
  }));
  t.deepEqual(Object.keys(req.headers).map((h) => h.toLowerCase()).sort(), ['authorization', 'content-type', 'x-nodeward-delivery', 'x-nodeward-signature']);
  t.is(req.headers.Authorization, 'Bearer t');
  t.is(req.headers['content-type'], 'application/json');
  t.is(req.headers['X-Nodeward-Delivery'], 'id-9');
  t.true(verifySignature(req.body, req.headers['X-Nodeward-Signature'], 'k'));
});

// ---------------------------------------------------------------- slack

const BLOCK_TYPES = new Set(['section', 'context', 'divider', 'header']);

/** Block Kit's documented shape and limits, for the blocks we use. */
function checkBlocks(t: { true(v: boolean, m?: string): void; is(a: unknown, b: unknown, m?: string): void }, blocks: any[]): void {
  t.true(Array.isArray(blocks) && blocks.length > 0 && blocks.length <= 50, '1..50 blocks');
  for (const b of blocks) {
    t.true(BLOCK_TYPES.has(b.type), `block type ${b.type}`);
    if (b.type === 'section') {
      t.true(b.text !== undefined || b.fields !== undefined, 'a section has text or fields');
      if (b.text) {
        t.is(b.text.type, 'mrkdwn');
        t.true(typeof b.text.text === 'string' && b.text.text.length > 0 && b.text.text.length <= 3000, 'section text 1..3000');
      }
      if (b.fields) {
        t.true(b.fields.length >= 1 && b.fields.length <= 10, '1..10 fields');
        for (const f of b.fields) {
          t.is(f.type, 'mrkdwn');
          t.true(typeof f.text === 'string' && f.text.length > 0 && f.text.length <= 2000, 'field text 1..2000');
        }
      }
    }
    if (b.type === 'context') {
      t.true(b.elements.length >= 1 && b.elements.length <= 10, '1..10 context elements');
      for (const e of b.elements) t.true(e.type === 'mrkdwn' && typeof e.text === 'string' && e.text.length > 0);
    }
  }
}

test('slack: an incoming-webhook body with a text fallback and Block Kit blocks naming severity, event, node, check, subject and remediation', (t) => {
  const f = finding('node-a', { severity: 'critical' });
  const req = slackSink.render(message([change('opened', f)]), destination({ format: 'slack' }));
  t.is(req.path, '');
  t.is(req.headers['content-type'], 'application/json');
  const body = JSON.parse(req.body);
  t.deepEqual(Object.keys(body).sort(), ['blocks', 'text']);
  t.is(typeof body.text, 'string');
  t.true(body.text.includes('CRITICAL') && body.text.includes('opened') && body.text.includes('node-a'));
  checkBlocks(t, body.blocks);
  const all = strings(body.blocks).join('\n');
  for (const expected of ['CRITICAL', 'opened', 'node-a', 'cis-4.2.1', 'cis-4.2.1 (cis-1.12:4.2.1)', f.title, '--anonymous-auth', f.remediation, 'kubelet']) {
    t.true(all.includes(expected), `blocks mention ${expected}`);
  }
});

test('slack: text from nodes and checks has &, < and > escaped everywhere, so it cannot make links or mentions', (t) => {
  const evil = '<script>&<!channel>';
  const f = finding('node-a', { title: evil, subject: evil, checkId: `x${evil}`, cis: evil, actual: evil, expected: evil, reason: evil, remediation: `<https://evil.example|click> ${evil}` });
  const body = JSON.parse(slackSink.render(message([change('opened', f)]), destination({ format: 'slack' })).body);
  const all = strings(body);
  for (const s of all) {
    t.false(/[<>]/.test(s), `no raw < or > in ${s}`);
    t.false(/&(?!(amp|lt|gt);)/.test(s), `every & starts an entity in ${s}`);
  }
  t.true(all.join('\n').includes('&lt;script&gt;&amp;&lt;!channel&gt;'));
  t.true(body.text.includes('&lt;script&gt;'));
});

test('slack: a grouped message lists at most N nodes then "and K more", and long text is bounded without cutting an entity', (t) => {
  const many = nodes(300).map((n) => finding(n, { remediation: '&'.repeat(10_000) }));
  const body = JSON.parse(slackSink.render(message(many.map((f) => change('opened', f))), destination({ format: 'slack' })).body);
  checkBlocks(t, body.blocks);
  const list = body.blocks.find((b: any) => b.text?.text.startsWith('*Nodes (300)*'));
  t.truthy(list);
  t.true(list.text.text.includes(`node-00${SLACK_MAX_NODES - 1}`));
  t.false(list.text.text.includes(`node-0${SLACK_MAX_NODES}`));
  t.true(list.text.text.endsWith(`and ${300 - SLACK_MAX_NODES} more`));
  t.true(body.text.includes('on 300 nodes'));
  const remediation = body.blocks.find((b: any) => b.text?.text.startsWith('*Remediation*')).text.text as string;
  t.true(remediation.length <= 3000);
  t.regex(remediation, /(&amp;)+…$/);
  t.true(req(body).length < 12_000, 'the whole message stays small');
});
const req = (body: unknown) => JSON.stringify(body);

test('slack: resolved and escalated say so; a resolved finding carries no remediation', (t) => {
  const resolved = JSON.parse(slackSink.render(message([change('resolved', finding('node-a'))]), destination({ format: 'slack' })).body);
  t.true(resolved.text.includes('resolved'));
  t.false(strings(resolved.blocks).some((s) => s.startsWith('*Remediation*')));
  const escalated = JSON.parse(slackSink.render(message([change('escalated', finding('node-a', { severity: 'critical' }))]), destination({ format: 'slack' })).body);
  t.true(escalated.text.includes('escalated to critical'));
});

// ---------------------------------------------------------------- alertmanager

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function checkAlert(t: { true(v: boolean, m?: string): void; regex(s: string, r: RegExp, m?: string): void }, a: PostableAlert): void {
  t.true(Object.keys(a.labels).length > 0, 'at least one label');
  for (const [k, v] of Object.entries(a.labels)) {
    t.regex(k, LABEL_NAME);
    t.true(typeof v === 'string' && v.length > 0, `label ${k} is a non-empty string`);
  }
  for (const [k, v] of Object.entries(a.annotations)) t.true(typeof k === 'string' && typeof v === 'string', `annotation ${k}`);
  t.regex(a.startsAt, RFC3339);
  if (a.endsAt !== undefined) {
    t.regex(a.endsAt, RFC3339);
    t.true(Date.parse(a.startsAt) <= Date.parse(a.endsAt), 'startsAt <= endsAt');
  }
  t.true(Object.keys(a).every((k) => ['labels', 'annotations', 'startsAt', 'endsAt', 'generatorURL'].includes(k)), 'only postableAlert fields');
}

test('alertmanager: an opened finding is a firing postableAlert on /api/v2/alerts with valid labels and no endsAt', (t) => {
  const f = finding('node-a', { severity: 'critical', category: 'certificate', checkId: 'etcd-cert-expiry', subject: '/etc/kubernetes/pki/etcd/server.crt' });
  const req = alertmanagerSink.render(message([change('opened', f)], 'id-2'), destination({ format: 'alertmanager' }));
  t.is(req.path, '/api/v2/alerts');
  t.is(req.headers['content-type'], 'application/json');
  const alerts = JSON.parse(req.body) as PostableAlert[];
  t.is(alerts.length, 1);
  const a = alerts[0]!;
  checkAlert(t, a);
  t.deepEqual(a.labels, {
    alertname: 'etcd-cert-expiry', node: 'node-a', check: 'etcd-cert-expiry', severity: 'critical', category: 'certificate',
    subject: '/etc/kubernetes/pki/etcd/server.crt', finding: f.id,
  });
  t.is(a.annotations.summary, f.title);
  t.is(a.annotations.remediation, f.remediation);
  t.is(a.annotations.references, 'cis-1.12:4.2.1');
  t.true(a.annotations.description!.includes('actual: true; expected: false'));
  t.is(a.startsAt, f.firstSeen);
  t.false('endsAt' in a);
});

test('alertmanager: resolved and suppressed end the same alert (same labels) at the change time', (t) => {
  const f = finding('node-a');
  const firing = (JSON.parse(alertmanagerSink.render(message([change('opened', f)]), destination()).body) as PostableAlert[])[0]!;
  for (const event of ['resolved', 'suppressed'] as const) {
    const at = T0 + 3_600_000;
    const ended = (JSON.parse(alertmanagerSink.render(message([change(event, { ...f, state: event, resolvedAt: iso(at) }, at)]), destination()).body) as PostableAlert[])[0]!;
    checkAlert(t, ended);
    t.deepEqual(ended.labels, firing.labels);
    t.is(ended.startsAt, firing.startsAt);
    t.is(ended.endsAt, iso(at));
  }
  // A resolve stamped before firstSeen (clock skew) still posts startsAt <= endsAt.
  const skewed = (JSON.parse(alertmanagerSink.render(message([change('resolved', f, T0 - 3_600_000)]), destination()).body) as PostableAlert[])[0]!;
  checkAlert(t, skewed);
});

test('alertmanager: a grouped message is one array with one alert per node; empty values are left out of labels', (t) => {
  const fs = nodes(5).map((n) => finding(n, { cis: '', references: [] }));
  const alerts = JSON.parse(alertmanagerSink.render(message(fs.map((f) => change('opened', f))), destination()).body) as PostableAlert[];
  t.deepEqual(alerts.map((a) => a.labels.node), nodes(5));
  for (const a of alerts) checkAlert(t, a);
  t.false('cis' in alerts[0]!.annotations);
  t.false('references' in alerts[0]!.annotations);
});

test('alertmanager: renderFiring re-posts open findings only, with endsAt only when an expiry is given', (t) => {
  const open = nodes(3).map((n) => finding(n));
  const resolved = finding('node-x', { state: 'resolved', resolvedAt: iso(T0) });
  const plain = renderFiring([...open, resolved], destination());
  t.is(plain.path, '/api/v2/alerts');
  const alerts = JSON.parse(plain.body) as PostableAlert[];
  t.deepEqual(alerts.map((a) => a.labels.node), nodes(3));
  for (const a of alerts) { checkAlert(t, a); t.false('endsAt' in a); }
  const expiring = JSON.parse(renderFiring(open, destination(), iso(T0 + 900_000)).body) as PostableAlert[];
  for (const a of expiring) { checkAlert(t, a); t.is(a.endsAt, iso(T0 + 900_000)); }
  // The re-post describes the same alerts as the first post.
  const first = JSON.parse(alertmanagerSink.render(message([change('opened', open[0]!)]), destination()).body) as PostableAlert[];
  t.deepEqual(alerts[0], first[0]);
});

// ---------------------------------------------------------------- falco

const FALCO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z$/;

/** What Falcosidekick's input check requires, plus the shape Falco documents. */
function checkFalco(t: { true(v: boolean, m?: string): void; regex(s: string, r: RegExp, m?: string): void; is(a: unknown, b: unknown, m?: string): void }, e: any): void {
  t.true((FALCO_PRIORITIES as readonly string[]).includes(e.priority), `priority ${e.priority}`);
  t.true(typeof e.rule === 'string' && e.rule.length > 0, 'rule');
  t.regex(e.time, FALCO_TIME);
  t.true(typeof e.output === 'string' && e.output.startsWith(`${e.time}: ${e.priority} `), 'output starts with time and priority');
  t.is(e.source, 'nodeward');
  t.true(Array.isArray(e.tags) && e.tags.every((x: unknown) => typeof x === 'string'), 'tags');
  t.true(e.output_fields && Object.keys(e.output_fields).length > 0, 'output_fields not empty');
  for (const [k, v] of Object.entries(e.output_fields)) {
    t.regex(k, /^[a-z]+(\.[a-z_]+)+$/);
    t.true(typeof v === 'string' || typeof v === 'number', `${k} is a scalar`);
  }
}

test('falco: a single change is Falco\'s JSON alert: priority name, rule, nanosecond RFC 3339 time, output line, fields, host', (t) => {
  const f = finding('node-a', { severity: 'medium' });
  const req = falcoSink.render(message([change('opened', f, T0 + 123)], 'id-3'), destination({ format: 'falco' }));
  t.is(req.path, '');
  t.is(req.headers['content-type'], 'application/json');
  const e = JSON.parse(req.body);
  checkFalco(t, e);
  t.is(e.priority, 'Warning');
  t.is(e.time, '2025-03-01T12:00:00.123000000Z');
  t.is(e.rule, f.title);
  t.is(e.hostname, 'node-a');
  t.is(e.uuid, 'id-3');
  t.deepEqual(e.tags, ['nodeward', 'kubelet', 'opened']);
  t.like(e.output_fields, {
    'nodeward.event': 'opened', 'nodeward.node': 'node-a', 'nodeward.check.id': 'cis-4.2.1', 'nodeward.check.cis': '4.2.1', 'nodeward.check.references': 'cis-1.12:4.2.1',
    'nodeward.subject': '--anonymous-auth', 'nodeward.severity': 'medium', 'nodeward.category': 'kubelet', 'nodeward.finding.id': f.id,
    'nodeward.actual': 'true', 'nodeward.expected': 'false', 'nodeward.delivery_id': 'id-3',
  });
  t.true(e.output.includes('node=node-a') && e.output.includes('check=cis-4.2.1'));
  t.false(Object.keys(e.output_fields).some((k) => k.startsWith('k8s.')), 'no borrowed Falco field names');
});

test('falco: severities map to Falco priorities in the same order, and an event without a title still has a rule', (t) => {
  const expected: Record<Severity, string> = { info: 'Informational', low: 'Notice', medium: 'Warning', high: 'Error', critical: 'Critical' };
  const seen: number[] = [];
  for (const severity of SEVERITIES) {
    const e = JSON.parse(falcoSink.render(message([change('resolved', finding('node-a', { severity, title: '' }))]), destination()).body);
    checkFalco(t, e);
    t.is(e.priority, expected[severity]);
    t.is(e.rule, 'cis-4.2.1');
    seen.push(FALCO_PRIORITIES.indexOf(e.priority));
  }
  t.deepEqual(seen, [...seen].sort((a, b) => b - a), 'a higher severity is a higher Falco priority');
});

test('falco: a grouped message is one event naming its nodes and count, with no single hostname', (t) => {
  const fs = nodes(150).map((n) => finding(n));
  const e = JSON.parse(falcoSink.render(message(fs.map((f) => change('opened', f))), destination()).body);
  checkFalco(t, e);
  t.false('hostname' in e);
  t.is(e.output_fields['nodeward.count'], 150);
  t.true(e.output_fields['nodeward.nodes'].startsWith('node-000, node-001'));
  t.true(e.output_fields['nodeward.nodes'].endsWith('and 50 more'));
  t.true(e.output.includes('count=150'));
});

// ---------------------------------------------------------------- routing

test('routing: minimum severity, categories, nodes and events, each alone and together', (t) => {
  const at = (over: Partial<Finding>, event: AlertEvent = 'opened') => change(event, finding(over.node ?? 'node-a', over));
  const table: Array<[string, Partial<Destination>, FindingChange, boolean]> = [
    ['defaults take an opened finding', {}, at({}), true],
    ['below minSeverity', { minSeverity: 'high' }, at({ severity: 'medium' }), false],
    ['at minSeverity', { minSeverity: 'high' }, at({ severity: 'high' }), true],
    ['above minSeverity', { minSeverity: 'high' }, at({ severity: 'critical' }), true],
    ['escalated past minSeverity', { minSeverity: 'critical' }, at({ severity: 'critical' }, 'escalated'), true],
    ['category not listed', { categories: ['etcd', 'certificate'] }, at({ category: 'kubelet' }), false],
    ['category listed', { categories: ['etcd', 'certificate'] }, at({ category: 'etcd' }), true],
    ['node not listed', { nodes: ['node-a'] }, at({ node: 'node-b' }), false],
    ['node listed', { nodes: ['node-a', 'node-c'] }, at({ node: 'node-c' }), true],
    ['suppressed not asked for', {}, at({}, 'suppressed'), false],
    ['suppressed asked for', { events: ['opened', 'suppressed'] }, at({}, 'suppressed'), true],
    ['event not asked for', { events: ['opened'] }, at({}, 'resolved'), false],
    ['all filters pass', { minSeverity: 'medium', categories: ['kubelet'], nodes: ['node-a'] }, at({ severity: 'high' }, 'resolved'), true],
    ['one filter fails', { minSeverity: 'medium', categories: ['kubelet'], nodes: ['node-b'] }, at({ severity: 'high' }), false],
  ];
  for (const [name, over, c, expected] of table) t.is(routes(destination(over), c), expected, name);
});

// ---------------------------------------------------------------- grouping

const W = 10_000;
let rowSeq = 0;
const row = (c: FindingChange, queuedAt: number, rowId = ++rowSeq): OutboxRow => ({ rowId, change: c, queuedAt });
/** For each finding, the indexes of the messages holding its changes, in outbox order. */
function placement(groups: ReturnType<typeof groupChanges>, rows: OutboxRow[]): Map<string, number[]> {
  const where = new Map<number, number>();
  groups.forEach((g, i) => g.rowIds.forEach((id) => where.set(id, i)));
  const out = new Map<string, number[]>();
  for (const r of rows) out.set(r.change.finding.id, [...(out.get(r.change.finding.id) ?? []), where.get(r.rowId)!]);
  return out;
}

test('grouping: 300 nodes failing one check within the window are one message per destination, with all 300 nodes', (t) => {
  const rows = nodes(300).map((n, i) => row(change('opened', finding(n), T0 + i * 20), T0 + i * 20));
  for (const name of ['slack-ops', 'siem']) {
    const groups = groupChanges(rows, { destination: name, windowMs: W, maxGroup: 1000 });
    t.is(groups.length, 1);
    const g = groups[0]!;
    t.deepEqual(g.rowIds, rows.map((r) => r.rowId));
    t.is(g.message.event, 'opened');
    t.is(g.message.changes.length, 300);
    t.regex(g.message.deliveryId, UUID);
    // Through every sink it is still one request.
    t.is(JSON.parse(jsonSink.render(g.message, destination()).body).group.count, 300);
    t.is((JSON.parse(alertmanagerSink.render(g.message, destination()).body) as unknown[]).length, 300);
    t.is(JSON.parse(falcoSink.render(g.message, destination()).body).output_fields['nodeward.count'], 300);
    t.true(JSON.parse(slackSink.render(g.message, destination()).body).text.includes('on 300 nodes'));
  }
  const a = groupChanges(rows, { destination: 'slack-ops', windowMs: W, maxGroup: 1000 })[0]!.message.deliveryId;
  const b = groupChanges(rows, { destination: 'siem', windowMs: W, maxGroup: 1000 })[0]!.message.deliveryId;
  t.not(a, b, 'destinations have their own delivery ids');
});

test('grouping: two checks failing together are two messages, each with its own nodes', (t) => {
  const rows = nodes(10).flatMap((n, i) => [
    row(change('opened', finding(n)), T0 + i),
    row(change('opened', finding(n, { checkId: 'cis-4.2.2', subject: '--authorization-mode' })), T0 + i),
  ]);
  const groups = groupChanges(rows, { destination: 'ops', windowMs: W, maxGroup: 1000 });
  t.is(groups.length, 2);
  t.deepEqual(groups.map((g) => g.message.changes[0]!.finding.checkId), ['cis-4.2.1', 'cis-4.2.2']);
  for (const g of groups) t.deepEqual(g.message.changes.map((c) => c.finding.node), nodes(10));
});

test('grouping: a finding opened and resolved within one window keeps its order, and so does every finding', (t) => {
  const [a, b, c] = nodes(3).map((n) => finding(n));
  const rows = [
    row(change('opened', a!), T0), row(change('opened', b!), T0 + 1),
    row(change('resolved', a!), T0 + 2), row(change('resolved', b!), T0 + 3),
    row(change('opened', c!), T0 + 4),
  ];
  const groups = groupChanges(rows, { destination: 'ops', windowMs: W, maxGroup: 1000 });
  t.deepEqual(groups.map((g) => [g.message.event, g.message.changes.map((x) => x.finding.node)]), [
    ['opened', ['node-000', 'node-001', 'node-002']],
    ['resolved', ['node-000', 'node-001']],
  ]);

  // The trap: b's resolve would join the earlier resolved group, ahead of b's reopen.
  const tricky = [
    row(change('resolved', a!), T0), row(change('resolved', b!), T0 + 1),
    row(change('reopened', b!), T0 + 2), row(change('resolved', b!), T0 + 3), row(change('resolved', c!), T0 + 4),
  ];
  const g2 = groupChanges(tricky, { destination: 'ops', windowMs: W, maxGroup: 1000 });
  for (const [id, indexes] of placement(g2, tricky)) {
    t.deepEqual(indexes, [...indexes].sort((x, y) => x - y), `finding ${id} in order`);
    t.is(new Set(indexes).size, indexes.length, `finding ${id}: one change per message`);
  }
  t.deepEqual(g2.map((g) => [g.message.event, g.message.changes.map((x) => x.finding.node)]), [
    ['resolved', ['node-000', 'node-001']],
    ['reopened', ['node-001']],
    ['resolved', ['node-001', 'node-002']],
  ]);

  // Two escalations of one finding in one window are two messages, in order.
  const twice = [row(change('escalated', { ...a!, severity: 'high' }), T0), row(change('escalated', { ...a!, severity: 'critical' }), T0 + 1)];
  t.deepEqual(groupChanges(twice, { destination: 'ops', windowMs: W, maxGroup: 1000 }).map((g) => g.message.changes[0]!.finding.severity), ['high', 'critical']);
});

test('grouping: the window is measured from the first change of a group, and its end is exclusive', (t) => {
  const [a, b, c] = nodes(3).map((n) => finding(n));
  const count = (times: number[]) => groupChanges(times.map((q, i) => row(change('opened', [a, b, c][i]!), q)), { destination: 'ops', windowMs: W, maxGroup: 1000 }).length;
  t.is(count([T0, T0 + W - 1]), 1);
  t.is(count([T0, T0 + W]), 2);
  t.is(count([T0, T0 + 6000, T0 + 12_000]), 2, 'not chained from the previous change');
  t.is(groupChanges([row(change('opened', a!), T0), row(change('opened', b!), T0)], { destination: 'ops', windowMs: 0, maxGroup: 1000 }).length, 2, 'windowMs 0: no grouping');
});

test('grouping: at most maxGroup changes per message', (t) => {
  const rows = nodes(5).map((n) => row(change('opened', finding(n)), T0));
  t.deepEqual(groupChanges(rows, { destination: 'ops', windowMs: W, maxGroup: 2 }).map((g) => g.rowIds.length), [2, 2, 1]);
});

test('grouping: with now, a group whose window is open is held, and so is everything after it; a full group is ready at once', (t) => {
  const a = finding('node-a');
  const b = finding('node-b', { checkId: 'cis-4.2.2' });
  const rows = [row(change('opened', a), T0), row(change('opened', b), T0 + 5000)];
  const opts = { destination: 'ops', windowMs: W, maxGroup: 1000 };
  t.deepEqual(groupChanges(rows, { ...opts, now: T0 + 9999 }).map((g) => [g.ready, g.readyAt]), [[false, T0 + W], [false, T0 + 5000 + W]]);
  t.deepEqual(groupChanges(rows, { ...opts, now: T0 + W }).map((g) => g.ready), [true, false]);
  t.deepEqual(groupChanges(rows, { ...opts, now: T0 + 5000 + W }).map((g) => g.ready), [true, true]);
  t.deepEqual(groupChanges(rows, opts).map((g) => g.ready), [true, true], 'without now, all ready');

  // A full group later in the outbox waits for an earlier open one (it may hold a finding's later change).
  const c = finding('node-c');
  const full = [row(change('opened', a), T0), row(change('resolved', a), T0 + 1), row(change('resolved', c), T0 + 2)];
  t.deepEqual(groupChanges(full, { ...opts, maxGroup: 2, now: T0 + 5 }).map((g) => [g.rowIds.length, g.ready]), [[1, false], [2, false]]);
  t.deepEqual(groupChanges([row(change('opened', a), T0), row(change('opened', c), T0)], { ...opts, maxGroup: 2, now: T0 }).map((g) => g.ready), [true]);
});

test('delivery ids: the same rows give the same id; other rows, another destination or a reused row id with other content do not', (t) => {
  const rows = nodes(3).map((n, i) => row(change('opened', finding(n)), T0, 100 + i));
  const id = deliveryIdFor('ops', rows);
  t.regex(id, UUID);
  t.is(deliveryIdFor('ops', rows.map((r) => ({ ...r }))), id);
  t.is(groupChanges(rows, { destination: 'ops', windowMs: W, maxGroup: 1000 })[0]!.message.deliveryId, id);
  t.not(deliveryIdFor('other', rows), id);
  t.not(deliveryIdFor('ops', rows.slice(0, 2)), id);
  t.not(deliveryIdFor('ops', [row(change('opened', finding('node-z')), T0, 100), ...rows.slice(1)]), id, 'row 100 reused by a new database');
});

test('a cluster finding (scope cluster, no node) in every format: its scope is said, no empty node is sent', (t) => {
  const f = finding('', { checkId: 'cis-5.1.1', subject: 'cis-5.1.1|ClusterRoleBinding/ops|Group:ops', category: 'rbac' as Finding['category'] });
  t.is(f.scope, 'cluster');
  const m = message([change('opened', f)]);
  const json = JSON.parse(jsonSink.render(m, destination()).body);
  t.is(json.finding.scope, 'cluster');
  t.is(json.finding.node, '');
  const [alert] = JSON.parse(alertmanagerSink.render(m, destination({ format: 'alertmanager' })).body) as PostableAlert[];
  t.is(alert!.labels.scope, 'cluster');
  t.false('node' in alert!.labels);
  checkAlert(t, alert!);
  const falco = JSON.parse(falcoSink.render(m, destination({ format: 'falco' })).body);
  t.false('hostname' in falco);
  t.is(falco.output_fields['nodeward.scope'], 'cluster');
  t.regex(falco.output, /\(scope=cluster subject=cis-5\.1\.1\|ClusterRoleBinding\/ops\|Group:ops check=cis-5\.1\.1 /);
  const slack = slackSink.render(m, destination({ format: 'slack' })).body;
  t.true(slack.includes('*Scope*\\ncluster'));
  t.false(slack.includes('*Node*'));
  // A node finding keeps its labels: no scope label (an alert's identity is its label set).
  const [nodeAlert] = JSON.parse(alertmanagerSink.render(message([change('opened', finding('node-a'))]), destination({ format: 'alertmanager' })).body) as PostableAlert[];
  t.false('scope' in nodeAlert!.labels);
});

test('routing: a destination may ask for the posture categories; one limited to nodes gets no cluster finding', (t) => {
  const f = finding('', { checkId: 'cis-5.1.1', category: 'rbac' as Finding['category'] });
  const c = change('opened', f);
  t.true(routes(destination({ categories: ['rbac'] }), c));
  t.false(routes(destination({ categories: ['kubelet'] }), c));
  t.false(routes(destination({ nodes: ['node-a'] }), c));
  t.true(routes(destination(), c));
});
