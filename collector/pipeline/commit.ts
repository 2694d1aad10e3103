// The commit stage: every change to findings goes through here, as one unit of work each
// (store/store.ts). A unit reads the stored states it needs, applies the lifecycle
// (lifecycle.ts, pure) and writes what it decided: the rows (and with them the rollups),
// the history, and the outbox rows and Alertmanager firing sets its transitions route to
// (webhooks/route.ts). One unit per agent message (with the node heard from, which ends
// its agent-stale finding; a hello, the agent connected, also ends its agent-missing one),
// per operator command, per sweep.
import { AGENT_MISSING_CHECK, AGENT_STALE_CHECK } from '../../proto/collector-checks.js';
import { isFindingStatus } from '../../proto/domain.js';
import { clusterFingerprint, fingerprint } from '../../proto/fingerprint.js';
import type { ClusterFinding } from '../posture/judge.js';
import type { PostureUnit } from '../posture/posture-watch.js';
import type { FindingChange } from '../finding.js';
import type { FindingFields, FindingWrite, NodeHello, NodeStats, Store, StoreUnit, StoredFinding } from '../store/store.js';
import { isoTime } from '../store/time.js';
import { outboxWrites } from '../webhooks/route.js';
import type { Destination } from '../webhooks/types.js';
import { allowCoverage, processTarget, step, type LifecycleInput, type LifecycleState, type Step, type StepContext, type Transition } from './lifecycle.js';
import type { CommitOutcome, IncomingBatch, IncomingScan } from './types.js';

/** One transition the stage made, for metrics and logs: labelled by its alert, else by the transition. */
export interface Change {
  readonly findingId: string;
  readonly node: string;
  readonly checkId: string;
  readonly event: string;
}

export interface CommitStageOptions {
  /** New findings a node may have open; past it new ones are refused (counted on the node). */
  readonly maxOpenFindingsPerNode: number;
  /** New cluster findings (posture) that may be open; past it new ones are refused (counted). Default 10,000. */
  readonly maxOpenClusterFindings?: number;
  /** Webhook destinations: the transitions they route get outbox rows in the same unit. */
  readonly destinations?: readonly Destination[];
  /**
   * The cluster's uid (collector/fleet.ts ClusterIdentity): every finding id the stage makes
   * is the fingerprint within it (proto/fingerprint.ts). Default '': none, the ids an agent
   * makes itself. It must be the uid the store adopted (store.cluster.adopt), else new ids
   * would not meet the stored ones.
   */
  readonly clusterUid?: string;
}

export type SuppressOutcome = 'suppressed' | 'updated' | 'missing';
export type UnsuppressOutcome = 'unsuppressed' | 'not-suppressed' | 'missing';

interface Identity {
  readonly id: string;
  readonly node: string;
  readonly checkId: string;
  readonly subject: string;
}

/** What a posture unit did (pipeline.ts counts it). */
export interface PostureOutcome {
  readonly changes: Change[];
  /** New cluster findings refused by the cap. */
  readonly refused: number;
}

/** The stored fields of a cluster finding: what the judge said, the object it is about in the detail. */
function clusterFields(f: ClusterFinding): FindingFields {
  return {
    cis: f.cis, references: f.references, title: f.title, category: f.category, severity: f.severity, status: 'fail', scored: false,
    actual: f.actual, expected: f.expected, source: 'kubernetes-api', sourceFile: f.object, reason: f.reason, remediation: f.remediation,
    detail: JSON.stringify({ ...f.detail, key: f.key, subject: f.subject, object: f.object }), seen: 'watch',
  };
}

/** Batches of due suppressions ended per read. */
const EXPIRE_BATCH = 1000;

/** A write of `f` in the state `s` (a stored finding is its own lifecycle state). */
function writeOf(f: Identity, s: LifecycleState, fields: FindingFields | undefined): FindingWrite {
  return {
    id: f.id, node: f.node, checkId: f.checkId, subject: f.subject, state: s.state, severity: s.severity, firstSeen: s.firstSeen,
    lastSeen: s.lastSeen, count: s.count, resolvedAt: s.resolvedAt, suppressedReason: s.suppressedReason, suppressedUntil: s.suppressedUntil,
    suppressedBy: s.suppressedBy, suppressedAt: s.suppressedAt, fields,
  };
}

/** The finding the collector raises for a silent agent (the check reference shows it too). */
export const AGENT_STALE = {
  ...AGENT_STALE_CHECK,
  title: 'The nodeward agent has gone silent',
  reads: 'When the collector last heard from the node\'s agent: a node silent for nodes.staleAfterSeconds gets this finding; it resolves when the agent is back. Subject: the node\'s name.',
  remediation: 'Check the nodeward agent pod on this node and its logs (kubectl -n <namespace> get pods -o wide '
    + '--field-selector spec.nodeName=<node>). An agent that vanishes without a rollout can mean the node was tampered with.',
} as const;


/** Why a node's agent is missing, as the sweeper found it (pipeline/sweeper.ts). */
export interface AgentMissing {
  /** Since when the node has been Ready with the agent expected and no agent reporting (ms). */
  readonly since: number;
  /** The grace period it has been past. */
  readonly graceMs: number;
  /** What the collector can tell of why (no agent pod on the node, one that does not connect). */
  readonly reason: string;
}

export function createCommitStage(store: Store, opts: CommitStageOptions) {
  const destinations = opts.destinations ?? [];
  const cluster = opts.clusterUid ?? '';
  const idOf = (node: string, checkId: string, subject: string): string => fingerprint(node, checkId, subject, cluster);
  const staleId = (node: string): string => idOf(node, AGENT_STALE_CHECK.id, node);
  const missingId = (node: string): string => idOf(node, AGENT_MISSING_CHECK.id, node);

  /** The outbox writes of one transition, with the finding as it is right after it. */
  async function announce(u: StoreUnit, f: StoredFinding, t: Transition, now: number): Promise<void> {
    if (destinations.length === 0) return;
    let change: FindingChange | undefined;
    if (t.alert) {
      const finding = await u.findings.snapshot(f.id);
      if (finding) change = { event: t.alert, at: isoTime(t.at), finding };
    }
    const w = outboxWrites(destinations, change, t.after.state);
    for (const d of w.unfire) await u.outbox.unfire(d, f.id);
    if (!change) return;
    for (const d of w.fire) await u.outbox.fire(d, change);
    for (const d of w.queue) await u.outbox.enqueue(d, change, now);
  }

  /**
   * Writes what a step decided: a row per transition (the state right after it, with its
   * history entry and its alerts), or one row for an occurrence without a transition.
   * `fields` (what the occurrence said) go with the input's own write, not an expiry's.
   */
  async function write(u: StoreUnit, f: Identity, before: StoredFinding | undefined, s: Step, fields: FindingFields | undefined, now: number, changes: Change[]): Promise<StoredFinding | undefined> {
    let cur = before;
    for (const t of s.transitions) {
      cur = await u.findings.save(cur, writeOf(f, t.after, t.expiry ? undefined : fields), now);
      await u.findings.history.transition(cur.seq, t.event, t.at, t.after.severity, now, { occurrences: t.occurrences, note: t.note, first: t.event === 'opened' && before === undefined });
      await announce(u, cur, t, now);
      changes.push({ findingId: f.id, node: f.node, checkId: f.checkId, event: t.alert ?? t.event });
    }
    if (s.seen && s.next) {
      cur = await u.findings.save(cur, writeOf(f, s.next, fields), now);
      await u.findings.history.seen(cur.seq, s.seen.at, s.seen.occurrences, s.next.severity, now);
    }
    return cur;
  }

  /** Applies one input to the finding `f` (stored as `before`) and writes the outcome. */
  async function apply(u: StoreUnit, f: Identity, before: StoredFinding | undefined, input: LifecycleInput, ctx: StepContext, changes: Change[],
    fields?: FindingFields): Promise<{ step: Step; after: StoredFinding | undefined }> {
    const s = step(before, input, ctx);
    return { step: s, after: await write(u, f, before, s, fields, ctx.now, changes) };
  }

  /** The node's agent spoke: its agent-stale finding, if open or suppressed, resolves. */
  async function heard(u: StoreUnit, node: string, now: number, changes: Change[]): Promise<void> {
    const id = staleId(node);
    const before = await u.findings.byId(id);
    if (!before || before.state === 'resolved') return;
    await apply(u, { id, node, checkId: AGENT_STALE_CHECK.id, subject: node }, before, { kind: 'resolve', at: now, note: 'the agent is back' }, { now }, changes);
  }

  /** The node's agent connected (a hello): its agent-missing finding, if open or suppressed, resolves. */
  async function connected(u: StoreUnit, node: string, now: number, changes: Change[]): Promise<void> {
    const id = missingId(node);
    const before = await u.findings.byId(id);
    if (!before || before.state === 'resolved') return;
    await apply(u, { id, node, checkId: AGENT_MISSING_CHECK.id, subject: node }, before, { kind: 'resolve', at: now, note: 'the agent connected' }, { now }, changes);
  }

  /** Resolves every finding given, with `note` (an allow, a node deleted). */
  async function resolveAll(u: StoreUnit, found: readonly StoredFinding[], note: string, now: number, changes: Change[]): Promise<void> {
    const ctx = { now };
    for (const f of found) await apply(u, f, f, { kind: 'resolve', at: now, note }, ctx, changes);
  }

  /**
   * One agent message: deduplicated on (node, epoch, sequence); its results or findings
   * applied in order; the node's latest results and compliance (a scan); the node heard from.
   */
  function message(m: IncomingScan | IncomingBatch, now: number): Promise<CommitOutcome> {
    return store.unit(async (u): Promise<CommitOutcome> => {
      const changes: Change[] = [];
      await u.nodes.touch(m.node, now);
      await heard(u, m.node, now, changes);
      if (!(await u.received.claim(m.node, m.epoch, m.sequence, now))) return { duplicate: true, changes, updated: 0, refused: 0, ignored: 0 };
      let budget = Math.max(0, opts.maxOpenFindingsPerNode - (await u.findings.openCount(m.node)));
      let updated = 0;
      let refused = 0;
      let ignored = 0;
      // The same finding twice in one message: the second sees what the first wrote. What is
      // stored of the message's findings is read at once, not one read per finding.
      const working = new Map<string, StoredFinding | undefined>();
      const ids = 'results' in m ? m.results.map((r) => idOf(m.node, r.checkId, r.subject)) : m.findings.map((f) => idOf(m.node, f.checkId, f.subject));
      for (const id of ids) working.set(id, undefined);
      for (const f of await u.findings.byIds([...working.keys()])) working.set(f.id, f);
      // The findings this message may open: failing, not stored yet, as many as the node's cap leaves room for.
      const opening = new Set('results' in m ? m.results.filter((r) => isFindingStatus(r.status)).map((r) => idOf(m.node, r.checkId, r.subject)) : ids);
      await u.findings.expectNew(Math.min(budget, [...opening].filter((id) => working.get(id) === undefined).length));
      const current = async (id: string): Promise<StoredFinding | undefined> => (working.has(id) ? working.get(id) : u.findings.byId(id));
      const ctx: StepContext = { now, scope: 'results' in m ? new Set(m.scope) : undefined };
      const one = async (f: Identity, input: LifecycleInput, failing: boolean, fields: FindingFields | undefined): Promise<void> => {
        const before = await current(f.id);
        const { step: s, after } = await apply(u, f, before, input, ctx, changes, fields);
        working.set(f.id, after);
        if (s.outcome === 'refused') refused++;
        else if (s.outcome === 'ignored') ignored++;
        else if (failing) updated++;
        if (!before && after) budget--;
      };
      if ('results' in m) {
        for (const r of m.results) {
          await u.findings.nodeResult(m.node, r, m.scannedAt);
          const failing = isFindingStatus(r.status);
          await one({ id: idOf(m.node, r.checkId, r.subject), node: m.node, checkId: r.checkId, subject: r.subject }, {
            kind: 'result', checkId: r.checkId, status: r.status, severity: r.severity, at: m.scannedAt, occurrences: r.occurrences, canOpen: budget > 0,
          }, failing, failing ? {
            cis: r.cis, references: r.references, title: r.title, category: r.category, severity: r.severity, status: r.status, scored: r.scored, actual: r.actual,
            expected: r.expected, source: r.source, sourceFile: r.sourceFile, reason: r.reason, remediation: r.remediation, detail: '{}', seen: 'scan',
          } : undefined);
        }
        await u.findings.compliance(m.node, m.benchmark);
        if (m.exposure) await u.nodes.setExposure(m.node, m.scannedAt, m.exposure);
      } else {
        for (const f of m.findings) {
          const target = processTarget(f);
          const allowed = target ? allowCoverage(f.checkId, target.sha256, await u.baselines.allowedContents(target.key, target.exe)) : undefined;
          await one({ id: idOf(m.node, f.checkId, f.subject), node: m.node, checkId: f.checkId, subject: f.subject }, {
            kind: 'finding', severity: f.severity, at: f.observedAt, occurrences: f.occurrences, canOpen: budget > 0, allowed,
          }, true, {
            cis: '', references: [], title: f.title, category: f.category, severity: f.severity, status: f.status, scored: false, actual: '', expected: '',
            source: 'process', sourceFile: '', reason: '', remediation: f.remediation, detail: f.detail, seen: f.seen,
          });
        }
      }
      await u.findings.refused(m.node, refused);
      return { duplicate: false, changes, updated, refused, ignored };
    });
  }

  return {
    scan: (scan: IncomingScan, now: number): Promise<CommitOutcome> => message(scan, now),
    batch: (batch: IncomingBatch, now: number): Promise<CommitOutcome> => message(batch, now),

    /** A hello: the node's inventory and counters; the node heard from. */
    hello(hello: NodeHello, stats: NodeStats, now: number): Promise<Change[]> {
      return store.unit(async (u) => {
        const changes: Change[] = [];
        await u.nodes.hello(hello, now);
        await u.nodes.stats(hello.node, stats, now);
        await heard(u, hello.node, now, changes);
        await connected(u, hello.node, now, changes);
        return changes;
      });
    },

    /** The node's agent spoke (outside a message): its agent-stale finding resolves. */
    heard(node: string, now: number): Promise<Change[]> {
      return store.unit(async (u) => {
        const changes: Change[] = [];
        await heard(u, node, now, changes);
        return changes;
      });
    },

    /** A heartbeat: the node's counters; the node heard from. */
    heartbeat(node: string, stats: NodeStats, now: number): Promise<Change[]> {
      return store.unit(async (u) => {
        const changes: Change[] = [];
        await u.nodes.stats(node, stats, now);
        await heard(u, node, now, changes);
        return changes;
      });
    },

    /**
     * The node's agent has been silent since `lastSeen`: its agent-stale finding opens (or
     * reopens). Nothing while one is open or suppressed; not subject to the node's cap.
     */
    silent(node: string, lastSeen: number, staleAfterMs: number, now: number): Promise<Change[]> {
      return store.unit(async (u) => {
        const changes: Change[] = [];
        const id = staleId(node);
        const silentFor = Math.round((now - lastSeen) / 1000);
        await apply(u, { id, node, checkId: AGENT_STALE_CHECK.id, subject: node }, await u.findings.byId(id), { kind: 'silent', severity: AGENT_STALE_CHECK.severity, at: now }, { now }, changes, {
            cis: '', references: [], title: AGENT_STALE.title, category: AGENT_STALE_CHECK.category, severity: AGENT_STALE_CHECK.severity,
            status: 'fail', scored: false, actual: `no message for ${silentFor} s (last seen ${isoTime(lastSeen)})`,
            expected: `a message at least every ${Math.round(staleAfterMs / 1000)} s`, source: 'none', sourceFile: '',
            reason: 'the agent stopped heartbeating: it was stopped, crashed, lost its network or was removed',
            remediation: AGENT_STALE.remediation,
            detail: JSON.stringify({ lastSeen: isoTime(lastSeen), silentSeconds: silentFor }), seen: 'collector',
        });
        return changes;
      });
    },

    /**
     * A Ready node the agent DaemonSet should run on has had no agent reporting past the grace
     * period: its agent-missing finding opens (or reopens). Nothing while one is open or
     * suppressed; not subject to the node's cap.
     */
    agentMissing(node: string, m: AgentMissing, now: number): Promise<Change[]> {
      return store.unit(async (u) => {
        const changes: Change[] = [];
        const id = missingId(node);
        const missingFor = Math.round((now - m.since) / 1000);
        await apply(u, { id, node, checkId: AGENT_MISSING_CHECK.id, subject: node }, await u.findings.byId(id), { kind: 'silent', severity: AGENT_MISSING_CHECK.severity, at: now }, { now }, changes, {
          cis: '', references: [], title: 'No nodeward agent reports from this node', category: AGENT_MISSING_CHECK.category, severity: AGENT_MISSING_CHECK.severity,
          status: 'fail', scored: false, actual: `no agent has connected in the ${missingFor} s the node has been Ready (since ${isoTime(m.since)})`,
          expected: `the agent DaemonSet's pod connected within ${Math.round(m.graceMs / 1000)} s`, source: 'none', sourceFile: '',
          reason: m.reason,
          remediation: 'The agent DaemonSet should run a pod on this node (its nodeSelector, affinity and tolerations match it), yet no agent has '
            + 'reported from it: the node is not covered. Look at the DaemonSet (kubectl -n <namespace> describe daemonset <name>: '
            + 'pods it could not create, a quota, an admission policy) and at the pod on the node if there is one (kubectl -n <namespace> get pods -o wide '
            + '--field-selector spec.nodeName=<node>, then its log: it says why it cannot reach the collector). A node that should not run the agent '
            + 'needs a taint the DaemonSet does not tolerate, or a label its nodeSelector leaves out.',
          detail: JSON.stringify({ since: isoTime(m.since), missingSeconds: missingFor, graceSeconds: Math.round(m.graceMs / 1000) }), seen: 'collector',
        });
        return changes;
      });
    },

    /**
     * Resolves the open and suppressed agent-missing findings of the nodes `settled` gives a
     * note for (deleted from the cluster, no longer expected to run the agent, reported by an
     * agent now), in one unit.
     */
    settleAgentMissing(settled: (node: string) => string | undefined, now: number): Promise<Change[]> {
      return store.unit(async (u) => {
        const changes: Change[] = [];
        for (const f of await u.findings.activeOfCheck(AGENT_MISSING_CHECK.id)) {
          const note = settled(f.node);
          if (note !== undefined) await apply(u, f, f, { kind: 'resolve', at: now, note }, { now }, changes);
        }
        return changes;
      });
    },

    /** Ends every suppression whose expiry has come. Cheap when none is due. */
    async expire(now: number): Promise<Change[]> {
      const next = await store.findings.nextSuppressionExpiry();
      if (next === undefined || next > now) return [];
      return store.unit(async (u) => {
        const changes: Change[] = [];
        for (;;) {
          const due = await u.findings.dueSuppressions(now, EXPIRE_BATCH);
          for (const f of due) await apply(u, f, f, { kind: 'tick' }, { now }, changes);
          if (due.length < EXPIRE_BATCH) return changes;
        }
      });
    },

    /** An operator suppresses a finding, or changes the reason, expiry and author of its suppression. */
    suppress(id: string, sup: { readonly reason: string; readonly until: number | null; readonly by: string }, now: number): Promise<{ outcome: SuppressOutcome; changes: Change[] }> {
      return store.unit(async (u) => {
        const changes: Change[] = [];
        const before = await u.findings.byId(id);
        const { step: s } = await apply(u, before ?? { id, node: '', checkId: '', subject: '' }, before, { kind: 'suppress', ...sup, at: now }, { now }, changes);
        if (s.outcome === 'missing') return { outcome: 'missing', changes };
        const wasSuppressed = before?.state === 'suppressed' && !s.transitions.some((t) => t.expiry);
        return { outcome: wasSuppressed ? 'updated' : 'suppressed', changes };
      });
    },

    /** An operator ends a suppression now. */
    unsuppress(id: string, by: string, now: number): Promise<{ outcome: UnsuppressOutcome; changes: Change[] }> {
      return store.unit(async (u) => {
        const changes: Change[] = [];
        const before = await u.findings.byId(id);
        const { step: s } = await apply(u, before ?? { id, node: '', checkId: '', subject: '' }, before, { kind: 'unsuppress', by, at: now }, { now }, changes);
        if (s.outcome === 'missing' || s.outcome === 'not-suppressed') return { outcome: s.outcome, changes };
        return { outcome: 'unsuppressed', changes };
      });
    },

    /**
     * Resolves the open and suppressed findings of these checks with one of these subjects,
     * on every node (an executable that is allowed now).
     */
    resolveSubjects(checkIds: readonly string[], subjects: readonly string[], note: string, now: number): Promise<Change[]> {
      if (subjects.length === 0) return Promise.resolve([]);
      return store.unit(async (u) => {
        const changes: Change[] = [];
        for (const check of checkIds) await resolveAll(u, await u.findings.activeBySubjects(check, subjects), note, now, changes);
        return changes;
      });
    },

    /**
     * A unit of the posture watch (posture/posture-watch.ts): cluster findings raised (opened,
     * changed or seen again) and resolved with the note saying why. A full unit is the whole
     * verdict: every other open or suppressed cluster finding resolves (reconcile). New ones
     * past `maxOpenClusterFindings` are refused and counted. Cluster findings have node '' and
     * their own fingerprint (proto/fingerprint.ts clusterFingerprint); the key is the subject.
     */
    posture(unit: PostureUnit, now: number): Promise<PostureOutcome> {
      return store.unit(async (u): Promise<PostureOutcome> => {
        const changes: Change[] = [];
        let budget = Math.max(0, (opts.maxOpenClusterFindings ?? 10_000) - (await u.findings.openCount('')));
        let refused = 0;
        const ctx: StepContext = { now };
        const identity = (f: ClusterFinding): Identity => ({ id: clusterFingerprint(f.checkId, f.key, cluster), node: '', checkId: f.checkId, subject: f.key });
        const raise = async (f: ClusterFinding): Promise<string> => {
          const who = identity(f);
          const before = await u.findings.byId(who.id);
          const { step: s, after } = await apply(u, who, before, { kind: 'finding', severity: f.severity, at: now, occurrences: 1, canOpen: budget > 0 }, ctx, changes, clusterFields(f));
          if (s.outcome === 'refused') refused++;
          if (!before && after) budget--;
          return who.id;
        };
        if (unit.kind === 'full') {
          const held = new Set<string>();
          for (const f of unit.findings) held.add(await raise(f));
          await resolveAll(u, (await u.findings.activeOfCluster()).filter((f) => !held.has(f.id)), unit.note, now, changes);
        } else {
          for (const f of unit.upserts) await raise(f);
          for (const r of unit.resolved) {
            const before = await u.findings.byId(identity(r.finding).id);
            if (before && before.node === '') await apply(u, before, before, { kind: 'resolve', at: now, note: r.note }, ctx, changes);
          }
        }
        return { changes, refused };
      });
    },

    /** Resolves every open and suppressed finding of the node (an operator deleted it). */
    resolveNode(node: string, note: string, now: number): Promise<Change[]> {
      return store.unit(async (u) => {
        const changes: Change[] = [];
        await resolveAll(u, await u.findings.activeOfNode(node), note, now, changes);
        return changes;
      });
    },
  };
}

export type CommitStage = ReturnType<typeof createCommitStage>;
