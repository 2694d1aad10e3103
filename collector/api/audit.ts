// /api/v1/audit (admin): who changed what, when, and how it ended; newest first.
import type { FastifyInstance } from 'fastify';
import type { Static } from '@sinclair/typebox';
import { decodeAuditCursor } from '../store/store.js';
import type { ApiContext } from './context.js';
import { parseTime } from './time.js';
import { AuditPage, AuditQuery, ErrorBody } from './schemas.js';

export function registerAuditRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get<{ Querystring: Static<typeof AuditQuery> }>('/api/v1/audit', {
    config: { role: 'admin' },
    schema: {
      summary: 'The audit log of API calls that change something (admin)',
      querystring: AuditQuery, response: { 200: AuditPage, 400: ErrorBody },
    },
  }, async (req, reply) => {
    const q = req.query;
    const before = q.cursor === undefined ? Number.MAX_SAFE_INTEGER : decodeAuditCursor(q.cursor);
    if (before === undefined) return reply.code(400).send({ error: 'parameter cursor is not a cursor this API issued' });
    const since = q.since === undefined ? undefined : parseTime(q.since);
    if (Number.isNaN(since)) return reply.code(400).send({ error: 'parameter since is not a time this API can use' });
    return ctx.store.audit.list({ actor: q.actor, action: q.action, target: q.target, since }, q.limit, before);
  });
}
