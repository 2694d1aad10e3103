// The collector's one way of following a kind of Kubernetes object: list, then watch, the way
// client-go's informers do, read-only. The pod watch (pod-watch.ts) and the node watch
// (node-watch.ts) are built on it; what an object means is theirs (a `read` function and a
// holder), how it is followed is here.
//
// It lists the collection (in pages, `limit`/`continue`), then watches from the list's
// resourceVersion (?watch=1, one JSON event per line, with bookmarks asked for) and renews
// the watch from the last resourceVersion it saw whenever one ends. Bookmarks move that
// version without an object, so a renewed watch resumes past changes to other objects. When
// the version has expired (410 Gone, as a status or as an ERROR event) it lists again and
// the holder replaces what it held. Failures wait the collector's backoff (backoff.ts) on
// the collector's clock, reset once a watch delivers events. Everything read is bounded
// (page and line size, objects held); a line or object it cannot read is counted and
// skipped, never fatal, and never stops the watch. Another reader of the same collection (the
// posture watch reading pods) taps the one list and watch instead of opening its own
// (InformerTap): each watch line is parsed once, then read by each.
import type { Logger } from '../../proto/support/logger.js';
import { backoffMs } from '../backoff.js';
import { systemClock, type Clock } from '../clock.js';
import type { InformerPrefix, Metrics } from '../metrics.js';
import { KubeApiError, kubeRequest, readJson, statusError, type KubeConnection, type KubeRequestOptions, type KubeResponse } from './connection.js';
import { createLineSplitter } from './lines.js';

export interface InformerConfig {
  readonly connection: KubeConnection;
  /** The API server ends each watch after this long (timeoutSeconds); the next resumes it. */
  readonly watchSeconds: number;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  /** Objects a list gathers at most; more are refused (counted). The holder bounds what it keeps. */
  readonly maxObjects: number;
  /** Objects per list page. */
  readonly pageSize?: number;
  /** Largest list page accepted. */
  readonly maxPageBytes?: number;
  /** Largest watch event (one line) accepted. */
  readonly maxEventBytes?: number;
}

/** What one object from the API server became. */
export type ObjectRead<T> =
  /** One to hold, under `key`. */
  | { readonly kind: 'object'; readonly key: string; readonly value: T }
  /** Valid, but nothing to hold (a pod not on a node yet): forget whatever is held under `key`. */
  | { readonly kind: 'absent'; readonly key: string }
  /** Not an object of this kind, or one without what it must have: skipped, counted. */
  | { readonly kind: 'invalid'; readonly reason: string };

export interface InformerResource<T> {
  /** The collection, plural and lower case, as the API names it: `pods`, `nodes`. */
  readonly name: string;
  /** The collection's path: `/api/v1/pods`. */
  readonly path: string;
  /** Validates one object and reduces it to what the holder keeps (pure, never throws). */
  read(raw: unknown): ObjectRead<T>;
}

/** Where the objects go; the holder owns them and their bounds. */
export interface InformerHolder<T> {
  /** After a list: exactly these, and nothing else. */
  replace(objects: ReadonlyMap<string, T>): void;
  /** Added or changed; false when the holder refused it (its bound): counted. */
  upsert(key: string, value: T): boolean;
  remove(key: string): void;
}

export interface InformerStats {
  /** A list has completed: what is held reflects the cluster (as of the last event). */
  readonly synced: boolean;
  readonly resourceVersion: string;
  readonly lists: number;
  readonly watches: number;
  /** Lists forced by an expired resourceVersion (410 Gone). */
  readonly relists: number;
  readonly failures: number;
  /** Watch events applied, bookmarks included. */
  readonly events: number;
  readonly bookmarks: number;
  /** Watch lines and list items that were not JSON, not an event, or not a readable object: skipped. */
  readonly malformed: number;
  /** Watch lines over maxEventBytes: skipped. */
  readonly oversized: number;
  /** Objects refused by the bounds (maxObjects, or the holder's). */
  readonly refused: number;
  readonly lastError: string;
}

/** What one watch line means (watchLine); never thrown, always one of these. */
export type WatchLine<T> =
  | { readonly kind: 'upsert'; readonly rv: string; readonly key: string; readonly value: T; readonly type: 'ADDED' | 'MODIFIED' }
  | { readonly kind: 'remove'; readonly rv: string; readonly key: string; readonly type: 'ADDED' | 'MODIFIED' | 'DELETED' }
  | { readonly kind: 'bookmark'; readonly rv: string }
  /** The version the watch started from has expired: list again. */
  | { readonly kind: 'gone' }
  /** The server ended the watch with an error of its own. */
  | { readonly kind: 'error'; readonly message: string }
  /** Skipped; `rv` when the line still carried a version to move past. */
  | { readonly kind: 'malformed'; readonly reason: string; readonly rv?: string };

const DEFAULT_PAGE_SIZE = 250;
const DEFAULT_MAX_PAGE_BYTES = 64 * 1024 * 1024;
const DEFAULT_MAX_EVENT_BYTES = 4 * 1024 * 1024;
const MAX_ERROR_BODY_BYTES = 1024 * 1024;
/** resourceVersions are opaque strings; the API server's are decimal and short. */
const MAX_RV_LENGTH = 64;

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | undefined => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : undefined);

/**
 * One line of a watch stream, read (pure, never throws): an event with its object read by
 * `read`, a bookmark, an expired version, an error, or something malformed.
 */
export function watchLine<T>(line: string, read: (raw: unknown) => ObjectRead<T>): WatchLine<T> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return { kind: 'malformed', reason: 'not JSON' };
  }
  return watchEvent(parsed, read);
}

/** One watch event already parsed from JSON, read (pure, never throws): what watchLine makes of it. */
export function watchEvent<T>(parsed: unknown, read: (raw: unknown) => ObjectRead<T>): WatchLine<T> {
  const type = obj(parsed)?.type;
  const object = obj(obj(parsed)?.object);
  if (typeof type !== 'string' || !object) return { kind: 'malformed', reason: 'not a watch event' };
  if (type === 'ERROR') {
    if (object.code === 410) return { kind: 'gone' };
    const message = typeof object.message === 'string' ? object.message.slice(0, 300) : '';
    return { kind: 'error', message: `ERROR event ${typeof object.code === 'number' ? object.code : '?'}${message ? `: ${message}` : ''}` };
  }
  const rv = obj(object.metadata)?.resourceVersion;
  if (typeof rv !== 'string' || rv === '' || rv.length > MAX_RV_LENGTH) return { kind: 'malformed', reason: 'no resourceVersion' };
  if (type === 'BOOKMARK') return { kind: 'bookmark', rv };
  if (type !== 'ADDED' && type !== 'MODIFIED' && type !== 'DELETED') return { kind: 'malformed', reason: `event type ${type.slice(0, 20)}`, rv };
  // The version still advances past an event that could not be read: asking again from
  // before it would only bring it back.
  const r = read(object);
  if (r.kind === 'invalid') return { kind: 'malformed', reason: r.reason, rv };
  if (type === 'DELETED' || r.kind === 'absent') return { kind: 'remove', rv, key: r.key, type };
  return { kind: 'upsert', rv, key: r.key, value: r.value, type };
}

interface WatchEnd {
  readonly gone: boolean;
  /** It delivered events, or ran its course (a quiet cluster sends none): no reason to back off. */
  readonly healthy: boolean;
}

/**
 * A second reader and holder of the same objects: one list and one watch feed both (the pod
 * watch keeps pods for the agents, the posture watch keeps them for the posture judges). A
 * tap reads every object the informer lists or is told of, with its own reader, and its
 * holder hears of them as the informer's own does; what its reader refuses is its own to
 * count. It never changes what the informer's holder gets, nor the informer's counters.
 */
export interface InformerTap<U = unknown> {
  read(raw: unknown): ObjectRead<U>;
  readonly holder: InformerHolder<U>;
}

export interface InformerDeps {
  readonly log: Logger;
  readonly metrics?: Metrics | undefined;
  /** Metric names start with this: `nodeward_pod_watch` gives `nodeward_pod_watch_lists_total`. */
  readonly metricPrefix: InformerPrefix;
  readonly random?: () => number;
  /** The waits between failed tries follow it (default: the system's). Socket deadlines stay on real time. */
  readonly clock?: Clock;
  /** Other readers and holders of the same objects (InformerTap). */
  readonly taps?: readonly InformerTap[];
}

export function createInformer<T>(config: InformerConfig, resource: InformerResource<T>, holder: InformerHolder<T>, deps: InformerDeps) {
  const { log, metrics } = deps;
  const random = deps.random ?? Math.random;
  const clock = deps.clock ?? systemClock;
  const pageSize = config.pageSize ?? DEFAULT_PAGE_SIZE;
  const maxPageBytes = config.maxPageBytes ?? DEFAULT_MAX_PAGE_BYTES;
  const maxEventBytes = config.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES;
  const what = resource.name;
  const taps = deps.taps ?? [];

  const counts = { lists: 0, watches: 0, relists: 0, failures: 0, events: 0, bookmarks: 0, malformed: 0, oversized: 0, refused: 0 };
  let synced = false;
  let resourceVersion = '';
  let lastError = '';
  let running: Promise<void> | undefined;
  let stopped = true;
  /** Aborts whatever request is in flight when the informer stops. */
  let abort: AbortController | undefined;
  let sleeping: { cancel: () => void; wake: () => void } | undefined;

  const count = (k: keyof typeof counts, by = 1, labels?: { type: string }): void => {
    counts[k] += by;
    // The families are declared in metrics.ts (informerFamilies); events is the one with a label.
    metrics?.inc(`${deps.metricPrefix}_${k}_total` as `${InformerPrefix}_events_total`, by, labels as { type: string });
  };

  function refuse(): void {
    if (counts.refused === 0) log.warn({ resource: what, maxObjects: config.maxObjects }, `${what}: more than the bound; the others are left out`);
    count('refused');
  }

  function open(path: string, opts: KubeRequestOptions = {}): Promise<KubeResponse> {
    return kubeRequest(config.connection, 'GET', path, { ...opts, ...(abort ? { signal: abort.signal } : {}) });
  }

  /** Lists every object, page by page, and the holder keeps exactly those; the watch resumes from the list's version. */
  async function list(): Promise<void> {
    count('lists');
    const fresh = new Map<string, T>();
    const tapped = taps.map(() => new Map<string, unknown>());
    let cont = '';
    let rv = '';
    do {
      const q = new URLSearchParams({ limit: String(pageSize) });
      if (cont) q.set('continue', cont);
      const res = await open(`${resource.path}?${q}`);
      const json = await readJson(res, maxPageBytes, `list ${what}`);
      // 410 here is an expired continue token: the next attempt lists from the start.
      if (res.status !== 200) throw statusError(`list ${what}`, res.status, json);
      const page = obj(json);
      const meta = obj(page?.metadata);
      const items = page?.items;
      const pageRv = meta?.resourceVersion;
      if (!Array.isArray(items) || typeof pageRv !== 'string' || pageRv === '' || pageRv.length > MAX_RV_LENGTH) {
        throw new KubeApiError(`list ${what}: the answer is not a list`, true);
      }
      for (const item of items) {
        taps.forEach((tap, i) => {
          const t = tap.read(item);
          const m = tapped[i]!;
          if (t.kind === 'object' && (m.size < config.maxObjects || m.has(t.key))) m.set(t.key, t.value);
        });
        const r = resource.read(item);
        if (r.kind === 'invalid') count('malformed');
        if (r.kind !== 'object') continue;
        if (fresh.size < config.maxObjects || fresh.has(r.key)) fresh.set(r.key, r.value);
        else refuse();
      }
      rv = pageRv;
      cont = typeof meta?.continue === 'string' ? meta.continue : '';
    } while (cont && !stopped);
    if (stopped) return;
    holder.replace(fresh);
    taps.forEach((tap, i) => tap.holder.replace(tapped[i]!));
    synced = true;
    resourceVersion = rv;
  }

  /** Applies one watch line to the holder; says what it means for the watch. */
  function apply(line: string): { rv?: string; gone?: boolean; error?: string } {
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      count('malformed');
      return {};
    }
    const w = watchEvent(parsed, resource.read);
    for (const tap of taps) {
      const t = watchEvent(parsed, tap.read);
      if (t.kind === 'remove') tap.holder.remove(t.key);
      else if (t.kind === 'upsert') tap.holder.upsert(t.key, t.value);
    }
    switch (w.kind) {
      case 'malformed':
        count('malformed');
        return w.rv === undefined ? {} : { rv: w.rv };
      case 'gone':
        return { gone: true };
      case 'error':
        return { error: w.message };
      case 'bookmark':
        count('bookmarks');
        count('events', 1, { type: 'BOOKMARK' });
        return { rv: w.rv };
      case 'remove':
        count('events', 1, { type: w.type });
        holder.remove(w.key);
        return { rv: w.rv };
      case 'upsert':
        count('events', 1, { type: w.type });
        if (!holder.upsert(w.key, w.value)) refuse();
        return { rv: w.rv };
    }
  }

  /**
   * One watch from `resourceVersion`, until the server ends it, the version expires or it
   * fails. The version advances with every event, so whatever ends the watch, the next one
   * resumes after the last event applied.
   */
  async function watch(): Promise<WatchEnd> {
    count('watches');
    const q = new URLSearchParams({ watch: '1', resourceVersion, allowWatchBookmarks: 'true', timeoutSeconds: String(config.watchSeconds) });
    const startedAt = Date.now();
    // The server is silent while nothing changes, up to timeoutSeconds; the socket may be too.
    const res = await open(`${resource.path}?${q}`, { idleTimeoutMs: config.watchSeconds * 1000 + config.connection.timeoutMs });
    if (res.status !== 200) {
      const json = await readJson(res, MAX_ERROR_BODY_BYTES, `watch ${what}`);
      if (res.status === 410) return { gone: true, healthy: false };
      throw statusError(`watch ${what}`, res.status, json);
    }
    return new Promise<WatchEnd>((resolve, reject) => {
      let progressed = false;
      let done = false;
      const end = (gone: boolean): void => {
        done = true;
        resolve({ gone, healthy: progressed || (!gone && Date.now() - startedAt >= config.watchSeconds * 500) });
      };
      const lines = createLineSplitter(maxEventBytes, (line) => {
        if (done) return;
        const r = apply(line);
        if (r.rv !== undefined) {
          resourceVersion = r.rv;
          progressed = true;
        }
        if (r.gone) {
          end(true);
          res.close(new Error('resourceVersion expired'));
        } else if (r.error) {
          done = true;
          reject(new KubeApiError(`watch ${what}: ${r.error}`, true));
          res.close(new Error(r.error));
        }
      }, () => count('oversized'));
      res.body.on('data', (chunk: Buffer) => lines.push(chunk));
      res.body.on('end', () => end(false));
      const cut = (err?: Error): void => {
        if (stopped) end(false);
        else reject(new KubeApiError(`watch ${what}: ${(res.failure() ?? err ?? new Error('connection closed')).message}`, true));
      };
      res.body.on('error', cut);
      res.body.on('close', () => {
        if (!res.body.complete) cut();
      });
    });
  }

  function sleep(ms: number): Promise<void> {
    return new Promise((wake) => {
      const cancel = clock.after(ms, () => {
        sleeping = undefined;
        wake();
      });
      sleeping = { cancel, wake };
    });
  }

  const backoff = (failures: number): number => backoffMs(failures, { initialMs: config.backoffBaseMs, maxMs: config.backoffMaxMs }, random);

  async function run(): Promise<void> {
    let mustList = true;
    let failures = 0;
    while (!stopped) {
      let healthy = false;
      try {
        if (mustList) {
          await list();
          mustList = false;
        }
        if (stopped) break;
        const w = await watch();
        healthy = w.healthy;
        if (w.gone) {
          count('relists');
          log.info({ resource: what, resourceVersion }, `${what}: the resourceVersion expired; listing again`);
          mustList = true;
        }
      } catch (err) {
        if (stopped) break;
        failures++;
        lastError = (err as Error).message;
        count('failures');
        const wait = backoff(failures);
        log.warn({ resource: what, err: lastError, attempt: failures, retryInMs: wait }, `${what}: list or watch failed`);
        await sleep(wait);
        continue;
      }
      // A watch that ended early having delivered nothing (an immediate close, a 410 at once)
      // waits too, so a server that keeps doing that is not asked again in a tight loop.
      if (healthy) failures = 0;
      else if (!stopped) await sleep(backoff(++failures));
    }
  }

  return {
    /** Starts listing and watching in the background; safe twice. */
    start(): void {
      if (!stopped) return;
      stopped = false;
      abort = new AbortController();
      running = run().catch((err: Error) => log.error({ resource: what, err: err.message }, `${what}: the informer stopped unexpectedly`));
    },
    /** Ends the watch; safe before start and twice. The holder hears nothing more. */
    async stop(): Promise<void> {
      if (stopped) return;
      stopped = true;
      abort?.abort();
      if (sleeping) {
        const s = sleeping;
        sleeping = undefined;
        s.cancel();
        s.wake();
      }
      await running;
      running = undefined;
    },
    stats(): InformerStats {
      return { synced, resourceVersion, ...counts, lastError };
    },
  };
}

export type Informer = ReturnType<typeof createInformer>;
