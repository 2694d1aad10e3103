// The posture watch: follows every kind of object the posture judges declare (judge.ts), one
// informer per kind (kube/informer.ts: list, watch, bookmarks, 410 relist, backoff, bounds)
// shared by every judge that reads it, and turns their judgements into units of work for the
// commit stage (cluster findings opened, changed, resolved).
//
// - A kind another watch already follows (pods: the pod watch) is not listed twice: that
//   watch's informer feeds this one through a tap (`tap(path)`, informer.ts InformerTap).
// - Optional kinds (CRDs of a CNI) are followed only while discovery (GET /apis/<group>/<version>)
//   says the API server serves them; discovery is asked again every `discoveryMs`. A kind not
//   served is an empty, synced kind.
// - Nothing is judged until every kind has listed (and discovery has answered once): a
//   partial view must not resolve findings. Then every judge judges in full, and the unit
//   carries the whole verdict: what it holds is raised or seen again, every other active
//   cluster finding resolves (reconcile). A relist (410, or a kind that came or went) judges
//   in full again. Between, each watch event moves the judges that read its kind.
// - Changes gather for `debounceMs` (on the injected clock) from the first one, then go to
//   the commit stage as one unit; a finding opened and resolved within that time is nothing.
//   A unit that fails to commit is not lost: the next one judges in full.
import type { Logger } from '../../proto/support/logger.js';
import { backoffMs } from '../backoff.js';
import { systemClock, type Clock } from '../clock.js';
import type { Metrics } from '../metrics.js';
import { kubeRequest, readJson, type KubeConnection } from '../kube/connection.js';
import { createInformer, type InformerConfig, type InformerHolder, type InformerTap, type ObjectRead } from '../kube/informer.js';
import type { ClusterFinding, ObjectChange, PostureJudge, PostureKind } from './judge.js';

/** Each kind's informer is configured alike (informer.ts: maxObjects is per kind); and the watch's own timing. */
export interface PostureWatchConfig extends InformerConfig {
  /** How long judgement changes gather before they are committed as one unit. */
  readonly debounceMs: number;
  /** How often discovery is asked again whether the optional (CRD) kinds are served. */
  readonly discoveryMs: number;
}

/** A finding the unit resolves, and why. */
export interface ResolvedClusterFinding {
  readonly finding: ClusterFinding;
  readonly note: string;
}

/** One unit of work for the commit stage (pipeline/commit.ts `posture`). */
export type PostureUnit =
  /** The whole verdict: each finding is raised or seen; every other active cluster finding resolves with `note`. */
  | { readonly kind: 'full'; readonly findings: readonly ClusterFinding[]; readonly note: string }
  /** What watch events changed since the last unit. */
  | { readonly kind: 'delta'; readonly upserts: readonly ClusterFinding[]; readonly resolved: readonly ResolvedClusterFinding[] };

export interface PostureWatchDeps {
  readonly log: Logger;
  readonly metrics?: Metrics | undefined;
  readonly clock?: Clock;
  readonly random?: () => number;
  /** Commits one unit (the pipeline's posture stage); a throw is counted and the next unit judges in full. */
  readonly commit: (unit: PostureUnit) => void | Promise<void>;
  /** Collection paths another watch follows and feeds through `tap` (`/api/v1/pods` when the pod watch runs). */
  readonly shared?: readonly string[];
}

export interface PostureKindStats {
  readonly kind: string;
  readonly served: boolean;
  readonly synced: boolean;
  readonly objects: number;
  /** Objects its reader refused (malformed) and objects over the bound. */
  readonly refused: number;
}

export interface PostureWatchStats {
  /** Every kind has listed: the findings reflect the cluster. */
  readonly synced: boolean;
  readonly kinds: readonly PostureKindStats[];
  readonly fullJudgements: number;
  readonly units: number;
  readonly commitFailures: number;
  /** Findings of the last verdict (open cluster findings, before the store's cap). */
  readonly findings: number;
}

const MAX_DISCOVERY_BYTES = 4 * 1024 * 1024;

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | undefined => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : undefined);

/** Whether a discovery answer (an APIResourceList) lists the collection `name` (pure). */
export function discoveryServes(json: unknown, name: string): boolean {
  const resources = obj(json)?.resources;
  return Array.isArray(resources) && resources.some((r) => obj(r)?.name === name);
}

interface KindState {
  readonly spec: PostureKind;
  readonly held: Map<string, unknown>;
  /** Served by the API server (always, for a kind that is not optional). */
  served: boolean | undefined;
  synced: boolean;
  refused: number;
  informer: ReturnType<typeof createInformer> | undefined;
}

export function createPostureWatch(config: PostureWatchConfig, judges: readonly PostureJudge<unknown>[], deps: PostureWatchDeps) {
  const { log, metrics } = deps;
  const clock = deps.clock ?? systemClock;
  const shared = new Set(deps.shared ?? []);

  // One state per kind, whoever declares it (the first declaration's reader is the one used).
  const kinds = new Map<string, KindState>();
  for (const j of judges) {
    for (const spec of j.kinds) {
      if (!kinds.has(spec.kind)) kinds.set(spec.kind, { spec, held: new Map(), served: spec.optional ? undefined : true, synced: false, refused: 0, informer: undefined });
    }
  }
  const states = new Map<string, unknown>();
  /** Judgement changes since the last unit, by finding key: raised (the finding) or resolved (with a note). */
  const pending = new Map<string, { finding: ClusterFinding; resolved: string | undefined }>();
  let needFull = true;
  let judged = false;
  let stopped = true;
  let flushCancel: (() => void) | undefined;
  let discoveryCancel: (() => void) | undefined;
  let discovering: Promise<void> | undefined;
  let discoveryAbort: AbortController | undefined;
  let lastFindings = 0;
  /** Checks the findings gauge has a series for. */
  const countedChecks = new Set<string>();
  const counts = { fullJudgements: 0, units: 0, commitFailures: 0 };

  const setKindMetrics = (k: KindState): void => {
    metrics?.set('nodeward_posture_kind_synced', k.synced ? 1 : 0, { kind: k.spec.kind });
    metrics?.set('nodeward_posture_objects', k.held.size, { kind: k.spec.kind });
  };

  const refuse = (k: KindState, n = 1): void => {
    k.refused += n;
    metrics?.inc('nodeward_posture_refused_total', n, { kind: k.spec.kind });
  };

  /** Commits that failed in a row: the next unit waits the collector's backoff. */
  let failing = 0;

  function schedule(): void {
    if (flushCancel || stopped) return;
    const wait = failing === 0 ? config.debounceMs : Math.max(config.debounceMs, backoffMs(failing, { initialMs: config.backoffBaseMs, maxMs: config.backoffMaxMs }, deps.random ?? Math.random));
    flushCancel = clock.after(wait, () => {
      flushCancel = undefined;
      flush();
    });
  }

  /** What every kind holds, for a judge's `full`. */
  function objectsOf(j: PostureJudge<unknown>): Map<string, ReadonlyMap<string, unknown>> {
    return new Map(j.kinds.map((s) => [s.kind, kinds.get(s.kind)?.held ?? new Map()] as const));
  }

  const allSynced = (): boolean => [...kinds.values()].every((k) => k.served === false || (k.served === true && k.synced));

  function timed<T>(judge: string, mode: 'full' | 'event', fn: () => T): T {
    const t0 = performance.now();
    try {
      return fn();
    } finally {
      metrics?.observe('nodeward_posture_judge_duration_seconds', (performance.now() - t0) / 1000, { judge, mode });
    }
  }

  function countFindings(findings: readonly ClusterFinding[]): void {
    lastFindings = findings.length;
    if (!metrics) return;
    const byCheck = new Map<string, number>();
    for (const f of findings) byCheck.set(f.checkId, (byCheck.get(f.checkId) ?? 0) + 1);
    for (const check of countedChecks) if (!byCheck.has(check)) metrics.set('nodeward_posture_findings', 0, { check });
    for (const [check, n] of byCheck) {
      countedChecks.add(check);
      metrics.set('nodeward_posture_findings', n, { check });
    }
  }

  function currentFindings(): ClusterFinding[] {
    const out: ClusterFinding[] = [];
    for (const j of judges) {
      const s = states.get(j.id);
      if (s !== undefined) out.push(...j.findings(s).findings);
    }
    return out;
  }

  /** Units are committed one after another, in the order they were judged. */
  let committing: Promise<void> = Promise.resolve();

  function commit(unit: PostureUnit): void {
    committing = committing.then(async () => {
      try {
        await deps.commit(unit);
        failing = 0;
        counts.units++;
        metrics?.inc('nodeward_posture_units_total', 1, { kind: unit.kind });
      } catch (err) {
        counts.commitFailures++;
        failing++;
        metrics?.inc('nodeward_posture_commit_failures_total');
        log.error({ err: (err as Error).message }, 'posture: committing the findings failed; the next unit judges in full');
        needFull = true;
        schedule();
      }
    });
  }

  function flush(): void {
    if (stopped || !allSynced()) return;
    if (needFull || !judged) {
      needFull = false;
      pending.clear();
      const fresh = new Map<string, unknown>();
      for (const j of judges) {
        try {
          fresh.set(j.id, timed(j.id, 'full', () => j.full(objectsOf(j))));
        } catch (err) {
          // A judge that fails must not resolve its findings (an empty verdict would): nothing
          // is committed, and the full judgement is tried again after the backoff.
          judgeFailed(j.id, err);
          needFull = true;
          failing++;
          schedule();
          return;
        }
      }
      for (const [id, st] of fresh) states.set(id, st);
      judged = true;
      counts.fullJudgements++;
      const findings = currentFindings();
      countFindings(findings);
      commit({ kind: 'full', findings, note: 'no longer found when every kind was listed (deleted or changed while it was not watched)' });
      return;
    }
    if (pending.size === 0) return;
    const upserts: ClusterFinding[] = [];
    const resolved: ResolvedClusterFinding[] = [];
    for (const p of pending.values()) {
      if (p.resolved === undefined) upserts.push(p.finding);
      else resolved.push({ finding: p.finding, note: p.resolved });
    }
    pending.clear();
    countFindings(currentFindings());
    commit({ kind: 'delta', upserts, resolved });
  }

  function judgeFailed(judge: string, err: unknown): void {
    metrics?.inc('nodeward_posture_judge_failures_total', 1, { judge });
    log.error({ judge, err: (err as Error)?.message ?? String(err) }, 'posture: a judge failed; nothing of it is committed, and everything is judged again');
  }

  /** Why a change resolved a finding, in words. */
  function noteOf(change: ObjectChange, f: ClusterFinding): string {
    const what = `${change.kind}/${change.key}`;
    if (change.type === 'delete') return f.object === what ? `${what} was deleted` : `${what} was deleted: the finding no longer holds`;
    return `${what} changed: the finding no longer holds`;
  }

  /** One watch event: every judge reading the kind moves; the changes wait for the next unit. */
  function changed(change: ObjectChange): void {
    if (!judged || needFull) {
      schedule();
      return;
    }
    for (const j of judges) {
      if (!j.kinds.some((s) => s.kind === change.kind)) continue;
      const before = states.get(j.id);
      if (before === undefined) continue;
      let d: ReturnType<typeof j.apply>;
      try {
        d = timed(j.id, 'event', () => j.apply(before, change));
      } catch (err) {
        // The contract says apply never throws; if one does, everything is judged again.
        judgeFailed(j.id, err);
        needFull = true;
        pending.clear();
        break;
      }
      states.set(j.id, d.state);
      for (const f of [...d.opened, ...d.changed]) pending.set(f.key, { finding: f, resolved: undefined });
      for (const f of d.resolved) pending.set(f.key, { finding: f, resolved: noteOf(change, f) });
    }
    schedule();
  }

  /** The holder of one kind: its bound, its counts, and the judges told of each change. */
  function holderOf(k: KindState): InformerHolder<unknown> {
    return {
      replace(objects) {
        k.held.clear();
        for (const [key, v] of objects) {
          if (k.held.size < config.maxObjects) k.held.set(key, v);
          else refuse(k);
        }
        k.synced = true;
        setKindMetrics(k);
        // A list (the first, or after 410): the judges start again from what it holds.
        needFull = true;
        schedule();
      },
      upsert(key, value) {
        if (!k.held.has(key) && k.held.size >= config.maxObjects) {
          refuse(k);
          return false;
        }
        k.held.set(key, value);
        setKindMetrics(k);
        changed({ type: 'upsert', kind: k.spec.kind, key, value });
        return true;
      },
      remove(key) {
        if (!k.held.delete(key)) return;
        setKindMetrics(k);
        changed({ type: 'delete', kind: k.spec.kind, key });
      },
    };
  }

  /** The kind's reader, counting what it refuses. */
  function readerOf(k: KindState): (raw: unknown) => ObjectRead<unknown> {
    return (raw) => {
      const r = k.spec.read(raw);
      if (r.kind === 'invalid') {
        refuse(k);
        if (k.refused <= 10) log.warn({ kind: k.spec.kind, reason: r.reason }, `posture: a ${k.spec.kind} could not be read; skipped`);
      }
      return r;
    };
  }

  const holders = new Map<string, InformerHolder<unknown>>();
  const holder = (k: KindState): InformerHolder<unknown> => {
    let h = holders.get(k.spec.kind);
    if (!h) holders.set(k.spec.kind, (h = holderOf(k)));
    return h;
  };

  function startKind(k: KindState): void {
    if (k.informer || shared.has(k.spec.path)) return;
    k.synced = false;
    k.informer = createInformer<unknown>({
      connection: config.connection, watchSeconds: config.watchSeconds, backoffBaseMs: config.backoffBaseMs, backoffMaxMs: config.backoffMaxMs,
      maxObjects: config.maxObjects, pageSize: config.pageSize, maxPageBytes: config.maxPageBytes, maxEventBytes: config.maxEventBytes,
    }, { name: k.spec.name, path: k.spec.path, read: readerOf(k) }, holder(k), {
      log, metrics, metricPrefix: 'nodeward_posture_watch', clock, ...(deps.random ? { random: deps.random } : {}),
    });
    k.informer.start();
  }

  async function stopKind(k: KindState): Promise<void> {
    const i = k.informer;
    k.informer = undefined;
    await i?.stop();
  }

  /** Asks discovery which optional kinds are served; starts and stops their informers. */
  async function discover(): Promise<void> {
    const optional = [...kinds.values()].filter((k) => k.spec.optional);
    const groups = new Map<string, KindState[]>();
    for (const k of optional) {
      const gv = `${k.spec.optional!.group}/${k.spec.optional!.version}`;
      groups.set(gv, [...(groups.get(gv) ?? []), k]);
    }
    discoveryAbort = new AbortController();
    for (const [gv, ks] of groups) {
      if (stopped) return;
      let answer: unknown;
      let served: boolean | undefined;
      try {
        const res = await kubeRequest(config.connection, 'GET', `/apis/${gv}`, { signal: discoveryAbort.signal });
        answer = await readJson(res, MAX_DISCOVERY_BYTES, `discovery of ${gv}`);
        if (res.status === 200) served = true;
        else if (res.status === 404) served = false;
        else throw new Error(`HTTP ${res.status}`);
      } catch (err) {
        if (stopped) return;
        metrics?.inc('nodeward_posture_discovery_failures_total');
        log.warn({ group: gv, err: (err as Error).message }, 'posture: discovery failed; asked again later');
      }
      for (const k of ks) {
        // A failed discovery leaves what was known; never known yet, it counts as not served
        // (the kinds that are served are judged instead of nothing at all).
        const now = served === undefined ? (k.served ?? false) : served && discoveryServes(answer, k.spec.name);
        if (now === k.served && (now === false || k.informer || shared.has(k.spec.path))) continue;
        const was = k.served;
        k.served = now;
        if (now) {
          log.info({ kind: k.spec.kind, group: gv }, `posture: the API server serves ${k.spec.kind}; watching it`);
          startKind(k);
        } else {
          if (was) log.info({ kind: k.spec.kind, group: gv }, `posture: the API server no longer serves ${k.spec.kind}`);
          await stopKind(k);
          k.held.clear();
          k.synced = false;
          needFull = true;
        }
        setKindMetrics(k);
      }
    }
    schedule();
  }

  function discoverLoop(): void {
    if (stopped) return;
    discovering = discover().finally(() => {
      discovering = undefined;
      if (!stopped) discoveryCancel = clock.after(config.discoveryMs, discoverLoop);
    });
  }

  return {
    /** Starts the informers (and discovery for the optional kinds); safe twice. */
    start(): void {
      if (!stopped) return;
      stopped = false;
      for (const k of kinds.values()) {
        setKindMetrics(k);
        if (k.served === true) startKind(k);
      }
      if ([...kinds.values()].some((k) => k.spec.optional)) discoverLoop();
    },
    /** Stops every informer and pending unit; safe before start and twice. */
    async stop(): Promise<void> {
      if (stopped) return;
      stopped = true;
      flushCancel?.();
      flushCancel = undefined;
      discoveryCancel?.();
      discoveryCancel = undefined;
      discoveryAbort?.abort();
      await discovering;
      await Promise.all([...kinds.values()].map(stopKind));
      await committing;
    },
    /**
     * The tap through which another watch's informer feeds the kind at `path` (kube/informer.ts
     * InformerTap), or undefined when no judge reads it. Name the path in `deps.shared`.
     */
    tap(path: string): InformerTap | undefined {
      const k = [...kinds.values()].find((x) => x.spec.path === path);
      return k ? { read: readerOf(k), holder: holder(k) } : undefined;
    },
    /** Judges what has gathered now, instead of at the end of the debounce; resolves when it is committed. */
    flush(): Promise<void> {
      flushCancel?.();
      flushCancel = undefined;
      flush();
      return committing;
    },
    /** Judges everything again and commits the whole verdict (a replica took over the commits from another). */
    recommit(): void {
      needFull = true;
      schedule();
    },
    /** Resolves when the units judged so far are committed (or failed, counted). */
    committed(): Promise<void> {
      return committing;
    },
    stats(): PostureWatchStats {
      return {
        synced: judged && allSynced(),
        kinds: [...kinds.values()].map((k) => ({ kind: k.spec.kind, served: k.served === true, synced: k.synced, objects: k.held.size, refused: k.refused })),
        ...counts,
        findings: lastFindings,
      };
    },
    /**
     * A judge's state now (for RBAC, rbac-judge.ts PostureState, whose `model` who-can reads);
     * undefined until every kind has listed and the judges have judged.
     */
    state(judgeId: string): unknown {
      return judged ? states.get(judgeId) : undefined;
    },
    /** The judges' verdict now: findings and the expected ones (empty until judged). */
    verdict(): { findings: ClusterFinding[]; expected: { finding: ClusterFinding; why: string }[] } {
      const findings: ClusterFinding[] = [];
      const expected: { finding: ClusterFinding; why: string }[] = [];
      for (const j of judges) {
        const s = states.get(j.id);
        if (s === undefined) continue;
        const v = j.findings(s);
        findings.push(...v.findings);
        expected.push(...v.expected);
      }
      return { findings, expected };
    },
  };
}

export type PostureWatch = ReturnType<typeof createPostureWatch>;
