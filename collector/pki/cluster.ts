// The collector's PKI inside a cluster (pki.mode kubernetes): on the first start it creates
// its CA and serving certificate and keeps them in the Secret pki.secret, publishes the CA
// bundle to the ConfigMap the agents mount, and generates the admin API token; afterwards it
// renews the serving certificate and rotates the CA (cluster-state.ts says how), and hands
// each change to the listeners without a restart.
//
// The manifests create the Secrets and the ConfigMap empty (RBAC cannot limit `create` to a
// name); the collector only reads and updates them, each update guarded by the
// resourceVersion it read. Two replicas starting together both read the empty Secret and
// both make a CA, but only the first update lands: the other gets 409, reads again and takes
// the CA that won. Every replica reads the Secret again every pki.checkSeconds, so a step
// one replica takes reaches the others.
//
// Start-up fails, before anything listens, when the API server refuses a call (the error
// names the permission), or the Secret holds something unusable; an API server that is
// unreachable or answers 429/5xx is tried again a few times first. Later failures are logged
// and counted, and the current credentials stay in use.
import type { Logger } from '../../proto/support/logger.js';
import type { ApiToken, ClusterPkiSettings, CollectorConfig } from '../config.js';
import type { Metrics } from '../metrics.js';
import { backoffMs, type Backoff } from '../backoff.js';
import { KubeApiError } from '../kube/connection.js';
import { createKubeObjects, describe, type KubeObjects, type ObjectRef, type StoredObject } from '../kube/objects.js';
import { ensureAdminToken } from './admin-token.js';
import {
  applyStep, bundleOf, CA_CERT_KEY, planStep, readPkiSecret, retireAfterMs, ROTATE_ANNOTATION,
  type PkiPolicy, type PkiState, type Step,
} from './cluster-state.js';

export { ROTATE_ANNOTATION } from './cluster-state.js';

/** What the listeners serve and sign with. */
export interface ClusterMaterial {
  /** `ca`: every trusted CA, the signing one first (client certificates are checked against all). */
  readonly tls: { readonly ca: Buffer; readonly cert: Buffer; readonly key: Buffer };
  /** The signing CA's key. */
  readonly caKey: Buffer;
}

export interface ClusterPkiDeps {
  readonly log: Logger;
  readonly metrics?: Metrics;
  /** The clock steps are decided by (ms); tests move it instead of waiting. */
  readonly now?: () => number;
  readonly objects?: KubeObjects;
}

/** Steps taken in a row before giving up (each is an update; conflicts re-read). */
const MAX_STEPS = 8;

/**
 * The start's tries while the API server is unreachable or answers 429/5xx (a restart of it,
 * a dropped connection under load): 6 tries, about 4-8 s in all. A refusal (403, 404, a bad
 * Secret) is not tried again: it names what to fix.
 */
const START_TRIES = 6;
const START_BACKOFF: Backoff = { initialMs: 250, maxMs: 4000 };

export class ClusterPkiError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

export function createClusterPki(settings: ClusterPkiSettings, deps: ClusterPkiDeps) {
  const { log } = deps;
  const now = deps.now ?? Date.now;
  const objects = deps.objects ?? createKubeObjects(settings.connection);
  const secretRef: ObjectRef = { kind: 'Secret', namespace: settings.namespace, name: settings.secret };
  const tokenRef: ObjectRef = { kind: 'Secret', namespace: settings.namespace, name: settings.tokenSecret };
  const caMapRef: ObjectRef = { kind: 'ConfigMap', namespace: settings.caConfigMap.namespace, name: settings.caConfigMap.name };
  const policy: PkiPolicy = {
    hosts: settings.hosts, caValidDays: settings.caValidDays, caRotateBeforeDays: settings.caRotateBeforeDays,
    servingValidDays: settings.servingValidDays, servingRenewBeforeDays: settings.servingRenewBeforeDays,
    rotationAnnounceMs: settings.rotationAnnounceMs, retireAfterMs: retireAfterMs(settings.agentCertificateLifetimeMs, settings.checkMs),
  };
  const listeners: Array<(m: ClusterMaterial) => void | Promise<void>> = [];
  let material: ClusterMaterial | undefined;
  let state: PkiState | undefined;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;

  const count = {
    conflict: (): void => deps.metrics?.inc('nodeward_pki_conflicts_total'),
    step: (step: string): void => deps.metrics?.inc('nodeward_pki_steps_total', 1, { step }),
    refreshFailure: (): void => deps.metrics?.inc('nodeward_pki_refresh_failures_total'),
  };

  /** Reads the Secret and takes every step that is due, until none is. */
  async function reconcileSecret(): Promise<PkiState> {
    let obj: StoredObject = await objects.get(secretRef);
    for (let i = 0; i < MAX_STEPS; i++) {
      const current = readPkiSecret(obj.data, describe(secretRef));
      const t = now();
      const step = planStep(current, t, policy, obj.annotations[ROTATE_ANNOTATION]);
      if (step.kind === 'none') return current!;
      const data = await applyStep(current, step, t, policy);
      const updated = await objects.update(obj, data);
      if (updated === 'conflict') {
        // Someone else wrote first (another replica): what they wrote is read and judged.
        log.info({ secret: describe(secretRef), step: step.kind }, 'the PKI Secret changed while this step was prepared; reading it again');
        count.conflict();
        obj = await objects.get(secretRef);
        continue;
      }
      logStep(step, readPkiSecret(updated.data, describe(secretRef))!);
      count.step(step.kind);
      obj = updated;
    }
    throw new ClusterPkiError('PKI_UNSETTLED', `${describe(secretRef)}: still changing after ${MAX_STEPS} updates; is something else writing it?`);
  }

  function logStep(step: Step, s: PkiState): void {
    const signing = s.cas[0]!.cert;
    const fields = { secret: describe(secretRef), step: step.kind, ca: signing.subject.replace(/^CN=/, ''), caNotAfter: new Date(signing.validTo).toISOString(), cas: s.cas.length, servingNotAfter: s.serving ? new Date(s.serving.cert.validTo).toISOString() : undefined };
    switch (step.kind) {
      case 'create': return log.info(fields, 'CA and serving certificate created');
      case 'replace-expired': return log.warn(fields, 'the signing CA had expired: a new CA replaces it; the agents enroll again once their ConfigMap has it');
      case 'announce': return log.info({ ...fields, why: step.why }, 'CA rotation: a new CA is published to the agents next to the current one');
      case 'switch': return log.info(fields, 'CA rotation: the new CA signs from now on; the old one stays trusted until the agent certificates it signed expire');
      case 'retire': return log.info(fields, 'CA rotation: done, the old CA is no longer trusted');
      case 'issue-serving': return log.info({ ...fields, why: step.why }, 'serving certificate issued');
      case 'none': return undefined;
    }
  }

  /** The ConfigMap holds exactly the bundle. */
  async function publishBundle(s: PkiState): Promise<void> {
    const bundle = bundleOf(s);
    for (let i = 0; i < MAX_STEPS; i++) {
      const cm = await objects.get(caMapRef);
      if (cm.data[CA_CERT_KEY] === bundle) return;
      const updated = await objects.update(cm, { ...cm.data, [CA_CERT_KEY]: bundle });
      if (updated === 'conflict') {
        count.conflict();
        continue;
      }
      log.info({ configMap: describe(caMapRef), cas: s.cas.length }, 'CA bundle published for the agents');
      return;
    }
    throw new ClusterPkiError('PKI_UNSETTLED', `${describe(caMapRef)}: still changing after ${MAX_STEPS} updates; is something else writing it?`);
  }

  function materialOf(s: PkiState): ClusterMaterial {
    return {
      tls: { ca: Buffer.from(bundleOf(s)), cert: Buffer.from(s.serving!.certPem), key: Buffer.from(s.serving!.keyPem) },
      caKey: Buffer.from(s.caKey),
    };
  }

  function same(a: ClusterMaterial, b: ClusterMaterial): boolean {
    return a.tls.ca.equals(b.tls.ca) && a.tls.cert.equals(b.tls.cert) && a.tls.key.equals(b.tls.key) && a.caKey.equals(b.caKey);
  }

  async function refreshOnce(): Promise<boolean> {
    const s = await reconcileSecret();
    await publishBundle(s);
    state = s;
    const next = materialOf(s);
    if (material && same(material, next)) return false;
    // The listeners first: when one fails, the next check finds the change still to hand over.
    for (const l of listeners) await l(next);
    material = next;
    return true;
  }

  return {
    /** The credentials in use; undefined before start. */
    get material(): ClusterMaterial | undefined {
      return material;
    },
    /** The state read last (for tests and diagnostics). */
    get state(): PkiState | undefined {
      return state;
    },
    /** Called with new credentials after each change (a renewal, a rotation step, another replica's write). */
    onChange(listener: (m: ClusterMaterial) => void | Promise<void>): void {
      listeners.push(listener);
    },
    /**
     * Fills or reads the Secret, publishes the bundle, and reads or generates the admin
     * token (when `adminToken`); throws a ClusterPkiError (or the API error, which names the
     * permission) when any of it fails. Then checks again every checkMs.
     */
    async start(): Promise<{ material: ClusterMaterial; adminToken: ApiToken | undefined }> {
      for (let attempt = 1; ; attempt++) {
        try {
          await refreshOnce();
          const adminToken = settings.adminToken ? await ensureAdminToken(objects, tokenRef, { log }) : undefined;
          timer = setInterval(() => void this.refresh(), settings.checkMs);
          timer.unref();
          return { material: material!, adminToken };
        } catch (err) {
          const e = err as Error & { code?: string };
          if (err instanceof KubeApiError && err.retryable && attempt < START_TRIES) {
            const waitMs = backoffMs(attempt, START_BACKOFF);
            count.refreshFailure();
            log.warn({ err: e.message, attempt, retryInMs: waitMs }, 'the Kubernetes API is unavailable; trying the PKI start again');
            await new Promise((resolve) => setTimeout(resolve, waitMs));
            continue;
          }
          throw new ClusterPkiError(e.code ?? 'PKI_BOOTSTRAP', `cluster PKI (pki.mode kubernetes): ${e.message}${attempt > 1 ? ` (after ${attempt} tries)` : ''}`);
        }
      }
    },
    /**
     * Reads the Secret again and takes what step is due; true when the credentials changed.
     * A failure is logged and counted, never thrown: the current credentials stay.
     */
    async refresh(): Promise<boolean> {
      while (running) await running.catch(() => undefined);
      let changed = false;
      running = refreshOnce().then((c) => {
        changed = c;
      }, (err: unknown) => {
        count.refreshFailure();
        log.warn({ err: (err as Error).message, secret: describe(secretRef) }, 'cannot check the PKI Secret; keeping the credentials in use');
      });
      try {
        await running;
      } finally {
        running = undefined;
      }
      return changed;
    },
    /** Safe before start and twice. */
    async stop(): Promise<void> {
      if (timer) clearInterval(timer);
      timer = undefined;
      await running?.catch(() => undefined);
    },
  };
}

export type ClusterPki = ReturnType<typeof createClusterPki>;

/** The configuration with the cluster's credentials in place of the files of pki.mode files. */
export function withClusterMaterial(config: CollectorConfig, material: ClusterMaterial, adminToken: ApiToken | undefined): CollectorConfig {
  return {
    ...config,
    tls: material.tls,
    caKey: material.caKey,
    // api.certFile, when given, stays what the API serves; api.insecure stays plain.
    apiTls: config.api.insecure ? undefined : (config.apiTls ?? { cert: material.tls.cert, key: material.tls.key }),
    apiTokens: adminToken ? [...config.apiTokens, adminToken] : config.apiTokens,
  };
}
