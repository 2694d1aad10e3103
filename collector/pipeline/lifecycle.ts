// The finding lifecycle, as one pure function: (stored state, input, scan scope, time) ->
// (new state, transitions). No I/O and no clock: the commit stage (commit.ts) reads the
// stored state inside its unit of work, calls this, and writes what it returns.
//
// States: open, resolved, suppressed (design.md). The rules:
// - A failing (or warning) result or finding opens a finding, reopens a resolved one, and
//   escalates one whose severity rises; otherwise it is an occurrence (`seen`). A suppressed
//   finding stays suppressed through occurrences (they still count). A finding that would be
//   new while its node is at its cap of open findings is refused.
// - Only a pass inside the report's scope resolves (an open or a suppressed finding); `skip`
//   and `error` never do, nor does a pass outside the scope.
// - A process finding the central baseline now allows was sent before the agent applied the
//   allow (or the lock): it is ignored, so it cannot reopen what the allow resolved. For each
//   check an allow resolves (ALLOW_RESOLVES_CHECK_IDS), allowCoverage says how: by its content
//   where the agent judges contents, else by its time (observed no later than the resolution).
// - An operator suppresses (with a reason, and an expiry or none) and lifts a suppression;
//   a suppression that ends returns the finding to what its results say: resolved when a
//   pass resolved it before it was suppressed and nothing failed since, else open.
// - A suppression whose expiry has come ends before anything else is applied (`tick` is
//   time passing with nothing else).
// - The collector's own agent-stale and agent-missing findings are raised by an absence
//   (`silent`: the agent went quiet; no agent reports from a node that should run one):
//   opened or reopened, nothing while it is open or suppressed; the agent being heard from
//   (connecting, for agent-missing) resolves it.
// - An allow, a node deleted, an agent heard from again (or connected) resolve (`resolve`) with a note.
//
// Each transition says which alert it is (collector/finding.ts AlertEvent), or none: a
// suppressed finding stays quiet except for the suppression itself, and a suppression that
// ends with the finding open is announced as `reopened` (it is back on someone's plate).
import { isFindingStatus, severityRank, type FindingState, type Severity, type Status } from '../../proto/domain.js';
import { isSha256 } from '../../proto/exec-identity.js';
import { processSubject } from '../../proto/baseline-key.js';
import { ALLOW_RESOLVES_CHECK_IDS, PROC_MODIFIED_BINARY_CHECK, PROC_UNEXPECTED_CHECK, PROC_UNVERIFIED_BINARY_CHECK } from '../../proto/process-checks.js';
import type { AlertEvent, HistoryEvent, LifecycleState } from '../finding.js';

export type { LifecycleState } from '../finding.js';
import { isoTime } from '../store/time.js';

const NO_SUPPRESSION = { suppressedReason: null, suppressedUntil: null, suppressedBy: null, suppressedAt: null } as const;
const NO_TRANSITIONS: readonly Transition[] = Object.freeze([]);

/** How far what the central baseline allows covers a process finding (allowCoverage). */
export type AllowCoverage = 'content' | 'executable';

export type LifecycleInput =
  /** One result of a scan report. */
  | { readonly kind: 'result'; readonly checkId: string; readonly status: Status; readonly severity: Severity; readonly at: number; readonly occurrences: number; readonly canOpen: boolean }
  /** One finding of a finding batch (always failing); `allowed`: what the central baseline allows of it. */
  | { readonly kind: 'finding'; readonly severity: Severity; readonly at: number; readonly occurrences: number; readonly canOpen: boolean; readonly allowed?: AllowCoverage | undefined }
  /** The node's agent is silent (agent-stale), or missing (agent-missing). */
  | { readonly kind: 'silent'; readonly severity: Severity; readonly at: number }
  | { readonly kind: 'resolve'; readonly at: number; readonly note: string }
  | { readonly kind: 'suppress'; readonly reason: string; readonly until: number | null; readonly by: string; readonly at: number }
  | { readonly kind: 'unsuppress'; readonly by: string; readonly at: number }
  /** Time passes: only a suppression's expiry. */
  | { readonly kind: 'tick' };

export type TransitionEvent = Exclude<HistoryEvent, 'seen'>;

export interface Transition {
  readonly event: TransitionEvent;
  /** When it happened (ms): the occurrence's, the pass's, the operator's, the expiry's. */
  readonly at: number;
  /** The state right after it. */
  readonly after: LifecycleState;
  /** What it announces, if anything. */
  readonly alert: AlertEvent | undefined;
  readonly occurrences: number;
  readonly note: string;
  /** A suppression's expiry that came before the input itself. */
  readonly expiry: boolean;
}

export type StepOutcome =
  /** The input changed the finding (a transition, or an occurrence). */
  | 'changed'
  /** Nothing to do: a pass of something not open, a skip, a repeat of silence, a resolve of something resolved. */
  | 'unchanged'
  /** A new finding over the node's cap. */
  | 'refused'
  /** A process finding the central baseline allows, sent before the agent applied the allow. */
  | 'ignored'
  /** A command (suppress, unsuppress) for a finding that does not exist. */
  | 'missing'
  /** unsuppress of a finding that is not suppressed. */
  | 'not-suppressed';

export interface Step {
  /** The state afterwards; undefined while there is no finding. */
  readonly next: LifecycleState | undefined;
  readonly outcome: StepOutcome;
  /** In order; an expiry first when a suppression had run out. */
  readonly transitions: readonly Transition[];
  /** An occurrence without a transition: folded into the history as `seen`. */
  readonly seen: { readonly at: number; readonly occurrences: number } | undefined;
}

export interface StepContext {
  /** The collector's time. */
  readonly now: number;
  /** The report's scope (the check ids it evaluated), for `result` inputs. */
  readonly scope?: ReadonlySet<string> | undefined;
}

const EXPIRED_NOTE = 'the suppression expired';

/** Which alert a transition is, given the state it leaves the finding in. */
export function alertFor(event: TransitionEvent, after: FindingState): AlertEvent | undefined {
  if (event === 'unsuppressed') return after === 'open' ? 'reopened' : undefined;
  if (after === 'suppressed' && event !== 'suppressed') return undefined;
  return event;
}

function transition(event: TransitionEvent, at: number, after: LifecycleState, opts: { occurrences?: number; note?: string; expiry?: boolean } = {}): Transition {
  return { event, at, after, alert: alertFor(event, after.state), occurrences: opts.occurrences ?? 0, note: opts.note ?? '', expiry: opts.expiry === true };
}

const unchanged = (state: LifecycleState | undefined, before: readonly Transition[], outcome: StepOutcome = 'unchanged'): Step =>
  ({ next: state, outcome: before.length > 0 && outcome === 'unchanged' ? 'changed' : outcome, transitions: before, seen: undefined });

/** Where an ended suppression leaves the finding. */
function lifted(s: LifecycleState): LifecycleState {
  return { ...s, state: s.resolvedAt === null ? 'open' : 'resolved', ...NO_SUPPRESSION };
}

function resolved(s: LifecycleState, at: number): LifecycleState {
  return { ...s, state: 'resolved', resolvedAt: at, ...NO_SUPPRESSION };
}

/** A failing occurrence: opens, reopens, escalates, or is seen. */
function failed(state: LifecycleState | undefined, severity: Severity, at: number, occurrences: number, canOpen: boolean, before: readonly Transition[]): Step {
  if (!state) {
    if (!canOpen) return unchanged(undefined, before, 'refused');
    const next: LifecycleState = { state: 'open', severity, firstSeen: at, lastSeen: at, count: occurrences, resolvedAt: null, ...NO_SUPPRESSION };
    return { next, outcome: 'changed', transitions: [...before, transition('opened', at, next, { occurrences })], seen: undefined };
  }
  const next: LifecycleState = {
    ...state, state: state.state === 'resolved' ? 'open' : state.state, severity, lastSeen: Math.max(state.lastSeen, at),
    count: state.count + occurrences, resolvedAt: null,
  };
  let event: TransitionEvent | undefined;
  if (state.state === 'resolved') event = 'reopened';
  else if (severityRank(severity) > severityRank(state.severity)) event = 'escalated';
  if (event) return { next, outcome: 'changed', transitions: [...before, transition(event, at, next, { occurrences })], seen: undefined };
  return { next, outcome: 'changed', transitions: before, seen: { at, occurrences } };
}

function resolve(state: LifecycleState | undefined, at: number, note: string, before: readonly Transition[]): Step {
  if (!state || (state.state !== 'open' && state.state !== 'suppressed')) return unchanged(state, before);
  const next = resolved(state, at);
  return { next, outcome: 'changed', transitions: [...before, transition('resolved', at, next, { note })], seen: undefined };
}

/**
 * One input applied to one finding. `state` is the stored state (undefined: no such finding
 * yet); the result says the new state and the transitions, in order.
 */
export function step(state: LifecycleState | undefined, input: LifecycleInput, ctx: StepContext): Step {
  // A suppression whose time has come ends first, whatever comes next.
  let before = NO_TRANSITIONS;
  let s = state;
  if (s?.state === 'suppressed' && s.suppressedUntil !== null && s.suppressedUntil <= ctx.now) {
    const until = s.suppressedUntil;
    s = lifted(s);
    before = [transition('unsuppressed', until, s, { note: EXPIRED_NOTE, expiry: true })];
  }
  switch (input.kind) {
    case 'tick':
      return unchanged(s, before);
    case 'result': {
      if (isFindingStatus(input.status)) return failed(s, input.severity, input.at, input.occurrences, input.canOpen, before);
      // Only a pass inside the report's scope resolves; skip and error never do.
      if (input.status === 'pass' && ctx.scope?.has(input.checkId) === true) return resolve(s, input.at, 'passed a scan', before);
      return unchanged(s, before);
    }
    case 'finding': {
      if (input.allowed === 'content') return unchanged(s, before, 'ignored');
      if (input.allowed === 'executable' && s?.state === 'resolved' && s.resolvedAt !== null && input.at <= s.resolvedAt) return unchanged(s, before, 'ignored');
      return failed(s, input.severity, input.at, input.occurrences, input.canOpen, before);
    }
    case 'silent':
      // Raised once per silence: nothing while it is open or suppressed. Never refused: it is the collector's own.
      if (s && s.state !== 'resolved') return unchanged(s, before);
      return failed(s, input.severity, input.at, 1, true, before);
    case 'resolve':
      return resolve(s, input.at, input.note, before);
    case 'suppress': {
      if (!s) return unchanged(undefined, before, 'missing');
      const next: LifecycleState = { ...s, state: 'suppressed', suppressedReason: input.reason, suppressedUntil: input.until, suppressedBy: input.by, suppressedAt: input.at };
      const note = `${input.by}: ${input.reason}${input.until === null ? '' : ` (until ${isoTime(input.until)})`}`;
      return { next, outcome: 'changed', transitions: [...before, transition('suppressed', input.at, next, { note })], seen: undefined };
    }
    case 'unsuppress': {
      if (!s) return unchanged(undefined, before, 'missing');
      if (s.state !== 'suppressed') return unchanged(s, before, 'not-suppressed');
      const next = lifted(s);
      return { next, outcome: 'changed', transitions: [...before, transition('unsuppressed', input.at, next, { note: `${input.by}: lifted` })], seen: undefined };
    }
  }
}

/** What the central baseline allows of one executable (store/baselines.ts allowedContents). */
export interface AllowedContents {
  readonly anyContent: boolean;
  /** SHA-256 of the contents allowed; none: the item predates contents. */
  readonly digests: readonly string[];
}

/** The executable a process finding is about, from its detail; undefined when the detail does not name its own subject. */
export function processTarget(f: { readonly checkId: string; readonly subject: string; readonly detail: string }): { key: string; exe: string; sha256: string } | undefined {
  if (!ALLOW_RESOLVES_CHECK_IDS.includes(f.checkId)) return undefined;
  let d: { baseline?: unknown; exe?: unknown; identity?: { sha256?: unknown } | null };
  try {
    d = JSON.parse(f.detail) as typeof d;
  } catch {
    return undefined;
  }
  if (typeof d.baseline !== 'string' || typeof d.exe !== 'string' || processSubject(d.baseline, d.exe) !== f.subject) return undefined;
  return { key: d.baseline, exe: d.exe, sha256: isSha256(d.identity?.sha256) ? d.identity.sha256 : '' };
}

/**
 * How far an allow covers a process finding of `checkId` with content `sha256` ('' when it
 * carries none), given what the central baseline allows of its executable:
 * - `content`: the agent, had it applied the allow, would not have sent it: the executable is
 *   allowed with any content (proc-unexpected, proc-modified-binary, proc-unverified-binary)
 *   or with this content (proc-unexpected, proc-modified-binary); a proc-unexpected finding
 *   without a content, or of an item that predates contents, is judged by its path;
 * - `executable`: the executable is allowed, but the agent still judges what this check
 *   judges (inline code, an unhashable content): only a report observed before the allow
 *   resolved the finding is stale;
 * - undefined: the allow does not settle it (the executable is not allowed, or this content
 *   is not: a content nobody allowed is a finding again).
 */
export function allowCoverage(checkId: string, sha256: string, allowed: AllowedContents | undefined): AllowCoverage | undefined {
  if (!allowed || !ALLOW_RESOLVES_CHECK_IDS.includes(checkId)) return undefined;
  const contentAllowed = allowed.anyContent || (sha256 !== '' && allowed.digests.includes(sha256));
  if (checkId === PROC_UNEXPECTED_CHECK.id) return contentAllowed || sha256 === '' || allowed.digests.length === 0 ? 'content' : undefined;
  if (checkId === PROC_MODIFIED_BINARY_CHECK.id) return contentAllowed ? 'content' : undefined;
  if (checkId === PROC_UNVERIFIED_BINARY_CHECK.id && allowed.anyContent) return 'content';
  return 'executable';
}
