// BaselineReports: the agent's baselines as the collector merges them across nodes. They are
// state, not events: never spooled, sent whole after every connect (the collector may have
// missed anything while the stream was down) and afterwards only the baselines that changed,
// at most once per `intervalMs`. Every message keeps to the bounds the contract sets (see
// BaselineReport in proto/nodeward/v1/agent.proto); what does not fit is counted, not sent.
import type { AgentMessage, AgentBaseline, BaselineReport } from '../../proto/load.js';
import type { Logger } from '../../proto/support/logger.js';
import { isValidExecutable, ITEM_SOURCE_WIRE, MAX_EXECUTABLE_CHARS } from '../../proto/baseline-key.js';
import type { BaselineJson } from '../baseline/baselines.js';
import { isListenItem, LISTEN_TEXT_MAX } from '../../proto/listen-item.js';

export const REPORT_LIMITS = {
  baselinesPerReport: 64,
  itemsPerReport: 16_384,
  pathCharsPerReport: 1024 * 1024,
  itemsPerBaseline: 2048,
  removedPerBaseline: 2048,
  pathChars: MAX_EXECUTABLE_CHARS,
  listensPerBaseline: 256,
} as const;

/** One baseline on the wire, within the per-baseline bounds and `pathBudget`; `dropped` counts what was cut. */
export function baselineToWire(b: BaselineJson, now: number, pathBudget: number, dropped: { n: number }, listens: readonly string[] = []): { wire: AgentBaseline; pathChars: number } {
  let chars = 0;
  const take = (p: string, room: boolean): boolean => {
    if (!isValidExecutable(p) || !room || chars + p.length > pathBudget) {
      dropped.n++;
      return false;
    }
    chars += p.length;
    return true;
  };
  const spend = (n: number): boolean => {
    if (chars + n > pathBudget) {
      dropped.n++;
      return false;
    }
    chars += n;
    return true;
  };
  const items = Object.entries(b.items)
    .filter(([path], i) => take(path, i < REPORT_LIMITS.itemsPerBaseline))
    .map(([path, item]) => ({
      path, source: ITEM_SOURCE_WIRE[item.source], firstSeenMs: item.addedAtMs, anyContent: item.anyContent === true, inlineCode: item.inline === true,
      // Contents count against the same budget as paths (their digest and image text).
      digests: (item.digests ?? []).filter((d) => spend(d.sha256.length + (d.image?.length ?? 0)))
        .map((d) => ({ sha256: d.sha256, source: d.source, image: d.image ?? '', firstSeenMs: d.addedAtMs })),
    }));
  const removed = Object.keys(b.removed).filter((path, i) => take(path, i < REPORT_LIMITS.removedPerBaseline));
  const locked = b.lockedAtMs !== null || now >= b.learnUntilMs;
  return {
    wire: {
      key: b.key, state: locked ? 'BASELINE_STATE_LOCKED' : 'BASELINE_STATE_LEARNING', learnUntilMs: b.learnUntilMs,
      version: b.version, lockedBy: locked ? b.lockedBy ?? 'window' : '', items, removed,
      // Listens as bound only: an address class's entry (`tcp/private:9090`) is an operator's
      // allow the collector already holds, and not what AgentBaseline.listens carries.
      listens: listens.filter((l) => l.length <= LISTEN_TEXT_MAX && isListenItem(l)).slice(0, REPORT_LIMITS.listensPerBaseline),
    },
    pathChars: chars,
  };
}

/** The baselines in as few reports as the bounds allow. */
export function buildReports(baselines: readonly BaselineJson[], baselineVersion: number, now: number, listensOf: (key: string) => readonly string[] = () => []): { reports: BaselineReport[]; dropped: number } {
  const dropped = { n: 0 };
  const reports: BaselineReport[] = [];
  let current: AgentBaseline[] = [];
  let items = 0;
  let chars = 0;
  const close = (): void => {
    if (current.length > 0) reports.push({ baselines: current, baselineVersion });
    current = [];
    items = 0;
    chars = 0;
  };
  for (const b of baselines) {
    const size = Object.keys(b.items).length + Object.keys(b.removed).length;
    if (current.length >= REPORT_LIMITS.baselinesPerReport || items + size > REPORT_LIMITS.itemsPerReport
      || chars + estimateChars(b) > REPORT_LIMITS.pathCharsPerReport) close();
    const { wire, pathChars } = baselineToWire(b, now, REPORT_LIMITS.pathCharsPerReport - chars, dropped, listensOf(b.key));
    current.push(wire);
    items += (wire.items?.length ?? 0) + (wire.removed?.length ?? 0);
    chars += pathChars;
  }
  close();
  return { reports, dropped: dropped.n };
}

function estimateChars(b: BaselineJson): number {
  let n = 0;
  for (const p of Object.keys(b.items)) n += p.length;
  for (const p of Object.keys(b.removed)) n += p.length;
  return n;
}

/** What the reports are made from: the process monitor. */
export interface BaselineSource {
  readonly baselineRevision: number;
  readonly baselineVersion: number;
  baselinesChangedSince(revision: number): string[];
  baselineKeys(): string[];
  baselinesJson(keys: readonly string[]): BaselineJson[];
}

export interface BaselineReporterDeps {
  readonly source: BaselineSource;
  /** Writes on the open stream; false when there is none. */
  readonly send: (msg: AgentMessage) => boolean;
  /** What each baseline's processes listened on while it learned (agent/exposure/listen-baseline.ts). */
  readonly listensOf?: (key: string) => readonly string[];
  readonly log: Logger;
  readonly now?: () => number;
}

export function createBaselineReporter(config: { intervalMs: number }, deps: BaselineReporterDeps) {
  const now = deps.now ?? Date.now;
  const { source } = deps;
  /** The revision the collector has everything up to; -1: it has nothing (send all). */
  let sent = -1;
  let timer: NodeJS.Timeout | undefined;
  let reports = 0;
  let dropped = 0;

  function send(keys: readonly string[]): boolean {
    const revision = source.baselineRevision;
    const built = buildReports(source.baselinesJson(keys), source.baselineVersion, now(), deps.listensOf);
    for (const r of built.reports) {
      if (!deps.send({ baselineReport: r })) return false;
      reports++;
    }
    dropped += built.dropped;
    if (built.dropped > 0) deps.log.warn({ dropped: built.dropped }, 'baselines over the report bounds were cut (counted)');
    sent = revision;
    return true;
  }

  function tick(): void {
    if (sent < 0 || source.baselineRevision === sent) return;
    if (!send(source.baselinesChangedSince(sent))) sent = -1;
  }

  return {
    /** The stream is open and the Hello written: the collector gets every baseline. */
    connected(): void {
      if (!send(source.baselineKeys())) sent = -1;
    },
    start(): void {
      if (timer) return;
      timer = setInterval(tick, config.intervalMs);
      timer.unref();
    },
    stop(): void {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
    /** Sends what changed now instead of at the next tick. */
    flush: tick,
    stats(): { reports: number; dropped: number } {
      return { reports, dropped };
    },
  };
}

export type BaselineReporter = ReturnType<typeof createBaselineReporter>;
