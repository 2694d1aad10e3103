// Central baselines in motion: nodes' reports merged into the store, operators' changes
// stored and then pushed to every connected agent, and what each agent missed sent when it
// says hello. An executable that becomes allowed cluster-wide (an operator's allow, or the
// items of a baseline that locks) resolves its open proc-unexpected findings on every node,
// through the pipeline's commit stage (so history and webhooks see 'resolved'; a finding an
// agent sent before it applied the allow is ignored there, pipeline/lifecycle.ts).
// "Every agent" means every agent a message is for: a host baseline (`host/control-plane`,
// `host/worker`, the legacy `host`) goes only to the agents whose Hello names it as theirs
// (the streams know, ingest/agent-service.ts), and its findings resolve only on those nodes,
// since the key is part of their subjects.
//
// The messages (BaselineUpdate in proto/nodeward/v1/agent.proto):
//   an operator's allow / remove / unlock   ALLOW / REMOVE / UNLOCK with the executables; an
//                                           ALLOW's allowed_items say what of each is allowed
//                                           (the item's contents, or any content)
//   an operator's lock, a node's lock       ADOPT: the whole central baseline, locked, each
//                                           item with its contents and any_content
//   catching up with a key                  ADOPT when it is locked; otherwise ALLOW (or
//                                           UNLOCK, when it was unlocked since) carrying the
//                                           operator's items (allowed_items too), removals
//                                           and listens
//   an operator's allow-listen              ALLOW with the one listen in `listens`
// Every ADOPT carries the baseline's whole listen set (`listens`, docs/exposure.md): what its
// processes listened on while it learned, on any node, and what operators allowed.
//
// What an operator's allow allows of an executable (content): `any` content, or the contents
// `seen`: the SHA-256 in the details of its open (or suppressed) proc-unexpected and
// proc-modified-binary findings on every node, the findings the allow resolves. An allow of
// contents seen where no finding of an executable carries one changes nothing and is refused
// (NO_CONTENT_SEEN: the API's 409, which suggests content=any).
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
import {
  BASELINE_LIMITS, LOCK_IN_FLIGHT_MS, StoreError, type AllowContent, type BaselineAction, type ChangeOutcome, type ContentToAllow, type ReportedBaseline,
  type Store, type SyncEntry, type SyncItem,
} from '../store/store.js';
import { ITEM_DIGEST_LIMITS } from '../../proto/exec-identity.js';
import type { BaselineItem } from '../../proto/gen/nodeward/v1/BaselineItem.js';
import type { Pipeline } from './pipeline.js';
import { ALLOW_RESOLVES_CHECK_IDS, PROC_UNEXPECTED_CHECK } from '../../proto/process-checks.js';
import { formatListen, listenCovers, listenSubject, NEW_LISTENER_CHECK_ID, type ParsedListen } from '../../proto/listen-item.js';
import { createHostLearning, type HostLearning, type ReportedHostWindow } from './host-learning.js';

const PROC_UNEXPECTED = PROC_UNEXPECTED_CHECK.id;

/** Versions stay far below 2^53; an agent claiming more does not move the counter. */
const MAX_RAISE = 2 ** 40;

export interface BaselineSyncDeps {
  readonly store: Store;
  /** Where the findings of what becomes allowed resolve. */
  readonly pipeline: Pick<Pipeline, 'resolveSubjects'>;
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

/**
 * Changes this collector pushed itself, remembered so that the database's notification of
 * them (PostgreSQL replicas: the store notifies every replica, this one included, when the
 * change commits) is not pushed a second time.
 */
const PUSHED_KEPT = 1024;

/** A central item on the wire: its path, how it joined, its contents and whether any content is allowed. */
function itemToWire(i: SyncItem): BaselineItem {
  return {
    path: i.path, source: ITEM_SOURCE_WIRE[i.source], firstSeenMs: i.firstSeen, anyContent: i.anyContent, inlineCode: i.inlineCode,
    digests: i.digests.map((d) => ({ sha256: d.sha256, source: d.source, image: d.image, firstSeenMs: d.firstSeen })),
  };
}

/** The whole central baseline, locked: what a node adopts. */
export function adoptMessage(e: SyncEntry): BaselineUpdate {
  return {
    version: e.version, key: e.key, action: 'ACTION_ADOPT', removed: [...e.removed], operatorLocked: e.lockedBy === 'operator',
    items: e.items.map(itemToWire), listens: [...e.listens],
  };
}

/** What an agent that applied versions up to `since` needs to catch up with one baseline. */
export function catchUpMessage(e: SyncEntry, since: number): BaselineUpdate {
  if (e.state === 'locked') return adoptMessage(e);
  const operators = e.items.filter((i) => i.source === 'operator');
  return {
    version: e.version, key: e.key, action: e.unlockVersion > since ? 'ACTION_UNLOCK' : 'ACTION_ALLOW',
    allowed: operators.map((i) => i.path), allowedItems: operators.map(itemToWire), removed: [...e.removed], listens: [...e.operatorListens],
  };
}

/** An operator's allow of `paths`: each with what the central baseline now allows of it. */
export function allowMessage(e: SyncEntry, version: number, paths: readonly string[]): BaselineUpdate {
  const items = new Map(e.items.map((i) => [i.path, i]));
  return {
    version, key: e.key, action: 'ACTION_ALLOW', allowed: [...paths], removed: [],
    allowedItems: paths.flatMap((p) => { const i = items.get(p); return i ? [itemToWire(i)] : []; }),
  };
}

export function createBaselineSync(deps: BaselineSyncDeps) {
  const now = deps.now ?? Date.now;
  const { store, metrics, log } = deps;
  const hostLearning = createHostLearning({ metrics });

  const wrap = (u: BaselineUpdate): CollectorMessage => ({ baselineUpdate: u });

  /** The contents the findings of each executable saw; NO_CONTENT_SEEN when one has none. */
  async function contentsSeen(key: string, paths: readonly string[]): Promise<ContentToAllow> {
    const digests = await store.processes.contentsSeen(key, paths);
    const unseen = paths.filter((p) => !digests.has(p));
    if (unseen.length > 0) {
      const named = unseen.slice(0, 3).join(', ') + (unseen.length > 3 ? ` and ${unseen.length - 3} more` : '');
      const them = unseen.length === 1 ? 'it' : 'them';
      throw new StoreError('NO_CONTENT_SEEN', `no content was seen for ${named} in ${key}: no open ${ALLOW_RESOLVES_CHECK_IDS.join(' or ')} finding `
        + `of ${them} carries a SHA-256 (an agent before contents sends none, or the file could not be hashed). Nothing was changed; `
        + `to allow ${them} with any content, send content "any" (nodeward baseline allow --any-content)`);
    }
    return { anyContent: false, digests };
  }

  async function broadcastAdopt(key: string): Promise<void> {
    const e = await store.baselines.sync(key);
    if (!e) return;
    const n = deps.broadcast(wrap(adoptMessage(e)));
    metrics.inc('nodeward_baseline_updates_pushed_total', n);
    announce(key, e.version);
  }

  /** Versions this collector pushed (oldest first), bounded. */
  const pushedHere = new Set<string>();
  function announce(key: string, version: number): void {
    pushedHere.add(`${version}\u0000${key}`);
    if (pushedHere.size > PUSHED_KEPT) pushedHere.delete(pushedHere.values().next().value!);
  }

  /** The executables are allowed for `key` on every node now: their findings (of `checks`) resolve. */
  async function resolveAllowed(key: string, paths: readonly string[], note: string, checks: readonly string[] = [PROC_UNEXPECTED]): Promise<void> {
    if (paths.length === 0) return;
    try {
      const subjects = paths.map((p) => processSubject(key, p));
      const resolved = await deps.pipeline.resolveSubjects(checks, subjects, note);
      if (resolved.length > 0) log.info({ baseline: key, resolved: resolved.length }, 'findings of allowed executables resolved');
    } catch (err) {
      log.error({ baseline: key, err: (err as Error).message }, 'cannot resolve the findings of allowed executables');
    }
  }

  return {
    /** Where the node's host baseline stands, as its agent last reported (null: it reported none). */
    hostLearning(node: string): HostLearning | null {
      return hostLearning.get(node, now());
    },

    /**
     * A collector on the database changed `key` to `version` (a notification): what an agent
     * that applied the version before needs is pushed to this collector's agents. A change
     * this collector pushed itself is passed over.
     */
    async remote(key: string, version: number): Promise<void> {
      if (pushedHere.has(`${version}\u0000${key}`)) return;
      const e = await store.baselines.sync(key);
      if (!e || e.version < version) return;
      const n = deps.broadcast(wrap(catchUpMessage(e, version - 1)));
      metrics.inc('nodeward_baseline_updates_pushed_total', n);
    },

    /** Notifications may have been missed (the listener reconnected): every change after `version` is pushed again. */
    async remoteSince(version: number): Promise<void> {
      for (const e of await store.baselines.changedSince(version, BASELINE_LIMITS.keys + BASELINE_LIMITS.operatorKeys)) {
        const n = deps.broadcast(wrap(catchUpMessage(e, version)));
        metrics.inc('nodeward_baseline_updates_pushed_total', n);
      }
    },

        /** After a Hello: every central baseline changed after the version the agent applied. */
    async hello(node: string, baselineVersion: number): Promise<CollectorMessage[]> {
      // The new stream's reports say where its host baseline stands (they follow at once).
      hostLearning.forget(node);
      // A fresh collector database must not number its changes below what agents hold (but a
      // node cannot push the counter to where numbers stop being exact).
      if (baselineVersion < MAX_RAISE) await store.baselines.raiseVersion(baselineVersion);
      const missed = await store.baselines.changedSince(baselineVersion, BASELINE_LIMITS.keys + BASELINE_LIMITS.operatorKeys);
      if (missed.length > 0) log.info({ node, since: baselineVersion, baselines: missed.length }, 'sending the baseline changes the agent missed');
      return missed.map((e) => wrap(catchUpMessage(e, baselineVersion)));
    },

    /** A node's BaselineReport: merged; what it changes is pushed. */
    async report(node: string, reported: readonly (ReportedBaseline & Omit<ReportedHostWindow, 'key' | 'state'>)[]): Promise<void> {
      hostLearning.report(node, reported, now());
      const onNode = deps.presence?.onNode(node);
      const workload = (key: string): boolean => parseWorkloadKey(key) !== null;
      const baselines = onNode ? reported.filter((b) => !workload(b.key) || onNode(b.key)) : reported;
      const notOnNode = reported.length - baselines.length;
      const out = await store.baselines.applyReport(node, baselines, now(), {
        maxKeysPerNode: deps.maxKeysPerNode ?? 1000,
        vouched: (key) => isHostKey(key) || (onNode !== undefined && workload(key)),
      });
      if (out.listensDropped > 0) metrics.inc('nodeward_baseline_dropped_total', out.listensDropped, { what: 'listens' });
      if (out.listensRefused > 0) metrics.inc('nodeward_baseline_listens_refused_total', out.listensRefused);
      metrics.inc('nodeward_baseline_reports_total');
      const refused = { notOnNode, overNodeLimit: out.keysOverNodeLimit, centralFull: out.keysDropped };
      await store.nodes.baselineKeysRefused(node, refused);
      for (const [reason, n] of Object.entries(refused)) {
        if (n > 0) metrics.inc('nodeward_baseline_keys_refused_total', n, { reason });
      }
      if (notOnNode + out.keysOverNodeLimit > 0) {
        log.warn({ node, ...refused }, 'baselines refused: workloads the pod watch does not show on the node, or past the node\'s own limit (counted)');
      }
      if (out.digestsDropped > 0) {
        metrics.inc('nodeward_baseline_dropped_total', out.digestsDropped, { what: 'digests' });
        log.warn({ node, digestsDropped: out.digestsDropped }, `contents of executables that hold ${ITEM_DIGEST_LIMITS.perItem} already dropped (counted)`);
      }
      if (out.digestsRefused > 0) {
        metrics.inc('nodeward_baseline_digests_refused_total', out.digestsRefused);
      }
      if (out.itemsRefused > 0) {
        metrics.inc('nodeward_baseline_items_refused_total', out.itemsRefused);
        log.debug({ node, itemsRefused: out.itemsRefused }, 'items a locked central baseline did not take (counted)');
      }
      if (out.itemsDropped + out.keysDropped > 0) {
        metrics.inc('nodeward_baseline_dropped_total', out.keysDropped, { what: 'keys' });
        metrics.inc('nodeward_baseline_dropped_total', out.itemsDropped, { what: 'items' });
        log.warn({ node, keysDropped: out.keysDropped, itemsDropped: out.itemsDropped }, 'central baselines are full; report partly dropped (counted)');
      }
      for (const key of out.adoptAll) {
        log.info({ node, baseline: key }, 'central baseline locked (or grew while locked); every agent adopts it');
        await broadcastAdopt(key);
      }
      for (const a of out.allowed) await resolveAllowed(a.key, a.paths, `allowed: in the central baseline locked after ${node}'s learning window`);
      const versions = new Map(baselines.map((b) => [b.key, b.version]));
      for (const key of out.behind) {
        const e = await store.baselines.sync(key);
        if (e && deps.push(node, wrap(catchUpMessage(e, versions.get(key) ?? 0)))) {
          metrics.inc('nodeward_baseline_updates_pushed_total');
        }
      }
    },

    /**
     * An operator allows a listen for `key` (proto/listen-item.ts, already validated): stored,
     * pushed to every connected agent (ALLOW with `listens`), and the open exposure-new-listener
     * findings it covers resolve on every node. Which those are: the literal listen's, and
     * for an address class's, those of the baseline's listeners on the protocol and port whose
     * address the nodes' latest scans put in that class.
     */
    async allowListen(key: string, listen: ParsedListen, by: string): Promise<ChangeOutcome & { pushed: number; listen: string }> {
      const text = formatListen(listen);
      const out = await store.baselines.allowListen(key, text, by, now());
      const pushed = deps.broadcast(wrap({ version: out.version, key, action: 'ACTION_ALLOW', allowed: [], removed: [], listens: [text] }));
      metrics.inc('nodeward_baseline_updates_pushed_total', pushed);
      announce(key, out.version);
      log.info({ who: by, action: 'allow-listen', baseline: key, listen: text, version: out.version, pushed }, 'listen allowed by an operator');
      const subjects = new Set<string>('address' in listen ? [listenSubject(key, text)] : []);
      for (const l of await store.nodes.baselineListeners(key, listen.protocol, listen.port)) {
        if (listenCovers(listen, { protocol: listen.protocol, port: listen.port, address: l.address, class: l.addressClass })) {
          subjects.add(listenSubject(key, formatListen({ protocol: listen.protocol, port: listen.port, address: l.address })));
        }
      }
      try {
        const resolved = await deps.pipeline.resolveSubjects([NEW_LISTENER_CHECK_ID], [...subjects], `allowed by ${by}: ${text}`);
        if (resolved.length > 0) log.info({ baseline: key, resolved: resolved.length }, 'findings of an allowed listen resolved');
      } catch (err) {
        log.error({ baseline: key, err: (err as Error).message }, 'cannot resolve the findings of an allowed listen');
      }
      return { ...out, pushed, listen: text };
    },

    /**
     * An operator deletes a baseline: its items, removals and state are gone. Nothing is
     * pushed (agents keep what they learned); a node that still runs the workload reports it
     * again and it starts over, learning. False when there was none.
     */
    async deleteBaseline(key: string, by: string): Promise<boolean> {
      const deleted = await store.baselines.delete(key);
      if (deleted) {
        metrics.inc('nodeward_baselines_deleted_total');
        log.info({ who: by, baseline: key }, 'baseline deleted by an operator');
      }
      return deleted;
    },

    /**
     * An operator's change: stored, then pushed to every connected agent. An allow allows
     * `content` of each executable (see the header); throws StoreError NO_CONTENT_SEEN, having
     * changed nothing, when it is `seen` and an executable has no content seen.
     */
    async change(action: BaselineAction, key: string, paths: readonly string[], by: string, content: AllowContent = 'seen'): Promise<ChangeOutcome & { pushed: number }> {
      let allowed: ContentToAllow | undefined;
      if (action === 'allow') allowed = content === 'any' ? { anyContent: true, digests: new Map() } : await contentsSeen(key, paths);
      const out = await store.baselines.change(action, key, paths, by, now(), allowed);
      let msg: BaselineUpdate;
      if (action === 'lock') {
        msg = adoptMessage((await store.baselines.sync(key))!);
      } else if (action === 'allow') {
        msg = allowMessage((await store.baselines.sync(key))!, out.version, paths);
      } else {
        msg = {
          version: out.version, key, action: action === 'remove' ? 'ACTION_REMOVE' : 'ACTION_UNLOCK',
          allowed: [], removed: action === 'remove' ? [...paths] : [],
        };
      }
      const pushed = deps.broadcast(wrap(msg));
      metrics.inc('nodeward_baseline_updates_pushed_total', pushed);
      announce(key, out.version);
      log.info({ who: by, action, baseline: key, executables: paths.length, version: out.version, pushed }, 'baseline changed by an operator');
      if (action === 'allow') await resolveAllowed(key, paths, `allowed by ${by}`, ALLOW_RESOLVES_CHECK_IDS);
      if (action === 'lock') await resolveAllowed(key, msg.items?.map((i) => i.path ?? '') ?? [], `allowed: in the central baseline ${by} locked`);
      return { ...out, pushed };
    },
  };
}

export type BaselineSync = ReturnType<typeof createBaselineSync>;
