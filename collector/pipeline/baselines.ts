// Central baselines in motion: nodes' reports merged into the store, operators' changes
// stored and then pushed to every connected agent, and what each agent missed sent when it
// says hello. An executable that becomes allowed cluster-wide (an operator's allow, or the
// items of a baseline that locks) resolves its open proc-unexpected findings on every node,
// through the findings store's own resolve (so history and webhooks see 'resolved').
// "Every agent" means every agent a message is for: a host baseline (`host/control-plane`,
// `host/worker`, the legacy `host`) goes only to the agents whose Hello names it as theirs
// (the streams know, ingest/agent-service.ts), and its findings resolve only on those nodes,
// since the key is part of their subjects.
//
// The messages (BaselineUpdate in proto/nodeward/v1/agent.proto):
//   an operator's allow / remove / unlock   ALLOW / REMOVE / UNLOCK with the executables
//   an operator's lock, a node's lock       ADOPT: the whole central baseline, locked
//   catching up with a key                  ADOPT when it is locked; otherwise ALLOW (or
//                                           UNLOCK, when it was unlocked since) carrying the
//                                           operator's items and removals
//
// Quotas (issue 12: one node must not fill the cluster's baseline table). A node's report
// teaches a workload key only when the pod watch shows that workload on that node
// (pipeline/workload-presence.ts); other workload keys are refused. A new baseline the watch
// cannot vouch for (a container:<id> key, or any workload key when there is no watch or it
// has not listed yet) is charged to the node, up to `maxKeysPerNode`. Host keys are neither
// (ingest already keeps a node to its own role's). Every refusal is counted on the node
// (GET /nodes baselineKeysRefused) and in nodeward_baseline_keys_refused_total.
import { isHostKey, ITEM_SOURCE_WIRE, parseWorkloadKey, processSubject } from '../../proto/baseline-key.js';
import type { BaselineUpdate, CollectorMessage } from '../../proto/load.js';
import type { Logger } from '../../proto/support/logger.js';
import type { Metrics } from '../metrics.js';
import type { BaselineAction, ChangeOutcome, ReportedBaseline, SyncEntry } from '../store/baselines.js';
import { BASELINE_LIMITS } from '../store/baselines.js';
import type { Store } from '../store/store.js';
import type { IncomingFinding } from './types.js';
import { countTransitions } from './pipeline.js';
import { PROC_UNEXPECTED_CHECK } from '../../proto/process-checks.js';

export const PROC_UNEXPECTED = PROC_UNEXPECTED_CHECK.id;
/** Versions stay far below 2^53; an agent claiming more does not move the counter. */
const MAX_RAISE = 2 ** 40;

export interface BaselineSyncDeps {
  readonly store: Store;
  readonly metrics: Metrics;
  readonly log: Logger;
  /** Writes to one connected agent; false when it is not connected. */
  readonly push: (node: string, msg: CollectorMessage) => boolean;
  /** Writes to every connected agent; returns how many. */
  readonly broadcast: (msg: CollectorMessage) => number;
  readonly now?: () => number;
  /** New baselines one node may create that the pod watch cannot vouch for (default 1000). */
  readonly maxKeysPerNode?: number;
  /** Which workloads the pod watch shows on a node; absent, or undefined for a node, when it cannot say. */
  readonly presence?: { onNode(node: string): ((key: string) => boolean) | undefined } | undefined;
}

/** The whole central baseline, locked: what a node adopts. */
export function adoptMessage(e: SyncEntry): BaselineUpdate {
  return {
    version: e.version, key: e.key, action: 'ACTION_ADOPT', removed: [...e.removed], operatorLocked: e.lockedBy === 'operator',
    items: e.items.map((i) => ({ path: i.path, source: ITEM_SOURCE_WIRE[i.source], firstSeenMs: i.firstSeen })),
  };
}

/** What an agent that applied versions up to `since` needs to catch up with one baseline. */
export function catchUpMessage(e: SyncEntry, since: number): BaselineUpdate {
  if (e.state === 'locked') return adoptMessage(e);
  return {
    version: e.version, key: e.key, action: e.unlockVersion > since ? 'ACTION_UNLOCK' : 'ACTION_ALLOW',
    allowed: e.items.filter((i) => i.source === 'operator').map((i) => i.path), removed: [...e.removed],
  };
}

/**
 * A proc-unexpected finding for an executable the central baseline allows: the agent sent it
 * before it applied the change. Recognised by its detail (baseline key and executable), which
 * must give the finding's own subject.
 */
export function allowedCentrally(store: Store, f: IncomingFinding): boolean {
  if (f.checkId !== PROC_UNEXPECTED) return false;
  let d: { baseline?: unknown; exe?: unknown };
  try {
    d = JSON.parse(f.detail) as typeof d;
  } catch {
    return false;
  }
  if (typeof d.baseline !== 'string' || typeof d.exe !== 'string' || processSubject(d.baseline, d.exe) !== f.subject) return false;
  return store.baselines.isAllowed(d.baseline, d.exe);
}

export function createBaselineSync(deps: BaselineSyncDeps) {
  const now = deps.now ?? Date.now;
  const { store, metrics, log } = deps;

  const wrap = (u: BaselineUpdate): CollectorMessage => ({ baselineUpdate: u });

  function broadcastAdopt(key: string): void {
    const e = store.baselines.sync(key);
    if (!e) return;
    const n = deps.broadcast(wrap(adoptMessage(e)));
    metrics.inc('nodeward_baseline_updates_pushed_total', 'Baseline updates written to agent streams', n);
  }

  /** The executables are allowed for `key` on every node now: their findings resolve. */
  function resolveAllowed(key: string, paths: readonly string[], note: string): void {
    if (paths.length === 0) return;
    try {
      const resolved = store.findings.resolveSubjects(PROC_UNEXPECTED, paths.map((p) => processSubject(key, p)), now(), note);
      countTransitions(metrics, resolved);
      if (resolved.length > 0) log.info({ baseline: key, resolved: resolved.length }, 'findings of allowed executables resolved');
    } catch (err) {
      log.error({ baseline: key, err: (err as Error).message }, 'cannot resolve the findings of allowed executables');
    }
  }

  return {
    /** After a Hello: every central baseline changed after the version the agent applied. */
    hello(node: string, baselineVersion: number): CollectorMessage[] {
      // A fresh collector database must not number its changes below what agents hold (but a
      // node cannot push the counter to where numbers stop being exact).
      if (baselineVersion < MAX_RAISE) store.baselines.raiseVersion(baselineVersion);
      const missed = store.baselines.changedSince(baselineVersion, BASELINE_LIMITS.keys + BASELINE_LIMITS.operatorKeys);
      if (missed.length > 0) log.info({ node, since: baselineVersion, baselines: missed.length }, 'sending the baseline changes the agent missed');
      return missed.map((e) => wrap(catchUpMessage(e, baselineVersion)));
    },

    /** A node's BaselineReport: merged; what it changes is pushed. */
    report(node: string, reported: readonly ReportedBaseline[]): void {
      const onNode = deps.presence?.onNode(node);
      const workload = (key: string): boolean => parseWorkloadKey(key) !== null;
      const baselines = onNode ? reported.filter((b) => !workload(b.key) || onNode(b.key)) : reported;
      const notOnNode = reported.length - baselines.length;
      const out = store.baselines.applyReport(node, baselines, now(), {
        maxKeysPerNode: deps.maxKeysPerNode ?? 1000,
        vouched: (key) => isHostKey(key) || (onNode !== undefined && workload(key)),
      });
      metrics.inc('nodeward_baseline_reports_total', 'Baseline reports merged');
      const refused = { notOnNode, overNodeLimit: out.keysOverNodeLimit, centralFull: out.keysDropped };
      store.nodes.baselineKeysRefused(node, refused);
      for (const [reason, n] of Object.entries(refused)) {
        if (n > 0) metrics.inc('nodeward_baseline_keys_refused_total', "Baselines in nodes' reports not merged, by reason", n, { reason });
      }
      if (notOnNode + out.keysOverNodeLimit > 0) {
        log.warn({ node, ...refused }, 'baselines refused: workloads the pod watch does not show on the node, or past the node\'s own limit (counted)');
      }
      if (out.itemsDropped + out.keysDropped > 0) {
        metrics.inc('nodeward_baseline_dropped_total', 'Baselines and items dropped by the central bounds', out.keysDropped, { what: 'keys' });
        metrics.inc('nodeward_baseline_dropped_total', 'Baselines and items dropped by the central bounds', out.itemsDropped, { what: 'items' });
        log.warn({ node, keysDropped: out.keysDropped, itemsDropped: out.itemsDropped }, 'central baselines are full; report partly dropped (counted)');
      }
      for (const key of out.adoptAll) {
        log.info({ node, baseline: key }, 'central baseline locked (or grew while locked); every agent adopts it');
        broadcastAdopt(key);
      }
      for (const a of out.allowed) resolveAllowed(a.key, a.paths, `allowed: in the central baseline locked after ${node}'s learning window`);
      const versions = new Map(baselines.map((b) => [b.key, b.version]));
      for (const key of out.behind) {
        const e = store.baselines.sync(key);
        if (e && deps.push(node, wrap(catchUpMessage(e, versions.get(key) ?? 0)))) {
          metrics.inc('nodeward_baseline_updates_pushed_total', 'Baseline updates written to agent streams');
        }
      }
    },

    /**
     * An operator deletes a baseline: its items, removals and state are gone. Nothing is
     * pushed (agents keep what they learned); a node that still runs the workload reports it
     * again and it starts over, learning. False when there was none.
     */
    deleteBaseline(key: string, by: string): boolean {
      const deleted = store.baselines.delete(key);
      if (deleted) {
        metrics.inc('nodeward_baselines_deleted_total', 'Central baselines deleted by operators (or with their node)');
        log.info({ who: by, baseline: key }, 'baseline deleted by an operator');
      }
      return deleted;
    },

    /** An operator's change: stored, then pushed to every connected agent. */
    change(action: BaselineAction, key: string, paths: readonly string[], by: string): ChangeOutcome & { pushed: number } {
      const out = store.baselines.change(action, key, paths, by, now());
      let msg: BaselineUpdate;
      if (action === 'lock') {
        msg = adoptMessage(store.baselines.sync(key)!);
      } else {
        msg = {
          version: out.version, key,
          action: action === 'allow' ? 'ACTION_ALLOW' : action === 'remove' ? 'ACTION_REMOVE' : 'ACTION_UNLOCK',
          allowed: action === 'allow' ? [...paths] : [], removed: action === 'remove' ? [...paths] : [],
        };
      }
      const pushed = deps.broadcast(wrap(msg));
      metrics.inc('nodeward_baseline_updates_pushed_total', 'Baseline updates written to agent streams', pushed);
      log.info({ who: by, action, baseline: key, executables: paths.length, version: out.version, pushed }, 'baseline changed by an operator');
      if (action === 'allow') resolveAllowed(key, paths, `allowed by ${by}`);
      if (action === 'lock') resolveAllowed(key, msg.items?.map((i) => i.path ?? '') ?? [], `allowed: in the central baseline ${by} locked`);
      return { ...out, pushed };
    },
  };
}

export type BaselineSync = ReturnType<typeof createBaselineSync>;
