// The baseline keeper: the node's baselines as the process judge reads them and the
// collector's word changes them. It decides the node's host baseline key (its role) at start,
// loads the state file (moving a legacy `host` baseline to the role's key), saves it when it
// changed, applies BaselineUpdates, and locks baselines whose learning window ended.
//
// Updates for another role's host baseline are ignored: the collector does not send them, and
// a worker must never adopt what control-plane nodes run.
import { join } from 'node:path';
import type { Logger } from '../../proto/support/logger.js';
import { baselineToJson, createBaselineSet, migrateLegacyHost, type BaselineChange, type BaselineJson, type BaselineSet, type BaselineSetJson } from '../baseline/baselines.js';
import { hostKeyOf, isValidKey, receivesBaseline } from '../baseline/key.js';
import { BASELINE_FILE, loadBaselineFile, saveBaselineFile } from '../baseline/store.js';
import { detectHostRole, hostRoleFromFacts, isControlPlaneExecutable, type HostRoleDecision, type HostRoleFacts, type HostRoleSetting } from './host-role.js';

export interface BaselineKeeperConfig {
  readonly stateDir: string;
  readonly hostRoot: string;
  readonly procRoot: string;
  readonly hostRole: HostRoleSetting;
  readonly learnMs: number;
  readonly hostLearnMs: number;
  readonly maxBaselines: number;
  readonly maxItemsPerBaseline: number;
}

export interface BaselineKeeperDeps {
  readonly log: Logger;
  readonly now: () => number;
  /** An executable was allowed in a baseline: stop reporting it. */
  readonly onAllowed: (key: string, exe: string) => void;
  /**
   * The snapshot a role `auto` is decided from: the agent gives its first scan's. Left out,
   * the keeper collects the facts itself (detectHostRole), as a monitor running alone must.
   */
  readonly roleFacts?: () => Promise<HostRoleFacts>;
}

export function createBaselineKeeper(config: BaselineKeeperConfig, deps: BaselineKeeperDeps) {
  const { log, now } = deps;
  const file = join(config.stateDir, BASELINE_FILE);
  const limits = {
    learnMs: config.learnMs, hostLearnMs: config.hostLearnMs, maxKeys: config.maxBaselines, maxItemsPerKey: config.maxItemsPerBaseline,
  };
  let set: BaselineSet = createBaselineSet(limits);
  /** The node's host baseline key: set at start when detected (until then, no host update applies). */
  let hostKey = config.hostRole === 'auto' ? '' : hostKeyOf(config.hostRole);
  /** The state file has been read: saving before that would write over it. */
  let fileLoaded = false;
  let saving: Promise<void> | undefined;

  async function decideRole(): Promise<HostRoleDecision> {
    if (config.hostRole !== 'auto') return { role: config.hostRole, key: hostKeyOf(config.hostRole), evidence: 'set by the agent setting processes.hostRole' };
    try {
      return deps.roleFacts ? hostRoleFromFacts(await deps.roleFacts()) : await detectHostRole(config.hostRoot, config.procRoot);
    } catch (err) {
      return { role: 'worker', key: hostKeyOf('worker'), evidence: `the control-plane facts could not be collected (${(err as Error).message})` };
    }
  }

  function save(): Promise<void> {
    if (saving || !set.dirty || !fileLoaded) return saving ?? Promise.resolve();
    const snapshot = set.snapshot();
    set.markClean();
    saving = saveBaselineFile(file, snapshot)
      .catch((err: unknown) => {
        log.error({ err: (err as Error).message, file }, 'cannot save baselines; will retry');
        set.markDirty(); // the next save retries
      })
      .finally(() => {
        saving = undefined;
      });
    return saving;
  }

  function apply(change: BaselineChange): boolean {
    if (!isValidKey(change.key)) {
      log.warn({ baseline: change.key }, 'baseline update for an invalid key ignored');
      return false;
    }
    if (!receivesBaseline(hostKey, change.key)) {
      log.warn({ baseline: change.key, host: hostKey }, "baseline update for another role's host baseline ignored");
      return false;
    }
    const r = set.apply(change, now());
    for (const exe of r.allowed) deps.onAllowed(change.key, exe);
    if (r.applied) {
      log.info({ baseline: change.key, version: change.version, allowed: change.allowed.length, removed: change.removed.length, lock: change.lock }, 'baseline update applied');
      void save();
    }
    return r.applied;
  }

  return {
    /** Decides the host key and loads the state file. */
    async load(): Promise<void> {
      const role = await decideRole();
      hostKey = role.key;
      log.info({ role: role.role, baseline: role.key, evidence: role.evidence }, 'host processes keyed by node role');
      const loaded = await loadBaselineFile(file, now);
      fileLoaded = true;
      if (loaded.state === 'loaded') {
        const keep = role.role === 'worker' ? (exe: string) => !isControlPlaneExecutable(exe) : () => true;
        const migrated = migrateLegacyHost(loaded.data, hostKey, keep);
        set = createBaselineSet(limits, migrated.data);
        log.info({ keys: set.size, file }, 'baselines loaded');
        if (migrated.data !== loaded.data) {
          log.info({ to: hostKey, moved: migrated.moved, leftOut: migrated.left }, 'legacy host baseline moved to the node role key');
          set.markDirty();
          await save();
        }
      } else if (loaded.state === 'corrupt') {
        log.error({ reason: loaded.reason, setAside: loaded.setAside }, 'baseline file unreadable; set aside, learning starts over');
      }
    },

    /** The set the judge reads (replaced once, by load). */
    get set(): BaselineSet {
      return set;
    },

    /** The key of this node's host baseline (`host/control-plane` or `host/worker`); empty before load when detected. */
    get hostKey(): string {
      return hostKey;
    },

    apply,
    save,

    /** Waits for a save in progress. */
    async settled(): Promise<void> {
      await saving;
    },

    /** Locks baselines whose learning window ended. */
    tick(): void {
      for (const key of set.tick(now())) log.info({ baseline: key }, 'baseline locked: learning window ended');
    },

    /** The named baselines (those still held), as they would be saved. */
    json(keys: readonly string[]): BaselineJson[] {
      const out: BaselineJson[] = [];
      for (const k of keys) {
        const b = set.get(k);
        if (b) out.push(baselineToJson(b));
      }
      return out;
    },

    snapshot(): BaselineSetJson {
      return set.snapshot();
    },

    stats() {
      return { keys: set.size, overflow: set.counters.overflow, evictedKeys: set.counters.evictedKeys, evictedDigests: set.counters.evictedDigests, version: set.version };
    },
  };
}

export type BaselineKeeper = ReturnType<typeof createBaselineKeeper>;
