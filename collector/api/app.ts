// The query API (and the dashboard it serves) as a Fastify app, built apart from listen()
// so tests can inject requests. Every request passes one gate: authentication (a bearer
// token, or the dashboard's session cookie: on a write only with the session's CSRF token,
// from the dashboard's own page), the token's rate limit, its role. Calls that change
// something are written to the audit log.
//
// A request body holding the NUL character (U+0000) is refused with a 400 naming the field,
// before validation, whatever the route: no PostgreSQL text holds a NUL (proto/support/escape.ts),
// and an operator's input (a suppress reason, a baseline key or path, a listen) is better
// refused, for its sender to see, than stored other than it was sent. The audit record of such
// a refused call keeps what was sent with its NULs written as `\x00`.
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import swagger from '@fastify/swagger';
import type { Logger } from '../../proto/support/logger.js';
import type { Metrics } from '../metrics.js';
import type { Store } from '../store/store.js';
import type { BaselineSync } from '../pipeline/baselines.js';
import { allows, createAuthenticator, type Principal } from './auth.js';
import type { ApiToken } from '../config.js';
import { createRateLimiter } from './rate-limit.js';
import { createFailureLimiter, type FailureLimits } from './credential-failures.js';
import { parseParameters } from './parameters.js';
import { escapeNul, escapeNulJson, NUL } from '../../proto/support/escape.js';
import { ErrorBody } from './schemas.js';
import { createSessions, CSRF_HEADER, csrfMatches, readCookie, SESSION_COOKIE, type Session } from './sessions.js';
import { fromOwnPage } from './origin.js';
import type { ApiContext, FindingCommands } from './context.js';
import type { PostureView } from '../posture/view.js';
import { singleFleet, type Fleet } from '../fleet.js';
export type { AuditSpec } from './context.js';
import { registerFindingRoutes } from './findings.js';
import { registerNodeRoutes } from './nodes.js';
import { registerSummaryRoutes } from './summary.js';
import { registerAuditRoutes } from './audit.js';
import { registerBaselineRoutes } from './baselines.js';
import { registerProcessRoutes } from './processes.js';
import { registerWebhookRoutes } from './webhooks.js';
import { registerPostureRoutes } from './posture.js';
import { registerClusterRoutes } from './clusters.js';
import { ClusterUnreadable, logUnreadable } from './fleet-reads.js';
import { registerDashboard } from '../ui/routes.js';

export interface ApiDeps {
  /** The own cluster's store. */
  readonly store: Store;
  /**
   * The clusters the read routes answer for, its own member's store being `store` (absent: a
   * fleet of one, `store`, named local with uid '').
   */
  readonly fleet?: Fleet | undefined;
  /** Operators' changes to findings (suppress, lift, delete a node). */
  readonly pipeline: FindingCommands;
  /** Central baselines: operators' changes go through it (stored, pushed to agents). */
  readonly baselines?: BaselineSync | undefined;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly tokens: readonly ApiToken[];
  readonly staleAfterMs: number;
  readonly https?: { readonly cert: Buffer; readonly key: Buffer } | undefined;
  readonly ready: () => boolean;
  readonly now?: () => number;
  readonly rateLimit?: { readonly perSecond: number; readonly burst: number };
  readonly sessionTtlMs?: number;
  /** Failed credentials allowed per source and in all (default FAILURE_LIMITS). */
  readonly failureLimits?: FailureLimits;
  /** Origins besides its own that the dashboard's login form may be posted from (api.allowedOrigins). */
  readonly allowedOrigins?: readonly string[];
  /** Nodes labelled demo (nodes.demo). */
  readonly demoNodes?: readonly string[];
  /** The cluster posture watch, for who-can (absent: posture is off, who-can answers 503). */
  readonly posture?: PostureView | undefined;
}

/** Sent with every response: the dashboard loads only its own script and style, nothing inline. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self'", "connect-src 'self'",
  "form-action 'self'", "frame-ancestors 'none'", "base-uri 'none'",
].join('; ');

export async function buildApi(deps: ApiDeps): Promise<FastifyInstance> {
  const now = deps.now ?? Date.now;
  const auth = createAuthenticator(deps.tokens);
  const rate = deps.rateLimit ?? { perSecond: 20, burst: 100 };
  const limiter = createRateLimiter(rate, now);
  const sessions = createSessions({ ttlMs: deps.sessionTtlMs ?? 12 * 3600_000, now, store: deps.store.sessions, stillHolds: auth.stillHolds });
  const allowedOrigins = deps.allowedOrigins ?? [];
  const failures = createFailureLimiter(now, deps.failureLimits);
  const { metrics } = deps;
  const app = Fastify({
    loggerInstance: deps.log,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 64 * 1024,
    // No coercion: parameters are read from text by one strict grammar (parameters.ts), and
    // Ajv's own coercion let limit=Infinity past the bounds.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: true } },
    ...(deps.https ? { https: { cert: deps.https.cert, key: deps.https.key } } : {}),
  }) as unknown as FastifyInstance;

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'nodeward collector API', version: 'v1' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    // The role each call needs and whether it is audited come from the route's own config, so
    // the document (and docs/api.md, generated from it) says so without a second list.
    // The answers of the gate (onRequest below: 401, 429, 403) and of validation (400) are
    // added here from the same config and schema, so no route lists them by hand.
    transform: ({ schema, url, route }) => {
      if (!schema) return { schema, url };
      const cfg = route.config as { role?: string; public?: boolean; audit?: unknown } | undefined;
      const role = cfg?.public ? 'none' : cfg?.role ?? 'reader';
      const response = documentedErrors(schema as RouteSchema, cfg?.public === true, role === 'admin');
      return { schema: { ...schema, response, ...(cfg?.public ? { security: [] } : {}), 'x-nodeward-role': role, ...(cfg?.audit ? { 'x-nodeward-audited': true } : {}) }, url };
    },
  });

  app.setErrorHandler((err: Error & { statusCode?: number; validation?: ValidationIssue[]; validationContext?: string }, req, reply) => {
    if (err instanceof ClusterUnreadable) {
      logUnreadable(req.log, err, { url: req.url });
      return reply.code(503).header('retry-after', '5').send({ error: err.message });
    }
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) {
      req.log.error({ err: err.message, url: req.url }, 'request failed');
      return reply.code(500).send({ error: 'internal error' });
    }
    const message = err.validation && err.validationContext ? validationMessage(err.validationContext, err.validation, err.message) : err.message;
    return reply.code(status).send({ error: message });
  });

  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    const started = process.hrtime.bigint();
    reply.raw.once('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      metrics.inc('nodeward_api_requests_total', 1, { code: String(reply.statusCode) });
      metrics.observe('nodeward_api_request_duration_seconds', seconds, { route: req.routeOptions.url ?? 'unmatched' });
    });
    reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('x-frame-options', 'DENY');
    reply.header('referrer-policy', 'no-referrer');
    // Findings, tokens' views and node inventories are not for shared or browser caches; the
    // dashboard's static assets say otherwise for themselves.
    reply.header('cache-control', 'no-store');
    if (deps.https) reply.header('strict-transport-security', 'max-age=31536000');

    const cfg = req.routeOptions.config;
    if (cfg.public) return;
    let principal: Principal | undefined;
    if (req.headers.authorization !== undefined) principal = auth.authenticate(req.headers.authorization);
    else {
      const session = await sessions.get(readCookie(req.headers.cookie, SESSION_COOKIE));
      // A write the cookie authenticates must come from the dashboard's own page and carry the
      // session's CSRF token (on top of SameSite=Strict): a browser sends the cookie with a
      // forged cross-site request, but no other site can read the token or set the header.
      const refused = session && req.method !== 'GET' && req.method !== 'HEAD' ? csrfRefusal(req, session) : undefined;
      if (refused) {
        req.refusal = { action: 'ui.write', reason: refused.reason };
        metrics.inc('nodeward_ui_write_refusals_total', 1, { reason: refused.reason });
        return reply.code(403).send({ error: refused.error });
      }
      if (session) {
        principal = session.principal;
        req.session = session;
      }
    }
    if (!principal && req.headers.authorization !== undefined) {
      // A credential that failed: charged to the failure limits (a correct one never is).
      const verdict = failures.fail(req.ip);
      if (!verdict.allowed) {
        req.refusal = { action: 'api.auth', reason: 'over-failure-limit' };
        metrics.inc('nodeward_auth_failures_total', 1, { surface: 'api', answer: 'limited' });
        return reply.code(429).header('retry-after', String(verdict.retryAfterSeconds)).header('www-authenticate', 'Bearer')
          .send({ error: `too many failed tokens ${verdict.scope === 'global' ? 'from all clients' : 'from this address'}; retry in ${verdict.retryAfterSeconds} s` });
      }
      req.refusal = { action: 'api.auth', reason: 'bad-credentials' };
      metrics.inc('nodeward_auth_failures_total', 1, { surface: 'api', answer: 'refused' });
    }
    if (!principal) {
      if (cfg.page) return reply.code(303).header('location', '/ui/login').send();
      return reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'a valid bearer token is required' });
    }
    req.principal = principal;
    const verdict = limiter.take(principal.name);
    if (!verdict.allowed) {
      metrics.inc('nodeward_api_rate_limited_total', 1, { token: principal.name });
      return reply.code(429).header('retry-after', String(verdict.retryAfterSeconds))
        .send({ error: `token ${principal.name} is over its rate limit (${rate.perSecond}/s, bursts of ${rate.burst}); retry in ${verdict.retryAfterSeconds} s` });
    }
    const needed = cfg.role ?? 'reader';
    if (!allows(principal, needed)) return reply.code(403).send({ error: `this call needs the ${needed} role` });
  });

  app.addHook('preValidation', async (req: FastifyRequest) => {
    parseParameters(req.routeOptions.schema?.querystring, req.query);
    parseParameters(req.routeOptions.schema?.params, req.params);
    const nul = fieldWithNul(req.body);
    if (nul !== undefined) throw Object.assign(new Error(`body field ${nul} holds the NUL character (U+0000), which the collector does not store`), { statusCode: 400 });
  });

  // Recorded before the response leaves, so a client that reads the audit log right after
  // its call finds the call there.
  // Refusals of unauthenticated callers are aggregated per source (store/audit.ts), so a flood
  // of them costs a bounded number of rows.
  app.addHook('onSend', async (req: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    if (req.refusal && !req.principal) {
      try {
        deps.store.audit.refusal({ at: now(), action: req.refusal.action, reason: req.refusal.reason, status: reply.statusCode, remote: req.ip });
        metrics.inc('nodeward_audit_refusals_total', 1, { action: req.refusal.action, reason: req.refusal.reason });
      } catch (err) {
        metrics.inc('nodeward_audit_failures_total');
        req.log.error({ err: (err as Error).message, action: req.refusal.action }, 'audit record not written');
      }
      return payload;
    }
    const spec = req.routeOptions.config.audit;
    if (!spec || reply.statusCode === 429 || !req.principal) return payload;
    const params = (req.params ?? {}) as Record<string, unknown>;
    try {
      await deps.store.audit.record({
        at: now(), actor: req.principal.name, role: req.principal.role, action: spec.action,
        target: escapeNul(spec.target?.(req) ?? String(params.id ?? params.name ?? '')),
        detail: withoutNul({ ...(spec.detail?.(req) ?? {}), ...(req.session ? { via: 'dashboard' } : {}) }), status: reply.statusCode,
        remote: req.ip,
      });
      metrics.inc('nodeward_audit_records_total', 1, { action: spec.action });
    } catch (err) {
      metrics.inc('nodeward_audit_failures_total');
      req.log.error({ err: (err as Error).message, action: spec.action }, 'audit record not written');
    }
    return payload;
  });

  const fleet = deps.fleet ?? singleFleet({ uid: '', name: 'local' }, deps.store);
  const ctx: ApiContext = { store: deps.store, fleet, pipeline: deps.pipeline, baselines: deps.baselines, metrics, now, staleAfterMs: deps.staleAfterMs, demoNodes: new Set(deps.demoNodes ?? []), posture: deps.posture };

  app.get('/healthz', { config: { public: true }, schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { config: { public: true }, schema: { hide: true } }, async (_req, reply) =>
    deps.ready() ? { status: 'ready' } : reply.code(503).send({ status: 'not ready' }));
  app.get('/metrics', { config: { public: true }, schema: { hide: true } }, async (_req, reply) => {
    metrics.set('nodeward_store_bytes', await deps.store.sizeBytes());
    return reply.type(metrics.contentType).send(await metrics.render());
  });

  // Public: the document describes the API and holds no data.
  app.get('/api/v1/openapi.json', {
    config: { public: true },
    schema: {
      operationId: 'getOpenApiDocument', tags: ['meta'],
      summary: 'This API described as an OpenAPI 3.0 document (no token needed)',
      description: 'The document docs/api.md is generated from. It holds no data, so it is served without a token.',
      response: { 200: { type: 'object', additionalProperties: true, description: 'The OpenAPI 3.0 document' } },
    },
  }, async () => app.swagger());

  registerFindingRoutes(app, ctx);
  registerNodeRoutes(app, ctx);
  registerSummaryRoutes(app, ctx);
  registerAuditRoutes(app, ctx);
  registerBaselineRoutes(app, ctx);
  registerProcessRoutes(app, ctx);
  registerWebhookRoutes(app, ctx);
  registerPostureRoutes(app, ctx);
  registerClusterRoutes(app, ctx);
  await registerDashboard(app, { auth, sessions, metrics, now, failures, allowedOrigins });

  return app;

  /** Why a write with the session cookie is refused (a stable reason and the answer's error), or undefined. */
  function csrfRefusal(req: FastifyRequest, session: Session): { reason: string; error: string } | undefined {
    if (!fromOwnPage(req, allowedOrigins)) {
      return { reason: 'cross-origin', error: "a write with the dashboard's session must come from the dashboard's own page; this one came from another site" };
    }
    const given = req.headers[CSRF_HEADER];
    if (given === undefined) {
      return { reason: 'no-csrf-token', error: `a write with the dashboard's session must carry the session's CSRF token in the ${CSRF_HEADER} header (GET /ui/session)` };
    }
    if (!csrfMatches(given, session)) return { reason: 'bad-csrf-token', error: `the ${CSRF_HEADER} header is not this session's CSRF token` };
    return undefined;
  }
}

/**
 * A field of a parsed JSON body that holds a NUL, in its value or its name, as
 * validationMessage names fields (`executables.0`); '' for the body itself; undefined for none.
 * Walked without recursion: a body may nest as deep as its 64 KiB allow.
 */
export function fieldWithNul(body: unknown): string | undefined {
  if (typeof body === 'string') return body.includes(NUL) ? '' : undefined;
  if (typeof body !== 'object' || body === null) return undefined;
  const todo: Array<[unknown, string]> = [[body, '']];
  for (let next = todo.pop(); next !== undefined; next = todo.pop()) {
    const [v, path] = next;
    if (typeof v === 'string') {
      if (v.includes(NUL)) return path;
      continue;
    }
    if (typeof v !== 'object' || v === null) continue;
    // In reverse, so that the first field in the body is the first one named.
    for (const [k, x] of Object.entries(v).reverse()) {
      const at = path === '' ? k : `${path}.${k}`;
      if (k.includes(NUL)) return JSON.stringify(at);
      todo.push([x, at]);
    }
  }
  return undefined;
}

/** An audit record's detail with every NUL in it written as `\x00` (the same object when it holds none). */
function withoutNul(detail: Record<string, unknown>): Record<string, unknown> {
  const json = JSON.stringify(detail);
  const safe = escapeNulJson(json);
  return safe === json ? detail : JSON.parse(safe) as Record<string, unknown>;
}

interface RouteSchema {
  readonly querystring?: unknown;
  readonly params?: unknown;
  readonly body?: unknown;
  readonly response?: Record<string, unknown>;
}

const ERROR_ANSWERS: Record<string, string> = {
  400: 'Bad input: the error names the parameter or body field',
  401: 'No valid bearer token (a failed one is also charged to the failure limits)',
  403: 'The token is a reader; this call needs the admin role',
  404: 'Nothing of that id or name',
  409: 'The call conflicts with the current state: the error says how',
  429: "Over the token's rate limit, or too many failed tokens; Retry-After says when to try again",
  503: 'This collector cannot make the change',
};

/** A route's responses with every error it can answer, each with the error body and what it means. */
export function documentedErrors(schema: RouteSchema, isPublic: boolean, adminOnly: boolean): Record<string, unknown> {
  const response: Record<string, unknown> = { ...(schema.response ?? {}) };
  const statuses = new Set(Object.keys(response).filter((s) => Number(s) >= 400));
  if (schema.querystring !== undefined || schema.params !== undefined || schema.body !== undefined) statuses.add('400');
  if (!isPublic) {
    statuses.add('401');
    statuses.add('429');
  }
  if (adminOnly) statuses.add('403');
  for (const status of statuses) {
    const given = response[status] as { description?: string } | undefined;
    response[status] = { ...(given ?? ErrorBody), description: given?.description ?? ERROR_ANSWERS[status] ?? 'Refused: the error says why' };
  }
  return response;
}

/** One entry of Ajv's error list, as Fastify passes it on. */
interface ValidationIssue {
  readonly keyword: string;
  readonly instancePath: string;
  readonly params: Record<string, unknown>;
  readonly message?: string | undefined;
}

/**
 * A 400 message that names the offending parameter, including the cases Ajv words without
 * it (an unknown property, a missing one) and a list of literals (which Ajv reports as one
 * error per allowed value).
 */
function validationMessage(context: string, issues: readonly ValidationIssue[], fallback: string): string {
  const first = issues[0];
  if (!first) return fallback;
  const where = context === 'querystring' ? 'parameter' : context === 'params' ? 'path parameter' : `${context} field`;
  const path = first.instancePath.replace(/^\//, '').replace(/\//g, '.');
  if (first.keyword === 'additionalProperties') {
    const name = String(first.params.additionalProperty);
    return `${where} ${path ? `${path}.` : ''}${name} is not known`;
  }
  if (first.keyword === 'required') return `${where} ${path ? `${path}.` : ''}${String(first.params.missingProperty)} is required`;
  const allowed = issues.filter((i) => i.keyword === 'const' && i.instancePath === first.instancePath).map((i) => String(i.params.allowedValue));
  if (allowed.length > 0) return `${where} ${path} must be one of: ${allowed.join(', ')}`;
  return path ? `${where} ${path} ${first.message ?? 'is invalid'}` : `${context} ${first.message ?? 'is invalid'}`;
}
