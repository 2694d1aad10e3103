// The query API as a Fastify app, built apart from listen() so tests can inject requests.
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import swagger from '@fastify/swagger';
import type { Static } from '@sinclair/typebox';
import type { Logger } from '../../proto/support/logger.js';
import type { Metrics } from '../metrics.js';
import type { Store } from '../store/store.js';
import { decodeCursor } from '../store/findings.js';
import { allows, createAuthenticator, type Principal, type Role } from './auth.js';
import type { ApiToken } from '../config.js';
import {
  ErrorBody, FindingPage, FindingParams, FindingsQuery, Finding, NodePage, SuppressBody,
} from './schemas.js';

export interface ApiDeps {
  readonly store: Store;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly tokens: readonly ApiToken[];
  readonly staleAfterMs: number;
  readonly https?: { readonly cert: Buffer; readonly key: Buffer } | undefined;
  readonly ready: () => boolean;
  readonly now?: () => number;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
  interface FastifyContextConfig {
    role?: Role;
  }
}

const UNAUTHENTICATED = new Set(['/healthz', '/readyz', '/metrics']);

export async function buildApi(deps: ApiDeps): Promise<FastifyInstance> {
  const now = deps.now ?? Date.now;
  const auth = createAuthenticator(deps.tokens);
  const app = Fastify({
    loggerInstance: deps.log,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 64 * 1024,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: true, useDefaults: true } },
    ...(deps.https ? { https: { cert: deps.https.cert, key: deps.https.key } } : {}),
  }) as unknown as FastifyInstance;

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'nodeward collector API', version: 'v1' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });

  app.setErrorHandler((err: Error & { statusCode?: number; validation?: ValidationIssue[]; validationContext?: string }, req, reply) => {
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
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      deps.metrics.inc('nodeward_api_requests_total', 'API requests', 1, { code: String(reply.statusCode) });
      deps.metrics.inc('nodeward_api_request_seconds_sum', 'Total seconds spent answering API requests', ms / 1000);
    });
    const path = req.url.split('?')[0] ?? '';
    if (UNAUTHENTICATED.has(path)) return;
    const principal = auth.authenticate(req.headers.authorization);
    if (!principal) {
      return reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'a valid bearer token is required' });
    }
    const needed = req.routeOptions.config.role ?? 'reader';
    if (!allows(principal, needed)) return reply.code(403).send({ error: `this call needs the ${needed} role` });
    req.principal = principal;
  });

  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { hide: true } }, async (_req, reply) =>
    deps.ready() ? { status: 'ready' } : reply.code(503).send({ status: 'not ready' }));
  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
    deps.metrics.set('nodeward_store_bytes', 'Size of the SQLite database', deps.store.sizeBytes());
    return reply.type('text/plain; version=0.0.4').send(deps.metrics.render());
  });

  app.get('/api/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  app.get<{ Querystring: Static<typeof FindingsQuery> }>('/api/v1/findings', {
    schema: { querystring: FindingsQuery, response: { 200: FindingPage, 400: ErrorBody } },
  }, async (req, reply) => {
    const q = req.query;
    const after = q.cursor === undefined ? 0 : decodeCursor(q.cursor);
    if (after === undefined) return reply.code(400).send({ error: 'parameter cursor is not a cursor this API issued' });
    const since = q.since === undefined ? undefined : parseTime(q.since);
    if (Number.isNaN(since)) return reply.code(400).send({ error: 'parameter since is not a time this API can use' });
    return deps.store.findings.list({ ...q, since }, q.limit, after);
  });

  app.get<{ Params: Static<typeof FindingParams> }>('/api/v1/findings/:id', {
    schema: { params: FindingParams, response: { 200: Finding, 404: ErrorBody } },
  }, async (req, reply) => deps.store.findings.get(req.params.id) ?? reply.code(404).send({ error: 'no such finding' }));

  app.post<{ Params: Static<typeof FindingParams>; Body: Static<typeof SuppressBody> }>('/api/v1/findings/:id/suppress', {
    config: { role: 'admin' },
    schema: { params: FindingParams, body: SuppressBody, response: { 200: Finding, 404: ErrorBody, 400: ErrorBody } },
  }, async (req, reply) => {
    const until = req.body.until === undefined ? null : parseTime(req.body.until);
    if (Number.isNaN(until)) return reply.code(400).send({ error: 'body field until is not a time this API can use' });
    if (until !== null && until <= now()) return reply.code(400).send({ error: 'body field until must be in the future' });
    const outcome = deps.store.findings.suppress(req.params.id, req.body.reason, until, now());
    if (outcome === 'missing') return reply.code(404).send({ error: 'no such finding' });
    req.log.info({ who: req.principal?.name, finding: req.params.id, until }, 'finding suppressed');
    return deps.store.findings.get(req.params.id);
  });

  app.get('/api/v1/nodes', { schema: { response: { 200: NodePage } } }, async () => ({
    items: deps.store.nodes.list(now(), deps.staleAfterMs),
    nextCursor: null,
  }));

  return app;
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

/**
 * Milliseconds for an RFC 3339 date-time that passed the schema's format check, or NaN.
 * Date.parse refuses the leap second (":60") that RFC 3339 allows; it is read as the
 * instant after ":59" instead of turning into NaN (which SQLite would bind as NULL).
 */
function parseTime(s: string): number {
  const ms = Date.parse(s);
  if (!Number.isNaN(ms)) return ms;
  const leap = /^(.*T\d\d:\d\d:)60(\.\d+)?(.*)$/i.exec(s);
  return leap ? Date.parse(`${leap[1]}59${leap[2] ?? ''}${leap[3]}`) + 1000 : Number.NaN;
}
