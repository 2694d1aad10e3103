// Where the exposure collector was cut short, counted across collections since the agent
// started, for AgentStats (exposure_walk_* and friends, proto/nodeward/v1/agent.proto): a walk
// of /proc/<pid>/fd stopped at its process limit or time budget, processes whose descriptors
// were cut, fd directories that could not be read, socket rows refused, and listeners left
// out by the parser's, the agent's or the wire's bounds. A cut that recurs counts at every
// collection, as host documents refused do: the collector shows the count growing.
import type { AgentStats } from '../../proto/gen/nodeward/v1/AgentStats.js';
import type { ExposureCuts } from '../../proto/exposure-cuts.js';
import type { ExposureFacts } from './collect.js';
import { wireLosses } from './wire.js';

export type { ExposureCuts } from '../../proto/exposure-cuts.js';

/** The cuts of one collection (pure). */
export function cutsOf(e: ExposureFacts): Omit<ExposureCuts, 'nativeReader'> {
  return {
    walkPidLimitHits: e.walk.pidLimitHit ? 1 : 0,
    walkTimeLimitHits: e.walk.timeLimitHit ? 1 : 0,
    walkFdLimitHits: e.walk.fdLimitHits,
    walkUnreadable: e.walk.unreadable,
    ...wireLosses(e),
  };
}

export function createExposureCutCounter() {
  let total: ExposureCuts = { walkPidLimitHits: 0, walkTimeLimitHits: 0, walkFdLimitHits: 0, walkUnreadable: 0, rowsRefused: 0, listenersDropped: 0, nativeReader: false };
  return {
    /** One collection's facts. */
    record(e: ExposureFacts): void {
      const c = cutsOf(e);
      total = {
        walkPidLimitHits: total.walkPidLimitHits + c.walkPidLimitHits, walkTimeLimitHits: total.walkTimeLimitHits + c.walkTimeLimitHits,
        walkFdLimitHits: total.walkFdLimitHits + c.walkFdLimitHits, walkUnreadable: total.walkUnreadable + c.walkUnreadable,
        rowsRefused: total.rowsRefused + c.rowsRefused, listenersDropped: total.listenersDropped + c.listenersDropped,
        nativeReader: e.walk.nativeReader,
      };
    },
    stats(): ExposureCuts {
      return total;
    },
  };
}

export type ExposureCutCounter = ReturnType<typeof createExposureCutCounter>;

/** A collector of exposure facts whose every collection the counter records. */
export function countedBy(counter: ExposureCutCounter, collect: () => Promise<ExposureFacts>): () => Promise<ExposureFacts> {
  return async () => {
    const facts = await collect();
    counter.record(facts);
    return facts;
  };
}

export function exposureCutsToWire(c: ExposureCuts): Partial<AgentStats> {
  return {
    exposureWalkPidLimitHits: c.walkPidLimitHits, exposureWalkTimeLimitHits: c.walkTimeLimitHits, exposureWalkFdLimitHits: c.walkFdLimitHits,
    exposureWalkUnreadable: c.walkUnreadable, exposureRowsRefused: c.rowsRefused, exposureListenersDropped: c.listenersDropped,
    exposureNativeReader: c.nativeReader,
  };
}
