// The finding lifecycle as a table: every (stored state, input, scope, time) the pure stage
// (collector/pipeline/lifecycle.ts) distinguishes, with the state, the transitions and the
// alerts it must produce (agent-missing's among them). Then what an allow covers for each
// check an allow resolves, the invariants over random sequences of inputs, and the
// stale-after-allow rule and agent-missing through the real commit stage on SQLite and on
// PostgreSQL (test/helpers/stores.ts).
import test from 'ava';
import { allowCoverage, step, type AllowedContents, type LifecycleInput, type LifecycleState, type StepOutcome } from '../../collector/pipeline/lifecycle.js';
import { createCommitStage } from '../../collector/pipeline/commit.js';
import { processSubject } from '../../proto/baseline-key.js';
import { AGENT_MISSING_CHECK } from '../../proto/collector-checks.js';
import { fingerprint } from '../../proto/fingerprint.js';
import { SEVERITIES, STATUSES, type FindingState, type Severity } from '../../proto/domain.js';
import {
  ALLOW_RESOLVES_CHECK_IDS, PROC_INLINE_CODE_CHECK, PROC_MODIFIED_BINARY_CHECK, PROC_UNEXPECTED_CHECK, PROC_UNVERIFIED_BINARY_CHECK,
} from '../../proto/process-checks.js';
import { checkProperty, fc } from '../helpers/property.js';
import { storeTest } from '../helpers/stores.js';

const T = Date.parse('2026-01-01T00:00:00Z');
const iso = (ms: number): string => new Date(ms).toISOString();

const NOT_SUPPRESSED = { suppressedReason: null, suppressedUntil: null, suppressedBy: null, suppressedAt: null };
const at = (over: Partial<LifecycleState> = {}): LifecycleState => ({
  state: 'open', severity: 'high', firstSeen: T - 10_000, lastSeen: T - 5000, count: 2, resolvedAt: null, ...NOT_SUPPRESSED, ...over,
});
const sup = (until: number | null = null) => ({ suppressedReason: 'known', suppressedUntil: until, suppressedBy: 'admin', suppressedAt: T - 3000 });

const OPEN = at();
const RESOLVED = at({ state: 'resolved', resolvedAt: T - 1000 });
const SUPPRESSED = at({ state: 'suppressed', ...sup() });
/** Suppressed after a pass had resolved it: lifting it returns to resolved. */
const SUPPRESSED_RESOLVED = at({ state: 'suppressed', resolvedAt: T - 4000, ...sup() });
const SUPPRESSED_UNTIL = at({ state: 'suppressed', ...sup(T + 60_000) });
const EXPIRED = at({ state: 'suppressed', ...sup(T - 1) });
const EXPIRED_RESOLVED = at({ state: 'suppressed', resolvedAt: T - 4000, ...sup(T - 1) });
const DUE_NOW = at({ state: 'suppressed', ...sup(T) });

const SCOPE = new Set(['cis-4.2.1']);
const fail = (severity: Severity = 'high', canOpen = true, status: 'fail' | 'warn' = 'fail'): LifecycleInput =>
  ({ kind: 'result', checkId: 'cis-4.2.1', status, severity, at: T, occurrences: 3, canOpen });
const result = (status: 'pass' | 'skip' | 'error', checkId = 'cis-4.2.1'): LifecycleInput =>
  ({ kind: 'result', checkId, status, severity: 'high', at: T, occurrences: 1, canOpen: true });
const finding = (allowed?: 'content' | 'executable', observedAt = T, canOpen = true): LifecycleInput =>
  ({ kind: 'finding', severity: 'high', at: observedAt, occurrences: 1, canOpen, allowed });
const silent: LifecycleInput = { kind: 'silent', severity: 'high', at: T };
const resolve: LifecycleInput = { kind: 'resolve', at: T, note: 'allowed by admin' };
const suppress = (until: number | null = null): LifecycleInput => ({ kind: 'suppress', reason: 'pentest', until, by: 'admin', at: T });
const unsuppress: LifecycleInput = { kind: 'unsuppress', by: 'admin', at: T };
const tick: LifecycleInput = { kind: 'tick' };

interface Expect {
  readonly outcome: StepOutcome;
  /** The state afterwards; null: still no finding. */
  readonly state: FindingState | null;
  /** Transitions as `event:alert` ('-' for no alert), in order. */
  readonly transitions: string[];
  /** An occurrence folded into the history as seen. */
  readonly seen?: boolean;
  readonly count?: number;
  readonly resolvedAt?: number | null;
  readonly severity?: Severity;
  readonly suppressed?: boolean;
  /** Times (ms) of the transitions, in order. */
  readonly at?: number[];
  readonly note?: RegExp;
}

const none = undefined;
// [name, stored state, input, expected]; the time is T, the scope cis-4.2.1.
const TABLE: Array<[string, LifecycleState | undefined, LifecycleInput, Expect]> = [
  // A scan report's results.
  ['new failing result opens', none, fail(), { outcome: 'changed', state: 'open', transitions: ['opened:opened'], count: 3, at: [T] }],
  ['new warning result opens', none, fail('medium', true, 'warn'), { outcome: 'changed', state: 'open', transitions: ['opened:opened'] }],
  ['new failing result over the node cap is refused', none, fail('high', false), { outcome: 'refused', state: null, transitions: [] }],
  ['open, failing again at the same severity: an occurrence', OPEN, fail(), { outcome: 'changed', state: 'open', transitions: [], seen: true, count: 5 }],
  ['open, failing at a higher severity: escalated', OPEN, fail('critical'), { outcome: 'changed', state: 'open', transitions: ['escalated:escalated'], count: 5, severity: 'critical' }],
  ['open, failing at a lower severity: lowered without an event', OPEN, fail('low'), { outcome: 'changed', state: 'open', transitions: [], seen: true, severity: 'low' }],
  ['resolved, failing again: reopened', RESOLVED, fail(), { outcome: 'changed', state: 'open', transitions: ['reopened:reopened'], resolvedAt: null, count: 5 }],
  ['resolved, failing again at the node cap: reopened (the cap counts new findings)', RESOLVED, fail('high', false), { outcome: 'changed', state: 'open', transitions: ['reopened:reopened'] }],
  ['suppressed, failing again: counted, still suppressed', SUPPRESSED, fail(), { outcome: 'changed', state: 'suppressed', transitions: [], seen: true, count: 5, suppressed: true }],
  ['suppressed, escalating: escalated quietly', SUPPRESSED, fail('critical'), { outcome: 'changed', state: 'suppressed', transitions: ['escalated:-'], suppressed: true }],
  ['suppressed after a pass, failing again: no longer resolved underneath', SUPPRESSED_RESOLVED, fail(), { outcome: 'changed', state: 'suppressed', transitions: [], seen: true, resolvedAt: null }],
  ['open, a pass in scope: resolved', OPEN, result('pass'), { outcome: 'changed', state: 'resolved', transitions: ['resolved:resolved'], resolvedAt: T, note: /passed a scan/ }],
  ['open, a pass outside the scope: nothing', OPEN, result('pass', 'cis-9.9.9'), { outcome: 'unchanged', state: 'open', transitions: [] }],
  ['open, a skip in scope: nothing', OPEN, result('skip'), { outcome: 'unchanged', state: 'open', transitions: [] }],
  ['open, an error in scope: nothing', OPEN, result('error'), { outcome: 'unchanged', state: 'open', transitions: [] }],
  ['suppressed, a pass in scope: resolved, the suppression ends', SUPPRESSED, result('pass'), { outcome: 'changed', state: 'resolved', transitions: ['resolved:resolved'], suppressed: false }],
  ['resolved, a pass: nothing', RESOLVED, result('pass'), { outcome: 'unchanged', state: 'resolved', transitions: [], resolvedAt: T - 1000 }],
  ['no finding, a pass: nothing', none, result('pass'), { outcome: 'unchanged', state: null, transitions: [] }],
  // A finding batch's findings (process findings).
  ['new finding opens', none, finding(), { outcome: 'changed', state: 'open', transitions: ['opened:opened'], count: 1 }],
  ['new finding over the node cap is refused', none, finding(undefined, T, false), { outcome: 'refused', state: null, transitions: [] }],
  ['resolved, found again: reopened', RESOLVED, finding(), { outcome: 'changed', state: 'open', transitions: ['reopened:reopened'] }],
  ['stale after an allow (its content allowed), none stored: ignored', none, finding('content'), { outcome: 'ignored', state: null, transitions: [] }],
  ['stale after an allow (its content allowed), resolved by it: ignored', RESOLVED, finding('content', T), { outcome: 'ignored', state: 'resolved', transitions: [] }],
  ['stale after an allow (executable allowed), observed before the resolution: ignored', RESOLVED, finding('executable', T - 2000), { outcome: 'ignored', state: 'resolved', transitions: [] }],
  ['after an allow (executable allowed), observed at the resolution: ignored', RESOLVED, finding('executable', T - 1000), { outcome: 'ignored', state: 'resolved', transitions: [] }],
  ['after an allow (executable allowed), observed after the resolution: reopened', RESOLVED, finding('executable', T), { outcome: 'changed', state: 'open', transitions: ['reopened:reopened'] }],
  ['executable allowed but the finding never resolved: an occurrence', OPEN, finding('executable', T - 9000), { outcome: 'changed', state: 'open', transitions: [], seen: true }],
  // agent-stale: silence.
  ['silent, none yet: opened', none, silent, { outcome: 'changed', state: 'open', transitions: ['opened:opened'], count: 1 }],
  ['silent, resolved (the agent came back before): reopened', RESOLVED, silent, { outcome: 'changed', state: 'open', transitions: ['reopened:reopened'], count: 3 }],
  ['silent, already open: nothing, not even counted', OPEN, silent, { outcome: 'unchanged', state: 'open', transitions: [], count: 2 }],
  ['silent, suppressed: nothing', SUPPRESSED, silent, { outcome: 'unchanged', state: 'suppressed', transitions: [] }],
  // agent-missing: no agent reports from a node that should run one (raised by the sweep as `silent`).
  ['agent-missing: past the grace period, none yet: opened', none, silent, { outcome: 'changed', state: 'open', transitions: ['opened:opened'], count: 1, at: [T] }],
  ['agent-missing: still missing at the next sweep: nothing, not even counted', OPEN, silent, { outcome: 'unchanged', state: 'open', transitions: [], count: 2 }],
  ['agent-missing: suppressed (a node known to run without it): stays quiet', SUPPRESSED, silent, { outcome: 'unchanged', state: 'suppressed', transitions: [] }],
  ['agent-missing: missing again after its agent had connected: reopened', RESOLVED, silent, { outcome: 'changed', state: 'open', transitions: ['reopened:reopened'], resolvedAt: null }],
  ['agent-missing: its agent connects (a hello): resolved', OPEN, { kind: 'resolve', at: T, note: 'the agent connected' }, { outcome: 'changed', state: 'resolved', transitions: ['resolved:resolved'], resolvedAt: T, note: /^the agent connected$/ }],
  ['agent-missing: the node deleted from the cluster: resolved, the suppression ends', SUPPRESSED, { kind: 'resolve', at: T, note: 'the node was deleted from the cluster' }, { outcome: 'changed', state: 'resolved', transitions: ['resolved:resolved'], suppressed: false, note: /deleted from the cluster/ }],
  ['agent-missing: a hello from a node that never missed its agent: nothing', none, { kind: 'resolve', at: T, note: 'the agent connected' }, { outcome: 'unchanged', state: null, transitions: [] }],
  // Resolutions by command: an allow, a node deleted, the agent back.
  ['open, resolved by a command', OPEN, resolve, { outcome: 'changed', state: 'resolved', transitions: ['resolved:resolved'], note: /allowed by admin/, resolvedAt: T }],
  ['suppressed, resolved by a command', SUPPRESSED, resolve, { outcome: 'changed', state: 'resolved', transitions: ['resolved:resolved'], suppressed: false }],
  ['resolved, resolved again: nothing', RESOLVED, resolve, { outcome: 'unchanged', state: 'resolved', transitions: [] }],
  ['no finding, resolved: nothing', none, resolve, { outcome: 'unchanged', state: null, transitions: [] }],
  // Operators' suppressions.
  ['open, suppressed', OPEN, suppress(T + 1000), { outcome: 'changed', state: 'suppressed', transitions: ['suppressed:suppressed'], suppressed: true, note: /^admin: pentest \(until 2026-01-01T00:00:01.000Z\)$/ }],
  ['resolved, suppressed: it remembers it was resolved', RESOLVED, suppress(), { outcome: 'changed', state: 'suppressed', transitions: ['suppressed:suppressed'], resolvedAt: T - 1000, note: /^admin: pentest$/ }],
  ['suppressed, suppressed again (a new reason and expiry)', SUPPRESSED, suppress(T + 5), { outcome: 'changed', state: 'suppressed', transitions: ['suppressed:suppressed'] }],
  ['no finding, suppressed: missing', none, suppress(), { outcome: 'missing', state: null, transitions: [] }],
  ['suppressed, lifted: open again', SUPPRESSED, unsuppress, { outcome: 'changed', state: 'open', transitions: ['unsuppressed:reopened'], suppressed: false, note: /^admin: lifted$/ }],
  ['suppressed after a pass, lifted: resolved again, quietly', SUPPRESSED_RESOLVED, unsuppress, { outcome: 'changed', state: 'resolved', transitions: ['unsuppressed:-'] }],
  ['open, lifted: not suppressed', OPEN, unsuppress, { outcome: 'not-suppressed', state: 'open', transitions: [] }],
  ['no finding, lifted: missing', none, unsuppress, { outcome: 'missing', state: null, transitions: [] }],
  // Time passing: expiry.
  ['suppression past its expiry: ends, open again', EXPIRED, tick, { outcome: 'changed', state: 'open', transitions: ['unsuppressed:reopened'], at: [T - 1], note: /expired/, suppressed: false }],
  ['suppression (over a resolution) past its expiry: ends, resolved again', EXPIRED_RESOLVED, tick, { outcome: 'changed', state: 'resolved', transitions: ['unsuppressed:-'] }],
  ['suppression due exactly now: ends', DUE_NOW, tick, { outcome: 'changed', state: 'open', transitions: ['unsuppressed:reopened'], at: [T] }],
  ['suppression not yet due: nothing', SUPPRESSED_UNTIL, tick, { outcome: 'unchanged', state: 'suppressed', transitions: [] }],
  ['suppression without expiry: nothing', SUPPRESSED, tick, { outcome: 'unchanged', state: 'suppressed', transitions: [] }],
  ['open, time passes: nothing', OPEN, tick, { outcome: 'unchanged', state: 'open', transitions: [] }],
  // A suppression that has run out ends before anything else is applied.
  ['expired, failing again: ends, then an occurrence', EXPIRED, fail(), { outcome: 'changed', state: 'open', transitions: ['unsuppressed:reopened'], seen: true, count: 5 }],
  ['expired, escalating: ends, then escalated out loud', EXPIRED, fail('critical'), { outcome: 'changed', state: 'open', transitions: ['unsuppressed:reopened', 'escalated:escalated'] }],
  ['expired over a resolution, failing: ends (resolved), then reopened', EXPIRED_RESOLVED, fail(), { outcome: 'changed', state: 'open', transitions: ['unsuppressed:-', 'reopened:reopened'] }],
  ['expired, a pass: ends, then resolved', EXPIRED, result('pass'), { outcome: 'changed', state: 'resolved', transitions: ['unsuppressed:reopened', 'resolved:resolved'] }],
  ['expired agent-stale, still silent: ends, open again, not raised twice', EXPIRED, silent, { outcome: 'changed', state: 'open', transitions: ['unsuppressed:reopened'], count: 2 }],
  ['expired, suppressed again: ends, then suppressed', EXPIRED, suppress(), { outcome: 'changed', state: 'suppressed', transitions: ['unsuppressed:reopened', 'suppressed:suppressed'] }],
  ['expired, lifted: it had ended already', EXPIRED, unsuppress, { outcome: 'not-suppressed', state: 'open', transitions: ['unsuppressed:reopened'] }],
  ['expired, stale after an allow: ends, the report ignored', EXPIRED, finding('content'), { outcome: 'ignored', state: 'open', transitions: ['unsuppressed:reopened'] }],
];

test(`the lifecycle transition table (${TABLE.length} rows): state, transitions, alerts, counts`, (t) => {
  for (const [name, before, input, want] of TABLE) {
    const s = step(before, input, { now: T, scope: SCOPE });
    t.is(s.outcome, want.outcome, `${name}: outcome`);
    t.is(s.next?.state ?? null, want.state, `${name}: state`);
    t.deepEqual(s.transitions.map((x) => `${x.event}:${x.alert ?? '-'}`), want.transitions, `${name}: transitions`);
    t.is(s.seen !== undefined, want.seen === true, `${name}: an occurrence without a transition`);
    if (want.count !== undefined) t.is(s.next?.count, want.count, `${name}: count`);
    if (want.resolvedAt !== undefined) t.is(s.next?.resolvedAt, want.resolvedAt, `${name}: resolvedAt`);
    if (want.severity !== undefined) t.is(s.next?.severity, want.severity, `${name}: severity`);
    if (want.suppressed !== undefined) t.is(s.next?.suppressedReason != null, want.suppressed, `${name}: suppression`);
    if (want.at !== undefined) t.deepEqual(s.transitions.map((x) => x.at), want.at, `${name}: times`);
    if (want.note !== undefined) t.regex(s.transitions.at(-1)?.note ?? '', want.note, `${name}: note`);
    // Each transition's state is where it leaves the finding; the last one's is the result (an occurrence may follow).
    if (s.transitions.length > 0 && !s.seen) t.deepEqual(s.transitions.at(-1)!.after, s.next, `${name}: the last transition's state is the result`);
    // Nothing moves backwards.
    if (before && s.next) {
      t.true(s.next.count >= before.count, `${name}: count`);
      t.true(s.next.lastSeen >= before.lastSeen && s.next.firstSeen === before.firstSeen, `${name}: first and last seen`);
    }
  }
  t.is(new Set(TABLE.map(([n]) => n)).size, TABLE.length, 'each row is its own case');
});

test('a new finding takes its first and last seen and its count from the occurrence', (t) => {
  const s = step(undefined, { kind: 'finding', severity: 'medium', at: T - 7000, occurrences: 4, canOpen: true }, { now: T });
  t.like(s.next, { state: 'open', severity: 'medium', firstSeen: T - 7000, lastSeen: T - 7000, count: 4, resolvedAt: null, ...NOT_SUPPRESSED });
  t.like(s.transitions[0], { event: 'opened', at: T - 7000, occurrences: 4 });
  // An occurrence older than the last one seen keeps last seen where it was.
  t.is(step(OPEN, { kind: 'finding', severity: 'high', at: T - 9000, occurrences: 1, canOpen: true }, { now: T }).next?.lastSeen, T - 5000);
});

// ------------------------------------------------------------------ what an allow covers

const SHA_A = 'a'.repeat(64);
const SHA_B = 'b'.repeat(64);
const ANY: AllowedContents = { anyContent: true, digests: [] };
const ONLY_A: AllowedContents = { anyContent: false, digests: [SHA_A] };
const PATH_ONLY: AllowedContents = { anyContent: false, digests: [] };

test('what an allow covers, for every check an allow resolves', (t) => {
  // [check, content of the finding, what is allowed, coverage]
  const rows: Array<[string, string, AllowedContents | undefined, 'content' | 'executable' | undefined]> = [
    [PROC_UNEXPECTED_CHECK.id, SHA_A, undefined, undefined],
    [PROC_UNEXPECTED_CHECK.id, SHA_A, ANY, 'content'],
    [PROC_UNEXPECTED_CHECK.id, SHA_A, ONLY_A, 'content'],
    [PROC_UNEXPECTED_CHECK.id, SHA_B, ONLY_A, undefined],
    [PROC_UNEXPECTED_CHECK.id, '', ONLY_A, 'content'],
    [PROC_UNEXPECTED_CHECK.id, SHA_B, PATH_ONLY, 'content'],
    [PROC_MODIFIED_BINARY_CHECK.id, SHA_A, undefined, undefined],
    [PROC_MODIFIED_BINARY_CHECK.id, SHA_A, ANY, 'content'],
    [PROC_MODIFIED_BINARY_CHECK.id, SHA_A, ONLY_A, 'content'],
    [PROC_MODIFIED_BINARY_CHECK.id, SHA_B, ONLY_A, undefined],
    [PROC_MODIFIED_BINARY_CHECK.id, '', ONLY_A, undefined],
    [PROC_MODIFIED_BINARY_CHECK.id, SHA_B, PATH_ONLY, undefined],
    [PROC_UNVERIFIED_BINARY_CHECK.id, '', undefined, undefined],
    [PROC_UNVERIFIED_BINARY_CHECK.id, '', ANY, 'content'],
    [PROC_UNVERIFIED_BINARY_CHECK.id, '', ONLY_A, 'executable'],
    [PROC_INLINE_CODE_CHECK.id, SHA_A, undefined, undefined],
    [PROC_INLINE_CODE_CHECK.id, SHA_A, ANY, 'executable'],
    [PROC_INLINE_CODE_CHECK.id, SHA_A, ONLY_A, 'executable'],
    ['proc-reverse-shell', SHA_A, ANY, undefined],
    ['cis-4.2.1', '', ANY, undefined],
  ];
  for (const [check, sha, allowed, want] of rows) t.is(allowCoverage(check, sha, allowed), want, `${check} ${sha.slice(0, 1) || '-'} ${JSON.stringify(allowed)}`);
  t.deepEqual([...new Set(rows.map(([c]) => c))].filter((c) => ALLOW_RESOLVES_CHECK_IDS.includes(c)).sort(), [...ALLOW_RESOLVES_CHECK_IDS].sort(), 'every check an allow resolves is in the table');
});

// ------------------------------------------------------------------ invariants

const stateArb = fc.record({
  state: fc.constantFrom<FindingState>('open', 'resolved', 'suppressed'),
  severity: fc.constantFrom(...SEVERITIES),
  count: fc.integer({ min: 1, max: 100 }),
  resolved: fc.boolean(),
  until: fc.option(fc.integer({ min: -5000, max: 5000 }), { nil: null }),
}).map(({ state, severity, count, resolved, until }): LifecycleState => ({
  state, severity, firstSeen: T - 20_000, lastSeen: T - 10_000, count,
  resolvedAt: state === 'resolved' || (state === 'suppressed' && resolved) ? T - 15_000 : null,
  ...(state === 'suppressed'
    ? { suppressedReason: 'r', suppressedUntil: until === null ? null : T + until, suppressedBy: 'a', suppressedAt: T - 12_000 }
    : NOT_SUPPRESSED),
}));

const inputArb: fc.Arbitrary<LifecycleInput> = fc.oneof(
  fc.record({ status: fc.constantFrom(...STATUSES), severity: fc.constantFrom(...SEVERITIES), inScope: fc.boolean(), canOpen: fc.boolean(), d: fc.integer({ min: -3000, max: 3000 }) })
    .map(({ status, severity, inScope, canOpen, d }): LifecycleInput => ({ kind: 'result', checkId: inScope ? 'cis-4.2.1' : 'cis-1.1.1', status, severity, at: T + d, occurrences: 1, canOpen })),
  fc.record({ severity: fc.constantFrom(...SEVERITIES), allowed: fc.constantFrom(undefined, 'content' as const, 'executable' as const), canOpen: fc.boolean(), d: fc.integer({ min: -3000, max: 3000 }) })
    .map(({ severity, allowed, canOpen, d }): LifecycleInput => ({ kind: 'finding', severity, at: T + d, occurrences: 2, canOpen, allowed })),
  fc.constant(silent), fc.constant(resolve), fc.constant(unsuppress), fc.constant(tick),
  fc.option(fc.integer({ min: 1, max: 5000 }), { nil: null }).map((u): LifecycleInput => suppress(u === null ? null : T + u)),
);

test('property: whatever comes, a suppression is there exactly while suppressed, a resolved finding says when, counts never fall, and a suppressed finding is quiet but for its suppression', async (t) => {
  await checkProperty(t, fc.property(fc.option(stateArb, { nil: undefined }), fc.array(fc.tuple(inputArb, fc.integer({ min: 0, max: 4000 })), { maxLength: 12 }), (start, inputs) => {
    let s = start;
    let now = T;
    for (const [input, dt] of inputs) {
      now += dt;
      const r = step(s, input, { now, scope: SCOPE });
      for (const x of [...r.transitions.map((tr) => tr.after), ...(r.next ? [r.next] : [])]) {
        const suppressed = x.state === 'suppressed';
        if ([x.suppressedReason, x.suppressedBy, x.suppressedAt].some((v) => (v !== null) !== suppressed) || (!suppressed && x.suppressedUntil !== null)) return false;
        if (x.state === 'resolved' && x.resolvedAt === null) return false;
        if (x.state === 'open' && x.resolvedAt !== null) return false;
      }
      for (const tr of r.transitions) if (tr.after.state === 'suppressed' && tr.alert !== undefined && tr.alert !== 'suppressed') return false;
      if (s && r.next && r.next.count < s.count) return false;
      // A suppression whose time has come never survives a step.
      if (r.next?.suppressedUntil != null && r.next.suppressedUntil <= now && input.kind !== 'suppress') return false;
      s = r.next;
    }
    return true;
  }), 500);
});

// ------------------------------------------------------------------ through the commit stage

storeTest('a report sent before the agent applied an allow cannot reopen what the allow resolved, for every check an allow resolves; a later one can where the agent still judges it', async (t, backend) => {
  const store = await backend.open(t);
  const commit = createCommitStage(store, { maxOpenFindingsPerNode: 100 });
  const KEY = 'shop/Deployment/web/app';
  const EXE = '/usr/bin/python3';
  const subject = processSubject(KEY, EXE);
  let seq = 0;
  const report = (checkId: string, observedAt: number, sha256 = SHA_A) => commit.batch({
    node: 'node-a', epoch: 'e', sequence: ++seq, findings: [{
      checkId, subject, title: checkId, category: 'process', severity: 'high', status: 'fail', observedAt, occurrences: 1, seen: 'event', remediation: '',
      detail: JSON.stringify({ baseline: KEY, exe: EXE, identity: { sha256 } }),
    }],
  }, observedAt + 10);
  const stateOf = async (checkId: string) => (await store.findings.get(fingerprint('node-a', checkId, subject)))?.state;

  for (const checkId of ALLOW_RESOLVES_CHECK_IDS) await report(checkId, T);
  // An operator allows the executable with the content seen; its findings resolve.
  await store.baselines.change('allow', KEY, [EXE], 'admin', T + 1000, { anyContent: false, digests: new Map([[EXE, [SHA_A]]]) });
  const resolved = await commit.resolveSubjects(ALLOW_RESOLVES_CHECK_IDS, [subject], 'allowed by admin', T + 1000);
  t.is(resolved.length, ALLOW_RESOLVES_CHECK_IDS.length);

  // Observed before the allow, arriving after it: ignored, every one.
  for (const checkId of ALLOW_RESOLVES_CHECK_IDS) {
    const out = await report(checkId, T + 500);
    t.is(out.ignored, 1, `${checkId}: ignored`);
    t.is(await stateOf(checkId), 'resolved', `${checkId}: still resolved`);
  }
  // Observed after it: the agent still judges inline code and unhashable content; the allowed content is settled.
  const after: Record<string, number> = {};
  for (const c of ALLOW_RESOLVES_CHECK_IDS) after[c] = (await report(c, T + 5000)).ignored;
  t.deepEqual(after, {
    [PROC_UNEXPECTED_CHECK.id]: 1, [PROC_MODIFIED_BINARY_CHECK.id]: 1, [PROC_UNVERIFIED_BINARY_CHECK.id]: 0, [PROC_INLINE_CODE_CHECK.id]: 0,
  });
  t.is(await stateOf(PROC_INLINE_CODE_CHECK.id), 'open');
  t.is(await stateOf(PROC_UNVERIFIED_BINARY_CHECK.id), 'open');
  t.is(await stateOf(PROC_UNEXPECTED_CHECK.id), 'resolved');
  // Another content is a finding again, whenever it was seen.
  t.is((await report(PROC_MODIFIED_BINARY_CHECK.id, T + 6000, SHA_B)).ignored, 0);
  t.is(await stateOf(PROC_MODIFIED_BINARY_CHECK.id), 'open');
  t.is((await store.findings.detail(fingerprint('node-a', PROC_INLINE_CODE_CHECK.id, subject)))?.history[0]?.at, iso(T + 5000));
});

storeTest('agent-missing through the commit stage: raised once past a node at its cap, resolved by a hello, and settled for the nodes the sweep names', async (t, backend) => {
  const store = await backend.open(t);
  const commit = createCommitStage(store, { maxOpenFindingsPerNode: 1 });
  const missing = { since: T - 400_000, graceMs: 300_000, reason: 'no agent pod on the node' };
  const id = (node: string) => fingerprint(node, AGENT_MISSING_CHECK.id, node);
  // node-b holds one open finding already: at its cap, which the collector's own finding ignores.
  await commit.batch({ node: 'node-b', epoch: 'e', sequence: 1, findings: [{ checkId: 'proc-x', subject: 's', title: 't', category: 'process', severity: 'high', status: 'fail', observedAt: T - 500_000, occurrences: 1, seen: 'event', remediation: '', detail: '{}' }] }, T - 500_000);
  t.deepEqual((await commit.agentMissing('node-b', missing, T)).map((c) => c.event), ['opened']);
  t.deepEqual(await commit.agentMissing('node-b', missing, T + 30_000), [], 'the next sweep changes nothing');
  t.like(await store.findings.get(id('node-b')), { state: 'open', count: 1, reason: 'no agent pod on the node', actual: `no agent has connected in the 400 s the node has been Ready (since ${iso(T - 400_000)})` });
  t.deepEqual((await commit.hello({
    node: 'node-b', agentVersion: 't', epoch: 'e', os: '', kernel: '', arch: '', kubeletVersion: '', cpus: 0, memoryBytes: 0, uptimeSeconds: 0, certificates: [],
  }, { spoolEntries: 0, spoolBytes: 0, spoolDropped: 0, rejected: 0, execCoverage: '', execSource: '', execSourceReason: '', processEventsCapped: 0, processEventsLost: 0, execEventsLost: 0, execRingLost: 0, execUnjudged: 0, execRecordsPartial: 0, execFakeContainer: 0, execHostNamespace: 0, execBatches: 0, baselineItemsDropped: 0, baselineKeysEvicted: 0, baselineReportDropped: 0, hostDocumentsRefused: 0, hostDocumentRefusedPath: '', hostDocumentRefusedReason: '', execIdentityFailed: 0, execIdentityFailedReason: '', execEvents: 0, lastScanDurationMs: 0, exposureWalkPidLimitHits: 0, exposureWalkTimeLimitHits: 0, exposureWalkFdLimitHits: 0, exposureWalkUnreadable: 0, exposureRowsRefused: 0, exposureListenersDropped: 0, exposureNativeReader: false }, T + 60_000)).map((c) => `${c.checkId}:${c.event}`), ['agent-missing:resolved']);
  t.is((await store.findings.detail(id('node-b')))?.history[0]?.note, 'the agent connected');

  for (const node of ['gone', 'tainted', 'still']) await commit.agentMissing(node, missing, T);
  const settled = await commit.settleAgentMissing((node) => ({ gone: 'the node was deleted from the cluster', tainted: 'the agent DaemonSet no longer runs on this node' } as Record<string, string>)[node], T + 90_000);
  t.deepEqual(settled.map((c) => `${c.node}:${c.event}`).sort(), ['gone:resolved', 'tainted:resolved']);
  t.is((await store.findings.get(id('still')))?.state, 'open');
  t.is((await store.findings.detail(id('gone')))?.history[0]?.note, 'the node was deleted from the cluster');
});
