// Who this collector's cluster is (collector/fleet.ts ClusterIdentity), settled once at start:
// the kube-system namespace's metadata.uid, which Kubernetes gives a cluster when it is made
// and never changes, and the display name `cluster.name` (or one derived from the UID,
// cluster-name.ts). Finding ids and the database's cluster_identity row are keyed by the UID,
// so a wrong one would mix clusters: the answer is validated (a UID of 1-64 hex digits and
// '-'), and what cannot be read is refused with a reason, never guessed. A collector without
// a Kubernetes API (`npm start`) has uid ''.
//
// The read goes through the one Kubernetes client (connection.ts) as the collector's
// ServiceAccount, which needs `get` on that one namespace (manifests/collector/rbac.yaml).
// An unreachable API server, 429 and 5xx are retried with the collector's backoff on the
// injected clock until the caller's deadline; 403 and 404 are permanent and name the rule.
// Every failed try is counted in nodeward_cluster_identity_failures_total.
import type { Logger } from '../../proto/support/logger.js';
import { backoffMs, type Backoff } from '../backoff.js';
import type { Clock } from '../clock.js';
import { clusterDisplayName } from '../cluster-name.js';
import type { ClusterIdentity } from '../fleet.js';
import type { Metrics } from '../metrics.js';
import { kubeRequest, readJson, statusError, KubeApiError, type KubeConnection } from './connection.js';

export const KUBE_SYSTEM_PATH = '/api/v1/namespaces/kube-system';
/** The longest UID taken (Kubernetes makes 36-character UUIDs). */
export const MAX_CLUSTER_UID = 64;
/** A Namespace object is a few KiB at most (its managedFields included). */
const MAX_RESPONSE_BYTES = 256 * 1024;
export const IDENTITY_BACKOFF: Backoff = { initialMs: 500, maxMs: 10_000 };
/** How long a start may wait for the API server by default: then the collector fails and is restarted. */
export const DEFAULT_IDENTITY_DEADLINE_MS = 120_000;

const UID = /^[0-9a-fA-F-]+$/;
/** The RBAC rule the read needs, as the error messages name it. */
const RULE = 'grant "get" on namespaces with resourceNames ["kube-system"] in a ClusterRole bound to the collector\'s ServiceAccount (manifests/collector/rbac.yaml, ClusterRole nodeward-collector-cluster-identity)';

export type FailureReason = 'transient' | 'forbidden' | 'not_found' | 'invalid' | 'other';

/** Why the identity could not be read; `retryable` failures are tried again until the deadline. */
export class ClusterIdentityError extends Error {
  readonly code = 'CLUSTER_IDENTITY';
  constructor(message: string, readonly reason: FailureReason, readonly retryable: boolean) {
    super(message);
  }
}

export type UidReading =
  | { readonly kind: 'uid'; readonly uid: string }
  | { readonly kind: 'refused'; readonly why: string };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The UID in an answer to GET /api/v1/namespaces/kube-system, or why it is refused. Never throws. */
export function parseKubeSystemUid(json: unknown): UidReading {
  if (!isObject(json)) return { kind: 'refused', why: 'the answer is not a JSON object' };
  if (json['kind'] !== undefined && json['kind'] !== 'Namespace') return { kind: 'refused', why: 'the answer is not a Namespace' };
  const metadata = json['metadata'];
  if (!isObject(metadata)) return { kind: 'refused', why: 'the answer has no metadata' };
  if (metadata['name'] !== 'kube-system') return { kind: 'refused', why: 'the answer is not the kube-system namespace' };
  const uid = metadata['uid'];
  if (typeof uid !== 'string') return { kind: 'refused', why: uid === undefined ? 'metadata.uid is missing' : `metadata.uid is a ${Array.isArray(uid) ? 'list' : uid === null ? 'null' : typeof uid}, not a string` };
  if (uid === '') return { kind: 'refused', why: 'metadata.uid is empty' };
  if (uid.length > MAX_CLUSTER_UID) return { kind: 'refused', why: `metadata.uid has ${uid.length} characters; at most ${MAX_CLUSTER_UID}` };
  if (!UID.test(uid)) return { kind: 'refused', why: `metadata.uid ${JSON.stringify(uid)} holds characters other than hex digits and '-'` };
  return { kind: 'uid', uid };
}

/** One read of the UID; a ClusterIdentityError says why it failed and whether to try again. */
export async function readClusterUid(conn: KubeConnection, signal?: AbortSignal): Promise<string> {
  const what = 'get namespace kube-system';
  try {
    const res = await kubeRequest(conn, 'GET', KUBE_SYSTEM_PATH, signal ? { signal } : {});
    const json = await readJson(res, MAX_RESPONSE_BYTES, what);
    if (res.status === 403) {
      throw new ClusterIdentityError(`the collector's ServiceAccount may not get namespace kube-system (HTTP 403), which names the cluster (its UID); ${RULE}`, 'forbidden', false);
    }
    if (res.status === 404) {
      throw new ClusterIdentityError(`namespace kube-system was not found (HTTP 404): every cluster has it, so the server is not a Kubernetes API server or hides it; check enroll.kubernetes.server, and ${RULE}`, 'not_found', false);
    }
    if (res.status !== 200) {
      const e = statusError(what, res.status, json);
      throw new ClusterIdentityError(e.message, e.retryable ? 'transient' : 'other', e.retryable);
    }
    const reading = parseKubeSystemUid(json);
    if (reading.kind === 'refused') throw new ClusterIdentityError(`${what}: the cluster's UID cannot be read: ${reading.why}`, 'invalid', false);
    return reading.uid;
  } catch (err) {
    if (err instanceof ClusterIdentityError) throw err;
    if (err instanceof KubeApiError) throw new ClusterIdentityError(err.message, err.retryable ? 'transient' : 'other', err.retryable);
    throw new ClusterIdentityError(`${what}: ${(err as Error).message}`, 'other', false);
  }
}

export interface ResolveClusterIdentityOptions {
  /** The Kubernetes API, or undefined without one (uid ''). */
  readonly connection: KubeConnection | undefined;
  /** `cluster.name` as configured ('' derives it). */
  readonly configuredName: string;
  readonly clock: Clock;
  readonly log: Logger;
  readonly metrics?: Pick<Metrics, 'inc'>;
  /** How long, on `clock`, transient failures are retried before giving up. */
  readonly deadlineMs: number;
  readonly backoff?: Backoff;
  readonly random?: () => number;
  /** Stops the waiting and the request in flight (the collector stops during its start). */
  readonly signal?: AbortSignal;
}

/** Waits `ms` on the clock, or until `signal` aborts. */
function wait(clock: Clock, ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    // The system clock's timers do not keep the process alive; nothing else may yet at start.
    const hold = setInterval(() => undefined, 60_000);
    const done = (): void => {
      clearInterval(hold);
      signal?.removeEventListener('abort', onAbort);
    };
    const cancel = clock.after(ms, () => {
      done();
      resolve();
    });
    const onAbort = (): void => {
      cancel();
      done();
      reject(new ClusterIdentityError('reading the cluster identity was stopped', 'other', false));
    };
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * The cluster's identity: uid '' without a Kubernetes API; else the kube-system namespace's
 * UID, retried through transient failures until `deadlineMs` has passed on the clock. Throws
 * a ClusterIdentityError when it cannot be read (permanent, or out of time).
 */
export async function resolveClusterIdentity(o: ResolveClusterIdentityOptions): Promise<ClusterIdentity> {
  if (!o.connection) {
    const identity = { uid: '', name: clusterDisplayName(o.configuredName, '') };
    o.log.info({ cluster: identity.name }, 'no Kubernetes API: the cluster has no UID');
    return identity;
  }
  const start = o.clock.now();
  for (let attempt = 1; ; attempt++) {
    try {
      const uid = await readClusterUid(o.connection, o.signal);
      const identity = { uid, name: clusterDisplayName(o.configuredName, uid) };
      o.log.info({ cluster: identity.name, clusterUid: uid, attempts: attempt }, 'cluster identity read from the kube-system namespace');
      return identity;
    } catch (err) {
      const e = err instanceof ClusterIdentityError ? err : new ClusterIdentityError((err as Error).message, 'other', false);
      o.metrics?.inc('nodeward_cluster_identity_failures_total', 1, { reason: e.reason });
      if (!e.retryable || o.signal?.aborted) throw e;
      const waitMs = backoffMs(attempt, o.backoff ?? IDENTITY_BACKOFF, o.random);
      const spent = o.clock.now() - start;
      if (spent + waitMs > o.deadlineMs) {
        throw new ClusterIdentityError(`cannot read the cluster's UID from the Kubernetes API within ${o.deadlineMs} ms (${attempt} tries); the last error: ${e.message}`, 'transient', false);
      }
      o.log.warn({ err: e.message, attempt, retryInMs: waitMs }, "cannot read the cluster's UID yet; trying again");
      await wait(o.clock, waitMs, o.signal);
    }
  }
}
