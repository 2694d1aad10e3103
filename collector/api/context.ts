// What the API's route modules share.
import type { FastifyRequest } from 'fastify';
import type { Metrics } from '../metrics.js';
import type { Principal, Role } from './auth.js';
import type { Session } from './sessions.js';
import type { Store } from '../store/store.js';
import type { BaselineSync } from '../pipeline/baselines.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import type { PostureView } from '../posture/view.js';
import type { Fleet } from '../fleet.js';

/** Operators' changes to findings: through the pipeline's commit stage, like every change. */
export type FindingCommands = Pick<Pipeline, 'suppress' | 'unsuppress' | 'resolveNode'>;

export interface ApiContext {
  /** Reads (which never write) of the own cluster; the writes go through the pipeline and baselines. */
  readonly store: Store;
  /** The clusters the read routes answer for (the own one, which is `store`, first); never written. */
  readonly fleet: Fleet;
  readonly pipeline: FindingCommands;
  /** Operators' baseline changes (absent: the API cannot change baselines). */
  readonly baselines?: BaselineSync | undefined;
  readonly metrics: Metrics;
  readonly now: () => number;
  readonly staleAfterMs: number;
  /** Nodes labelled demo (collector setting nodes.demo). */
  readonly demoNodes: ReadonlySet<string>;
  /** The cluster posture watch (absent: the collector does not watch the Kubernetes API; who-can answers 503). */
  readonly posture?: PostureView | undefined;
}

export interface AuditSpec {
  /** A stable name for the call, e.g. "finding.suppress". */
  readonly action: string;
  /** What the request carried that belongs in the record (called even when it was refused early). */
  readonly detail?: (req: FastifyRequest) => Record<string, unknown>;
  /** What the call acted on, when it is not the path's id or name (a baseline key in the body). */
  readonly target?: (req: FastifyRequest) => string;
}

/** A refusal of a caller nobody authenticated: audited as one aggregated row per source (store/audit.ts). */
export interface Refusal {
  /** e.g. "ui.login", "api.auth", "ui.write" (a write with the session cookie, refused). */
  readonly action: string;
  /** e.g. "bad-credentials", "no-credentials", "over-failure-limit", "cross-origin", "no-csrf-token", "bad-csrf-token". */
  readonly reason: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
    /** Set when the dashboard's session cookie authenticated the request (not a bearer token). */
    session?: Session;
    /** Set when the request was refused before anyone authenticated; the audit hook aggregates it. */
    refusal?: Refusal;
  }
  interface FastifyContextConfig {
    /** The role the call needs; reader when absent. */
    role?: Role;
    /** No authentication at all (health, metrics, the login page, static assets). */
    public?: boolean;
    /** A dashboard page: without a session the browser is sent to the login page. */
    page?: boolean;
    /** Write an audit record for every call of this route. */
    audit?: AuditSpec;
  }
}

